//! SCIM 2.0 client (RFC 7643/7644): users found by `userName` (the person's email) and
//! created with `externalId`; group membership changed with PATCH and read back from the
//! group. Bearer or basic authentication. A membership already gone counts as removed.

use super::{Account, Connector, Failure};
use reqwest::{header, Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SCIM_JSON: &str = "application/scim+json";
/// Members removed by one PATCH at most. A PATCH that times out halves it for this
/// connector (a server that filters a large group slowly gets smaller ones), and each one
/// that succeeds lets it grow back by a step.
const REMOVE_CHUNK: usize = 100;
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ScimConfig {
    /// e.g. `https://scim.example.com/v2`
    pub base_url: String,
    /// `bearer` (the secret is the token) or `basic` (the secret is the password).
    #[serde(default = "bearer")]
    pub auth: String,
    /// For basic authentication.
    #[serde(default)]
    pub username: String,
    /// Seconds before a call is given up (and retried later).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Resources asked for per page when reading a list (RFC 7644 3.4.2.4).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
}

fn default_page_size() -> usize {
    200
}

fn bearer() -> String {
    "bearer".to_string()
}

fn default_timeout() -> u64 {
    10
}

impl ScimConfig {
    pub fn parse(json: &str) -> Result<Self, String> {
        let config: ScimConfig =
            serde_json::from_str(json).map_err(|error| format!("SCIM settings: {error}"))?;
        let url = url::Url::parse(&config.base_url)
            .map_err(|_| format!("SCIM base URL {:?} is not a URL", config.base_url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the SCIM base URL must be http or https".to_string());
        }
        if url.scheme() == "http" && !super::is_loopback(&url) {
            return Err(
                "the SCIM base URL must be https: plain http would send the token unencrypted (allowed to this machine only)"
                    .to_string(),
            );
        }
        if !matches!(config.auth.as_str(), "bearer" | "basic") {
            return Err("SCIM authentication must be bearer or basic".to_string());
        }
        Ok(config)
    }
}

enum Auth {
    None,
    Bearer(String),
    Basic { username: String, password: String },
}

pub struct Scim {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    page_size: usize,
    remove_chunk: AtomicUsize,
}

/// Pages read at most from one list (a runaway server cannot keep a job forever).
const MAX_PAGES: usize = 1_000;

impl Scim {
    pub fn new(config: &ScimConfig, secret: Option<&str>) -> Result<Self, String> {
        let client = super::http_client(config.timeout_seconds)?;
        let auth = match (config.auth.as_str(), secret) {
            (_, None) => Auth::None,
            ("basic", Some(password)) => Auth::Basic {
                username: config.username.clone(),
                password: password.to_string(),
            },
            (_, Some(token)) => Auth::Bearer(token.to_string()),
        };
        Ok(Self {
            client,
            base: config.base_url.trim_end_matches('/').to_string(),
            auth,
            page_size: config.page_size.clamp(1, 1_000),
            remove_chunk: AtomicUsize::new(REMOVE_CHUNK),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), Failure> {
        self.send(method, path, body)
            .await
            .map_err(|error| error.failure)
    }

    /// [`Self::call`], telling a timeout apart.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), CallError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(header::ACCEPT, SCIM_JSON);
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
        };
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|error| CallError {
            timed_out: error.is_timeout(),
            failure: Failure::Retry {
                message: format!("SCIM server unreachable: {}", without_url(&error)),
                after: None,
            },
        })?;
        let status = response.status();
        let retry_after = super::retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() || status == StatusCode::NOT_FOUND || status == StatusCode::CONFLICT
        {
            return Ok((status, body));
        }
        let detail = body
            .get("detail")
            .and_then(Value::as_str)
            .map(|detail| format!(": {detail}"))
            .unwrap_or_default();
        let message = format!("SCIM server answered {status}{detail}");
        Err(CallError {
            timed_out: false,
            failure: classify(status, message, retry_after),
        })
    }
}

struct CallError {
    failure: Failure,
    timed_out: bool,
}

impl Scim {
    /// Reads a list resource page by page (`startIndex`, `count`), until `totalResults`
    /// is reached, a page comes back empty, or `enough` says so; follows a server that
    /// pages smaller than asked.
    async fn list(
        &self,
        resource: &str,
        attributes: &str,
        mut enough: impl FnMut(&[Value]) -> bool,
    ) -> Result<Vec<Value>, Failure> {
        let mut all: Vec<Value> = Vec::new();
        let mut start = 1;
        for _ in 0..MAX_PAGES {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("startIndex", &start.to_string())
                .append_pair("count", &self.page_size.to_string())
                .append_pair("attributes", attributes)
                .finish();
            let (_, body) = self
                .call(Method::GET, &format!("/{resource}?{query}"), None)
                .await?;
            let page = body
                .get("Resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = body
                .get("totalResults")
                .and_then(Value::as_u64)
                .and_then(|total| usize::try_from(total).ok())
                .unwrap_or(0);
            let read = page.len();
            all.extend(page);
            start += read;
            if read == 0 || start > total || enough(&all) {
                break;
            }
        }
        Ok(all)
    }
}

/// What to do about an HTTP failure: 429 and 5xx are retried (429 not before its
/// Retry-After), as are 401/403 (credentials are fixed in the configuration, not in the
/// job); other 4xx are the request's own fault.
pub fn classify(status: StatusCode, message: String, retry_after: Option<Duration>) -> Failure {
    if status == StatusCode::TOO_MANY_REQUESTS {
        Failure::Retry {
            message,
            after: retry_after,
        }
    } else if status.is_server_error()
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Failure::Retry {
            message,
            after: None,
        }
    } else {
        Failure::GiveUp { message }
    }
}

/// reqwest's errors name the URL; keep only what went wrong.
fn without_url(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connection refused or failed".to_string()
    } else {
        error.without_url_ref().to_string()
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text.replace(url.as_str(), "…"),
            None => text,
        }
    }
}

fn filter_value(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[async_trait::async_trait]
impl Connector for Scim {
    async fn find_user(&self, account: &Account) -> Result<Option<String>, Failure> {
        let filter = format!("userName eq \"{}\"", filter_value(&account.email));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", &filter)
            .finish();
        let (_, body) = self
            .call(Method::GET, &format!("/Users?{query}"), None)
            .await?;
        Ok(body
            .get("Resources")
            .and_then(Value::as_array)
            .and_then(|found| found.first())
            .and_then(|user| user.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    async fn ensure_user(&self, account: &Account) -> Result<String, Failure> {
        if let Some(id) = self.find_user(account).await? {
            return Ok(id);
        }
        let external_id = account
            .employee_id
            .clone()
            .unwrap_or_else(|| format!("gatehouse-{}", account.person_id));
        let user = json!({
            "schemas": [USER_SCHEMA],
            "userName": account.email,
            "externalId": external_id,
            "displayName": account.display_name,
            "emails": [{ "value": account.email, "primary": true }],
            "active": true,
        });
        let (status, body) = self.call(Method::POST, "/Users", Some(user)).await?;
        if status == StatusCode::CONFLICT {
            // Created meanwhile (by us on an earlier attempt, or by someone else).
            return self
                .find_user(account)
                .await?
                .ok_or_else(|| Failure::Retry {
                    message: "SCIM server says the user exists but does not find it".to_string(),
                    after: None,
                });
        }
        body.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Failure::Retry {
                message: format!("SCIM server answered {status} without a user id"),
                after: None,
            })
    }

    async fn add_member(&self, group: &str, user: &str) -> Result<(), Failure> {
        let patch = json!({
            "schemas": [PATCH_OP],
            "Operations": [{ "op": "add", "path": "members", "value": [{ "value": user }] }],
        });
        let (status, _) = self
            .call(
                Method::PATCH,
                &format!("/Groups/{}", segment(group)),
                Some(patch),
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Err(Failure::GiveUp {
                message: format!("the SCIM group {group:?} does not exist"),
            });
        }
        Ok(())
    }

    async fn remove_member(&self, group: &str, user: &str) -> Result<(), Failure> {
        let patch = json!({
            "schemas": [PATCH_OP],
            "Operations": [{
                "op": "remove",
                "path": format!("members[value eq \"{}\"]", filter_value(user)),
            }],
        });
        // 404 (no such group or member) means there is nothing left to remove.
        self.call(
            Method::PATCH,
            &format!("/Groups/{}", segment(group)),
            Some(patch),
        )
        .await
        .map(|_| ())
    }

    async fn remove_members(&self, group: &str, users: &[String]) -> Result<(), Failure> {
        // One PATCH per chunk, its filter selecting every member to remove (RFC 7644
        // 3.5.2.2); a long filter is split so that no server chokes on it.
        let mut rest = users;
        while !rest.is_empty() {
            let size = self
                .remove_chunk
                .load(Ordering::Relaxed)
                .clamp(1, REMOVE_CHUNK);
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            let selection = chunk
                .iter()
                .map(|user| format!("value eq \"{}\"", filter_value(user)))
                .collect::<Vec<_>>()
                .join(" or ");
            let patch = json!({
                "schemas": [PATCH_OP],
                "Operations": [{ "op": "remove", "path": format!("members[{selection}]") }],
            });
            match self
                .send(
                    Method::PATCH,
                    &format!("/Groups/{}", segment(group)),
                    Some(patch),
                )
                .await
            {
                Ok(_) => {
                    let grown = (size + size / 2 + 1).min(REMOVE_CHUNK);
                    self.remove_chunk.store(grown, Ordering::Relaxed);
                }
                Err(error) => {
                    if error.timed_out {
                        self.remove_chunk
                            .store((size / 2).max(1), Ordering::Relaxed);
                    }
                    return Err(error.failure);
                }
            }
            rest = after;
        }
        Ok(())
    }

    async fn account_names(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, Failure> {
        let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let found = |users: &[Value]| {
            users
                .iter()
                .filter(|user| {
                    user.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| wanted.contains(id))
                })
                .count()
        };
        let users = self
            .list("Users", "userName", |users| found(users) == wanted.len())
            .await?;
        Ok(users
            .iter()
            .filter_map(|user| {
                let id = user.get("id").and_then(Value::as_str)?;
                let name = user.get("userName").and_then(Value::as_str)?;
                wanted
                    .contains(id)
                    .then(|| (id.to_string(), name.to_string()))
            })
            .collect())
    }

    async fn deactivate_user(&self, user: &str) -> Result<(), Failure> {
        let patch = json!({
            "schemas": [PATCH_OP],
            "Operations": [{ "op": "replace", "path": "active", "value": false }],
        });
        // 404: the account is gone, which is at least as off as inactive.
        self.call(
            Method::PATCH,
            &format!("/Users/{}", segment(user)),
            Some(patch),
        )
        .await
        .map(|_| ())
    }

    async fn is_member(&self, group: &str, user: &str) -> Result<bool, Failure> {
        Ok(self
            .members(group)
            .await?
            .iter()
            .any(|member| member == user))
    }

    async fn members(&self, group: &str) -> Result<Vec<String>, Failure> {
        let (status, body) = self
            .call(Method::GET, &format!("/Groups/{}", segment(group)), None)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        Ok(body
            .get("members")
            .and_then(Value::as_array)
            .map(|members| {
                members
                    .iter()
                    .filter_map(|member| member.get("value").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(ScimConfig::parse(r#"{"base_url":"https://scim.example.com/v2"}"#).is_ok());
        assert!(ScimConfig::parse(r#"{"base_url":"ftp://x"}"#).is_err());
        assert!(ScimConfig::parse(r#"{"base_url":"https://x","auth":"magic"}"#).is_err());
        assert!(ScimConfig::parse("{}").is_err());
    }

    #[test]
    fn failures_are_retried_only_when_retrying_can_help() {
        let after = Some(Duration::from_secs(7));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, "m".into(), after),
            Failure::Retry {
                message: "m".into(),
                after
            }
        );
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::UNAUTHORIZED,
        ] {
            assert!(
                matches!(classify(status, "m".into(), None), Failure::Retry { .. }),
                "{status}"
            );
        }
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, "m".into(), None),
            Failure::GiveUp { .. }
        ));
    }

    #[test]
    fn filter_values_cannot_break_out_of_their_quotes() {
        assert_eq!(filter_value(r#"a"b\c"#), r#"a\"b\\c"#);
    }

    /// A stand-in server (a unit test's mock) that answers the first call too late and
    /// records how many members each PATCH filter names.
    async fn slow_first_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v2", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = recorded.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0_u8; 8192];
                    // Headers, then as much body as Content-Length says.
                    loop {
                        let read = socket.read(&mut buffer).await.unwrap_or(0);
                        if read == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..read]);
                        let text = String::from_utf8_lossy(&request).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|line| {
                                    line.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|value| value.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if request.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    let terms = String::from_utf8_lossy(&request)
                        .matches("value eq")
                        .count();
                    let first = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(terms);
                        seen.len() == 1
                    };
                    if first {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                        .await;
                });
            }
        });
        (base, seen)
    }

    #[tokio::test]
    async fn a_removal_that_timed_out_goes_in_smaller_pieces_next_time() {
        let (base_url, seen) = slow_first_server().await;
        let config = ScimConfig {
            base_url,
            auth: "bearer".to_string(),
            username: String::new(),
            timeout_seconds: 1,
            page_size: 200,
        };
        let scim = Scim::new(&config, Some("token")).unwrap();
        let users: Vec<String> = (0..100).map(|i| format!("user-{i}")).collect();
        assert!(matches!(
            scim.remove_members("group", &users).await,
            Err(Failure::Retry { .. })
        ));
        scim.remove_members("group", &users).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![100, 50, 50]);
    }
}
