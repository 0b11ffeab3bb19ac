//! Assignments: a person holding an access package from a start to an end.

use super::Tx;
use crate::domain::status::AssignmentStatus;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

pub struct NewAssignment {
    pub person_id: i64,
    pub package_id: i64,
    pub policy_id: Option<i64>,
    pub request_id: Option<i64>,
    pub status: AssignmentStatus,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
}

pub async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    assignment: &NewAssignment,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into assignment (person_id, access_package_id, assignment_policy_id, \
         access_request_id, status, start_at, end_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning id",
    )
    .bind(assignment.person_id)
    .bind(assignment.package_id)
    .bind(assignment.policy_id)
    .bind(assignment.request_id)
    .bind(assignment.status.as_str())
    .bind(assignment.start_at.millis())
    .bind(assignment.end_at.map(Timestamp::millis))
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// Access a person holds or will hold, as shown under "My access".
#[derive(Clone, Debug)]
pub struct HeldAccessRow {
    pub id: i64,
    pub package_name: String,
    pub catalog_name: String,
    pub status: AssignmentStatus,
    pub start_at: i64,
    pub end_at: Option<i64>,
}

pub async fn list_held_by(
    pool: &AnyPool,
    person_id: i64,
) -> Result<Vec<HeldAccessRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select a.id, p.name as package_name, c.name as catalog_name, a.status, a.start_at, a.end_at \
         from assignment a \
         join access_package p on p.id = a.access_package_id \
         join catalog c on c.id = p.catalog_id \
         where a.person_id = $1 and a.status <> 'removed' \
         order by case when a.end_at is null then 1 else 0 end, a.end_at, p.name",
    )
    .bind(person_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(HeldAccessRow {
                id: row.try_get("id")?,
                package_name: row.try_get("package_name")?,
                catalog_name: row.try_get("catalog_name")?,
                status: AssignmentStatus::parse(&status)
                    .map_err(|e| sqlx::Error::Decode(e.into()))?,
                start_at: row.try_get("start_at")?,
                end_at: row.try_get("end_at")?,
            })
        })
        .collect()
}

/// The person's current or scheduled assignment of a package, if any.
pub async fn held_or_scheduled(
    tx: &mut Tx,
    person_id: i64,
    package_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from assignment where person_id = $1 and access_package_id = $2 \
         and status in ('scheduled', 'active') limit 1",
    )
    .bind(person_id)
    .bind(package_id)
    .fetch_optional(&mut **tx)
    .await
}

#[derive(Clone, Debug)]
pub struct AssignmentRow {
    pub id: i64,
    pub person_id: i64,
    pub package_id: i64,
    pub policy_id: Option<i64>,
    pub status: AssignmentStatus,
    pub start_at: i64,
    pub end_at: Option<i64>,
    /// Why it ended, once it has.
    pub removal_reason: Option<crate::domain::assignment::RemovalReason>,
    pub removed_at: Option<i64>,
    pub version: i64,
}

impl AssignmentRow {
    /// The row as the state machine sees it (so that a later step, such as verifying the
    /// removal, keeps why it ended).
    pub fn state(&self) -> crate::domain::assignment::AssignmentState {
        crate::domain::assignment::AssignmentState {
            status: self.status,
            start_at: Timestamp(self.start_at),
            end_at: self.end_at.map(Timestamp),
            removal_reason: self.removal_reason,
            removed_at: self.removed_at.map(Timestamp),
        }
    }
}

pub async fn find(tx: &mut Tx, assignment_id: i64) -> Result<Option<AssignmentRow>, sqlx::Error> {
    let row = sqlx::query(
        "select id, person_id, access_package_id, assignment_policy_id, status, start_at, end_at, \
         removal_reason, removed_at, version from assignment where id = $1",
    )
    .bind(assignment_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        let status: String = row.try_get("status")?;
        Ok(AssignmentRow {
            id: row.try_get("id")?,
            person_id: row.try_get("person_id")?,
            package_id: row.try_get("access_package_id")?,
            policy_id: row.try_get("assignment_policy_id")?,
            status: AssignmentStatus::parse(&status).map_err(|e| sqlx::Error::Decode(e.into()))?,
            start_at: row.try_get("start_at")?,
            end_at: row.try_get("end_at")?,
            removal_reason: row
                .try_get::<Option<String>, _>("removal_reason")?
                .as_deref()
                .and_then(crate::domain::assignment::RemovalReason::parse),
            removed_at: row.try_get("removed_at")?,
            version: row.try_get("version")?,
        })
    })
    .transpose()
}

/// Stores a new state of an assignment if nobody changed it since it was read.
pub async fn store_state(
    tx: &mut Tx,
    now: Timestamp,
    row: &AssignmentRow,
    state: &crate::domain::assignment::AssignmentState,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update assignment set status = $1, end_at = $2, removal_reason = $3, removed_at = $4, \
         updated_at = $5, version = version + 1, \
         warned_days = case when coalesce(end_at, -1) = coalesce($2, -1) then warned_days end \
         where id = $6 and version = $7",
    )
    .bind(state.status.as_str())
    .bind(state.end_at.map(Timestamp::millis))
    .bind(state.removal_reason.map(|reason| reason.as_str()))
    .bind(state.removed_at.map(Timestamp::millis))
    .bind(now.millis())
    .bind(row.id)
    .bind(row.version)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Downstream resources of the assignment's package that no other current assignment of
/// the same person still grants: the ones to remove (reference counting).
pub async fn resources_to_remove(
    tx: &mut Tx,
    row: &AssignmentRow,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select r.id, r.connector_id from access_package_resource pr \
         join resource r on r.id = pr.resource_id join connector c on c.id = r.connector_id \
         where pr.access_package_id = $1 and c.kind <> 'builtin' \
         and not exists (select 1 from assignment other \
             join access_package_resource opr on opr.access_package_id = other.access_package_id \
             where other.person_id = $2 and other.id <> $3 and other.status in ('scheduled', 'active') \
             and opr.resource_id = r.id) \
         order by r.id",
    )
    .bind(row.package_id)
    .bind(row.person_id)
    .bind(row.id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the person manages the package: an owner of it or of its catalog.
pub async fn manages_package(
    tx: &mut Tx,
    person_id: i64,
    package_id: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select (select count(*) from access_package_owner where access_package_id = $1 and person_id = $2) \
         + (select count(*) from catalog_owner o join access_package p on p.catalog_id = o.catalog_id \
            where p.id = $1 and o.person_id = $2)",
    )
    .bind(package_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

/// A current assignment of a package, as its owners see it.
#[derive(Clone, Debug)]
pub struct HolderRow {
    pub assignment_id: i64,
    pub person_name: String,
    pub status: AssignmentStatus,
    pub start_at: i64,
    pub end_at: Option<i64>,
}

pub async fn holders_of(tx: &mut Tx, package_id: i64) -> Result<Vec<HolderRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select a.id, p.display_name, a.status, a.start_at, a.end_at from assignment a \
         join person p on p.id = a.person_id where a.access_package_id = $1 and a.status <> 'removed' \
         order by p.display_name",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(HolderRow {
                assignment_id: row.try_get("id")?,
                person_name: row.try_get("display_name")?,
                status: AssignmentStatus::parse(&status)
                    .map_err(|e| sqlx::Error::Decode(e.into()))?,
                start_at: row.try_get("start_at")?,
                end_at: row.try_get("end_at")?,
            })
        })
        .collect()
}

/// Packages a person manages (all of them for an administrator): (id, name, catalog).
pub async fn managed_packages(
    tx: &mut Tx,
    person_id: i64,
    is_admin: bool,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select p.id, p.name, c.name from access_package p join catalog c on c.id = p.catalog_id \
         where $1 or exists (select 1 from access_package_owner o where o.access_package_id = p.id and o.person_id = $2) \
         or exists (select 1 from catalog_owner o where o.catalog_id = p.catalog_id and o.person_id = $2) \
         order by c.name, p.name",
    )
    .bind(is_admin)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// An assignment whose holder should now hear that it ends soon.
#[derive(Clone, Debug)]
pub struct Ending {
    pub id: i64,
    pub person_id: i64,
    pub version: i64,
    pub end_at: i64,
    pub package_name: String,
    pub extendable: bool,
}

/// Active assignments ending within `days` days of `now` that lasted longer than that
/// and whose holder has not been warned this close to the end yet.
pub async fn ending_within(
    pool: &sqlx::AnyPool,
    now: Timestamp,
    days: i64,
    limit: i64,
) -> Result<Vec<Ending>, sqlx::Error> {
    let span = days.saturating_mul(crate::domain::time::MILLIS_PER_DAY);
    let rows = sqlx::query(
        "select a.id, a.person_id, a.version, a.end_at, pk.name, pol.extension_allowed \
         from assignment a join access_package pk on pk.id = a.access_package_id \
         left join assignment_policy pol on pol.id = a.assignment_policy_id \
         where a.status = 'active' and a.end_at is not null and a.end_at > $1 \
         and a.end_at - $2 <= $1 and a.end_at - a.start_at > $2 \
         and (a.warned_days is null or a.warned_days > $3) order by a.end_at limit $4",
    )
    .bind(now.millis())
    .bind(span)
    .bind(days)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Ending {
                id: row.try_get("id")?,
                person_id: row.try_get("person_id")?,
                version: row.try_get("version")?,
                end_at: row.try_get("end_at")?,
                package_name: row.try_get("name")?,
                extendable: row
                    .try_get::<Option<bool>, _>("extension_allowed")
                    .or_else(|_| {
                        row.try_get::<Option<i64>, _>("extension_allowed")
                            .map(|flag| flag.map(|n| n != 0))
                    })?
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// Records the warning; false when another sweep recorded it (or a nearer one) first.
pub async fn mark_warned(
    tx: &mut Tx,
    id: i64,
    version: i64,
    days: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update assignment set warned_days = $1 where id = $2 and version = $3 \
         and (warned_days is null or warned_days > $1)",
    )
    .bind(days)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Active assignments whose end has come, the earliest first, and of those ending at one
/// instant a package's together: then its removals are queued together and go downstream
/// in one batch (interleaved, the provisioner would send each group many small ones).
pub async fn due_to_end(
    pool: &AnyPool,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from assignment where status = 'active' and end_at is not null \
         and end_at <= $1 order by end_at, access_package_id, id limit $2",
    )
    .bind(now.millis())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The earliest end of an active assignment.
pub async fn earliest_end(pool: &AnyPool) -> Result<Option<Timestamp>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar(
        "select min(end_at) from assignment where status = 'active' and end_at is not null",
    )
    .fetch_one(pool)
    .await?;
    Ok(at.map(Timestamp))
}

/// The person's current (active or scheduled) assignments, by id.
pub async fn current_of_person(tx: &mut Tx, person_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from assignment where person_id = $1 and status in ('active', 'scheduled') \
         order by id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// The assignment's status as stored.
pub async fn status_of(pool: &AnyPool, assignment_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select status from assignment where id = $1")
        .bind(assignment_id)
        .fetch_one(pool)
        .await
}

/// Active assignments whose end passed before `before` (the scheduler is behind).
pub async fn count_overdue(pool: &AnyPool, before: Timestamp) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from assignment where status = 'active' and end_at is not null \
         and end_at < $1",
    )
    .bind(before.millis())
    .fetch_one(pool)
    .await
}

/// What the access page says about an assignment besides its state.
#[derive(Clone, Debug)]
pub struct AccessFacts {
    pub package_name: String,
    pub holder_name: String,
    pub request_id: Option<i64>,
    pub removal_reason: Option<String>,
    pub removed_at: Option<i64>,
}

pub async fn access_facts(tx: &mut Tx, assignment_id: i64) -> Result<AccessFacts, sqlx::Error> {
    let (package_name, holder_name, request_id, removal_reason, removed_at) = sqlx::query_as(
        "select p.name, h.display_name, a.access_request_id, a.removal_reason, a.removed_at \
         from assignment a join access_package p on p.id = a.access_package_id \
         join person h on h.id = a.person_id where a.id = $1",
    )
    .bind(assignment_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(AccessFacts {
        package_name,
        holder_name,
        request_id,
        removal_reason,
        removed_at,
    })
}
