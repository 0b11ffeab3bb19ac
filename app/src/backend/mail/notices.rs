//! Messages that are due because time passed rather than because someone acted:
//! reminders before an approval deadline, warnings before access ends, and each person's
//! daily digest. Each goes out once (a mark written in the same transaction as the
//! message).

use super::render::{render_digest, Notice, Rendered};
use super::{decide_link, extend_link, notify, BASE_URL_PLACEHOLDER};
use crate::backend::store::{self, action_token::ActionSpec};
use crate::backend::workers::Worker;
use crate::backend::AppState;
use crate::domain::time::{MILLIS_PER_DAY, MILLIS_PER_HOUR};
use crate::domain::{AppError, Timestamp};
use std::time::Duration;

const BATCH: i64 = 100;

pub struct Notices {
    state: AppState,
}

impl Notices {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    fn reminder_lead_ms(&self) -> Option<i64> {
        let hours = self.state.settings.mail.approval_reminder_hours;
        (hours > 0).then(|| hours.saturating_mul(MILLIS_PER_HOUR))
    }

    /// Reminds approvers whose decision deadline is near.
    pub async fn send_reminders(&self, now: Timestamp) -> Result<usize, AppError> {
        let Some(lead) = self.reminder_lead_ms() else {
            return Ok(0);
        };
        let mut sent = 0;
        for due in store::request::due_reminders(self.state.db.reader(), now, lead, BATCH).await? {
            let mut tx = self.state.db.begin_write().await?;
            if !store::request::mark_reminded(&mut tx, now, due.task_id).await? {
                continue;
            }
            let requester = store::person::display_name(&mut tx, due.person_id).await?;
            let package = store::policy::package_name(&mut tx, due.package_id).await?;
            let due_at = Timestamp(due.due_at);
            notify(
                &mut tx,
                now,
                due.approver_id,
                &Notice::approval_reminder(&requester, &package, due_at),
                &[decide_link(
                    due.request_id,
                    due.version,
                    due.approver_id,
                    due_at,
                )],
            )
            .await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Warns holders whose access ends within one of the configured numbers of days, the
    /// nearest first (someone 12 hours from the end hears "less than a day", not "14 days").
    pub async fn send_expiry_warnings(&self, now: Timestamp) -> Result<usize, AppError> {
        let mut thresholds = self.state.settings.mail.expiry_warning_days.clone();
        thresholds.sort_unstable();
        thresholds.dedup();
        let mut sent = 0;
        for days in thresholds.into_iter().filter(|days| *days > 0) {
            let pool = self.state.db.reader();
            for ending in store::assignment::ending_within(pool, now, days, BATCH).await? {
                let mut tx = self.state.db.begin_write().await?;
                if !store::assignment::mark_warned(&mut tx, ending.id, ending.version, days).await?
                {
                    continue;
                }
                let end = Timestamp(ending.end_at);
                let actions: Vec<ActionSpec> = if ending.extendable {
                    vec![extend_link(
                        ending.id,
                        ending.version,
                        ending.person_id,
                        end,
                    )]
                } else {
                    Vec::new()
                };
                notify(
                    &mut tx,
                    now,
                    ending.person_id,
                    &Notice::access_ending(&ending.package_name, end, now, ending.extendable),
                    &actions,
                )
                .await?;
                tx.commit().await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Once a day, at the configured hour: each person who chose a digest gets one message
    /// with everything held for them until then.
    pub async fn send_digests(&self, now: Timestamp) -> Result<usize, AppError> {
        let day_start = Timestamp(now.millis().div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY);
        let cutoff = Timestamp(
            day_start.millis()
                + self.state.settings.mail.digest_hour_utc.clamp(0, 23) * MILLIS_PER_HOUR,
        );
        if now < cutoff {
            return Ok(0);
        }
        let mut sent = 0;
        for person_id in
            store::message::people_with_held_items(self.state.db.reader(), cutoff).await?
        {
            let mut tx = self.state.db.begin_write().await?;
            let key = format!("digest:{person_id}:{}", day_start.date_utc());
            if !store::message::mark_notice_sent(&mut tx, now, &key).await? {
                continue;
            }
            let held = store::message::held_items(&mut tx, person_id, cutoff).await?;
            if held.is_empty() {
                continue;
            }
            let (name, address) = store::person::name_and_email(&mut tx, person_id).await?;
            let mut actions: Vec<ActionSpec> = Vec::new();
            let mut items = Vec::with_capacity(held.len());
            let mut folded = Vec::with_capacity(held.len());
            for item in &held {
                // Unreadable stored links would put an item in the digest without its
                // buttons: the item is given up instead, and the administrators see why
                // among the dead messages (as the mailer does with a single message).
                let item_actions: Vec<ActionSpec> = match serde_json::from_str(&item.actions_json) {
                    Ok(item_actions) => item_actions,
                    Err(error) => {
                        let reason = format!("its action links cannot be read ({error})");
                        tracing::error!(message_id = item.id, %reason, "digest item dead-lettered");
                        store::message::dead_letter_held(&mut tx, now, item.id, &reason).await?;
                        continue;
                    }
                };
                folded.push(item.id);
                items.push((
                    Rendered {
                        subject: item.subject.clone(),
                        text: item.body_text.clone(),
                        html: item.body_html.clone(),
                    },
                    item_actions.len(),
                ));
                actions.extend(item_actions);
            }
            if items.is_empty() {
                tx.commit().await?;
                continue;
            }
            let digest = render_digest(&items, &name, day_start, BASE_URL_PLACEHOLDER);
            let actions_json = serde_json::to_string(&actions).unwrap_or_else(|_| "[]".into());
            let digest_id = store::message::enqueue(
                &mut tx,
                now,
                &store::message::NewMessage {
                    to_person_id: Some(person_id),
                    to_address: &address,
                    template: "daily_digest",
                    subject: &digest.subject,
                    body_text: &digest.text,
                    body_html: &digest.html,
                    actions_json: &actions_json,
                    digest_key: None,
                },
            )
            .await?;
            store::message::fold_into_digest(&mut tx, now, &folded, digest_id).await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }
}

#[async_trait::async_trait]
impl Worker for Notices {
    fn name(&self) -> &'static str {
        "notices"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        Ok(self.send_reminders(now).await?
            + self.send_expiry_warnings(now).await?
            + self.send_digests(now).await?)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        match self.reminder_lead_ms() {
            Some(lead) => {
                Ok(store::request::earliest_reminder(self.state.db.reader(), lead).await?)
            }
            None => Ok(None),
        }
    }
}
