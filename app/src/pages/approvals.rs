//! The approvals inbox: requests waiting for the signed-in person, each with Approve and
//! Deny (a plain form post, so it works without JavaScript).

use crate::api::requests::{list_approvals, ApprovalItem, DecideRequest};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::ErrorSummary;
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let decide = ServerAction::<DecideRequest>::new();
    let approvals = Resource::new(move || decide.version().get(), |_| list_approvals());
    let failure = move || decide.value().get().and_then(Result::err);
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
            <h2>{heading}</h2>
            <p>
                {if item.justification.is_empty() { "No justification given.".to_string() } else { format!("“{}”", item.justification) }}
            </p>
            <p class="muted">
                {format!("Stage {} · decide by {}", item.stage_position, item.due_at.date_utc())}
            </p>
            <ActionForm action=decide attr:class="form">
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
