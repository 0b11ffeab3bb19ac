//! What every server function and worker gets from context: the database, the clock and the
//! settings that change behaviour at run time. Built once by the server at startup.

use super::{Clock, Db};
use std::sync::Arc;

/// Run-time settings the backend needs (the server's configuration holds the rest).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Development mode: the development banner, the development mail page.
    pub development: bool,
    /// "Choose a demo person" sign-in. Refused at startup outside development mode.
    pub dev_sign_in: bool,
    /// Absolute lifetime of a session from sign-in, in minutes.
    pub session_absolute_minutes: i64,
    /// How long administrator and auditor roles from the identity provider hold after
    /// sign-in before the provider must confirm them again, in minutes.
    pub provider_role_minutes: i64,
    /// The company identity provider's origin when OpenID Connect sign-in is configured
    /// (forms may send the browser there: sign-in and sign-out).
    pub oidc_origin: Option<String>,
    /// Email: where it goes, retries, reminders, warnings and digests.
    pub mail: crate::backend::mail::MailSettings,
    /// Connector secrets from the environment (`GATEHOUSE_SECRET_<NAME>`), by name.
    pub connector_secrets: Secrets,
    /// How often each connector is reconciled.
    pub reconcile_minutes: i64,
    /// A removal not verified this long after its access ended raises the alarm.
    pub removal_alarm_seconds: i64,
    /// Where signed checkpoints of the audit chain go, outside the database (none: no
    /// checkpoints, as in tests of other things).
    pub audit_checkpoint_file: Option<std::path::PathBuf>,
}

/// Secrets by name. Never printed: `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct Secrets(std::collections::HashMap<String, String>);

impl Secrets {
    pub fn new(secrets: std::collections::HashMap<String, String>) -> Self {
        Self(secrets)
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.get(name)
    }

    /// The one target the secret `name` may be sent to (`GATEHOUSE_SECRET_<name>_URL`),
    /// when the operator pinned it.
    pub fn pinned_url(&self, name: &str) -> Option<&String> {
        self.0
            .get(&format!("{name}_URL"))
            .filter(|url| !url.trim().is_empty())
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("Secrets").field(&names).finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            development: false,
            dev_sign_in: false,
            session_absolute_minutes: 12 * 60,
            provider_role_minutes: 10,
            oidc_origin: None,
            mail: crate::backend::mail::MailSettings::default(),
            connector_secrets: Secrets::default(),
            reconcile_minutes: 60,
            removal_alarm_seconds: 60,
            audit_checkpoint_file: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// Wakes the scheduler when a service commits a deadline that may be earlier than the
    /// one it sleeps towards.
    pub scheduler_wakeup: Wakeup,
}

impl AppState {
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self {
            db,
            clock,
            settings: Arc::new(settings),
            scheduler_wakeup: Wakeup::default(),
        }
    }
}

/// Wakes every worker loop at once. Each loop holds its own receiver, so a wake-up is
/// neither lost (one sent while a worker was busy is seen when it next waits) nor taken by
/// one worker from another.
#[derive(Debug, Clone)]
pub struct Wakeup(Arc<tokio::sync::watch::Sender<u64>>);

impl Default for Wakeup {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(0)))
    }
}

impl Wakeup {
    /// A deadline that may be earlier than the one the workers sleep towards was written.
    pub fn notify(&self) {
        self.0
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }
}
