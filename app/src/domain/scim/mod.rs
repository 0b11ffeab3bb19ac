//! SCIM 2.0 (RFC 7643, RFC 7644) as the HR system speaks it to Gatehouse: the filter
//! grammar, PATCH paths and operations applied to a resource's JSON, and the protocol's
//! errors. Pure: the service maps resources to people and filters to SQL.
//!
//! Written here rather than taken from a crate: the one filter crate on crates.io
//! (`scim-filter` 0.2) has no PATCH paths, hides an attribute's schema URI, and matches
//! in memory, while Gatehouse needs the tree to turn into SQL.

pub mod filter;
pub mod patch;

use serde_json::{json, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Gatehouse's own extension: hire and leave dates, and the HR status.
pub const GATEHOUSE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// An error answer of RFC 7644 section 3.12: an HTTP status, and for 400 a `scimType`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad("invalidFilter", detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad("invalidPath", detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad("invalidSyntax", detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad("noTarget", detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad("mutability", detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad("tooMany", detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self {
            status: 409,
            scim_type: Some("uniqueness"),
            detail: detail.into(),
        }
    }
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(404, detail)
    }

    /// The error's JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(scim_type), Some(object)) = (self.scim_type, body.as_object_mut()) {
            object.insert("scimType".into(), json!(scim_type));
        }
        body
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status,
            self.scim_type.unwrap_or(""),
            self.detail
        )
    }
}

/// An attribute of the User resource as Gatehouse keeps it: its schema, name (in the
/// RFC's case), sub-attributes, and whether it holds several values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub schema: &'static str,
    pub name: &'static str,
    pub sub_attributes: &'static [&'static str],
    pub multi_valued: bool,
    pub read_only: bool,
}

const fn attribute(
    schema: &'static str,
    name: &'static str,
    sub_attributes: &'static [&'static str],
    multi_valued: bool,
    read_only: bool,
) -> Attribute {
    Attribute {
        schema,
        name,
        sub_attributes,
        multi_valued,
        read_only,
    }
}

/// Every attribute a User has in Gatehouse. Anything else is refused by name.
pub const USER_ATTRIBUTES: &[Attribute] = &[
    attribute(USER_SCHEMA, "schemas", &[], true, false),
    attribute(USER_SCHEMA, "id", &[], false, true),
    attribute(USER_SCHEMA, "externalId", &[], false, false),
    attribute(
        USER_SCHEMA,
        "meta",
        &[
            "resourceType",
            "created",
            "lastModified",
            "location",
            "version",
        ],
        false,
        true,
    ),
    attribute(USER_SCHEMA, "userName", &[], false, false),
    attribute(
        USER_SCHEMA,
        "name",
        &["formatted", "givenName", "familyName"],
        false,
        false,
    ),
    attribute(USER_SCHEMA, "displayName", &[], false, false),
    attribute(USER_SCHEMA, "title", &[], false, false),
    attribute(USER_SCHEMA, "userType", &[], false, false),
    attribute(USER_SCHEMA, "active", &[], false, false),
    attribute(
        USER_SCHEMA,
        "emails",
        &["value", "type", "primary", "display"],
        true,
        false,
    ),
    attribute(ENTERPRISE_SCHEMA, "employeeNumber", &[], false, false),
    attribute(ENTERPRISE_SCHEMA, "department", &[], false, false),
    attribute(
        ENTERPRISE_SCHEMA,
        "manager",
        &["value", "$ref", "displayName"],
        false,
        false,
    ),
    attribute(GATEHOUSE_SCHEMA, "hireDate", &[], false, false),
    attribute(GATEHOUSE_SCHEMA, "leaveDate", &[], false, false),
    attribute(GATEHOUSE_SCHEMA, "status", &[], false, false),
];

/// The User attribute a path names, in any case, with or without its schema URI (the
/// URI, when given, must be the attribute's own).
pub fn user_attribute(uri: Option<&str>, name: &str) -> Option<&'static Attribute> {
    USER_ATTRIBUTES.iter().find(|attribute| {
        attribute.name.eq_ignore_ascii_case(name)
            && uri.is_none_or(|uri| uri.eq_ignore_ascii_case(attribute.schema))
    })
}

/// The sub-attribute's name in the RFC's case, when `attribute` has it.
pub fn sub_attribute(attribute: &Attribute, name: &str) -> Option<&'static str> {
    attribute
        .sub_attributes
        .iter()
        .copied()
        .find(|sub| sub.eq_ignore_ascii_case(name))
}

/// Reads `key` from a JSON object in any case, as SCIM attribute names are.
pub fn get_ignore_case<'a>(
    object: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Applies `attributes` (only these, plus `id` and `schemas`) or `excludedAttributes`
/// (all but these) to a User's JSON (RFC 7644 3.4.2.5). Each is a comma-separated list of
/// attribute paths; an unknown one is refused.
pub fn project(
    resource: &mut Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<(), ScimError> {
    let parse = |list: &str| -> Result<Vec<(&'static Attribute, Option<&'static str>)>, ScimError> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                let path = filter::parse_patch_path(item)
                    .ok()
                    .filter(|path| path.filter.is_none())
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("{item:?} is not an attribute path."))
                    })?;
                let attribute = user_attribute(path.attribute.uri.as_deref(), &path.attribute.name)
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("A User has no attribute {item:?}."))
                    })?;
                let sub = match path.attribute.sub.as_deref() {
                    None => None,
                    Some(sub) => Some(sub_attribute(attribute, sub).ok_or_else(|| {
                        ScimError::invalid_value(format!("A User has no attribute {item:?}."))
                    })?),
                };
                Ok((attribute, sub))
            })
            .collect()
    };
    let Some(object) = resource.as_object_mut() else {
        return Ok(());
    };
    let container_key = |attribute: &Attribute| -> Option<&'static str> {
        (attribute.schema != USER_SCHEMA).then_some(attribute.schema)
    };
    if let Some(list) = attributes.filter(|list| !list.trim().is_empty()) {
        let wanted = parse(list)?;
        let mut kept = serde_json::Map::new();
        for key in ["schemas", "id"] {
            if let Some(value) = object.get(key) {
                kept.insert(key.into(), value.clone());
            }
        }
        for (attribute, sub) in wanted {
            let source = match container_key(attribute) {
                None => Some(&*object),
                Some(schema) => object.get(schema).and_then(Value::as_object),
            };
            let Some(value) = source.and_then(|source| source.get(attribute.name)) else {
                continue;
            };
            let value = match sub {
                None => value.clone(),
                Some(sub) => match value {
                    Value::Object(inner) => match inner.get(sub) {
                        Some(v) => serde_json::json!({ sub: v }),
                        None => continue,
                    },
                    Value::Array(values) => Value::Array(
                        values
                            .iter()
                            .filter_map(|v| v.get(sub).map(|v| serde_json::json!({ sub: v })))
                            .collect(),
                    ),
                    _ => continue,
                },
            };
            let target = match container_key(attribute) {
                None => &mut kept,
                Some(schema) => match kept
                    .entry(schema)
                    .or_insert_with(|| Value::Object(serde_json::Map::new()))
                {
                    Value::Object(inner) => inner,
                    _ => continue,
                },
            };
            match (target.get_mut(attribute.name), value) {
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                (_, value) => {
                    target.insert(attribute.name.to_string(), value);
                }
            }
        }
        *object = kept;
        return Ok(());
    }
    if let Some(list) = excluded.filter(|list| !list.trim().is_empty()) {
        for (attribute, sub) in parse(list)? {
            if ["id", "schemas"].contains(&attribute.name) {
                continue;
            }
            let container = match container_key(attribute) {
                None => Some(&mut *object),
                Some(schema) => object.get_mut(schema).and_then(Value::as_object_mut),
            };
            let Some(container) = container else {
                continue;
            };
            match sub {
                None => {
                    container.remove(attribute.name);
                }
                Some(sub) => match container.get_mut(attribute.name) {
                    Some(Value::Object(inner)) => {
                        inner.remove(sub);
                    }
                    Some(Value::Array(values)) => {
                        for value in values {
                            if let Some(inner) = value.as_object_mut() {
                                inner.remove(sub);
                            }
                        }
                    }
                    _ => {}
                },
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.test",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@b.test", "type": "work"}],
            ENTERPRISE_SCHEMA: {"department": "Sales", "employeeNumber": "7"},
            "meta": {"version": "W/\"1\""}
        })
    }

    #[test]
    fn attributes_keep_only_what_is_asked_and_the_id() {
        let mut resource = user();
        project(&mut resource, Some("userName, name.givenName, emails.value, urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None).unwrap();
        assert_eq!(
            resource,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.test", "name": {"givenName": "A"},
                   "emails": [{"value": "a@b.test"}], ENTERPRISE_SCHEMA: {"department": "Sales"}})
        );
    }

    #[test]
    fn excluded_attributes_drop_what_is_named_but_never_the_id() {
        let mut resource = user();
        project(
            &mut resource,
            None,
            Some("emails,id,name.familyName,department"),
        )
        .unwrap();
        assert_eq!(resource["id"], "1");
        assert!(resource.get("emails").is_none());
        assert_eq!(resource["name"], json!({"givenName": "A"}));
        assert_eq!(resource[ENTERPRISE_SCHEMA], json!({"employeeNumber": "7"}));
        let error = project(&mut user(), Some("nickName"), None).unwrap_err();
        assert_eq!(error.scim_type, Some("invalidValue"));
    }

    #[test]
    fn errors_have_the_rfcs_shape() {
        let body = ScimError::invalid_filter("bad").body();
        assert_eq!(
            body,
            json!({"schemas": [ERROR_SCHEMA], "status": "400", "scimType": "invalidFilter", "detail": "bad"})
        );
        assert!(ScimError::status(412, "x").body().get("scimType").is_none());
    }
}
