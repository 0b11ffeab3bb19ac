//! What the Manage pages read and write: catalogs with their owners and resources,
//! packages with owners, resources and incompatibilities, and assignment policies with
//! their stages, in the shape the forms take.

use super::{get_bool, Tx};
use crate::domain::drafts::{Question, StageForm};
use crate::domain::Timestamp;
use sqlx::Row;

// --- Who manages what -----------------------------------------------------------------------

pub async fn owns_catalog(
    tx: &mut Tx,
    person_id: i64,
    catalog_id: i64,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from catalog_owner where catalog_id = $1 and person_id = $2",
    )
    .bind(catalog_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

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

async fn emails_of(tx: &mut Tx, ids: &[i64]) -> Result<Vec<String>, sqlx::Error> {
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

async fn group_names_of(tx: &mut Tx, ids: &[i64]) -> Result<Vec<String>, sqlx::Error> {
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

// --- Catalogs --------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct CatalogRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub package_count: i64,
    pub resource_count: i64,
}

fn catalog_row(row: &sqlx::any::AnyRow) -> Result<CatalogRow, sqlx::Error> {
    Ok(CatalogRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        enabled: get_bool(row, "is_enabled")?,
        package_count: row.try_get("package_count")?,
        resource_count: row.try_get("resource_count")?,
    })
}

const CATALOG_COLUMNS: &str = "c.id, c.name, c.description, c.is_enabled, \
    (select count(*) from access_package p where p.catalog_id = c.id) as package_count, \
    (select count(*) from resource r where r.catalog_id = c.id) as resource_count";

/// Catalogs the person owns; every catalog for administrators.
pub async fn catalogs_for(
    tx: &mut Tx,
    person_id: i64,
    is_admin: bool,
) -> Result<Vec<CatalogRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {CATALOG_COLUMNS} from catalog c where $1 or exists \
         (select 1 from catalog_owner o where o.catalog_id = c.id and o.person_id = $2) order by c.name"
    ))
    .bind(is_admin)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(catalog_row).collect()
}

pub async fn find_catalog(tx: &mut Tx, catalog_id: i64) -> Result<Option<CatalogRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {CATALOG_COLUMNS} from catalog c where c.id = $1"
    ))
    .bind(catalog_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(catalog_row).transpose()
}

pub async fn catalog_owner_emails(
    tx: &mut Tx,
    catalog_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select p.email from catalog_owner o join person p on p.id = o.person_id \
         where o.catalog_id = $1 order by p.email",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn update_catalog(
    tx: &mut Tx,
    now: Timestamp,
    catalog_id: i64,
    name: &str,
    description: &str,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update catalog set name = $1, description = $2, is_enabled = $3, updated_at = $4 where id = $5")
        .bind(name)
        .bind(description)
        .bind(enabled)
        .bind(now.millis())
        .bind(catalog_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Replaces the owners in an owner table (`catalog_owner` keyed by `catalog_id`,
/// `access_package_owner` keyed by `access_package_id`).
async fn replace_owners(
    tx: &mut Tx,
    now: Timestamp,
    (table, key): (&'static str, &'static str),
    id: i64,
    owner_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("delete from {table} where {key} = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for owner in owner_ids {
        sqlx::query(&format!(
            "insert into {table} ({key}, person_id, created_at) values ($1, $2, $3)"
        ))
        .bind(id)
        .bind(owner)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn set_catalog_owners(
    tx: &mut Tx,
    now: Timestamp,
    catalog_id: i64,
    owner_ids: &[i64],
) -> Result<(), sqlx::Error> {
    replace_owners(
        tx,
        now,
        ("catalog_owner", "catalog_id"),
        catalog_id,
        owner_ids,
    )
    .await
}

// --- Connectors and resources ------------------------------------------------------------------

/// Every connector: (id, name, kind).
pub async fn connectors(tx: &mut Tx) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as("select id, name, kind from connector order by kind = 'builtin' desc, name")
        .fetch_all(&mut **tx)
        .await
}

pub async fn connector_kind(tx: &mut Tx, connector_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select kind from connector where id = $1")
        .bind(connector_id)
        .fetch_optional(&mut **tx)
        .await
}

#[derive(Clone, Debug)]
pub struct ResourceRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub connector_name: String,
    pub external_id: Option<String>,
}

pub async fn resources_of_catalog(
    tx: &mut Tx,
    catalog_id: i64,
) -> Result<Vec<ResourceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select r.id, r.name, r.kind, c.name as connector_name, r.external_id from resource r \
         join connector c on c.id = r.connector_id where r.catalog_id = $1 order by r.name",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ResourceRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                connector_name: row.try_get("connector_name")?,
                external_id: row.try_get("external_id")?,
            })
        })
        .collect()
}

pub async fn resource_external_id_taken(
    tx: &mut Tx,
    connector_id: i64,
    external_id: &str,
) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "select count(*) from resource where connector_id = $1 and external_id = $2",
    )
    .bind(connector_id)
    .bind(external_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

// --- Packages ----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct PackageSettings {
    pub id: i64,
    pub catalog_id: i64,
    pub catalog_name: String,
    pub name: String,
    pub description: String,
    pub hidden: bool,
    pub owner_emails: Vec<String>,
    /// (resource id, role granted)
    pub resources: Vec<(i64, String)>,
}

pub async fn package_settings(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Option<PackageSettings>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "select p.id, p.catalog_id, c.name as catalog_name, p.name, p.description, p.is_hidden \
         from access_package p join catalog c on c.id = p.catalog_id where p.id = $1",
    )
    .bind(package_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let owner_emails = sqlx::query_scalar(
        "select p.email from access_package_owner o join person p on p.id = o.person_id \
         where o.access_package_id = $1 order by p.email",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    let resources = sqlx::query_as(
        "select resource_id, role from access_package_resource where access_package_id = $1 order by resource_id",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(PackageSettings {
        id: row.try_get("id")?,
        catalog_id: row.try_get("catalog_id")?,
        catalog_name: row.try_get("catalog_name")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        hidden: get_bool(&row, "is_hidden")?,
        owner_emails,
        resources,
    }))
}

/// Packages of a catalog: (id, name, hidden).
pub async fn packages_of_catalog(
    tx: &mut Tx,
    catalog_id: i64,
) -> Result<Vec<(i64, String, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, name, is_hidden from access_package where catalog_id = $1 order by name",
    )
    .bind(catalog_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                row.try_get("name")?,
                get_bool(row, "is_hidden")?,
            ))
        })
        .collect()
}

pub async fn update_package(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    name: &str,
    description: &str,
    hidden: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("update access_package set name = $1, description = $2, is_hidden = $3, updated_at = $4 where id = $5")
        .bind(name)
        .bind(description)
        .bind(hidden)
        .bind(now.millis())
        .bind(package_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn set_package_owners(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    owner_ids: &[i64],
) -> Result<(), sqlx::Error> {
    replace_owners(
        tx,
        now,
        ("access_package_owner", "access_package_id"),
        package_id,
        owner_ids,
    )
    .await
}

/// Replaces the resources a package grants, each with its role. Assignments already
/// granted keep what they were provisioned with; the provisioning issue reconciles the
/// difference.
pub async fn set_package_resources(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    resources: &[(i64, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from access_package_resource where access_package_id = $1")
        .bind(package_id)
        .execute(&mut **tx)
        .await?;
    for (resource, role) in resources {
        sqlx::query(
            "insert into access_package_resource (access_package_id, resource_id, role, created_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(package_id)
        .bind(resource)
        .bind(role)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// How many of these resources belong to the catalog.
pub async fn count_catalog_resources(
    tx: &mut Tx,
    catalog_id: i64,
    resource_ids: &[i64],
) -> Result<usize, sqlx::Error> {
    let mut found = 0;
    for id in resource_ids {
        let count: i64 =
            sqlx::query_scalar("select count(*) from resource where id = $1 and catalog_id = $2")
                .bind(id)
                .bind(catalog_id)
                .fetch_one(&mut **tx)
                .await?;
        found += usize::from(count > 0);
    }
    Ok(found)
}

// --- Separation of duties ------------------------------------------------------------------------

/// Packages incompatible with this one: (id, name, catalog name).
pub async fn incompatible_with(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select p.id, p.name, c.name from incompatibility i join access_package p on p.id = i.incompatible_package_id \
         join catalog c on c.id = p.catalog_id where i.access_package_id = $1 order by p.name",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await
}

/// Every package: (id, name, catalog name), for choosing an incompatible one.
pub async fn all_packages(tx: &mut Tx) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select p.id, p.name, c.name from access_package p join catalog c on c.id = p.catalog_id order by c.name, p.name",
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn remove_incompatibility(
    tx: &mut Tx,
    package_id: i64,
    other_package_id: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "delete from incompatibility where (access_package_id = $1 and incompatible_package_id = $2) \
         or (access_package_id = $2 and incompatible_package_id = $1)",
    )
    .bind(package_id)
    .bind(other_package_id)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// A person holding two packages that may not be held together.
#[derive(Clone, Debug)]
pub struct ConflictRow {
    pub person_id: i64,
    pub person_name: String,
    pub first_package_id: i64,
    pub first_package: String,
    pub second_package_id: i64,
    pub second_package: String,
    pub since: i64,
}

/// Current (scheduled or active) conflicting pairs, each pair once.
pub async fn conflicts(tx: &mut Tx) -> Result<Vec<ConflictRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select distinct per.id as person_id, per.display_name, p1.id as first_id, p1.name as first_name, \
         p2.id as second_id, p2.name as second_name, \
         case when a1.start_at > a2.start_at then a1.start_at else a2.start_at end as since \
         from incompatibility i \
         join assignment a1 on a1.access_package_id = i.access_package_id and a1.status in ('scheduled', 'active') \
         join assignment a2 on a2.access_package_id = i.incompatible_package_id and a2.person_id = a1.person_id \
              and a2.status in ('scheduled', 'active') \
         join person per on per.id = a1.person_id \
         join access_package p1 on p1.id = i.access_package_id \
         join access_package p2 on p2.id = i.incompatible_package_id \
         where i.access_package_id < i.incompatible_package_id \
         order by per.display_name, p1.name, p2.name",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ConflictRow {
                person_id: row.try_get("person_id")?,
                person_name: row.try_get("display_name")?,
                first_package_id: row.try_get("first_id")?,
                first_package: row.try_get("first_name")?,
                second_package_id: row.try_get("second_id")?,
                second_package: row.try_get("second_name")?,
                since: row.try_get("since")?,
            })
        })
        .collect()
}

// --- Assignment policies --------------------------------------------------------------------------

/// A policy as listed on its package's page.
#[derive(Clone, Debug)]
pub struct PolicySummary {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub requestor_scope: String,
    pub duration_kind: String,
    pub duration_value: Option<i64>,
    pub stage_count: i64,
}

pub async fn policy_summaries(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Vec<PolicySummary>, sqlx::Error> {
    let rows = sqlx::query(
        "select a.id, a.name, a.is_enabled, a.requestor_scope, a.duration_kind, a.duration_value, \
         (select count(*) from approval_stage s where s.assignment_policy_id = a.id) as stage_count \
         from assignment_policy a where a.access_package_id = $1 order by a.position, a.id",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PolicySummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                enabled: get_bool(row, "is_enabled")?,
                requestor_scope: row.try_get("requestor_scope")?,
                duration_kind: row.try_get("duration_kind")?,
                duration_value: row.try_get("duration_value")?,
                stage_count: row.try_get("stage_count")?,
            })
        })
        .collect()
}

/// The package a policy belongs to.
pub async fn package_of_policy(tx: &mut Tx, policy_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select access_package_id from assignment_policy where id = $1")
        .bind(policy_id)
        .fetch_optional(&mut **tx)
        .await
}

/// A stage with every reference resolved to ids, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStage {
    pub approver_kind: &'static str,
    pub approver_ids: Vec<i64>,
    pub required_approvals: i64,
    pub decision_timeout_days: i64,
    pub escalation_after_days: Option<i64>,
    pub escalation_ids: Vec<i64>,
    pub fallback_ids: Vec<i64>,
    pub justification_required: bool,
}

/// A policy with every reference resolved to ids, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPolicy {
    pub name: String,
    pub description: String,
    pub requestor_scope: &'static str,
    pub requestor_rule: serde_json::Value,
    pub justification_required: bool,
    pub questions: Vec<Question>,
    pub duration_kind: &'static str,
    pub duration_value: Option<i64>,
    pub fixed_end_at: Option<i64>,
    pub extension_allowed: bool,
    pub extension_needs_approval: bool,
    pub enabled: bool,
    pub stages: Vec<StoredStage>,
}

fn json_ids(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// Inserts a policy (`policy_id` none) or replaces one's settings and stages; returns its id.
pub async fn write_policy(
    tx: &mut Tx,
    now: Timestamp,
    package_id: i64,
    policy_id: Option<i64>,
    policy: &StoredPolicy,
) -> Result<i64, sqlx::Error> {
    let questions_json =
        serde_json::to_string(&policy.questions).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let id = match policy_id {
        None => {
            sqlx::query_scalar(
                "insert into assignment_policy (access_package_id, name, description, position, requestor_scope, \
                 requestor_rule_json, justification_required, questions_json, duration_kind, duration_value, \
                 fixed_end_at, extension_allowed, extension_needs_approval, is_enabled, created_at, updated_at) \
                 values ($1, $2, $3, (select coalesce(max(position), 0) + 1 from assignment_policy where access_package_id = $1), \
                 $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) returning id",
            )
            .bind(package_id)
            .bind(&policy.name)
            .bind(&policy.description)
            .bind(policy.requestor_scope)
            .bind(policy.requestor_rule.to_string())
            .bind(policy.justification_required)
            .bind(&questions_json)
            .bind(policy.duration_kind)
            .bind(policy.duration_value)
            .bind(policy.fixed_end_at)
            .bind(policy.extension_allowed)
            .bind(policy.extension_needs_approval)
            .bind(policy.enabled)
            .bind(now.millis())
            .fetch_one(&mut **tx)
            .await?
        }
        Some(id) => {
            sqlx::query(
                "update assignment_policy set name = $1, description = $2, requestor_scope = $3, requestor_rule_json = $4, \
                 justification_required = $5, questions_json = $6, duration_kind = $7, duration_value = $8, \
                 fixed_end_at = $9, extension_allowed = $10, extension_needs_approval = $11, is_enabled = $12, \
                 updated_at = $13 where id = $14",
            )
            .bind(&policy.name)
            .bind(&policy.description)
            .bind(policy.requestor_scope)
            .bind(policy.requestor_rule.to_string())
            .bind(policy.justification_required)
            .bind(&questions_json)
            .bind(policy.duration_kind)
            .bind(policy.duration_value)
            .bind(policy.fixed_end_at)
            .bind(policy.extension_allowed)
            .bind(policy.extension_needs_approval)
            .bind(policy.enabled)
            .bind(now.millis())
            .bind(id)
            .execute(&mut **tx)
            .await?;
            sqlx::query("delete from approval_stage where assignment_policy_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            id
        }
    };
    for (index, stage) in policy.stages.iter().enumerate() {
        sqlx::query(
            "insert into approval_stage (assignment_policy_id, position, approver_kind, approver_ref_json, \
             required_approvals, decision_timeout_days, escalation_after_days, escalation_approvers_json, \
             fallback_approvers_json, justification_required, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id)
        .bind(i64::try_from(index).unwrap_or(0) + 1)
        .bind(stage.approver_kind)
        .bind(json_ids(&stage.approver_ids))
        .bind(stage.required_approvals)
        .bind(stage.decision_timeout_days)
        .bind(stage.escalation_after_days)
        .bind(json_ids(&stage.escalation_ids))
        .bind(json_ids(&stage.fallback_ids))
        .bind(stage.justification_required)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

fn ids_in(json: &str) -> Vec<i64> {
    serde_json::from_str(json).unwrap_or_default()
}

fn flag(on: bool) -> Option<String> {
    on.then(|| "on".to_string())
}

/// The stored policy in the shape of the policy form (people as emails, groups by name),
/// with its package id.
pub async fn policy_form(
    tx: &mut Tx,
    policy_id: i64,
) -> Result<Option<(i64, crate::domain::drafts::PolicyForm)>, sqlx::Error> {
    use crate::domain::drafts::{PolicyForm, QuestionForm, MAX_QUESTIONS, MAX_STAGES};
    let Some(row) = sqlx::query(
        "select access_package_id, name, description, requestor_scope, requestor_rule_json, justification_required, \
         questions_json, duration_kind, duration_value, fixed_end_at, extension_allowed, extension_needs_approval, \
         is_enabled from assignment_policy where id = $1",
    )
    .bind(policy_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let rule: serde_json::Value =
        serde_json::from_str(&row.try_get::<String, _>("requestor_rule_json")?).unwrap_or_default();
    let strings = |key: &str| -> Vec<String> {
        rule[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let group_ids: Vec<i64> = rule["group_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default();
    let requestor_rule = rule["equals"]
        .as_object()
        .map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let questions: Vec<Question> =
        serde_json::from_str(&row.try_get::<String, _>("questions_json")?).unwrap_or_default();
    let mut question_forms: Vec<QuestionForm> = questions
        .into_iter()
        .map(|q| QuestionForm {
            text: q.text,
            choices: q.choices.join("\n"),
            required: flag(q.required),
        })
        .collect();
    question_forms.resize(
        MAX_QUESTIONS.max(question_forms.len()),
        QuestionForm::default(),
    );
    let stage_rows = sqlx::query(
        "select approver_kind, approver_ref_json, required_approvals, decision_timeout_days, escalation_after_days, \
         escalation_approvers_json, fallback_approvers_json, justification_required from approval_stage \
         where assignment_policy_id = $1 order by position",
    )
    .bind(policy_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut stages = Vec::new();
    for stage in &stage_rows {
        let kind: String = stage.try_get("approver_kind")?;
        let refs = ids_in(&stage.try_get::<String, _>("approver_ref_json")?);
        let escalation_after: Option<i64> = stage.try_get("escalation_after_days")?;
        stages.push(StageForm {
            approvers: if kind == "named_people" {
                emails_of(tx, &refs).await?.join(", ")
            } else {
                String::new()
            },
            groups: if kind == "group_members" {
                group_names_of(tx, &refs).await?.join(", ")
            } else {
                String::new()
            },
            approver_kind: kind,
            required_approvals: stage.try_get::<i64, _>("required_approvals")?.to_string(),
            decision_timeout_days: stage
                .try_get::<i64, _>("decision_timeout_days")?
                .to_string(),
            escalation_after_days: escalation_after.map(|d| d.to_string()).unwrap_or_default(),
            escalation_approvers: emails_of(
                tx,
                &ids_in(&stage.try_get::<String, _>("escalation_approvers_json")?),
            )
            .await?
            .join(", "),
            fallback_approvers: emails_of(
                tx,
                &ids_in(&stage.try_get::<String, _>("fallback_approvers_json")?),
            )
            .await?
            .join(", "),
            justification_required: flag(get_bool(stage, "justification_required")?),
        });
    }
    stages.resize(MAX_STAGES.max(stages.len()), StageForm::default());
    let duration_value: Option<i64> = row.try_get("duration_value")?;
    let fixed_end_at: Option<i64> = row.try_get("fixed_end_at")?;
    let form = PolicyForm {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        requestor_scope: row.try_get("requestor_scope")?,
        requestor_groups: group_names_of(tx, &group_ids).await?.join(", "),
        requestor_departments: strings("departments").join(", "),
        requestor_rule,
        justification_required: flag(get_bool(&row, "justification_required")?),
        questions: question_forms,
        duration_kind: row.try_get("duration_kind")?,
        duration_value: duration_value.map(|v| v.to_string()).unwrap_or_default(),
        fixed_end_date: fixed_end_at
            .map(|at| Timestamp(at).date_utc())
            .unwrap_or_default(),
        extension_allowed: flag(get_bool(&row, "extension_allowed")?),
        extension_needs_approval: flag(get_bool(&row, "extension_needs_approval")?),
        stages,
        enabled: flag(get_bool(&row, "is_enabled")?),
    };
    Ok(Some((row.try_get("access_package_id")?, form)))
}
