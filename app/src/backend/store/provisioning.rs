//! Provisioning jobs: operations on downstream connectors, written in the same transaction
//! as the change that needs them and run later by the provisioner.

use super::Tx;
use crate::domain::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOperation {
    Add,
    Remove,
}

/// Attempts a job gets before it is dead-lettered: with backoff doubling from 2 seconds to
/// at most 5 minutes, about an hour of retries, so an outage of that length drains on its
/// own and a longer one waits for an operator's Retry.
pub const MAX_ATTEMPTS: i64 = 20;

/// Queues adding or removing the person on a downstream resource for an assignment. The
/// idempotency key makes a repeated grant or removal of the same assignment and resource
/// a no-op.
pub async fn queue_membership(
    tx: &mut Tx,
    now: Timestamp,
    operation: MemberOperation,
    assignment_id: i64,
    person_id: i64,
    resource_id: i64,
    connector_id: i64,
) -> Result<(), sqlx::Error> {
    let (operation, key) = match operation {
        MemberOperation::Add => ("add_member", format!("grant:{assignment_id}:{resource_id}")),
        MemberOperation::Remove => (
            "remove_member",
            format!("remove:{assignment_id}:{resource_id}"),
        ),
    };
    sqlx::query(
        "insert into provisioning_job (connector_id, resource_id, assignment_id, person_id, operation, \
         next_attempt_at, idempotency_key, max_attempts, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $6, $6) on conflict (idempotency_key) do nothing",
    )
    .bind(connector_id)
    .bind(resource_id)
    .bind(assignment_id)
    .bind(person_id)
    .bind(operation)
    .bind(now.millis())
    .bind(key)
    .bind(MAX_ATTEMPTS)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Queues removing a person from a downstream group where no grant explains them (an
/// access review decided so): a removal without an assignment, verified like any other.
pub async fn queue_unexplained_removal(
    tx: &mut Tx,
    now: Timestamp,
    drift_id: i64,
    person_id: i64,
    resource_id: i64,
    connector_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into provisioning_job (connector_id, resource_id, assignment_id, person_id, operation, \
         next_attempt_at, idempotency_key, max_attempts, created_at, updated_at) \
         values ($1, $2, null, $3, 'remove_member', $4, $5, $6, $4, $4) on conflict (idempotency_key) do nothing",
    )
    .bind(connector_id)
    .bind(resource_id)
    .bind(person_id)
    .bind(now.millis())
    .bind(format!("drift:{drift_id}:remove"))
    .bind(MAX_ATTEMPTS)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Queues deactivating the person's account in every system where Gatehouse knows one
/// (the person left); returns how many. Repeating it is a no-op (idempotency key).
pub async fn queue_deactivations(
    tx: &mut Tx,
    now: Timestamp,
    person_id: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "insert into provisioning_job (connector_id, person_id, operation, next_attempt_at, \
         idempotency_key, max_attempts, created_at, updated_at) \
         select connector_id, person_id, 'disable_user', $1, \
         'disable:' || cast(person_id as text) || ':' || cast(connector_id as text), $2, $1, $1 \
         from connector_account where person_id = $3 on conflict (idempotency_key) do nothing",
    )
    .bind(now.millis())
    .bind(MAX_ATTEMPTS)
    .bind(person_id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// A provisioning job claimed by a provisioner.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub id: i64,
    pub connector_id: i64,
    pub resource_id: Option<i64>,
    pub assignment_id: Option<i64>,
    pub person_id: Option<i64>,
    pub operation: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// Claims up to `limit` due jobs of at most `groups` resources under a lease until
/// `lease_until` (see [`super::lease`]).
pub async fn claim_due(
    db: &crate::backend::Db,
    now: Timestamp,
    owner: &str,
    lease_until: Timestamp,
    limit: i64,
    groups: i64,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    use sqlx::Row;
    let mut tx = db.begin_write().await?;
    // The resources whose jobs are due longest, then their jobs: removals from one group
    // are claimed together and go in one call (due jobs of many groups interleave by
    // time, which would make a call per person).
    let resources = super::lease::JOBS
        .due_keys(&mut tx, now, "resource_id", groups)
        .await?;
    if resources.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let mut among: Vec<String> = Vec::new();
    let ids: Vec<String> = resources.iter().flatten().map(i64::to_string).collect();
    if !ids.is_empty() {
        among.push(format!("resource_id in ({})", ids.join(", ")));
    }
    if resources.iter().any(Option::is_none) {
        among.push("resource_id is null".to_string());
    }
    let ids = super::lease::JOBS
        .claim_where(
            db,
            &mut tx,
            now,
            owner,
            lease_until,
            limit,
            &among.join(" or "),
        )
        .await?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(
            "select id, connector_id, resource_id, assignment_id, person_id, operation, attempts, \
             max_attempts from provisioning_job where id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        claimed.push(ClaimedJob {
            id: row.try_get("id")?,
            connector_id: row.try_get("connector_id")?,
            resource_id: row.try_get("resource_id")?,
            assignment_id: row.try_get("assignment_id")?,
            person_id: row.try_get("person_id")?,
            operation: row.try_get("operation")?,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
        });
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Records success (and, for a removal, when it was verified). Only the provisioner
/// holding the lease may; false when it lost it.
pub async fn mark_succeeded(
    tx: &mut Tx,
    now: Timestamp,
    id: i64,
    owner: &str,
    verified_at: Option<Timestamp>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update provisioning_job set status = 'succeeded', verified_at = $1, last_error = null, \
         lease_owner = null, lease_until = null, updated_at = $2 \
         where id = $3 and status = 'running' and lease_owner = $4",
    )
    .bind(verified_at.map(Timestamp::millis))
    .bind(now.millis())
    .bind(id)
    .bind(owner)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// The person's account id in the connector's system, once known.
pub async fn account_id(
    pool: &sqlx::AnyPool,
    connector_id: i64,
    person_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select external_id from connector_account where connector_id = $1 and person_id = $2",
    )
    .bind(connector_id)
    .bind(person_id)
    .fetch_optional(pool)
    .await
}

/// Who holds the account `external_id` of the connector's system, when Gatehouse knows.
pub async fn person_of_account(
    tx: &mut Tx,
    connector_id: i64,
    external_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select person_id from connector_account where connector_id = $1 and external_id = $2",
    )
    .bind(connector_id)
    .bind(external_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The accounts that should be members of the resource: people with current access
/// through it whose account in the connector's system is known.
pub async fn granted_accounts(
    pool: &sqlx::AnyPool,
    connector_id: i64,
    resource_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct ca.external_id from assignment a \
         join access_package_resource pr on pr.access_package_id = a.access_package_id \
         join connector_account ca on ca.person_id = a.person_id and ca.connector_id = $1 \
         where pr.resource_id = $2 and a.status = 'active'",
    )
    .bind(connector_id)
    .bind(resource_id)
    .fetch_all(pool)
    .await
}

/// The accounts with a change of the resource still to run (pending, running or failed).
pub async fn accounts_in_flight(
    pool: &sqlx::AnyPool,
    resource_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select ca.external_id from provisioning_job j join connector_account ca \
         on ca.person_id = j.person_id and ca.connector_id = j.connector_id \
         where j.resource_id = $1 and j.status in ('pending', 'running', 'failed')",
    )
    .bind(resource_id)
    .fetch_all(pool)
    .await
}

pub async fn save_account(
    tx: &mut Tx,
    now: Timestamp,
    connector_id: i64,
    person_id: i64,
    external_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into connector_account (connector_id, person_id, external_id, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) on conflict (connector_id, person_id) \
         do update set external_id = excluded.external_id, updated_at = excluded.updated_at",
    )
    .bind(connector_id)
    .bind(person_id)
    .bind(external_id)
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Removal jobs of the assignment not yet verified.
pub async fn unverified_removals(tx: &mut Tx, assignment_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from provisioning_job where assignment_id = $1 \
         and operation = 'remove_member' and verified_at is null",
    )
    .bind(assignment_id)
    .fetch_one(&mut **tx)
    .await
}

/// Grant jobs of the assignment not yet done.
pub async fn unfinished_grants(tx: &mut Tx, assignment_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from provisioning_job where assignment_id = $1 \
         and operation = 'add_member' and status <> 'succeeded'",
    )
    .bind(assignment_id)
    .fetch_one(&mut **tx)
    .await
}

/// Whether a grant of the same assignment and resource is still to run (a removal waits
/// for it, so that a late grant cannot undo a removal).
pub async fn grant_in_flight(
    pool: &sqlx::AnyPool,
    assignment_id: i64,
    resource_id: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from provisioning_job where assignment_id = $1 and resource_id = $2 \
         and operation = 'add_member' and status in ('pending', 'running', 'failed')",
    )
    .bind(assignment_id)
    .bind(resource_id)
    .fetch_one(pool)
    .await?;
    Ok(count > 0)
}

/// Whether another current assignment of the person grants the resource (then it stays).
pub async fn still_granted(
    pool: &sqlx::AnyPool,
    person_id: i64,
    resource_id: i64,
    except_assignment: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from assignment a join access_package_resource pr \
         on pr.access_package_id = a.access_package_id where a.person_id = $1 \
         and pr.resource_id = $2 and a.id <> $3 and a.status in ('scheduled', 'active')",
    )
    .bind(person_id)
    .bind(resource_id)
    .bind(except_assignment)
    .fetch_one(pool)
    .await?;
    Ok(count > 0)
}

/// How many jobs are in each state.
pub async fn counts(pool: &sqlx::AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("select status, count(*) from provisioning_job group by status order by status")
        .fetch_all(pool)
        .await
}

/// How many of the connector's jobs are in each state.
pub async fn counts_of_connector(
    pool: &sqlx::AnyPool,
    connector_id: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select status, count(*) from provisioning_job where connector_id = $1 \
         group by status order by status",
    )
    .bind(connector_id)
    .fetch_all(pool)
    .await
}

/// A job that failed (and waits for its next attempt) or was given up.
#[derive(Clone, Debug)]
pub struct TroubledJob {
    pub id: i64,
    pub connector: String,
    pub operation: String,
    /// Empty for a job about no person.
    pub person: String,
    /// Empty for a job about no resource.
    pub resource: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
    pub next_attempt_at: i64,
}

/// Failed jobs, then dead ones, at most 200.
pub async fn troubled(pool: &sqlx::AnyPool) -> Result<Vec<TroubledJob>, sqlx::Error> {
    use sqlx::Row;
    sqlx::query(
        "select j.id, c.name as connector, j.operation, coalesce(p.display_name, '') as person, \
         coalesce(r.name, '') as resource, j.status, j.attempts, coalesce(j.last_error, '') as last_error, \
         j.next_attempt_at from provisioning_job j join connector c on c.id = j.connector_id \
         left join person p on p.id = j.person_id left join resource r on r.id = j.resource_id \
         where j.status in ('failed', 'dead') order by j.status, j.id limit 200",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(TroubledJob {
            id: row.try_get("id")?,
            connector: row.try_get("connector")?,
            operation: row.try_get("operation")?,
            person: row.try_get("person")?,
            resource: row.try_get("resource")?,
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
        })
    })
    .collect()
}

/// Removals not verified although the access ended before `cutoff` (pending, retrying or
/// dead): late, and the alarm is raised while there are any.
pub async fn late_removals(pool: &sqlx::AnyPool, cutoff: Timestamp) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from provisioning_job where operation = 'remove_member' \
         and verified_at is null and status <> 'succeeded' and created_at < $1",
    )
    .bind(cutoff.millis())
    .fetch_one(pool)
    .await
}

/// The provisioning steps of a request's assignments, per resource in order.
pub async fn steps_of_request(
    tx: &mut Tx,
    request_id: i64,
) -> Result<Vec<crate::domain::provisioning::StepRecord>, sqlx::Error> {
    steps_where(
        tx,
        "j.assignment_id in (select id from assignment where access_request_id = $1)",
        request_id,
    )
    .await
}

/// The provisioning steps of one assignment, per resource in order.
pub async fn steps_of_assignment(
    tx: &mut Tx,
    assignment_id: i64,
) -> Result<Vec<crate::domain::provisioning::StepRecord>, sqlx::Error> {
    steps_where(tx, "j.assignment_id = $1", assignment_id).await
}

async fn steps_where(
    tx: &mut Tx,
    condition: &'static str,
    id: i64,
) -> Result<Vec<crate::domain::provisioning::StepRecord>, sqlx::Error> {
    use sqlx::Row;
    sqlx::query(&format!(
        "select r.name as resource, c.name as system, j.operation, j.status, j.attempts, \
         j.updated_at, j.verified_at, j.last_error from provisioning_job j \
         join resource r on r.id = j.resource_id join connector c on c.id = j.connector_id \
         where {condition} order by r.name, j.id"
    ))
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok(crate::domain::provisioning::StepRecord {
            resource: row.try_get("resource")?,
            system: row.try_get("system")?,
            operation: row.try_get("operation")?,
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            updated_at: Timestamp(row.try_get("updated_at")?),
            verified_at: row.try_get::<Option<i64>, _>("verified_at")?.map(Timestamp),
            error: row.try_get("last_error")?,
        })
    })
    .collect()
}
