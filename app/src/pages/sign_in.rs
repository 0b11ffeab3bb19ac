//! `/sign-in`: through the organisation's identity provider (OpenID Connect) when it is
//! configured, and in development mode by choosing a demo person.

use crate::api::session::{get_site_info, list_sign_in_choices, DevSignIn};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::domain::ErrorCode;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignInPage() -> impl IntoView {
    let choices = Resource::new(|| (), |_| list_sign_in_choices());
    let site = Resource::new(|| (), |_| get_site_info());
    let query = leptos_router::hooks::use_query_map();
    // Where to return after signing in; the server only follows same-origin paths.
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_string());
    let sign_in = ServerAction::<DevSignIn>::new();
    let failure = move || sign_in.value().get().and_then(Result::err);

    view! {
        <Title text="Sign in" />
        <div class="page-header">
            <h1>"Sign in"</h1>
        </div>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                site.await.ok().filter(|site| site.oidc_sign_in).map(|_| view! {
                    <section class="card stack" aria-labelledby="oidc-sign-in-heading">
                        <h2 id="oidc-sign-in-heading">"Your company account"</h2>
                        <form method="post" action="/auth/login" class="form">
                            <crate::components::form::FormTokenField />
                            <input type="hidden" name="next" value=next />
                            <button type="submit" class="button button-primary">"Sign in with your company account"</button>
                        </form>
                    </section>
                })
            })}
        </Suspense>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match choices.await {
                    Ok(people) => view! {
                        <section class="card stack" aria-labelledby="dev-sign-in-heading">
                            <h2 id="dev-sign-in-heading">"Development sign-in"</h2>
                            <p class="alert alert-warning">
                                "Choose any demo person to act as them. This exists only in development mode."
                            </p>
                            {move || failure().map(|error| view! { <ErrorAlert error /> })}
                            <ActionForm action=sign_in attr:class="form">
                                <crate::components::form::FormTokenField />
                                <input type="hidden" name="next" value=next />
                                <div class="field">
                                    <label for="person">"Person"</label>
                                    <select id="person" name="person_id" required>
                                        {people
                                            .into_iter()
                                            .map(|choice| view! {
                                                <option value=choice.id.to_string()>{choice.label}</option>
                                            })
                                            .collect_view()}
                                    </select>
                                </div>
                                <button type="submit" class="button button-primary">"Sign in"</button>
                            </ActionForm>
                        </section>
                    }.into_any(),
                    Err(error) if error.code == ErrorCode::Disabled => view! {
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let configured = site.await.ok().is_some_and(|site| site.oidc_sign_in);
                                (!configured).then(|| view! {
                                    <p class="alert alert-info">
                                        "Sign-in with your organisation's identity provider is not configured yet. Ask your administrator."
                                    </p>
                                })
                            })}
                        </Suspense>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
