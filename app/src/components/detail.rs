//! Small pieces shown in several places: a request's justification and answers, and the
//! attempts of something Gatehouse keeps retrying (a message, a provisioning job).

use crate::domain::questions::Answer;
use crate::domain::Timestamp;
use leptos::prelude::*;

/// The requester's justification (quoted) and their answers to the policy's questions.
#[component]
pub fn RequestReasons(justification: String, answers: Vec<Answer>) -> impl IntoView {
    view! {
        <p>
            {if justification.is_empty() { "No justification given.".to_string() } else { format!("“{justification}”") }}
        </p>
        {(!answers.is_empty()).then(|| view! {
            <dl class="details">
                {answers.into_iter().map(|answer| view! {
                    <dt>{answer.question}</dt>
                    <dd>{answer.answer}</dd>
                }).collect_view()}
            </dl>
        })}
    }
}

/// "3 attempts · next try …" or "… · given up".
pub fn attempts_line(attempts: i64, status: &str, next_attempt_at: Timestamp) -> String {
    format!(
        "{attempts} attempt{} · {}",
        if attempts == 1 { "" } else { "s" },
        if status == "dead" {
            "given up".to_string()
        } else {
            format!("next try {}", next_attempt_at.date_time_utc())
        }
    )
}
