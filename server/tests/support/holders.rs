//! Many people holding access through connectors, written straight to the database: for
//! the crash drill and the benchmark (each includes this file with `#[path]`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use app::backend::store;
use app::domain::Timestamp;
use serde_json::Value;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub async fn connector(
    tx: &mut Tx,
    now: Timestamp,
    name: &str,
    kind: &str,
    config: Value,
    secret: &str,
) -> i64 {
    let connector = store::connector::insert(tx, now, name, kind).await.unwrap();
    sqlx::query("update connector set config_json = $1, secret_ref = $2 where id = $3")
        .bind(config.to_string())
        .bind(secret)
        .bind(connector)
        .execute(&mut **tx)
        .await
        .unwrap();
    connector
}

/// A hidden package granting these (connector, group) resources.
pub async fn package(tx: &mut Tx, now: Timestamp, name: &str, resources: &[(i64, &str)]) -> i64 {
    let catalog_id: i64 = sqlx::query_scalar("select id from catalog where name = 'Engineering'")
        .fetch_one(&mut **tx)
        .await
        .unwrap();
    let package = store::package::insert(
        tx,
        now,
        &store::package::NewPackage {
            catalog_id,
            name,
            description: "",
            is_hidden: true,
        },
    )
    .await
    .unwrap();
    for (i, (connector_id, group)) in resources.iter().enumerate() {
        let resource = store::resource::insert(
            tx,
            now,
            &store::resource::NewResource {
                catalog_id,
                connector_id: *connector_id,
                name: &format!("{name}-{i}"),
                kind: "group",
                external_id: Some(group),
                description: "",
            },
        )
        .await
        .unwrap();
        store::package::add_resource(tx, now, package, resource)
            .await
            .unwrap();
    }
    package
}

pub async fn holder(tx: &mut Tx, now: Timestamp, email: &str, name: &str) -> i64 {
    store::person::insert(
        tx,
        now,
        &store::person::NewPerson {
            email: email.to_string(),
            display_name: name.to_string(),
            department: Some("Engineering".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

pub async fn hold(tx: &mut Tx, now: Timestamp, person_id: i64, package_id: i64, end_at: Timestamp) {
    store::assignment::insert(
        tx,
        now,
        &store::assignment::NewAssignment {
            person_id,
            package_id,
            policy_id: None,
            request_id: None,
            status: app::domain::status::AssignmentStatus::Active,
            start_at: now,
            end_at: Some(end_at),
        },
    )
    .await
    .unwrap();
}
