//! Reusable pieces of the interface.

pub mod detail;
pub mod feedback;
pub mod form;
pub mod layout;
pub mod provisioning;
pub mod route;
pub mod table;
