//! The audit-checkpointer worker.

use super::Worker;
use crate::backend::AppState;
use crate::domain::{AppError, Timestamp};
use std::time::Duration;

/// Writes a signed checkpoint of the audit chain head outside the database (the checkpoint
/// file and the log) about once a minute while the chain moves, so that events deleted at
/// the tail are found by the next verification (services/audit.rs).
pub struct AuditCheckpointer {
    state: AppState,
    path: std::path::PathBuf,
    last_written: std::sync::Mutex<Option<Timestamp>>,
}

impl AuditCheckpointer {
    /// None when the settings name no checkpoint file.
    pub fn from_settings(state: AppState) -> Option<Self> {
        let path = state.settings.audit_checkpoint_file.clone()?;
        Some(Self {
            state,
            path,
            last_written: std::sync::Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl Worker for AuditCheckpointer {
    fn name(&self) -> &'static str {
        "audit-checkpointer"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        let recent = self
            .last_written
            .lock()
            .map(|last| last.is_some_and(|at| now.millis() - at.millis() < 60_000))
            .unwrap_or(false);
        if recent {
            return Ok(0);
        }
        let written =
            crate::backend::services::audit::write_checkpoint(&self.state.db, &self.path, now)
                .await?;
        if written {
            if let Ok(mut last) = self.last_written.lock() {
                *last = Some(now);
            }
        }
        // One checkpoint a step at most; the loop need not come straight back.
        Ok(0)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(60)
    }
}
