//! One assignment (a person's access to a package): its life so far and its state in
//! every connected system.

use crate::domain::provisioning::StepRecord;
use crate::domain::status::AssignmentStatus;
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessDetail {
    pub assignment_id: i64,
    pub package_name: String,
    pub holder_name: String,
    pub status: AssignmentStatus,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
    /// When and why it ended, once it has.
    pub ended: Option<(Timestamp, String)>,
    /// When its removal was verified everywhere.
    pub removed_at: Option<Timestamp>,
    /// The request that granted it, when the viewer may see it.
    pub request_id: Option<i64>,
    /// Its access in the connected systems, per resource (errors for administrators only).
    pub provisioning: Vec<StepRecord>,
    /// The viewer holds it and may ask for more time.
    pub can_extend: bool,
}
