//! `/scim/v2`: the SCIM 2.0 service an HR system or identity provider pushes people to
//! (RFC 7644). Thin: reads the bearer token, the body and the headers, calls
//! `services::scim`, and writes `application/scim+json` answers with their ETags. Every
//! error is the RFC's error body.

use crate::config::Config;
use app::backend::services::scim::{self as service, Caller, ListQuery};
use app::backend::AppState;
use app::domain::scim::ScimError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// A Bulk of 10 000 people takes seconds; nothing takes longer than this.
const SCIM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Clone)]
struct Scim {
    state: AppState,
    /// The service's own URL, for `location` and `$ref`.
    base: Arc<str>,
}

/// The SCIM routes, with their own body limit (a Bulk request is larger than a form) and
/// timeout. No session and no form token: a program calls them with a bearer token.
pub fn routes(config: &Config, state: AppState) -> Router {
    let base = format!(
        "{}/scim/v2",
        config.public_url.as_str().trim_end_matches('/')
    );
    let scim = Scim {
        state,
        base: Arc::from(base),
    };
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(schema))
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/Users", get(list_users).post(create_user))
        .route("/scim/v2/Users/.search", post(search_users))
        .route(
            "/scim/v2/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/scim/v2/Bulk", post(bulk))
        .route("/scim/v2/{*rest}", get(not_served).post(not_served))
        .with_state(scim)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            SCIM_TIMEOUT,
        ))
        .layer(DefaultBodyLimit::max(service::BULK_MAX_BYTES))
        .layer(RequestBodyLimitLayer::new(service::BULK_MAX_BYTES))
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/scim+json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.to_string(),
    )
        .into_response()
}

fn error(error: &ScimError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = scim_json(status, &error.body());
    if error.status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gatehouse-scim\""),
        );
    }
    response
}

fn with_version(mut response: Response, version: i64, location: Option<String>) -> Response {
    if let Ok(value) = HeaderValue::from_str(&service::etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn caller(scim: &Scim, headers: &HeaderMap) -> Result<Caller, ScimError> {
    service::authenticate(&scim.state, header_text(headers, header::AUTHORIZATION)).await
}

fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not JSON: {e}.")))
}

/// Turns a handler's result into its answer.
fn answer(result: Result<Response, ScimError>) -> Response {
    result.unwrap_or_else(|e| {
        if e.status >= 500 {
            tracing::error!(detail = %e.detail, "SCIM request failed");
        }
        error(&e)
    })
}

async fn service_provider_config(State(scim): State<Scim>, headers: HeaderMap) -> Response {
    document(
        &scim,
        &headers,
        &service::service_provider_config(&scim.base),
    )
    .await
}

async fn schemas(State(scim): State<Scim>, headers: HeaderMap) -> Response {
    document(
        &scim,
        &headers,
        &service::list_of(service::schemas(&scim.base)),
    )
    .await
}

async fn schema(State(scim): State<Scim>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let found = find_by_id(service::schemas(&scim.base), &id, "schema");
    document_or_missing(&scim, &headers, found).await
}

async fn resource_types(State(scim): State<Scim>, headers: HeaderMap) -> Response {
    document(
        &scim,
        &headers,
        &service::list_of(service::resource_types(&scim.base)),
    )
    .await
}

async fn resource_type(
    State(scim): State<Scim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let found = find_by_id(service::resource_types(&scim.base), &id, "resource type");
    document_or_missing(&scim, &headers, found).await
}

/// A discovery document, to a caller with a valid token.
async fn document(scim: &Scim, headers: &HeaderMap, document: &Value) -> Response {
    document_or_missing(scim, headers, Ok(document.clone())).await
}

async fn document_or_missing(
    scim: &Scim,
    headers: &HeaderMap,
    document: Result<Value, ScimError>,
) -> Response {
    answer(
        async {
            caller(scim, headers).await?;
            Ok(scim_json(StatusCode::OK, &document?))
        }
        .await,
    )
}

/// The document of `documents` with this `id`, or 404 naming `what`.
fn find_by_id(documents: Vec<Value>, id: &str, what: &str) -> Result<Value, ScimError> {
    documents
        .into_iter()
        .find(|document| document.get("id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| ScimError::not_found(format!("No {what} {id:?}.")))
}

async fn not_served(State(scim): State<Scim>, headers: HeaderMap) -> Response {
    answer(async {
        caller(&scim, &headers).await?;
        Err(ScimError::not_found("Gatehouse serves /Users, /Bulk and the discovery endpoints; groups are Gatehouse's own."))
    }.await)
}

fn list_query(params: &HashMap<String, String>) -> ListQuery {
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    ListQuery {
        filter: get("filter"),
        sort_by: get("sortBy"),
        sort_order: get("sortOrder"),
        start_index: get("startIndex"),
        count: get("count"),
    }
}

fn param<'p>(params: &'p HashMap<String, String>, name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

async fn list(scim: &Scim, params: &HashMap<String, String>) -> Result<Response, ScimError> {
    let mut list = service::list_users(&scim.state, &list_query(params), &scim.base).await?;
    service::project_list(
        &mut list,
        param(params, "attributes"),
        param(params, "excludedAttributes"),
    )?;
    Ok(scim_json(StatusCode::OK, &list))
}

async fn list_users(
    State(scim): State<Scim>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(
        async {
            caller(&scim, &headers).await?;
            list(&scim, &params).await
        }
        .await,
    )
}

/// `POST /Users/.search` (RFC 7644 3.4.3): the list's parameters in a body, so that a
/// filter with personal data stays out of URLs and logs.
async fn search_users(State(scim): State<Scim>, headers: HeaderMap, body: Bytes) -> Response {
    answer(
        async {
            caller(&scim, &headers).await?;
            let body = json_body(&body)?;
            let object = body
                .as_object()
                .ok_or_else(|| ScimError::invalid_syntax("The body must be a JSON object."))?;
            let mut params = HashMap::new();
            for (key, value) in object {
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => continue,
                };
                params.insert(key.clone(), text);
            }
            list(&scim, &params).await
        }
        .await,
    )
}

async fn get_user(
    State(scim): State<Scim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(
        async {
            caller(&scim, &headers).await?;
            let (mut user, version) = service::get_user(&scim.state, &id, &scim.base).await?;
            if header_text(&headers, header::IF_NONE_MATCH).is_some_and(|tags| {
                tags.split(',')
                    .any(|tag| tag.trim() == service::etag(version))
            }) {
                return Ok(with_version(
                    StatusCode::NOT_MODIFIED.into_response(),
                    version,
                    None,
                ));
            }
            service::project(
                &mut user,
                param(&params, "attributes"),
                param(&params, "excludedAttributes"),
            )?;
            Ok(with_version(
                scim_json(StatusCode::OK, &user),
                version,
                None,
            ))
        }
        .await,
    )
}

async fn create_user(State(scim): State<Scim>, headers: HeaderMap, body: Bytes) -> Response {
    answer(
        async {
            let caller = caller(&scim, &headers).await?;
            let body = json_body(&body)?;
            let (user, version) =
                service::create_user(&scim.state, &caller, &body, &scim.base).await?;
            let location = user
                .pointer("/meta/location")
                .and_then(Value::as_str)
                .map(str::to_string);
            Ok(with_version(
                scim_json(StatusCode::CREATED, &user),
                version,
                location,
            ))
        }
        .await,
    )
}

async fn replace_user(
    State(scim): State<Scim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    change_user(&scim, &headers, &id, &body, service::Write::Replace).await
}

async fn patch_user(
    State(scim): State<Scim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    change_user(&scim, &headers, &id, &body, service::Write::Patch).await
}

async fn change_user(
    scim: &Scim,
    headers: &HeaderMap,
    id: &str,
    body: &Bytes,
    write: service::Write,
) -> Response {
    answer(
        async {
            let caller = caller(scim, headers).await?;
            let body = json_body(body)?;
            let if_match = header_text(headers, header::IF_MATCH);
            let (user, version) =
                service::change_user(&scim.state, &caller, write, id, &body, if_match, &scim.base)
                    .await?;
            Ok(with_version(
                scim_json(StatusCode::OK, &user),
                version,
                None,
            ))
        }
        .await,
    )
}

async fn delete_user(
    State(scim): State<Scim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            let caller = caller(&scim, &headers).await?;
            let if_match = header_text(&headers, header::IF_MATCH);
            service::delete_user(&scim.state, &caller, &id, if_match).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

async fn bulk(State(scim): State<Scim>, headers: HeaderMap, body: Bytes) -> Response {
    answer(
        async {
            let caller = caller(&scim, &headers).await?;
            let body = json_body(&body)?;
            let result = service::bulk(&scim.state, &caller, &body, &scim.base).await?;
            Ok(scim_json(StatusCode::OK, &result))
        }
        .await,
    )
}
