//! `/`: home. For a signed-in person, their access (with how much of each grant has run
//! out), their requests (with the approval stage reached), and approvals waiting for them.

use crate::api::home::{get_home, HeldAccess, HomeView, OwnRequest, WaitingApproval};
use crate::api::requests::{CancelRequest, ReleaseAccess};
use crate::components::feedback::{Badge, Empty, ErrorAlert, Loading};
use crate::components::table::DataTable;
use crate::domain::status::{AssignmentStatus, RequestStatus};
use crate::domain::ErrorCode;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let cancel = ServerAction::<CancelRequest>::new();
    let release = ServerAction::<ReleaseAccess>::new();
    let home = Resource::new(
        move || (cancel.version().get(), release.version().get()),
        |_| get_home(),
    );
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match home.await {
                    Ok(home) => signed_in(home, cancel, release).into_any(),
                    Err(error) if error.code == ErrorCode::Unauthenticated => signed_out().into_any(),
                    Err(error) => view! { <Title text="Home" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn signed_out() -> impl IntoView {
    view! {
        <Title text="Welcome" />
        <section class="stack">
            <h1>"Gatehouse"</h1>
            <p class="lead">
                "Request the access you need, approve your team's requests, and review who holds what. "
                "Access that lapses is removed at its deadline."
            </p>
            <p><a class="button button-primary" href="/sign-in">"Sign in"</a></p>
        </section>
    }
}

fn signed_in(
    home: HomeView,
    cancel: ServerAction<CancelRequest>,
    release: ServerAction<ReleaseAccess>,
) -> impl IntoView {
    let open_requests = home
        .requests
        .iter()
        .filter(|request| request.status.is_open())
        .count();
    view! {
        <Title text="Home" />
        <div class="page-header">
            <h1>{format!("Welcome, {}", home.display_name)}</h1>
        </div>
        <ul class="stats" aria-label="Summary">
            <li class="stat">
                <span class="stat-value">{home.access.len()}</span>
                <span class="stat-label">"access packages held"</span>
            </li>
            <li class="stat">
                <span class="stat-value">{open_requests}</span>
                <span class="stat-label">"open requests"</span>
            </li>
            <li class="stat">
                <span class="stat-value">{home.waiting.len()}</span>
                <span class="stat-label">"waiting for you"</span>
            </li>
        </ul>
        <div class="stack">
        <section class="card" aria-labelledby="waiting-heading">
            <h2 id="waiting-heading">"Waiting for me"</h2>
            {waiting_table(home.waiting)}
        </section>
        <section class="card" aria-labelledby="access-heading">
            <h2 id="access-heading">"My access"</h2>
            {access_table(home.access, release)}
        </section>
        <section class="card" aria-labelledby="requests-heading">
            <h2 id="requests-heading">"My requests"</h2>
            {requests_table(home.requests, cancel)}
        </section>
        </div>
    }
}

fn access_table(access: Vec<HeldAccess>, release: ServerAction<ReleaseAccess>) -> AnyView {
    if access.is_empty() {
        return view! { <Empty>"You hold no access packages yet."</Empty> }.into_any();
    }
    view! {
        <DataTable label="My access" columns=&["Access package", "Catalog", "Status", "Period used", "Ends", "Actions"]>
                    {access.into_iter().map(|held| {
                        let period = match (held.elapsed_percent, held.days_left) {
                            (Some(percent), Some(days_left)) => view! {
                                <meter
                                    class="progress"
                                    min="0"
                                    max="100"
                                    low="60"
                                    high="85"
                                    optimum="0"
                                    value=percent.to_string()
                                    aria-label=format!("{} period used", held.package_name)
                                >
                                    {format!("{percent}%")}
                                </meter>
                                <span class="progress-label">{days_left_text(days_left)}</span>
                            }.into_any(),
                            _ => view! { <span class="muted">"No end date"</span> }.into_any(),
                        };
                        view! {
                            <tr>
                                <td><a href=format!("/access/{}", held.assignment_id)>{held.package_name.clone()}</a></td>
                                <td>{held.catalog_name}</td>
                                <td><Badge label=held.status.label() tone=held.status.tone() /></td>
                                <td>{period}</td>
                                <td>
                                    {match held.end_at {
                                        Some(end) => view! { <time>{end.date_utc()}</time> }.into_any(),
                                        None => view! { <span class="muted">"—"</span> }.into_any(),
                                    }}
                                </td>
                                <td>
                                    {(held.status == AssignmentStatus::Active || held.status == AssignmentStatus::Scheduled).then(|| view! {
                                        {held.end_at.is_some().then(|| view! {
                                            <a class="button button-link" href=format!("/access/{}/extend", held.assignment_id) aria-label=format!("Extend {}", held.package_name)>"Extend"</a>
                                        })}
                                        <ActionForm action=release>
                                            <crate::components::form::FormTokenField />
                                            <input type="hidden" name="assignment_id" value=held.assignment_id.to_string() />
                                            <button type="submit" class="button button-link" aria-label=format!("Give back {}", held.package_name)>
                                                "Give back"
                                            </button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </DataTable>
    }
    .into_any()
}

fn days_left_text(days_left: i64) -> String {
    match days_left {
        days if days < 0 => "ended".to_string(),
        0 => "ends today".to_string(),
        1 => "1 day left".to_string(),
        days => format!("{days} days left"),
    }
}

fn requests_table(requests: Vec<OwnRequest>, cancel: ServerAction<CancelRequest>) -> AnyView {
    if requests.is_empty() {
        return view! { <Empty>"You have made no requests."</Empty> }.into_any();
    }
    view! {
        <DataTable label="My requests" columns=&["Access package", "For", "Submitted", "Status", "Approval", "Actions"]>
                    {requests.into_iter().map(|request| {
                        let approval = match (request.current_stage, request.stage_count) {
                            (_, 0) => view! { <span class="muted">"No approval needed"</span> }.into_any(),
                            (Some(stage), count) if request.status.is_open() => view! {
                                <progress
                                    class="progress"
                                    max=count.to_string()
                                    value=(stage - 1).to_string()
                                    aria-label=format!("Approval stages of {} completed", request.package_name)
                                >
                                    {format!("{} of {}", stage - 1, count)}
                                </progress>
                                <span class="progress-label">{format!("Stage {stage} of {count}")}</span>
                            }.into_any(),
                            (_, count) => view! { <span class="muted">{format!("{count} stage(s)")}</span> }.into_any(),
                        };
                        view! {
                            <tr>
                                <td><a href=format!("/requests/{}", request.request_id)>{request.package_name.clone()}</a></td>
                                <td>{request.for_person_name}</td>
                                <td><time>{request.submitted_at.date_utc()}</time></td>
                                <td><Badge label=request.status.label() tone=request.status.tone() /></td>
                                <td>{approval}</td>
                                <td>
                                    {(request.status == RequestStatus::PendingApproval).then(|| view! {
                                        <ActionForm action=cancel>
                                            <crate::components::form::FormTokenField />
                                            <input type="hidden" name="request_id" value=request.request_id.to_string() />
                                            <button type="submit" class="button button-link" aria-label=format!("Cancel the request for {}", request.package_name)>
                                                "Cancel"
                                            </button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </DataTable>
    }
    .into_any()
}

fn waiting_table(waiting: Vec<WaitingApproval>) -> AnyView {
    if waiting.is_empty() {
        return view! { <Empty>"Nothing is waiting for you."</Empty> }.into_any();
    }
    view! {
        <DataTable label="Waiting for me" columns=&["Requested by", "Access package", "Justification", "Stage", "Decide by"]>
                    {waiting.into_iter().map(|item| view! {
                        <tr>
                            <td>{item.requester_name}</td>
                            <td><a href=format!("/requests/{}", item.request_id)>{item.package_name}</a></td>
                            <td>
                                {if item.justification.is_empty() {
                                    view! { <span class="muted">"None given"</span> }.into_any()
                                } else {
                                    view! { <span>{item.justification}</span> }.into_any()
                                }}
                            </td>
                            <td>{item.stage_position}</td>
                            <td>
                                <time>{item.due_at.date_utc()}</time>
                                " "
                                <span class="muted">{format!("({})", days_left_text(item.days_left))}</span>
                            </td>
                        </tr>
                    }).collect_view()}
                </DataTable>
    }
    .into_any()
}
