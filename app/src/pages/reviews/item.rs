//! One item on a reviewer's page: who holds what and since when, the recommendation and
//! why, the context, earlier stages' decisions, the current decision, and (while the stage
//! is open) the forms to decide, to select the item for a shared decision, and to hand
//! it to someone else.

use super::detail::ReviewerActions;
use crate::api::reviews::{Decision, EarlierDecision, GroupBy, ReviewItemView};
use crate::components::form::{field_class, field_error, FormTokenField};
use crate::domain::review::MAX_REASON_CHARS;
use crate::domain::AppError;
use leptos::prelude::*;

/// What every item of a page shares.
#[derive(Clone)]
pub(super) struct ItemContext {
    pub instance_id: i64,
    pub open: bool,
    pub group_by: GroupBy,
    pub reason_hint: &'static str,
    /// The email link the reviewer came by, posted with each decision.
    pub link: String,
    pub actions: ReviewerActions,
}

/// An item's control id. The error summary links to `{prefix}{field}`, so the item whose
/// form was refused carries that id while the refusal shows; every other item's control
/// carries its item id.
fn control_id(prefix: &str, field: &str, item_id: i64, refused: bool) -> String {
    if refused {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}{field}-{item_id}")
    }
}

/// The ids describing a control: its hint, and its error message when there is one.
fn described_by(hint: Option<String>, failure: &Option<AppError>, field: &str) -> Option<String> {
    let error = failure
        .as_ref()
        .and_then(|error| error.field_message(field))
        .map(|_| format!("{field}-error"));
    let ids: Vec<String> = hint.into_iter().chain(error).collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

pub(super) fn item_card(item: ReviewItemView, index: usize, context: ItemContext) -> impl IntoView {
    let id = item.item_id;
    let what = format!("{} for {}", item.access_name, item.holder_name);
    let title = match context.group_by {
        GroupBy::Person => item.access_name.clone(),
        GroupBy::Package => item.holder_name.clone(),
    };
    let forms = context.open.then(|| {
        view! {
            <div class="review-item-actions stack">
                {decision_form(&item, &what, &context)}
                {reassign_form(id, &what, &context)}
            </div>
        }
    });
    let select = context.open.then(|| {
        let select_id = format!("select-{id}");
        view! {
            <div class="checkbox">
                // Belongs to the "decide the selected items" form by its id.
                <input type="checkbox" id=select_id.clone() form="decide-selected" name=format!("item_ids[{index}]") value=id.to_string() />
                <label for=select_id>"Select" <span class="visually-hidden">{format!(" {what}")}</span></label>
            </div>
        }
    });
    view! {
        <li class="card review-item">
            <div class="review-item-body stack">
                <h3 id=format!("item-{id}") tabindex="-1">{title}</h3>
                {select}
                {facts_list(&item)}
                {recommendation(&item)}
                {(!item.facts.is_empty()).then(|| view! {
                    <div>
                        <h4 class="review-subheading">"Context"</h4>
                        <ul class="review-facts">
                            {item.facts.iter().map(|fact| view! { <li>{fact.clone()}</li> }).collect_view()}
                        </ul>
                    </div>
                })}
                {earlier_decisions(&item.earlier)}
                {current_decision(&item)}
            </div>
            {forms}
        </li>
    }
}

fn facts_list(item: &ReviewItemView) -> impl IntoView {
    view! {
        <dl class="details">
            <dt>"Holder"</dt>
            <dd>{item.holder_name.clone()} " " <span class="muted">{item.holder_email.clone()}</span></dd>
            {item.department.clone().map(|department| view! {
                <dt>"Department"</dt>
                <dd>{department}</dd>
            })}
            <dt>"Access"</dt>
            <dd>
                {item.access_name.clone()}
                {item.unexplained.then(|| view! {
                    " " <span class="badge badge-warning">"Unexplained downstream membership"</span>
                })}
            </dd>
            <dt>"Held since"</dt>
            <dd>
                {match item.held_since {
                    Some(since) => view! { <time>{since.date_utc()}</time> }.into_any(),
                    None => view! { <span class="muted">"Unknown"</span> }.into_any(),
                }}
            </dd>
        </dl>
    }
}

fn recommendation(item: &ReviewItemView) -> impl IntoView {
    item.recommendation.map(|recommended| {
        let class = match recommended {
            Decision::Remove => "badge badge-warning",
            Decision::Keep => "badge badge-success",
            Decision::NotSure => "badge badge-neutral",
        };
        view! {
            <div class="review-recommendation">
                <p><span class=class>{format!("Recommended: {}", recommended.label().to_lowercase())}</span></p>
                {(!item.concerns.is_empty()).then(|| view! {
                    <ul class="review-concerns" aria-label="Why">
                        {item.concerns.iter().map(|concern| view! { <li>{concern.clone()}</li> }).collect_view()}
                    </ul>
                })}
            </div>
        }
    })
}

fn decision_text(decision: Option<Decision>) -> &'static str {
    decision.map_or("No decision", Decision::label)
}

fn quoted(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" — “{reason}”")
    }
}

fn earlier_decisions(earlier: &[EarlierDecision]) -> impl IntoView {
    (!earlier.is_empty()).then(|| {
        view! {
            <div>
                <h4 class="review-subheading">"Earlier stages"</h4>
                <ol class="timeline">
                    {earlier.iter().map(|past| {
                        let class = match past.decision {
                            Some(Decision::Keep) => "done",
                            Some(Decision::Remove) => "denied",
                            _ => "pending",
                        };
                        view! {
                            <li class=class>
                                {format!(
                                    "Stage {}: {} by {}{}",
                                    past.stage,
                                    decision_text(past.decision),
                                    past.reviewer_name,
                                    quoted(&past.reason),
                                )}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </div>
        }
    })
}

fn current_decision(item: &ReviewItemView) -> impl IntoView {
    let text = match item.decision {
        None => "Not decided yet.".to_string(),
        Some(decision) => format!(
            "Decided: {}{}{}{}",
            decision.label(),
            item.decided_by
                .as_ref()
                .map(|by| format!(" by {by}"))
                .unwrap_or_default(),
            item.decided_at
                .map(|at| format!(" on {}", at.date_time_utc()))
                .unwrap_or_default(),
            quoted(&item.reason),
        ),
    };
    let class = if item.decision.is_some() {
        "review-current review-current-decided"
    } else {
        "review-current muted"
    };
    view! { <p class=class>{text}</p> }
}

/// Keep, Remove or Not sure on this one item, with a reason.
fn decision_form(item: &ReviewItemView, what: &str, context: &ItemContext) -> impl IntoView {
    let id = item.item_id;
    let actions = context.actions;
    // The decision form refused last was this item's.
    let refused = move || {
        actions.decided_item.get() == Some(id)
            && actions
                .decide
                .value()
                .with(|value| matches!(value, Some(Err(_))))
    };
    let failure = move || {
        actions
            .decide
            .value()
            .get()
            .and_then(Result::err)
            .filter(|_| actions.decided_item.get() == Some(id))
    };
    let decision_id = move || control_id("decide-", "decision", id, refused());
    let reason_id = move || control_id("decide-", "reason", id, refused());
    let hint_id = format!("reason-hint-{id}");
    let hint_for_reason = hint_id.clone();
    let current = item.decision;
    let current_reason = item.reason.clone();
    let instance_id = context.instance_id.to_string();
    let link = context.link.clone();
    let reason_hint = context.reason_hint;
    let on_what = format!(" on {what}");
    let button_on_what = on_what.clone();
    view! {
        <ActionForm action=actions.decide attr:class="form review-decision">
            <FormTokenField />
            <input type="hidden" name="instance_id" value=instance_id />
            <input type="hidden" name="item_ids[0]" value=id.to_string() />
            <input type="hidden" name="link" value=link />
            {move || failure()
                .filter(|error| error.fields.is_empty())
                .map(|error| view! { <p class="field-error">{error.message}</p> })}
            <fieldset
                id=decision_id
                class=move || field_class(&failure(), "decision")
                aria-describedby=move || described_by(None, &failure(), "decision")
            >
                <legend>"Decision" <span class="visually-hidden">{on_what}</span></legend>
                {move || field_error(&failure(), "decision")}
                <div class="cluster">
                    {[Decision::Keep, Decision::Remove, Decision::NotSure].into_iter().map(|decision| {
                        let radio_id = format!("decision-{id}-{}", decision.as_str());
                        view! {
                            <div class="checkbox">
                                <input
                                    type="radio"
                                    id=radio_id.clone()
                                    name="decision"
                                    value=decision.as_str()
                                    checked=current == Some(decision)
                                    required=true
                                />
                                <label for=radio_id>{decision.label()}</label>
                            </div>
                        }
                    }).collect_view()}
                </div>
            </fieldset>
            <div class=move || field_class(&failure(), "reason")>
                <label for=reason_id>"Reason"</label>
                <p class="hint" id=hint_id>{reason_hint}</p>
                {move || field_error(&failure(), "reason")}
                <textarea
                    id=reason_id
                    name="reason"
                    rows="2"
                    maxlength=MAX_REASON_CHARS.to_string()
                    aria-describedby=move || described_by(Some(hint_for_reason.clone()), &failure(), "reason")
                >
                    {current_reason}
                </textarea>
            </div>
            <p>
                <button type="submit" class="button button-primary">
                    {if current.is_some() { "Change decision" } else { "Save decision" }}
                    <span class="visually-hidden">{button_on_what}</span>
                </button>
            </p>
        </ActionForm>
    }
}

/// Hands the item to someone else, by email, with a reason.
fn reassign_form(id: i64, what: &str, context: &ItemContext) -> impl IntoView {
    let actions = context.actions;
    let refused = move || {
        actions.reassigned_item.get() == Some(id)
            && actions
                .reassign
                .value()
                .with(|value| matches!(value, Some(Err(_))))
    };
    let failure = move || {
        actions
            .reassign
            .value()
            .get()
            .and_then(Result::err)
            .filter(|_| actions.reassigned_item.get() == Some(id))
    };
    let to_id = move || control_id("reassign-", "to", id, refused());
    let reason_id = move || control_id("reassign-", "reason", id, refused());
    let instance_id = context.instance_id.to_string();
    view! {
        <details class="more review-reassign" open=refused>
            <summary>"Reassign" <span class="visually-hidden">{format!(" {what}")}</span></summary>
            <ActionForm action=actions.reassign attr:class="form">
                <FormTokenField />
                <input type="hidden" name="instance_id" value=instance_id />
                <input type="hidden" name="item_id" value=id.to_string() />
                {move || failure()
                    .filter(|error| error.fields.is_empty())
                    .map(|error| view! { <p class="field-error">{error.message}</p> })}
                <div class=move || field_class(&failure(), "to")>
                    <label for=to_id>"Give it to (email)"</label>
                    {move || field_error(&failure(), "to")}
                    <input
                        id=to_id
                        name="to"
                        type="email"
                        autocomplete="off"
                        required=true
                        aria-describedby=move || described_by(None, &failure(), "to")
                    />
                </div>
                <div class=move || field_class(&failure(), "reason")>
                    <label for=reason_id>"Why"</label>
                    {move || field_error(&failure(), "reason")}
                    <textarea
                        id=reason_id
                        name="reason"
                        rows="2"
                        maxlength=MAX_REASON_CHARS.to_string()
                        aria-describedby=move || described_by(None, &failure(), "reason")
                    ></textarea>
                </div>
                <p><button type="submit" class="button button-secondary">"Reassign"</button></p>
            </ActionForm>
        </details>
    }
}
