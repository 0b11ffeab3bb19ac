//! Any URL no route matches: the page that says so (with status 404 on the server).

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="error-page">
            <p class="error-code">"404"</p>
            <h1>"Page not found"</h1>
            <p>"There is no page at this address, or you may not see it."</p>
            <p><a class="button button-primary" href="/">"Go to the home page"</a></p>
        </section>
    }
}
