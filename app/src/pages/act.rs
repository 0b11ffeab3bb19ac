//! `/act/:token`: where an email's button leads. Opening it changes nothing (mail
//! scanners open links); it shows the request with Approve and Deny, or the access with
//! an extend form, and the choice is a form post by the signed-in person the link was sent
//! to. A link that cannot be used says why.

use crate::api::links::{
    open_action_link, DecideView, ExtendView, LinkProblem, LinkView, ReviewLinkView, UseActionLink,
};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::components::form::{field_class, field_error, ErrorSummary, FormTokenField};
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

#[component]
pub fn ActionLinkPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let link = Resource::new(token, open_action_link);
    let act = ServerAction::<UseActionLink>::new();
    view! {
        <Title text="Email link" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match link.await {
                    Ok(LinkView::Problem(problem)) => problem_view(problem).into_any(),
                    Ok(LinkView::Decide(view)) => decide_view(view, token(), act).into_any(),
                    Ok(LinkView::Extend(view)) => extend_view(view, token(), act).into_any(),
                    Ok(LinkView::Review(view)) => review_view(view, token()).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn problem_view(problem: LinkProblem) -> impl IntoView {
    let location = use_location();
    let sign_in = move || format!("/sign-in?next={}", location.pathname.get());
    let kind = match problem {
        LinkProblem::SignInRequired => "alert alert-info",
        _ => "alert alert-warning",
    };
    view! {
        <div class="page-header">
            <h1>{problem.title()}</h1>
        </div>
        <div class=kind role="status">
            <p>{problem.explanation()}</p>
        </div>
        {match problem {
            LinkProblem::SignInRequired => view! {
                <p><a class="button button-primary" href=sign_in>"Sign in"</a></p>
            }.into_any(),
            LinkProblem::Changed => view! {
                <p><a class="button button-secondary" href="/approvals">"Open your approvals"</a></p>
            }.into_any(),
            _ => view! {
                <p><a class="button button-secondary" href="/">"Go to Gatehouse"</a></p>
            }.into_any(),
        }}
    }
}

fn decide_view(view: DecideView, token: String, act: ServerAction<UseActionLink>) -> impl IntoView {
    let failure = move || act.value().get().and_then(Result::err);
    let heading = format!("{} requests {}", view.requester_name, view.package_name);
    view! {
        <div class="page-header">
            <h1>{heading}</h1>
            <p class="lead">
                {format!("Stage {}", view.stage_position)}
                {view.due_at.map(|due| format!(" · decide by {}", due.date_time_utc()))}
            </p>
        </div>
        {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        <section class="card stack" aria-labelledby="request-heading">
            <h2 id="request-heading">"The request"</h2>
            <crate::components::detail::RequestReasons justification=view.justification.clone() answers=view.answers.clone() />
            <p><a href=format!("/requests/{}", view.request_id)>"See the whole request"</a></p>
        </section>
        <section class="card stack" aria-labelledby="decide-heading">
            <h2 id="decide-heading">"Your decision"</h2>
            <ActionForm action=act attr:class="form">
                <FormTokenField />
                <input type="hidden" name="token" value=token />
                <div class=move || field_class(&failure(), "justification")>
                    <label for="justification">"Comment (optional)"</label>
                    {move || field_error(&failure(), "justification")}
                    <textarea id="justification" name="justification" rows="3" maxlength="2000"></textarea>
                </div>
                <div class="cluster">
                    <button type="submit" name="choice" value="approve" class="button button-primary">"Approve"</button>
                    <button type="submit" name="choice" value="deny" class="button button-danger">"Deny"</button>
                </div>
            </ActionForm>
        </section>
    }
}

fn extend_view(view: ExtendView, token: String, act: ServerAction<UseActionLink>) -> impl IntoView {
    let failure = move || act.value().get().and_then(Result::err);
    let current = view
        .end_at
        .map_or("no end date".to_string(), |end| end.date_time_utc());
    view! {
        <div class="page-header">
            <h1>{format!("Extend {}", view.package_name)}</h1>
            <p class="lead">{format!("Your access ends at {current}.")}</p>
        </div>
        {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        <section class="card stack" aria-labelledby="extend-heading">
            <h2 id="extend-heading">"New end"</h2>
            <ActionForm action=act attr:class="form" attr:novalidate=true>
                <FormTokenField />
                <input type="hidden" name="token" value=token />
                <div class=move || field_class(&failure(), "end_date")>
                    <label for="end_date">"Keep access until"</label>
                    {move || field_error(&failure(), "end_date")}
                    <input id="end_date" name="end_date" type="date" />
                </div>
                <div class=move || field_class(&failure(), "justification")>
                    <label for="justification">"Why do you need it longer?"</label>
                    {move || field_error(&failure(), "justification")}
                    <textarea id="justification" name="justification" rows="3" maxlength="2000"></textarea>
                </div>
                <button type="submit" name="choice" value="extend" class="button button-primary">"Ask to extend"</button>
            </ActionForm>
        </section>
    }
}

/// A review link leads to the reviewer's list, carrying the link so that it is used up
/// with the first decision taken there.
fn review_view(view: ReviewLinkView, token: String) -> impl IntoView {
    let href = format!("/reviews/{}?link={token}", view.instance_id);
    view! {
        <div class="page-header">
            <h1>{format!("Access review: {}", view.review_name)}</h1>
            <p class="lead">
                {format!(
                    "{} of your {} items wait for your decision. This stage ends at {}.",
                    view.open_items,
                    view.items,
                    view.stage_end_at.date_time_utc(),
                )}
            </p>
        </div>
        <p><a class="button button-primary" href=href>"Start reviewing"</a></p>
    }
}
