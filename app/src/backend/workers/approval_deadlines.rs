//! The approval-deadlines worker.

use super::Worker;
use crate::backend::{store, AppState};
use crate::domain::{AppError, Timestamp};
use std::time::Duration;

/// Fires approval deadlines, at the deadline and not on page load: a stage whose
/// escalation delay has passed asks its alternates too, and a stage whose decision timeout
/// has passed without a final decision denies the request ("timed out").
pub struct ApprovalDeadlines {
    state: AppState,
}

impl ApprovalDeadlines {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl Worker for ApprovalDeadlines {
    fn name(&self) -> &'static str {
        "approval-deadlines"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        use crate::backend::services::requests;
        let mut fired = 0;
        // Escalations first: a stage that escalates and times out in the same sweep still
        // records that its alternates were asked.
        for (request_id, stage_position) in
            store::request::due_escalations(self.state.db.reader(), now, 100).await?
        {
            if requests::escalate(&self.state, request_id, stage_position).await? {
                fired += 1;
            }
        }
        let due = store::request::overdue_stages(self.state.db.reader(), now, 100).await?;
        for (request_id, stage_position) in due {
            if crate::backend::services::requests::time_out(&self.state, request_id, stage_position)
                .await?
            {
                fired += 1;
            }
        }
        Ok(fired)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        let pool = self.state.db.reader();
        let timeout = store::request::earliest_open_deadline(pool).await?;
        let escalation = store::request::earliest_escalation(pool).await?;
        Ok(timeout.into_iter().chain(escalation).min())
    }
}
