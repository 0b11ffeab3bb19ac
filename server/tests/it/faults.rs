//! A small fault proxy of the test harness, in front of a real server: it passes requests
//! through, or answers 500, hangs past the client's timeout, answers 429 with a
//! Retry-After, or stops listening so that connections are refused.

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
    let fault = *shared.fault.lock().unwrap();
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
