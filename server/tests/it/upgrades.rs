//! Upgrading a database that holds data: reviews made before migration 0009 (reviewer
//! rows for every item, one snapshot cursor per instance) keep their items, decisions and
//! reviewers, get the ranks the reviewer's page orders by, and an instance that was
//! half-filled when Gatehouse stopped is completed by the new code.

use crate::harness::{test_config, TestBackend, TestDatabase, TEST_START};
use app::backend::services::reviews;
use app::backend::ManualClock;
use std::sync::Arc;

/// The schema of migrations 0001 to 0008, with two review instances in it: one in
/// progress (three items, one decided) and one stopped after its first assignment.
const BEFORE_0009: &[&str] = &[
    "insert into person (id, email, display_name, manager_id, created_at, updated_at) values \
     (1, 'bo@example.com', 'Bo Boss', null, 0, 0), (2, 'al@example.com', 'al Alder', 1, 0, 0), \
     (3, 'cy@example.com', 'Cy Cole', 1, 0, 0)",
    "insert into catalog (id, name, created_at, updated_at) values (1, 'Cloud', 0, 0)",
    "insert into access_package (id, catalog_id, name, created_at, updated_at) values \
     (1, 1, 'Zeta admins', 0, 0), (2, 1, 'alpha readers', 0, 0)",
    "insert into assignment (id, person_id, access_package_id, status, start_at, created_at, updated_at) values \
     (1, 2, 1, 'active', 0, 0, 0), (2, 3, 2, 'active', 0, 0, 0), (3, 2, 2, 'active', 0, 0, 0)",
    "insert into access_review (id, name, scope_kind, start_at, duration_days, owner_id, created_at, updated_at) \
     values (1, 'Quarterly', 'all', 0, 14, 1, 0, 0)",
    "insert into access_review_stage (access_review_id, position, reviewer_kind, duration_days) \
     values (1, 1, 'manager', 14)",
    "insert into review_instance (id, access_review_id, status, start_at, end_at, stage_end_at, \
     snapshot_after_id, snapshot_until_id, created_at, updated_at) values \
     (1, 1, 'in_progress', 0, 4000000000000, 4000000000000, 3, 3, 0, 0), \
     (2, 1, 'starting', 1, 4000000000000, 4000000000000, 1, 3, 0, 0)",
    "insert into review_item (id, review_instance_id, stage, assignment_id, person_id, access_package_id, \
     decision, reason, created_at) values \
     (1, 1, 1, 1, 2, 1, 'keep', 'On call', 0), (2, 1, 1, 2, 3, 2, null, '', 0), \
     (3, 1, 1, 3, 2, 2, null, '', 0), (4, 2, 1, 1, 2, 1, null, '', 0)",
    "insert into review_item_reviewer (review_item_id, person_id, review_instance_id, stage, created_at) \
     values (1, 1, 1, 1, 0), (2, 1, 1, 1, 0), (3, 1, 1, 1, 0), (4, 1, 2, 1, 0)",
    "insert into review_peer (review_instance_id, access_package_id, department, holders) \
     values (2, 1, 'Cloud', 1)",
];

async fn scalar(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

async fn reviews_made_before_0009_survive_the_upgrade_and_a_half_filled_instance_completes(
    backend: TestBackend,
) {
    let database = TestDatabase::create(&backend).await;
    let folder = match backend {
        TestBackend::Sqlite => "../migrations/sqlite",
        TestBackend::Postgres { .. } => "../migrations/postgres",
    };
    {
        let db = app::backend::Db::connect(&database.url, true)
            .await
            .unwrap();
        let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(folder))
            .await
            .unwrap();
        let upto_0008: Vec<_> = before
            .migrations
            .iter()
            .filter(|migration| migration.version <= 8)
            .cloned()
            .collect();
        assert_eq!(upto_0008.len(), 8);
        before.migrations = upto_0008.into();
        before.run(db.writer()).await.unwrap();
        for statement in BEFORE_0009 {
            sqlx::query(statement)
                .execute(db.writer())
                .await
                .unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
        if matches!(backend, TestBackend::Postgres { .. }) {
            // The rows above name their ids; later rows take the next ones, as they would.
            for table in [
                "person",
                "catalog",
                "access_package",
                "assignment",
                "access_review",
                "review_instance",
                "review_item",
            ] {
                sqlx::query(&format!(
                    "select setval(pg_get_serial_sequence('{table}', 'id'), (select max(id) from {table}))"
                ))
                .execute(db.writer())
                .await
                .unwrap();
            }
        }
        db.close().await;
    }

    // Gatehouse starts on it and migrates.
    let clock = ManualClock::new(TEST_START);
    let running =
        gatehouse_server::start(&test_config(&database, &[]), Arc::new(clock.clone()), false)
            .await
            .expect("Gatehouse starts on the old database");
    let state = running.state.clone();
    let pool = state.db.reader();

    // Items, decisions and reviewer rows are all there, with the ranks of the names as
    // they are now: al Alder (1), Bo Boss (2), Cy Cole (3); alpha readers (1), Zeta admins (2).
    let items: Vec<(i64, i64, Option<String>, i64, i64)> = sqlx::query_as(
        "select id, review_instance_id, decision, holder_rank, access_rank from review_item order by id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        items,
        vec![
            (1, 1, Some("keep".to_string()), 1, 2),
            (2, 1, None, 3, 1),
            (3, 1, None, 1, 1),
            (4, 2, None, 1, 2),
        ]
    );
    assert_eq!(
        scalar(
            pool,
            "select count(*) from review_item_reviewer where person_id = 1"
        )
        .await,
        4
    );
    // Only the instance still starting gets ranks (the other's are on its items), the rest
    // of its snapshot as one batch, and its peers counted again when it completes.
    assert_eq!(
        scalar(
            pool,
            "select count(*) from review_rank where review_instance_id = 2"
        )
        .await,
        5
    );
    assert_eq!(
        scalar(
            pool,
            "select count(*) from review_rank where review_instance_id = 1"
        )
        .await,
        0
    );
    let batches: Vec<(i64, i64, i64)> = sqlx::query_as(
        "select review_instance_id, after_id, upto_id from review_snapshot_batch where not done",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(batches, vec![(2, 1, 3)]);
    assert_eq!(scalar(pool, "select count(*) from review_peer").await, 0);

    // The new code completes the half-filled instance: each assignment once, Bo reviewing.
    reviews::snapshot_starting(&state, TEST_START)
        .await
        .unwrap();
    assert_eq!(
        scalar(
            pool,
            "select count(*) from review_instance where id = 2 and status = 'in_progress'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            pool,
            "select count(distinct assignment_id) from review_item where review_instance_id = 2"
        )
        .await,
        3
    );
    assert_eq!(
        scalar(
            pool,
            "select count(*) from review_item where review_instance_id = 2"
        )
        .await,
        3
    );
    assert_eq!(
        scalar(
            pool,
            "select count(*) from review_item i where i.review_instance_id = 2 and (i.reviewer_id = 1 \
             or exists (select 1 from review_item_reviewer r where r.review_item_id = i.id and r.person_id = 1))"
        )
        .await,
        3
    );
    running.stop().await;
}

crate::on_both_backends!(
    reviews_made_before_0009_survive_the_upgrade_and_a_half_filled_instance_completes
);
