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
    /// How long to wait at most after a step that found nothing to do (the safety net).
    fn idle_interval(&self) -> Duration;
    /// The earliest instant at which work becomes due, when the worker knows it; the loop
    /// then wakes at that instant instead of waiting the whole idle interval.
    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        Ok(None)
    }
}

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
        "expiry-sweeper"
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

/// Runs a worker until `shutdown` turns true. A step that did work is followed at once by
/// another. A failed step is logged and retried after half a second, doubling with each
/// failure in a row up to the idle interval (work that stays due must not spin).
pub async fn run(worker: Arc<dyn Worker>, state: AppState, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(worker = worker.name(), "worker started");
    let mut woken = state.scheduler_wakeup.subscribe();
    let mut failures: u32 = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let handled = match worker.step(state.clock.now()).await {
            Ok(handled) => {
                failures = 0;
                handled
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(worker = worker.name(), %error, failures, "worker step failed");
                0
            }
        };
        if handled > 0 {
            continue;
        }
        let mut wait = worker.idle_interval();
        if failures > 0 {
            let backoff = Duration::from_millis(500 * 2_u64.pow(failures.min(10) - 1));
            wait = wait.min(backoff);
        } else if let Ok(Some(due)) = worker.next_due().await {
            let until_due = due
                .millis()
                .saturating_sub(state.clock.now().millis())
                .max(0);
            wait = wait.min(Duration::from_millis(u64::try_from(until_due).unwrap_or(0)));
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = woken.changed() => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(worker = worker.name(), "worker stopped");
}
