//! Drift: what reconciliation found different downstream from what Gatehouse grants (a
//! member without a grant, a grant missing downstream), from when it was found until it is
//! no longer found or was repaired.

use super::Tx;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

/// An open finding about one account of a resource.
#[derive(Clone, Debug)]
pub struct OpenDrift {
    pub id: i64,
    pub account_id: String,
    pub kind: String,
}

pub async fn open_of_resource(
    tx: &mut Tx,
    resource_id: i64,
) -> Result<Vec<OpenDrift>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, account_id, kind from drift where resource_id = $1 and resolved_at is null",
    )
    .bind(resource_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(OpenDrift {
                id: row.try_get("id")?,
                account_id: row.try_get("account_id")?,
                kind: row.try_get("kind")?,
            })
        })
        .collect()
}

/// The open finding of this kind about the account, if there is one.
pub async fn find_open(
    tx: &mut Tx,
    resource_id: i64,
    account_id: &str,
    kind: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from drift where resource_id = $1 and account_id = $2 and kind = $3 and resolved_at is null",
    )
    .bind(resource_id)
    .bind(account_id)
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn resolve(tx: &mut Tx, now: Timestamp, drift_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update drift set resolved_at = $1 where id = $2")
        .bind(now.millis())
        .bind(drift_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A finding seen again; repaired now (`repaired_at`), it is resolved too.
pub async fn seen_again(
    tx: &mut Tx,
    now: Timestamp,
    drift_id: i64,
    repaired_at: Option<i64>,
    label: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update drift set seen_at = $1, repaired_at = $2, resolved_at = $2, \
         account_label = coalesce($3, account_label) where id = $4",
    )
    .bind(now.millis())
    .bind(repaired_at)
    .bind(label)
    .bind(drift_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub struct NewDrift<'a> {
    pub connector_id: i64,
    pub resource_id: i64,
    pub account_id: &'a str,
    pub person_id: Option<i64>,
    pub kind: &'a str,
    /// Repaired at once: then it is resolved as it is found.
    pub repaired_at: Option<i64>,
    pub account_label: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, now: Timestamp, drift: &NewDrift<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into drift (connector_id, resource_id, account_id, person_id, kind, found_at, \
         seen_at, repaired_at, resolved_at, account_label) \
         values ($1, $2, $3, $4, $5, $6, $6, $7, $7, $8)",
    )
    .bind(drift.connector_id)
    .bind(drift.resource_id)
    .bind(drift.account_id)
    .bind(drift.person_id)
    .bind(drift.kind)
    .bind(now.millis())
    .bind(drift.repaired_at)
    .bind(drift.account_label)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// An open finding as the administrators' overview lists it.
#[derive(Clone, Debug)]
pub struct DriftListing {
    pub connector: String,
    pub resource: String,
    /// Empty when the account is nobody Gatehouse knows.
    pub person: String,
    /// How the system names the account, else its id.
    pub account: String,
    pub kind: String,
    pub found_at: i64,
    pub seen_at: i64,
}

/// Open findings, the newest first, at most 200.
pub async fn open(pool: &AnyPool) -> Result<Vec<DriftListing>, sqlx::Error> {
    let rows = sqlx::query(
        "select c.name as connector, r.name as resource, coalesce(p.display_name, '') as person, \
         coalesce(d.account_label, d.account_id) as account_id, d.kind, d.found_at, d.seen_at \
         from drift d join connector c on c.id = d.connector_id \
         join resource r on r.id = d.resource_id left join person p on p.id = d.person_id \
         where d.resolved_at is null order by d.found_at desc, d.id desc limit 200",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DriftListing {
                connector: row.try_get("connector")?,
                resource: row.try_get("resource")?,
                person: row.try_get("person")?,
                account: row.try_get("account_id")?,
                kind: row.try_get("kind")?,
                found_at: row.try_get("found_at")?,
                seen_at: row.try_get("seen_at")?,
            })
        })
        .collect()
}
