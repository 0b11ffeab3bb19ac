//! Development sign-in, the session cookie, sign-out, and who may see what.

use crate::harness::{new_client, session_cookie, TestApp, TestBackend};
use app::api::audit::GetAuditTrail;
use app::api::dev::ListDevMail;
use app::api::home::GetHome;
use app::api::session::{DevSignIn, GetSiteInfo, SignOut};

async fn site_info(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    let response = app.call::<GetSiteInfo>(client, &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Who a bare session cookie signs in, from a client with no other state.
async fn site_info_with_cookie(app: &TestApp, cookie: &str) -> serde_json::Value {
    let response = new_client()
        .post(app.url(<GetSiteInfo as leptos::server_fn::ServerFn>::PATH))
        .header("cookie", format!("gatehouse={cookie}"))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn signing_in_shows_the_person_and_their_home(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    assert!(site_info(&app, &app.client).await["viewer"].is_null());
    app.sign_in_as(&app.client, "Alice Anders").await;
    let info = site_info(&app, &app.client).await;
    assert_eq!(info["viewer"]["display_name"], "Alice Anders");
    assert_eq!(info["development"], true);

    let html = app.page(&app.client, "/").await;
    assert!(html.contains("Welcome, Alice Anders"), "{html}");
    for heading in ["My access", "My requests", "Waiting for me"] {
        assert!(html.contains(heading), "missing {heading}");
    }
    // Alice's reports' requests wait for her; her own request waits for her manager.
    assert!(html.contains("Dev Patel") && html.contains("GitHub organisation"));
    assert!(html.contains("AWS sandbox account"));
    app.stop().await;
}

async fn the_session_cookie_is_http_only_lax_and_the_id_changes_at_sign_in(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let id = app.person_id("Ben Brooks").await;
    let response = app
        .call::<DevSignIn>(&app.client, &[("person_id", id.to_string())])
        .await;
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let first = session_cookie(&response).unwrap();

    // Signing in again with that session (as someone who planted it would) issues a new id,
    // and the old one no longer signs anybody in.
    let second = app.sign_in_as(&app.client, "Chloe Chen").await;
    assert_ne!(first, second);
    let info = site_info_with_cookie(&app, &first).await;
    assert!(info["viewer"].is_null(), "{info}");
    app.stop().await;
}

async fn session_rows_are_keyed_by_a_hash_of_the_id(backend: TestBackend) {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let cookie = app.sign_in_as(&app.client, "Alice Anders").await;
    let keys: Vec<String> = sqlx::query_scalar("select id from session")
        .fetch_all(app.state.db.reader())
        .await
        .unwrap();
    assert!(
        !keys.contains(&cookie),
        "the session id itself is not stored"
    );
    let hashed = Sha256::digest(cookie.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    assert!(keys.contains(&hashed), "{keys:?}");
    // A key read from the table is no use as a cookie.
    for key in &keys {
        assert!(site_info_with_cookie(&app, key).await["viewer"].is_null());
    }
    assert_eq!(
        site_info_with_cookie(&app, &cookie).await["viewer"]["display_name"],
        "Alice Anders"
    );
    app.stop().await;
}

async fn signing_out_ends_the_session_on_the_server(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let cookie = app.sign_in_as(&app.client, "Alice Anders").await;
    let response = app.call::<SignOut>(&app.client, &[]).await;
    assert!(response.status().is_success());
    assert!(site_info(&app, &app.client).await["viewer"].is_null());
    // Replaying the old cookie (the back button, a stolen copy) finds no session.
    assert!(site_info_with_cookie(&app, &cookie).await["viewer"].is_null());
    app.stop().await;
}

async fn a_disabled_person_is_signed_out_at_their_next_request(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    app.sign_in_as(&app.client, "Tom Turner").await;
    sqlx::query("update person set status = 'disabled' where display_name = 'Tom Turner'")
        .execute(app.state.db.writer())
        .await
        .unwrap();
    assert!(site_info(&app, &app.client).await["viewer"].is_null());
    let home = app.call::<GetHome>(&app.client, &[]).await;
    assert_eq!(home.status(), 401);
    app.stop().await;
}

async fn a_session_ends_after_its_absolute_lifetime(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SESSION_ABSOLUTE_MINUTES", "30")]).await;
    app.seed_demo().await;
    app.sign_in_as(&app.client, "Alice Anders").await;
    app.clock.advance_minutes(29);
    assert_eq!(
        site_info(&app, &app.client).await["viewer"]["display_name"],
        "Alice Anders"
    );
    app.clock.advance_minutes(2);
    assert!(site_info(&app, &app.client).await["viewer"].is_null());
    app.stop().await;
}

async fn signing_in_as_an_unknown_or_inactive_person_is_refused(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let response = app
        .call::<DevSignIn>(&app.client, &[("person_id", "987654".into())])
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["code"],
        "not_found"
    );
    let malformed = app
        .call::<DevSignIn>(&app.client, &[("person_id", "alice".into())])
        .await;
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        malformed.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid"
    );
    assert!(site_info(&app, &app.client).await["viewer"].is_null());
    app.stop().await;
}

async fn development_sign_in_does_not_exist_when_switched_off(backend: TestBackend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_DEV_SIGN_IN", "false"),
        ],
    )
    .await;
    app.seed_demo().await;
    let id = app.person_id("Alice Anders").await;
    let response = app
        .call::<DevSignIn>(&app.client, &[("person_id", id.to_string())])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["code"],
        "disabled"
    );
    assert!(site_info(&app, &app.client).await["viewer"].is_null());
    // Neither the banner nor the development mail page exists in production.
    let html = app.page(&app.client, "/").await;
    assert!(!html.contains("Development mode"));
    let mail = app.call::<ListDevMail>(&app.client, &[]).await;
    assert_eq!(mail.status(), 404);
    let page = app.get_page(&app.client, "/dev/mail").await;
    assert_eq!(
        page.status(),
        404,
        "the development mail page does not exist"
    );
    assert!(!page.text().await.unwrap().contains("Development mail"));
    app.stop().await;
}

async fn only_administrators_and_auditors_see_the_audit_trail(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let anonymous = app.call::<GetAuditTrail>(&app.client, &[]).await;
    assert_eq!(anonymous.status(), 401);

    let employee = new_client();
    app.sign_in_as(&employee, "Dev Patel").await;
    let refused = app.call::<GetAuditTrail>(&employee, &[]).await;
    assert_eq!(
        refused.status(),
        404,
        "to an employee the trail does not exist"
    );
    let body = refused.text().await.unwrap();
    assert!(!body.contains("session.signed_in"), "{body}");

    for who in ["Ada Admin", "Otto Auditor"] {
        let client = new_client();
        app.sign_in_as(&client, who).await;
        let trail = app.call::<GetAuditTrail>(&client, &[]).await;
        assert_eq!(trail.status(), 200, "{who}");
        let trail: serde_json::Value = trail.json().await.unwrap();
        assert!(trail["chain_break"].is_null(), "{trail}");
        assert!(trail["verified_events"].as_u64().unwrap() > 50);
    }
    app.stop().await;
}

crate::on_both_backends!(
    session_rows_are_keyed_by_a_hash_of_the_id,
    signing_in_shows_the_person_and_their_home,
    the_session_cookie_is_http_only_lax_and_the_id_changes_at_sign_in,
    signing_out_ends_the_session_on_the_server,
    a_disabled_person_is_signed_out_at_their_next_request,
    a_session_ends_after_its_absolute_lifetime,
    signing_in_as_an_unknown_or_inactive_person_is_refused,
    development_sign_in_does_not_exist_when_switched_off,
    only_administrators_and_auditors_see_the_audit_trail,
);
