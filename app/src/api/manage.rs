//! Package owners and administrators: who holds a package, assigning it directly, and
//! removing it with a reason.

pub use crate::model::manage::*;

use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

#[server]
pub async fn list_managed_packages() -> Result<Vec<ManagedPackage>, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    Ok(store::assignment::managed_packages(
        &mut tx,
        person.id,
        crate::backend::auth::permissions::administers(&person),
    )
    .await?
    .into_iter()
    .map(|(package_id, name, catalog_name)| ManagedPackage {
        package_id,
        name,
        catalog_name,
    })
    .collect())
}

#[server]
pub async fn get_package_management(package_id: i64) -> Result<PackageManagement, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let package = store::policy::find_package(&mut tx, package_id).await?;
    let allowed = match &package {
        Some(package) => {
            crate::backend::auth::permissions::manages_package(&mut tx, &person, package.id).await?
        }
        None => false,
    };
    let Some(package) = package.filter(|_| allowed) else {
        return Err(AppError::not_found("access package"));
    };
    let holders = store::assignment::holders_of(&mut tx, package.id)
        .await?
        .into_iter()
        .map(|row| Holder {
            assignment_id: row.assignment_id,
            person_name: row.person_name,
            status: row.status,
            start_at: Timestamp(row.start_at),
            end_at: row.end_at.map(Timestamp),
        })
        .collect();
    // In the transaction: a second connection taken while this one is held is how
    // concurrent renders used to wait on each other until the pool ran dry.
    let people = store::person::list_active(&mut *tx)
        .await?
        .into_iter()
        .map(|person| (person.id, person.display_name))
        .collect();
    Ok(PackageManagement {
        package_id: package.id,
        name: package.name,
        holders,
        people,
    })
}

#[server]
pub async fn assign_package(
    package_id: i64,
    person_id: i64,
    end_date: String,
    reason: String,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::assignments;
    let (state, actor) = signed_in().await?;
    let end_at = if end_date.trim().is_empty() {
        None
    } else {
        Some(
            Timestamp::parse_date(&end_date)
                .map_err(|message| AppError::invalid_field("end_date", message))?,
        )
    };
    assignments::assign_directly(&state, &actor, package_id, person_id, end_at, &reason).await?;
    Ok(())
}
