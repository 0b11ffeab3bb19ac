//! Package owners and administrators: who holds a package, assigning it directly, and
//! removing it with a reason.

use crate::domain::status::AssignmentStatus;
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManagedPackage {
    pub package_id: i64,
    pub name: String,
    pub catalog_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub assignment_id: i64,
    pub person_name: String,
    pub status: AssignmentStatus,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackageManagement {
    pub package_id: i64,
    pub name: String,
    pub holders: Vec<Holder>,
    /// Active people who may be given the package: (id, name).
    pub people: Vec<(i64, String)>,
}
