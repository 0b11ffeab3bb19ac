//! The expiry worker: access ends at its end.

use super::Worker;
use crate::backend::{store, AppState};
use crate::domain::{AppError, Timestamp};
use std::time::Duration;

/// Ends access at its end: sleeps until the earliest end of an active assignment, is woken
/// when a service writes an earlier one, ends what is due by the database's clock in
/// batches of up to 1 000 (written 100 assignments to a transaction, each with its own
/// audit event, removal jobs and message: `assignments::expire_many`), wakes the provisioner, and sweeps every minute anyway as a safety net
/// (restarts, clock jumps).
pub struct ExpirySweeper {
    state: AppState,
}

impl ExpirySweeper {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl Worker for ExpirySweeper {
    fn name(&self) -> &'static str {
        "expiry"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        use crate::backend::services::assignments;
        let now = if self.state.clock.defers_to_database() {
            self.state.db.now().await?
        } else {
            now
        };
        let due = store::assignment::due_to_end(self.state.db.reader(), now, 1000).await?;
        let ended = assignments::expire_many(&self.state, &due, now).await?;
        if ended > 0 {
            // The provisioner has removal jobs to run.
            self.state.scheduler_wakeup.notify();
        }
        Ok(ended)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        Ok(store::assignment::earliest_end(self.state.db.reader()).await?)
    }
}
