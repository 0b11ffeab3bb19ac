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
    /// Roles from the identity provider that it has not confirmed recently: set on the
    /// signed-in person only (auth::current_person), whose roles then count as none until
    /// they sign in again.
    pub roles_to_confirm: bool,
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
        roles_to_confirm: false,
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

/// The person, read in the caller's transaction (so a status written by a concurrent
/// transaction that committed first is seen by a writer).
pub async fn find_in(tx: &mut super::Tx, id: i64) -> Result<Option<PersonRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {PERSON_COLUMNS} from person where id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(person_from_row).transpose()
}

/// The person's status as stored (`active`, `disabled`, `left`).
pub async fn status_of(pool: &AnyPool, id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select status from person where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// The person's display name, for messages.
pub async fn display_name(tx: &mut super::Tx, id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select display_name from person where id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// Those of `ids` who are active, in the order given.
pub async fn active_among(tx: &mut super::Tx, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    let mut active = Vec::with_capacity(ids.len());
    for id in ids {
        let status: Option<String> = sqlx::query_scalar("select status from person where id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if status.as_deref() == Some(PersonStatus::Active.as_str()) && !active.contains(id) {
            active.push(*id);
        }
    }
    Ok(active)
}

/// Active people in name order, for the development sign-in list.
pub async fn list_active<'e, E>(executor: E) -> Result<Vec<PersonRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(&format!(
        "select {PERSON_COLUMNS} from person where status = 'active' order by display_name, id"
    ))
    .fetch_all(executor)
    .await?;
    rows.iter().map(person_from_row).collect()
}

/// How many people there are, read from the pool or in a transaction.
pub async fn count<'e, E>(executor: E) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("select count(*) from person")
        .fetch_one(executor)
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

/// A person as an identity provider's sign-in finds them, with their link to it.
#[derive(Clone, Debug)]
pub struct IdentityRow {
    pub person: PersonRow,
    pub oidc_subject: Option<String>,
}

/// Finds the person an identity belongs to: by the provider's subject first, then by
/// employee id, then by email (case-insensitive).
pub async fn find_for_identity(
    tx: &mut Tx,
    subject: &str,
    employee_id: Option<&str>,
    email: Option<&str>,
) -> Result<Option<IdentityRow>, sqlx::Error> {
    let lookups: [(&str, Option<String>); 3] = [
        ("oidc_subject = $1", Some(subject.to_string())),
        ("employee_id = $1", employee_id.map(str::to_string)),
        ("lower(email) = $1", email.map(str::to_lowercase)),
    ];
    for (condition, value) in lookups {
        let Some(value) = value.filter(|value| !value.is_empty()) else {
            continue;
        };
        let row = sqlx::query(&format!(
            "select {PERSON_COLUMNS}, oidc_subject from person where {condition}"
        ))
        .bind(value)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = row {
            return Ok(Some(IdentityRow {
                person: person_from_row(&row)?,
                oidc_subject: row.try_get("oidc_subject")?,
            }));
        }
    }
    Ok(None)
}

/// Links a person to the provider's subject and sets the roles configuration gives them.
pub async fn link_identity(
    tx: &mut Tx,
    now: Timestamp,
    person_id: i64,
    subject: &str,
    is_admin: bool,
    is_auditor: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update person set oidc_subject = $1, is_admin = $2, is_auditor = $3, updated_at = $4 where id = $5",
    )
    .bind(subject)
    .bind(is_admin)
    .bind(is_auditor)
    .bind(now.millis())
    .bind(person_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Creates a person first seen at sign-in (when configuration allows unknown people).
pub async fn insert_from_identity(
    tx: &mut Tx,
    now: Timestamp,
    email: &str,
    display_name: &str,
    employee_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into person (employee_id, email, display_name, status, source, created_at, updated_at) \
         values ($1, $2, $3, 'active', 'oidc', $4, $4) returning id",
    )
    .bind(employee_id)
    .bind(email)
    .bind(display_name)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// A person found by email (case-insensitive), whatever their status: (id, status).
pub async fn find_by_email(tx: &mut Tx, email: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("select id, status from person where lower(email) = lower($1)")
        .bind(email)
        .fetch_optional(&mut **tx)
        .await
}

/// Marks the person as left, from `now` unless a leave date was already set.
pub async fn mark_left(tx: &mut Tx, now: Timestamp, person_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update person set status = $1, leave_at = coalesce(leave_at, $2), updated_at = $2, \
         version = version + 1 \
         where id = $3",
    )
    .bind(PersonStatus::Left.as_str())
    .bind(now.millis())
    .bind(person_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// What a downstream system is told about the person to find or create their account.
#[derive(Clone, Debug)]
pub struct AccountDetails {
    pub email: String,
    pub display_name: String,
    pub employee_id: Option<String>,
}

pub async fn account_details(
    pool: &AnyPool,
    person_id: i64,
) -> Result<AccountDetails, sqlx::Error> {
    let (email, display_name, employee_id) =
        sqlx::query_as("select email, display_name, employee_id from person where id = $1")
            .bind(person_id)
            .fetch_one(pool)
            .await?;
    Ok(AccountDetails {
        email,
        display_name,
        employee_id,
    })
}

// --- Mail ----------------------------------------------------------------------------------

/// Whether the person chose one daily digest instead of a message per item, read from the
/// pool or in a transaction.
pub async fn mail_digest<'e, E>(executor: E, person_id: i64) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("select mail_digest from person where id = $1")
        .bind(person_id)
        .fetch_one(executor)
        .await?;
    super::get_bool(&row, "mail_digest")
}

pub async fn set_mail_digest(
    tx: &mut Tx,
    now: Timestamp,
    person_id: i64,
    digest: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update person set mail_digest = $1, updated_at = $2 where id = $3")
        .bind(digest)
        .bind(now.millis())
        .bind(person_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Whom a notice goes to, and how they take their mail.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub display_name: String,
    pub email: String,
    pub mail_digest: bool,
}

pub async fn recipient(tx: &mut Tx, person_id: i64) -> Result<Recipient, sqlx::Error> {
    let row = sqlx::query("select display_name, email, mail_digest from person where id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Recipient {
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        mail_digest: super::get_bool(&row, "mail_digest")?,
    })
}

/// The person's name and email address: (display name, email).
pub async fn name_and_email(tx: &mut Tx, person_id: i64) -> Result<(String, String), sqlx::Error> {
    sqlx::query_as("select display_name, email from person where id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

// --- Naming people and groups in forms -----------------------------------------------------

/// Ids of active people with these emails, in the given order; the first unknown email
/// is the error.
pub async fn people_by_email(
    tx: &mut Tx,
    emails: &[String],
) -> Result<Result<Vec<i64>, String>, sqlx::Error> {
    let mut ids = Vec::new();
    for email in emails {
        let id: Option<i64> = sqlx::query_scalar(
            "select id from person where lower(email) = $1 and status = 'active'",
        )
        .bind(email.to_lowercase())
        .fetch_optional(&mut **tx)
        .await?;
        match id {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                return Ok(Err(format!(
                    "Nobody active in Gatehouse has the email {email}."
                )))
            }
        }
    }
    Ok(Ok(ids))
}

/// The emails of these people, in the given order; ids of nobody are left out.
pub async fn emails_of(tx: &mut Tx, ids: &[i64]) -> Result<Vec<String>, sqlx::Error> {
    let mut emails = Vec::new();
    for id in ids {
        if let Some(email) =
            sqlx::query_scalar::<_, String>("select email from person where id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
        {
            emails.push(email);
        }
    }
    Ok(emails)
}

/// Ids of the groups with these names (case-insensitive), in the given order; the first
/// unknown name is the error.
pub async fn groups_by_name(
    tx: &mut Tx,
    names: &[String],
) -> Result<Result<Vec<i64>, String>, sqlx::Error> {
    let mut ids = Vec::new();
    for name in names {
        let id: Option<i64> =
            sqlx::query_scalar("select id from person_group where lower(name) = $1")
                .bind(name.to_lowercase())
                .fetch_optional(&mut **tx)
                .await?;
        match id {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => return Ok(Err(format!("There is no group named \"{name}\"."))),
        }
    }
    Ok(Ok(ids))
}

/// The names of these groups, in the given order; ids of no group are left out.
pub async fn group_names_of(tx: &mut Tx, ids: &[i64]) -> Result<Vec<String>, sqlx::Error> {
    let mut names = Vec::new();
    for id in ids {
        if let Some(name) =
            sqlx::query_scalar::<_, String>("select name from person_group where id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
        {
            names.push(name);
        }
    }
    Ok(names)
}
