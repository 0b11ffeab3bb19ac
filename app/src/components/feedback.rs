//! Status badges, error alerts and empty states.

use crate::domain::status::Tone;
use crate::domain::AppError;
use leptos::prelude::*;

#[component]
pub fn Badge(label: &'static str, tone: Tone) -> impl IntoView {
    view! { <span class=tone.badge_class()>{label}</span> }
}

/// An error from the server, in words for a person, with the stable code for support.
#[component]
pub fn ErrorAlert(error: AppError) -> impl IntoView {
    view! {
        <div class="alert alert-danger" role="alert">
            <p>{error.message.clone()}</p>
            <p class="muted">"Error code: " <code>{error.code.as_str()}</code></p>
        </div>
    }
}

#[component]
pub fn Empty(children: Children) -> impl IntoView {
    view! { <p class="empty">{children()}</p> }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" aria-live="polite">"Loading…"</p> }
}
