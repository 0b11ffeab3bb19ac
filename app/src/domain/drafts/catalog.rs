//! The catalog, resource and package forms.

use super::*;

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
