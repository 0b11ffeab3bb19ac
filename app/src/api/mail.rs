//! Mail settings of the signed-in person, and the outbox as administrators see it.

pub use crate::model::mail::*;

use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

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
