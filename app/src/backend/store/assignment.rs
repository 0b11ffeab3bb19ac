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
