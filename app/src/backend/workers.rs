//! Background workers: each a loop around a `step` that does the work that is due and says
//! how much it did. Tests call `step` directly to drain a worker instead of sleeping.

use crate::backend::{store, AppState};
use crate::domain::{AppError, Timestamp};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[async_trait::async_trait]
pub trait Worker: Send + Sync {
    fn name(&self) -> &'static str;
    /// Does what is due at `now`; returns how many items it handled.
    async fn step(&self, now: Timestamp) -> Result<usize, AppError>;
    /// How long to wait after a step that found nothing to do.
    fn idle_interval(&self) -> Duration;
}

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

/// Runs a worker until `shutdown` turns true. A failed step is logged and retried after
/// the idle interval; a step that did work is followed at once by another.
pub async fn run(worker: Arc<dyn Worker>, state: AppState, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(worker = worker.name(), "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let handled = match worker.step(state.clock.now()).await {
            Ok(handled) => handled,
            Err(error) => {
                tracing::warn!(worker = worker.name(), %error, "worker step failed");
                0
            }
        };
        if handled > 0 {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(worker.idle_interval()) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(worker = worker.name(), "worker stopped");
}
