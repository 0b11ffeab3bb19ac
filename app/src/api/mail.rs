//! Mail settings of the signed-in person, and the outbox as administrators see it.

use crate::domain::{AppError, Timestamp};
use leptos::prelude::*;
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

/// The outbox: counts per state and the messages that failed. Administrators only.
#[server]
pub async fn get_mail_queue() -> Result<MailQueue, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    crate::backend::auth::permissions::require_administrator(&person)?;
    let pool = state.db.reader();
    let counts = store::message::counts(pool).await?;
    let troubled = store::message::list_troubled(pool, 200)
        .await?
        .into_iter()
        .map(|row| TroubledMessage {
            id: row.id,
            to_address: row.to_address,
            subject: row.subject,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error.unwrap_or_default(),
            next_attempt_at: Timestamp(row.next_attempt_at),
            queued_at: Timestamp(row.created_at),
        })
        .collect();
    Ok(MailQueue {
        smtp_configured: state.settings.mail.smtp.is_some(),
        counts,
        troubled,
    })
}

/// Sends a failed or dead message again. Administrators only.
#[server]
pub async fn resend_message(message_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::mail;
    let (state, person) = signed_in().await?;
    mail::resend(&state, &person, message_id).await
}

/// The signed-in person's choice: one message per item, or a daily digest.
#[server]
pub async fn get_mail_preference() -> Result<bool, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::mail;
    let (state, person) = signed_in().await?;
    mail::digest_of(&state, person.id).await
}

/// `delivery` is `each` or `digest`.
#[server]
pub async fn save_mail_preference(delivery: String) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::mail;
    let (state, person) = signed_in().await?;
    let digest = match delivery.as_str() {
        "each" => false,
        "digest" => true,
        _ => {
            return Err(AppError::invalid_field(
                "delivery",
                "Choose one message per item or a daily digest.",
            ))
        }
    };
    mail::set_digest(&state, &person, digest).await
}
