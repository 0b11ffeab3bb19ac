//! SQL, one module per table group, written once for both backends (`$1` placeholders,
//! integers for instants and ids, text for JSON). Functions that write take the caller's
//! transaction so a change, its audit event and its outbox rows commit together.

pub mod assignment;
pub mod audit;
pub mod catalog;
pub mod message;
pub mod person;
pub mod request;
pub mod session;

/// A write transaction, as passed to every writing store function.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;
