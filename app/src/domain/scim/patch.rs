//! PATCH (RFC 7644 section 3.5.2) applied to a User's JSON as Gatehouse writes it: core
//! attributes at the top, each extension's attributes in an object under its schema URI.
//! The caller then reads the patched JSON as a whole (as a PUT would), so every rule of a
//! User holds after a PATCH too.

use super::filter::{matches, parse_patch_path, PatchPath};
use super::{
    get_ignore_case, sub_attribute, user_attribute, Attribute, ScimError, ENTERPRISE_SCHEMA,
    GATEHOUSE_SCHEMA, PATCH_SCHEMA, USER_SCHEMA,
};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Operations in one request at most (a PATCH is one person's change).
const MAX_OPERATIONS: usize = 100;

/// Reads a PatchOp request body.
pub fn parse_operations(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("The body must be a JSON object."))?;
    let schemas = get_ignore_case(object, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must be [\"{PATCH_SCHEMA}\"]."
        )));
    }
    let operations = get_ignore_case(object, "Operations")
        .and_then(Value::as_array)
        .filter(|operations| !operations.is_empty())
        .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be a non-empty array."))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "At most {MAX_OPERATIONS} operations per request."
        )));
    }
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            let object = operation.as_object().ok_or_else(|| {
                ScimError::invalid_syntax(format!("Operation {} is not an object.", index + 1))
            })?;
            let op = match get_ignore_case(object, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => Op::Add,
                Some("replace") => Op::Replace,
                Some("remove") => Op::Remove,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "Operation {}: \"op\" must be add, replace or remove.",
                        index + 1
                    )))
                }
            };
            let path = match get_ignore_case(object, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(path)) => Some(parse_patch_path(path)?),
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "Operation {}: \"path\" must be a string.",
                        index + 1
                    )))
                }
            };
            let value = get_ignore_case(object, "value").cloned();
            match (op, &path, &value) {
                (Op::Remove, None, _) => Err(ScimError::no_target(format!(
                    "Operation {}: remove needs a \"path\".",
                    index + 1
                ))),
                (Op::Add | Op::Replace, _, None) => Err(ScimError::invalid_syntax(format!(
                    "Operation {}: {} needs a \"value\".",
                    index + 1,
                    if op == Op::Add { "add" } else { "replace" }
                ))),
                _ => Ok(Operation { op, path, value }),
            }
        })
        .collect()
}

/// Applies the operations in order to `resource`; the first that fails stops the rest
/// (and the caller keeps nothing).
pub fn apply(resource: &mut Value, operations: &[Operation]) -> Result<(), ScimError> {
    for operation in operations {
        apply_one(resource, operation)?;
    }
    Ok(())
}

fn apply_one(resource: &mut Value, operation: &Operation) -> Result<(), ScimError> {
    let Some(path) = &operation.path else {
        // No path: the value is an object of attributes to add or replace.
        let value = operation
            .value
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ScimError::invalid_value(
                    "Without a \"path\", the \"value\" must be an object of attributes.",
                )
            })?;
        for (key, value) in value {
            let extension = [ENTERPRISE_SCHEMA, GATEHOUSE_SCHEMA]
                .into_iter()
                .find(|schema| schema.eq_ignore_ascii_case(key));
            if let Some(schema) = extension {
                let inner = value.as_object().ok_or_else(|| {
                    ScimError::invalid_value(format!("\"{schema}\" must be an object."))
                })?;
                for (name, value) in inner {
                    let attribute = known(Some(schema), name)?;
                    set(resource, attribute, None, value.clone(), operation.op)?;
                }
                continue;
            }
            // Read-only attributes and the schema list are not the client's to set; a
            // client that sends them back unchanged is not refused.
            if ["schemas", "id", "meta"]
                .iter()
                .any(|skip| skip.eq_ignore_ascii_case(key))
            {
                continue;
            }
            // A key may be a whole path (`name.givenName`, `emails[type eq "work"].value`):
            // Entra sends these.
            apply_one(
                resource,
                &Operation {
                    op: operation.op,
                    path: Some(parse_patch_path(key)?),
                    value: Some(value.clone()),
                },
            )?;
        }
        return Ok(());
    };
    let attribute = known(path.attribute.uri.as_deref(), &path.attribute.name)?;
    if attribute.read_only {
        return Err(ScimError::mutability(format!(
            "\"{}\" is read-only.",
            attribute.name
        )));
    }
    if let Some(filter) = &path.filter {
        if !attribute.multi_valued {
            return Err(ScimError::invalid_path(format!(
                "\"{}\" holds one value: a value filter does not apply.",
                attribute.name
            )));
        }
        let sub = sub_of(attribute, path.sub_after_filter.as_deref())?;
        let container = container(resource, attribute)?;
        let key = key_of(container, attribute);
        let values = container.get_mut(&key).and_then(Value::as_array_mut);
        let Some(values) =
            values.filter(|values| values.iter().any(|value| matches(filter, value)))
        else {
            return Err(ScimError::no_target(format!(
                "No value of \"{}\" matches the filter.",
                attribute.name
            )));
        };
        match (operation.op, sub) {
            (Op::Remove, None) => values.retain(|value| !matches(filter, value)),
            (Op::Remove, Some(sub)) => {
                for value in values.iter_mut().filter(|value| matches(filter, value)) {
                    if let Some(object) = value.as_object_mut() {
                        object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                    }
                }
            }
            (_, Some(sub)) => {
                let new = operation.value.clone().unwrap_or(Value::Null);
                for value in values.iter_mut().filter(|value| matches(filter, value)) {
                    if let Some(object) = value.as_object_mut() {
                        object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                        object.insert(sub.to_string(), new.clone());
                    }
                }
            }
            (_, None) => {
                let new = operation
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!(
                            "A value of \"{}\" must be an object.",
                            attribute.name
                        ))
                    })?;
                for value in values.iter_mut().filter(|value| matches(filter, value)) {
                    if let Some(object) = value.as_object_mut() {
                        merge(object, new);
                    }
                }
            }
        }
        return Ok(());
    }
    let sub = sub_of(attribute, path.attribute.sub.as_deref())?;
    match operation.op {
        Op::Remove => {
            let container = container(resource, attribute)?;
            let key = key_of(container, attribute);
            match sub {
                None => {
                    container.remove(&key);
                }
                Some(sub) => {
                    if let Some(object) = container.get_mut(&key).and_then(Value::as_object_mut) {
                        object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                    }
                }
            }
            Ok(())
        }
        op => set(
            resource,
            attribute,
            sub,
            operation.value.clone().unwrap_or(Value::Null),
            op,
        ),
    }
}

fn known(uri: Option<&str>, name: &str) -> Result<&'static Attribute, ScimError> {
    user_attribute(uri, name).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "A User has no attribute \"{}\".",
            match uri {
                Some(uri) => format!("{uri}:{name}"),
                None => name.to_string(),
            }
        ))
    })
}

fn sub_of(attribute: &Attribute, sub: Option<&str>) -> Result<Option<&'static str>, ScimError> {
    match sub {
        None => Ok(None),
        Some(sub) => sub_attribute(attribute, sub).map(Some).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "\"{}\" has no sub-attribute \"{sub}\".",
                attribute.name
            ))
        }),
    }
}

/// The object holding `attribute`: the resource itself for core attributes, the
/// extension's object for the others.
fn container<'r>(
    resource: &'r mut Value,
    attribute: &Attribute,
) -> Result<&'r mut Map<String, Value>, ScimError> {
    let root = resource
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_syntax("The resource is not an object."))?;
    if attribute.schema == USER_SCHEMA {
        return Ok(root);
    }
    let key = root
        .keys()
        .find(|key| key.eq_ignore_ascii_case(attribute.schema))
        .cloned()
        .unwrap_or_else(|| attribute.schema.to_string());
    // Made when missing, also for a removal (which then changes an empty object in vain).
    let entry = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    match entry {
        Value::Object(object) => Ok(object),
        _ => Err(ScimError::invalid_value(format!(
            "\"{}\" must be an object.",
            attribute.schema
        ))),
    }
}

/// The key `attribute` has in `container` (in whatever case it was written), or its name.
fn key_of(container: &Map<String, Value>, attribute: &Attribute) -> String {
    container
        .keys()
        .find(|key| key.eq_ignore_ascii_case(attribute.name))
        .cloned()
        .unwrap_or_else(|| attribute.name.to_string())
}

fn merge(object: &mut Map<String, Value>, new: &Map<String, Value>) {
    for (key, value) in new {
        object.retain(|existing, _| !existing.eq_ignore_ascii_case(key));
        object.insert(key.clone(), value.clone());
    }
}

/// Adds or replaces `attribute` (or its `sub`-attribute) with `value`.
fn set(
    resource: &mut Value,
    attribute: &Attribute,
    sub: Option<&str>,
    value: Value,
    op: Op,
) -> Result<(), ScimError> {
    if attribute.read_only {
        return Err(ScimError::mutability(format!(
            "\"{}\" is read-only.",
            attribute.name
        )));
    }
    let container = container(resource, attribute)?;
    let key = key_of(container, attribute);
    if let Some(sub) = sub {
        let entry = container
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
        let object = entry.as_object_mut().ok_or_else(|| {
            ScimError::invalid_value(format!("\"{}\" must be an object.", attribute.name))
        })?;
        object.retain(|existing, _| !existing.eq_ignore_ascii_case(sub));
        object.insert(sub.to_string(), value);
        return Ok(());
    }
    if attribute.multi_valued {
        let new = match value {
            Value::Array(values) => values,
            single => vec![single],
        };
        match (op, container.get_mut(&key)) {
            (Op::Add, Some(Value::Array(existing))) => {
                for value in new {
                    if !existing.contains(&value) {
                        existing.push(value);
                    }
                }
            }
            _ => {
                container.insert(key, Value::Array(new));
            }
        }
        return Ok(());
    }
    match (container.get_mut(&key), &value) {
        // A complex attribute takes the sub-attributes given and keeps the others.
        (Some(Value::Object(existing)), Value::Object(new))
            if !attribute.sub_attributes.is_empty() =>
        {
            merge(existing, new);
        }
        _ => {
            container.insert(key, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(resource: &mut Value, operations: Value) -> Result<(), ScimError> {
        let operations =
            parse_operations(&json!({"schemas": [PATCH_SCHEMA], "Operations": operations}))?;
        apply(resource, &operations)
    }

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": "7",
            "userName": "ada@example.test",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.test", "type": "work", "primary": true},
                       {"value": "ada@home.test", "type": "home"}],
            ENTERPRISE_SCHEMA: {"department": "Research"}
        })
    }

    #[test]
    fn replace_by_value_filter_changes_only_the_matching_value() {
        let mut resource = user();
        patch(&mut resource, json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.test"}])).unwrap();
        assert_eq!(resource["emails"][0]["value"], "ada@new.test");
        assert_eq!(resource["emails"][1]["value"], "ada@home.test");
    }

    #[test]
    fn add_appends_to_multi_valued_and_sets_sub_attributes_and_extensions() {
        let mut resource = user();
        patch(
            &mut resource,
            json!([
                {"op": "Add", "path": "emails", "value": [{"value": "a@b.test", "type": "other"}]},
                {"op": "add", "path": "name.familyName", "value": "King"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "E1"},
                {"op": "replace", "value": {"displayName": "Ada K", "name.givenName": "Augusta",
                    GATEHOUSE_SCHEMA: {"hireDate": "2026-01-01"}}}
            ]),
        )
        .unwrap();
        assert_eq!(resource["emails"].as_array().unwrap().len(), 3);
        assert_eq!(
            resource["name"],
            json!({"givenName": "Augusta", "familyName": "King"})
        );
        assert_eq!(resource[ENTERPRISE_SCHEMA]["employeeNumber"], "E1");
        assert_eq!(resource[ENTERPRISE_SCHEMA]["department"], "Research");
        assert_eq!(resource[GATEHOUSE_SCHEMA]["hireDate"], "2026-01-01");
        assert_eq!(resource["displayName"], "Ada K");
    }

    #[test]
    fn remove_takes_attributes_sub_attributes_and_matching_values() {
        let mut resource = user();
        patch(
            &mut resource,
            json!([
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "remove", "path": "name.familyName"},
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}
            ]),
        )
        .unwrap();
        assert_eq!(resource["emails"].as_array().unwrap().len(), 1);
        assert_eq!(resource["name"], json!({"givenName": "Ada"}));
        assert_eq!(resource[ENTERPRISE_SCHEMA], json!({}));
    }

    #[test]
    fn bad_operations_answer_the_rfcs_error_types() {
        let cases = [
            (json!([{"op": "remove"}]), "noTarget"),
            (
                json!([{"op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x"}]),
                "noTarget",
            ),
            (
                json!([{"op": "replace", "path": "nickName", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "name.middleName", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "9"}]),
                "mutability",
            ),
            (
                json!([{"op": "move", "path": "userName", "value": "x"}]),
                "invalidSyntax",
            ),
            (json!([{"op": "add", "path": "userName"}]), "invalidSyntax"),
            (json!([{"op": "replace", "value": "x"}]), "invalidValue"),
            (json!([]), "invalidSyntax"),
        ];
        for (operations, scim_type) in cases {
            let mut resource = user();
            let error = patch(&mut resource, operations.clone()).unwrap_err();
            assert_eq!(error.scim_type, Some(scim_type), "{operations}");
        }
        let error = parse_operations(&json!({"Operations": [{"op": "remove", "path": "title"}]}))
            .unwrap_err();
        assert_eq!(error.scim_type, Some("invalidSyntax"));
    }
}
