//! Which downstream groups a catalog may use. Administrators decide, per connector, the
//! groups a catalog's owners may add as resources: exact group ids, and one place they lie
//! within (a name prefix for SCIM and webhook groups, a base DN for LDAP). Without such a
//! decision an owner could add any group of any system, a directory's administrators group
//! among them, to a package, and assign it.

use crate::domain::error::Validation;
use crate::domain::AppError;
use serde::{Deserialize, Serialize};

/// The most group ids one allowance lists; beyond that, use `within`.
pub const MAX_GROUPS: usize = 200;

/// The form an administrator fills in for one connector of one catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllowanceForm {
    pub connector_id: String,
    /// Group ids, one a line (or separated by `;`); `*` alone allows every group.
    pub groups: String,
    /// A name prefix (SCIM, webhook) or base DN (LDAP) the allowed groups lie within.
    pub within: String,
}

/// What a catalog may use of one connector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    /// Exact group ids; `*` allows every group.
    pub groups: Vec<String>,
    pub within: Option<String>,
}

impl AllowanceForm {
    pub fn validate(&self) -> Result<(i64, Allowance), AppError> {
        let mut v = Validation::new();
        let connector_id = v.check(
            "connector_id",
            self.connector_id
                .trim()
                .parse::<i64>()
                .map_err(|_| "Choose a connector.".to_string()),
        );
        let groups: Vec<String> = self
            .groups
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|group| !group.is_empty())
            .map(str::to_string)
            .collect();
        v.check(
            "groups",
            if groups.len() > MAX_GROUPS {
                Err(format!(
                    "List at most {MAX_GROUPS} groups; name where they lie instead."
                ))
            } else if groups.iter().any(|group| group.chars().count() > 1_000) {
                Err("A group id has at most 1000 characters.".to_string())
            } else {
                Ok(())
            },
        );
        let within = Some(self.within.trim().to_string()).filter(|within| !within.is_empty());
        v.check(
            "within",
            match &within {
                None if groups.is_empty() => Err(
                    "Name the groups, or where they lie (a prefix or a base DN), or * for every group."
                        .to_string(),
                ),
                Some(within) if within.chars().count() > 1_000 => {
                    Err("Use at most 1000 characters.".to_string())
                }
                _ => Ok(()),
            },
        );
        v.finish()?;
        Ok((
            connector_id.unwrap_or_default(),
            Allowance { groups, within },
        ))
    }
}

impl Allowance {
    /// Whether a group with id `external_id` of a connector of `kind` is allowed.
    pub fn permits(&self, kind: &str, external_id: &str) -> bool {
        let external_id = external_id.trim();
        if self.groups.iter().any(|group| group == "*") {
            return true;
        }
        if kind == "ldap" {
            // Distinguished names compare without regard to case or spaces after commas.
            let normal = |dn: &str| {
                dn.split(',')
                    .map(|part| part.trim().to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let dn = normal(external_id);
            self.groups.iter().any(|group| normal(group) == dn)
                || self.within.as_deref().is_some_and(|base| {
                    let base = normal(base);
                    dn.len() > base.len() && dn.ends_with(&format!(",{base}"))
                })
        } else {
            self.groups.iter().any(|group| group == external_id)
                || self
                    .within
                    .as_deref()
                    .is_some_and(|prefix| external_id.starts_with(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowance(groups: &[&str], within: Option<&str>) -> Allowance {
        Allowance {
            groups: groups.iter().map(|group| group.to_string()).collect(),
            within: within.map(str::to_string),
        }
    }

    #[test]
    fn an_ldap_base_allows_the_groups_below_it_only() {
        let engineering = allowance(&[], Some("ou=Engineering, ou=groups,dc=example,dc=com"));
        assert!(engineering.permits("ldap", "cn=devs,ou=engineering,ou=groups,dc=example,dc=com"));
        assert!(!engineering.permits("ldap", "cn=admins,ou=groups,dc=example,dc=com"));
        // The base itself is not a group below it, nor is a name that merely ends alike.
        assert!(!engineering.permits("ldap", "ou=engineering,ou=groups,dc=example,dc=com"));
        assert!(!engineering.permits("ldap", "cn=x,ou=notengineering,ou=groups,dc=example,dc=com"));
    }

    #[test]
    fn exact_ids_and_prefixes_allow_what_they_name() {
        let listed = allowance(&["grp-1", "grp-2"], Some("eng-"));
        assert!(listed.permits("scim", "grp-2"));
        assert!(listed.permits("scim", "eng-backend"));
        assert!(!listed.permits("scim", "grp-3"));
        assert!(!listed.permits("scim", "admins"));
        assert!(allowance(&["*"], None).permits("scim", "anything"));
        assert!(allowance(&["CN=Admins,DC=Example"], None).permits("ldap", "cn=admins, dc=example"));
    }

    #[test]
    fn a_form_must_say_what_it_allows() {
        let empty = AllowanceForm {
            connector_id: "3".into(),
            ..AllowanceForm::default()
        };
        assert!(empty
            .validate()
            .unwrap_err()
            .field_message("within")
            .is_some());
        let no_connector = AllowanceForm {
            groups: "*".into(),
            ..AllowanceForm::default()
        };
        assert!(no_connector
            .validate()
            .unwrap_err()
            .field_message("connector_id")
            .is_some());
        let (id, allowed) = AllowanceForm {
            connector_id: "3".into(),
            groups: "grp-1\n grp-2 ;grp-3\n\n".into(),
            within: "  ".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(id, 3);
        assert_eq!(allowed, allowance(&["grp-1", "grp-2", "grp-3"], None));
    }
}
