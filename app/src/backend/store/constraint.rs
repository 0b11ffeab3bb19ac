//! What the database's named constraints mean to a person.
//!
//! Uniqueness is enforced by the database, not by a query that looks first (two requests
//! can both look, find nothing, and both insert). When a write breaks a constraint listed
//! here, the error becomes a message next to the form field it is about, or a 409 when it
//! means that something changed meanwhile. PostgreSQL names the constraint; SQLite names
//! the table and columns of a unique constraint and the name of a check constraint, so each
//! entry carries both.

use crate::domain::{AppError, ErrorCode};

/// One constraint and its meaning.
struct Meaning {
    /// The constraint's name, the same in both migration folders.
    name: &'static str,
    /// Its table and columns, as SQLite reports a unique constraint (a unique index on
    /// an expression it names as `index 'name'`).
    columns: &'static str,
    /// The form field the message belongs next to; a 409 without one.
    field: Option<&'static str>,
    message: &'static str,
}

const MEANINGS: &[Meaning] = &[
    Meaning {
        name: "person_email_uq",
        columns: "person.email",
        field: Some("email"),
        message: "Another person already has this email address.",
    },
    Meaning {
        name: "person_employee_id_uq",
        columns: "person.employee_id",
        field: Some("employee_id"),
        message: "Another person already has this employee id.",
    },
    Meaning {
        name: "person_user_name_uq",
        columns: "index 'person_user_name_uq'",
        field: Some("user_name"),
        message:
            "Another person already has this userName (or it is another person's email address).",
    },
    Meaning {
        name: "person_oidc_subject_uq",
        columns: "person.oidc_subject",
        field: None,
        message: "This sign-in account is already linked to another person.",
    },
    Meaning {
        name: "person_group_name_uq",
        columns: "person_group.name",
        field: Some("name"),
        message: "Another group already has this name.",
    },
    Meaning {
        name: "catalog_name_uq",
        columns: "catalog.name",
        field: Some("name"),
        message: "Another catalog already has this name.",
    },
    Meaning {
        name: "catalog_lower_name_uq",
        columns: "index 'catalog_lower_name_uq'",
        field: Some("name"),
        message: "Another catalog already has this name.",
    },
    Meaning {
        name: "connector_name_uq",
        columns: "connector.name",
        field: Some("name"),
        message: "Another connector already has this name.",
    },
    Meaning {
        name: "resource_connector_external_id_uq",
        columns: "resource.connector_id, resource.external_id",
        field: Some("external_id"),
        message: "This group of this connector is already a resource.",
    },
    Meaning {
        name: "access_package_catalog_name_uq",
        columns: "access_package.catalog_id, access_package.name",
        field: Some("name"),
        message: "This catalog already has a package with this name.",
    },
    Meaning {
        name: "access_package_catalog_lower_name_uq",
        columns: "index 'access_package_catalog_lower_name_uq'",
        field: Some("name"),
        message: "This catalog already has a package with this name.",
    },
    Meaning {
        name: "lifecycle_workflow_name_uq",
        columns: "lifecycle_workflow.name",
        field: Some("name"),
        message: "Another workflow already has this name.",
    },
    Meaning {
        name: "incompatibility_pk",
        columns: "incompatibility.access_package_id, incompatibility.incompatible_package_id",
        field: None,
        message: "These two packages are already marked incompatible.",
    },
    Meaning {
        name: "catalog_connector_pk",
        columns: "catalog_connector.catalog_id, catalog_connector.connector_id",
        field: None,
        message: "This connector is already allowed in this catalog; reload the page.",
    },
    Meaning {
        name: "approval_stage_policy_position_uq",
        columns: "approval_stage.assignment_policy_id, approval_stage.position",
        field: None,
        message: "This policy's stages were changed meanwhile; reload the page and try again.",
    },
];

/// The person's error for a write a named constraint refused, or `None` for any other
/// database failure.
pub fn explain(error: &sqlx::Error) -> Option<AppError> {
    let database = error.as_database_error()?;
    let message = database.message();
    let meaning = MEANINGS.iter().find(|meaning| {
        database.constraint() == Some(meaning.name)
            || message
                .strip_prefix("UNIQUE constraint failed: ")
                .is_some_and(|columns| columns == meaning.columns)
    });
    if let Some(meaning) = meaning {
        return Some(match meaning.field {
            Some(field) => AppError::invalid_field(field, meaning.message),
            None => AppError::new(ErrorCode::Conflict, meaning.message),
        });
    }
    // A row this write refers to was removed meanwhile (named by PostgreSQL, not by SQLite).
    if database.is_foreign_key_violation() {
        return Some(AppError::new(
            ErrorCode::Conflict,
            "Something this change refers to was removed meanwhile; reload the page and try again.",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meaning_names_a_constraint_of_the_schema() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
        let mut schema = String::new();
        for file in std::fs::read_dir(folder).expect("migrations folder") {
            schema += &std::fs::read_to_string(file.expect("migration").path()).expect("migration");
        }
        for meaning in MEANINGS {
            assert!(
                schema.contains(&format!("constraint {} ", meaning.name))
                    || schema.contains(&format!("unique index {} ", meaning.name)),
                "{} is not in the schema",
                meaning.name
            );
            if let Some((table, _)) = meaning.columns.split_once('.') {
                assert!(
                    meaning.name.starts_with(table),
                    "{} is not a constraint of {table}",
                    meaning.name
                );
            }
        }
    }
}
