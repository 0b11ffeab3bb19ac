//! Connectors and the provisioning queue, for administrators: each connector with its
//! jobs by state, the jobs that failed with their errors and a Retry button, an alarm when
//! removals are late, and a form to add a SCIM, LDAP or webhook connector (its secret
//! stays in the environment and is never shown).

pub use crate::model::connectors::*;

use crate::domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn admins_only(person: &crate::backend::store::person::PersonRow) -> Result<(), AppError> {
    crate::backend::auth::permissions::require_administrator(person)
}

#[server]
pub async fn get_provisioning() -> Result<ProvisioningView, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::connectors;
    let (state, person) = signed_in().await?;
    admins_only(&person)?;
    connectors::overview(&state).await
}

#[server]
pub async fn create_connector(connector: ConnectorForm) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::connectors;
    let (state, person) = signed_in().await?;
    admins_only(&person)?;
    connectors::create(&state, &person, &connector).await
}

/// Runs a failed or dead job again from a fresh retry budget.
#[server]
pub async fn retry_job(job_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::connectors;
    let (state, person) = signed_in().await?;
    admins_only(&person)?;
    connectors::retry_job(&state, &person, job_id).await
}

/// Reconciles a connector now. Administrators only.
#[server]
pub async fn reconcile_now(connector_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::reconcile;
    use crate::backend::store::audit::Actor;
    let (state, person) = signed_in().await?;
    admins_only(&person)?;
    reconcile::reconcile(
        &state,
        connector_id,
        Actor::person(person.id, &person.display_name),
    )
    .await
    .map(|_| ())
}
