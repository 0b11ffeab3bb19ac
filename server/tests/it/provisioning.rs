//! Provisioning into a real SCIM 2.0 server on loopback (PyPI `scim2-server`, installed in
//! `.tools/scim` by scripts/setup.sh), one tenant per test: grant, expiry, removal read
//! back and verified; the server down, then back.

use crate::harness::{TestApp, TestBackend};
use crate::mail::free_port;
use crate::slapd::{Slapd, LDAP_ADMIN, LDAP_PASSWORD};
use app::backend::services::provisioning::Provisioner;
use app::backend::services::requests::{self, SubmitRequest};
use app::backend::store;
use app::backend::workers::{ExpirySweeper, Worker};
use app::domain::Timestamp;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Mutex as StdMutex, OnceLock};

pub(crate) const TOKEN: &str = "gatehouse-scim-token";

struct ScimProcess {
    _child: Child,
    port: u16,
}

static SCIM: OnceLock<Mutex<ScimProcess>> = OnceLock::new();
static TENANT: AtomicU32 = AtomicU32::new(0);

/// Starts scim2-server once for the test binary (it exits when the test process does: a
/// shell holds it and kills it when its stdin closes) and returns its port.
async fn scim_port() -> u16 {
    let port = SCIM
        .get_or_init(|| {
            let port = free_port();
            let server = concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/scim/bin/scim2-server");
            let script = format!(
                "{server} --hostname 127.0.0.1 --port {port} --bearer-token {TOKEN} --dynamic-tenants >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"
            );
            let child = Command::new("sh")
                .arg("-c")
                .arg(script)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sh starts scim2-server (run scripts/setup.sh --for test)");
            Mutex::new(ScimProcess {
                _child: child,
                port,
            })
        })
        .lock()
        .unwrap()
        .port;
    let ready = format!("http://127.0.0.1:{port}/ready/v2/ServiceProviderConfig");
    for _ in 0..150 {
        if let Ok(response) = reqwest::Client::new()
            .get(&ready)
            .bearer_auth(TOKEN)
            .send()
            .await
        {
            if response.status().is_success() {
                return port;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("scim2-server did not start on port {port}");
}

/// One test's own SCIM tenant.
pub(crate) struct Tenant {
    pub base: String,
    pub http: reqwest::Client,
}

impl Tenant {
    pub async fn new() -> Self {
        let port = scim_port().await;
        let tenant = format!(
            "t{}x{}",
            std::process::id(),
            TENANT.fetch_add(1, Ordering::SeqCst)
        );
        Self {
            base: format!("http://127.0.0.1:{port}/{tenant}/v2"),
            http: reqwest::Client::new(),
        }
    }

    pub async fn create_group(&self, name: &str) -> String {
        let created: Value = self
            .http
            .post(format!("{}/Groups", self.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_string()
    }

    /// Creates users (one POST each, eight at a time) and returns their ids in order.
    pub async fn create_users(&self, names: &[String]) -> Vec<String> {
        use futures::stream::{self, StreamExt};
        stream::iter(names.iter().cloned())
            .map(|name| async move {
                let created: Value = self
                    .http
                    .post(format!("{}/Users", self.base))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true}).to_string())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                created["id"].as_str().unwrap().to_string()
            })
            .buffered(8)
            .collect()
            .await
    }

    /// Adds members to a group, two hundred per PATCH.
    pub async fn add_members(&self, group: &str, users: &[String]) {
        for chunk in users.chunks(200) {
            let members: Vec<Value> = chunk.iter().map(|user| json!({ "value": user })).collect();
            let response = self
                .http
                .patch(format!("{}/Groups/{group}", self.base))
                .bearer_auth(TOKEN)
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "add", "path": "members", "value": members }]}).to_string())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    }

    /// A resource read from the server.
    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The ids of the group's members.
    pub async fn member_ids(&self, group: &str) -> Vec<String> {
        self.get(&format!("/Groups/{group}")).await["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|member| member["value"].as_str().map(str::to_string))
            .collect()
    }

    /// The userNames of the group's members, read from the server.
    async fn member_names(&self, group: &str) -> Vec<String> {
        let mut names = Vec::new();
        for id in self.member_ids(group).await {
            let user = self.get(&format!("/Users/{id}")).await;
            names.push(user["userName"].as_str().unwrap_or_default().to_string());
        }
        names
    }
}

/// A SCIM connector with one group, granted by the AWS sandbox package (no approval);
/// calls time out after 2 seconds, so that fault tests go quickly.
pub(crate) async fn connect(app: &TestApp, base_url: &str, group: &str) -> i64 {
    let now = app.clock_now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let connector = store::connector::insert(&mut tx, now, "Cloud SCIM", "scim")
        .await
        .unwrap();
    sqlx::query("update connector set config_json = $1, secret_ref = $2 where id = $3")
        .bind(json!({ "base_url": base_url, "auth": "bearer", "timeout_seconds": 2 }).to_string())
        .bind("SCIM_TEST")
        .bind(connector)
        .execute(&mut *tx)
        .await
        .unwrap();
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
            name: "cloud-sandbox",
            kind: "group",
            external_id: Some(group),
            description: "",
        },
    )
    .await
    .unwrap();
    let package: i64 =
        sqlx::query_scalar("select id from access_package where name = 'AWS sandbox account'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    store::package::add_resource(&mut tx, now, package, resource)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    connector
}

async fn spawn(backend: TestBackend) -> TestApp {
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_SCIM_TEST", TOKEN)]).await;
    app.seed_demo().await;
    app
}

async fn sandbox_for(app: &TestApp, who: &str) -> (i64, i64) {
    let person = app.person(who).await;
    let submitted = requests::submit(
        &app.state,
        &person,
        SubmitRequest {
            package_id: app.package_id("AWS sandbox account").await,
            justification: "Experiments".into(),
            ..SubmitRequest::default()
        },
    )
    .await
    .unwrap();
    (
        submitted.request_id,
        submitted.assignment_id.expect("granted at once"),
    )
}

async fn granted_access_is_removed_downstream_at_its_end_and_verified(backend: TestBackend) {
    let tenant = Tenant::new().await;
    let group = tenant.create_group("cloud-sandbox").await;
    let app = spawn(backend).await;
    connect(&app, &tenant.base, &group).await;
    let provisioner = Provisioner::new(app.state.clone());
    let sweeper = ExpirySweeper::new(app.state.clone());

    let (request_id, assignment) = sandbox_for(&app, "Eli Evans").await;
    let status = |sql: String| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>(&sql)
                .fetch_one(app.state.db.reader())
                .await
                .unwrap()
        }
    };
    assert_eq!(
        status(format!(
            "select status from access_request where id = {request_id}"
        ))
        .await,
        "delivering"
    );
    assert_eq!(app.drain(&provisioner).await, 1);
    assert_eq!(
        tenant.member_names(&group).await,
        vec!["eli.evans@example.com".to_string()]
    );
    assert_eq!(
        status(format!(
            "select status from access_request where id = {request_id}"
        ))
        .await,
        "delivered"
    );
    assert_eq!(
        app.scalar("select count(*) from outbound_message where template = 'access_granted' and to_address = 'eli.evans@example.com'").await,
        1,
        "told once the access is set up downstream"
    );

    // At the end: ended by the sweeper, removed by the provisioner, read back, verified.
    let end: i64 = app
        .scalar(&format!(
            "select end_at from assignment where id = {assignment}"
        ))
        .await;
    app.clock.set(Timestamp(end));
    // (Demo access that ended earlier goes in the same sweep.)
    assert!(app.drain(&sweeper).await >= 1);
    assert_eq!(
        status(format!(
            "select status from assignment where id = {assignment}"
        ))
        .await,
        "ending"
    );
    assert!(app.drain(&provisioner).await >= 1);
    assert!(
        tenant.member_names(&group).await.is_empty(),
        "gone downstream"
    );
    assert_eq!(
        status(format!(
            "select status from assignment where id = {assignment}"
        ))
        .await,
        "removed"
    );
    assert_eq!(
        status(format!(
            "select removal_reason from assignment where id = {assignment}"
        ))
        .await,
        "expired",
        "verifying the removal keeps why it ended"
    );
    let verified = app.scalar(&format!("select verified_at from provisioning_job where assignment_id = {assignment} and operation = 'remove_member'"),
    )
    .await;
    assert_eq!(
        verified, end,
        "verified removed at the deadline (the test clock stands still)"
    );
    for action in ["assignment.ended", "assignment.removal_verified"] {
        assert_eq!(
            app.scalar(&format!("select count(*) from audit_event where action = '{action}' and object_id = '{assignment}'")).await,
            1,
            "{action} once"
        );
    }
    assert_eq!(app.drain(&provisioner).await, 0, "nothing runs twice");
    // The holder sees it on the request's page: granted, then removed and verified.
    let eli = crate::harness::new_client();
    app.sign_in_as(&eli, "Eli Evans").await;
    let page = app.page(&eli, &format!("/requests/{request_id}")).await;
    assert!(page.contains("In connected systems"), "{page}");
    assert!(page.contains("cloud-sandbox"));
    assert!(
        page.contains("Granted") && page.contains("Removed"),
        "{page}"
    );
    assert!(page.contains("Read back and verified gone on"), "{page}");
    // And on the access's own page: its life, then each system.
    let page = app.page(&eli, &format!("/access/{assignment}")).await;
    for shown in [
        "Timeline",
        "Its end date passed",
        "Removed everywhere",
        "In connected systems",
        "cloud-sandbox",
        "Read back and verified gone on",
    ] {
        assert!(page.contains(shown), "{shown:?} missing: {page}");
    }
    // Someone else's access does not exist for an employee.
    let dev = crate::harness::new_client();
    app.sign_in_as(&dev, "Dev Patel").await;
    let page = app.page(&dev, &format!("/access/{assignment}")).await;
    assert!(!page.contains("cloud-sandbox"), "{page}");
    assert!(page.contains("No such access."), "{page}");
    app.stop().await;
}

/// Downstream down for ten minutes (by the test clock, a provisioner step every 30
/// seconds), through a fault proxy in front of the real server: connections refused, then
/// 500s, then calls that hang past the timeout, then 429 with Retry-After. The removals
/// wait and retry, none is dead-lettered before its budget, 429's Retry-After is honoured,
/// and the alarm shows on the connectors page and on /metrics while they are late. Back
/// up, everything drains and is verified once, and the alarm clears.
async fn removals_ride_out_ten_minutes_of_faults_with_the_alarm_raised(backend: TestBackend) {
    use crate::faults::{Fault, FaultProxy};
    let tenant = Tenant::new().await;
    let group = tenant.create_group("cloud-sandbox").await;
    let origin = tenant.base.split("/t").next().unwrap().to_string();
    let mut proxy = FaultProxy::start(&origin).await;
    let through_proxy =
        tenant
            .base
            .replacen(&origin, &format!("http://127.0.0.1:{}", proxy.port), 1);
    let app = TestApp::spawn_with(
        backend,
        &[
            ("GATEHOUSE_SECRET_SCIM_TEST", TOKEN),
            ("GATEHOUSE_METRICS_TOKEN", "metrics-secret"),
        ],
    )
    .await;
    app.seed_demo().await;
    connect(&app, &through_proxy, &group).await;
    let provisioner = Provisioner::new(app.state.clone());
    let sweeper = ExpirySweeper::new(app.state.clone());
    let mut ours = Vec::new();
    for who in ["Eli Evans", "George Gray", "Hana Hill"] {
        ours.push(sandbox_for(&app, who).await.1);
    }
    app.drain(&provisioner).await;
    assert_eq!(tenant.member_names(&group).await.len(), 3);
    let metrics = || async {
        app.client
            .get(format!("{}/metrics", app.base))
            .bearer_auth("metrics-secret")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(metrics().await.contains("gatehouse_removal_alarm 0"));
    let unauthorised = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401, "metrics need the token");

    let ids = ours
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let end: i64 = app
        .scalar(&format!(
            "select max(end_at) from assignment where id in ({ids})"
        ))
        .await;
    app.clock.set(Timestamp(end));
    assert!(app.drain(&sweeper).await >= 3);
    let jobs = format!("assignment_id in ({ids}) and operation = 'remove_member'");
    let attempts_sql = format!("select min(attempts) from provisioning_job where {jobs}");
    let attempts = || app.scalar(&attempts_sql);
    // Each fault in turn, each attempt made when the jobs are next due.
    for fault in [
        Fault::ServerError,
        Fault::Hang,
        Fault::TooManyRequests(240),
        Fault::Refused,
    ] {
        proxy.set(fault).await;
        let due = app
            .scalar(&format!(
                "select max(next_attempt_at) from provisioning_job where {jobs}"
            ))
            .await;
        app.clock.set(Timestamp(due.max(app.clock_now().millis())));
        let before = attempts().await;
        app.drain(&provisioner).await;
        assert_eq!(attempts().await, before + 1, "{fault:?}: tried once more");
        let soonest = app
            .scalar(&format!("select min(next_attempt_at) from provisioning_job where {jobs} and status = 'failed'"))
            .await;
        let wait = soonest - app.clock_now().millis();
        if let Fault::TooManyRequests(seconds) = fault {
            let seconds = i64::try_from(seconds).unwrap();
            assert!(
                wait >= seconds * 1000,
                "429: not before its Retry-After ({wait} ms)"
            );
        } else {
            assert!(wait > 0, "{fault:?}: retried later");
        }
    }
    let met = proxy.seen();
    for fault in [Fault::ServerError, Fault::Hang, Fault::TooManyRequests(240)] {
        assert!(met.contains(&fault), "{fault:?} was met: {met:?}");
    }
    // Still refused until ten minutes after the end: a step every 30 seconds.
    let mut alarm_seen = false;
    while app.clock_now().millis() < end + 10 * 60_000 {
        app.clock.set(Timestamp(app.clock_now().millis() + 30_000));
        app.drain(&provisioner).await;
        assert_eq!(
            app.scalar("select count(*) from provisioning_job where status = 'dead'")
                .await,
            0,
            "nothing dead-lettered before its budget"
        );
        if !alarm_seen {
            let cutoff = app::backend::services::connectors::alarm_cutoff(&app.state);
            let late =
                app::backend::store::provisioning::late_removals(app.state.db.reader(), cutoff)
                    .await
                    .unwrap();
            assert!(late >= 3, "ours are late: {late}");
            let admin = crate::harness::new_client();
            app.sign_in_as(&admin, "Ada Admin").await;
            let page = app.page(&admin, "/manage/connectors").await;
            assert!(
                page.contains(&format!("{late} removals are late")),
                "{page}"
            );
            let figures = metrics().await;
            assert!(figures.contains("gatehouse_removal_alarm 1"), "{figures}");
            assert!(
                figures.contains(&format!("gatehouse_removals_late {late}")),
                "{figures}"
            );
            alarm_seen = true;
        }
    }
    assert!(alarm_seen);
    assert_eq!(
        tenant.member_names(&group).await.len(),
        3,
        "still there downstream, and known to be"
    );
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from provisioning_job where {jobs} and status = 'failed'"
        ))
        .await,
        3
    );

    // Back: everything drains within the retry cap, verified once; the alarm clears.
    proxy.set(Fault::None).await;
    app.clock.advance_minutes(6);
    assert!(app.drain(&provisioner).await >= 1);
    assert!(tenant.member_names(&group).await.is_empty());
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from assignment where status = 'removed' and id in ({ids})"
        ))
        .await,
        3
    );
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from provisioning_job where {jobs} and verified_at is not null \
             and last_error is null"
        ))
        .await,
        3,
        "verified, and a success clears the error"
    );
    assert_eq!(
        app.scalar(&format!("select count(*) from audit_event where action = 'assignment.removal_verified' and object_id in (select cast(id as text) from assignment where id in ({ids}))")).await,
        3
    );
    assert!(metrics().await.contains("gatehouse_removal_alarm 0"));
    app.stop().await;
}

/// A person leaves (`gatehouse person-left`, as an HR script would call it): all their
/// access ends at once with the reason "left", each removal is verified downstream, their
/// SCIM account is switched off (active=false, read back), and it is audited once; doing
/// it again changes nothing. An unknown address is refused.
async fn a_person_who_leaves_loses_access_and_their_account_is_switched_off(backend: TestBackend) {
    let tenant = Tenant::new().await;
    let group = tenant.create_group("cloud-sandbox").await;
    let app = spawn(backend).await;
    connect(&app, &tenant.base, &group).await;
    let provisioner = Provisioner::new(app.state.clone());
    let (_, assignment) = sandbox_for(&app, "Eli Evans").await;
    app.drain(&provisioner).await;
    assert_eq!(tenant.member_ids(&group).await.len(), 1);
    let account: String = sqlx::query_scalar(
        "select external_id from connector_account where person_id = (select id from person where email = 'eli.evans@example.com')",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let active = || async { tenant.get(&format!("/Users/{account}")).await["active"].as_bool() };
    assert_eq!(active().await, Some(true));

    let cli = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["person-left", email])
            .env_clear()
            .env("GATEHOUSE_ENV", "development")
            .env("GATEHOUSE_AUDIT_KEY", crate::harness::TEST_AUDIT_KEY)
            .env("GATEHOUSE_LOG", "warn")
            .env("GATEHOUSE_DATABASE_URL", &app.database.url)
            .env("GATEHOUSE_DATA_DIR", app.database.data_dir.path())
            .output()
            .unwrap()
    };
    let unknown = cli("nobody@example.com");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("No person has the email address"));
    let messages_before = app.scalar("select count(*) from outbound_message").await;
    let left = cli("Eli.Evans@example.com");
    let said = String::from_utf8_lossy(&left.stdout).to_string();
    assert!(
        left.status.success(),
        "{}",
        String::from_utf8_lossy(&left.stderr)
    );
    assert!(said.contains("1 account(s) to switch off"), "{said}");
    let reason: String = sqlx::query_scalar(&format!(
        "select removal_reason from assignment where id = {assignment}"
    ))
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(reason, "user_left");
    assert_eq!(
        app.scalar("select count(*) from assignment where status in ('active', 'scheduled') and person_id = (select id from person where email = 'eli.evans@example.com')").await,
        0,
        "no access left"
    );
    assert_eq!(
        app.scalar("select count(*) from outbound_message").await,
        messages_before,
        "no mail to a mailbox they no longer read"
    );

    // The workers: removed and verified, the account switched off. (The command ran on
    // the wall clock: the test's clock catches up with it.)
    let wall = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    app.clock
        .set(Timestamp(app.clock_now().millis().max(wall + 1_000)));
    app.drain(&provisioner).await;
    assert!(tenant.member_ids(&group).await.is_empty());
    assert_eq!(active().await, Some(false));
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from assignment where id = {assignment} and status = 'removed'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar("select count(*) from provisioning_job where operation = 'disable_user' and status = 'succeeded'").await,
        1
    );
    // Again: nothing more.
    assert!(cli("eli.evans@example.com").status.success());
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'person.left'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("select count(*) from provisioning_job where operation = 'disable_user'")
            .await,
        1
    );
    app.stop().await;
}

async fn administrators_add_connectors_and_see_failed_jobs(backend: TestBackend) {
    let app = spawn(backend).await;
    let admin = crate::harness::new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let connectors = || async { app.scalar("select count(*) from connector").await };
    let before = connectors().await;
    // Bad input: every problem on its field, nothing saved.
    let refused = app
        .call::<app::api::connectors::CreateConnector>(
            &admin,
            &[
                ("connector[name]", String::new()),
                ("connector[url]", "scim.example.com".into()),
                ("connector[auth]", "basic".into()),
                ("connector[secret_name]", "no spaces allowed".into()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 400);
    let body = refused.text().await.unwrap();
    for field in ["name", "url", "username", "secret_name"] {
        assert!(body.contains(&format!("\"{field}\"")), "{field}: {body}");
    }
    assert_eq!(connectors().await, before);
    let created = app
        .call::<app::api::connectors::CreateConnector>(
            &admin,
            &[
                ("connector[name]", "HR system".into()),
                ("connector[url]", "https://scim.example.com/v2".into()),
                ("connector[secret_name]", "hr_scim".into()),
            ],
        )
        .await;
    assert!(created.status().is_success(), "{}", created.status());
    assert_eq!(connectors().await, before + 1);
    let secret_ref: String =
        sqlx::query_scalar("select secret_ref from connector where name = 'HR system'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(secret_ref, "HR_SCIM", "only the variable's name is stored");
    // LDAP and webhook connectors: their own fields are checked.
    let ldap = |bind_dn: &str| {
        vec![
            ("connector[kind]", "ldap".to_string()),
            ("connector[name]", "Directory".to_string()),
            ("connector[url]", "ldaps://ldap.example.com".to_string()),
            ("connector[bind_dn]", bind_dn.to_string()),
            (
                "connector[users_base]",
                "ou=people,dc=example,dc=com".to_string(),
            ),
            ("connector[secret_name]", "DIRECTORY".to_string()),
        ]
    };
    let refused = app
        .call::<app::api::connectors::CreateConnector>(&admin, &ldap(""))
        .await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("\"bind_dn\""));
    let webhook = app
        .call::<app::api::connectors::CreateConnector>(
            &admin,
            &[
                ("connector[kind]", "webhook".into()),
                ("connector[name]", "Payroll".into()),
                ("connector[url]", "ftp://payroll.example.com".into()),
                ("connector[secret_name]", "PAYROLL".into()),
            ],
        )
        .await;
    assert_eq!(webhook.status(), 400);
    assert_eq!(connectors().await, before + 1, "refusals saved nothing");
    let created = app
        .call::<app::api::connectors::CreateConnector>(
            &admin,
            &ldap("cn=gatehouse,dc=example,dc=com"),
        )
        .await;
    assert!(created.status().is_success(), "{}", created.status());
    let kind: String = sqlx::query_scalar("select kind from connector where name = 'Directory'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(kind, "ldap");
    let page = app.page(&admin, "/manage/connectors").await;
    assert!(
        page.contains("HR system") && page.contains("GATEHOUSE_SECRET_HR_SCIM is not set"),
        "{page}"
    );

    // A job against a server that is not there fails, shows, and can be retried.
    let tenant_group = "missing";
    let connector = connect(
        &app,
        &format!("http://127.0.0.1:{}/v2", free_port()),
        tenant_group,
    )
    .await;
    let provisioner = Provisioner::new(app.state.clone());
    sandbox_for(&app, "Eli Evans").await;
    app.drain(&provisioner).await;
    let page = app.page(&admin, "/manage/connectors").await;
    assert!(
        page.contains("Failed jobs") && page.contains("add member Eli Evans in cloud-sandbox"),
        "{page}"
    );
    assert!(page.contains("SCIM server unreachable"), "{page}");
    let job: i64 = app
        .scalar(&format!(
            "select id from provisioning_job where connector_id = {connector}"
        ))
        .await;
    let employee = crate::harness::new_client();
    app.sign_in_as(&employee, "Dev Patel").await;
    let refused = app
        .call::<app::api::connectors::RetryJob>(&employee, &[("job_id", job.to_string())])
        .await;
    assert_eq!(refused.status(), 403);
    let retried = app
        .call::<app::api::connectors::RetryJob>(&admin, &[("job_id", job.to_string())])
        .await;
    assert!(retried.status().is_success());
    assert_eq!(
        app.scalar(&format!(
            "select attempts from provisioning_job where id = {job}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'provisioning_job.retried'")
            .await,
        1
    );
    app.stop().await;
}

/// A receiving system: checks each event's signature and timestamp, records what it got,
/// and answers 503 to the first `failures` calls.
async fn webhook_receiver(
    secret: &'static str,
    failures: usize,
) -> (String, Arc<StdMutex<Vec<Value>>>) {
    use axum::http::{HeaderMap, StatusCode};
    let received: Arc<StdMutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(AtomicU32::new(0));
    let log = received.clone();
    let handler = move |headers: HeaderMap, body: String| {
        let log = log.clone();
        let calls = calls.clone();
        async move {
            if (calls.fetch_add(1, Ordering::SeqCst) as usize) < failures {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let timestamp: u64 = header("x-gatehouse-timestamp").parse().unwrap_or(0);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let expected = app::backend::connectors::webhook::signature(secret, timestamp, &body);
            if header("x-gatehouse-signature") != expected || now.abs_diff(timestamp) > 300 {
                return StatusCode::UNAUTHORIZED;
            }
            log.lock()
                .unwrap()
                .push(serde_json::from_str(&body).unwrap());
            StatusCode::NO_CONTENT
        }
    };
    let router = axum::Router::new().route("/events", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}/events"), received)
}

async fn webhook_events_are_signed_retried_and_acknowledged(backend: TestBackend) {
    const SECRET: &str = "webhook-signing-secret";
    let (url, received) = webhook_receiver(SECRET, 1).await;
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_HOOK", SECRET)]).await;
    app.seed_demo().await;
    let connector = connect(&app, "unused", "payroll-admins").await;
    sqlx::query("update connector set kind = 'webhook', config_json = $1, secret_ref = 'HOOK' where id = $2")
        .bind(json!({ "url": url, "timeout_seconds": 2 }).to_string())
        .bind(connector)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let provisioner = Provisioner::new(app.state.clone());
    let sweeper = ExpirySweeper::new(app.state.clone());
    let (_, eli) = sandbox_for(&app, "Eli Evans").await;
    app.drain(&provisioner).await;
    assert!(
        received.lock().unwrap().is_empty(),
        "the first call was answered 503"
    );
    assert_eq!(
        app.scalar(&format!(
            "select attempts from provisioning_job where assignment_id = {eli}"
        ))
        .await,
        1
    );
    app.clock.advance_minutes(1);
    app.drain(&provisioner).await;
    let end: i64 = app
        .scalar(&format!("select end_at from assignment where id = {eli}"))
        .await;
    app.clock.set(Timestamp(end));
    app.drain(&sweeper).await;
    app.drain(&provisioner).await;
    let events: Vec<(String, String, String)> = received
        .lock()
        .unwrap()
        .iter()
        // (Demo access that ended in the same sweep is removed too.)
        .filter(|event| event["user"] == "eli.evans@example.com")
        .map(|event| {
            (
                event["event"].as_str().unwrap().to_string(),
                event["group"].as_str().unwrap().to_string(),
                event["user"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let user = "eli.evans@example.com".to_string();
    assert_eq!(
        events,
        vec![
            (
                "member.added".to_string(),
                "payroll-admins".to_string(),
                user.clone()
            ),
            (
                "member.removed".to_string(),
                "payroll-admins".to_string(),
                user
            ),
        ],
        "each event once, signed (the receiver refuses bad signatures)"
    );
    assert_eq!(
        sqlx::query_scalar::<_, String>(&format!("select status from assignment where id = {eli}"))
            .fetch_one(app.state.db.reader())
            .await
            .unwrap(),
        "removed"
    );
    app.stop().await;
}

async fn reconciliation_reports_drift_and_repairs_it_when_authoritative(backend: TestBackend) {
    use app::backend::services::reconcile;
    use app::backend::store::audit::Actor;
    let tenant = Tenant::new().await;
    let group = tenant.create_group("cloud-sandbox").await;
    let app = spawn(backend).await;
    let connector = connect(&app, &tenant.base, &group).await;
    let provisioner = Provisioner::new(app.state.clone());
    sandbox_for(&app, "Eli Evans").await;
    app.drain(&provisioner).await;
    let eli: String = sqlx::query_scalar("select external_id from connector_account")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();

    // Lists are read two at a time, so that naming the intruder takes several pages.
    sqlx::query("update connector set config_json = $1 where id = $2")
        .bind(json!({ "base_url": tenant.base, "timeout_seconds": 2, "page_size": 2 }).to_string())
        .bind(connector)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let bystanders: Vec<String> = (0..4)
        .map(|i| format!("bystander{i}@example.com"))
        .collect();
    tenant.create_users(&bystanders).await;

    // Out of band: someone adds an intruder and takes Eli out, in the SCIM system itself.
    let intruder: Value = tenant
        .http
        .post(format!("{}/Users", tenant.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "intruder@example.com"}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let intruder = intruder["id"].as_str().unwrap().to_string();
    let patch = |op: &str, value: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [if op == "add" {
                json!({"op": "add", "path": "members", "value": [{"value": value}]})
            } else {
                json!({"op": "remove", "path": format!("members[value eq \"{value}\"]")})
            }],
        })
        .to_string()
    };
    for (op, user) in [("add", &intruder), ("remove", &eli)] {
        let status = tenant
            .http
            .patch(format!("{}/Groups/{group}", tenant.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .body(patch(op, user))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
    }

    // Reported, not repaired: the connector is not authoritative.
    let found = reconcile::reconcile(&app.state, connector, Actor::System("test"))
        .await
        .unwrap();
    assert_eq!((found.unexpected, found.missing, found.repaired), (1, 1, 0));
    assert_eq!(
        tenant.member_names(&group).await,
        vec!["intruder@example.com".to_string()]
    );
    let admin = crate::harness::new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let page = app.page(&admin, "/manage/connectors").await;
    assert!(
        page.contains("Granted but missing downstream") && page.contains("Eli Evans"),
        "{page}"
    );
    assert!(
        page.contains("Member without a grant") && page.contains("intruder@example.com"),
        "named as the SCIM server names it (read page by page): {page}"
    );
    // Found again: still one open row each.
    reconcile::reconcile(&app.state, connector, Actor::System("test"))
        .await
        .unwrap();
    assert_eq!(
        app.scalar("select count(*) from drift where resolved_at is null")
            .await,
        2
    );

    // Authoritative: an administrator's "Reconcile now" repairs both.
    sqlx::query("update connector set is_authoritative = $1 where id = $2")
        .bind(true)
        .bind(connector)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let employee = crate::harness::new_client();
    app.sign_in_as(&employee, "Dev Patel").await;
    let refused = app
        .call::<app::api::connectors::ReconcileNow>(
            &employee,
            &[("connector_id", connector.to_string())],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let repaired = app
        .call::<app::api::connectors::ReconcileNow>(
            &admin,
            &[("connector_id", connector.to_string())],
        )
        .await;
    assert!(repaired.status().is_success(), "{}", repaired.status());
    assert_eq!(
        tenant.member_names(&group).await,
        vec!["eli.evans@example.com".to_string()]
    );
    assert_eq!(
        app.scalar("select count(*) from drift where resolved_at is null")
            .await,
        0
    );
    assert_eq!(
        app.scalar(
            "select count(*) from drift where repaired_at is not null and resolved_at is not null"
        )
        .await,
        2,
        "each drift row records its repair"
    );
    assert_eq!(
        app.scalar("select count(*) from drift").await,
        2,
        "one row per finding"
    );
    let clean = reconcile::reconcile(&app.state, connector, Actor::System("test"))
        .await
        .unwrap();
    assert_eq!((clean.unexpected, clean.missing), (0, 0));
    assert!(
        app.scalar("select count(*) from audit_event where action = 'connector.reconciled'")
            .await
            >= 4
    );
    app.stop().await;
}

/// A provisioner still at work renews its leases; nobody else can renew them.
async fn a_lease_is_renewed_only_by_its_holder(backend: TestBackend) {
    use app::backend::store;
    let app = spawn(backend).await;
    connect(&app, "http://127.0.0.1:9/v2", "unused").await;
    sandbox_for(&app, "Eli Evans").await;
    let now = app.clock_now();
    let claimed = store::provisioning::claim_due(
        &app.state.db,
        now,
        "holder",
        Timestamp(now.millis() + 60_000),
        10,
        8,
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 1);
    let later = Timestamp(now.millis() + 120_000);
    let lease_of = format!(
        "select lease_until from provisioning_job where id = {}",
        claimed[0].id
    );
    assert_eq!(
        store::lease::JOBS
            .renew(&app.state.db, "someone-else", later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.scalar(&lease_of).await, now.millis() + 60_000);
    assert_eq!(
        store::lease::JOBS
            .renew(&app.state.db, "holder", later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.scalar(&lease_of).await, later.millis());
    app.stop().await;
}

crate::on_both_backends!(
    a_lease_is_renewed_only_by_its_holder,
    reconciliation_reports_drift_and_repairs_it_when_authoritative,
    webhook_events_are_signed_retried_and_acknowledged,
    ldap_group_membership_is_granted_and_removed_at_the_end,
    administrators_add_connectors_and_see_failed_jobs,
    granted_access_is_removed_downstream_at_its_end_and_verified,
    removals_ride_out_ten_minutes_of_faults_with_the_alarm_raised,
    a_person_who_leaves_loses_access_and_their_account_is_switched_off,
);

async fn ldap_group_membership_is_granted_and_removed_at_the_end(backend: TestBackend) {
    let slapd = Slapd::start().await;
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_LDAP_TEST", LDAP_PASSWORD)]).await;
    app.seed_demo().await;
    let connector = connect(&app, "unused", "cn=cloud,dc=example,dc=test").await;
    sqlx::query("update connector set kind = 'ldap', config_json = $1, secret_ref = 'LDAP_TEST' where id = $2")
        .bind(json!({ "url": slapd.url, "bind_dn": LDAP_ADMIN, "users_base": "ou=people,dc=example,dc=test", "timeout_seconds": 2 }).to_string())
        .bind(connector)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let provisioner = Provisioner::new(app.state.clone());
    let sweeper = ExpirySweeper::new(app.state.clone());

    let (_, eli) = sandbox_for(&app, "Eli Evans").await;
    // George is not in the directory: his grant waits (retried), it is not given up.
    let (_, george) = sandbox_for(&app, "George Gray").await;
    app.drain(&provisioner).await;
    let jobs: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("select assignment_id, status, last_error from provisioning_job")
            .fetch_all(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(
        slapd.members().await,
        vec!["uid=eli,ou=people,dc=example,dc=test".to_string()],
        "{jobs:?}"
    );
    let waiting: (String, String) = sqlx::query_as(&format!(
        "select status, last_error from provisioning_job where assignment_id = {george}"
    ))
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(waiting.0, "failed");
    assert!(
        waiting
            .1
            .contains("no entry with mail george.gray@example.com"),
        "{}",
        waiting.1
    );

    let end: i64 = app
        .scalar(&format!("select end_at from assignment where id = {eli}"))
        .await;
    app.clock.set(Timestamp(end));
    app.drain(&sweeper).await;
    app.drain(&provisioner).await;
    assert!(
        slapd.members().await.is_empty(),
        "removed from the directory"
    );
    assert_eq!(
        sqlx::query_scalar::<_, String>(&format!("select status from assignment where id = {eli}"))
            .fetch_one(app.state.db.reader())
            .await
            .unwrap(),
        "removed"
    );
    assert_eq!(
        app.scalar(&format!("select verified_at from provisioning_job where assignment_id = {eli} and operation = 'remove_member'")).await,
        end
    );
    app.stop().await;
}

/// Two Gatehouse instances on one PostgreSQL database run their sweepers and
/// provisioners at once over 200 expirations (or GATEHOUSE_TWO_INSTANCES_N): each access is ended once, removed
/// downstream once (the receiver counts), verified, with one audit event of each kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_instances_remove_each_access_once() {
    // GATEHOUSE_TWO_INSTANCES_N scales it (the closing notes report 10 000).
    let n: usize = std::env::var("GATEHOUSE_TWO_INSTANCES_N")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    const SECRET: &str = "two-instances-secret";
    let Some(backend) = TestBackend::postgres() else {
        eprintln!("not run: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return;
    };
    let (url, received) = webhook_receiver(SECRET, 0).await;
    let first = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_HOOK", SECRET)]).await;
    first.seed_demo().await;
    let config = crate::harness::test_config(&first.database, &[("GATEHOUSE_SECRET_HOOK", SECRET)]);
    let second_clock = app::backend::ManualClock::new(first.clock_now());
    let second = gatehouse_server::start(&config, Arc::new(second_clock.clone()), false)
        .await
        .unwrap();
    let connector = connect(&first, "unused", "payroll-admins").await;
    sqlx::query("update connector set kind = 'webhook', config_json = $1, secret_ref = 'HOOK' where id = $2")
        .bind(json!({ "url": url, "timeout_seconds": 5 }).to_string())
        .bind(connector)
        .execute(first.state.db.writer())
        .await
        .unwrap();
    // N people holding the package (already provisioned), all ending at the same instant.
    let now = first.clock_now();
    let end = now.plus_days(1);
    let package = first.package_id("AWS sandbox account").await;
    let mut tx = first.state.db.begin_write().await.unwrap();
    for i in 0..n {
        let person = app::backend::store::person::insert(
            &mut tx,
            now,
            &app::backend::store::person::NewPerson {
                email: format!("holder{i}@example.com"),
                display_name: format!("Holder {i}"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        app::backend::store::assignment::insert(
            &mut tx,
            now,
            &app::backend::store::assignment::NewAssignment {
                person_id: person,
                package_id: package,
                policy_id: None,
                request_id: None,
                status: app::domain::status::AssignmentStatus::Active,
                start_at: now,
                end_at: Some(end),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    first.clock.set(end);
    second_clock.set(end);

    let run = |state: app::backend::AppState, clock: app::backend::ManualClock| async move {
        let sweeper = ExpirySweeper::new(state.clone());
        let provisioner = Provisioner::new(state);
        let mut idle = 0;
        while idle < 3 {
            use app::backend::Clock;
            let done = sweeper.step(clock.now()).await.unwrap()
                + provisioner.step(clock.now()).await.unwrap();
            idle = if done == 0 { idle + 1 } else { 0 };
        }
    };
    tokio::join!(
        run(first.state.clone(), first.clock.clone()),
        run(second.state.clone(), second_clock.clone()),
        run(first.state.clone(), first.clock.clone()),
        run(second.state.clone(), second_clock.clone()),
    );

    let ours = "(select id from person where email like 'holder%')";
    let removed = first
        .scalar(&format!(
            "select count(*) from assignment where status = 'removed' and person_id in {ours}"
        ))
        .await;
    assert_eq!(removed as usize, n);
    for action in ["assignment.ended", "assignment.removal_verified"] {
        let events = first.scalar(&format!("select count(*) from audit_event where action = '{action}' and object_id in (select cast(id as text) from assignment where person_id in {ours})"),
        )
        .await;
        assert_eq!(events as usize, n, "{action} once per access");
    }
    let mut removals: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|event| {
            event["event"] == "member.removed"
                && event["user"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("holder")
        })
        .map(|event| event["user"].as_str().unwrap().to_string())
        .collect();
    let total = removals.len();
    removals.sort();
    removals.dedup();
    assert_eq!(
        (removals.len(), total),
        (n, n),
        "each removed downstream exactly once"
    );
    second.stop().await;
    first.stop().await;
}
