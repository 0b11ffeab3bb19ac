//! Setting up what can be requested: catalogs, their resources and packages, assignment
//! policies, incompatible packages, and the report of people holding a conflicting pair.
//! Who may change what is decided by `services::manage` from stored data.

pub use crate::model::catalogs::*;

use crate::domain::allowance::AllowanceForm;
use crate::domain::drafts::{CatalogForm, PackageForm, PolicyForm, ResourceForm};
use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

#[server]
pub async fn list_catalogs() -> Result<CatalogList, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store::catalog;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let catalogs = catalog::catalogs_for(
        &mut tx,
        person.id,
        crate::backend::auth::permissions::administers(&person),
    )
    .await?
    .into_iter()
    .map(|c| CatalogSummary {
        id: c.id,
        name: c.name,
        description: c.description,
        enabled: c.enabled,
        package_count: c.package_count,
        resource_count: c.resource_count,
    })
    .collect();
    Ok(CatalogList {
        catalogs,
        can_create: crate::backend::auth::permissions::administers(&person),
    })
}

#[server]
pub async fn get_catalog(catalog_id: i64) -> Result<CatalogDetail, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::{services, store};
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let catalog = services::manage::managed_catalog(&mut tx, &person, catalog_id).await?;
    let owners = store::catalog::catalog_owner_emails(&mut tx, catalog_id).await?;
    let administers = crate::backend::auth::permissions::administers(&person);
    let allowances: Vec<AllowanceView> =
        crate::backend::store::catalog_connector::of_catalog(&mut tx, catalog_id)
            .await?
            .into_iter()
            .map(|allowed| AllowanceView {
                connector_id: allowed.connector_id,
                connector_name: allowed.connector_name,
                kind: allowed.kind,
                groups: allowed.allowance.groups,
                within: allowed.allowance.within,
            })
            .collect();
    let usable = store::connector::list(&mut tx).await?;
    let all_connectors: Vec<(i64, String, String)> = usable
        .iter()
        .filter(|(_, _, kind)| kind != "builtin")
        .cloned()
        .collect();
    Ok(CatalogDetail {
        id: catalog.id,
        form: CatalogForm {
            name: catalog.name,
            description: catalog.description,
            owners: owners.join(", "),
            enabled: catalog.enabled.then(|| "on".to_string()),
        },
        resources: store::resource::of_catalog(&mut tx, catalog_id)
            .await?
            .into_iter()
            .map(|r| ResourceSummary {
                id: r.id,
                name: r.name,
                kind: r.kind,
                connector_name: r.connector_name,
                external_id: r.external_id,
            })
            .collect(),
        packages: store::package::of_catalog(&mut tx, catalog_id).await?,
        connectors: usable
            .into_iter()
            .filter(|(id, _, kind)| {
                administers || kind == "builtin" || allowances.iter().any(|a| a.connector_id == *id)
            })
            .collect(),
        allowances,
        all_connectors: if administers {
            all_connectors
        } else {
            Vec::new()
        },
        can_edit: administers,
    })
}

/// Lets the catalog's owners add groups of a connector as resources (administrators).
#[server]
pub async fn allow_catalog_connector(
    catalog_id: i64,
    allowance: AllowanceForm,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    manage::allow_connector(&state, &person, catalog_id, &allowance).await
}

/// Takes a connector's allowance away from a catalog (administrators).
#[server]
pub async fn disallow_catalog_connector(
    catalog_id: i64,
    connector_id: i64,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    manage::disallow_connector(&state, &person, catalog_id, connector_id).await
}

/// Creates a catalog (`catalog_id` 0) or saves one, then shows it.
#[server]
pub async fn save_catalog(catalog_id: i64, catalog: CatalogForm) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    let id = manage::save_catalog(
        &state,
        &person,
        (catalog_id > 0).then_some(catalog_id),
        &catalog,
    )
    .await?;
    leptos_axum::redirect(&format!("/manage/catalogs/{id}"));
    Ok(id)
}

#[server]
pub async fn add_resource(catalog_id: i64, resource: ResourceForm) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    manage::add_resource(&state, &person, catalog_id, &resource).await
}

/// Creates a package in a catalog, then shows the new package.
#[server]
pub async fn create_package(catalog_id: i64, package: PackageForm) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage::{self, PackageTarget};
    let (state, person) = signed_in().await?;
    let id =
        manage::save_package(&state, &person, PackageTarget::New { catalog_id }, &package).await?;
    leptos_axum::redirect(&format!("/manage/packages/{id}"));
    Ok(id)
}

#[server]
pub async fn update_package(package_id: i64, package: PackageForm) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage::{self, PackageTarget};
    let (state, person) = signed_in().await?;
    manage::save_package(
        &state,
        &person,
        PackageTarget::Existing { package_id },
        &package,
    )
    .await
}

#[server]
pub async fn get_package_setup(package_id: i64) -> Result<PackageSetup, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::{services, store};
    use crate::domain::drafts::{DURATION_KINDS, SCOPES};
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let package = services::manage::managed_package(&mut tx, &person, package_id).await?;
    let label = |table: &[(&str, &str)], key: &str| {
        table
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key.to_string(), |(_, l)| l.to_string())
    };
    let policies = store::policy::policy_summaries(&mut tx, package_id)
        .await?
        .into_iter()
        .map(|p| PolicyLine {
            id: p.id,
            name: p.name,
            enabled: p.enabled,
            who: label(&SCOPES, &p.requestor_scope),
            duration: match (p.duration_kind.as_str(), p.duration_value) {
                ("max_days", Some(days)) => format!("At most {days} days"),
                ("max_hours", Some(hours)) => format!("At most {hours} hours"),
                (kind, _) => label(&DURATION_KINDS, kind),
            },
            stage_count: p.stage_count,
        })
        .collect();
    let incompatible = store::package::incompatible_with(&mut tx, package_id).await?;
    let mut candidates = Vec::new();
    for (id, name, catalog) in store::package::all(&mut tx).await? {
        let managed =
            crate::backend::auth::permissions::manages_package(&mut tx, &person, id).await?;
        if id != package_id && managed && !incompatible.iter().any(|(other, _, _)| *other == id) {
            candidates.push((id, format!("{catalog}: {name}")));
        }
    }
    let may_set_owners =
        crate::backend::auth::permissions::manages_catalog(&mut tx, &person, package.catalog_id)
            .await?;
    Ok(PackageSetup {
        id: package.id,
        catalog_id: package.catalog_id,
        catalog_name: package.catalog_name,
        form: PackageForm {
            name: package.name,
            description: package.description,
            owners: package.owner_emails.join(", "),
            hidden: package.hidden.then(|| "on".to_string()),
            resources: package
                .resources
                .iter()
                .map(|(id, role)| (id.to_string(), role.clone()))
                .collect(),
        },
        resources: store::resource::of_catalog(&mut tx, package.catalog_id)
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.id,
                    format!(
                        "{} ({}, {})",
                        r.name,
                        r.kind.replace('_', " "),
                        r.connector_name
                    ),
                )
            })
            .collect(),
        policies,
        incompatible,
        candidates,
        may_set_owners,
    })
}

/// The policy form: a stored policy (`policy_id` > 0) or a new one with defaults.
#[server]
pub async fn get_policy_editor(package_id: i64, policy_id: i64) -> Result<PolicyEditor, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let package = services::manage::managed_package(&mut tx, &person, package_id).await?;
    let form = if policy_id > 0 {
        match services::manage::policy_form(&mut tx, policy_id).await? {
            Some((owner, form)) if owner == package_id => form,
            _ => return Err(AppError::not_found("assignment policy")),
        }
    } else {
        PolicyForm::new_default()
    };
    Ok(PolicyEditor {
        package_id,
        package_name: package.name,
        policy_id: (policy_id > 0).then_some(policy_id),
        form,
    })
}

/// Saves a policy (`policy_id` 0: a new one), then shows its package.
#[server]
pub async fn save_policy(
    package_id: i64,
    policy_id: i64,
    policy: PolicyForm,
) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    let id = manage::save_policy(
        &state,
        &person,
        package_id,
        (policy_id > 0).then_some(policy_id),
        &policy,
    )
    .await?;
    leptos_axum::redirect(&format!("/manage/packages/{package_id}"));
    Ok(id)
}

#[server]
pub async fn add_incompatibility(package_id: i64, other_package_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    manage::add_incompatibility(&state, &person, package_id, other_package_id).await
}

#[server]
pub async fn remove_incompatibility(
    package_id: i64,
    other_package_id: i64,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::manage;
    let (state, person) = signed_in().await?;
    manage::remove_incompatibility(&state, &person, package_id, other_package_id).await
}

/// People who hold two incompatible packages: every pair for administrators and auditors,
/// pairs touching a package they manage for owners.
#[server]
pub async fn list_conflicts() -> Result<Vec<Conflict>, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store::package;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let everything = crate::backend::auth::permissions::reads_everything(&person);
    let mut conflicts = Vec::new();
    for row in package::conflicts(&mut tx).await? {
        let visible = everything
            || crate::backend::auth::permissions::manages_package(
                &mut tx,
                &person,
                row.first_package_id,
            )
            .await?
            || crate::backend::auth::permissions::manages_package(
                &mut tx,
                &person,
                row.second_package_id,
            )
            .await?;
        if visible {
            conflicts.push(Conflict {
                person_name: row.person_name,
                first_package_id: row.first_package_id,
                first_package: row.first_package,
                second_package_id: row.second_package_id,
                second_package: row.second_package,
                since: Timestamp(row.since),
            });
        }
    }
    Ok(conflicts)
}
