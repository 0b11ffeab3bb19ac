//! Setting up what can be requested: catalogs, their resources and packages, assignment
//! policies, incompatible packages, and the report of people holding a conflicting pair.
//! Who may change what is decided by `services::manage` from stored data.

use crate::domain::drafts::{CatalogForm, PackageForm, PolicyForm};
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub package_count: i64,
    pub resource_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogList {
    pub catalogs: Vec<CatalogSummary>,
    /// Administrators create catalogs.
    pub can_create: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceSummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub connector_name: String,
    pub external_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogDetail {
    pub id: i64,
    pub form: CatalogForm,
    pub resources: Vec<ResourceSummary>,
    /// (id, name, hidden)
    pub packages: Vec<(i64, String, bool)>,
    /// The connectors whose groups may be added as resources here: (id, name, kind).
    pub connectors: Vec<(i64, String, String)>,
    /// What administrators allowed this catalog of each downstream connector.
    pub allowances: Vec<AllowanceView>,
    /// Every downstream connector, for administrators to allow: (id, name, kind).
    pub all_connectors: Vec<(i64, String, String)>,
    /// Administrators change the catalog itself; its owners add resources and packages.
    pub can_edit: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllowanceView {
    pub connector_id: i64,
    pub connector_name: String,
    pub kind: String,
    pub groups: Vec<String>,
    pub within: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyLine {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// "Everyone", "Members of groups or departments"...
    pub who: String,
    pub duration: String,
    pub stage_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackageSetup {
    pub id: i64,
    pub catalog_id: i64,
    pub catalog_name: String,
    pub form: PackageForm,
    /// The catalog's resources: (id, label).
    pub resources: Vec<(i64, String)>,
    pub policies: Vec<PolicyLine>,
    /// (id, name, catalog name)
    pub incompatible: Vec<(i64, String, String)>,
    /// Other packages that could be declared incompatible: (id, "Catalog: name").
    pub candidates: Vec<(i64, String)>,
    pub may_set_owners: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyEditor {
    pub package_id: i64,
    pub package_name: String,
    /// None for a new policy.
    pub policy_id: Option<i64>,
    pub form: PolicyForm,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub person_name: String,
    pub first_package_id: i64,
    pub first_package: String,
    pub second_package_id: i64,
    pub second_package: String,
    pub since: Timestamp,
}
