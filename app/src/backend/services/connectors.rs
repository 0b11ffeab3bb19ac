//! Administering connectors and the provisioning queue (administrators only; the API
//! checks the role before calling).

use crate::backend::connectors::scim::ScimConfig;
use crate::backend::store::{self, audit, person::PersonRow};
use crate::backend::AppState;
use crate::domain::drafts::parse_name;
use crate::domain::error::Validation;
use crate::domain::{AppError, ErrorCode, Timestamp};
use crate::model::connectors::{
    ConnectorForm, ConnectorView, DriftView, JobView, ProvisioningView,
};

#[tracing::instrument(skip_all)]
pub async fn overview(state: &AppState) -> Result<ProvisioningView, AppError> {
    let pool = state.db.reader();
    let rows = store::connector::summaries(pool).await?;
    let mut connectors = Vec::with_capacity(rows.len());
    for row in rows {
        let jobs = store::provisioning::counts_of_connector(pool, row.id).await?;
        // Settings that cannot be read are an error, not a connector shown without them.
        let config: serde_json::Value =
            serde_json::from_str(&row.config_json).map_err(|error| {
                tracing::error!(connector = row.id, %error, "connector.config_json cannot be read");
                AppError::internal()
            })?;
        connectors.push(ConnectorView {
            id: row.id,
            name: row.name,
            kind: row.kind,
            enabled: row.is_enabled,
            target: config
                .get("base_url")
                .and_then(|url| url.as_str())
                .map(str::to_string)
                .unwrap_or_default(),
            secret_present: row
                .secret_ref
                .as_deref()
                .is_some_and(|name| state.settings.connector_secrets.get(name).is_some()),
            secret_variable: row
                .secret_ref
                .map(|name| format!("GATEHOUSE_SECRET_{name}")),
            jobs,
            authoritative: row.is_authoritative,
            health: row.health,
            health_message: row.health_message.unwrap_or_default(),
            last_reconciled_at: row.last_reconciled_at.map(Timestamp),
        });
    }
    let troubled = store::provisioning::troubled(pool)
        .await?
        .into_iter()
        .map(|job| JobView {
            id: job.id,
            connector: job.connector,
            operation: job.operation,
            person: job.person,
            resource: job.resource,
            status: job.status,
            attempts: job.attempts,
            last_error: job.last_error,
            next_attempt_at: Timestamp(job.next_attempt_at),
        })
        .collect();
    let late_removals = store::provisioning::late_removals(pool, alarm_cutoff(state)).await?;
    let drift = store::drift::open(pool)
        .await?
        .into_iter()
        .map(|drift| DriftView {
            connector: drift.connector,
            resource: drift.resource,
            person: drift.person,
            account: drift.account,
            kind: drift.kind,
            found_at: Timestamp(drift.found_at),
            seen_at: Timestamp(drift.seen_at),
        })
        .collect();
    Ok(ProvisioningView {
        connectors,
        troubled,
        late_removals,
        alarm_seconds: state.settings.removal_alarm_seconds,
        drift,
    })
}

/// Adds a connector. Its secret is named, not given: it is read from
/// `GATEHOUSE_SECRET_<NAME>` and never stored.
#[tracing::instrument(skip_all, fields(admin_id = admin.id))]
pub async fn create(
    state: &AppState,
    admin: &PersonRow,
    form: &ConnectorForm,
) -> Result<i64, AppError> {
    use crate::backend::connectors::{ldap::LdapConfig, webhook::WebhookConfig};
    let mut v = Validation::new();
    let name = v.check("name", parse_name(&form.name));
    let kind = form.kind.trim();
    let url = form.url.trim();
    let required = |text: &str, message: &str| {
        if text.trim().is_empty() {
            Err(message.to_string())
        } else {
            Ok(())
        }
    };
    let config = match kind {
        "scim" | "" => {
            let auth = if form.auth.is_empty() {
                "bearer"
            } else {
                form.auth.as_str()
            };
            let config = serde_json::json!({ "base_url": url, "auth": auth, "username": form.username.trim() });
            v.check(
                "url",
                ScimConfig::parse(&config.to_string())
                    .map(|_| ())
                    .map_err(|_| {
                        "Enter the SCIM base URL, such as https://scim.example.com/v2.".to_string()
                    }),
            );
            v.check(
                "auth",
                if matches!(auth, "bearer" | "basic") {
                    Ok(())
                } else {
                    Err("Choose bearer or basic.".to_string())
                },
            );
            if auth == "basic" {
                v.check(
                    "username",
                    required(&form.username, "Basic authentication needs a user name."),
                );
            }
            config
        }
        "ldap" => {
            let starttls = form.starttls == "on";
            let config = serde_json::json!({
                "url": url, "bind_dn": form.bind_dn.trim(), "users_base": form.users_base.trim(),
                "starttls": starttls,
            });
            v.check(
                "url",
                if url.starts_with("ldap://") || url.starts_with("ldaps://") {
                    Ok(())
                } else {
                    Err("Enter the directory's URL, such as ldaps://ldap.example.com.".to_string())
                },
            );
            v.check(
                "bind_dn",
                required(&form.bind_dn, "Enter the DN Gatehouse binds as."),
            );
            v.check(
                "users_base",
                required(
                    &form.users_base,
                    "Enter where people are, such as ou=people,dc=example,dc=com.",
                ),
            );
            if v.is_clean() {
                v.check("url", LdapConfig::parse(&config.to_string()).map(|_| ()));
            }
            config
        }
        "webhook" => {
            let config = serde_json::json!({ "url": url });
            v.check(
                "url",
                WebhookConfig::parse(&config.to_string())
                    .map(|_| ())
                    .map_err(|_| "Enter the URL events are posted to, such as https://hr.example.com/gatehouse.".to_string()),
            );
            config
        }
        _ => {
            v.check::<()>("kind", Err("Choose SCIM, LDAP or webhook.".to_string()));
            serde_json::Value::Null
        }
    };
    let kind = if kind.is_empty() { "scim" } else { kind };
    let secret_name = form.secret_name.trim().to_ascii_uppercase();
    v.check(
        "secret_name",
        if !secret_name.is_empty()
            && secret_name.len() <= 64
            && secret_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            Ok(())
        } else {
            Err("Enter a name of letters, digits and _ : the secret is read from GATEHOUSE_SECRET_<name>.".to_string())
        },
    );
    if !secret_name.is_empty() {
        v.check(
            "url",
            crate::backend::connectors::check_pinned(
                &state.settings.connector_secrets,
                &secret_name,
                url,
            ),
        );
    }
    v.finish()?;
    let name = name.unwrap_or_default();
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    // A secret goes to one connector only: a new connector cannot borrow another's
    // secret and send it elsewhere.
    if let Some(holder) = store::connector::with_secret(&mut tx, &secret_name).await? {
        return Err(AppError::invalid_field(
            "secret_name",
            format!("GATEHOUSE_SECRET_{secret_name} belongs to the connector \"{holder}\"; give this connector a secret of its own."),
        ));
    }
    // A name another connector has is refused by `connector_name_uq`.
    let id = store::connector::insert(&mut tx, now, &name, kind).await?;
    store::connector::set_config(&mut tx, id, &config.to_string(), &secret_name).await?;
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(admin.id, &admin.display_name),
        audit::Change::new("connector.created", "connector", id).after(serde_json::json!({
            "name": name, "kind": kind, "config": config, "secret_variable": format!("GATEHOUSE_SECRET_{secret_name}"),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(admin_id = admin.id, job_id = job_id))]
pub async fn retry_job(state: &AppState, admin: &PersonRow, job_id: i64) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::lease::JOBS.requeue(&mut tx, now, job_id).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "This job is not waiting to be retried (it may have succeeded meanwhile).",
        ));
    }
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(admin.id, &admin.display_name),
        audit::Change::new("provisioning_job.retried", "provisioning_job", job_id),
    )
    .await?;
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(())
}

/// Access that ended before this instant and is still not verified removed is late.
pub fn alarm_cutoff(state: &AppState) -> Timestamp {
    Timestamp(
        state
            .clock
            .now()
            .millis()
            .saturating_sub(state.settings.removal_alarm_seconds.saturating_mul(1000)),
    )
}

/// What `/metrics` reports: the provisioning queue, late removals (the alarm), access
/// past its end but not yet ended (the scheduler behind), and the mail outbox.
#[derive(Clone, Debug, Default)]
pub struct Health {
    pub jobs: Vec<(String, i64)>,
    pub late_removals: i64,
    pub overdue_assignments: i64,
    pub messages: Vec<(String, i64)>,
}

#[tracing::instrument(skip_all)]
pub async fn health(state: &AppState) -> Result<Health, AppError> {
    let pool = state.db.reader();
    let overdue_assignments = store::assignment::count_overdue(pool, alarm_cutoff(state)).await?;
    Ok(Health {
        jobs: store::provisioning::counts(pool).await?,
        late_removals: store::provisioning::late_removals(pool, alarm_cutoff(state)).await?,
        overdue_assignments,
        messages: store::message::counts(pool).await?,
    })
}
