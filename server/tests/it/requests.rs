//! Requests, approvals and assignments through the services, on both backends.

use crate::harness::{TestApp, TestBackend};
use app::backend::services::requests::{self, Outcome, SubmitRequest};
use app::backend::store;
use app::domain::status::RequestStatus;
use app::domain::ErrorCode;

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

fn asking(package_id: i64, justification: &str) -> SubmitRequest {
    SubmitRequest {
        package_id,
        justification: justification.into(),
        ..SubmitRequest::default()
    }
}

async fn a_two_stage_request_becomes_an_assignment_after_manager_and_owner_approve(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let fatima = app.person("Fatima Farouk").await;
    let alice = app.person("Alice Anders").await;
    let ada = app.person("Ada Admin").await;
    let proddb = app.package_id("Production database (read-only)").await;

    let submitted = requests::submit(&app.state, &fatima, asking(proddb, "Incident INC-7"))
        .await
        .unwrap();
    assert_eq!(submitted.status, RequestStatus::PendingApproval);
    // Ada owns the package but only the manager decides stage 1.
    let early = requests::decide(&app.state, &ada, submitted.request_id, Outcome::Approve, "")
        .await
        .unwrap_err();
    assert_eq!(early.code, ErrorCode::NotFound);

    let stage_two = requests::decide(
        &app.state,
        &alice,
        submitted.request_id,
        Outcome::Approve,
        "ok",
    )
    .await
    .unwrap();
    assert_eq!(stage_two.status, RequestStatus::PendingApproval);
    let granted = requests::decide(
        &app.state,
        &ada,
        submitted.request_id,
        Outcome::Approve,
        "ok",
    )
    .await
    .unwrap();
    assert_eq!(granted.status, RequestStatus::Delivered);
    let assignment = granted.assignment_id.expect("an assignment");
    let (status, end_at): (String, Option<i64>) =
        sqlx::query_as("select status, end_at from assignment where id = $1")
            .bind(assignment)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(status, "active");
    assert_eq!(
        end_at,
        Some(app.clock_now().plus_days(7).millis()),
        "the policy's 7-day cap"
    );
    let id = submitted.request_id.to_string();
    for (action, expected) in [("access_request.submitted", 1), ("decision.recorded", 2)] {
        let events = store::audit::count_for(app.state.db.reader(), action, "access_request", &id)
            .await
            .unwrap();
        assert_eq!(events, expected, "{action}");
    }
    let messages = count(&app, "select count(*) from outbound_message where template in ('approval_needed', 'request_approved') and created_at > 0").await;
    assert_eq!(
        messages,
        6 + 3,
        "six from the demo, two approvers told, the requester told of the approval"
    );
    app.stop().await;
}

async fn a_late_decision_is_told_who_decided_and_changes_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let alice = app.person("Alice Anders").await;
    let eli_request: i64 = count(&app, "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Eli Evans'").await;
    requests::decide(
        &app.state,
        &alice,
        eli_request,
        Outcome::Deny,
        "Not on call after all",
    )
    .await
    .unwrap();
    let events_before = count(&app, "select count(*) from audit_event").await;
    let late = requests::decide(&app.state, &alice, eli_request, Outcome::Approve, "")
        .await
        .unwrap_err();
    assert_eq!(late.code, ErrorCode::Conflict);
    assert!(
        late.message
            .starts_with("Already decided by Alice Anders at "),
        "{}",
        late.message
    );
    assert_eq!(
        count(&app, "select count(*) from audit_event").await,
        events_before
    );
    assert_eq!(
        count(
            &app,
            &format!("select count(*) from decision where access_request_id = {eli_request}")
        )
        .await,
        1
    );
    app.stop().await;
}

async fn people_who_are_not_approvers_cannot_see_or_decide_a_request(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let eli_request: i64 = count(&app, "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Eli Evans'").await;
    for name in ["Eli Evans", "Dev Patel", "Sam Sutton"] {
        let someone = app.person(name).await;
        let refused = requests::decide(&app.state, &someone, eli_request, Outcome::Approve, "")
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::NotFound, "{name}");
    }
    assert_eq!(
        count(
            &app,
            &format!("select count(*) from decision where access_request_id = {eli_request}")
        )
        .await,
        0
    );
    app.stop().await;
}

async fn requests_outside_policy_or_against_separation_of_duties_are_refused(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let requests_before = count(&app, "select count(*) from access_request").await;
    let events_before = count(&app, "select count(*) from audit_event").await;

    let tom = app.person("Tom Turner").await;
    let github = app.package_id("GitHub organisation").await;
    let refused = requests::submit(&app.state, &tom, asking(github, ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);

    let fiona = app.person("Fiona Fischer").await;
    let reports = app.package_id("Finance reports").await;
    let conflict = requests::submit(&app.state, &fiona, asking(reports, "Month end"))
        .await
        .unwrap_err();
    assert_eq!(conflict.code, ErrorCode::Conflict);
    assert!(
        conflict.message.contains("Expense approver"),
        "{}",
        conflict.message
    );

    let expense = app.package_id("Expense approver").await;
    let henry = app.person("Henry Hall").await;
    let nobody = requests::submit(&app.state, &henry, asking(expense, "please"))
        .await
        .unwrap_err();
    assert_eq!(nobody.code, ErrorCode::Forbidden, "assigned by owners only");

    assert_eq!(
        count(&app, "select count(*) from access_request").await,
        requests_before
    );
    assert_eq!(
        count(&app, "select count(*) from audit_event").await,
        events_before
    );
    app.stop().await;
}

async fn bad_input_is_answered_on_its_field_and_saves_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let fatima = app.person("Fatima Farouk").await;
    let proddb = app.package_id("Production database (read-only)").await;
    let requests_before = count(&app, "select count(*) from access_request").await;

    let missing = requests::submit(&app.state, &fatima, asking(proddb, "   "))
        .await
        .unwrap_err();
    assert_eq!(
        missing.field_message("justification"),
        Some("Say why you need this.")
    );
    let long = requests::submit(&app.state, &fatima, asking(proddb, &"x".repeat(10_000)))
        .await
        .unwrap_err();
    assert!(long
        .field_message("justification")
        .unwrap()
        .contains("at most"));
    let now = app.clock_now();
    let backwards = SubmitRequest {
        start_at: Some(now.plus_days(2)),
        end_at: Some(now.plus_days(1)),
        ..asking(proddb, "ok")
    };
    let refused = requests::submit(&app.state, &fatima, backwards)
        .await
        .unwrap_err();
    assert_eq!(
        refused.field_message("end_at"),
        Some("The end must be after the start.")
    );
    let too_long = SubmitRequest {
        end_at: Some(now.plus_days(30)),
        ..asking(proddb, "ok")
    };
    let refused = requests::submit(&app.state, &fatima, too_long)
        .await
        .unwrap_err();
    assert!(refused
        .field_message("end_at")
        .unwrap()
        .contains("at most 7 days"));
    let unknown = requests::submit(&app.state, &fatima, asking(987_654, "ok"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);

    assert_eq!(
        count(&app, "select count(*) from access_request").await,
        requests_before
    );
    app.stop().await;
}

async fn a_package_without_approval_is_granted_at_once_and_only_once(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let ben = app.person("Ben Brooks").await;
    let sandbox = app.package_id("AWS sandbox account").await;
    let granted = requests::submit(&app.state, &ben, asking(sandbox, ""))
        .await
        .unwrap();
    assert_eq!(granted.status, RequestStatus::Delivered);
    assert!(granted.assignment_id.is_some());
    let again = requests::submit(&app.state, &ben, asking(sandbox, ""))
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    assert!(again.message.contains("already held"), "{}", again.message);
    app.stop().await;
}

async fn the_requester_cancels_a_pending_request_and_its_tasks_close(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let dev = app.person("Dev Patel").await;
    let alice = app.person("Alice Anders").await;
    let request: i64 = count(&app, "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Dev Patel'").await;
    requests::cancel(&app.state, &alice, request)
        .await
        .map(|_| ())
        .unwrap_err();
    requests::cancel(&app.state, &dev, request).await.unwrap();
    assert_eq!(count(&app, &format!("select count(*) from approval_task where access_request_id = {request} and status = 'open'")).await, 0);
    let late = requests::decide(&app.state, &alice, request, Outcome::Approve, "")
        .await
        .unwrap_err();
    assert_eq!(late.code, ErrorCode::Conflict);
    let again = requests::cancel(&app.state, &dev, request)
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    app.stop().await;
}

crate::on_both_backends!(
    a_two_stage_request_becomes_an_assignment_after_manager_and_owner_approve,
    a_late_decision_is_told_who_decided_and_changes_nothing,
    people_who_are_not_approvers_cannot_see_or_decide_a_request,
    requests_outside_policy_or_against_separation_of_duties_are_refused,
    bad_input_is_answered_on_its_field_and_saves_nothing,
    a_package_without_approval_is_granted_at_once_and_only_once,
    the_requester_cancels_a_pending_request_and_its_tasks_close,
);
