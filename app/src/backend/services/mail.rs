//! Mail that people and administrators act on: a person's digest choice, and sending a
//! dead-lettered message again.

use crate::backend::store::{self, audit, person::PersonRow};
use crate::backend::AppState;
use crate::domain::{AppError, ErrorCode};

/// One message per item (`false`) or a daily digest (`true`), for the person themselves.
#[tracing::instrument(skip_all, fields(person_id = person.id))]
pub async fn set_digest(
    state: &AppState,
    person: &PersonRow,
    digest: bool,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let before = store::person::mail_digest(&mut *tx, person.id).await?;
    if before == digest {
        return Ok(());
    }
    store::person::set_mail_digest(&mut tx, now, person.id, digest).await?;
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(person.id, &person.display_name),
        audit::Change::new("person.mail_preference_changed", "person", person.id)
            .before(serde_json::json!({ "mail_digest": before }))
            .after(serde_json::json!({ "mail_digest": digest })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The person's current choice.
#[tracing::instrument(skip_all, fields(person_id = person_id))]
pub async fn digest_of(state: &AppState, person_id: i64) -> Result<bool, AppError> {
    Ok(store::person::mail_digest(state.db.reader(), person_id).await?)
}

/// An administrator sends a dead (or failing) message again, from a fresh retry budget.
#[tracing::instrument(skip_all, fields(admin_id = admin.id, message_id = message_id))]
pub async fn resend(state: &AppState, admin: &PersonRow, message_id: i64) -> Result<(), AppError> {
    crate::backend::auth::permissions::require_administrator(admin)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::lease::MESSAGES
        .requeue(&mut tx, now, message_id)
        .await?
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "This message is not waiting to be sent again (it may have been sent meanwhile).",
        ));
    }
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(admin.id, &admin.display_name),
        audit::Change::new("outbound_message.resent", "outbound_message", message_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
