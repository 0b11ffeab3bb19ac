//! People leaving: when a person leaves, all their access ends and their accounts
//! downstream are switched off. The lifecycle workflows (DOMAIN.md) will call this from a
//! leave date; today HR scripts call it through `gatehouse person-left <email>`.

use crate::backend::services::approval_tasks;
use crate::backend::services::assignments::{end_in, Ending};
use crate::backend::services::requests::cancel_in;
use crate::backend::store::request::Waiting;
use crate::backend::store::{self, audit};
use crate::backend::AppState;
use crate::domain::assignment::RemovalReason;
use crate::domain::status::PersonStatus;
use crate::domain::{AppError, ErrorCode};

/// What leaving changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Left {
    /// Assignments ended (each with its removal jobs and audit event).
    pub ended: usize,
    /// Downstream accounts queued to be switched off.
    pub deactivations: u64,
    /// Their waiting requests (for them or made by them), cancelled.
    pub requests_cancelled: usize,
    /// Waiting requests whose approval they held, handed to other approvers.
    pub approvals_reassigned: usize,
}

/// Marks the person as left and, in the same transaction, ends every current assignment
/// of theirs (reason "left"; no message to a mailbox they no longer read) and queues the
/// deactivation of each account Gatehouse knows downstream. Running it again for someone
/// who already left finishes anything left over and changes nothing else.
#[tracing::instrument(skip_all)]
pub async fn leave(state: &AppState, actor: &audit::Actor, email: &str) -> Result<Left, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some((person_id, status)) = store::person::find_by_email(&mut tx, email.trim()).await?
    else {
        return Err(AppError::new(
            ErrorCode::NotFound,
            format!("No person has the email address {:?}.", email.trim()),
        ));
    };
    let already = status == PersonStatus::Left.as_str();
    if !already {
        store::person::mark_left(&mut tx, now, person_id).await?;
    }
    let left = end_access_in(&mut tx, now, actor, person_id).await?;
    if !already
        || left.ended > 0
        || left.deactivations > 0
        || left.requests_cancelled > 0
        || left.approvals_reassigned > 0
    {
        audit::append(
            &mut tx,
            now,
            actor,
            audit::Change::new("person.left", "person", person_id)
                .before(serde_json::json!({ "status": status }))
                .after(serde_json::json!({
                    "status": PersonStatus::Left.as_str(),
                    "assignments_ended": left.ended,
                    "accounts_to_deactivate": left.deactivations,
                    "requests_cancelled": left.requests_cancelled,
                    "approvals_reassigned": left.approvals_reassigned,
                })),
        )
        .await?;
    }
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(left)
}

/// Ends everything a person who left (or was switched off) holds or waits for, in the
/// caller's transaction: every current assignment (reason "left"), their accounts
/// downstream, the waiting requests for them or by them, and the approvals waiting on
/// them (handed to the stage's other approvers or fallbacks). Running it again finds
/// nothing more to do.
pub async fn end_access_in(
    tx: &mut crate::backend::store::Tx,
    now: crate::domain::Timestamp,
    actor: &audit::Actor,
    person_id: i64,
) -> Result<Left, AppError> {
    let current = store::assignment::current_of_person(tx, person_id).await?;
    let mut left = Left::default();
    for assignment_id in current {
        let ending = Ending {
            actor: actor.clone(),
            reason: RemovalReason::UserLeft,
            comment: "",
        };
        if end_in(tx, now, assignment_id, ending, false).await? {
            left.ended += 1;
        }
    }
    left.deactivations = store::provisioning::queue_deactivations(tx, now, person_id).await?;
    // Requests for them, or made by them, end: nobody is granted access after leaving, and
    // nobody stands behind a request whose requester has gone.
    for request_id in store::request::waiting(tx, Waiting::ForOrBy(person_id)).await? {
        if let Some(request) = store::request::find(tx, request_id).await? {
            if cancel_in(tx, now, &request, actor, Some("person left")).await? {
                left.requests_cancelled += 1;
            }
        }
    }
    // Approvals waiting on them go to whoever else the stage names, or to its fallbacks.
    left.approvals_reassigned =
        approval_tasks::reresolve_waiting(tx, now, Waiting::WithOpenTaskOf(person_id), actor)
            .await?;
    Ok(left)
}
