//! Granting and ending access. Every grant (an approved request, an extension's new
//! assignment, a direct assignment by an owner) goes through [`create_assignment`]; every
//! ending (the holder giving it back, an owner or administrator revoking it, expiry at its
//! end, a person leaving) goes through [`end_in`], so an assignment, its audit event and
//! its provisioning jobs are written one way.

use crate::backend::auth::permissions;
use crate::backend::mail::{self, render::Notice};
use crate::backend::store::{self, assignment::NewAssignment, audit, person::PersonRow, Tx};
use crate::backend::AppState;
use crate::domain::assignment::{AssignmentEvent, AssignmentRefusal, RemovalReason};
use crate::domain::status::AssignmentStatus;
use crate::domain::{AppError, ErrorCode, Timestamp};

/// Who ends the assignment, and why in their words.
pub struct Ending<'a> {
    pub actor: audit::Actor,
    pub reason: RemovalReason,
    pub comment: &'a str,
}

fn refused(refusal: AssignmentRefusal) -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        format!("This access cannot be ended: {refusal}."),
    )
}

/// Ends an assignment in one transaction. Resources in Gatehouse's own groups are removed
/// at once; downstream ones get a removal job each (unless another current assignment of
/// the person still grants them), and the assignment shows as removing until those are
/// verified.
#[tracing::instrument(skip_all, fields(assignment_id = assignment_id))]
pub async fn end(state: &AppState, assignment_id: i64, ending: Ending<'_>) -> Result<(), AppError> {
    end_when(state, assignment_id, ending, None)
        .await
        .map(|_| ())
}

/// Ends an assignment whose end has come by `now`, as the scheduler. Returns false,
/// changing nothing, when it is not due after all (extended meanwhile) or already ending.
#[tracing::instrument(skip_all, fields(assignment_id = assignment_id))]
pub async fn expire(
    state: &AppState,
    assignment_id: i64,
    now: Timestamp,
) -> Result<bool, AppError> {
    let ending = Ending {
        actor: audit::Actor::System("scheduler"),
        reason: RemovalReason::Expired,
        comment: "",
    };
    end_when(state, assignment_id, ending, Some(now)).await
}

/// Ends, as the scheduler, those of `ids` whose end has come by `now`, many to a
/// transaction (each with its own audit event, jobs and message, as [`expire`]): at
/// 100 000 expiring at once, one transaction each kept SQLite's single writer busy for
/// longer than the removals downstream took. Should a batch fail, its assignments are
/// ended one by one so that one bad row cannot hold back the rest. Returns how many ended.
#[tracing::instrument(skip_all)]
pub async fn expire_many(state: &AppState, ids: &[i64], now: Timestamp) -> Result<usize, AppError> {
    const PER_TRANSACTION: usize = 100;
    let mut ended = 0;
    for batch in ids.chunks(PER_TRANSACTION) {
        match expire_batch(state, batch, now).await {
            Ok(count) => ended += count,
            Err(error) => {
                tracing::warn!(%error, "ending a batch of expired access failed; ending them one by one");
                for id in batch {
                    if expire(state, *id, now).await? {
                        ended += 1;
                    }
                }
            }
        }
    }
    Ok(ended)
}

async fn expire_batch(state: &AppState, ids: &[i64], now: Timestamp) -> Result<usize, AppError> {
    let mut tx = state.db.begin_write().await?;
    audit::lock_chain(&mut tx).await?;
    let mut ended = 0;
    for id in ids {
        let ending = Ending {
            actor: audit::Actor::System("scheduler"),
            reason: RemovalReason::Expired,
            comment: "",
        };
        if end_in(&mut tx, now, *id, ending, true).await? {
            ended += 1;
        }
    }
    if ended > 0 {
        tx.commit().await?;
    }
    Ok(ended)
}

/// [`end`]; with `due_by`, only an active assignment whose end has come by that instant
/// is ended, at that instant (checked in the same transaction, so an extension committed
/// first wins).
async fn end_when(
    state: &AppState,
    assignment_id: i64,
    ending: Ending<'_>,
    due_by: Option<Timestamp>,
) -> Result<bool, AppError> {
    let now = due_by.unwrap_or_else(|| state.clock.now());
    let mut tx = state.db.begin_write().await?;
    let ended = end_in(&mut tx, now, assignment_id, ending, due_by.is_some()).await?;
    if ended {
        tx.commit().await?;
    }
    Ok(ended)
}

/// Ends an assignment inside the caller's transaction, at `now`: its removal jobs, its
/// audit event, and a message to the holder (not to someone who left). With
/// `only_if_due`, only an active assignment whose end has come; false (nothing written)
/// when it is not.
#[tracing::instrument(skip_all, fields(assignment_id = assignment_id))]
pub(crate) async fn end_in(
    tx: &mut store::Tx,
    now: Timestamp,
    assignment_id: i64,
    ending: Ending<'_>,
    only_if_due: bool,
) -> Result<bool, AppError> {
    let row = store::assignment::find(tx, assignment_id)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    let due =
        row.status == AssignmentStatus::Active && row.end_at.is_some_and(|end| end <= now.millis());
    if only_if_due && !due {
        return Ok(false);
    }
    let current = row.state();
    let mut next = current
        .apply(AssignmentEvent::End(ending.reason), now)
        .map_err(refused)?;
    let removals = store::assignment::resources_to_remove(tx, &row).await?;
    if removals.is_empty() {
        next = next
            .apply(AssignmentEvent::RemovalVerified, now)
            .map_err(refused)?;
    }
    // The state first: when it changed meanwhile nothing else has been written, so a
    // caller ending several in one transaction can go on with the next.
    if !store::assignment::store_state(tx, now, &row, &next).await? {
        if only_if_due {
            // Another instance's sweeper ended it first.
            return Ok(false);
        }
        return Err(AppError::new(
            ErrorCode::Conflict,
            "This access changed meanwhile; reload to see where it stands.",
        ));
    }
    for (resource_id, connector_id) in &removals {
        store::provisioning::queue_membership(
            tx,
            now,
            store::provisioning::MemberOperation::Remove,
            row.id,
            row.person_id,
            *resource_id,
            *connector_id,
        )
        .await?;
    }
    audit::append(
        tx,
        now,
        &ending.actor,
        audit::Change::new("assignment.ended", "assignment", row.id)
            .before(serde_json::json!({ "status": row.status.as_str() }))
            .after(serde_json::json!({
                "status": next.status.as_str(), "reason": ending.reason.as_str(),
                "comment": ending.comment, "removal_jobs": removals.len(),
            })),
    )
    .await?;
    let package_name = store::policy::package_name(tx, row.package_id).await?;
    let why = match (&ending.actor, ending.reason) {
        (audit::Actor::Person { label, .. }, reason) => {
            format!("{} ({label})", removal_words(reason))
        }
        (audit::Actor::System(_), reason) => removal_words(reason).to_string(),
    };
    if ending.reason != RemovalReason::UserLeft {
        mail::notify(
            tx,
            now,
            row.person_id,
            &Notice::access_removed(&package_name, &why, ending.comment),
            &[],
        )
        .await?;
    }
    Ok(true)
}

/// Why access ended, as the holder reads it.
fn removal_words(reason: RemovalReason) -> &'static str {
    match reason {
        RemovalReason::Expired => "its end date passed",
        RemovalReason::DeniedInReview => "a reviewer decided it is no longer needed",
        RemovalReason::Revoked => "it was revoked",
        RemovalReason::Released => "you gave it back",
        RemovalReason::UserLeft => "you left the organisation",
        RemovalReason::NotEligible => "you are no longer eligible for it",
        RemovalReason::SeparationOfDuties => "it conflicts with other access you hold",
    }
}

/// The holder gives their access back early.
#[tracing::instrument(skip_all, fields(assignment_id = assignment_id))]
pub async fn release(
    state: &AppState,
    holder: &PersonRow,
    assignment_id: i64,
) -> Result<(), AppError> {
    let owned = {
        let mut tx = state.db.reader().begin().await?;
        store::assignment::find(&mut tx, assignment_id).await?
    };
    match owned {
        Some(row) if permissions::holds(holder, row.person_id) => {}
        _ => return Err(AppError::not_found("assignment")),
    }
    end(
        state,
        assignment_id,
        Ending {
            actor: audit::Actor::person(holder.id, &holder.display_name),
            reason: RemovalReason::Released,
            comment: "",
        },
    )
    .await
}

/// An owner of the package (or its catalog) or an administrator removes someone's access,
/// with a reason.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, assignment_id = assignment_id))]
pub async fn revoke(
    state: &AppState,
    actor: &PersonRow,
    assignment_id: i64,
    comment: &str,
) -> Result<(), AppError> {
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(AppError::invalid_field(
            "comment",
            "Say why this access is removed.",
        ));
    }
    if comment.chars().count() > crate::backend::services::requests::MAX_JUSTIFICATION_CHARS {
        return Err(AppError::invalid_field(
            "comment",
            "Use at most 2000 characters.",
        ));
    }
    let allowed = {
        let mut tx = state.db.reader().begin().await?;
        match store::assignment::find(&mut tx, assignment_id).await? {
            Some(row) => permissions::manages_package(&mut tx, actor, row.package_id).await?,
            None => false,
        }
    };
    if !allowed {
        return Err(AppError::not_found("assignment"));
    }
    end(
        state,
        assignment_id,
        Ending {
            actor: audit::Actor::person(actor.id, &actor.display_name),
            reason: RemovalReason::Revoked,
            comment,
        },
    )
    .await
}

/// An owner of the package (or its catalog) or an administrator gives someone the package
/// directly, with a reason, without a request. Separation of duties still applies.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, package_id = package_id, person_id = person_id))]
pub async fn assign_directly(
    state: &AppState,
    actor: &PersonRow,
    package_id: i64,
    person_id: i64,
    end_at: Option<crate::domain::Timestamp>,
    reason: &str,
) -> Result<i64, AppError> {
    use crate::backend::services::requests::MAX_JUSTIFICATION_CHARS;
    use crate::domain::assignment::AssignmentState;
    use crate::domain::status::PersonStatus;
    permissions::may_assign_directly_to(actor, person_id)?;
    let now = state.clock.now();
    let reason = reason.trim();
    let mut validation = crate::domain::error::Validation::new();
    validation.check(
        "reason",
        if reason.is_empty() {
            Err("Say why this person gets the package.".to_string())
        } else if reason.chars().count() > MAX_JUSTIFICATION_CHARS {
            Err(format!("Use at most {MAX_JUSTIFICATION_CHARS} characters."))
        } else {
            Ok(())
        },
    );
    validation.check(
        "end_date",
        match end_at {
            Some(end) if end <= now => Err("The end must be in the future.".to_string()),
            _ => Ok(()),
        },
    );
    let mut tx = state.db.begin_write().await?;
    let package = store::policy::find_package(&mut tx, package_id).await?;
    let allowed = match &package {
        Some(package) => permissions::manages_package(&mut tx, actor, package.id).await?,
        None => false,
    };
    let Some(package) = package.filter(|_| allowed) else {
        return Err(AppError::not_found("access package"));
    };
    // An owner cannot hand out directly what a policy would have someone approve: the
    // person requests it (or their manager does on their behalf). Administrators, who
    // may change any policy anyway, may assign directly; it is audited as such.
    if !permissions::administers(actor)
        && store::policy::policies_of(&mut tx, package.id)
            .await?
            .iter()
            .any(|policy| !policy.stages.is_empty())
    {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            format!(
                "{} needs approval: ask the person to request it, or their manager to request it for them.",
                package.name
            ),
        ));
    }
    let person = store::person::find_in(&mut tx, person_id).await?;
    validation.check(
        "person_id",
        match person {
            Some(person) if person.status == PersonStatus::Active => Ok(()),
            _ => Err("Choose an active person.".to_string()),
        },
    );
    validation.finish()?;
    if let Some(conflict) =
        store::policy::conflicting_package_held(&mut tx, person_id, package.id).await?
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("{} cannot be held together with {conflict}, which this person holds (separation of duties).", package.name),
        ));
    }
    if store::assignment::held_or_scheduled(&mut tx, person_id, package.id)
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("This person already holds {}.", package.name),
        ));
    }
    let assignment = AssignmentState::new(now, end_at, now);
    let (assignment_id, _) = create_assignment(
        &mut tx,
        now,
        &store::assignment::NewAssignment {
            person_id,
            package_id: package.id,
            policy_id: None,
            request_id: None,
            status: assignment.status,
            start_at: assignment.start_at,
            end_at: assignment.end_at,
        },
        &audit::Actor::person(actor.id, &actor.display_name),
        serde_json::json!({ "direct": true, "reason": reason }),
    )
    .await?;
    mail::notify(
        &mut tx,
        now,
        person_id,
        &Notice::access_granted(
            &package.name,
            &actor.display_name,
            reason,
            assignment.end_at,
        ),
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(assignment_id)
}

/// Creates an assignment with a provisioning job per downstream resource and its audit
/// event, in the caller's transaction. Returns its id and whether delivery downstream is
/// still pending (Gatehouse's own groups are granted by the assignment itself).
#[tracing::instrument(skip_all)]
pub(crate) async fn create_assignment(
    tx: &mut Tx,
    now: Timestamp,
    assignment: &NewAssignment,
    actor: &audit::Actor,
    details: serde_json::Value,
) -> Result<(i64, bool), AppError> {
    // Checked again here, where every grant passes (request, approval, extension of a
    // request made earlier, direct assignment): the person may have left, or an
    // incompatible package may have been granted, since the request was made.
    let person = store::person::find_in(tx, assignment.person_id)
        .await?
        .ok_or_else(|| AppError::not_found("person"))?;
    permissions::require_active(person.status)?;
    if let Some(conflict) =
        store::policy::conflicting_package_held(tx, assignment.person_id, assignment.package_id)
            .await?
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{} holds {conflict}, which cannot be held together with this package (separation of duties).",
                person.display_name
            ),
        ));
    }
    let assignment_id = store::assignment::insert(tx, now, assignment).await?;
    let downstream = store::policy::downstream_resources(tx, assignment.package_id).await?;
    for (resource_id, connector_id) in &downstream {
        store::provisioning::queue_membership(
            tx,
            now,
            store::provisioning::MemberOperation::Add,
            assignment_id,
            assignment.person_id,
            *resource_id,
            *connector_id,
        )
        .await?;
    }
    audit::append(
        tx,
        now,
        actor,
        audit::Change::new("assignment.created", "assignment", assignment_id).after(serde_json::json!({
            "person_id": assignment.person_id, "access_package_id": assignment.package_id,
            "status": assignment.status.as_str(), "start_at": assignment.start_at, "end_at": assignment.end_at,
            "details": details,
        })),
    )
    .await?;
    Ok((assignment_id, !downstream.is_empty()))
}

/// Moves the end of access kept in a review out by its policy's duration (at most so many
/// days from now), in the caller's transaction. False, changing nothing, for access with
/// no end, a policy without a duration in days, or an end already further out.
pub(crate) async fn extend_by_policy(
    tx: &mut Tx,
    now: Timestamp,
    assignment_id: i64,
    actor: &audit::Actor,
) -> Result<bool, AppError> {
    let Some(row) = store::assignment::find(tx, assignment_id).await? else {
        return Ok(false);
    };
    let Some(days) = store::review_instance::policy_days(tx, assignment_id).await? else {
        return Ok(false);
    };
    let new_end = now.plus_days(days);
    if row.status != AssignmentStatus::Active
        || row.end_at.is_none_or(|end| end >= new_end.millis())
    {
        return Ok(false);
    }
    let extended = row
        .state()
        .apply(
            AssignmentEvent::Extend {
                new_end: Some(new_end),
            },
            now,
        )
        .map_err(refused)?;
    if !store::assignment::store_state(tx, now, &row, &extended).await? {
        return Ok(false);
    }
    audit::append(
        tx,
        now,
        actor,
        audit::Change::new("assignment.extended", "assignment", row.id)
            .before(serde_json::json!({ "end_at": row.end_at }))
            .after(
                serde_json::json!({ "end_at": extended.end_at, "why": "kept in an access review" }),
            ),
    )
    .await?;
    Ok(true)
}
