//! The demo organisation `make run` loads.

use crate::harness::{TestApp, TestBackend};

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn the_demo_is_a_living_organisation(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    assert_eq!(count(&app, "select count(*) from person").await, 30);
    assert_eq!(
        count(
            &app,
            "select count(distinct department) from person where department <> 'Executive'"
        )
        .await,
        3
    );
    assert_eq!(count(&app, "select count(*) from catalog").await, 2);
    assert_eq!(count(&app, "select count(*) from access_package").await, 6);
    assert_eq!(
        count(
            &app,
            "select count(distinct requestor_scope) from assignment_policy"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from access_request where status = 'pending_approval'"
        )
        .await,
        6
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from assignment where status = 'active'"
        )
        .await,
        13
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from assignment where status = 'scheduled'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from approval_task where status = 'open'"
        )
        .await,
        6
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from outbound_message where status = 'queued'"
        )
        .await,
        6
    );
    // A manager chain three levels deep: junior engineer -> team lead -> head -> CEO.
    let chain = count(
        &app,
        "select count(*) from person p join person m on m.id = p.manager_id \
         join person mm on mm.id = m.manager_id join person top on top.id = mm.manager_id \
         where top.manager_id is null",
    )
    .await;
    assert!(chain >= 4, "{chain}");
    // Every row written has its audit event: 30 people, 1 connector, 2 catalogs, 6
    // packages, 1 incompatibility, 14 assignments, 6 requests and 1 earlier decision.
    assert_eq!(count(&app, "select count(*) from audit_event").await, 61);
    app.stop().await;
}

async fn the_demo_is_loaded_only_into_an_empty_database(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let events_before = count(&app, "select count(*) from audit_event").await;
    let refusal = app::backend::services::demo::seed(&app.state)
        .await
        .unwrap_err();
    assert_eq!(refusal.code, app::domain::ErrorCode::Conflict);
    assert_eq!(count(&app, "select count(*) from person").await, 30);
    assert_eq!(
        count(&app, "select count(*) from audit_event").await,
        events_before
    );
    app.stop().await;
}

crate::on_both_backends!(
    the_demo_is_a_living_organisation,
    the_demo_is_loaded_only_into_an_empty_database,
);
