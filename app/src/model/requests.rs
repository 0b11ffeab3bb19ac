//! The request catalog, the request form, cancelling, and the approvals inbox.

use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub package_id: i64,
    pub name: String,
    pub description: String,
    pub catalog_name: String,
    /// "30 days", "no end date"... of the first policy that admits the person.
    pub duration: String,
    pub needs_approval: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyChoice {
    pub policy_id: i64,
    pub name: String,
    pub duration: String,
    pub stage_count: usize,
    pub justification_required: bool,
    pub questions: Vec<crate::domain::questions::Question>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestFormView {
    pub package_id: i64,
    pub name: String,
    pub description: String,
    pub catalog_name: String,
    /// Policies that admit the person; empty when none does.
    pub policies: Vec<PolicyChoice>,
    /// Direct reports the person may request for.
    pub reports: Vec<(i64, String)>,
    /// The signed-in person, the "myself" choice of the on-behalf field.
    pub self_id: i64,
    pub today: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtensionFormView {
    pub assignment_id: i64,
    pub package_name: String,
    pub current_end: Option<Timestamp>,
    /// The longest one extension may add, in words ("30 days").
    pub step: String,
    /// None when the policy allows no extension; otherwise whether it needs approval.
    pub needs_approval: Option<bool>,
    pub justification_required: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageView {
    pub position: i64,
    /// Who the stage asks, in words ("Manager", "Package owners"...).
    pub asks: String,
    /// `done`, `current` or `pending`, for the timeline.
    pub progress: String,
    pub approvers: Vec<String>,
    pub due_at: Option<Timestamp>,
    pub decisions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request_id: i64,
    pub kind: String,
    pub package_name: String,
    pub for_name: String,
    pub status: crate::domain::status::RequestStatus,
    pub justification: String,
    /// Answers to the policy's questions.
    pub answers: Vec<crate::domain::questions::Answer>,
    pub submitted_at: Timestamp,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
    pub stages: Vec<StageView>,
    /// Its access in the connected systems, per resource (errors for administrators only).
    pub provisioning: Vec<crate::domain::provisioning::StepRecord>,
}
