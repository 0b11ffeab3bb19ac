//! The life of an instance, driven by the `reviews` worker at its times: created at the
//! definition's next start (once, whichever Gatehouse gets there first), filled from the
//! assignments in scope batch by batch (a crash resumes at the last batch), reviewers told,
//! reminded, each stage ended with the default decision for what nobody answered and the
//! items that go on carried to the next, and at the end the results applied through the
//! one service that ends access.

use super::{actor_of, recurrence_of};
use crate::backend::auth::permissions;
use crate::backend::mail::{self, render::Notice};
use crate::backend::services::assignments::{end_in, Ending};
use crate::backend::store::{
    self, audit, person::PersonRow, review::ReviewRow, review_instance::InstanceRow, Tx,
};
use crate::backend::AppState;
use crate::domain::assignment::RemovalReason;
use crate::domain::review::{quality_flags, stage_ends, DefaultDecision, ReviewerTally};
use crate::domain::status::AssignmentStatus;
use crate::domain::{AppError, ErrorCode, Timestamp};

/// Assignment ids per snapshot transaction: small enough that SQLite's one writer is
/// free again within a fraction of a second, large enough that a million take seconds.
/// PostgreSQL, whose writers do not wait for each other, takes larger batches (fewer
/// statements to plan and join tables to hash).
fn snapshot_batch_size(backend: crate::backend::db::Backend) -> i64 {
    match backend {
        crate::backend::db::Backend::Postgres => 100_000,
        _ => 25_000,
    }
}
/// Items applied per transaction.
const APPLY_BATCH: i64 = 100;

const SCHEDULER: audit::Actor = audit::Actor::System("scheduler");

/// Creates the instances whose time has come. Returns how many it created.
#[tracing::instrument(skip_all)]
pub async fn start_due(state: &AppState, now: Timestamp) -> Result<usize, AppError> {
    let mut started = 0;
    for (review_id, next_start) in store::review::due_to_start(state.db.reader(), now, 20).await? {
        let mut tx = state.db.begin_write().await?;
        let Some(review) = store::review::find(&mut tx, review_id).await? else {
            continue;
        };
        let stages = store::review::stages_of(&mut tx, review.id).await?;
        let next =
            recurrence_of(&review).next_start(Timestamp(review.start_at), Timestamp(next_start));
        // Moving the next start is the claim: another Gatehouse that read the same start
        // finds it moved and creates nothing.
        if !store::review::advance_next_start(&mut tx, now, review.id, next_start, next).await? {
            continue;
        }
        if stages.is_empty() {
            tx.commit().await?;
            continue;
        }
        let start = Timestamp(next_start);
        let days: Vec<i64> = stages.iter().map(|stage| stage.duration_days).collect();
        let ends = stage_ends(start, review.duration_days, &days);
        let end = start.plus_days(review.duration_days);
        let first_end = ends.first().copied().unwrap_or(end);
        let stage_count = i64::try_from(stages.len()).unwrap_or(1);
        if let Some(instance_id) = store::review_instance::create(
            &mut tx,
            now,
            review.id,
            start.millis(),
            end.millis(),
            first_end.millis(),
            stage_count,
            snapshot_batch_size(state.db.backend()),
        )
        .await?
        {
            audit::append(
                &mut tx,
                now,
                &SCHEDULER,
                audit::Change::new("review_instance.created", "review_instance", instance_id)
                    .after(serde_json::json!({
                        "access_review_id": review.id, "start_at": start.millis(),
                        "end_at": end.millis(), "stages": stage_count,
                        "next_start_at": next.map(Timestamp::millis),
                    })),
            )
            .await?;
            started += 1;
        }
        tx.commit().await?;
    }
    Ok(started)
}

/// Transactions filling one instance's snapshot at once: PostgreSQL writes in several
/// processes, one per core of this machine (two here: 13.7 s alone, see issue 15's
/// note); SQLite has one writer.
fn snapshot_workers(backend: crate::backend::db::Backend) -> usize {
    match backend {
        crate::backend::db::Backend::Postgres => {
            std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
        }
        _ => 1,
    }
}

/// Fills instances that are starting, one batch of assignment ids per transaction (on
/// PostgreSQL several at once); an instance whose batches are all done goes in progress
/// and its reviewers are told. Returns how many batches it wrote.
#[tracing::instrument(skip_all)]
pub async fn snapshot_starting(state: &AppState, now: Timestamp) -> Result<usize, AppError> {
    let mut batches = 0;
    for instance_id in store::review_instance::starting(state.db.reader(), 5).await? {
        let workers = (0..snapshot_workers(state.db.backend()))
            .map(|_| fill_batches(state, now, instance_id));
        for filled in futures::future::join_all(workers).await {
            batches += filled?;
        }
        batches += usize::from(complete_snapshot(state, now, instance_id).await?);
    }
    Ok(batches)
}

/// Fills batches of the instance's snapshot until none is left to take. Returns how many.
async fn fill_batches(
    state: &AppState,
    now: Timestamp,
    instance_id: i64,
) -> Result<usize, AppError> {
    let mut batches = 0;
    loop {
        let mut tx = state.db.begin_write().await?;
        let Some((after, upto)) = store::review_instance::claim_batch(&mut tx, instance_id).await?
        else {
            return Ok(batches);
        };
        let Some(instance) = store::review_instance::find(&mut tx, instance_id).await? else {
            return Ok(batches);
        };
        if instance.status != "starting" {
            return Ok(batches);
        }
        let (review, first) = review_and_first_stage(&mut tx, &instance).await?;
        let after_item = store::review_instance::max_item_id(&mut tx).await?;
        let (_, named) = store::review_instance::snapshot_batch(
            &mut tx,
            now,
            &instance,
            &review,
            &first.reviewer_kind,
            after,
            upto,
        )
        .await?;
        let items = match state.db.backend() {
            crate::backend::db::Backend::Postgres => {
                store::review_instance::NewItems::Assignments { after, upto }
            }
            _ => store::review_instance::NewItems::since(&mut tx, after_item).await?,
        };
        flag_policy_mismatches(&mut tx, instance.id, items, (after, upto)).await?;
        store::review_instance::resolve_reviewers(
            &mut tx,
            now,
            instance.id,
            &first,
            &review,
            items,
            named,
        )
        .await?;
        tx.commit().await?;
        batches += 1;
    }
}

/// The definition of an instance and its first stage.
async fn review_and_first_stage(
    tx: &mut Tx,
    instance: &InstanceRow,
) -> Result<(ReviewRow, store::review::StageRow), AppError> {
    let review = store::review::find(tx, instance.review_id)
        .await?
        .ok_or_else(AppError::internal)?;
    let first = store::review::stages_of(tx, review.id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(AppError::internal)?;
    Ok((review, first))
}

/// Completes the snapshot once every batch is done: drift in scope, peers and departments
/// counted, the first stage opened. False when batches are left (being filled by another
/// Gatehouse, or undone by a crash and taken again at the next round) or another
/// Gatehouse completed it.
async fn complete_snapshot(
    state: &AppState,
    now: Timestamp,
    instance_id: i64,
) -> Result<bool, AppError> {
    let mut tx = state.db.begin_write().await?;
    if !store::review_instance::lock_starting(&mut tx, now, instance_id).await?
        || store::review_instance::batches_left(&mut tx, instance_id).await? > 0
    {
        return Ok(false);
    }
    let Some(instance) = store::review_instance::find(&mut tx, instance_id).await? else {
        return Ok(false);
    };
    let (review, first) = review_and_first_stage(&mut tx, &instance).await?;
    let first = &first;
    if review.include_drift {
        let after_item = store::review_instance::max_item_id(&mut tx).await?;
        if store::review_instance::snapshot_drift(&mut tx, now, instance.id, &review).await? > 0 {
            let items = store::review_instance::NewItems::since(&mut tx, after_item).await?;
            store::review_instance::resolve_reviewers(
                &mut tx,
                now,
                instance.id,
                first,
                &review,
                items,
                store::review_instance::Named::No,
            )
            .await?;
        }
    }
    store::review_instance::count_peers(&mut tx, instance.id, &review, instance.snapshot_until_id)
        .await?;
    store::review_instance::count_departments(&mut tx, instance.id).await?;
    store::review_instance::refresh_statistics(&mut tx).await?;
    open_first_stage(&mut tx, now, &instance, &review).await?;
    tx.commit().await?;
    Ok(true)
}

/// The snapshot is complete: the instance is in progress and stage 1's reviewers are told.
async fn open_first_stage(
    tx: &mut Tx,
    now: Timestamp,
    instance: &InstanceRow,
    review: &ReviewRow,
) -> Result<(), AppError> {
    if !store::review_instance::set_status(tx, now, instance.id, "starting", "in_progress").await? {
        return Ok(());
    }
    let (items, _) = store::review_instance::recount_stage(tx, instance.id, 1).await?;
    audit::append(
        tx,
        now,
        &SCHEDULER,
        audit::Change::new("review_instance.started", "review_instance", instance.id).after(
            serde_json::json!({ "access_review_id": review.id, "items": items, "stage": 1 }),
        ),
    )
    .await?;
    tell_reviewers_stage_opened(
        tx,
        now,
        instance.id,
        1,
        Timestamp(instance.stage_end_at),
        &review.name,
    )
    .await
}

async fn tell_reviewers_stage_opened(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    stage_end: Timestamp,
    review_name: &str,
) -> Result<(), AppError> {
    for share in store::review_instance::reviewers_of_stage(tx, instance_id, stage).await? {
        mail::notify(
            tx,
            now,
            share.person_id,
            &Notice::review_started(
                review_name,
                usize::try_from(share.items).unwrap_or(0),
                stage_end,
            ),
            &[mail::review_link(
                instance_id,
                stage,
                share.person_id,
                stage_end,
            )],
        )
        .await?;
    }
    Ok(())
}

/// Reminds the reviewers who still have undecided items, once per reminder day of the
/// review (a reminder missed while Gatehouse was down goes out once, not once per day).
#[tracing::instrument(skip_all)]
pub async fn send_reminders(state: &AppState, now: Timestamp) -> Result<usize, AppError> {
    let mut sent = 0;
    for (instance_id, stage, stage_end, reminder_json) in
        store::review_instance::in_progress(state.db.reader(), 200).await?
    {
        let days: Vec<i64> = serde_json::from_str(&reminder_json).map_err(|error| {
            tracing::error!(instance_id, %error, "unreadable reminder days");
            AppError::internal()
        })?;
        let stage_end = Timestamp(stage_end);
        if now >= stage_end {
            continue;
        }
        let due: Vec<i64> = days
            .into_iter()
            .filter(|day| stage_end.plus_days(-*day) <= now)
            .collect();
        if due.is_empty() {
            continue;
        }
        let mut tx = state.db.begin_write().await?;
        let mut fresh = false;
        for day in &due {
            fresh |= store::message::mark_notice_sent(
                &mut tx,
                now,
                &format!("review:{instance_id}:{stage}:{day}"),
            )
            .await?;
        }
        if !fresh {
            continue;
        }
        let instance = store::review_instance::find(&mut tx, instance_id)
            .await?
            .ok_or_else(AppError::internal)?;
        for share in store::review_instance::reviewers_of_stage(&mut tx, instance_id, stage).await?
        {
            if share.open == 0 {
                continue;
            }
            mail::notify(
                &mut tx,
                now,
                share.person_id,
                &Notice::review_reminder(
                    &instance.review_name,
                    usize::try_from(share.open).unwrap_or(0),
                    stage_end,
                ),
                &[mail::review_link(
                    instance_id,
                    stage,
                    share.person_id,
                    stage_end,
                )],
            )
            .await?;
            sent += 1;
        }
        tx.commit().await?;
    }
    Ok(sent)
}

/// Ends the stages whose time has come, and applies the results of instances waiting to
/// be applied. Returns how many stages ended plus items applied.
#[tracing::instrument(skip_all)]
pub async fn end_due_stages(state: &AppState, now: Timestamp) -> Result<usize, AppError> {
    let mut done = 0;
    for instance_id in store::review_instance::stage_due(state.db.reader(), now, 20).await? {
        if end_stage(state, instance_id, now).await? {
            done += 1;
        }
    }
    for instance_id in store::review_instance::applying(state.db.reader(), 5).await? {
        done += apply_batch(state, instance_id, now).await?;
    }
    Ok(done)
}

fn default_reason(default: DefaultDecision, stage: i64) -> String {
    let what = match default {
        DefaultDecision::Keep => "keep",
        DefaultDecision::Remove => "remove",
        DefaultDecision::Recommendation => "take the recommendation",
        DefaultDecision::NoChange => "no change",
    };
    format!("Nobody answered by the end of stage {stage}; the review's default: {what}.")
}

async fn end_stage(state: &AppState, instance_id: i64, now: Timestamp) -> Result<bool, AppError> {
    let mut tx = state.db.begin_write().await?;
    audit::lock_chain(&mut tx).await?;
    let Some(instance) = store::review_instance::find(&mut tx, instance_id).await? else {
        return Ok(false);
    };
    if instance.status != "in_progress" || instance.stage_end_at > now.millis() {
        return Ok(false);
    }
    let review = store::review::find(&mut tx, instance.review_id)
        .await?
        .ok_or_else(AppError::internal)?;
    let stages = store::review::stages_of(&mut tx, review.id).await?;
    let default =
        DefaultDecision::parse(&review.default_decision).unwrap_or(DefaultDecision::NoChange);
    let defaulted = match default {
        DefaultDecision::NoChange => 0,
        DefaultDecision::Recommendation => {
            store::review_instance::apply_default(
                &mut tx,
                now,
                instance.id,
                instance.stage,
                None,
                &default_reason(default, instance.stage),
            )
            .await?
        }
        DefaultDecision::Keep | DefaultDecision::Remove => {
            let decision = if default == DefaultDecision::Keep {
                "keep"
            } else {
                "remove"
            };
            store::review_instance::apply_default(
                &mut tx,
                now,
                instance.id,
                instance.stage,
                Some(decision),
                &default_reason(default, instance.stage),
            )
            .await?
        }
    };
    // Careless answers are flagged on the report and in the trail.
    let mut flagged = Vec::new();
    for tally in store::review_instance::tallies(&mut tx, instance.id, Some(instance.stage)).await?
    {
        let flags = quality_flags(&ReviewerTally {
            assigned: tally.items,
            decided: tally.kept + tally.removed + tally.not_sure,
            kept: tally.kept,
            first_decided_at: tally.first_decided_at.map(Timestamp),
            last_decided_at: tally.last_decided_at.map(Timestamp),
        });
        if !flags.is_empty() {
            audit::append(
                &mut tx,
                now,
                &SCHEDULER,
                audit::Change::new(
                    "review_instance.reviewer_flagged",
                    "review_instance",
                    instance.id,
                )
                .after(serde_json::json!({
                    "stage": instance.stage, "reviewer_id": tally.person_id,
                    "flags": flags.iter().map(|flag| flag.describe()).collect::<Vec<_>>(),
                })),
            )
            .await?;
            flagged.push(tally.person_id);
        }
    }
    audit::append(
        &mut tx,
        now,
        &SCHEDULER,
        audit::Change::new("review_instance.stage_ended", "review_instance", instance.id).after(
            serde_json::json!({ "stage": instance.stage, "defaulted": defaulted, "flagged_reviewers": flagged }),
        ),
    )
    .await?;
    let defined = i64::try_from(stages.len()).unwrap_or(1);
    let next = stages
        .iter()
        .find(|stage| stage.position == instance.stage + 1);
    let opened = match next {
        Some(next) => {
            let after_item = store::review_instance::max_item_id(&mut tx).await?;
            store::review_instance::carry_on(
                &mut tx,
                now,
                instance.id,
                instance.stage,
                &next.carry,
                None,
            )
            .await?;
            let items = store::review_instance::NewItems::since(&mut tx, after_item).await?;
            store::review_instance::resolve_reviewers(
                &mut tx,
                now,
                instance.id,
                next,
                &review,
                items,
                store::review_instance::Named::No,
            )
            .await?;
            let days: Vec<i64> = stages.iter().map(|stage| stage.duration_days).collect();
            let ends = stage_ends(Timestamp(instance.start_at), review.duration_days, &days);
            let index = usize::try_from(next.position - 1).unwrap_or(0);
            let end = ends
                .get(index)
                .copied()
                .unwrap_or(Timestamp(instance.end_at))
                .max(now.plus_minutes(1));
            store::review_instance::set_stage(
                &mut tx,
                now,
                instance.id,
                next.position,
                instance.stage_count,
                end.millis(),
            )
            .await?;
            store::review_instance::recount_stage(&mut tx, instance.id, next.position).await?;
            store::review_instance::refresh_statistics(&mut tx).await?;
            Some((next.position, end))
        }
        None if review.quality_extra_stage && !flagged.is_empty() && instance.stage == defined => {
            // The items of careless reviewers get one more look, by the review's owner
            // (or the administrators when the owner holds the access).
            let extra = store::review::StageRow {
                position: instance.stage + 1,
                reviewer_kind: "owner".to_string(),
                person_group_id: None,
                duration_days: stages.last().map_or(7, |stage| stage.duration_days),
                carry: "all".to_string(),
            };
            let after_item = store::review_instance::max_item_id(&mut tx).await?;
            let carried = store::review_instance::carry_on(
                &mut tx,
                now,
                instance.id,
                instance.stage,
                "all",
                Some(&flagged),
            )
            .await?;
            if carried > 0 {
                let items = store::review_instance::NewItems::since(&mut tx, after_item).await?;
                store::review_instance::resolve_reviewers(
                    &mut tx,
                    now,
                    instance.id,
                    &extra,
                    &review,
                    items,
                    store::review_instance::Named::No,
                )
                .await?;
                let end = now.plus_days(extra.duration_days);
                store::review_instance::set_stage(
                    &mut tx,
                    now,
                    instance.id,
                    extra.position,
                    extra.position,
                    end.millis(),
                )
                .await?;
                store::review_instance::recount_stage(&mut tx, instance.id, extra.position).await?;
                Some((extra.position, end))
            } else {
                None
            }
        }
        None => None,
    };
    if let Some((stage, end)) = opened {
        tell_reviewers_stage_opened(&mut tx, now, instance.id, stage, end, &review.name).await?;
        tx.commit().await?;
        return Ok(true);
    }
    store::review_instance::recount_stage(&mut tx, instance.id, instance.stage).await?;
    store::review_instance::set_status(&mut tx, now, instance.id, "in_progress", "ended").await?;
    let [kept, removed, ..] = store::review_instance::totals(&mut tx, instance.id).await?;
    audit::append(
        &mut tx,
        now,
        &SCHEDULER,
        audit::Change::new("review_instance.ended", "review_instance", instance.id)
            .after(serde_json::json!({ "kept": kept, "removed": removed })),
    )
    .await?;
    let mut told = std::collections::BTreeSet::new();
    for stage in 1..=instance.stage {
        for share in store::review_instance::reviewers_of_stage(&mut tx, instance.id, stage).await?
        {
            if told.insert(share.person_id) {
                mail::notify(
                    &mut tx,
                    now,
                    share.person_id,
                    &Notice::review_ended(
                        &review.name,
                        usize::try_from(kept).unwrap_or(0),
                        usize::try_from(removed).unwrap_or(0),
                    ),
                    &[],
                )
                .await?;
            }
        }
    }
    if review.apply_mode == "auto" {
        store::review_instance::set_status(&mut tx, now, instance.id, "ended", "applying").await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// An administrator confirms the results of an ended instance; the worker applies them.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id))]
pub async fn apply_confirmed(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(instance) = store::review_instance::find(&mut tx, instance_id).await? else {
        return Err(AppError::not_found("review"));
    };
    super::readable(&mut tx, person, instance.review_id)
        .await
        .map_err(|_| AppError::not_found("review"))?;
    permissions::require_administrator(person)?;
    if !store::review_instance::set_status(&mut tx, now, instance.id, "ended", "applying").await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            match instance.status.as_str() {
                "applying" | "applied" => "The results of this review are already applied.",
                _ => "This review has not ended yet; its results can be applied once it has.",
            },
        ));
    }
    audit::append(
        &mut tx,
        now,
        &actor_of(person),
        audit::Change::new(
            "review_instance.apply_confirmed",
            "review_instance",
            instance.id,
        ),
    )
    .await?;
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(())
}

/// Applies up to one batch of an instance's results: removed access ended (reason "denied
/// in review", the reviewer as the actor, their reason as the comment), kept access
/// extended when the review says so; the instance is applied once nothing is left.
async fn apply_batch(
    state: &AppState,
    instance_id: i64,
    now: Timestamp,
) -> Result<usize, AppError> {
    let mut tx = state.db.begin_write().await?;
    audit::lock_chain(&mut tx).await?;
    let Some(instance) = store::review_instance::find(&mut tx, instance_id).await? else {
        return Ok(0);
    };
    if instance.status != "applying" {
        return Ok(0);
    }
    let review = store::review::find(&mut tx, instance.review_id)
        .await?
        .ok_or_else(AppError::internal)?;
    let items = store::review_instance::unapplied_final(&mut tx, instance.id, APPLY_BATCH).await?;
    if items.is_empty() {
        store::review_instance::set_status(&mut tx, now, instance.id, "applying", "applied")
            .await?;
        let [kept, removed, not_sure, undecided, applied, _] =
            store::review_instance::totals(&mut tx, instance.id).await?;
        audit::append(
            &mut tx,
            now,
            &SCHEDULER,
            audit::Change::new("review_instance.applied", "review_instance", instance.id).after(
                serde_json::json!({
                    "kept": kept, "removed": removed, "not_sure": not_sure,
                    "undecided": undecided, "ended": applied,
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        return Ok(1);
    }
    let mut ended = 0;
    for item in &items {
        let result = match (item.decision.as_deref(), item.assignment_id) {
            (Some("remove"), Some(assignment_id)) => {
                let current = store::assignment::find(&mut tx, assignment_id).await?;
                if current.is_some_and(|row| row.status == AssignmentStatus::Active) {
                    let actor = match &item.decided_by {
                        Some((id, name)) => audit::Actor::person(*id, name),
                        None => audit::Actor::System("review"),
                    };
                    end_in(
                        &mut tx,
                        now,
                        assignment_id,
                        Ending {
                            actor,
                            reason: RemovalReason::DeniedInReview,
                            comment: &format!("{}: {}", review.name, item.reason),
                        },
                        false,
                    )
                    .await?;
                    ended += 1;
                    "ended"
                } else {
                    "already_ended"
                }
            }
            (Some("keep"), None) => match item.drift_id {
                Some(drift_id) => grant_unexplained(&mut tx, now, drift_id, item, &review).await?,
                None => "kept",
            },
            (Some("keep"), Some(assignment_id)) if review.extend_kept => {
                if crate::backend::services::assignments::extend_by_policy(
                    &mut tx,
                    now,
                    assignment_id,
                    &audit::Actor::System("review"),
                )
                .await?
                {
                    "extended"
                } else {
                    "kept"
                }
            }
            (Some("keep"), _) => "kept",
            (Some("remove"), None) => match item.drift_id {
                Some(drift_id) => remove_unexplained(&mut tx, now, drift_id, item).await?,
                None => "no_change",
            },
            _ => "no_change",
        };
        store::review_instance::mark_applied(&mut tx, now, instance.id, item, result).await?;
    }
    tx.commit().await?;
    if ended > 0 {
        // The provisioner has removal jobs to run.
        state.scheduler_wakeup.notify();
    }
    Ok(items.len())
}

/// Ends the current stage now (administrators and the review's owner): the worker then
/// does what the end of the stage does.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id))]
pub async fn end_stage_now(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(instance) = store::review_instance::find(&mut tx, instance_id).await? else {
        return Err(AppError::not_found("review"));
    };
    let review = super::readable(&mut tx, person, instance.review_id)
        .await
        .map_err(|_| AppError::not_found("review"))?;
    if !super::may_change(&mut tx, person, &review).await? {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "You may read this review but not end it.",
        ));
    }
    if !store::review_instance::end_stage_at(&mut tx, now, instance.id, instance.stage).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "This review is not in progress.",
        ));
    }
    audit::append(
        &mut tx,
        now,
        &actor_of(person),
        audit::Change::new(
            "review_instance.stage_ended_early",
            "review_instance",
            instance.id,
        )
        .before(
            serde_json::json!({ "stage": instance.stage, "stage_end_at": instance.stage_end_at }),
        )
        .after(serde_json::json!({ "stage_end_at": now.millis() })),
    )
    .await?;
    tx.commit().await?;
    // What the end of the stage does is done now, so that the page shows it at once; the
    // worker applies the results.
    end_stage(state, instance.id, now).await?;
    state.scheduler_wakeup.notify();
    Ok(())
}

/// Days a kept downstream membership is granted for when it becomes a grant.
const UNEXPLAINED_KEPT_DAYS: i64 = 90;

/// Removed in review: downstream membership no grant explains is removed by the connector
/// and verified like any removal; the person is told.
async fn remove_unexplained(
    tx: &mut Tx,
    now: Timestamp,
    drift_id: i64,
    item: &store::review_instance::FinalItem,
) -> Result<&'static str, AppError> {
    let Some((person_id, resource_id, connector_id, name, open)) =
        store::review_instance::drift_subject(tx, drift_id).await?
    else {
        return Ok("no_change");
    };
    if !open {
        return Ok("already_ended");
    }
    store::provisioning::queue_unexplained_removal(
        tx,
        now,
        drift_id,
        person_id,
        resource_id,
        connector_id,
    )
    .await?;
    let actor = match &item.decided_by {
        Some((id, label)) => audit::Actor::person(*id, label),
        None => audit::Actor::System("review"),
    };
    audit::append(
        tx,
        now,
        &actor,
        audit::Change::new("drift.removal_queued", "drift", drift_id).after(serde_json::json!({
            "person_id": person_id, "resource_id": resource_id, "reason": item.reason, "why": "removed in an access review",
        })),
    )
    .await?;
    mail::notify(
        tx,
        now,
        person_id,
        &Notice::access_removed(
            &name,
            "a reviewer decided it is no longer needed",
            &item.reason,
        ),
        &[],
    )
    .await?;
    Ok("removal_queued")
}

/// Kept in review: downstream membership no grant explained becomes a grant of a package
/// that holds the group, with an end, so that it lapses unless someone asks again.
async fn grant_unexplained(
    tx: &mut Tx,
    now: Timestamp,
    drift_id: i64,
    item: &store::review_instance::FinalItem,
    review: &ReviewRow,
) -> Result<&'static str, AppError> {
    let Some((person_id, resource_id, ..)) =
        store::review_instance::drift_subject(tx, drift_id).await?
    else {
        return Ok("no_change");
    };
    let Some(package_id) = store::review_instance::package_granting(tx, resource_id).await? else {
        return Ok("kept_without_package");
    };
    let actor = match &item.decided_by {
        Some((id, label)) => audit::Actor::person(*id, label),
        None => audit::Actor::System("review"),
    };
    let granted = crate::backend::services::assignments::create_assignment(
        tx,
        now,
        &store::assignment::NewAssignment {
            person_id,
            package_id,
            policy_id: None,
            request_id: None,
            status: AssignmentStatus::Active,
            start_at: now,
            end_at: Some(now.plus_days(UNEXPLAINED_KEPT_DAYS)),
        },
        &actor,
        serde_json::json!({ "why": "kept in an access review", "review": review.name, "drift_id": drift_id }),
    )
    .await;
    match granted {
        Ok(_) => Ok("granted"),
        // A person who left, or a separation-of-duties conflict: kept as it is, for an
        // administrator to see in the report.
        Err(error) if error.code == ErrorCode::Conflict || error.code == ErrorCode::Forbidden => {
            Ok("kept_not_granted")
        }
        Err(error) => Err(error),
    }
}

/// Items whose holder no longer matches the requester rule of the policy the access was
/// granted under (moved department, other groups) are recommended for removal, saying so.
/// Run on each snapshot batch, so what is read is bounded by the batch.
async fn flag_policy_mismatches(
    tx: &mut Tx,
    instance_id: i64,
    items: store::review_instance::NewItems,
    (after, upto): (i64, i64),
) -> Result<(), AppError> {
    use crate::domain::policy::Requestor;
    use crate::domain::review::Concern;
    for policy_id in store::review_instance::policies_with_rules(tx, after, upto).await? {
        let Some(scope) = store::policy::scope_of_policy(tx, policy_id).await? else {
            continue;
        };
        let groups =
            store::review_instance::groups_of_holders(tx, instance_id, policy_id, items).await?;
        for holder in
            store::review_instance::holders_under_policy(tx, instance_id, policy_id, items).await?
        {
            let attributes: std::collections::BTreeMap<String, String> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&holder.attributes_json)
                    .map_err(|error| {
                        tracing::error!(person_id = holder.person_id, %error, "unreadable attributes of a person");
                        AppError::internal()
                    })?
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
                    .collect();
            let requestor = Requestor {
                department: holder.department.clone(),
                job_title: holder.job_title.clone(),
                group_ids: groups
                    .iter()
                    .filter(|(person, _)| *person == holder.person_id)
                    .map(|(_, group)| *group)
                    .collect(),
                attributes,
            };
            if scope.admits(&requestor) {
                continue;
            }
            let mut concerns: Vec<Concern> = serde_json::from_str(&holder.recommendation_json).map_err(|error| {
                tracing::error!(item_id = holder.item_id, %error, "unreadable recommendation of a review item");
                AppError::internal()
            })?;
            concerns.push(Concern::NoLongerMatchesPolicy);
            let json = serde_json::to_string(&concerns).map_err(|_| AppError::internal())?;
            store::review_instance::set_concerns(tx, holder.item_id, &json).await?;
        }
    }
    Ok(())
}
