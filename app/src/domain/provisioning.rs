//! Where an assignment stands downstream, per resource, in words for people.

use crate::domain::status::Tone;
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

/// One provisioning job of an assignment, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub resource: String,
    pub system: String,
    /// `add_member` or `remove_member`.
    pub operation: String,
    /// `pending`, `running`, `failed`, `dead` or `succeeded`.
    pub status: String,
    pub attempts: i64,
    pub updated_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    /// The last error, for administrators only (`None` for everyone else).
    pub error: Option<String>,
}

/// What a person sees of one step: a short state, its tone, and a sentence.
pub fn describe(step: &StepRecord) -> (&'static str, Tone, String) {
    let removal = step.operation == "remove_member";
    let retry = |what: &str| {
        let base = format!(
            "{what} did not work yet (attempt {}); Gatehouse keeps trying.",
            step.attempts
        );
        match &step.error {
            Some(error) => format!("{base} Last error: {error}"),
            None => base,
        }
    };
    match (removal, step.status.as_str()) {
        (false, "succeeded") => (
            "Granted",
            Tone::Success,
            format!("Set up on {}.", step.updated_at.date_time_utc()),
        ),
        (true, "succeeded") => (
            "Removed",
            Tone::Success,
            format!(
                "Read back and verified gone on {}.",
                step.verified_at.unwrap_or(step.updated_at).date_time_utc()
            ),
        ),
        (_, "dead") => (
            "Stopped",
            Tone::Danger,
            match &step.error {
                Some(error) => format!(
                    "Gave up after {} attempts: {error} An administrator can retry it.",
                    step.attempts
                ),
                None => "Gave up after every retry; an administrator has been alerted.".to_string(),
            },
        ),
        (false, "failed") => ("Retrying", Tone::Warning, retry("Setting it up")),
        (true, "failed") => ("Retrying", Tone::Warning, retry("Removing it")),
        (false, _) => ("Setting up", Tone::Info, "Being set up now.".to_string()),
        (true, _) => ("Removing", Tone::Info, "Being removed now.".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(operation: &str, status: &str, error: Option<&str>) -> StepRecord {
        StepRecord {
            resource: "cloud-sandbox".into(),
            system: "Cloud SCIM".into(),
            operation: operation.into(),
            status: status.into(),
            attempts: 3,
            updated_at: Timestamp(0),
            verified_at: Some(Timestamp(60_000)),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn each_state_reads_as_words() {
        assert_eq!(
            describe(&step("add_member", "succeeded", None)).0,
            "Granted"
        );
        let (label, tone, text) = describe(&step("remove_member", "succeeded", None));
        assert_eq!((label, tone), ("Removed", Tone::Success));
        assert!(text.contains("1970-01-01 00:01"), "{text}");
        assert_eq!(
            describe(&step("remove_member", "running", None)).0,
            "Removing"
        );
        let (label, _, text) = describe(&step("remove_member", "failed", None));
        assert_eq!(label, "Retrying");
        assert!(
            text.contains("attempt 3") && !text.contains("error"),
            "{text}"
        );
    }

    #[test]
    fn errors_show_only_when_given() {
        let (_, tone, text) = describe(&step(
            "add_member",
            "dead",
            Some("SCIM server answered 403."),
        ));
        assert_eq!(tone, Tone::Danger);
        assert!(text.contains("403"), "{text}");
        let (_, _, text) = describe(&step("add_member", "dead", None));
        assert!(!text.contains("403"));
    }
}
