//! Provisioning jobs: operations on downstream connectors, written in the same transaction
//! as the change that needs them and run later by the provisioner.

use super::Tx;
use crate::domain::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOperation {
    Add,
    Remove,
}

/// Queues adding or removing the person on a downstream resource for an assignment. The
/// idempotency key makes a repeated grant or removal of the same assignment and resource
/// a no-op.
pub async fn queue_membership(
    tx: &mut Tx,
    now: Timestamp,
    operation: MemberOperation,
    assignment_id: i64,
    person_id: i64,
    resource_id: i64,
    connector_id: i64,
) -> Result<(), sqlx::Error> {
    let (operation, key) = match operation {
        MemberOperation::Add => ("add_member", format!("grant:{assignment_id}:{resource_id}")),
        MemberOperation::Remove => (
            "remove_member",
            format!("remove:{assignment_id}:{resource_id}"),
        ),
    };
    sqlx::query(
        "insert into provisioning_job (connector_id, resource_id, assignment_id, person_id, operation, \
         next_attempt_at, idempotency_key, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $6, $6) on conflict (idempotency_key) do nothing",
    )
    .bind(connector_id)
    .bind(resource_id)
    .bind(assignment_id)
    .bind(person_id)
    .bind(operation)
    .bind(now.millis())
    .bind(key)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
