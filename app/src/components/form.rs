//! Form feedback: an error summary at the top linking to each field, and the message next
//! to a field.

use crate::domain::AppError;
use leptos::prelude::*;

/// The summary shown above a form when the server refused it. Each field error links to
/// its field (whose id is the field's name).
#[component]
pub fn ErrorSummary(error: AppError) -> impl IntoView {
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
                        <li><a href=format!("#{}", field.field)>{field.message.clone()}</a></li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// The message for one field, placed under its label; renders nothing when the field is fine.
pub fn field_error(error: &Option<AppError>, field: &'static str) -> impl IntoView {
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
