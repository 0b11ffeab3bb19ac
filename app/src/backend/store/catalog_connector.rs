//! `catalog_connector`: which groups of which connector a catalog's owners may add as
//! resources (domain/allowance.rs), as administrators decided.

use super::Tx;
use crate::domain::allowance::Allowance;
use crate::domain::Timestamp;
use sqlx::Row;

fn decode(groups_json: &str, within: Option<String>) -> Result<Allowance, sqlx::Error> {
    let groups: Vec<String> = serde_json::from_str(groups_json).map_err(|error| {
        sqlx::Error::Decode(format!("catalog_connector.groups_json: {error}").into())
    })?;
    Ok(Allowance { groups, within })
}

/// What the catalog may use of the connector, if anything.
pub async fn find(
    tx: &mut Tx,
    catalog_id: i64,
    connector_id: i64,
) -> Result<Option<Allowance>, sqlx::Error> {
    let row = sqlx::query(
        "select groups_json, within from catalog_connector where catalog_id = $1 and connector_id = $2",
    )
    .bind(catalog_id)
    .bind(connector_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        decode(
            &row.try_get::<String, _>("groups_json")?,
            row.try_get("within")?,
        )
    })
    .transpose()
}

/// One connector a catalog may use, for the catalog's page.
#[derive(Clone, Debug)]
pub struct AllowedConnector {
    pub connector_id: i64,
    pub connector_name: String,
    pub kind: String,
    pub allowance: Allowance,
}

/// The connectors the catalog may use, by name.
pub async fn of_catalog(
    tx: &mut Tx,
    catalog_id: i64,
) -> Result<Vec<AllowedConnector>, sqlx::Error> {
    let rows = sqlx::query(
        "select c.id, c.name, c.kind, a.groups_json, a.within from catalog_connector a \
         join connector c on c.id = a.connector_id where a.catalog_id = $1 order by c.name, c.id",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AllowedConnector {
                connector_id: row.try_get("id")?,
                connector_name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                allowance: decode(
                    &row.try_get::<String, _>("groups_json")?,
                    row.try_get("within")?,
                )?,
            })
        })
        .collect()
}

/// Sets what the catalog may use of the connector (replacing what was allowed before).
pub async fn save(
    tx: &mut Tx,
    now: Timestamp,
    catalog_id: i64,
    connector_id: i64,
    allowance: &Allowance,
) -> Result<(), sqlx::Error> {
    let groups_json = serde_json::to_string(&allowance.groups)
        .map_err(|error| sqlx::Error::Encode(error.to_string().into()))?;
    sqlx::query(
        "insert into catalog_connector (catalog_id, connector_id, groups_json, within, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5) on conflict (catalog_id, connector_id) do update \
         set groups_json = excluded.groups_json, within = excluded.within, updated_at = excluded.updated_at",
    )
    .bind(catalog_id)
    .bind(connector_id)
    .bind(groups_json)
    .bind(&allowance.within)
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The catalog may no longer use the connector; returns whether it could.
pub async fn remove(tx: &mut Tx, catalog_id: i64, connector_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("delete from catalog_connector where catalog_id = $1 and connector_id = $2")
            .bind(catalog_id)
            .bind(connector_id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1,
    )
}
