//! What happens when a stage waits too long: escalation to alternate approvers, then the
//! decision timeout. Called by the approval-deadlines worker at each deadline.

use super::*;

/// The request, if it still waits at this stage (a deadline for a stage it has left, or
/// for a request decided or cancelled meanwhile, changes nothing).
async fn waiting_at(
    tx: &mut Tx,
    request_id: i64,
    stage_position: i64,
) -> Result<Option<RequestRow>, AppError> {
    Ok(store::request::find(tx, request_id)
        .await?
        .filter(|request| {
            request.status == RequestStatus::PendingApproval
                && request.current_stage == Some(stage_position)
        }))
}

/// Fires a stage's decision timeout: the request is denied as timed out, its open tasks
/// expire, and the requester is told. Returns false when the request had already moved on
/// (decided, cancelled, or past that stage), which changes nothing.
#[tracing::instrument(skip_all, fields(request_id = request_id, stage_position = stage_position))]
pub async fn time_out(
    state: &AppState,
    request_id: i64,
    stage_position: i64,
) -> Result<bool, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(request) = waiting_at(&mut tx, request_id, stage_position).await? else {
        return Ok(false);
    };
    let current = RequestState {
        status: request.status,
        current_stage: u8::try_from(stage_position).ok(),
        stage_count: 0,
        approvals_on_stage: 0,
        required_on_stage: 1,
        decided_at: None,
    };
    let stage = u8::try_from(stage_position).unwrap_or(u8::MAX);
    let next = current
        .apply(RequestEvent::TimeOut { stage }, now)
        .map_err(refusal)?;
    if !store::request::advance(&mut tx, now, &request, next.status, None, true).await? {
        return Ok(false);
    }
    store::request::close_tasks(&mut tx, now, request.id, "expired", None).await?;
    audit::append(
        &mut tx,
        now,
        &audit::Actor::System("scheduler"),
        audit::Change::new("access_request.timed_out", "access_request", request.id)
            .before(
                serde_json::json!({ "status": request.status.as_str(), "stage": stage_position }),
            )
            .after(serde_json::json!({ "status": next.status.as_str() })),
    )
    .await?;
    let package_name = store::policy::package_name(&mut tx, request.package_id).await?;
    tell_requesters(
        &mut tx,
        now,
        &request,
        &Notice::request_timed_out(&package_name, request.id),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Fires a stage's escalation: its alternate approvers are asked too (the first approvers
/// keep their task), with the same decision deadline. Nobody is asked to approve a request
/// they made or that is for them. Returns false when the request had moved on or the stage
/// had already escalated, which changes nothing.
#[tracing::instrument(skip_all, fields(request_id = request_id, stage_position = stage_position))]
pub async fn escalate(
    state: &AppState,
    request_id: i64,
    stage_position: i64,
) -> Result<bool, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(request) = waiting_at(&mut tx, request_id, stage_position).await? else {
        return Ok(false);
    };
    let stages = match request.policy_id {
        Some(policy_id) => store::policy::stages_of(&mut tx, policy_id).await?,
        None => Vec::new(),
    };
    let Some(stage) = stages
        .iter()
        .find(|stage| i64::from(stage.position) == stage_position)
    else {
        return Ok(false);
    };
    if store::request::mark_escalated(&mut tx, now, request.id, stage_position).await? == 0 {
        return Ok(false);
    }
    let (holders, due) =
        store::request::stage_task_holders(&mut tx, request.id, stage_position).await?;
    let due_at =
        Timestamp(due.unwrap_or_else(|| now.plus_days(stage.decision_timeout_days).millis()));
    let alternates: Vec<i64> = stage
        .escalation_ids
        .iter()
        .copied()
        .filter(|id| {
            *id != request.person_id && *id != request.requested_by_id && !holders.contains(id)
        })
        .collect();
    let package_name = store::policy::package_name(&mut tx, request.package_id).await?;
    let requester_name = store::person::display_name(&mut tx, request.person_id).await?;
    for approver_id in &alternates {
        store::request::insert_approval_task(
            &mut tx,
            now,
            request.id,
            stage_position,
            *approver_id,
            due_at,
            "escalation",
        )
        .await?;
        mail::notify(
            &mut tx,
            now,
            *approver_id,
            &Notice::approval_escalated(
                &requester_name,
                &package_name,
                stage.escalation_after_days.unwrap_or_default(),
                due_at,
            ),
            &[decide_link(
                request.id,
                request.version,
                *approver_id,
                due_at,
            )],
        )
        .await?;
    }
    audit::append(
        &mut tx,
        now,
        &audit::Actor::System("scheduler"),
        audit::Change::new("access_request.escalated", "access_request", request.id).after(
            serde_json::json!({ "stage": stage_position, "alternate_ids": alternates, "due_at": due_at.millis() }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
