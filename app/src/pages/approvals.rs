//! `/approvals`: the approvals inbox, requests waiting for the signed-in person, each with
//! Approve and Deny (a plain form post, so it works without JavaScript).

use crate::api::requests::{list_approvals, ApprovalItem, DecideRequest, DecideRequests};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::ErrorSummary;
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let decide = ServerAction::<DecideRequest>::new();
    let decide_many = ServerAction::<DecideRequests>::new();
    let approvals = Resource::new(
        move || (decide.version().get(), decide_many.version().get()),
        |_| list_approvals(),
    );
    let failure = move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| decide_many.value().get().and_then(Result::err))
    };
    view! {
        <Title text="Approvals" />
        <div class="page-header">
            <h1>"Approvals"</h1>
            <p class="lead">"Requests waiting for your decision, the most urgent first."</p>
        </div>
        {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match approvals.await {
                    Ok(items) if items.is_empty() => view! { <Empty>"Nothing is waiting for you."</Empty> }.into_any(),
                    Ok(items) => view! {
                        {(items.len() > 1).then(|| bulk_form(items.clone(), decide_many))}
                        <ul class="stack">
                            {items.into_iter().map(|item| approval_card(item, decide)).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn approval_card(item: ApprovalItem, decide: ServerAction<DecideRequest>) -> impl IntoView {
    let field_id = format!("justification-{}", item.request_id);
    let heading = format!("{} requests {}", item.requester_name, item.package_name);
    view! {
        <li class="card stack">
            <h2><a href=format!("/requests/{}", item.request_id)>{heading}</a></h2>
            <crate::components::detail::RequestReasons justification=item.justification.clone() answers=item.answers.clone() />
            {(!item.history.is_empty()).then(|| view! {
                <div>
                    <h3 class="visually-hidden">"Earlier decisions"</h3>
                    <ol class="timeline">
                        {item.history.iter().map(|past| view! {
                            <li class=if past.approved { "done" } else { "denied" }>
                                {format!(
                                    "Stage {}: {} by {} on {}{}",
                                    past.stage_position,
                                    if past.approved { "approved" } else { "denied" },
                                    past.approver_name,
                                    past.decided_at.date_utc(),
                                    if past.justification.is_empty() { String::new() } else { format!(" — “{}”", past.justification) },
                                )}
                            </li>
                        }).collect_view()}
                    </ol>
                </div>
            })}
            <p class="muted">
                {format!("Stage {} · decide by {}", item.stage_position, item.due_at.date_utc())}
            </p>
            <ActionForm action=decide attr:class="form">
                <crate::components::form::FormTokenField />
                <input type="hidden" name="request_id" value=item.request_id.to_string() />
                <div class="field">
                    <label for=field_id.clone()>"Comment (optional)"</label>
                    <textarea id=field_id name="justification" rows="2" maxlength="2000"></textarea>
                </div>
                <div class="cluster">
                    <button type="submit" name="outcome" value="approve" class="button button-primary">"Approve"</button>
                    <button type="submit" name="outcome" value="deny" class="button button-danger">"Deny"</button>
                </div>
            </ActionForm>
        </li>
    }
}

/// Several decisions at once: tick the requests, one comment, Approve or Deny selected.
fn bulk_form(items: Vec<ApprovalItem>, decide_many: ServerAction<DecideRequests>) -> impl IntoView {
    view! {
        <section class="card stack" aria-labelledby="bulk-heading">
            <h2 id="bulk-heading">"Decide several at once"</h2>
            <ActionForm action=decide_many attr:class="form">
                <crate::components::form::FormTokenField />
                <fieldset id="request_ids">
                    <legend>"Requests"</legend>
                    {items.into_iter().enumerate().map(|(index, item)| {
                        let id = format!("bulk-{}", item.request_id);
                        view! {
                            <div class="checkbox">
                                <input
                                    type="checkbox"
                                    id=id.clone()
                                    name=format!("request_ids[{index}]")
                                    value=item.request_id.to_string()
                                />
                                <label for=id>{format!("{} — {}", item.requester_name, item.package_name)}</label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="field">
                    <label for="bulk-justification">"Comment for all (optional)"</label>
                    <textarea id="bulk-justification" name="justification" rows="2" maxlength="2000"></textarea>
                </div>
                <div class="cluster">
                    <button type="submit" name="outcome" value="approve" class="button button-primary">"Approve selected"</button>
                    <button type="submit" name="outcome" value="deny" class="button button-danger">"Deny selected"</button>
                </div>
            </ActionForm>
        </section>
    }
}
