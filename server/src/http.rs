//! The HTTP side: the axum router with health checks, the Leptos pages and server
//! functions, static files, and the middleware every response passes through.

use crate::config::Config;
use app::backend::db::SchemaState;
use app::backend::store::session::DbSessionStore;
use app::backend::AppState;
use app::{shell, App};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// How long any request may take before it is answered 408 Request Timeout.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.bind)
        .env(if config.is_development() {
            leptos::config::Env::DEV
        } else {
            leptos::config::Env::PROD
        })
        .build()
}

/// The application's page routes, found once per process.
///
/// Finding them renders the whole application with resource loading suppressed, and
/// Leptos keeps that suppression in one process-wide flag: a page rendering at the same
/// moment, anywhere in the process, whose data first starts loading while the flag is up
/// waits forever (leptos-rs/leptos#4773). That was the rare page that never finished in
/// the test suite, where many applications start in one process. Found once, before the
/// first router exists, no render can overlap it.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application as one router, ready to serve.
pub fn router(config: &Config, state: AppState) -> Router {
    let options = leptos_options(config);
    let routes = page_routes();
    let page_context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let ready_state = state.clone();
    let metrics_state = state.clone();
    let metrics_token = config.metrics_token.clone();

    let secure_cookie = config.public_url.scheme() == "https";
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        // `__Host-` makes the browser refuse the cookie unless it is Secure, host-only and
        // for the whole site.
        .with_name(if secure_cookie {
            "__Host-gatehouse"
        } else {
            "gatehouse"
        })
        .with_secure(secure_cookie)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.session_idle_minutes,
        )));

    let origin = Arc::new(AllowedOrigin {
        origin: config.public_origin(),
    });

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || readyz(ready_state.clone())))
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| {
                crate::metrics::scrape(metrics_state.clone(), metrics_token.clone(), headers)
            }),
        )
        .route(
            "/manage/reviews/instances/{id}/items.csv",
            get({
                let state = state.clone();
                move |path, session| review_items_csv(state.clone(), path, session)
            }),
        )
        .leptos_routes_with_context(&options, routes, page_context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            page_context,
            shell,
        ))
        .with_state(options)
        .merge(oidc_routes(config, &state))
        .layer(middleware::from_fn_with_state(
            Arc::new(config.is_development()),
            development_only,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::new(FormLimits {
                body_bytes: config.body_limit_bytes,
                https: secure_cookie,
            }),
            form_token,
        ))
        .layer(sessions)
        .layer(middleware::from_fn(server_function_error_status))
        // No request may hang a connection forever: a response not ready in time is
        // answered 408. (A rare stuck page render was seen once in the test suite; see the
        // notes. This bounds it for people while its cause is investigated.)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(origin, same_origin_only))
        // After the portal's own limits, sessions and form tokens, which SCIM (a program
        // with a bearer token) has no use for; before the headers and tracing every
        // response gets.
        .merge(crate::scim::routes(config, state.clone()))
        .layer(middleware::from_fn_with_state(
            Arc::new(secure_cookie),
            security_headers,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // The path, never the query, and never an email link's token.
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = %loggable_path(request.uri().path()),
                )
            }),
        )
}

/// A path as it may appear in the log: an email action link's token is a secret, so
/// `/act/<token>` is logged as `/act/…`.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/act/") {
        "/act/…"
    } else {
        path
    }
}

const FORM_TOKEN_KEY: &str = "form_token";

/// The cookie that carries the form token of a visitor who is not signed in. Keeping it in
/// a cookie instead of a session means an anonymous page view writes nothing on the
/// server; a cross-site page can neither read it nor set it (`SameSite=Strict`, and
/// `__Host-` over HTTPS).
fn form_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-gatehouse-form"
    } else {
        "gatehouse-form"
    }
}

/// The anonymous form token the request's cookie carries, if it looks like one of ours.
fn form_cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
        .filter(|value| {
            (32..=128).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn new_form_token() -> String {
    openidconnect::CsrfToken::new_random_len(32)
        .secret()
        .clone()
}

fn form_expired() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Form expired · Gatehouse</title>\
         <link rel=\"stylesheet\" href=\"/pkg/gatehouse.css\"></head><body><main class=\"container error-page\">\
         <h1>This form has expired</h1><p role=\"alert\">Go back, reload the page and send the form again.</p>\
         </main></body></html>",
    )
        .into_response()
}

/// What a state-changing request's body is, for the form-token rule.
#[derive(PartialEq, Eq)]
enum BodyKind {
    /// `application/x-www-form-urlencoded`: an HTML form, or a server function call.
    Form,
    /// `application/json`: only scripts send it, and a cross-site script must ask first
    /// (CORS preflight), which this site never grants.
    Json,
    /// No body at all.
    Empty,
    /// Anything else (`text/plain`, `multipart/form-data`...): what a cross-site HTML form
    /// can send without asking.
    Other,
}

fn body_kind(request: &Request) -> BodyKind {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|kind| {
            kind.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let empty = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|length| length.trim() == "0");
    match content_type.as_deref() {
        Some("application/x-www-form-urlencoded") => BodyKind::Form,
        Some("application/json") => BodyKind::Json,
        None if empty => BodyKind::Empty,
        _ => BodyKind::Other,
    }
}

/// Gives every page a form token (pages render it into every form, see
/// `app::components::form`) and checks it on state-changing requests:
/// - a signed-in person's token lives in their session; a visitor's in a cookie, so that a
///   page view without a cookie writes no session;
/// - a form body that carries the token must carry the right one;
/// - without a token, only a script's call is accepted: a form-encoded or JSON server
///   function call that does not ask for HTML (browsers' own cross-site checks, and the
///   same-origin middleware, cover those), or an empty body. A plain HTML form post, and any
///   `text/plain` or `multipart/form-data` body, is refused whatever it asks for.
async fn form_token(
    State(limits): State<Arc<FormLimits>>,
    mut request: Request,
    next: Next,
) -> Response {
    use app::components::form::{FormToken, FORM_TOKEN_FIELD};
    let Some(session) = request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned()
    else {
        return next.run(request).await;
    };
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let cookie_name = form_cookie_name(limits.https);
    let stored: Option<String> = session.get(FORM_TOKEN_KEY).await.ok().flatten();
    let signed_in = app::backend::auth::is_signed_in(&session)
        .await
        .unwrap_or(false);
    let mut set_cookie = None;
    let token = match stored {
        Some(token) => token,
        // A signed-in session is written anyway; its token goes with it. Only a page
        // makes one: the page's own requests (styles, scripts, icons) arrive at the same
        // time and must not replace the token the page's forms carry.
        None if signed_in && wants_html => {
            let token = new_form_token();
            if let Err(error) = session.insert(FORM_TOKEN_KEY, token.clone()).await {
                tracing::error!(%error, "could not store the form token");
            }
            token
        }
        None if signed_in => String::new(),
        None => match form_cookie(&request, cookie_name) {
            Some(token) => token,
            // Only pages need one; health checks and API calls get none.
            None if wants_html && request.method() == Method::GET => {
                let token = new_form_token();
                set_cookie = Some(token.clone());
                token
            }
            None => String::new(),
        },
    };
    request.extensions_mut().insert(FormToken(token.clone()));
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        let mut response = next.run(request).await;
        if let Some(token) = set_cookie {
            let secure = if limits.https { "; Secure" } else { "" };
            if let Ok(value) = HeaderValue::from_str(&format!(
                "{cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
            )) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        return response;
    }
    let kind = body_kind(&request);
    if kind == BodyKind::Other || (kind == BodyKind::Empty && wants_html) {
        tracing::warn!(path = %loggable_path(request.uri().path()), "a post that a cross-site form could send, without a form token, refused");
        return form_expired();
    }
    if kind != BodyKind::Form {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limits.body_bytes).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == FORM_TOKEN_FIELD)
        .map(|(_, value)| value.into_owned());
    let verdict = match sent {
        Some(sent) => !token.is_empty() && crate::oidc::same_secret(&sent, &token),
        // A script's call; a plain HTML form always carries the token.
        None => !wants_html,
    };
    if !verdict {
        tracing::warn!(path = %loggable_path(parts.uri.path()), "form post without this session's form token refused");
        return form_expired();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// What the form-token middleware needs to know of the configuration.
struct FormLimits {
    body_bytes: usize,
    https: bool,
}

/// The development pages (`/dev/...`) do not exist outside development mode: not even a
/// page that says so is rendered.
async fn development_only(
    State(development): State<Arc<bool>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !*development && (path == "/dev" || path.starts_with("/dev/")) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// `/auth/login` and `/auth/callback` when OpenID Connect sign-in is configured.
fn oidc_routes(config: &Config, state: &AppState) -> Router {
    let Some(oidc) = config.oidc.clone() else {
        return Router::new();
    };
    match crate::oidc::RelyingParty::new(oidc, &config.public_url) {
        Ok(party) => crate::oidc::routes(Arc::new(party), state.clone()),
        Err(error) => {
            tracing::error!(%error, "OpenID Connect sign-in is not available");
            Router::new()
        }
    }
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and its schema is the one this binary expects.
async fn readyz(state: AppState) -> Response {
    let problem = match state.db.ping().await {
        Err(error) => {
            tracing::warn!(%error, "readiness: database unreachable");
            Some("database unreachable".to_string())
        }
        Ok(()) => match state.db.schema_state().await {
            Ok(SchemaState::Current) => None,
            Ok(SchemaState::Behind { applied, latest }) => Some(format!(
                "migrations pending: at {} of {latest}",
                applied.map_or("none".to_string(), |v| v.to_string())
            )),
            Ok(SchemaState::Newer { applied, latest }) => Some(format!(
                "database is newer than this binary: at {applied}, binary knows {latest}"
            )),
            Err(error) => {
                tracing::warn!(%error, "readiness: cannot read schema version");
                Some("cannot read schema version".to_string())
            }
        },
    };
    match problem {
        None => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not ready", "reason": reason })),
        )
            .into_response(),
    }
}

/// Server functions answer every error with 500; this gives each the status of its stable
/// code (400 invalid, 401 not signed in, 404 not found, 409 conflict...), so API clients
/// and logs see what happened. The body, our JSON error, is left as it is.
async fn server_function_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::domain::AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.code.http_status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

struct AllowedOrigin {
    origin: String,
}

/// Refuses state-changing requests that a browser sent from another site. Browsers mark
/// their requests with `Sec-Fetch-Site` (and `Origin`); a request with neither comes from a
/// program, not a browser, so it carries no ambient cookie to abuse.
async fn same_origin_only(
    State(allowed): State<Arc<AllowedOrigin>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let verdict = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin") | Some("none") => true,
        Some(_) => false,
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(origin) => origin == allowed.origin,
            None => true,
        },
    };
    if verdict {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %loggable_path(request.uri().path()), "cross-origin request refused");
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "code": "forbidden",
                "message": "Cross-site requests are not accepted. Reload the page and try again."
            })),
        )
            .into_response()
    }
}

/// One place for the headers every response carries. Pages set their own Content Security
/// Policy with a per-response nonce (see `app::shell`); everything else gets a strict one.
async fn security_headers(
    State(https): State<Arc<bool>>,
    request: Request,
    next: Next,
) -> Response<Body> {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(&str, &str); 5] = [
        ("x-content-type-options", "nosniff"),
        // `same-origin` keeps the Referer for our own form posts (used to return to the
        // page after a post without JavaScript) and sends nothing to other sites.
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages and answers are personal: never kept by the browser or a proxy, so after
    // sign-out the back button asks the server again instead of showing a cached page.
    let personal = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("text/html") || kind.starts_with("application/json"));
    if personal && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    if *https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Every item of a review instance as CSV, for administrators, auditors and the review's
/// owners (decided in `services::reviews::export_csv`).
async fn review_items_csv(
    state: AppState,
    axum::extract::Path(instance_id): axum::extract::Path<i64>,
    session: tower_sessions::Session,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let result = async {
        let person = app::backend::auth::require_person(&state, &session).await?;
        app::backend::services::reviews::export_csv(&state, &person, instance_id).await
    }
    .await;
    match result {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"review-{instance_id}.csv\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            body,
        )
            .into_response(),
        Err(error) => (
            axum::http::StatusCode::from_u16(error.code.http_status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            error.message,
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn email_link_tokens_never_reach_the_log() {
        assert_eq!(
            loggable_path(&format!("/act/{}", "ab".repeat(32))),
            "/act/…"
        );
        assert_eq!(loggable_path("/approvals"), "/approvals");
    }
}
