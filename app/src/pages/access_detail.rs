//! One person's access to a package: its life drawn as a timeline (granted, ends or ended
//! and why, removal verified) and its state in each connected system.

use crate::api::access::{get_access, AccessDetail};
use crate::components::feedback::{Badge, ErrorAlert, Loading};
use crate::components::provisioning::provisioning_section;
use crate::components::route::id_param;
use crate::domain::status::AssignmentStatus;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccessDetailPage() -> impl IntoView {
    let assignment_id = id_param();
    let detail = Resource::new(assignment_id, get_access);
    view! {
        <Title text="Access" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => access_view(detail).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One step of the assignment's life: done, where it stands now, or still to come.
struct Step {
    class: &'static str,
    title: String,
    text: String,
}

fn life(detail: &AccessDetail) -> Vec<Step> {
    let started = detail.status != AssignmentStatus::Scheduled;
    let mut steps = vec![Step {
        class: if started { "done" } else { "pending" },
        title: if started { "Granted" } else { "Starts" }.to_string(),
        text: detail.start_at.date_time_utc(),
    }];
    match &detail.ended {
        Some((at, why)) => steps.push(Step {
            class: "done",
            title: "Ended".to_string(),
            text: format!("{} — {why}", at.date_time_utc()),
        }),
        None => steps.push(Step {
            class: if started { "current" } else { "pending" },
            title: "Ends".to_string(),
            text: detail
                .end_at
                .map_or("No end date".to_string(), |end| end.date_time_utc()),
        }),
    }
    steps.push(match (detail.status, detail.removed_at) {
        (AssignmentStatus::Removed, Some(at)) => Step {
            class: "done",
            title: "Removed everywhere".to_string(),
            text: format!("Verified {}", at.date_time_utc()),
        },
        (AssignmentStatus::Ending, _) => Step {
            class: "current",
            title: "Being removed".to_string(),
            text: "Waiting until every connected system confirms the removal.".to_string(),
        },
        _ => Step {
            class: "pending",
            title: "Removed everywhere".to_string(),
            text: "After it ends, each connected system is read back to verify.".to_string(),
        },
    });
    steps
}

fn access_view(detail: AccessDetail) -> impl IntoView {
    let steps = life(&detail);
    view! {
        <div class="page-header">
            <h1>{format!("{}: {}", detail.package_name, detail.holder_name)}</h1>
            <Badge label=detail.status.label() tone=detail.status.tone() />
        </div>
        <section class="card stack" aria-labelledby="life-heading">
            <h2 id="life-heading">"Timeline"</h2>
            <ol class="timeline">
                {steps.into_iter().map(|step| view! {
                    <li class=step.class aria-current=(step.class == "current").then_some("step")>
                        <h3>{step.title}</h3>
                        <p class="muted">{step.text}</p>
                    </li>
                }).collect_view()}
            </ol>
            {detail.request_id.map(|id| view! {
                <p><a href=format!("/requests/{id}")>"The request that granted it"</a></p>
            })}
            {detail.can_extend.then(|| view! {
                <p><a class="button" href=format!("/access/{}/extend", detail.assignment_id)>"Ask for more time"</a></p>
            })}
        </section>
        {if detail.provisioning.is_empty() {
            view! {
                <section class="card stack" aria-labelledby="provisioning-heading">
                    <h2 id="provisioning-heading">"In connected systems"</h2>
                    <p>"This package grants nothing outside Gatehouse."</p>
                </section>
            }.into_any()
        } else {
            provisioning_section(detail.provisioning).into_any()
        }}
    }
}
