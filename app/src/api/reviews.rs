//! Access reviews: definitions (administrators; catalog owners for their catalogs;
//! auditors read), a reviewer's items and decisions, and an instance's report. Who may do
//! what is decided in `services::reviews` from stored data.

pub use crate::domain::review::{Decision, ReviewForm, ReviewStageForm};
pub use crate::model::reviews::*;

use crate::domain::AppError;
use leptos::prelude::*;

/// Review definitions the viewer may see, a page at a time (`page` from 1).
#[server]
pub async fn list_reviews(page: i64) -> Result<ReviewList, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::list(&state, &person, page).await
}

/// A definition with its instances, or (`review_id` 0) the form of a new one.
#[server]
pub async fn get_review(review_id: i64) -> Result<ReviewDefinition, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::definition(&state, &person, review_id).await
}

/// Creates (`review_id` 0) or saves a definition, then shows it. `version` is the version
/// the form was read at: a definition changed meanwhile is not overwritten.
#[server]
pub async fn save_review(
    review_id: i64,
    version: i64,
    review: ReviewForm,
) -> Result<i64, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    let id = crate::backend::services::reviews::save(
        &state,
        &person,
        (review_id > 0).then_some(review_id),
        version,
        &review,
    )
    .await?;
    leptos_axum::redirect(&format!("/manage/reviews/{id}"));
    Ok(id)
}

/// Starts the next instance of a definition now instead of at its time.
#[server]
pub async fn start_review_now(review_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::start_now(&state, &person, review_id).await?;
    leptos_axum::redirect(&format!("/manage/reviews/{review_id}"));
    Ok(())
}

/// The instances the viewer has items to review in (open ones first; bounded).
#[server]
pub async fn my_reviews() -> Result<Vec<MyReview>, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::my_reviews(&state, &person).await
}

/// A page of the viewer's items in an instance, grouped (`person` or `package`), filtered
/// by `query` (a holder's name or email, or a package's name).
#[server]
pub async fn get_review_items(
    instance_id: i64,
    group_by: String,
    query: String,
    page: i64,
) -> Result<ReviewerPage, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::reviewer_page(
        &state,
        &person,
        instance_id,
        GroupBy::parse(&group_by),
        &query,
        page,
    )
    .await
}

/// Records the viewer's decision (`keep`, `remove`, `not_sure`) on items of theirs; a
/// decision can be changed until the stage ends. `link` is the email link the reviewer
/// came by, if any (used up with the first decision).
#[server]
pub async fn decide_review_items(
    instance_id: i64,
    #[server(default)] item_ids: Vec<i64>,
    #[server(default)] decision: String,
    reason: String,
    #[server(default)] link: String,
) -> Result<DecisionsRecorded, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    let decision = Decision::parse(&decision)
        .ok_or_else(|| AppError::invalid_field("decision", "Choose keep, remove or not sure."))?;
    crate::backend::services::reviews::decide(
        &state,
        &person,
        instance_id,
        &item_ids,
        decision,
        &reason,
        &link,
    )
    .await
}

/// Takes the recommendation for every undecided item of the viewer's in the instance.
#[server]
pub async fn accept_review_recommendations(
    instance_id: i64,
) -> Result<DecisionsRecorded, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::accept_recommendations(&state, &person, instance_id).await
}

/// Hands one item to someone else (by email), with a reason.
#[server]
pub async fn reassign_review_item(
    instance_id: i64,
    item_id: i64,
    to: String,
    reason: String,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::reassign(&state, &person, instance_id, item_id, &to, &reason)
        .await
}

/// The report of an instance (administrators, auditors, the review's owner).
#[server]
pub async fn get_review_report(instance_id: i64) -> Result<ReviewReport, AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::report(&state, &person, instance_id).await
}

/// Applies the results of an ended instance whose review waits for confirmation
/// (administrators).
#[server]
pub async fn apply_review(instance_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::apply_confirmed(&state, &person, instance_id).await?;
    leptos_axum::redirect(&format!("/manage/reviews/instances/{instance_id}"));
    Ok(())
}

/// Ends the current stage of an instance now instead of at its time (administrators and
/// the review's owner); what follows at the end (the default decision, the next stage,
/// applying the results) follows at once.
#[server]
pub async fn end_review_stage_now(instance_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    let (state, person) = signed_in().await?;
    crate::backend::services::reviews::end_stage_now(&state, &person, instance_id).await?;
    leptos_axum::redirect(&format!("/manage/reviews/instances/{instance_id}"));
    Ok(())
}
