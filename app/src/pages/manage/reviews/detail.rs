//! `/manage/reviews/new` and `/manage/reviews/:id`: one access review definition. For an
//! existing review, its state, its runs (instances) with their progress and reports, and
//! "Start now"; then its settings form (read-only for those who may not change it).

use super::form::review_form;
use super::{instance_badge, instance_progress};
use crate::api::reviews::{get_review, ReviewDefinition, SaveReview, StartReviewNow};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{ticked, ErrorSummary, FormTokenField};
use crate::components::route::id_param;
use crate::components::table::DataTable;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ManageReviewPage() -> impl IntoView {
    // "new" is not a number: 0, the form of a new review.
    let review_id = id_param();
    let save = ServerAction::<SaveReview>::new();
    let start = ServerAction::<StartReviewNow>::new();
    // Read again after a successful save only: a refused form keeps what was typed.
    let saved = RwSignal::new(0_usize);
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            saved.update(|count| *count += 1);
        }
    });
    let definition = Resource::new(
        move || (review_id(), saved.get(), start.version().get()),
        |(id, _, _)| get_review(id),
    );
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match definition.await {
                    Ok(definition) => definition_view(definition, save, start).into_any(),
                    Err(error) => view! { <Title text="Access review" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn definition_view(
    definition: ReviewDefinition,
    save: ServerAction<SaveReview>,
    start: ServerAction<StartReviewNow>,
) -> impl IntoView {
    let existing = definition.review_id > 0;
    let title = if existing {
        definition.form.name.clone()
    } else {
        "New access review".to_string()
    };
    view! {
        <Title text=title.clone() />
        <div class="page-header">
            <p><a href="/manage/reviews">"← Access reviews"</a></p>
            <h1>{title}</h1>
            {(existing && !definition.form.description.is_empty()).then(|| view! {
                <p class="lead">{definition.form.description.clone()}</p>
            })}
        </div>
        <ManageNav current="" />
        {existing.then(|| view! {
            {summary_section(&definition, start)}
            {instances_section(&definition)}
        })}
        {review_form(&definition, save)}
    }
}

fn summary_section(
    definition: &ReviewDefinition,
    start: ServerAction<StartReviewNow>,
) -> impl IntoView {
    let enabled = ticked(&definition.form.enabled);
    let review_id = definition.review_id;
    view! {
        <section class="card stack" aria-labelledby="review-summary-heading">
            <h2 id="review-summary-heading">"Summary"</h2>
            <dl class="details">
                <dt>"State"</dt>
                <dd>{if enabled { "Enabled" } else { "Disabled: it does not start by itself" }}</dd>
                <dt>"Next start"</dt>
                <dd>
                    {match definition.next_start_at {
                        Some(at) => view! { <time>{at.date_time_utc()}</time> }.into_any(),
                        None => view! { <span class="muted">"None planned"</span> }.into_any(),
                    }}
                </dd>
                <dt>"Runs so far"</dt>
                <dd>{definition.instances.len()}</dd>
            </dl>
            {definition.can_edit.then(|| view! {
                {move || start.value().get().and_then(Result::err).map(|error| view! { <ErrorSummary error prefix="start-" /> })}
                <ActionForm action=start attr:class="cluster">
                    <FormTokenField />
                    <input type="hidden" name="review_id" value=review_id.to_string() />
                    <button type="submit" class="button button-secondary">"Start now"</button>
                    <p class="hint">"Starts the next run now instead of at its time."</p>
                </ActionForm>
            })}
        </section>
    }
}

fn instances_section(definition: &ReviewDefinition) -> impl IntoView {
    let instances = definition.instances.clone();
    view! {
        <section class="card stack" aria-labelledby="review-runs-heading">
            <h2 id="review-runs-heading">"Runs"</h2>
            {if instances.is_empty() {
                view! { <Empty>"This review has not run yet."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="Runs of this review" columns=&["Run", "Status", "Progress", "Report"]>
                        {instances.into_iter().map(|instance| {
                            let period = format!("{} to {}", instance.start_at.date_utc(), instance.end_at.date_utc());
                            view! {
                                <tr>
                                    <td>{period.clone()}</td>
                                    <td>{instance_badge(&instance)}</td>
                                    <td class="review-progress-cell">{instance_progress(&instance)}</td>
                                    <td>
                                        <a href=format!("/manage/reviews/instances/{}", instance.instance_id)>
                                            "Report" <span class="visually-hidden">{format!(" of the run {period}")}</span>
                                        </a>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
        </section>
    }
}
