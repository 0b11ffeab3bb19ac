//! Who may decide a waiting stage, now, and the open approval tasks kept in line with it.
//!
//! A stage's approvers are resolved when it opens, and again whenever what named them may
//! have changed: an owner added or removed, the policy's stages rewritten, a manager
//! changed, an approver who left, and at every decision (which covers any change this
//! module is not told of). Tasks of people no longer entitled are withdrawn and their
//! email links used up; people newly entitled are asked, with a message and a link.

use crate::backend::mail::{self, decide_link, render::Notice};
use crate::backend::store::{self, audit, policy::StageRow, request::RequestRow, Tx};
use crate::domain::approvers::{self, ApproverRule, ApproverSource, Candidates};
use crate::domain::status::RequestStatus;
use crate::domain::{AppError, ErrorCode, Timestamp};

/// The people a request concerns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parties {
    pub subject_id: i64,
    pub requested_by_id: i64,
    pub package_id: i64,
}

impl From<&RequestRow> for Parties {
    fn from(request: &RequestRow) -> Self {
        Self {
            subject_id: request.person_id,
            requested_by_id: request.requested_by_id,
            package_id: request.package_id,
        }
    }
}

/// Who the stage names now, among active people only: a manager who left, an owner
/// disabled or a named approver gone make the stage fall to its fallbacks, then to the
/// administrators.
#[tracing::instrument(skip_all)]
pub(crate) async fn resolve_stage(
    tx: &mut Tx,
    parties: Parties,
    stage: &StageRow,
) -> Result<approvers::Resolved, AppError> {
    let active_one = |ids: Vec<i64>| ids.into_iter().next();
    // The manager chain as stored (a manager who left still links to theirs), then only
    // active people among it may decide.
    let stored_manager = store::policy::manager_of(tx, parties.subject_id).await?;
    let manager_id = match stored_manager {
        Some(manager) => active_one(store::person::active_among(tx, &[manager]).await?),
        None => None,
    };
    let second_level_manager_id = match stored_manager {
        Some(manager) => match store::policy::manager_of(tx, manager).await? {
            Some(second) => active_one(store::person::active_among(tx, &[second]).await?),
            None => None,
        },
        None => None,
    };
    let (group_member_ids, named) = match &stage.rule {
        ApproverRule::GroupMembers { group_ids } => (
            store::policy::active_members_of(tx, group_ids).await?,
            ApproverRule::GroupMembers {
                group_ids: group_ids.clone(),
            },
        ),
        ApproverRule::NamedPeople { person_ids } => (
            Vec::new(),
            ApproverRule::NamedPeople {
                person_ids: store::person::active_among(tx, person_ids).await?,
            },
        ),
        other => (Vec::new(), other.clone()),
    };
    let candidates = Candidates {
        subject_id: parties.subject_id,
        requested_by_id: parties.requested_by_id,
        manager_id,
        second_level_manager_id,
        package_owner_ids: store::policy::package_owner_ids(tx, parties.package_id).await?,
        group_member_ids,
        fallback_ids: store::person::active_among(tx, &stage.fallback_ids).await?,
        administrator_ids: store::policy::administrator_ids(tx).await?,
    };
    Ok(approvers::resolve(&named, &candidates))
}

/// The escalation alternates a stage names who may still decide: active, and neither
/// the person the access is for nor who asked.
async fn entitled_alternates(
    tx: &mut Tx,
    parties: Parties,
    stage: &StageRow,
) -> Result<Vec<i64>, AppError> {
    Ok(store::person::active_among(tx, &stage.escalation_ids)
        .await?
        .into_iter()
        .filter(|id| *id != parties.subject_id && *id != parties.requested_by_id)
        .collect())
}

/// What one request's stage is asked of, for the messages.
pub(crate) struct Asking<'a> {
    pub request_id: i64,
    pub stage_position: i64,
    pub package_name: &'a str,
    pub due_at: Timestamp,
    pub origin: &'a str,
}

/// Gives each approver a task on the stage and tells them, with a link bound to the
/// request as it stands.
#[tracing::instrument(skip_all)]
pub(crate) async fn ask(
    tx: &mut Tx,
    now: Timestamp,
    parties: Parties,
    asking: &Asking<'_>,
    approver_ids: &[i64],
) -> Result<(), AppError> {
    if approver_ids.is_empty() {
        return Ok(());
    }
    let requester_name = store::person::display_name(tx, parties.subject_id).await?;
    let (version, justification) =
        store::request::version_and_justification(tx, asking.request_id).await?;
    for approver_id in approver_ids {
        store::request::insert_approval_task(
            tx,
            now,
            asking.request_id,
            asking.stage_position,
            *approver_id,
            asking.due_at,
            asking.origin,
        )
        .await?;
        mail::notify(
            tx,
            now,
            *approver_id,
            &Notice::approval_needed(
                &requester_name,
                asking.package_name,
                &justification,
                asking.due_at,
            ),
            &[decide_link(
                asking.request_id,
                version,
                *approver_id,
                asking.due_at,
            )],
        )
        .await?;
    }
    Ok(())
}

/// Opens a stage: its approvers, resolved now, get a task and a message each.
#[tracing::instrument(skip_all, fields(request_id = request_id))]
pub(crate) async fn open_stage(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    parties: Parties,
    package_name: &str,
    stage: &StageRow,
) -> Result<(), AppError> {
    let resolved = resolve_stage(tx, parties, stage).await?;
    if resolved.approver_ids.is_empty() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "Nobody can approve this request: the stage names no approver, has no fallback and there is no administrator.",
        ));
    }
    let origin = match resolved.source {
        ApproverSource::Rule => "primary",
        ApproverSource::Fallback | ApproverSource::Administrators => "fallback",
    };
    ask(
        tx,
        now,
        parties,
        &Asking {
            request_id,
            stage_position: i64::from(stage.position),
            package_name,
            due_at: now.plus_days(stage.decision_timeout_days),
            origin,
        },
        &resolved.approver_ids,
    )
    .await
}

/// How re-resolving a waiting stage changed its tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reresolved {
    /// Approvers whose open task was withdrawn (their links used up).
    pub withdrawn: Vec<i64>,
    /// Approvers newly asked, or asked again.
    pub asked: Vec<i64>,
}

impl Reresolved {
    pub fn changed(&self) -> bool {
        !self.withdrawn.is_empty() || !self.asked.is_empty()
    }
}

/// Brings the open tasks of a waiting request's current stage in line with who is
/// entitled to decide it now, with one audit event when anything changed. A request that
/// no longer waits changes nothing.
#[tracing::instrument(skip_all, fields(request_id = request_id))]
pub(crate) async fn reresolve(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    actor: &audit::Actor,
) -> Result<Reresolved, AppError> {
    let mut outcome = Reresolved::default();
    let Some(request) = store::request::find(tx, request_id).await? else {
        return Ok(outcome);
    };
    let (RequestStatus::PendingApproval, Some(position), Some(policy_id)) =
        (request.status, request.current_stage, request.policy_id)
    else {
        return Ok(outcome);
    };
    let parties = Parties::from(&request);
    let stages = store::policy::stages_of(tx, policy_id).await?;
    let stage = stages
        .iter()
        .find(|stage| i64::from(stage.position) == position);
    let (mut entitled, origin, timeout_days) = match stage {
        Some(stage) => {
            let resolved = resolve_stage(tx, parties, stage).await?;
            let origin = if resolved.source == ApproverSource::Rule {
                "primary"
            } else {
                "fallback"
            };
            (resolved.approver_ids, origin, stage.decision_timeout_days)
        }
        // The stage was removed from the policy while the request waited there: it falls
        // to the administrators, who may approve or deny it.
        None => (
            store::policy::administrator_ids(tx)
                .await?
                .into_iter()
                .filter(|id| *id != parties.subject_id && *id != parties.requested_by_id)
                .collect(),
            "fallback",
            14,
        ),
    };
    let tasks = store::request::stage_tasks(tx, request.id, position).await?;
    // Alternates asked by an escalation stay entitled while the stage still names them.
    if let Some(stage) = stage {
        let alternates = entitled_alternates(tx, parties, stage).await?;
        for task in tasks.iter().filter(|task| task.origin == "escalation") {
            if alternates.contains(&task.approver_id) && !entitled.contains(&task.approver_id) {
                entitled.push(task.approver_id);
            }
        }
    }
    for task in tasks.iter().filter(|task| task.status == "open") {
        if !entitled.contains(&task.approver_id) {
            store::request::set_task_status(tx, now, task.id, "cancelled").await?;
            store::action_token::use_up_for(
                tx,
                now,
                "decide",
                "access_request",
                request.id,
                Some(task.approver_id),
            )
            .await?;
            outcome.withdrawn.push(task.approver_id);
        }
    }
    let due_at = tasks
        .iter()
        .map(|task| task.due_at)
        .max()
        .map_or_else(|| now.plus_days(timeout_days), Timestamp);
    let package_name = store::policy::package_name(tx, request.package_id).await?;
    let mut new_ids = Vec::new();
    for approver_id in &entitled {
        match tasks.iter().find(|task| task.approver_id == *approver_id) {
            // Withdrawn earlier and entitled again: asked again.
            Some(task) if task.status == "cancelled" => {
                store::request::set_task_status(tx, now, task.id, "open").await?;
                let (version, justification) =
                    store::request::version_and_justification(tx, request.id).await?;
                let requester_name = store::person::display_name(tx, parties.subject_id).await?;
                mail::notify(
                    tx,
                    now,
                    *approver_id,
                    &Notice::approval_needed(
                        &requester_name,
                        &package_name,
                        &justification,
                        Timestamp(task.due_at),
                    ),
                    &[decide_link(
                        request.id,
                        version,
                        *approver_id,
                        Timestamp(task.due_at),
                    )],
                )
                .await?;
                outcome.asked.push(*approver_id);
            }
            Some(_) => {}
            None => new_ids.push(*approver_id),
        }
    }
    ask(
        tx,
        now,
        parties,
        &Asking {
            request_id: request.id,
            stage_position: position,
            package_name: &package_name,
            due_at,
            origin,
        },
        &new_ids,
    )
    .await?;
    outcome.asked.extend(new_ids);
    if outcome.changed() {
        audit::append(
            tx,
            now,
            actor,
            audit::Change::new(
                "access_request.approvers_changed",
                "access_request",
                request.id,
            )
            .after(serde_json::json!({
                "stage": position,
                "withdrawn_ids": outcome.withdrawn,
                "asked_ids": outcome.asked,
            })),
        )
        .await?;
    }
    Ok(outcome)
}

/// Re-resolves every request waiting that `which` selects, in the caller's transaction.
#[tracing::instrument(skip_all)]
pub(crate) async fn reresolve_waiting(
    tx: &mut Tx,
    now: Timestamp,
    which: store::request::Waiting,
    actor: &audit::Actor,
) -> Result<usize, AppError> {
    let mut changed = 0;
    for request_id in store::request::waiting(tx, which).await? {
        if reresolve(tx, now, request_id, actor).await?.changed() {
            changed += 1;
        }
    }
    Ok(changed)
}
