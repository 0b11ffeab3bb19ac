//! What owners and administrators type into the Manage forms, and the checks that turn it
//! into settings Gatehouse can store. Every problem is reported against its field, all at
//! once; nothing here knows the database (people and groups are still names and emails,
//! the service resolves them).

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
/// Longest answer to a custom question.
pub const MAX_ANSWER_CHARS: usize = 2_000;

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

// --- Catalogs, resources, packages -------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogForm {
    pub name: String,
    pub description: String,
    /// Emails of the catalog owners.
    pub owners: String,
    pub enabled: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CatalogDraft {
    pub name: String,
    pub description: String,
    pub owners: Vec<Email>,
    pub enabled: bool,
}

impl CatalogForm {
    pub fn validate(&self) -> Result<CatalogDraft, AppError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(&self.name));
        let description = v.check(
            "description",
            parse_text(&self.description, MAX_DESCRIPTION_CHARS),
        );
        let owners = v.check("owners", parse_emails(&self.owners));
        v.finish()?;
        Ok(CatalogDraft {
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
            owners: owners.unwrap_or_default(),
            enabled: checked(&self.enabled),
        })
    }
}

pub const RESOURCE_KINDS: [(&str, &str); 3] = [
    ("group", "Group"),
    ("app_role", "Application role"),
    ("team", "Team"),
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceForm {
    pub name: String,
    pub kind: String,
    pub connector_id: String,
    /// The group's id downstream (SCIM group id, LDAP DN...); empty for built-in groups.
    pub external_id: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDraft {
    pub name: String,
    pub kind: String,
    pub connector_id: i64,
    pub external_id: Option<String>,
    pub description: String,
}

impl ResourceForm {
    /// `downstream` tells whether the chosen connector is not Gatehouse's own (then the
    /// external id is required); the caller looks the connector up.
    pub fn validate(&self, downstream: Option<bool>) -> Result<ResourceDraft, AppError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(&self.name));
        let kind = v.check(
            "kind",
            RESOURCE_KINDS
                .iter()
                .find(|(kind, _)| *kind == self.kind)
                .map(|(kind, _)| kind.to_string())
                .ok_or_else(|| "Choose the kind of resource.".to_string()),
        );
        let connector_id = v.check(
            "connector_id",
            match (self.connector_id.trim().parse::<i64>(), downstream) {
                (Ok(id), Some(_)) => Ok(id),
                _ => Err("Choose a connector.".to_string()),
            },
        );
        let external_id = v.check(
            "external_id",
            match (parse_text(&self.external_id, 1_000), downstream) {
                (Err(message), _) => Err(message),
                (Ok(id), Some(true)) if id.is_empty() => Err(
                    "Enter the resource's id in the downstream system (for example its SCIM group id or LDAP DN)."
                        .to_string(),
                ),
                (Ok(id), _) => Ok(Some(id).filter(|id| !id.is_empty())),
            },
        );
        let description = v.check(
            "description",
            parse_text(&self.description, MAX_DESCRIPTION_CHARS),
        );
        v.finish()?;
        Ok(ResourceDraft {
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            connector_id: connector_id.unwrap_or_default(),
            external_id: external_id.flatten(),
            description: description.unwrap_or_default(),
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PackageForm {
    pub name: String,
    pub description: String,
    /// Emails of the package owners.
    pub owners: String,
    pub hidden: Option<String>,
    /// The role the package grants in each of the catalog's resources, by resource id;
    /// empty: not granted.
    pub resources: BTreeMap<String, String>,
}

/// Roles a package can grant in a resource.
pub const RESOURCE_ROLES: [(&str, &str); 2] = [("member", "Member"), ("owner", "Owner")];

#[derive(Clone, Debug, PartialEq)]
pub struct PackageDraft {
    pub name: String,
    pub description: String,
    pub owners: Vec<Email>,
    pub hidden: bool,
    /// (resource id, role), by resource id.
    pub resources: Vec<(i64, String)>,
}

impl PackageForm {
    pub fn validate(&self) -> Result<PackageDraft, AppError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(&self.name));
        let description = v.check(
            "description",
            parse_text(&self.description, MAX_DESCRIPTION_CHARS),
        );
        let owners = v.check("owners", parse_emails(&self.owners));
        let resources = v.check(
            "resources",
            self.resources
                .iter()
                .filter(|(_, role)| !role.is_empty())
                .map(|(id, role)| {
                    let id = id
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| "Choose resources from the list.".to_string())?;
                    if !RESOURCE_ROLES.iter().any(|(known, _)| known == role) {
                        return Err("Choose member or owner for each granted resource.".to_string());
                    }
                    Ok((id, role.clone()))
                })
                .collect::<Result<Vec<(i64, String)>, String>>(),
        );
        v.finish()?;
        let mut resources = resources.unwrap_or_default();
        resources.sort_unstable();
        resources.dedup_by_key(|(id, _)| *id);
        Ok(PackageDraft {
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
            owners: owners.unwrap_or_default(),
            hidden: checked(&self.hidden),
            resources,
        })
    }
}

/// Separation of duties: the two packages must differ.
pub fn check_incompatibility(package_id: i64, other_package_id: i64) -> Result<(), AppError> {
    if package_id == other_package_id {
        return Err(AppError::invalid_field(
            "other_package_id",
            "A package cannot be incompatible with itself. Choose another package.",
        ));
    }
    Ok(())
}

// --- Custom questions ----------------------------------------------------------------------

/// A question a policy asks the requester, stored in `assignment_policy.questions_json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub text: String,
    /// Empty for a free-text answer; otherwise the answer is one of these.
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

/// A question with the requester's answer, stored in `access_request.answers_json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    pub answer: String,
}

impl Question {
    pub fn check_answer(&self, input: &str) -> Result<String, String> {
        let answer = parse_text(input, MAX_ANSWER_CHARS)?;
        if answer.is_empty() {
            return if self.required {
                Err("Answer this question.".into())
            } else {
                Ok(answer)
            };
        }
        if !self.choices.is_empty() && !self.choices.contains(&answer) {
            return Err("Choose one of the answers offered.".into());
        }
        Ok(answer)
    }
}

/// Checks the answers of a request form (`answers[i]` is the answer to question i), each
/// against its field `answers[i]`.
pub fn check_answers(questions: &[Question], answers: &[String]) -> Result<Vec<Answer>, AppError> {
    let mut v = Validation::new();
    let mut checked_answers = Vec::new();
    for (index, question) in questions.iter().enumerate() {
        let input = answers.get(index).map_or("", String::as_str);
        if let Some(answer) = v.check(&format!("answers[{index}]"), question.check_answer(input)) {
            if !answer.is_empty() {
                checked_answers.push(Answer {
                    question: question.text.clone(),
                    answer,
                });
            }
        }
    }
    v.finish()?;
    Ok(checked_answers)
}

/// The request form's field (id and error key) for the answer to question `index` of
/// policy `policy_id`.
pub fn answer_field(policy_id: i64, index: usize) -> String {
    format!("answer-{policy_id}-{index}")
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuestionForm {
    pub text: String,
    /// Possible answers, one per line (or comma separated); empty for free text.
    pub choices: String,
    pub required: Option<String>,
}

// --- Assignment policies --------------------------------------------------------------------

pub const SCOPES: [(&str, &str); 4] = [
    ("everyone", "Everyone"),
    ("groups", "Members of groups or departments"),
    ("attribute_rule", "People matching an attribute rule"),
    ("none", "Nobody: owners assign directly"),
];

pub const DURATION_KINDS: [(&str, &str); 4] = [
    ("max_days", "At most a number of days"),
    ("max_hours", "At most a number of hours"),
    ("fixed_end", "Until a fixed date"),
    ("no_end", "No end date"),
];

pub const APPROVER_KINDS: [(&str, &str); 5] = [
    ("manager", "The requester's manager"),
    ("second_level_manager", "The manager's manager"),
    ("package_owners", "The package owners"),
    ("named_people", "Named people"),
    ("group_members", "Members of groups"),
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StageForm {
    /// Empty: this stage is not used.
    pub approver_kind: String,
    /// Emails, for named people.
    pub approvers: String,
    /// Group names, for members of groups.
    pub groups: String,
    pub required_approvals: String,
    pub decision_timeout_days: String,
    pub escalation_after_days: String,
    /// Emails of the alternates asked after the escalation delay.
    pub escalation_approvers: String,
    /// Emails of the people asked when the rule finds nobody (e.g. no manager).
    pub fallback_approvers: String,
    pub justification_required: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyForm {
    pub name: String,
    pub description: String,
    pub requestor_scope: String,
    /// Group names, for members of groups.
    pub requestor_groups: String,
    pub requestor_departments: String,
    /// `attribute = value` pairs separated by `;` or line breaks.
    pub requestor_rule: String,
    pub justification_required: Option<String>,
    pub questions: Vec<QuestionForm>,
    pub duration_kind: String,
    pub duration_value: String,
    pub fixed_end_date: String,
    pub extension_allowed: Option<String>,
    pub extension_needs_approval: Option<String>,
    pub stages: Vec<StageForm>,
    pub enabled: Option<String>,
}

/// Who may request, with groups still by name.
#[derive(Clone, Debug, PartialEq)]
pub enum ScopeDraft {
    Everyone,
    Groups {
        groups: Vec<String>,
        departments: Vec<String>,
    },
    AttributeRule {
        equals: BTreeMap<String, String>,
    },
    Nobody,
}

/// Who approves a stage, with people by email and groups by name.
#[derive(Clone, Debug, PartialEq)]
pub enum ApproverDraft {
    Manager,
    SecondLevelManager,
    PackageOwners,
    NamedPeople(Vec<Email>),
    GroupMembers(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StageDraft {
    pub approvers: ApproverDraft,
    pub required_approvals: i64,
    pub decision_timeout_days: i64,
    pub escalation_after_days: Option<i64>,
    pub escalation_approvers: Vec<Email>,
    pub fallback_approvers: Vec<Email>,
    pub justification_required: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyDraft {
    pub name: String,
    pub description: String,
    pub scope: ScopeDraft,
    pub justification_required: bool,
    pub questions: Vec<Question>,
    pub duration: DurationRule,
    pub extension_allowed: bool,
    pub extension_needs_approval: bool,
    pub stages: Vec<StageDraft>,
    pub enabled: bool,
}

fn parse_attribute_rule(input: &str) -> Result<BTreeMap<String, String>, String> {
    let mut equals = BTreeMap::new();
    for pair in input
        .split([';', '\n'])
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!(
                "Write each condition as attribute = value (\"{pair}\" has no =)."
            ));
        };
        let (name, value) = (name.trim().to_lowercase().replace(' ', "_"), value.trim());
        if name.is_empty() || value.is_empty() {
            return Err(format!("\"{pair}\" needs both an attribute and a value."));
        }
        equals.insert(name, value.to_string());
    }
    if equals.is_empty() {
        return Err("Enter at least one condition, for example: department = Sales; employee_type = employee".into());
    }
    Ok(equals)
}

fn parse_scope(form: &PolicyForm) -> Result<ScopeDraft, (&'static str, String)> {
    match form.requestor_scope.as_str() {
        "everyone" => Ok(ScopeDraft::Everyone),
        "none" => Ok(ScopeDraft::Nobody),
        "groups" => {
            let groups = split_list(&form.requestor_groups);
            let departments = split_list(&form.requestor_departments);
            if groups.is_empty() && departments.is_empty() {
                return Err((
                    "requestor_groups",
                    "Name at least one group or department whose members may request.".into(),
                ));
            }
            Ok(ScopeDraft::Groups {
                groups,
                departments,
            })
        }
        "attribute_rule" => parse_attribute_rule(&form.requestor_rule)
            .map(|equals| ScopeDraft::AttributeRule { equals })
            .map_err(|message| ("requestor_rule", message)),
        _ => Err(("requestor_scope", "Choose who may request.".into())),
    }
}

fn parse_question(form: &QuestionForm) -> Result<Option<Question>, (&'static str, String)> {
    let text = parse_text(&form.text, 500).map_err(|message| ("text", message))?;
    let choices: Vec<String> = split_list(&form.choices);
    if text.is_empty() {
        if choices.is_empty() {
            return Ok(None);
        }
        return Err(("text", "Enter the question these answers belong to.".into()));
    }
    if choices.len() == 1 {
        return Err((
            "choices",
            "Offer at least two answers, or none for a free-text answer.".into(),
        ));
    }
    if choices.len() > MAX_CHOICES {
        return Err(("choices", format!("Offer at most {MAX_CHOICES} answers.")));
    }
    if let Some(long) = choices
        .iter()
        .find(|choice| choice.chars().count() > MAX_NAME_CHARS)
    {
        return Err((
            "choices",
            format!(
                "Each answer has at most {MAX_NAME_CHARS} characters (\"{}...\" is longer).",
                long.chars().take(20).collect::<String>()
            ),
        ));
    }
    Ok(Some(Question {
        text,
        choices,
        required: checked(&form.required),
    }))
}

fn parse_duration(
    form: &PolicyForm,
    now: Timestamp,
) -> Result<DurationRule, (&'static str, String)> {
    let value = |range, what| {
        parse_number(&form.duration_value, range, what).map_err(|m| ("duration_value", m))
    };
    let rule = match form.duration_kind.as_str() {
        "max_days" => DurationRule::MaxDays(value(1..=MAX_DAYS_LIMIT, "days")?),
        "max_hours" => DurationRule::MaxHours(value(1..=MAX_HOURS_LIMIT, "hours")?),
        "fixed_end" => DurationRule::FixedEnd(
            Timestamp::parse_date(&form.fixed_end_date).map_err(|m| ("fixed_end_date", m))?,
        ),
        "no_end" => DurationRule::NoEnd,
        _ => return Err(("duration_kind", "Choose how long access lasts.".into())),
    };
    rule.validate(now).map_err(|message| match rule {
        DurationRule::FixedEnd(_) => ("fixed_end_date", message),
        _ => ("duration_value", message),
    })
}

/// Checks one used stage, reporting into `v` under `stages[i][field]`.
fn parse_stage(form: &StageForm, index: usize, v: &mut Validation) -> Option<StageDraft> {
    let field = |name: &str| format!("stages[{index}][{name}]");
    let fallback = v.check(
        &field("fallback_approvers"),
        parse_emails(&form.fallback_approvers),
    );
    let approvers = v.check(
        &field("approvers"),
        match form.approver_kind.as_str() {
            "manager" => Ok(ApproverDraft::Manager),
            "second_level_manager" => Ok(ApproverDraft::SecondLevelManager),
            "package_owners" => Ok(ApproverDraft::PackageOwners),
            "named_people" => parse_emails(&form.approvers).map(ApproverDraft::NamedPeople),
            "group_members" => Ok(ApproverDraft::GroupMembers(split_list(&form.groups))),
            _ => Err("Choose who approves this stage.".into()),
        },
    );
    // A stage must be able to find somebody: named people or groups, or fallbacks.
    let nobody = match &approvers {
        Some(ApproverDraft::NamedPeople(people)) => people.is_empty(),
        Some(ApproverDraft::GroupMembers(groups)) => groups.is_empty(),
        _ => false,
    };
    if nobody && fallback.as_ref().is_some_and(Vec::is_empty) {
        let target = if form.approver_kind == "group_members" {
            "groups"
        } else {
            "approvers"
        };
        v.check::<()>(
            &field(target),
            Err("This stage has no approvers and no fallback approvers. Name at least one.".into()),
        );
    }
    let required = v.check(
        &field("required_approvals"),
        if form.required_approvals.trim().is_empty() {
            Ok(1)
        } else {
            parse_number(
                &form.required_approvals,
                1..=MAX_REQUIRED_APPROVALS,
                "approvals",
            )
        },
    );
    if let (Some(required), Some(ApproverDraft::NamedPeople(people))) = (required, &approvers) {
        if !people.is_empty() && required > i64::try_from(people.len()).unwrap_or(i64::MAX) {
            v.check::<()>(
                &field("required_approvals"),
                Err(format!(
                    "Only {} people are named; ask for at most that many approvals.",
                    people.len()
                )),
            );
        }
    }
    let timeout = v.check(
        &field("decision_timeout_days"),
        if form.decision_timeout_days.trim().is_empty() {
            Ok(14)
        } else {
            parse_number(&form.decision_timeout_days, 1..=MAX_TIMEOUT_DAYS, "days")
        },
    );
    let escalation_approvers = v.check(
        &field("escalation_approvers"),
        parse_emails(&form.escalation_approvers),
    );
    let escalation_after = if form.escalation_after_days.trim().is_empty() {
        if escalation_approvers
            .as_ref()
            .is_some_and(|people| !people.is_empty())
        {
            v.check::<()>(
                &field("escalation_after_days"),
                Err("Say after how many days the alternates are asked.".into()),
            );
        }
        None
    } else {
        let days = v.check(
            &field("escalation_after_days"),
            parse_number(&form.escalation_after_days, 1..=MAX_TIMEOUT_DAYS, "days"),
        );
        if let (Some(days), Some(timeout)) = (days, timeout) {
            if days >= timeout {
                v.check::<()>(
                    &field("escalation_after_days"),
                    Err(format!(
                        "Escalate before the decision timeout ({timeout} days)."
                    )),
                );
            }
        }
        if escalation_approvers.as_ref().is_some_and(Vec::is_empty) {
            v.check::<()>(
                &field("escalation_approvers"),
                Err("Name the alternate approvers to escalate to.".into()),
            );
        }
        days
    };
    Some(StageDraft {
        approvers: approvers?,
        required_approvals: required?,
        decision_timeout_days: timeout?,
        escalation_after_days: escalation_after,
        escalation_approvers: escalation_approvers?,
        fallback_approvers: fallback?,
        justification_required: checked(&form.justification_required),
    })
}

impl PolicyForm {
    pub fn validate(&self, now: Timestamp) -> Result<PolicyDraft, AppError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(&self.name));
        let description = v.check(
            "description",
            parse_text(&self.description, MAX_DESCRIPTION_CHARS),
        );
        let scope = match parse_scope(self) {
            Ok(scope) => Some(scope),
            Err((field, message)) => v.check(field, Err(message)),
        };
        let mut questions = Vec::new();
        if self.questions.len() > MAX_QUESTIONS
            && self.questions[MAX_QUESTIONS..]
                .iter()
                .any(|q| !q.text.trim().is_empty())
        {
            v.check::<()>(
                "questions",
                Err(format!("Ask at most {MAX_QUESTIONS} questions.")),
            );
        }
        for (index, form) in self.questions.iter().take(MAX_QUESTIONS).enumerate() {
            match parse_question(form) {
                Ok(Some(question)) => questions.push(question),
                Ok(None) => {}
                Err((field, message)) => {
                    v.check::<()>(&format!("questions[{index}][{field}]"), Err(message));
                }
            }
        }
        let duration = match parse_duration(self, now) {
            Ok(rule) => Some(rule),
            Err((field, message)) => v.check(field, Err(message)),
        };
        if self.stages.len() > MAX_STAGES
            && self.stages[MAX_STAGES..]
                .iter()
                .any(|s| !s.approver_kind.is_empty())
        {
            v.check::<()>(
                "stages",
                Err(format!(
                    "A policy has at most {MAX_STAGES} approval stages."
                )),
            );
        }
        let mut stages = Vec::new();
        let mut gap_at = None;
        for (index, form) in self.stages.iter().take(MAX_STAGES).enumerate() {
            if form.approver_kind.is_empty() {
                gap_at.get_or_insert(index);
                continue;
            }
            if let Some(gap) = gap_at {
                v.check::<()>(
                    &format!("stages[{index}][approver_kind]"),
                    Err(format!(
                        "Stage {} is not used; fill the stages in order.",
                        gap + 1
                    )),
                );
            }
            if let Some(stage) = parse_stage(form, index, &mut v) {
                stages.push(stage);
            }
        }
        let extension_allowed = checked(&self.extension_allowed);
        if !extension_allowed && checked(&self.extension_needs_approval) {
            v.check::<()>(
                "extension_needs_approval",
                Err("Allow extensions first, or leave this unticked.".into()),
            );
        }
        v.finish()?;
        let (Some(name), Some(description), Some(scope), Some(duration)) =
            (name, description, scope, duration)
        else {
            return Err(AppError::internal());
        };
        Ok(PolicyDraft {
            name,
            description,
            scope,
            justification_required: checked(&self.justification_required),
            questions,
            duration,
            extension_allowed,
            extension_needs_approval: extension_allowed && checked(&self.extension_needs_approval),
            stages,
            enabled: checked(&self.enabled),
        })
    }

    /// An empty form for a new policy: everyone, 30 days, approval by the manager.
    pub fn new_default() -> Self {
        Self {
            name: "Default policy".into(),
            requestor_scope: "everyone".into(),
            justification_required: Some("on".into()),
            questions: vec![QuestionForm::default(); MAX_QUESTIONS],
            duration_kind: "max_days".into(),
            duration_value: "30".into(),
            extension_allowed: Some("on".into()),
            stages: {
                let mut stages = vec![StageForm::default(); MAX_STAGES];
                stages[0].approver_kind = "manager".into();
                stages
            },
            enabled: Some("on".into()),
            ..Self::default()
        }
    }
}

impl ApproverDraft {
    /// The stored kind; the references are resolved by the caller.
    pub fn kind(&self) -> &'static str {
        match self {
            ApproverDraft::Manager => ApproverRule::Manager.kind(),
            ApproverDraft::SecondLevelManager => ApproverRule::SecondLevelManager.kind(),
            ApproverDraft::PackageOwners => ApproverRule::PackageOwners.kind(),
            ApproverDraft::NamedPeople(_) => "named_people",
            ApproverDraft::GroupMembers(_) => "group_members",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
