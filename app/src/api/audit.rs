//! The audit trail for administrators and auditors: recent events and whether the hash
//! chain is intact.

pub use crate::model::audit::*;

use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

#[server]
pub async fn get_audit_trail() -> Result<AuditTrail, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    // Only administrators and auditors see the trail; to anyone else it does not exist.
    if !crate::backend::auth::permissions::reads_everything(&person) {
        return Err(AppError::not_found("page"));
    }
    // Only what came after the last verified mark is checked again (the whole chain is
    // checked by `gatehouse audit-verify`).
    let check = crate::backend::services::audit::verify_incremental(
        &state.db,
        state.settings.audit_checkpoint_file.as_deref(),
        state.clock.now(),
    )
    .await?;
    let chain_break = check.chain_break.map(|chain_break| chain_break.to_string());
    let verified_events = if chain_break.is_some() {
        0
    } else {
        u64::try_from(check.events).unwrap_or(0)
    };
    let events = store::audit::recent(state.db.reader(), 200).await?;
    Ok(AuditTrail {
        chain_break,
        verified_events,
        events: events
            .into_iter()
            .map(|event| AuditEventView {
                id: event.id,
                occurred_at: Timestamp(event.occurred_at),
                actor: event.actor_label,
                action: event.action,
                object: match event.object_id {
                    Some(id) => format!("{} {}", event.object_kind, id),
                    None => event.object_kind,
                },
            })
            .collect(),
    })
}
