//! A holder asks to keep their access longer; granted at once or through the policy's
//! stages, it moves the end of the assignment they hold.

use super::*;

/// Moves the end of the extended assignment to the request's end, in the caller's
/// transaction. The access never lapses in between: only its end moves.
pub(super) async fn extend(
    tx: &mut Tx,
    now: Timestamp,
    request: &RequestRow,
    actor: &audit::Actor,
) -> Result<RequestProgress, AppError> {
    let assignment_id = request.assignment_id.ok_or_else(AppError::internal)?;
    let row = store::assignment::find(tx, assignment_id)
        .await?
        .ok_or_else(AppError::internal)?;
    let current = row.state();
    let new_end = request.end_at.map(Timestamp);
    let extended = current
        .apply(
            crate::domain::assignment::AssignmentEvent::Extend { new_end },
            now,
        )
        .map_err(|refusal| {
            AppError::new(
                ErrorCode::Conflict,
                format!("The access cannot be extended: {refusal}."),
            )
        })?;
    if !store::assignment::store_state(tx, now, &row, &extended).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "The access changed meanwhile; reload to see where it stands.",
        ));
    }
    store::request::mark_delivery(tx, now, request.id, RequestStatus::Delivered).await?;
    audit::append(
        tx,
        now,
        actor,
        audit::Change::new("assignment.extended", "assignment", row.id)
            .before(serde_json::json!({ "end_at": row.end_at }))
            .after(
                serde_json::json!({ "end_at": extended.end_at, "access_request_id": request.id }),
            ),
    )
    .await?;
    let package_name = store::policy::package_name(tx, row.package_id).await?;
    tell_requesters(
        tx,
        now,
        request,
        &Notice::access_extended(&package_name, extended.end_at),
    )
    .await?;
    Ok(RequestProgress {
        request_id: request.id,
        status: RequestStatus::Delivered,
        assignment_id: Some(row.id),
    })
}

/// The holder asks to keep their access longer. Granted at once when the policy lets
/// extensions through without approval; otherwise it goes through the policy's stages.
#[tracing::instrument(skip_all, fields(assignment_id = assignment_id))]
pub async fn request_extension(
    state: &AppState,
    holder: &PersonRow,
    assignment_id: i64,
    new_end: Option<Timestamp>,
    justification: &str,
) -> Result<RequestProgress, AppError> {
    request_extension_with(state, holder, assignment_id, new_end, justification, None).await
}

/// [`request_extension`], using up the email link `link_token_id` in the same transaction.
#[tracing::instrument(skip_all, fields(assignment_id = assignment_id, link_token_id = ?link_token_id))]
pub async fn request_extension_with(
    state: &AppState,
    holder: &PersonRow,
    assignment_id: i64,
    new_end: Option<Timestamp>,
    justification: &str,
    link_token_id: Option<i64>,
) -> Result<RequestProgress, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let row = match store::assignment::find(&mut tx, assignment_id).await? {
        Some(row) if permissions::holds(holder, row.person_id) => row,
        _ => return Err(AppError::not_found("assignment")),
    };
    let catalog_enabled = store::policy::find_package(&mut tx, row.package_id)
        .await?
        .is_some_and(|package| package.catalog_enabled);
    if !catalog_enabled {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "This access cannot be extended: its catalog is disabled.",
        ));
    }
    let policies = store::policy::policies_of(&mut tx, row.package_id).await?;
    let policy = policies
        .iter()
        .find(|policy| Some(policy.id) == row.policy_id && policy.extension_allowed)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::Forbidden,
                "This access cannot be extended; request it again when it ends.",
            )
        })?;
    policy
        .duration
        .check_extension(row.end_at.map(Timestamp), new_end)
        .map_err(|message| AppError::invalid_field("end_date", message))?;
    let justification = parse_justification(justification, policy.justification_required)
        .map_err(|message| AppError::invalid_field("justification", message))?;
    if store::request::open_request_for(&mut tx, holder.id, row.package_id)
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "A request for this package is already open.",
        ));
    }
    let needs_approval = policy.extension_needs_approval && !policy.stages.is_empty();
    let accepted = accept(policy, needs_approval, now)?;
    let request_id = store::request::insert(
        &mut tx,
        now,
        &NewRequest {
            kind: "extend",
            assignment_id: Some(row.id),
            person_id: holder.id,
            requested_by_id: holder.id,
            package_id: row.package_id,
            answers_json: "[]",
            policy_id: policy.id,
            status: accepted.status,
            current_stage: accepted.current_stage.map(i64::from),
            justification: &justification,
            start_at: Timestamp(row.start_at),
            end_at: new_end,
        },
    )
    .await?;
    let actor = audit::Actor::person(holder.id, &holder.display_name);
    audit::append(
        &mut tx,
        now,
        &actor,
        audit::Change::new("access_request.submitted", "access_request", request_id).after(serde_json::json!({
            "kind": "extend", "assignment_id": row.id, "end_at": new_end, "status": accepted.status.as_str(),
        })),
    )
    .await?;
    let outcome = if needs_approval {
        let package_name = store::policy::package_name(&mut tx, row.package_id).await?;
        if let Some(stage) = policy.stages.first() {
            approval_tasks::open_stage(
                &mut tx,
                now,
                request_id,
                approval_tasks::Parties {
                    subject_id: holder.id,
                    requested_by_id: holder.id,
                    package_id: row.package_id,
                },
                &package_name,
                stage,
            )
            .await?;
        }
        RequestProgress {
            request_id,
            status: accepted.status,
            assignment_id: Some(row.id),
        }
    } else {
        let request = store::request::find(&mut tx, request_id)
            .await?
            .ok_or_else(AppError::internal)?;
        extend(&mut tx, now, &request, &actor).await?
    };
    use_link(&mut tx, now, link_token_id).await?;
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(outcome)
}
