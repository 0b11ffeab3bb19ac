//! Sign-in. In development mode: choose a demo person. Sign-in through the organisation's
//! identity provider comes with OpenID Connect.

use crate::api::session::{list_sign_in_choices, DevSignIn};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::domain::ErrorCode;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignInPage() -> impl IntoView {
    let choices = Resource::new(|| (), |_| list_sign_in_choices());
    let sign_in = ServerAction::<DevSignIn>::new();
    let failure = move || sign_in.value().get().and_then(Result::err);

    view! {
        <Title text="Sign in" />
        <div class="page-header">
            <h1>"Sign in"</h1>
        </div>
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
                        <p class="alert alert-info">
                            "Sign-in with your organisation's identity provider is not configured yet. Ask your administrator."
                        </p>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
