//! `/manage/reviews`: the access review definitions the person may see (administrators
//! and auditors all; catalog owners theirs), with each one's latest instance and its
//! progress, a page at a time; and what the review pages share about instances.

pub mod detail;
mod form;
pub mod report;

use crate::api::reviews::{list_reviews, InstanceSummary, ReviewList, ReviewSummary};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::table::DataTable;
use crate::domain::status::Tone;
use crate::pages::manage::ManageNav;
use crate::pages::reviews::{decided_progress, pager, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The badge of an instance's status, with its label in words.
pub(crate) fn instance_badge(instance: &InstanceSummary) -> impl IntoView {
    let tone = match instance.status.as_str() {
        "applied" => Tone::Success,
        "ended" => Tone::Warning,
        "cancelled" => Tone::Neutral,
        _ => Tone::Info,
    };
    view! { <span class=tone.badge_class()>{instance.status_label.clone()}</span> }
}

/// An instance's progress bar: decided items of all items.
pub(crate) fn instance_progress(instance: &InstanceSummary) -> impl IntoView {
    decided_progress(
        format!("Started {}", instance.start_at.date_utc()),
        instance.decided,
        instance.items,
    )
}

#[component]
pub fn ManageReviewsPage() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|page| page.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let reviews = Resource::new(page, list_reviews);
    view! {
        <Title text="Access reviews" />
        <div class="page-header">
            <h1>"Access reviews"</h1>
            <p class="lead">"Recurring reviews in which managers, owners or named people confirm who should keep their access."</p>
        </div>
        <ManageNav current="/manage/reviews" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match reviews.await {
                    Ok(list) => reviews_view(list).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn page_href(page: i64) -> String {
    let page = if page > 1 {
        page.to_string()
    } else {
        String::new()
    };
    format!("/manage/reviews{}", query_string(&[("page", page)]))
}

fn reviews_view(list: ReviewList) -> impl IntoView {
    let previous = (list.page > 1).then(|| page_href(list.page - 1));
    let next = list.has_more.then(|| page_href(list.page + 1));
    view! {
        {list.can_create.then(|| view! {
            <p><a class="button button-primary" href="/manage/reviews/new">"New review"</a></p>
        })}
        {if list.reviews.is_empty() {
            view! {
                <Empty>
                    {if list.page > 1 { "No more reviews." } else { "No access review is defined yet." }}
                </Empty>
            }.into_any()
        } else {
            view! {
                <DataTable
                    label="Access reviews"
                    columns=&["Review", "Scope", "Reviewers", "Recurrence", "State", "Next start", "Latest run"]
                >
                    {list.reviews.into_iter().map(review_row).collect_view()}
                </DataTable>
            }.into_any()
        }}
        {pager("Pages of reviews", list.page, None, previous, next)}
    }
}

fn review_row(review: ReviewSummary) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/manage/reviews/{}", review.review_id)>{review.name.clone()}</a></td>
            <td>{review.scope.clone()}</td>
            <td>{review.reviewers.clone()}</td>
            <td>{review.recurrence.clone()}</td>
            <td>
                {if review.enabled {
                    view! { <span class="badge badge-success">"Enabled"</span> }.into_any()
                } else {
                    view! { <span class="badge badge-neutral">"Disabled"</span> }.into_any()
                }}
            </td>
            <td>
                {match review.next_start_at {
                    Some(at) => view! { <time>{at.date_time_utc()}</time> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td class="review-progress-cell">
                {match review.latest {
                    Some(latest) => view! {
                        <div class="stack review-latest">
                            <p>{instance_badge(&latest)}</p>
                            {instance_progress(&latest)}
                            <p>
                                <a href=format!("/manage/reviews/instances/{}", latest.instance_id)>
                                    "Report" <span class="visually-hidden">{format!(" of {}", review.name)}</span>
                                </a>
                            </p>
                        </div>
                    }.into_any(),
                    None => view! { <span class="muted">"Not run yet"</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}
