//! `/catalog/:id`: one package and the form to request it: the policy (when several admit
//! the person), on whose behalf, justification, and the period within the policy.

use crate::api::requests::{get_request_form, RequestFormView, SubmitRequest};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::components::form::{field_class, field_error, ErrorSummary, Field};
use crate::components::route::id_param;
use crate::domain::questions::answer_field;
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RequestPackagePage() -> impl IntoView {
    let package_id = id_param();
    let form = Resource::new(package_id, get_request_form);
    let submit = ServerAction::<SubmitRequest>::new();
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(form) => request_form(form, submit).into_any(),
                    Err(error) => view! { <Title text="Request access" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn request_form(form: RequestFormView, submit: ServerAction<SubmitRequest>) -> impl IntoView {
    let failure = move || submit.value().get().and_then(Result::err);
    let title = form.name.clone();
    if form.policies.is_empty() {
        return view! {
            <Title text=title />
            <div class="page-header"><h1>{form.name.clone()}</h1></div>
            <p class="alert alert-info">"No policy of this package admits you. Its owners can assign it to you directly."</p>
        }
        .into_any();
    }
    let several = form.policies.len() > 1;
    let justification_required = form
        .policies
        .iter()
        .all(|policy| policy.justification_required);
    view! {
        <Title text=title />
        <div class="page-header">
            <h1>{form.name.clone()}</h1>
            <p class="lead">{form.description.clone()}</p>
            <p class="muted">"Catalog: " {form.catalog_name.clone()}</p>
        </div>
        <section class="card stack" aria-labelledby="request-heading">
            <h2 id="request-heading">"Request this package"</h2>
            {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
            <ActionForm action=submit attr:class="form" attr:novalidate=true>
                <crate::components::form::FormTokenField />
                <input type="hidden" name="package_id" value=form.package_id.to_string() />
                {if several {
                    let policies = form.policies.clone();
                    view! {
                        <div class=move || field_class(&failure(), "policy_id")>
                            <label for="policy_id">"Policy"</label>
                            <p class="hint">"More than one policy lets you request this package; choose one."</p>
                            {move || field_error(&failure(), "policy_id")}
                            <select id="policy_id" name="policy_id">
                                {policies.iter().map(|policy| view! {
                                    <option value=policy.policy_id.to_string()>
                                        {format!("{} ({}, {})", policy.name, policy.duration, approval_text(policy.stage_count))}
                                    </option>
                                }).collect_view()}
                            </select>
                        </div>
                    }.into_any()
                } else {
                    // One policy (the server answers "not requestable" when there is none).
                    form.policies.first().map(|policy| view! {
                        <input type="hidden" name="policy_id" value=policy.policy_id.to_string() />
                        <p>{format!("Access lasts {}; {}.", policy.duration, approval_text(policy.stage_count))}</p>
                    }).into_any()
                }}
                {(!form.reports.is_empty()).then(|| {
                    let reports = form.reports.clone();
                    view! {
                        <div class=move || field_class(&failure(), "for_person_id")>
                            <label for="for_person_id">"For"</label>
                            {move || field_error(&failure(), "for_person_id")}
                            <select id="for_person_id" name="for_person_id">
                                <option value=form.self_id.to_string()>"Myself"</option>
                                {reports.iter().map(|(id, name)| view! {
                                    <option value=id.to_string()>{name.clone()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    }
                })}
                <div class=move || field_class(&failure(), "justification")>
                    <label for="justification">
                        {if justification_required { "Why do you need it?" } else { "Why do you need it? (optional)" }}
                    </label>
                    {move || field_error(&failure(), "justification")}
                    <textarea id="justification" name="justification" rows="3" maxlength="2000"></textarea>
                </div>
                {form.policies.clone().into_iter().filter(|policy| !policy.questions.is_empty()).map(|policy| {
                    let policy_id = policy.policy_id;
                    view! {
                        <fieldset class="stack">
                            <legend>{if several { format!("Questions of the policy “{}”", policy.name) } else { "Questions".to_string() }}</legend>
                            {policy.questions.into_iter().enumerate().map(|(index, question)| {
                                let key = answer_field(policy_id, index);
                                let name = format!("answers[p{policy_id}q{index}]");
                                let label = if question.required { question.text.clone() } else { format!("{} (optional)", question.text) };
                                view! {
                                    <Field failure=Signal::derive(failure) field=key.clone() label>
                                        {if question.choices.is_empty() {
                                            view! { <textarea id=key.clone() name=name rows="2" maxlength="2000"></textarea> }.into_any()
                                        } else {
                                            view! {
                                                <select id=key.clone() name=name>
                                                    <option value="">"Choose…"</option>
                                                    {question.choices.into_iter().map(|choice| { let label = choice.clone(); view! { <option value=choice>{label}</option> } }).collect_view()}
                                                </select>
                                            }.into_any()
                                        }}
                                    </Field>
                                }
                            }).collect_view()}
                        </fieldset>
                    }
                }).collect_view()}
                <div class="cluster">
                    <div class=move || field_class(&failure(), "start_date")>
                        <label for="start_date">"From (optional)"</label>
                        <p class="hint">"Empty: from now."</p>
                        {move || field_error(&failure(), "start_date")}
                        <input id="start_date" name="start_date" type="date" min=form.today.clone() />
                    </div>
                    <div class=move || field_class(&failure(), "end_date")>
                        <label for="end_date">"Until (optional)"</label>
                        <p class="hint">"Empty: the longest the policy allows."</p>
                        {move || field_error(&failure(), "end_date")}
                        <input id="end_date" name="end_date" type="date" min=form.today.clone() />
                    </div>
                </div>
                <button type="submit" class="button button-primary">"Submit request"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

fn approval_text(stage_count: usize) -> String {
    match stage_count {
        0 => "granted at once".into(),
        1 => "one approval stage".into(),
        stages => format!("{stages} approval stages"),
    }
}
