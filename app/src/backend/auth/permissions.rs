//! Who may do what, decided in one place from stored data. DOMAIN.md's table of roles is
//! the specification:
//! - administrators: everything, including connectors, settings and the mail queue;
//! - auditors: read everything, change nothing;
//! - catalog owners: the packages, policies and resources of their catalogs, and direct
//!   assignment and revocation of those packages;
//! - package owners: their packages' details, policies, incompatibilities and holders;
//! - approvers: the requests they hold (or held) a task on;
//! - everyone signed in: their own requests and access.
//!
//! Services and server functions ask these questions and never decide inline. A refusal
//! answers as if the object did not exist, so nothing leaks.

use crate::backend::store::{self, person::PersonRow, Tx};
use crate::domain::status::PersonStatus;
use crate::domain::{AppError, ErrorCode};

/// Administrators may do everything.
pub fn administers(person: &PersonRow) -> bool {
    person.is_admin
}

/// Administrators and auditors read everything (the audit trail, every request and
/// assignment, the conflicts report).
pub fn reads_everything(person: &PersonRow) -> bool {
    person.is_admin || person.is_auditor
}

/// Refuses anyone but an administrator, with the words a person understands.
pub fn require_administrator(person: &PersonRow) -> Result<(), AppError> {
    if administers(person) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Forbidden,
            "Only administrators can do this.",
        ))
    }
}

/// Administrators, and the owners of the catalog.
pub async fn manages_catalog(
    tx: &mut Tx,
    person: &PersonRow,
    catalog_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(administers(person) || store::catalog::owns_catalog(tx, person.id, catalog_id).await?)
}

/// Administrators, the package's owners and the owners of its catalog.
pub async fn manages_package(
    tx: &mut Tx,
    person: &PersonRow,
    package_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(
        administers(person)
            || store::assignment::manages_package(tx, person.id, package_id).await?,
    )
}

/// Removing an incompatibility needs the same rights as adding it: managing both packages
/// (an administrator manages every package). Otherwise an owner of one package could lift
/// the separation of duties that another package's owners asked for.
pub async fn may_change_incompatibility(
    tx: &mut Tx,
    person: &PersonRow,
    package_id: i64,
    other_package_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(manages_package(tx, person, package_id).await?
        && manages_package(tx, person, other_package_id).await?)
}

/// Reading an assignment: its holder, whoever manages its package, administrators and
/// auditors.
pub async fn may_see_assignment(
    tx: &mut Tx,
    person: &PersonRow,
    holder_id: i64,
    package_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(person.id == holder_id
        || reads_everything(person)
        || manages_package(tx, person, package_id).await?)
}

/// Reading a request: the person it is for, whoever asked, its approvers (who hold or held
/// a task on it), administrators and auditors.
pub async fn may_see_request(
    tx: &mut Tx,
    person: &PersonRow,
    request: &store::request::RequestRow,
) -> Result<bool, sqlx::Error> {
    Ok(reads_everything(person)
        || request.person_id == person.id
        || request.requested_by_id == person.id
        || store::request::is_approver_of(tx, request.id, person.id).await?)
}

/// The holder of an assignment: who may release it, ask for more time, or use its links.
pub fn holds(person: &PersonRow, holder_id: i64) -> bool {
    person.id == holder_id
}

/// Cancelling a waiting request: the person it is for, or whoever asked for them.
pub fn may_cancel_request(person: &PersonRow, request: &store::request::RequestRow) -> bool {
    request.person_id == person.id || request.requested_by_id == person.id
}

/// Deciding, or reading as an approver: someone who holds or held a task on the request.
/// Whether they may still decide it is resolved again at the decision
/// (services/approval_tasks.rs).
pub async fn is_approver(
    tx: &mut Tx,
    person: &PersonRow,
    request_id: i64,
) -> Result<bool, sqlx::Error> {
    store::request::is_approver_of(tx, request_id, person.id).await
}

/// Downstream systems' error messages (which may name hosts and accounts) are shown to
/// administrators only.
pub fn sees_downstream_errors(person: &PersonRow) -> bool {
    administers(person)
}

/// Nobody gives a package to themselves directly: their own access goes through a request
/// that someone else approves.
pub fn may_assign_directly_to(actor: &PersonRow, person_id: i64) -> Result<(), AppError> {
    if actor.id == person_id {
        return Err(AppError::invalid_field(
            "person_id",
            "You cannot assign a package to yourself; request it instead, so that someone else approves.",
        ));
    }
    Ok(())
}

/// Access is granted, and accounts are created downstream, only for active people.
pub fn require_active(status: PersonStatus) -> Result<(), AppError> {
    if status == PersonStatus::Active {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Conflict,
            "This person is no longer active: nothing can be granted to them.",
        ))
    }
}
