//! Email: what messages say ([`render`]), how they enter the outbox in the caller's
//! transaction ([`notify`]), and how the mailer delivers them ([`deliver`]).

pub mod deliver;
pub mod notices;
pub mod render;

use crate::backend::store::{self, action_token::ActionSpec, Tx};
use crate::domain::Timestamp;
use render::{render_item, render_message, Notice};

/// Stored bodies say `%BASE_URL%` where the portal's address goes; the mailer fills it
/// in at delivery from the configured public URL.
pub const BASE_URL_PLACEHOLDER: &str = "%BASE_URL%";

/// How mail leaves Gatehouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    StartTls,
    /// TLS from the first byte ("SMTPS"), usually port 465.
    Implicit,
    /// No encryption: only for a relay on the same host or network.
    None,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub timeout_seconds: u64,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct MailSettings {
    /// The portal's public URL, for links.
    pub base_url: String,
    /// `None`: no SMTP server configured (development shows messages on its mail page).
    pub smtp: Option<SmtpSettings>,
    /// The From header, e.g. `Gatehouse <gatehouse@example.com>`.
    pub from: String,
    /// Attempts before a message is dead-lettered.
    pub max_attempts: i64,
    /// Backoff after the first failure, doubled each time up to the cap.
    pub retry_base_seconds: i64,
    pub retry_cap_seconds: i64,
    /// Action links stop working after this many hours at most (0: at the natural
    /// deadline, e.g. the stage's decision timeout).
    pub action_link_max_hours: i64,
    /// Approvers are reminded this many hours before the decision deadline (0: never).
    pub approval_reminder_hours: i64,
    /// Holders are warned this many days before their access ends.
    pub expiry_warning_days: Vec<i64>,
    /// The hour (UTC) at which daily digests go out.
    pub digest_hour_utc: i64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:3000".to_string(),
            smtp: None,
            from: "Gatehouse <gatehouse@localhost>".to_string(),
            max_attempts: 10,
            retry_base_seconds: 30,
            retry_cap_seconds: 3600,
            action_link_max_hours: 0,
            approval_reminder_hours: 24,
            expiry_warning_days: vec![14, 1],
            digest_hour_utc: 7,
        }
    }
}

/// Queues `notice` for a person in the caller's transaction: one message, or an item of
/// their daily digest when they chose one. `actions` are the links the notice's buttons
/// use (minted at delivery). People without an email address are skipped.
pub async fn notify(
    tx: &mut Tx,
    now: Timestamp,
    person_id: i64,
    notice: &Notice,
    actions: &[ActionSpec],
) -> Result<(), sqlx::Error> {
    let store::person::Recipient {
        display_name: name,
        email: address,
        mail_digest: digest,
    } = store::person::recipient(tx, person_id).await?;
    if address.trim().is_empty() {
        return Ok(());
    }
    let item = render_item(notice, BASE_URL_PLACEHOLDER);
    let body = if digest {
        item
    } else {
        render_message(&item, &name, BASE_URL_PLACEHOLDER)
    };
    let actions_json = serde_json::to_string(actions).unwrap_or_else(|_| "[]".to_string());
    store::message::enqueue(
        tx,
        now,
        &store::message::NewMessage {
            to_person_id: Some(person_id),
            to_address: &address,
            template: notice.template,
            subject: &body.subject,
            body_text: &body.text,
            body_html: &body.html,
            actions_json: &actions_json,
            digest_key: digest.then_some(store::message::DAILY_DIGEST),
        },
    )
    .await
    .map(|_| ())
}

/// A `decide` link for an approver of a request, valid until the stage's deadline.
pub fn decide_link(request_id: i64, version: i64, approver_id: i64, due: Timestamp) -> ActionSpec {
    ActionSpec {
        purpose: "decide".to_string(),
        subject_kind: "access_request".to_string(),
        subject_id: request_id,
        subject_version: version,
        person_id: approver_id,
        expires_at: due.millis(),
    }
}

/// An `extend` link for the holder of an assignment, valid until the access ends.
pub fn extend_link(assignment_id: i64, version: i64, holder_id: i64, end: Timestamp) -> ActionSpec {
    ActionSpec {
        purpose: "extend".to_string(),
        subject_kind: "assignment".to_string(),
        subject_id: assignment_id,
        subject_version: version,
        person_id: holder_id,
        expires_at: end.millis(),
    }
}

/// A `review` link for a reviewer of an instance's stage, valid until the stage ends: it
/// opens the reviewer's list, and is used up with their first decision through it.
pub fn review_link(
    instance_id: i64,
    stage: i64,
    reviewer_id: i64,
    stage_end: Timestamp,
) -> ActionSpec {
    ActionSpec {
        purpose: "review".to_string(),
        subject_kind: "review_instance".to_string(),
        subject_id: instance_id,
        subject_version: stage,
        person_id: reviewer_id,
        expires_at: stage_end.millis(),
    }
}
