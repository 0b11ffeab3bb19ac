//! The reviews worker.

use super::Worker;
use crate::backend::{store, AppState};
use crate::domain::{AppError, Timestamp};
use std::time::Duration;

/// Runs access reviews at their times: starts instances at their start (to the second,
/// woken by the scheduler; one instance made however many Gatehouses run), fills them
/// batch by batch, sends reminders, ends stages with their default decision, opens the
/// next stage, and applies results. Sweeps every minute anyway (reminders, restarts).
pub struct ReviewScheduler {
    state: AppState,
}

impl ReviewScheduler {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl Worker for ReviewScheduler {
    fn name(&self) -> &'static str {
        "reviews"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        use crate::backend::services::reviews;
        let now = if self.state.clock.defers_to_database() {
            self.state.db.now().await?
        } else {
            now
        };
        let mut done = reviews::start_due(&self.state, now).await?;
        done += reviews::snapshot_starting(&self.state, now).await?;
        done += reviews::send_reminders(&self.state, now).await?;
        let ended = reviews::end_due_stages(&self.state, now).await?;
        if ended > 0 {
            // Removal jobs, and messages, are waiting.
            self.state.scheduler_wakeup.notify();
        }
        Ok(done + ended)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        let pool = self.state.db.reader();
        let start = store::review::earliest_start(pool).await?;
        let stage_end = store::review_instance::earliest_stage_end(pool).await?;
        Ok(start.into_iter().chain(stage_end).min())
    }
}
