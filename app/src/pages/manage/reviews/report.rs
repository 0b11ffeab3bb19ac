//! `/manage/reviews/instances/:id`: the report of one run of a review. Its status and
//! progress, the totals of decisions, removals applied and verified downstream, how
//! completion grew day by day (a chart, and the same numbers as a table), each reviewer's
//! part with careless answers flagged, the CSV export, "End stage now" while the instance
//! is in progress, and "Apply results" when the review waits for an administrator.

use super::{instance_badge, instance_progress};
use crate::api::reviews::{
    get_review_report, ApplyReview, EndReviewStageNow, ReviewReport, ReviewerRow,
};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{ErrorSummary, FormTokenField};
use crate::components::route::id_param;
use crate::components::table::DataTable;
use crate::domain::Timestamp;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ReviewReportPage() -> impl IntoView {
    let instance_id = id_param();
    let apply = ServerAction::<ApplyReview>::new();
    let end_stage = ServerAction::<EndReviewStageNow>::new();
    let report = Resource::new(
        move || {
            (
                instance_id(),
                apply.version().get(),
                end_stage.version().get(),
            )
        },
        |(id, _, _)| get_review_report(id),
    );
    view! {
        {move || apply.value().get().and_then(Result::err).map(|error| view! { <ErrorSummary error prefix="apply-" /> })}
        {move || end_stage.value().get().and_then(Result::err).map(|error| view! { <ErrorSummary error prefix="end-" /> })}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => report_view(report, apply, end_stage).into_any(),
                    Err(error) => view! { <Title text="Review report" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn report_view(
    report: ReviewReport,
    apply: ServerAction<ApplyReview>,
    end_stage: ServerAction<EndReviewStageNow>,
) -> impl IntoView {
    let instance = report.instance.clone();
    // The server refuses anyone who may not end it (auditors read the report too).
    let in_progress = report.can_end;
    let title = format!("Report: {}", report.review_name);
    let totals = [
        ("Kept", report.kept),
        ("Removed", report.removed),
        ("Not sure", report.not_sure),
        ("Undecided", report.undecided),
        ("Removals applied", report.applied),
        ("Verified removed downstream", report.verified),
    ];
    view! {
        <Title text=title.clone() />
        <div class="page-header">
            <p><a href=format!("/manage/reviews/{}", report.review_id)>{format!("← {}", report.review_name)}</a></p>
            <h1>{title}</h1>
            <p class="muted">
                {format!(
                    "{} to {} · stage {} of {}",
                    instance.start_at.date_time_utc(),
                    instance.end_at.date_time_utc(),
                    instance.stage,
                    instance.stage_count,
                )}
            </p>
        </div>
        <ManageNav current="" />
        <section class="card stack" aria-labelledby="report-status-heading">
            <h2 id="report-status-heading">"Status"</h2>
            <p>{instance_badge(&instance)}</p>
            {instance_progress(&instance)}
            <div class="cluster">
                // A plain download: the router leaves links with `download` to the browser.
                <a class="button button-secondary" href=report.csv_url.clone() download="">"Download CSV"</a>
                {in_progress.then(|| view! {
                    <ActionForm action=end_stage>
                        <FormTokenField />
                        <input type="hidden" name="instance_id" value=instance.instance_id.to_string() />
                        <button type="submit" class="button button-secondary" aria-describedby="end-stage-hint">"End stage now"</button>
                    </ActionForm>
                })}
                {report.can_apply.then(|| view! {
                    <ActionForm action=apply>
                        <FormTokenField />
                        <input type="hidden" name="instance_id" value=instance.instance_id.to_string() />
                        <button type="submit" class="button button-primary">"Apply results"</button>
                    </ActionForm>
                })}
            </div>
            {in_progress.then(|| view! {
                <p class="hint" id="end-stage-hint">"Ends the current stage now instead of at its time: unanswered items take the review's default decision, then the next stage opens or the review ends."</p>
            })}
            {report.can_apply.then(|| view! {
                <p class="hint">"The review has ended and waits for an administrator: applying removes the access reviewers decided to remove."</p>
            })}
        </section>
        <section class="card stack" aria-labelledby="report-totals-heading">
            <h2 id="report-totals-heading">"Decisions"</h2>
            <dl class="stats">
                {totals.into_iter().map(|(label, value)| view! {
                    <div class="stat">
                        <dt class="stat-label">{label}</dt>
                        <dd class="stat-value">{value}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
        {completion_section(&report.completion, instance.items)}
        {reviewers_section(report.reviewers)}
    }
}

/// Decided items day by day, as bars, with the same numbers in a table.
fn completion_section(completion: &[(Timestamp, i64)], items: i64) -> impl IntoView {
    let content = if completion.is_empty() {
        view! { <Empty>"No decision yet."</Empty> }.into_any()
    } else {
        let chart = completion_chart(completion, items);
        let rows = completion.to_vec();
        view! {
            {chart}
            <details class="more">
                <summary>"The same as a table"</summary>
                <DataTable label="Items decided by day" columns=&["Day", "Decided so far"]>
                    {rows.into_iter().map(|(day, decided)| view! {
                        <tr>
                            <td><time>{day.date_utc()}</time></td>
                            <td>{format!("{decided} of {items}")}</td>
                        </tr>
                    }).collect_view()}
                </DataTable>
            </details>
        }
        .into_any()
    };
    view! {
        <section class="card stack" aria-labelledby="report-completion-heading">
            <h2 id="report-completion-heading">"Completion over time"</h2>
            {content}
        </section>
    }
}

/// Width of one day's bar in the chart's own units (the chart scales to its box).
const BAR_WIDTH: i64 = 10;
/// Height of the chart in its own units: 100 is every item decided.
const CHART_HEIGHT: i64 = 100;

fn completion_chart(completion: &[(Timestamp, i64)], items: i64) -> impl IntoView {
    let most = completion
        .iter()
        .map(|(_, decided)| *decided)
        .max()
        .unwrap_or(0)
        .max(items)
        .max(1);
    let days = i64::try_from(completion.len()).unwrap_or(i64::MAX);
    let first = completion
        .first()
        .map(|(day, _)| day.date_utc())
        .unwrap_or_default();
    let (last_day, last_decided) = completion
        .last()
        .map(|(day, decided)| (day.date_utc(), *decided))
        .unwrap_or_default();
    let summary = format!(
        "Items decided by day, from {first} to {last_day}: {last_decided} of {items} decided by the last day."
    );
    let bars = completion
        .iter()
        .enumerate()
        .map(|(index, (day, decided))| {
            let height = (*decided).clamp(0, most) * CHART_HEIGHT / most;
            let x = i64::try_from(index).unwrap_or(0) * BAR_WIDTH;
            view! {
                <rect
                    class="chart-bar"
                    x=(x + 1).to_string()
                    y=(CHART_HEIGHT - height).to_string()
                    width=(BAR_WIDTH - 2).to_string()
                    height=height.to_string()
                    data-day=day.date_utc()
                />
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg
                class="chart-bars"
                viewBox=format!("0 0 {} {CHART_HEIGHT}", days * BAR_WIDTH)
                preserveAspectRatio="none"
                role="img"
                aria-label=summary.clone()
            >
                {bars}
            </svg>
            <div class="chart-axis muted" aria-hidden="true">
                <span>{first}</span>
                <span>{last_day}</span>
            </div>
            <figcaption class="hint">{summary}</figcaption>
        </figure>
    }
}

fn reviewers_section(reviewers: Vec<ReviewerRow>) -> impl IntoView {
    view! {
        <section class="card stack" aria-labelledby="report-reviewers-heading">
            <h2 id="report-reviewers-heading">"Reviewers"</h2>
            {if reviewers.is_empty() {
                view! { <Empty>"No reviewer yet."</Empty> }.into_any()
            } else {
                view! {
                    // Named apart from its section (also "Reviewers"): two landmarks of one name
                    // cannot be told apart.
                    <DataTable
                        label="Each reviewer's decisions"
                        columns=&["Stage", "Reviewer", "Items", "Kept", "Removed", "Not sure", "Undecided", "Flags"]
                    >
                        {reviewers.into_iter().map(|row| {
                            let flagged = !row.flags.is_empty();
                            view! {
                                <tr class=if flagged { "review-flagged" } else { "" }>
                                    <td>{row.stage}</td>
                                    <td>{row.reviewer_name}</td>
                                    <td>{row.items}</td>
                                    <td>{row.kept}</td>
                                    <td>{row.removed}</td>
                                    <td>{row.not_sure}</td>
                                    <td>{row.undecided}</td>
                                    <td>
                                        {if flagged {
                                            view! {
                                                <ul class="review-flags">
                                                    {row.flags.into_iter().map(|flag| view! {
                                                        <li><span class="badge badge-warning">{flag}</span></li>
                                                    }).collect_view()}
                                                </ul>
                                            }.into_any()
                                        } else {
                                            view! { <span class="muted">"None"</span> }.into_any()
                                        }}
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
