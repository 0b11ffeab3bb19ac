//! Development-only views: the messages Gatehouse would have sent.

use crate::domain::{AppError, Timestamp};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevMail {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub status: String,
    pub queued_at: Timestamp,
}

/// The newest outbound messages. Exists only in development mode, where it may show any
/// message to anyone: development data is demo data.
#[server]
pub async fn list_dev_mail() -> Result<Vec<DevMail>, AppError> {
    use crate::api::context::request_context;
    use crate::backend::store;
    let (state, _session) = request_context().await?;
    if !state.settings.development {
        return Err(AppError::not_found("page"));
    }
    let messages = store::message::list_recent(state.db.reader(), 100).await?;
    Ok(messages
        .into_iter()
        .map(|message| DevMail {
            id: message.id,
            to_address: message.to_address,
            subject: message.subject,
            body_text: message.body_text,
            status: message.status,
            queued_at: Timestamp(message.created_at),
        })
        .collect())
}
