//! People and their groups.

use super::Tx;
use crate::domain::status::PersonStatus;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

#[derive(Clone, Debug, Default)]
pub struct NewPerson {
    pub employee_id: Option<String>,
    /// Already validated and lower-cased (`domain::person::Email`).
    pub email: String,
    pub display_name: String,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager_id: Option<i64>,
    pub hire_at: Option<Timestamp>,
    pub is_admin: bool,
    pub is_auditor: bool,
}

pub async fn insert(tx: &mut Tx, now: Timestamp, person: &NewPerson) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into person (employee_id, email, display_name, department, job_title, manager_id, \
         status, source, hire_at, is_admin, is_auditor, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, 'active', 'hr', $7, $8, $9, $10, $10) returning id",
    )
    .bind(&person.employee_id)
    .bind(&person.email)
    .bind(&person.display_name)
    .bind(&person.department)
    .bind(&person.job_title)
    .bind(person.manager_id)
    .bind(person.hire_at.map(Timestamp::millis))
    .bind(person.is_admin)
    .bind(person.is_auditor)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

#[derive(Clone, Debug)]
pub struct PersonRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager_id: Option<i64>,
    pub status: PersonStatus,
    pub is_admin: bool,
    pub is_auditor: bool,
}

const PERSON_COLUMNS: &str =
    "id, email, display_name, department, job_title, manager_id, status, is_admin, is_auditor";

fn person_from_row(row: &sqlx::any::AnyRow) -> Result<PersonRow, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(PersonRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        department: row.try_get("department")?,
        job_title: row.try_get("job_title")?,
        manager_id: row.try_get("manager_id")?,
        status: PersonStatus::parse(&status).map_err(|e| sqlx::Error::Decode(e.into()))?,
        is_admin: super::get_bool(row, "is_admin")?,
        is_auditor: super::get_bool(row, "is_auditor")?,
    })
}

pub async fn find(pool: &AnyPool, id: i64) -> Result<Option<PersonRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {PERSON_COLUMNS} from person where id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(person_from_row).transpose()
}

/// Active people in name order, for the development sign-in list.
pub async fn list_active(pool: &AnyPool) -> Result<Vec<PersonRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {PERSON_COLUMNS} from person where status = 'active' order by display_name, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(person_from_row).collect()
}

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from person")
        .fetch_one(pool)
        .await
}

pub async fn record_sign_in(
    tx: &mut Tx,
    now: Timestamp,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update person set last_sign_in_at = $1 where id = $2")
        .bind(now.millis())
        .bind(person_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
