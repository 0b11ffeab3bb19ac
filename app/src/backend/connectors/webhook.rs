//! Webhook: for systems with neither SCIM nor LDAP. Each grant and removal is a signed JSON
//! event POSTed to the system's URL:
//!
//!   X-Gatehouse-Timestamp: <unix seconds>
//!   X-Gatehouse-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>
//!
//! The receiver checks the signature and that the timestamp is recent (replay). A 2xx
//! answer acknowledges the event; a webhook cannot be read back, so a removal counts as
//! verified when the receiver acknowledged it.

use super::{Account, Connector, Failure};
use hmac::{Hmac, Mac};
use reqwest::{header, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    10
}

impl WebhookConfig {
    pub fn parse(json: &str) -> Result<Self, String> {
        let config: WebhookConfig =
            serde_json::from_str(json).map_err(|error| format!("webhook settings: {error}"))?;
        let url = url::Url::parse(&config.url)
            .map_err(|_| format!("webhook URL {:?} is not a URL", config.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the webhook URL must be http or https".to_string());
        }
        if url.scheme() == "http" && !super::is_loopback(&url) {
            return Err(
                "the webhook URL must be https: plain http would send signed events unencrypted (allowed to this machine only)"
                    .to_string(),
            );
        }
        Ok(config)
    }
}

/// `sha256=<hex>` over `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this branch cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: String,
}

impl Webhook {
    pub fn new(config: &WebhookConfig, secret: Option<&str>) -> Result<Self, String> {
        let secret = secret
            .filter(|secret| !secret.is_empty())
            .ok_or("a webhook needs its signing secret (GATEHOUSE_SECRET_<name>)")?;
        let client = super::http_client(config.timeout_seconds)?;
        Ok(Self {
            client,
            url: config.url.clone(),
            secret: secret.to_string(),
        })
    }

    async fn send(&self, event: &str, group: &str, user: &str) -> Result<(), Failure> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0);
        let body = json!({ "event": event, "group": group, "user": user, "timestamp": timestamp })
            .to_string();
        let response = self
            .client
            .post(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-gatehouse-timestamp", timestamp.to_string())
            .header(
                "x-gatehouse-signature",
                signature(&self.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|error| Failure::Retry {
                message: format!(
                    "webhook unreachable: {}",
                    if error.is_timeout() {
                        "timed out"
                    } else {
                        "connection refused or failed"
                    }
                ),
                after: None,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = super::retry_after(response.headers());
        Err(super::scim::classify(
            status,
            format!("webhook answered {status}"),
            retry_after.filter(|_| status == StatusCode::TOO_MANY_REQUESTS),
        ))
    }
}

#[async_trait::async_trait]
impl Connector for Webhook {
    async fn find_user(&self, account: &Account) -> Result<Option<String>, Failure> {
        Ok(Some(account.email.clone()))
    }

    /// The receiving system knows people by email.
    async fn ensure_user(&self, account: &Account) -> Result<String, Failure> {
        Ok(account.email.clone())
    }

    async fn add_member(&self, group: &str, user: &str) -> Result<(), Failure> {
        self.send("member.added", group, user).await
    }

    async fn remove_member(&self, group: &str, user: &str) -> Result<(), Failure> {
        self.send("member.removed", group, user).await
    }

    async fn deactivate_user(&self, user: &str) -> Result<(), Failure> {
        self.send("user.deactivated", "", user).await
    }

    /// Nothing to read back: the acknowledged removal is what Gatehouse knows.
    async fn is_member(&self, _group: &str, _user: &str) -> Result<bool, Failure> {
        Ok(false)
    }

    async fn members(&self, _group: &str) -> Result<Vec<String>, Failure> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        // Known answer, computed independently with Python's hmac module.
        assert_eq!(
            signature("key", 1_700_000_000, "{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(
            signature("key", 1_700_000_000, "{}"),
            signature("key", 1_700_000_001, "{}")
        );
        assert_ne!(
            signature("key", 1_700_000_000, "{}"),
            signature("other", 1_700_000_000, "{}")
        );
        assert!(WebhookConfig::parse(r#"{"url":"ftp://x"}"#).is_err());
    }
}
