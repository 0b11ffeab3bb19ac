//! People as SCIM Users, and the bearer tokens of the HR systems that push them. A SCIM
//! filter becomes a WHERE clause here, so that a list is filtered, sorted and paged in the
//! database however many people there are.

use super::Tx;
use crate::domain::scim::filter::{AttrPath, CompareOp, Filter, Literal};
use crate::domain::scim::{user_attribute, ScimError};
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

/// A person as a SCIM User reads them: what a client writes, and what Gatehouse keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub attributes: UserWrite,
    pub manager_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// The attributes a SCIM client writes (validated by the service).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserWrite {
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: String,
    pub job_title: Option<String>,
    pub attributes_json: String,
    pub status: String,
    pub email: String,
    pub employee_id: Option<String>,
    pub department: Option<String>,
    pub manager_id: Option<i64>,
    pub hire_at: Option<i64>,
    pub leave_at: Option<i64>,
}

const USER_SELECT: &str = "select p.id, coalesce(p.user_name, p.email) as user_name, p.external_id, \
     p.given_name, p.family_name, p.display_name, p.job_title, p.attributes_json, p.status, p.email, \
     p.employee_id, p.department, p.manager_id, m.display_name as manager_name, p.hire_at, p.leave_at, \
     p.created_at, p.updated_at, p.version \
     from person p left join person m on m.id = p.manager_id";

fn user_from(row: &sqlx::any::AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        attributes: UserWrite {
            user_name: row.try_get("user_name")?,
            external_id: row.try_get("external_id")?,
            given_name: row.try_get("given_name")?,
            family_name: row.try_get("family_name")?,
            display_name: row.try_get("display_name")?,
            job_title: row.try_get("job_title")?,
            attributes_json: row.try_get("attributes_json")?,
            status: row.try_get("status")?,
            email: row.try_get("email")?,
            employee_id: row.try_get("employee_id")?,
            department: row.try_get("department")?,
            manager_id: row.try_get("manager_id")?,
            hire_at: row.try_get("hire_at")?,
            leave_at: row.try_get("leave_at")?,
        },
        manager_name: row.try_get("manager_name")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
    })
}

/// The User with this id, unless SCIM removed them.
pub async fn find_user(tx: &mut Tx, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query(&format!(
        "{USER_SELECT} where p.id = $1 and p.scim_removed_at is null"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(user_from)
    .transpose()
}

/// Reads a User outside a transaction.
pub async fn read_user(pool: &AnyPool, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query(&format!(
        "{USER_SELECT} where p.id = $1 and p.scim_removed_at is null"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(user_from)
    .transpose()
}

/// Whether a person with this id exists and was not removed by SCIM (a manager must).
pub async fn user_exists(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("select id from person where id = $1 and scim_removed_at is null")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a User's attributes as `$1` to `$14`, in the order of [`UserWrite`]'s fields.
fn bind_user<'q>(query: AnyQuery<'q>, user: &'q UserWrite) -> AnyQuery<'q> {
    query
        .bind(&user.user_name)
        .bind(&user.external_id)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.display_name)
        .bind(&user.job_title)
        .bind(&user.attributes_json)
        .bind(&user.status)
        .bind(&user.email)
        .bind(&user.employee_id)
        .bind(&user.department)
        .bind(user.manager_id)
        .bind(user.hire_at)
        .bind(user.leave_at)
}

pub async fn insert_user(
    tx: &mut Tx,
    now: Timestamp,
    user: &UserWrite,
) -> Result<i64, sqlx::Error> {
    let row = bind_user(
        sqlx::query(
        "insert into person (user_name, external_id, given_name, family_name, display_name, job_title, \
         attributes_json, status, email, employee_id, department, manager_id, hire_at, leave_at, \
         source, version, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'scim', 1, $15, $15) \
         returning id",
        ),
        user,
    )
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await?;
    row.try_get(0)
}

/// Writes the User's attributes when they are still at `version`; false when someone
/// changed them meanwhile.
pub async fn update_user(
    tx: &mut Tx,
    now: Timestamp,
    id: i64,
    version: i64,
    user: &UserWrite,
) -> Result<bool, sqlx::Error> {
    let done = bind_user(
        sqlx::query(
        "update person set user_name = $1, external_id = $2, given_name = $3, family_name = $4, \
         display_name = $5, job_title = $6, attributes_json = $7, status = $8, email = $9, \
         employee_id = $10, department = $11, manager_id = $12, hire_at = $13, leave_at = $14, \
         version = version + 1, updated_at = $15 \
         where id = $16 and version = $17 and scim_removed_at is null",
        ),
        user,
    )
    .bind(now.millis())
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the User removed through SCIM (after their leaving was done).
pub async fn mark_removed(
    tx: &mut Tx,
    now: Timestamp,
    id: i64,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update person set scim_removed_at = $1, version = version + 1, updated_at = $1 \
         where id = $2 and version = $3 and scim_removed_at is null",
    )
    .bind(now.millis())
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the manager chain from `manager_id` upwards reaches `person_id` (which would
/// make a loop), in one recursive query. Bounded: a chain deeper than 64 counts as a loop.
pub async fn manager_chain_reaches(
    tx: &mut Tx,
    manager_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let (reached, deepest): (i64, i64) = sqlx::query_as(
        "with recursive chain (id, depth) as ( \
             select cast($1 as bigint), cast(0 as bigint) \
             union all \
             select p.manager_id, c.depth + 1 from person p join chain c on p.id = c.id \
             where p.manager_id is not null and c.id <> $2 and c.depth < 64) \
         select count(case when id = $2 then 1 end), cast(coalesce(max(depth), 0) as bigint) from chain",
    )
    .bind(manager_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(reached > 0 || deepest >= 64)
}

/// One value bound to a statement built at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// How an attribute reads in SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    /// Text compared in any case (the expression is lower-cased already).
    Text(&'static str),
    /// Text compared exactly.
    Exact(&'static str),
    Int(&'static str),
    /// Milliseconds, compared with dates.
    Millis(&'static str),
    Active,
    UserType,
    /// A constant of the one email Gatehouse keeps: its type is "work", and it is primary.
    Constant(&'static str),
    Primary,
}

fn column(path: &AttrPath, within: Option<&str>) -> Result<Column, ScimError> {
    let (name, sub) = match within {
        Some(outer) => (outer, Some(path.name.as_str())),
        None => (path.name.as_str(), path.sub.as_deref()),
    };
    let attribute = user_attribute(
        if within.is_some() {
            None
        } else {
            path.uri.as_deref()
        },
        name,
    )
    .ok_or_else(|| {
        ScimError::invalid_filter(format!("A User has no attribute \"{}\".", path.name))
    })?;
    let sub = sub.map(str::to_ascii_lowercase);
    Ok(match (attribute.name, sub.as_deref()) {
        ("id", None) => Column::Int("p.id"),
        ("externalId", None) => Column::Exact("p.external_id"),
        ("userName", None) => Column::Text("lower(coalesce(p.user_name, p.email))"),
        ("displayName", None) | ("name", Some("formatted")) => {
            Column::Text("lower(p.display_name)")
        }
        ("name", Some("givenname")) => Column::Text("lower(p.given_name)"),
        ("name", Some("familyname")) => Column::Text("lower(p.family_name)"),
        ("title", None) => Column::Text("lower(p.job_title)"),
        ("userType", None) => Column::UserType,
        ("active", None) => Column::Active,
        ("emails", None | Some("value") | Some("display")) => Column::Text("lower(p.email)"),
        ("emails", Some("type")) => Column::Constant("work"),
        ("emails", Some("primary")) => Column::Primary,
        ("employeeNumber", None) => Column::Text("lower(p.employee_id)"),
        ("department", None) => Column::Text("lower(p.department)"),
        ("manager", None | Some("value")) => Column::Int("p.manager_id"),
        ("manager", Some("displayname")) => Column::Text(
            "(select lower(m2.display_name) from person m2 where m2.id = p.manager_id)",
        ),
        ("hireDate", None) => Column::Millis("p.hire_at"),
        ("leaveDate", None) => Column::Millis("p.leave_at"),
        ("status", None) => Column::Text("p.status"),
        ("meta", Some("created")) => Column::Millis("p.created_at"),
        ("meta", Some("lastmodified")) => Column::Millis("p.updated_at"),
        _ => {
            return Err(ScimError::invalid_filter(format!(
                "Users cannot be filtered or sorted by \"{}{}\".",
                path.name,
                path.sub
                    .as_deref()
                    .map(|s| format!(".{s}"))
                    .unwrap_or_default()
            )))
        }
    })
}

/// A date or date-time as milliseconds (RFC 3339, or a plain date at midnight UTC).
pub fn parse_instant(text: &str) -> Option<i64> {
    if let Ok(moment) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(moment.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|moment| moment.and_utc().timestamp_millis())
}

fn like_pattern(text: &str, before: &str, after: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{before}{escaped}{after}")
}

fn push(binds: &mut Vec<Bind>, bind: Bind) -> String {
    binds.push(bind);
    format!("${}", binds.len())
}

const TRUE: &str = "1 = 1";
const FALSE: &str = "1 = 0";

/// The WHERE clause of a filter, its values appended to `binds`.
pub fn filter_sql(filter: &Filter, binds: &mut Vec<Bind>) -> Result<String, ScimError> {
    condition(filter, None, binds)
}

fn condition(
    filter: &Filter,
    within: Option<&str>,
    binds: &mut Vec<Bind>,
) -> Result<String, ScimError> {
    Ok(match filter {
        Filter::And(left, right) => format!(
            "({} and {})",
            condition(left, within, binds)?,
            condition(right, within, binds)?
        ),
        Filter::Or(left, right) => format!(
            "({} or {})",
            condition(left, within, binds)?,
            condition(right, within, binds)?
        ),
        Filter::Not(inner) => format!("not ({})", condition(inner, within, binds)?),
        Filter::ValuePath(path, inner) => {
            if within.is_some() {
                return Err(ScimError::invalid_filter("Value filters do not nest."));
            }
            let attribute = user_attribute(path.uri.as_deref(), &path.name);
            if attribute.map(|a| a.name) != Some("emails") || path.sub.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "\"{}\" takes no value filter (only emails does).",
                    path.name
                )));
            }
            condition(inner, Some("emails"), binds)?
        }
        Filter::Present(path) => match column(path, within)? {
            Column::Text(expression) | Column::Exact(expression) => {
                format!("({expression} is not null and {expression} <> '')")
            }
            Column::Int(expression) | Column::Millis(expression) => {
                format!("{expression} is not null")
            }
            Column::UserType => "p.attributes_json like '%\"employee_type\":%'".to_string(),
            Column::Active | Column::Constant(_) | Column::Primary => TRUE.to_string(),
        },
        Filter::Compare(path, op, literal) => {
            compare(column(path, within)?, path, *op, literal, binds)?
        }
    })
}

fn compare(
    column: Column,
    path: &AttrPath,
    op: CompareOp,
    literal: &Literal,
    binds: &mut Vec<Bind>,
) -> Result<String, ScimError> {
    let name = &path.name;
    let wrong = |kind: &str| ScimError::invalid_filter(format!("\"{name}\" compares with {kind}."));
    if let Literal::Null = literal {
        let expression = match column {
            Column::Text(e) | Column::Exact(e) | Column::Int(e) | Column::Millis(e) => e,
            _ => return Err(wrong("a value, not null")),
        };
        return match op {
            CompareOp::Eq => Ok(format!("{expression} is null")),
            CompareOp::Ne => Ok(format!("{expression} is not null")),
            _ => Err(wrong("eq or ne when the value is null")),
        };
    }
    match column {
        Column::Text(expression) | Column::Exact(expression) => {
            let Literal::Text(value) = literal else {
                return Err(wrong("a \"string\""));
            };
            let value = if matches!(column, Column::Text(_)) {
                value.to_lowercase()
            } else {
                value.clone()
            };
            Ok(match op {
                CompareOp::Eq => format!("{expression} = {}", push(binds, Bind::Text(value))),
                CompareOp::Ne => format!(
                    "({expression} is null or {expression} <> {})",
                    push(binds, Bind::Text(value))
                ),
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                    let (before, after) = match op {
                        CompareOp::Co => ("%", "%"),
                        CompareOp::Sw => ("", "%"),
                        _ => ("%", ""),
                    };
                    format!(
                        "{expression} like {} escape '\\'",
                        push(binds, Bind::Text(like_pattern(&value, before, after)))
                    )
                }
                CompareOp::Gt => format!("{expression} > {}", push(binds, Bind::Text(value))),
                CompareOp::Ge => format!("{expression} >= {}", push(binds, Bind::Text(value))),
                CompareOp::Lt => format!("{expression} < {}", push(binds, Bind::Text(value))),
                CompareOp::Le => format!("{expression} <= {}", push(binds, Bind::Text(value))),
            })
        }
        Column::Int(expression) => {
            let number = match literal {
                Literal::Text(text) => text.trim().parse::<i64>().ok(),
                #[allow(clippy::cast_possible_truncation)]
                Literal::Number(number) if number.fract() == 0.0 => Some(*number as i64),
                _ => return Err(wrong("an id")),
            };
            let symbol = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                _ => return Err(wrong("eq, ne, gt, ge, lt or le")),
            };
            Ok(match number {
                Some(number) => format!("{expression} {symbol} {}", push(binds, Bind::Int(number))),
                // No id is text: nothing equals it, everything differs from it.
                None if op == CompareOp::Ne => TRUE.to_string(),
                None => FALSE.to_string(),
            })
        }
        Column::Millis(expression) => {
            let Some(millis) = (match literal {
                Literal::Text(text) => parse_instant(text),
                _ => None,
            }) else {
                return Err(wrong("a date (\"2026-12-31\" or \"2026-12-31T09:00:00Z\")"));
            };
            let symbol = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                _ => return Err(wrong("eq, ne, gt, ge, lt or le")),
            };
            Ok(format!(
                "{expression} {symbol} {}",
                push(binds, Bind::Int(millis))
            ))
        }
        Column::Active | Column::Primary => {
            let Literal::Bool(want) = literal else {
                return Err(wrong("true or false"));
            };
            let want = match op {
                CompareOp::Eq => *want,
                CompareOp::Ne => !*want,
                _ => return Err(wrong("eq or ne")),
            };
            Ok(match (column, want) {
                (Column::Active, true) => "p.status = 'active'".to_string(),
                (Column::Active, false) => "p.status <> 'active'".to_string(),
                (_, true) => TRUE.to_string(),
                (_, false) => FALSE.to_string(),
            })
        }
        Column::UserType => {
            let Literal::Text(value) = literal else {
                return Err(wrong("a \"string\""));
            };
            // Kept in the person's attributes as compact JSON (serde_json), so the pair
            // reads exactly so.
            let pair = format!(
                "\"employee_type\":{}",
                serde_json::to_string(&value.to_lowercase()).unwrap_or_default()
            );
            let pattern = push(binds, Bind::Text(like_pattern(&pair, "%", "%")));
            match op {
                CompareOp::Eq => Ok(format!(
                    "lower(p.attributes_json) like {pattern} escape '\\'"
                )),
                CompareOp::Ne => Ok(format!(
                    "lower(p.attributes_json) not like {pattern} escape '\\'"
                )),
                _ => Err(wrong("eq or ne")),
            }
        }
        Column::Constant(constant) => {
            let Literal::Text(value) = literal else {
                return Err(wrong("a \"string\""));
            };
            let matched = crate::domain::scim::filter::matches(
                &Filter::Compare(
                    AttrPath {
                        uri: None,
                        name: "v".into(),
                        sub: None,
                    },
                    op,
                    Literal::Text(value.clone()),
                ),
                &serde_json::json!({ "v": constant }),
            );
            Ok(if matched { TRUE } else { FALSE }.to_string())
        }
    }
}

/// The ORDER BY expression of a `sortBy` attribute.
pub fn sort_sql(path: &AttrPath) -> Result<&'static str, ScimError> {
    match column(path, None) {
        Ok(Column::Text(e) | Column::Exact(e) | Column::Int(e) | Column::Millis(e)) => Ok(e),
        Ok(Column::Active) => Ok("p.status"),
        _ => Err(ScimError::invalid_value(format!(
            "Users cannot be sorted by \"{}\".",
            path.name
        ))),
    }
}

/// A page of Users matching `condition` (from [`filter_sql`]), and how many match in all.
pub async fn list_users(
    pool: &AnyPool,
    condition: &str,
    binds: &[Bind],
    order: &str,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<UserRow>), sqlx::Error> {
    let direction = if descending { "desc" } else { "asc" };
    let count_sql =
        format!("select count(*) from person p where p.scim_removed_at is null and ({condition})");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql).persistent(false);
    for bind in binds {
        count = match bind {
            Bind::Int(value) => count.bind(*value),
            Bind::Text(value) => count.bind(value.clone()),
        };
    }
    let total = count.fetch_one(pool).await?;
    if limit == 0 {
        return Ok((total, Vec::new()));
    }
    let sql = format!(
        "{USER_SELECT} where p.scim_removed_at is null and ({condition}) \
         order by {order} {direction}, p.id {direction} limit {limit} offset {offset}"
    );
    let mut query = sqlx::query(&sql).persistent(false);
    for bind in binds {
        query = match bind {
            Bind::Int(value) => query.bind(*value),
            Bind::Text(value) => query.bind(value.clone()),
        };
    }
    let rows = query.fetch_all(pool).await?;
    Ok((total, rows.iter().map(user_from).collect::<Result<_, _>>()?))
}

/// A bearer token of an HR system.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert_token(
    tx: &mut Tx,
    now: Timestamp,
    name: &str,
    token_hash: &str,
    created_by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into scim_token (name, token_hash, created_by_id, created_at) values ($1, $2, $3, $4) returning id",
    )
    .bind(name)
    .bind(token_hash)
    .bind(created_by)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// The live token with this hash: its id and name.
pub async fn token_by_hash(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("select id, name from scim_token where token_hash = $1 and revoked_at is null")
        .bind(token_hash)
        .fetch_optional(pool)
        .await
}

/// Notes the token's use, at most once a minute (a Bulk of thousands is one use).
pub async fn touch_token(pool: &AnyPool, now: Timestamp, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update scim_token set last_used_at = $1 where id = $2 \
         and (last_used_at is null or last_used_at < $3)",
    )
    .bind(now.millis())
    .bind(id)
    .bind(now.millis() - 60_000)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Every token, newest first (an organisation has a handful).
pub async fn tokens(pool: &AnyPool) -> Result<Vec<TokenRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select t.id, t.name, p.display_name, t.created_at, t.last_used_at, t.revoked_at \
         from scim_token t join person p on p.id = t.created_by_id order by t.id desc limit 200",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TokenRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_by: row.try_get("display_name")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a live token; false when there is none with this id.
pub async fn revoke_token(
    tx: &mut Tx,
    now: Timestamp,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "update scim_token set revoked_at = $1 where id = $2 and revoked_at is null returning name",
    )
    .bind(now.millis())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::filter::parse_filter;

    fn sql(filter: &str) -> Result<(String, Vec<Bind>), ScimError> {
        let mut binds = Vec::new();
        let sql = filter_sql(&parse_filter(filter)?, &mut binds)?;
        Ok((sql, binds))
    }

    #[test]
    fn filters_become_conditions_with_bound_values() {
        let (condition, binds) =
            sql(r#"userName eq "Ada@Example.test" and (title co "50%" or not (active eq false))"#)
                .unwrap();
        assert_eq!(
            condition,
            "(lower(coalesce(p.user_name, p.email)) = $1 and (lower(p.job_title) like $2 escape '\\' or not (p.status <> 'active')))"
        );
        assert_eq!(
            binds,
            vec![
                Bind::Text("ada@example.test".into()),
                Bind::Text("%50\\%%".into())
            ]
        );
        // `not (active eq false)` is "not inactive".
        let (condition, _) = sql("active eq false").unwrap();
        assert_eq!(condition, "p.status <> 'active'");
    }

    #[test]
    fn dates_ids_and_value_paths_translate() {
        let (condition, binds) =
            sql(r#"meta.lastModified gt "2026-01-01T00:00:00Z" and manager.value eq "12""#)
                .unwrap();
        assert_eq!(condition, "(p.updated_at > $1 and p.manager_id = $2)");
        assert_eq!(binds, vec![Bind::Int(1_767_225_600_000), Bind::Int(12)]);
        let (condition, _) = sql(r#"emails[type eq "work" and value ew "@example.test"]"#).unwrap();
        assert_eq!(condition, "(1 = 1 and lower(p.email) like $1 escape '\\')");
        let (condition, _) = sql(r#"id eq "abc""#).unwrap();
        assert_eq!(condition, "1 = 0");
    }

    #[test]
    fn unknown_attributes_and_wrong_values_are_invalid_filters() {
        for bad in [
            r#"nickName eq "x""#,
            r#"userName eq true"#,
            r#"active eq "yes""#,
            r#"meta.created gt "yesterday""#,
            r#"name[givenName eq "x"]"#,
            r#"id co "1""#,
            r#"meta.version eq "1""#,
        ] {
            assert_eq!(
                sql(bad).unwrap_err().scim_type,
                Some("invalidFilter"),
                "{bad}"
            );
        }
    }
}
