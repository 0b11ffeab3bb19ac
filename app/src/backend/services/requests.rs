//! Submitting, deciding and cancelling access requests. Each use case is one write
//! transaction: load, ask the domain, store the new state with its audit events and its
//! outbox rows (messages, provisioning jobs), commit.

use crate::backend::auth::permissions;
use crate::backend::mail::{self, decide_link, render::Notice};
use crate::backend::services::approval_tasks;
use crate::backend::store::{
    self, assignment::NewAssignment, audit, person::PersonRow, policy::PolicyRow,
    request::NewRequest, request::RequestRow, Tx,
};
use crate::backend::AppState;
use crate::domain::assignment::AssignmentState;
use crate::domain::drafts::{answer_field, check_answers};
use crate::domain::error::Validation;
use crate::domain::request::{RequestEvent, RequestRefusal, RequestState};
use crate::domain::status::RequestStatus;
use crate::domain::{AppError, ErrorCode, Timestamp};

/// The longest justification or decision comment accepted.
pub const MAX_JUSTIFICATION_CHARS: usize = 2_000;

#[derive(Clone, Debug, Default)]
pub struct SubmitRequest {
    pub package_id: i64,
    /// Which policy, when several admit the person.
    pub policy_id: Option<i64>,
    /// On behalf of a direct report; none for oneself.
    pub for_person_id: Option<i64>,
    pub justification: String,
    /// Answers to the questions of each policy the form offered, by policy id; only the
    /// chosen policy's are kept.
    pub answers: std::collections::BTreeMap<i64, Vec<String>>,
    pub start_at: Option<Timestamp>,
    pub end_at: Option<Timestamp>,
}

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

/// What a submission or decision led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submitted {
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

pub async fn submit(
    state: &AppState,
    actor: &PersonRow,
    input: SubmitRequest,
) -> Result<Submitted, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    // A package of a disabled catalog cannot be requested: it answers as if it did not
    // exist, as the catalog page does.
    let package = store::policy::find_package(&mut tx, input.package_id)
        .await?
        .filter(|package| package.catalog_enabled)
        .ok_or_else(|| AppError::not_found("access package"))?;
    let subject_id = match input.for_person_id {
        None => actor.id,
        Some(id) if id == actor.id => actor.id,
        Some(id) => {
            // Only a manager may ask on behalf of someone, and only for a direct report.
            let manager = match store::policy::manager_of(&mut tx, id).await {
                Ok(manager) => manager,
                Err(sqlx::Error::RowNotFound) => None,
                Err(error) => return Err(error.into()),
            };
            if manager != Some(actor.id) {
                return Err(AppError::new(
                    ErrorCode::Forbidden,
                    "You can request on behalf of your direct reports only.",
                ));
            }
            id
        }
    };
    let subject = store::person::find_in(&mut tx, subject_id)
        .await?
        .ok_or_else(|| AppError::not_found("person"))?;
    if subject.status != crate::domain::status::PersonStatus::Active {
        return Err(AppError::invalid_field(
            "for_person_id",
            "This person is no longer active; nothing can be requested for them.",
        ));
    }
    let requestor = store::policy::requestor(&mut tx, subject_id).await?;
    let policies = store::policy::policies_of(&mut tx, package.id).await?;
    let admitting: Vec<&PolicyRow> = policies
        .iter()
        .filter(|policy| policy.scope.admits(&requestor))
        .collect();
    let policy = match (admitting.as_slice(), input.policy_id) {
        ([], _) => {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                format!(
                    "You cannot request {}: no policy of this package admits you.",
                    package.name
                ),
            ))
        }
        ([only], None) => *only,
        (_, None) => {
            return Err(AppError::invalid_field(
                "policy_id",
                "Choose the policy to request under.",
            ))
        }
        (_, Some(chosen)) => *admitting
            .iter()
            .find(|policy| policy.id == chosen)
            .ok_or_else(|| {
                AppError::invalid_field(
                    "policy_id",
                    "That policy does not admit you; choose another.",
                )
            })?,
    };

    let mut validation = Validation::new();
    let justification = validation.check(
        "justification",
        parse_justification(&input.justification, policy.justification_required),
    );
    let period = validation.check(
        "end_at",
        policy
            .duration
            .resolve(input.start_at, input.end_at, now)
            .map_err(|(_, message)| message),
    );
    let no_answers = Vec::new();
    let given = input.answers.get(&policy.id).unwrap_or(&no_answers);
    let answers = match check_answers(&policy.questions, given) {
        Ok(answers) => Some(answers),
        Err(error) => {
            for (index, _) in policy.questions.iter().enumerate() {
                if let Some(message) = error.field_message(&format!("answers[{index}]")) {
                    validation
                        .check::<()>(&answer_field(policy.id, index), Err(message.to_string()));
                }
            }
            None
        }
    };
    validation.finish()?;
    let (justification, (start_at, end_at), answers) = match (justification, period, answers) {
        (Some(justification), Some(period), Some(answers)) => (justification, period, answers),
        _ => return Err(AppError::internal()),
    };
    let answers_json = serde_json::to_string(&answers).map_err(|_| AppError::internal())?;

    if let Some(conflict) =
        store::policy::conflicting_package_held(&mut tx, subject_id, package.id).await?
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("{} cannot be held together with {conflict}, which is already held (separation of duties).", package.name),
        ));
    }
    if store::assignment::held_or_scheduled(&mut tx, subject_id, package.id)
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{} is already held; ask for an extension instead.",
                package.name
            ),
        ));
    }
    if store::request::open_request_for(&mut tx, subject_id, package.id)
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("A request for {} is already open.", package.name),
        ));
    }

    let accepted = accept(policy, true, now)?;
    let request_id = store::request::insert(
        &mut tx,
        now,
        &NewRequest {
            kind: "assign",
            assignment_id: None,
            person_id: subject_id,
            requested_by_id: actor.id,
            package_id: package.id,
            policy_id: policy.id,
            status: accepted.status,
            current_stage: accepted.current_stage.map(i64::from),
            justification: &justification,
            answers_json: &answers_json,
            start_at,
            end_at,
        },
    )
    .await?;
    let actor_ref = audit::Actor::person(actor.id, &actor.display_name);
    audit::append(
        &mut tx,
        now,
        &actor_ref,
        audit::Change::new("access_request.submitted", "access_request", request_id).after(
            serde_json::json!({
                "person_id": subject_id, "access_package_id": package.id, "policy_id": policy.id,
                "status": accepted.status.as_str(), "start_at": start_at, "end_at": end_at,
                "justification": justification, "answers": answers,
            }),
        ),
    )
    .await?;

    let mut outcome = Submitted {
        request_id,
        status: accepted.status,
        assignment_id: None,
    };
    if accepted.status == RequestStatus::Approved {
        let request = store::request::find(&mut tx, request_id)
            .await?
            .ok_or_else(AppError::internal)?;
        outcome = grant(&mut tx, now, &request, &actor_ref).await?;
    } else if let Some(stage) = policy.stages.first() {
        approval_tasks::open_stage(
            &mut tx,
            now,
            request_id,
            approval_tasks::Parties {
                subject_id,
                requested_by_id: actor.id,
                package_id: package.id,
            },
            &package.name,
            stage,
        )
        .await?;
    }
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(outcome)
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
) -> Result<Submitted, AppError> {
    let assignment = AssignmentState::new(
        Timestamp(request.start_at),
        request.end_at.map(Timestamp),
        now,
    );
    let (assignment_id, downstream_pending) = create_assignment(
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
    Ok(Submitted {
        request_id: request.id,
        status,
        assignment_id: Some(assignment_id),
    })
}

/// Records one approver's decision on the waiting stage. The first valid final decision
/// wins; a concurrent or late one is answered "already decided by X at T" and changes
/// nothing.
pub async fn decide(
    state: &AppState,
    actor: &PersonRow,
    request_id: i64,
    outcome: Outcome,
    justification: &str,
) -> Result<Submitted, AppError> {
    decide_with(state, actor, request_id, outcome, justification, None).await
}

/// [`decide`], using up the email link `link_token_id` in the same transaction when the
/// decision came through one (so a link is used exactly when its decision is recorded).
pub async fn decide_with(
    state: &AppState,
    actor: &PersonRow,
    request_id: i64,
    outcome: Outcome,
    justification: &str,
    link_token_id: Option<i64>,
) -> Result<Submitted, AppError> {
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
    let mut result = Submitted {
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

/// Moves the end of the extended assignment to the request's end, in the caller's
/// transaction. The access never lapses in between: only its end moves.
async fn extend(
    tx: &mut Tx,
    now: Timestamp,
    request: &RequestRow,
    actor: &audit::Actor,
) -> Result<Submitted, AppError> {
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
    Ok(Submitted {
        request_id: request.id,
        status: RequestStatus::Delivered,
        assignment_id: Some(row.id),
    })
}

/// The holder asks to keep their access longer. Granted at once when the policy lets
/// extensions through without approval; otherwise it goes through the policy's stages.
pub async fn request_extension(
    state: &AppState,
    holder: &PersonRow,
    assignment_id: i64,
    new_end: Option<Timestamp>,
    justification: &str,
) -> Result<Submitted, AppError> {
    request_extension_with(state, holder, assignment_id, new_end, justification, None).await
}

/// [`request_extension`], using up the email link `link_token_id` in the same transaction.
pub async fn request_extension_with(
    state: &AppState,
    holder: &PersonRow,
    assignment_id: i64,
    new_end: Option<Timestamp>,
    justification: &str,
    link_token_id: Option<i64>,
) -> Result<Submitted, AppError> {
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
        Submitted {
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

/// Creates an assignment with a provisioning job per downstream resource and its audit
/// event, in the caller's transaction. Returns its id and whether delivery downstream is
/// still pending (Gatehouse's own groups are granted by the assignment itself).
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
