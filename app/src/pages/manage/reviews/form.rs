//! The access review definition form: what is reviewed, by whom in up to three stages,
//! when, what reviewers must say and what happens to unanswered items, and how results
//! are applied. One form, posted whole (`review[...]`, stages as
//! `review[stages][i][field]`), so it works without JavaScript; every refused field is
//! marked next to itself and described by its message. Read-only for people who may not
//! change the review.

use crate::api::reviews::{ReviewDefinition, ReviewForm, ReviewStageForm, SaveReview};
use crate::components::form::{ticked, Checkbox, ErrorSummary, Field, FormTokenField};
use crate::domain::review::{
    APPLY_MODES, CARRY_KINDS, DEFAULT_DECISIONS, MAX_REVIEW_STAGES, RECURRENCES, REVIEWER_KINDS,
    SCOPE_KINDS,
};
use crate::domain::AppError;
use leptos::prelude::*;

/// `aria-describedby` of a control: its error message, while the server refuses the field.
fn error_ref(
    failure: Signal<Option<AppError>>,
    field: String,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    move || {
        failure.with(|failure| {
            failure
                .as_ref()
                .and_then(|error| error.field_message(&field))
                .map(|_| format!("{field}-error"))
        })
    }
}

/// The form's name of a field: `review[field]`.
fn name(field: &str) -> String {
    format!("review[{field}]")
}

/// `<option>`s of a list of (value, label), the current one selected.
fn options(choices: &'static [(&'static str, &'static str)], current: &str) -> impl IntoView {
    choices
        .iter()
        .map(|(value, label)| {
            view! { <option value=*value selected=current == *value>{*label}</option> }
        })
        .collect_view()
}

pub(super) fn review_form(
    definition: &ReviewDefinition,
    save: ServerAction<SaveReview>,
) -> impl IntoView {
    let failure = Signal::derive(move || save.value().get().and_then(Result::err));
    let read_only = !definition.can_edit;
    let mut stages = definition.form.stages.clone();
    stages.resize(
        MAX_REVIEW_STAGES.max(stages.len()),
        ReviewStageForm::default(),
    );
    let submit = if definition.review_id > 0 {
        "Save review"
    } else {
        "Create review"
    };
    let cancel = if definition.review_id > 0 {
        format!("/manage/reviews/{}", definition.review_id)
    } else {
        "/manage/reviews".to_string()
    };
    let review_id = definition.review_id.to_string();
    let version = definition.version.to_string();
    let form = definition.form.clone();
    let general = general_fields(failure, form.clone(), read_only);
    let scope = scope_fields(failure, definition, read_only);
    let schedule = schedule_fields(failure, form.clone(), read_only);
    let decisions = decision_fields(failure, form.clone(), read_only);
    let applying = apply_fields(failure, form, read_only);
    view! {
        <section class="stack" aria-labelledby="review-form-heading">
            <h2 id="review-form-heading">{if read_only { "Settings" } else { "Edit the review" }}</h2>
            {read_only.then(|| view! {
                <p class="muted">"You may read this review's settings; administrators and the owners of its catalog change them."</p>
            })}
            {move || failure.get().map(|error| view! { <ErrorSummary error /> })}
            {move || save.value().get().and_then(Result::ok).map(|_| view! {
                <p class="alert alert-success" role="status">"Saved."</p>
            })}
            <ActionForm action=save attr:class="form form-wide stack" attr:novalidate=true>
                <FormTokenField />
                <input type="hidden" name="review_id" value=review_id />
                <input type="hidden" name="version" value=version />
                {general}
                {scope}
                <fieldset class="card stack form-section" disabled=read_only>
                    <legend>"Stages"</legend>
                    <p class="hint">"Stages run one after another. A later stage sees the decisions of the earlier ones and reviews the items its “Which items” setting passes on."</p>
                    {stages.into_iter().take(MAX_REVIEW_STAGES).enumerate().map(|(index, stage)| stage_fields(failure, index, stage)).collect_view()}
                </fieldset>
                {schedule}
                {decisions}
                {applying}
                {(!read_only).then(|| view! {
                    <div class="cluster">
                        <button type="submit" class="button button-primary">{submit}</button>
                        <a class="button" href=cancel>"Cancel"</a>
                    </div>
                })}
            </ActionForm>
        </section>
    }
}

fn general_fields(
    failure: Signal<Option<AppError>>,
    form: ReviewForm,
    read_only: bool,
) -> impl IntoView {
    let ReviewForm {
        name: review_name,
        description,
        enabled,
        ..
    } = form;
    view! {
        <fieldset class="card stack form-section" disabled=read_only>
            <legend>"Review"</legend>
            <Field failure field="name" label="Name">
                <input id="name" name=name("name") type="text" maxlength="200" value=review_name aria-describedby=error_ref(failure, "name".into()) />
            </Field>
            <Field failure field="description" label="Description (optional)" hint="Shown to reviewers at the top of their list.">
                <textarea id="description" name=name("description") rows="3" maxlength="2000" aria-describedby=error_ref(failure, "description".into())>{description}</textarea>
            </Field>
            <Checkbox id="enabled" name=name("enabled") label="Enabled: the review starts at its times" checked=ticked(&enabled) />
        </fieldset>
    }
}

fn scope_fields(
    failure: Signal<Option<AppError>>,
    definition: &ReviewDefinition,
    read_only: bool,
) -> impl IntoView {
    let ReviewForm {
        scope_kind,
        packages,
        catalog,
        departments,
        employee_types,
        held_longer_than_days,
        inactive_days,
        include_drift,
        ..
    } = definition.form.clone();
    let package_names = definition.package_names.clone();
    let package_count = package_names.len();
    let catalog_options = definition
        .catalog_names
        .iter()
        .map(|catalog| view! { <option value=catalog.clone()></option> })
        .collect_view();
    view! {
        <fieldset class="card stack form-section" disabled=read_only>
            <legend>"What is reviewed"</legend>
            <Field failure field="scope_kind" label="Access packages">
                <select id="scope_kind" name=name("scope_kind") aria-describedby=error_ref(failure, "scope_kind".into())>
                    {options(&SCOPE_KINDS, &scope_kind)}
                </select>
            </Field>
            <Field failure field="packages" label="Packages" hint="For “Chosen packages”: their names, one per line or separated by commas.">
                <textarea id="packages" name=name("packages") rows="3" aria-describedby=error_ref(failure, "packages".into())>{packages}</textarea>
            </Field>
            {(!package_names.is_empty()).then(|| view! {
                <details class="more">
                    <summary>{format!("Packages you may choose ({package_count})")}</summary>
                    <ul class="review-name-list">
                        {package_names.into_iter().map(|package| view! { <li>{package}</li> }).collect_view()}
                    </ul>
                </details>
            })}
            <Field failure field="catalog" label="Catalog" hint="For “Every package of a catalog”: the catalog's name.">
                <input id="catalog" name=name("catalog") type="text" list="catalog-names" autocomplete="off" value=catalog aria-describedby=error_ref(failure, "catalog".into()) />
            </Field>
            <datalist id="catalog-names">
                {catalog_options}
            </datalist>
            <div class="grid">
                <Field failure field="departments" label="Only holders in these departments (optional)" hint="Separated by commas; empty: every department.">
                    <input id="departments" name=name("departments") type="text" value=departments aria-describedby=error_ref(failure, "departments".into()) />
                </Field>
                <Field failure field="employee_types" label="Only these employee types (optional)" hint="Separated by commas, for example contractor; empty: everyone.">
                    <input id="employee_types" name=name("employee_types") type="text" value=employee_types aria-describedby=error_ref(failure, "employee_types".into()) />
                </Field>
                <Field failure field="held_longer_than_days" label="Only access held longer than (days, optional)">
                    <input id="held_longer_than_days" name=name("held_longer_than_days") type="number" min="1" max="3650" value=held_longer_than_days aria-describedby=error_ref(failure, "held_longer_than_days".into()) />
                </Field>
                <Field failure field="inactive_days" label="Only holders inactive for (days, optional)" hint="People who have not signed in for this long.">
                    <input id="inactive_days" name=name("inactive_days") type="number" min="1" max="3650" value=inactive_days aria-describedby=error_ref(failure, "inactive_days".into()) />
                </Field>
            </div>
            <Checkbox id="include_drift" name=name("include_drift") label="Also review membership found downstream that no grant explains" checked=ticked(&include_drift) />
        </fieldset>
    }
}

fn stage_fields(
    failure: Signal<Option<AppError>>,
    index: usize,
    stage: ReviewStageForm,
) -> impl IntoView {
    let key = move |field: &str| format!("stages[{index}][{field}]");
    let stage_name = move |field: &str| format!("review[stages][{index}][{field}]");
    let kind = stage.reviewer_kind.clone();
    let carry = if stage.carry.is_empty() {
        "all".to_string()
    } else {
        stage.carry.clone()
    };
    view! {
        <fieldset class="stack">
            <legend>{format!("Stage {}", index + 1)}</legend>
            <Field failure field=key("reviewer_kind") label="Who reviews">
                <select id=key("reviewer_kind") name=stage_name("reviewer_kind") aria-describedby=error_ref(failure, key("reviewer_kind"))>
                    {(index > 0).then(|| view! { <option value="" selected=kind.is_empty()>"— not used —"</option> })}
                    {options(&REVIEWER_KINDS, &kind)}
                </select>
            </Field>
            <div class="grid">
                <Field failure field=key("reviewers") label="Named people" hint="Emails, for “Named people”.">
                    <input id=key("reviewers") name=stage_name("reviewers") type="text" value=stage.reviewers aria-describedby=error_ref(failure, key("reviewers")) />
                </Field>
                <Field failure field=key("group") label="Group" hint="The group's name, for “Members of a group”.">
                    <input id=key("group") name=stage_name("group") type="text" value=stage.group aria-describedby=error_ref(failure, key("group")) />
                </Field>
                <Field failure field=key("fallbacks") label="Fallback reviewers" hint="Emails of the people asked when the rule finds nobody (for example no manager).">
                    <input id=key("fallbacks") name=stage_name("fallbacks") type="text" value=stage.fallbacks aria-describedby=error_ref(failure, key("fallbacks")) />
                </Field>
                <Field failure field=key("duration_days") label="Days for this stage">
                    <input id=key("duration_days") name=stage_name("duration_days") type="number" min="1" max="365" value=stage.duration_days aria-describedby=error_ref(failure, key("duration_days")) />
                </Field>
                {(index > 0).then(|| view! {
                    <Field failure field=key("carry") label="Which items">
                        <select id=key("carry") name=stage_name("carry") aria-describedby=error_ref(failure, key("carry"))>
                            {options(&CARRY_KINDS, &carry)}
                        </select>
                    </Field>
                })}
            </div>
        </fieldset>
    }
}

fn schedule_fields(
    failure: Signal<Option<AppError>>,
    form: ReviewForm,
    read_only: bool,
) -> impl IntoView {
    let ReviewForm {
        start_at,
        duration_days,
        recurrence,
        reminder_days,
        ..
    } = form;
    view! {
        <fieldset class="card stack form-section" disabled=read_only>
            <legend>"Schedule"</legend>
            <div class="grid">
                <Field failure field="start_at" label="First start (UTC)" hint="Date and time in UTC, not your local time.">
                    <input id="start_at" name=name("start_at") type="datetime-local" value=start_at aria-describedby=error_ref(failure, "start_at".into()) />
                </Field>
                <Field failure field="duration_days" label="Lasts (days)" hint="At least the days of its stages together.">
                    <input id="duration_days" name=name("duration_days") type="number" min="1" max="365" value=duration_days aria-describedby=error_ref(failure, "duration_days".into()) />
                </Field>
                <Field failure field="recurrence" label="Repeats">
                    <select id="recurrence" name=name("recurrence") aria-describedby=error_ref(failure, "recurrence".into())>
                        {options(&RECURRENCES, &recurrence)}
                    </select>
                </Field>
                <Field failure field="reminder_days" label="Reminders (days before the end)" hint="Separated by commas, for example 7, 1; empty: no reminder.">
                    <input id="reminder_days" name=name("reminder_days") type="text" value=reminder_days aria-describedby=error_ref(failure, "reminder_days".into()) />
                </Field>
            </div>
        </fieldset>
    }
}

fn decision_fields(
    failure: Signal<Option<AppError>>,
    form: ReviewForm,
    read_only: bool,
) -> impl IntoView {
    let ReviewForm {
        reason_on_keep,
        reason_on_remove,
        default_decision,
        sign_in_window_days,
        quality_extra_stage,
        ..
    } = form;
    view! {
        <fieldset class="card stack form-section" disabled=read_only>
            <legend>"Decisions"</legend>
            <Checkbox id="reason_on_keep" name=name("reason_on_keep") label="Reviewers give a reason to keep access" checked=ticked(&reason_on_keep) />
            <Checkbox id="reason_on_remove" name=name("reason_on_remove") label="Reviewers give a reason to remove access" checked=ticked(&reason_on_remove) />
            <div class="grid">
                <Field failure field="default_decision" label="When a reviewer does not answer">
                    <select id="default_decision" name=name("default_decision") aria-describedby=error_ref(failure, "default_decision".into())>
                        {options(&DEFAULT_DECISIONS, &default_decision)}
                    </select>
                </Field>
                <Field failure field="sign_in_window_days" label="Recommend removal after (days without sign-in)">
                    <input id="sign_in_window_days" name=name("sign_in_window_days") type="number" min="1" max="3650" value=sign_in_window_days aria-describedby=error_ref(failure, "sign_in_window_days".into()) />
                </Field>
            </div>
            <Checkbox id="quality_extra_stage" name=name("quality_extra_stage") label="Send the items of reviewers flagged as careless to an extra stage" checked=ticked(&quality_extra_stage) />
        </fieldset>
    }
}

fn apply_fields(
    failure: Signal<Option<AppError>>,
    form: ReviewForm,
    read_only: bool,
) -> impl IntoView {
    let ReviewForm {
        apply_mode,
        extend_kept,
        ..
    } = form;
    view! {
        <fieldset class="card stack form-section" disabled=read_only>
            <legend>"Applying the results"</legend>
            <Field failure field="apply_mode" label="Removals are applied">
                <select id="apply_mode" name=name("apply_mode") aria-describedby=error_ref(failure, "apply_mode".into())>
                    {options(&APPLY_MODES, &apply_mode)}
                </select>
            </Field>
            <Checkbox id="extend_kept" name=name("extend_kept") label="Move the end of kept access out by the policy's duration" checked=ticked(&extend_kept) />
        </fieldset>
    }
}
