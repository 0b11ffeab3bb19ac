//! Assembles the home page of one person from the store.

use crate::backend::store::{self, person::PersonRow};
use crate::backend::AppState;
use crate::domain::time::elapsed_percent;
use crate::domain::{AppError, Timestamp};
use crate::model::home::{HeldAccess, HomeView, OwnRequest, PastDecision, WaitingApproval};

#[tracing::instrument(skip_all, fields(person_id = person.id))]
pub async fn load(state: &AppState, person: &PersonRow) -> Result<HomeView, AppError> {
    let now = state.clock.now();
    let pool = state.db.reader();
    let access = store::assignment::list_held_by(pool, person.id)
        .await?
        .into_iter()
        .map(|row| {
            let start_at = Timestamp(row.start_at);
            let end_at = row.end_at.map(Timestamp);
            HeldAccess {
                assignment_id: row.id,
                package_name: row.package_name,
                catalog_name: row.catalog_name,
                status: row.status,
                start_at,
                end_at,
                elapsed_percent: end_at.map(|end| elapsed_percent(start_at, end, now)),
                days_left: end_at.map(|end| now.days_until(end)),
            }
        })
        .collect();
    let requests = store::request::list_for_person(pool, person.id, 20)
        .await?
        .into_iter()
        .map(|row| OwnRequest {
            request_id: row.id,
            package_name: row.package_name,
            for_person_name: row.for_person_name,
            status: row.status,
            current_stage: row.current_stage,
            stage_count: row.stage_count,
            submitted_at: Timestamp(row.created_at),
        })
        .collect();
    let waiting = waiting_for(state, person.id, 50).await?;
    Ok(HomeView {
        display_name: person.display_name.clone(),
        access,
        requests,
        waiting,
    })
}

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
