//! A small fault proxy of the test harness, in front of a real server: it passes requests
//! through, or answers 500, hangs past the client's timeout, answers 429 with a
//! Retry-After, or stops listening so that connections are refused; a fault may be limited
//! to the requests about one downstream object (a path containing its id).
//!
//! Below it, the tests of issue 14 ("No swallowed errors"): stored data that cannot be read
//! and a downstream group that cannot be read fail visibly, never read as empty.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Pass every request to the real server.
    None,
    /// Answer 500.
    ServerError,
    /// Hold the request far longer than any client waits.
    Hang,
    /// Answer 429 with `Retry-After: seconds`.
    TooManyRequests(u64),
    /// Not listening: connections are refused.
    Refused,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    fault: Arc<Mutex<Fault>>,
    /// When set, only requests whose path contains this meet the fault.
    only_paths_containing: Arc<Mutex<Option<String>>>,
    http: reqwest::Client,
    /// Requests answered, by fault (for the test to see each fault was met).
    seen: Arc<Mutex<Vec<Fault>>>,
}

pub struct FaultProxy {
    pub port: u16,
    shared: Shared,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy for `upstream` (scheme, host and port, e.g. `http://127.0.0.1:8080`).
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            fault: Arc::new(Mutex::new(Fault::None)),
            only_paths_containing: Arc::new(Mutex::new(None)),
            http: reqwest::Client::new(),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let mut proxy = Self {
            port,
            shared,
            server: None,
        };
        proxy.listen(listener);
        proxy
    }

    fn listen(&mut self, listener: tokio::net::TcpListener) {
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(self.shared.clone());
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
    }

    pub async fn set(&mut self, fault: Fault) {
        *self.shared.only_paths_containing.lock().unwrap() = None;
        let was = *self.shared.fault.lock().unwrap();
        *self.shared.fault.lock().unwrap() = fault;
        if fault == Fault::Refused && was != Fault::Refused {
            if let Some(server) = self.server.take() {
                server.abort();
                let _ = server.await;
            }
        }
        if was == Fault::Refused && fault != Fault::Refused {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
                .await
                .expect("the proxy's port is free again");
            self.listen(listener);
        }
    }

    /// Meets `fault` only on requests whose path contains `needle` (the id of one group,
    /// say); every other request passes through. A refused connection cannot be limited so.
    pub async fn set_for_paths_containing(&mut self, fault: Fault, needle: &str) {
        assert_ne!(
            fault,
            Fault::Refused,
            "refusing is for every request or none"
        );
        self.set(fault).await;
        *self.shared.only_paths_containing.lock().unwrap() = Some(needle.to_string());
    }

    /// The faults met so far, one per request.
    pub fn seen(&self) -> Vec<Fault> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn forward(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut fault = *shared.fault.lock().unwrap();
    if let Some(needle) = shared.only_paths_containing.lock().unwrap().as_deref() {
        if !uri.path().contains(needle) {
            fault = Fault::None;
        }
    }
    shared.seen.lock().unwrap().push(fault);
    match fault {
        Fault::ServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected failure").into_response()
        }
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Fault::TooManyRequests(seconds) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", seconds.to_string())],
                "slow down",
            )
                .into_response()
        }
        Fault::None | Fault::Refused => {}
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let kind = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            if let Some(kind) = kind {
                response.headers_mut().insert("content-type", kind);
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Issue 14: no swallowed errors.

use crate::harness::{new_client, TestApp, TestBackend};
use crate::provisioning::{connect, Tenant, TOKEN};
use crate::slapd::{Slapd, LDAP_ADMIN, LDAP_PASSWORD, PEOPLE_BASE};
use app::backend::mail::deliver::Mailer;
use app::backend::mail::notices::Notices;
use app::backend::services::provisioning::Provisioner;
use app::backend::services::reconcile;
use app::backend::services::requests::{self, SubmitRequest};
use app::backend::store;
use app::backend::store::audit::{self, Actor};
use app::domain::time::MILLIS_PER_DAY;
use app::domain::Timestamp;
use serde_json::{json, Value};

/// The status of a server function's answer and its JSON body.
async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("not JSON ({status}, {error}): {text}"));
    (status, body)
}

/// Asserts the answer is the generic internal error (the cause is only in the log).
async fn assert_internal(response: reqwest::Response, what: &str) {
    let (status, body) = answer(response).await;
    assert_eq!(status, 500, "{what}: {body}");
    assert_eq!(body["code"], "internal", "{what}: {body}");
}

/// A successful answer's JSON body.
async fn success(response: reqwest::Response, what: &str) -> Value {
    let (status, body) = answer(response).await;
    assert_eq!(status, 200, "{what}: {body}");
    body
}

async fn assert_audit_chain_intact(app: &TestApp) {
    let outcome = audit::verify(app.state.db.reader()).await.unwrap();
    assert!(
        matches!(outcome, audit::VerifyOutcome::Intact { .. }),
        "{outcome:?}"
    );
}

async fn submit(app: &TestApp, who: &str, package: &str, why: &str) -> requests::RequestProgress {
    requests::submit(
        &app.state,
        &app.person(who).await,
        SubmitRequest {
            package_id: app.package_id(package).await,
            justification: why.into(),
            ..SubmitRequest::default()
        },
    )
    .await
    .unwrap()
}

/// The token of the action link in the last delivered message to `address` whose subject
/// contains `subject`.
async fn delivered_token(app: &TestApp, address: &str, subject: &str) -> String {
    let body: String = sqlx::query_scalar(
        "select body_text from outbound_message where to_address = $1 and subject like $2 \
         and status = 'sent' order by id desc limit 1",
    )
    .bind(address)
    .bind(format!("%{subject}%"))
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let start = body.find("/act/").expect("an action link") + "/act/".len();
    body[start..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap()
        .to_string()
}

async fn set_answers(app: &TestApp, request_id: i64, answers_json: &str) {
    sqlx::query("update access_request set answers_json = $1 where id = $2")
        .bind(answers_json)
        .bind(request_id)
        .execute(app.state.db.writer())
        .await
        .unwrap();
}

/// What opening a page or a link must not change.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut all = Vec::new();
    for sql in [
        "select cast(sum(version) as bigint) from access_request",
        "select count(*) from decision",
        "select count(*) from action_token where used_at is not null",
        "select count(*) from audit_event",
    ] {
        all.push(app.scalar(sql).await);
    }
    all
}

/// A request whose stored answers are not JSON fails its page and its approver's email
/// link with an internal error instead of showing them without answers; `{}` (the
/// column's default) still reads as no answers.
async fn unreadable_answers_fail_the_request_page_and_the_approval_link(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let why = "New accounts in the north region";
    let request_id = submit(&app, "Uma Usman", "Salesforce", why)
        .await
        .request_id;
    let mailbox = Mailer::from_settings(app.state.clone()).unwrap().unwrap();
    app.drain(&mailbox).await;
    let token = delivered_token(&app, "sam.sutton@example.com", "Uma Usman").await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let requester = new_client();
    app.sign_in_as(&requester, "Uma Usman").await;
    let approver = new_client();
    app.sign_in_as(&approver, "Sam Sutton").await;
    let get_request = |client: &reqwest::Client| {
        let client = client.clone();
        let app = &app;
        async move {
            app.call::<app::api::requests::GetRequest>(
                &client,
                &[("request_id", request_id.to_string())],
            )
            .await
        }
    };
    let open_link = || async {
        app.call::<app::api::links::OpenActionLink>(&approver, &[("token", token.clone())])
            .await
    };

    // Readable answers are shown, on the page and behind the link.
    set_answers(
        &app,
        request_id,
        r#"[{"question":"Which region?","answer":"North"}]"#,
    )
    .await;
    let detail = success(get_request(&admin).await, "answers as JSON").await;
    assert_eq!(
        detail["answers"],
        json!([{"question": "Which region?", "answer": "North"}])
    );
    let view = success(open_link().await, "link with answers").await;
    assert_eq!(
        view["Decide"]["answers"],
        json!([{"question": "Which region?", "answer": "North"}]),
        "{view}"
    );

    // `{}` is the column's default: no answers, and the page loads.
    set_answers(&app, request_id, "{}").await;
    for client in [&admin, &requester] {
        let detail = success(get_request(client).await, "answers {}").await;
        assert_eq!(detail["answers"], json!([]), "{detail}");
        assert_eq!(detail["justification"], why, "{detail}");
    }
    let view = success(open_link().await, "link with answers {}").await;
    assert_eq!(view["Decide"]["answers"], json!([]), "{view}");
    assert_eq!(view["Decide"]["justification"], why, "{view}");

    // Not JSON: an internal error for everyone who may see the request, not a page
    // without answers; looking changes nothing and the link stays usable.
    let before = fingerprint(&app).await;
    for corrupt in [r#"[{"question":"Which region?","answer":"#, "not json"] {
        set_answers(&app, request_id, corrupt).await;
        for (who, client) in [("administrator", &admin), ("requester", &requester)] {
            assert_internal(
                get_request(client).await,
                &format!("request page for the {who}, answers {corrupt:?}"),
            )
            .await;
        }
        assert_internal(
            open_link().await,
            &format!("approval link, answers {corrupt:?}"),
        )
        .await;
        let page = app.page(&admin, &format!("/requests/{request_id}")).await;
        assert!(page.contains("<code>internal</code>"), "{page}");
        assert!(!page.contains(why), "the request is not shown: {page}");
        let page = app.page(&approver, &format!("/act/{token}")).await;
        assert!(page.contains("<code>internal</code>"), "{page}");
        assert!(!page.contains(why), "nothing to decide on is shown: {page}");
    }
    assert_eq!(fingerprint(&app).await, before, "looking changed something");
    assert_eq!(
        app.scalar("select count(*) from action_token where used_at is not null")
            .await,
        0
    );

    // Repaired, the same link opens again.
    set_answers(&app, request_id, "[]").await;
    let view = success(open_link().await, "link after repair").await;
    assert_eq!(view["Decide"]["request_id"], request_id, "{view}");
    assert_audit_chain_intact(&app).await;
    app.stop().await;
}

/// A policy whose stored questions or stage references are not JSON fails its editor with
/// an internal error instead of showing a form without them, and writes nothing.
async fn unreadable_policy_questions_or_stages_fail_the_policy_editor(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let requester = new_client();
    app.sign_in_as(&requester, "Eli Evans").await;
    let package_id = app.package_id("Production database (read-only)").await;
    let policy_id = app
        .scalar(&format!(
            "select min(id) from assignment_policy where access_package_id = {package_id}"
        ))
        .await;
    let editor = || async {
        app.call::<app::api::catalogs::GetPolicyEditor>(
            &admin,
            &[
                ("package_id", package_id.to_string()),
                ("policy_id", policy_id.to_string()),
            ],
        )
        .await
    };
    let request_form = || async {
        app.call::<app::api::requests::GetRequestForm>(
            &requester,
            &[("package_id", package_id.to_string())],
        )
        .await
    };
    let stored = || async {
        sqlx::query_as::<_, (String, i64)>(
            "select questions_json, updated_at from assignment_policy where id = $1",
        )
        .bind(policy_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
    };
    let stages = || async {
        sqlx::query_as::<_, (String, String, String, i64)>(
            "select approver_ref_json, escalation_approvers_json, fallback_approvers_json, updated_at \
             from approval_stage where assignment_policy_id = $1 order by position",
        )
        .bind(policy_id)
        .fetch_all(app.state.db.reader())
        .await
        .unwrap()
    };

    // As seeded: the form shows the policy's question and both stages.
    let form = success(editor().await, "policy editor").await;
    assert_eq!(
        form["form"]["questions"][0]["text"], "Which replica region?",
        "{form}"
    );
    assert_eq!(
        (
            &form["form"]["stages"][0]["approver_kind"],
            &form["form"]["stages"][1]["approver_kind"]
        ),
        (&json!("manager"), &json!("package_owners")),
        "{form}"
    );
    success(request_form().await, "request form").await;

    let (good_questions, _) = stored().await;
    let good_stages = stages().await;
    assert_eq!(good_stages.len(), 2);
    let audit_before = app.scalar("select count(*) from audit_event").await;

    // Questions that cannot be read.
    let corrupt = r#"[{"text":"Which replica region?","choices":["EU","#;
    sqlx::query("update assignment_policy set questions_json = $1 where id = $2")
        .bind(corrupt)
        .bind(policy_id)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let corrupted = stored().await;
    assert_internal(editor().await, "policy editor, questions not JSON").await;
    assert_internal(request_form().await, "request form, questions not JSON").await;
    let page = app
        .page(
            &admin,
            &format!("/manage/packages/{package_id}/policies/{policy_id}"),
        )
        .await;
    assert!(
        !page.contains("Which replica region?"),
        "no form is shown: {page}"
    );
    assert_eq!(stored().await, corrupted, "the policy was written");
    assert_eq!(
        app.scalar("select count(*) from audit_event").await,
        audit_before
    );
    sqlx::query("update assignment_policy set questions_json = $1 where id = $2")
        .bind(&good_questions)
        .bind(policy_id)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    success(editor().await, "policy editor, questions repaired").await;

    // Each list of people of a stage that cannot be read.
    for column in [
        "approver_ref_json",
        "escalation_approvers_json",
        "fallback_approvers_json",
    ] {
        let set = format!(
            "update approval_stage set {column} = $1 where assignment_policy_id = $2 and position = 2"
        );
        sqlx::query(&set)
            .bind("[1, 2")
            .bind(policy_id)
            .execute(app.state.db.writer())
            .await
            .unwrap();
        let corrupted = stages().await;
        assert_internal(editor().await, &format!("policy editor, {column} not JSON")).await;
        assert_eq!(stages().await, corrupted, "{column}: a stage was written");
        assert_eq!(
            app.scalar("select count(*) from audit_event").await,
            audit_before,
            "{column}: an audit event was written"
        );
        sqlx::query(&set)
            .bind("[]")
            .bind(policy_id)
            .execute(app.state.db.writer())
            .await
            .unwrap();
    }
    let restored: Vec<(String, String, String)> = stages()
        .await
        .into_iter()
        .map(|(a, b, c, _)| (a, b, c))
        .collect();
    let seeded: Vec<(String, String, String)> = good_stages
        .into_iter()
        .map(|(a, b, c, _)| (a, b, c))
        .collect();
    assert_eq!(restored, seeded, "the test put the stages back as seeded");
    let form = success(editor().await, "policy editor, stages repaired").await;
    assert_eq!(
        (
            &form["form"]["stages"][0]["approver_kind"],
            &form["form"]["stages"][1]["approver_kind"]
        ),
        (&json!("manager"), &json!("package_owners")),
        "{form}"
    );
    assert_eq!(
        app.scalar("select count(*) from audit_event").await,
        audit_before
    );
    assert_audit_chain_intact(&app).await;
    app.stop().await;
}

/// Adds a second resource (group) of the connector to the AWS sandbox package, so that one
/// grant puts a person in both groups.
async fn add_group_resource(app: &TestApp, connector: i64, name: &str, group: &str) -> i64 {
    let now = app.clock_now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let catalog_id: i64 = sqlx::query_scalar("select id from catalog where name = 'Engineering'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let resource = store::resource::insert(
        &mut tx,
        now,
        &store::resource::NewResource {
            catalog_id,
            connector_id: connector,
            name,
            kind: "group",
            external_id: Some(group),
            description: "",
        },
    )
    .await
    .unwrap();
    let package = app.package_id("AWS sandbox account").await;
    store::package::add_resource(&mut tx, now, package, resource)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    resource
}

async fn resource_of(app: &TestApp, connector: i64, group: &str) -> i64 {
    sqlx::query_scalar("select id from resource where connector_id = $1 and external_id = $2")
        .bind(connector)
        .bind(group)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// The drift rows of a resource as stored: id, account, kind, seen, repaired, resolved.
type DriftRow = (i64, String, String, i64, Option<i64>, Option<i64>);

async fn drift_of(app: &TestApp, resource: i64) -> Vec<DriftRow> {
    sqlx::query_as(
        "select id, account_id, kind, seen_at, repaired_at, resolved_at from drift \
         where resource_id = $1 order by id",
    )
    .bind(resource)
    .fetch_all(app.state.db.reader())
    .await
    .unwrap()
}

async fn health_of(app: &TestApp, connector: i64) -> (String, Option<String>) {
    sqlx::query_as("select health, health_message from connector where id = $1")
        .bind(connector)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// The failure the last reconciliation of the connector recorded in the audit trail.
async fn audited_failure(app: &TestApp, connector: i64) -> Value {
    let after: String = sqlx::query_scalar(
        "select after_json from audit_event where action = 'connector.reconciled' \
         and object_id = $1 order by id desc limit 1",
    )
    .bind(connector.to_string())
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    serde_json::from_str::<Value>(&after).unwrap()["failure"].clone()
}

/// Asserts "Reconcile now" answered the conflict naming the unreadable group.
async fn assert_unreadable_reported(response: reqwest::Response, group: &str, cause: &str) {
    let (status, body) = answer(response).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "conflict", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Reconciliation could not read 1 of 2 groups")
            && message.contains(&format!("reading {group}"))
            && message.contains(cause),
        "{message}"
    );
}

/// A SCIM connector with two groups, authoritative: the server answers 500 for one of
/// them (a fault proxy in front of the real scim2-server, limited to that group). The
/// reconciliation records and repairs the group it could read, leaves the other exactly
/// as last found (no drift written or resolved, nothing repaired in it, no jobs), marks
/// the connector failing with the cause, and "Reconcile now" answers 409.
async fn a_scim_group_that_cannot_be_read_is_not_reconciled_as_empty(backend: TestBackend) {
    let tenant = Tenant::new().await;
    let group_a = tenant.create_group("cloud-sandbox").await;
    let group_b = tenant.create_group("cloud-audit").await;
    let origin = tenant.base.split("/t").next().unwrap().to_string();
    let mut proxy = FaultProxy::start(&origin).await;
    let through_proxy =
        tenant
            .base
            .replacen(&origin, &format!("http://127.0.0.1:{}", proxy.port), 1);
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_SCIM_TEST", TOKEN)]).await;
    app.seed_demo().await;
    let connector = connect(&app, &through_proxy, &group_a).await;
    let resource_a = resource_of(&app, connector, &group_a).await;
    let resource_b = add_group_resource(&app, connector, "cloud-audit", &group_b).await;
    let provisioner = Provisioner::new(app.state.clone());
    submit(&app, "Eli Evans", "AWS sandbox account", "Experiments").await;
    app.drain(&provisioner).await;
    let eli: String = sqlx::query_scalar("select external_id from connector_account")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(tenant.member_ids(&group_a).await, vec![eli.clone()]);
    assert_eq!(tenant.member_ids(&group_b).await, vec![eli.clone()]);

    // Out of band, an intruder joins both groups; a first reconciliation reports both.
    let intruder = tenant
        .create_users(&["intruder@example.com".to_string()])
        .await
        .remove(0);
    tenant
        .add_members(&group_a, std::slice::from_ref(&intruder))
        .await;
    tenant
        .add_members(&group_b, std::slice::from_ref(&intruder))
        .await;
    let found = reconcile::reconcile(&app.state, connector, Actor::System("test"))
        .await
        .unwrap();
    assert_eq!((found.unexpected, found.missing, found.repaired), (2, 0, 0));
    let drift_b = drift_of(&app, resource_b).await;
    assert_eq!(drift_b.len(), 1, "{drift_b:?}");
    assert_eq!(
        (drift_b[0].1.as_str(), drift_b[0].2.as_str()),
        (intruder.as_str(), "unexpected_member")
    );
    assert_eq!(health_of(&app, connector).await, ("ok".to_string(), None));

    // Group B cannot be read any more; the connector repairs what it finds.
    app.clock.advance_minutes(10);
    proxy
        .set_for_paths_containing(Fault::ServerError, &group_b)
        .await;
    sqlx::query("update connector set is_authoritative = $1 where id = $2")
        .bind(true)
        .bind(connector)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let jobs_before = app.scalar("select count(*) from provisioning_job").await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let reconciled = app
        .call::<app::api::connectors::ReconcileNow>(
            &admin,
            &[("connector_id", connector.to_string())],
        )
        .await;
    assert_unreadable_reported(reconciled, &group_b, "500").await;
    assert!(proxy.seen().contains(&Fault::ServerError));

    let (health, message) = health_of(&app, connector).await;
    assert_eq!(health, "failing");
    let message = message.unwrap_or_default();
    assert!(
        message.contains(&format!("reading {group_b}")) && message.contains("500"),
        "{message}"
    );
    let failure = audited_failure(&app, connector).await;
    assert!(
        failure
            .as_str()
            .is_some_and(|failure| failure.contains(&group_b)),
        "{failure}"
    );
    // Group B: its drift as last found, nothing repaired in it, no jobs for it.
    assert_eq!(drift_of(&app, resource_b).await, drift_b);
    let mut members_b = tenant.member_ids(&group_b).await;
    members_b.sort();
    let mut expected_b = vec![eli.clone(), intruder.clone()];
    expected_b.sort();
    assert_eq!(members_b, expected_b, "nothing was repaired in group B");
    assert_eq!(
        app.scalar("select count(*) from provisioning_job").await,
        jobs_before,
        "no jobs were written"
    );
    // Group A was read, recorded and repaired.
    assert_eq!(tenant.member_ids(&group_a).await, vec![eli.clone()]);
    let drift_a = drift_of(&app, resource_a).await;
    assert_eq!(drift_a.len(), 1, "{drift_a:?}");
    assert_eq!(drift_a[0].1, intruder);
    assert!(
        drift_a[0].4.is_some() && drift_a[0].5.is_some(),
        "{drift_a:?}"
    );

    // Readable again: group B is reconciled and the connector is healthy.
    proxy.set(Fault::None).await;
    let reconciled = app
        .call::<app::api::connectors::ReconcileNow>(
            &admin,
            &[("connector_id", connector.to_string())],
        )
        .await;
    success(reconciled, "reconcile after the fault").await;
    assert_eq!(health_of(&app, connector).await, ("ok".to_string(), None));
    assert_eq!(tenant.member_ids(&group_b).await, vec![eli.clone()]);
    let drift_b = drift_of(&app, resource_b).await;
    assert_eq!(drift_b.len(), 1, "{drift_b:?}");
    assert!(
        drift_b[0].4.is_some() && drift_b[0].5.is_some(),
        "{drift_b:?}"
    );
    assert_audit_chain_intact(&app).await;
    app.stop().await;
}

/// Adds `member` to the group `group` in the directory, out of band.
async fn ldap_add_member(slapd: &Slapd, group: &str, member: &str) {
    let (connection, mut ldap) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    ldap3::drive!(connection);
    ldap.simple_bind(LDAP_ADMIN, LDAP_PASSWORD)
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap.modify(
        group,
        vec![ldap3::Mod::Add(
            "member",
            std::collections::HashSet::from([member]),
        )],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let _ = ldap.unbind().await;
}

/// An LDAP connector with two groups, one of which the real directory refuses to read
/// (its DN, mistyped, is not a DN): the reconciliation records the other, leaves the
/// unreadable one as last found, marks the connector failing with the directory's answer,
/// and "Reconcile now" answers 409.
async fn an_ldap_group_that_cannot_be_read_is_not_reconciled_as_empty(backend: TestBackend) {
    let slapd = Slapd::start().await;
    let cloud = "cn=cloud,dc=example,dc=test".to_string();
    let audit_group = slapd.add_group("audit", &[]).await;
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_LDAP_TEST", LDAP_PASSWORD)]).await;
    app.seed_demo().await;
    let connector = connect(&app, "unused", &cloud).await;
    sqlx::query("update connector set kind = 'ldap', config_json = $1, secret_ref = 'LDAP_TEST' where id = $2")
        .bind(json!({ "url": slapd.url, "bind_dn": LDAP_ADMIN, "users_base": PEOPLE_BASE, "timeout_seconds": 2 }).to_string())
        .bind(connector)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let resource_cloud = resource_of(&app, connector, &cloud).await;
    let resource_audit = add_group_resource(&app, connector, "audit", &audit_group).await;
    let provisioner = Provisioner::new(app.state.clone());
    submit(&app, "Eli Evans", "AWS sandbox account", "Experiments").await;
    app.drain(&provisioner).await;
    let eli = format!("uid=eli,{PEOPLE_BASE}");
    assert_eq!(slapd.members_of(&cloud).await, vec![eli.clone()]);
    assert_eq!(slapd.members_of(&audit_group).await, vec![eli.clone()]);

    // Out of band, an intruder joins both groups; a first reconciliation reports both.
    let intruder = slapd
        .add_person("ivan", "Ivan Intruder", "ivan@example.com")
        .await;
    ldap_add_member(&slapd, &cloud, &intruder).await;
    ldap_add_member(&slapd, &audit_group, &intruder).await;
    reconcile::reconcile(&app.state, connector, Actor::System("test"))
        .await
        .unwrap();
    let unexpected = |rows: &[DriftRow], account: &str| {
        rows.iter()
            .filter(|row| row.1 == account && row.2 == "unexpected_member" && row.5.is_none())
            .count()
    };
    let drift_audit = drift_of(&app, resource_audit).await;
    assert_eq!(unexpected(&drift_audit, &intruder), 1, "{drift_audit:?}");

    // The audit group's DN is mistyped: the directory refuses to read it.
    let mistyped = "cn=audit,,dc=example,dc=test";
    sqlx::query("update resource set external_id = $1 where id = $2")
        .bind(mistyped)
        .bind(resource_audit)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    app.clock.advance_minutes(10);
    let jobs_before = app.scalar("select count(*) from provisioning_job").await;
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let reconciled = app
        .call::<app::api::connectors::ReconcileNow>(
            &admin,
            &[("connector_id", connector.to_string())],
        )
        .await;
    assert_unreadable_reported(reconciled, mistyped, "the directory answered").await;
    let (health, message) = health_of(&app, connector).await;
    assert_eq!(health, "failing");
    let message = message.unwrap_or_default();
    assert!(
        message.contains(&format!("reading {mistyped}: the directory answered")),
        "{message}"
    );
    let failure = audited_failure(&app, connector).await;
    assert!(
        failure
            .as_str()
            .is_some_and(|failure| failure.contains(mistyped)),
        "{failure}"
    );
    // The unreadable group: its drift exactly as last found, no jobs.
    assert_eq!(drift_of(&app, resource_audit).await, drift_audit);
    assert_eq!(
        app.scalar("select count(*) from provisioning_job").await,
        jobs_before
    );
    // The readable group was read and recorded (seen again now).
    let drift_cloud = drift_of(&app, resource_cloud).await;
    assert_eq!(unexpected(&drift_cloud, &intruder), 1, "{drift_cloud:?}");
    assert!(
        drift_cloud
            .iter()
            .filter(|row| row.1 == intruder)
            .all(|row| row.3 == app.clock_now().millis()),
        "{drift_cloud:?}"
    );
    // Directory unchanged.
    let mut audit_members = slapd.members_of(&audit_group).await;
    audit_members.sort();
    let mut expected = vec![eli.clone(), intruder.clone()];
    expected.sort();
    assert_eq!(audit_members, expected);
    assert_audit_chain_intact(&app).await;
    app.stop().await;
}

/// A digest item whose stored action links cannot be read is given up with the reason,
/// visible in the mail queue, and the rest of the digest goes out with its buttons.
async fn a_digest_item_with_unreadable_links_is_dead_lettered_and_the_rest_goes_out(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let notices = Notices::new(app.state.clone());
    let mailbox = Mailer::from_settings(app.state.clone()).unwrap().unwrap();
    app.drain(&mailbox).await;
    let sam = new_client();
    app.sign_in_as(&sam, "Sam Sutton").await;
    let saved = app
        .call::<app::api::mail::SaveMailPreference>(&sam, &[("delivery", "digest".to_string())])
        .await;
    assert!(saved.status().is_success(), "{}", saved.status());

    // 01:00 the next day: two of Sam's reports ask; both approvals wait for his digest.
    let day = app.clock_now().millis().div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY;
    app.clock.set(Timestamp(day + MILLIS_PER_DAY + 3_600_000));
    submit(&app, "Uma Usman", "Salesforce", "North region").await;
    let yara_request = submit(&app, "Yara Young", "Salesforce", "Forecasts")
        .await
        .request_id;
    let held: Vec<(i64, String)> = sqlx::query_as(
        "select id, subject from outbound_message where to_address = 'sam.sutton@example.com' \
         and digest_key = 'daily' and status = 'queued' order by id",
    )
    .fetch_all(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    let (broken, broken_subject) = held
        .iter()
        .find(|(_, subject)| subject.contains("Uma Usman"))
        .cloned()
        .unwrap();
    let (kept, kept_subject) = held
        .iter()
        .find(|(_, subject)| subject.contains("Yara Young"))
        .cloned()
        .unwrap();
    sqlx::query("update outbound_message set actions_json = '[{\"purpose\":' where id = $1")
        .bind(broken)
        .execute(app.state.db.writer())
        .await
        .unwrap();

    app.clock.advance_minutes(6 * 60 + 1);
    assert_eq!(notices.send_digests(app.clock_now()).await.unwrap(), 1);
    let (status, error, folded): (String, Option<String>, Option<i64>) = sqlx::query_as(
        "select status, last_error, digest_message_id from outbound_message where id = $1",
    )
    .bind(broken)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(status, "dead");
    assert!(
        error
            .as_deref()
            .is_some_and(|error| error.contains("action links cannot be read")),
        "{error:?}"
    );
    assert_eq!(folded, None, "not in the digest");
    let (digest, digest_subject, digest_text, digest_actions): (i64, String, String, String) =
        sqlx::query_as(
            "select id, subject, body_text, actions_json from outbound_message \
             where template = 'daily_digest' and to_address = 'sam.sutton@example.com'",
        )
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert!(digest_subject.ends_with(": 1 item"), "{digest_subject}");
    assert!(digest_text.contains(&kept_subject), "{digest_text}");
    assert!(!digest_text.contains(&broken_subject), "{digest_text}");
    let actions: Vec<Value> = serde_json::from_str(&digest_actions).unwrap();
    assert_eq!(actions.len(), 1, "{digest_actions}");
    assert_eq!(actions[0]["subject_id"], yara_request, "{digest_actions}");
    let (kept_status, kept_in): (String, Option<i64>) =
        sqlx::query_as("select status, digest_message_id from outbound_message where id = $1")
            .bind(kept)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!((kept_status.as_str(), kept_in), ("sent", Some(digest)));

    // The administrators see why in the mail queue.
    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let queue = success(
        app.call::<app::api::mail::GetMailQueue>(&admin, &[]).await,
        "mail queue",
    )
    .await;
    let listed = queue["troubled"]
        .as_array()
        .unwrap()
        .iter()
        .find(|message| message["id"] == broken)
        .cloned()
        .unwrap_or_else(|| panic!("the dead item is listed: {queue}"));
    assert_eq!(listed["status"], "dead", "{listed}");
    assert!(
        listed["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("action links cannot be read")),
        "{listed}"
    );

    // The digest goes out with the kept item's button, which works.
    app.drain(&mailbox).await;
    let digest_status: String =
        sqlx::query_scalar("select status from outbound_message where id = $1")
            .bind(digest)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(digest_status, "sent");
    let token = delivered_token(&app, "sam.sutton@example.com", "digest").await;
    // A day has passed since Sam chose the digest: he signs in again.
    let sam = new_client();
    app.sign_in_as(&sam, "Sam Sutton").await;
    let view = success(
        app.call::<app::api::links::OpenActionLink>(&sam, &[("token", token)])
            .await,
        "the digest's link",
    )
    .await;
    assert_eq!(view["Decide"]["request_id"], yara_request, "{view}");
    // Given up for good: not retried, not in a later digest.
    assert_eq!(notices.send_digests(app.clock_now()).await.unwrap(), 0);
    app.clock.advance_days(1);
    assert_eq!(notices.send_digests(app.clock_now()).await.unwrap(), 0);
    assert_eq!(app.drain(&mailbox).await, 0);
    assert_eq!(
        sqlx::query_scalar::<_, String>("select status from outbound_message where id = $1")
            .bind(broken)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap(),
        "dead"
    );
    assert_audit_chain_intact(&app).await;
    app.stop().await;
}

crate::on_both_backends!(
    unreadable_answers_fail_the_request_page_and_the_approval_link,
    unreadable_policy_questions_or_stages_fail_the_policy_editor,
    a_scim_group_that_cannot_be_read_is_not_reconciled_as_empty,
    an_ldap_group_that_cannot_be_read_is_not_reconciled_as_empty,
    a_digest_item_with_unreadable_links_is_dead_lettered_and_the_rest_goes_out,
);
