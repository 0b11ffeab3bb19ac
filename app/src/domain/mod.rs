//! Pure rules of Gatehouse: no I/O, no clock, no database. Compiled for the browser and the
//! server alike, so the same validation runs in both places. Time is passed in as
//! [`Timestamp`] by the caller (ARCHITECTURE.md, Time).

pub mod allowance;
pub mod approvers;
pub mod assignment;
pub mod audit;
pub mod drafts;
pub mod error;
pub mod navigation;
pub mod person;
pub mod policy;
pub mod provisioning;
pub mod questions;
pub mod request;
pub mod retry;
pub mod review;
pub mod scim;
pub mod status;
pub mod time;

pub use error::{AppError, ErrorCode, FieldError};
pub use time::Timestamp;
