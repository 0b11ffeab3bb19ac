//! Form feedback: an error summary at the top linking to each field, and the message next
//! to a field.

use crate::domain::AppError;
use leptos::prelude::*;

/// The summary shown above a form when the server refused it. Each field error links to
/// its field, whose id is `prefix` followed by the field's error key (a page with several
/// forms gives each its own prefix).
#[component]
pub fn ErrorSummary(error: AppError, #[prop(optional)] prefix: &'static str) -> impl IntoView {
    let heading = if error.fields.is_empty() {
        "This could not be done"
    } else {
        "There is a problem"
    };
    view! {
        <div class="error-summary" role="alert" tabindex="-1">
            <h2>{heading}</h2>
            <p>{error.message.clone()}</p>
            {(!error.fields.is_empty()).then(|| view! {
                <ul>
                    {error.fields.iter().map(|field| view! {
                        <li><a href=format!("#{prefix}{}", field.field)>{field.message.clone()}</a></li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// The message for one field, placed under its label; renders nothing when the field is fine.
pub fn field_error(error: &Option<AppError>, field: &str) -> impl IntoView {
    error
        .as_ref()
        .and_then(|error| error.field_message(field).map(str::to_string))
        .map(|message| view! { <p class="field-error" id=format!("{field}-error")>{message}</p> })
}

/// The `field` wrapper's class: with `has-error` when the field has a message.
pub fn field_class(error: &Option<AppError>, field: &str) -> &'static str {
    if error
        .as_ref()
        .is_some_and(|error| error.field_message(field).is_some())
    {
        "field has-error"
    } else {
        "field"
    }
}

/// A labelled field: the label, an optional hint, the message when the server refused the
/// field (error key `field`), and the control itself, whose id must be `prefix` + `field`.
#[component]
pub fn Field(
    #[prop(into)] failure: Signal<Option<AppError>>,
    #[prop(into)] field: String,
    #[prop(optional)] prefix: &'static str,
    #[prop(into)] label: String,
    #[prop(optional, into)] hint: Option<String>,
    children: Children,
) -> impl IntoView {
    let class_key = field.clone();
    let error_key = field.clone();
    view! {
        <div class=move || field_class(&failure.get(), &class_key)>
            <label for=format!("{prefix}{field}")>{label}</label>
            {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
            {move || field_error(&failure.get(), &error_key)}
            {children()}
        </div>
    }
}

/// A checkbox with its label after it; posts "on" when ticked.
#[component]
pub fn Checkbox(
    #[prop(into)] id: String,
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    checked: bool,
) -> impl IntoView {
    view! {
        <div class="checkbox">
            <input type="checkbox" id=id.clone() name=name checked=checked />
            <label for=id>{label}</label>
        </div>
    }
}

/// Whether a form's checkbox value is ticked.
pub fn ticked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|value| !value.is_empty())
}

/// The per-session token every form carries, checked on the server for plain HTML form
/// posts (posts made without JavaScript). Same-origin checks already refuse cross-site
/// posts; this token also covers browsers that send neither `Origin` nor `Sec-Fetch-Site`.
#[derive(Clone, Debug)]
pub struct FormToken(pub String);

/// The name of the token's field in every form.
pub const FORM_TOKEN_FIELD: &str = "csrf_token";

/// This session's form token: on the server from the request (set by the HTTP layer), in
/// the browser from the page's `csrf-token` meta tag.
pub fn form_token() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .extensions
                    .get::<FormToken>()
                    .map(|token| token.0.clone())
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .query_selector("meta[name=\"csrf-token\"]")
            .ok()
            .flatten()
            .and_then(|meta| meta.get_attribute("content"))
            .unwrap_or_default()
    }
}

/// The hidden field with the session's form token; the first child of every form.
#[component]
pub fn FormTokenField() -> impl IntoView {
    view! { <input type="hidden" name=FORM_TOKEN_FIELD value=form_token() /> }
}
