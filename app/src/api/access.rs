//! One assignment (a person's access to a package): its life so far and its state in
//! every connected system.

pub use crate::model::access::*;

#[cfg(feature = "ssr")]
use crate::domain::status::AssignmentStatus;
use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

/// An assignment, for its holder, the package's owners (and its catalog's), administrators
/// and auditors. To anyone else it does not exist.
#[server]
pub async fn get_access(assignment_id: i64) -> Result<AccessDetail, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::auth::permissions;
    use crate::backend::store;
    use crate::domain::assignment::RemovalReason;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let row = store::assignment::find(&mut tx, assignment_id).await?;
    let visible = match &row {
        Some(row) => {
            permissions::may_see_assignment(&mut tx, &person, row.person_id, row.package_id).await?
        }
        None => false,
    };
    let Some(row) = row.filter(|_| visible) else {
        return Err(AppError::not_found("access"));
    };
    let facts = store::assignment::access_facts(&mut tx, row.id).await?;
    let ended_at = store::audit::assignment_ended_at(&mut tx, row.id).await?;
    let ended = match (
        ended_at,
        facts
            .removal_reason
            .as_deref()
            .and_then(RemovalReason::parse),
    ) {
        (Some(at), Some(reason)) => Some((Timestamp(at), reason.describe().to_string())),
        _ => None,
    };
    let mut provisioning = store::provisioning::steps_of_assignment(&mut tx, row.id).await?;
    if !permissions::sees_downstream_errors(&person) {
        for step in &mut provisioning {
            step.error = None;
        }
    }
    let holder = permissions::holds(&person, row.person_id);
    Ok(AccessDetail {
        assignment_id: row.id,
        package_name: facts.package_name,
        holder_name: facts.holder_name,
        status: row.status,
        start_at: Timestamp(row.start_at),
        end_at: row.end_at.map(Timestamp),
        ended,
        removed_at: facts.removed_at.map(Timestamp),
        // The request page has its own rule (the requester and approvers too); its
        // holder, administrators and auditors may always open it.
        request_id: facts
            .request_id
            .filter(|_| holder || permissions::reads_everything(&person)),
        provisioning,
        can_extend: holder
            && row.end_at.is_some()
            && matches!(
                row.status,
                AssignmentStatus::Active | AssignmentStatus::Scheduled
            ),
    })
}
