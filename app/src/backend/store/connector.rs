//! Connectors: the systems Gatehouse provisions into, their settings (the secret only by
//! reference), and their health as the last reconciliation found it.

use super::{get_bool, Tx};
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

pub async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    name: &str,
    kind: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into connector (name, kind, is_enabled, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) returning id",
    )
    .bind(name)
    .bind(kind)
    .bind(true)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// Sets the connector's settings and the name of its secret.
pub async fn set_config(
    tx: &mut Tx,
    connector_id: i64,
    config_json: &str,
    secret_ref: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update connector set config_json = $1, secret_ref = $2 where id = $3")
        .bind(config_json)
        .bind(secret_ref)
        .bind(connector_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The name of the connector that uses the secret `secret_ref`, if one does.
pub async fn with_secret(tx: &mut Tx, secret_ref: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select name from connector where secret_ref = $1 order by id limit 1")
        .bind(secret_ref)
        .fetch_optional(&mut **tx)
        .await
}

/// Every connector: (id, name, kind), Gatehouse's own first.
pub async fn list(tx: &mut Tx) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as("select id, name, kind from connector order by kind = 'builtin' desc, name")
        .fetch_all(&mut **tx)
        .await
}

pub async fn kind_of(tx: &mut Tx, connector_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select kind from connector where id = $1")
        .bind(connector_id)
        .fetch_optional(&mut **tx)
        .await
}

/// A connector as stored: its secret is only a reference.
#[derive(Clone, Debug)]
pub struct ConnectorRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub config_json: String,
    pub secret_ref: Option<String>,
    pub is_enabled: bool,
}

pub async fn find(pool: &AnyPool, id: i64) -> Result<Option<ConnectorRow>, sqlx::Error> {
    let row = sqlx::query(
        "select id, name, kind, config_json, secret_ref, is_enabled from connector where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(ConnectorRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            config_json: row.try_get("config_json")?,
            secret_ref: row.try_get("secret_ref")?,
            is_enabled: get_bool(&row, "is_enabled")?,
        })
    })
    .transpose()
}

/// Whether reconciliation repairs what it finds (else it only reports it).
pub async fn is_authoritative(pool: &AnyPool, connector_id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("select is_authoritative from connector where id = $1")
        .bind(connector_id)
        .fetch_one(pool)
        .await?;
    get_bool(&row, "is_authoritative")
}

/// A connector as the administrators' overview lists it.
#[derive(Clone, Debug)]
pub struct ConnectorSummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub is_enabled: bool,
    pub is_authoritative: bool,
    pub health: String,
    pub health_message: Option<String>,
    pub last_reconciled_at: Option<i64>,
    pub config_json: String,
    pub secret_ref: Option<String>,
}

/// Every connector, by name.
pub async fn summaries(pool: &AnyPool) -> Result<Vec<ConnectorSummary>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, name, kind, is_enabled, is_authoritative, health, health_message, \
         last_reconciled_at, config_json, secret_ref from connector order by name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ConnectorSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                is_enabled: get_bool(row, "is_enabled")?,
                is_authoritative: get_bool(row, "is_authoritative")?,
                health: row.try_get("health")?,
                health_message: row.try_get("health_message")?,
                last_reconciled_at: row.try_get("last_reconciled_at")?,
                config_json: row.try_get("config_json")?,
                secret_ref: row.try_get("secret_ref")?,
            })
        })
        .collect()
}

/// Enabled SCIM and LDAP connectors not reconciled since `before`, by id.
pub async fn due_for_reconciliation(
    pool: &AnyPool,
    before: Timestamp,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from connector where kind in ('scim', 'ldap') and is_enabled = $1 \
         and (last_reconciled_at is null or last_reconciled_at <= $2) order by id",
    )
    .bind(true)
    .bind(before.millis())
    .fetch_all(pool)
    .await
}

/// Records a reconciliation: healthy, or failing with `failure` to say why.
pub async fn record_reconciliation(
    tx: &mut Tx,
    now: Timestamp,
    connector_id: i64,
    failure: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update connector set last_reconciled_at = $1, health = $2, health_message = $3, \
         health_checked_at = $1, updated_at = $1 where id = $4",
    )
    .bind(now.millis())
    .bind(if failure.is_some() { "failing" } else { "ok" })
    .bind(failure)
    .bind(connector_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
