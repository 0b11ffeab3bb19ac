//! An approver approves or denies the stage a request waits at; the first valid final
//! decision wins.

use super::extensions::extend;
use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Approve,
    Deny,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::Deny => "deny",
        }
    }
}

/// Records one approver's decision on the waiting stage. The first valid final decision
/// wins; a concurrent or late one is answered "already decided by X at T" and changes
/// nothing.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, request_id = request_id))]
pub async fn decide(
    state: &AppState,
    actor: &PersonRow,
    request_id: i64,
    outcome: Outcome,
    justification: &str,
) -> Result<RequestProgress, AppError> {
    decide_with(state, actor, request_id, outcome, justification, None).await
}

/// [`decide`], using up the email link `link_token_id` in the same transaction when the
/// decision came through one (so a link is used exactly when its decision is recorded).
#[tracing::instrument(skip_all, fields(actor_id = actor.id, request_id = request_id, link_token_id = ?link_token_id))]
pub async fn decide_with(
    state: &AppState,
    actor: &PersonRow,
    request_id: i64,
    outcome: Outcome,
    justification: &str,
    link_token_id: Option<i64>,
) -> Result<RequestProgress, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let request = store::request::find(&mut tx, request_id).await?;
    // A request the person may not decide answers as if it did not exist.
    let request = match request {
        Some(request) if permissions::is_approver(&mut tx, actor, request.id).await? => request,
        _ => return Err(AppError::not_found("request")),
    };
    if request.status != RequestStatus::PendingApproval {
        return Err(already_decided(&mut tx, &request).await?);
    }
    let stage_position = request.current_stage.unwrap_or(1);
    // Who may decide is resolved again now: an approver who lost their role since the task
    // was given (no longer an owner, no longer the manager, the stage rewritten, left)
    // decides nothing, by the page or by an email link.
    let reresolved =
        approval_tasks::reresolve(&mut tx, now, request.id, &audit::Actor::System("approval"))
            .await?;
    if reresolved.withdrawn.contains(&actor.id) {
        tx.commit().await?;
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "You are no longer an approver of this request, so your decision was not recorded.",
        ));
    }
    if !store::request::has_open_task(&mut tx, request.id, stage_position, actor.id).await? {
        if reresolved.changed() {
            tx.commit().await?;
        }
        return Err(AppError::new(
            ErrorCode::Conflict,
            "You have already decided this stage, or it is not yours to decide.",
        ));
    }
    let policy_id = request.policy_id.ok_or_else(AppError::internal)?;
    let stages = store::policy::stages_of(&mut tx, policy_id).await?;
    let stage = stages
        .iter()
        .find(|stage| i64::from(stage.position) == stage_position)
        .ok_or_else(AppError::internal)?;
    let justification = parse_justification(justification, stage.justification_required)
        .map_err(|message| AppError::invalid_field("justification", message))?;

    let current = RequestState {
        status: request.status,
        current_stage: u8::try_from(stage_position).ok(),
        stage_count: u8::try_from(stages.len()).unwrap_or(u8::MAX),
        approvals_on_stage: u8::try_from(
            store::request::approvals_on_stage(&mut tx, request.id, stage_position).await?,
        )
        .unwrap_or(u8::MAX),
        required_on_stage: stage.required_approvals,
        decided_at: None,
    };
    let stage_number = stage.position;
    let next_stage = stages
        .iter()
        .find(|candidate| candidate.position == stage_number + 1);
    let event = match outcome {
        Outcome::Approve => RequestEvent::Approve {
            stage: stage_number,
            next_stage_requires: next_stage.map_or(1, |next| next.required_approvals),
        },
        Outcome::Deny => RequestEvent::Deny {
            stage: stage_number,
        },
    };
    let next = current.apply(event, now).map_err(refusal)?;
    let finished = matches!(next.status, RequestStatus::Approved | RequestStatus::Denied);
    if !store::request::advance(
        &mut tx,
        now,
        &request,
        next.status,
        next.current_stage.map(i64::from),
        finished,
    )
    .await?
    {
        // Someone else's decision committed between our read and our write.
        drop(tx);
        let mut tx = state.db.begin_write().await?;
        let fresh = store::request::find(&mut tx, request.id)
            .await?
            .ok_or_else(AppError::internal)?;
        return Err(already_decided(&mut tx, &fresh).await?);
    }
    let decision_id = store::request::record_decision(
        &mut tx,
        now,
        request.id,
        stage_position,
        actor.id,
        outcome.as_str(),
        &justification,
    )
    .await?;
    let actor_ref = audit::Actor::person(actor.id, &actor.display_name);
    audit::append(
        &mut tx,
        now,
        &actor_ref,
        audit::Change::new("decision.recorded", "access_request", request.id).after(
            serde_json::json!({
                "decision_id": decision_id, "stage": stage_position, "outcome": outcome.as_str(),
                "status": next.status.as_str(),
            }),
        ),
    )
    .await?;

    let package_name = store::policy::package_name(&mut tx, request.package_id).await?;
    let mut result = RequestProgress {
        request_id: request.id,
        status: next.status,
        assignment_id: None,
    };
    if next.current_stage != current.current_stage || finished {
        // The stage is decided: nobody else needs to act on it.
        store::request::close_tasks(&mut tx, now, request.id, "done", None).await?;
    } else {
        store::request::close_tasks(&mut tx, now, request.id, "done", Some(actor.id)).await?;
    }
    match next.status {
        RequestStatus::Approved => {
            let approved = store::request::find(&mut tx, request.id)
                .await?
                .ok_or_else(AppError::internal)?;
            result = if approved.kind == "extend" {
                extend(&mut tx, now, &approved, &actor_ref).await?
            } else {
                grant(&mut tx, now, &approved, &actor_ref).await?
            };
        }
        RequestStatus::Denied => {
            tell_requesters(
                &mut tx,
                now,
                &request,
                &Notice::request_denied(
                    &package_name,
                    &actor.display_name,
                    &justification,
                    request.id,
                ),
            )
            .await?;
        }
        _ => {
            if let (Some(stage), true) = (next_stage, next.current_stage != current.current_stage) {
                approval_tasks::open_stage(
                    &mut tx,
                    now,
                    request.id,
                    approval_tasks::Parties::from(&request),
                    &package_name,
                    stage,
                )
                .await?;
            }
        }
    }
    use_link(&mut tx, now, link_token_id).await?;
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(result)
}
