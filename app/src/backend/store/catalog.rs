//! Catalogs and their owners. What a catalog holds lives with its own table: packages in
//! `package`, resources in `resource`, the connectors it may use in `catalog_connector`.

use super::{get_bool, Tx};
use crate::domain::Timestamp;
use sqlx::Row;

pub async fn insert_catalog(
    tx: &mut Tx,
    now: Timestamp,
    name: &str,
    description: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into catalog (name, description, is_enabled, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) returning id",
    )
    .bind(name)
    .bind(description)
    .bind(true)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

pub async fn add_catalog_owner(
    tx: &mut Tx,
    now: Timestamp,
    catalog_id: i64,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into catalog_owner (catalog_id, person_id, created_at) values ($1, $2, $3)")
        .bind(catalog_id)
        .bind(person_id)
        .bind(now.millis())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn owns_catalog(
    tx: &mut Tx,
    person_id: i64,
    catalog_id: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from catalog_owner where catalog_id = $1 and person_id = $2",
    )
    .bind(catalog_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

#[derive(Clone, Debug)]
pub struct CatalogRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub package_count: i64,
    pub resource_count: i64,
}

fn catalog_row(row: &sqlx::any::AnyRow) -> Result<CatalogRow, sqlx::Error> {
    Ok(CatalogRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        enabled: get_bool(row, "is_enabled")?,
        package_count: row.try_get("package_count")?,
        resource_count: row.try_get("resource_count")?,
    })
}

const CATALOG_COLUMNS: &str = "c.id, c.name, c.description, c.is_enabled, \
    (select count(*) from access_package p where p.catalog_id = c.id) as package_count, \
    (select count(*) from resource r where r.catalog_id = c.id) as resource_count";

/// Catalogs the person owns; every catalog for administrators.
pub async fn catalogs_for(
    tx: &mut Tx,
    person_id: i64,
    is_admin: bool,
) -> Result<Vec<CatalogRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {CATALOG_COLUMNS} from catalog c where $1 or exists \
         (select 1 from catalog_owner o where o.catalog_id = c.id and o.person_id = $2) order by c.name"
    ))
    .bind(is_admin)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(catalog_row).collect()
}

pub async fn find_catalog(tx: &mut Tx, catalog_id: i64) -> Result<Option<CatalogRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {CATALOG_COLUMNS} from catalog c where c.id = $1"
    ))
    .bind(catalog_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(catalog_row).transpose()
}

pub async fn catalog_owner_emails(
    tx: &mut Tx,
    catalog_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select p.email from catalog_owner o join person p on p.id = o.person_id \
         where o.catalog_id = $1 order by p.email",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn update_catalog(
    tx: &mut Tx,
    now: Timestamp,
    catalog_id: i64,
    name: &str,
    description: &str,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update catalog set name = $1, description = $2, is_enabled = $3, updated_at = $4 where id = $5")
        .bind(name)
        .bind(description)
        .bind(enabled)
        .bind(now.millis())
        .bind(catalog_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn set_catalog_owners(
    tx: &mut Tx,
    now: Timestamp,
    catalog_id: i64,
    owner_ids: &[i64],
) -> Result<(), sqlx::Error> {
    super::replace_owners(
        tx,
        now,
        ("catalog_owner", "catalog_id"),
        catalog_id,
        owner_ids,
    )
    .await
}
