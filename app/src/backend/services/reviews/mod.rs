//! Access reviews: definitions (this file), instances that start, remind, move through
//! stages, end and apply at their time (`run`, driven by the `reviews` worker), a
//! reviewer's items and decisions (`decide`), and reports and the CSV export (`report`).
//!
//! Who may do what, from stored data: administrators define any review; a catalog's owners
//! define reviews of packages in their catalogs and change those they own; auditors read
//! every definition and report; a reviewer sees and decides only their own items.

mod decide;
mod report;
mod run;

pub use decide::{accept_recommendations, decide, my_reviews, reassign, reviewer_page};
pub use report::{export_csv, report};
pub use run::{
    apply_confirmed, end_due_stages, end_stage_now, send_reminders, snapshot_starting, start_due,
};

use crate::backend::auth::permissions;
use crate::backend::store::{self, audit, person::PersonRow, review::ReviewRow, Tx};
use crate::backend::AppState;
use crate::domain::review::{
    Recurrence, ReviewDraft, ReviewForm, ReviewStageForm, ReviewerDraft, ScopeDraft, RECURRENCES,
    REVIEWER_KINDS,
};
use crate::domain::{AppError, ErrorCode, Timestamp};
use crate::model::reviews::*;

/// How many definitions a page of the list shows.
const REVIEWS_PER_PAGE: i64 = 50;

fn actor_of(person: &PersonRow) -> audit::Actor {
    audit::Actor::person(person.id, &person.display_name)
}

/// The catalogs a definition covers (none for every package).
async fn catalogs_in_scope(tx: &mut Tx, review: &ReviewRow) -> Result<Vec<i64>, sqlx::Error> {
    Ok(match review.scope_kind.as_str() {
        "catalog" => review.catalog_id.into_iter().collect(),
        "packages" => {
            let mut ids: Vec<i64> = store::review::packages_of(tx, review.id)
                .await?
                .into_iter()
                .map(|(_, _, catalog)| catalog)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        _ => Vec::new(),
    })
}

/// Whether `person` owns every catalog of `catalogs` (false for an empty list: a review of
/// every package is for administrators).
async fn owns_all(tx: &mut Tx, person: &PersonRow, catalogs: &[i64]) -> Result<bool, sqlx::Error> {
    if catalogs.is_empty() {
        return Ok(false);
    }
    for catalog in catalogs {
        if !store::catalog::owns_catalog(tx, person.id, *catalog).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Administrators, or the review's owner while they still own the catalogs it covers.
pub(crate) async fn may_change(
    tx: &mut Tx,
    person: &PersonRow,
    review: &ReviewRow,
) -> Result<bool, sqlx::Error> {
    if permissions::administers(person) {
        return Ok(true);
    }
    if review.owner_id != person.id {
        return Ok(false);
    }
    let catalogs = catalogs_in_scope(tx, review).await?;
    owns_all(tx, person, &catalogs).await
}

/// Administrators, auditors, the review's owner and the owners of a catalog it covers.
pub(crate) async fn may_read(
    tx: &mut Tx,
    person: &PersonRow,
    review: &ReviewRow,
) -> Result<bool, sqlx::Error> {
    if permissions::reads_everything(person) || review.owner_id == person.id {
        return Ok(true);
    }
    for catalog in catalogs_in_scope(tx, review).await? {
        if store::catalog::owns_catalog(tx, person.id, catalog).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The definition, if `person` may read it; otherwise as if it did not exist.
pub(crate) async fn readable(
    tx: &mut Tx,
    person: &PersonRow,
    review_id: i64,
) -> Result<ReviewRow, AppError> {
    match store::review::find(tx, review_id).await? {
        Some(review) if may_read(tx, person, &review).await? => Ok(review),
        _ => Err(AppError::not_found("access review")),
    }
}

fn label_of(options: &[(&str, &'static str)], value: &str) -> String {
    options
        .iter()
        .find(|(key, _)| *key == value)
        .map_or_else(|| value.to_string(), |(_, label)| (*label).to_string())
}

async fn scope_words(tx: &mut Tx, review: &ReviewRow) -> Result<String, sqlx::Error> {
    let mut words = match review.scope_kind.as_str() {
        "catalog" => match review.catalog_id {
            Some(id) => format!("Catalog {}", store::review::catalog_name(tx, id).await?),
            None => "A catalog".to_string(),
        },
        "packages" => store::review::packages_of(tx, review.id)
            .await?
            .into_iter()
            .map(|(_, name, _)| name)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "Every package".to_string(),
    };
    if !review.departments.is_empty() {
        words.push_str(&format!(" — in {}", review.departments.join(", ")));
    }
    if !review.employee_types.is_empty() {
        words.push_str(&format!(" — {}", review.employee_types.join(", ")));
    }
    if let Some(days) = review.held_longer_than_days {
        words.push_str(&format!(" — held over {days} days"));
    }
    if let Some(days) = review.inactive_days {
        words.push_str(&format!(" — holders inactive {days} days"));
    }
    Ok(words)
}

pub(crate) fn instance_summary(
    instance: &store::review_instance::InstanceRow,
    items: i64,
    decided: i64,
) -> InstanceSummary {
    let status_label = match instance.status.as_str() {
        "starting" => "Starting: taking the snapshot".to_string(),
        "in_progress" if instance.stage_count > 1 => {
            format!(
                "In progress, stage {} of {}",
                instance.stage, instance.stage_count
            )
        }
        "in_progress" => "In progress".to_string(),
        "ended" => "Ended: waiting for an administrator to apply the results".to_string(),
        "applying" => "Ended: applying the results".to_string(),
        "applied" => "Ended and applied".to_string(),
        "cancelled" => "Cancelled".to_string(),
        other => other.to_string(),
    };
    InstanceSummary {
        instance_id: instance.id,
        status: instance.status.clone(),
        status_label,
        start_at: Timestamp(instance.start_at),
        end_at: Timestamp(instance.end_at),
        stage: instance.stage,
        stage_count: instance.stage_count,
        items,
        decided,
    }
}

/// A page of the definitions `person` may see.
#[tracing::instrument(skip_all, fields(person_id = person.id))]
pub async fn list(state: &AppState, person: &PersonRow, page: i64) -> Result<ReviewList, AppError> {
    let page = page.max(1);
    let mut tx = state.db.reader().begin().await?;
    let rows = store::review::list(
        &mut tx,
        person.id,
        permissions::reads_everything(person),
        REVIEWS_PER_PAGE + 1,
        (page - 1) * REVIEWS_PER_PAGE,
    )
    .await?;
    let has_more = rows.len() > usize::try_from(REVIEWS_PER_PAGE).unwrap_or(usize::MAX);
    let mut reviews = Vec::new();
    for review in rows
        .into_iter()
        .take(usize::try_from(REVIEWS_PER_PAGE).unwrap_or(0))
    {
        let stages = store::review::stages_of(&mut tx, review.id).await?;
        let latest = match store::review_instance::of_review(&mut tx, review.id, 1)
            .await?
            .into_iter()
            .next()
        {
            Some(instance) => {
                let (items, decided) =
                    store::review_instance::stage_progress(&mut tx, instance.id, instance.stage)
                        .await?;
                Some(instance_summary(&instance, items, decided))
            }
            None => None,
        };
        reviews.push(ReviewSummary {
            review_id: review.id,
            name: review.name.clone(),
            scope: scope_words(&mut tx, &review).await?,
            recurrence: label_of(&RECURRENCES, &review.recurrence),
            reviewers: stages
                .iter()
                .map(|stage| label_of(&REVIEWER_KINDS, &stage.reviewer_kind))
                .collect::<Vec<_>>()
                .join(", then "),
            enabled: review.is_enabled,
            next_start_at: review
                .next_start_at
                .filter(|_| review.is_enabled)
                .map(Timestamp),
            latest,
        });
    }
    let can_create = permissions::administers(person)
        || !store::review::choices(&mut tx, person.id, false, 1)
            .await?
            .0
            .is_empty();
    Ok(ReviewList {
        reviews,
        can_create,
        page,
        has_more,
    })
}

/// The form as stored, for editing.
async fn form_of(tx: &mut Tx, review: &ReviewRow) -> Result<ReviewForm, AppError> {
    let stages = store::review::stages_of(tx, review.id).await?;
    let people = store::review::people_of(tx, review.id).await?;
    let emails = |stage: i64, role: &str| {
        people
            .iter()
            .filter(|p| p.stage_position == stage && p.role == role)
            .map(|p| p.email.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut stage_forms = Vec::new();
    for stage in &stages {
        let group = match stage.person_group_id {
            Some(id) => store::review::group_name(tx, id).await?,
            None => String::new(),
        };
        stage_forms.push(ReviewStageForm {
            reviewer_kind: stage.reviewer_kind.clone(),
            reviewers: emails(stage.position, "reviewer"),
            group,
            fallbacks: emails(stage.position, "fallback"),
            duration_days: stage.duration_days.to_string(),
            carry: stage.carry.clone(),
        });
    }
    while stage_forms.len() < crate::domain::review::MAX_REVIEW_STAGES {
        stage_forms.push(ReviewStageForm::default());
    }
    let flag = |on: bool| on.then(|| "on".to_string());
    Ok(ReviewForm {
        name: review.name.clone(),
        description: review.description.clone(),
        scope_kind: review.scope_kind.clone(),
        packages: store::review::packages_of(tx, review.id)
            .await?
            .into_iter()
            .map(|(_, name, _)| name)
            .collect::<Vec<_>>()
            .join("\n"),
        catalog: match review.catalog_id {
            Some(id) => store::review::catalog_name(tx, id).await?,
            None => String::new(),
        },
        departments: review.departments.join(", "),
        employee_types: review.employee_types.join(", "),
        held_longer_than_days: review
            .held_longer_than_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        inactive_days: review
            .inactive_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        include_drift: flag(review.include_drift),
        stages: stage_forms,
        start_at: Timestamp(review.start_at).date_time_input(),
        duration_days: review.duration_days.to_string(),
        recurrence: review.recurrence.clone(),
        reminder_days: review
            .reminder_days
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        reason_on_keep: flag(review.reason_on_keep),
        reason_on_remove: flag(review.reason_on_remove),
        default_decision: review.default_decision.clone(),
        apply_mode: review.apply_mode.clone(),
        extend_kept: flag(review.extend_kept),
        sign_in_window_days: review.sign_in_window_days.to_string(),
        quality_extra_stage: flag(review.quality_extra_stage),
        enabled: flag(review.is_enabled),
    })
}

/// A definition with its instances, or (`review_id` 0) the form of a new one.
#[tracing::instrument(skip_all, fields(person_id = person.id, review_id = review_id))]
pub async fn definition(
    state: &AppState,
    person: &PersonRow,
    review_id: i64,
) -> Result<ReviewDefinition, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.reader().begin().await?;
    let all = permissions::administers(person);
    let (catalog_names, package_names) =
        store::review::choices(&mut tx, person.id, all, 500).await?;
    if review_id == 0 {
        if !all && catalog_names.is_empty() {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "Only administrators and catalog owners can define access reviews.",
            ));
        }
        return Ok(ReviewDefinition {
            review_id: 0,
            version: 0,
            form: ReviewForm::new_default(now),
            can_edit: true,
            instances: Vec::new(),
            next_start_at: None,
            catalog_names,
            package_names,
        });
    }
    let review = readable(&mut tx, person, review_id).await?;
    let mut instances = Vec::new();
    for instance in store::review_instance::of_review(&mut tx, review.id, 20).await? {
        let (items, decided) =
            store::review_instance::stage_progress(&mut tx, instance.id, instance.stage).await?;
        instances.push(instance_summary(&instance, items, decided));
    }
    Ok(ReviewDefinition {
        review_id: review.id,
        version: review.version,
        form: form_of(&mut tx, &review).await?,
        can_edit: may_change(&mut tx, person, &review).await?,
        instances,
        next_start_at: review
            .next_start_at
            .filter(|_| review.is_enabled)
            .map(Timestamp),
        catalog_names,
        package_names,
    })
}

/// The draft with names resolved to ids, or the field errors of what cannot be found.
struct Resolved {
    catalog_id: Option<i64>,
    package_ids: Vec<i64>,
    /// The catalogs the scope covers.
    catalogs: Vec<i64>,
    stages: Vec<store::review::StageRow>,
    people: Vec<(i64, &'static str, i64)>,
}

async fn resolve(tx: &mut Tx, draft: &ReviewDraft) -> Result<Resolved, AppError> {
    let mut resolved = Resolved {
        catalog_id: None,
        package_ids: Vec::new(),
        catalogs: Vec::new(),
        stages: Vec::new(),
        people: Vec::new(),
    };
    let mut v = crate::domain::error::Validation::new();
    match &draft.scope {
        ScopeDraft::Packages(names) => {
            let found = store::review::packages_by_name(tx, names).await?;
            let missing: Vec<&String> = names
                .iter()
                .filter(|name| !found.iter().any(|(typed, _, _)| typed == *name))
                .collect();
            if let Some(name) = missing.first() {
                v.check::<()>(
                    "packages",
                    Err(format!("There is no package named \"{name}\".")),
                );
            }
            for (_, id, catalog) in found {
                resolved.package_ids.push(id);
                if !resolved.catalogs.contains(&catalog) {
                    resolved.catalogs.push(catalog);
                }
            }
        }
        ScopeDraft::Catalog(name) => match store::review::catalog_by_name(tx, name).await? {
            Some((id, _)) => {
                resolved.catalog_id = Some(id);
                resolved.catalogs.push(id);
            }
            None => {
                v.check::<()>(
                    "catalog",
                    Err(format!("There is no catalog named \"{name}\".")),
                );
            }
        },
        ScopeDraft::All => {}
    }
    for (index, stage) in draft.stages.iter().enumerate() {
        let position = i64::try_from(index).unwrap_or(0) + 1;
        let field = |name: &str| format!("stages[{index}][{name}]");
        let mut group_id = None;
        match &stage.reviewers {
            ReviewerDraft::Named(emails) => {
                let emails: Vec<String> = emails.iter().map(|e| e.as_str().to_string()).collect();
                match store::person::people_by_email(tx, &emails).await? {
                    Ok(ids) => resolved
                        .people
                        .extend(ids.into_iter().map(|id| (position, "reviewer", id))),
                    Err(message) => {
                        v.check::<()>(&field("reviewers"), Err(message));
                    }
                }
            }
            ReviewerDraft::Group(name) => match store::review::group_by_name(tx, name).await? {
                Some(id) => group_id = Some(id),
                None => {
                    v.check::<()>(
                        &field("group"),
                        Err(format!("There is no group named \"{name}\".")),
                    );
                }
            },
            _ => {}
        }
        let fallbacks: Vec<String> = stage
            .fallbacks
            .iter()
            .map(|e| e.as_str().to_string())
            .collect();
        match store::person::people_by_email(tx, &fallbacks).await? {
            Ok(ids) => resolved
                .people
                .extend(ids.into_iter().map(|id| (position, "fallback", id))),
            Err(message) => {
                v.check::<()>(&field("fallbacks"), Err(message));
            }
        }
        resolved.stages.push(store::review::StageRow {
            position,
            reviewer_kind: stage.reviewers.kind().to_string(),
            person_group_id: group_id,
            duration_days: stage.duration_days,
            carry: stage.carry.as_str().to_string(),
        });
    }
    v.finish()?;
    Ok(resolved)
}

/// Creates or saves a definition. Refuses bad input next to its field and a definition
/// changed since it was read, and writes nothing then.
#[tracing::instrument(skip_all, fields(person_id = person.id, review_id = ?review_id))]
pub async fn save(
    state: &AppState,
    person: &PersonRow,
    review_id: Option<i64>,
    version: i64,
    form: &ReviewForm,
) -> Result<i64, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let existing = match review_id {
        Some(id) => {
            let review = readable(&mut tx, person, id).await?;
            if !may_change(&mut tx, person, &review).await? {
                return Err(AppError::new(
                    ErrorCode::Forbidden,
                    "You may read this review but not change it.",
                ));
            }
            Some(review)
        }
        None => None,
    };
    let draft = form.validate(now, existing.as_ref().map(|r| Timestamp(r.start_at)))?;
    let resolved = resolve(&mut tx, &draft).await?;
    if !permissions::administers(person) && !owns_all(&mut tx, person, &resolved.catalogs).await? {
        let field = match draft.scope {
            ScopeDraft::Packages(_) => "packages",
            ScopeDraft::Catalog(_) => "catalog",
            ScopeDraft::All => "scope_kind",
        };
        return Err(AppError::invalid_field(
            field,
            "You can review only packages of catalogs you own; ask an administrator for the rest.",
        ));
    }
    let instances = match &existing {
        Some(review) => store::review_instance::of_review(&mut tx, review.id, 1).await?,
        None => Vec::new(),
    };
    // The next instance: the start when none ran yet, else the next by the recurrence.
    let next_start_at = match instances.first() {
        None => Some(draft.start_at),
        Some(latest) if draft.start_at.millis() > latest.start_at => Some(draft.start_at),
        Some(latest) => draft
            .recurrence
            .next_start(draft.start_at, Timestamp(latest.start_at)),
    };
    let write = store::review::ReviewWrite {
        name: &draft.name,
        description: &draft.description,
        scope_kind: match draft.scope {
            ScopeDraft::Packages(_) => "packages",
            ScopeDraft::Catalog(_) => "catalog",
            ScopeDraft::All => "all",
        },
        catalog_id: resolved.catalog_id,
        departments: &draft.departments,
        employee_types: &draft.employee_types,
        held_longer_than_days: draft.held_longer_than_days,
        inactive_days: draft.inactive_days,
        include_drift: draft.include_drift,
        start_at: draft.start_at,
        duration_days: draft.duration_days,
        recurrence: draft.recurrence.as_str(),
        reminder_days: &draft.reminder_days,
        reason_on_keep: draft.reason_on_keep,
        reason_on_remove: draft.reason_on_remove,
        default_decision: draft.default_decision.as_str(),
        apply_mode: if draft.apply_mode_auto {
            "auto"
        } else {
            "confirm"
        },
        extend_kept: draft.extend_kept,
        sign_in_window_days: draft.sign_in_window_days,
        quality_extra_stage: draft.quality_extra_stage,
        is_enabled: draft.enabled,
        next_start_at,
    };
    let id = match &existing {
        Some(review) => {
            if !store::review::update(&mut tx, now, review.id, version, &write).await? {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "Someone changed this review while you were editing it; reload to see their changes.",
                ));
            }
            review.id
        }
        None => store::review::insert(&mut tx, now, person.id, &write).await?,
    };
    store::review::set_parts(
        &mut tx,
        id,
        &resolved.package_ids,
        &resolved.stages,
        &resolved.people,
    )
    .await?;
    let mut change = audit::Change::new(
        if existing.is_some() {
            "access_review.updated"
        } else {
            "access_review.created"
        },
        "access_review",
        id,
    )
    .after(serde_json::to_value(form).unwrap_or_default());
    if let Some(review) = &existing {
        change = change
            .before(serde_json::to_value(form_of(&mut tx, review).await.ok()).unwrap_or_default());
    }
    audit::append(&mut tx, now, &actor_of(person), change).await?;
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(id)
}

/// Starts the next instance now instead of at its time.
#[tracing::instrument(skip_all, fields(person_id = person.id, review_id = review_id))]
pub async fn start_now(
    state: &AppState,
    person: &PersonRow,
    review_id: i64,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let review = readable(&mut tx, person, review_id).await?;
    if !may_change(&mut tx, person, &review).await? {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "You may read this review but not start it.",
        ));
    }
    if !review.is_enabled {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "This review is switched off; switch it on first.",
        ));
    }
    if let Some(open) = store::review_instance::of_review(&mut tx, review.id, 1)
        .await?
        .into_iter()
        .find(|instance| matches!(instance.status.as_str(), "starting" | "in_progress"))
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "An instance of this review is still running (started {}).",
                Timestamp(open.start_at)
            ),
        ));
    }
    store::review::set_next_start(&mut tx, now, review.id, now).await?;
    audit::append(
        &mut tx,
        now,
        &actor_of(person),
        audit::Change::new("access_review.started_now", "access_review", review.id)
            .before(serde_json::json!({ "next_start_at": review.next_start_at }))
            .after(serde_json::json!({ "next_start_at": now.millis() })),
    )
    .await?;
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(())
}

/// The recurrence of a stored definition.
pub(crate) fn recurrence_of(review: &ReviewRow) -> Recurrence {
    Recurrence::parse(&review.recurrence).unwrap_or(Recurrence::Once)
}
