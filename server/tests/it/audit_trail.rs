//! The audit chain under concurrent writers, and `audit-verify` naming the first broken link.
use app::backend::Clock;

use crate::harness::{test_config, TestApp, TestBackend};
use app::backend::store::audit::{self, Actor, Change, VerifyOutcome};

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
        VerifyOutcome::Intact { events } => assert_eq!(events, 200),
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
    sqlx::query("update audit_event set after_json = '{\"status\":\"forged\"}' where id = 10")
        .execute(app.state.db.writer())
        .await
        .unwrap();
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
        VerifyOutcome::Intact { events: 0 }
    ));
    app.stop().await;
}

crate::on_both_backends!(
    concurrent_writers_each_extend_one_intact_chain,
    audit_verify_names_the_first_altered_or_missing_event,
    deleting_an_event_breaks_the_link_of_the_next,
    a_failed_transaction_leaves_no_audit_event,
);
