//! Access reviews on the wire: definitions for their managers, a reviewer's items, and the
//! report of an instance.

use crate::domain::review::{Decision, ReviewForm};
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

/// Items per page of a reviewer's list.
pub const ITEMS_PER_PAGE: i64 = 50;

/// One review definition in the list of `/manage/reviews`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    pub review_id: i64,
    pub name: String,
    /// "Finance reports, Payroll", "Catalog Finance", "Every package".
    pub scope: String,
    /// "Every quarter".
    pub recurrence: String,
    /// "The holder's manager, then the package's owners".
    pub reviewers: String,
    pub enabled: bool,
    /// When the next instance starts, if one will.
    pub next_start_at: Option<Timestamp>,
    /// The latest instance, if any.
    pub latest: Option<InstanceSummary>,
}

/// One instance of a review, with its progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceSummary {
    pub instance_id: i64,
    /// `starting`, `in_progress`, `ended`, `applying`, `applied`, `cancelled`.
    pub status: String,
    /// In words: "In progress, stage 1 of 2", "Ended: waiting for an administrator to apply".
    pub status_label: String,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    pub stage: i64,
    pub stage_count: i64,
    pub items: i64,
    pub decided: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewList {
    pub reviews: Vec<ReviewSummary>,
    /// The viewer may create reviews (administrators and catalog owners).
    pub can_create: bool,
    pub page: i64,
    pub has_more: bool,
}

/// A definition, for its page and its edit form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewDefinition {
    /// 0 for a new review.
    pub review_id: i64,
    pub version: i64,
    pub form: ReviewForm,
    /// The viewer may change it (administrators; catalog owners for reviews of their
    /// catalogs); auditors read it.
    pub can_edit: bool,
    /// Its instances, newest first (bounded).
    pub instances: Vec<InstanceSummary>,
    pub next_start_at: Option<Timestamp>,
    /// Catalogs and packages the viewer may choose from (bounded lists, for datalists).
    pub catalog_names: Vec<String>,
    pub package_names: Vec<String>,
}

/// An instance the viewer has items in, for `/reviews`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyReview {
    pub instance_id: i64,
    pub review_name: String,
    pub stage: i64,
    pub stage_count: i64,
    /// When the viewer's part (the current stage) ends.
    pub stage_end_at: Timestamp,
    pub items: i64,
    pub decided: i64,
    /// The stage is still open for decisions.
    pub open: bool,
}

/// How the reviewer's list is grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GroupBy {
    #[default]
    Person,
    Package,
}

impl GroupBy {
    pub fn parse(text: &str) -> Self {
        if text == "package" {
            GroupBy::Package
        } else {
            GroupBy::Person
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Person => "person",
            GroupBy::Package => "package",
        }
    }
}

/// A decision taken at an earlier stage, shown to the later ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlierDecision {
    pub stage: i64,
    pub reviewer_name: String,
    pub decision: Option<Decision>,
    pub reason: String,
}

/// One item on a reviewer's page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewItemView {
    pub item_id: i64,
    pub holder_name: String,
    pub holder_email: String,
    pub department: Option<String>,
    /// The package, or for downstream membership no grant explains, the group.
    pub access_name: String,
    /// Downstream membership found by reconciliation, not granted by Gatehouse.
    pub unexplained: bool,
    pub held_since: Option<Timestamp>,
    pub recommendation: Option<Decision>,
    /// Why it may be wrong, in words ("No sign-in for 73 days").
    pub concerns: Vec<String>,
    /// Context in words: peers ("2 of 41 people in Sales hold this"), history ("New since
    /// the last review", "Kept in the last 3 reviews"), and how it was got ("Requested;
    /// approved by Grace Hopper: “needed for audit”", "Assigned directly by Ada").
    pub facts: Vec<String>,
    pub earlier: Vec<EarlierDecision>,
    pub decision: Option<Decision>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

/// The reviewer's page of one instance: their items (a page of them) and progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewerPage {
    pub instance_id: i64,
    pub review_name: String,
    pub description: String,
    pub stage: i64,
    pub stage_count: i64,
    pub stage_end_at: Timestamp,
    /// Decisions are taken (the stage has not ended).
    pub open: bool,
    pub reason_on_keep: bool,
    pub reason_on_remove: bool,
    pub group_by: GroupBy,
    pub query: String,
    /// 1-based.
    pub page: i64,
    /// Items matching the query.
    pub matching: i64,
    pub items: Vec<ReviewItemView>,
    /// The viewer's items on this stage, and how many are decided.
    pub my_items: i64,
    pub my_decided: i64,
    /// The viewer's undecided items that have a recommendation.
    pub my_recommended_open: i64,
    /// The whole stage (all reviewers).
    pub stage_items: i64,
    pub stage_decided: i64,
}

/// What a batch of decisions did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionsRecorded {
    pub decided: i64,
}

/// One reviewer's part of one stage, on the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewerRow {
    pub stage: i64,
    pub reviewer_name: String,
    pub items: i64,
    pub kept: i64,
    pub removed: i64,
    pub not_sure: i64,
    pub undecided: i64,
    /// Careless answers, in words; empty when none.
    pub flags: Vec<String>,
}

/// The report of one instance, for administrators, auditors and the review's owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewReport {
    pub instance: InstanceSummary,
    pub review_id: i64,
    pub review_name: String,
    pub reviewers: Vec<ReviewerRow>,
    /// Decisions per day since the start: (day, decided so far).
    pub completion: Vec<(Timestamp, i64)>,
    pub kept: i64,
    pub removed: i64,
    pub not_sure: i64,
    pub undecided: i64,
    /// Removals applied, and of those verified removed downstream.
    pub applied: i64,
    pub verified: i64,
    /// An administrator may apply the results now (ended, apply mode `confirm`).
    pub can_apply: bool,
    /// The viewer may end the current stage now (in progress; administrators and the
    /// review's owner).
    pub can_end: bool,
    /// The CSV export of every item.
    pub csv_url: String,
}
