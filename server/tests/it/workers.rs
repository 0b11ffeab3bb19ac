//! Workers are drained step by step with the test clock: no sleeping.
use app::backend::Clock;

use crate::harness::{TestApp, TestBackend};
use app::backend::workers::{ApprovalDeadlines, ExpirySweeper, SessionJanitor, Worker};

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

async fn access_ends_at_its_end_and_not_before(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let sweeper = ExpirySweeper::new(app.state.clone());
    // Chloe's production database access has the earliest end of the demo.
    let (id, end): (i64, i64) = sqlx::query_as(
        "select a.id, a.end_at from assignment a join person p on p.id = a.person_id \
         where p.display_name = 'Chloe Chen' and a.status = 'active' order by a.end_at limit 1",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        sweeper.next_due().await.unwrap().map(|t| t.millis()),
        Some(end)
    );
    let status = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>("select status from assignment where id = $1")
                .bind(id)
                .fetch_one(app.state.db.reader())
                .await
                .unwrap()
        }
    };
    app.clock.set(app::domain::Timestamp(end - 1));
    assert_eq!(
        sweeper.step(app.clock.now()).await.unwrap(),
        0,
        "not a millisecond early"
    );
    assert_eq!(status(id).await, "active");
    // Not due: the service refuses to end it.
    assert!(
        !app::backend::services::assignments::expire(&app.state, id, app.state.clock.now())
            .await
            .unwrap()
    );

    // The worker loop sleeps towards the next end; a wake-up makes it look again. The
    // sweeper wakes the provisioner (the same signal) when it has ended something, so the
    // test waits on that signal, not on the wall clock.
    let mut woken = app.state.scheduler_wakeup.subscribe();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(app::backend::workers::run(
        std::sync::Arc::new(ExpirySweeper::new(app.state.clone())),
        app.state.clone(),
        stopped,
    ));
    app.clock.set(app::domain::Timestamp(end));
    app.state.scheduler_wakeup.notify();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while status(id).await == "active" {
            woken.changed().await.unwrap();
        }
    })
    .await
    .is_ok();
    let _ = stop.send(true);
    app.state.scheduler_wakeup.notify();
    running.await.unwrap();
    assert!(ended, "the woken sweeper ended the access at its end");
    assert!(matches!(status(id).await.as_str(), "ending" | "removed"));
    let (actor, reason): (String, String) = sqlx::query_as(
        "select actor_label, after_json from audit_event where action = 'assignment.ended' \
         and object_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert!(actor.contains("scheduler"), "{actor}");
    assert!(reason.contains("\"expired\""), "{reason}");
    let told: i64 = sqlx::query_scalar(
        "select count(*) from outbound_message where template = 'access_removed' \
         and to_address = 'chloe.chen@example.com'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(told, 1, "the holder is told, with the reason");
    assert_eq!(
        sweeper.step(app.clock.now()).await.unwrap(),
        0,
        "ended once"
    );
    app.stop().await;
}

/// Many assignments ending at one instant are ended in transactions of many each, yet
/// each gets its own audit event and message, and one extended meanwhile is left alone.
async fn many_ends_at_one_instant_are_ended_together_each_recorded(backend: TestBackend) {
    use app::backend::store;
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let sweeper = ExpirySweeper::new(app.state.clone());
    let first_demo_end = sweeper.next_due().await.unwrap().unwrap();
    let t = app::domain::Timestamp(first_demo_end.millis() - 60_000);
    let package = app.package_id("AWS sandbox account").await;
    let now = app.clock.now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..250 {
        let person = store::person::insert(
            &mut tx,
            now,
            &store::person::NewPerson {
                email: format!("batch-{i}@example.com"),
                display_name: format!("Batch {i}"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let id = store::assignment::insert(
            &mut tx,
            now,
            &store::assignment::NewAssignment {
                person_id: person,
                package_id: package,
                policy_id: None,
                request_id: None,
                status: app::domain::status::AssignmentStatus::Active,
                start_at: now,
                end_at: Some(t),
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    // One is extended just before its end: not due any more.
    sqlx::query("update assignment set end_at = $1 where id = $2")
        .bind(t.plus_days(30).millis())
        .bind(ids[120])
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(app.state.db.reader())
                .await
                .unwrap()
        }
    };

    app.clock.set(t);
    assert_eq!(sweeper.step(app.clock.now()).await.unwrap(), 249);
    assert_eq!(
        count(
            "select count(*) from assignment a join person p on p.id = a.person_id \
             where p.email like 'batch-%' and a.status = 'active'"
        )
        .await,
        1,
        "the extended one is still held"
    );
    assert_eq!(
        count(
            "select count(distinct e.object_id) from audit_event e where e.action = 'assignment.ended' \
             and e.object_id in (select cast(a.id as text) from assignment a join person p on p.id = a.person_id where p.email like 'batch-%')"
        )
        .await,
        249
    );
    assert_eq!(
        count(
            "select count(*) from audit_event e where e.action = 'assignment.ended' \
             and e.object_id in (select cast(a.id as text) from assignment a join person p on p.id = a.person_id where p.email like 'batch-%')"
        )
        .await,
        249,
        "one event each"
    );
    assert_eq!(
        count(
            "select count(*) from outbound_message where template = 'access_removed' \
             and to_address like 'batch-%'"
        )
        .await,
        249,
        "each holder told once"
    );
    assert_eq!(
        sweeper.step(app.clock.now()).await.unwrap(),
        0,
        "ended once"
    );
    let verify = store::audit::verify(app.state.db.reader()).await.unwrap();
    assert!(
        matches!(verify, store::audit::VerifyOutcome::Intact { .. }),
        "the audit chain still verifies: {verify:?}"
    );
    app.stop().await;
}

crate::on_both_backends!(
    access_ends_at_its_end_and_not_before,
    many_ends_at_one_instant_are_ended_together_each_recorded,
    the_session_janitor_removes_only_expired_sessions,
    an_unanswered_request_times_out_at_its_deadline_and_not_before,
);
