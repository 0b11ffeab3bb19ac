//! `/manage/mail`: the outbox for administrators. Counts per state, and every message
//! that failed, with its error and a button to send it again.

use crate::api::mail::{get_mail_queue, MailQueue, ResendMessage};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{ErrorSummary, FormTokenField};
use crate::domain::AppError;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn MailQueuePage() -> impl IntoView {
    let resend = ServerAction::<ResendMessage>::new();
    let queue = Resource::new(move || resend.version().get(), |_| get_mail_queue());
    let failure = move || resend.value().get().and_then(Result::err);
    view! {
        <Title text="Mail queue" />
        <div class="page-header">
            <h1>"Mail queue"</h1>
            <p class="lead">"Messages waiting, failing or given up on. Nobody's action waits for mail: it is sent after the change is saved."</p>
        </div>
        <ManageNav current="/manage/mail" />
        {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(queue) => queue_view(queue, resend).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn count_of(queue: &MailQueue, state: &str) -> i64 {
    queue
        .counts
        .iter()
        .find(|(name, _)| name == state)
        .map_or(0, |(_, count)| *count)
}

fn queue_view(queue: MailQueue, resend: ServerAction<ResendMessage>) -> impl IntoView {
    let dead = count_of(&queue, "dead");
    let waiting =
        count_of(&queue, "queued") + count_of(&queue, "failed") + count_of(&queue, "sending");
    let states = [
        ("queued", "Queued"),
        ("sending", "Sending"),
        ("failed", "Failed, retrying"),
        ("dead", "Given up"),
        ("held", "Held for digests"),
        ("sent", "Sent"),
    ];
    view! {
        {(!queue.smtp_configured).then(|| view! {
            <p class="alert alert-warning" role="status">
                "No SMTP server is configured (GATEHOUSE_SMTP_HOST), so messages are not sent. In development they show on the development mail page."
            </p>
        })}
        {(dead > 0).then(|| view! {
            <p class="alert alert-danger" role="alert">
                {format!("{dead} message{} could not be delivered after every retry. Check the error, fix the cause, then send again.", if dead == 1 { "" } else { "s" })}
            </p>
        })}
        <section class="card" aria-labelledby="counts-heading">
            <h2 id="counts-heading">"Outbox"</h2>
            <p class="muted">{format!("{waiting} waiting to be sent.")}</p>
            <dl class="stats">
                {states.into_iter().map(|(state, label)| view! {
                    <div class="stat">
                        <dt class="stat-label">{label}</dt>
                        <dd class="stat-value">{count_of(&queue, state)}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
        <section class="stack" aria-labelledby="troubled-heading">
            <h2 id="troubled-heading">"Failed messages"</h2>
            {if queue.troubled.is_empty() {
                view! { <Empty>"No message has failed."</Empty> }.into_any()
            } else {
                view! {
                    <ul class="stack">
                        {queue.troubled.into_iter().map(|message| view! {
                            <li class="card stack">
                                <h3>{message.subject}</h3>
                                <p class="muted">
                                    {format!(
                                        "To {} · queued {} · {}",
                                        message.to_address,
                                        message.queued_at.date_time_utc(),
                                        crate::components::detail::attempts_line(message.attempts, &message.status, message.next_attempt_at),
                                    )}
                                </p>
                                <pre class="mail-body">{message.last_error}</pre>
                                <ActionForm action=resend>
                                    <FormTokenField />
                                    <input type="hidden" name="message_id" value=message.id.to_string() />
                                    <button type="submit" class="button button-secondary">"Send again"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
