//! Mail settings of the signed-in person, and the outbox as administrators see it.

use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

/// A message that needs an administrator's eye.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TroubledMessage {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    /// `failed` (still retrying) or `dead` (retry budget spent).
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
    pub next_attempt_at: Timestamp,
    pub queued_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailQueue {
    /// Whether an SMTP server is configured (otherwise messages wait, or in development
    /// show on the development mail page).
    pub smtp_configured: bool,
    /// How many messages are in each state: queued, sending, failed, dead, sent, held.
    pub counts: Vec<(String, i64)>,
    pub troubled: Vec<TroubledMessage>,
}
