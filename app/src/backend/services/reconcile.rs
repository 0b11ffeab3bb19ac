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
) -> Result<(store::connector::ConnectorRow, bool, Box<dyn Connector>), AppError> {
    let pool = state.db.reader();
    let row = store::connector::find(pool, connector_id)
        .await?
        .ok_or_else(|| AppError::not_found("connector"))?;
    let authoritative = store::connector::is_authoritative(pool, connector_id).await?;
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

/// Reconciles every resource of one connector now. A group that cannot be read is not
/// taken for an empty one: its drift stays as last found, nothing is repaired in it, the
/// connector is recorded as failing with the cause, and the reconciliation answers with an
/// error once the groups that could be read are recorded.
#[tracing::instrument(skip_all, fields(connector_id = connector_id))]
pub async fn reconcile(
    state: &AppState,
    connector_id: i64,
    actor: audit::Actor,
) -> Result<Reconciled, AppError> {
    let (row, authoritative, connector) = open_connector(state, connector_id).await?;
    let pool = state.db.reader();
    let resources = store::resource::of_connector(pool, connector_id).await?;
    let mut summary = Reconciled {
        resources: resources.len(),
        ..Reconciled::default()
    };
    let mut failures = Vec::new();
    for (resource_id, group) in &resources {
        let actual: BTreeSet<String> = match connector.members(group).await {
            Ok(members) => members.into_iter().collect(),
            Err(error) => {
                tracing::error!(
                    connector = connector_id,
                    resource = resource_id,
                    %group,
                    cause = error.message(),
                    "reconciliation could not read the group's members; its drift is left as it was"
                );
                failures.push(format!("reading {group}: {}", error.message()));
                continue;
            }
        };
        // Granted: people with current access through this resource whose grant is done.
        let expected: BTreeSet<String> =
            store::provisioning::granted_accounts(pool, connector_id, *resource_id)
                .await?
                .into_iter()
                .collect();
        // Changes in flight are not drift: a removal or grant still to run.
        let in_flight: BTreeSet<String> =
            store::provisioning::accounts_in_flight(pool, *resource_id)
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

        // Who the out-of-band members are, as the system names them (paged reads). Names
        // only label the findings: without them the accounts are shown by id.
        let names = if unexpected.is_empty() {
            std::collections::HashMap::new()
        } else {
            let ids: Vec<String> = unexpected.iter().map(|a| (*a).clone()).collect();
            match connector.account_names(&ids).await {
                Ok(names) => names,
                Err(error) => {
                    tracing::warn!(
                        connector = connector_id,
                        %group,
                        cause = error.message(),
                        "reconciliation could not read how the system names the accounts it found"
                    );
                    std::collections::HashMap::new()
                }
            }
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
                    match outcome {
                        Ok(()) => true,
                        // The finding stays open, unrepaired, for the administrators.
                        Err(error) => {
                            tracing::warn!(
                                connector = connector_id,
                                %group,
                                %account,
                                kind,
                                cause = error.message(),
                                "reconciliation could not repair a finding"
                            );
                            false
                        }
                    }
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

    let failure = (!failures.is_empty()).then(|| failures.join("; "));
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::connector::record_reconciliation(&mut tx, now, connector_id, failure.as_deref()).await?;
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
    if let Some(failure) = failure {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "Reconciliation could not read {} of {} groups, so their drift was not checked: {failure}.",
                failures.len(),
                summary.resources
            ),
        ));
    }
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
    for open in store::drift::open_of_resource(&mut tx, resource_id).await? {
        if !findings
            .iter()
            .any(|finding| finding.account == open.account_id && finding.kind == open.kind)
        {
            // Not found any more: resolved (by someone, or by a change that finished).
            store::drift::resolve(&mut tx, now, open.id).await?;
        }
    }
    for Finding {
        account,
        label,
        kind,
        repaired,
    } in findings
    {
        let repaired_at = repaired.then_some(now.millis());
        match store::drift::find_open(&mut tx, resource_id, account, kind).await? {
            // Seen again; repaired now, it is resolved too.
            Some(id) => {
                store::drift::seen_again(&mut tx, now, id, repaired_at, label.as_deref()).await?
            }
            None => {
                let person_id =
                    store::provisioning::person_of_account(&mut tx, connector_id, account).await?;
                store::drift::insert(
                    &mut tx,
                    now,
                    &store::drift::NewDrift {
                        connector_id,
                        resource_id,
                        account_id: account,
                        person_id,
                        kind,
                        repaired_at,
                        account_label: label.as_deref(),
                    },
                )
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
        let due = store::connector::due_for_reconciliation(
            self.state.db.reader(),
            Timestamp(now.millis() - every),
        )
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
