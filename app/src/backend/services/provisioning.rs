//! The provisioner: claims provisioning jobs under a lease, calls the connector, and
//! records the outcome. A removal is read back and recorded as "verified removed at T";
//! when every removal of an ending assignment is verified, the assignment is removed.
//! When every grant of a delivering request is done, the request is delivered and the
//! holder told. Failures are retried with capped exponential backoff and jitter (not
//! before a 429's Retry-After); after the job's budget it is dead-lettered for an
//! operator. A job interrupted by a crash runs again after its lease.

use crate::backend::connectors::{self, Account, Connector, Failure};
use crate::backend::mail::{self, render::Notice};
use crate::backend::store::{self, audit, provisioning::ClaimedJob};
use crate::backend::workers::Worker;
use crate::backend::AppState;
use crate::domain::assignment::AssignmentEvent;
use crate::domain::retry::retry_delay_seconds;
use crate::domain::status::{AssignmentStatus, RequestStatus};
use crate::domain::{AppError, Timestamp};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a claimed job is the claiming provisioner's alone, unless renewed: after a
/// crash its jobs run again this long after the last renewal.
const LEASE_SECONDS: i64 = 30;
/// How often the leases of jobs still at work are renewed.
const LEASE_RENEW_SECONDS: u64 = 10;
/// Removal jobs of one group done together, at most.
const BATCH: i64 = 500;
/// Groups (or single grants) worked on at once; one step claims up to this many groups'
/// due jobs, at most `BATCH` each on average.
const CONCURRENCY: usize = 8;
const CONCURRENCY_I64: i64 = 8;
const RETRY_BASE_SECONDS: i64 = 2;
const RETRY_CAP_SECONDS: i64 = 300;

/// What a job achieved.
enum Done {
    /// Granted, or nothing to do.
    Granted,
    /// Removed (or nothing was there) and read back absent at this instant.
    Verified(Timestamp),
}

/// What one step works on at once.
enum Work {
    /// Removal jobs of one connector and resource.
    Removals(Vec<ClaimedJob>),
    Single(ClaimedJob),
}

pub struct Provisioner {
    state: AppState,
    owner: String,
}

impl Provisioner {
    pub fn new(state: AppState) -> Self {
        use rand::RngCore;
        let owner = format!("provisioner-{:016x}", rand::rngs::OsRng.next_u64());
        Self { state, owner }
    }

    fn connector(
        &self,
        row: &store::connector::ConnectorRow,
    ) -> Result<Box<dyn Connector>, Failure> {
        if !row.is_enabled {
            return Err(Failure::Retry {
                message: format!("the connector {:?} is switched off", row.name),
                after: None,
            });
        }
        connectors::secret_for(
            &self.state.settings.connector_secrets,
            row.secret_ref.as_deref(),
            &row.kind,
            &row.config_json,
        )
        .and_then(|secret| connectors::build(&row.kind, &row.config_json, secret))
        .map_err(|message| Failure::Retry {
            message: format!("the connector {:?} is misconfigured: {message}", row.name),
            after: None,
        })
    }

    async fn account(&self, person_id: i64) -> Result<Account, AppError> {
        let details = store::person::account_details(self.state.db.reader(), person_id).await?;
        Ok(Account {
            person_id,
            email: details.email,
            display_name: details.display_name,
            employee_id: details.employee_id,
        })
    }

    /// Switches off the account of a person who left.
    #[tracing::instrument(skip_all, fields(job_id = job.id, connector_id = job.connector_id, operation = %job.operation, assignment_id = ?job.assignment_id))]
    async fn deactivate(&self, job: &ClaimedJob) -> Result<Result<Done, Failure>, AppError> {
        let pool = self.state.db.reader();
        let Some(person_id) = job.person_id else {
            return Ok(Err(Failure::GiveUp {
                message: "a deactivation without a person".to_string(),
            }));
        };
        let Some(row) = store::connector::find(pool, job.connector_id).await? else {
            return Ok(Err(Failure::GiveUp {
                message: "the connector was deleted".to_string(),
            }));
        };
        let Some(user) = store::provisioning::account_id(pool, job.connector_id, person_id).await?
        else {
            return Ok(Ok(Done::Granted));
        };
        let connector = match self.connector(&row) {
            Ok(connector) => connector,
            Err(failure) => return Ok(Err(failure)),
        };
        Ok(connector
            .deactivate_user(&user)
            .await
            .map(|()| Done::Granted))
    }

    /// Runs one job (a grant) against its connector; removals go [`Self::remove_together`].
    #[tracing::instrument(skip_all, fields(job_id = job.id, connector_id = job.connector_id, operation = %job.operation, assignment_id = ?job.assignment_id))]
    async fn perform(&self, job: &ClaimedJob) -> Result<Result<Done, Failure>, AppError> {
        let pool = self.state.db.reader();
        if job.operation == "disable_user" {
            return self.deactivate(job).await;
        }
        let (Some(resource_id), Some(person_id), Some(assignment_id)) =
            (job.resource_id, job.person_id, job.assignment_id)
        else {
            return Ok(Err(Failure::GiveUp {
                message: format!(
                    "{} jobs without a resource, person and assignment are not supported yet",
                    job.operation
                ),
            }));
        };
        let Some(connector_row) = store::connector::find(pool, job.connector_id).await? else {
            return Ok(Err(Failure::GiveUp {
                message: "the connector was deleted".to_string(),
            }));
        };
        let Some(group) = store::resource::external_id(pool, resource_id).await? else {
            return Ok(Err(Failure::GiveUp {
                message: "the resource has no downstream id".to_string(),
            }));
        };
        let connector = match self.connector(&connector_row) {
            Ok(connector) => connector,
            Err(failure) => return Ok(Err(failure)),
        };
        let account = self.account(person_id).await?;
        let status = store::assignment::status_of(pool, assignment_id).await?;
        match job.operation.as_str() {
            "add_member" => {
                // Access that ended before its grant ran is not granted after all.
                if !matches!(status.as_str(), "scheduled" | "active") {
                    return Ok(Ok(Done::Granted));
                }
                // No account is made downstream for someone who left or was disabled,
                // whatever the assignment says.
                let person_status = store::person::status_of(pool, person_id).await?;
                if person_status != crate::domain::status::PersonStatus::Active.as_str() {
                    return Ok(Err(Failure::GiveUp {
                        message: format!(
                            "the person is {person_status}: no account is created for them downstream"
                        ),
                    }));
                }
                let user = match connector.ensure_user(&account).await {
                    Ok(user) => user,
                    Err(failure) => return Ok(Err(failure)),
                };
                let mut tx = self.state.db.begin_write().await?;
                store::provisioning::save_account(
                    &mut tx,
                    self.state.clock.now(),
                    job.connector_id,
                    person_id,
                    &user,
                )
                .await?;
                tx.commit().await?;
                Ok(connector
                    .add_member(&group, &user)
                    .await
                    .map(|()| Done::Granted))
            }
            other => Ok(Err(Failure::GiveUp {
                message: format!("{other} jobs are not supported yet"),
            })),
        }
    }

    /// Removes the people of several removal jobs of one group together: one call to
    /// remove them, one read-back to verify; each job's outcome recorded on its own.
    async fn remove_together(&self, jobs: &[ClaimedJob]) -> Result<(), AppError> {
        let Some(first) = jobs.first() else {
            return Ok(());
        };
        let pool = self.state.db.reader();
        let target = async {
            let Some(row) = store::connector::find(pool, first.connector_id).await? else {
                return Ok::<_, AppError>(Err(Failure::GiveUp {
                    message: "the connector was deleted".to_string(),
                }));
            };
            // Removals are grouped by their resource, so each has one.
            let Some(resource_id) = first.resource_id else {
                return Ok(Err(Failure::GiveUp {
                    message: "a removal without a resource".to_string(),
                }));
            };
            let Some(group) = store::resource::external_id(pool, resource_id).await? else {
                return Ok(Err(Failure::GiveUp {
                    message: "the resource has no downstream id".to_string(),
                }));
            };
            Ok(self.connector(&row).map(|connector| (connector, group)))
        };
        let (connector, group) = match target.await? {
            Ok(target) => target,
            Err(failure) => {
                for job in jobs {
                    self.fail(job, failure.clone()).await?;
                }
                return Ok(());
            }
        };
        let mut done = Vec::new();
        let mut to_remove: Vec<(&ClaimedJob, String)> = Vec::new();
        for job in jobs {
            let (Some(resource_id), Some(person_id), Some(assignment_id)) =
                (job.resource_id, job.person_id, job.assignment_id)
            else {
                // Grouped only with all three (see `step`).
                continue;
            };
            if store::provisioning::grant_in_flight(pool, assignment_id, resource_id).await? {
                self.fail(
                    job,
                    Failure::Retry {
                        message: "waiting for the grant of the same access to finish".to_string(),
                        after: Some(Duration::from_secs(1)),
                    },
                )
                .await?;
                continue;
            }
            if store::provisioning::still_granted(pool, person_id, resource_id, assignment_id)
                .await?
            {
                // Another current assignment grants it: it stays (reference counting).
                done.push((job, Done::Verified(self.state.clock.now())));
                continue;
            }
            let user =
                match store::provisioning::account_id(pool, job.connector_id, person_id).await? {
                    Some(user) => Some(user),
                    None => match connector.find_user(&self.account(person_id).await?).await {
                        Ok(user) => user,
                        Err(failure) => {
                            self.fail(job, failure).await?;
                            continue;
                        }
                    },
                };
            match user {
                Some(user) => to_remove.push((job, user)),
                // No account downstream: nothing to remove.
                None => done.push((job, Done::Verified(self.state.clock.now()))),
            }
        }
        if !to_remove.is_empty() {
            let mut users: Vec<String> = to_remove.iter().map(|(_, user)| user.clone()).collect();
            users.sort_unstable();
            users.dedup();
            let outcome = match connector.remove_members(&group, &users).await {
                Ok(()) => connector.members_among(&group, &users).await,
                Err(failure) => Err(failure),
            };
            let at = self.state.clock.now();
            match outcome {
                Ok(present) => {
                    for (job, user) in &to_remove {
                        if present.contains(user) {
                            self.fail(
                                job,
                                Failure::Retry {
                                    message: "the removal did not stick: the group still lists \
                                              the person"
                                        .to_string(),
                                    after: None,
                                },
                            )
                            .await?;
                        } else {
                            done.push((job, Done::Verified(at)));
                        }
                    }
                }
                Err(failure) => {
                    for (job, _) in &to_remove {
                        self.fail(job, failure.clone()).await?;
                    }
                }
            }
        }
        self.succeed_all(done).await
    }

    /// Records successes and what follows from them, in one transaction.
    async fn succeed_all(&self, done: Vec<(&ClaimedJob, Done)>) -> Result<(), AppError> {
        if done.is_empty() {
            return Ok(());
        }
        let now = self.state.clock.now();
        let mut tx = self.state.db.begin_write().await?;
        for (job, outcome) in done {
            self.record_success(&mut tx, now, job, outcome).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records one success: the job, and an assignment whose removals are all verified,
    /// or a request whose grants are all done.
    async fn record_success(
        &self,
        tx: &mut store::Tx,
        now: Timestamp,
        job: &ClaimedJob,
        done: Done,
    ) -> Result<(), AppError> {
        let verified_at = match done {
            Done::Granted => None,
            Done::Verified(at) => Some(at),
        };
        if !store::provisioning::mark_succeeded(tx, now, job.id, &self.owner, verified_at).await? {
            // Our lease ran out and another provisioner took the job; it records it.
            return Ok(());
        }
        if let Some(assignment_id) = job.assignment_id {
            let row = store::assignment::find(tx, assignment_id)
                .await?
                .ok_or_else(AppError::internal)?;
            let actor = audit::Actor::System("provisioner");
            if verified_at.is_some()
                && row.status == AssignmentStatus::Ending
                && store::provisioning::unverified_removals(tx, assignment_id).await? == 0
            {
                let removed = row
                    .state()
                    .apply(AssignmentEvent::RemovalVerified, now)
                    .map_err(|_| AppError::internal())?;
                if store::assignment::store_state(tx, now, &row, &removed).await? {
                    audit::append(
                        tx,
                        now,
                        &actor,
                        audit::Change::new("assignment.removal_verified", "assignment", row.id)
                            .after(serde_json::json!({ "status": "removed", "verified_at": now.millis() })),
                    )
                    .await?;
                }
            }
            if verified_at.is_none()
                && store::provisioning::unfinished_grants(tx, assignment_id).await? == 0
            {
                if let Some((request_id, person_id)) =
                    store::request::delivering_through(tx, assignment_id).await?
                {
                    store::request::mark_delivery(tx, now, request_id, RequestStatus::Delivered)
                        .await?;
                    audit::append(
                        tx,
                        now,
                        &actor,
                        audit::Change::new(
                            "access_request.delivered",
                            "access_request",
                            request_id,
                        ),
                    )
                    .await?;
                    let package = store::policy::package_name(tx, row.package_id).await?;
                    mail::notify(
                        tx,
                        now,
                        person_id,
                        &Notice::access_granted(
                            &package,
                            "Gatehouse",
                            "It is now set up in the connected systems.",
                            row.end_at.map(Timestamp),
                        ),
                        &[],
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(job_id = job.id, connector_id = job.connector_id, operation = %job.operation, assignment_id = ?job.assignment_id))]
    async fn fail(&self, job: &ClaimedJob, failure: Failure) -> Result<(), AppError> {
        let now = self.state.clock.now();
        let retry_at = match &failure {
            Failure::GiveUp { .. } => None,
            Failure::Retry { .. } if job.attempts >= job.max_attempts => None,
            Failure::Retry { after, .. } => {
                use rand::Rng;
                let jitter: f64 = rand::thread_rng().gen();
                let backoff = retry_delay_seconds(
                    job.attempts,
                    RETRY_BASE_SECONDS,
                    RETRY_CAP_SECONDS,
                    jitter,
                );
                let wait_ms = after
                    .map(|after| i64::try_from(after.as_millis()).unwrap_or(i64::MAX))
                    .unwrap_or(0)
                    .max(backoff.saturating_mul(1000));
                Some(Timestamp(now.millis().saturating_add(wait_ms)))
            }
        };
        tracing::warn!(
            job = job.id,
            operation = %job.operation,
            attempt = job.attempts,
            dead = retry_at.is_none(),
            error = failure.message(),
            "provisioning job failed"
        );
        store::lease::JOBS
            .fail(
                &self.state.db,
                now,
                job.id,
                &self.owner,
                failure.message(),
                retry_at,
            )
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Worker for Provisioner {
    fn name(&self) -> &'static str {
        "provisioner"
    }

    async fn step(&self, now: Timestamp) -> Result<usize, AppError> {
        use futures::stream::{self, TryStreamExt};
        let lease_until = Timestamp(now.millis() + LEASE_SECONDS * 1000);
        let jobs = store::provisioning::claim_due(
            &self.state.db,
            now,
            &self.owner,
            lease_until,
            BATCH * CONCURRENCY_I64,
            CONCURRENCY_I64,
        )
        .await?;
        let claimed = jobs.len();
        // Removals from one group go together (one call, one read-back); the rest, and
        // the groups, run side by side.
        let mut groups: BTreeMap<(i64, i64), Vec<ClaimedJob>> = BTreeMap::new();
        let mut singles = Vec::new();
        for job in jobs {
            match (job.operation.as_str(), job.resource_id) {
                ("remove_member", Some(resource_id))
                    if job.person_id.is_some() && job.assignment_id.is_some() =>
                {
                    groups
                        .entry((job.connector_id, resource_id))
                        .or_default()
                        .push(job);
                }
                _ => singles.push(job),
            }
        }
        let chunk = usize::try_from(BATCH).unwrap_or(500);
        let work = groups
            .into_values()
            .flat_map(|jobs| {
                jobs.chunks(chunk)
                    .map(<[ClaimedJob]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .map(Work::Removals)
            .chain(singles.into_iter().map(Work::Single));
        let working =
            stream::iter(work.map(Ok)).try_for_each_concurrent(CONCURRENCY, |work| async move {
                match work {
                    Work::Removals(jobs) => self.remove_together(&jobs).await,
                    Work::Single(job) => match self.perform(&job).await? {
                        Ok(done) => self.succeed_all(vec![(&job, done)]).await,
                        Err(failure) => self.fail(&job, failure).await,
                    },
                }
            });
        // A slow system (a large group filtered slowly, calls retried in smaller pieces)
        // can take longer than a lease: while at work, the leases are renewed, so that no
        // other provisioner takes jobs still in hand. A crashed one stops renewing.
        let renewing = async {
            loop {
                tokio::time::sleep(Duration::from_secs(LEASE_RENEW_SECONDS)).await;
                let until = Timestamp(self.state.clock.now().millis() + LEASE_SECONDS * 1000);
                if let Err(error) = store::lease::JOBS
                    .renew(&self.state.db, &self.owner, until)
                    .await
                {
                    tracing::warn!(%error, "renewing the provisioning leases failed");
                }
            }
        };
        tokio::select! {
            done = working => done?,
            () = renewing => {}
        }
        Ok(claimed)
    }

    fn idle_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, AppError> {
        Ok(store::lease::JOBS
            .earliest_due(self.state.db.reader())
            .await?)
    }
}
