//! Access packages: their settings, owners and the resources they grant, and the pairs of
//! packages that may not be held together (`incompatibility`). Reading a package the way
//! a request needs it (with its policies, or its name for a message) is in `policy`.

use super::{get_bool, Tx};
use crate::domain::Timestamp;
use sqlx::Row;

pub struct NewPackage<'a> {
    pub catalog_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub is_hidden: bool,
}

pub async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    package: &NewPackage<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into access_package (catalog_id, name, description, is_hidden, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5) returning id",
    )
    .bind(package.catalog_id)
    .bind(package.name)
    .bind(package.description)
    .bind(package.is_hidden)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    name: &str,
    description: &str,
    hidden: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update access_package set name = $1, description = $2, is_hidden = $3, updated_at = $4 where id = $5")
        .bind(name)
        .bind(description)
        .bind(hidden)
        .bind(now.millis())
        .bind(package_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

#[derive(Clone, Debug)]
pub struct PackageSettings {
    pub id: i64,
    pub catalog_id: i64,
    pub catalog_name: String,
    pub name: String,
    pub description: String,
    pub hidden: bool,
    pub owner_emails: Vec<String>,
    /// (resource id, role granted)
    pub resources: Vec<(i64, String)>,
}

pub async fn settings(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Option<PackageSettings>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "select p.id, p.catalog_id, c.name as catalog_name, p.name, p.description, p.is_hidden \
         from access_package p join catalog c on c.id = p.catalog_id where p.id = $1",
    )
    .bind(package_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let owner_emails = sqlx::query_scalar(
        "select p.email from access_package_owner o join person p on p.id = o.person_id \
         where o.access_package_id = $1 order by p.email",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    let resources = sqlx::query_as(
        "select resource_id, role from access_package_resource where access_package_id = $1 order by resource_id",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(PackageSettings {
        id: row.try_get("id")?,
        catalog_id: row.try_get("catalog_id")?,
        catalog_name: row.try_get("catalog_name")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        hidden: get_bool(&row, "is_hidden")?,
        owner_emails,
        resources,
    }))
}

/// Packages of a catalog: (id, name, hidden).
pub async fn of_catalog(
    tx: &mut Tx,
    catalog_id: i64,
) -> Result<Vec<(i64, String, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, name, is_hidden from access_package where catalog_id = $1 order by name",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                row.try_get("name")?,
                get_bool(row, "is_hidden")?,
            ))
        })
        .collect()
}

/// Every package: (id, name, catalog name), for choosing an incompatible one.
pub async fn all(tx: &mut Tx) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select p.id, p.name, c.name from access_package p join catalog c on c.id = p.catalog_id order by c.name, p.name",
    )
    .fetch_all(&mut **tx)
    .await
}

// --- Owners and resources ------------------------------------------------------------------

pub async fn add_owner(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into access_package_owner (access_package_id, person_id, created_at) values ($1, $2, $3)",
    )
    .bind(package_id)
    .bind(person_id)
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn set_owners(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    owner_ids: &[i64],
) -> Result<(), sqlx::Error> {
    super::replace_owners(
        tx,
        now,
        ("access_package_owner", "access_package_id"),
        package_id,
        owner_ids,
    )
    .await
}

pub async fn add_resource(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    resource_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into access_package_resource (access_package_id, resource_id, created_at) values ($1, $2, $3)",
    )
    .bind(package_id)
    .bind(resource_id)
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Replaces the resources a package grants, each with its role. Assignments already
/// granted keep what they were provisioned with; the provisioning issue reconciles the
/// difference.
pub async fn set_resources(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    resources: &[(i64, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from access_package_resource where access_package_id = $1")
        .bind(package_id)
        .execute(&mut **tx)
        .await?;
    for (resource, role) in resources {
        sqlx::query(
            "insert into access_package_resource (access_package_id, resource_id, role, created_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(package_id)
        .bind(resource)
        .bind(role)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

// --- Separation of duties ------------------------------------------------------------------

/// Records that two packages may not be held together, in both directions.
pub async fn add_incompatibility(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    other_package_id: i64,
) -> Result<(), sqlx::Error> {
    for (first, second) in [
        (package_id, other_package_id),
        (other_package_id, package_id),
    ] {
        sqlx::query(
            "insert into incompatibility (access_package_id, incompatible_package_id, created_at) \
             values ($1, $2, $3)",
        )
        .bind(first)
        .bind(second)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Packages incompatible with this one: (id, name, catalog name).
pub async fn incompatible_with(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select p.id, p.name, c.name from incompatibility i join access_package p on p.id = i.incompatible_package_id \
         join catalog c on c.id = p.catalog_id where i.access_package_id = $1 order by p.name",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn remove_incompatibility(
    tx: &mut Tx,
    package_id: i64,
    other_package_id: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "delete from incompatibility where (access_package_id = $1 and incompatible_package_id = $2) \
         or (access_package_id = $2 and incompatible_package_id = $1)",
    )
    .bind(package_id)
    .bind(other_package_id)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// A person holding two packages that may not be held together.
#[derive(Clone, Debug)]
pub struct ConflictRow {
    pub person_id: i64,
    pub person_name: String,
    pub first_package_id: i64,
    pub first_package: String,
    pub second_package_id: i64,
    pub second_package: String,
    pub since: i64,
}

/// Current (scheduled or active) conflicting pairs, each pair once.
pub async fn conflicts(tx: &mut Tx) -> Result<Vec<ConflictRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select distinct per.id as person_id, per.display_name, p1.id as first_id, p1.name as first_name, \
         p2.id as second_id, p2.name as second_name, \
         case when a1.start_at > a2.start_at then a1.start_at else a2.start_at end as since \
         from incompatibility i \
         join assignment a1 on a1.access_package_id = i.access_package_id and a1.status in ('scheduled', 'active') \
         join assignment a2 on a2.access_package_id = i.incompatible_package_id and a2.person_id = a1.person_id \
              and a2.status in ('scheduled', 'active') \
         join person per on per.id = a1.person_id \
         join access_package p1 on p1.id = i.access_package_id \
         join access_package p2 on p2.id = i.incompatible_package_id \
         where i.access_package_id < i.incompatible_package_id \
         order by per.display_name, p1.name, p2.name",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ConflictRow {
                person_id: row.try_get("person_id")?,
                person_name: row.try_get("display_name")?,
                first_package_id: row.try_get("first_id")?,
                first_package: row.try_get("first_name")?,
                second_package_id: row.try_get("second_id")?,
                second_package: row.try_get("second_name")?,
                since: row.try_get("since")?,
            })
        })
        .collect()
}
