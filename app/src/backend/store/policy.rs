//! Assignment policies and their approval stages: written as the policy form resolves
//! them, and read in the shape the domain rules take, with the packages and the people a
//! request concerns.

use super::{get_bool, Tx};
use crate::domain::approvers::ApproverRule;
use crate::domain::policy::{DurationRule, Requestor, RequestorScope};
use crate::domain::questions::Question;
use crate::domain::Timestamp;
use sqlx::Row;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct PackageRow {
    pub id: i64,
    pub catalog_id: i64,
    pub name: String,
    pub is_hidden: bool,
    /// Whether the package's catalog is enabled: a disabled catalog's packages cannot be
    /// requested or extended.
    pub catalog_enabled: bool,
}

pub async fn find_package(tx: &mut Tx, package_id: i64) -> Result<Option<PackageRow>, sqlx::Error> {
    let row = sqlx::query(
        "select p.id, p.catalog_id, p.name, p.is_hidden, c.is_enabled as catalog_enabled \
             from access_package p join catalog c on c.id = p.catalog_id where p.id = $1",
    )
    .bind(package_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        Ok(PackageRow {
            id: row.try_get("id")?,
            catalog_id: row.try_get("catalog_id")?,
            name: row.try_get("name")?,
            is_hidden: get_bool(&row, "is_hidden")?,
            catalog_enabled: get_bool(&row, "catalog_enabled")?,
        })
    })
    .transpose()
}

/// The package's name, for messages.
pub async fn package_name(tx: &mut Tx, package_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select name from access_package where id = $1")
        .bind(package_id)
        .fetch_one(&mut **tx)
        .await
}

#[derive(Clone, Debug)]
pub struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub scope: RequestorScope,
    pub justification_required: bool,
    pub duration: DurationRule,
    pub extension_allowed: bool,
    pub extension_needs_approval: bool,
    /// Custom questions the requester answers (at most five).
    pub questions: Vec<Question>,
    pub stages: Vec<StageRow>,
}

#[derive(Clone, Debug)]
pub struct StageRow {
    pub position: u8,
    pub rule: ApproverRule,
    pub required_approvals: u8,
    pub decision_timeout_days: i64,
    pub fallback_ids: Vec<i64>,
    pub justification_required: bool,
    /// Days after the stage opens when the alternates below are asked too.
    pub escalation_after_days: Option<i64>,
    pub escalation_ids: Vec<i64>,
}

fn decode(message: String) -> sqlx::Error {
    sqlx::Error::Decode(message.into())
}

fn parse_scope(kind: &str, rule_json: &str) -> Result<RequestorScope, sqlx::Error> {
    let rule: serde_json::Value =
        serde_json::from_str(rule_json).map_err(|e| decode(e.to_string()))?;
    let strings = |key: &str| -> Vec<String> {
        rule.get(key)
            .unwrap_or(&serde_json::Value::Null)
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match kind {
        "everyone" => RequestorScope::Everyone,
        "none" => RequestorScope::Nobody,
        "groups" => RequestorScope::Groups {
            group_ids: rule
                .get("group_ids")
                .unwrap_or(&serde_json::Value::Null)
                .as_array()
                .map(|ids| ids.iter().filter_map(serde_json::Value::as_i64).collect())
                .unwrap_or_default(),
            departments: strings("departments"),
        },
        "attribute_rule" => RequestorScope::AttributeRule {
            equals: rule
                .get("equals")
                .unwrap_or(&serde_json::Value::Null)
                .as_object()
                .map(|pairs| {
                    pairs
                        .iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
        },
        other => return Err(decode(format!("unknown requestor scope {other:?}"))),
    })
}

fn parse_duration(
    kind: &str,
    value: Option<i64>,
    fixed_end_at: Option<i64>,
) -> Result<DurationRule, sqlx::Error> {
    match (kind, value, fixed_end_at) {
        ("no_end", _, _) => Ok(DurationRule::NoEnd),
        ("max_days", Some(days), _) => Ok(DurationRule::MaxDays(days)),
        ("max_hours", Some(hours), _) => Ok(DurationRule::MaxHours(hours)),
        ("fixed_end", _, Some(end)) => Ok(DurationRule::FixedEnd(Timestamp(end))),
        (other, _, _) => Err(decode(format!("incomplete duration rule {other:?}"))),
    }
}

fn id_list(json: &str) -> Result<Vec<i64>, sqlx::Error> {
    serde_json::from_str::<Vec<i64>>(json).map_err(|e| decode(e.to_string()))
}

fn parse_rule(kind: &str, reference_json: &str) -> Result<ApproverRule, sqlx::Error> {
    Ok(match kind {
        "manager" => ApproverRule::Manager,
        "second_level_manager" => ApproverRule::SecondLevelManager,
        "package_owners" => ApproverRule::PackageOwners,
        "named_people" => ApproverRule::NamedPeople {
            person_ids: id_list(reference_json)?,
        },
        "group_members" => ApproverRule::GroupMembers {
            group_ids: id_list(reference_json)?,
        },
        other => return Err(decode(format!("unknown approver kind {other:?}"))),
    })
}

/// The enabled policies of a package in their order, each with its stages.
pub async fn policies_of(tx: &mut Tx, package_id: i64) -> Result<Vec<PolicyRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, name, requestor_scope, requestor_rule_json, justification_required, duration_kind, \
         duration_value, fixed_end_at, extension_allowed, extension_needs_approval, is_enabled, \
         questions_json from assignment_policy where access_package_id = $1 order by position, id",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut policies = Vec::new();
    for row in rows {
        if !get_bool(&row, "is_enabled")? {
            continue;
        }
        let scope_kind: String = row.try_get("requestor_scope")?;
        let rule_json: String = row.try_get("requestor_rule_json")?;
        let duration_kind: String = row.try_get("duration_kind")?;
        let id: i64 = row.try_get("id")?;
        let questions_json: String = row.try_get("questions_json")?;
        policies.push(PolicyRow {
            id,
            name: row.try_get("name")?,
            scope: parse_scope(&scope_kind, &rule_json)?,
            justification_required: get_bool(&row, "justification_required")?,
            duration: parse_duration(
                &duration_kind,
                row.try_get("duration_value")?,
                row.try_get("fixed_end_at")?,
            )?,
            extension_allowed: get_bool(&row, "extension_allowed")?,
            extension_needs_approval: get_bool(&row, "extension_needs_approval")?,
            questions: serde_json::from_str(&questions_json).map_err(|e| decode(e.to_string()))?,
            stages: Vec::new(),
        });
    }
    for policy in &mut policies {
        policy.stages = stages_of(tx, policy.id).await?;
    }
    Ok(policies)
}

pub async fn stages_of(tx: &mut Tx, policy_id: i64) -> Result<Vec<StageRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select position, approver_kind, approver_ref_json, required_approvals, decision_timeout_days, \
         fallback_approvers_json, justification_required, escalation_after_days, escalation_approvers_json \
         from approval_stage \
         where assignment_policy_id = $1 order by position",
    )
    .bind(policy_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("approver_kind")?;
            let reference: String = row.try_get("approver_ref_json")?;
            let fallback: String = row.try_get("fallback_approvers_json")?;
            let escalation: String = row.try_get("escalation_approvers_json")?;
            let position: i64 = row.try_get("position")?;
            let required: i64 = row.try_get("required_approvals")?;
            Ok(StageRow {
                position: u8::try_from(position).map_err(|e| decode(e.to_string()))?,
                rule: parse_rule(&kind, &reference)?,
                required_approvals: u8::try_from(required.clamp(1, 255)).unwrap_or(1),
                decision_timeout_days: row.try_get("decision_timeout_days")?,
                fallback_ids: id_list(&fallback)?,
                justification_required: get_bool(row, "justification_required")?,
                escalation_after_days: row.try_get("escalation_after_days")?,
                escalation_ids: id_list(&escalation)?,
            })
        })
        .collect()
}

/// What eligibility needs to know about a person.
pub async fn requestor(tx: &mut Tx, person_id: i64) -> Result<Requestor, sqlx::Error> {
    let row =
        sqlx::query("select department, job_title, attributes_json from person where id = $1")
            .bind(person_id)
            .fetch_one(&mut **tx)
            .await?;
    let attributes_json: String = row.try_get("attributes_json")?;
    // Unreadable attributes are an error: read as none, they would decide eligibility.
    let attributes: BTreeMap<String, String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&attributes_json)
            .map_err(|e| decode(format!("person {person_id} attributes_json: {e}")))?
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect();
    let group_ids =
        sqlx::query_scalar("select person_group_id from person_group_member where person_id = $1")
            .bind(person_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(Requestor {
        department: row.try_get("department")?,
        job_title: row.try_get("job_title")?,
        group_ids,
        attributes,
    })
}

pub async fn manager_of(tx: &mut Tx, person_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select manager_id from person where id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

pub async fn package_owner_ids(tx: &mut Tx, package_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select o.person_id from access_package_owner o join person p on p.id = o.person_id \
         where o.access_package_id = $1 and p.status = 'active' order by o.person_id",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn active_members_of(tx: &mut Tx, group_ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    let mut members = Vec::new();
    for group_id in group_ids {
        let ids: Vec<i64> = sqlx::query_scalar(
            "select m.person_id from person_group_member m join person p on p.id = m.person_id \
             where m.person_group_id = $1 and p.status = 'active' order by m.person_id",
        )
        .bind(group_id)
        .fetch_all(&mut **tx)
        .await?;
        members.extend(
            ids.into_iter()
                .filter(|id| !members.contains(id))
                .collect::<Vec<_>>(),
        );
    }
    Ok(members)
}

pub async fn administrator_ids(tx: &mut Tx) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from person where is_admin = $1 and status = 'active' order by id",
    )
    .bind(true)
    .fetch_all(&mut **tx)
    .await
}

/// The name of a package the person holds (or will hold) that may not be held together
/// with `package_id`, if any.
pub async fn conflicting_package_held(
    tx: &mut Tx,
    person_id: i64,
    package_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select p.name from incompatibility i \
         join assignment a on a.access_package_id = i.incompatible_package_id \
         join access_package p on p.id = a.access_package_id \
         where i.access_package_id = $1 and a.person_id = $2 and a.status in ('scheduled', 'active') \
         order by p.name limit 1",
    )
    .bind(package_id)
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Resources a package grants that live in a downstream (non built-in) connector.
pub async fn downstream_resources(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select r.id, r.connector_id from access_package_resource pr \
         join resource r on r.id = pr.resource_id join connector c on c.id = r.connector_id \
         where pr.access_package_id = $1 and c.kind <> 'builtin' order by r.id",
    )
    .bind(package_id)
    .fetch_all(&mut **tx)
    .await
}

/// A package as listed in the request catalog.
#[derive(Clone, Debug)]
pub struct ListedPackage {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub catalog_name: String,
}

/// Visible packages of enabled catalogs whose name or description contains `search`
/// (case-insensitive), in catalog and name order.
pub async fn listed_packages(tx: &mut Tx, search: &str) -> Result<Vec<ListedPackage>, sqlx::Error> {
    let pattern = format!(
        "%{}%",
        // Wildcards typed by the person are taken literally by dropping them.
        search.trim().to_lowercase().replace(['\\', '%', '_'], "")
    );
    let rows = sqlx::query(
        "select p.id, p.name, p.description, c.name as catalog_name from access_package p \
         join catalog c on c.id = p.catalog_id \
         where p.is_hidden = $1 and c.is_enabled = $2 \
         and (lower(p.name) like $3 or lower(p.description) like $3) \
         order by c.name, p.name",
    )
    .bind(false)
    .bind(true)
    .bind(pattern)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ListedPackage {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                catalog_name: row.try_get("catalog_name")?,
            })
        })
        .collect()
}

/// The package with its catalog's name, hidden or not (a hidden package is reachable by
/// its direct link).
pub async fn package_details(
    tx: &mut Tx,
    package_id: i64,
) -> Result<Option<ListedPackage>, sqlx::Error> {
    let row = sqlx::query(
        "select p.id, p.name, p.description, c.name as catalog_name from access_package p \
         join catalog c on c.id = p.catalog_id where p.id = $1 and c.is_enabled = $2",
    )
    .bind(package_id)
    .bind(true)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        Ok(ListedPackage {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            catalog_name: row.try_get("catalog_name")?,
        })
    })
    .transpose()
}

/// Active direct reports of a manager, for requesting on their behalf.
pub async fn direct_reports(
    tx: &mut Tx,
    manager_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "select id, display_name from person where manager_id = $1 and status = 'active' order by display_name",
    )
    .bind(manager_id)
    .fetch_all(&mut **tx)
    .await
}

// --- Writing policies ----------------------------------------------------------------------

pub struct NewPolicy<'a> {
    pub package_id: i64,
    pub name: &'a str,
    pub requestor_scope: &'a str,
    pub requestor_rule_json: String,
    pub justification_required: bool,
    pub duration_kind: &'a str,
    pub duration_value: Option<i64>,
    pub extension_allowed: bool,
    pub questions_json: &'a str,
}

pub async fn insert_policy(
    tx: &mut Tx,
    now: Timestamp,
    policy: &NewPolicy<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into assignment_policy (access_package_id, name, requestor_scope, requestor_rule_json, \
         justification_required, duration_kind, duration_value, extension_allowed, is_enabled, \
         questions_json, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         returning id",
    )
    .bind(policy.package_id)
    .bind(policy.name)
    .bind(policy.requestor_scope)
    .bind(&policy.requestor_rule_json)
    .bind(policy.justification_required)
    .bind(policy.duration_kind)
    .bind(policy.duration_value)
    .bind(policy.extension_allowed)
    .bind(true)
    .bind(policy.questions_json)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

pub struct NewStage<'a> {
    pub policy_id: i64,
    pub position: i64,
    pub approver_kind: &'a str,
    pub decision_timeout_days: i64,
}

pub async fn insert_stage(
    tx: &mut Tx,
    now: Timestamp,
    stage: &NewStage<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into approval_stage (assignment_policy_id, position, approver_kind, \
         decision_timeout_days, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) returning id",
    )
    .bind(stage.policy_id)
    .bind(stage.position)
    .bind(stage.approver_kind)
    .bind(stage.decision_timeout_days)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// A stage with every reference resolved to ids, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStage {
    pub approver_kind: String,
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
    pub requestor_scope: String,
    pub requestor_rule: serde_json::Value,
    pub justification_required: bool,
    pub questions: Vec<Question>,
    pub duration_kind: String,
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
            .bind(&policy.requestor_scope)
            .bind(policy.requestor_rule.to_string())
            .bind(policy.justification_required)
            .bind(&questions_json)
            .bind(&policy.duration_kind)
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
            .bind(&policy.requestor_scope)
            .bind(policy.requestor_rule.to_string())
            .bind(policy.justification_required)
            .bind(&questions_json)
            .bind(&policy.duration_kind)
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
        .bind(&stage.approver_kind)
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

// --- Reading policies for their package's page and their form --------------------------------

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

/// The policy as stored, enabled or not, with its package's id. Stored JSON that cannot be
/// read is an error naming the row and column, never an empty setting.
pub async fn stored_policy(
    tx: &mut Tx,
    policy_id: i64,
) -> Result<Option<(i64, StoredPolicy)>, sqlx::Error> {
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
    let column = |name: &str, error: serde_json::Error| {
        decode(format!("assignment_policy {policy_id} {name}: {error}"))
    };
    let requestor_rule: serde_json::Value =
        serde_json::from_str(&row.try_get::<String, _>("requestor_rule_json")?)
            .map_err(|e| column("requestor_rule_json", e))?;
    let questions: Vec<Question> =
        serde_json::from_str(&row.try_get::<String, _>("questions_json")?)
            .map_err(|e| column("questions_json", e))?;
    let stage_rows = sqlx::query(
        "select approver_kind, approver_ref_json, required_approvals, decision_timeout_days, escalation_after_days, \
         escalation_approvers_json, fallback_approvers_json, justification_required from approval_stage \
         where assignment_policy_id = $1 order by position",
    )
    .bind(policy_id)
    .fetch_all(&mut **tx)
    .await?;
    let ids = |stage: &sqlx::any::AnyRow, name: &str| -> Result<Vec<i64>, sqlx::Error> {
        serde_json::from_str(&stage.try_get::<String, _>(name)?)
            .map_err(|e| decode(format!("approval_stage of policy {policy_id} {name}: {e}")))
    };
    let stages = stage_rows
        .iter()
        .map(|stage| {
            Ok(StoredStage {
                approver_kind: stage.try_get("approver_kind")?,
                approver_ids: ids(stage, "approver_ref_json")?,
                required_approvals: stage.try_get("required_approvals")?,
                decision_timeout_days: stage.try_get("decision_timeout_days")?,
                escalation_after_days: stage.try_get("escalation_after_days")?,
                escalation_ids: ids(stage, "escalation_approvers_json")?,
                fallback_ids: ids(stage, "fallback_approvers_json")?,
                justification_required: get_bool(stage, "justification_required")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let policy = StoredPolicy {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        requestor_scope: row.try_get("requestor_scope")?,
        requestor_rule,
        justification_required: get_bool(&row, "justification_required")?,
        questions,
        duration_kind: row.try_get("duration_kind")?,
        duration_value: row.try_get("duration_value")?,
        fixed_end_at: row.try_get("fixed_end_at")?,
        extension_allowed: get_bool(&row, "extension_allowed")?,
        extension_needs_approval: get_bool(&row, "extension_needs_approval")?,
        enabled: get_bool(&row, "is_enabled")?,
        stages,
    };
    Ok(Some((row.try_get("access_package_id")?, policy)))
}

/// Who may request under a policy, as stored.
pub async fn scope_of_policy(
    tx: &mut Tx,
    policy_id: i64,
) -> Result<Option<RequestorScope>, sqlx::Error> {
    let row = sqlx::query(
        "select requestor_scope, requestor_rule_json from assignment_policy where id = $1",
    )
    .bind(policy_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        parse_scope(
            &row.try_get::<String, _>("requestor_scope")?,
            &row.try_get::<String, _>("requestor_rule_json")?,
        )
    })
    .transpose()
}
