//! Health, readiness, security headers, forged-request refusal, body limit, pages.

use crate::harness::{TestApp, TestBackend, PUBLIC_ORIGIN};
use app::api::session::GetSiteInfo;
use leptos::server_fn::ServerFn;

async fn health_and_readiness_answer(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    app.stop().await;
}

async fn readiness_fails_when_the_database_is_newer_than_the_binary(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    sqlx::query(
        "insert into _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         values (9999, 'from the future', current_timestamp, $1, $2, 0)",
    )
    .bind(true)
    .bind(vec![0_u8; 48])
    .execute(app.state.db.writer())
    .await
    .unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("newer"), "{body}");
    app.stop().await;
}

async fn pages_carry_the_security_headers_and_a_nonce_policy(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let page = app.get_page(&app.client, "/").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let policy = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the policy names a nonce")
        .to_string();
    let html = page.text().await.unwrap();
    // Every inline script carries this response's nonce, or the browser would block it.
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "{html}"
    );
    // Another response gets another nonce.
    let second = app.client.get(app.url("/")).send().await.unwrap();
    assert!(!second.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
    app.stop().await;
}

async fn home_is_rendered_on_the_server_with_the_development_banner(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let html = app.page(&app.client, "/").await;
    assert!(html.contains("Development mode"), "{html}");
    assert!(html.contains("href=\"/sign-in\""), "{html}");
    assert!(html.contains("<h1>Gatehouse</h1>"), "{html}");
    app.stop().await;
}

async fn unknown_pages_answer_404_with_a_page(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
    app.stop().await;
}

async fn cross_site_posts_are_refused_even_with_a_session(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    app.sign_in_as(&app.client, "Alice Anders").await;
    let url = app.url(GetSiteInfo::PATH);
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        let response = app
            .client
            .post(&url)
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}: {value}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "forbidden");
    }
    // The same request from the site itself is served.
    for (header, value) in [("sec-fetch-site", "same-origin"), ("origin", PUBLIC_ORIGIN)] {
        let response = app
            .client
            .post(&url)
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{header}: {value}");
    }
    app.stop().await;
}

async fn plain_form_posts_must_carry_the_session_s_form_token(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let browser = crate::harness::new_client();
    // A page gives the session its token, in a meta tag and in every form.
    let page = app.page(&browser, "/sign-in").await;
    let token = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the form token")
        .to_string();
    assert!(token.len() >= 32, "{token}");
    assert!(page.contains(&format!("name=\"csrf_token\" value=\"{token}\"")));
    let alice = app.person_id("Alice Anders").await.to_string();
    let post = |fields: Vec<(&'static str, String)>| {
        browser
            .post(app.url(app::api::session::DevSignIn::PATH))
            .header("accept", "text/html,application/xhtml+xml")
            .form(&fields)
            .send()
    };
    for fields in [
        vec![("person_id", alice.clone())],
        vec![
            ("person_id", alice.clone()),
            ("csrf_token", "forged".to_string()),
        ],
    ] {
        let response = post(fields).await.unwrap();
        assert_eq!(response.status(), 403);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("This form has expired"));
    }
    let signed_in: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'session.signed_in'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(signed_in, 0, "refused posts change nothing");
    let response = post(vec![("person_id", alice), ("csrf_token", token)])
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let signed_in: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'session.signed_in'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(signed_in, 1);
    app.stop().await;
}

async fn oversized_bodies_are_refused(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_BODY_LIMIT_BYTES", "1024")]).await;
    let response = app
        .client
        .post(app.url(GetSiteInfo::PATH))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    app.stop().await;
}

async fn server_functions_are_not_reachable_with_get(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let id = app.person_id("Alice Anders").await;
    let url = format!(
        "{}?person_id={id}",
        app.url(app::api::session::DevSignIn::PATH)
    );
    let response = app.client.get(url).send().await.unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(crate::harness::session_cookie(&response).is_none());
    let sign_ins = app::backend::store::audit::count_for(
        app.state.db.reader(),
        "session.signed_in",
        "person",
        &id.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(sign_ins, 0);
    app.stop().await;
}

async fn an_anonymous_page_view_writes_no_session(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let sessions = || app.scalar("select count(*) from session");
    let before = sessions().await;
    for path in ["/", "/sign-in", "/catalog", "/approvals", "/no-such-page"] {
        for _ in 0..5 {
            let visitor = crate::harness::new_client();
            let response = app.get_page(&visitor, path).await;
            assert_eq!(
                crate::harness::session_cookie(&response),
                None,
                "{path} starts no session"
            );
        }
    }
    assert_eq!(sessions().await, before, "page views wrote no session");
    // The token the sign-in form needs rides in a cookie of its own, and still works.
    let browser = crate::harness::new_client();
    let page = app.page(&browser, "/sign-in").await;
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in form carries a token")
        .to_string();
    let response = browser
        .post(app.url(app::api::session::DevSignIn::PATH))
        .header("accept", "text/html")
        .form(&[
            ("person_id", app.person_id("Alice Anders").await.to_string()),
            ("csrf_token", token),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(
        sessions().await,
        before + 1,
        "signing in starts one session"
    );
    app.stop().await;
}

async fn a_page_s_own_requests_do_not_replace_its_form_token(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let browser = crate::harness::new_client();
    app.sign_in_as(&browser, "Alice Anders").await;
    let page = app.page(&browser, "/settings").await;
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's forms carry the token")
        .to_string();
    // What the browser fetches alongside the page, and the hydrated page's own calls.
    for (path, accept) in [
        ("/pkg/gatehouse.css", "text/css,*/*;q=0.1"),
        ("/favicon.svg", "image/avif,image/webp,*/*"),
    ] {
        browser
            .get(app.url(path))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
    }
    app.call::<GetSiteInfo>(&browser, &[]).await;
    // The page's form still posts without JavaScript.
    let response = browser
        .post(app.url(app::api::session::SignOut::PATH))
        .header("accept", "text/html")
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 403, "the form token was replaced");
    let info: serde_json::Value = app
        .call::<GetSiteInfo>(&browser, &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(info["viewer"].is_null(), "signed out: {info}");
    app.stop().await;
}

async fn text_and_multipart_posts_without_the_form_token_are_refused(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    app.sign_in_as(&app.client, "Alice Anders").await;
    let url = app.url(app::api::session::SignOut::PATH);
    for content_type in ["text/plain", "multipart/form-data; boundary=xyz"] {
        for accept in ["application/json", "text/html", "*/*"] {
            let body = if content_type.starts_with("multipart") {
                "--xyz\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\nb\r\n--xyz--\r\n"
            } else {
                "a=b"
            };
            let response = app
                .client
                .post(&url)
                .header("content-type", content_type)
                .header("accept", accept)
                .header("origin", PUBLIC_ORIGIN)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{content_type}, {accept}");
        }
    }
    let info: serde_json::Value = app
        .call::<GetSiteInfo>(&app.client, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        info["viewer"]["display_name"], "Alice Anders",
        "still signed in: {info}"
    );
    app.stop().await;
}

crate::on_both_backends!(
    a_page_s_own_requests_do_not_replace_its_form_token,
    an_anonymous_page_view_writes_no_session,
    text_and_multipart_posts_without_the_form_token_are_refused,
    health_and_readiness_answer,
    readiness_fails_when_the_database_is_newer_than_the_binary,
    pages_carry_the_security_headers_and_a_nonce_policy,
    home_is_rendered_on_the_server_with_the_development_banner,
    unknown_pages_answer_404_with_a_page,
    cross_site_posts_are_refused_even_with_a_session,
    plain_form_posts_must_carry_the_session_s_form_token,
    oversized_bodies_are_refused,
    server_functions_are_not_reachable_with_get,
);
