//! SQL, one module per table group, written once for both backends (`$1` placeholders,
//! integers for instants and ids, text for JSON). Functions that write take the caller's
//! transaction so a change, its audit event and its outbox rows commit together.

pub mod action_token;
pub mod assignment;
pub mod audit;
pub mod catalog;
pub mod catalog_connector;
pub mod connector;
pub mod constraint;
pub mod drift;
pub mod lease;
pub mod message;
pub mod package;
pub mod person;
pub mod policy;
pub mod provisioning;
pub mod request;
pub mod resource;
pub mod review;
pub mod review_instance;
pub mod scim;
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

/// Replaces the owners in an owner table (`catalog_owner` keyed by `catalog_id`,
/// `access_package_owner` keyed by `access_package_id`).
async fn replace_owners(
    tx: &mut Tx,
    now: crate::domain::Timestamp,
    (table, key): (&'static str, &'static str),
    id: i64,
    owner_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("delete from {table} where {key} = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for owner in owner_ids {
        sqlx::query(&format!(
            "insert into {table} ({key}, person_id, created_at) values ($1, $2, $3)"
        ))
        .bind(id)
        .bind(owner)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
