//! Workers are drained step by step with the test clock: no sleeping.
use app::backend::Clock;

use crate::harness::{TestApp, TestBackend};
use app::backend::workers::{ApprovalDeadlines, SessionJanitor, Worker};

async fn the_session_janitor_removes_only_expired_sessions(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let now = app.clock.now().millis();
    for (id, expiry) in [
        ("expired-a", now - 1),
        ("expired-b", now - 60_000),
        ("live", now + 60_000),
    ] {
        sqlx::query("insert into session (id, data, expiry_at) values ($1, $2, $3)")
            .bind(id)
            .bind(b"{}".to_vec())
            .bind(expiry)
            .execute(app.state.db.writer())
            .await
            .unwrap();
    }
    let janitor = SessionJanitor::new(app.state.clone());
    assert_eq!(janitor.step(app.clock.now()).await.unwrap(), 2);
    assert_eq!(
        janitor.step(app.clock.now()).await.unwrap(),
        0,
        "a drained worker finds nothing"
    );
    app.clock.advance_minutes(2);
    assert_eq!(janitor.step(app.clock.now()).await.unwrap(), 1);
    app.stop().await;
}

async fn an_unanswered_request_times_out_at_its_deadline_and_not_before(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let deadlines = ApprovalDeadlines::new(app.state.clone());
    // Eli's request was made two days ago with a 14-day timeout: due in 12 days.
    let request_id: i64 = sqlx::query_scalar(
        "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Eli Evans'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let due: i64 =
        sqlx::query_scalar("select due_at from approval_task where access_request_id = $1")
            .bind(request_id)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(
        deadlines
            .next_due()
            .await
            .unwrap()
            .map(|t| t.millis() <= due),
        Some(true)
    );
    app.clock.set(app::domain::Timestamp(due - 1));
    deadlines.step(app.clock.now()).await.unwrap();
    let still_pending: String =
        sqlx::query_scalar("select status from access_request where id = $1")
            .bind(request_id)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(
        still_pending, "pending_approval",
        "a millisecond before its deadline"
    );
    app.clock.set(app::domain::Timestamp(due));
    let fired = deadlines.step(app.clock.now()).await.unwrap();
    assert_eq!(fired, 1, "Eli's request fires at its deadline");
    let status: String = sqlx::query_scalar("select status from access_request where id = $1")
        .bind(request_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(status, "timed_out");
    // Every request that timed out (Hana's, due earlier, went first) did so at or after
    // its own deadline.
    let early: i64 = sqlx::query_scalar(
        "select count(*) from access_request r where r.status = 'timed_out' \
         and r.decided_at < (select min(t.due_at) from approval_task t where t.access_request_id = r.id)",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(early, 0, "nothing timed out before its deadline");
    assert_eq!(deadlines.step(app.clock.now()).await.unwrap(), 0, "drained");
    let events = app::backend::store::audit::count_for(
        app.state.db.reader(),
        "access_request.timed_out",
        "access_request",
        &request_id.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(events, 1);
    // Alice's late approval changes nothing.
    let alice_id = app.person_id("Alice Anders").await;
    let alice = app::backend::store::person::find(app.state.db.reader(), alice_id)
        .await
        .unwrap()
        .unwrap();
    let late = app::backend::services::requests::decide(
        &app.state,
        &alice,
        request_id,
        app::backend::services::requests::Outcome::Approve,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(late.code, app::domain::ErrorCode::Conflict);
    assert!(late.message.contains("timed out"), "{}", late.message);
    app.stop().await;
}

crate::on_both_backends!(
    the_session_janitor_removes_only_expired_sessions,
    an_unanswered_request_times_out_at_its_deadline_and_not_before,
);
