//! Resources: what packages grant, each a group (or role) of a connector's system, listed
//! in a catalog.

use super::Tx;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

pub struct NewResource<'a> {
    pub catalog_id: i64,
    pub connector_id: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub external_id: Option<&'a str>,
    pub description: &'a str,
}

pub async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    resource: &NewResource<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into resource (catalog_id, connector_id, name, kind, external_id, description, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
    )
    .bind(resource.catalog_id)
    .bind(resource.connector_id)
    .bind(resource.name)
    .bind(resource.kind)
    .bind(resource.external_id)
    .bind(resource.description)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

#[derive(Clone, Debug)]
pub struct ResourceRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub connector_name: String,
    pub external_id: Option<String>,
}

pub async fn of_catalog(tx: &mut Tx, catalog_id: i64) -> Result<Vec<ResourceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select r.id, r.name, r.kind, c.name as connector_name, r.external_id from resource r \
         join connector c on c.id = r.connector_id where r.catalog_id = $1 order by r.name",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ResourceRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                connector_name: row.try_get("connector_name")?,
                external_id: row.try_get("external_id")?,
            })
        })
        .collect()
}

/// How many of these resources belong to the catalog.
pub async fn count_in_catalog(
    tx: &mut Tx,
    catalog_id: i64,
    resource_ids: &[i64],
) -> Result<usize, sqlx::Error> {
    let mut found = 0;
    for id in resource_ids {
        let count: i64 =
            sqlx::query_scalar("select count(*) from resource where id = $1 and catalog_id = $2")
                .bind(id)
                .bind(catalog_id)
                .fetch_one(&mut **tx)
                .await?;
        found += usize::from(count > 0);
    }
    Ok(found)
}

pub async fn external_id_taken(
    tx: &mut Tx,
    connector_id: i64,
    external_id: &str,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from resource where connector_id = $1 and external_id = $2",
    )
    .bind(connector_id)
    .bind(external_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

/// The resource's id in its connector's system (the group), if it has one.
pub async fn external_id(pool: &AnyPool, resource_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select external_id from resource where id = $1")
        .bind(resource_id)
        .fetch_one(pool)
        .await
}

/// The connector's resources that have an id in its system: (id, external id).
pub async fn of_connector(
    pool: &AnyPool,
    connector_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "select id, external_id from resource where connector_id = $1 and external_id is not null order by id",
    )
    .bind(connector_id)
    .fetch_all(pool)
    .await
}
