//! Access reviews (DOMAIN.md): the definition form and its checks, when instances start
//! and end, what a reviewer may answer, what happens when nobody answers, why an item is
//! recommended for removal, and when a reviewer's answers look careless. Pure: the
//! service resolves names, emails and groups and keeps the state in the database.

use super::drafts::{
    parse_emails, parse_name, parse_number, parse_text, split_list, MAX_DESCRIPTION_CHARS,
};
use super::error::Validation;
use super::person::Email;
use super::{AppError, Timestamp};
use serde::{Deserialize, Serialize};

/// Stages a definition may have; the reviewer-quality check may add one more.
pub const MAX_REVIEW_STAGES: usize = 3;
pub const MAX_REVIEW_DAYS: i64 = 365;
/// A reviewer who keeps every item of a list at least this long is flagged.
pub const LARGE_LIST: i64 = 50;
/// A reviewer who decides this many items or more at under [`MIN_SECONDS_PER_ITEM`] each
/// on average is flagged.
pub const QUICK_MIN_ITEMS: i64 = 10;
pub const MIN_SECONDS_PER_ITEM: i64 = 2;
pub const MAX_REASON_CHARS: usize = 1_000;

pub const SCOPE_KINDS: [(&str, &str); 3] = [
    ("packages", "Chosen packages"),
    ("catalog", "Every package of a catalog"),
    ("all", "Every package"),
];

pub const REVIEWER_KINDS: [(&str, &str); 5] = [
    ("manager", "The holder's manager"),
    ("self", "The holders themselves (self-review)"),
    ("package_owners", "The package's owners"),
    ("named", "Named people"),
    ("group", "Members of a group"),
];

pub const CARRY_KINDS: [(&str, &str); 3] = [
    ("all", "Every item"),
    ("kept", "Only items the stage before kept"),
    ("removed", "Only items the stage before removed"),
];

pub const RECURRENCES: [(&str, &str); 6] = [
    ("once", "Once"),
    ("weekly", "Every week"),
    ("monthly", "Every month"),
    ("quarterly", "Every quarter"),
    ("semiannual", "Every six months"),
    ("annual", "Every year"),
];

pub const DEFAULT_DECISIONS: [(&str, &str); 4] = [
    ("none", "No change"),
    ("remove", "Remove the access"),
    ("keep", "Keep the access"),
    ("recommendation", "Take the recommendation"),
];

pub const APPLY_MODES: [(&str, &str); 2] = [
    ("auto", "Automatically when the review ends"),
    ("confirm", "After an administrator confirms"),
];

/// How often a review runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recurrence {
    Once,
    Weekly,
    Monthly,
    Quarterly,
    Semiannual,
    Annual,
}

impl Recurrence {
    pub fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "once" => Self::Once,
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            "quarterly" => Self::Quarterly,
            "semiannual" => Self::Semiannual,
            "annual" => Self::Annual,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Once => "once",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Semiannual => "semiannual",
            Self::Annual => "annual",
        }
    }

    /// When the instance after one that started at `start` starts: the same time of day,
    /// on the calendar (a quarterly review started on 31 January next starts on 30 April).
    /// Counted from the first start (`first`) so that short months do not drift the day.
    pub fn next_start(self, first: Timestamp, start: Timestamp) -> Option<Timestamp> {
        let months = match self {
            Self::Once => return None,
            Self::Weekly => return Some(start.plus_days(7)),
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Semiannual => 6,
            Self::Annual => 12,
        };
        let mut k = 1u32;
        loop {
            let candidate = first.plus_months(months * k);
            if candidate > start {
                return Some(candidate);
            }
            k = k.checked_add(1)?;
        }
    }
}

/// A reviewer's answer on one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Keep,
    Remove,
    NotSure,
}

impl Decision {
    pub fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "keep" => Self::Keep,
            "remove" => Self::Remove,
            "not_sure" => Self::NotSure,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Remove => "remove",
            Self::NotSure => "not_sure",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Keep => "Keep",
            Self::Remove => "Remove",
            Self::NotSure => "Not sure",
        }
    }
}

/// What an unanswered item becomes when its stage ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefaultDecision {
    NoChange,
    Keep,
    Remove,
    Recommendation,
}

impl DefaultDecision {
    pub fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "none" => Self::NoChange,
            "keep" => Self::Keep,
            "remove" => Self::Remove,
            "recommendation" => Self::Recommendation,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoChange => "none",
            Self::Keep => "keep",
            Self::Remove => "remove",
            Self::Recommendation => "recommendation",
        }
    }

    /// The decision an item left unanswered gets (none: it stays unanswered and nothing
    /// changes).
    pub fn outcome(self, recommendation: Option<Decision>) -> Option<Decision> {
        match self {
            Self::NoChange => None,
            Self::Keep => Some(Decision::Keep),
            Self::Remove => Some(Decision::Remove),
            Self::Recommendation => recommendation,
        }
    }
}

/// Which items of a stage go on to the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Carry {
    All,
    Kept,
    Removed,
}

impl Carry {
    pub fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "all" => Self::All,
            "kept" => Self::Kept,
            "removed" => Self::Removed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Kept => "kept",
            Self::Removed => "removed",
        }
    }

    /// Whether an item the stage before decided `decision` goes on.
    pub fn takes(self, decision: Option<Decision>) -> bool {
        match self {
            Self::All => true,
            Self::Kept => decision == Some(Decision::Keep),
            Self::Removed => decision == Some(Decision::Remove),
        }
    }
}

/// One reason an item is recommended for removal, stored with the item (JSON) and read
/// in words on the reviewer's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Concern {
    /// No sign-in for `days` days (at least the review's window).
    Inactive { days: i64 },
    /// Never signed in, and held longer than the window.
    NeverSignedIn,
    /// The holder is no longer an active person.
    HolderNotActive,
    /// The holder no longer matches the requester rule of the policy it was granted under.
    NoLongerMatchesPolicy,
    /// Downstream membership that no grant explains (from reconciliation).
    Unexplained,
}

impl Concern {
    pub fn describe(&self) -> String {
        match self {
            Concern::Inactive { days } => format!("No sign-in for {days} days"),
            Concern::NeverSignedIn => "Never signed in to Gatehouse".to_string(),
            Concern::HolderNotActive => "The holder is no longer active".to_string(),
            Concern::NoLongerMatchesPolicy => {
                "No longer matches the rule of the policy it was granted under".to_string()
            }
            Concern::Unexplained => "Found downstream without any grant in Gatehouse".to_string(),
        }
    }
}

/// The recommendation from the stored concerns: remove when there is any, keep otherwise.
pub fn recommend(concerns: &[Concern]) -> Decision {
    if concerns.is_empty() {
        Decision::Keep
    } else {
        Decision::Remove
    }
}

/// A reviewer's answers that look careless, for the administrator's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QualityFlag {
    /// Kept every one of `items` items.
    KeptEverything { items: i64 },
    /// Decided `items` items at `millis_per_item` each on average.
    TooQuick { items: i64, millis_per_item: i64 },
}

impl QualityFlag {
    pub fn describe(&self) -> String {
        match self {
            QualityFlag::KeptEverything { items } => {
                format!("Kept every one of {items} items")
            }
            QualityFlag::TooQuick {
                items,
                millis_per_item,
            } => format!(
                "Decided {items} items in {:.1} seconds each on average",
                *millis_per_item as f64 / 1000.0
            ),
        }
    }
}

/// What one reviewer did on one stage, to judge the quality of their answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewerTally {
    pub assigned: i64,
    pub decided: i64,
    pub kept: i64,
    /// Their first and last decision.
    pub first_decided_at: Option<Timestamp>,
    pub last_decided_at: Option<Timestamp>,
}

/// The flags a reviewer's tally earns: keeping every item of a large list, or deciding
/// faster than two seconds per item on average over at least ten items (time measured
/// from their first decision to their last, so "keep all" in one click counts as zero).
pub fn quality_flags(tally: &ReviewerTally) -> Vec<QualityFlag> {
    let mut flags = Vec::new();
    if tally.decided >= LARGE_LIST && tally.kept == tally.decided {
        flags.push(QualityFlag::KeptEverything {
            items: tally.decided,
        });
    }
    if let (Some(first), Some(last)) = (tally.first_decided_at, tally.last_decided_at) {
        if tally.decided >= QUICK_MIN_ITEMS {
            let millis_per_item = (last.millis() - first.millis()).max(0) / tally.decided;
            if millis_per_item < MIN_SECONDS_PER_ITEM * 1000 {
                flags.push(QualityFlag::TooQuick {
                    items: tally.decided,
                    millis_per_item,
                });
            }
        }
    }
    flags
}

/// The reason a reviewer gives with a decision, checked against what the review requires.
pub fn parse_reason(
    decision: Decision,
    reason: &str,
    required_on_keep: bool,
    required_on_remove: bool,
) -> Result<String, String> {
    let reason = parse_text(reason, MAX_REASON_CHARS)?;
    let required = match decision {
        Decision::Keep => required_on_keep,
        Decision::Remove => required_on_remove,
        Decision::NotSure => false,
    };
    if required && reason.is_empty() {
        return Err(format!(
            "This review asks for a reason when you choose \"{}\".",
            decision.label()
        ));
    }
    Ok(reason)
}

/// One stage of the definition form. An empty reviewer kind leaves the stage out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewStageForm {
    pub reviewer_kind: String,
    /// Emails, for named people.
    pub reviewers: String,
    /// A group's name, for members of a group.
    pub group: String,
    /// Emails of the people asked when the rule finds nobody.
    pub fallbacks: String,
    pub duration_days: String,
    /// Which items of the stage before go on (stages 2 and 3).
    pub carry: String,
}

/// The access review definition form, as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    pub name: String,
    pub description: String,
    pub scope_kind: String,
    /// Package names, one per line or comma separated, for chosen packages.
    pub packages: String,
    /// A catalog's name, for a whole catalog.
    pub catalog: String,
    pub departments: String,
    pub employee_types: String,
    pub held_longer_than_days: String,
    pub inactive_days: String,
    pub include_drift: Option<String>,
    pub stages: Vec<ReviewStageForm>,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    pub start_at: String,
    pub duration_days: String,
    pub recurrence: String,
    /// Days before the end, comma separated.
    pub reminder_days: String,
    pub reason_on_keep: Option<String>,
    pub reason_on_remove: Option<String>,
    pub default_decision: String,
    pub apply_mode: String,
    pub extend_kept: Option<String>,
    pub sign_in_window_days: String,
    pub quality_extra_stage: Option<String>,
    pub enabled: Option<String>,
}

/// Who reviews a stage, with people by email and the group by name.
#[derive(Clone, Debug, PartialEq)]
pub enum ReviewerDraft {
    Manager,
    SelfReview,
    PackageOwners,
    Named(Vec<Email>),
    Group(String),
}

impl ReviewerDraft {
    pub fn kind(&self) -> &'static str {
        match self {
            ReviewerDraft::Manager => "manager",
            ReviewerDraft::SelfReview => "self",
            ReviewerDraft::PackageOwners => "package_owners",
            ReviewerDraft::Named(_) => "named",
            ReviewerDraft::Group(_) => "group",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReviewStageDraft {
    pub reviewers: ReviewerDraft,
    pub fallbacks: Vec<Email>,
    pub duration_days: i64,
    pub carry: Carry,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ScopeDraft {
    Packages(Vec<String>),
    Catalog(String),
    All,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReviewDraft {
    pub name: String,
    pub description: String,
    pub scope: ScopeDraft,
    pub departments: Vec<String>,
    pub employee_types: Vec<String>,
    pub held_longer_than_days: Option<i64>,
    pub inactive_days: Option<i64>,
    pub include_drift: bool,
    pub stages: Vec<ReviewStageDraft>,
    pub start_at: Timestamp,
    pub duration_days: i64,
    pub recurrence: Recurrence,
    pub reminder_days: Vec<i64>,
    pub reason_on_keep: bool,
    pub reason_on_remove: bool,
    pub default_decision: DefaultDecision,
    pub apply_mode_auto: bool,
    pub extend_kept: bool,
    pub sign_in_window_days: i64,
    pub quality_extra_stage: bool,
    pub enabled: bool,
}

fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "false")
}

fn optional_days(input: &str, what: &str) -> Result<Option<i64>, String> {
    if input.trim().is_empty() {
        Ok(None)
    } else {
        parse_number(input, 1..=3650, what).map(Some)
    }
}

/// "Choose one of: …" with the options' labels.
fn one_of(options: &[(&str, &str)]) -> String {
    format!(
        "Choose one of: {}.",
        options
            .iter()
            .map(|(_, label)| *label)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn choice<T>(
    input: &str,
    parse: impl Fn(&str) -> Option<T>,
    options: &[(&str, &str)],
) -> Result<T, String> {
    parse(input.trim()).ok_or_else(|| one_of(options))
}

impl ReviewForm {
    /// The form a new review starts from: a quarterly review of the chosen packages by
    /// the holders' managers, two weeks long, starting tomorrow at 09:00 UTC.
    pub fn new_default(now: Timestamp) -> Self {
        let tomorrow = Timestamp(
            now.millis() - now.millis().rem_euclid(super::time::MILLIS_PER_DAY)
                + super::time::MILLIS_PER_DAY
                + 9 * super::time::MILLIS_PER_HOUR,
        );
        Self {
            scope_kind: "packages".into(),
            stages: vec![
                ReviewStageForm {
                    reviewer_kind: "manager".into(),
                    duration_days: "14".into(),
                    carry: "all".into(),
                    ..Default::default()
                },
                ReviewStageForm::default(),
                ReviewStageForm::default(),
            ],
            start_at: tomorrow.date_time_input(),
            duration_days: "14".into(),
            recurrence: "quarterly".into(),
            reminder_days: "7, 1".into(),
            reason_on_remove: Some("on".into()),
            default_decision: "none".into(),
            apply_mode: "auto".into(),
            sign_in_window_days: "30".into(),
            enabled: Some("on".into()),
            ..Default::default()
        }
    }

    /// Checks every field at once; the error names each bad field. `now` bounds the start
    /// (a review does not start in the past, except when it is being edited and keeps
    /// its start: `existing_start`).
    pub fn validate(
        &self,
        now: Timestamp,
        existing_start: Option<Timestamp>,
    ) -> Result<ReviewDraft, AppError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(&self.name));
        let description = v.check(
            "description",
            parse_text(&self.description, MAX_DESCRIPTION_CHARS),
        );
        let scope = v.check(
            "scope_kind",
            match self.scope_kind.trim() {
                "packages" | "catalog" | "all" => Ok(self.scope_kind.trim()),
                _ => Err(one_of(&SCOPE_KINDS)),
            },
        );
        let scope = match scope {
            Some("packages") => {
                let packages = split_list(&self.packages);
                v.check(
                    "packages",
                    if packages.is_empty() {
                        Err("Name at least one package.".to_string())
                    } else {
                        Ok(ScopeDraft::Packages(packages))
                    },
                )
            }
            Some("catalog") => v.check(
                "catalog",
                if self.catalog.trim().is_empty() {
                    Err("Name the catalog.".to_string())
                } else {
                    Ok(ScopeDraft::Catalog(self.catalog.trim().to_string()))
                },
            ),
            Some(_) => Some(ScopeDraft::All),
            None => None,
        };
        let held = v.check(
            "held_longer_than_days",
            optional_days(&self.held_longer_than_days, "days"),
        );
        let inactive = v.check("inactive_days", optional_days(&self.inactive_days, "days"));
        let mut stages = Vec::new();
        let mut seen_gap = false;
        for (index, stage) in self.stages.iter().enumerate() {
            let field = |name: &str| format!("stages[{index}][{name}]");
            if stage.reviewer_kind.trim().is_empty() {
                seen_gap = true;
                continue;
            }
            if index >= MAX_REVIEW_STAGES {
                v.check::<()>(
                    &field("reviewer_kind"),
                    Err(format!("A review has at most {MAX_REVIEW_STAGES} stages.")),
                );
                continue;
            }
            if seen_gap {
                v.check::<()>(
                    &field("reviewer_kind"),
                    Err("Fill the stages in order: the stage before this one is empty.".into()),
                );
                continue;
            }
            let reviewers = match stage.reviewer_kind.trim() {
                "manager" => Some(ReviewerDraft::Manager),
                "self" => Some(ReviewerDraft::SelfReview),
                "package_owners" => Some(ReviewerDraft::PackageOwners),
                "named" => v
                    .check(
                        &field("reviewers"),
                        parse_emails(&stage.reviewers).and_then(|emails| {
                            if emails.is_empty() {
                                Err("Enter the reviewers' email addresses.".to_string())
                            } else {
                                Ok(emails)
                            }
                        }),
                    )
                    .map(ReviewerDraft::Named),
                "group" => v
                    .check(
                        &field("group"),
                        if stage.group.trim().is_empty() {
                            Err("Name the group whose members review.".to_string())
                        } else {
                            Ok(stage.group.trim().to_string())
                        },
                    )
                    .map(ReviewerDraft::Group),
                _ => v.check(&field("reviewer_kind"), Err(one_of(&REVIEWER_KINDS))),
            };
            let fallbacks = v.check(&field("fallbacks"), parse_emails(&stage.fallbacks));
            let days = v.check(
                &field("duration_days"),
                parse_number(&stage.duration_days, 1..=MAX_REVIEW_DAYS, "days"),
            );
            let carry = if index == 0 {
                Some(Carry::All)
            } else {
                v.check(
                    &field("carry"),
                    choice(
                        if stage.carry.trim().is_empty() {
                            "all"
                        } else {
                            &stage.carry
                        },
                        Carry::parse,
                        &CARRY_KINDS,
                    ),
                )
            };
            if let (Some(reviewers), Some(fallbacks), Some(duration_days), Some(carry)) =
                (reviewers, fallbacks, days, carry)
            {
                stages.push(ReviewStageDraft {
                    reviewers,
                    fallbacks,
                    duration_days,
                    carry,
                });
            }
        }
        if v.is_clean() && stages.is_empty() {
            v.check::<()>(
                "stages[0][reviewer_kind]",
                Err("Choose who reviews.".into()),
            );
        }
        let start_at = v.check(
            "start_at",
            Timestamp::parse_date_time(&self.start_at).and_then(|start| {
                if existing_start == Some(start) || start >= now.plus_minutes(-5) {
                    Ok(start)
                } else {
                    Err("Choose a start that is not in the past.".to_string())
                }
            }),
        );
        let duration_days = v.check(
            "duration_days",
            parse_number(&self.duration_days, 1..=MAX_REVIEW_DAYS, "days"),
        );
        if let Some(duration) = duration_days {
            let staged: i64 = stages.iter().map(|stage| stage.duration_days).sum();
            if !stages.is_empty() && staged > duration {
                v.check::<()>(
                    "duration_days",
                    Err(format!("The stages take {staged} days together; make the review at least that long.")),
                );
            }
        }
        let recurrence = v.check(
            "recurrence",
            choice(&self.recurrence, Recurrence::parse, &RECURRENCES),
        );
        let reminder_days = v.check(
            "reminder_days",
            split_list(&self.reminder_days)
                .iter()
                .map(|item| parse_number(item, 1..=MAX_REVIEW_DAYS, "days before the end"))
                .collect::<Result<Vec<_>, _>>()
                .map(|mut days| {
                    days.sort_unstable_by(|a, b| b.cmp(a));
                    days.dedup();
                    days
                }),
        );
        if let (Some(days), Some(duration)) = (&reminder_days, duration_days) {
            if let Some(late) = days.iter().find(|day| **day >= duration) {
                v.check::<()>("reminder_days", Err(format!("A reminder {late} days before the end would come before the review starts.")));
            }
        }
        if let (Some(recurrence), Some(duration)) = (recurrence, duration_days) {
            let period = match recurrence {
                Recurrence::Weekly => Some(7),
                Recurrence::Monthly => Some(28),
                _ => None,
            };
            if let Some(period) = period.filter(|period| duration > *period) {
                v.check::<()>(
                    "duration_days",
                    Err(format!("A review that recurs every {period} days or so cannot last {duration} days: it would overlap the next one.")),
                );
            }
        }
        let default_decision = v.check(
            "default_decision",
            choice(
                &self.default_decision,
                DefaultDecision::parse,
                &DEFAULT_DECISIONS,
            ),
        );
        let apply_mode_auto = v.check(
            "apply_mode",
            match self.apply_mode.trim() {
                "auto" => Ok(true),
                "confirm" => Ok(false),
                other => choice(other, |_| None::<bool>, &APPLY_MODES),
            },
        );
        let window = v.check(
            "sign_in_window_days",
            parse_number(&self.sign_in_window_days, 1..=3650, "days"),
        );
        v.finish()?;
        let (
            Some(name),
            Some(description),
            Some(scope),
            Some(held),
            Some(inactive),
            Some(start_at),
            Some(duration_days),
            Some(recurrence),
            Some(reminder_days),
            Some(default_decision),
            Some(apply_mode_auto),
            Some(sign_in_window_days),
        ) = (
            name,
            description,
            scope,
            held,
            inactive,
            start_at,
            duration_days,
            recurrence,
            reminder_days,
            default_decision,
            apply_mode_auto,
            window,
        )
        else {
            return Err(AppError::internal());
        };
        Ok(ReviewDraft {
            name,
            description,
            scope,
            departments: split_list(&self.departments),
            employee_types: split_list(&self.employee_types),
            held_longer_than_days: held,
            inactive_days: inactive,
            include_drift: checked(&self.include_drift),
            stages,
            start_at,
            duration_days,
            recurrence,
            reminder_days,
            reason_on_keep: checked(&self.reason_on_keep),
            reason_on_remove: checked(&self.reason_on_remove),
            default_decision,
            apply_mode_auto,
            extend_kept: checked(&self.extend_kept),
            sign_in_window_days,
            quality_extra_stage: checked(&self.quality_extra_stage),
            enabled: checked(&self.enabled),
        })
    }
}

/// When each stage of an instance that starts at `start` and lasts `duration_days` ends:
/// each stage its own days after the one before, the last stage at the instance's end.
pub fn stage_ends(start: Timestamp, duration_days: i64, stage_days: &[i64]) -> Vec<Timestamp> {
    let end = start.plus_days(duration_days);
    let mut at = start;
    let count = stage_days.len();
    stage_days
        .iter()
        .enumerate()
        .map(|(index, days)| {
            at = at.plus_days(*days);
            if index + 1 == count {
                end
            } else {
                at.min(end)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_780_000_000_000);

    fn form() -> ReviewForm {
        let mut form = ReviewForm::new_default(NOW);
        form.name = "Quarterly finance review".into();
        form.packages = "Finance reports".into();
        form
    }

    #[test]
    fn the_default_form_is_valid_once_named_and_scoped() {
        let draft = form().validate(NOW, None).unwrap();
        assert_eq!(
            draft.scope,
            ScopeDraft::Packages(vec!["Finance reports".into()])
        );
        assert_eq!(draft.stages.len(), 1);
        assert_eq!(draft.stages[0].reviewers, ReviewerDraft::Manager);
        assert_eq!(draft.recurrence, Recurrence::Quarterly);
        assert_eq!(draft.reminder_days, vec![7, 1]);
        assert!(draft.reason_on_remove && !draft.reason_on_keep && draft.apply_mode_auto);
        assert!(draft.start_at > NOW);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut bad = form();
        bad.name = " ".into();
        bad.packages = "".into();
        bad.start_at = "yesterday".into();
        bad.duration_days = "0".into();
        bad.recurrence = "hourly".into();
        bad.reminder_days = "3, x".into();
        bad.default_decision = "maybe".into();
        bad.stages[1] = ReviewStageForm {
            reviewer_kind: "named".into(),
            duration_days: "3".into(),
            ..Default::default()
        };
        let error = bad.validate(NOW, None).unwrap_err();
        for field in [
            "name",
            "packages",
            "start_at",
            "duration_days",
            "recurrence",
            "reminder_days",
            "default_decision",
            "stages[1][reviewers]",
        ] {
            assert!(error.field_message(field).is_some(), "{field}: {error:?}");
        }
    }

    #[test]
    fn stages_are_filled_in_order_and_fit_in_the_review() {
        let mut gap = form();
        gap.stages[0].reviewer_kind = "".into();
        gap.stages[1] = ReviewStageForm {
            reviewer_kind: "self".into(),
            duration_days: "3".into(),
            ..Default::default()
        };
        assert!(gap
            .validate(NOW, None)
            .unwrap_err()
            .field_message("stages[1][reviewer_kind]")
            .unwrap()
            .contains("in order"));
        let mut long = form();
        long.stages[1] = ReviewStageForm {
            reviewer_kind: "package_owners".into(),
            duration_days: "7".into(),
            carry: "kept".into(),
            ..Default::default()
        };
        assert!(long
            .validate(NOW, None)
            .unwrap_err()
            .field_message("duration_days")
            .unwrap()
            .contains("21 days"));
        long.duration_days = "21".into();
        let draft = long.validate(NOW, None).unwrap();
        assert_eq!(draft.stages[1].carry, Carry::Kept);
        let mut none = form();
        none.stages[0].reviewer_kind = "".into();
        assert!(none
            .validate(NOW, None)
            .unwrap_err()
            .field_message("stages[0][reviewer_kind]")
            .is_some());
    }

    #[test]
    fn a_start_in_the_past_is_refused_unless_it_is_kept_from_before() {
        let mut past = form();
        past.start_at = NOW.plus_days(-1).date_time_input();
        assert!(past
            .validate(NOW, None)
            .unwrap_err()
            .field_message("start_at")
            .is_some());
        let kept = Timestamp::parse_date_time(&past.start_at).unwrap();
        assert!(past.validate(NOW, Some(kept)).is_ok());
    }

    #[test]
    fn reminders_fall_inside_the_review_and_recurrences_do_not_overlap() {
        let mut f = form();
        f.reminder_days = "14".into();
        assert!(f
            .validate(NOW, None)
            .unwrap_err()
            .field_message("reminder_days")
            .is_some());
        f.reminder_days = "".into();
        f.recurrence = "weekly".into();
        assert!(f
            .validate(NOW, None)
            .unwrap_err()
            .field_message("duration_days")
            .unwrap()
            .contains("overlap"));
    }

    #[test]
    fn recurrences_follow_the_calendar_from_the_first_start() {
        let first = Timestamp::parse_date_time("2027-01-31T09:00").unwrap();
        let q1 = Recurrence::Quarterly.next_start(first, first).unwrap();
        assert_eq!(q1.date_time_input(), "2027-04-30T09:00");
        let q2 = Recurrence::Quarterly.next_start(first, q1).unwrap();
        assert_eq!(
            q2.date_time_input(),
            "2027-07-31T09:00",
            "no drift after a short month"
        );
        assert_eq!(
            Recurrence::Weekly.next_start(first, first).unwrap(),
            first.plus_days(7)
        );
        assert_eq!(
            Recurrence::Annual
                .next_start(first, first)
                .unwrap()
                .date_time_input(),
            "2028-01-31T09:00"
        );
        assert_eq!(Recurrence::Once.next_start(first, first), None);
    }

    #[test]
    fn unanswered_items_take_the_default() {
        assert_eq!(
            DefaultDecision::NoChange.outcome(Some(Decision::Remove)),
            None
        );
        assert_eq!(
            DefaultDecision::Remove.outcome(Some(Decision::Keep)),
            Some(Decision::Remove)
        );
        assert_eq!(
            DefaultDecision::Recommendation.outcome(Some(Decision::Remove)),
            Some(Decision::Remove)
        );
        assert_eq!(DefaultDecision::Recommendation.outcome(None), None);
        assert!(Carry::Kept.takes(Some(Decision::Keep)) && !Carry::Kept.takes(None));
        assert!(Carry::Removed.takes(Some(Decision::Remove)) && Carry::All.takes(None));
    }

    #[test]
    fn careless_reviewers_are_flagged() {
        let at = |s: i64| Some(Timestamp(NOW.millis() + s * 1000));
        let all_kept = ReviewerTally {
            assigned: 60,
            decided: 60,
            kept: 60,
            first_decided_at: at(0),
            last_decided_at: at(600),
        };
        assert_eq!(
            quality_flags(&all_kept),
            vec![QualityFlag::KeptEverything { items: 60 }]
        );
        let quick = ReviewerTally {
            assigned: 20,
            decided: 20,
            kept: 10,
            first_decided_at: at(0),
            last_decided_at: at(20),
        };
        assert_eq!(
            quality_flags(&quick),
            vec![QualityFlag::TooQuick {
                items: 20,
                millis_per_item: 1000
            }]
        );
        let careful = ReviewerTally {
            assigned: 20,
            decided: 20,
            kept: 19,
            first_decided_at: at(0),
            last_decided_at: at(200),
        };
        assert!(quality_flags(&careful).is_empty());
        let few = ReviewerTally {
            assigned: 5,
            decided: 5,
            kept: 5,
            first_decided_at: at(0),
            last_decided_at: at(0),
        };
        assert!(quality_flags(&few).is_empty());
    }

    #[test]
    fn reasons_are_required_where_the_review_says() {
        assert!(parse_reason(Decision::Remove, " ", false, true).is_err());
        assert_eq!(
            parse_reason(Decision::Keep, " ok ", false, true).unwrap(),
            "ok"
        );
        assert!(parse_reason(Decision::Keep, "", true, false).is_err());
        assert!(parse_reason(Decision::NotSure, "", true, true).is_ok());
    }

    #[test]
    fn stages_end_one_after_another_and_the_last_at_the_end() {
        let start = NOW;
        assert_eq!(stage_ends(start, 14, &[14]), vec![start.plus_days(14)]);
        assert_eq!(
            stage_ends(start, 21, &[7, 7]),
            vec![start.plus_days(7), start.plus_days(21)]
        );
    }
}
