//! The ways around the rules that a security review found, each closed (issue 13): people
//! who left, approvers who lost their role, disabled catalogs, separation of duties at
//! grant time, and owners granting themselves access.

use crate::harness::{new_client, TestApp, TestBackend};
use app::api::requests::SubmitRequest;
use app::backend::services::{assignments, manage, people, requests};
use app::backend::store::{self, audit::Actor};
use app::domain::ErrorCode;

fn asking(package_id: i64, justification: &str) -> requests::SubmitRequest {
    requests::SubmitRequest {
        package_id,
        justification: justification.into(),
        ..requests::SubmitRequest::default()
    }
}

/// The waiting request of a demo person, by display name.
async fn request_of(app: &TestApp, name: &str, package: &str) -> i64 {
    sqlx::query_scalar(
        "select r.id from access_request r join person p on p.id = r.person_id \
         join access_package k on k.id = r.access_package_id \
         where p.display_name = $1 and k.name = $2 order by r.id desc limit 1",
    )
    .bind(name)
    .bind(package)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap()
}

/// An approval with no comment, as the approver's page sends it.
async fn approve(
    app: &TestApp,
    approver: &app::backend::store::person::PersonRow,
    request_id: i64,
) -> Result<requests::RequestProgress, app::domain::AppError> {
    requests::decide(
        &app.state,
        approver,
        request_id,
        requests::Outcome::Approve,
        "",
    )
    .await
}

async fn request_status(app: &TestApp, request_id: i64) -> String {
    sqlx::query_scalar("select status from access_request where id = $1")
        .bind(request_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// The status of one approver's task on a request, if they have one.
async fn task_status(app: &TestApp, request_id: i64, approver: &str) -> Option<String> {
    sqlx::query_scalar(
        "select t.status from approval_task t join person p on p.id = t.approver_id \
         where t.access_request_id = $1 and p.display_name = $2",
    )
    .bind(request_id)
    .bind(approver)
    .fetch_optional(app.state.db.reader())
    .await
    .unwrap()
}

/// An email link for an approver on a request, as the mailer would mint it.
async fn mint_decide_link(app: &TestApp, request_id: i64, approver_id: i64) -> i64 {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let version: i64 = sqlx::query_scalar("select version from access_request where id = $1")
        .bind(request_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    store::action_token::mint(
        &mut tx,
        app.clock_now(),
        &app::backend::mail::decide_link(
            request_id,
            version,
            approver_id,
            app.clock_now().plus_days(7),
        ),
    )
    .await
    .unwrap();
    let id = sqlx::query_scalar("select max(id) from action_token")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn link_used(app: &TestApp, token_id: i64) -> bool {
    let used: Option<i64> = sqlx::query_scalar("select used_at from action_token where id = $1")
        .bind(token_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    used.is_some()
}

async fn set_status(app: &TestApp, name: &str, status: &str) {
    sqlx::query("update person set status = $1 where display_name = $2")
        .bind(status)
        .bind(name)
        .execute(app.state.db.writer())
        .await
        .unwrap();
}

async fn assignments_of(app: &TestApp, name: &str, package: &str) -> i64 {
    app.scalar(&format!(
        "select count(*) from assignment a join person p on p.id = a.person_id \
         join access_package k on k.id = a.access_package_id \
         where p.display_name = '{name}' and k.name = '{package}'"
    ))
    .await
}

// 3. People who left are not granted again.

async fn a_person_who_leaves_has_their_requests_cancelled_and_their_approvals_handed_on(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let eli_request = request_of(&app, "Eli Evans", "Production database (read-only)").await;
    let alice = app.person("Alice Anders").await;
    let alice_link = mint_decide_link(&app, eli_request, alice.id).await;

    let left = people::leave(&app.state, &Actor::System("hr"), "eli.evans@example.com")
        .await
        .unwrap();
    assert_eq!(left.requests_cancelled, 1);
    assert_eq!(request_status(&app, eli_request).await, "cancelled");
    assert_eq!(
        task_status(&app, eli_request, "Alice Anders")
            .await
            .as_deref(),
        Some("cancelled")
    );
    assert!(
        link_used(&app, alice_link).await,
        "the approver's link is used up"
    );
    let late = approve(&app, &alice, eli_request).await.unwrap_err();
    assert_eq!(late.code, ErrorCode::Conflict);
    assert_eq!(
        assignments_of(&app, "Eli Evans", "Production database (read-only)").await,
        0
    );

    // Alice leaves: Dev's GitHub request, which waits for her as his manager, goes to the
    // stage's fallback, here the administrators.
    let dev_request = request_of(&app, "Dev Patel", "GitHub organisation").await;
    let left = people::leave(&app.state, &Actor::System("hr"), "alice.anders@example.com")
        .await
        .unwrap();
    assert!(left.approvals_reassigned >= 1, "{left:?}");
    assert_eq!(
        task_status(&app, dev_request, "Alice Anders")
            .await
            .as_deref(),
        Some("cancelled")
    );
    assert_eq!(
        task_status(&app, dev_request, "Ada Admin").await.as_deref(),
        Some("open")
    );
    let ada = app.person("Ada Admin").await;
    let granted = approve(&app, &ada, dev_request).await.unwrap();
    assert!(granted.assignment_id.is_some());
    app.stop().await;
}

async fn nothing_is_granted_to_or_requested_for_a_person_who_is_not_active(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let dev_request = request_of(&app, "Dev Patel", "GitHub organisation").await;
    let alice = app.person("Alice Anders").await;
    // Disabled without going through `leave`: the grant itself refuses.
    set_status(&app, "Dev Patel", "disabled").await;
    let refused = approve(&app, &alice, dev_request).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict, "{}", refused.message);
    assert_eq!(
        assignments_of(&app, "Dev Patel", "GitHub organisation").await,
        0
    );
    assert_eq!(request_status(&app, dev_request).await, "pending_approval");

    // Nor may his manager ask for something on his behalf.
    let proddb = app.package_id("Production database (read-only)").await;
    let dev_id = app.person_id("Dev Patel").await;
    let requests_before = app.scalar("select count(*) from access_request").await;
    let on_behalf = requests::submit(
        &app.state,
        &alice,
        requests::SubmitRequest {
            for_person_id: Some(dev_id),
            ..asking(proddb, "for Dev")
        },
    )
    .await
    .unwrap_err();
    assert!(
        on_behalf.field_message("for_person_id").is_some(),
        "{on_behalf:?}"
    );
    assert_eq!(
        app.scalar("select count(*) from access_request").await,
        requests_before
    );
    app.stop().await;
}

async fn no_account_is_created_downstream_for_a_person_who_is_not_active(backend: TestBackend) {
    use app::backend::services::provisioning::Provisioner;
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_SCIM_TEST", "token")]).await;
    app.seed_demo().await;
    // A SCIM system nobody answers at: a grant that reached it would be retried later,
    // not given up.
    crate::provisioning::connect(&app, "http://127.0.0.1:9/v2", "sandbox").await;
    let fatima = app.person("Fatima Farouk").await;
    let sandbox = app.package_id("AWS sandbox account").await;
    requests::submit(&app.state, &fatima, asking(sandbox, "experiments"))
        .await
        .unwrap();
    // Disabled after the grant, before the provisioner ran.
    set_status(&app, "Fatima Farouk", "disabled").await;
    app.drain(&Provisioner::new(app.state.clone())).await;
    let (status, error): (String, Option<String>) = sqlx::query_as(
        "select status, last_error from provisioning_job where operation = 'add_member' and person_id = $1",
    )
    .bind(fatima.id)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(status, "dead", "{error:?}");
    assert!(
        error
            .as_deref()
            .is_some_and(|error| error.contains("no account is created")),
        "{error:?}"
    );
    app.stop().await;
}

// 4. Approvers who lost their role decide nothing.

async fn an_approver_who_is_no_longer_an_owner_or_the_manager_decides_nothing(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let ada = app.person("Ada Admin").await;
    let ben = app.person("Ben Brooks").await;
    let alice = app.person("Alice Anders").await;
    let proddb = app.package_id("Production database (read-only)").await;

    // Hana's request waits at stage 2 for the package's owner, Ada. Ben becomes the owner
    // instead.
    let hana_request = request_of(&app, "Hana Hill", "Production database (read-only)").await;
    let ada_link = mint_decide_link(&app, hana_request, ada.id).await;
    sqlx::query("update access_package_owner set person_id = $1 where access_package_id = $2")
        .bind(ben.id)
        .bind(proddb)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let refused = approve(&app, &ada, hana_request).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "{}", refused.message);
    assert_eq!(request_status(&app, hana_request).await, "pending_approval");
    assert_eq!(
        task_status(&app, hana_request, "Ada Admin")
            .await
            .as_deref(),
        Some("cancelled")
    );
    assert!(link_used(&app, ada_link).await, "Ada's link is used up");
    assert_eq!(
        task_status(&app, hana_request, "Ben Brooks")
            .await
            .as_deref(),
        Some("open"),
        "the new owner is asked"
    );
    let granted = approve(&app, &ben, hana_request).await.unwrap();
    assert!(granted.assignment_id.is_some());

    // Dev's request waits for his manager, Alice; Dev moves to Ben's team.
    let dev_request = request_of(&app, "Dev Patel", "GitHub organisation").await;
    sqlx::query("update person set manager_id = $1 where display_name = 'Dev Patel'")
        .bind(ben.id)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let refused = approve(&app, &alice, dev_request).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert_eq!(
        task_status(&app, dev_request, "Ben Brooks")
            .await
            .as_deref(),
        Some("open")
    );
    let changes = store::audit::count_for(
        app.state.db.reader(),
        "access_request.approvers_changed",
        "access_request",
        &dev_request.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(changes, 1);
    app.stop().await;
}

async fn changing_a_package_s_owners_hands_its_waiting_approvals_on(backend: TestBackend) {
    use app::backend::services::manage::PackageTarget;
    use app::domain::drafts::PackageForm;
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let ada = app.person("Ada Admin").await;
    let proddb = app.package_id("Production database (read-only)").await;
    // Hana's request waits at stage 2 for the package's owner, Ada.
    let hana_request = request_of(&app, "Hana Hill", "Production database (read-only)").await;
    let ada_link = mint_decide_link(&app, hana_request, ada.id).await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    let settings = store::package::settings(&mut tx, proddb)
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let form = PackageForm {
        name: settings.name,
        description: settings.description,
        owners: "ben.brooks@example.com".into(),
        hidden: None,
        resources: settings
            .resources
            .into_iter()
            .map(|(id, role)| (id.to_string(), role))
            .collect(),
    };
    manage::save_package(
        &app.state,
        &ada,
        PackageTarget::Existing { package_id: proddb },
        &form,
    )
    .await
    .unwrap();
    // Without anyone deciding: Ada's task and link are withdrawn, Ben is asked.
    assert_eq!(
        task_status(&app, hana_request, "Ada Admin")
            .await
            .as_deref(),
        Some("cancelled")
    );
    assert!(link_used(&app, ada_link).await);
    assert_eq!(
        task_status(&app, hana_request, "Ben Brooks")
            .await
            .as_deref(),
        Some("open")
    );
    let asked = app
        .scalar(
            "select count(*) from outbound_message m join person p on p.id = m.to_person_id \
             where m.template = 'approval_needed' and p.display_name = 'Ben Brooks'",
        )
        .await;
    assert_eq!(asked, 1, "Ben is told");
    app.stop().await;
}

// 5. A disabled catalog cannot be requested from, even by calling the server function.

async fn a_package_of_a_disabled_catalog_cannot_be_requested(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let sandbox = app.package_id("AWS sandbox account").await;
    sqlx::query(
        "update catalog set is_enabled = $1 where id = (select catalog_id from access_package where id = $2)",
    )
    .bind(false)
    .bind(sandbox)
    .execute(app.state.db.writer())
    .await
    .unwrap();
    let fatima = new_client();
    app.sign_in_as(&fatima, "Fatima Farouk").await;
    let before = app.scalar("select count(*) from access_request").await;
    let response = app
        .call::<SubmitRequest>(
            &fatima,
            &[
                ("package_id", sandbox.to_string()),
                ("justification", "experiments".into()),
                ("start_date", String::new()),
                ("end_date", String::new()),
            ],
        )
        .await;
    assert_eq!(response.status(), 404, "{}", response.text().await.unwrap());
    assert_eq!(
        app.scalar("select count(*) from access_request").await,
        before
    );
    app.stop().await;
}

// 6. Separation of duties.

async fn removing_an_incompatibility_needs_both_packages(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github = app.package_id("GitHub organisation").await; // Ben's
    let salesforce = app.package_id("Salesforce").await; // Sam's
    let mut tx = app.state.db.begin_write().await.unwrap();
    store::package::add_incompatibility(&mut tx, app.clock_now(), github, salesforce)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ben = app.person("Ben Brooks").await;
    let refused = manage::remove_incompatibility(&app.state, &ben, github, salesforce)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert_eq!(
        app.scalar("select count(*) from incompatibility").await,
        4,
        "the demo's pair and this one, each stored both ways"
    );
    let ada = app.person("Ada Admin").await;
    manage::remove_incompatibility(&app.state, &ada, github, salesforce)
        .await
        .unwrap();
    assert_eq!(app.scalar("select count(*) from incompatibility").await, 2);
    app.stop().await;
}

async fn two_waiting_requests_for_incompatible_packages_are_not_both_granted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github = app.package_id("GitHub organisation").await;
    let proddb = app.package_id("Production database (read-only)").await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    store::package::add_incompatibility(&mut tx, app.clock_now(), github, proddb)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let dev = app.person("Dev Patel").await;
    let alice = app.person("Alice Anders").await;
    let ada = app.person("Ada Admin").await;
    // Dev's GitHub request waits already; he asks for the database too, which he does not
    // hold yet, so the request is accepted.
    let github_request = request_of(&app, "Dev Patel", "GitHub organisation").await;
    let proddb_request = requests::submit(&app.state, &dev, asking(proddb, "Incident INC-9"))
        .await
        .unwrap()
        .request_id;
    approve(&app, &alice, github_request).await.unwrap();
    approve(&app, &alice, proddb_request).await.unwrap();
    let refused = approve(&app, &ada, proddb_request).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert!(
        refused.message.contains("separation of duties"),
        "{}",
        refused.message
    );
    assert_eq!(
        assignments_of(&app, "Dev Patel", "Production database (read-only)").await,
        0
    );
    assert_eq!(
        request_status(&app, proddb_request).await,
        "pending_approval"
    );
    app.stop().await;
}

// 2. Owners granting themselves, or granting past an approval.

async fn an_owner_cannot_assign_to_themselves_or_past_an_approval(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let github = app.package_id("GitHub organisation").await; // manager approval
    let ben = app.person("Ben Brooks").await; // owns it
    let ian = app.person_id("Ian Irwin").await;
    let ada = app.person("Ada Admin").await;
    let expense = app.package_id("Expense approver").await;
    let fiona = app.person("Fiona Fischer").await;

    let own = assignments::assign_directly(&app.state, &ada, github, ada.id, None, "mine")
        .await
        .unwrap_err();
    assert!(own.field_message("person_id").is_some(), "{own:?}");
    let own = assignments::assign_directly(&app.state, &fiona, expense, fiona.id, None, "mine")
        .await
        .unwrap_err();
    assert!(own.field_message("person_id").is_some(), "{own:?}");

    let past_approval = assignments::assign_directly(&app.state, &ben, github, ian, None, "team")
        .await
        .unwrap_err();
    assert_eq!(past_approval.code, ErrorCode::Forbidden);
    assert!(
        past_approval.message.contains("needs approval"),
        "{}",
        past_approval.message
    );
    assert_eq!(
        assignments_of(&app, "Ian Irwin", "GitHub organisation").await,
        0
    );
    // An administrator may, and it is audited as a direct assignment.
    assignments::assign_directly(&app.state, &ada, github, ian, None, "new starter")
        .await
        .unwrap();
    assert_eq!(
        assignments_of(&app, "Ian Irwin", "GitHub organisation").await,
        1
    );
    app.stop().await;
}

async fn an_owner_adds_only_the_downstream_groups_an_administrator_allowed(backend: TestBackend) {
    use app::domain::allowance::AllowanceForm;
    use app::domain::drafts::ResourceForm;
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let alice = app.person("Alice Anders").await; // owns the Engineering catalog
    let ada = app.person("Ada Admin").await;
    let ben = app.person("Ben Brooks").await; // owns a package only
    let engineering = app
        .scalar("select id from catalog where name = 'Engineering'")
        .await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    let directory =
        store::connector::insert(&mut tx, app.clock_now(), "Corporate directory", "ldap")
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let group = |name: &str, dn: &str| ResourceForm {
        name: name.into(),
        kind: "group".into(),
        connector_id: directory.to_string(),
        external_id: dn.into(),
        description: String::new(),
    };
    let admins_dn = "cn=admins,ou=groups,dc=example,dc=com";
    let resources = || app.scalar("select count(*) from resource");
    let before = resources().await;

    // Nothing allowed yet: the directory's administrators group is out of reach.
    let refused =
        manage::add_resource(&app.state, &alice, engineering, &group("Admins", admins_dn))
            .await
            .unwrap_err();
    assert!(
        refused.field_message("connector_id").is_some(),
        "{refused:?}"
    );

    let allowance = AllowanceForm {
        connector_id: directory.to_string(),
        groups: String::new(),
        within: "ou=engineering,ou=groups,dc=example,dc=com".into(),
    };
    let not_admin = manage::allow_connector(&app.state, &alice, engineering, &allowance)
        .await
        .unwrap_err();
    assert_eq!(not_admin.code, ErrorCode::Forbidden);
    let not_owner = manage::allow_connector(&app.state, &ben, engineering, &allowance)
        .await
        .unwrap_err();
    assert_eq!(not_owner.code, ErrorCode::NotFound);
    manage::allow_connector(&app.state, &ada, engineering, &allowance)
        .await
        .unwrap();

    let refused =
        manage::add_resource(&app.state, &alice, engineering, &group("Admins", admins_dn))
            .await
            .unwrap_err();
    assert!(
        refused.field_message("external_id").is_some(),
        "{refused:?}"
    );
    manage::add_resource(
        &app.state,
        &alice,
        engineering,
        &group(
            "Developers",
            "cn=devs,ou=engineering,ou=groups,dc=example,dc=com",
        ),
    )
    .await
    .unwrap();
    // Administrators, who decide the allowances, add what they choose.
    manage::add_resource(&app.state, &ada, engineering, &group("Admins", admins_dn))
        .await
        .unwrap();
    assert_eq!(resources().await, before + 2);

    manage::disallow_connector(&app.state, &ada, engineering, directory)
        .await
        .unwrap();
    let refused = manage::add_resource(
        &app.state,
        &alice,
        engineering,
        &group(
            "Testers",
            "cn=testers,ou=engineering,ou=groups,dc=example,dc=com",
        ),
    )
    .await
    .unwrap_err();
    assert!(
        refused.field_message("connector_id").is_some(),
        "{refused:?}"
    );
    for action in ["catalog.connector_allowed", "catalog.connector_disallowed"] {
        let events = store::audit::count_for(
            app.state.db.reader(),
            action,
            "catalog",
            &engineering.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(events, 1, "{action}");
    }
    app.stop().await;
}

// 12. One valid link per message.

async fn a_message_sent_again_carries_the_only_valid_link(backend: TestBackend) {
    use app::backend::mail::deliver::Mailer;
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    // Development mode without SMTP: the development mailbox delivers.
    let mailbox = Mailer::from_settings(app.state.clone()).unwrap().unwrap();
    app.drain(&mailbox).await;
    let message: i64 = app
        .scalar(
            "select min(m.id) from outbound_message m join person p on p.id = m.to_person_id \
             where m.template = 'approval_needed' and p.display_name = 'Alice Anders'",
        )
        .await;
    let sql = format!(
        "select count(*) from action_token t join person p on p.id = t.person_id \
         where p.display_name = 'Alice Anders' and t.used_at is null and t.purpose = 'decide' \
         and t.subject_id = (select subject_id from action_token where outbound_message_id = {message} limit 1)"
    );
    let valid_links = || app.scalar(&sql);
    assert_eq!(valid_links().await, 1);
    // The message goes out again (a retry after a failed attempt, or a resend).
    sqlx::query("update outbound_message set status = 'queued', next_attempt_at = 0 where id = $1")
        .bind(message)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    assert_eq!(app.drain(&mailbox).await, 1);
    assert_eq!(
        valid_links().await,
        1,
        "the earlier attempt's link was replaced"
    );
    app.stop().await;
}

// 8. Connector secrets go only where they are bound.

async fn connector_secrets_go_only_where_they_are_bound(backend: TestBackend) {
    use app::api::connectors::CreateConnector;
    let app = TestApp::spawn_with(
        backend,
        &[
            ("GATEHOUSE_SECRET_HR_SCIM", "hr-token"),
            ("GATEHOUSE_SECRET_PINNED", "pinned-token"),
            ("GATEHOUSE_SECRET_PINNED_URL", "https://scim.example.com/v2"),
        ],
    )
    .await;
    app.seed_demo().await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let create = |fields: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, String)> = fields
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
            let response = app.call::<CreateConnector>(&admin, &fields).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let before = app.scalar("select count(*) from connector").await;
    // Plain http and plain ldap:// to another machine would send the secret in the clear.
    let (status, body) = create(vec![
        ("connector[name]", "HR"),
        ("connector[url]", "http://scim.example.com/v2"),
        ("connector[secret_name]", "HR_SCIM"),
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"url\"") && body.contains("https"), "{body}");
    let ldap = |starttls: &'static str| {
        vec![
            ("connector[kind]", "ldap"),
            ("connector[name]", "Directory"),
            ("connector[url]", "ldap://ldap.example.com"),
            ("connector[bind_dn]", "cn=gatehouse,dc=example,dc=com"),
            ("connector[users_base]", "ou=people,dc=example,dc=com"),
            ("connector[secret_name]", "DIRECTORY"),
            ("connector[starttls]", starttls),
        ]
    };
    let (status, body) = create(ldap("")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("StartTLS"), "{body}");
    // A pinned secret goes to its URL only.
    let (status, body) = create(vec![
        ("connector[name]", "Elsewhere"),
        ("connector[url]", "https://collector.example.net/v2"),
        ("connector[secret_name]", "PINNED"),
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("may be sent only to https://scim.example.com/v2"),
        "{body}"
    );
    assert_eq!(app.scalar("select count(*) from connector").await, before);

    let (status, body) = create(ldap("on")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = create(vec![
        ("connector[name]", "HR"),
        ("connector[url]", "https://scim.example.com/v2"),
        ("connector[secret_name]", "HR_SCIM"),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    // Another connector cannot borrow that secret to send it somewhere else.
    let (status, body) = create(vec![
        ("connector[name]", "Collector"),
        ("connector[url]", "https://collector.example.net/v2"),
        ("connector[secret_name]", "HR_SCIM"),
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("belongs to the connector"), "{body}");
    assert_eq!(
        app.scalar("select count(*) from connector").await,
        before + 2
    );

    // A connector written to point elsewhere behind the form's back gets no pinned secret.
    let secrets = &app.state.settings.connector_secrets;
    let elsewhere =
        serde_json::json!({ "base_url": "https://collector.example.net/v2" }).to_string();
    let refused = app::backend::connectors::secret_for(secrets, Some("PINNED"), "scim", &elsewhere)
        .unwrap_err();
    assert!(refused.contains("may be sent only to"), "{refused}");
    let pinned = serde_json::json!({ "base_url": "https://scim.example.com/v2/" }).to_string();
    assert_eq!(
        app::backend::connectors::secret_for(secrets, Some("PINNED"), "scim", &pinned).unwrap(),
        Some("pinned-token")
    );
    app.stop().await;
}

crate::on_both_backends!(
    no_account_is_created_downstream_for_a_person_who_is_not_active,
    changing_a_package_s_owners_hands_its_waiting_approvals_on,
    a_message_sent_again_carries_the_only_valid_link,
    an_owner_adds_only_the_downstream_groups_an_administrator_allowed,
    connector_secrets_go_only_where_they_are_bound,
    a_person_who_leaves_has_their_requests_cancelled_and_their_approvals_handed_on,
    nothing_is_granted_to_or_requested_for_a_person_who_is_not_active,
    an_approver_who_is_no_longer_an_owner_or_the_manager_decides_nothing,
    a_package_of_a_disabled_catalog_cannot_be_requested,
    removing_an_incompatibility_needs_both_packages,
    two_waiting_requests_for_incompatible_packages_are_not_both_granted,
    an_owner_cannot_assign_to_themselves_or_past_an_approval,
);
