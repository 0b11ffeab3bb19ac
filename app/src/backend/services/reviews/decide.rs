//! A reviewer's part: the instances they review in, their items a page at a time with the
//! reasons to decide well, and their decisions (one, many, "accept the recommendations"),
//! changeable until the stage ends, and handing an item to someone else.

use super::actor_of;
use crate::backend::mail::{self, render::Notice};
use crate::backend::store::{self, audit, person::PersonRow, review_instance::InstanceRow, Tx};
use crate::backend::AppState;
use crate::domain::review::{parse_reason, Concern, Decision};
use crate::domain::{AppError, ErrorCode, Timestamp};
use crate::model::reviews::*;
use std::collections::HashMap;

/// Items decided in one go at most.
const MAX_ITEMS_PER_DECISION: usize = 1_000;

/// The instance, if `person` reviews anything in it; otherwise as if it did not exist.
async fn reviewed_by(
    tx: &mut Tx,
    person: &PersonRow,
    instance_id: i64,
) -> Result<InstanceRow, AppError> {
    match store::review_instance::find(tx, instance_id).await? {
        Some(instance)
            if store::review_instance::is_reviewer(tx, instance.id, person.id).await? =>
        {
            Ok(instance)
        }
        _ => Err(AppError::not_found("review")),
    }
}

/// Decisions are taken on the current stage of an instance in progress, until it ends.
fn require_open(instance: &InstanceRow, now: Timestamp) -> Result<(), AppError> {
    if instance.status == "in_progress" && now.millis() < instance.stage_end_at {
        return Ok(());
    }
    let message = if instance.status == "starting" {
        "This review is still starting; try again in a moment.".to_string()
    } else {
        format!(
            "This stage of the review ended at {}; decisions can no longer be recorded or changed.",
            Timestamp(instance.stage_end_at)
        )
    };
    Err(AppError::new(ErrorCode::Conflict, message))
}

/// The instances `person` reviews in.
#[tracing::instrument(skip_all, fields(person_id = person.id))]
pub async fn my_reviews(state: &AppState, person: &PersonRow) -> Result<Vec<MyReview>, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.reader().begin().await?;
    Ok(store::review_instance::of_reviewer(&mut tx, person.id, 50)
        .await?
        .into_iter()
        .map(|(instance, items, decided)| MyReview {
            instance_id: instance.id,
            open: instance.status == "in_progress"
                && now.millis() < instance.stage_end_at
                && items > 0,
            review_name: instance.review_name,
            stage: instance.stage,
            stage_count: instance.stage_count,
            stage_end_at: Timestamp(instance.stage_end_at),
            items,
            decided,
        })
        .collect())
}

fn concerns_of(item_id: i64, stored: &str) -> Result<Vec<String>, AppError> {
    let concerns: Vec<Concern> = serde_json::from_str(stored).map_err(|error| {
        tracing::error!(item_id, %error, "unreadable recommendation of a review item");
        AppError::internal()
    })?;
    Ok(concerns.iter().map(Concern::describe).collect())
}

/// A page of `person`'s items, with what speaks for and against each.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id))]
pub async fn reviewer_page(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
    group_by: GroupBy,
    query: &str,
    page: i64,
) -> Result<ReviewerPage, AppError> {
    let now = state.clock.now();
    let page = page.max(1);
    let mut tx = state.db.reader().begin().await?;
    let instance = reviewed_by(&mut tx, person, instance_id).await?;
    let review = store::review::find(&mut tx, instance.review_id)
        .await?
        .ok_or_else(AppError::internal)?;
    // The current stage, or the last one the person had items in.
    let mut stage = instance.stage;
    let mut mine =
        store::review_instance::reviewer_progress(&mut tx, instance.id, stage, person.id).await?;
    while mine.0 == 0 && stage > 1 {
        stage -= 1;
        mine = store::review_instance::reviewer_progress(&mut tx, instance.id, stage, person.id)
            .await?;
    }
    let (matching, rows) = store::review_instance::page_of_reviewer(
        &mut tx,
        instance.id,
        stage,
        person.id,
        group_by == GroupBy::Package,
        query,
        Some(mine.0),
        ITEMS_PER_PAGE,
        (page - 1) * ITEMS_PER_PAGE,
    )
    .await?;
    let assignment_ids: Vec<i64> = rows.iter().filter_map(|row| row.assignment_id).collect();
    let mut pairs: Vec<(i64, String)> = rows
        .iter()
        .filter_map(|row| Some((row.package_id?, row.department.clone()?)))
        .collect();
    pairs.sort();
    pairs.dedup();
    let peers: HashMap<(i64, String), (i64, i64)> =
        store::review_instance::peers(&mut tx, instance.id, &pairs)
            .await?
            .into_iter()
            .map(|(package, department, people, holders)| {
                ((package, department), (people, holders))
            })
            .collect();
    let earlier_starts =
        store::review_instance::earlier_starts(&mut tx, review.id, instance.start_at, 3).await?;
    let history =
        store::review_instance::history(&mut tx, review.id, instance.start_at, &assignment_ids)
            .await?;
    let origins: HashMap<i64, (Option<i64>, Option<String>)> =
        store::review_instance::origins_of(&mut tx, &assignment_ids)
            .await?
            .into_iter()
            .map(|(id, request, actor)| (id, (request, actor)))
            .collect();
    let approvals = store::review_instance::approvals_of(&mut tx, &assignment_ids).await?;
    let earlier =
        store::review_instance::earlier_decisions(&mut tx, instance.id, stage, &assignment_ids)
            .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let mut facts = Vec::new();
        if let (Some(package), Some(department)) = (row.package_id, row.department.clone()) {
            if let Some((people, holders)) = peers.get(&(package, department.clone())) {
                if *people > 0 {
                    facts.push(format!(
                        "{holders} of {people} people in {department} hold this"
                    ));
                }
            }
        }
        if let Some(assignment) = row.assignment_id {
            facts.extend(history_words(assignment, &earlier_starts, &history));
            match origins.get(&assignment) {
                Some((Some(request_id), _)) => {
                    let approved: Vec<String> = approvals
                        .iter()
                        .filter(|(id, ..)| *id == assignment)
                        .map(|(_, name, outcome, why)| {
                            let verb = if outcome == "approve" {
                                "approved"
                            } else {
                                "denied"
                            };
                            if why.trim().is_empty() {
                                format!("{verb} by {name}")
                            } else {
                                format!("{verb} by {name}: “{}”", why.trim())
                            }
                        })
                        .collect();
                    if approved.is_empty() {
                        facts.push(format!(
                            "Requested (request {request_id}); granted without approval"
                        ));
                    } else {
                        facts.push(format!(
                            "Requested (request {request_id}); {}",
                            approved.join("; ")
                        ));
                    }
                }
                Some((None, Some(actor))) => facts.push(format!("Assigned directly by {actor}")),
                _ => facts.push("Assigned directly".to_string()),
            }
        }
        items.push(ReviewItemView {
            item_id: row.id,
            concerns: concerns_of(row.id, &row.recommendation_json)?,
            earlier: earlier
                .iter()
                .filter(|(assignment, ..)| Some(*assignment) == row.assignment_id)
                .map(|(_, stage, name, decision, reason)| EarlierDecision {
                    stage: *stage,
                    reviewer_name: name
                        .clone()
                        .unwrap_or_else(|| "Nobody (the review's default)".to_string()),
                    decision: decision.as_deref().and_then(Decision::parse),
                    reason: reason.clone(),
                })
                .collect(),
            holder_name: row.holder_name,
            holder_email: row.holder_email,
            department: row.department,
            access_name: row.access_name,
            unexplained: row.unexplained,
            held_since: row.held_since.map(Timestamp),
            recommendation: row.recommendation.as_deref().and_then(Decision::parse),
            facts,
            decision: row.decision.as_deref().and_then(Decision::parse),
            reason: row.reason,
            decided_by: row.decided_by,
            decided_at: row.decided_at.map(Timestamp),
        });
    }
    let (stage_items, stage_decided) =
        store::review_instance::stage_progress(&mut tx, instance.id, stage).await?;
    Ok(ReviewerPage {
        instance_id: instance.id,
        review_name: review.name,
        description: review.description,
        stage,
        stage_count: instance.stage_count,
        stage_end_at: Timestamp(instance.stage_end_at),
        open: stage == instance.stage && require_open(&instance, now).is_ok(),
        reason_on_keep: review.reason_on_keep,
        reason_on_remove: review.reason_on_remove,
        group_by,
        query: query.trim().to_string(),
        page,
        matching,
        items,
        my_items: mine.0,
        my_decided: mine.1,
        my_recommended_open: mine.2,
        stage_items,
        stage_decided,
    })
}

/// "New since the last review", "Kept in the last 3 reviews".
fn history_words(
    assignment: i64,
    earlier_starts: &[i64],
    history: &[(i64, i64, Option<String>)],
) -> Option<String> {
    let latest = *earlier_starts.first()?;
    let mine: Vec<&(i64, i64, Option<String>)> = history
        .iter()
        .filter(|(id, ..)| *id == assignment)
        .collect();
    if !mine.iter().any(|(_, start, _)| *start == latest) {
        return Some("New since the last review".to_string());
    }
    let kept = earlier_starts
        .iter()
        .take_while(|start| {
            mine.iter()
                .any(|(_, at, decision)| at == *start && decision.as_deref() == Some("keep"))
        })
        .count();
    match kept {
        0 => None,
        1 => Some("Kept in the last review".to_string()),
        n => Some(format!("Kept in the last {n} reviews")),
    }
}

/// Uses up the email link the reviewer came by, if it is theirs and for this instance.
async fn use_link(
    tx: &mut Tx,
    now: Timestamp,
    person: &PersonRow,
    instance_id: i64,
    link: &str,
) -> Result<(), AppError> {
    if link.trim().is_empty() {
        return Ok(());
    }
    if let Some(token) = store::action_token::find(tx, link.trim()).await? {
        if token.spec.purpose == "review"
            && token.spec.subject_kind == "review_instance"
            && token.spec.subject_id == instance_id
            && token.spec.person_id == person.id
            && token.used_at.is_none()
            && token.spec.expires_at > now.millis()
        {
            store::action_token::consume(tx, now, token.id).await?;
        }
    }
    Ok(())
}

/// Records `person`'s decision on items of theirs in the instance's current stage.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id, items = item_ids.len()))]
pub async fn decide(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
    item_ids: &[i64],
    decision: Decision,
    reason: &str,
    link: &str,
) -> Result<DecisionsRecorded, AppError> {
    let now = state.clock.now();
    let mut ids = item_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::invalid_field(
            "item_ids",
            "Choose at least one item.",
        ));
    }
    if ids.len() > MAX_ITEMS_PER_DECISION {
        return Err(AppError::invalid_field(
            "item_ids",
            format!("Decide at most {MAX_ITEMS_PER_DECISION} items at once."),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let instance = reviewed_by(&mut tx, person, instance_id).await?;
    require_open(&instance, now)?;
    let review = store::review::find(&mut tx, instance.review_id)
        .await?
        .ok_or_else(AppError::internal)?;
    let reason = parse_reason(
        decision,
        reason,
        review.reason_on_keep,
        review.reason_on_remove,
    )
    .map_err(|message| AppError::invalid_field("reason", message))?;
    let newly = store::review_instance::undecided_among(&mut tx, &ids).await?;
    let decided = store::review_instance::decide(
        &mut tx,
        now,
        instance.id,
        instance.stage,
        person.id,
        &ids,
        decision.as_str(),
        &reason,
    )
    .await?;
    if usize::try_from(decided).unwrap_or(0) != ids.len() {
        // Nothing is recorded when any of the items is not the person's to decide; an
        // item of theirs from a stage that has ended says so.
        if store::review_instance::reviewed_at_earlier_stage(
            &mut tx,
            instance.id,
            instance.stage,
            person.id,
            &ids,
        )
        .await?
        {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "The stage you reviewed has ended; decisions can no longer be recorded or changed.",
            ));
        }
        return Err(AppError::not_found("review item"));
    }
    store::review_instance::add_decided(&mut tx, instance.id, newly).await?;
    use_link(&mut tx, now, person, instance.id, link).await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(person),
        audit::Change::new("review_item.decided", "review_instance", instance.id).after(serde_json::json!({
            "stage": instance.stage, "items": ids, "decision": decision.as_str(), "reason": reason,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(DecisionsRecorded {
        decided: i64::try_from(decided).unwrap_or(i64::MAX),
    })
}

/// Takes the recommendation for each of `person`'s undecided items in the current stage.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id))]
pub async fn accept_recommendations(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
) -> Result<DecisionsRecorded, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let instance = reviewed_by(&mut tx, person, instance_id).await?;
    require_open(&instance, now)?;
    let decided = store::review_instance::accept_recommendations(
        &mut tx,
        now,
        instance.id,
        instance.stage,
        person.id,
    )
    .await?;
    store::review_instance::add_decided(&mut tx, instance.id, i64::try_from(decided).unwrap_or(0))
        .await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(person),
        audit::Change::new("review_item.decided", "review_instance", instance.id).after(
            serde_json::json!({
                "stage": instance.stage, "accepted_recommendations": decided,
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(DecisionsRecorded {
        decided: i64::try_from(decided).unwrap_or(i64::MAX),
    })
}

/// Hands one of `person`'s items to someone else, with a reason; they are told.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id, item_id = item_id))]
pub async fn reassign(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
    item_id: i64,
    to: &str,
    reason: &str,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let instance = reviewed_by(&mut tx, person, instance_id).await?;
    require_open(&instance, now)?;
    if !store::review_instance::reviews_item(
        &mut tx,
        instance.id,
        instance.stage,
        item_id,
        person.id,
    )
    .await?
    {
        return Err(AppError::not_found("review item"));
    }
    let mut v = crate::domain::error::Validation::new();
    let reason = v.check(
        "reason",
        crate::domain::drafts::parse_text(reason, crate::domain::review::MAX_REASON_CHARS)
            .and_then(|reason| {
                if reason.is_empty() {
                    Err("Say why someone else should decide this.".to_string())
                } else {
                    Ok(reason)
                }
            }),
    );
    let email = v.check(
        "to",
        crate::domain::person::Email::parse(to)
            .map_err(|_| "Enter the email address of the new reviewer.".to_string()),
    );
    v.finish()?;
    let (Some(reason), Some(email)) = (reason, email) else {
        return Err(AppError::internal());
    };
    let to_id = match store::person::people_by_email(&mut tx, &[email.as_str().to_string()]).await?
    {
        Ok(ids) => ids.first().copied().ok_or_else(AppError::internal)?,
        Err(message) => return Err(AppError::invalid_field("to", message)),
    };
    let holder = store::review_instance::holder_of(&mut tx, item_id).await?;
    if to_id == holder {
        return Err(AppError::invalid_field(
            "to",
            "Nobody reviews their own access; choose someone else.",
        ));
    }
    if to_id == person.id {
        return Err(AppError::invalid_field("to", "This item is already yours."));
    }
    store::review_instance::reassign(
        &mut tx,
        now,
        instance.id,
        instance.stage,
        item_id,
        person.id,
        to_id,
        &reason,
    )
    .await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(person),
        audit::Change::new("review_item.reassigned", "review_instance", instance.id).after(serde_json::json!({
            "item_id": item_id, "stage": instance.stage, "from": person.id, "to": to_id, "reason": reason,
        })),
    )
    .await?;
    let stage_end = Timestamp(instance.stage_end_at);
    mail::notify(
        &mut tx,
        now,
        to_id,
        &Notice::review_started(&instance.review_name, 1, stage_end),
        &[mail::review_link(
            instance.id,
            instance.stage,
            to_id,
            stage_end,
        )],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
