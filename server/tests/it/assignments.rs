//! Ending access: giving it back, revoking it, and reference-counted removal downstream.

use crate::harness::{TestApp, TestBackend};
use app::backend::services::{assignments, requests};
use app::backend::store;
use app::backend::Clock;
use app::domain::ErrorCode;

async fn assignment_of(app: &TestApp, holder: &str, package: &str) -> i64 {
    sqlx::query_scalar(
        "select a.id from assignment a join person p on p.id = a.person_id \
         join access_package k on k.id = a.access_package_id \
         where p.display_name = $1 and k.name = $2 order by a.id desc limit 1",
    )
    .bind(holder)
    .bind(package)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap()
}

async fn status_of(app: &TestApp, assignment_id: i64) -> (String, Option<String>) {
    sqlx::query_as("select status, removal_reason from assignment where id = $1")
        .bind(assignment_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn the_holder_gives_access_back_and_nobody_else_can(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let alice = app.person("Alice Anders").await;
    let ben = app.person("Ben Brooks").await;
    let sandbox = assignment_of(&app, "Alice Anders", "AWS sandbox account").await;
    let refused = assignments::release(&app.state, &ben, sandbox)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
    assignments::release(&app.state, &alice, sandbox)
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, sandbox).await,
        ("removed".into(), Some("released".into()))
    );
    let again = assignments::release(&app.state, &alice, sandbox)
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    let events = store::audit::count_for(
        app.state.db.reader(),
        "assignment.ended",
        "assignment",
        &sandbox.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(events, 1);
    app.stop().await;
}

async fn owners_and_administrators_revoke_with_a_reason(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github_of_chloe = assignment_of(&app, "Chloe Chen", "GitHub organisation").await;
    let dev = app.person("Dev Patel").await;
    let refused = assignments::revoke(&app.state, &dev, github_of_chloe, "I do not like it")
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound, "not his package");
    let ben = app.person("Ben Brooks").await; // owns the GitHub package
    let missing = assignments::revoke(&app.state, &ben, github_of_chloe, "  ")
        .await
        .unwrap_err();
    assert_eq!(
        missing.field_message("comment"),
        Some("Say why this access is removed.")
    );
    assert_eq!(status_of(&app, github_of_chloe).await.0, "active");
    assignments::revoke(&app.state, &ben, github_of_chloe, "Left the platform team")
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, github_of_chloe).await,
        ("removed".into(), Some("revoked".into()))
    );
    let ada = app.person("Ada Admin").await; // an administrator, owner of nothing here
    let salesforce_of_tom = assignment_of(&app, "Tom Turner", "Salesforce").await;
    assignments::revoke(&app.state, &ada, salesforce_of_tom, "Licence audit")
        .await
        .unwrap();
    assert_eq!(status_of(&app, salesforce_of_tom).await.0, "removed");
    app.stop().await;
}

async fn a_downstream_resource_granted_twice_is_removed_only_with_the_last_assignment(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let now = app.clock.now();
    // One SCIM group granted by two packages the same person holds.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let catalog_id: i64 = sqlx::query_scalar("select id from catalog where name = 'Engineering'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let scim = store::connector::insert(&mut tx, now, "Okta SCIM", "scim")
        .await
        .unwrap();
    let group = store::resource::insert(
        &mut tx,
        now,
        &store::resource::NewResource {
            catalog_id,
            connector_id: scim,
            name: "engineering-all",
            kind: "group",
            external_id: Some("grp-1"),
            description: "",
        },
    )
    .await
    .unwrap();
    for name in ["GitHub organisation", "AWS sandbox account"] {
        let package: i64 = sqlx::query_scalar("select id from access_package where name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        store::package::add_resource(&mut tx, now, package, group)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let alice = app.person("Alice Anders").await;
    let sandbox = assignment_of(&app, "Alice Anders", "AWS sandbox account").await;
    let github = assignment_of(&app, "Alice Anders", "GitHub organisation").await;

    assignments::release(&app.state, &alice, sandbox)
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, sandbox).await.0,
        "removed",
        "GitHub still grants the group: nothing to remove"
    );
    let jobs = |assignment: i64| {
        let pool = app.state.db.reader().clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from provisioning_job where operation = 'remove_member' and assignment_id = $1")
                .bind(assignment)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(jobs(sandbox).await, 0);

    assignments::release(&app.state, &alice, github)
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, github).await.0,
        "ending",
        "removing until the downstream removal is verified"
    );
    assert_eq!(jobs(github).await, 1);
    app.stop().await;
}

async fn end_of(app: &TestApp, assignment_id: i64) -> Option<i64> {
    sqlx::query_scalar("select end_at from assignment where id = $1")
        .bind(assignment_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn an_extension_without_approval_moves_the_end_at_once(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let alice = app.person("Alice Anders").await;
    let ben = app.person("Ben Brooks").await;
    let sandbox = assignment_of(&app, "Alice Anders", "AWS sandbox account").await;
    let end = app::domain::Timestamp(end_of(&app, sandbox).await.unwrap());

    let foreign =
        requests::request_extension(&app.state, &ben, sandbox, Some(end.plus_days(5)), "")
            .await
            .unwrap_err();
    assert_eq!(foreign.code, ErrorCode::NotFound);
    let earlier = requests::request_extension(&app.state, &alice, sandbox, Some(end), "")
        .await
        .unwrap_err();
    assert!(earlier
        .field_message("end_date")
        .unwrap()
        .contains("after the current end"));
    let too_long =
        requests::request_extension(&app.state, &alice, sandbox, Some(end.plus_days(31)), "")
            .await
            .unwrap_err();
    assert!(too_long
        .field_message("end_date")
        .unwrap()
        .contains("at most 30 days"));
    assert_eq!(
        end_of(&app, sandbox).await,
        Some(end.millis()),
        "refusals change nothing"
    );

    let extended =
        requests::request_extension(&app.state, &alice, sandbox, Some(end.plus_days(20)), "")
            .await
            .unwrap();
    assert_eq!(
        extended.status,
        app::domain::status::RequestStatus::Delivered
    );
    assert_eq!(
        end_of(&app, sandbox).await,
        Some(end.plus_days(20).millis())
    );
    let events = store::audit::count_for(
        app.state.db.reader(),
        "assignment.extended",
        "assignment",
        &sandbox.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(events, 1);
    app.stop().await;
}

async fn an_extension_that_needs_approval_keeps_access_until_it_is_decided(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    sqlx::query(
        "update assignment_policy set extension_needs_approval = $1 where access_package_id = \
         (select id from access_package where name = 'Production database (read-only)')",
    )
    .bind(true)
    .execute(app.state.db.writer())
    .await
    .unwrap();
    let chloe = app.person("Chloe Chen").await;
    let proddb = assignment_of(&app, "Chloe Chen", "Production database (read-only)").await;
    let end = app::domain::Timestamp(end_of(&app, proddb).await.unwrap());
    let asked = requests::request_extension(
        &app.state,
        &chloe,
        proddb,
        Some(end.plus_days(5)),
        "Incident still open",
    )
    .await
    .unwrap();
    assert_eq!(
        asked.status,
        app::domain::status::RequestStatus::PendingApproval
    );
    assert_eq!(
        end_of(&app, proddb).await,
        Some(end.millis()),
        "not extended before approval"
    );
    assert_eq!(
        status_of(&app, proddb).await.0,
        "active",
        "and still held meanwhile"
    );
    for approver in ["Alice Anders", "Ada Admin"] {
        let approver = app.person(approver).await;
        requests::decide(
            &app.state,
            &approver,
            asked.request_id,
            requests::Outcome::Approve,
            "ok",
        )
        .await
        .unwrap();
    }
    assert_eq!(end_of(&app, proddb).await, Some(end.plus_days(5).millis()));
    let assignments: i64 =
        sqlx::query_scalar("select count(*) from assignment where person_id = $1")
            .bind(chloe.id)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(assignments, 2, "the same assignment, extended: no new one");
    app.stop().await;
}

crate::on_both_backends!(
    the_holder_gives_access_back_and_nobody_else_can,
    owners_and_administrators_revoke_with_a_reason,
    a_downstream_resource_granted_twice_is_removed_only_with_the_last_assignment,
    an_extension_without_approval_moves_the_end_at_once,
    an_extension_that_needs_approval_keeps_access_until_it_is_decided,
);
