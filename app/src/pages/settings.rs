//! `/settings`: how the signed-in person gets email.

use crate::api::mail::{get_mail_preference, SaveMailPreference};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::components::form::{ErrorSummary, FormTokenField};
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveMailPreference>::new();
    let preference = Resource::new(move || save.version().get(), |_| get_mail_preference());
    let failure = move || save.value().get().and_then(Result::err);
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    view! {
        <Title text="Settings" />
        <div class="page-header">
            <h1>"Settings"</h1>
        </div>
        {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        {move || saved().then(|| view! { <p class="alert alert-success" role="status">"Saved."</p> })}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match preference.await {
                    Ok(digest) => view! {
                        <section class="card stack" aria-labelledby="mail-heading">
                            <h2 id="mail-heading">"Email"</h2>
                            <ActionForm action=save attr:class="form">
                                <FormTokenField />
                                <fieldset class="field">
                                    <legend>"How do you want to hear from Gatehouse?"</legend>
                                    <label class="choice">
                                        <input type="radio" name="delivery" value="each" checked=!digest />
                                        " One message for each item, as it happens"
                                    </label>
                                    <label class="choice">
                                        <input type="radio" name="delivery" value="digest" checked=digest />
                                        " One daily digest with everything"
                                    </label>
                                </fieldset>
                                <button type="submit" class="button button-primary">"Save"</button>
                            </ActionForm>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
