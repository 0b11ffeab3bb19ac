//! Provisioning jobs: operations on downstream connectors, written in the same transaction
//! as the change that needs them and run later by the provisioner.

use super::Tx;
use crate::domain::Timestamp;

/// Queues adding the person to a downstream resource for an assignment. The idempotency
/// key makes a repeated grant of the same assignment and resource a no-op.
pub async fn queue_add_member(
    tx: &mut Tx,
    now: Timestamp,
    assignment_id: i64,
    person_id: i64,
    resource_id: i64,
    connector_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into provisioning_job (connector_id, resource_id, assignment_id, person_id, operation, \
         next_attempt_at, idempotency_key, created_at, updated_at) \
         values ($1, $2, $3, $4, 'add_member', $5, $6, $5, $5) on conflict (idempotency_key) do nothing",
    )
    .bind(connector_id)
    .bind(resource_id)
    .bind(assignment_id)
    .bind(person_id)
    .bind(now.millis())
    .bind(format!("grant:{assignment_id}:{resource_id}"))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Queues removing the person from a downstream resource when an assignment ends.
pub async fn queue_remove_member(
    tx: &mut Tx,
    now: Timestamp,
    assignment_id: i64,
    person_id: i64,
    resource_id: i64,
    connector_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into provisioning_job (connector_id, resource_id, assignment_id, person_id, operation, \
         next_attempt_at, idempotency_key, created_at, updated_at) \
         values ($1, $2, $3, $4, 'remove_member', $5, $6, $5, $5) on conflict (idempotency_key) do nothing",
    )
    .bind(connector_id)
    .bind(resource_id)
    .bind(assignment_id)
    .bind(person_id)
    .bind(now.millis())
    .bind(format!("remove:{assignment_id}:{resource_id}"))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
