//! `/manage/scim`: HR inbound. The SCIM endpoint HR systems push people to, the tokens
//! they use (made, shown once, revoked here), and when each was last used.

use crate::api::scim::{
    get_scim_settings, CreateScimToken, NewScimToken, RevokeScimToken, ScimSettings,
};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{ErrorSummary, Field, FormTokenField};
use crate::components::table::DataTable;
use crate::domain::AppError;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ScimPage() -> impl IntoView {
    let create = ServerAction::<CreateScimToken>::new();
    let revoke = ServerAction::<RevokeScimToken>::new();
    let settings = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| get_scim_settings(),
    );
    let create_failure = Signal::derive(move || create.value().get().and_then(Result::err));
    let created = move || create.value().get().and_then(Result::ok);
    let revoke_failure = move || revoke.value().get().and_then(Result::err);
    view! {
        <Title text="HR inbound" />
        <div class="page-header">
            <h1>"HR inbound"</h1>
            <p class="lead">"Your HR system or identity provider creates, changes and deactivates people here through SCIM 2.0. Someone switched off loses their access at once."</p>
        </div>
        <ManageNav current="/manage/scim" />
        {move || revoke_failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(data) => {
                        let shown = created().or_else(|| data.new_token.clone());
                        view! {
                            <div class="stack">
                                {shown.map(new_token_view)}
                                {endpoint_view(&data)}
                                {data.can_manage.then(|| new_token_form(create, create_failure))}
                                {tokens_view(data, revoke)}
                            </div>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn new_token_view(made: NewScimToken) -> impl IntoView {
    view! {
        <section class="alert alert-success stack" role="status" aria-labelledby="new-token-heading">
            <h2 id="new-token-heading">{format!("Token for {}", made.name)}</h2>
            <p>"Copy it now into the HR system's settings: it is shown only this once. Gatehouse keeps only its hash."</p>
            <label for="new-token">"Token"</label>
            <input id="new-token" class="token" type="text" readonly=true value=made.token />
        </section>
    }
}

fn endpoint_view(data: &ScimSettings) -> impl IntoView {
    view! {
        <section class="card stack" aria-labelledby="endpoint-heading">
            <h2 id="endpoint-heading">"Endpoint"</h2>
            <p><code>{data.endpoint.clone()}</code></p>
            <p class="muted">"Users with the enterprise extension (employee number, department, manager) and Gatehouse's own (hire date, leave date, status); Bulk of up to 10 000 operations; filters, sorting, paging, PATCH and ETags. Send the token as Authorization: Bearer <token>."</p>
        </section>
    }
}

fn new_token_form(
    create: ServerAction<CreateScimToken>,
    failure: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <section class="card stack" aria-labelledby="make-token-heading">
            <h2 id="make-token-heading">"Make a token"</h2>
            {move || failure.get().map(|error| view! { <ErrorSummary error prefix="token-" /> })}
            <ActionForm action=create attr:class="form" attr:novalidate=true>
                <FormTokenField />
                <Field failure=failure field="name" prefix="token-" label="Name of the system that will use it" hint="For example Workday or Entra inbound provisioning.">
                    <input id="token-name" name="name" type="text" maxlength="100" autocomplete="off" />
                </Field>
                <button type="submit" class="button button-primary">"Make token"</button>
            </ActionForm>
        </section>
    }
}

fn tokens_view(data: ScimSettings, revoke: ServerAction<RevokeScimToken>) -> impl IntoView {
    let can_manage = data.can_manage;
    view! {
        <section class="stack" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Tokens"</h2>
            {if data.tokens.is_empty() {
                view! { <Empty>"No token yet: no HR system can push people."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="SCIM tokens" columns=&["Name", "Made by", "Made", "Last used", "State"]>
                        {data.tokens.into_iter().map(|token| view! {
                            <tr>
                                <td>{token.name.clone()}</td>
                                <td>{token.created_by}</td>
                                <td>{token.created_at.date_time_utc()}</td>
                                <td>{token.last_used_at.map_or_else(|| "never".to_string(), |at| at.date_time_utc())}</td>
                                <td>
                                    {match token.revoked_at {
                                        Some(at) => view! { <span>{format!("revoked {}", at.date_time_utc())}</span> }.into_any(),
                                        None if can_manage => view! {
                                            <ActionForm action=revoke attr:class="inline-form">
                                                <FormTokenField />
                                                <input type="hidden" name="token_id" value=token.id.to_string() />
                                                <button type="submit" class="button button-secondary" aria-label=format!("Revoke the token {}", token.name)>"Revoke"</button>
                                            </ActionForm>
                                        }.into_any(),
                                        None => view! { <span>"in use"</span> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
        </section>
    }
}
