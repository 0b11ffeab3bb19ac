//! The assignment policy form: who may request, for how long, approval stages and the
//! questions asked at request time.

use super::*;
use crate::domain::questions::Question;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuestionForm {
    pub text: String,
    /// Possible answers, one per line (or comma separated); empty for free text.
    pub choices: String,
    pub required: Option<String>,
}

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
        if self
            .questions
            .get(MAX_QUESTIONS..)
            .unwrap_or_default()
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
        if self
            .stages
            .get(MAX_STAGES..)
            .unwrap_or_default()
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
            stages: std::iter::once(StageForm {
                approver_kind: "manager".into(),
                ..StageForm::default()
            })
            .chain(std::iter::repeat_n(StageForm::default(), MAX_STAGES - 1))
            .collect(),
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
