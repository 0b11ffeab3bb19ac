//! The home page: the signed-in person's access, their requests and what waits for them.

use crate::domain::status::{AssignmentStatus, RequestStatus};
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldAccess {
    pub assignment_id: i64,
    pub package_name: String,
    pub catalog_name: String,
    pub status: AssignmentStatus,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
    /// How much of the granted period has passed, 0 to 100; none without an end.
    pub elapsed_percent: Option<u8>,
    pub days_left: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OwnRequest {
    pub request_id: i64,
    pub package_name: String,
    pub for_person_name: String,
    pub status: RequestStatus,
    pub current_stage: Option<i64>,
    pub stage_count: i64,
    pub submitted_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingApproval {
    pub request_id: i64,
    pub requester_name: String,
    pub package_name: String,
    pub justification: String,
    /// Answers to the policy's questions.
    pub answers: Vec<crate::domain::questions::Answer>,
    /// Decisions already taken on earlier stages, oldest first.
    pub history: Vec<PastDecision>,
    pub stage_position: i64,
    pub due_at: Timestamp,
    pub days_left: i64,
}

/// A decision on an earlier stage, shown to the approvers of the later ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastDecision {
    pub stage_position: i64,
    pub approver_name: String,
    pub approved: bool,
    pub justification: String,
    pub decided_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomeView {
    pub display_name: String,
    pub access: Vec<HeldAccess>,
    pub requests: Vec<OwnRequest>,
    pub waiting: Vec<WaitingApproval>,
}
