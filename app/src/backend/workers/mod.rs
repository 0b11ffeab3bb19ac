//! Background workers, all listed here ([`all`]): each a loop ([`run`]) around a `step`
//! that does the work that is due and says how much it did. Tests call `step` directly to
//! drain a worker instead of sleeping.
//!
//! | Worker | What it does | Where its work lives |
//! |---|---|---|
//! | `expiry` | ends access at its end | `workers/expiry.rs`, `services::assignments` |
//! | `approval-deadlines` | escalates and times out waiting stages | `workers/approval_deadlines.rs`, `services::requests::deadlines` |
//! | `provisioner` | runs provisioning jobs downstream, verifies removals | `services::provisioning` |
//! | `reconciler` | compares downstream groups with assignments, records drift | `services::reconcile` |
//! | `mailer` | sends the outbox by SMTP | `mail::deliver` |
//! | `notices` | reminders, expiry notices and daily digests | `mail::notices` |
//! | `reviews` | starts, reminds, ends and applies access reviews | `workers/reviews.rs`, `services::reviews` |
//! | `session-janitor` | deletes expired sessions | `workers/session_janitor.rs` |
//! | `audit-checkpointer` | writes signed checkpoints of the audit chain | `workers/audit_checkpointer.rs` |

use crate::backend::AppState;
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

mod approval_deadlines;
mod audit_checkpointer;
mod expiry;
mod reviews;
mod session_janitor;

pub use crate::backend::mail::{deliver::Mailer, notices::Notices};
pub use crate::backend::services::{provisioning::Provisioner, reconcile::Reconciler};
pub use approval_deadlines::ApprovalDeadlines;
pub use audit_checkpointer::AuditCheckpointer;
pub use expiry::ExpirySweeper;
pub use reviews::ReviewScheduler;
pub use session_janitor::SessionJanitor;

/// Every worker a running Gatehouse starts, by the settings: the audit checkpointer only
/// with a checkpoint file, the mailer only with an SMTP server (messages wait in the
/// outbox meanwhile). An SMTP setting that cannot be used is an error.
pub fn all(state: &AppState) -> Result<Vec<Arc<dyn Worker>>, String> {
    let mut workers: Vec<Arc<dyn Worker>> = vec![
        Arc::new(ExpirySweeper::new(state.clone())),
        Arc::new(ApprovalDeadlines::new(state.clone())),
        Arc::new(ReviewScheduler::new(state.clone())),
        Arc::new(Provisioner::new(state.clone())),
        Arc::new(Reconciler::new(state.clone())),
        Arc::new(Notices::new(state.clone())),
        Arc::new(SessionJanitor::new(state.clone())),
    ];
    match Mailer::from_settings(state.clone())? {
        Some(mailer) => workers.push(Arc::new(mailer)),
        None => tracing::warn!(
            "no SMTP server is configured (GATEHOUSE_SMTP_HOST): messages wait in the outbox"
        ),
    }
    if let Some(checkpointer) = AuditCheckpointer::from_settings(state.clone()) {
        workers.push(Arc::new(checkpointer));
    }
    Ok(workers)
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
        let step = tracing::info_span!("worker_step", worker = worker.name());
        let handled =
            match tracing::Instrument::instrument(worker.step(state.clock.now()), step).await {
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
        let next_due = if failures == 0 {
            match worker.next_due().await {
                Ok(due) => due,
                Err(error) => {
                    // The idle interval still bounds the wait.
                    tracing::warn!(worker = worker.name(), %error, "cannot tell when work is next due");
                    None
                }
            }
        } else {
            None
        };
        let wait = wait_after_idle_step(
            worker.idle_interval(),
            failures,
            next_due,
            state.clock.now(),
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = woken.changed() => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(worker = worker.name(), "worker stopped");
}

/// How long the loop waits after a step that did nothing: the idle interval at most; after
/// `failures` failed steps in a row half a second, doubling with each (so work that stays
/// due cannot spin); otherwise until the worker's next due instant, when it knows one.
pub fn wait_after_idle_step(
    idle: Duration,
    failures: u32,
    next_due: Option<Timestamp>,
    now: Timestamp,
) -> Duration {
    if failures > 0 {
        let backoff = Duration::from_millis(500 * 2_u64.pow(failures.min(10) - 1));
        return idle.min(backoff);
    }
    match next_due {
        Some(due) => {
            let until_due = due.millis().saturating_sub(now.millis()).max(0);
            idle.min(Duration::from_millis(u64::try_from(until_due).unwrap_or(0)))
        }
        None => idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);
    const NOW: Timestamp = Timestamp(1_000_000);

    #[test]
    fn a_failing_step_backs_off_doubling_up_to_the_idle_interval() {
        let waits: Vec<u64> = (1..=10)
            .map(|failures| {
                // Work that stays overdue must not shorten the pause after a failure.
                wait_after_idle_step(IDLE, failures, Some(Timestamp(0)), NOW).as_millis() as u64
            })
            .collect();
        assert_eq!(
            waits,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(wait_after_idle_step(IDLE, u32::MAX, None, NOW), IDLE);
    }

    #[test]
    fn an_idle_worker_sleeps_until_its_next_due_instant_or_the_idle_interval() {
        let in_ten_seconds = Timestamp(NOW.millis() + 10_000);
        assert_eq!(
            wait_after_idle_step(IDLE, 0, Some(in_ten_seconds), NOW),
            Duration::from_secs(10)
        );
        assert_eq!(
            wait_after_idle_step(IDLE, 0, Some(Timestamp(NOW.millis() + 3_600_000)), NOW),
            IDLE
        );
        assert_eq!(
            wait_after_idle_step(IDLE, 0, Some(Timestamp(0)), NOW),
            Duration::ZERO,
            "overdue work is looked at at once"
        );
        assert_eq!(wait_after_idle_step(IDLE, 0, None, NOW), IDLE);
    }
}
