//! Access review definitions: the review, its packages, stages and named people.
//! Instances and items are in `store::review_instance`.

use super::{get_bool, Tx};
use crate::domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A stored definition.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub scope_kind: String,
    pub catalog_id: Option<i64>,
    pub departments: Vec<String>,
    pub employee_types: Vec<String>,
    pub held_longer_than_days: Option<i64>,
    pub inactive_days: Option<i64>,
    pub include_drift: bool,
    pub start_at: i64,
    pub duration_days: i64,
    pub recurrence: String,
    pub reminder_days: Vec<i64>,
    pub reason_on_keep: bool,
    pub reason_on_remove: bool,
    pub default_decision: String,
    pub apply_mode: String,
    pub extend_kept: bool,
    pub sign_in_window_days: i64,
    pub quality_extra_stage: bool,
    pub is_enabled: bool,
    pub next_start_at: Option<i64>,
    pub owner_id: i64,
    pub version: i64,
}

const REVIEW_COLUMNS: &str = "id, name, description, scope_kind, catalog_id, departments_json, \
    employee_types_json, held_longer_than_days, inactive_days, include_drift, start_at, \
    duration_days, recurrence, reminder_days_json, reason_on_keep, reason_on_remove, \
    default_decision, apply_mode, extend_kept, sign_in_window_days, quality_extra_stage, \
    is_enabled, next_start_at, owner_id, version";

fn json_list<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<Vec<T>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(error),
    })
}

fn review_from(row: &AnyRow) -> Result<ReviewRow, sqlx::Error> {
    Ok(ReviewRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        scope_kind: row.try_get("scope_kind")?,
        catalog_id: row.try_get("catalog_id")?,
        departments: json_list(row, "departments_json")?,
        employee_types: json_list(row, "employee_types_json")?,
        held_longer_than_days: row.try_get("held_longer_than_days")?,
        inactive_days: row.try_get("inactive_days")?,
        include_drift: get_bool(row, "include_drift")?,
        start_at: row.try_get("start_at")?,
        duration_days: row.try_get("duration_days")?,
        recurrence: row.try_get("recurrence")?,
        reminder_days: json_list(row, "reminder_days_json")?,
        reason_on_keep: get_bool(row, "reason_on_keep")?,
        reason_on_remove: get_bool(row, "reason_on_remove")?,
        default_decision: row.try_get("default_decision")?,
        apply_mode: row.try_get("apply_mode")?,
        extend_kept: get_bool(row, "extend_kept")?,
        sign_in_window_days: row.try_get("sign_in_window_days")?,
        quality_extra_stage: get_bool(row, "quality_extra_stage")?,
        is_enabled: get_bool(row, "is_enabled")?,
        next_start_at: row.try_get("next_start_at")?,
        owner_id: row.try_get("owner_id")?,
        version: row.try_get("version")?,
    })
}

pub async fn find(tx: &mut Tx, review_id: i64) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query(&format!(
        "select {REVIEW_COLUMNS} from access_review where id = $1"
    ))
    .bind(review_id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(review_from)
    .transpose()
}

/// Definitions a viewer may see, by name, a page at a time: every one (`all`), or those
/// they own or whose catalog they own.
pub async fn list(
    tx: &mut Tx,
    viewer_id: i64,
    all: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let columns = REVIEW_COLUMNS
        .split(", ")
        .map(|column| format!("r.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "select {columns} from access_review r where $1 or r.owner_id = $2 \
         or exists (select 1 from catalog_owner o where o.catalog_id = r.catalog_id and o.person_id = $2) \
         or exists (select 1 from access_review_package rp join access_package p on p.id = rp.access_package_id \
                    join catalog_owner o on o.catalog_id = p.catalog_id \
                    where rp.access_review_id = r.id and o.person_id = $2) \
         order by lower(r.name), r.id limit $3 offset $4"
    ))
    .bind(all)
    .bind(viewer_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(review_from)
    .collect()
}

/// What a definition holds, to write.
pub struct ReviewWrite<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub scope_kind: &'a str,
    pub catalog_id: Option<i64>,
    pub departments: &'a [String],
    pub employee_types: &'a [String],
    pub held_longer_than_days: Option<i64>,
    pub inactive_days: Option<i64>,
    pub include_drift: bool,
    pub start_at: Timestamp,
    pub duration_days: i64,
    pub recurrence: &'a str,
    pub reminder_days: &'a [i64],
    pub reason_on_keep: bool,
    pub reason_on_remove: bool,
    pub default_decision: &'a str,
    pub apply_mode: &'a str,
    pub extend_kept: bool,
    pub sign_in_window_days: i64,
    pub quality_extra_stage: bool,
    pub is_enabled: bool,
    pub next_start_at: Option<Timestamp>,
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

pub async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    owner_id: i64,
    review: &ReviewWrite<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into access_review (name, description, scope_kind, catalog_id, departments_json, \
         employee_types_json, held_longer_than_days, inactive_days, include_drift, start_at, \
         duration_days, recurrence, reminder_days_json, reason_on_keep, reason_on_remove, \
         default_decision, apply_mode, extend_kept, sign_in_window_days, quality_extra_stage, \
         is_enabled, next_start_at, owner_id, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $24) returning id",
    )
    .bind(review.name)
    .bind(review.description)
    .bind(review.scope_kind)
    .bind(review.catalog_id)
    .bind(to_json(&review.departments))
    .bind(to_json(&review.employee_types))
    .bind(review.held_longer_than_days)
    .bind(review.inactive_days)
    .bind(review.include_drift)
    .bind(review.start_at.millis())
    .bind(review.duration_days)
    .bind(review.recurrence)
    .bind(to_json(&review.reminder_days))
    .bind(review.reason_on_keep)
    .bind(review.reason_on_remove)
    .bind(review.default_decision)
    .bind(review.apply_mode)
    .bind(review.extend_kept)
    .bind(review.sign_in_window_days)
    .bind(review.quality_extra_stage)
    .bind(review.is_enabled)
    .bind(review.next_start_at.map(Timestamp::millis))
    .bind(owner_id)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// Saves a definition read at `version`; false (nothing written) when it changed meanwhile.
pub async fn update(
    tx: &mut Tx,
    now: Timestamp,
    review_id: i64,
    version: i64,
    review: &ReviewWrite<'_>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update access_review set name = $1, description = $2, scope_kind = $3, catalog_id = $4, \
         departments_json = $5, employee_types_json = $6, held_longer_than_days = $7, \
         inactive_days = $8, include_drift = $9, start_at = $10, duration_days = $11, \
         recurrence = $12, reminder_days_json = $13, reason_on_keep = $14, reason_on_remove = $15, \
         default_decision = $16, apply_mode = $17, extend_kept = $18, sign_in_window_days = $19, \
         quality_extra_stage = $20, is_enabled = $21, next_start_at = $22, updated_at = $23, \
         version = version + 1 where id = $24 and version = $25",
    )
    .bind(review.name)
    .bind(review.description)
    .bind(review.scope_kind)
    .bind(review.catalog_id)
    .bind(to_json(&review.departments))
    .bind(to_json(&review.employee_types))
    .bind(review.held_longer_than_days)
    .bind(review.inactive_days)
    .bind(review.include_drift)
    .bind(review.start_at.millis())
    .bind(review.duration_days)
    .bind(review.recurrence)
    .bind(to_json(&review.reminder_days))
    .bind(review.reason_on_keep)
    .bind(review.reason_on_remove)
    .bind(review.default_decision)
    .bind(review.apply_mode)
    .bind(review.extend_kept)
    .bind(review.sign_in_window_days)
    .bind(review.quality_extra_stage)
    .bind(review.is_enabled)
    .bind(review.next_start_at.map(Timestamp::millis))
    .bind(now.millis())
    .bind(review_id)
    .bind(version)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// One stage of a definition.
#[derive(Clone, Debug, PartialEq)]
pub struct StageRow {
    pub position: i64,
    pub reviewer_kind: String,
    pub person_group_id: Option<i64>,
    pub duration_days: i64,
    pub carry: String,
}

/// Named reviewers and fallbacks of a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StagePerson {
    pub stage_position: i64,
    /// `reviewer` or `fallback`.
    pub role: String,
    pub person_id: i64,
    pub email: String,
}

/// Replaces the packages, stages and people of a definition.
pub async fn set_parts(
    tx: &mut Tx,
    review_id: i64,
    package_ids: &[i64],
    stages: &[StageRow],
    people: &[(i64, &str, i64)],
) -> Result<(), sqlx::Error> {
    for table in [
        "access_review_package",
        "access_review_stage",
        "access_review_person",
    ] {
        sqlx::query(&format!("delete from {table} where access_review_id = $1"))
            .bind(review_id)
            .execute(&mut **tx)
            .await?;
    }
    for package_id in package_ids {
        sqlx::query(
            "insert into access_review_package (access_review_id, access_package_id) values ($1, $2) \
             on conflict do nothing",
        )
        .bind(review_id)
        .bind(package_id)
        .execute(&mut **tx)
        .await?;
    }
    for stage in stages {
        sqlx::query(
            "insert into access_review_stage (access_review_id, position, reviewer_kind, \
             person_group_id, duration_days, carry) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(review_id)
        .bind(stage.position)
        .bind(&stage.reviewer_kind)
        .bind(stage.person_group_id)
        .bind(stage.duration_days)
        .bind(&stage.carry)
        .execute(&mut **tx)
        .await?;
    }
    for (stage, role, person_id) in people {
        sqlx::query(
            "insert into access_review_person (access_review_id, stage_position, role, person_id) \
             values ($1, $2, $3, $4) on conflict do nothing",
        )
        .bind(review_id)
        .bind(stage)
        .bind(role)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn stages_of(tx: &mut Tx, review_id: i64) -> Result<Vec<StageRow>, sqlx::Error> {
    sqlx::query(
        "select position, reviewer_kind, person_group_id, duration_days, carry \
         from access_review_stage where access_review_id = $1 order by position",
    )
    .bind(review_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok(StageRow {
            position: row.try_get("position")?,
            reviewer_kind: row.try_get("reviewer_kind")?,
            person_group_id: row.try_get("person_group_id")?,
            duration_days: row.try_get("duration_days")?,
            carry: row.try_get("carry")?,
        })
    })
    .collect()
}

pub async fn people_of(tx: &mut Tx, review_id: i64) -> Result<Vec<StagePerson>, sqlx::Error> {
    sqlx::query(
        "select rp.stage_position, rp.role, rp.person_id, p.email from access_review_person rp \
         join person p on p.id = rp.person_id where rp.access_review_id = $1 \
         order by rp.stage_position, rp.role, p.email",
    )
    .bind(review_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok(StagePerson {
            stage_position: row.try_get("stage_position")?,
            role: row.try_get("role")?,
            person_id: row.try_get("person_id")?,
            email: row.try_get("email")?,
        })
    })
    .collect()
}

/// The packages of a definition scoped to chosen packages: (id, name, catalog id).
pub async fn packages_of(
    tx: &mut Tx,
    review_id: i64,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    sqlx::query(
        "select p.id, p.name, p.catalog_id from access_review_package rp \
         join access_package p on p.id = rp.access_package_id \
         where rp.access_review_id = $1 order by lower(p.name)",
    )
    .bind(review_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get("id")?,
            row.try_get("name")?,
            row.try_get("catalog_id")?,
        ))
    })
    .collect()
}

/// Packages by name, whatever the case: (name as typed, id, catalog id) for those found.
pub async fn packages_by_name(
    tx: &mut Tx,
    names: &[String],
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let mut found = Vec::new();
    for name in names {
        let row = sqlx::query(
            "select id, catalog_id from access_package where lower(name) = lower($1) order by id limit 1",
        )
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = row {
            found.push((name.clone(), row.try_get("id")?, row.try_get("catalog_id")?));
        }
    }
    Ok(found)
}

/// A catalog's id and name by its name, whatever the case.
pub async fn catalog_by_name(
    tx: &mut Tx,
    name: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query("select id, name from catalog where lower(name) = lower($1)")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
        .transpose()
}

/// A catalog's name.
pub async fn catalog_name(tx: &mut Tx, catalog_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select name from catalog where id = $1")
        .bind(catalog_id)
        .fetch_one(&mut **tx)
        .await
}

/// Names to offer in the form: catalogs and packages the viewer manages (all for
/// administrators), at most `limit` each.
pub async fn choices(
    tx: &mut Tx,
    viewer_id: i64,
    all: bool,
    limit: i64,
) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let catalogs = sqlx::query_scalar(
        "select c.name from catalog c where $1 or exists (select 1 from catalog_owner o \
         where o.catalog_id = c.id and o.person_id = $2) order by lower(c.name) limit $3",
    )
    .bind(all)
    .bind(viewer_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let packages = sqlx::query_scalar(
        "select p.name from access_package p where $1 or exists (select 1 from catalog_owner o \
         where o.catalog_id = p.catalog_id and o.person_id = $2) order by lower(p.name) limit $3",
    )
    .bind(all)
    .bind(viewer_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok((catalogs, packages))
}

/// A group's id by its name, whatever the case.
pub async fn group_by_name(tx: &mut Tx, name: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from person_group where lower(name) = lower($1) order by id limit 1",
    )
    .bind(name)
    .fetch_optional(&mut **tx)
    .await
}

/// A group's name.
pub async fn group_name(tx: &mut Tx, group_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select name from person_group where id = $1")
        .bind(group_id)
        .fetch_one(&mut **tx)
        .await
}

/// Definitions whose next instance is due by `now`: (id, next start).
pub async fn due_to_start(
    pool: &sqlx::AnyPool,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query(
        "select id, next_start_at from access_review where is_enabled and next_start_at is not null \
         and next_start_at <= $1 order by next_start_at limit $2",
    )
    .bind(now.millis())
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("id")?, row.try_get("next_start_at")?)))
    .collect()
}

/// The earliest start still to come.
pub async fn earliest_start(pool: &sqlx::AnyPool) -> Result<Option<Timestamp>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar(
        "select min(next_start_at) from access_review where is_enabled and next_start_at is not null",
    )
    .fetch_one(pool)
    .await?;
    Ok(at.map(Timestamp))
}

/// Moves the next start from `from` to `to` (none: no more instances); false when another
/// instance of Gatehouse moved it first.
pub async fn advance_next_start(
    tx: &mut Tx,
    now: Timestamp,
    review_id: i64,
    from: i64,
    to: Option<Timestamp>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update access_review set next_start_at = $1, updated_at = $2 \
         where id = $3 and next_start_at = $4",
    )
    .bind(to.map(Timestamp::millis))
    .bind(now.millis())
    .bind(review_id)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Sets the next start to `at` (an administrator's "start now").
pub async fn set_next_start(
    tx: &mut Tx,
    now: Timestamp,
    review_id: i64,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("update access_review set next_start_at = $1, updated_at = $2, version = version + 1 where id = $3")
        .bind(at.millis())
        .bind(now.millis())
        .bind(review_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
