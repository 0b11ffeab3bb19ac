//! The audit trail for administrators and auditors: recent events and whether the hash
//! chain is intact.

use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub id: i64,
    pub occurred_at: Timestamp,
    pub actor: String,
    pub action: String,
    pub object: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditTrail {
    /// `None` when the chain verifies; otherwise the first broken link, in words.
    pub chain_break: Option<String>,
    pub verified_events: u64,
    pub events: Vec<AuditEventView>,
}
