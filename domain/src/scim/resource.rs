//! SCIM resources as stored JSON: validation and normalisation on the way in, the columns
//! the store indexes, and rendering with `attributes`/`excludedAttributes` on the way out.
//!
//! Resources stay `serde_json::Value` objects rather than structs because Okta updates
//! users by GET → modify → PUT: whatever we fail to return is lost on the next PUT, so the
//! stored form keeps everything the client wrote that the schema allows, in the schema's
//! canonical attribute case.
//!
//! Choices made here, with their reasons:
//! - **Unknown top-level attributes are rejected** (`invalidValue`, naming them). Okta only
//!   sends core attributes at the top level and custom ones under a declared extension
//!   namespace; an unknown top-level name means a mapping mistake in the IdP, which the
//!   admin sees in Okta's Tasks with our message, instead of data silently kept that
//!   `/Schemas` does not describe. Unknown *sub*-attributes of complex attributes are kept
//!   as written (okta-scim.md §10.16: being lenient there is safer).
//! - Only the core and Enterprise User schema URNs are accepted in `schemas`; a custom
//!   extension would have to be advertised in `/Schemas` first.
//! - Read-only attributes a client echoes back (`id`, `meta`, `groups`,
//!   `manager.displayName`) are dropped, never refused (RFC 7644 §3.5.1, okta-scim.md §10).
//! - `null`, `[]`, `{}` and, for non-string types, `""` mean "unassigned" (RFC 7643 §2.5;
//!   Okta's test plan pushes empty values and expects no error) and are not stored.
//! - A JSON number given for a string attribute is stored as its text: Okta's own examples
//!   send `employeeNumber` as a number.
//! - Booleans also accept the strings `"true"`/`"false"` in any case (Entra ID sends them),
//!   and `manager` accepts a bare id string for `{"value": id}` (Entra ID sends that too).

use std::collections::HashSet;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::ScimError;
use super::path::parse_path;
use super::schema::{
    find_attribute, find_common_attribute, schema_by_urn, AttrType, Attribute, Mutability,
    Returned, SchemaKind,
};

/// Deepest JSON nesting accepted in a resource. Real resources nest four levels at most
/// (resource → extension → `manager` → value); the cap keeps hostile input from costing
/// recursion.
pub const MAX_DEPTH: usize = 8;

/// Most values one stored multi-valued attribute may hold. Group members are not stored in
/// the resource and have no such cap here (the HTTP body limit bounds them).
pub const MAX_VALUES: usize = 1000;

/// A validated create/replace body, split into what is stored and what is not.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The normalised resource to store: canonical attribute names, no read-only
    /// attributes, no password, no group members.
    pub resource: Value,
    /// The cleartext `password`, if the client sent one (Okta's password sync). Never part
    /// of `resource`, so it cannot leak into storage or responses by accident.
    pub password: Option<String>,
    /// Group members' ids, de-duplicated in order: `Some` when the body had a `members`
    /// array (possibly empty, meaning "no members"), `None` when it had none or `null`, so a
    /// caller can tell "clear the members" from "not mentioned".
    pub members: Option<Vec<String>>,
}

/// Validates a `POST /Users` or `PUT /Users/{id}` body.
pub fn validate_user(body: &Value) -> Result<Validated, ScimError> {
    validate(SchemaKind::User, body)
}

/// Validates a `POST /Groups` or `PUT /Groups/{id}` body.
pub fn validate_group(body: &Value) -> Result<Validated, ScimError> {
    validate(SchemaKind::Group, body)
}

/// Validates a resource body of the given kind; PATCH calls it on its result too, so that a
/// PATCH can never store something a POST would refuse.
pub fn validate(kind: SchemaKind, body: &Value) -> Result<Validated, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "The request body must be a JSON object (a SCIM {} resource), not {}.",
            kind.resource_type(),
            describe(body)
        )));
    };
    check_depth(body)?;
    let schemas_value = map
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v);
    let mut schemas = normalize_schemas(kind, schemas_value)?;

    let mut out = Map::new();
    let mut seen: HashSet<&'static str> = HashSet::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut password = None;
    let mut members = None;
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(common) = find_common_attribute(key) {
            note_seen(&mut seen, common.name)?;
            if common.mutability != Mutability::ReadOnly {
                insert_normalized(&mut out, common, value, common.name)?;
            }
            continue;
        }
        if let Some(ext) = kind.extension_for_urn(key) {
            note_seen(&mut seen, ext.id)?;
            if let Some(ext_value) = normalize_extension(ext, value, &mut unknown)? {
                out.insert(ext.id.to_owned(), ext_value);
            }
            continue;
        }
        let Some(attr) = find_attribute(kind.core(), key) else {
            unknown.push(key.clone());
            continue;
        };
        note_seen(&mut seen, attr.name)?;
        match (kind, attr.name) {
            (SchemaKind::User, "password") => password = password_value(value)?,
            (SchemaKind::Group, "members") => members = member_ids(value, "members")?,
            _ if attr.mutability == Mutability::ReadOnly => {}
            _ => insert_normalized(&mut out, attr, value, attr.name)?,
        }
    }
    if !unknown.is_empty() {
        return Err(unknown_attributes(kind, &unknown));
    }
    for ext in kind.extensions() {
        if out.contains_key(ext.id) && !schemas.iter().any(|s| s == ext.id) {
            // The extension's attributes are there, so the client meant to use it; RFC 7643
            // §3 wants its URN listed, and adding it beats refusing the request.
            schemas.push(ext.id.to_owned());
        }
    }
    out.insert(
        "schemas".into(),
        Value::Array(schemas.into_iter().map(Value::String).collect()),
    );
    for attr in kind.core().attributes.iter().filter(|a| a.required) {
        let present = out
            .get(attr.name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !present {
            return Err(ScimError::invalid_value(format!(
                "{} is required: a {} needs a non-empty {}.",
                attr.name,
                kind.resource_type(),
                attr.name
            )));
        }
    }
    Ok(Validated {
        resource: Value::Object(out),
        password,
        members,
    })
}

/// Two spellings of one attribute (`userName` and `USERNAME`) would make the stored value
/// depend on JSON key order, so they are refused.
fn note_seen(seen: &mut HashSet<&'static str>, name: &'static str) -> Result<(), ScimError> {
    if seen.insert(name) {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "{name} is given more than once (attribute names are case-insensitive)."
        )))
    }
}

fn unknown_attributes(kind: SchemaKind, names: &[String]) -> ScimError {
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match kind {
        SchemaKind::User => {
            " Custom attributes belong under the enterprise extension \
             (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User)."
        }
        SchemaKind::Group => "",
    };
    ScimError::invalid_value(format!(
        "Unknown {} attribute{} {list}: this service provider does not define {}.{hint}",
        kind.resource_type(),
        if names.len() == 1 { "" } else { "s" },
        if names.len() == 1 { "it" } else { "them" },
    ))
}

/// `schemas` in canonical case, de-duplicated, in the client's order.
fn normalize_schemas(kind: SchemaKind, value: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let core = kind.core().id;
    let missing = || {
        ScimError::invalid_syntax(format!(
            "schemas is missing: a {} must have \"schemas\": [\"{core}\"].",
            kind.resource_type()
        ))
    };
    let items = match value {
        None | Some(Value::Null) => return Err(missing()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must be an array of schema URNs, not {}.",
                describe(other)
            )))
        }
    };
    let mut out: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for item in items {
        let Some(urn) = item.as_str() else {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must hold schema URN strings, not {}.",
                describe(item)
            )));
        };
        match kind.schema_for_urn(urn) {
            Some(schema) if !out.iter().any(|s| s == schema.id) => out.push(schema.id.to_owned()),
            Some(_) => {}
            None if is_entra_marker_schema(urn) => {}
            None => unknown.push(urn.to_owned()),
        }
    }
    if !unknown.is_empty() {
        let supported = kind.schemas().map(|s| s.id).collect::<Vec<_>>().join(", ");
        return Err(ScimError::invalid_value(format!(
            "Unsupported schema {} for a {}: the supported schemas are {supported}.",
            unknown
                .iter()
                .map(|u| format!("\"{u}\""))
                .collect::<Vec<_>>()
                .join(", "),
            kind.resource_type()
        )));
    }
    if out.is_empty() {
        return Err(missing());
    }
    if !out.iter().any(|s| s == core) {
        return Err(ScimError::invalid_value(format!(
            "schemas must include the core schema \"{core}\"."
        )));
    }
    Ok(out)
}

/// Microsoft Entra ID lists `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`
/// (and, in older jobs, `…/User`) in `schemas` when it creates a resource, as in the
/// "Create Group" request of its SCIM guide. The URN names no attributes anyone sends, so
/// it is dropped rather than refused: refusing it would fail every group Entra provisions.
/// Attributes keyed by it would still be refused as unknown.
fn is_entra_marker_schema(urn: &str) -> bool {
    const ADSCIM: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/";
    urn.get(..ADSCIM.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(ADSCIM))
        && ["Group", "User"]
            .iter()
            .any(|kind| urn[ADSCIM.len()..].eq_ignore_ascii_case(kind))
}

fn normalize_extension(
    ext: &'static super::schema::Schema,
    value: &Value,
    unknown: &mut Vec<String>,
) -> Result<Option<Value>, ScimError> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        other => {
            return Err(ScimError::invalid_value(format!(
                "{} must be an object holding the extension's attributes, not {}.",
                ext.id,
                describe(other)
            )))
        }
    };
    let mut out = Map::new();
    let mut seen = HashSet::new();
    for (key, value) in map {
        let Some(attr) = find_attribute(ext, key) else {
            unknown.push(format!("{}:{key}", ext.id));
            continue;
        };
        note_seen(&mut seen, attr.name)?;
        if attr.mutability != Mutability::ReadOnly {
            insert_normalized(&mut out, attr, value, &format!("{}:{}", ext.id, attr.name))?;
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn insert_normalized(
    out: &mut Map<String, Value>,
    attr: &'static Attribute,
    value: &Value,
    at: &str,
) -> Result<(), ScimError> {
    if let Some(v) = normalize_value(attr, value, at)? {
        out.insert(attr.name.to_owned(), v);
    }
    Ok(())
}

fn password_value(value: &Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(ScimError::invalid_value(format!(
            "password must be a string, not {}.",
            describe(other)
        ))),
    }
}

/// The member ids of a `members` value: an array of `{"value": "<id>", ...}` objects.
/// `null` means "not given". Other sub-attributes (`display`, `type`, `$ref`) are ignored:
/// membership is a set of ids, and the store renders the rest.
pub(super) fn member_ids(value: &Value, at: &str) -> Result<Option<Vec<String>>, ScimError> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        other => {
            return Err(ScimError::invalid_value(format!(
                "{at} is multi-valued: expected an array of {{\"value\": \"<user id>\"}} \
                 objects, not {}.",
                describe(other)
            )))
        }
    };
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = member_id(item, &format!("{at}[{i}]"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Some(ids))
}

/// The id in one `members` value.
pub(super) fn member_id(item: &Value, at: &str) -> Result<String, ScimError> {
    let Value::Object(member) = item else {
        return Err(ScimError::invalid_value(format!(
            "{at} must be an object such as {{\"value\": \"<user id>\"}}, not {}.",
            describe(item)
        )));
    };
    let value = member
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("value"))
        .map(|(_, v)| v);
    match value {
        Some(Value::String(id)) if !id.trim().is_empty() => Ok(id.clone()),
        _ => Err(ScimError::invalid_value(format!(
            "{at}.value is required: it must be the member's id as a non-empty string."
        ))),
    }
}

/// Normalises the whole value of `attr` (an array when multi-valued). `Ok(None)` means
/// the value is "unassigned" and must not be stored. `at` names the attribute in messages.
pub(super) fn normalize_value(
    attr: &'static Attribute,
    value: &Value,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_single(attr, value, at);
    }
    let Value::Array(items) = value else {
        return Err(ScimError::invalid_value(format!(
            "{at} is multi-valued: expected an array, not {}.",
            describe(value)
        )));
    };
    if items.len() > MAX_VALUES {
        return Err(ScimError::invalid_value(format!(
            "{at} has {} values; at most {MAX_VALUES} are allowed.",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(v) = normalize_single(attr, item, &format!("{at}[{i}]"))? {
            out.push(v);
        }
    }
    check_primary(&out, at)?;
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// RFC 7643 §2.4: "The primary attribute value 'true' MUST appear no more than once."
pub(super) fn check_primary(values: &[Value], at: &str) -> Result<(), ScimError> {
    let primaries = values.iter().filter(|v| is_primary(v)).count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "{at} has {primaries} values marked \"primary\": true; at most one may be primary."
        )));
    }
    Ok(())
}

pub(super) fn is_primary(value: &Value) -> bool {
    value.get("primary") == Some(&Value::Bool(true))
}

/// Normalises one value of `attr` (one element when multi-valued).
pub(super) fn normalize_single(
    attr: &'static Attribute,
    value: &Value,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!("{at} must be {expected}, not {}.", describe(value)))
    };
    let empty = matches!(value, Value::String(s) if s.is_empty());
    let normalized = match (attr.kind, value) {
        (_, Value::Null) => None,
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => {
            Some(value.clone())
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::Number(n)) => {
            Some(Value::String(n.to_string()))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => {
            return Err(wrong("a string"))
        }
        (_, _) if empty => None,
        (AttrType::Boolean, Value::Bool(_)) => Some(value.clone()),
        (AttrType::Boolean, Value::String(s)) => match parse_bool(s) {
            Some(b) => Some(Value::Bool(b)),
            None => return Err(wrong("a boolean (true or false)")),
        },
        (AttrType::Boolean, _) => return Err(wrong("a boolean (true or false)")),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(value.clone()),
        (AttrType::Integer, _) => return Err(wrong("an integer")),
        (AttrType::Decimal, Value::Number(_)) => Some(value.clone()),
        (AttrType::Decimal, _) => return Err(wrong("a number")),
        (AttrType::DateTime, Value::String(s)) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => {
            Some(value.clone())
        }
        (AttrType::DateTime, _) => {
            return Err(wrong(
                "an RFC 3339 date and time such as \"2024-05-01T12:00:00Z\"",
            ))
        }
        (AttrType::Complex, Value::Object(map)) => normalize_complex(attr, map, at)?,
        // Entra ID sends the Enterprise `manager` as the manager's id string instead of
        // {"value": id} (directory-scimple#1242, SCIM-SDK#686).
        (AttrType::Complex, Value::String(id))
            if !attr.multi_valued && attr.sub_attribute("value").is_some() =>
        {
            let mut map = Map::new();
            map.insert("value".into(), Value::String(id.clone()));
            Some(Value::Object(map))
        }
        (AttrType::Complex, _) => {
            return Err(wrong(if attr.multi_valued {
                "an object (each value of a multi-valued attribute is an object)"
            } else {
                "an object"
            }))
        }
    };
    Ok(normalized)
}

/// `"true"`/`"false"` in any case, as Entra ID sends booleans.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn normalize_complex(
    attr: &'static Attribute,
    map: &Map<String, Value>,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    let mut out = Map::new();
    let mut seen = HashSet::new();
    for (key, value) in map {
        match attr.sub_attribute(key) {
            Some(sub) => {
                note_seen(&mut seen, sub.name).map_err(|_| {
                    ScimError::invalid_value(format!(
                        "{at}.{} is given more than once (attribute names are \
                         case-insensitive).",
                        sub.name
                    ))
                })?;
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                insert_normalized(&mut out, sub, value, &format!("{at}.{}", sub.name))?;
            }
            // Unknown sub-attributes are kept as written: Okta adds its own (such as
            // `display` where the RFC has none), and dropping them would lose data.
            None if !value.is_null() => {
                out.insert(key.clone(), value.clone());
            }
            None => {}
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn check_depth(value: &Value) -> Result<(), ScimError> {
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(ScimError::invalid_syntax(format!(
                "The resource is nested more than {MAX_DEPTH} levels deep; SCIM resources \
                 never need that."
            )));
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// How a value is named in messages: its JSON type, with short strings quoted.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the string \"{s}\""),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

// ---------------------------------------------------------------------------------------
// Columns the store indexes.
// ---------------------------------------------------------------------------------------

/// The parts of a User the store keeps in columns, for uniqueness, filters and the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserColumns {
    /// As the client wrote it: Okta compares it back on import.
    pub user_name: String,
    /// Lowercased, for the unique index and `userName eq` filters: RFC 7643 makes
    /// userName case-insensitive and Okta's conformance test queries it in capitals.
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// `true` when absent: RFC 7643 gives no default, but Okta's first POST of a user it
    /// assigns is an active user whether or not it says so.
    pub active: bool,
    /// The primary email, else the first one; lowercased for lookups.
    pub primary_email: Option<String>,
}

/// The parts of a Group the store keeps in columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupColumns {
    pub display_name: String,
    /// Lowercased, for the unique index and `displayName eq` filters (Okta's Group Push
    /// links groups by name).
    pub display_name_key: String,
    pub external_id: Option<String>,
}

/// The columns of a User resource returned by [`validate_user`] (or a PATCH).
pub fn user_columns(resource: &Value) -> Result<UserColumns, ScimError> {
    let user_name = required_str(resource, "userName", "User")?;
    let primary_email = resource
        .get("emails")
        .and_then(Value::as_array)
        .and_then(|emails| {
            let with_value = || {
                emails
                    .iter()
                    .filter(|e| e.get("value").and_then(Value::as_str).is_some())
            };
            with_value()
                .find(|e| is_primary(e))
                .or_else(|| with_value().next())
        })
        .and_then(|e| e.get("value").and_then(Value::as_str))
        .map(str::to_lowercase);
    Ok(UserColumns {
        user_name_key: user_name.to_lowercase(),
        user_name,
        external_id: optional_str(resource, "externalId"),
        display_name: optional_str(resource, "displayName"),
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        primary_email,
    })
}

/// The columns of a Group resource returned by [`validate_group`] (or a PATCH).
pub fn group_columns(resource: &Value) -> Result<GroupColumns, ScimError> {
    let display_name = required_str(resource, "displayName", "Group")?;
    Ok(GroupColumns {
        display_name_key: display_name.to_lowercase(),
        display_name,
        external_id: optional_str(resource, "externalId"),
    })
}

fn required_str(resource: &Value, name: &str, kind: &str) -> Result<String, ScimError> {
    match resource.get(name).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s.to_owned()),
        _ => Err(ScimError::invalid_value(format!(
            "{name} is required: a {kind} needs a non-empty {name}."
        ))),
    }
}

fn optional_str(resource: &Value, name: &str) -> Option<String> {
    resource
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------
// Rendering.
// ---------------------------------------------------------------------------------------

/// What the store knows about a resource beyond its JSON, for `meta` (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub resource_type: SchemaKind,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// Incremented on every change; rendered as the weak ETag [`etag`] makes.
    pub version: i64,
    /// The resource's absolute URL.
    pub location: String,
}

/// The weak ETag of a version, for `meta.version` and the `ETag` header: weak because the
/// representation varies with `attributes`, while the version does not.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The response body for a stored resource: the stored JSON plus `id`, `meta` and the
/// computed attributes in `extra` (a User's `groups`, a Group's `members`), reduced to what
/// `projection` asks for. `password` is never rendered, whatever is stored.
pub fn render(
    stored: &Value,
    id: &str,
    meta: &Meta,
    extra: Map<String, Value>,
    projection: &Projection,
) -> Value {
    let mut out = match stored {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    out.extend(extra);
    out.insert("id".into(), Value::String(id.to_owned()));
    let mut meta_json = Map::new();
    meta_json.insert(
        "resourceType".into(),
        meta.resource_type.resource_type().into(),
    );
    meta_json.insert("created".into(), rfc3339(meta.created).into());
    meta_json.insert("lastModified".into(), rfc3339(meta.last_modified).into());
    meta_json.insert("location".into(), meta.location.clone().into());
    meta_json.insert("version".into(), etag(meta.version).into());
    out.insert("meta".into(), Value::Object(meta_json));
    if !out.contains_key("schemas") {
        let core = meta.resource_type.core().id;
        out.insert("schemas".into(), Value::Array(vec![core.into()]));
    }
    Value::Object(projection.apply(meta.resource_type, out))
}

fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting an OffsetDateTime as RFC 3339 only fails for years outside 0..=9999.
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The `attributes` / `excludedAttributes` query parameters (RFC 7644 §3.9).
///
/// Names are kept unresolved (lowercased) because the parameters are parsed before the
/// resource type is known for `/.search`-style callers; an unknown name simply selects
/// nothing, as most servers do, rather than failing a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Option<Vec<AttrRef>>,
    excluded: Vec<AttrRef>,
}

/// One name from the parameters, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AttrRef {
    /// A whole schema, as in `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    Schema(String),
    Attr {
        urn: Option<String>,
        attr: String,
        sub: Option<String>,
    },
}

/// What to keep of one attribute.
#[derive(Debug, Default)]
struct Pick {
    include: bool,
    /// When only some sub-attributes were asked for.
    only_subs: Option<Vec<String>>,
    /// Sub-attributes `excludedAttributes` named.
    except_subs: Vec<String>,
}

impl Projection {
    /// Parses the two comma-separated parameters. Both may be given: the result is what
    /// `attributes` selects minus what `excludedAttributes` removes.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let attributes = match attributes
            .map(|a| parse_list(a, "attributes"))
            .transpose()?
        {
            Some(list) if list.is_empty() => None,
            other => other,
        };
        let excluded = excluded
            .map(|e| parse_list(e, "excludedAttributes"))
            .transpose()?
            .unwrap_or_default();
        Ok(Projection {
            attributes,
            excluded,
        })
    }

    /// Whether the response will contain the top-level attribute `attr` (such as
    /// `members`), so the caller can skip computing it: loading a large group's members
    /// is the expensive part of a Group read.
    pub fn wants(&self, kind: SchemaKind, attr: &str) -> bool {
        if attr.eq_ignore_ascii_case("schemas") {
            return true;
        }
        for schema in kind.schemas() {
            if let Some(a) = find_attribute(schema, attr) {
                return self.pick(schema.id, a).include;
            }
        }
        match find_common_attribute(attr) {
            Some(a) => self.pick(kind.core().id, a).include,
            None => false,
        }
    }

    /// Whether the response will contain the core attribute `attr` with every one of its
    /// sub-attributes, as computed: then the caller may write the value out itself, as the
    /// group response does for members, without building it as JSON first.
    pub fn keeps_whole(&self, kind: SchemaKind, attr: &str) -> bool {
        find_attribute(kind.core(), attr).is_some_and(|a| {
            let pick = self.pick(kind.core().id, a);
            pick.include && pick.keeps_every_sub(a)
        })
    }

    fn pick(&self, urn: &str, attr: &Attribute) -> Pick {
        let urn_lower = urn.to_ascii_lowercase();
        let name = attr.name.to_ascii_lowercase();
        let mut pick = Pick::default();
        if attr.returned == Returned::Never {
            return pick;
        }
        if attr.returned == Returned::Always {
            pick.include = true;
        } else if let Some(list) = &self.attributes {
            let mut subs = Vec::new();
            for r in list {
                match r.matches(&urn_lower, &name) {
                    Some(None) => pick.include = true,
                    Some(Some(sub)) => subs.push(sub.to_owned()),
                    None => {}
                }
            }
            if !pick.include && !subs.is_empty() {
                pick.include = true;
                pick.only_subs = Some(subs);
            }
        } else {
            pick.include = attr.returned != Returned::Request;
        }
        if attr.returned != Returned::Always {
            for r in &self.excluded {
                match r.matches(&urn_lower, &name) {
                    Some(None) => pick.include = false,
                    Some(Some(sub)) => pick.except_subs.push(sub.to_owned()),
                    None => {}
                }
            }
        }
        pick
    }

    fn apply(&self, kind: SchemaKind, resource: Map<String, Value>) -> Map<String, Value> {
        let core = kind.core();
        let mut out = Map::new();
        for (key, value) in resource {
            if key == "schemas" || key == "id" {
                out.insert(key, value);
                continue;
            }
            if let Some(ext) = kind.extension_for_urn(&key) {
                let Value::Object(ext_map) = value else {
                    continue;
                };
                let mut kept = Map::new();
                for (k, v) in ext_map {
                    let Some(attr) = find_attribute(ext, &k) else {
                        kept.insert(k, v);
                        continue;
                    };
                    if let Some(v) = self.project(ext.id, attr, v) {
                        kept.insert(k, v);
                    }
                }
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
                continue;
            }
            let attr = find_attribute(core, &key).or_else(|| find_common_attribute(&key));
            match attr {
                Some(attr) => {
                    if let Some(v) = self.project(core.id, attr, value) {
                        out.insert(key, v);
                    }
                }
                None => {
                    out.insert(key, value);
                }
            }
        }
        out
    }

    /// The part of `value` (the value of `attr`) the projection keeps, if any.
    fn project(&self, urn: &str, attr: &'static Attribute, value: Value) -> Option<Value> {
        let pick = self.pick(urn, attr);
        if !pick.include {
            return None;
        }
        if attr.kind != AttrType::Complex {
            return Some(value);
        }
        if pick.keeps_every_sub(attr) && !has_empty_object(&value) {
            // What the filtering below would return, without rebuilding every object: a
            // group's members are tens of thousands of them.
            return Some(value);
        }
        let keep_subs = |map: Map<String, Value>| -> Option<Value> {
            let kept: Map<String, Value> = map
                .into_iter()
                .filter(|(k, _)| pick.keeps_sub(attr, k))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        };
        match value {
            Value::Object(map) => keep_subs(map),
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(map) => keep_subs(map),
                        other => Some(other),
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            other => Some(other),
        }
    }
}

/// Whether a complex value is, or holds, an empty object (or is an empty list): projection
/// drops those, so they rule out keeping the value as it is.
fn has_empty_object(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => {
            items.is_empty()
                || items
                    .iter()
                    .any(|item| matches!(item, Value::Object(map) if map.is_empty()))
        }
        _ => false,
    }
}

impl Pick {
    /// Whether [`Pick::keeps_sub`] holds for every key: no sub-attribute was named either
    /// way and none is returned only on request or never.
    fn keeps_every_sub(&self, attr: &Attribute) -> bool {
        self.only_subs.is_none()
            && self.except_subs.is_empty()
            && attr
                .sub_attributes
                .iter()
                .all(|s| matches!(s.returned, Returned::Default | Returned::Always))
    }

    fn keeps_sub(&self, attr: &Attribute, key: &str) -> bool {
        let returned = attr
            .sub_attribute(key)
            .map_or(Returned::Default, |s| s.returned);
        let key = key.to_ascii_lowercase();
        let listed = self
            .only_subs
            .as_ref()
            .is_some_and(|subs| subs.contains(&key));
        match returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Request => listed,
            Returned::Default => {
                (self.only_subs.is_none() || listed) && !self.except_subs.contains(&key)
            }
        }
    }
}

impl AttrRef {
    /// Whether this name selects the attribute `attr` of schema `urn` (both lowercase):
    /// `Some(None)` for the whole attribute, `Some(Some(sub))` for one sub-attribute.
    /// Unqualified names match in any of the resource's schemas, as clients rarely qualify
    /// extension attributes in these parameters.
    fn matches(&self, urn: &str, attr: &str) -> Option<Option<&str>> {
        match self {
            AttrRef::Schema(s) => (s == urn).then_some(None),
            AttrRef::Attr {
                urn: ref_urn,
                attr: ref_attr,
                sub,
            } => {
                let urn_ok = ref_urn.as_deref().is_none_or(|u| u == urn);
                (urn_ok && ref_attr == attr).then_some(sub.as_deref())
            }
        }
    }
}

fn parse_list(input: &str, parameter: &str) -> Result<Vec<AttrRef>, ScimError> {
    let mut out = Vec::new();
    for item in input.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(schema) = schema_by_urn(item) {
            out.push(AttrRef::Schema(schema.id.to_ascii_lowercase()));
            continue;
        }
        let path = parse_path(item).map_err(|e| {
            ScimError::invalid_value(format!(
                "Invalid attribute name \"{item}\" in {parameter}: {e}"
            ))
        })?;
        if path.value_filter.is_some() {
            return Err(ScimError::invalid_value(format!(
                "Invalid attribute name \"{item}\" in {parameter}: filters are not allowed \
                 here; use a name such as emails.value."
            )));
        }
        out.push(AttrRef::Attr {
            urn: path.attr.urn.map(|u| u.to_ascii_lowercase()),
            attr: path.attr.attr.to_ascii_lowercase(),
            sub: path.attr.sub_attr.map(|s| s.to_ascii_lowercase()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    /// What Okta POSTs to /Users with the default mapping (okta-scim.md §9).
    fn okta_user_body() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true
        })
    }

    fn valid_user(body: Value) -> Value {
        match validate_user(&body) {
            Ok(v) => v.resource,
            Err(e) => panic!("{body} should validate, got {e:?}"),
        }
    }

    fn user_error(body: Value) -> ScimError {
        match validate_user(&body) {
            Ok(v) => panic!("{body} should fail, got {:?}", v.resource),
            Err(e) => e,
        }
    }

    fn meta(kind: SchemaKind) -> Meta {
        Meta {
            resource_type: kind,
            created: datetime!(2024-05-01 12:00:00 UTC),
            last_modified: datetime!(2024-05-02 08:30:00 UTC),
            version: 3,
            location: "https://gh.example/scim/v2/Users/u1".into(),
        }
    }

    fn rendered(stored: &Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let projection = Projection::parse(attributes, excluded).unwrap();
        render(
            stored,
            "u1",
            &meta(SchemaKind::User),
            Map::new(),
            &projection,
        )
    }

    #[test]
    fn okta_create_user_body_is_stored_without_read_only_and_password() {
        let validated = validate_user(&okta_user_body()).unwrap();
        assert_eq!(validated.password.as_deref(), Some("1mz050nq"));
        assert_eq!(validated.members, None);
        assert_eq!(
            validated.resource,
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "active": true
            })
        );
    }

    #[test]
    fn okta_put_of_its_last_get_round_trips() {
        // Okta PUTs back our GET body, id, meta and groups included (okta-scim.md §6).
        let stored = valid_user(okta_user_body());
        let mut extra = Map::new();
        extra.insert("groups".into(), json!([{"value": "g1", "display": "Eng"}]));
        let get = render(
            &stored,
            "u1",
            &meta(SchemaKind::User),
            extra,
            &Projection::default(),
        );
        assert_eq!(get["groups"][0]["value"], "g1");
        assert_eq!(valid_user(get), stored);
    }

    #[test]
    fn username_case_is_preserved_but_key_is_lowercase() {
        let stored =
            valid_user(json!({"schemas": [USER_SCHEMA], "userName": "Test.User@Okta.Local"}));
        assert_eq!(stored["userName"], "Test.User@Okta.Local");
        let columns = user_columns(&stored).unwrap();
        assert_eq!(columns.user_name, "Test.User@Okta.Local");
        assert_eq!(columns.user_name_key, "test.user@okta.local");
    }

    #[test]
    fn attribute_names_are_normalised_to_schema_case() {
        let stored = valid_user(json!({
            "SCHEMAS": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],
            "USERNAME": "bjensen",
            "Name": {"GIVENNAME": "Barbara"},
            "Emails": [{"VALUE": "b@example.com", "Primary": "TRUE"}],
            "externalid": "x1",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"EmployeeNumber": "7"}
        }));
        assert_eq!(
            stored,
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "emails": [{"value": "b@example.com", "primary": true}],
                "externalId": "x1",
                ENTERPRISE_USER_SCHEMA: {"employeeNumber": "7"}
            })
        );
    }

    #[test]
    fn unknown_schema_is_rejected() {
        let e = user_error(json!({
            "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:acme:2.0:User"],
            "userName": "a"
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e
            .detail
            .contains("urn:ietf:params:scim:schemas:extension:acme:2.0:User"));
        // A Group schema on a User is just as unknown.
        let e = user_error(json!({"schemas": [USER_SCHEMA, GROUP_SCHEMA], "userName": "a"}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn schemas_must_be_present_and_include_the_core_schema() {
        let table = [
            (json!({"userName": "a"}), ScimType::InvalidSyntax),
            (
                json!({"schemas": null, "userName": "a"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [], "userName": "a"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": USER_SCHEMA, "userName": "a"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [7], "userName": "a"}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [ENTERPRISE_USER_SCHEMA], "userName": "a"}),
                ScimType::InvalidValue,
            ),
        ];
        for (body, scim_type) in table {
            assert_eq!(
                user_error(body.clone()).scim_type,
                Some(scim_type),
                "{body}"
            );
        }
    }

    #[test]
    fn entra_adscim_schema_urn_is_dropped_not_refused() {
        // Entra's "Create Group" request, as its SCIM guide shows it.
        let group = validate_group(&json!({
            "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"}
        }))
        .unwrap();
        assert_eq!(group.resource["schemas"], json!([GROUP_SCHEMA]));
        let user = validate_user(&json!({
            "schemas": ["http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User", USER_SCHEMA],
            "userName": "a"
        }))
        .unwrap();
        assert_eq!(user.resource["schemas"], json!([USER_SCHEMA]));
        // Only those two: other Microsoft URNs, and the marker alone, are still refused.
        let e = user_error(json!({
            "schemas": [USER_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Other"],
            "userName": "a"
        }));
        assert!(e.detail.starts_with("Unsupported schema"), "{}", e.detail);
        let e = user_error(json!({
            "schemas": ["http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User"],
            "userName": "a"
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{}", e.detail);
    }

    #[test]
    fn unknown_top_level_attribute_is_rejected_naming_it() {
        let e = user_error(json!({
            "schemas": [USER_SCHEMA], "userName": "a", "favoriteColor": "blue", "shoeSize": 9
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("\"favoriteColor\""), "{}", e.detail);
        assert!(e.detail.contains("\"shoeSize\""), "{}", e.detail);
        assert!(e.detail.contains("enterprise"), "{}", e.detail);
    }

    #[test]
    fn unknown_enterprise_attribute_is_rejected_with_its_urn() {
        let e = user_error(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"badgeColor": "red"}
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e
            .detail
            .contains("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badgeColor"));
    }

    #[test]
    fn okta_display_on_emails_and_unknown_sub_attributes_are_kept() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "emails": [{"value": "a@x", "display": "A", "okta": "extra"}],
            "name": {"givenName": "A", "nickname2": "Al"}
        }));
        assert_eq!(stored["emails"][0]["display"], "A");
        assert_eq!(stored["emails"][0]["okta"], "extra");
        assert_eq!(stored["name"]["nickname2"], "Al");
    }

    #[test]
    fn read_only_echoes_are_dropped_not_refused() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "u1",
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            "userName": "a",
            "groups": [{"value": "g1"}],
            ENTERPRISE_USER_SCHEMA: {
                "manager": {"value": "m1", "$ref": "../Users/m1", "displayName": "John Smith"}
            }
        }));
        assert_eq!(
            stored,
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "a",
                ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1", "$ref": "../Users/m1"}}
            })
        );
    }

    #[test]
    fn entra_string_booleans_are_normalised() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "active": "False",
            "emails": [{"value": "a@x", "primary": "True"}, {"value": "b@x", "primary": "false"}]
        }));
        assert_eq!(stored["active"], false);
        assert_eq!(stored["emails"][0]["primary"], true);
        assert_eq!(stored["emails"][1]["primary"], false);
    }

    #[test]
    fn wrong_json_types_are_invalid_value() {
        let table = [
            json!({"active": "maybe"}),
            json!({"active": 1}),
            json!({"userName": true}),
            json!({"name": "Barbara Jensen"}),
            json!({"emails": ["a@x"]}),
            json!({"emails": [{"value": {"nested": true}}]}),
            json!({"emails": [{"value": "a@x", "primary": "yes"}]}),
            json!({"externalId": ["x"]}),
            json!({"password": 1234}),
            json!({ENTERPRISE_USER_SCHEMA: "Engineering"}),
            json!({ENTERPRISE_USER_SCHEMA: {"manager": ["m1"]}}),
        ];
        for extra in table {
            let mut body = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]});
            if extra.get("userName").is_none() {
                body["userName"] = json!("a");
            }
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let e = user_error(body.clone());
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{body}: {e:?}");
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn single_object_for_multi_valued_attribute_is_invalid_value() {
        let e = user_error(json!({
            "schemas": [USER_SCHEMA], "userName": "a", "emails": {"value": "a@x"}
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("emails is multi-valued"), "{}", e.detail);
    }

    #[test]
    fn two_primary_emails_are_rejected() {
        let e = user_error(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": "True"}]
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("primary"));
    }

    #[test]
    fn entra_manager_as_plain_id_string() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"manager": "m1"}
        }));
        assert_eq!(
            stored[ENTERPRISE_USER_SCHEMA]["manager"],
            json!({"value": "m1"})
        );
    }

    #[test]
    fn okta_numeric_employee_number_is_stored_as_text() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": 701984, "costCenter": 4130}
        }));
        assert_eq!(stored[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "701984");
        assert_eq!(stored[ENTERPRISE_USER_SCHEMA]["costCenter"], "4130");
    }

    #[test]
    fn okta_empty_values_push_is_accepted() {
        // Okta test plan C9337 "Verify Update To Push Empty Values".
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "nickName": "",
            "title": null,
            "active": "",
            "phoneNumbers": [],
            "addresses": [null],
            "name": {"givenName": null},
            "password": ""
        }));
        assert_eq!(
            stored,
            json!({"schemas": [USER_SCHEMA], "userName": "a", "nickName": ""})
        );
    }

    #[test]
    fn enterprise_attributes_add_the_extension_schema_urn() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"department": "Eng"}
        }));
        assert_eq!(
            stored["schemas"],
            json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );
    }

    #[test]
    fn username_is_required_and_not_blank() {
        for body in [
            json!({"schemas": [USER_SCHEMA]}),
            json!({"schemas": [USER_SCHEMA], "userName": ""}),
            json!({"schemas": [USER_SCHEMA], "userName": "   "}),
            json!({"schemas": [USER_SCHEMA], "userName": null}),
        ] {
            let e = user_error(body.clone());
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{body}");
            assert!(e.detail.contains("userName is required"), "{}", e.detail);
        }
    }

    #[test]
    fn same_attribute_in_two_cases_is_rejected() {
        let e = user_error(json!({
            "schemas": [USER_SCHEMA], "userName": "a", "USERNAME": "b"
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("more than once"));
    }

    #[test]
    fn non_object_body_and_absurd_nesting_are_invalid_syntax() {
        let e = validate_user(&json!([1, 2])).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let mut deep = json!("x");
        for _ in 0..20 {
            deep = json!({ "k": deep });
        }
        let e = user_error(json!({
            "schemas": [USER_SCHEMA], "userName": "a", "name": {"givenName": "A", "x": deep}
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn too_many_values_are_rejected() {
        let emails: Vec<Value> = (0..=MAX_VALUES)
            .map(|i| json!({"value": format!("{i}@x")}))
            .collect();
        let e = user_error(json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": emails}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn date_time_values_must_be_rfc3339() {
        let created = find_common_attribute("meta")
            .and_then(|m| m.sub_attribute("created"))
            .unwrap();
        assert_eq!(
            normalize_single(created, &json!("2024-05-01T12:00:00Z"), "created").unwrap(),
            Some(json!("2024-05-01T12:00:00Z"))
        );
        assert_eq!(
            normalize_single(created, &json!("2024-05-01T12:00:00.5+02:00"), "created").unwrap(),
            Some(json!("2024-05-01T12:00:00.5+02:00"))
        );
        for bad in [json!("2024-05-01"), json!("yesterday"), json!(1714564800)] {
            let e = normalize_single(created, &bad, "created").unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{bad}");
        }
    }

    #[test]
    fn user_columns_pick_primary_email_and_default_active() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA],
            "userName": "a",
            "displayName": "A",
            "emails": [{"value": "Home@X"}, {"value": "Work@X", "primary": true}]
        }));
        assert_eq!(
            user_columns(&stored).unwrap(),
            UserColumns {
                user_name: "a".into(),
                user_name_key: "a".into(),
                external_id: None,
                display_name: Some("A".into()),
                active: true,
                primary_email: Some("work@x".into()),
            }
        );
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA], "userName": "a", "active": false,
            "externalId": "00u1", "emails": [{"type": "work"}, {"value": "First@X"}]
        }));
        let columns = user_columns(&stored).unwrap();
        assert!(!columns.active);
        assert_eq!(columns.external_id.as_deref(), Some("00u1"));
        assert_eq!(columns.primary_email.as_deref(), Some("first@x"));
        assert!(user_columns(&json!({})).is_err());
    }

    #[test]
    fn okta_push_group_body_returns_members_separately() {
        let validated = validate_group(&json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "Test SCIMv2",
            "members": [
                {"value": "u1", "display": "test.user@okta.local"},
                {"value": "u2"},
                {"value": "u1"}
            ]
        }))
        .unwrap();
        assert_eq!(
            validated.resource,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2"})
        );
        assert_eq!(validated.members, Some(vec!["u1".into(), "u2".into()]));
        let columns = group_columns(&validated.resource).unwrap();
        assert_eq!(columns.display_name, "Test SCIMv2");
        assert_eq!(columns.display_name_key, "test scimv2");
        assert_eq!(columns.external_id, None);
    }

    #[test]
    fn group_members_empty_null_or_absent() {
        let members = |body: Value| validate_group(&body).unwrap().members;
        assert_eq!(
            members(json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": []})),
            Some(vec![])
        );
        assert_eq!(
            members(json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": null})),
            None
        );
        assert_eq!(
            members(json!({"schemas": [GROUP_SCHEMA], "displayName": "G"})),
            None
        );
    }

    #[test]
    fn group_validation_errors() {
        let table = [
            json!({"schemas": [GROUP_SCHEMA]}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": ""}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"display": "x"}]}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": ""}]}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": ["u1"]}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": {"value": "u1"}}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "userName": "x"}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G", ENTERPRISE_USER_SCHEMA: {}}),
        ];
        for body in table {
            let e = validate_group(&body).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{body}: {e:?}");
        }
        let e = validate_group(&json!({"schemas": [USER_SCHEMA], "displayName": "G"})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn render_adds_id_and_meta_with_weak_etag() {
        let stored = valid_user(okta_user_body());
        let out = rendered(&stored, None, None);
        assert_eq!(out["id"], "u1");
        assert_eq!(
            out["meta"],
            json!({
                "resourceType": "User",
                "created": "2024-05-01T12:00:00Z",
                "lastModified": "2024-05-02T08:30:00Z",
                "location": "https://gh.example/scim/v2/Users/u1",
                "version": "W/\"3\""
            })
        );
        assert_eq!(etag(12), "W/\"12\"");
        // What Okta's SPEC test asserts on GET /Users/{id}.
        assert_eq!(out["name"]["familyName"], "User");
        assert_eq!(out["name"]["givenName"], "Test");
        assert_eq!(out["userName"], "test.user@okta.local");
        assert_eq!(out["active"], true);
        assert_eq!(out["emails"][0]["value"], "test.user@okta.local");
        assert_eq!(out["schemas"], json!([USER_SCHEMA]));
    }

    #[test]
    fn password_is_never_returned() {
        let mut stored = valid_user(okta_user_body());
        // Even if something wrote it into storage, and even if asked for.
        stored["password"] = json!("secret");
        for (attributes, excluded) in [
            (None, None),
            (Some("password"), None),
            (Some("userName,password"), Some("id")),
        ] {
            let out = rendered(&stored, attributes, excluded);
            assert!(out.get("password").is_none(), "{out}");
        }
    }

    #[test]
    fn attributes_projection_keeps_always_returned() {
        let stored = valid_user(okta_user_body());
        let out = rendered(&stored, Some("userName"), None);
        assert_eq!(
            out,
            json!({"schemas": [USER_SCHEMA], "id": "u1", "userName": "test.user@okta.local"})
        );
    }

    #[test]
    fn attributes_projection_selects_sub_attributes_case_insensitively() {
        let stored = valid_user(okta_user_body());
        let out = rendered(
            &stored,
            Some(" NAME.givenname , emails.VALUE,meta.version"),
            None,
        );
        assert_eq!(
            out,
            json!({
                "schemas": [USER_SCHEMA],
                "id": "u1",
                "name": {"givenName": "Test"},
                "emails": [{"value": "test.user@okta.local"}],
                "meta": {"version": "W/\"3\""}
            })
        );
    }

    #[test]
    fn urn_qualified_names_in_projection() {
        let stored = valid_user(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a",
            "title": "CTO",
            ENTERPRISE_USER_SCHEMA: {"department": "Eng", "costCenter": "42", "manager": {"value": "m1"}}
        }));
        let out = rendered(
            &stored,
            Some("urn:ietf:params:scim:schemas:core:2.0:User:userName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        );
        assert_eq!(
            out,
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "id": "u1",
                "userName": "a",
                ENTERPRISE_USER_SCHEMA: {"department": "Eng"}
            })
        );
        // A whole extension by its URN, and unqualified extension names.
        let out = rendered(&stored, Some(ENTERPRISE_USER_SCHEMA), None);
        assert_eq!(out[ENTERPRISE_USER_SCHEMA]["costCenter"], "42");
        assert!(out.get("title").is_none());
        let out = rendered(&stored, None, Some(ENTERPRISE_USER_SCHEMA));
        assert!(out.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(out["title"], "CTO");
        let out = rendered(&stored, None, Some("costCenter,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"));
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"department": "Eng"}));
    }

    #[test]
    fn excluded_attributes_cannot_remove_always_returned() {
        let stored = valid_user(okta_user_body());
        let out = rendered(&stored, None, Some("id,schemas,emails,name.familyName"));
        assert_eq!(out["id"], "u1");
        assert_eq!(out["schemas"], json!([USER_SCHEMA]));
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Test"}));
        assert_eq!(out["userName"], "test.user@okta.local");
        assert!(out.get("meta").is_some());
    }

    #[test]
    fn attributes_and_excluded_attributes_combine() {
        let stored = valid_user(okta_user_body());
        let out = rendered(&stored, Some("name,userName"), Some("name.givenName"));
        assert_eq!(
            out,
            json!({
                "schemas": [USER_SCHEMA],
                "id": "u1",
                "userName": "test.user@okta.local",
                "name": {"familyName": "User"}
            })
        );
    }

    #[test]
    fn projection_excluded_members() {
        let projection = Projection::parse(None, Some("members")).unwrap();
        assert!(!projection.wants(SchemaKind::Group, "members"));
        assert!(projection.wants(SchemaKind::Group, "displayName"));
        assert!(projection.wants(SchemaKind::Group, "id"));
        assert!(projection.wants(SchemaKind::Group, "schemas"));
        let projection = Projection::parse(Some("displayName"), None).unwrap();
        assert!(!projection.wants(SchemaKind::Group, "members"));
        let projection = Projection::parse(Some("members.value"), None).unwrap();
        assert!(projection.wants(SchemaKind::Group, "MEMBERS"));
        assert!(Projection::default().wants(SchemaKind::Group, "members"));
        assert!(!Projection::default().wants(SchemaKind::User, "password"));
        assert!(Projection::default().wants(SchemaKind::User, "groups"));

        let mut extra = Map::new();
        extra.insert("members".into(), json!([{"value": "u1", "display": "a"}]));
        let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "G"});
        let projection = Projection::parse(None, Some("members")).unwrap();
        let out = render(
            &group,
            "g1",
            &meta(SchemaKind::Group),
            extra.clone(),
            &projection,
        );
        assert!(out.get("members").is_none());
        assert_eq!(out["meta"]["resourceType"], "Group");
        let out = render(
            &group,
            "g1",
            &meta(SchemaKind::Group),
            extra,
            &Projection::default(),
        );
        assert_eq!(out["members"][0]["value"], "u1");
    }

    #[test]
    fn computed_groups_of_a_user_follow_the_projection() {
        let stored = valid_user(okta_user_body());
        let groups = || {
            let mut extra = Map::new();
            extra.insert("groups".into(), json!([{"value": "g1", "display": "Eng", "$ref": "https://gh.example/scim/v2/Groups/g1"}]));
            extra
        };
        let render_with = |attributes, excluded| {
            let projection = Projection::parse(attributes, excluded).unwrap();
            render(
                &stored,
                "u1",
                &meta(SchemaKind::User),
                groups(),
                &projection,
            )
        };
        assert_eq!(render_with(None, None)["groups"][0]["display"], "Eng");
        assert!(render_with(None, Some("groups")).get("groups").is_none());
        assert_eq!(
            render_with(Some("groups.value"), None)["groups"],
            json!([{"value": "g1"}])
        );
        assert!(!Projection::parse(None, Some("GROUPS"))
            .unwrap()
            .wants(SchemaKind::User, "groups"));
    }

    #[test]
    fn complex_values_kept_whole_or_filtered_come_out_the_same() {
        // Without a projection, complex values are kept as they are, except that empty
        // objects and lists are still dropped as the filtering path drops them.
        let stored = json!({"schemas": [GROUP_SCHEMA], "displayName": "G"});
        let mut extra = Map::new();
        extra.insert(
            "members".into(),
            json!([{"value": "u1", "display": "a", "$ref": "r1", "type": "User", "extra": 1}, {}]),
        );
        let out = render(
            &stored,
            "g1",
            &meta(SchemaKind::Group),
            extra,
            &Projection::default(),
        );
        assert_eq!(
            out["members"],
            json!([{"value": "u1", "display": "a", "$ref": "r1", "type": "User", "extra": 1}])
        );
        let mut extra = Map::new();
        extra.insert("members".into(), json!([]));
        let out = render(
            &stored,
            "g1",
            &meta(SchemaKind::Group),
            extra,
            &Projection::default(),
        );
        assert!(out.get("members").is_none(), "{out}");

        let mut user = valid_user(okta_user_body());
        user["name"] = json!({});
        let out = rendered(&user, None, None);
        assert!(out.get("name").is_none(), "{out}");
        let whole = rendered(&valid_user(okta_user_body()), None, None);
        assert_eq!(whole["emails"], valid_user(okta_user_body())["emails"]);
        // Excluding a sub-attribute still filters each value.
        let out = rendered(&valid_user(okta_user_body()), None, Some("emails.type"));
        assert!(out["emails"][0].get("type").is_none(), "{out}");
        assert_eq!(out["emails"][0]["value"], "test.user@okta.local");
    }

    #[test]
    fn members_are_kept_whole_unless_a_projection_trims_them() {
        let whole = |a: Option<&str>, e: Option<&str>| {
            Projection::parse(a, e)
                .unwrap()
                .keeps_whole(SchemaKind::Group, "members")
        };
        assert!(whole(None, None));
        assert!(whole(Some("members"), None));
        assert!(whole(None, Some("displayName")));
        assert!(!whole(None, Some("members")));
        assert!(!whole(Some("displayName"), None));
        assert!(!whole(Some("members.value"), None));
        assert!(!whole(None, Some("members.display")));
        assert!(!Projection::default().keeps_whole(SchemaKind::Group, "nope"));
    }

    #[test]
    fn empty_projection_parameters_mean_no_projection() {
        assert_eq!(
            Projection::parse(Some(""), Some(" , ")).unwrap(),
            Projection::default()
        );
    }

    #[test]
    fn malformed_projection_names_are_rejected() {
        for bad in ["emails[type eq \"work\"]", "a.b.c", "name..x", "9lives"] {
            let e = Projection::parse(Some(bad), None).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{bad}");
            assert!(e.detail.contains("attributes"), "{}", e.detail);
        }
        let e = Projection::parse(None, Some("a.b.c")).unwrap_err();
        assert!(e.detail.contains("excludedAttributes"));
        // Unknown but well-formed names select nothing rather than failing the read.
        assert!(Projection::parse(Some("shoeSize"), None).is_ok());
    }
}
