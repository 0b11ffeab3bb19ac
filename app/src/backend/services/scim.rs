//! HR inbound over SCIM 2.0: an HR system or identity provider creates, changes,
//! deactivates and removes people through `/scim/v2/Users` and `/scim/v2/Bulk`, with a
//! bearer token an administrator made.
//!
//! Every change of a person is one transaction with its audit event (`person.created`,
//! `person.updated`, `person.removed`, before and after). A person switched off (status
//! left or disabled, or removed) loses their access in the same transaction, as
//! `gatehouse person-left` does: assignments end, accounts downstream are switched off,
//! waiting requests end and approvals waiting on them move on.

use crate::backend::auth::permissions;
use crate::backend::services::people;
use crate::backend::store::scim::{self as store, Bind, UserRow, UserWrite};
use crate::backend::store::{self as stores, audit, Tx};
use crate::backend::AppState;
use crate::domain::person::Email;
use crate::domain::scim::filter::parse_filter;
use crate::domain::scim::patch;
use crate::domain::scim::{
    get_ignore_case, ScimError, BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ENTERPRISE_SCHEMA,
    GATEHOUSE_SCHEMA, LIST_SCHEMA, USER_ATTRIBUTES, USER_SCHEMA,
};
use crate::domain::{AppError, ErrorCode, Timestamp};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Users per page at most (`count` above is cut to it; ServiceProviderConfig says so).
pub const MAX_PAGE: i64 = 200;
/// Operations per Bulk request at most, and its size.
pub const BULK_MAX_OPERATIONS: usize = 10_000;
pub const BULK_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Bulk operations per transaction: each is a savepoint inside it, so that one bad
/// operation fails alone.
const BULK_BATCH: usize = 500;
/// Characters in any text attribute at most.
const MAX_TEXT: usize = 256;

const ACTOR: audit::Actor = audit::Actor::System("scim");

/// The HR system calling: the token it presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub token_id: i64,
    pub token_name: String,
}

impl From<AppError> for ScimError {
    fn from(error: AppError) -> Self {
        match error.code {
            // A unique constraint on a person (userName, email, employee id).
            ErrorCode::Invalid if !error.fields.is_empty() => ScimError::uniqueness(error.message),
            ErrorCode::Invalid => ScimError::invalid_value(error.message),
            ErrorCode::Conflict => ScimError::status(409, error.message),
            ErrorCode::NotFound => ScimError::not_found(error.message),
            ErrorCode::Unauthenticated => ScimError::status(401, error.message),
            ErrorCode::Forbidden | ErrorCode::Disabled => ScimError::status(403, error.message),
            ErrorCode::Internal => ScimError::status(500, error.message),
        }
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

/// The caller of a request with `Authorization: Bearer <token>`; 401 for anything else.
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
) -> Result<Caller, ScimError> {
    let unauthorized = || ScimError::status(401, "A valid bearer token is required.");
    let token = authorization
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(unauthorized)?;
    let hash = stores::action_token::hash(token);
    let (token_id, token_name) = store::token_by_hash(state.db.reader(), &hash)
        .await?
        .ok_or_else(unauthorized)?;
    store::touch_token(state.db.writer(), state.clock.now(), token_id).await?;
    Ok(Caller {
        token_id,
        token_name,
    })
}

/// A timestamp as RFC 3339 in UTC, to the millisecond.
fn instant(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|moment| moment.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The ETag of a version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn employee_type(attributes_json: &str) -> Option<String> {
    serde_json::from_str::<Value>(attributes_json)
        .ok()?
        .get("employee_type")?
        .as_str()
        .map(str::to_string)
}

/// A person as SCIM shows them; `base` is the service's URL (`.../scim/v2`).
pub fn user_json(user: &UserRow, base: &str) -> Value {
    let mut out = Map::new();
    let put = |object: &mut Map<String, Value>, key: &str, value: Option<Value>| {
        if let Some(value) = value {
            object.insert(key.to_string(), value);
        }
    };
    out.insert(
        "schemas".into(),
        json!([USER_SCHEMA, ENTERPRISE_SCHEMA, GATEHOUSE_SCHEMA]),
    );
    out.insert("id".into(), json!(user.id.to_string()));
    put(
        &mut out,
        "externalId",
        user.attributes.external_id.clone().map(Value::from),
    );
    out.insert("userName".into(), json!(user.attributes.user_name));
    let mut name = Map::new();
    name.insert("formatted".into(), json!(user.attributes.display_name));
    put(
        &mut name,
        "givenName",
        user.attributes.given_name.clone().map(Value::from),
    );
    put(
        &mut name,
        "familyName",
        user.attributes.family_name.clone().map(Value::from),
    );
    out.insert("name".into(), Value::Object(name));
    out.insert("displayName".into(), json!(user.attributes.display_name));
    put(
        &mut out,
        "title",
        user.attributes.job_title.clone().map(Value::from),
    );
    put(
        &mut out,
        "userType",
        employee_type(&user.attributes.attributes_json).map(Value::from),
    );
    out.insert("active".into(), json!(user.attributes.status == "active"));
    out.insert(
        "emails".into(),
        json!([{"value": user.attributes.email, "type": "work", "primary": true}]),
    );
    let mut enterprise = Map::new();
    put(
        &mut enterprise,
        "employeeNumber",
        user.attributes.employee_id.clone().map(Value::from),
    );
    put(
        &mut enterprise,
        "department",
        user.attributes.department.clone().map(Value::from),
    );
    if let Some(manager) = user.attributes.manager_id {
        enterprise.insert(
            "manager".into(),
            json!({"value": manager.to_string(), "$ref": format!("{base}/Users/{manager}"),
                   "displayName": user.manager_name}),
        );
    }
    out.insert(ENTERPRISE_SCHEMA.into(), Value::Object(enterprise));
    let mut gatehouse = Map::new();
    put(
        &mut gatehouse,
        "hireDate",
        user.attributes.hire_at.map(|at| json!(instant(at))),
    );
    put(
        &mut gatehouse,
        "leaveDate",
        user.attributes.leave_at.map(|at| json!(instant(at))),
    );
    gatehouse.insert("status".into(), json!(user.attributes.status));
    out.insert(GATEHOUSE_SCHEMA.into(), Value::Object(gatehouse));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": instant(user.created_at),
            "lastModified": instant(user.updated_at),
            "location": format!("{base}/Users/{}", user.id),
            "version": etag(user.version),
        }),
    );
    Value::Object(out)
}

/// Who the manager attribute names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ManagerRef {
    None,
    Id(i64),
    /// `bulkId:<id>`: a person created earlier in the same Bulk request.
    Bulk(String),
}

/// A User's attributes as a client sent them, checked.
#[derive(Clone, Debug, PartialEq)]
struct UserInput {
    write: UserWrite,
    manager: ManagerRef,
    /// `active` as sent, to settle the status with an existing person's.
    active: Option<bool>,
    status_given: bool,
}

fn text(value: &Value, what: &str) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => {
            let trimmed = text.trim();
            if trimmed.chars().count() > MAX_TEXT {
                return Err(ScimError::invalid_value(format!(
                    "\"{what}\" has at most {MAX_TEXT} characters."
                )));
            }
            Ok(Some(trimmed.to_string()).filter(|t| !t.is_empty()))
        }
        _ => Err(ScimError::invalid_value(format!(
            "\"{what}\" must be a string."
        ))),
    }
}

fn boolean(value: &Value, what: &str) -> Result<Option<bool>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(flag) => Ok(Some(*flag)),
        // Some clients (Entra's PATCH among them) send booleans as text.
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(ScimError::invalid_value(format!(
            "\"{what}\" must be true or false."
        ))),
    }
}

fn date(value: &Value, what: &str) -> Result<Option<i64>, ScimError> {
    match text(value, what)? {
        None => Ok(None),
        Some(text) => store::parse_instant(&text).map(Some).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "\"{what}\" must be a date like \"2026-12-31\" or \"2026-12-31T09:00:00Z\"."
            ))
        }),
    }
}

/// Reads a whole User (a POST or PUT body, or a patched User): every attribute known,
/// every value of its type.
fn read_user(body: &Value) -> Result<UserInput, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("The body must be a JSON object."))?;
    let schemas = get_ignore_case(object, "schemas")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::invalid_syntax(format!("\"schemas\" must list \"{USER_SCHEMA}\"."))
        })?;
    let mut has_core = false;
    for schema in schemas {
        match schema.as_str() {
            Some(USER_SCHEMA) => has_core = true,
            Some(ENTERPRISE_SCHEMA | GATEHOUSE_SCHEMA) => {}
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "Unknown schema {}: a User has {USER_SCHEMA}, {ENTERPRISE_SCHEMA} and {GATEHOUSE_SCHEMA}.",
                    other.map_or_else(|| schema.to_string(), str::to_string)
                )))
            }
        }
    }
    if !has_core {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must list \"{USER_SCHEMA}\"."
        )));
    }
    // Every attribute must be one Gatehouse keeps: an unknown one would be lost silently.
    let mut values: HashMap<&'static str, &Value> = HashMap::new();
    for (key, value) in object {
        if let Some(schema) = [ENTERPRISE_SCHEMA, GATEHOUSE_SCHEMA]
            .into_iter()
            .find(|schema| schema.eq_ignore_ascii_case(key))
        {
            let inner = match value {
                Value::Object(inner) => inner,
                Value::Null => continue,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "\"{schema}\" must be an object."
                    )))
                }
            };
            for (name, value) in inner {
                let attribute = USER_ATTRIBUTES
                    .iter()
                    .find(|a| a.schema == schema && a.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        ScimError::invalid_syntax(format!("Unknown attribute \"{schema}:{name}\"."))
                    })?;
                values.insert(attribute.name, value);
            }
            continue;
        }
        let attribute = USER_ATTRIBUTES
            .iter()
            .find(|a| a.schema == USER_SCHEMA && a.name.eq_ignore_ascii_case(key))
            .ok_or_else(|| ScimError::invalid_syntax(format!("Unknown attribute \"{key}\".")))?;
        if !attribute.read_only && attribute.name != "schemas" {
            values.insert(attribute.name, value);
        }
    }
    let get = |name: &str| values.get(name).copied().unwrap_or(&Value::Null);

    let user_name = text(get("userName"), "userName")?
        .ok_or_else(|| ScimError::invalid_value("\"userName\" is required."))?;
    let (mut given_name, mut family_name, mut formatted) = (None, None, None);
    match get("name") {
        Value::Null => {}
        Value::Object(name) => {
            for (key, value) in name {
                match key.to_ascii_lowercase().as_str() {
                    "givenname" => given_name = text(value, "name.givenName")?,
                    "familyname" => family_name = text(value, "name.familyName")?,
                    "formatted" => formatted = text(value, "name.formatted")?,
                    _ => {
                        return Err(ScimError::invalid_syntax(format!(
                            "Unknown attribute \"name.{key}\"."
                        )))
                    }
                }
            }
        }
        _ => return Err(ScimError::invalid_value("\"name\" must be an object.")),
    }
    let joined = [given_name.as_deref(), family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = text(get("displayName"), "displayName")?
        .or(formatted)
        .or(Some(joined).filter(|j| !j.is_empty()))
        .unwrap_or_else(|| user_name.clone());

    // The one email Gatehouse keeps: the primary, else the work one, else the first; or
    // the userName when it is an address.
    let email_text = match get("emails") {
        Value::Null => None,
        Value::Array(emails) => {
            let mut chosen: Option<(u8, String)> = None;
            for email in emails {
                let email = email.as_object().ok_or_else(|| {
                    ScimError::invalid_value("Each of \"emails\" must be an object.")
                })?;
                for key in email.keys() {
                    if !["value", "type", "primary", "display"]
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(key))
                    {
                        return Err(ScimError::invalid_syntax(format!(
                            "Unknown attribute \"emails.{key}\"."
                        )));
                    }
                }
                let Some(value) = text(
                    get_ignore_case(email, "value").unwrap_or(&Value::Null),
                    "emails.value",
                )?
                else {
                    continue;
                };
                let primary = boolean(
                    get_ignore_case(email, "primary").unwrap_or(&Value::Null),
                    "emails.primary",
                )?;
                let kind = text(
                    get_ignore_case(email, "type").unwrap_or(&Value::Null),
                    "emails.type",
                )?;
                let rank = if primary == Some(true) {
                    0
                } else if kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("work"))
                {
                    1
                } else {
                    2
                };
                if chosen.as_ref().is_none_or(|(best, _)| rank < *best) {
                    chosen = Some((rank, value));
                }
            }
            chosen.map(|(_, value)| value)
        }
        _ => return Err(ScimError::invalid_value("\"emails\" must be an array.")),
    };
    let email = match email_text {
        Some(text) => Email::parse(&text)
            .map_err(|message| ScimError::invalid_value(format!("emails: {message}")))?,
        None => Email::parse(&user_name).map_err(|_| {
            ScimError::invalid_value(
                "A User needs an email address: in \"emails\", or as the \"userName\".",
            )
        })?,
    };

    let manager = match get("manager") {
        Value::Null => ManagerRef::None,
        Value::Object(manager) => {
            for key in manager.keys() {
                if !["value", "$ref", "displayName"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(key))
                {
                    return Err(ScimError::invalid_syntax(format!(
                        "Unknown attribute \"manager.{key}\"."
                    )));
                }
            }
            manager_ref(get_ignore_case(manager, "value").unwrap_or(&Value::Null))?
        }
        // A bare id, as some clients send it.
        value @ Value::String(_) => manager_ref(value)?,
        _ => {
            return Err(ScimError::invalid_value(
                "\"manager\" must be an object with a \"value\".",
            ))
        }
    };

    let active = boolean(get("active"), "active")?;
    let status = text(get("status"), "status")?;
    if let Some(status) = &status {
        if !["active", "disabled", "left"].contains(&status.as_str()) {
            return Err(ScimError::invalid_value(
                "\"status\" must be active, disabled or left.",
            ));
        }
        if active.is_some_and(|active| active != (status == "active")) {
            return Err(ScimError::invalid_value(format!(
                "\"active\" and \"status\" disagree: a person with status {status} is {}active.",
                if status == "active" { "" } else { "not " }
            )));
        }
    }
    let mut attributes = Map::new();
    if let Some(kind) = text(get("userType"), "userType")? {
        attributes.insert("employee_type".into(), json!(kind));
    }
    let hire_at = date(get("hireDate"), "hireDate")?;
    let leave_at = date(get("leaveDate"), "leaveDate")?;
    if let (Some(hire), Some(leave)) = (hire_at, leave_at) {
        if leave < hire {
            return Err(ScimError::invalid_value(
                "\"leaveDate\" comes before \"hireDate\".",
            ));
        }
    }
    Ok(UserInput {
        write: UserWrite {
            user_name,
            external_id: text(get("externalId"), "externalId")?,
            given_name,
            family_name,
            display_name,
            job_title: text(get("title"), "title")?,
            attributes_json: Value::Object(attributes).to_string(),
            status: status.clone().unwrap_or_else(|| {
                if active == Some(false) {
                    "disabled"
                } else {
                    "active"
                }
                .to_string()
            }),
            email: email.as_str().to_string(),
            employee_id: text(get("employeeNumber"), "employeeNumber")?,
            department: text(get("department"), "department")?,
            manager_id: None,
            hire_at,
            leave_at,
        },
        manager,
        active,
        status_given: status.is_some(),
    })
}

fn manager_ref(value: &Value) -> Result<ManagerRef, ScimError> {
    match text(value, "manager.value")? {
        None => Ok(ManagerRef::None),
        Some(text) => {
            if let Some(bulk_id) = text.strip_prefix("bulkId:") {
                return Ok(ManagerRef::Bulk(bulk_id.to_string()));
            }
            text.parse::<i64>().map(ManagerRef::Id).map_err(|_| {
                ScimError::invalid_value(format!(
                    "\"manager.value\" must be a User's id, not {text:?}."
                ))
            })
        }
    }
}

/// Settles the input against the stored person (when there is one): the manager
/// resolved and checked, and the status an inactive person keeps.
async fn settle(
    tx: &mut Tx,
    mut input: UserInput,
    existing: Option<&UserRow>,
    bulk_ids: &HashMap<String, i64>,
) -> Result<UserWrite, ScimError> {
    let manager_id = match &input.manager {
        ManagerRef::None => None,
        ManagerRef::Id(id) => Some(*id),
        ManagerRef::Bulk(bulk_id) => Some(*bulk_ids.get(bulk_id).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "No operation before this one created bulkId {bulk_id:?}."
            ))
        })?),
    };
    if let Some(manager_id) = manager_id {
        if !store::user_exists(tx, manager_id).await? {
            return Err(ScimError::invalid_value(format!(
                "The manager {manager_id} is not a User."
            )));
        }
        if let Some(person) = existing {
            if store::manager_chain_reaches(tx, manager_id, person.id).await? {
                return Err(ScimError::invalid_value(format!(
                    "The manager {manager_id} reports to this person already (a manager loop)."
                )));
            }
        }
    }
    input.write.manager_id = manager_id;
    // `active: false` keeps a person who left as left (not merely disabled).
    if let Some(person) = existing {
        if !input.status_given && input.active == Some(false) && person.attributes.status == "left"
        {
            input.write.status = "left".into();
        }
        if !input.status_given && input.active.is_none() {
            input.write.status = person.attributes.status.clone();
        }
        // Other attributes of theirs that SCIM does not show are kept.
        let mut attributes: Map<String, Value> =
            serde_json::from_str(&person.attributes.attributes_json).unwrap_or_default();
        let sent: Map<String, Value> =
            serde_json::from_str(&input.write.attributes_json).unwrap_or_default();
        attributes.remove("employee_type");
        attributes.extend(sent);
        input.write.attributes_json = Value::Object(attributes).to_string();
    }
    Ok(input.write)
}

/// The audit view of a person: the attributes SCIM writes.
fn audited(user: &UserWrite) -> Value {
    json!({
        "user_name": user.user_name, "external_id": user.external_id,
        "given_name": user.given_name, "family_name": user.family_name,
        "display_name": user.display_name, "job_title": user.job_title,
        "attributes": serde_json::from_str::<Value>(&user.attributes_json).unwrap_or(Value::Null),
        "status": user.status, "email": user.email, "employee_id": user.employee_id,
        "department": user.department, "manager_id": user.manager_id,
        "hire_at": user.hire_at, "leave_at": user.leave_at,
    })
}

/// A write that lost the race with another one on the same User.
fn changed_meanwhile() -> ScimError {
    ScimError::status(412, "The User changed meanwhile. Read it again and retry.")
}

fn user_id(text: &str) -> Result<i64, ScimError> {
    text.parse::<i64>()
        .map_err(|_| ScimError::not_found(format!("No User has the id {text:?}.")))
}

/// `If-Match`: `*`, or a list of ETags one of which must be the current version.
fn check_version(if_match: Option<&str>, version: i64) -> Result<(), ScimError> {
    let Some(if_match) = if_match else {
        return Ok(());
    };
    let current = etag(version);
    let strong = format!("\"{version}\"");
    if if_match.trim() == "*"
        || if_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == current || tag == strong)
    {
        Ok(())
    } else {
        Err(ScimError::status(
            412,
            format!(
                "The User changed meanwhile: it is at version {current}. Read it again and retry."
            ),
        ))
    }
}

async fn find(tx: &mut Tx, id: &str) -> Result<UserRow, ScimError> {
    let id = user_id(id)?;
    store::find_user(tx, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("No User has the id \"{id}\".")))
}

fn was_on(status: &str) -> bool {
    status == "active"
}

/// Writes a new person, with its audit event; returns their id (at version 1).
async fn create_in(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    body: &Value,
    bulk_ids: &HashMap<String, i64>,
) -> Result<i64, ScimError> {
    let input = read_user(body)?;
    let write = settle(tx, input, None, bulk_ids).await?;
    let id = store::insert_user(tx, now, &write).await?;
    audit::append(
        tx,
        now,
        &ACTOR,
        audit::Change::new("person.created", "person", id)
            .after(json!({ "person": audited(&write), "via": caller.token_name })),
    )
    .await?;
    Ok(id)
}

/// Creates a person and reads them back for the answer.
async fn create_and_read(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    body: &Value,
) -> Result<UserRow, ScimError> {
    let id = create_in(tx, now, caller, body, &HashMap::new()).await?;
    find(tx, &id.to_string()).await
}

/// Writes a person's new attributes (from a PUT, or a PATCH applied), with its audit
/// event; switching them off ends their access.
async fn write_in(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    existing: &UserRow,
    body: &Value,
    bulk_ids: &HashMap<String, i64>,
) -> Result<UserRow, ScimError> {
    let input = read_user(body)?;
    let write = settle(tx, input, Some(existing), bulk_ids).await?;
    let before = existing.attributes.clone();
    if write == before {
        return Ok(existing.clone());
    }
    if !store::update_user(tx, now, existing.id, existing.version, &write).await? {
        return Err(changed_meanwhile());
    }
    audit::append(
        tx,
        now,
        &ACTOR,
        audit::Change::new("person.updated", "person", existing.id)
            .before(audited(&before))
            .after(json!({ "person": audited(&write), "via": caller.token_name })),
    )
    .await?;
    if was_on(&before.status) && !was_on(&write.status) {
        people::end_access_in(tx, now, &ACTOR, existing.id).await?;
    }
    find(tx, &existing.id.to_string()).await
}

async fn replace_in(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    bulk_ids: &HashMap<String, i64>,
) -> Result<UserRow, ScimError> {
    let existing = find(tx, id).await?;
    check_version(if_match, existing.version)?;
    write_in(tx, now, caller, &existing, body, bulk_ids).await
}

async fn patch_in(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    bulk_ids: &HashMap<String, i64>,
) -> Result<UserRow, ScimError> {
    let operations = patch::parse_operations(body)?;
    let existing = find(tx, id).await?;
    check_version(if_match, existing.version)?;
    let mut resource = user_json(&existing, "");
    // What the client may not write is not part of what it patches.
    if let Some(object) = resource.as_object_mut() {
        object.remove("meta");
        object.remove("id");
    }
    let before = resource.clone();
    patch::apply(&mut resource, &operations)?;
    // `active` and Gatehouse's `status` say the same thing twice: the one the operations
    // changed decides, and the other follows.
    let status_of = |user: &Value| {
        user.get(GATEHOUSE_SCHEMA)
            .and_then(|ext| ext.get("status"))
            .cloned()
    };
    let active_of = |user: &Value| user.get("active").cloned();
    if status_of(&resource) == status_of(&before) && active_of(&resource) != active_of(&before) {
        if let Some(ext) = resource
            .get_mut(GATEHOUSE_SCHEMA)
            .and_then(Value::as_object_mut)
        {
            ext.remove("status");
        }
    } else if status_of(&resource) != status_of(&before)
        && active_of(&resource) == active_of(&before)
    {
        if let Some(object) = resource.as_object_mut() {
            object.remove("active");
        }
    }
    write_in(tx, now, caller, &existing, &resource, bulk_ids).await
}

async fn delete_in(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let existing = find(tx, id).await?;
    check_version(if_match, existing.version)?;
    if existing.attributes.status != "left" {
        stores::person::mark_left(tx, now, existing.id).await?;
    }
    let version = existing.version + i64::from(existing.attributes.status != "left");
    if !store::mark_removed(tx, now, existing.id, version).await? {
        return Err(changed_meanwhile());
    }
    audit::append(
        tx,
        now,
        &ACTOR,
        audit::Change::new("person.removed", "person", existing.id)
            .before(audited(&existing.attributes))
            .after(json!({ "status": "left", "removed": true, "via": caller.token_name })),
    )
    .await?;
    people::end_access_in(tx, now, &ACTOR, existing.id).await?;
    Ok(())
}

/// One read User, with `attributes` / `excludedAttributes` applied.
pub async fn get_user(state: &AppState, id: &str, base: &str) -> Result<(Value, i64), ScimError> {
    let id = user_id(id)?;
    let user = store::read_user(state.db.reader(), id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("No User has the id \"{id}\".")))?;
    Ok((user_json(&user, base), user.version))
}

/// Runs one change in its own transaction, then wakes the scheduler (ending access may
/// have queued work).
macro_rules! in_transaction {
    ($state:expr, |$tx:ident, $now:ident| $body:expr) => {{
        let $now = $state.clock.now();
        let mut transaction = $state.db.begin_write().await?;
        let result = {
            let $tx = &mut transaction;
            $body.await
        };
        match result {
            Ok(value) => {
                transaction.commit().await?;
                $state.scheduler_wakeup.notify();
                Ok(value)
            }
            Err(error) => Err(error),
        }
    }};
}

pub async fn create_user(
    state: &AppState,
    caller: &Caller,
    body: &Value,
    base: &str,
) -> Result<(Value, i64), ScimError> {
    let user = in_transaction!(state, |tx, now| create_and_read(tx, now, caller, body))?;
    Ok((user_json(&user, base), user.version))
}

/// How a client changes a User: a whole new one (PUT), or operations on it (PATCH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Replace,
    Patch,
}

#[allow(clippy::too_many_arguments)]
async fn change_in(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    write: Write,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    bulk_ids: &HashMap<String, i64>,
) -> Result<UserRow, ScimError> {
    match write {
        Write::Replace => replace_in(tx, now, caller, id, body, if_match, bulk_ids).await,
        Write::Patch => patch_in(tx, now, caller, id, body, if_match, bulk_ids).await,
    }
}

/// A PUT or PATCH of one User, in its own transaction; the User as it is afterwards.
pub async fn change_user(
    state: &AppState,
    caller: &Caller,
    write: Write,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    base: &str,
) -> Result<(Value, i64), ScimError> {
    let none = HashMap::new();
    let user = in_transaction!(state, |tx, now| change_in(
        tx, now, caller, write, id, body, if_match, &none
    ))?;
    Ok((user_json(&user, base), user.version))
}

pub async fn delete_user(
    state: &AppState,
    caller: &Caller,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    in_transaction!(state, |tx, now| delete_in(tx, now, caller, id, if_match))
}

/// A list request's parameters (query string of a GET, or the body of a `.search` POST).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
}

fn positive(text: Option<&str>, what: &str, default: i64) -> Result<i64, ScimError> {
    match text {
        None => Ok(default),
        Some(text) => text.trim().parse::<i64>().map_err(|_| {
            ScimError::invalid_value(format!("\"{what}\" must be a whole number, not {text:?}."))
        }),
    }
}

/// A page of Users as a ListResponse.
pub async fn list_users(
    state: &AppState,
    query: &ListQuery,
    base: &str,
) -> Result<Value, ScimError> {
    let mut binds: Vec<Bind> = Vec::new();
    let condition = match query
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(filter) => store::filter_sql(&parse_filter(filter)?, &mut binds)?,
        None => "1 = 1".to_string(),
    };
    let order = match query
        .sort_by
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(sort_by) => {
            let path = crate::domain::scim::filter::parse_patch_path(sort_by)
                .map_err(|_| ScimError::invalid_value(format!("Cannot sort by {sort_by:?}.")))?;
            if path.filter.is_some() {
                return Err(ScimError::invalid_value(format!(
                    "Cannot sort by {sort_by:?}."
                )));
            }
            store::sort_sql(&path.attribute)?
        }
        None => "p.id",
    };
    let descending = match query
        .sort_order
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "\"sortOrder\" is ascending or descending, not {other:?}."
            )))
        }
    };
    // RFC 7644 3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
    let start_index = positive(query.start_index.as_deref(), "startIndex", 1)?.max(1);
    let count = positive(query.count.as_deref(), "count", MAX_PAGE)?.clamp(0, MAX_PAGE);
    let (total, users) = store::list_users(
        state.db.reader(),
        &condition,
        &binds,
        order,
        descending,
        start_index - 1,
        count,
    )
    .await?;
    Ok(json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": users.len(),
        "Resources": users.iter().map(|user| user_json(user, base)).collect::<Vec<_>>(),
    }))
}

/// Applies a Bulk request (RFC 7644 3.7): operations in order, a few hundred per
/// transaction, each in a savepoint so that a bad one fails alone; after `failOnErrors`
/// errors the rest is not tried.
pub async fn bulk(
    state: &AppState,
    caller: &Caller,
    body: &Value,
    base: &str,
) -> Result<Value, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("The body must be a JSON object."))?;
    let schemas = get_ignore_case(object, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str() == Some(BULK_REQUEST_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must be [\"{BULK_REQUEST_SCHEMA}\"]."
        )));
    }
    let operations = get_ignore_case(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be an array."))?;
    if operations.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::status(
            413,
            format!(
                "At most {BULK_MAX_OPERATIONS} operations per Bulk request; this one has {}.",
                operations.len()
            ),
        ));
    }
    let fail_on_errors = match get_ignore_case(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            ScimError::invalid_value("\"failOnErrors\" must be a whole number above 0.")
        })?),
    };
    let mut bulk_ids: HashMap<String, i64> = HashMap::new();
    let mut results = Vec::with_capacity(operations.len());
    let mut errors = 0u64;
    'batches: for batch in operations.chunks(BULK_BATCH) {
        let now = state.clock.now();
        let mut tx = state.db.begin_write().await?;
        for operation in batch {
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                tx.commit().await?;
                break 'batches;
            }
            // A savepoint by hand: the store's functions take the transaction itself.
            sqlx::query("savepoint scim_bulk_operation")
                .execute(&mut *tx)
                .await?;
            let outcome = bulk_one(&mut tx, now, caller, operation, &bulk_ids, base).await;
            let result = match outcome {
                Ok((result, created)) => {
                    sqlx::query("release savepoint scim_bulk_operation")
                        .execute(&mut *tx)
                        .await?;
                    if let Some((bulk_id, id)) = created {
                        bulk_ids.insert(bulk_id, id);
                    }
                    result
                }
                Err(error) => {
                    sqlx::query("rollback to savepoint scim_bulk_operation")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("release savepoint scim_bulk_operation")
                        .execute(&mut *tx)
                        .await?;
                    errors += 1;
                    let mut result = Map::new();
                    for key in ["method", "bulkId"] {
                        if let Some(value) = operation.get(key) {
                            result.insert(key.into(), value.clone());
                        }
                    }
                    result.insert("status".into(), json!(error.status.to_string()));
                    result.insert("response".into(), error.body());
                    Value::Object(result)
                }
            };
            results.push(result);
        }
        tx.commit().await?;
    }
    state.scheduler_wakeup.notify();
    Ok(json!({ "schemas": [BULK_RESPONSE_SCHEMA], "Operations": results }))
}

type BulkDone = (Value, Option<(String, i64)>);

async fn bulk_one(
    tx: &mut Tx,
    now: Timestamp,
    caller: &Caller,
    operation: &Value,
    bulk_ids: &HashMap<String, i64>,
    base: &str,
) -> Result<BulkDone, ScimError> {
    let object = operation
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("A Bulk operation must be an object."))?;
    let method = get_ignore_case(object, "method")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| ScimError::invalid_syntax("A Bulk operation needs a \"method\"."))?;
    let path = get_ignore_case(object, "path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("A Bulk operation needs a \"path\"."))?;
    let bulk_id = get_ignore_case(object, "bulkId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let version = get_ignore_case(object, "version").and_then(Value::as_str);
    let data = get_ignore_case(object, "data");
    let need_data =
        || data.ok_or_else(|| ScimError::invalid_syntax(format!("{method} needs \"data\".")));
    let user_path = path.strip_prefix("/Users/");
    // `user`: the id and version of the User the operation left.
    let done = |status: &str, user: Option<(i64, i64)>| {
        let mut result = Map::new();
        result.insert("method".into(), json!(method));
        if let Some(bulk_id) = &bulk_id {
            result.insert("bulkId".into(), json!(bulk_id));
        }
        if let Some((id, version)) = user {
            result.insert("location".into(), json!(format!("{base}/Users/{id}")));
            result.insert("version".into(), json!(etag(version)));
        }
        result.insert("status".into(), json!(status));
        Value::Object(result)
    };
    match (method.as_str(), path, user_path) {
        ("POST", "/Users", _) => {
            let bulk_id = bulk_id
                .clone()
                .ok_or_else(|| ScimError::invalid_syntax("A POST in a Bulk request needs a \"bulkId\"."))?;
            let id = create_in(tx, now, caller, need_data()?, bulk_ids).await?;
            Ok((done("201", Some((id, 1))), Some((bulk_id, id))))
        }
        (method @ ("PUT" | "PATCH"), _, Some(id)) => {
            let write = if method == "PUT" { Write::Replace } else { Write::Patch };
            let user = change_in(tx, now, caller, write, id, need_data()?, version, bulk_ids).await?;
            Ok((done("200", Some((user.id, user.version))), None))
        }
        ("DELETE", _, Some(id)) => {
            delete_in(tx, now, caller, id, version).await?;
            Ok((done("204", None), None))
        }
        _ => Err(ScimError::invalid_syntax(format!(
            "{method} {path} is not a Bulk operation Gatehouse takes (POST /Users, PUT, PATCH or DELETE /Users/{{id}})."
        ))),
    }
}

/// `/ServiceProviderConfig` (RFC 7643 section 5).
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/gatehouse/gatehouse#hr-inbound-scim",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": BULK_MAX_OPERATIONS, "maxPayloadSize": BULK_MAX_BYTES},
        "filter": {"supported": true, "maxResults": MAX_PAGE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "A token an administrator makes on the SCIM tokens page, sent as Authorization: Bearer <token>.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

fn attribute_schema(attribute: &crate::domain::scim::Attribute) -> Value {
    let kind = match attribute.name {
        "active" => "boolean",
        "hireDate" | "leaveDate" => "dateTime",
        "emails" | "name" | "manager" | "meta" => "complex",
        _ => "string",
    };
    let sub_attributes: Vec<Value> = attribute
        .sub_attributes
        .iter()
        .map(|sub| {
            json!({"name": sub, "type": if *sub == "primary" { "boolean" } else if *sub == "$ref" { "reference" } else { "string" },
                   "multiValued": false, "required": false, "caseExact": false,
                   "mutability": if attribute.read_only { "readOnly" } else { "readWrite" },
                   "returned": "default", "uniqueness": "none"})
        })
        .collect();
    let mut schema = json!({
        "name": attribute.name, "type": kind, "multiValued": attribute.multi_valued,
        "required": attribute.name == "userName", "caseExact": attribute.name == "externalId" || attribute.name == "id",
        "mutability": if attribute.read_only { "readOnly" } else { "readWrite" },
        "returned": if attribute.name == "id" { "always" } else { "default" },
        "uniqueness": if attribute.name == "userName" { "server" } else { "none" },
    });
    if let (false, Some(object)) = (sub_attributes.is_empty(), schema.as_object_mut()) {
        object.insert("subAttributes".into(), Value::Array(sub_attributes));
    }
    schema
}

fn schema_document(id: &str, name: &str, base: &str) -> Value {
    let attributes: Vec<Value> = USER_ATTRIBUTES
        .iter()
        .filter(|a| a.schema == id && !["schemas", "id", "meta"].contains(&a.name))
        .map(attribute_schema)
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id, "name": name, "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}
    })
}

/// `/Schemas`: the User schema and its two extensions.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema_document(USER_SCHEMA, "User", base),
        schema_document(ENTERPRISE_SCHEMA, "EnterpriseUser", base),
        schema_document(GATEHOUSE_SCHEMA, "GatehouseUser", base),
    ]
}

/// `/ResourceTypes`: Users only (groups come from Gatehouse itself).
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User", "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
        "schemaExtensions": [
            {"schema": ENTERPRISE_SCHEMA, "required": false},
            {"schema": GATEHOUSE_SCHEMA, "required": false}
        ],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
    })]
}

/// A ListResponse of fixed documents (the discovery endpoints).
pub fn list_of(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA], "totalResults": resources.len(), "startIndex": 1,
        "itemsPerPage": resources.len(), "Resources": resources,
    })
}

/// Makes a token for an HR system and returns it: the only time it is seen, as only its
/// hash is kept. Administrators only.
pub async fn create_token(
    state: &AppState,
    person: &crate::backend::store::person::PersonRow,
    name: &str,
) -> Result<(i64, String), AppError> {
    permissions::require_administrator(person)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid_field(
            "name",
            "Name the token after the system that will use it (at most 100 characters).",
        ));
    }
    let now = state.clock.now();
    let token = stores::action_token::generate();
    let mut tx = state.db.begin_write().await?;
    let id = store::insert_token(
        &mut tx,
        now,
        name,
        &stores::action_token::hash(&token),
        person.id,
    )
    .await?;
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(person.id, &person.display_name),
        audit::Change::new("scim_token.created", "scim_token", id).after(json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    Ok((id, token))
}

/// Revokes a token at once: the next request with it is refused. Administrators only.
pub async fn revoke_token(
    state: &AppState,
    person: &crate::backend::store::person::PersonRow,
    token_id: i64,
) -> Result<(), AppError> {
    permissions::require_administrator(person)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(name) = store::revoke_token(&mut tx, now, token_id).await? else {
        return Err(AppError::new(
            ErrorCode::NotFound,
            "No live token has this id.",
        ));
    };
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(person.id, &person.display_name),
        audit::Change::new("scim_token.revoked", "scim_token", token_id)
            .after(json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The tokens, for administrators and auditors.
pub async fn tokens(
    state: &AppState,
    person: &crate::backend::store::person::PersonRow,
) -> Result<Vec<store::TokenRow>, AppError> {
    if !permissions::reads_everything(person) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "Only administrators and auditors can see this.",
        ));
    }
    Ok(store::tokens(state.db.reader()).await?)
}

/// Keeps `attributes` / `excludedAttributes` of a request on one User's JSON.
pub fn project(
    resource: &mut Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<(), ScimError> {
    crate::domain::scim::project(resource, attributes, excluded)
}

/// The same on every User of a ListResponse.
pub fn project_list(
    list: &mut Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<(), ScimError> {
    if let Some(resources) = list.get_mut("Resources").and_then(Value::as_array_mut) {
        for resource in resources {
            project(resource, attributes, excluded)?;
        }
    }
    Ok(())
}
