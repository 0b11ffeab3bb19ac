//! `/reviews`: the access reviews the signed-in person has items in, with how far they
//! are; and the pieces the review pages share (progress, paging, query strings).

pub mod detail;
mod item;

use crate::api::reviews::{my_reviews, MyReview};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::layout::urlencoding;
use crate::components::table::DataTable;
use crate::domain::ErrorCode;
use leptos::prelude::*;
use leptos_meta::Title;

/// A labelled bar of decided items, with the numbers as text too.
pub fn decided_progress(label: String, decided: i64, total: i64) -> impl IntoView {
    let text = format!("{decided} of {total} decided");
    // A bar needs a maximum above zero; an empty list reads as "0 of 0 decided".
    let max = total.max(1);
    view! {
        <div class="review-progress">
            <div class="progress-label">
                <span>{label.clone()}</span>
                <span>{text.clone()}</span>
            </div>
            <progress
                class="progress"
                max=max.to_string()
                value=decided.clamp(0, max).to_string()
                aria-label=format!("{label}: {text}")
            >
                {text.clone()}
            </progress>
        </div>
    }
}

/// `?name=value&…` of the pairs whose value is not empty, each value percent-encoded;
/// empty when none is left.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let joined = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", urlencoding(value)))
        .collect::<Vec<_>>()
        .join("&");
    if joined.is_empty() {
        joined
    } else {
        format!("?{joined}")
    }
}

/// Previous and next links between pages (plain links, so paging works without
/// JavaScript); nothing when there is a single page.
pub fn pager(
    label: &'static str,
    page: i64,
    page_count: Option<i64>,
    previous: Option<String>,
    next: Option<String>,
) -> impl IntoView {
    let single = previous.is_none() && next.is_none();
    (!single).then(|| {
        view! {
            <nav class="pager cluster" aria-label=label>
                {previous.map(|href| view! { <a class="button button-secondary" href=href rel="prev">"← Previous page"</a> })}
                <span class="muted">
                    {match page_count {
                        Some(count) => format!("Page {page} of {count}"),
                        None => format!("Page {page}"),
                    }}
                </span>
                {next.map(|href| view! { <a class="button button-secondary" href=href rel="next">"Next page →"</a> })}
            </nav>
        }
    })
}

/// The sign-in prompt for a review page opened while signed out (typically from an email),
/// coming back to the same address afterwards.
pub fn sign_in_prompt() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let href = move || {
        let search = location.search.get();
        let path = location.pathname.get();
        let here = if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        };
        format!("/sign-in?next={}", urlencoding(&here))
    };
    view! {
        <p class="alert alert-info">"Please " <a href=href>"sign in"</a> " to review access."</p>
    }
}

#[component]
pub fn MyReviewsPage() -> impl IntoView {
    let reviews = Resource::new(|| (), |_| my_reviews());
    view! {
        <Title text="My reviews" />
        <div class="page-header">
            <h1>"My reviews"</h1>
            <p class="lead">"Access reviews that ask you whether people should keep their access."</p>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match reviews.await {
                    Ok(list) if list.is_empty() => view! {
                        <Empty>"No access review is waiting for you. When one asks you to review access, it appears here and you get an email."</Empty>
                    }.into_any(),
                    Ok(list) => reviews_table(list).into_any(),
                    Err(error) if error.code == ErrorCode::Unauthenticated => sign_in_prompt().into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn reviews_table(list: Vec<MyReview>) -> impl IntoView {
    view! {
        <DataTable label="My reviews" columns=&["Review", "Stage", "Ends", "My progress"]>
            {list.into_iter().map(|review| {
                let progress = decided_progress(
                    format!("Your items in {}", review.review_name),
                    review.decided,
                    review.items,
                );
                view! {
                    <tr>
                        <td>
                            <a href=format!("/reviews/{}", review.instance_id)>{review.review_name.clone()}</a>
                            {(!review.open).then(|| view! { " " <span class="badge badge-neutral">"Ended"</span> })}
                        </td>
                        <td>{format!("{} of {}", review.stage, review.stage_count)}</td>
                        <td><time>{review.stage_end_at.date_time_utc()}</time></td>
                        <td class="review-progress-cell">{progress}</td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_leave_out_empty_values_and_encode_the_rest() {
        assert_eq!(query_string(&[("q", String::new())]), "");
        assert_eq!(
            query_string(&[
                ("group", "package".into()),
                ("q", "a&b c".into()),
                ("page", "2".into())
            ]),
            "?group=package&q=a%26b%20c&page=2"
        );
    }
}
