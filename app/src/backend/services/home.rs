//! Assembles the home page of one person from the store.

use crate::backend::store::{self, person::PersonRow};
use crate::backend::AppState;
use crate::domain::time::elapsed_percent;
use crate::domain::{AppError, Timestamp};
use crate::model::home::{HeldAccess, HomeView, OwnRequest};

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
    let waiting = super::approvals::waiting_for(state, person.id, 50).await?;
    Ok(HomeView {
        display_name: person.display_name.clone(),
        access,
        requests,
        waiting,
    })
}
