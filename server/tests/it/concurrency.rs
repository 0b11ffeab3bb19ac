//! Fifty approvers deciding the same hundred pending requests at once: exactly one final
//! decision per request, each with its audit event, on both backends.

use crate::harness::{TestApp, TestBackend};
use app::backend::services::requests::{self, Outcome, SubmitRequest};
use app::backend::store::{self, audit, catalog, person::NewPerson};
use app::backend::Clock;
use app::domain::ErrorCode;

const APPROVERS: usize = 50;
const REQUESTS: usize = 100;

async fn fifty_approvers_give_each_of_a_hundred_requests_exactly_one_decision(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    let now = app.clock.now();
    // An organisation of its own: a group of approvers and a package they decide.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let new_person = |index: usize, role: &str| NewPerson {
        email: format!("{role}{index}@example.com"),
        display_name: format!("{role} {index}"),
        ..NewPerson::default()
    };
    let mut approver_ids = Vec::new();
    for index in 0..APPROVERS {
        approver_ids.push(
            store::person::insert(&mut tx, now, &new_person(index, "approver"))
                .await
                .unwrap(),
        );
    }
    let mut requester_ids = Vec::new();
    for index in 0..REQUESTS {
        requester_ids.push(
            store::person::insert(&mut tx, now, &new_person(index, "requester"))
                .await
                .unwrap(),
        );
    }
    let group_id: i64 = sqlx::query_scalar(
        "insert into person_group (name, created_at, updated_at) values ('Approvers', $1, $1) returning id",
    )
    .bind(now.millis())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    for id in &approver_ids {
        sqlx::query("insert into person_group_member (person_group_id, person_id, created_at) values ($1, $2, $3)")
            .bind(group_id)
            .bind(id)
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let catalog_id = catalog::insert_catalog(&mut tx, now, "Load", "")
        .await
        .unwrap();
    let package_id = store::package::insert(
        &mut tx,
        now,
        &store::package::NewPackage {
            catalog_id,
            name: "Contested",
            description: "",
            is_hidden: false,
        },
    )
    .await
    .unwrap();
    let policy_id = store::policy::insert_policy(
        &mut tx,
        now,
        &store::policy::NewPolicy {
            package_id,
            name: "Group decides",
            requestor_scope: "everyone",
            requestor_rule_json: "{}".into(),
            justification_required: false,
            duration_kind: "max_days",
            duration_value: Some(30),
            extension_allowed: false,
            questions_json: "[]",
        },
    )
    .await
    .unwrap();
    store::policy::insert_stage(
        &mut tx,
        now,
        &store::policy::NewStage {
            policy_id,
            position: 1,
            approver_kind: "group_members",
            decision_timeout_days: 14,
        },
    )
    .await
    .unwrap();
    sqlx::query("update approval_stage set approver_ref_json = $1 where assignment_policy_id = $2")
        .bind(format!("[{group_id}]"))
        .bind(policy_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut request_ids = Vec::new();
    for requester_id in &requester_ids {
        let requester = store::person::find(app.state.db.reader(), *requester_id)
            .await
            .unwrap()
            .unwrap();
        let submitted = requests::submit(
            &app.state,
            &requester,
            SubmitRequest {
                package_id,
                ..SubmitRequest::default()
            },
        )
        .await
        .unwrap();
        request_ids.push(submitted.request_id);
    }

    let deciders: Vec<_> = approver_ids
        .iter()
        .enumerate()
        .map(|(index, approver_id)| {
            let state = app.state.clone();
            let approver_id = *approver_id;
            // Each approver walks the requests from a different place, so they collide.
            let mut order = request_ids.clone();
            order.rotate_left(index * 2 % REQUESTS);
            tokio::spawn(async move {
                let approver = store::person::find(state.db.reader(), approver_id)
                    .await
                    .unwrap()
                    .unwrap();
                let (mut decided, mut refused) = (0, 0);
                for request_id in order {
                    let outcome = if (request_id + approver_id) % 3 == 0 {
                        Outcome::Deny
                    } else {
                        Outcome::Approve
                    };
                    match requests::decide(&state, &approver, request_id, outcome, "").await {
                        Ok(_) => decided += 1,
                        Err(error) if error.code == ErrorCode::Conflict => refused += 1,
                        Err(error) => panic!("unexpected refusal: {error}"),
                    }
                }
                (decided, refused)
            })
        })
        .collect();
    let mut decided = 0;
    for decider in deciders {
        let (won, lost) = decider.await.unwrap();
        decided += won;
        assert_eq!(won + lost, REQUESTS);
    }
    assert_eq!(decided, REQUESTS, "one winning decision per request");

    for request_id in &request_ids {
        let decisions: i64 =
            sqlx::query_scalar("select count(*) from decision where access_request_id = $1")
                .bind(request_id)
                .fetch_one(app.state.db.reader())
                .await
                .unwrap();
        assert_eq!(decisions, 1, "request {request_id}");
        let events = audit::count_for(
            app.state.db.reader(),
            "decision.recorded",
            "access_request",
            &request_id.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(events, 1, "request {request_id}");
        let status: String = sqlx::query_scalar("select status from access_request where id = $1")
            .bind(request_id)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
        assert!(status == "delivered" || status == "denied", "{status}");
    }
    let granted: i64 =
        sqlx::query_scalar("select count(*) from assignment where access_package_id = $1")
            .bind(package_id)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    let delivered: i64 = sqlx::query_scalar(
        "select count(*) from access_request where status = 'delivered' and access_package_id = $1",
    )
    .bind(package_id)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        granted, delivered,
        "an assignment for every approval, none for a denial"
    );
    assert!(matches!(
        audit::verify(app.state.db.reader()).await.unwrap(),
        audit::VerifyOutcome::Intact { .. }
    ));
    app.stop().await;
}

/// Two administrators creating a catalog, then two owners creating a package, with one
/// name at the same instant, twenty times over: each time exactly one is created and the
/// other is told, next to the name field, that the name is taken (case aside). Nothing
/// answers 500, and only the created one has an audit event.
async fn a_name_taken_by_a_concurrent_request_is_a_field_error(backend: TestBackend) {
    use crate::harness::new_client;
    use app::api::catalogs::{CreatePackage, SaveCatalog};

    const ROUNDS: usize = 20;
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let first = new_client();
    let second = new_client();
    app.sign_in_as(&first, "Ada Admin").await;
    app.sign_in_as(&second, "Ada Admin").await;

    // Which of the two answers won, and what the other said.
    async fn race(one: reqwest::Response, other: reqwest::Response) -> (i64, serde_json::Value) {
        let mut answers = Vec::new();
        for response in [one, other] {
            let status = response.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_str(&response.text().await.unwrap()).unwrap();
            answers.push((status, body));
        }
        answers.sort_by_key(|(status, _)| *status);
        let [(won, id), (lost, refusal)] = <[_; 2]>::try_from(answers).unwrap();
        assert_eq!((won, lost), (200, 400), "{id} / {refusal}");
        assert_eq!(refusal["code"], "invalid", "{refusal}");
        assert_eq!(refusal["fields"][0]["field"], "name", "{refusal}");
        (id.as_i64().unwrap(), refusal)
    }

    let catalogs_before = app.scalar("select count(*) from catalog").await;
    let mut catalog_ids = Vec::new();
    for round in 0..ROUNDS {
        let call = |client, name: String| {
            let app = &app;
            async move {
                app.call::<SaveCatalog>(
                    client,
                    &[("catalog_id", "0".to_string()), ("catalog[name]", name)],
                )
                .await
            }
        };
        let (one, other) = tokio::join!(
            call(&first, format!("Race {round}")),
            call(&second, format!("RACE {round}"))
        );
        let (id, refusal) = race(one, other).await;
        assert!(
            refusal["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Another catalog already has this name"),
            "{refusal}"
        );
        catalog_ids.push(id);
    }
    assert_eq!(
        app.scalar("select count(*) from catalog").await,
        catalogs_before + ROUNDS as i64
    );
    let created_events = app
        .scalar(&format!(
            "select count(*) from audit_event where action = 'catalog.created' \
             and object_id in ({})",
            catalog_ids
                .iter()
                .map(|id| format!("'{id}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .await;
    assert_eq!(created_events, ROUNDS as i64);
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'catalog.created'")
            .await,
        catalogs_before + ROUNDS as i64,
        "only the created catalogs have an audit event"
    );

    let catalog_id = catalog_ids[0];
    for round in 0..ROUNDS {
        let call = |client, name: String| {
            let app = &app;
            async move {
                app.call::<CreatePackage>(
                    client,
                    &[
                        ("catalog_id", catalog_id.to_string()),
                        ("package[name]", name),
                        ("package[description]", "Raced".to_string()),
                    ],
                )
                .await
            }
        };
        let (one, other) = tokio::join!(
            call(&first, format!("Package {round}")),
            call(&second, format!("package {round}"))
        );
        let (_, refusal) = race(one, other).await;
        assert!(
            refusal["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("already has a package with this name"),
            "{refusal}"
        );
    }
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from access_package where catalog_id = {catalog_id}"
        ))
        .await,
        ROUNDS as i64
    );
    app.stop().await;
}

/// Two first sign-ins at one instant, by two accounts of the identity provider that both
/// carry one verified email address (Gatehouse creates people it does not know): one person
/// is created, the other sign-in is refused with a reason (the address is taken, or the
/// person is linked to the other account), never a 500; twenty times over.
async fn a_duplicate_email_at_first_sign_in_is_refused_not_an_error(backend: TestBackend) {
    use app::backend::services::identity::{person_for, IdentityClaims, IdentityPolicy};

    const ROUNDS: usize = 20;
    let app = TestApp::spawn(backend).await;
    let policy = IdentityPolicy {
        allow_unknown: true,
        ..IdentityPolicy::default()
    };
    let claims = |round: usize, account: &str| IdentityClaims {
        subject: format!("{account}-{round}"),
        email: Some(format!("new.starter{round}@example.com")),
        name: Some(format!("New Starter {round}")),
        email_verified: true,
        ..IdentityClaims::default()
    };
    for round in 0..ROUNDS {
        let (first, second) = (claims(round, "first"), claims(round, "second"));
        let (one, other) = tokio::join!(
            person_for(&app.state, &first, &policy),
            person_for(&app.state, &second, &policy)
        );
        let (created, refused) = match (one, other) {
            (Ok(id), Err(error)) | (Err(error), Ok(id)) => (id, error),
            (one, other) => panic!("one sign-in must create the person: {one:?} / {other:?}"),
        };
        assert!(created > 0);
        assert!(
            matches!(refused.code, ErrorCode::Invalid | ErrorCode::Forbidden),
            "{refused:?}"
        );
        if refused.code == ErrorCode::Invalid {
            assert_eq!(
                refused.field_message("email"),
                Some("Another person already has this email address.")
            );
        }
        assert_eq!(
            app.scalar(&format!(
                "select count(*) from person where email = 'new.starter{round}@example.com'"
            ))
            .await,
            1
        );
    }
    app.stop().await;
}

crate::on_both_backends!(
    fifty_approvers_give_each_of_a_hundred_requests_exactly_one_decision,
    a_name_taken_by_a_concurrent_request_is_a_field_error,
    a_duplicate_email_at_first_sign_in_is_refused_not_an_error
);
