//! Setting up what can be requested: catalogs, resources, packages, assignment policies
//! and incompatibilities. Who may change what (DOMAIN.md, Roles):
//! - administrators: everything, and they alone create catalogs and name catalog owners;
//! - catalog owners: resources and packages in their catalogs, with their owners;
//! - package owners: their packages' details, policies and incompatibilities.
//!
//! Something the person may not manage answers "not found", like something that does not
//! exist, so nothing leaks. Each change is one transaction with its audit event.

use crate::backend::auth::permissions;
use crate::backend::services::approval_tasks;
use crate::backend::store::policy::{StoredPolicy, StoredStage};
use crate::backend::store::request::Waiting;
use crate::backend::store::{self, audit, person::PersonRow, Tx};
use crate::backend::AppState;
use crate::domain::allowance::AllowanceForm;
use crate::domain::drafts::{
    check_incompatibility, ApproverDraft, CatalogForm, PackageForm, PolicyForm, QuestionForm,
    ResourceForm, ScopeDraft, StageForm, MAX_QUESTIONS, MAX_STAGES,
};
use crate::domain::error::Validation;
use crate::domain::person::Email;
use crate::domain::policy::DurationRule;
use crate::domain::{AppError, ErrorCode};

fn actor_of(person: &PersonRow) -> audit::Actor {
    audit::Actor::person(person.id, &person.display_name)
}

/// The catalog, if the person may manage it (administrator or catalog owner).
#[tracing::instrument(skip_all, fields(person_id = person.id, catalog_id = catalog_id))]
pub async fn managed_catalog(
    tx: &mut Tx,
    person: &PersonRow,
    catalog_id: i64,
) -> Result<store::catalog::CatalogRow, AppError> {
    let catalog = store::catalog::find_catalog(tx, catalog_id).await?;
    match catalog {
        Some(catalog) if permissions::manages_catalog(tx, person, catalog_id).await? => Ok(catalog),
        _ => Err(AppError::not_found("catalog")),
    }
}

/// The package's settings, if the person may manage it (administrator, catalog owner or
/// package owner).
#[tracing::instrument(skip_all, fields(person_id = person.id, package_id = package_id))]
pub async fn managed_package(
    tx: &mut Tx,
    person: &PersonRow,
    package_id: i64,
) -> Result<store::package::PackageSettings, AppError> {
    let package = store::package::settings(tx, package_id).await?;
    match package {
        Some(package) if permissions::manages_package(tx, person, package_id).await? => Ok(package),
        _ => Err(AppError::not_found("access package")),
    }
}

fn emails(list: &[Email]) -> Vec<String> {
    list.iter()
        .map(|email| email.as_str().to_string())
        .collect()
}

/// Resolves emails to people, reporting an unknown one against `field`.
async fn people(
    tx: &mut Tx,
    v: &mut Validation,
    field: &str,
    list: &[Email],
) -> Result<Vec<i64>, AppError> {
    Ok(v.check(
        field,
        store::person::people_by_email(tx, &emails(list)).await?,
    )
    .unwrap_or_default())
}

async fn groups(
    tx: &mut Tx,
    v: &mut Validation,
    field: &str,
    names: &[String],
) -> Result<Vec<i64>, AppError> {
    Ok(
        v.check(field, store::person::groups_by_name(tx, names).await?)
            .unwrap_or_default(),
    )
}

/// Creates a catalog (`catalog_id` none; administrators only) or changes one.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, catalog_id = ?catalog_id))]
pub async fn save_catalog(
    state: &AppState,
    actor: &PersonRow,
    catalog_id: Option<i64>,
    form: &CatalogForm,
) -> Result<i64, AppError> {
    let draft = form.validate()?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if let Some(id) = catalog_id {
        managed_catalog(&mut tx, actor, id).await?;
    }
    permissions::require_administrator(actor)?;
    // A name another catalog has is refused by `catalog_name_uq`.
    let mut v = Validation::new();
    let owner_ids = people(&mut tx, &mut v, "owners", &draft.owners).await?;
    v.finish()?;
    let before = match catalog_id {
        Some(id) => Some(store::catalog::find_catalog(&mut tx, id).await?.map(|c| {
            serde_json::json!({ "name": c.name, "description": c.description, "enabled": c.enabled })
        })),
        None => None,
    };
    let id = match catalog_id {
        Some(id) => id,
        None => {
            store::catalog::insert_catalog(&mut tx, now, &draft.name, &draft.description).await?
        }
    };
    store::catalog::update_catalog(
        &mut tx,
        now,
        id,
        &draft.name,
        &draft.description,
        draft.enabled,
    )
    .await?;
    store::catalog::set_catalog_owners(&mut tx, now, id, &owner_ids).await?;
    let mut change = audit::Change::new(
        if catalog_id.is_some() { "catalog.updated" } else { "catalog.created" },
        "catalog",
        id,
    )
    .after(serde_json::json!({
        "name": draft.name, "description": draft.description, "enabled": draft.enabled, "owner_ids": owner_ids,
    }));
    if let Some(Some(before)) = before {
        change = change.before(before);
    }
    audit::append(&mut tx, now, &actor_of(actor), change).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a resource to a catalog the person manages.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, catalog_id = catalog_id))]
pub async fn add_resource(
    state: &AppState,
    actor: &PersonRow,
    catalog_id: i64,
    form: &ResourceForm,
) -> Result<i64, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    managed_catalog(&mut tx, actor, catalog_id).await?;
    let kind = match form.connector_id.trim().parse::<i64>() {
        Ok(id) => store::connector::kind_of(&mut tx, id).await?,
        Err(_) => None,
    };
    let draft = form.validate(kind.as_deref().map(|kind| kind != "builtin"))?;
    // Owners add only the downstream groups administrators allowed this catalog; the
    // administrators, who decide what is allowed, may add any.
    if let (Some(kind), Some(external_id)) = (kind.as_deref(), draft.external_id.as_deref()) {
        if kind != "builtin" && !permissions::administers(actor) {
            match store::catalog_connector::find(&mut tx, catalog_id, draft.connector_id).await? {
                None => {
                    return Err(AppError::invalid_field(
                        "connector_id",
                        "This catalog may not use this connector; an administrator decides which connectors a catalog uses.",
                    ))
                }
                Some(allowance) if !allowance.permits(kind, external_id) => {
                    return Err(AppError::invalid_field(
                        "external_id",
                        "This catalog may not use that group; ask an administrator to allow it.",
                    ))
                }
                Some(_) => {}
            }
        }
    }
    if let Some(external_id) = &draft.external_id {
        if store::resource::external_id_taken(&mut tx, draft.connector_id, external_id).await? {
            return Err(AppError::invalid_field(
                "external_id",
                "Another resource already uses this id in this connector.",
            ));
        }
    }
    let id = store::resource::insert(
        &mut tx,
        now,
        &store::resource::NewResource {
            catalog_id,
            connector_id: draft.connector_id,
            name: &draft.name,
            kind: &draft.kind,
            external_id: draft.external_id.as_deref(),
            description: &draft.description,
        },
    )
    .await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(actor),
        audit::Change::new("resource.created", "resource", id).after(serde_json::json!({
            "catalog_id": catalog_id, "name": draft.name, "kind": draft.kind,
            "connector_id": draft.connector_id, "external_id": draft.external_id,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Lets a catalog use a connector's groups (administrators only): the groups its owners
/// may add as resources.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, catalog_id = catalog_id))]
pub async fn allow_connector(
    state: &AppState,
    actor: &PersonRow,
    catalog_id: i64,
    form: &AllowanceForm,
) -> Result<(), AppError> {
    let (connector_id, allowance) = form.validate()?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    managed_catalog(&mut tx, actor, catalog_id).await?;
    permissions::require_administrator(actor)?;
    match store::connector::kind_of(&mut tx, connector_id)
        .await?
        .as_deref()
    {
        None => {
            return Err(AppError::invalid_field(
                "connector_id",
                "Choose a connector.",
            ))
        }
        Some("builtin") => {
            return Err(AppError::invalid_field(
                "connector_id",
                "Gatehouse's own groups need no allowance.",
            ))
        }
        Some(_) => {}
    }
    let before = store::catalog_connector::find(&mut tx, catalog_id, connector_id).await?;
    store::catalog_connector::save(&mut tx, now, catalog_id, connector_id, &allowance).await?;
    let mut change = audit::Change::new("catalog.connector_allowed", "catalog", catalog_id).after(
        serde_json::json!({
            "connector_id": connector_id, "groups": allowance.groups, "within": allowance.within,
        }),
    );
    if let Some(before) = before {
        change = change.before(serde_json::json!({
            "connector_id": connector_id, "groups": before.groups, "within": before.within,
        }));
    }
    audit::append(&mut tx, now, &actor_of(actor), change).await?;
    tx.commit().await?;
    Ok(())
}

/// The catalog may no longer add resources of the connector (administrators only). Its
/// resources already added stay: removing them is a change to the packages that use them.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, catalog_id = catalog_id, connector_id = connector_id))]
pub async fn disallow_connector(
    state: &AppState,
    actor: &PersonRow,
    catalog_id: i64,
    connector_id: i64,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    managed_catalog(&mut tx, actor, catalog_id).await?;
    permissions::require_administrator(actor)?;
    let before = store::catalog_connector::find(&mut tx, catalog_id, connector_id)
        .await?
        .ok_or_else(|| AppError::not_found("allowance"))?;
    store::catalog_connector::remove(&mut tx, catalog_id, connector_id).await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(actor),
        audit::Change::new("catalog.connector_disallowed", "catalog", catalog_id).before(
            serde_json::json!({
                "connector_id": connector_id, "groups": before.groups, "within": before.within,
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Where a package is saved: a new one in a catalog, or an existing one.
#[derive(Clone, Copy, Debug)]
pub enum PackageTarget {
    New { catalog_id: i64 },
    Existing { package_id: i64 },
}

/// Creates a package in a catalog the person manages, or changes a package they manage.
/// Only administrators and catalog owners change a package's owners.
#[tracing::instrument(skip_all, fields(actor_id = actor.id))]
pub async fn save_package(
    state: &AppState,
    actor: &PersonRow,
    target: PackageTarget,
    form: &PackageForm,
) -> Result<i64, AppError> {
    let draft = form.validate()?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let (catalog_id, existing) = match target {
        PackageTarget::New { catalog_id } => {
            managed_catalog(&mut tx, actor, catalog_id).await?;
            (catalog_id, None)
        }
        PackageTarget::Existing { package_id } => {
            let package = managed_package(&mut tx, actor, package_id).await?;
            (package.catalog_id, Some(package))
        }
    };
    let may_set_owners = permissions::manages_catalog(&mut tx, actor, catalog_id).await?;
    let mut v = Validation::new();
    // A name another package of the catalog has is refused by
    // `access_package_catalog_name_uq`.
    let owners_changed = existing
        .as_ref()
        .is_none_or(|p| p.owner_emails != emails(&draft.owners));
    if owners_changed && !may_set_owners {
        v.check::<()>(
            "owners",
            Err(
                "Only the catalog's owners and administrators can change a package's owners."
                    .into(),
            ),
        );
    }
    let owner_ids = people(&mut tx, &mut v, "owners", &draft.owners).await?;
    let resource_ids: Vec<i64> = draft.resources.iter().map(|(id, _)| *id).collect();
    if store::resource::count_in_catalog(&mut tx, catalog_id, &resource_ids).await?
        != resource_ids.len()
    {
        v.check::<()>(
            "resources",
            Err("Choose resources of this package's catalog.".into()),
        );
    }
    v.finish()?;
    let id = match &existing {
        Some(package) => {
            store::package::update(
                &mut tx,
                now,
                package.id,
                &draft.name,
                &draft.description,
                draft.hidden,
            )
            .await?;
            package.id
        }
        None => {
            store::package::insert(
                &mut tx,
                now,
                &store::package::NewPackage {
                    catalog_id,
                    name: &draft.name,
                    description: &draft.description,
                    is_hidden: draft.hidden,
                },
            )
            .await?
        }
    };
    if owners_changed {
        store::package::set_owners(&mut tx, now, id, &owner_ids).await?;
    }
    store::package::set_resources(&mut tx, now, id, &draft.resources).await?;
    let mut change = audit::Change::new(
        if existing.is_some() {
            "access_package.updated"
        } else {
            "access_package.created"
        },
        "access_package",
        id,
    )
    .after(serde_json::json!({
        "catalog_id": catalog_id, "name": draft.name, "description": draft.description,
        "hidden": draft.hidden, "owner_ids": owner_ids, "resources": draft.resources,
    }));
    if let Some(package) = &existing {
        change = change.before(serde_json::json!({
            "name": package.name, "description": package.description, "hidden": package.hidden,
            "owners": package.owner_emails, "resources": package.resources,
        }));
    }
    audit::append(&mut tx, now, &actor_of(actor), change).await?;
    if owners_changed {
        // Owners who approve waiting requests may have been removed or added.
        approval_tasks::reresolve_waiting(&mut tx, now, Waiting::OfPackage(id), &actor_of(actor))
            .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Resolves a checked policy form into what is stored, reporting unknown people and
/// groups against their fields.
async fn resolve_policy(
    tx: &mut Tx,
    form: &PolicyForm,
    now: crate::domain::Timestamp,
) -> Result<StoredPolicy, AppError> {
    let draft = form.validate(now)?;
    let mut v = Validation::new();
    let (requestor_scope, requestor_rule) = match &draft.scope {
        ScopeDraft::Everyone => ("everyone", serde_json::json!({})),
        ScopeDraft::Nobody => ("none", serde_json::json!({})),
        ScopeDraft::Groups {
            groups: names,
            departments,
        } => {
            let group_ids = groups(tx, &mut v, "requestor_groups", names).await?;
            (
                "groups",
                serde_json::json!({ "group_ids": group_ids, "departments": departments }),
            )
        }
        ScopeDraft::AttributeRule { equals } => {
            ("attribute_rule", serde_json::json!({ "equals": equals }))
        }
    };
    let mut stages = Vec::new();
    for (index, stage) in draft.stages.iter().enumerate() {
        let field = |name: &str| format!("stages[{index}][{name}]");
        let approver_ids = match &stage.approvers {
            ApproverDraft::NamedPeople(list) => {
                people(tx, &mut v, &field("approvers"), list).await?
            }
            ApproverDraft::GroupMembers(names) => {
                groups(tx, &mut v, &field("groups"), names).await?
            }
            _ => Vec::new(),
        };
        stages.push(StoredStage {
            approver_kind: stage.approvers.kind().to_string(),
            approver_ids,
            required_approvals: stage.required_approvals,
            decision_timeout_days: stage.decision_timeout_days,
            escalation_after_days: stage.escalation_after_days,
            escalation_ids: people(
                tx,
                &mut v,
                &field("escalation_approvers"),
                &stage.escalation_approvers,
            )
            .await?,
            fallback_ids: people(
                tx,
                &mut v,
                &field("fallback_approvers"),
                &stage.fallback_approvers,
            )
            .await?,
            justification_required: stage.justification_required,
        });
    }
    v.finish()?;
    let (duration_kind, duration_value, fixed_end_at) = match draft.duration {
        DurationRule::MaxDays(days) => ("max_days", Some(days), None),
        DurationRule::MaxHours(hours) => ("max_hours", Some(hours), None),
        DurationRule::FixedEnd(end) => ("fixed_end", None, Some(end.millis())),
        DurationRule::NoEnd => ("no_end", None, None),
    };
    Ok(StoredPolicy {
        name: draft.name,
        description: draft.description,
        requestor_scope: requestor_scope.to_string(),
        requestor_rule,
        justification_required: draft.justification_required,
        questions: draft.questions,
        duration_kind: duration_kind.to_string(),
        duration_value,
        fixed_end_at,
        extension_allowed: draft.extension_allowed,
        extension_needs_approval: draft.extension_needs_approval,
        enabled: draft.enabled,
        stages,
    })
}

fn flag(on: bool) -> Option<String> {
    on.then(|| "on".to_string())
}

/// The stored policy in the shape of the policy form (people as emails, groups by name),
/// with its package id.
#[tracing::instrument(skip_all, fields(policy_id = policy_id))]
pub async fn policy_form(
    tx: &mut Tx,
    policy_id: i64,
) -> Result<Option<(i64, PolicyForm)>, AppError> {
    let Some((package_id, policy)) = store::policy::stored_policy(tx, policy_id).await? else {
        return Ok(None);
    };
    let rule = &policy.requestor_rule;
    let departments: Vec<String> = rule["departments"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
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
    let mut questions: Vec<QuestionForm> = policy
        .questions
        .into_iter()
        .map(|q| QuestionForm {
            text: q.text,
            choices: q.choices.join("\n"),
            required: flag(q.required),
        })
        .collect();
    questions.resize(MAX_QUESTIONS.max(questions.len()), QuestionForm::default());
    let mut stages = Vec::new();
    for stage in policy.stages {
        stages.push(StageForm {
            approvers: if stage.approver_kind == "named_people" {
                store::person::emails_of(tx, &stage.approver_ids)
                    .await?
                    .join(", ")
            } else {
                String::new()
            },
            groups: if stage.approver_kind == "group_members" {
                store::person::group_names_of(tx, &stage.approver_ids)
                    .await?
                    .join(", ")
            } else {
                String::new()
            },
            approver_kind: stage.approver_kind,
            required_approvals: stage.required_approvals.to_string(),
            decision_timeout_days: stage.decision_timeout_days.to_string(),
            escalation_after_days: stage
                .escalation_after_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            escalation_approvers: store::person::emails_of(tx, &stage.escalation_ids)
                .await?
                .join(", "),
            fallback_approvers: store::person::emails_of(tx, &stage.fallback_ids)
                .await?
                .join(", "),
            justification_required: flag(stage.justification_required),
        });
    }
    stages.resize(MAX_STAGES.max(stages.len()), StageForm::default());
    let form = PolicyForm {
        name: policy.name,
        description: policy.description,
        requestor_scope: policy.requestor_scope,
        requestor_groups: store::person::group_names_of(tx, &group_ids)
            .await?
            .join(", "),
        requestor_departments: departments.join(", "),
        requestor_rule,
        justification_required: flag(policy.justification_required),
        questions,
        duration_kind: policy.duration_kind,
        duration_value: policy
            .duration_value
            .map(|v| v.to_string())
            .unwrap_or_default(),
        fixed_end_date: policy
            .fixed_end_at
            .map(|at| crate::domain::Timestamp(at).date_utc())
            .unwrap_or_default(),
        extension_allowed: flag(policy.extension_allowed),
        extension_needs_approval: flag(policy.extension_needs_approval),
        stages,
        enabled: flag(policy.enabled),
    };
    Ok(Some((package_id, form)))
}

/// Adds a policy to a package (`policy_id` none) or changes one of its policies.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, package_id = package_id, policy_id = ?policy_id))]
pub async fn save_policy(
    state: &AppState,
    actor: &PersonRow,
    package_id: i64,
    policy_id: Option<i64>,
    form: &PolicyForm,
) -> Result<i64, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    managed_package(&mut tx, actor, package_id).await?;
    let before = match policy_id {
        Some(id) => match policy_form(&mut tx, id).await? {
            Some((owner, form)) if owner == package_id => Some(form),
            _ => return Err(AppError::not_found("assignment policy")),
        },
        None => None,
    };
    let policy = resolve_policy(&mut tx, form, now).await?;
    if let Some(id) = policy_id {
        // Requests waiting at a stage must still find it.
        let waiting_at = store::request::furthest_waiting_stage(&mut tx, id).await?;
        if let Some(stage) =
            waiting_at.filter(|stage| *stage > i64::try_from(policy.stages.len()).unwrap_or(0))
        {
            return Err(AppError::invalid_field(
                "stages",
                format!("A request is waiting at stage {stage}; keep at least {stage} stages until it is decided."),
            ));
        }
    }
    let id = store::policy::write_policy(&mut tx, now, package_id, policy_id, &policy).await?;
    let after = serde_json::json!({
        "package_id": package_id, "name": policy.name, "enabled": policy.enabled,
        "requestor_scope": policy.requestor_scope, "requestor_rule": policy.requestor_rule,
        "justification_required": policy.justification_required, "questions": policy.questions,
        "duration_kind": policy.duration_kind, "duration_value": policy.duration_value,
        "fixed_end_at": policy.fixed_end_at, "extension_allowed": policy.extension_allowed,
        "extension_needs_approval": policy.extension_needs_approval,
        "stages": policy.stages.iter().map(|s| serde_json::json!({
            "approver_kind": s.approver_kind, "approver_ids": s.approver_ids,
            "required_approvals": s.required_approvals, "decision_timeout_days": s.decision_timeout_days,
            "escalation_after_days": s.escalation_after_days, "escalation_ids": s.escalation_ids,
            "fallback_ids": s.fallback_ids, "justification_required": s.justification_required,
        })).collect::<Vec<_>>(),
    });
    let mut change = audit::Change::new(
        if before.is_some() {
            "assignment_policy.updated"
        } else {
            "assignment_policy.created"
        },
        "assignment_policy",
        id,
    )
    .after(after);
    if let Some(before) = before {
        change = change.before(serde_json::to_value(&before).unwrap_or_default());
    }
    audit::append(&mut tx, now, &actor_of(actor), change).await?;
    // The stages may name other approvers now.
    approval_tasks::reresolve_waiting(&mut tx, now, Waiting::UnderPolicy(id), &actor_of(actor))
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Declares two packages incompatible (separation of duties). The person must manage
/// both. People already holding both are not changed; the conflicts report lists them.
#[tracing::instrument(skip_all, fields(actor_id = actor.id, package_id = package_id, other_package_id = other_package_id))]
pub async fn add_incompatibility(
    state: &AppState,
    actor: &PersonRow,
    package_id: i64,
    other_package_id: i64,
) -> Result<(), AppError> {
    check_incompatibility(package_id, other_package_id)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    managed_package(&mut tx, actor, package_id).await?;
    if !permissions::may_change_incompatibility(&mut tx, actor, package_id, other_package_id)
        .await?
    {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "You can declare incompatible only packages you manage, both of them.",
        ));
    }
    if store::package::incompatible_with(&mut tx, package_id)
        .await?
        .iter()
        .any(|(id, _, _)| *id == other_package_id)
    {
        return Err(AppError::invalid_field(
            "other_package_id",
            "These packages are already incompatible.",
        ));
    }
    store::package::add_incompatibility(&mut tx, now, package_id, other_package_id).await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(actor),
        audit::Change::new("incompatibility.added", "access_package", package_id)
            .after(serde_json::json!({ "incompatible_package_id": other_package_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(actor_id = actor.id, package_id = package_id, other_package_id = other_package_id))]
pub async fn remove_incompatibility(
    state: &AppState,
    actor: &PersonRow,
    package_id: i64,
    other_package_id: i64,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    managed_package(&mut tx, actor, package_id).await?;
    // The same rights as adding it: an owner of one package cannot lift a separation of
    // duties that protects another package.
    if !permissions::may_change_incompatibility(&mut tx, actor, package_id, other_package_id)
        .await?
    {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "Only someone who manages both packages can remove this incompatibility.",
        ));
    }
    if store::package::remove_incompatibility(&mut tx, package_id, other_package_id).await? == 0 {
        return Err(AppError::not_found("incompatibility"));
    }
    audit::append(
        &mut tx,
        now,
        &actor_of(actor),
        audit::Change::new("incompatibility.removed", "access_package", package_id)
            .before(serde_json::json!({ "incompatible_package_id": other_package_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
