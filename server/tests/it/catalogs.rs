//! Setting up catalogs, resources, packages, assignment policies and incompatibilities
//! through the server functions as the browser posts them (nested form fields), and what
//! requesters and approvers then see: questions, answers, escalation.

use crate::harness::{new_client, TestApp, TestBackend};
use app::api::catalogs::{
    AddIncompatibility, AddResource, CreatePackage, GetCatalog, GetPackageSetup, GetPolicyEditor,
    ListCatalogs, ListConflicts, SaveCatalog, SavePolicy, UpdatePackage,
};
use app::api::requests::{GetRequestForm, ListApprovals, SubmitRequest};
use app::backend::services::requests::{self, Outcome};
use app::backend::store;
use app::backend::workers::{ApprovalDeadlines, Worker};

fn form(pairs: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .map(|(k, v)| (&*String::leak(k.to_string()), v.to_string()))
        .collect()
}

async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn builtin_connector(app: &TestApp) -> i64 {
    sqlx::query_scalar("select id from connector where kind = 'builtin'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn events(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_event where action = $1")
        .bind(action)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// The fields of a valid two-stage policy (manager, then package owners) asking one
/// required choice question.
fn two_stage_policy(package_id: i64) -> Vec<(&'static str, String)> {
    form(&[
        ("package_id", &package_id.to_string()),
        ("policy_id", "0"),
        ("policy[name]", "Engineers on call"),
        ("policy[requestor_scope]", "everyone"),
        ("policy[justification_required]", "on"),
        ("policy[questions][0][text]", "Which rota?"),
        ("policy[questions][0][choices]", "Platform\nPayments"),
        ("policy[questions][0][required]", "on"),
        ("policy[questions][1][text]", ""),
        ("policy[duration_kind]", "max_days"),
        ("policy[duration_value]", "30"),
        ("policy[extension_allowed]", "on"),
        ("policy[stages][0][approver_kind]", "manager"),
        ("policy[stages][0][decision_timeout_days]", "7"),
        ("policy[stages][1][approver_kind]", "package_owners"),
        ("policy[stages][2][approver_kind]", ""),
        ("policy[enabled]", "on"),
    ])
}

async fn an_administrator_sets_up_a_package_and_an_employee_requests_it_with_answers(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let ben = app.person("Ben Brooks").await;
    let setup_events = [
        "catalog.created",
        "resource.created",
        "access_package.created",
        "assignment_policy.created",
    ];
    let mut events_before = Vec::new();
    for action in setup_events {
        events_before.push(events(&app, action).await);
    }

    let (status, catalog) = json(
        app.call::<SaveCatalog>(
            &admin,
            &form(&[
                ("catalog_id", "0"),
                ("catalog[name]", "IT Operations"),
                ("catalog[description]", "Rotas and tooling"),
                ("catalog[owners]", &ben.email),
                ("catalog[enabled]", "on"),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{catalog}");
    let catalog_id = catalog.as_i64().unwrap();

    let connector = builtin_connector(&app).await;
    let (status, resource) = json(
        app.call::<AddResource>(
            &admin,
            &form(&[
                ("catalog_id", &catalog_id.to_string()),
                ("resource[name]", "On-call rota"),
                ("resource[kind]", "group"),
                ("resource[connector_id]", &connector.to_string()),
                ("resource[external_id]", ""),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{resource}");
    let resource_id = resource.as_i64().unwrap();

    // Ben owns the catalog now: he creates the package.
    let owner = new_client();
    app.sign_in_as(&owner, "Ben Brooks").await;
    let (status, package) = json(
        app.call::<CreatePackage>(
            &owner,
            &form(&[
                ("catalog_id", &catalog_id.to_string()),
                ("package[name]", "Pager duty"),
                ("package[description]", "Be paged for incidents"),
                ("package[owners]", &ben.email),
                (
                    String::leak(format!("package[resources][{resource_id}]")),
                    "member",
                ),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{package}");
    let package_id = package.as_i64().unwrap();
    let granted: Vec<(i64, String)> = sqlx::query_as(
        "select resource_id, role from access_package_resource where access_package_id = $1",
    )
    .bind(package_id)
    .fetch_all(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(granted, vec![(resource_id, "member".to_string())]);

    let (status, policy) = json(
        app.call::<SavePolicy>(&owner, &two_stage_policy(package_id))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{policy}");
    let policy_id = policy.as_i64().unwrap();

    // The editor shows what was stored, people as emails.
    let (_, editor) = json(
        app.call::<GetPolicyEditor>(
            &owner,
            &form(&[
                ("package_id", &package_id.to_string()),
                ("policy_id", &policy_id.to_string()),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(
        editor["form"]["questions"][0]["choices"],
        "Platform\nPayments"
    );
    assert_eq!(
        editor["form"]["stages"][1]["approver_kind"],
        "package_owners"
    );
    assert_eq!(editor["form"]["stages"][0]["decision_timeout_days"], "7");
    assert_eq!(editor["form"]["stages"].as_array().unwrap().len(), 3);

    for (action, before) in setup_events.iter().zip(events_before) {
        assert_eq!(events(&app, action).await, before + 1, "{action}");
    }

    // An employee sees the question, must answer it, and the approver sees the answer.
    let employee = new_client();
    app.sign_in_as(&employee, "Tom Turner").await;
    let (_, request_form) = json(
        app.call::<GetRequestForm>(&employee, &form(&[("package_id", &package_id.to_string())]))
            .await,
    )
    .await;
    assert_eq!(
        request_form["policies"][0]["questions"][0]["text"],
        "Which rota?"
    );
    let mut submission = form(&[
        ("package_id", &package_id.to_string()),
        ("justification", "Joining the platform rota"),
        ("start_date", ""),
        ("end_date", ""),
    ]);
    let (status, refused) = json(app.call::<SubmitRequest>(&employee, &submission).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["fields"][0],
        serde_json::json!({ "field": format!("answer-{policy_id}-0"), "message": "Answer this question." })
    );
    submission.push((
        String::leak(format!("answers[p{policy_id}q0]")),
        "Mars".into(),
    ));
    let (status, refused) = json(app.call::<SubmitRequest>(&employee, &submission).await).await;
    assert_eq!(status, 400, "{refused}");
    submission.pop();
    submission.push((
        String::leak(format!("answers[p{policy_id}q0]")),
        "Platform".into(),
    ));
    let response = app.call::<SubmitRequest>(&employee, &submission).await;
    assert!(response.status().is_success(), "{}", response.status());
    let answers: String =
        sqlx::query_scalar("select answers_json from access_request where access_package_id = $1")
            .bind(package_id)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(
        answers,
        r#"[{"question":"Which rota?","answer":"Platform"}]"#
    );

    let tom = app.person("Tom Turner").await;
    let manager_id = store::person::find(app.state.db.reader(), tom.manager_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    let manager = new_client();
    app.sign_in_as(&manager, &manager_id.display_name).await;
    let (_, inbox) = json(app.call::<ListApprovals>(&manager, &[]).await).await;
    let item = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["package_name"] == "Pager duty")
        .expect("the manager is asked first");
    assert_eq!(item["answers"][0]["answer"], "Platform");
    assert_eq!(item["history"], serde_json::json!([]));

    // After the manager approves, the owner sees the manager's decision in the history.
    let request_id = item["request_id"].as_i64().unwrap();
    let (_, detail) = json(
        app.call::<app::api::requests::GetRequest>(
            &employee,
            &form(&[("request_id", &request_id.to_string())]),
        )
        .await,
    )
    .await;
    assert_eq!(detail["answers"][0]["answer"], "Platform", "{detail}");
    requests::decide(
        &app.state,
        &manager_id,
        request_id,
        Outcome::Approve,
        "fine",
    )
    .await
    .unwrap();
    let (_, inbox) = json(app.call::<ListApprovals>(&owner, &[]).await).await;
    let item = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["request_id"] == request_id)
        .expect("then the package owner");
    assert_eq!(
        item["history"][0]["approver_name"],
        manager_id.display_name.as_str()
    );
    assert_eq!(item["history"][0]["approved"], true);
    app.stop().await;
}

async fn bad_settings_are_refused_next_to_their_field_and_change_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let github = app.package_id("GitHub organisation").await;
    let tables = [
        "catalog",
        "catalog_owner",
        "resource",
        "access_package",
        "access_package_owner",
        "assignment_policy",
        "approval_stage",
        "incompatibility",
        "audit_event",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(count(&app, table).await);
    }
    let long = "x".repeat(10_000);
    let refusals: Vec<(reqwest::Response, &str)> = vec![
        (
            app.call::<SaveCatalog>(
                &admin,
                &form(&[("catalog_id", "0"), ("catalog[name]", "  ")]),
            )
            .await,
            "name",
        ),
        (
            app.call::<SaveCatalog>(
                &admin,
                &form(&[
                    ("catalog_id", "0"),
                    ("catalog[name]", "Ok"),
                    ("catalog[description]", &long),
                ]),
            )
            .await,
            "description",
        ),
        (
            app.call::<SaveCatalog>(
                &admin,
                &form(&[("catalog_id", "0"), ("catalog[name]", "Engineering")]),
            )
            .await,
            "name",
        ),
        (
            app.call::<SaveCatalog>(
                &admin,
                &form(&[
                    ("catalog_id", "0"),
                    ("catalog[name]", "New"),
                    ("catalog[owners]", "nobody@nowhere.example"),
                ]),
            )
            .await,
            "owners",
        ),
        (
            app.call::<UpdatePackage>(
                &admin,
                &form(&[
                    ("package_id", &github.to_string()),
                    ("package[name]", &long),
                ]),
            )
            .await,
            "name",
        ),
        (
            app.call::<UpdatePackage>(
                &admin,
                &form(&[
                    ("package_id", &github.to_string()),
                    ("package[name]", "Production database (read-only)"),
                ]),
            )
            .await,
            "name",
        ),
        (
            app.call::<AddIncompatibility>(
                &admin,
                &form(&[
                    ("package_id", &github.to_string()),
                    ("other_package_id", &github.to_string()),
                ]),
            )
            .await,
            "other_package_id",
        ),
    ];
    for (response, field) in refusals {
        let (status, body) = json(response).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert!(
            body["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["field"] == field),
            "{field}: {body}"
        );
    }
    // A policy with many problems reports each next to its field.
    let mut policy = two_stage_policy(github);
    for (key, value) in [
        ("policy[name]", ""),
        ("policy[duration_value]", "0"),
        ("policy[stages][0][approver_kind]", "named_people"),
        ("policy[stages][1][fallback_approvers]", "ghost@example.com"),
    ] {
        policy.retain(|(k, _)| *k != key);
        policy.push((String::leak(key.to_string()), value.to_string()));
    }
    let (status, body) = json(app.call::<SavePolicy>(&admin, &policy).await).await;
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "duration_value", "stages[0][approvers]"],
        "{body}"
    );
    // Once the form itself is right, unknown people are named against their field.
    policy.retain(|(k, _)| {
        ![
            "policy[name]",
            "policy[duration_value]",
            "policy[stages][0][approver_kind]",
        ]
        .contains(k)
    });
    policy.extend(form(&[
        ("policy[name]", "Fixed"),
        ("policy[duration_value]", "10"),
        ("policy[stages][0][approver_kind]", "manager"),
    ]));
    let (status, body) = json(app.call::<SavePolicy>(&admin, &policy).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "stages[1][fallback_approvers]");
    assert!(body["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("ghost@example.com"));
    let mut fixed_end_in_the_past = two_stage_policy(github);
    fixed_end_in_the_past.extend(form(&[
        ("policy[duration_kind]", "fixed_end"),
        ("policy[fixed_end_date]", "2001-01-01"),
    ]));
    fixed_end_in_the_past.retain(|(k, v)| !(*k == "policy[duration_kind]" && v == "max_days"));
    let (status, body) = json(app.call::<SavePolicy>(&admin, &fixed_end_in_the_past).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "fixed_end_date");

    // Hana's request waits at stage 2 of the production database policy: that policy
    // cannot drop to one stage under her.
    let proddb = app.package_id("Production database (read-only)").await;
    let proddb_policy: i64 =
        sqlx::query_scalar("select id from assignment_policy where access_package_id = $1")
            .bind(proddb)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    let mut one_stage = two_stage_policy(proddb);
    one_stage.retain(|(k, _)| *k != "policy_id" && !k.starts_with("policy[stages][1]"));
    one_stage.push(("policy_id", proddb_policy.to_string()));
    let (status, body) = json(app.call::<SavePolicy>(&admin, &one_stage).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "stages", "{body}");
    for (table, count_before) in tables.iter().zip(before) {
        assert_eq!(count(&app, table).await, count_before, "{table} changed");
    }
    app.stop().await;
}

async fn only_owners_and_administrators_change_settings(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github = app.package_id("GitHub organisation").await;
    let salesforce = app.package_id("Salesforce").await;
    let engineering: i64 = sqlx::query_scalar("select id from catalog where name = 'Engineering'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let other_catalog: i64 = sqlx::query_scalar(
        "select id from catalog where name <> 'Engineering' order by id limit 1",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let policy_of_salesforce: i64 =
        sqlx::query_scalar("select id from assignment_policy where access_package_id = $1")
            .bind(salesforce)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    let policies_before = count(&app, "assignment_policy").await;

    let employee = new_client();
    app.sign_in_as(&employee, "Dev Patel").await;
    let (status, _) = json(
        app.call::<SaveCatalog>(
            &employee,
            &form(&[("catalog_id", "0"), ("catalog[name]", "Mine")]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    let (_, listed) = json(app.call::<ListCatalogs>(&employee, &[]).await).await;
    assert_eq!(listed["catalogs"], serde_json::json!([]));
    assert_eq!(listed["can_create"], false);
    for response in [
        app.call::<GetCatalog>(
            &employee,
            &form(&[("catalog_id", &engineering.to_string())]),
        )
        .await,
        app.call::<GetPackageSetup>(&employee, &form(&[("package_id", &github.to_string())]))
            .await,
        app.call::<SavePolicy>(&employee, &two_stage_policy(github))
            .await,
        app.call::<AddIncompatibility>(
            &employee,
            &form(&[
                ("package_id", &github.to_string()),
                ("other_package_id", &salesforce.to_string()),
            ]),
        )
        .await,
    ] {
        assert_eq!(response.status(), 404, "an employee manages nothing");
    }

    // Ben owns the GitHub package, not its catalog: he edits its policies but not its
    // owners, and cannot reach another package's policy through his own.
    let owner = new_client();
    app.sign_in_as(&owner, "Ben Brooks").await;
    let (status, setup) = json(
        app.call::<GetPackageSetup>(&owner, &form(&[("package_id", &github.to_string())]))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(setup["may_set_owners"], false);
    let (status, body) = json(
        app.call::<UpdatePackage>(
            &owner,
            &form(&[
                ("package_id", &github.to_string()),
                ("package[name]", "GitHub organisation"),
                (
                    "package[owners]",
                    "ben.brooks@example.com, dev.patel@example.com",
                ),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "owners");
    let (status, _) = json(
        app.call::<GetCatalog>(&owner, &form(&[("catalog_id", &engineering.to_string())]))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let mut foreign = two_stage_policy(github);
    foreign.retain(|(k, _)| *k != "policy_id");
    foreign.push(("policy_id", policy_of_salesforce.to_string()));
    let (status, _) = json(app.call::<SavePolicy>(&owner, &foreign).await).await;
    assert_eq!(status, 404);
    let (status, _) = json(
        app.call::<SavePolicy>(&owner, &two_stage_policy(github))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(count(&app, "assignment_policy").await, policies_before + 1);

    // Alice owns the Engineering catalog: packages there, not elsewhere.
    let catalog_owner = new_client();
    app.sign_in_as(&catalog_owner, "Alice Anders").await;
    let new_package = |catalog: i64| {
        form(&[
            ("catalog_id", &catalog.to_string()),
            ("package[name]", "Design reviews"),
        ])
    };
    let (status, _) = json(
        app.call::<CreatePackage>(&catalog_owner, &new_package(other_catalog))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = json(
        app.call::<CreatePackage>(&catalog_owner, &new_package(engineering))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = json(
        app.call::<SaveCatalog>(
            &catalog_owner,
            &form(&[
                ("catalog_id", &engineering.to_string()),
                ("catalog[name]", "Renamed"),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "catalog settings are for administrators");

    let anonymous = new_client();
    assert_eq!(
        app.call::<ListCatalogs>(&anonymous, &[]).await.status(),
        401
    );
    app.stop().await;
}

async fn the_conflicts_report_lists_people_holding_an_incompatible_pair(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github = app.package_id("GitHub organisation").await;
    let sandbox = app.package_id("AWS sandbox account").await;
    let ada = app.person("Ada Admin").await;
    let tom = app.person_id("Tom Turner").await;
    for package in [github, sandbox] {
        app::backend::services::assignments::assign_directly(
            &app.state, &ada, package, tom, None, "both",
        )
        .await
        .unwrap();
    }
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let (status, body) = json(
        app.call::<AddIncompatibility>(
            &admin,
            &form(&[
                ("package_id", &github.to_string()),
                ("other_package_id", &sandbox.to_string()),
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, conflicts) = json(app.call::<ListConflicts>(&admin, &[]).await).await;
    let tom_pairs: Vec<_> = conflicts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["person_name"] == "Tom Turner")
        .collect();
    assert_eq!(tom_pairs.len(), 1, "{conflicts}");
    let auditor = new_client();
    app.sign_in_as(&auditor, "Otto Auditor").await;
    let (_, seen) = json(app.call::<ListConflicts>(&auditor, &[]).await).await;
    assert_eq!(seen, conflicts, "auditors see every pair");
    let employee = new_client();
    app.sign_in_as(&employee, "Dev Patel").await;
    let (_, none) = json(app.call::<ListConflicts>(&employee, &[]).await).await;
    assert_eq!(none, serde_json::json!([]));
    // A new request that would create the pair is refused by name: Dev's sandbox access
    // is scheduled, which counts.
    let dev = app.person("Dev Patel").await;
    let refused = requests::submit(
        &app.state,
        &dev,
        requests::SubmitRequest {
            package_id: github,
            justification: "code".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        refused.message.contains("AWS sandbox account"),
        "{}",
        refused.message
    );
    app.stop().await;
}

async fn a_stage_escalates_to_its_alternates_at_the_deadline_once(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let salesforce = app.package_id("Salesforce").await;
    let morgan = app.person("Morgan Reyes").await;
    let mut policy = two_stage_policy(salesforce);
    policy.retain(|(k, _)| !k.starts_with("policy[stages]") && !k.starts_with("policy[questions]"));
    policy.extend(form(&[
        ("policy[stages][0][approver_kind]", "package_owners"),
        ("policy[stages][0][decision_timeout_days]", "5"),
        ("policy[stages][0][escalation_after_days]", "2"),
        ("policy[stages][0][escalation_approvers]", &morgan.email),
    ]));
    let (status, body) = json(app.call::<SavePolicy>(&admin, &policy).await).await;
    assert_eq!(status, 200, "{body}");
    let policy_id = body.as_i64().unwrap();
    sqlx::query(
        "update assignment_policy set is_enabled = $1 where access_package_id = $2 and id <> $3",
    )
    .bind(false)
    .bind(salesforce)
    .bind(policy_id)
    .execute(app.state.db.writer())
    .await
    .unwrap();

    let dev = app.person("Dev Patel").await;
    let submitted = requests::submit(
        &app.state,
        &dev,
        requests::SubmitRequest {
            package_id: salesforce,
            justification: "pipeline".into(),
            answers: [(policy_id, vec!["Payments".to_string()])].into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let deadlines = ApprovalDeadlines::new(app.state.clone());
    let escalation_at = app.clock_now().plus_days(2);
    assert_eq!(deadlines.next_due().await.unwrap(), Some(escalation_at));
    app.clock
        .set(app::domain::Timestamp(escalation_at.millis() - 1));
    deadlines.step(app.clock_now()).await.unwrap();
    assert!(
        requests::decide(
            &app.state,
            &morgan,
            submitted.request_id,
            Outcome::Approve,
            ""
        )
        .await
        .is_err(),
        "not escalated a millisecond early"
    );
    app.clock.set(escalation_at);
    assert_eq!(deadlines.step(app.clock_now()).await.unwrap(), 1);
    assert_eq!(
        deadlines.step(app.clock_now()).await.unwrap(),
        0,
        "escalates once"
    );
    let origin: String = sqlx::query_scalar(
        "select origin from approval_task where access_request_id = $1 and approver_id = $2",
    )
    .bind(submitted.request_id)
    .bind(morgan.id)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(origin, "escalation");
    assert_eq!(events(&app, "access_request.escalated").await, 1);
    let told: i64 = sqlx::query_scalar(
        "select count(*) from outbound_message where to_person_id = $1 and template = 'approval_escalated'",
    )
    .bind(morgan.id)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(told, 1);
    // The alternate decides; the stage moves on as with any approver.
    requests::decide(
        &app.state,
        &morgan,
        submitted.request_id,
        Outcome::Approve,
        "ok",
    )
    .await
    .unwrap();
    let status: String = sqlx::query_scalar("select status from access_request where id = $1")
        .bind(submitted.request_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_ne!(status, "pending_approval");
    app.stop().await;
}

crate::on_both_backends!(
    an_administrator_sets_up_a_package_and_an_employee_requests_it_with_answers,
    bad_settings_are_refused_next_to_their_field_and_change_nothing,
    only_owners_and_administrators_change_settings,
    the_conflicts_report_lists_people_holding_an_incompatible_pair,
    a_stage_escalates_to_its_alternates_at_the_deadline_once,
);
