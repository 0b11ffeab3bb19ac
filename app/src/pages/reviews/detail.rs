//! `/reviews/:id`: a reviewer's items in one review instance, a page at a time, grouped
//! by person or by package, with a decision form on each item, a form for the ticked
//! items, "accept all recommendations" and reassigning. Query parameters: `group`
//! (`person` or `package`), `q` (search), `page` (from 1), and `link` (the email link the
//! reviewer came by, posted with their decisions). Every form is a plain post and the
//! search a GET form, so the page works without JavaScript.

use super::item::{item_card, ItemContext};
use super::{decided_progress, pager, query_string, sign_in_prompt};
use crate::api::reviews::{
    get_review_items, AcceptReviewRecommendations, DecideReviewItems, Decision, GroupBy,
    ReassignReviewItem, ReviewItemView, ReviewerPage, ITEMS_PER_PAGE,
};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{field_class, field_error, ErrorSummary, FormTokenField};
use crate::components::route::id_param;
use crate::domain::review::MAX_REASON_CHARS;
use crate::domain::{AppError, ErrorCode};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The forms of the reviewer's page, and which item's form was posted last: a refusal is
/// shown next to that item's fields (and the summary at the top links there).
#[derive(Clone, Copy)]
pub(super) struct ReviewerActions {
    pub decide: ServerAction<DecideReviewItems>,
    pub decide_selected: ServerAction<DecideReviewItems>,
    pub accept: ServerAction<AcceptReviewRecommendations>,
    pub reassign: ServerAction<ReassignReviewItem>,
    /// The item of the last posted decision form.
    pub decided_item: RwSignal<Option<i64>>,
    /// The item of the last posted reassign form.
    pub reassigned_item: RwSignal<Option<i64>>,
    /// The form for the ticked items was the last one posted.
    pub selected_posted: RwSignal<bool>,
    /// What the last form did, for the status line.
    pub status: RwSignal<String>,
    /// The item whose heading takes the keyboard focus once the list is refreshed.
    pub focus_after_refresh: RwSignal<Option<i64>>,
    /// Counts the forms that changed something: the list is read again after each (not
    /// after a refusal, which would redraw the forms and lose what was typed).
    pub changes: RwSignal<usize>,
}

impl ReviewerActions {
    fn new() -> Self {
        let actions = Self {
            decide: ServerAction::new(),
            decide_selected: ServerAction::new(),
            accept: ServerAction::new(),
            reassign: ServerAction::new(),
            decided_item: RwSignal::new(None),
            reassigned_item: RwSignal::new(None),
            selected_posted: RwSignal::new(false),
            status: RwSignal::new(String::new()),
            focus_after_refresh: RwSignal::new(None),
            changes: RwSignal::new(0),
        };
        actions.remember_what_is_posted();
        actions.report_results();
        actions
    }

    fn changed(&self) {
        self.changes.update(|count| *count += 1);
    }

    /// Forgets every earlier answer, so only the form just posted shows a result.
    fn clear_results(&self) {
        self.decide.value().set(None);
        self.decide_selected.value().set(None);
        self.accept.value().set(None);
        self.reassign.value().set(None);
        self.status.set(String::new());
    }

    /// Notes which form is posted (effects run in the browser only: without JavaScript a
    /// refusal shows in the summary at the top).
    fn remember_what_is_posted(self) {
        Effect::new(move |_| {
            if let Some(input) = self.decide.input().get() {
                self.clear_results();
                self.selected_posted.set(false);
                self.reassigned_item.set(None);
                self.decided_item.set(input.item_ids.first().copied());
            }
        });
        Effect::new(move |_| {
            if self.decide_selected.input().get().is_some() {
                self.clear_results();
                self.decided_item.set(None);
                self.reassigned_item.set(None);
                self.selected_posted.set(true);
            }
        });
        Effect::new(move |_| {
            if self.accept.input().get().is_some() {
                self.clear_results();
            }
        });
        Effect::new(move |_| {
            if let Some(input) = self.reassign.input().get() {
                self.clear_results();
                self.decided_item.set(None);
                self.selected_posted.set(false);
                self.reassigned_item.set(Some(input.item_id));
            }
        });
    }

    /// Puts what a successful form did in the status line, and reads the list again.
    fn report_results(self) {
        Effect::new(move |_| {
            if let Some(Ok(_)) = self.decide.value().get() {
                self.changed();
                self.status.set("Your decision is saved.".to_string());
                self.focus_after_refresh
                    .set(self.decided_item.get_untracked());
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(recorded)) = self.decide_selected.value().get() {
                self.changed();
                self.status.set(decisions_saved(recorded.decided));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(recorded)) = self.accept.value().get() {
                self.changed();
                self.status.set(format!(
                    "The recommendation is taken on {}.",
                    items_text(recorded.decided)
                ));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = self.reassign.value().get() {
                self.changed();
                self.status
                    .set("The item is handed over and no longer yours.".to_string());
            }
        });
    }
}

fn items_text(count: i64) -> String {
    format!("{count} item{}", if count == 1 { "" } else { "s" })
}

fn decisions_saved(count: i64) -> String {
    format!(
        "{count} decision{} saved.",
        if count == 1 { "" } else { "s" }
    )
}

#[component]
pub fn ReviewItemsPage() -> impl IntoView {
    let instance_id = id_param();
    let query = use_query_map();
    let parameter = move |name: &str| query.read().get(name).unwrap_or_default();
    let page = move || parameter("page").parse::<i64>().unwrap_or(1).max(1);
    let actions = ReviewerActions::new();
    let reviewer_page = Resource::new(
        move || {
            (
                instance_id(),
                parameter("group"),
                parameter("q"),
                page(),
                actions.changes.get(),
            )
        },
        |(id, group, search, page, _)| get_review_items(id, group, search, page),
    );
    view! {
        {summaries(actions)}
        <p class="review-status" role="status" aria-live="polite">{move || actions.status.get()}</p>
        // Transition, not Suspense: after a decision the list stays on screen (and the
        // reader's place in it) until the refreshed one arrives.
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                let link = query.with_untracked(|query| query.get("link")).unwrap_or_default();
                match reviewer_page.await {
                    Ok(data) => reviewer_view(data, link, actions).into_any(),
                    Err(error) if error.code == ErrorCode::Unauthenticated => view! {
                        <Title text="Access review" />
                        {sign_in_prompt()}
                    }.into_any(),
                    Err(error) => view! { <Title text="Access review" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn refused<T>(value: Option<Result<T, AppError>>) -> Option<AppError> {
    value.and_then(Result::err)
}

/// The error summaries of the page's forms. Without JavaScript a refused decision comes
/// back to both decision actions (they call the same server function): it is shown once.
fn summaries(actions: ReviewerActions) -> impl IntoView {
    view! {
        {move || refused(actions.decide.value().get()).map(|error| view! { <ErrorSummary error prefix="decide-" /> })}
        {move || {
            let shown_above = actions.decide.value().with(|value| matches!(value, Some(Err(_))));
            refused(actions.decide_selected.value().get())
                .filter(|_| !shown_above)
                .map(|error| view! { <ErrorSummary error prefix="selected-" /> })
        }}
        {move || refused(actions.accept.value().get()).map(|error| view! { <ErrorSummary error prefix="accept-" /> })}
        {move || refused(actions.reassign.value().get()).map(|error| view! { <ErrorSummary error prefix="reassign-" /> })}
    }
}

fn reviewer_view(data: ReviewerPage, link: String, actions: ReviewerActions) -> impl IntoView {
    let instance_id = data.instance_id;
    let base = format!("/reviews/{instance_id}");
    let group = match data.group_by {
        GroupBy::Person => String::new(),
        GroupBy::Package => GroupBy::Package.as_str().to_string(),
    };
    let page_href = |page: i64| {
        format!(
            "{base}{}",
            query_string(&[
                ("group", group.clone()),
                ("q", data.query.clone()),
                (
                    "page",
                    if page > 1 {
                        page.to_string()
                    } else {
                        String::new()
                    }
                ),
                ("link", link.clone()),
            ])
        )
    };
    let page_count = (data.matching + ITEMS_PER_PAGE - 1) / ITEMS_PER_PAGE;
    let previous = (data.page > 1).then(|| page_href(data.page - 1));
    let next = (data.page * ITEMS_PER_PAGE < data.matching).then(|| page_href(data.page + 1));
    let has_items = !data.items.is_empty();
    let context = ItemContext {
        instance_id,
        open: data.open,
        group_by: data.group_by,
        reason_hint: reason_hint(data.reason_on_keep, data.reason_on_remove),
        link: link.clone(),
        actions,
    };
    // After a decision, the keyboard focus goes to the next item (the list was redrawn).
    if let Some(decided) = actions.focus_after_refresh.get_untracked() {
        actions.focus_after_refresh.set(None);
        let position = data.items.iter().position(|item| item.item_id == decided);
        let target = position
            .and_then(|position| data.items.get(position + 1).or(data.items.get(position)))
            .map_or(decided, |item| item.item_id);
        focus_item_soon(target);
    }
    let empty_text = if data.query.is_empty() {
        "You have no items in this review.".to_string()
    } else {
        format!("No item of yours matches “{}”.", data.query)
    };
    view! {
        <Title text=data.review_name.clone() />
        <div class="page-header">
            <h1>{data.review_name.clone()}</h1>
            {(!data.description.is_empty()).then(|| view! { <p class="lead">{data.description.clone()}</p> })}
            <p class="muted">
                {format!("Stage {} of {} · ends {}", data.stage, data.stage_count, data.stage_end_at.date_time_utc())}
            </p>
        </div>
        {if data.open {
            ().into_any()
        } else {
            view! {
                <p class="alert alert-info" role="status">"This stage has ended; decisions can no longer be changed."</p>
            }.into_any()
        }}
        <section class="card stack" aria-labelledby="review-progress-heading">
            <h2 id="review-progress-heading">"Progress"</h2>
            {decided_progress("Your items".to_string(), data.my_decided, data.my_items)}
            {decided_progress("This stage, every reviewer".to_string(), data.stage_decided, data.stage_items)}
            {(data.open && data.my_recommended_open > 0).then(|| accept_form(instance_id, data.my_recommended_open, actions))}
        </section>
        {search_form(&base, &data, &link)}
        {(data.open && has_items).then(|| view! {
            <p class="hint">
                "Decide each item below, or tick several and "
                <a href="#selected-heading">"decide the selected items together"</a>
                " at the end of the list."
            </p>
        })}
        {if has_items {
            item_groups(data.items, data.group_by, context).into_any()
        } else {
            view! { <Empty>{empty_text}</Empty> }.into_any()
        }}
        {(data.open && has_items).then(|| selected_form(instance_id, link.clone(), actions))}
        {pager("Pages of items", data.page, Some(page_count.max(1)), previous, next)}
    }
}

/// The hint next to a reason: when the review asks for one.
fn reason_hint(on_keep: bool, on_remove: bool) -> &'static str {
    match (on_keep, on_remove) {
        (true, true) => "Required when you keep or remove the access.",
        (true, false) => "Required when you keep the access.",
        (false, true) => "Required when you remove the access.",
        (false, false) => "Optional.",
    }
}

fn accept_form(instance_id: i64, count: i64, actions: ReviewerActions) -> impl IntoView {
    view! {
        <ActionForm action=actions.accept attr:class="stack">
            <FormTokenField />
            <input type="hidden" name="instance_id" value=instance_id.to_string() />
            <p class="hint" id="accept-instance_id">
                {format!("Takes the recommendation on each of your undecided items that has one ({}).", items_text(count))}
            </p>
            <p>
                <button type="submit" class="button button-secondary">{format!("Accept all recommendations ({count})")}</button>
            </p>
        </ActionForm>
    }
}

fn search_form(base: &str, data: &ReviewerPage, link: &str) -> impl IntoView {
    let clear = format!("{base}{}", query_string(&[("link", link.to_string())]));
    let filtered = !data.query.is_empty() || data.group_by == GroupBy::Package;
    view! {
        <form class="search-form" method="get" action=base.to_string() role="search">
            {(!link.is_empty()).then(|| view! { <input type="hidden" name="link" value=link.to_string() /> })}
            <div class="field">
                <label for="q">"Search by name, email or package"</label>
                <input id="q" name="q" type="search" maxlength="200" value=data.query.clone() />
            </div>
            <div class="field">
                <label for="group">"Group by"</label>
                <select id="group" name="group">
                    <option value="person" selected=data.group_by == GroupBy::Person>"Person"</option>
                    <option value="package" selected=data.group_by == GroupBy::Package>"Package"</option>
                </select>
            </div>
            <button type="submit" class="button button-secondary">"Show"</button>
            {filtered.then(|| view! { <a class="button" href=clear>"Clear"</a> })}
            <p class="muted review-matching">{format!("{} matching", items_text(data.matching))}</p>
        </form>
    }
}

/// The items under a heading per person or per package. The server sorts them by the
/// group, so a new heading starts wherever the group changes.
fn item_groups(
    items: Vec<ReviewItemView>,
    group_by: GroupBy,
    context: ItemContext,
) -> impl IntoView {
    let mut groups: Vec<(String, Vec<(usize, ReviewItemView)>)> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let key = match group_by {
            GroupBy::Person => item.holder_email.clone(),
            GroupBy::Package => item.access_name.clone(),
        };
        match groups.last_mut() {
            Some((last, members)) if *last == key => members.push((index, item)),
            _ => groups.push((key, vec![(index, item)])),
        }
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(group_index, (_, members))| {
            let heading_id = format!("group-{group_index}");
            let labelled_by = heading_id.clone();
            let heading = members.first().map(|(_, item)| group_heading(item, group_by));
            let context = context.clone();
            view! {
                <section class="review-group" aria-labelledby=labelled_by>
                    <h2 id=heading_id>{heading}</h2>
                    <ul class="stack">
                        {members.into_iter().map(|(index, item)| item_card(item, index, context.clone())).collect_view()}
                    </ul>
                </section>
            }
        })
        .collect_view()
}

fn group_heading(item: &ReviewItemView, group_by: GroupBy) -> impl IntoView {
    match group_by {
        GroupBy::Person => {
            let mut details = vec![item.holder_email.clone()];
            details.extend(item.department.clone());
            view! {
                {item.holder_name.clone()}
                " "
                <span class="muted review-group-details">{details.join(" · ")}</span>
            }
            .into_any()
        }
        GroupBy::Package => view! { {item.access_name.clone()} }.into_any(),
    }
}

/// The form for the ticked items: one decision and one reason for all of them. The
/// item checkboxes sit in the items and belong to this form by its id.
fn selected_form(instance_id: i64, link: String, actions: ReviewerActions) -> impl IntoView {
    let failure = move || {
        actions
            .decide_selected
            .value()
            .get()
            .and_then(Result::err)
            .filter(|_| actions.selected_posted.get())
    };
    let described = move |field: &'static str| {
        move || {
            failure().and_then(|error| error.field_message(field).map(|_| format!("{field}-error")))
        }
    };
    view! {
        <section class="card stack review-selected" aria-labelledby="selected-heading">
            <h2 id="selected-heading" tabindex="-1">"Decide the selected items"</h2>
            <div class=move || field_class(&failure(), "item_ids")>
                <p class="hint" id="selected-item_ids">"Tick “Select” on the items above, then choose once for all of them."</p>
                {move || field_error(&failure(), "item_ids")}
            </div>
            <ActionForm action=actions.decide_selected attr:id="decide-selected" attr:class="form">
                <FormTokenField />
                <input type="hidden" name="instance_id" value=instance_id.to_string() />
                <input type="hidden" name="link" value=link />
                <fieldset
                    id="selected-decision"
                    class=move || field_class(&failure(), "decision")
                    aria-describedby=described("decision")
                >
                    <legend>"Decision for the selected items"</legend>
                    {move || field_error(&failure(), "decision")}
                    <div class="cluster">
                        {[Decision::Keep, Decision::Remove, Decision::NotSure].into_iter().map(|decision| {
                            let id = format!("selected-decision-{}", decision.as_str());
                            view! {
                                <div class="checkbox">
                                    <input type="radio" id=id.clone() name="decision" value=decision.as_str() required=true />
                                    <label for=id>{decision.label()}</label>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                </fieldset>
                <div class=move || field_class(&failure(), "reason")>
                    <label for="selected-reason">"Reason for all of them"</label>
                    {move || field_error(&failure(), "reason")}
                    <textarea id="selected-reason" name="reason" rows="2" maxlength=MAX_REASON_CHARS.to_string() aria-describedby=described("reason")></textarea>
                </div>
                <p>
                    <button type="submit" class="button button-primary">"Decide selected"</button>
                </p>
            </ActionForm>
        </section>
    }
}

/// Moves the keyboard focus to an item's heading once the redrawn list is on screen, so
/// a keyboard user carries on where they were.
fn focus_item_soon(item_id: i64) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(heading) = document()
            .get_element_by_id(&format!("item-{item_id}"))
            .and_then(|element| element.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = heading.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = item_id;
}
