//! Reconciliation: compares each managed resource's members downstream with what
//! Gatehouse says they should be, and records the drift: members added out of band (or a
//! removal that did not stick), and members Gatehouse grants that are missing downstream.
//! Where the connector is authoritative, it repairs the drift. Runs periodically (the
//! `Reconciler` worker) and on demand (an administrator's button).

use crate::backend::connectors::{self, Connector};
use crate::backend::store::{self, audit};
use crate::backend::workers::Worker;
use crate::backend::AppState;
use crate::domain::time::MILLIS_PER_MINUTE;
use crate::domain::{AppError, ErrorCode, Timestamp};
use sqlx::Row;
use std::collections::BTreeSet;
use std::time::Duration;

/// What one reconciliation found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reconciled {
    pub resources: usize,
    pub unexpected: usize,
    pub missing: usize,
    pub repaired: usize,
}

async fn open_connector(
    state: &AppState,
    connector_id: i64,
) -> Result<(store::provisioning::ConnectorRow, bool, Box<dyn Connector>), AppError> {
    let pool = state.db.reader();
    let row = store::provisioning::connector(pool, connector_id)
        .await?
        .ok_or_else(|| AppError::not_found("connector"))?;
    let authoritative: bool = {
        let flags = sqlx::query("select is_authoritative from connector where id = $1")
            .bind(connector_id)
            .fetch_one(pool)
            .await?;
        store::get_bool(&flags, "is_authoritative")?
    };
    if !matches!(row.kind.as_str(), "scim" | "ldap") {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{} connectors cannot be read back, so they are not reconciled.",
                row.kind
            ),
        ));
    }
    let connector = connectors::secret_for(
        &state.settings.connector_secrets,
        row.secret_ref.as_deref(),
        &row.kind,
        &row.config_json,
    )
    .and_then(|secret| connectors::build(&row.kind, &row.config_json, secret))
    .map_err(|message| {
        AppError::new(
            ErrorCode::Conflict,
            format!("The connector is misconfigured: {message}"),
        )
    })?;
    Ok((row, authoritative, connector))
}

/// Reconciles every resource of one connector now.
pub async fn reconcile(
    state: &AppState,
    connector_id: i64,
    actor: audit::Actor,
) -> Result<Reconciled, AppError> {
    let (row, authoritative, connector) = open_connector(state, connector_id).await?;
    let pool = state.db.reader();
    let resources: Vec<(i64, String)> = sqlx::query_as(
        "select id, external_id from resource where connector_id = $1 and external_id is not null order by id",
    )
    .bind(connector_id)
    .fetch_all(pool)
    .await?;
    let mut summary = Reconciled {
        resources: resources.len(),
        ..Reconciled::default()
    };
    let mut failure = None;
    for (resource_id, group) in &resources {
        let actual: BTreeSet<String> = match connector.members(group).await {
            Ok(members) => members.into_iter().collect(),
            Err(error) => {
                failure = Some(error.message().to_string());
                continue;
            }
        };
        // Granted: people with current access through this resource whose grant is done.
        let expected: BTreeSet<String> = sqlx::query_scalar(
            "select distinct ca.external_id from assignment a \
             join access_package_resource pr on pr.access_package_id = a.access_package_id \
             join connector_account ca on ca.person_id = a.person_id and ca.connector_id = $1 \
             where pr.resource_id = $2 and a.status = 'active'",
        )
        .bind(connector_id)
        .bind(resource_id)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        // Changes in flight are not drift: a removal or grant still to run.
        let in_flight: BTreeSet<String> = sqlx::query_scalar(
            "select ca.external_id from provisioning_job j join connector_account ca \
             on ca.person_id = j.person_id and ca.connector_id = j.connector_id \
             where j.resource_id = $1 and j.status in ('pending', 'running', 'failed')",
        )
        .bind(resource_id)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        let unexpected: Vec<&String> = actual
            .difference(&expected)
            .filter(|a| !in_flight.contains(*a))
            .collect();
        let missing: Vec<&String> = expected
            .difference(&actual)
            .filter(|a| !in_flight.contains(*a))
            .collect();
        summary.unexpected += unexpected.len();
        summary.missing += missing.len();

        // Who the out-of-band members are, as the system names them (paged reads).
        let names = if unexpected.is_empty() {
            std::collections::HashMap::new()
        } else {
            let ids: Vec<String> = unexpected.iter().map(|a| (*a).clone()).collect();
            connector.account_names(&ids).await.unwrap_or_default()
        };
        let now = state.clock.now();
        let mut findings = Vec::new();
        for (accounts, kind) in [
            (&unexpected, "unexpected_member"),
            (&missing, "missing_member"),
        ] {
            for account in accounts.iter() {
                let repaired = if authoritative {
                    let outcome = match kind {
                        "unexpected_member" => connector.remove_member(group, account).await,
                        _ => connector.add_member(group, account).await,
                    };
                    outcome.is_ok()
                } else {
                    false
                };
                findings.push(Finding {
                    account: (*account).clone(),
                    label: names.get(*account).cloned(),
                    kind,
                    repaired,
                });
            }
        }
        summary.repaired += findings.iter().filter(|finding| finding.repaired).count();
        record(state, now, connector_id, *resource_id, &findings).await?;
    }

    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update connector set last_reconciled_at = $1, health = $2, health_message = $3, \
         health_checked_at = $1, updated_at = $1 where id = $4",
    )
    .bind(now.millis())
    .bind(if failure.is_some() { "failing" } else { "ok" })
    .bind(failure.clone())
    .bind(connector_id)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        now,
        &actor,
        audit::Change::new("connector.reconciled", "connector", row.id).after(serde_json::json!({
            "resources": summary.resources, "unexpected": summary.unexpected,
            "missing": summary.missing, "repaired": summary.repaired, "failure": failure,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// One account in the wrong place, and whether it was put right.
struct Finding {
    account: String,
    /// How its system names it, when known.
    label: Option<String>,
    kind: &'static str,
    repaired: bool,
}

/// Opens drift rows for new findings, refreshes the ones seen again, and resolves those
/// no longer found (or repaired).
async fn record(
    state: &AppState,
    now: Timestamp,
    connector_id: i64,
    resource_id: i64,
    findings: &[Finding],
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    let open = sqlx::query(
        "select id, account_id, kind from drift where resource_id = $1 and resolved_at is null",
    )
    .bind(resource_id)
    .fetch_all(&mut *tx)
    .await?;
    for row in &open {
        let id: i64 = row.try_get("id")?;
        let account: String = row.try_get("account_id")?;
        let kind: String = row.try_get("kind")?;
        if !findings
            .iter()
            .any(|finding| finding.account == account && finding.kind == kind)
        {
            // Not found any more: resolved (by someone, or by a change that finished).
            sqlx::query("update drift set resolved_at = $1 where id = $2")
                .bind(now.millis())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    for Finding {
        account,
        label,
        kind,
        repaired,
    } in findings
    {
        let existing: Option<i64> = sqlx::query_scalar(
            "select id from drift where resource_id = $1 and account_id = $2 and kind = $3 and resolved_at is null",
        )
        .bind(resource_id)
        .bind(account)
        .bind(kind)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some(id) => {
                // Seen again; repaired now, it is resolved too.
                let repaired_at = repaired.then_some(now.millis());
                sqlx::query(
                    "update drift set seen_at = $1, repaired_at = $2, resolved_at = $2, \
                     account_label = coalesce($3, account_label) where id = $4",
                )
                .bind(now.millis())
                .bind(repaired_at)
                .bind(label)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                let person_id: Option<i64> = sqlx::query_scalar(
                    "select person_id from connector_account where connector_id = $1 and external_id = $2",
                )
                .bind(connector_id)
                .bind(account)
                .fetch_optional(&mut *tx)
                .await?;
                let repaired_at = repaired.then_some(now.millis());
                sqlx::query(
                    "insert into drift (connector_id, resource_id, account_id, person_id, kind, found_at, \
                     seen_at, repaired_at, resolved_at, account_label) \
                     values ($1, $2, $3, $4, $5, $6, $6, $7, $7, $8)",
                )
                .bind(connector_id)
                .bind(resource_id)
                .bind(account)
                .bind(person_id)
                .bind(*kind)
                .bind(now.millis())
                .bind(repaired_at)
                .bind(label)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Reconciles each SCIM and LDAP connector every `GATEHOUSE_RECONCILE_MINUTES`.
pub struct Reconciler {
    state: AppState,
}

impl Reconciler {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl Worker for Reconciler {
    fn name(&self) -> &'static str {
        "reconciler"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        let every = self.state.settings.reconcile_minutes.max(1) * MILLIS_PER_MINUTE;
        let due: Vec<i64> = sqlx::query_scalar(
            "select id from connector where kind in ('scim', 'ldap') and is_enabled = $1 \
             and (last_reconciled_at is null or last_reconciled_at <= $2) order by id",
        )
        .bind(true)
        .bind(now.millis() - every)
        .fetch_all(self.state.db.reader())
        .await?;
        let mut done = 0;
        for id in due {
            match reconcile(&self.state, id, audit::Actor::System("reconciler")).await {
                Ok(_) => done += 1,
                Err(error) => tracing::warn!(connector = id, %error, "reconciliation failed"),
            }
        }
        Ok(done)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(60)
    }
}
