//! `/metrics`: the OpenMetrics text a monitoring system scrapes. It answers only with the
//! bearer token of `GATEHOUSE_METRICS_TOKEN` (404 when none is configured, 401 without
//! it). Figures are read from the database at each scrape, so every instance reports the
//! same queue.

use app::backend::services::connectors::{health, Health};
use app::backend::AppState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(String, String)>;

/// Whether the request carries the configured token (compared as digests, so the time
/// taken says nothing about how much of it matched).
fn authorised(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    Sha256::digest(given.as_bytes()) == Sha256::digest(token.as_bytes())
}

pub async fn scrape(state: AppState, token: Option<String>, headers: HeaderMap) -> Response {
    let Some(token) = token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorised(&headers, &token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    match health(&state).await {
        Ok(figures) => match render(&figures) {
            Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
            Err(error) => {
                tracing::error!(%error, "metrics could not be encoded");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        Err(error) => {
            tracing::warn!(%error, "metrics could not be read");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn by_status(registry: &mut Registry, name: &str, help: &str, counts: &[(String, i64)]) {
    let family = Family::<Labels, Gauge>::default();
    for (status, count) in counts {
        family
            .get_or_create(&vec![("status".to_string(), status.clone())])
            .set(*count);
    }
    registry.register(name, help, family);
}

fn single(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

/// The figures as OpenMetrics text.
pub fn render(figures: &Health) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    by_status(
        &mut registry,
        "gatehouse_provisioning_jobs",
        "Provisioning jobs by status (pending, running, failed, dead, succeeded)",
        &figures.jobs,
    );
    single(
        &mut registry,
        "gatehouse_removals_late",
        "Removals not verified downstream although the access ended more than the alarm delay ago",
        figures.late_removals,
    );
    single(
        &mut registry,
        "gatehouse_removal_alarm",
        "1 while any removal is late, else 0",
        i64::from(figures.late_removals > 0),
    );
    single(
        &mut registry,
        "gatehouse_assignments_overdue",
        "Access past its end by more than the alarm delay and not yet ended",
        figures.overdue_assignments,
    );
    by_status(
        &mut registry,
        "gatehouse_outbound_messages",
        "Email messages by status",
        &figures.messages,
    );
    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_become_openmetrics_text() {
        let text = render(&Health {
            jobs: vec![("dead".into(), 2), ("pending".into(), 5)],
            late_removals: 3,
            overdue_assignments: 0,
            messages: vec![("sent".into(), 7)],
        })
        .unwrap();
        assert!(
            text.contains("gatehouse_provisioning_jobs{status=\"dead\"} 2"),
            "{text}"
        );
        assert!(text.contains("gatehouse_removals_late 3"), "{text}");
        assert!(text.contains("gatehouse_removal_alarm 1"), "{text}");
        assert!(
            text.contains("gatehouse_outbound_messages{status=\"sent\"} 7"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn only_the_configured_token_opens_it() {
        let mut headers = HeaderMap::new();
        assert!(!authorised(&headers, "s3cret"));
        headers.insert(header::AUTHORIZATION, "Bearer wrong".parse().unwrap());
        assert!(!authorised(&headers, "s3cret"));
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(authorised(&headers, "s3cret"));
    }
}
