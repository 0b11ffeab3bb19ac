//! Access requests: submitted (`submit`), decided by approvers (`decide`), timed out or
//! escalated at their deadlines (`deadlines`), extended (`extensions`) and cancelled (here).
//! Each use case is one write transaction: load, ask the domain, store the new state with
//! its audit events and its outbox rows (messages, provisioning jobs), commit.

use crate::backend::auth::permissions;
use crate::backend::mail::{self, decide_link, render::Notice};
use crate::backend::services::approval_tasks;
use crate::backend::store::{
    self, assignment::NewAssignment, audit, person::PersonRow, policy::PolicyRow,
    request::NewRequest, request::RequestRow, Tx,
};
use crate::backend::AppState;
use crate::domain::assignment::AssignmentState;
use crate::domain::error::Validation;
use crate::domain::questions::{answer_field, check_answers};
use crate::domain::request::{RequestEvent, RequestRefusal, RequestState};
use crate::domain::status::RequestStatus;
use crate::domain::{AppError, ErrorCode, Timestamp};

/// The longest justification or decision comment accepted.
pub const MAX_JUSTIFICATION_CHARS: usize = 2_000;

mod deadlines;
mod decide;
mod extensions;
mod submit;

pub use deadlines::{escalate, time_out};
pub use decide::{decide, decide_with, Outcome};
pub use extensions::{request_extension, request_extension_with};
pub use submit::{submit, SubmitRequest};

/// Where a request stands after a submission, a decision or an extension: its status,
/// and the assignment when it was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestProgress {
    pub request_id: i64,
    pub status: RequestStatus,
    pub assignment_id: Option<i64>,
}

fn parse_justification(text: &str, required: bool) -> Result<String, String> {
    let trimmed = text.trim();
    if required && trimmed.is_empty() {
        return Err("Say why you need this.".into());
    }
    if trimmed.chars().count() > MAX_JUSTIFICATION_CHARS {
        return Err(format!("Use at most {MAX_JUSTIFICATION_CHARS} characters."));
    }
    Ok(trimmed.to_string())
}

fn refusal(refusal: RequestRefusal) -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        format!("{}.", capitalise(&refusal.to_string())),
    )
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The state of a request just accepted under a policy: waiting at stage 1, or approved
/// at once when no approval is asked for.
fn accept(
    policy: &PolicyRow,
    with_approval: bool,
    now: Timestamp,
) -> Result<RequestState, AppError> {
    let stage_count = if with_approval {
        u8::try_from(policy.stages.len()).unwrap_or(u8::MAX)
    } else {
        0
    };
    let required_first = policy
        .stages
        .first()
        .map_or(1, |stage| stage.required_approvals);
    RequestState::submitted(stage_count, required_first)
        .apply(RequestEvent::Accept, now)
        .map_err(refusal)
}

/// Tells the person a request is for, and whoever made it for them if someone else did.
async fn tell_requesters(
    tx: &mut Tx,
    now: Timestamp,
    request: &RequestRow,
    notice: &Notice,
) -> Result<(), sqlx::Error> {
    mail::notify(tx, now, request.person_id, notice, &[]).await?;
    if request.requested_by_id != request.person_id {
        mail::notify(tx, now, request.requested_by_id, notice, &[]).await?;
    }
    Ok(())
}

/// The name of whoever acted, for messages.
fn actor_name(actor: &audit::Actor) -> &str {
    match actor {
        audit::Actor::Person { label, .. } => label,
        audit::Actor::System(_) => "Gatehouse",
    }
}

/// Turns an approved request into an assignment, with provisioning jobs for downstream
/// resources, in the caller's transaction.
async fn grant(
    tx: &mut Tx,
    now: Timestamp,
    request: &RequestRow,
    actor: &audit::Actor,
) -> Result<RequestProgress, AppError> {
    let assignment = AssignmentState::new(
        Timestamp(request.start_at),
        request.end_at.map(Timestamp),
        now,
    );
    let (assignment_id, downstream_pending) = super::assignments::create_assignment(
        tx,
        now,
        &NewAssignment {
            person_id: request.person_id,
            package_id: request.package_id,
            policy_id: request.policy_id,
            request_id: Some(request.id),
            status: assignment.status,
            start_at: assignment.start_at,
            end_at: assignment.end_at,
        },
        actor,
        serde_json::json!({ "access_request_id": request.id }),
    )
    .await?;
    // Gatehouse's own groups are granted by the assignment itself; downstream resources
    // are delivered by the provisioner.
    let status = if !downstream_pending {
        RequestStatus::Delivered
    } else {
        RequestStatus::Delivering
    };
    store::request::mark_delivery(tx, now, request.id, status).await?;
    let package_name = store::policy::package_name(tx, request.package_id).await?;
    tell_requesters(
        tx,
        now,
        request,
        &Notice::request_approved(
            &package_name,
            actor_name(actor),
            status == RequestStatus::Delivered,
            request.id,
        ),
    )
    .await?;
    Ok(RequestProgress {
        request_id: request.id,
        status,
        assignment_id: Some(assignment_id),
    })
}

/// Uses up an email link in the caller's transaction; refuses a link used meanwhile.
async fn use_link(tx: &mut Tx, now: Timestamp, link_token_id: Option<i64>) -> Result<(), AppError> {
    match link_token_id {
        Some(id) if !store::action_token::consume(tx, now, id).await? => Err(AppError::new(
            ErrorCode::Conflict,
            "This link was already used.",
        )),
        _ => Ok(()),
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn already_decided(
    tx: &mut Tx,
    request: &RequestRow,
) -> Result<AppError, AppError> {
    let message = match store::request::final_decider(tx, request.id).await? {
        Some((name, at))
            if matches!(
                request.status,
                RequestStatus::Approved
                    | RequestStatus::Denied
                    | RequestStatus::Delivering
                    | RequestStatus::Delivered
            ) =>
        {
            format!(
                "Already decided by {name} at {}: {}.",
                Timestamp(at).date_time_utc(),
                request.status.label().to_lowercase()
            )
        }
        _ => format!(
            "This request is no longer waiting for a decision: it is {}{}.",
            request.status.label().to_lowercase(),
            request
                .decided_at
                .map(|at| format!(" since {}", Timestamp(at).date_time_utc()))
                .unwrap_or_default()
        ),
    };
    Ok(AppError::new(ErrorCode::Conflict, message))
}

/// The requester withdraws a request that is still waiting.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, request_id = request_id))]
pub async fn cancel(state: &AppState, actor: &PersonRow, request_id: i64) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let request = match store::request::find(&mut tx, request_id).await? {
        Some(request) if permissions::may_cancel_request(actor, &request) => request,
        _ => return Err(AppError::not_found("request")),
    };
    if !cancel_in(
        &mut tx,
        now,
        &request,
        &audit::Actor::person(actor.id, &actor.display_name),
        None,
    )
    .await?
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "The request changed meanwhile; reload to see where it stands.",
        ));
    }
    tx.commit().await?;
    Ok(())
}

/// Cancels a waiting request in the caller's transaction: its tasks close, its approvers'
/// links are used up, and it is audited with `reason` when Gatehouse cancelled it (the
/// person left). False when the request changed meanwhile; a request that no longer waits
/// is refused by the state machine.
#[tracing::instrument(skip_all)]
pub(crate) async fn cancel_in(
    tx: &mut Tx,
    now: Timestamp,
    request: &RequestRow,
    actor: &audit::Actor,
    reason: Option<&str>,
) -> Result<bool, AppError> {
    let current = RequestState {
        status: request.status,
        current_stage: request
            .current_stage
            .and_then(|stage| u8::try_from(stage).ok()),
        stage_count: 0,
        approvals_on_stage: 0,
        required_on_stage: 1,
        decided_at: None,
    };
    let next = current.apply(RequestEvent::Cancel, now).map_err(refusal)?;
    if !store::request::advance(tx, now, request, next.status, None, true).await? {
        return Ok(false);
    }
    store::request::close_tasks(tx, now, request.id, "cancelled", None).await?;
    store::action_token::use_up_for(tx, now, "decide", "access_request", request.id, None).await?;
    audit::append(
        tx,
        now,
        actor,
        audit::Change::new("access_request.cancelled", "access_request", request.id)
            .before(serde_json::json!({ "status": request.status.as_str() }))
            .after(serde_json::json!({ "status": next.status.as_str(), "reason": reason })),
    )
    .await?;
    Ok(true)
}
