//! `/dev/mail`: development mail, what Gatehouse would have sent, newest first.

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
                                    <pre class="mail-body">{linkified(&message.body_text)}</pre>
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

/// The message's lines, with each portal link clickable (the buttons of the real message).
fn linkified(text: &str) -> impl IntoView {
    text.lines()
        .map(|line| {
            let view = match line.find("http://").or_else(|| line.find("https://")) {
                Some(start) => {
                    let rest = &line[start..];
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    let url = rest[..end].to_string();
                    view! {
                        {line[..start].to_string()}
                        <a href=url.clone()>{url.clone()}</a>
                        {rest[end..].to_string()}
                    }
                    .into_any()
                }
                None => line.to_string().into_any(),
            };
            view! { {view} "\n" }
        })
        .collect_view()
}
