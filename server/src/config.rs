//! Configuration: `GATEHOUSE_*` environment variables over an optional TOML file named by
//! `GATEHOUSE_CONFIG` (keys are the variable names without the prefix, in lower case).
//! Every key is listed with its default in `.env.example`. Secrets are never printed: the
//! `Debug` output redacts the database URL's password.

use app::backend::db::redact_url;
use app::backend::mail::{MailSettings, SmtpSettings, SmtpTls};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub public_url: url::Url,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub site_root: String,
    pub dev_sign_in: bool,
    pub seed_demo: bool,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub session_idle_minutes: i64,
    pub session_absolute_minutes: i64,
    /// Minutes that roles from the identity provider hold before it must confirm them.
    pub provider_role_minutes: i64,
    pub body_limit_bytes: usize,
    /// Sign-in with the company identity provider; none when no issuer is configured.
    pub oidc: Option<OidcConfig>,
    pub mail: MailSettings,
    /// `GATEHOUSE_SECRET_<NAME>` variables: connector secrets, referenced by name.
    pub secrets: app::backend::state::Secrets,
    pub reconcile_minutes: i64,
    /// A removal not verified this long after its access ended raises the alarm.
    pub removal_alarm_seconds: i64,
    /// Bearer token for `/metrics`; without one the endpoint is off. Never printed.
    pub metrics_token: Option<String>,
    /// Keys the audit chain and signs its checkpoints. Never printed, never stored.
    pub audit_key: app::domain::audit::AuditKey,
    /// Where signed checkpoints of the audit chain are appended (outside the database).
    pub audit_checkpoint_file: PathBuf,
}

/// The audit key of development mode when none is configured. Production refuses to
/// start without a key of its own.
pub const DEVELOPMENT_AUDIT_KEY: &str = "gatehouse-development-audit-key-not-for-production";

/// The OpenID Connect relying party's settings. The client secret is never printed.
#[derive(Clone)]
pub struct OidcConfig {
    /// Exactly as the provider spells it in discovery (no trailing slash added).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// Also ask the userinfo endpoint for claims missing from the ID token.
    pub userinfo: bool,
    pub claim_email: String,
    pub claim_name: String,
    pub claim_groups: String,
    pub claim_employee_id: String,
    pub identity: app::backend::services::identity::IdentityPolicy,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("bind", &self.bind)
            .field("public_url", &self.public_url.as_str())
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("data_dir", &self.data_dir)
            .field("site_root", &self.site_root)
            .field("dev_sign_in", &self.dev_sign_in)
            .field("seed_demo", &self.seed_demo)
            .field("log_format", &self.log_format)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_minutes", &self.session_absolute_minutes)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("oidc", &self.oidc)
            .field("mail", &self.mail)
            .field("secrets", &self.secrets)
            .field("audit_key", &self.audit_key)
            .field("audit_checkpoint_file", &self.audit_checkpoint_file)
            .finish()
    }
}

/// Every key with its default, in the order of `.env.example`.
pub const KEYS: &[(&str, &str)] = &[
    ("ENV", "production"),
    ("BIND", "127.0.0.1:3000"),
    ("PUBLIC_URL", "http://127.0.0.1:3000"),
    ("DATABASE_URL", "sqlite://data/gatehouse.db"),
    ("DATA_DIR", "data"),
    ("SITE_ROOT", "target/site"),
    ("DEV_SIGN_IN", "false"),
    ("SEED_DEMO", "false"),
    ("LOG_FORMAT", "text"),
    ("LOG", "info,sqlx=warn,tower_sessions=warn"),
    ("SESSION_IDLE_MINUTES", "60"),
    ("SESSION_ABSOLUTE_MINUTES", "720"),
    ("BODY_LIMIT_BYTES", "1048576"),
    ("OIDC_ISSUER", ""),
    ("OIDC_CLIENT_ID", ""),
    ("OIDC_CLIENT_SECRET", ""),
    ("OIDC_SCOPES", "email profile"),
    ("OIDC_USERINFO", "false"),
    ("OIDC_ALLOW_UNKNOWN", "false"),
    ("OIDC_CLAIM_EMAIL", "email"),
    ("OIDC_CLAIM_NAME", "name"),
    ("OIDC_CLAIM_GROUPS", "groups"),
    ("OIDC_CLAIM_EMPLOYEE_ID", "employee_id"),
    ("OIDC_ADMIN_GROUPS", ""),
    ("OIDC_AUDITOR_GROUPS", ""),
    ("OIDC_ADMIN_EMAILS", ""),
    ("OIDC_AUDITOR_EMAILS", ""),
    ("OIDC_ROLE_MINUTES", "10"),
    ("OIDC_MANAGED_CLAIMS", ""),
    ("OIDC_REQUIRED_TENANT", ""),
    ("OIDC_REQUIRED_HOSTED_DOMAIN", ""),
    ("SMTP_HOST", ""),
    ("SMTP_PORT", "587"),
    ("SMTP_TLS", "starttls"),
    ("SMTP_USERNAME", ""),
    ("SMTP_PASSWORD", ""),
    ("SMTP_TIMEOUT_SECONDS", "10"),
    ("MAIL_FROM", "Gatehouse <gatehouse@localhost>"),
    ("MAIL_MAX_ATTEMPTS", "10"),
    ("MAIL_RETRY_BASE_SECONDS", "30"),
    ("MAIL_RETRY_CAP_SECONDS", "3600"),
    ("ACTION_LINK_MAX_HOURS", "0"),
    ("APPROVAL_REMINDER_HOURS", "24"),
    ("EXPIRY_WARNING_DAYS", "14,1"),
    ("DIGEST_HOUR_UTC", "7"),
    ("RECONCILE_MINUTES", "60"),
    ("REMOVAL_ALARM_SECONDS", "60"),
    ("METRICS_TOKEN", ""),
    ("AUDIT_KEY", ""),
    ("AUDIT_CHECKPOINT_FILE", ""),
];

fn list(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

fn load_oidc(sources: &Sources) -> Result<Option<OidcConfig>, String> {
    let issuer = sources.get("OIDC_ISSUER").trim().to_string();
    if issuer.is_empty() {
        return Ok(None);
    }
    url::Url::parse(&issuer)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| {
            format!("GATEHOUSE_OIDC_ISSUER must be an http or https URL (got {issuer:?})")
        })?;
    let client_id = sources.get("OIDC_CLIENT_ID").trim().to_string();
    let client_secret = sources.get("OIDC_CLIENT_SECRET").trim().to_string();
    if client_id.is_empty() || client_secret.is_empty() {
        return Err(
            "GATEHOUSE_OIDC_CLIENT_ID and GATEHOUSE_OIDC_CLIENT_SECRET are required with GATEHOUSE_OIDC_ISSUER"
                .to_string(),
        );
    }
    let claim = |key: &str| -> Result<String, String> {
        let name = sources.get(key).trim().to_string();
        if name.is_empty() {
            Err(format!("GATEHOUSE_{key} must name a claim"))
        } else {
            Ok(name)
        }
    };
    let managed = list(&sources.get("OIDC_MANAGED_CLAIMS"));
    if let Some(other) = managed
        .iter()
        .find(|claim| !matches!(claim.as_str(), "email" | "employee_id"))
    {
        return Err(format!(
            "GATEHOUSE_OIDC_MANAGED_CLAIMS may name email and employee_id (got {other:?})"
        ));
    }
    let optional = |key: &str| Some(sources.get(key).trim().to_string()).filter(|v| !v.is_empty());
    let required_tenant = optional("OIDC_REQUIRED_TENANT");
    let required_hosted_domain = optional("OIDC_REQUIRED_HOSTED_DOMAIN");
    // A claim trusted without the provider's verification is safe only where the provider
    // alone sets it, and only for accounts of the company's own tenant or domain.
    if !managed.is_empty() && required_tenant.is_none() && required_hosted_domain.is_none() {
        return Err(
            "GATEHOUSE_OIDC_MANAGED_CLAIMS needs GATEHOUSE_OIDC_REQUIRED_TENANT or GATEHOUSE_OIDC_REQUIRED_HOSTED_DOMAIN: otherwise accounts of any organisation could claim your people's addresses"
                .to_string(),
        );
    }
    Ok(Some(OidcConfig {
        issuer,
        client_id,
        client_secret,
        scopes: list(&sources.get("OIDC_SCOPES"))
            .into_iter()
            .filter(|scope| scope != "openid")
            .collect(),
        userinfo: parse_bool("OIDC_USERINFO", &sources.get("OIDC_USERINFO"))?,
        claim_email: claim("OIDC_CLAIM_EMAIL")?,
        claim_name: claim("OIDC_CLAIM_NAME")?,
        claim_groups: claim("OIDC_CLAIM_GROUPS")?,
        claim_employee_id: claim("OIDC_CLAIM_EMPLOYEE_ID")?,
        identity: app::backend::services::identity::IdentityPolicy {
            allow_unknown: parse_bool("OIDC_ALLOW_UNKNOWN", &sources.get("OIDC_ALLOW_UNKNOWN"))?,
            admin_groups: list(&sources.get("OIDC_ADMIN_GROUPS")),
            auditor_groups: list(&sources.get("OIDC_AUDITOR_GROUPS")),
            admin_emails: list(&sources.get("OIDC_ADMIN_EMAILS")),
            auditor_emails: list(&sources.get("OIDC_AUDITOR_EMAILS")),
            email_managed: managed.iter().any(|claim| claim == "email"),
            employee_id_managed: managed.iter().any(|claim| claim == "employee_id"),
            required_tenant,
            required_hosted_domain,
        },
    }))
}

/// Where values come from: the environment first, then the file, then the default.
pub struct Sources {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
}

impl Sources {
    /// Reads the process environment and, if `GATEHOUSE_CONFIG` names one, the TOML file.
    pub fn from_process() -> Result<Self, String> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let file = match env.get("GATEHOUSE_CONFIG") {
            Some(path) if !path.is_empty() => read_file(path)?,
            _ => HashMap::new(),
        };
        Ok(Self { env, file })
    }

    pub fn from_maps(env: HashMap<String, String>, file: HashMap<String, String>) -> Self {
        Self { env, file }
    }

    /// Every `GATEHOUSE_SECRET_<NAME>` of the environment, by `<NAME>`.
    fn secrets(&self) -> HashMap<String, String> {
        self.env
            .iter()
            .filter_map(|(key, value)| {
                key.strip_prefix("GATEHOUSE_SECRET_")
                    .filter(|name| !name.is_empty())
                    .map(|name| (name.to_string(), value.clone()))
            })
            .collect()
    }

    fn get(&self, key: &str) -> String {
        let variable = format!("GATEHOUSE_{key}");
        if let Some(value) = self.env.get(&variable) {
            return value.clone();
        }
        // cargo-leptos tells the server where the site is through LEPTOS_SITE_ROOT.
        if key == "SITE_ROOT" {
            if let Some(value) = self.env.get("LEPTOS_SITE_ROOT") {
                return value.clone();
            }
        }
        if let Some(value) = self.file.get(&key.to_lowercase()) {
            return value.clone();
        }
        KEYS.iter()
            .find(|(name, _)| *name == key)
            .map(|(_, default)| (*default).to_string())
            .unwrap_or_default()
    }
}

fn read_file(path: &str) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the configuration file {path}: {error}"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|error| format!("the configuration file {path} is not valid TOML: {error}"))?;
    let mut values = HashMap::new();
    for (key, value) in table {
        if !KEYS.iter().any(|(name, _)| name.to_lowercase() == key) {
            return Err(format!(
                "the configuration file {path} has an unknown key {key:?}"
            ));
        }
        let text = match value {
            toml::Value::String(text) => text,
            other => other.to_string(),
        };
        values.insert(key, text);
    }
    Ok(values)
}

fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(format!(
            "GATEHOUSE_{key} must be true or false (got {value:?})"
        )),
    }
}

fn parse_at_least_zero(key: &str, value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(number) if number >= 0 => Ok(number),
        _ => Err(format!(
            "GATEHOUSE_{key} must be a whole number, zero or more (got {value:?})"
        )),
    }
}

/// Mail: the SMTP server (optional), retries, reminders, warnings and digests.
fn load_mail(sources: &Sources, public_url: &url::Url) -> Result<MailSettings, String> {
    let host = sources.get("SMTP_HOST").trim().to_string();
    let tls = match sources.get("SMTP_TLS").trim().to_lowercase().as_str() {
        "starttls" => SmtpTls::StartTls,
        "tls" | "implicit" => SmtpTls::Implicit,
        "none" => SmtpTls::None,
        other => {
            return Err(format!(
                "GATEHOUSE_SMTP_TLS must be starttls, tls or none (got {other:?})"
            ))
        }
    };
    let port = parse_positive("SMTP_PORT", &sources.get("SMTP_PORT"))?;
    let port = u16::try_from(port)
        .map_err(|_| format!("GATEHOUSE_SMTP_PORT must be a port number (got {port})"))?;
    let non_empty = |key: &str| Some(sources.get(key)).filter(|value| !value.is_empty());
    let username = non_empty("SMTP_USERNAME");
    let password = non_empty("SMTP_PASSWORD");
    if username.is_some() != password.is_some() {
        return Err(
            "GATEHOUSE_SMTP_USERNAME and GATEHOUSE_SMTP_PASSWORD go together: set both or neither"
                .to_string(),
        );
    }
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1");
    if tls == SmtpTls::None && username.is_some() && !loopback {
        return Err("GATEHOUSE_SMTP_TLS=none would send the SMTP password unencrypted to another host; use starttls or tls".to_string());
    }
    let from = sources.get("MAIL_FROM");
    app::backend::mail::deliver::parse_from(&from)
        .map_err(|error| format!("GATEHOUSE_MAIL_FROM is {error} (got {from:?})"))?;
    let mut expiry_warning_days = Vec::new();
    for part in list(&sources.get("EXPIRY_WARNING_DAYS")) {
        expiry_warning_days.push(parse_positive("EXPIRY_WARNING_DAYS", &part)?);
    }
    let digest_hour_utc = parse_at_least_zero("DIGEST_HOUR_UTC", &sources.get("DIGEST_HOUR_UTC"))?;
    if digest_hour_utc > 23 {
        return Err(format!(
            "GATEHOUSE_DIGEST_HOUR_UTC must be an hour from 0 to 23 (got {digest_hour_utc})"
        ));
    }
    Ok(MailSettings {
        base_url: public_url.as_str().trim_end_matches('/').to_string(),
        smtp: (!host.is_empty()).then(|| SmtpSettings {
            host,
            port,
            tls,
            username,
            password,
            timeout_seconds: u64::try_from(
                parse_positive("SMTP_TIMEOUT_SECONDS", &sources.get("SMTP_TIMEOUT_SECONDS"))
                    .unwrap_or(10),
            )
            .unwrap_or(10),
        }),
        from,
        max_attempts: parse_positive("MAIL_MAX_ATTEMPTS", &sources.get("MAIL_MAX_ATTEMPTS"))?,
        retry_base_seconds: parse_positive(
            "MAIL_RETRY_BASE_SECONDS",
            &sources.get("MAIL_RETRY_BASE_SECONDS"),
        )?,
        retry_cap_seconds: parse_positive(
            "MAIL_RETRY_CAP_SECONDS",
            &sources.get("MAIL_RETRY_CAP_SECONDS"),
        )?,
        action_link_max_hours: parse_at_least_zero(
            "ACTION_LINK_MAX_HOURS",
            &sources.get("ACTION_LINK_MAX_HOURS"),
        )?,
        approval_reminder_hours: parse_at_least_zero(
            "APPROVAL_REMINDER_HOURS",
            &sources.get("APPROVAL_REMINDER_HOURS"),
        )?,
        expiry_warning_days,
        digest_hour_utc,
    })
}

fn parse_positive(key: &str, value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(number) if number > 0 => Ok(number),
        _ => Err(format!(
            "GATEHOUSE_{key} must be a whole number above zero (got {value:?})"
        )),
    }
}

impl Config {
    /// Builds and checks the configuration, or says in one sentence what is wrong.
    pub fn load(sources: &Sources) -> Result<Self, String> {
        let environment = match sources.get("ENV").trim().to_lowercase().as_str() {
            "development" | "dev" => Environment::Development,
            "production" | "prod" => Environment::Production,
            other => {
                return Err(format!(
                    "GATEHOUSE_ENV must be development or production (got {other:?})"
                ))
            }
        };
        let bind_text = sources.get("BIND");
        let bind: SocketAddr = bind_text.trim().parse().map_err(|_| {
            format!("GATEHOUSE_BIND must be an address and port like 127.0.0.1:3000 (got {bind_text:?})")
        })?;
        let public_text = sources.get("PUBLIC_URL");
        let public_url = url::Url::parse(public_text.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                format!("GATEHOUSE_PUBLIC_URL must be an http or https URL (got {public_text:?})")
            })?;
        let database_url = sources.get("DATABASE_URL").trim().to_string();
        app::backend::Backend::from_url(&database_url)?;
        let dev_sign_in = parse_bool("DEV_SIGN_IN", &sources.get("DEV_SIGN_IN"))?;
        let seed_demo = parse_bool("SEED_DEMO", &sources.get("SEED_DEMO"))?;
        if environment == Environment::Production && dev_sign_in {
            return Err(
                "GATEHOUSE_DEV_SIGN_IN=true is refused when GATEHOUSE_ENV=production: development sign-in lets anyone act as anyone"
                    .to_string(),
            );
        }
        if environment == Environment::Production && seed_demo {
            return Err(
                "GATEHOUSE_SEED_DEMO=true is refused when GATEHOUSE_ENV=production: the demo organisation brings 30 people, administrators among them"
                    .to_string(),
            );
        }
        let log_format = match sources.get("LOG_FORMAT").trim().to_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(format!(
                    "GATEHOUSE_LOG_FORMAT must be text or json (got {other:?})"
                ))
            }
        };
        let body_limit = parse_positive("BODY_LIMIT_BYTES", &sources.get("BODY_LIMIT_BYTES"))?;
        let mail = load_mail(sources, &public_url)?;
        let audit_key = match sources.get("AUDIT_KEY").trim() {
            "" if environment == Environment::Development => {
                app::domain::audit::AuditKey::new(DEVELOPMENT_AUDIT_KEY)
            }
            "" => Err(
                "GATEHOUSE_AUDIT_KEY is required when GATEHOUSE_ENV=production: it keys the audit trail so that nobody who can write to the database can rewrite it (make one with `openssl rand -hex 32` and keep it out of the database)"
                    .to_string(),
            ),
            key if key == DEVELOPMENT_AUDIT_KEY && environment == Environment::Production => Err(
                "GATEHOUSE_AUDIT_KEY must not be the development key in production".to_string(),
            ),
            key => app::domain::audit::AuditKey::new(key)
                .map_err(|reason| format!("GATEHOUSE_AUDIT_KEY: {reason}")),
        }?;
        let data_dir = PathBuf::from(sources.get("DATA_DIR"));
        let audit_checkpoint_file = match sources.get("AUDIT_CHECKPOINT_FILE").trim() {
            "" => data_dir.join("audit-checkpoints.jsonl"),
            path => PathBuf::from(path),
        };
        Ok(Self {
            environment,
            bind,
            public_url,
            database_url,
            data_dir,
            site_root: sources.get("SITE_ROOT"),
            dev_sign_in,
            seed_demo,
            log_format,
            log_filter: sources.get("LOG"),
            session_idle_minutes: parse_positive(
                "SESSION_IDLE_MINUTES",
                &sources.get("SESSION_IDLE_MINUTES"),
            )?,
            session_absolute_minutes: parse_positive(
                "SESSION_ABSOLUTE_MINUTES",
                &sources.get("SESSION_ABSOLUTE_MINUTES"),
            )?,
            provider_role_minutes: parse_positive(
                "OIDC_ROLE_MINUTES",
                &sources.get("OIDC_ROLE_MINUTES"),
            )?,
            body_limit_bytes: usize::try_from(body_limit).unwrap_or(usize::MAX),
            oidc: load_oidc(sources)?,
            mail,
            secrets: app::backend::state::Secrets::new(sources.secrets()),
            reconcile_minutes: parse_positive(
                "RECONCILE_MINUTES",
                &sources.get("RECONCILE_MINUTES"),
            )?,
            removal_alarm_seconds: parse_positive(
                "REMOVAL_ALARM_SECONDS",
                &sources.get("REMOVAL_ALARM_SECONDS"),
            )?,
            metrics_token: Some(sources.get("METRICS_TOKEN"))
                .filter(|token| !token.trim().is_empty()),
            audit_key,
            audit_checkpoint_file,
        })
    }

    pub fn is_development(&self) -> bool {
        self.environment == Environment::Development
    }

    /// The origin browsers send for this site's own pages, e.g. `http://127.0.0.1:3000`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    pub fn settings(&self) -> app::backend::Settings {
        app::backend::Settings {
            development: self.is_development(),
            dev_sign_in: self.dev_sign_in,
            session_absolute_minutes: self.session_absolute_minutes,
            provider_role_minutes: self.provider_role_minutes,
            oidc_origin: self.oidc.as_ref().and_then(|oidc| {
                url::Url::parse(&oidc.issuer)
                    .ok()
                    .map(|url| url.origin().ascii_serialization())
            }),
            mail: self.mail.clone(),
            connector_secrets: self.secrets.clone(),
            reconcile_minutes: self.reconcile_minutes,
            removal_alarm_seconds: self.removal_alarm_seconds,
            audit_checkpoint_file: Some(self.audit_checkpoint_file.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)], file: &[(&str, &str)]) -> Result<Config, String> {
        let mut env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Production needs an audit key; the tests that are about it remove this one.
        env.entry("GATEHOUSE_AUDIT_KEY".to_string())
            .or_insert_with(|| "a test audit key, thirty-two characters or more".to_string());
        env.retain(|_, value| value != "<unset>");
        let file = file
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(&Sources::from_maps(env, file))
    }

    #[test]
    fn defaults_are_safe_for_production() {
        let config = load(&[], &[]).unwrap();
        assert_eq!(config.environment, Environment::Production);
        assert!(!config.dev_sign_in);
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/gatehouse.db");
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_the_default() {
        let config = load(
            &[("GATEHOUSE_BIND", "127.0.0.1:4000")],
            &[("bind", "127.0.0.1:5000"), ("session_idle_minutes", "15")],
        )
        .unwrap();
        assert_eq!(config.bind.port(), 4000);
        assert_eq!(config.session_idle_minutes, 15);
    }

    #[test]
    fn development_sign_in_is_refused_in_production() {
        let refusal = load(&[("GATEHOUSE_DEV_SIGN_IN", "true")], &[]).unwrap_err();
        assert!(
            refusal.contains("refused when GATEHOUSE_ENV=production"),
            "{refusal}"
        );
        assert!(load(
            &[
                ("GATEHOUSE_DEV_SIGN_IN", "true"),
                ("GATEHOUSE_ENV", "development")
            ],
            &[]
        )
        .is_ok());
    }

    #[test]
    fn production_needs_an_audit_key_of_its_own() {
        let refusal = load(&[("GATEHOUSE_AUDIT_KEY", "<unset>")], &[]).unwrap_err();
        assert!(
            refusal.contains("GATEHOUSE_AUDIT_KEY is required"),
            "{refusal}"
        );
        let refusal = load(&[("GATEHOUSE_AUDIT_KEY", DEVELOPMENT_AUDIT_KEY)], &[]).unwrap_err();
        assert!(refusal.contains("development key"), "{refusal}");
        let refusal = load(&[("GATEHOUSE_AUDIT_KEY", "short")], &[]).unwrap_err();
        assert!(refusal.contains("at least 32 characters"), "{refusal}");
        let development = load(
            &[
                ("GATEHOUSE_AUDIT_KEY", "<unset>"),
                ("GATEHOUSE_ENV", "development"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            development.audit_key,
            app::domain::audit::AuditKey::new(DEVELOPMENT_AUDIT_KEY).unwrap()
        );
        assert!(!format!("{development:?}").contains(DEVELOPMENT_AUDIT_KEY));
        assert!(development
            .audit_checkpoint_file
            .ends_with("data/audit-checkpoints.jsonl"));
    }

    #[test]
    fn managed_claims_need_a_tenant_or_domain() {
        let oidc = [
            ("GATEHOUSE_OIDC_ISSUER", "https://login.example.com"),
            ("GATEHOUSE_OIDC_CLIENT_ID", "gatehouse"),
            ("GATEHOUSE_OIDC_CLIENT_SECRET", "s3cret"),
            ("GATEHOUSE_OIDC_MANAGED_CLAIMS", "employee_id"),
        ];
        let refusal = load(&oidc, &[]).unwrap_err();
        assert!(
            refusal.contains("GATEHOUSE_OIDC_REQUIRED_TENANT"),
            "{refusal}"
        );
        let mut with_tenant = oidc.to_vec();
        with_tenant.push(("GATEHOUSE_OIDC_REQUIRED_TENANT", "72f988bf"));
        let identity = load(&with_tenant, &[]).unwrap().oidc.unwrap().identity;
        assert!(identity.employee_id_managed);
        assert!(!identity.email_managed);
        assert_eq!(identity.required_tenant.as_deref(), Some("72f988bf"));
        let mut unknown = with_tenant.clone();
        unknown.push(("GATEHOUSE_OIDC_MANAGED_CLAIMS", "name"));
        let refusal = load(&unknown, &[]).unwrap_err();
        assert!(
            refusal.contains("may name email and employee_id"),
            "{refusal}"
        );
    }

    #[test]
    fn the_demo_seed_is_refused_in_production() {
        let refusal = load(&[("GATEHOUSE_SEED_DEMO", "true")], &[]).unwrap_err();
        assert!(
            refusal.contains("GATEHOUSE_SEED_DEMO=true is refused when GATEHOUSE_ENV=production"),
            "{refusal}"
        );
        assert!(load(
            &[
                ("GATEHOUSE_SEED_DEMO", "true"),
                ("GATEHOUSE_ENV", "development")
            ],
            &[]
        )
        .is_ok());
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (key, value, expected) in [
            ("GATEHOUSE_BIND", "localhost", "GATEHOUSE_BIND"),
            ("GATEHOUSE_ENV", "staging", "GATEHOUSE_ENV"),
            ("GATEHOUSE_DEV_SIGN_IN", "maybe", "GATEHOUSE_DEV_SIGN_IN"),
            (
                "GATEHOUSE_SESSION_IDLE_MINUTES",
                "-5",
                "GATEHOUSE_SESSION_IDLE_MINUTES",
            ),
            ("GATEHOUSE_PUBLIC_URL", "ftp://x", "GATEHOUSE_PUBLIC_URL"),
            (
                "GATEHOUSE_DATABASE_URL",
                "mysql://root:secret@h/db",
                "GATEHOUSE_DATABASE_URL",
            ),
        ] {
            let refusal = load(&[(key, value)], &[]).unwrap_err();
            assert!(refusal.contains(expected), "{key}={value}: {refusal}");
            assert!(!refusal.contains("secret"), "a password leaked: {refusal}");
        }
    }

    #[test]
    fn mail_settings_are_checked_and_the_smtp_password_never_printed() {
        let smtp = [
            ("GATEHOUSE_SMTP_HOST", "smtp.example.com"),
            ("GATEHOUSE_SMTP_USERNAME", "gatehouse"),
            ("GATEHOUSE_SMTP_PASSWORD", "hunter2-secret"),
        ];
        let config = load(&smtp, &[]).unwrap();
        let mail = &config.mail;
        let settings = mail.smtp.as_ref().unwrap();
        assert_eq!((settings.port, &settings.tls), (587, &SmtpTls::StartTls));
        assert_eq!(mail.expiry_warning_days, vec![14, 1]);
        assert_eq!(mail.base_url, "http://127.0.0.1:3000");
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "the password leaked"
        );
        assert!(
            load(&[], &[]).unwrap().mail.smtp.is_none(),
            "no SMTP by default"
        );
        for (extra, expected) in [
            (("GATEHOUSE_SMTP_TLS", "none"), "unencrypted"),
            (("GATEHOUSE_SMTP_TLS", "ssl3"), "GATEHOUSE_SMTP_TLS"),
            (("GATEHOUSE_SMTP_PORT", "70000"), "GATEHOUSE_SMTP_PORT"),
            (("GATEHOUSE_MAIL_FROM", "nobody"), "GATEHOUSE_MAIL_FROM"),
            (
                ("GATEHOUSE_EXPIRY_WARNING_DAYS", "14,soon"),
                "GATEHOUSE_EXPIRY_WARNING_DAYS",
            ),
            (
                ("GATEHOUSE_DIGEST_HOUR_UTC", "24"),
                "GATEHOUSE_DIGEST_HOUR_UTC",
            ),
        ] {
            let mut env = smtp.to_vec();
            env.push(extra);
            let refusal = load(&env, &[]).unwrap_err();
            assert!(refusal.contains(expected), "{extra:?}: {refusal}");
            assert!(!refusal.contains("hunter2"), "{refusal}");
        }
        let half = load(
            &[
                ("GATEHOUSE_SMTP_HOST", "h"),
                ("GATEHOUSE_SMTP_USERNAME", "u"),
            ],
            &[],
        );
        assert!(half.unwrap_err().contains("go together"));
        // Plain SMTP with a password is fine to a relay on this host.
        let local = [
            ("GATEHOUSE_SMTP_HOST", "127.0.0.1"),
            ("GATEHOUSE_SMTP_TLS", "none"),
            ("GATEHOUSE_SMTP_USERNAME", "u"),
            ("GATEHOUSE_SMTP_PASSWORD", "p"),
        ];
        assert!(load(&local, &[]).is_ok());
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let config = load(
            &[("GATEHOUSE_DATABASE_URL", "postgres://gh:hunter2@db/gh")],
            &[],
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }

    #[test]
    fn env_example_lists_every_key_with_its_default() {
        let example = include_str!("../../.env.example");
        for (key, default) in KEYS {
            let line = format!("GATEHOUSE_{key}={default}");
            assert!(
                example.lines().any(|l| l == line),
                ".env.example lacks {line}"
            );
        }
        let listed = example
            .lines()
            .filter(|l| l.starts_with("GATEHOUSE_"))
            .count();
        assert_eq!(
            listed,
            KEYS.len() + 1,
            "only known keys (and GATEHOUSE_CONFIG) are listed"
        );
    }
}
