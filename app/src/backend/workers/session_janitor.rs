//! The session-janitor worker.

use super::Worker;
use crate::backend::{store, AppState};
use crate::domain::{AppError, Timestamp};
use std::time::Duration;

/// Deletes expired sessions.
pub struct SessionJanitor {
    state: AppState,
}

impl SessionJanitor {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl Worker for SessionJanitor {
    fn name(&self) -> &'static str {
        "session-janitor"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        let removed = store::session::delete_expired(&self.state.db, now.millis()).await?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(300)
    }
}
