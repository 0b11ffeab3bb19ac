//! Connectors and the provisioning queue, for administrators: each connector with its
//! jobs by state, the jobs that failed with their errors and a Retry button, an alarm when
//! removals are late, and a form to add a SCIM, LDAP or webhook connector (its secret
//! stays in the environment and is never shown).

use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    /// Where it points (SCIM base URL), never its secret.
    pub target: String,
    /// The environment variable its secret comes from, if any.
    pub secret_variable: Option<String>,
    /// Whether that variable is set.
    pub secret_present: bool,
    /// Jobs by state.
    pub jobs: Vec<(String, i64)>,
    /// Whether reconciliation repairs drift (otherwise it only reports it).
    pub authoritative: bool,
    /// `unknown`, `ok` or `failing`, from the last reconciliation.
    pub health: String,
    pub health_message: String,
    pub last_reconciled_at: Option<Timestamp>,
}

/// A difference between what Gatehouse grants and what a system holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftView {
    pub connector: String,
    pub resource: String,
    /// The person, when Gatehouse knows the account.
    pub person: String,
    /// The account as its system names it (a SCIM userName, an LDAP DN), else its id.
    pub account: String,
    /// `unexpected_member` or `missing_member`.
    pub kind: String,
    pub found_at: Timestamp,
    pub seen_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: i64,
    pub connector: String,
    pub operation: String,
    pub person: String,
    pub resource: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
    pub next_attempt_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvisioningView {
    pub connectors: Vec<ConnectorView>,
    /// Failed (retrying) and dead jobs.
    pub troubled: Vec<JobView>,
    /// Removals whose access ended more than `alarm_seconds` ago and are not verified yet.
    pub late_removals: i64,
    pub alarm_seconds: i64,
    /// Open drift, newest first.
    pub drift: Vec<DriftView>,
}

/// The connector form's fields (those of other kinds are ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectorForm {
    /// `scim`, `ldap` or `webhook`.
    pub kind: String,
    pub name: String,
    /// The SCIM base URL, the LDAP URL or the webhook URL.
    pub url: String,
    /// SCIM: `bearer` or `basic`.
    pub auth: String,
    /// SCIM basic authentication.
    pub username: String,
    /// LDAP: who Gatehouse binds as, and where people are.
    pub bind_dn: String,
    pub users_base: String,
    /// LDAP: upgrade an `ldap://` connection with StartTLS (a checkbox: `on` when ticked).
    pub starttls: String,
    /// NAME in `GATEHOUSE_SECRET_<NAME>`: the token, password or signing secret.
    pub secret_name: String,
}
