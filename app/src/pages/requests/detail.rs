//! `/requests/:id`: one request, where it stands, drawn as a timeline of its approval
//! stages (who decides each, by when, and what they decided), and of its access in each
//! connected system (granted, removed and verified, or retrying).

use crate::api::requests::{get_request, RequestDetail};
use crate::components::feedback::{Badge, ErrorAlert, Loading};
use crate::components::provisioning::provisioning_section;
use crate::components::route::id_param;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RequestDetailPage() -> impl IntoView {
    let request_id = id_param();
    let detail = Resource::new(request_id, get_request);
    view! {
        <Title text="Request" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => request_view(detail).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn request_view(detail: RequestDetail) -> impl IntoView {
    let what = if detail.kind == "extend" {
        "Extension of"
    } else {
        "Request for"
    };
    let period = match detail.end_at {
        Some(end) => format!("{} to {}", detail.start_at.date_utc(), end.date_utc()),
        None => format!("from {}, no end date", detail.start_at.date_utc()),
    };
    view! {
        <div class="page-header">
            <h1>{format!("{what} {}", detail.package_name)}</h1>
            <Badge label=detail.status.label() tone=detail.status.tone() />
        </div>
        <section class="card stack" aria-labelledby="about-heading">
            <h2 id="about-heading">"About"</h2>
            <dl class="details">
                <dt>"For"</dt>
                <dd>{detail.for_name}</dd>
                <dt>"Submitted"</dt>
                <dd><time>{detail.submitted_at.date_time_utc()}</time></dd>
                <dt>"Period"</dt>
                <dd>{period}</dd>
                <dt>"Justification"</dt>
                <dd>{if detail.justification.is_empty() { "None given".to_string() } else { detail.justification }}</dd>
                {detail.answers.into_iter().map(|answer| view! {
                    <dt>{answer.question}</dt>
                    <dd>{answer.answer}</dd>
                }).collect_view()}
            </dl>
        </section>
        <section class="card stack" aria-labelledby="stages-heading">
            <h2 id="stages-heading">"Approval"</h2>
            {if detail.stages.is_empty() {
                view! { <p>"This package is granted without approval."</p> }.into_any()
            } else {
                view! {
                    <ol class="timeline">
                        {detail.stages.into_iter().map(|stage| {
                            let class = match stage.progress.as_str() {
                                "done" => "done",
                                "current" => "current",
                                _ => "pending",
                            };
                            view! {
                                <li class=class aria-current=(class == "current").then_some("step")>
                                    <h3>{format!("Stage {}: {}", stage.position, stage.asks)}</h3>
                                    {(!stage.approvers.is_empty()).then(|| view! {
                                        <p>{format!("Asked: {}", stage.approvers.join(", "))}</p>
                                    })}
                                    {stage.due_at.filter(|_| class == "current").map(|due| view! {
                                        <p class="muted">"Decide by " <time>{due.date_utc()}</time></p>
                                    })}
                                    {stage.decisions.into_iter().map(|decision| view! { <p>{decision}</p> }).collect_view()}
                                    {(class == "pending").then(|| view! { <p class="muted">"Waiting for the stages before."</p> })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
        {(!detail.provisioning.is_empty()).then(|| provisioning_section(detail.provisioning))}
    }
}
