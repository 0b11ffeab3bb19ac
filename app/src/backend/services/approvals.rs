//! The approvals inbox: requests waiting for a person's decision, the most urgent first,
//! each with what the requester said and the decisions of earlier stages. Shown on the
//! approvals page and, the first few, on the home page.

use crate::backend::store;
use crate::backend::AppState;
use crate::domain::{AppError, Timestamp};
use crate::model::home::{PastDecision, WaitingApproval};

/// Approvals waiting for a person, the most urgent first.
#[tracing::instrument(skip_all)]
pub async fn waiting_for(
    state: &AppState,
    approver_id: i64,
    limit: i64,
) -> Result<Vec<WaitingApproval>, AppError> {
    let now = state.clock.now();
    let rows = store::request::list_waiting_for(state.db.reader(), approver_id, limit).await?;
    let mut tx = state.db.reader().begin().await?;
    let mut waiting = Vec::with_capacity(rows.len());
    for row in rows {
        let history = store::request::decisions_of(&mut tx, row.request_id)
            .await?
            .into_iter()
            .map(|decision| PastDecision {
                stage_position: decision.stage_position,
                approver_name: decision.approver_name,
                approved: decision.outcome == "approve",
                justification: decision.justification,
                decided_at: Timestamp(decision.decided_at),
            })
            .collect();
        waiting.push(WaitingApproval {
            request_id: row.request_id,
            requester_name: row.requester_name,
            package_name: row.package_name,
            justification: row.justification,
            answers: store::request::decode_answers(row.request_id, &row.answers_json)?,
            history,
            stage_position: row.stage_position,
            due_at: Timestamp(row.due_at),
            days_left: now.days_until(Timestamp(row.due_at)),
        });
    }
    Ok(waiting)
}
