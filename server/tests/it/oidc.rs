//! Sign-in through a real OpenID provider on loopback (panva `oidc-provider`, started from
//! `end2end/oidc/op.mjs`): the whole authorization code flow, and its refusals.

use crate::harness::{new_client, session_cookie, TestApp, TestBackend};
use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Mutex, OnceLock};

const ISSUER: &str = "http://127.0.0.1:9400";
/// Each test app listens on its own fixed port, registered at the provider.
const FIRST_PORT: u16 = 3941;
const PORTS: u16 = 20;
static NEXT_PORT: AtomicU16 = AtomicU16::new(FIRST_PORT);

/// The provider process, stopped when the test process ends (its stdin closes).
struct ProviderProcess {
    _child: Child,
    _stdin: ChildStdin,
}

static PROVIDER: OnceLock<Mutex<Option<ProviderProcess>>> = OnceLock::new();

fn redirect_uris() -> String {
    (FIRST_PORT..FIRST_PORT + PORTS)
        .map(|port| format!("http://127.0.0.1:{port}/auth/callback"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The provider's signing key, kept in a file for this test process.
fn jwks_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gatehouse-it-op-{}.json", std::process::id()))
}

/// Starts the provider once for the whole test binary and waits until it answers.
async fn provider() {
    PROVIDER.get_or_init(|| {
        let (child, stdin) = spawn_provider(9400, &jwks_file());
        Mutex::new(Some(ProviderProcess {
            _child: child,
            _stdin: stdin,
        }))
    });
    wait_for(ISSUER).await;
}

/// Starts `op.mjs` on a port with a signing key file; it exits with this process (its
/// stdin closes).
fn spawn_provider(port: u16, jwks: &std::path::Path) -> (Child, ChildStdin) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/op.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .env("OP_EXIT_WITH_PARENT", "1")
        .env("OP_PORT", port.to_string())
        .env("OP_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("OP_JWKS", jwks)
        .env("OIDC_CLIENT_ID", "gatehouse")
        .env("OIDC_CLIENT_SECRET", "gatehouse-secret")
        .env("OIDC_REDIRECT_URIS", redirect_uris())
        .env(
            "OIDC_POST_LOGOUT_REDIRECT_URIS",
            (FIRST_PORT..FIRST_PORT + PORTS)
                .map(|port| format!("http://127.0.0.1:{port}/sign-in"))
                .collect::<Vec<_>>()
                .join(","),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts the OpenID provider (run scripts/setup.sh for its npm packages)");
    let mut stdin = child.stdin.take().expect("provider stdin");
    let _ = stdin.flush();
    (child, stdin)
}

async fn wait_for(issuer: &str) {
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(&discovery).await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the OpenID provider did not answer at {discovery}");
}

/// A Gatehouse with OIDC sign-in configured, on its own registered port.
async fn app_with_oidc(backend: TestBackend, extra: &[(&str, &str)]) -> (TestApp, String) {
    provider().await;
    let port = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
    assert!(
        port < FIRST_PORT + PORTS,
        "more OIDC tests than registered ports"
    );
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let mut overrides: Vec<(&str, &str)> = vec![
        ("GATEHOUSE_BIND", &bind),
        ("GATEHOUSE_PUBLIC_URL", &public),
        ("GATEHOUSE_DEV_SIGN_IN", "false"),
        ("GATEHOUSE_OIDC_ISSUER", ISSUER),
        ("GATEHOUSE_OIDC_CLIENT_ID", "gatehouse"),
        ("GATEHOUSE_OIDC_CLIENT_SECRET", "gatehouse-secret"),
        ("GATEHOUSE_OIDC_SCOPES", "email profile groups"),
        ("GATEHOUSE_OIDC_ADMIN_GROUPS", "gatehouse-admins"),
        ("GATEHOUSE_OIDC_AUDITOR_EMAILS", "otto.auditor@example.com"),
    ];
    overrides.extend_from_slice(extra);
    let app = TestApp::spawn_with(backend, &overrides).await;
    app.seed_demo().await;
    (app, public)
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Starts a sign-in at Gatehouse; returns the provider's authorization URL.
async fn start(app: &TestApp, browser: &reqwest::Client, next: &str) -> String {
    let response = browser
        .post(app.url("/auth/login"))
        .form(&[("next", next)])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let url = location(&response);
    assert!(url.contains("/auth?"), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    url
}

/// Logs in at the provider with its login form; returns the callback URL it sends the
/// browser to.
async fn provider_login(authorize: &str, login: &str, password: &str) -> String {
    let issuer = url::Url::parse(authorize)
        .unwrap()
        .origin()
        .ascii_serialization();
    let absolute = |location: &str| -> String {
        if location.starts_with('/') {
            format!("{issuer}{location}")
        } else {
            location.to_string()
        }
    };
    let op = new_client();
    let mut url = authorize.to_string();
    // /auth -> /interaction/<uid> (the login form)
    let response = op.get(&url).send().await.unwrap();
    url = absolute(&location(&response));
    assert!(url.contains("/interaction/"), "{url}");
    let form = op.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("name=\"login\""), "{form}");
    let response = op
        .post(&url)
        .form(&[
            ("prompt", "login"),
            ("login", login),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    // Follow the provider's own redirects until it sends the browser back to Gatehouse.
    let mut next = absolute(&location(&response));
    for _ in 0..5 {
        if !next.starts_with(&issuer) {
            return next;
        }
        let response = op.get(&next).send().await.unwrap();
        next = absolute(&location(&response));
    }
    panic!("the provider did not send the browser back: {next}");
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            if k == name {
                (k.to_string(), value.to_string())
            } else {
                (k.to_string(), v.to_string())
            }
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

async fn signed_in_name(app: &TestApp, browser: &reqwest::Client) -> Option<String> {
    let info: serde_json::Value = app
        .call::<app::api::session::GetSiteInfo>(browser, &[])
        .await
        .json()
        .await
        .unwrap();
    info["viewer"]["display_name"].as_str().map(str::to_string)
}

async fn a_person_signs_in_through_the_provider_and_lands_where_they_asked(backend: TestBackend) {
    let (app, public) = app_with_oidc(backend, &[]).await;
    let browser = new_client();
    let authorize = start(&app, &browser, "/approvals").await;
    let callback = provider_login(&authorize, "ada", "ada-password").await;
    assert!(
        callback.starts_with(&format!("{public}/auth/callback?")),
        "{callback}"
    );
    assert!(callback.contains("iss="), "RFC 9207: {callback}");
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(location(&response), "/approvals");
    assert!(
        session_cookie(&response).is_some(),
        "a new session id at sign-in"
    );
    assert_eq!(
        signed_in_name(&app, &browser).await.as_deref(),
        Some("Ada Admin")
    );

    let (subject, signed_in_at, is_admin): (Option<String>, Option<i64>, i64) = sqlx::query_as(
        "select oidc_subject, last_sign_in_at, (select count(*) from person a where a.id = p.id and a.is_admin = $1) \
         from person p where email = 'ada.admin@example.com'",
    )
    .bind(true)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(subject.as_deref(), Some("ada"));
    assert!(signed_in_at.is_some());
    assert_eq!(is_admin, 1, "administrators from the groups claim");

    // Replaying the same answer from the provider changes nothing.
    let replay = new_client();
    let response = replay.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(signed_in_name(&app, &replay).await, None);
    app.stop().await;
}

async fn the_session_id_changes_at_sign_in(backend: TestBackend) {
    // With userinfo asked too (the provider answers the same claims there).
    let (app, _) = app_with_oidc(backend, &[("GATEHOUSE_OIDC_USERINFO", "true")]).await;
    let browser = new_client();
    let response = browser
        .post(app.url("/auth/login"))
        .form(&[("next", "/")])
        .send()
        .await
        .unwrap();
    let before = session_cookie(&response).expect("the pending sign-in has a session");
    let authorize = location(&response);
    let callback = provider_login(&authorize, "otto", "otto-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let after = session_cookie(&response).expect("sign-in sets the session cookie");
    assert_ne!(before, after);
    // The id from before sign-in is worthless now.
    let planted = reqwest::Client::new();
    let info: serde_json::Value = planted
        .post(app.url(<app::api::session::GetSiteInfo as leptos::server_fn::ServerFn>::PATH))
        .header("accept", "application/json")
        .header("cookie", format!("gatehouse={before}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info["viewer"].is_null(), "{info}");
    let auditor: i64 = sqlx::query_scalar(
        "select count(*) from person where email = 'otto.auditor@example.com' and is_auditor = $1",
    )
    .bind(true)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(auditor, 1, "auditors from the configured emails");
    app.stop().await;
}

async fn forged_or_replayed_answers_are_refused(backend: TestBackend) {
    let (app, _) = app_with_oidc(backend, &[]).await;

    // A wrong state.
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "dev", "dev-password").await;
    let response = browser
        .get(with_param(&callback, "state", "forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("not valid for this browser session"));
    assert_eq!(signed_in_name(&app, &browser).await, None);

    // A replayed code: a fresh sign-in in the same browser, answered with the used code.
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let first = provider_login(&authorize, "dev", "dev-password").await;
    assert_eq!(browser.get(&first).send().await.unwrap().status(), 303);
    let again = start(&app, &browser, "/").await;
    let fresh_state = url::Url::parse(&again)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .unwrap();
    let replayed = with_param(&first, "state", &fresh_state);
    let response = browser.get(&replayed).send().await.unwrap();
    assert_eq!(response.status(), 400, "a used code is refused");

    // A wrong nonce: the provider puts the nonce it was given into the ID token.
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let tampered = with_param(&authorize, "nonce", "not-the-session-nonce");
    let callback = provider_login(&tampered, "dev", "dev-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("failed verification"));
    assert_eq!(signed_in_name(&app, &browser).await, None);

    // An answer claiming another issuer (RFC 9207).
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "dev", "dev-password").await;
    let response = browser
        .get(with_param(&callback, "iss", "http://127.0.0.1:9401"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(signed_in_name(&app, &browser).await, None);

    // Only same-origin paths are followed after sign-in.
    let browser = new_client();
    let authorize = start(&app, &browser, "https://evil.example/").await;
    let callback = provider_login(&authorize, "dev", "dev-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&response), "/");
    app.stop().await;
}

async fn unknown_people_are_refused_unless_configuration_allows_them(backend: TestBackend) {
    let (app, _) = app_with_oidc(backend, &[]).await;
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "stranger", "stranger-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("does not know you"));
    let people: i64 =
        sqlx::query_scalar("select count(*) from person where email = 'stranger@example.org'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(people, 0);
    app.stop().await;

    let (app, _) =
        app_with_oidc(backend_again(), &[("GATEHOUSE_OIDC_ALLOW_UNKNOWN", "true")]).await;
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "stranger", "stranger-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        signed_in_name(&app, &browser).await.as_deref(),
        Some("Sam Stranger")
    );
    let created: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'person.created' and actor_label = 'system:sign-in'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(created, 1);
    app.stop().await;
}

/// A second app in the same test uses SQLite (the backend only matters for the first).
fn backend_again() -> TestBackend {
    TestBackend::Sqlite
}

async fn sign_out_ends_the_session_and_the_provider_s(backend: TestBackend) {
    let (app, public) = app_with_oidc(backend, &[]).await;
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "dev", "dev-password").await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 303);
    let kept: Vec<Vec<u8>> = sqlx::query_scalar("select data from session")
        .fetch_all(app.state.db.reader())
        .await
        .unwrap();
    for data in &kept {
        // A JWT's header starts `eyJ` in base64url.
        assert!(
            !String::from_utf8_lossy(data).contains("eyJ"),
            "a session row holds a token: {}",
            String::from_utf8_lossy(data)
        );
    }
    assert!(!kept.is_empty());
    let response = app.call::<app::api::session::SignOut>(&browser, &[]).await;
    let end_session = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        end_session.starts_with(&format!("{ISSUER}/session/end")),
        "{end_session}"
    );
    // The provider is told which client signs out, not given the ID token: no ID token
    // was kept in the session row for it.
    assert!(!end_session.contains("id_token_hint="), "{end_session}");
    assert!(end_session.contains("client_id=gatehouse"), "{end_session}");
    assert!(
        end_session.contains(
            &url::form_urlencoded::byte_serialize(format!("{public}/sign-in").as_bytes())
                .collect::<String>()
        ),
        "{end_session}"
    );
    assert_eq!(signed_in_name(&app, &browser).await, None);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_rotates_its_signing_key_is_followed() {
    const PORT: u16 = 9402;
    let issuer = format!("http://127.0.0.1:{PORT}");
    let jwks =
        std::env::temp_dir().join(format!("gatehouse-it-rotating-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&jwks);
    let (mut first, first_stdin) = spawn_provider(PORT, &jwks);
    wait_for(&issuer).await;
    let (app, _) = app_with_oidc(TestBackend::Sqlite, &[("GATEHOUSE_OIDC_ISSUER", &issuer)]).await;
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "dev", "dev-password").await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 303);
    let old_key = std::fs::read_to_string(&jwks).unwrap();

    // The provider restarts with a new key; Gatehouse still holds the old key set.
    first.kill().unwrap();
    first.wait().unwrap();
    drop(first_stdin);
    std::fs::remove_file(&jwks).unwrap();
    let (_second, _second_stdin) = spawn_provider(PORT, &jwks);
    wait_for(&issuer).await;
    assert_ne!(
        std::fs::read_to_string(&jwks).unwrap(),
        old_key,
        "a new key"
    );

    let browser = new_client();
    let authorize = start(&app, &browser, "/approvals").await;
    let callback = provider_login(&authorize, "dev", "dev-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(
        signed_in_name(&app, &browser).await.as_deref(),
        Some("Dev Patel")
    );
    app.stop().await;
}

/// An ID token signed with the provider's key (or, with `other_key`, a key it never
/// published), carrying `claims`.
fn mint(claims: serde_json::Value, other_key: bool) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/mint.mjs");
    let mut command = Command::new("node");
    command.arg(script).arg(jwks_file()).arg(claims.to_string());
    if other_key {
        command.arg("--other-key");
    }
    let output = command.output().expect("node signs a token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_for_another_audience_issuer_key_or_past_their_expiry_are_refused() {
    use gatehouse_server::oidc::RelyingParty;
    provider().await;
    let party = RelyingParty::new(
        gatehouse_server::config::OidcConfig {
            issuer: ISSUER.into(),
            client_id: "gatehouse".into(),
            client_secret: "gatehouse-secret".into(),
            scopes: vec!["email".into()],
            userinfo: false,
            claim_email: "email".into(),
            claim_name: "name".into(),
            claim_groups: "groups".into(),
            claim_employee_id: "employee_id".into(),
            identity: Default::default(),
        },
        &url::Url::parse("http://127.0.0.1:3999").unwrap(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = |changes: serde_json::Value| {
        let mut base = serde_json::json!({
            "iss": ISSUER, "aud": "gatehouse", "sub": "dev", "nonce": "n-1",
            "iat": now, "exp": now + 300, "email": "dev.patel@example.com",
            "groups": ["engineering"], "employee_id": "E-7",
        });
        for (key, value) in changes.as_object().unwrap() {
            base[key] = value.clone();
        }
        base
    };
    let good = party
        .check_id_token(&mint(claims(serde_json::json!({})), false), "n-1")
        .await
        .expect("a proper token is accepted");
    assert_eq!(good.subject, "dev");
    assert_eq!(good.groups, vec!["engineering".to_string()]);
    assert_eq!(good.employee_id.as_deref(), Some("E-7"));
    // Within the 60-second clock-skew allowance.
    assert!(party
        .check_id_token(
            &mint(claims(serde_json::json!({ "exp": now - 30 })), false),
            "n-1"
        )
        .await
        .is_ok());
    for (what, token, nonce) in [
        (
            "another audience",
            mint(claims(serde_json::json!({ "aud": "someone-else" })), false),
            "n-1",
        ),
        (
            "another issuer",
            mint(
                claims(serde_json::json!({ "iss": "http://127.0.0.1:9401" })),
                false,
            ),
            "n-1",
        ),
        (
            "expired",
            mint(claims(serde_json::json!({ "exp": now - 120 })), false),
            "n-1",
        ),
        (
            "another nonce",
            mint(claims(serde_json::json!({})), false),
            "n-2",
        ),
        (
            "no nonce",
            mint(claims(serde_json::json!({ "nonce": null })), false),
            "n-1",
        ),
        (
            "a key the provider never published",
            mint(claims(serde_json::json!({})), true),
            "n-1",
        ),
    ] {
        let refused = party.check_id_token(&token, nonce).await;
        assert!(
            matches!(
                refused,
                Err(gatehouse_server::oidc::SignInError::Invalid(_))
            ),
            "{what}: {refused:?}"
        );
    }
}

async fn people_are_matched_by_subject_then_employee_id_then_email(backend: TestBackend) {
    use app::backend::services::identity::{person_for, IdentityClaims, IdentityPolicy};
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let dev = app.person_id("Dev Patel").await;
    let employee_id: String = sqlx::query_scalar("select employee_id from person where id = $1")
        .bind(dev)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    // The employee id links accounts only as a claim the provider manages, for accounts
    // of the company's tenant.
    let policy = IdentityPolicy {
        employee_id_managed: true,
        required_tenant: Some("corp".into()),
        ..IdentityPolicy::default()
    };
    let of_corp = || IdentityClaims {
        tenant: Some("corp".into()),
        ..Default::default()
    };
    let foreign_tenant = IdentityClaims {
        subject: "idp-42".into(),
        employee_id: Some(employee_id.clone()),
        tenant: Some("elsewhere".into()),
        ..Default::default()
    };
    let refused = person_for(&app.state, &foreign_tenant, &policy)
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("another organisation"),
        "{}",
        refused.message
    );
    let unmanaged = person_for(
        &app.state,
        &IdentityClaims {
            subject: "idp-42".into(),
            employee_id: Some(employee_id.clone()),
            email: Some("d.patel@corp.example".into()),
            ..of_corp()
        },
        &IdentityPolicy {
            employee_id_managed: false,
            ..policy.clone()
        },
    )
    .await
    .unwrap_err();
    assert!(
        unmanaged.message.contains("not verified"),
        "{}",
        unmanaged.message
    );
    // By employee id, although the provider spells the email differently.
    let claims = IdentityClaims {
        subject: "idp-42".into(),
        email: Some("d.patel@corp.example".into()),
        employee_id: Some(employee_id),
        ..of_corp()
    };
    assert_eq!(person_for(&app.state, &claims, &policy).await.unwrap(), dev);
    // Then by the subject it is now linked to, whatever else changes.
    let renamed = IdentityClaims {
        subject: "idp-42".into(),
        email: Some("new.name@corp.example".into()),
        ..of_corp()
    };
    assert_eq!(
        person_for(&app.state, &renamed, &policy).await.unwrap(),
        dev
    );
    // Another account of the provider with Dev's email cannot take him over.
    let other = IdentityClaims {
        subject: "idp-99".into(),
        email: Some("dev.patel@example.com".into()),
        email_verified: true,
        ..of_corp()
    };
    let refused = person_for(&app.state, &other, &policy).await.unwrap_err();
    assert!(
        refused.message.contains("already linked"),
        "{}",
        refused.message
    );
    // Not by an email the provider did not verify: that would let anyone who can type an
    // address at the provider become Tom.
    let unverified = IdentityClaims {
        subject: "idp-7".into(),
        email: Some("Tom.Turner@Example.com".into()),
        ..of_corp()
    };
    let refused = person_for(&app.state, &unverified, &policy)
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("not verified"),
        "{}",
        refused.message
    );
    // By a verified email (case-insensitive) for someone not linked yet.
    let by_email = IdentityClaims {
        subject: "idp-7".into(),
        email: Some("Tom.Turner@Example.com".into()),
        email_verified: true,
        ..of_corp()
    };
    assert_eq!(
        person_for(&app.state, &by_email, &policy).await.unwrap(),
        app.person_id("Tom Turner").await
    );
    let links = app
        .scalar("select count(*) from audit_event where action = 'person.identity_linked'")
        .await;
    assert_eq!(
        links, 2,
        "Dev by employee id, Tom by email: each link audited"
    );
    app.stop().await;
}

async fn roles_from_the_provider_lapse_until_it_confirms_them_again(backend: TestBackend) {
    use app::api::audit::GetAuditTrail;
    let (app, _) = app_with_oidc(backend, &[("GATEHOUSE_OIDC_ROLE_MINUTES", "10")]).await;
    let browser = new_client();
    let sign_in = |browser: reqwest::Client| {
        let app = &app;
        async move {
            let authorize = start(app, &browser, "/").await;
            let callback = provider_login(&authorize, "ada", "ada-password").await;
            assert_eq!(browser.get(&callback).send().await.unwrap().status(), 303);
        }
    };
    sign_in(browser.clone()).await;
    assert_eq!(app.call::<GetAuditTrail>(&browser, &[]).await.status(), 200);
    // Eleven minutes later the administrator role is no longer taken on the word of the
    // sign-in: it counts as none until the provider confirms it.
    app.clock.advance_minutes(11);
    assert_eq!(app.call::<GetAuditTrail>(&browser, &[]).await.status(), 404);
    let info: serde_json::Value = app
        .call::<app::api::session::GetSiteInfo>(&browser, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["viewer"]["display_name"], "Ada Admin", "{info}");
    assert_eq!(info["viewer"]["is_admin"], false, "{info}");
    assert_eq!(info["viewer"]["roles_to_confirm"], true, "{info}");
    // The page offers to confirm them: one form post back through the provider.
    let page = app.page(&browser, "/approvals").await;
    assert!(page.contains("Confirm your roles"), "{page}");
    assert!(page.contains("action=\"/auth/login\""), "{page}");
    assert!(
        !page.contains("href=\"/audit\""),
        "no audit link without the role"
    );
    // Signing in again through the provider confirms them.
    sign_in(browser.clone()).await;
    assert_eq!(app.call::<GetAuditTrail>(&browser, &[]).await.status(), 200);
    app.stop().await;
}

async fn an_account_whose_email_the_provider_did_not_verify_takes_over_nobody(
    backend: TestBackend,
) {
    let (app, _) = app_with_oidc(backend, &[]).await;
    // Mallory's provider account claims Ada's address, unverified.
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "mallory", "mallory-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("has not verified your email address"),
        "{page}"
    );
    assert_eq!(signed_in_name(&app, &browser).await, None);
    assert_eq!(
        app.scalar("select count(*) from person where oidc_subject is not null")
            .await,
        0,
        "nobody was linked"
    );
    // Ada's own, verified account signs in as her, and the link is audited.
    let browser = new_client();
    let authorize = start(&app, &browser, "/").await;
    let callback = provider_login(&authorize, "ada", "ada-password").await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        signed_in_name(&app, &browser).await.as_deref(),
        Some("Ada Admin")
    );
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'person.identity_linked'")
            .await,
        1
    );
    app.stop().await;
}

crate::on_both_backends!(
    people_are_matched_by_subject_then_employee_id_then_email,
    an_account_whose_email_the_provider_did_not_verify_takes_over_nobody,
    roles_from_the_provider_lapse_until_it_confirms_them_again,
    a_person_signs_in_through_the_provider_and_lands_where_they_asked,
    the_session_id_changes_at_sign_in,
    forged_or_replayed_answers_are_refused,
    unknown_people_are_refused_unless_configuration_allows_them,
    sign_out_ends_the_session_and_the_provider_s,
);
