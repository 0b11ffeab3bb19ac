//! Benchmark of access reviews at company size, on SQLite and on PostgreSQL.
//!
//! An organisation of BENCH_PEOPLE people (default 10 000: 100 managers of 99 reports
//! each) holding BENCH_PACKAGES packages each (default 100: 1 000 000 assignments),
//! generated set-wise in the database. Then, per backend:
//! - starting an instance of a manager review of every package: from its start until the
//!   snapshot is complete and every item has its reviewer; the process's extra peak memory
//!   meanwhile; and the reviewer page of a small review answering all the while (its
//!   slowest answer);
//! - the reviewer page of one manager's ~10 000 items: p50 / p99 / max over 300 loads
//!   (pages, grouped by person and by package, with and without a search);
//! - "accept all recommendations" over that manager's items.
//!
//! `make bench` runs it on both backends (PostgreSQL at `BENCH_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `BENCH_PEOPLE=2000 make bench` is smaller.
//!
//! Prints figures; asserts nothing about speed (a benchmark is not a test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use app::backend::services::reviews;
use app::backend::workers::{ReviewScheduler, Worker};
use app::backend::{AppState, Clock, SystemClock};
use app::domain::review::ReviewForm;
use app::model::reviews::GroupBy;
mod common;

use common::{env_number, memory_mb, ms, percentile, reset_peak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn exec(state: &AppState, sql: &str) {
    let mut tx = state.db.begin_write().await.unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn scalar(state: &AppState, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(state.db.reader())
        .await
        .unwrap()
}

/// The organisation, generated set-wise: managers first, then their reports, then every
/// person holding every generated package.
async fn generate(state: &AppState, people: usize, packages: usize) {
    let now = SystemClock.now().millis();
    let managers = (people / 100).max(1);
    let started = Instant::now();
    let catalog = scalar(state, "select id from catalog order by id limit 1").await;
    let mut tx = state.db.begin_write().await.unwrap();
    for i in 0..packages {
        sqlx::query("insert into access_package (catalog_id, name, created_at, updated_at) values ($1, $2, $3, $3)")
            .bind(catalog)
            .bind(format!("Bench package {i:03}"))
            .bind(now)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    for (range, with_manager) in [(0..managers, false), (managers..people, true)] {
        let mut tx = state.db.begin_write().await.unwrap();
        for chunk in range.collect::<Vec<_>>().chunks(500) {
            let values = chunk
                .iter()
                .map(|i| {
                    let manager = if with_manager {
                        format!("(select id from person where email = 'manager{}@bench.example')", i % managers)
                    } else {
                        "null".to_string()
                    };
                    let email = if with_manager {
                        format!("person{i}@bench.example")
                    } else {
                        format!("manager{i}@bench.example")
                    };
                    format!(
                        "('{email}', 'Bench Person {i:05}', 'Department {}', {manager}, 'active', {now}, {now}, {})",
                        i % 20,
                        now - (*i as i64 % 90) * 86_400_000
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            sqlx::query(&format!(
                "insert into person (email, display_name, department, manager_id, status, created_at, updated_at, last_sign_in_at) values {values}"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let first_person = scalar(
        state,
        "select min(id) from person where email like '%@bench.example'",
    )
    .await;
    let last_person = scalar(
        state,
        "select max(id) from person where email like '%@bench.example'",
    )
    .await;
    let mut from = first_person;
    while from <= last_person {
        let to = from + 999;
        exec(
            state,
            &format!(
                "insert into assignment (person_id, access_package_id, status, start_at, end_at, created_at, updated_at) \
                 select p.id, k.id, 'active', {start}, {end}, {now}, {now} from person p cross join access_package k \
                 where p.id between {from} and {to} and p.email like '%@bench.example' and k.name like 'Bench package %'",
                start = now - 200 * 86_400_000,
                end = now + 365 * 86_400_000,
            ),
        )
        .await;
        from = to + 1;
    }
    println!(
        "  generated {} people, {} packages, {} assignments in {:.1} s",
        scalar(state, "select count(*) from person").await,
        packages,
        scalar(
            state,
            "select count(*) from assignment where status = 'active'"
        )
        .await,
        started.elapsed().as_secs_f64()
    );
}

fn form(name: &str, packages: &str, scope: &str) -> ReviewForm {
    let now = SystemClock.now();
    let mut form = ReviewForm::new_default(now);
    form.name = name.into();
    form.scope_kind = scope.into();
    form.packages = packages.into();
    form.start_at = now.date_time_input();
    form.reminder_days = String::new();
    form
}

async fn run(label: &str, url: &str, people: usize, packages: usize) {
    println!("\n== {label} ==");
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(url, dir.path(), &[]);
    let running = gatehouse_server::start(&config, Arc::new(SystemClock), false)
        .await
        .unwrap();
    let state = running.state.clone();
    app::backend::services::demo::seed(&state).await.unwrap();
    generate(&state, people, packages).await;
    let ada: app::backend::store::person::PersonRow = app::backend::store::person::find(
        state.db.reader(),
        scalar(
            &state,
            "select id from person where display_name = 'Ada Admin'",
        )
        .await,
    )
    .await
    .unwrap()
    .unwrap();
    let scheduler = ReviewScheduler::new(state.clone());

    // A small review whose reviewer page is read while the big one starts.
    reviews::save(
        &state,
        &ada,
        None,
        0,
        &form("Small review", "GitHub organisation", "packages"),
    )
    .await
    .unwrap();
    while scheduler.step(SystemClock.now()).await.unwrap() > 0 {}
    let small = scalar(&state, "select max(id) from review_instance").await;
    let alice = app::backend::store::person::find(
        state.db.reader(),
        scalar(
            &state,
            "select id from person where display_name = 'Alice Anders'",
        )
        .await,
    )
    .await
    .unwrap()
    .unwrap();

    // The big one: every package, the holders' managers.
    reviews::save(
        &state,
        &ada,
        None,
        0,
        &form("Company-wide review", "", "all"),
    )
    .await
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let state = state.clone();
        let done = done.clone();
        let alice = alice.clone();
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut loads = 0;
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                reviews::reviewer_page(&state, &alice, small, GroupBy::Person, "", 1)
                    .await
                    .unwrap();
                slowest = slowest.max(t.elapsed());
                loads += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (loads, slowest)
        })
    };
    let (rss_before, _) = memory_mb();
    reset_peak();
    let started = Instant::now();
    while scheduler.step(SystemClock.now()).await.unwrap() > 0 {}
    let took = started.elapsed();
    let (_, peak) = memory_mb();
    done.store(true, Ordering::SeqCst);
    let (loads, slowest) = reader.await.unwrap();
    let big = scalar(&state, "select max(id) from review_instance").await;
    let items = scalar(
        &state,
        &format!("select count(*) from review_item where review_instance_id = {big}"),
    )
    .await;
    let reviewers = scalar(
        &state,
        &format!(
            "select (select count(reviewer_id) from review_item where review_instance_id = {big}) \
             + (select count(*) from review_item_reviewer where review_instance_id = {big})"
        ),
    )
    .await;
    let status: String = sqlx::query_scalar(&format!(
        "select status from review_instance where id = {big}"
    ))
    .fetch_one(state.db.reader())
    .await
    .unwrap();
    println!(
        "  start an instance over {items} assignments ({reviewers} reviewers, {status}): {:.2} s; \
         extra peak memory {:.0} MB (resident before {:.0} MB); reviewer page meanwhile: {loads} loads, slowest {}",
        took.as_secs_f64(),
        (peak - rss_before).max(0.0),
        rss_before,
        ms(slowest)
    );

    // One manager's list.
    let manager_id = scalar(
        &state,
        &format!("select reviewer_id from review_item where review_instance_id = {big} and reviewer_id is not null group by reviewer_id order by count(*) desc, reviewer_id limit 1"),
    )
    .await;
    let manager = app::backend::store::person::find(state.db.reader(), manager_id)
        .await
        .unwrap()
        .unwrap();
    let first = reviews::reviewer_page(&state, &manager, big, GroupBy::Person, "", 1)
        .await
        .unwrap();
    let pages = (first.my_items + 49) / 50;
    let mut times = Vec::new();
    for i in 0..300i64 {
        let (group, query) = match i % 4 {
            0 => (GroupBy::Person, ""),
            1 => (GroupBy::Package, ""),
            2 => (GroupBy::Person, "person1"),
            _ => (GroupBy::Package, "package 05"),
        };
        let page = 1 + (i * 37) % pages.max(1);
        let t = Instant::now();
        reviews::reviewer_page(&state, &manager, big, group, query, page)
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "  reviewer page, {} items: p50 {}, p99 {}, max {} (300 loads)",
        first.my_items,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap())
    );
    let t = Instant::now();
    let accepted = reviews::accept_recommendations(&state, &manager, big)
        .await
        .unwrap();
    println!(
        "  accept all recommendations: {} items in {}",
        accepted.decided,
        ms(t.elapsed())
    );
    running.stop().await;
}

#[tokio::main]
async fn main() {
    let people = env_number("BENCH_PEOPLE", 10_000);
    let packages = env_number("BENCH_PACKAGES", 100);
    println!(
        "Access reviews: {people} people holding {packages} packages each ({} assignments)",
        people * packages
    );
    // BENCH_ONLY=sqlite|postgres runs one backend; BENCH_KEEP=1 keeps the PostgreSQL
    // database afterwards (its name is printed) for EXPLAIN.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let keep = std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    if only.is_empty() || only == "sqlite" {
        run(
            "SQLite",
            &format!("sqlite://{}/reviews.db", dir.path().display()),
            people,
            packages,
        )
        .await;
    }
    if !(only.is_empty() || only == "postgres") {
        return;
    }
    if let Some(database) = common::PostgresDatabase::create("gatehouse_bench_reviews").await {
        run("PostgreSQL", &database.url, people, packages).await;
        if keep {
            println!("  kept database {}", database.name);
            return;
        }
        database.drop_now().await;
    }
}
