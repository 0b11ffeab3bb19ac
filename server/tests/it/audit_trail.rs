//! The audit chain under concurrent writers, and `audit-verify` naming the first broken link.
use app::backend::Clock;

use crate::harness::{test_config, TestApp, TestBackend};
use app::backend::store::audit::{self, Actor, Change, VerifyOutcome};

/// Someone who can write to the database edits event 10.
async fn forge_event_10(app: &TestApp) {
    sqlx::query("update audit_event set after_json = '{\"status\":\"forged\"}' where id = 10")
        .execute(app.state.db.writer())
        .await
        .unwrap();
}

async fn concurrent_writers_each_extend_one_intact_chain(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let writers: Vec<_> = (0..40)
        .map(|index| {
            let state = app.state.clone();
            tokio::spawn(async move {
                for round in 0..5 {
                    let now = state.clock.now();
                    let mut tx = state.db.begin_write().await.expect("begin");
                    audit::append(
                        &mut tx,
                        now,
                        &Actor::System("test"),
                        Change::new("test.written", "test", index * 100 + round),
                    )
                    .await
                    .expect("append");
                    tx.commit().await.expect("commit");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    match audit::verify(app.state.db.reader()).await.unwrap() {
        VerifyOutcome::Intact(verified) => assert_eq!(verified.events, 200),
        VerifyOutcome::Broken(chain_break) => panic!("chain broken: {chain_break}"),
    }
    app.stop().await;
}

async fn audit_verify_names_the_first_altered_or_missing_event(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let config = test_config(&app.database, &[]);
    let intact = gatehouse_server::audit_verify(&config).await.unwrap();
    assert!(intact.starts_with("The audit chain is intact"), "{intact}");

    // Someone edits event 10 in the database directly.
    forge_event_10(&app).await;
    let refusal = gatehouse_server::audit_verify(&config).await.unwrap_err();
    assert!(refusal.contains("audit event 10 was altered"), "{refusal}");

    app.stop().await;
}

async fn deleting_an_event_breaks_the_link_of_the_next(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    sqlx::query("delete from audit_event where id = 20")
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let config = test_config(&app.database, &[]);
    let refusal = gatehouse_server::audit_verify(&config).await.unwrap_err();
    assert!(
        refusal.contains("audit event 21 does not link"),
        "{refusal}"
    );
    app.stop().await;
}

async fn a_failed_transaction_leaves_no_audit_event(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let now = app.clock.now();
    {
        let mut tx = app.state.db.begin_write().await.unwrap();
        audit::append(
            &mut tx,
            now,
            &Actor::System("test"),
            Change::new("test.rolled_back", "test", 1),
        )
        .await
        .unwrap();
        // Dropped without commit: as when the change it records fails.
    }
    let count: i64 = sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(count, 0);
    assert!(matches!(
        audit::verify(app.state.db.reader()).await.unwrap(),
        VerifyOutcome::Intact(verified) if verified.events == 0
    ));
    app.stop().await;
}

/// Appends one event as any service does.
async fn append_one(app: &TestApp, index: i64) {
    let mut tx = app.state.db.begin_write().await.unwrap();
    audit::append(
        &mut tx,
        app.clock.now(),
        &Actor::System("test"),
        Change::new("test.written", "test", index),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn a_chain_computed_again_without_the_key_is_caught(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let config = test_config(&app.database, &[]);
    // Someone who can write to the database edits event 10 and computes every hash from
    // there on again, as the chain was computed before it was keyed, then moves the head.
    forge_event_10(&app).await;
    use sqlx::Row;
    let rows = sqlx::query(
        "select id, occurred_at, actor_id, actor_label, action, object_kind, object_id, \
         before_json, after_json from audit_event where id >= 10 order by id",
    )
    .fetch_all(app.state.db.reader())
    .await
    .unwrap();
    let mut previous: String = sqlx::query_scalar("select hash from audit_event where id = 9")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    for row in rows {
        let id: i64 = row.get("id");
        let record = app::domain::audit::AuditRecord {
            occurred_at: row.get("occurred_at"),
            actor_id: row.get("actor_id"),
            actor_label: row.get("actor_label"),
            action: row.get("action"),
            object_kind: row.get("object_kind"),
            object_id: row.get("object_id"),
            before_json: row.get("before_json"),
            after_json: row.get("after_json"),
        };
        let hash = app::domain::audit::unkeyed_chain_hash(&previous, &record);
        sqlx::query("update audit_event set prev_hash = $1, hash = $2 where id = $3")
            .bind(&previous)
            .bind(&hash)
            .bind(id)
            .execute(app.state.db.writer())
            .await
            .unwrap();
        previous = hash;
    }
    sqlx::query("update audit_chain_head set last_hash = $1 where id = 1")
        .bind(&previous)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let refusal = gatehouse_server::audit_verify(&config).await.unwrap_err();
    assert!(refusal.contains("audit event 10 was altered"), "{refusal}");
    app.stop().await;
}

async fn events_deleted_at_the_tail_are_found(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let config = test_config(&app.database, &[]);
    // A verification writes a signed checkpoint outside the database.
    let intact = gatehouse_server::audit_verify(&config).await.unwrap();
    assert!(intact.starts_with("The audit chain is intact"), "{intact}");
    let last: i64 = app.scalar("select max(id) from audit_event").await;
    let checkpoint = std::fs::read_to_string(&config.audit_checkpoint_file).unwrap();
    assert!(
        checkpoint.contains(&format!("\"event_id\":{last}")),
        "{checkpoint}"
    );

    // The head's hash moved back to the event that is to be the last (its id still names
    // the old last one, which a foreign key keeps until the head moves).
    let new_last = last - 5;
    let new_last_hash: String = sqlx::query_scalar("select hash from audit_event where id = $1")
        .bind(new_last)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    sqlx::query("update audit_chain_head set last_hash = $1 where id = 1")
        .bind(&new_last_hash)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let refusal = gatehouse_server::audit_verify(&config).await.unwrap_err();
    assert!(
        refusal.contains("events were removed at the end"),
        "{refusal}"
    );
    // The head moved back whole and the last five events deleted: only the checkpoint
    // outside the database can tell.
    sqlx::query("update audit_chain_head set last_event_id = $1 where id = 1")
        .bind(new_last)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    sqlx::query("delete from audit_event where id > $1")
        .bind(new_last)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let refusal = gatehouse_server::audit_verify(&config).await.unwrap_err();
    assert!(
        refusal.contains(&format!(
            "names audit event {last}, which the database no longer holds"
        )),
        "{refusal}"
    );
    // And the audit page says so too.
    let admin = crate::harness::new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let trail: serde_json::Value = app
        .call::<app::api::audit::GetAuditTrail>(&admin, &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(
        trail["chain_break"]
            .as_str()
            .is_some_and(|text| text.contains("no longer holds")),
        "{trail}"
    );
    app.stop().await;
}

async fn the_audit_page_checks_only_what_came_after_its_last_verification(backend: TestBackend) {
    use app::backend::services::audit::{verify_full, verify_incremental};
    use app::domain::audit::ChainBreak;
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let total = app.scalar("select count(*) from audit_event").await;
    let first = verify_incremental(&app.state.db, None, app.clock.now())
        .await
        .unwrap();
    assert_eq!(first.chain_break, None);
    assert_eq!(
        (first.events, first.walked),
        (total, u64::try_from(total).unwrap())
    );
    for index in 0..3 {
        append_one(&app, index).await;
    }
    let second = verify_incremental(&app.state.db, None, app.clock.now())
        .await
        .unwrap();
    assert_eq!(second.chain_break, None);
    assert_eq!(
        (second.events, second.walked),
        (total + 3, 3),
        "only the new events were read"
    );

    // An event edited before the last verification is not read again by the page; the
    // full check of `audit-verify` finds it.
    let original: String = sqlx::query_scalar("select object_id from audit_event where id = 5")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let edit = |id: i64, value: String| {
        let db = app.state.db.clone();
        async move {
            sqlx::query("update audit_event set object_id = $1 where id = $2")
                .bind(value)
                .bind(id)
                .execute(db.writer())
                .await
                .unwrap();
        }
    };
    edit(5, "forged".into()).await;
    let page = verify_incremental(&app.state.db, None, app.clock.now())
        .await
        .unwrap();
    assert_eq!((page.chain_break, page.walked), (None, 0));
    let full = verify_full(&app.state.db, None).await.unwrap();
    assert_eq!(
        full.chain_break,
        Some(ChainBreak::AlteredEvent { event_id: 5 })
    );
    edit(5, original).await;

    // An event edited after the last verification is caught by the page.
    append_one(&app, 3).await;
    let edited: i64 = app.scalar("select max(id) from audit_event").await;
    edit(edited, "forged".into()).await;
    let third = verify_incremental(&app.state.db, None, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        third.chain_break,
        Some(ChainBreak::AlteredEvent { event_id: edited })
    );

    // The mark cannot be moved forward over it by hand: it is signed.
    sqlx::query("update audit_verification set verified_event_id = $1 where id = 1")
        .bind(edited)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let moved = verify_incremental(&app.state.db, None, app.clock.now())
        .await
        .unwrap();
    assert!(
        matches!(
            moved.chain_break,
            Some(ChainBreak::CheckpointMismatch { .. })
        ),
        "{moved:?}"
    );
    app.stop().await;
}

crate::on_both_backends!(
    a_chain_computed_again_without_the_key_is_caught,
    events_deleted_at_the_tail_are_found,
    the_audit_page_checks_only_what_came_after_its_last_verification,
    concurrent_writers_each_extend_one_intact_chain,
    audit_verify_names_the_first_altered_or_missing_event,
    deleting_an_event_breaks_the_link_of_the_next,
    a_failed_transaction_leaves_no_audit_event,
);
