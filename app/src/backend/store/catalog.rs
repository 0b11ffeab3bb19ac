//! Catalogs, connectors, resources, access packages and their assignment policies.

use super::Tx;
use crate::domain::Timestamp;

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

pub async fn insert_connector(
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

pub struct NewResource<'a> {
    pub catalog_id: i64,
    pub connector_id: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub external_id: Option<&'a str>,
    pub description: &'a str,
}

pub async fn insert_resource(
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

pub struct NewPackage<'a> {
    pub catalog_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub is_hidden: bool,
}

pub async fn insert_package(
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

pub async fn add_package_owner(
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

pub async fn add_package_resource(
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

pub struct NewPolicy<'a> {
    pub package_id: i64,
    pub name: &'a str,
    pub requestor_scope: &'a str,
    pub requestor_rule_json: String,
    pub justification_required: bool,
    pub duration_kind: &'a str,
    pub duration_value: Option<i64>,
    pub extension_allowed: bool,
    pub questions_json: &'a str,
}

pub async fn insert_policy(
    tx: &mut Tx,
    now: Timestamp,
    policy: &NewPolicy<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into assignment_policy (access_package_id, name, requestor_scope, requestor_rule_json, \
         justification_required, duration_kind, duration_value, extension_allowed, is_enabled, \
         questions_json, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         returning id",
    )
    .bind(policy.package_id)
    .bind(policy.name)
    .bind(policy.requestor_scope)
    .bind(&policy.requestor_rule_json)
    .bind(policy.justification_required)
    .bind(policy.duration_kind)
    .bind(policy.duration_value)
    .bind(policy.extension_allowed)
    .bind(true)
    .bind(policy.questions_json)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

pub struct NewStage<'a> {
    pub policy_id: i64,
    pub position: i64,
    pub approver_kind: &'a str,
    pub decision_timeout_days: i64,
}

pub async fn insert_stage(
    tx: &mut Tx,
    now: Timestamp,
    stage: &NewStage<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into approval_stage (assignment_policy_id, position, approver_kind, \
         decision_timeout_days, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) returning id",
    )
    .bind(stage.policy_id)
    .bind(stage.position)
    .bind(stage.approver_kind)
    .bind(stage.decision_timeout_days)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

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

/// The name of the connector that uses the secret `secret_ref`, if one does.
pub async fn connector_with_secret(
    tx: &mut Tx,
    secret_ref: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select name from connector where secret_ref = $1 order by id limit 1")
        .bind(secret_ref)
        .fetch_optional(&mut **tx)
        .await
}
