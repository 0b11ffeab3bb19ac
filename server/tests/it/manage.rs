//! Owners and administrators assign and remove directly, with a reason.

use crate::harness::{new_client, TestApp, TestBackend};
use app::api::manage::{AssignPackage, GetPackageManagement, ListManagedPackages};
use app::backend::services::assignments;
use app::backend::store;
use app::domain::ErrorCode;

async fn an_owner_assigns_directly_with_a_reason_and_others_cannot(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    // Expense approver asks for no approval: its owner hands it out directly.
    let expense = app.package_id("Expense approver").await;
    let henry = app.person_id("Henry Hall").await;
    let fiona = app.person("Fiona Fischer").await; // owns it
    let dev = app.person("Dev Patel").await;

    let refused = assignments::assign_directly(&app.state, &dev, expense, henry, None, "please")
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
    let no_reason = assignments::assign_directly(&app.state, &fiona, expense, henry, None, " ")
        .await
        .unwrap_err();
    assert_eq!(
        no_reason.field_message("reason"),
        Some("Say why this person gets the package.")
    );
    let nobody = assignments::assign_directly(&app.state, &fiona, expense, 987_654, None, "x")
        .await
        .unwrap_err();
    assert_eq!(
        nobody.field_message("person_id"),
        Some("Choose an active person.")
    );

    let assignment = assignments::assign_directly(
        &app.state,
        &fiona,
        expense,
        henry,
        None,
        "Covering expense approval during the close",
    )
    .await
    .unwrap();
    let status: String = sqlx::query_scalar("select status from assignment where id = $1")
        .bind(assignment)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(status, "active");
    let events = store::audit::count_for(
        app.state.db.reader(),
        "assignment.created",
        "assignment",
        &assignment.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(events, 1);
    let again = assignments::assign_directly(&app.state, &fiona, expense, henry, None, "twice")
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    app.stop().await;
}

async fn separation_of_duties_holds_for_direct_assignment_too(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let reports = app.package_id("Finance reports").await;
    let ada = app.person("Ada Admin").await;
    let fiona = app.person_id("Fiona Fischer").await; // holds Expense approver
    let conflict =
        assignments::assign_directly(&app.state, &ada, reports, fiona, None, "month end")
            .await
            .unwrap_err();
    assert_eq!(conflict.code, ErrorCode::Conflict);
    assert!(
        conflict.message.contains("Expense approver"),
        "{}",
        conflict.message
    );
    app.stop().await;
}

async fn only_owners_and_administrators_see_a_package_s_holders(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github = app.package_id("GitHub organisation").await;
    for (who, status, managed) in [
        ("Dev Patel", 404, 0),
        ("Ben Brooks", 200, 1),
        ("Alice Anders", 200, 3),
        ("Ada Admin", 200, 6),
    ] {
        let client = new_client();
        app.sign_in_as(&client, who).await;
        let response = app
            .call::<GetPackageManagement>(&client, &[("package_id", github.to_string())])
            .await;
        assert_eq!(response.status(), status, "{who}");
        let listed: serde_json::Value = app
            .call::<ListManagedPackages>(&client, &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed.as_array().unwrap().len(), managed, "{who}: {listed}");
    }
    let anyone = new_client();
    let response = app
        .call::<AssignPackage>(
            &anyone,
            &[
                ("package_id", github.to_string()),
                ("person_id", "1".into()),
                ("end_date", String::new()),
                ("reason", "x".into()),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
    app.stop().await;
}

crate::on_both_backends!(
    an_owner_assigns_directly_with_a_reason_and_others_cannot,
    separation_of_duties_holds_for_direct_assignment_too,
    only_owners_and_administrators_see_a_package_s_holders,
);
