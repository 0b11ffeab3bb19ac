//! SQL, one module per table group, written once for both backends (`$1` placeholders,
//! integers for instants and ids, text for JSON). Functions that write take the caller's
//! transaction so a change, its audit event and its outbox rows commit together.

pub mod action_token;
pub mod assignment;
pub mod audit;
pub mod catalog;
pub mod catalog_connector;
pub mod constraint;
pub mod lease;
pub mod manage;
pub mod message;
pub mod person;
pub mod policy;
pub mod provisioning;
pub mod request;
pub mod session;

/// A write transaction, as passed to every writing store function.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Reads a flag: `boolean` in PostgreSQL, an integer 0 or 1 in SQLite (the `Any` driver
/// cannot map SQLite's BOOLEAN, so the SQLite schema declares flags as integers).
pub fn get_bool(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    match row.try_get::<bool, _>(column) {
        Ok(flag) => Ok(flag),
        Err(_) => row.try_get::<i64, _>(column).map(|number| number != 0),
    }
}
