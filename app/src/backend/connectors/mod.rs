//! Downstream systems Gatehouse provisions into. Each connector finds or creates the
//! person's account and adds, removes and reads back group memberships; the provisioner
//! decides when, retries, and verifies.

pub mod ldap;
pub mod scim;
pub mod webhook;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Why a call did not succeed, and whether trying again may help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Down, overloaded, rate-limited, timed out, or misconfigured: try again later,
    /// not before `after` when the system said so (429 Retry-After).
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// The request itself is wrong for this system (e.g. the group does not exist):
    /// trying again will not help.
    GiveUp { message: String },
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Retry { message, .. } | Failure::GiveUp { message } => message,
        }
    }
}

/// The person as a downstream system needs them.
#[derive(Clone, Debug)]
pub struct Account {
    pub person_id: i64,
    pub email: String,
    pub display_name: String,
    pub employee_id: Option<String>,
}

#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The person's account id downstream, if they have one.
    async fn find_user(&self, account: &Account) -> Result<Option<String>, Failure>;
    /// The person's account id downstream, created when missing.
    async fn ensure_user(&self, account: &Account) -> Result<String, Failure>;
    async fn add_member(&self, group: &str, user: &str) -> Result<(), Failure>;
    /// Removes the membership; one that is already gone counts as removed.
    async fn remove_member(&self, group: &str, user: &str) -> Result<(), Failure>;
    /// Reads the group back: is the user a member now?
    async fn is_member(&self, group: &str, user: &str) -> Result<bool, Failure>;
    /// Every member of the group (account ids), for reconciliation.
    async fn members(&self, group: &str) -> Result<Vec<String>, Failure>;

    /// How the system names these accounts (e.g. a SCIM id's `userName`), for the drift
    /// report; ids it does not know are left out. The id itself unless the connector
    /// knows better.
    async fn account_names(&self, ids: &[String]) -> Result<HashMap<String, String>, Failure> {
        Ok(ids.iter().map(|id| (id.clone(), id.clone())).collect())
    }

    /// Switches the person's account off (they left); one already gone counts as done.
    async fn deactivate_user(&self, user: &str) -> Result<(), Failure>;

    /// Removes several memberships of one group, in as few calls as the system allows;
    /// ones already gone count as removed. One at a time unless the connector knows
    /// better.
    async fn remove_members(&self, group: &str, users: &[String]) -> Result<(), Failure> {
        for user in users {
            self.remove_member(group, user).await?;
        }
        Ok(())
    }

    /// How the system compares account ids (LDAP DNs ignore case); as they are unless
    /// the connector knows better.
    fn account_key(&self, id: &str) -> String {
        id.to_string()
    }

    /// Reads the group back once: which of `users` are members now? (A system that
    /// cannot be read back lists no members: an acknowledged removal is what is known.)
    async fn members_among(
        &self,
        group: &str,
        users: &[String],
    ) -> Result<HashSet<String>, Failure> {
        let members: HashSet<String> = self
            .members(group)
            .await?
            .iter()
            .map(|member| self.account_key(member))
            .collect();
        Ok(users
            .iter()
            .filter(|user| members.contains(&self.account_key(user)))
            .cloned()
            .collect())
    }
}

/// The HTTP client of the SCIM and webhook connectors: a timeout, and never a redirect
/// (credentials must not follow one somewhere else).
pub(crate) fn http_client(timeout_seconds: u64) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_seconds.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| format!("HTTP client: {error}"))
}

/// A 429's `Retry-After`, in seconds.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Whether a URL's host is this machine: the only place a secret may travel unencrypted
/// (plain `http://`, or `ldap://` without StartTLS), as with SMTP.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        // Hosts of URLs whose scheme the url crate does not know (ldap://) come as names.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|address| address.is_loopback())
        }
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// Where a connector sends its secret: the SCIM base URL, the directory or the webhook URL.
pub fn target_url(kind: &str, config_json: &str) -> Option<String> {
    match kind {
        "scim" => scim::ScimConfig::parse(config_json)
            .ok()
            .map(|c| c.base_url),
        "ldap" => ldap::LdapConfig::parse(config_json).ok().map(|c| c.url),
        "webhook" => webhook::WebhookConfig::parse(config_json)
            .ok()
            .map(|c| c.url),
        _ => None,
    }
}

fn same_target(one: &str, other: &str) -> bool {
    one.trim().trim_end_matches('/') == other.trim().trim_end_matches('/')
}

/// The secret a connector may use. A secret can be pinned to one target with
/// `GATEHOUSE_SECRET_<name>_URL`: then no connector pointed anywhere else gets it, whoever
/// configured that connector.
pub fn secret_for<'s>(
    secrets: &'s crate::backend::state::Secrets,
    secret_ref: Option<&str>,
    kind: &str,
    config_json: &str,
) -> Result<Option<&'s str>, String> {
    let Some(name) = secret_ref else {
        return Ok(None);
    };
    if let Some(pinned) = secrets.pinned_url(name) {
        let target = target_url(kind, config_json).unwrap_or_default();
        if !same_target(pinned, &target) {
            return Err(format!(
                "GATEHOUSE_SECRET_{name} may be sent only to {pinned}, not to {target}"
            ));
        }
    }
    Ok(secrets.get(name).map(String::as_str))
}

/// Whether `url` may be given a connector using secret `name` (for the form).
pub fn check_pinned(
    secrets: &crate::backend::state::Secrets,
    name: &str,
    url: &str,
) -> Result<(), String> {
    match secrets.pinned_url(name) {
        Some(pinned) if !same_target(pinned, url) => Err(format!(
            "GATEHOUSE_SECRET_{name} may be sent only to {pinned} (GATEHOUSE_SECRET_{name}_URL)."
        )),
        _ => Ok(()),
    }
}

/// A connector as configured: its kind, its settings (JSON) and its secret, which comes
/// from the environment (`GATEHOUSE_SECRET_<name>`) and is never stored or shown.
pub fn build(
    kind: &str,
    config_json: &str,
    secret: Option<&str>,
) -> Result<Box<dyn Connector>, String> {
    match kind {
        "scim" => Ok(Box::new(scim::Scim::new(
            &scim::ScimConfig::parse(config_json)?,
            secret,
        )?)),
        "ldap" => Ok(Box::new(ldap::Directory::new(
            ldap::LdapConfig::parse(config_json)?,
            secret,
        ))),
        "webhook" => Ok(Box::new(webhook::Webhook::new(
            &webhook::WebhookConfig::parse(config_json)?,
            secret,
        )?)),
        other => Err(format!(
            "connectors of kind {other:?} are not available yet"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_this_machine_is_loopback() {
        for local in [
            "http://127.0.0.1:8090/v2",
            "http://localhost/v2",
            "http://[::1]:80/",
            "ldap://127.0.0.1:389",
            "ldap://127.5.5.5",
            "ldap://[::1]:389",
            "ldap://LOCALHOST",
        ] {
            assert!(is_loopback(&url::Url::parse(local).unwrap()), "{local}");
        }
        for remote in [
            "http://scim.example.com/v2",
            "http://10.0.0.1/",
            "ldap://ldap.example.com",
            "ldap://127.0.0.1.example.com",
            "ldap://192.168.1.1:389",
        ] {
            assert!(!is_loopback(&url::Url::parse(remote).unwrap()), "{remote}");
        }
    }
}
