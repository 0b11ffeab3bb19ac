//! Benchmark of HR inbound over SCIM, on SQLite and on PostgreSQL, through HTTP as an HR
//! system calls it:
//! - a Bulk request creating BENCH_HR_PEOPLE people (default 10 000: 100 managers, then
//!   their reports, each naming their manager by bulkId), with the process's extra peak
//!   memory;
//! - a filtered, sorted page of 100 Users at that size: p50 / p99 over 200 requests;
//! - a PATCH of one person (a department move): p50 / p99 over 200 requests.
//!
//! `make bench` runs it (PostgreSQL at `BENCH_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Prints figures; asserts nothing about
//! speed (a benchmark is not a test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use app::backend::SystemClock;
use common::{config, env_number, memory_mb, ms, percentile, reset_peak};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GATEHOUSE: &str = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User";

fn user(i: usize, managers: usize) -> Value {
    let manager = (i >= managers).then(|| json!({"value": format!("bulkId:p{}", i % managers)}));
    json!({
        "method": "POST", "path": "/Users", "bulkId": format!("p{i}"),
        "data": {
            "schemas": [USER, ENTERPRISE, GATEHOUSE],
            "userName": format!("person{i}@hr.example"),
            "externalId": format!("W{i:06}"),
            "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 997)},
            "title": if i < managers { "Manager" } else { "Engineer" },
            "userType": "Employee",
            "emails": [{"value": format!("person{i}@hr.example"), "type": "work", "primary": true}],
            ENTERPRISE: {"employeeNumber": format!("E{i:06}"), "department": format!("Department {}", i % 40), "manager": manager},
            GATEHOUSE: {"hireDate": "2026-01-05"}
        }
    })
}

async fn run(label: &str, url: &str, people: usize) {
    println!("\n== {label} ==");
    let dir = tempfile::tempdir().unwrap();
    let config = config(url, dir.path(), &[]);
    let running = gatehouse_server::start(&config, Arc::new(SystemClock), false)
        .await
        .unwrap();
    let state = running.state.clone();
    app::backend::services::demo::seed(&state).await.unwrap();
    let ada_id: i64 = sqlx::query_scalar("select id from person where display_name = 'Ada Admin'")
        .fetch_one(state.db.reader())
        .await
        .unwrap();
    let ada = app::backend::store::person::find(state.db.reader(), ada_id)
        .await
        .unwrap()
        .unwrap();
    let (_, token) = app::backend::services::scim::create_token(&state, &ada, "Bench")
        .await
        .unwrap();
    let base = format!("http://{}/scim/v2", running.address);
    let client = reqwest::Client::new();

    let managers = (people / 100).max(1);
    let operations: Vec<Value> = (0..people).map(|i| user(i, managers)).collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations})
        .to_string();
    let (rss_before, _) = memory_mb();
    reset_peak();
    let started = Instant::now();
    let response = client
        .post(format!("{base}/Bulk"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    let took = started.elapsed();
    let created = answer["Operations"].as_array().map_or(0, |results| {
        results.iter().filter(|r| r["status"] == "201").count()
    });
    println!(
        "  Bulk of {people} people ({:.1} MB, {managers} managers named by bulkId): HTTP {status}, {created} created in {:.2} s; extra peak memory {:.0} MB",
        body.len() as f64 / 1_048_576.0,
        took.as_secs_f64(),
        (memory_mb().1 - rss_before).max(0.0),
    );

    let mut times = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        let page = client
            .get(format!("{base}/Users"))
            .bearer_auth(&token)
            .query(&[
                ("filter", format!("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"Department {}\" and name.familyName sw \"Family\"", i % 40)),
                ("sortBy", "userName".to_string()),
                ("startIndex", (1 + (i % 3) * 100).to_string()),
                ("count", "100".to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert!(page.status().is_success());
        let _ = page.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "  filtered, sorted page of 100 Users among {}: p50 {}, p99 {} (200 requests)",
        people,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );

    let mut times = Vec::new();
    let target: i64 =
        sqlx::query_scalar("select id from person where user_name = 'person500@hr.example'")
            .fetch_one(state.db.reader())
            .await
            .unwrap();
    for i in 0..200 {
        let t = Instant::now();
        let response = client
            .patch(format!("{base}/Users/{target}"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                    {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": format!("Department {}", i % 40)}
                ]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let _ = response.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "  PATCH of one person (department moved): p50 {}, p99 {} (200 requests, each durable with its audit event)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    running.stop().await;
}

#[tokio::main]
async fn main() {
    let people = env_number("BENCH_HR_PEOPLE", 10_000);
    println!("HR inbound over SCIM: {people} people");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    if only.is_empty() || only == "sqlite" {
        run(
            "SQLite",
            &format!("sqlite://{}/hr.db", dir.path().display()),
            people,
        )
        .await;
    }
    if !(only.is_empty() || only == "postgres") {
        return;
    }
    if let Some(database) = common::PostgresDatabase::create("gatehouse_bench_hr").await {
        run("PostgreSQL", &database.url, people).await;
        database.drop_now().await;
    }
}
