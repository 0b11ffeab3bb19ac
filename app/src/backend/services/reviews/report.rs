//! The report of an instance and the CSV export of its items, for administrators,
//! auditors and the review's owners.

use super::{instance_summary, may_change, readable};
use crate::backend::auth::permissions;
use crate::backend::store::{self, person::PersonRow, review_instance::InstanceRow, Tx};
use crate::backend::AppState;
use crate::domain::review::{quality_flags, ReviewerTally};
use crate::domain::time::MILLIS_PER_DAY;
use crate::domain::{AppError, Timestamp};
use crate::model::reviews::*;

/// Items read per query of the export.
const EXPORT_PAGE: i64 = 5_000;

async fn reported(
    tx: &mut Tx,
    person: &PersonRow,
    instance_id: i64,
) -> Result<InstanceRow, AppError> {
    let Some(instance) = store::review_instance::find(tx, instance_id).await? else {
        return Err(AppError::not_found("review"));
    };
    readable(tx, person, instance.review_id)
        .await
        .map_err(|_| AppError::not_found("review"))?;
    Ok(instance)
}

/// Decisions by reviewer and stage, completion over time, what was applied and verified.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id))]
pub async fn report(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
) -> Result<ReviewReport, AppError> {
    let mut tx = state.db.reader().begin().await?;
    let instance = reported(&mut tx, person, instance_id).await?;
    let (items, decided) =
        store::review_instance::stage_progress(&mut tx, instance.id, instance.stage).await?;
    let reviewers = store::review_instance::tallies(&mut tx, instance.id, None)
        .await?
        .into_iter()
        .map(|tally| {
            let flags = quality_flags(&ReviewerTally {
                assigned: tally.items,
                decided: tally.kept + tally.removed + tally.not_sure,
                kept: tally.kept,
                first_decided_at: tally.first_decided_at.map(Timestamp),
                last_decided_at: tally.last_decided_at.map(Timestamp),
            });
            ReviewerRow {
                stage: tally.stage,
                reviewer_name: tally.display_name,
                items: tally.items,
                kept: tally.kept,
                removed: tally.removed,
                not_sure: tally.not_sure,
                undecided: tally.undecided,
                flags: flags.iter().map(|flag| flag.describe()).collect(),
            }
        })
        .collect();
    let mut so_far = 0;
    let completion = store::review_instance::decisions_per_day(&mut tx, instance.id)
        .await?
        .into_iter()
        .map(|(day, count)| {
            so_far += count;
            (Timestamp(day), so_far)
        })
        .collect::<Vec<_>>();
    let [kept, removed, not_sure, undecided, applied, verified] =
        store::review_instance::totals(&mut tx, instance.id).await?;
    let review = readable(&mut tx, person, instance.review_id).await?;
    let can_end = instance.status == "in_progress" && may_change(&mut tx, person, &review).await?;
    Ok(ReviewReport {
        can_end,
        review_id: instance.review_id,
        review_name: instance.review_name.clone(),
        reviewers,
        completion,
        kept,
        removed,
        not_sure,
        undecided,
        applied,
        verified,
        can_apply: permissions::administers(person) && instance.status == "ended",
        csv_url: format!("/manage/reviews/instances/{}/items.csv", instance.id),
        instance: instance_summary(&instance, items, decided),
    })
}

/// A cell of the CSV: quoted, and text a spreadsheet would run as a formula made inert.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn instant(at: Option<i64>) -> String {
    at.map(|at| {
        let t = Timestamp(at);
        let seconds = at.rem_euclid(MILLIS_PER_DAY) / 1000;
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            t.date_utc(),
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    })
    .unwrap_or_default()
}

/// Every item of an instance as CSV: person, package, reviewers, decision, reason, time,
/// applied, verified removed downstream.
#[tracing::instrument(skip_all, fields(person_id = person.id, instance_id = instance_id))]
pub async fn export_csv(
    state: &AppState,
    person: &PersonRow,
    instance_id: i64,
) -> Result<String, AppError> {
    let mut tx = state.db.reader().begin().await?;
    let instance = reported(&mut tx, person, instance_id).await?;
    let mut out = String::from(
        "item,stage,person,email,access,reviewers,recommendation,decision,reason,decided_by,decided_at,applied_at,applied,verified_removed_at\r\n",
    );
    let mut after = 0;
    loop {
        let rows =
            store::review_instance::export_page(&mut tx, instance.id, after, EXPORT_PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            let fields = [
                row.id.to_string(),
                row.stage.to_string(),
                cell(&row.holder),
                cell(&row.holder_email),
                cell(&row.access),
                cell(&row.reviewers),
                row.recommendation.clone().unwrap_or_default(),
                row.decision.clone().unwrap_or_default(),
                cell(&row.reason),
                cell(row.decided_by.as_deref().unwrap_or("")),
                instant(row.decided_at),
                instant(row.applied_at),
                row.applied_result.clone().unwrap_or_default(),
                instant(
                    row.verified_at
                        .filter(|_| row.applied_result.as_deref() == Some("ended")),
                ),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_made_inert() {
        assert_eq!(cell("Ada \"the\" Countess"), "\"Ada \"\"the\"\" Countess\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(instant(Some(90_061_000)), "1970-01-02T01:01:01Z");
        assert_eq!(instant(None), "");
    }
}
