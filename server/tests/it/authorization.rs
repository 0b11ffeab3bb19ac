//! The authorization matrix: every server function, called by each role against objects
//! that are not theirs (the Business catalog, Ivy's request, Grace's access), is refused as
//! if the object did not exist (403 or 404, never a 400 from malformed arguments), or
//! answers a list without it; nothing of those objects leaks into the answers, and nothing
//! changes. Each case's arguments are then proved well-formed by one call from someone
//! who may make it, which must get past authorization.
//!
//! A new server function fails this test until it is added to the matrix (or to the short
//! list of functions that carry no object).

use crate::harness::{new_client, TestApp, TestBackend};
use app::api::{
    access, audit, catalogs, connectors, dev, home, links, mail, manage, requests, reviews, scim,
    session,
};
use leptos::server_fn::ServerFn;
use std::collections::BTreeSet;

/// Text that belongs to the foreign objects and must not appear in a refusal or a list.
const SECRETS: [&str; 4] = [
    "Ivy Ito",
    "Preparing the quarterly close",
    "Grace Green",
    "Finance certification",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Anonymous,
    Employee,
    Manager,
    PackageOwner,
    CatalogOwner,
    Auditor,
    Administrator,
}

impl Role {
    const ALL: [Role; 7] = [
        Role::Anonymous,
        Role::Employee,
        Role::Manager,
        Role::PackageOwner,
        Role::CatalogOwner,
        Role::Auditor,
        Role::Administrator,
    ];

    fn person(self) -> Option<&'static str> {
        match self {
            Role::Anonymous => None,
            Role::Employee => Some("Dev Patel"),
            Role::Manager => Some("Sofia Silva"),
            Role::PackageOwner => Some("Ben Brooks"),
            Role::CatalogOwner => Some("Alice Anders"),
            Role::Auditor => Some("Otto Auditor"),
            Role::Administrator => Some("Ada Admin"),
        }
    }
}

/// What a call should do for the roles not listed as allowed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Refused with an error status.
    Refused,
    /// Answered, but without any foreign object in it.
    ListedWithout,
}

struct Case {
    path: &'static str,
    fields: Vec<(&'static str, String)>,
    expect: Expect,
    /// Roles for whom the object is not foreign (administrators for settings, auditors
    /// for reading): not called, since for them the call may succeed or change things.
    allowed: &'static [Role],
    /// Someone who may make the call (by display name), to prove the arguments good.
    proof: &'static str,
}

struct Foreign {
    ivy_request: String,
    ivy: String,
    grace_assignment: String,
    finance_package: String,
    finance_policy: String,
    expense_package: String,
    github_package: String,
    business_catalog: String,
    /// An email link to decide Ivy's request, sent to her manager Fiona (none of the roles).
    ivy_link: String,
    /// A message in the outbox.
    message: String,
    /// A downstream connector no catalog may use yet.
    partner_connector: String,
    /// Fiona's review of Finance reports, its version, its instance in progress and the
    /// item of Grace's access she reviews.
    finance_review: String,
    finance_review_version: String,
    finance_instance: String,
    grace_item: String,
    /// A live token of an HR system (SCIM).
    scim_token: String,
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn foreign_objects(app: &TestApp) -> Foreign {
    Foreign {
        ivy_request: scalar(app, "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Ivy Ito'").await.to_string(),
        ivy: app.person_id("Ivy Ito").await.to_string(),
        grace_assignment: scalar(app, "select a.id from assignment a join person p on p.id = a.person_id where p.display_name = 'Grace Green'").await.to_string(),
        finance_package: app.package_id("Finance reports").await.to_string(),
        finance_policy: scalar(app, "select a.id from assignment_policy a join access_package p on p.id = a.access_package_id where p.name = 'Finance reports'").await.to_string(),
        expense_package: app.package_id("Expense approver").await.to_string(),
        github_package: app.package_id("GitHub organisation").await.to_string(),
        business_catalog: scalar(app, "select catalog_id from access_package where name = 'Finance reports'").await.to_string(),
        ivy_link: ivy_link(app).await,
        message: scalar(app, "select min(id) from outbound_message").await.to_string(),
        partner_connector: partner_connector(app).await.to_string(),
        scim_token: {
            let ada = app.person("Ada Admin").await;
            app::backend::services::scim::create_token(&app.state, &ada, "Workday").await.unwrap().0.to_string()
        },
        ..finance_review(app).await
    }
}

/// Fiona (owner of the Business catalog) reviews her reports' Finance reports access.
async fn finance_review(app: &TestApp) -> Foreign {
    use app::backend::services::reviews as service;
    let fiona = app.person("Fiona Fischer").await;
    let mut form = crate::reviews::manager_review(app, "Finance certification", "Finance reports");
    form.start_at = app.clock_now().date_time_input();
    let review_id = service::save(&app.state, &fiona, None, 0, &form)
        .await
        .unwrap();
    let scheduler = app::backend::workers::ReviewScheduler::new(app.state.clone());
    app.drain(&scheduler).await;
    let instance = scalar(
        app,
        &format!("select id from review_instance where access_review_id = {review_id}"),
    )
    .await;
    Foreign {
        finance_review: review_id.to_string(),
        finance_review_version: scalar(app, &format!("select version from access_review where id = {review_id}")).await.to_string(),
        finance_instance: instance.to_string(),
        grace_item: scalar(app, &format!("select i.id from review_item i join person p on p.id = i.person_id where i.review_instance_id = {instance} and p.display_name = 'Grace Green'")).await.to_string(),
        ivy_request: String::new(),
        ivy: String::new(),
        grace_assignment: String::new(),
        finance_package: String::new(),
        finance_policy: String::new(),
        expense_package: String::new(),
        github_package: String::new(),
        business_catalog: String::new(),
        ivy_link: String::new(),
        message: String::new(),
        partner_connector: String::new(),
        scim_token: String::new(),
    }
}

async fn partner_connector(app: &TestApp) -> i64 {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let id =
        app::backend::store::connector::insert(&mut tx, app.clock_now(), "Partner SCIM", "scim")
            .await
            .unwrap();
    sqlx::query("update connector set config_json = $1, secret_ref = 'PARTNER' where id = $2")
        .bind(r#"{"base_url":"https://scim.partner.example/v2"}"#)
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn ivy_link(app: &TestApp) -> String {
    let request_id = scalar(app, "select r.id from access_request r join person p on p.id = r.person_id where p.display_name = 'Ivy Ito'").await;
    let version = scalar(
        app,
        &format!("select version from access_request where id = {request_id}"),
    )
    .await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    let token = app::backend::store::action_token::mint(
        &mut tx,
        app.clock_now(),
        &app::backend::mail::decide_link(
            request_id,
            version,
            app.person_id("Fiona Fischer").await,
            app.clock_now().plus_days(7),
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    token
}

fn case(
    path: &'static str,
    fields: &[(&'static str, &str)],
    expect: Expect,
    allowed: &'static [Role],
    proof: &'static str,
) -> Case {
    Case {
        path,
        fields: fields.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        expect,
        allowed,
        proof,
    }
}

/// The cases, in the order their proofs run (a proof may change its object: the decisions
/// on Ivy's request come before her cancelling it, reading Grace's access before ending it).
fn matrix(f: &Foreign) -> Vec<Case> {
    use Expect::{ListedWithout, Refused};
    use Role::{Administrator as Admin, Auditor};
    const ADA: &str = "Ada Admin";
    let policy_fields = |package: &str, policy: &str| -> Vec<(&'static str, String)> {
        [
            ("package_id", package),
            ("policy_id", policy),
            ("policy[name]", "Taken over"),
            ("policy[requestor_scope]", "everyone"),
            ("policy[duration_kind]", "no_end"),
            ("policy[enabled]", "on"),
        ]
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect()
    };
    vec![
        // Requests and access of other people.
        case(
            requests::GetRequest::PATH,
            &[("request_id", &f.ivy_request)],
            Refused,
            &[Admin, Auditor],
            ADA,
        ),
        // Someone else's email link is refused to everyone else.
        case(
            links::UseActionLink::PATH,
            &[("token", &f.ivy_link), ("choice", "approve")],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            requests::DecideRequests::PATH,
            &[
                ("request_ids[0]", &f.ivy_request),
                ("outcome", "approve"),
                ("justification", ""),
            ],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            requests::DecideRequest::PATH,
            &[
                ("request_id", &f.ivy_request),
                ("outcome", "approve"),
                ("justification", ""),
            ],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            requests::CancelRequest::PATH,
            &[("request_id", &f.ivy_request)],
            Refused,
            &[],
            "Ivy Ito",
        ),
        case(
            access::GetAccess::PATH,
            &[("assignment_id", &f.grace_assignment)],
            Refused,
            &[Admin, Auditor],
            ADA,
        ),
        case(
            requests::GetExtensionForm::PATH,
            &[("assignment_id", &f.grace_assignment)],
            Refused,
            &[],
            "Grace Green",
        ),
        case(
            requests::RequestExtension::PATH,
            &[
                ("assignment_id", &f.grace_assignment),
                ("end_date", "2027-01-20"),
                ("justification", "x"),
            ],
            Refused,
            &[],
            "Grace Green",
        ),
        case(
            requests::RevokeAccess::PATH,
            &[
                ("assignment_id", &f.grace_assignment),
                ("comment", "mine now"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            requests::ReleaseAccess::PATH,
            &[("assignment_id", &f.grace_assignment)],
            Refused,
            &[],
            "Grace Green",
        ),
        case(
            requests::SubmitRequest::PATH,
            &[
                ("package_id", &f.finance_package),
                ("for_person_id", &f.ivy),
                ("justification", "for her"),
                ("start_date", ""),
                ("end_date", ""),
            ],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            requests::GetRequestForm::PATH,
            &[("package_id", &f.finance_package)],
            ListedWithout,
            &[],
            "Ivy Ito",
        ),
        case(
            requests::ListRequestable::PATH,
            &[("search", "")],
            ListedWithout,
            &[],
            "Ivy Ito",
        ),
        case(
            requests::ListApprovals::PATH,
            &[],
            ListedWithout,
            &[],
            "Fiona Fischer",
        ),
        case(home::GetHome::PATH, &[], ListedWithout, &[], "Ivy Ito"),
        // Another catalog's package, its holders and settings.
        case(
            manage::ListManagedPackages::PATH,
            &[],
            ListedWithout,
            &[Admin],
            ADA,
        ),
        case(
            manage::GetPackageManagement::PATH,
            &[("package_id", &f.finance_package)],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            manage::AssignPackage::PATH,
            &[
                ("package_id", &f.finance_package),
                ("person_id", &f.ivy),
                ("end_date", ""),
                ("reason", "x"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::ListCatalogs::PATH,
            &[],
            ListedWithout,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::GetCatalog::PATH,
            &[("catalog_id", &f.business_catalog)],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::AddResource::PATH,
            &[
                ("catalog_id", &f.business_catalog),
                ("resource[name]", "Backdoor"),
                ("resource[kind]", "group"),
                ("resource[connector_id]", "1"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::AllowCatalogConnector::PATH,
            &[
                ("catalog_id", &f.business_catalog),
                ("allowance[connector_id]", &f.partner_connector),
                ("allowance[groups]", "*"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::DisallowCatalogConnector::PATH,
            &[
                ("catalog_id", &f.business_catalog),
                ("connector_id", &f.partner_connector),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::CreatePackage::PATH,
            &[
                ("catalog_id", &f.business_catalog),
                ("package[name]", "Backdoor"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::GetPackageSetup::PATH,
            &[("package_id", &f.finance_package)],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::GetPolicyEditor::PATH,
            &[
                ("package_id", &f.finance_package),
                ("policy_id", &f.finance_policy),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        Case {
            path: catalogs::SavePolicy::PATH,
            fields: policy_fields(&f.finance_package, &f.finance_policy),
            expect: Refused,
            allowed: &[Admin],
            proof: ADA,
        },
        Case {
            path: catalogs::SavePolicy::PATH,
            fields: policy_fields(&f.finance_package, "0"),
            expect: Refused,
            allowed: &[Admin],
            proof: ADA,
        },
        case(
            catalogs::AddIncompatibility::PATH,
            &[
                ("package_id", &f.finance_package),
                ("other_package_id", &f.github_package),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        // Ben owns GitHub, but not Expense approver.
        case(
            catalogs::AddIncompatibility::PATH,
            &[
                ("package_id", &f.github_package),
                ("other_package_id", &f.expense_package),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::RemoveIncompatibility::PATH,
            &[
                ("package_id", &f.finance_package),
                ("other_package_id", &f.expense_package),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::ListConflicts::PATH,
            &[],
            ListedWithout,
            &[Admin, Auditor],
            ADA,
        ),
        case(
            catalogs::UpdatePackage::PATH,
            &[
                ("package_id", &f.finance_package),
                ("package[name]", "Taken over"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            catalogs::SaveCatalog::PATH,
            &[
                ("catalog_id", &f.business_catalog),
                ("catalog[name]", "Taken over"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        // The audit trail is for administrators and auditors.
        case(
            audit::GetAuditTrail::PATH,
            &[],
            Refused,
            &[Admin, Auditor],
            ADA,
        ),
        // Connectors and provisioning jobs are for administrators.
        case(
            connectors::GetProvisioning::PATH,
            &[],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            connectors::CreateConnector::PATH,
            &[
                ("connector[name]", "Taken over"),
                ("connector[url]", "https://scim.example.com/v2"),
                ("connector[secret_name]", "X"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            connectors::RetryJob::PATH,
            &[("job_id", "1")],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            connectors::ReconcileNow::PATH,
            &[("connector_id", "1")],
            Refused,
            &[Admin],
            ADA,
        ),
        // Access reviews: Fiona's definition, report and items.
        case(
            reviews::ListReviews::PATH,
            &[("page", "1")],
            ListedWithout,
            &[Admin, Auditor],
            ADA,
        ),
        case(
            reviews::GetReview::PATH,
            &[("review_id", &f.finance_review)],
            Refused,
            &[Admin, Auditor],
            ADA,
        ),
        case(
            reviews::GetReviewReport::PATH,
            &[("instance_id", &f.finance_instance)],
            Refused,
            &[Admin, Auditor],
            ADA,
        ),
        case(
            reviews::MyReviews::PATH,
            &[],
            ListedWithout,
            &[],
            "Fiona Fischer",
        ),
        case(
            reviews::GetReviewItems::PATH,
            &[
                ("instance_id", &f.finance_instance),
                ("group_by", "person"),
                ("query", ""),
                ("page", "1"),
            ],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            reviews::DecideReviewItems::PATH,
            &[
                ("instance_id", &f.finance_instance),
                ("item_ids[0]", &f.grace_item),
                ("decision", "keep"),
                ("reason", ""),
            ],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            reviews::AcceptReviewRecommendations::PATH,
            &[("instance_id", &f.finance_instance)],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            reviews::ReassignReviewItem::PATH,
            &[
                ("instance_id", &f.finance_instance),
                ("item_id", &f.grace_item),
                ("to", "henry.hall@example.com"),
                ("reason", "Henry covers payroll"),
            ],
            Refused,
            &[],
            "Fiona Fischer",
        ),
        case(
            reviews::SaveReview::PATH,
            &[
                ("review_id", &f.finance_review),
                ("version", &f.finance_review_version),
                ("review[name]", "Taken over"),
                // Every package: earlier proofs renamed the Finance package and catalog.
                ("review[scope_kind]", "all"),
                ("review[stages][0][reviewer_kind]", "self"),
                ("review[stages][0][duration_days]", "14"),
                ("review[start_at]", "2027-06-01T09:00"),
                ("review[duration_days]", "14"),
                ("review[recurrence]", "once"),
                ("review[default_decision]", "none"),
                ("review[apply_mode]", "auto"),
                ("review[sign_in_window_days]", "30"),
            ],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            reviews::StartReviewNow::PATH,
            &[("review_id", &f.finance_review)],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            reviews::ApplyReview::PATH,
            &[("instance_id", &f.finance_instance)],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            reviews::EndReviewStageNow::PATH,
            &[("instance_id", &f.finance_instance)],
            Refused,
            &[Admin],
            ADA,
        ),
        // HR inbound: administrators make and revoke tokens; auditors read the list.
        case(
            scim::GetScimSettings::PATH,
            &[],
            Refused,
            &[Admin, Auditor],
            ADA,
        ),
        case(
            scim::CreateScimToken::PATH,
            &[("name", "Intruder")],
            Refused,
            &[Admin],
            ADA,
        ),
        case(
            scim::RevokeScimToken::PATH,
            &[("token_id", &f.scim_token)],
            Refused,
            &[Admin],
            ADA,
        ),
        // The mail queue is for administrators.
        case(mail::GetMailQueue::PATH, &[], Refused, &[Admin], ADA),
        case(
            mail::ResendMessage::PATH,
            &[("message_id", &f.message)],
            Refused,
            &[Admin],
            ADA,
        ),
    ]
}

/// Server functions that carry no object of anyone's: the site's public facts, the
/// caller's own sign-in and sign-out, and the development tools (development mode only:
/// production answers them "not found", which `http_basics` and `sessions` test).
fn without_object() -> BTreeSet<&'static str> {
    [
        session::GetSiteInfo::PATH,
        session::ListSignInChoices::PATH,
        session::DevSignIn::PATH,
        session::SignOut::PATH,
        dev::ListDevMail::PATH,
        // The caller's own mail settings.
        mail::GetMailPreference::PATH,
        mail::SaveMailPreference::PATH,
        // Answers anyone, signed in or not, without showing its object to anyone but the
        // link's person (the `mail` tests check every case).
        links::OpenActionLink::PATH,
    ]
    .into_iter()
    .collect()
}

async fn state_fingerprint(app: &TestApp) -> Vec<i64> {
    let mut fingerprint = Vec::new();
    for table in [
        "audit_event",
        "access_request",
        "decision",
        "approval_task",
        "assignment",
        "catalog",
        "resource",
        "access_package",
        "access_package_owner",
        "assignment_policy",
        "approval_stage",
        "incompatibility",
        "outbound_message",
        "provisioning_job",
        "action_token",
        "connector",
        "access_review",
        "review_instance",
        "review_item",
        "review_item_reviewer",
        "scim_token",
        "person",
    ] {
        fingerprint.push(scalar(app, &format!("select count(*) from {table}")).await);
    }
    // And the foreign objects' versions and names.
    fingerprint.push(
        scalar(
            app,
            "select cast(sum(version) as bigint) from access_request",
        )
        .await,
    );
    fingerprint.push(scalar(app, "select cast(sum(version) as bigint) from assignment").await);
    fingerprint.push(scalar(app, "select count(decision) from review_item").await);
    fingerprint.push(scalar(app, "select count(revoked_at) from scim_token").await);
    fingerprint.push(
        scalar(
            app,
            "select cast(coalesce(sum(reviewer_id), 0) as bigint) from review_item",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select cast(sum(version) as bigint) from access_review",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select count(*) from access_review where name = 'Taken over'",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select count(*) from action_token where used_at is not null",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select count(*) from outbound_message where status = 'queued'",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select count(*) from access_package where name = 'Taken over' or name = 'Backdoor'",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select count(*) from catalog where name = 'Taken over'",
        )
        .await,
    );
    fingerprint.push(
        scalar(
            app,
            "select count(*) from assignment_policy where name = 'Taken over'",
        )
        .await,
    );
    fingerprint
}

async fn every_server_function_refuses_every_role_on_a_foreign_object(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let foreign = foreign_objects(&app).await;
    let cases = matrix(&foreign);

    // The matrix covers every registered server function.
    let covered: BTreeSet<&str> = cases
        .iter()
        .map(|case| case.path)
        .chain(without_object())
        .collect();
    let registered: BTreeSet<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    let missing: Vec<_> = registered.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "server functions missing from the matrix: {missing:?}"
    );

    // Signing in is audited: every role signs in before the fingerprint is taken.
    let mut clients = Vec::new();
    for role in Role::ALL {
        let client = new_client();
        if let Some(name) = role.person() {
            app.sign_in_as(&client, name).await;
        }
        clients.push((role, client));
    }
    let before = state_fingerprint(&app).await;
    let mut calls = 0;
    for (role, client) in clients {
        for case in &cases {
            if case.allowed.contains(&role) {
                continue;
            }
            let response = app.call_path(&client, case.path, &case.fields).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            calls += 1;
            let what = format!("{role:?} calling {}: {status} {body}", case.path);
            match (role, case.expect) {
                (Role::Anonymous, _) => assert_eq!(status, 401, "{what}"),
                // Refused as if the object did not exist, never by a malformed argument.
                (_, Expect::Refused) => assert!(matches!(status, 403 | 404), "{what}"),
                (_, Expect::ListedWithout) => assert_eq!(status, 200, "{what}"),
            }
            for secret in SECRETS {
                assert!(!body.contains(secret), "{what} leaks {secret:?}");
            }
        }
    }
    assert!(calls > 150, "the matrix ran {calls} calls");
    assert_eq!(
        state_fingerprint(&app).await,
        before,
        "a refused call changed something"
    );

    // Each case's arguments are good: someone who may make the call gets past
    // authorization and validation (a conflict only where an earlier proof changed the
    // object, such as a request decided before its requester cancels it).
    for case in &cases {
        let client = new_client();
        app.sign_in_as(&client, case.proof).await;
        let response = app.call_path(&client, case.path, &case.fields).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(
            (200..400).contains(&status) || status == 409,
            "{} calling {} to prove its arguments: {status} {body}",
            case.proof,
            case.path
        );
    }
    app.stop().await;
}

crate::on_both_backends!(every_server_function_refuses_every_role_on_a_foreign_object);
