//! Development mail: what Gatehouse would have sent, newest first.

use crate::api::dev::list_dev_mail;
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DevMailPage() -> impl IntoView {
    let mail = Resource::new(|| (), |_| list_dev_mail());
    view! {
        <Title text="Development mail" />
        <div class="page-header">
            <h1>"Development mail"</h1>
            <p class="lead">"Messages Gatehouse queued for delivery. In development they are shown here instead of being sent."</p>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match mail.await {
                    Ok(messages) if messages.is_empty() => view! { <Empty>"No messages yet."</Empty> }.into_any(),
                    Ok(messages) => view! {
                        <div class="stack">
                            {messages.into_iter().map(|message| view! {
                                <article class="card">
                                    <h2>{message.subject}</h2>
                                    <p class="muted">
                                        "To " {message.to_address} " · queued "
                                        <time>{message.queued_at.date_time_utc()}</time>
                                        " · " {message.status}
                                    </p>
                                    <pre class="mail-body">{message.body_text}</pre>
                                </article>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
