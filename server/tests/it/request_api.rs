//! The request server functions over HTTP: the flow, and refusals to anyone else.

use crate::harness::{new_client, TestApp, TestBackend};
use app::api::requests::{
    CancelRequest, DecideRequest, DecideRequests, GetExtensionForm, GetRequest, GetRequestForm,
    ListApprovals, ListRequestable, ReleaseAccess, RequestExtension, RevokeAccess, SubmitRequest,
};
use leptos::server_fn::ServerFn;

async fn json(response: reqwest::Response) -> serde_json::Value {
    response.json().await.unwrap()
}

async fn every_request_function_refuses_a_visitor_who_is_not_signed_in(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let anyone = new_client();
    for path in [
        ListRequestable::PATH,
        GetRequestForm::PATH,
        SubmitRequest::PATH,
        CancelRequest::PATH,
        ListApprovals::PATH,
        DecideRequest::PATH,
        DecideRequests::PATH,
        ReleaseAccess::PATH,
        RevokeAccess::PATH,
        GetExtensionForm::PATH,
        RequestExtension::PATH,
        GetRequest::PATH,
    ] {
        let response = anyone
            .post(app.url(path))
            .header("accept", "application/json")
            .form(&[
                ("search", ""),
                ("package_id", "1"),
                ("request_id", "1"),
                ("justification", ""),
                ("start_date", ""),
                ("end_date", ""),
                ("outcome", "approve"),
                ("assignment_id", "1"),
                ("comment", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(json(response).await["code"], "unauthenticated", "{path}");
    }
    let requests: i64 = sqlx::query_scalar("select count(*) from access_request")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(requests, 6, "nothing changed");
    let removed: i64 = sqlx::query_scalar(
        "select count(*) from assignment where status <> 'active' and status <> 'scheduled'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(removed, 0);
    app.stop().await;
}

async fn the_catalog_shows_only_what_the_person_may_request(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let tom = new_client();
    app.sign_in_as(&tom, "Tom Turner").await;
    let listed = json(
        app.call::<ListRequestable>(&tom, &[("search", String::new())])
            .await,
    )
    .await;
    let names: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec!["Salesforce", "AWS sandbox account"],
        "sales sees Salesforce and the everyone package, nothing hidden"
    );
    let searched = json(
        app.call::<ListRequestable>(&tom, &[("search", "SALES".into())])
            .await,
    )
    .await;
    assert_eq!(searched.as_array().unwrap().len(), 1);
    // A hidden package is reachable by its link, and says no policy admits him.
    let hidden = app.package_id("Expense approver").await;
    let form = json(
        app.call::<GetRequestForm>(&tom, &[("package_id", hidden.to_string())])
            .await,
    )
    .await;
    assert_eq!(form["name"], "Expense approver");
    assert!(form["policies"].as_array().unwrap().is_empty());
    app.stop().await;
}

async fn a_request_goes_through_two_stages_over_http(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let proddb = app.package_id("Production database (read-only)").await;
    let fatima = new_client();
    app.sign_in_as(&fatima, "Fatima Farouk").await;
    let missing = app
        .call::<SubmitRequest>(
            &fatima,
            &[
                ("package_id", proddb.to_string()),
                ("justification", String::new()),
                ("start_date", String::new()),
                ("end_date", "2026-13-45".into()),
            ],
        )
        .await;
    assert_eq!(missing.status(), 400);
    let body = json(missing).await;
    let fields: Vec<_> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, vec!["end_date"], "{body}");

    let submitted = app
        .call::<SubmitRequest>(
            &fatima,
            &[
                ("package_id", proddb.to_string()),
                ("justification", "Incident INC-9".into()),
                ("start_date", String::new()),
                ("end_date", String::new()),
            ],
        )
        .await;
    assert!(submitted.status().is_success(), "{}", submitted.status());
    let request_id: i64 = sqlx::query_scalar(
        "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Fatima Farouk'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();

    // Someone who is not the approver: the request does not exist for them.
    let dev = new_client();
    app.sign_in_as(&dev, "Dev Patel").await;
    let refused = app
        .call::<DecideRequest>(
            &dev,
            &[
                ("request_id", request_id.to_string()),
                ("outcome", "approve".into()),
                ("justification", String::new()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 404);
    let cancel = app
        .call::<CancelRequest>(&dev, &[("request_id", request_id.to_string())])
        .await;
    assert_eq!(cancel.status(), 404);

    for approver in ["Alice Anders", "Ada Admin"] {
        let client = new_client();
        app.sign_in_as(&client, approver).await;
        let inbox = json(app.call::<ListApprovals>(&client, &[]).await).await;
        assert!(
            inbox
                .as_array()
                .unwrap()
                .iter()
                .any(|item| item["request_id"] == request_id),
            "{approver}: {inbox}"
        );
        let decided = app
            .call::<DecideRequest>(
                &client,
                &[
                    ("request_id", request_id.to_string()),
                    ("outcome", "approve".into()),
                    ("justification", "ok".into()),
                ],
            )
            .await;
        assert!(
            decided.status().is_success(),
            "{approver}: {}",
            decided.status()
        );
    }
    let status: String = sqlx::query_scalar("select status from access_request where id = $1")
        .bind(request_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(status, "delivered");
    let home = app.page(&fatima, "/").await;
    assert!(home.contains("Production database (read-only)"), "{home}");
    app.stop().await;
}

async fn an_approver_decides_several_requests_at_once(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let alice = new_client();
    app.sign_in_as(&alice, "Alice Anders").await;
    let waiting = json(app.call::<ListApprovals>(&alice, &[]).await).await;
    let ids: Vec<i64> = waiting
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["request_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{waiting}");

    let nothing = app
        .call::<DecideRequests>(
            &alice,
            &[
                ("outcome", "approve".into()),
                ("justification", String::new()),
            ],
        )
        .await;
    assert_eq!(nothing.status(), 400);
    assert_eq!(json(nothing).await["fields"][0]["field"], "request_ids");

    // Ticked boxes arrive as indexed fields, with gaps where boxes were left unticked; one
    // id belongs to a request Alice may not decide.
    let foreign: i64 = sqlx::query_scalar(
        "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Tom Turner'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let answer = app
        .call::<DecideRequests>(
            &alice,
            &[
                ("request_ids[0]", ids[0].to_string()),
                ("request_ids[2]", foreign.to_string()),
                ("request_ids[3]", ids[1].to_string()),
                ("outcome", "deny".into()),
                ("justification", "Not this quarter".into()),
            ],
        )
        .await;
    assert_eq!(answer.status(), 409);
    let message = json(answer).await["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("2 of 3 decided."), "{message}");
    let denied: i64 =
        sqlx::query_scalar("select count(*) from access_request where status = 'denied'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(denied, 2);
    let toms: String = sqlx::query_scalar("select status from access_request where id = $1")
        .bind(foreign)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(toms, "pending_approval", "Sam's decision, not Alice's");
    app.stop().await;
}

async fn a_request_is_shown_to_those_it_concerns_and_no_one_else(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    // Hana's request waits at stage 2 (Ada) after Alice approved stage 1.
    let request_id: i64 = sqlx::query_scalar(
        "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Hana Hill'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    for (who, visible) in [
        ("Hana Hill", true),
        ("Ada Admin", true),
        ("Otto Auditor", true),
        ("Dev Patel", false),
        ("Sam Sutton", false),
    ] {
        let client = new_client();
        app.sign_in_as(&client, who).await;
        let response = app
            .call::<GetRequest>(&client, &[("request_id", request_id.to_string())])
            .await;
        if visible {
            assert_eq!(response.status(), 200, "{who}");
            let detail = json(response).await;
            assert_eq!(detail["stages"][0]["progress"], "done", "{detail}");
            assert!(
                detail["stages"][0]["decisions"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("Alice Anders approved"),
                "{detail}"
            );
            assert_eq!(detail["stages"][1]["progress"], "current");
            assert_eq!(detail["stages"][1]["approvers"][0], "Ada Admin");
        } else {
            assert_eq!(response.status(), 404, "{who}");
            let body = response.text().await.unwrap();
            assert!(!body.contains("Hana"), "{who} learnt something: {body}");
        }
    }
    app.stop().await;
}

crate::on_both_backends!(
    a_request_is_shown_to_those_it_concerns_and_no_one_else,
    an_approver_decides_several_requests_at_once,
    every_request_function_refuses_a_visitor_who_is_not_signed_in,
    the_catalog_shows_only_what_the_person_may_request,
    a_request_goes_through_two_stages_over_http,
);
