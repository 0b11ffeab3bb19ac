//! Workers are drained step by step with the test clock: no sleeping.
use app::backend::Clock;

use crate::harness::{TestApp, TestBackend};
use app::backend::workers::{SessionJanitor, Worker};

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

crate::on_both_backends!(the_session_janitor_removes_only_expired_sessions);
