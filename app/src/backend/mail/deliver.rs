//! The mailer: claims due messages under a lease, mints their action links, and delivers
//! them over SMTP with lettre (or, in development without SMTP, to the development mail
//! page). A failed attempt is retried with capped exponential backoff and jitter; after
//! the retry budget, or on a permanent refusal (5xx), the message is dead-lettered for an
//! administrator to look at and send again. Nobody's action waits for any of this.

use super::{render::fill_actions, SmtpSettings, SmtpTls, BASE_URL_PLACEHOLDER};
use crate::backend::store::{self, action_token::ActionSpec, message::Claimed};
use crate::backend::workers::Worker;
use crate::backend::AppState;
use crate::domain::retry::retry_delay_seconds;
use crate::domain::time::MILLIS_PER_HOUR;
use crate::domain::{AppError, Timestamp};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How long a claimed message is the claiming mailer's alone. A mailer that dies while
/// sending leaves it to be claimed again after this.
const LEASE_MINUTES: i64 = 2;
const BATCH: i64 = 20;

/// Where delivered messages go.
#[derive(Clone)]
pub enum Outlet {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: "delivered" means shown on the development mail page.
    DevMailbox,
}

/// Builds the SMTP transport from its settings.
pub fn smtp_transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.tls {
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|error| format!("SMTP host {:?}: {error}", smtp.host))?,
        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|error| format!("SMTP host {:?}: {error}", smtp.host))?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
    if let (Some(username), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Checks a From address as configured (`Name <address>` or a bare address).
pub fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse::<Mailbox>()
        .map_err(|error| format!("not a valid sender address ({error})"))
}

/// Whether the server refused this message for good: a 5xx about the mail itself (55x:
/// no such mailbox, rejected content...). Other refusals, such as failed authentication
/// (535) or a server not ready, are retried, since fixing the configuration fixes them.
fn refused_for_good(error: &lettre::transport::smtp::Error) -> bool {
    use lettre::transport::smtp::response::Category;
    error.is_permanent()
        && error
            .status()
            .is_some_and(|code| code.category == Category::MailSystem)
}

pub struct Mailer {
    state: AppState,
    outlet: Outlet,
    owner: String,
    from: Mailbox,
}

impl Mailer {
    /// The mailer for the configured outlet; `Ok(None)` when mail has nowhere to go
    /// (production without SMTP: messages wait in the outbox).
    pub fn from_settings(state: AppState) -> Result<Option<Self>, String> {
        let outlet = match (&state.settings.mail.smtp, state.settings.development) {
            (Some(smtp), _) => Outlet::Smtp(smtp_transport(smtp)?),
            (None, true) => Outlet::DevMailbox,
            (None, false) => return Ok(None),
        };
        Ok(Some(Self::new(state, outlet)?))
    }

    pub fn new(state: AppState, outlet: Outlet) -> Result<Self, String> {
        let from = parse_from(&state.settings.mail.from)?;
        use rand::RngCore;
        let owner = format!("mailer-{:016x}", rand::rngs::OsRng.next_u64());
        Ok(Self {
            state,
            outlet,
            owner,
            from,
        })
    }

    fn base_url(&self) -> &str {
        self.state.settings.mail.base_url.trim_end_matches('/')
    }

    /// Mints the message's action links (fresh tokens, stored hashed, replacing those of an
    /// earlier attempt) and fills them and the portal's address into both bodies.
    async fn bodies(
        &self,
        now: Timestamp,
        message: &Claimed,
        specs: Vec<ActionSpec>,
    ) -> Result<(String, String), AppError> {
        let mut urls = Vec::with_capacity(specs.len());
        if !specs.is_empty() {
            let max_hours = self.state.settings.mail.action_link_max_hours;
            let mut tx = self.state.db.begin_write().await?;
            // A retry or a resend: the links of the earlier attempt stop working.
            store::action_token::replace_for_message(&mut tx, message.id).await?;
            for mut spec in specs {
                if max_hours > 0 {
                    spec.expires_at = spec.expires_at.min(
                        now.millis()
                            .saturating_add(max_hours.saturating_mul(MILLIS_PER_HOUR)),
                    );
                }
                let token =
                    store::action_token::mint_for_message(&mut tx, now, &spec, message.id).await?;
                urls.push(format!("{}/act/{token}", self.base_url()));
            }
            tx.commit().await?;
        }
        let fill =
            |body: &str| fill_actions(body, &urls).replace(BASE_URL_PLACEHOLDER, self.base_url());
        Ok((fill(&message.body_text), fill(&message.body_html)))
    }

    fn build(&self, message: &Claimed, text: String, html: String) -> Result<Message, String> {
        let address = message
            .to_address
            .parse()
            .map_err(|error| format!("invalid recipient address: {error}"))?;
        let to = Mailbox::new(message.to_name.clone(), address);
        let host = url::Url::parse(self.base_url())
            .ok()
            .and_then(|url| url.host_str().map(str::to_string))
            .unwrap_or_else(|| "gatehouse.invalid".to_string());
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            // The same id on every attempt, so a receiver can recognise a repeat.
            .message_id(Some(format!("<gatehouse-message-{}@{host}>", message.id)))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|error| format!("cannot build the message: {error}"))
    }

    #[tracing::instrument(skip_all, fields(message_id = message.id))]
    async fn deliver(&self, message: &Claimed) -> Result<(), AppError> {
        let now = self.state.clock.now();
        let db = &self.state.db;
        // Unreadable stored links would make a message without its buttons: it is not
        // sent, and the administrators see why in the mail queue (retrying cannot help).
        let specs: Vec<ActionSpec> = match serde_json::from_str(&message.actions_json) {
            Ok(specs) => specs,
            Err(error) => {
                let reason = format!("its action links cannot be read ({error})");
                tracing::error!(message_id = message.id, %reason, "message dead-lettered");
                store::lease::MESSAGES
                    .fail(db, now, message.id, &self.owner, &reason, None)
                    .await?;
                return Ok(());
            }
        };
        let (text, html) = self.bodies(now, message, specs).await?;
        let transport = match &self.outlet {
            Outlet::DevMailbox => {
                store::message::mark_sent(db, now, message.id, &self.owner, Some((&text, &html)))
                    .await?;
                return Ok(());
            }
            Outlet::Smtp(transport) => transport,
        };
        let built = match self.build(message, text, html) {
            Ok(built) => built,
            Err(error) => {
                tracing::warn!(message_id = message.id, %error, "message cannot be sent; dead-lettered");
                store::lease::MESSAGES
                    .fail(db, now, message.id, &self.owner, &error, None)
                    .await?;
                return Ok(());
            }
        };
        match transport.send(built).await {
            Ok(_) => {
                let done_at = self.state.clock.now();
                if !store::message::mark_sent(db, done_at, message.id, &self.owner, None).await? {
                    tracing::warn!(
                        message_id = message.id,
                        "message sent after its lease ran out"
                    );
                }
            }
            Err(error) => {
                let settings = &self.state.settings.mail;
                let permanent = refused_for_good(&error);
                let retry_at =
                    (!permanent && message.attempts < settings.max_attempts).then(|| {
                        use rand::Rng;
                        let jitter: f64 = rand::thread_rng().gen();
                        let delay = retry_delay_seconds(
                            message.attempts,
                            settings.retry_base_seconds,
                            settings.retry_cap_seconds,
                            jitter,
                        );
                        Timestamp(now.millis().saturating_add(delay.saturating_mul(1000)))
                    });
                let text = error.to_string();
                tracing::warn!(
                    message_id = message.id,
                    attempt = message.attempts,
                    dead = retry_at.is_none(),
                    error = %text,
                    "message delivery failed"
                );
                store::lease::MESSAGES
                    .fail(db, now, message.id, &self.owner, &text, retry_at)
                    .await?;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Worker for Mailer {
    fn name(&self) -> &'static str {
        "mailer"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        let lease_until = now.plus_minutes(LEASE_MINUTES);
        let claimed =
            store::message::claim_due(&self.state.db, now, &self.owner, lease_until, BATCH).await?;
        for message in &claimed {
            self.deliver(message).await?;
        }
        Ok(claimed.len())
    }

    fn idle_interval(&self) -> Duration {
        // Messages are written by other transactions; a short poll delivers them promptly.
        Duration::from_secs(2)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        Ok(store::lease::MESSAGES
            .earliest_due(self.state.db.reader())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_addresses_are_checked() {
        assert!(parse_from("Gatehouse <gatehouse@example.com>").is_ok());
        assert!(parse_from("gatehouse@example.com").is_ok());
        assert!(parse_from("not an address").is_err());
    }
}
