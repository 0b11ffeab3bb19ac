//! What owners and administrators type into the Manage forms, and the checks that turn it
//! into settings Gatehouse can store: catalogs, resources and packages (`catalog`), and
//! assignment policies with their stages and questions (`policy`). Every problem is
//! reported against its field, all at once; nothing here knows the database (people and
//! groups are still names and emails, the service resolves them). What a requester answers
//! to a policy's questions is checked in `domain::questions`.

use super::approvers::ApproverRule;
use super::error::Validation;
use super::person::Email;
use super::policy::{DurationRule, MAX_DAYS_LIMIT, MAX_HOURS_LIMIT};
use super::{AppError, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
pub const MAX_QUESTIONS: usize = 5;
pub const MAX_STAGES: usize = 3;
pub const MAX_CHOICES: usize = 20;
pub const MAX_TIMEOUT_DAYS: i64 = 90;
pub const MAX_REQUIRED_APPROVALS: i64 = 10;

/// A required, single-line name.
pub fn parse_name(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("Enter a name.".into());
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(format!("Use at most {MAX_NAME_CHARS} characters."));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("A name cannot contain line breaks or control characters.".into());
    }
    Ok(trimmed.to_string())
}

/// Optional free text of bounded length.
pub fn parse_text(input: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.chars().count() > max_chars {
        return Err(format!(
            "Use at most {max_chars} characters (this has {}).",
            trimmed.chars().count()
        ));
    }
    Ok(trimmed.to_string())
}

/// A whole number in a range; `what` names the unit in the message.
pub fn parse_number(
    input: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Result<i64, String> {
    let message = || {
        format!(
            "Enter a whole number of {what} from {} to {}.",
            range.start(),
            range.end()
        )
    };
    let number: i64 = input.trim().parse().map_err(|_| message())?;
    if range.contains(&number) {
        Ok(number)
    } else {
        Err(message())
    }
}

/// Items separated by commas, semicolons or line breaks, trimmed, empty ones dropped,
/// duplicates removed (first spelling kept).
pub fn split_list(input: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in input
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        if !items.iter().any(|known| known.eq_ignore_ascii_case(item)) {
            items.push(item.to_string());
        }
    }
    items
}

/// A list of email addresses; names the first malformed one.
pub fn parse_emails(input: &str) -> Result<Vec<Email>, String> {
    split_list(input)
        .iter()
        .map(|item| Email::parse(item).map_err(|_| format!("\"{item}\" is not an email address.")))
        .collect()
}

fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "false")
}

mod catalog;
mod policy;

pub use catalog::*;
pub use policy::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questions::{check_answers, Answer, MAX_ANSWER_CHARS};

    const NOW: Timestamp = Timestamp(1_780_000_000_000);

    fn valid_policy() -> PolicyForm {
        PolicyForm::new_default()
    }

    fn field_messages(error: &AppError) -> Vec<(String, String)> {
        error
            .fields
            .iter()
            .map(|f| (f.field.clone(), f.message.clone()))
            .collect()
    }

    #[test]
    fn the_default_policy_form_is_valid() {
        let draft = valid_policy().validate(NOW).unwrap();
        assert_eq!(draft.scope, ScopeDraft::Everyone);
        assert_eq!(draft.duration, DurationRule::MaxDays(30));
        assert_eq!(draft.stages.len(), 1);
        assert_eq!(draft.stages[0].approvers, ApproverDraft::Manager);
        assert_eq!(draft.stages[0].decision_timeout_days, 14);
        assert!(draft.questions.is_empty());
        assert!(draft.enabled && draft.justification_required && draft.extension_allowed);
    }

    #[test]
    fn names_must_be_present_and_bounded() {
        assert_eq!(parse_name("  "), Err("Enter a name.".into()));
        assert!(parse_name(&"x".repeat(10_000))
            .unwrap_err()
            .contains("at most 200"));
        assert!(parse_name("two\nlines").is_err());
        assert_eq!(parse_name(" GitHub "), Ok("GitHub".into()));
        let long = parse_text(&"y".repeat(10_000), MAX_DESCRIPTION_CHARS).unwrap_err();
        assert!(long.contains("10000"), "{long}");
    }

    #[test]
    fn a_policy_reports_every_bad_field_at_once() {
        let mut form = valid_policy();
        form.name = String::new();
        form.description = "d".repeat(10_000);
        form.duration_value = "0".into();
        form.stages[0].approver_kind = "named_people".into();
        let error = form.validate(NOW).unwrap_err();
        let fields: Vec<String> = field_messages(&error).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "name",
                "description",
                "duration_value",
                "stages[0][approvers]"
            ],
            "{error:?}"
        );
        assert_eq!(
            error.field_message("stages[0][approvers]"),
            Some("This stage has no approvers and no fallback approvers. Name at least one.")
        );
    }

    #[test]
    fn durations_out_of_range_and_past_fixed_ends_are_refused() {
        for (kind, value, field) in [
            ("max_days", "3651", "duration_value"),
            ("max_days", "-1", "duration_value"),
            ("max_days", "ten", "duration_value"),
            ("max_hours", "745", "duration_value"),
            ("fixed_end", "", "fixed_end_date"),
            ("fixed_end", "2020-01-01", "fixed_end_date"),
            ("forever", "", "duration_kind"),
        ] {
            let mut form = valid_policy();
            form.duration_kind = kind.into();
            form.duration_value = value.into();
            form.fixed_end_date = value.into();
            let error = form.validate(NOW).unwrap_err();
            assert!(
                error.field_message(field).is_some(),
                "{kind} {value}: {error:?}"
            );
        }
        let mut form = valid_policy();
        form.duration_kind = "fixed_end".into();
        form.fixed_end_date = "2027-06-30".into();
        assert!(matches!(
            form.validate(NOW).unwrap().duration,
            DurationRule::FixedEnd(_)
        ));
    }

    #[test]
    fn scopes_need_their_details() {
        let mut form = valid_policy();
        form.requestor_scope = "groups".into();
        assert!(form
            .validate(NOW)
            .unwrap_err()
            .field_message("requestor_groups")
            .is_some());
        form.requestor_departments = "Sales, sales; Finance".into();
        assert_eq!(
            form.validate(NOW).unwrap().scope,
            ScopeDraft::Groups {
                groups: vec![],
                departments: vec!["Sales".into(), "Finance".into()]
            }
        );
        form.requestor_scope = "attribute_rule".into();
        form.requestor_rule = "department Sales".into();
        assert!(form
            .validate(NOW)
            .unwrap_err()
            .field_message("requestor_rule")
            .unwrap()
            .contains("has no ="));
        form.requestor_rule = "Department = Sales; employee type = employee".into();
        let ScopeDraft::AttributeRule { equals } = form.validate(NOW).unwrap().scope else {
            panic!("expected an attribute rule");
        };
        assert_eq!(equals.get("department").map(String::as_str), Some("Sales"));
        assert_eq!(
            equals.get("employee_type").map(String::as_str),
            Some("employee")
        );
        form.requestor_scope = "".into();
        assert!(form
            .validate(NOW)
            .unwrap_err()
            .field_message("requestor_scope")
            .is_some());
    }

    #[test]
    fn stages_check_approvers_counts_and_escalation() {
        let mut form = valid_policy();
        form.stages[1] = StageForm {
            approver_kind: "named_people".into(),
            approvers: "ben@example.com, not-an-email".into(),
            ..StageForm::default()
        };
        form.stages[2] = StageForm {
            approver_kind: "group_members".into(),
            required_approvals: "11".into(),
            decision_timeout_days: "10".into(),
            escalation_after_days: "10".into(),
            ..StageForm::default()
        };
        let error = form.validate(NOW).unwrap_err();
        assert!(error
            .field_message("stages[1][approvers]")
            .unwrap()
            .contains("not-an-email"));
        assert!(error.field_message("stages[2][groups]").is_some());
        assert!(error
            .field_message("stages[2][required_approvals]")
            .is_some());
        assert_eq!(
            error.field_message("stages[2][escalation_after_days]"),
            Some("Escalate before the decision timeout (10 days).")
        );
        assert!(error
            .field_message("stages[2][escalation_approvers]")
            .is_some());

        form.stages[1].approvers = "ben@example.com".into();
        form.stages[1].required_approvals = "2".into();
        let error = form.validate(NOW).unwrap_err();
        assert!(error
            .field_message("stages[1][required_approvals]")
            .unwrap()
            .contains("Only 1"));

        form.stages[1].required_approvals = "1".into();
        form.stages[2] = StageForm {
            approver_kind: "group_members".into(),
            fallback_approvers: "ada@example.com".into(),
            escalation_after_days: "3".into(),
            escalation_approvers: "morgan@example.com".into(),
            ..StageForm::default()
        };
        let draft = form.validate(NOW).unwrap();
        assert_eq!(draft.stages.len(), 3);
        assert_eq!(draft.stages[2].escalation_after_days, Some(3));
        assert_eq!(
            draft.stages[2].approvers,
            ApproverDraft::GroupMembers(vec![])
        );
    }

    #[test]
    fn stages_are_filled_in_order() {
        let mut form = valid_policy();
        form.stages[0].approver_kind = String::new();
        form.stages[1].approver_kind = "manager".into();
        let error = form.validate(NOW).unwrap_err();
        assert_eq!(
            error.field_message("stages[1][approver_kind]"),
            Some("Stage 1 is not used; fill the stages in order.")
        );
        form.stages[1].approver_kind = String::new();
        assert!(
            form.validate(NOW).unwrap().stages.is_empty(),
            "no stage: granted at once"
        );
    }

    #[test]
    fn questions_are_checked_and_answers_follow_them() {
        let mut form = valid_policy();
        form.questions[0] = QuestionForm {
            text: "Which project?".into(),
            required: Some("on".into()),
            ..Default::default()
        };
        form.questions[1] = QuestionForm {
            text: "Which region?".into(),
            choices: "EU\nUS".into(),
            ..Default::default()
        };
        form.questions[2] = QuestionForm {
            text: "".into(),
            choices: "orphan".into(),
            ..Default::default()
        };
        form.questions[3] = QuestionForm {
            text: "One choice?".into(),
            choices: "only".into(),
            ..Default::default()
        };
        let error = form.validate(NOW).unwrap_err();
        assert!(error.field_message("questions[2][text]").is_some());
        assert!(error.field_message("questions[3][choices]").is_some());
        form.questions[2] = QuestionForm::default();
        form.questions[3] = QuestionForm::default();
        form.questions.push(QuestionForm {
            text: "Sixth?".into(),
            ..Default::default()
        });
        assert!(form
            .validate(NOW)
            .unwrap_err()
            .field_message("questions")
            .is_some());
        form.questions.pop();
        let questions = form.validate(NOW).unwrap().questions;
        assert_eq!(questions.len(), 2);

        let error = check_answers(&questions, &["".into(), "Mars".into()]).unwrap_err();
        assert_eq!(
            error.field_message("answers[0]"),
            Some("Answer this question.")
        );
        assert_eq!(
            error.field_message("answers[1]"),
            Some("Choose one of the answers offered.")
        );
        let answers = check_answers(&questions, &["Apollo".into()]).unwrap();
        assert_eq!(
            answers,
            vec![Answer {
                question: "Which project?".into(),
                answer: "Apollo".into()
            }]
        );
        assert!(check_answers(&questions, &["a".repeat(MAX_ANSWER_CHARS + 1)]).is_err());
    }

    #[test]
    fn extensions_needing_approval_must_be_allowed() {
        let mut form = valid_policy();
        form.extension_allowed = None;
        form.extension_needs_approval = Some("on".into());
        assert!(form
            .validate(NOW)
            .unwrap_err()
            .field_message("extension_needs_approval")
            .is_some());
    }

    #[test]
    fn catalogs_resources_and_packages_are_checked() {
        let error = CatalogForm {
            name: " ".into(),
            owners: "x".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(error.field_message("name").is_some() && error.field_message("owners").is_some());
        let draft = CatalogForm {
            name: "IT".into(),
            owners: "A@Example.com; a@example.com".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(draft.owners.len(), 1);

        let resource = ResourceForm {
            name: "Admins".into(),
            kind: "group".into(),
            connector_id: "2".into(),
            ..Default::default()
        };
        assert!(resource
            .validate(Some(true))
            .unwrap_err()
            .field_message("external_id")
            .is_some());
        assert!(resource
            .validate(None)
            .unwrap_err()
            .field_message("connector_id")
            .is_some());
        assert_eq!(resource.validate(Some(false)).unwrap().external_id, None);

        let granted = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let package = PackageForm {
            name: "P".into(),
            resources: granted(&[("3", "owner"), ("1", "member"), ("2", "")]),
            ..Default::default()
        };
        assert_eq!(
            package.validate().unwrap().resources,
            vec![(1, "member".into()), (3, "owner".into())]
        );
        for bad in [granted(&[("x", "member")]), granted(&[("1", "admin")])] {
            let bad = PackageForm {
                name: "P".into(),
                resources: bad,
                ..Default::default()
            };
            assert!(bad
                .validate()
                .unwrap_err()
                .field_message("resources")
                .is_some());
        }

        assert!(check_incompatibility(4, 4)
            .unwrap_err()
            .field_message("other_package_id")
            .is_some());
        assert!(check_incompatibility(4, 5).is_ok());
    }
}
