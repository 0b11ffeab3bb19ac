//! `/manage/packages/:id/policies/new` and `/manage/packages/:id/policies/:policy_id`: the
//! assignment policy editor. Who may request, what they answer, how long access lasts,
//! extensions, and up to three approval stages. One form, posted whole, so it works without
//! JavaScript; every refused field is marked next to itself.

use crate::api::catalogs::{get_policy_editor, PolicyEditor, SavePolicy};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::components::form::{ticked, Checkbox, ErrorSummary, Field};
use crate::components::route::{id_param, named_id_param};
use crate::domain::drafts::{
    QuestionForm, StageForm, APPROVER_KINDS, DURATION_KINDS, MAX_QUESTIONS, MAX_STAGES, SCOPES,
};
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PolicyPage() -> impl IntoView {
    let package_id = id_param();
    let policy_id = named_id_param("policy_id");
    let save = ServerAction::<SavePolicy>::new();
    let editor = Resource::new(
        move || (package_id(), policy_id()),
        |(package, policy)| get_policy_editor(package, policy),
    );
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match editor.await {
                    Ok(editor) => policy_view(editor, save).into_any(),
                    Err(error) => view! { <Title text="Assignment policy" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Radio buttons for one choice among `options`, in a fieldset whose legend is the label.
fn radios(
    failure: Signal<Option<AppError>>,
    field: &'static str,
    name: &'static str,
    legend: &'static str,
    options: &'static [(&'static str, &'static str)],
    current: String,
) -> impl IntoView {
    view! {
        <fieldset id=field class=move || crate::components::form::field_class(&failure.get(), field)>
            <legend>{legend}</legend>
            {move || crate::components::form::field_error(&failure.get(), field)}
            {options.iter().map(|(value, label)| {
                let id = format!("{field}-{value}");
                view! {
                    <div class="checkbox">
                        <input type="radio" id=id.clone() name=name value=*value checked=current == *value />
                        <label for=id>{*label}</label>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}

fn question_fields(
    failure: Signal<Option<AppError>>,
    index: usize,
    question: QuestionForm,
) -> impl IntoView {
    let key = move |name: &str| format!("questions[{index}][{name}]");
    let name = move |field: &str| format!("policy[questions][{index}][{field}]");
    view! {
        <fieldset class="stack">
            <legend>{format!("Question {}", index + 1)}</legend>
            <Field failure field=key("text") label="Question (empty: not asked)">
                <input id=key("text") name=name("text") type="text" maxlength="500" value=question.text />
            </Field>
            <Field failure field=key("choices") label="Possible answers (optional)" hint="One per line; leave empty for a free-text answer.">
                <textarea id=key("choices") name=name("choices") rows="2">{question.choices}</textarea>
            </Field>
            <Checkbox id=key("required") name=name("required") label="An answer is required" checked=ticked(&question.required) />
        </fieldset>
    }
}

fn stage_fields(
    failure: Signal<Option<AppError>>,
    index: usize,
    stage: StageForm,
) -> impl IntoView {
    let key = move |name: &str| format!("stages[{index}][{name}]");
    let name = move |field: &str| format!("policy[stages][{index}][{field}]");
    let kind = stage.approver_kind.clone();
    view! {
        <fieldset class="stack">
            <legend>{format!("Stage {}", index + 1)}</legend>
            <Field failure field=key("approver_kind") label="Who approves">
                <select id=key("approver_kind") name=name("approver_kind")>
                    <option value="" selected=kind.is_empty()>{if index == 0 { "Nobody: granted at once" } else { "No further stage" }}</option>
                    {APPROVER_KINDS.iter().map(|(value, label)| view! {
                        <option value=*value selected=kind == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </Field>
            <div class="grid">
                <Field failure field=key("approvers") label="Named people" hint="Emails, for “Named people”.">
                    <input id=key("approvers") name=name("approvers") type="text" value=stage.approvers />
                </Field>
                <Field failure field=key("groups") label="Groups" hint="Group names, for “Members of groups”.">
                    <input id=key("groups") name=name("groups") type="text" value=stage.groups />
                </Field>
                <Field failure field=key("required_approvals") label="Approvals needed" hint="1: the first approver decides.">
                    <input id=key("required_approvals") name=name("required_approvals") type="number" min="1" max="10" value=stage.required_approvals />
                </Field>
                <Field failure field=key("decision_timeout_days") label="Decision timeout (days)" hint="Then the request is denied as timed out.">
                    <input id=key("decision_timeout_days") name=name("decision_timeout_days") type="number" min="1" max="90" value=stage.decision_timeout_days />
                </Field>
                <Field failure field=key("escalation_after_days") label="Escalate after (days, optional)">
                    <input id=key("escalation_after_days") name=name("escalation_after_days") type="number" min="1" max="89" value=stage.escalation_after_days />
                </Field>
                <Field failure field=key("escalation_approvers") label="Alternate approvers" hint="Emails of the people asked when the stage escalates.">
                    <input id=key("escalation_approvers") name=name("escalation_approvers") type="text" value=stage.escalation_approvers />
                </Field>
                <Field failure field=key("fallback_approvers") label="Fallback approvers" hint="Emails of the people asked when nobody else can be found (for example no manager).">
                    <input id=key("fallback_approvers") name=name("fallback_approvers") type="text" value=stage.fallback_approvers />
                </Field>
            </div>
            <Checkbox id=key("justification_required") name=name("justification_required") label="Approvers must give a reason" checked=ticked(&stage.justification_required) />
        </fieldset>
    }
}

fn policy_view(editor: PolicyEditor, save: ServerAction<SavePolicy>) -> impl IntoView {
    let failure = Signal::derive(move || save.value().get().and_then(Result::err));
    let form = editor.form;
    let title = if editor.policy_id.is_some() {
        "Edit assignment policy"
    } else {
        "New assignment policy"
    };
    let mut questions = form.questions.clone();
    questions.resize(MAX_QUESTIONS.max(questions.len()), QuestionForm::default());
    let mut stages = form.stages.clone();
    stages.resize(MAX_STAGES.max(stages.len()), StageForm::default());
    view! {
        <Title text=title />
        <div class="page-header">
            <p><a href=format!("/manage/packages/{}", editor.package_id)>{format!("← {}", editor.package_name)}</a></p>
            <h1>{title}</h1>
            <p class="lead">"The first enabled policy that admits a requester applies; when several do, the requester chooses."</p>
        </div>
        {move || failure.get().map(|error| view! { <ErrorSummary error /> })}
        <ActionForm action=save attr:class="form form-wide stack" attr:novalidate=true>
            <crate::components::form::FormTokenField />
            <input type="hidden" name="package_id" value=editor.package_id.to_string() />
            <input type="hidden" name="policy_id" value=editor.policy_id.unwrap_or(0).to_string() />
            <section class="card stack" aria-labelledby="policy-general">
                <h2 id="policy-general">"Policy"</h2>
                <Field failure field="name" label="Name">
                    <input id="name" name="policy[name]" type="text" maxlength="200" value=form.name.clone() />
                </Field>
                <Field failure field="description" label="Description (optional)">
                    <textarea id="description" name="policy[description]" rows="2" maxlength="2000">{form.description.clone()}</textarea>
                </Field>
                <Checkbox id="enabled" name="policy[enabled]" label="Enabled" checked=ticked(&form.enabled) />
            </section>
            <section class="card stack" aria-labelledby="policy-who">
                <h2 id="policy-who">"Who may request"</h2>
                {radios(failure, "requestor_scope", "policy[requestor_scope]", "Requesters", &SCOPES, form.requestor_scope.clone())}
                <Field failure field="requestor_groups" label="Groups" hint="Group names, for “Members of groups or departments”.">
                    <input id="requestor_groups" name="policy[requestor_groups]" type="text" value=form.requestor_groups.clone() />
                </Field>
                <Field failure field="requestor_departments" label="Departments">
                    <input id="requestor_departments" name="policy[requestor_departments]" type="text" value=form.requestor_departments.clone() />
                </Field>
                <Field failure field="requestor_rule" label="Attribute rule" hint="For example: department = Sales; employee_type = employee. Every condition must hold.">
                    <input id="requestor_rule" name="policy[requestor_rule]" type="text" value=form.requestor_rule.clone() />
                </Field>
            </section>
            <section class="card stack" aria-labelledby="policy-ask">
                <h2 id="policy-ask">"What requesters say"</h2>
                <Checkbox id="justification_required" name="policy[justification_required]" label="A justification is required" checked=ticked(&form.justification_required) />
                {move || crate::components::form::field_error(&failure.get(), "questions")}
                {
                    let more_open = questions.iter().skip(1).any(|q| !q.text.is_empty());
                    let mut questions = questions.into_iter().take(MAX_QUESTIONS).enumerate();
                    let first = questions.next().map(|(index, question)| question_fields(failure, index, question));
                    view! {
                        {first}
                        <details class="more" open=more_open>
                            <summary>{format!("More questions (up to {MAX_QUESTIONS})")}</summary>
                            <div class="stack">
                                {questions.map(|(index, question)| question_fields(failure, index, question)).collect_view()}
                            </div>
                        </details>
                    }
                }
            </section>
            <section class="card stack" aria-labelledby="policy-duration">
                <h2 id="policy-duration">"How long access lasts"</h2>
                {radios(failure, "duration_kind", "policy[duration_kind]", "Duration", &DURATION_KINDS, form.duration_kind.clone())}
                <div class="cluster">
                    <Field failure field="duration_value" label="Days or hours" hint="For “at most”.">
                        <input id="duration_value" name="policy[duration_value]" type="number" min="1" value=form.duration_value.clone() />
                    </Field>
                    <Field failure field="fixed_end_date" label="Fixed end date" hint="For “until a fixed date”.">
                        <input id="fixed_end_date" name="policy[fixed_end_date]" type="date" value=form.fixed_end_date.clone() />
                    </Field>
                </div>
                <Checkbox id="extension_allowed" name="policy[extension_allowed]" label="Holders may ask for an extension" checked=ticked(&form.extension_allowed) />
                {move || crate::components::form::field_error(&failure.get(), "extension_needs_approval")}
                <Checkbox id="extension_needs_approval" name="policy[extension_needs_approval]" label="Extensions go through the approval stages" checked=ticked(&form.extension_needs_approval) />
            </section>
            <section class="card stack" aria-labelledby="policy-approval">
                <h2 id="policy-approval">"Approval"</h2>
                <p class="hint">"Stages run in order; nobody ever approves their own request (the stage goes to its fallback approvers, then to administrators)."</p>
                {move || crate::components::form::field_error(&failure.get(), "stages")}
                {stages.into_iter().take(MAX_STAGES).enumerate().map(|(index, stage)| {
                    if index == 0 {
                        stage_fields(failure, index, stage).into_any()
                    } else {
                        let used = !stage.approver_kind.is_empty();
                        view! {
                            <details class="more" open=used>
                                <summary>{format!("Stage {}{}", index + 1, if used { "" } else { " (not used)" })}</summary>
                                {stage_fields(failure, index, stage)}
                            </details>
                        }.into_any()
                    }
                }).collect_view()}
            </section>
            <div class="cluster">
                <button type="submit" class="button button-primary">"Save policy"</button>
                <a class="button" href=format!("/manage/packages/{}", editor.package_id)>"Cancel"</a>
            </div>
        </ActionForm>
    }
}
