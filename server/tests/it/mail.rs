//! Email through a real SMTP server on loopback (MailDev, started from
//! `end2end/mail/smtp.mjs`): what arrives, action links and their refusals, SMTP being
//! down, dead letters, reminders, warnings and digests.

use crate::harness::{new_client, TestApp, TestBackend};
use app::backend::mail::deliver::Mailer;
use app::backend::mail::notices::Notices;
use app::backend::services::requests::{self, Outcome, SubmitRequest};
use app::domain::status::RequestStatus;
use app::domain::time::MILLIS_PER_DAY;
use app::domain::Timestamp;
use serde_json::Value;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A MailDev process, stopped when dropped.
pub struct SmtpServer {
    child: Child,
    _stdin: ChildStdin,
    pub smtp_port: u16,
    web: String,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (at the time of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts MailDev with its SMTP port at `smtp_port` and waits until its API answers.
    pub async fn start_on(smtp_port: u16) -> Self {
        Self::start_with(smtp_port, None).await
    }

    /// Starts MailDev on `smtp_port`, requiring `credentials` (user, password) when given.
    pub async fn start_with(smtp_port: u16, credentials: Option<(&str, &str)>) -> Self {
        let web_port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/mail/smtp.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end"))
            .env("SMTP_EXIT_WITH_PARENT", "1")
            .env("SMTP_PORT", smtp_port.to_string())
            .env("SMTP_WEB_PORT", web_port.to_string())
            .env("SMTP_USER", credentials.map_or("", |(user, _)| user))
            .env("SMTP_PASS", credentials.map_or("", |(_, pass)| pass))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts MailDev (run scripts/setup.sh for its npm package)");
        let stdin = child.stdin.take().expect("MailDev stdin");
        let web = format!("http://127.0.0.1:{web_port}");
        for _ in 0..150 {
            if let Ok(response) = reqwest::get(format!("{web}/api/healthz")).await {
                if response.status().is_success() {
                    return Self {
                        child,
                        _stdin: stdin,
                        smtp_port,
                        web,
                    };
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("MailDev did not start on port {smtp_port}");
    }

    /// Every message received, oldest first.
    pub async fn emails(&self) -> Vec<Value> {
        let mut list: Vec<Value> = reqwest::get(format!("{}/api/email", self.web))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.sort_by_key(|email| email["time"].as_str().unwrap_or_default().to_string());
        list
    }

    /// Messages to `address` whose subject starts with `prefix`.
    pub async fn to(&self, address: &str, prefix: &str) -> Vec<Value> {
        self.emails()
            .await
            .into_iter()
            .filter(|email| {
                email["to"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|one| one["address"] == address))
                    && email["subject"]
                        .as_str()
                        .is_some_and(|subject| subject.starts_with(prefix))
            })
            .collect()
    }

    /// The raw MIME message as received.
    pub async fn source(&self, email: &Value) -> String {
        let id = email["id"].as_str().unwrap();
        reqwest::get(format!("{}/api/email/{id}/source", self.web))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// Overrides that send mail to the given SMTP port (plain SMTP, as to a local relay).
pub fn smtp_settings(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("GATEHOUSE_SMTP_HOST", "127.0.0.1".to_string()),
        ("GATEHOUSE_SMTP_PORT", port.to_string()),
        ("GATEHOUSE_SMTP_TLS", "none".to_string()),
        ("GATEHOUSE_SMTP_TIMEOUT_SECONDS", "5".to_string()),
        (
            "GATEHOUSE_MAIL_FROM",
            "Gatehouse <gatehouse@example.com>".to_string(),
        ),
    ]
}

async fn spawn_with_smtp(backend: TestBackend, port: u16, more: &[(&str, &str)]) -> TestApp {
    let mut overrides: Vec<(&str, String)> = smtp_settings(port);
    overrides.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
    let borrowed: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(backend, &borrowed).await;
    app.seed_demo().await;
    app
}

fn smtp_mailer(app: &TestApp) -> Mailer {
    Mailer::from_settings(app.state.clone())
        .expect("mail settings")
        .expect("SMTP is configured")
}

async fn submit(app: &TestApp, who: &str, package: &str, why: &str) -> i64 {
    let person = app.person(who).await;
    let package_id = app.package_id(package).await;
    requests::submit(
        &app.state,
        &person,
        SubmitRequest {
            package_id,
            justification: why.into(),
            ..SubmitRequest::default()
        },
    )
    .await
    .unwrap()
    .request_id
}

/// The action link in a message's plain text part.
fn link_in(text: &str) -> String {
    let start = text.find("/act/").expect("an action link");
    let from_scheme = text[..start].rfind("http").expect("an absolute link");
    text[from_scheme..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

/// What must not change when a link is only looked at: the request, its decisions and
/// tasks, the links, and the audit trail.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut all = Vec::new();
    for sql in [
        "select cast(sum(version) as bigint) from access_request",
        "select count(*) from decision",
        "select count(*) from approval_task where status = 'open'",
        "select count(*) from action_token where used_at is not null",
        "select count(*) from audit_event",
        "select count(*) from assignment",
    ] {
        all.push(app.scalar(sql).await);
    }
    all
}

async fn page_for(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    app.page(client, path).await
}

async fn use_link(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    choice: &str,
) -> reqwest::Response {
    app.call::<app::api::links::UseActionLink>(
        client,
        &[
            ("token", token.to_string()),
            ("choice", choice.to_string()),
            ("justification", "Fine by me".to_string()),
        ],
    )
    .await
}

async fn a_manager_approves_from_the_email_link_and_the_requester_hears(backend: TestBackend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_smtp(backend, smtp.smtp_port, &[]).await;
    let mailer = smtp_mailer(&app);
    let request_id = submit(
        &app,
        "Uma Usman",
        "Salesforce",
        "New accounts in the north region",
    )
    .await;
    // The raw token is in no stored message: only a placeholder, filled at delivery.
    let stored: String = sqlx::query_scalar(
        "select body_text from outbound_message where template = 'approval_needed' \
         and to_address = 'sam.sutton@example.com' order by id desc limit 1",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert!(stored.contains("%ACTION_URL_0%"), "{stored}");
    assert!(app.drain(&mailer).await >= 1);

    let arrived = smtp
        .to(
            "sam.sutton@example.com",
            "Approval needed: Uma Usman requests Salesforce",
        )
        .await;
    assert_eq!(arrived.len(), 1, "one message to the manager");
    let email = &arrived[0];
    let text = email["text"].as_str().unwrap();
    let html = email["html"].as_str().unwrap();
    assert!(text.starts_with("Hello Sam Sutton,"), "{text}");
    assert!(text.contains("“New accounts in the north region”"));
    let link = link_in(text);
    assert!(link.starts_with("http://127.0.0.1:3999/act/"), "{link}");
    let token = token_of(&link);
    assert_eq!(token.len(), 64, "256 bits, hex");
    assert!(
        html.contains(&format!("href=\"{link}\"")),
        "the HTML part has the same link"
    );
    assert!(html.contains("Hello Sam Sutton,"));
    let source = smtp.source(email).await;
    assert!(
        source.contains("From: Gatehouse <gatehouse@example.com>"),
        "{source}"
    );
    assert!(
        source.contains("To: \"Sam Sutton\" <sam.sutton@example.com>"),
        "{source}"
    );
    assert!(source.contains("Subject: Approval needed: Uma Usman requests Salesforce"));
    assert!(source.contains("Content-Type: multipart/alternative"));
    assert!(source.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(source.contains("Content-Type: text/html; charset=utf-8"));
    assert!(source.contains("Message-ID: <gatehouse-message-"));
    // Stored: only the hash.
    let hashes = app
        .scalar(&format!(
            "select count(*) from action_token where token_hash = '{}'",
            app::backend::store::action_token::hash(&token)
        ))
        .await;
    assert_eq!(hashes, 1);
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from action_token where token_hash = '{token}'"
        ))
        .await,
        0
    );
    let path = format!("/act/{token}");

    // A mail scanner (not signed in) fetches it with HEAD and GET: nothing changes.
    let before = fingerprint(&app).await;
    let scanner = new_client();
    let head = scanner.head(app.url(&path)).send().await.unwrap();
    assert!(head.status().is_success(), "{}", head.status());
    let anonymous = page_for(&app, &scanner, &path).await;
    assert!(anonymous.contains("Sign in to continue"), "{anonymous}");
    assert!(
        !anonymous.contains("Uma Usman"),
        "nothing of the request before signing in"
    );
    assert!(anonymous.contains(&format!("/sign-in?next=/act/{token}")));
    let refused = use_link(&app, &scanner, &token, "approve").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(fingerprint(&app).await, before);

    // Someone else, signed in, cannot use it either.
    let uma = new_client();
    app.sign_in_as(&uma, "Uma Usman").await;
    let before = fingerprint(&app).await;
    assert!(page_for(&app, &uma, &path)
        .await
        .contains("This link was sent to someone else"));
    let refused = use_link(&app, &uma, &token, "approve").await;
    assert_eq!(refused.status(), 403);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("sent to someone else"));
    // An altered token is unknown.
    let mut altered = token.clone();
    let last = if altered.ends_with('0') { "1" } else { "0" };
    altered.replace_range(63.., last);
    let sam = new_client();
    app.sign_in_as(&sam, "Sam Sutton").await;
    let before_sam = fingerprint(&app).await;
    assert!(page_for(&app, &sam, &format!("/act/{altered}"))
        .await
        .contains("This link is not valid"));
    assert_eq!(
        use_link(&app, &sam, &altered, "approve").await.status(),
        404
    );
    assert_eq!(fingerprint(&app).await, before_sam);
    assert_eq!(before_sam.len(), before.len());

    // The manager sees the request and approves.
    let page = page_for(&app, &sam, &path).await;
    assert!(page.contains("Uma Usman requests Salesforce"), "{page}");
    assert!(page.contains(">Approve</button>") && page.contains(">Deny</button>"));
    assert_eq!(
        fingerprint(&app).await,
        before_sam,
        "showing it changed nothing"
    );
    let approved = use_link(&app, &sam, &token, "approve").await;
    assert!(
        approved.status().is_success() || approved.status().is_redirection(),
        "{}",
        approved.status()
    );
    let status: String = sqlx::query_scalar("select status from access_request where id = $1")
        .bind(request_id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(status, RequestStatus::Delivered.as_str());
    assert_eq!(
        app.scalar("select count(*) from action_token where used_at is not null")
            .await,
        1
    );

    // The requester's message arrives.
    app.drain(&mailer).await;
    let outcome = smtp
        .to("uma.usman@example.com", "Approved: Salesforce")
        .await;
    assert_eq!(outcome.len(), 1);
    assert!(outcome[0]["text"]
        .as_str()
        .unwrap()
        .contains("Sam Sutton approved the request"));

    // The same link again: already used; nothing changes.
    let before = fingerprint(&app).await;
    let again = page_for(&app, &sam, &path).await;
    assert!(again.contains("This link was already used"), "{again}");
    assert_eq!(use_link(&app, &sam, &token, "deny").await.status(), 409);
    assert_eq!(fingerprint(&app).await, before);
    app.stop().await;
}

async fn links_expire_and_say_when_the_request_was_decided_elsewhere(backend: TestBackend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_smtp(backend, smtp.smtp_port, &[]).await;
    let mailer = smtp_mailer(&app);
    let sam_person = app.person("Sam Sutton").await;
    let first = submit(&app, "Victor Vance", "Salesforce", "Pilot").await;
    submit(&app, "Wendy Wu", "Salesforce", "Renewals").await;
    app.drain(&mailer).await;
    let victor_link = link_in(
        smtp.to("sam.sutton@example.com", "Approval needed: Victor Vance")
            .await[0]["text"]
            .as_str()
            .unwrap(),
    );
    let wendy_link = link_in(
        smtp.to("sam.sutton@example.com", "Approval needed: Wendy Wu")
            .await[0]["text"]
            .as_str()
            .unwrap(),
    );
    let sam = new_client();
    app.sign_in_as(&sam, "Sam Sutton").await;

    // Decided in the browser first: the link says so, and by whom.
    requests::decide(
        &app.state,
        &sam_person,
        first,
        Outcome::Deny,
        "Not this quarter",
    )
    .await
    .unwrap();
    let before = fingerprint(&app).await;
    let token = token_of(&victor_link);
    let page = page_for(&app, &sam, &format!("/act/{token}")).await;
    assert!(page.contains("Nothing left to decide"), "{page}");
    assert!(page.contains("Already decided by Sam Sutton"), "{page}");
    let refused = use_link(&app, &sam, &token, "approve").await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("Already decided"));
    assert_eq!(fingerprint(&app).await, before);

    // After the stage's decision deadline (14 days) the link has expired.
    app.clock.advance_days(15);
    let sam = new_client();
    app.sign_in_as(&sam, "Sam Sutton").await;
    let before = fingerprint(&app).await;
    let token = token_of(&wendy_link);
    let page = page_for(&app, &sam, &format!("/act/{token}")).await;
    assert!(page.contains("This link has expired"), "{page}");
    assert_eq!(use_link(&app, &sam, &token, "approve").await.status(), 409);
    assert_eq!(fingerprint(&app).await, before);
    app.stop().await;
}

async fn smtp_down_delays_mail_but_no_action_and_each_message_arrives_once(backend: TestBackend) {
    let port = crate::mail::free_port();
    let app = spawn_with_smtp(backend, port, &[]).await;
    let mailer = smtp_mailer(&app);
    // Every action succeeds while nothing listens on the SMTP port.
    let sam = app.person("Sam Sutton").await;
    let mut expected = Vec::new();
    for who in ["Uma Usman", "Victor Vance", "Xavier Xu"] {
        let id = submit(&app, who, "Salesforce", "Quarter planning").await;
        expected.push(id);
    }
    let decided = requests::decide(&app.state, &sam, expected[0], Outcome::Approve, "ok")
        .await
        .unwrap();
    assert_eq!(decided.status, RequestStatus::Delivered);
    let queued = app
        .scalar("select count(*) from outbound_message where digest_key is null")
        .await;
    assert!(
        queued >= 10,
        "demo messages plus 3 approvals and 1 outcome: {queued}"
    );

    // Attempts fail and are retried later, not given up.
    let attempted = app.drain(&mailer).await;
    assert_eq!(
        attempted as i64, queued,
        "each message tried once, then waits"
    );
    assert_eq!(
        app.scalar("select count(*) from outbound_message where status = 'failed'")
            .await,
        queued
    );
    assert!(
        app.scalar("select count(*) from outbound_message where last_error is null")
            .await
            == 0
    );
    for _ in 0..3 {
        app.clock.advance_minutes(70);
        app.drain(&mailer).await;
    }
    assert_eq!(
        app.scalar("select count(*) from outbound_message where status = 'dead'")
            .await,
        0
    );
    assert_eq!(
        app.scalar("select min(attempts) from outbound_message")
            .await,
        4
    );

    // SMTP comes back: everything is delivered, exactly once.
    let smtp = SmtpServer::start_on(port).await;
    app.clock.advance_minutes(70);
    assert_eq!(app.drain(&mailer).await as i64, queued);
    app.clock.advance_days(1);
    assert_eq!(app.drain(&mailer).await, 0, "nothing is sent twice");
    assert_eq!(
        app.scalar("select count(*) from outbound_message where status = 'sent'")
            .await,
        queued
    );
    let emails = smtp.emails().await;
    assert_eq!(emails.len() as i64, queued);
    let mut ids: Vec<String> = Vec::new();
    for email in &emails {
        let id = email["headers"]["message-id"].as_str().unwrap_or_default();
        assert!(id.starts_with("<gatehouse-message-"), "{email}");
        ids.push(id.to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), emails.len(), "every message once");
    app.stop().await;
}

async fn dead_letters_are_shown_to_administrators_who_can_send_them_again(backend: TestBackend) {
    let port = free_port();
    let app = spawn_with_smtp(
        backend,
        port,
        &[
            ("GATEHOUSE_MAIL_MAX_ATTEMPTS", "2"),
            ("GATEHOUSE_MAIL_RETRY_BASE_SECONDS", "60"),
        ],
    )
    .await;
    let mailer = smtp_mailer(&app);
    let total = app.scalar("select count(*) from outbound_message").await;
    app.drain(&mailer).await;
    app.clock.advance_minutes(2);
    app.drain(&mailer).await;
    assert_eq!(
        app.scalar("select count(*) from outbound_message where status = 'dead'")
            .await,
        total
    );
    app.clock.advance_days(1);
    assert_eq!(
        app.drain(&mailer).await,
        0,
        "dead letters are not retried on their own"
    );

    let admin = new_client();
    app.sign_in_as(&admin, "Ada Admin").await;
    let page = app.page(&admin, "/manage/mail").await;
    assert!(
        page.contains("could not be delivered after every retry"),
        "{page}"
    );
    assert!(page.contains("Send again"));
    let employee = new_client();
    app.sign_in_as(&employee, "Dev Patel").await;
    let refused = app
        .call::<app::api::mail::GetMailQueue>(&employee, &[])
        .await;
    assert_eq!(refused.status(), 403);

    let smtp = SmtpServer::start_on(port).await;
    let id = app.scalar("select min(id) from outbound_message").await;
    let refused = app
        .call::<app::api::mail::ResendMessage>(&employee, &[("message_id", id.to_string())])
        .await;
    assert_eq!(refused.status(), 403);
    let resent = app
        .call::<app::api::mail::ResendMessage>(&admin, &[("message_id", id.to_string())])
        .await;
    assert!(resent.status().is_success(), "{}", resent.status());
    assert_eq!(app.drain(&mailer).await, 1);
    assert_eq!(smtp.emails().await.len(), 1);
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'outbound_message.resent'")
            .await,
        1
    );
    // Sent now: a second resend is refused.
    let again = app
        .call::<app::api::mail::ResendMessage>(&admin, &[("message_id", id.to_string())])
        .await;
    assert_eq!(again.status(), 409);
    app.stop().await;
}

async fn reminders_warnings_and_digests_go_out_once_at_their_time(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let notices = Notices::new(app.state.clone());
    let count = |template: &'static str| {
        let app = &app;
        async move {
            app.scalar(&format!(
                "select count(*) from outbound_message where template = '{template}'"
            ))
            .await
        }
    };

    // A reminder 24 hours before the 14-day decision deadline, once.
    let request = submit(&app, "Yara Young", "Salesforce", "Forecasts").await;
    let due: i64 =
        sqlx::query_scalar("select due_at from approval_task where access_request_id = $1")
            .bind(request)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    let yara_reminders = || async {
        app.scalar("select count(*) from outbound_message where template = 'approval_reminder' and subject like '%Yara Young%'",
        )
        .await
    };
    app.clock.set(Timestamp(due - MILLIS_PER_DAY - 60_000));
    notices.send_reminders(app.clock_now()).await.unwrap();
    assert_eq!(yara_reminders().await, 0, "not yet");
    assert!(
        count("approval_reminder").await > 0,
        "the older demo requests were reminded"
    );
    app.clock.advance_minutes(2);
    notices.send_reminders(app.clock_now()).await.unwrap();
    notices.send_reminders(app.clock_now()).await.unwrap();
    let reminded: Vec<(String, String)> = sqlx::query_as(
        "select to_address, subject from outbound_message where template = 'approval_reminder' \
         and subject like '%Yara Young%'",
    )
    .fetch_all(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        reminded,
        vec![(
            "sam.sutton@example.com".to_string(),
            "Reminder: Yara Young still waits for Salesforce".to_string()
        )]
    );

    // Warnings before access ends: 14 days, then 1 day, each once, with an extend link.
    let grace_end: i64 = sqlx::query_scalar(
        "select a.end_at from assignment a join person p on p.id = a.person_id \
         where p.display_name = 'Grace Green'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let warnings = || async {
        sqlx::query_scalar::<_, String>(
            "select subject from outbound_message where template = 'access_ending' \
             and to_address = 'grace.green@example.com' order by id",
        )
        .fetch_all(app.state.db.reader())
        .await
        .unwrap()
    };
    app.clock
        .set(Timestamp(grace_end - 14 * MILLIS_PER_DAY - 1));
    notices.send_expiry_warnings(app.clock_now()).await.unwrap();
    assert!(warnings().await.is_empty());
    app.clock.advance_minutes(1);
    notices.send_expiry_warnings(app.clock_now()).await.unwrap();
    notices.send_expiry_warnings(app.clock_now()).await.unwrap();
    assert_eq!(
        warnings().await,
        vec!["Finance reports ends in 14 days".to_string()]
    );
    app.clock.set(Timestamp(grace_end - MILLIS_PER_DAY));
    notices.send_expiry_warnings(app.clock_now()).await.unwrap();
    notices.send_expiry_warnings(app.clock_now()).await.unwrap();
    assert_eq!(
        warnings().await,
        vec![
            "Finance reports ends in 14 days".to_string(),
            "Finance reports ends in 1 day".to_string()
        ]
    );
    let actions: String = sqlx::query_scalar(
        "select actions_json from outbound_message where template = 'access_ending' order by id desc limit 1",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert!(actions.contains("\"purpose\":\"extend\""), "{actions}");

    // The warning's link extends the access: delivered to the development mailbox here.
    let dev_mailbox = Mailer::from_settings(app.state.clone()).unwrap().unwrap();
    app.drain(&dev_mailbox).await;
    let body: String = sqlx::query_scalar(
        "select body_text from outbound_message where template = 'access_ending' order by id desc limit 1",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let token = token_of(&link_in(&body));
    let grace = new_client();
    app.sign_in_as(&grace, "Grace Green").await;
    let page = app.page(&grace, &format!("/act/{token}")).await;
    assert!(page.contains("Extend Finance reports"), "{page}");
    let new_end = Timestamp(grace_end).plus_days(30).date_utc();
    let bad = app
        .call::<app::api::links::UseActionLink>(
            &grace,
            &[
                ("token", token.clone()),
                ("choice", "extend".into()),
                ("end_date", "someday".into()),
            ],
        )
        .await;
    assert_eq!(bad.status(), 400, "a bad date is refused on its field");
    assert!(bad.text().await.unwrap().contains("end_date"));
    let extended = app
        .call::<app::api::links::UseActionLink>(
            &grace,
            &[
                ("token", token.clone()),
                ("choice", "extend".into()),
                ("end_date", new_end),
                ("justification", "Audit season".into()),
            ],
        )
        .await;
    assert!(
        extended.status().is_success() || extended.status().is_redirection(),
        "{}",
        extended.status()
    );
    assert_eq!(
        app.scalar("select count(*) from access_request r join person p on p.id = r.person_id where p.display_name = 'Grace Green' and r.kind = 'extend'").await,
        1
    );
    assert!(app
        .page(&grace, &format!("/act/{token}"))
        .await
        .contains("This link was already used"));

    // A person who chose the daily digest gets one message at the digest hour (07:00 UTC).
    let henry = new_client();
    app.sign_in_as(&henry, "Henry Hall").await;
    let saved = app
        .call::<app::api::mail::SaveMailPreference>(&henry, &[("delivery", "digest".to_string())])
        .await;
    assert!(saved.status().is_success(), "{}", saved.status());
    let bad = app
        .call::<app::api::mail::SaveMailPreference>(&henry, &[("delivery", "hourly".to_string())])
        .await;
    assert_eq!(bad.status(), 400);
    let day = app.clock_now().millis().div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY;
    app.clock.set(Timestamp(day + MILLIS_PER_DAY + 3_600_000)); // 01:00 the next day
    submit(&app, "Henry Hall", "Finance reports", "Year-end close").await;
    let ada = app.person("Ada Admin").await;
    app::backend::services::assignments::assign_directly(
        &app.state,
        &ada,
        app.package_id("AWS sandbox account").await,
        app.person_id("Henry Hall").await,
        None,
        "Audit preparation",
    )
    .await
    .unwrap();
    let held = app.scalar("select count(*) from outbound_message where to_address = 'henry.hall@example.com' and digest_key = 'daily'",
    )
    .await;
    assert!(held >= 1, "Henry's messages wait for the digest");
    notices.send_digests(app.clock_now()).await.unwrap();
    assert_eq!(count("daily_digest").await, 0, "not before 07:00");
    app.clock.advance_minutes(6 * 60 + 1);
    assert_eq!(notices.send_digests(app.clock_now()).await.unwrap(), 1);
    assert_eq!(
        notices.send_digests(app.clock_now()).await.unwrap(),
        0,
        "once a day"
    );
    let digest: String = sqlx::query_scalar(
        "select body_text from outbound_message where template = 'daily_digest'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert!(digest.starts_with("Hello Henry Hall,"), "{digest}");
    assert!(
        digest.contains("You now have AWS sandbox account"),
        "{digest}"
    );
    assert_eq!(
        app.scalar("select count(*) from outbound_message where digest_message_id is not null")
            .await,
        held
    );
    app.stop().await;
}

/// SMTP authentication: a wrong password is retried (it is a configuration problem, not the
/// message's), the right one delivers.
async fn smtp_authentication_is_used_and_a_refusal_is_retried(backend: TestBackend) {
    let smtp = SmtpServer::start_with(free_port(), Some(("gatehouse", "s3cret-pass"))).await;
    let port = smtp.smtp_port.to_string();
    let wrong = [
        ("GATEHOUSE_SMTP_USERNAME", "gatehouse"),
        ("GATEHOUSE_SMTP_PASSWORD", "wrong-pass"),
    ];
    let app = spawn_with_smtp(backend.clone(), smtp.smtp_port, &wrong).await;
    let mailer = smtp_mailer(&app);
    let queued = app.scalar("select count(*) from outbound_message").await;
    app.drain(&mailer).await;
    assert_eq!(smtp.emails().await.len(), 0);
    assert_eq!(
        app.scalar("select count(*) from outbound_message where status = 'failed'")
            .await,
        queued
    );
    let error: String = sqlx::query_scalar("select last_error from outbound_message limit 1")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert!(
        !error.contains("wrong-pass"),
        "the password is not in the error: {error}"
    );
    app.stop().await;

    let right = [
        ("GATEHOUSE_SMTP_USERNAME", "gatehouse"),
        ("GATEHOUSE_SMTP_PASSWORD", "s3cret-pass"),
        ("GATEHOUSE_SMTP_PORT", port.as_str()),
    ];
    let app = spawn_with_smtp(backend, smtp.smtp_port, &right).await;
    let mailer = smtp_mailer(&app);
    assert_eq!(app.drain(&mailer).await as i64, queued);
    assert_eq!(smtp.emails().await.len() as i64, queued);
    app.stop().await;
}

async fn a_message_whose_stored_links_are_unreadable_is_not_sent_without_them(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let message: i64 = app
        .scalar("select min(id) from outbound_message where template = 'approval_needed'")
        .await;
    sqlx::query("update outbound_message set actions_json = '[{\"purpose\":' where id = $1")
        .bind(message)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let mailbox = Mailer::from_settings(app.state.clone()).unwrap().unwrap();
    app.drain(&mailbox).await;
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, last_error from outbound_message where id = $1")
            .bind(message)
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
    // The others went out as usual.
    assert_eq!(
        app.scalar("select count(*) from outbound_message where status = 'queued'")
            .await,
        0
    );
    app.stop().await;
}

crate::on_both_backends!(
    a_message_whose_stored_links_are_unreadable_is_not_sent_without_them,
    smtp_authentication_is_used_and_a_refusal_is_retried,
    a_manager_approves_from_the_email_link_and_the_requester_hears,
    links_expire_and_say_when_the_request_was_decided_elsewhere,
    smtp_down_delays_mail_but_no_action_and_each_message_arrives_once,
    dead_letters_are_shown_to_administrators_who_can_send_them_again,
    reminders_warnings_and_digests_go_out_once_at_their_time,
);
