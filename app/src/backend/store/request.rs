//! Access requests, the approval tasks they create for approvers, and decisions.

use super::Tx;
use crate::domain::status::RequestStatus;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

pub struct NewRequest<'a> {
    /// `assign` for new access, `extend` for a later end of `assignment_id`.
    pub kind: &'static str,
    pub assignment_id: Option<i64>,
    pub person_id: i64,
    pub requested_by_id: i64,
    pub package_id: i64,
    pub policy_id: i64,
    pub status: RequestStatus,
    pub current_stage: Option<i64>,
    pub justification: &'a str,
    /// The requester's answers to the policy's questions, as a JSON array.
    pub answers_json: &'a str,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
}

pub async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    request: &NewRequest<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into access_request (kind, person_id, requested_by_id, access_package_id, \
         assignment_policy_id, assignment_id, status, current_stage, justification, answers_json, start_at, \
         end_at, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         returning id",
    )
    .bind(request.kind)
    .bind(request.person_id)
    .bind(request.requested_by_id)
    .bind(request.package_id)
    .bind(request.policy_id)
    .bind(request.assignment_id)
    .bind(request.status.as_str())
    .bind(request.current_stage)
    .bind(request.justification)
    .bind(request.answers_json)
    .bind(request.start_at.millis())
    .bind(request.end_at.map(Timestamp::millis))
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// Records how delivery of a decided request stands (delivering, delivered).
pub async fn mark_delivery(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    status: RequestStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("update access_request set status = $1, updated_at = $2 where id = $3")
        .bind(status.as_str())
        .bind(now.millis())
        .bind(request_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn insert_approval_task(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    stage_position: i64,
    approver_id: i64,
    due_at: Timestamp,
    origin: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into approval_task (access_request_id, stage_position, approver_id, due_at, origin, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $6) returning id",
    )
    .bind(request_id)
    .bind(stage_position)
    .bind(approver_id)
    .bind(due_at.millis())
    .bind(origin)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert_decision(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    stage_position: i64,
    approver_id: i64,
    justification: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into decision (access_request_id, stage_position, approver_id, outcome, \
         justification, decided_at) values ($1, $2, $3, 'approve', $4, $5) returning id",
    )
    .bind(request_id)
    .bind(stage_position)
    .bind(approver_id)
    .bind(justification)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// A request as its requester sees it on the home page.
#[derive(Clone, Debug)]
pub struct OwnRequestRow {
    pub id: i64,
    pub package_name: String,
    pub status: RequestStatus,
    pub current_stage: Option<i64>,
    pub stage_count: i64,
    pub created_at: i64,
    pub for_person_name: String,
}

/// Requests made by or for the person, open ones first, newest first.
pub async fn list_for_person(
    pool: &AnyPool,
    person_id: i64,
    limit: i64,
) -> Result<Vec<OwnRequestRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select r.id, p.name as package_name, r.status, r.current_stage, r.created_at, \
         who.display_name as for_person_name, \
         (select count(*) from approval_stage s where s.assignment_policy_id = r.assignment_policy_id) as stage_count, \
         case when r.status in ('submitted', 'pending_approval', 'approved', 'delivering') then 0 else 1 end as closed \
         from access_request r \
         join access_package p on p.id = r.access_package_id \
         join person who on who.id = r.person_id \
         where r.person_id = $1 or r.requested_by_id = $1 \
         order by closed, r.created_at desc, r.id desc limit $2",
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(OwnRequestRow {
                id: row.try_get("id")?,
                package_name: row.try_get("package_name")?,
                status: RequestStatus::parse(&status).map_err(|e| sqlx::Error::Decode(e.into()))?,
                current_stage: row.try_get("current_stage")?,
                stage_count: row.try_get("stage_count")?,
                created_at: row.try_get("created_at")?,
                for_person_name: row.try_get("for_person_name")?,
            })
        })
        .collect()
}

/// An approval waiting for a person.
#[derive(Clone, Debug)]
pub struct WaitingApprovalRow {
    pub request_id: i64,
    pub requester_name: String,
    pub package_name: String,
    pub justification: String,
    pub answers_json: String,
    pub stage_position: i64,
    pub due_at: i64,
}

pub async fn list_waiting_for(
    pool: &AnyPool,
    approver_id: i64,
    limit: i64,
) -> Result<Vec<WaitingApprovalRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select t.access_request_id, who.display_name as requester_name, p.name as package_name, \
         r.justification, r.answers_json, t.stage_position, t.due_at \
         from approval_task t \
         join access_request r on r.id = t.access_request_id \
         join access_package p on p.id = r.access_package_id \
         join person who on who.id = r.person_id \
         where t.approver_id = $1 and t.status = 'open' and r.status = 'pending_approval' \
         order by t.due_at, t.id limit $2",
    )
    .bind(approver_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(WaitingApprovalRow {
                request_id: row.try_get("access_request_id")?,
                requester_name: row.try_get("requester_name")?,
                package_name: row.try_get("package_name")?,
                justification: row.try_get("justification")?,
                answers_json: row.try_get("answers_json")?,
                stage_position: row.try_get("stage_position")?,
                due_at: row.try_get("due_at")?,
            })
        })
        .collect()
}

/// A request as the decision service needs it.
#[derive(Clone, Debug)]
pub struct RequestRow {
    pub id: i64,
    /// `assign`, `extend` or `remove`.
    pub kind: String,
    /// The assignment an extension or removal is about.
    pub assignment_id: Option<i64>,
    pub person_id: i64,
    pub requested_by_id: i64,
    pub package_id: i64,
    pub policy_id: Option<i64>,
    pub status: RequestStatus,
    pub current_stage: Option<i64>,
    pub start_at: i64,
    pub end_at: Option<i64>,
    pub version: i64,
    pub decided_at: Option<i64>,
}

pub async fn find(tx: &mut Tx, request_id: i64) -> Result<Option<RequestRow>, sqlx::Error> {
    let row = sqlx::query(
        "select id, kind, assignment_id, person_id, requested_by_id, access_package_id, \
         assignment_policy_id, status, current_stage, start_at, end_at, version, decided_at \
         from access_request where id = $1",
    )
    .bind(request_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        let status: String = row.try_get("status")?;
        Ok(RequestRow {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            assignment_id: row.try_get("assignment_id")?,
            person_id: row.try_get("person_id")?,
            requested_by_id: row.try_get("requested_by_id")?,
            package_id: row.try_get("access_package_id")?,
            policy_id: row.try_get("assignment_policy_id")?,
            status: RequestStatus::parse(&status).map_err(|e| sqlx::Error::Decode(e.into()))?,
            current_stage: row.try_get("current_stage")?,
            start_at: row.try_get("start_at")?,
            end_at: row.try_get("end_at")?,
            version: row.try_get("version")?,
            decided_at: row.try_get("decided_at")?,
        })
    })
    .transpose()
}

/// Moves a request to its new state only if nobody changed it since it was read
/// (`version`); returns false when someone did, so the caller answers "already decided".
pub async fn advance(
    tx: &mut Tx,
    now: Timestamp,
    request: &RequestRow,
    status: RequestStatus,
    current_stage: Option<i64>,
    decided: bool,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update access_request set status = $1, current_stage = $2, \
         decided_at = case when $3 then $4 else decided_at end, updated_at = $4, version = version + 1 \
         where id = $5 and version = $6",
    )
    .bind(status.as_str())
    .bind(current_stage)
    .bind(decided)
    .bind(now.millis())
    .bind(request.id)
    .bind(request.version)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn record_decision(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    stage_position: i64,
    approver_id: i64,
    outcome: &str,
    justification: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into decision (access_request_id, stage_position, approver_id, outcome, \
         justification, decided_at) values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(request_id)
    .bind(stage_position)
    .bind(approver_id)
    .bind(outcome)
    .bind(justification)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

pub async fn approvals_on_stage(
    tx: &mut Tx,
    request_id: i64,
    stage_position: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from decision where access_request_id = $1 and stage_position = $2 and outcome = 'approve'",
    )
    .bind(request_id)
    .bind(stage_position)
    .fetch_one(&mut **tx)
    .await
}

/// Whether the person has (or had) an approval task on the request: who may see it.
pub async fn is_approver_of(
    tx: &mut Tx,
    request_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from approval_task where access_request_id = $1 and approver_id = $2",
    )
    .bind(request_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

pub async fn has_open_task(
    tx: &mut Tx,
    request_id: i64,
    stage_position: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from approval_task where access_request_id = $1 and stage_position = $2 \
         and approver_id = $3 and status = 'open'",
    )
    .bind(request_id)
    .bind(stage_position)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

/// Closes the open tasks of a stage (`done` when decided, `cancelled` when withdrawn),
/// or only one approver's task when `approver_id` is given.
pub async fn close_tasks(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    status: &str,
    approver_id: Option<i64>,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "update approval_task set status = $1, updated_at = $2 \
         where access_request_id = $3 and status = 'open' and ($4 is null or approver_id = $4)",
    )
    .bind(status)
    .bind(now.millis())
    .bind(request_id)
    .bind(approver_id)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// Who took the final decision on a request and when, for "already decided by X at T".
pub async fn final_decider(
    tx: &mut Tx,
    request_id: i64,
) -> Result<Option<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select p.display_name, d.decided_at from decision d join person p on p.id = d.approver_id \
         where d.access_request_id = $1 order by d.decided_at desc, d.id desc limit 1",
    )
    .bind(request_id)
    .fetch_optional(&mut **tx)
    .await
}

/// An open request for the same package and person, if one exists.
pub async fn open_request_for(
    tx: &mut Tx,
    person_id: i64,
    package_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from access_request where person_id = $1 and access_package_id = $2 \
         and status in ('submitted', 'pending_approval', 'approved', 'delivering') limit 1",
    )
    .bind(person_id)
    .bind(package_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Requests whose waiting stage has an open task past its deadline: (request, stage).
pub async fn overdue_stages(
    pool: &AnyPool,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select distinct t.access_request_id, t.stage_position from approval_task t \
         join access_request r on r.id = t.access_request_id \
         where t.status = 'open' and t.due_at <= $1 and r.status = 'pending_approval' \
         and r.current_stage = t.stage_position order by t.access_request_id limit $2",
    )
    .bind(now.millis())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// When the open stage of a request escalates: the first task's creation plus the stage's
/// escalation delay. Only stages with alternates that have not escalated yet.
const ESCALATION_DUE: &str = "t.created_at + s.escalation_after_days * cast(86400000 as bigint)";
const ESCALATION_PENDING: &str = "from approval_task t \
     join access_request r on r.id = t.access_request_id \
     join approval_stage s on s.assignment_policy_id = r.assignment_policy_id and s.position = t.stage_position \
     where t.status = 'open' and t.origin <> 'escalation' and t.escalated_at is null \
     and r.status = 'pending_approval' and r.current_stage = t.stage_position \
     and s.escalation_after_days is not null";

/// Stages whose escalation delay has passed: (request id, stage position).
pub async fn due_escalations(
    pool: &AnyPool,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select distinct t.access_request_id, t.stage_position {ESCALATION_PENDING} \
         and {ESCALATION_DUE} <= $1 order by t.access_request_id limit $2"
    ))
    .bind(now.millis())
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn earliest_escalation(pool: &AnyPool) -> Result<Option<Timestamp>, sqlx::Error> {
    let earliest: Option<i64> = sqlx::query_scalar(&format!(
        "select min({ESCALATION_DUE}) {ESCALATION_PENDING}"
    ))
    .fetch_one(pool)
    .await?;
    Ok(earliest.map(Timestamp))
}

/// Marks the open tasks of a stage as escalated; returns how many were marked (0: someone
/// else escalated it first).
pub async fn mark_escalated(
    tx: &mut Tx,
    now: Timestamp,
    request_id: i64,
    stage_position: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "update approval_task set escalated_at = $1, updated_at = $1 where access_request_id = $2 \
         and stage_position = $3 and status = 'open' and origin <> 'escalation' and escalated_at is null",
    )
    .bind(now.millis())
    .bind(request_id)
    .bind(stage_position)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// Everyone with a task on a stage, and the latest decision deadline among them.
pub async fn stage_task_holders(
    tx: &mut Tx,
    request_id: i64,
    stage_position: i64,
) -> Result<(Vec<i64>, Option<i64>), sqlx::Error> {
    let holders: Vec<(i64, i64)> = sqlx::query_as(
        "select approver_id, due_at from approval_task where access_request_id = $1 and stage_position = $2",
    )
    .bind(request_id)
    .bind(stage_position)
    .fetch_all(&mut **tx)
    .await?;
    let due = holders.iter().map(|(_, due)| *due).max();
    Ok((holders.into_iter().map(|(id, _)| id).collect(), due))
}

/// The earliest deadline of an open approval task, for the scheduler's sleep.
pub async fn earliest_open_deadline(pool: &AnyPool) -> Result<Option<Timestamp>, sqlx::Error> {
    let earliest: Option<i64> =
        sqlx::query_scalar("select min(due_at) from approval_task where status = 'open'")
            .fetch_one(pool)
            .await?;
    Ok(earliest.map(Timestamp))
}
/// One approver's task on a request, with their name, for the request's timeline.
#[derive(Clone, Debug)]
pub struct TaskView {
    pub stage_position: i64,
    pub approver_name: String,
    pub status: String,
    pub due_at: i64,
}

pub async fn tasks_of(tx: &mut Tx, request_id: i64) -> Result<Vec<TaskView>, sqlx::Error> {
    let rows = sqlx::query(
        "select t.stage_position, p.display_name, t.status, t.due_at from approval_task t \
         join person p on p.id = t.approver_id where t.access_request_id = $1 order by t.stage_position, p.display_name",
    )
    .bind(request_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TaskView {
                stage_position: row.try_get("stage_position")?,
                approver_name: row.try_get("display_name")?,
                status: row.try_get("status")?,
                due_at: row.try_get("due_at")?,
            })
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct DecisionView {
    pub stage_position: i64,
    pub approver_name: String,
    pub outcome: String,
    pub justification: String,
    pub decided_at: i64,
}

pub async fn decisions_of(tx: &mut Tx, request_id: i64) -> Result<Vec<DecisionView>, sqlx::Error> {
    let rows = sqlx::query(
        "select d.stage_position, p.display_name, d.outcome, d.justification, d.decided_at from decision d \
         join person p on p.id = d.approver_id where d.access_request_id = $1 order by d.decided_at, d.id",
    )
    .bind(request_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DecisionView {
                stage_position: row.try_get("stage_position")?,
                approver_name: row.try_get("display_name")?,
                outcome: row.try_get("outcome")?,
                justification: row.try_get("justification")?,
                decided_at: row.try_get("decided_at")?,
            })
        })
        .collect()
}

/// An open approval task whose approver should now be reminded.
#[derive(Clone, Debug)]
pub struct DueReminder {
    pub task_id: i64,
    pub request_id: i64,
    pub approver_id: i64,
    pub due_at: i64,
    pub version: i64,
    pub person_id: i64,
    pub package_id: i64,
}

/// Open tasks within `lead_ms` of their deadline, not reminded yet, that were given more
/// time than that (a task created inside the window gets no reminder on top of its
/// first message).
pub async fn due_reminders(
    pool: &AnyPool,
    now: Timestamp,
    lead_ms: i64,
    limit: i64,
) -> Result<Vec<DueReminder>, sqlx::Error> {
    let rows = sqlx::query(
        "select t.id, t.access_request_id, t.approver_id, t.due_at, r.version, r.person_id, \
         r.access_package_id from approval_task t \
         join access_request r on r.id = t.access_request_id \
         where t.status = 'open' and t.reminded_at is null and t.due_at > $1 \
         and t.due_at - $2 <= $1 and t.due_at - t.created_at > $2 order by t.due_at limit $3",
    )
    .bind(now.millis())
    .bind(lead_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DueReminder {
                task_id: row.try_get("id")?,
                request_id: row.try_get("access_request_id")?,
                approver_id: row.try_get("approver_id")?,
                due_at: row.try_get("due_at")?,
                version: row.try_get("version")?,
                person_id: row.try_get("person_id")?,
                package_id: row.try_get("access_package_id")?,
            })
        })
        .collect()
}

/// When the next reminder falls due.
pub async fn earliest_reminder(
    pool: &AnyPool,
    lead_ms: i64,
) -> Result<Option<Timestamp>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar(
        "select min(due_at - $1) from approval_task where status = 'open' \
         and reminded_at is null and due_at - created_at > $1",
    )
    .bind(lead_ms)
    .fetch_one(pool)
    .await?;
    Ok(at.map(Timestamp))
}

/// Records the reminder; false when the task was reminded or closed meanwhile.
pub async fn mark_reminded(tx: &mut Tx, now: Timestamp, task_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update approval_task set reminded_at = $1 where id = $2 and status = 'open' \
         and reminded_at is null",
    )
    .bind(now.millis())
    .bind(task_id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// One approval task of a stage, as re-resolution needs it.
#[derive(Clone, Debug)]
pub struct StageTask {
    pub id: i64,
    pub approver_id: i64,
    pub origin: String,
    pub status: String,
    pub due_at: i64,
}

/// Every task of one stage of a request, open or closed.
pub async fn stage_tasks(
    tx: &mut Tx,
    request_id: i64,
    stage_position: i64,
) -> Result<Vec<StageTask>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, approver_id, origin, status, due_at from approval_task \
         where access_request_id = $1 and stage_position = $2 order by id",
    )
    .bind(request_id)
    .bind(stage_position)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StageTask {
                id: row.try_get("id")?,
                approver_id: row.try_get("approver_id")?,
                origin: row.try_get("origin")?,
                status: row.try_get("status")?,
                due_at: row.try_get("due_at")?,
            })
        })
        .collect()
}

/// Sets one task's status (`cancelled` when its approver is no longer entitled, `open`
/// when they are entitled again).
pub async fn set_task_status(
    tx: &mut Tx,
    now: Timestamp,
    task_id: i64,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update approval_task set status = $1, updated_at = $2 where id = $3")
        .bind(status)
        .bind(now.millis())
        .bind(task_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Requests waiting for approval that re-resolution must look at: those of a package, of
/// a policy, those a person holds an open task on, or those for or by a person.
pub enum Waiting {
    OfPackage(i64),
    UnderPolicy(i64),
    WithOpenTaskOf(i64),
    ForOrBy(i64),
}

pub async fn waiting(tx: &mut Tx, which: Waiting) -> Result<Vec<i64>, sqlx::Error> {
    let (sql, id) = match which {
        Waiting::OfPackage(id) => (
            "select id from access_request where status = $1 and access_package_id = $2 order by id",
            id,
        ),
        Waiting::UnderPolicy(id) => (
            "select id from access_request where status = $1 and assignment_policy_id = $2 order by id",
            id,
        ),
        Waiting::WithOpenTaskOf(id) => (
            "select distinct r.id from access_request r join approval_task t on t.access_request_id = r.id \
             where r.status = $1 and t.approver_id = $2 and t.status = 'open' order by r.id",
            id,
        ),
        Waiting::ForOrBy(id) => (
            "select id from access_request where status = $1 and (person_id = $2 or requested_by_id = $2) \
             order by id",
            id,
        ),
    };
    sqlx::query_scalar(sql)
        .bind(RequestStatus::PendingApproval.as_str())
        .bind(id)
        .fetch_all(&mut **tx)
        .await
}

/// The request's version and justification, which its approvers' links and messages carry.
pub async fn version_and_justification(
    tx: &mut Tx,
    request_id: i64,
) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as("select version, justification from access_request where id = $1")
        .bind(request_id)
        .fetch_one(&mut **tx)
        .await
}

/// The requester's answers as stored. `{}` is the column's default, which requests stored
/// before policies asked questions still carry: no answers. Anything else unreadable is
/// an error, never an empty list.
pub fn decode_answers(
    request_id: i64,
    answers_json: &str,
) -> Result<Vec<crate::domain::questions::Answer>, sqlx::Error> {
    if answers_json.trim() == "{}" {
        return Ok(Vec::new());
    }
    serde_json::from_str(answers_json).map_err(|error| {
        sqlx::Error::Decode(format!("access_request {request_id} answers_json: {error}").into())
    })
}

/// What the requester said when they asked.
#[derive(Clone, Debug)]
pub struct Submission {
    pub justification: String,
    pub answers: Vec<crate::domain::questions::Answer>,
    pub submitted_at: i64,
}

pub async fn submission(tx: &mut Tx, request_id: i64) -> Result<Submission, sqlx::Error> {
    let (justification, answers_json, submitted_at): (String, String, i64) = sqlx::query_as(
        "select justification, answers_json, created_at from access_request where id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Submission {
        justification,
        answers: decode_answers(request_id, &answers_json)?,
        submitted_at,
    })
}

/// What an approver reads before deciding.
#[derive(Clone, Debug)]
pub struct ToDecide {
    pub requester_name: String,
    pub package_name: String,
    pub justification: String,
    pub answers: Vec<crate::domain::questions::Answer>,
}

pub async fn to_decide(tx: &mut Tx, request_id: i64) -> Result<ToDecide, sqlx::Error> {
    let (requester_name, package_name, justification, answers_json): (
        String,
        String,
        String,
        String,
    ) = sqlx::query_as(
        "select p.display_name, pk.name, r.justification, r.answers_json \
         from access_request r join person p on p.id = r.person_id \
         join access_package pk on pk.id = r.access_package_id where r.id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(ToDecide {
        requester_name,
        package_name,
        justification,
        answers: decode_answers(request_id, &answers_json)?,
    })
}

/// The earliest deadline of the stage's open tasks.
pub async fn stage_due_at(
    tx: &mut Tx,
    request_id: i64,
    stage_position: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select min(due_at) from approval_task where access_request_id = $1 \
         and stage_position = $2 and status = 'open'",
    )
    .bind(request_id)
    .bind(stage_position)
    .fetch_one(&mut **tx)
    .await
}

/// The request being delivered through this assignment, if any: (request id, person id).
pub async fn delivering_through(
    tx: &mut Tx,
    assignment_id: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select r.id, r.person_id from access_request r join assignment a on a.access_request_id = r.id \
         where a.id = $1 and r.status = $2",
    )
    .bind(assignment_id)
    .bind(RequestStatus::Delivering.as_str())
    .fetch_optional(&mut **tx)
    .await
}

/// The furthest stage at which a request under the policy waits for approval.
pub async fn furthest_waiting_stage(
    tx: &mut Tx,
    policy_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select max(current_stage) from access_request where assignment_policy_id = $1 and status = 'pending_approval'",
    )
    .bind(policy_id)
    .fetch_one(&mut **tx)
    .await
}
