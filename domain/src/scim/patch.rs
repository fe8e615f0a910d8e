//! SCIM PATCH (RFC 7644 §3.5.2) applied to a stored resource.
//!
//! The engine is written against what identity providers actually send (okta-scim.md §5):
//! path-less operations whose `value` is an object of attribute names (plain, dotted or
//! URN-qualified), `op` in any case, booleans as the strings `"True"`/`"False"`, an `id`
//! echoed inside a group rename, and member removal either by value filter
//! (`members[value eq "…"]`, Okta) or by value list (Entra).
//!
//! Rules that keep a PATCH from silently doing the wrong thing:
//! - The whole PATCH is atomic: it runs on a copy, and the caller's resource changes only
//!   if every operation succeeded and the result passes the same validation as a POST.
//! - A filter that matches nothing is `noTarget` for `remove` and `replace` (RFC 7644
//!   §3.5.2.2/3), except for group members, where removing an absent member is a no-op
//!   (Okta retries removals; authentik#24173 shows what a 4xx there does).
//! - Group members are never stored in the resource: membership changes come back in
//!   [`PatchOutcome`] for the store to apply in SQL, where large groups belong.

mod value_filter;

use serde_json::{Map, Value};

use self::value_filter::selects;
use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter, Value as FilterValue};
use super::path::parse_path;
use super::resource::{
    check_primary, describe, is_primary, member_id, member_ids, normalize_single, normalize_value,
    validate, MAX_VALUES,
};
use super::schema::{
    find_attribute, find_common_attribute, AttrType, Attribute, Mutability, Schema, SchemaKind,
};

/// The schema URN every PATCH body must list.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a successful PATCH did beyond rewriting the resource JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchOutcome {
    /// Member ids to add. Adding a present member is the store's no-op.
    pub members_added: Vec<String>,
    /// Member ids to remove. Removing an absent member is the store's no-op.
    pub members_removed: Vec<String>,
    /// The complete new member list, when the PATCH replaced (or removed) all members;
    /// later adds and removes in the same PATCH are already folded in, and
    /// `members_added`/`members_removed` are then empty.
    pub members_replaced: Option<Vec<String>>,
    /// Canonical names of the attributes whose value changed (extension attributes
    /// URN-qualified), in schema order, for the event log. A rename to the same name, which
    /// Okta re-sends after every membership change, changes nothing and is not listed.
    pub changed_attributes: Vec<String>,
    /// A password the PATCH set (Okta's password sync). Never stored in the resource.
    pub password: Option<String>,
}

impl PatchOutcome {
    /// Whether the PATCH changed nothing at all, so the caller can skip the write and keep
    /// the version (and ETag) unchanged.
    pub fn is_noop(&self) -> bool {
        self.changed_attributes.is_empty()
    }
}

/// Applies the PATCH request `body` to `resource`, a stored resource of kind `kind` whose
/// id is `id` (needed because Okta echoes the id inside a path-less group rename, and only
/// a *different* id is an error).
///
/// On error `resource` is left exactly as it was.
pub fn apply_patch(
    resource: &mut Value,
    kind: SchemaKind,
    id: &str,
    body: &Value,
) -> Result<PatchOutcome, ScimError> {
    let operations = parse_operations(body)?;
    let Value::Object(doc) = resource.clone() else {
        return Err(ScimError::invalid_value(
            "The stored resource is not a JSON object and cannot be patched.",
        ));
    };
    let mut patcher = Patcher {
        kind,
        id,
        doc,
        members: Members::default(),
        password: None,
    };
    for (n, operation) in operations.iter().enumerate() {
        patcher
            .apply(operation)
            .map_err(|e| prefix(e, &format!("PATCH operation {}: ", n + 1)))?;
    }
    let Patcher {
        doc,
        members,
        password,
        ..
    } = patcher;
    let validated = validate(kind, &Value::Object(doc))
        .map_err(|e| prefix(e, "The PATCH would leave the resource invalid: "))?;
    let changed_attributes = changed(kind, resource, &validated.resource, &members, &password);
    *resource = validated.resource;
    Ok(PatchOutcome {
        members_added: members.added,
        members_removed: members.removed,
        members_replaced: members.replaced,
        changed_attributes,
        password: password.flatten(),
    })
}

fn prefix(mut e: ScimError, prefix: &str) -> ScimError {
    e.detail = format!("{prefix}{}", e.detail);
    e
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Replace => "replace",
            Op::Remove => "remove",
        }
    }
}

struct Operation<'a> {
    op: Op,
    path: Option<&'a str>,
    value: Option<&'a Value>,
}

/// The value of `map`'s key `name`, matched case-insensitively (`Operations`, `operations`).
fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse_operations(body: &Value) -> Result<Vec<Operation<'_>>, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "A PATCH body must be a JSON object with \"schemas\" and \"Operations\", not {}.",
            describe(body)
        )));
    };
    let has_schema = get_ci(map, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
    if !has_schema {
        return Err(ScimError::invalid_syntax(format!(
            "A PATCH body must have \"schemas\": [\"{PATCH_OP_SCHEMA}\"]."
        )));
    }
    let operations = match get_ci(map, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        Some(Value::Array(_)) => {
            return Err(ScimError::invalid_syntax(
                "Operations is empty: a PATCH needs at least one operation.",
            ))
        }
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations must be an array of operations, not {}.",
                describe(other)
            )))
        }
        None => {
            return Err(ScimError::invalid_syntax(
                "A PATCH body must have an \"Operations\" array.",
            ))
        }
    };
    operations
        .iter()
        .enumerate()
        .map(|(n, operation)| {
            parse_operation(operation)
                .map_err(|e| prefix(e, &format!("PATCH operation {}: ", n + 1)))
        })
        .collect()
}

fn parse_operation(operation: &Value) -> Result<Operation<'_>, ScimError> {
    let Value::Object(map) = operation else {
        return Err(ScimError::invalid_syntax(format!(
            "an operation must be an object with \"op\", \"path\" and \"value\", not {}.",
            describe(operation)
        )));
    };
    let op = match get_ci(map, "op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
        Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
        Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
        Some(op) => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op \"{op}\": it must be add, replace or remove."
            )))
        }
        None => {
            return Err(ScimError::invalid_syntax(
                "\"op\" is missing: it must be add, replace or remove.",
            ))
        }
    };
    let path = match get_ci(map, "path") {
        None | Some(Value::Null) => None,
        // Some clients send an empty path for a path-less operation.
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.as_str()),
        Some(other) => {
            return Err(ScimError::invalid_path(format!(
                "path must be a string, not {}.",
                describe(other)
            )))
        }
    };
    Ok(Operation {
        op,
        path,
        value: get_ci(map, "value"),
    })
}

/// Membership changes accumulated over the operations, in order.
#[derive(Debug, Default)]
struct Members {
    touched: bool,
    added: Vec<String>,
    removed: Vec<String>,
    replaced: Option<Vec<String>>,
}

impl Members {
    fn add(&mut self, ids: Vec<String>) {
        self.touched |= !ids.is_empty();
        for id in ids {
            if let Some(list) = &mut self.replaced {
                push_unique(list, id);
            } else {
                self.removed.retain(|r| *r != id);
                push_unique(&mut self.added, id);
            }
        }
    }

    fn remove(&mut self, ids: Vec<String>) {
        self.touched |= !ids.is_empty();
        for id in ids {
            if let Some(list) = &mut self.replaced {
                list.retain(|r| *r != id);
            } else {
                self.added.retain(|a| *a != id);
                push_unique(&mut self.removed, id);
            }
        }
    }

    fn replace(&mut self, ids: Vec<String>) {
        self.touched = true;
        self.added.clear();
        self.removed.clear();
        let mut list = Vec::new();
        for id in ids {
            push_unique(&mut list, id);
        }
        self.replaced = Some(list);
    }
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

/// Where an operation applies, resolved against the schema.
enum Target {
    /// A whole extension, as in `"path": "urn:…:enterprise:2.0:User"` or a path-less
    /// value keyed by the extension URN.
    Extension(&'static Schema),
    Attribute(AttrTarget),
}

struct AttrTarget {
    /// The schema whose attribute this is: decides the container (top level or the
    /// extension object).
    schema: &'static Schema,
    attr: &'static Attribute,
    filter: Option<Filter>,
    sub: Option<&'static Attribute>,
    /// The path as the client wrote it, for messages.
    label: String,
}

struct Patcher<'a> {
    kind: SchemaKind,
    id: &'a str,
    doc: Map<String, Value>,
    members: Members,
    /// `Some(None)` when a PATCH removed or emptied the password.
    password: Option<Option<String>>,
}

impl Patcher<'_> {
    fn apply(&mut self, operation: &Operation<'_>) -> Result<(), ScimError> {
        let Operation { op, path, value } = *operation;
        if let Some(path) = path {
            let target = self.resolve(path)?;
            return self.apply_target(op, target, value);
        }
        if op == Op::Remove {
            return Err(ScimError::no_target(
                "remove needs a \"path\" naming what to remove (RFC 7644 §3.5.2.2).",
            ));
        }
        let Some(Value::Object(map)) = value else {
            return Err(ScimError::invalid_value(format!(
                "{} without a path needs a \"value\" object of attribute names and values, \
                 such as {{\"active\": false}}; got {}.",
                op.as_str(),
                value.map_or("no value".to_owned(), describe)
            )));
        };
        for (key, v) in map {
            self.apply_key(op, key, v)?;
        }
        Ok(())
    }

    /// One entry of a path-less value, applied as if its key were the path.
    fn apply_key(&mut self, op: Op, key: &str, value: &Value) -> Result<(), ScimError> {
        if key.eq_ignore_ascii_case("schemas") {
            // An echo of the resource's schemas changes nothing we would store differently
            // (extension URNs follow the extension's attributes), so it is only checked.
            return self.check_schemas_echo(value);
        }
        let target = self.resolve(key)?;
        self.apply_target(op, target, Some(value))
    }

    fn check_schemas_echo(&self, value: &Value) -> Result<(), ScimError> {
        let known = value.as_array().is_some_and(|items| {
            items.iter().all(|u| {
                u.as_str()
                    .is_some_and(|u| self.kind.schema_for_urn(u).is_some())
            })
        });
        if known {
            Ok(())
        } else {
            Err(ScimError::invalid_value(format!(
                "schemas may only list {}.",
                self.kind
                    .schemas()
                    .map(|s| s.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    fn resolve(&self, text: &str) -> Result<Target, ScimError> {
        let text = text.trim();
        if let Some(ext) = self.kind.extension_for_urn(text) {
            return Ok(Target::Extension(ext));
        }
        let path = parse_path(text)?;
        let core = self.kind.core();
        let unknown = |name: &AttrPath| {
            ScimError::invalid_path(format!(
                "\"{text}\" names no attribute of a {}: there is no attribute \"{}\"{}.",
                self.kind.resource_type(),
                name.attr,
                name.urn
                    .as_deref()
                    .map_or(String::new(), |u| format!(" in schema {u}"))
            ))
        };
        let (schema, attr) = match &path.attr.urn {
            Some(urn) => {
                let schema = self.kind.schema_for_urn(urn).ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "\"{text}\" uses the schema \"{urn}\", which a {} does not have.",
                        self.kind.resource_type()
                    ))
                })?;
                let attr = find_attribute(schema, &path.attr.attr)
                    .or_else(|| {
                        (schema.id == core.id)
                            .then(|| find_common_attribute(&path.attr.attr))
                            .flatten()
                    })
                    .ok_or_else(|| unknown(&path.attr))?;
                (schema, attr)
            }
            None => {
                let found = find_attribute(core, &path.attr.attr)
                    .or_else(|| find_common_attribute(&path.attr.attr))
                    .map(|a| (core, a))
                    .or_else(|| {
                        // Unqualified extension attribute names are accepted when no core
                        // attribute has the name, which is never ambiguous for our schemas.
                        self.kind
                            .extensions()
                            .iter()
                            .find_map(|ext| find_attribute(ext, &path.attr.attr).map(|a| (*ext, a)))
                    });
                found.ok_or_else(|| unknown(&path.attr))?
            }
        };
        let sub = match path.sub_attr() {
            None => None,
            Some(sub_name) => {
                if attr.kind != AttrType::Complex {
                    return Err(ScimError::invalid_path(format!(
                        "\"{text}\": {} has no sub-attributes.",
                        attr.name
                    )));
                }
                Some(attr.sub_attribute(sub_name).ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "\"{text}\": {} has no sub-attribute \"{sub_name}\".",
                        attr.name
                    ))
                })?)
            }
        };
        if path.value_filter.is_some() && !attr.multi_valued {
            return Err(ScimError::invalid_path(format!(
                "\"{text}\": a value filter [...] only applies to multi-valued attributes, \
                 and {} is single-valued.",
                attr.name
            )));
        }
        Ok(Target::Attribute(AttrTarget {
            schema,
            attr,
            filter: path.value_filter,
            sub,
            label: text.to_owned(),
        }))
    }

    fn apply_target(
        &mut self,
        op: Op,
        target: Target,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let target = match target {
            Target::Extension(ext) => return self.apply_extension(op, ext, value),
            Target::Attribute(target) => target,
        };
        let attr = target.attr;
        let is_core = target.schema.id == self.kind.core().id;
        if is_core && attr.name == "id" {
            return match value {
                Some(Value::String(v)) if op != Op::Remove && v == self.id => Ok(()),
                _ => Err(ScimError::mutability(format!(
                    "id is read-only: a resource's id never changes (the request tried to \
                     {} it).",
                    op.as_str()
                ))),
            };
        }
        if is_core && self.kind == SchemaKind::Group && attr.name == "members" {
            return self.apply_members(op, &target, value);
        }
        if is_core && self.kind == SchemaKind::User && attr.name == "password" {
            self.password = Some(match (op, value) {
                (Op::Remove, _) | (_, None | Some(Value::Null)) => None,
                (_, Some(Value::String(s))) if s.is_empty() => None,
                (_, Some(Value::String(s))) => Some(s.clone()),
                (_, Some(other)) => {
                    return Err(ScimError::invalid_value(format!(
                        "password must be a string, not {}.",
                        describe(other)
                    )))
                }
            });
            return Ok(());
        }
        let read_only = attr.mutability == Mutability::ReadOnly
            || target
                .sub
                .is_some_and(|s| s.mutability == Mutability::ReadOnly);
        if read_only {
            return Err(ScimError::mutability(format!(
                "{} is read-only and cannot be changed with PATCH.",
                target.label
            )));
        }
        let value = match (op, value) {
            (Op::Remove, v) => v,
            (_, Some(v)) => Some(v),
            (_, None) => {
                return Err(ScimError::invalid_value(format!(
                    "{} on {} needs a \"value\".",
                    op.as_str(),
                    target.label
                )))
            }
        };
        if is_core {
            return apply_attribute(&mut self.doc, op, &target, value);
        }
        let ext_key = target.schema.id;
        if op == Op::Remove && !self.doc.contains_key(ext_key) {
            return remove_nothing(&target);
        }
        let container = self
            .doc
            .entry(ext_key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !container.is_object() {
            *container = Value::Object(Map::new());
        }
        let result = match container {
            Value::Object(map) => apply_attribute(map, op, &target, value),
            _ => Ok(()),
        };
        if self
            .doc
            .get(ext_key)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            self.doc.remove(ext_key);
        }
        result
    }

    fn apply_extension(
        &mut self,
        op: Op,
        ext: &'static Schema,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if op == Op::Remove {
            self.doc.remove(ext.id);
            return Ok(());
        }
        match value {
            Some(Value::Object(map)) => {
                for (key, v) in map {
                    let target = self.resolve(&format!("{}:{key}", ext.id))?;
                    self.apply_target(op, target, Some(v))?;
                }
                Ok(())
            }
            Some(Value::Null) if op == Op::Replace => {
                self.doc.remove(ext.id);
                Ok(())
            }
            other => Err(ScimError::invalid_value(format!(
                "{} must be given an object of the extension's attributes, not {}.",
                ext.id,
                other.map_or("no value".to_owned(), describe)
            ))),
        }
    }

    fn apply_members(
        &mut self,
        op: Op,
        target: &AttrTarget,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if target.sub.is_some() || (target.filter.is_some() && op != Op::Remove) {
            return Err(ScimError::mutability(format!(
                "{}: the sub-attributes of members are immutable; add or remove whole \
                 members instead.",
                target.label
            )));
        }
        if let Some(filter) = &target.filter {
            let ids = filter_member_ids(filter).ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "{}: members can only be selected by id, as in members[value eq \
                     \"<user id>\"] (several joined with \"or\").",
                    target.label
                ))
            })?;
            self.members.remove(ids);
            return Ok(());
        }
        if op == Op::Replace && value.is_none() {
            return Err(ScimError::invalid_value(
                "replace on members needs a \"value\": the complete new member list ([] for \
                 none).",
            ));
        }
        let ids = match value {
            None | Some(Value::Null) => None,
            // A single member object where an array belongs: unambiguous, so accepted.
            Some(v @ Value::Object(_)) => Some(vec![member_id(v, "members")?]),
            Some(v) => member_ids(v, "members")?,
        };
        match (op, ids) {
            (Op::Add, Some(ids)) => self.members.add(ids),
            (Op::Add, None) => {
                return Err(ScimError::invalid_value(
                    "add on members needs a \"value\" array of {\"value\": \"<user id>\"} \
                     objects.",
                ))
            }
            (Op::Replace, ids) => self.members.replace(ids.unwrap_or_default()),
            // Entra removes members by listing them in `value`; without a value, remove
            // means "all members" (RFC 7644 §3.5.2.2).
            (Op::Remove, Some(ids)) => self.members.remove(ids),
            (Op::Remove, None) => self.members.replace(Vec::new()),
        }
        Ok(())
    }
}

/// The member ids a `members[...]` filter selects, if it is a disjunction of
/// `value eq "<id>"`: without the member list (which lives in the store) nothing else can
/// be evaluated.
fn filter_member_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, FilterValue::String(id))
            if path.attr.eq_ignore_ascii_case("value")
                && path.sub_attr.is_none()
                && path.urn.is_none() =>
        {
            Some(vec![id.clone()])
        }
        Filter::Or(left, right) => {
            let mut ids = filter_member_ids(left)?;
            for id in filter_member_ids(right)? {
                push_unique(&mut ids, id);
            }
            Some(ids)
        }
        _ => None,
    }
}

fn remove_nothing(target: &AttrTarget) -> Result<(), ScimError> {
    if target.filter.is_some() {
        Err(no_match(target))
    } else {
        Ok(())
    }
}

fn no_match(target: &AttrTarget) -> ScimError {
    ScimError::no_target(format!(
        "{} matches no value of {}, so there is nothing to change.",
        target.label, target.attr.name
    ))
}

/// Applies one operation to the attribute's container (the resource's top level, or the
/// extension object).
fn apply_attribute(
    container: &mut Map<String, Value>,
    op: Op,
    target: &AttrTarget,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let attr = target.attr;
    if target.filter.is_some() || (attr.multi_valued && target.sub.is_some()) {
        return apply_multi_valued_selection(container, op, target, value);
    }
    let label = target.label.as_str();
    if let Some(sub) = target.sub {
        // `name.givenName`: one sub-attribute of a single-valued complex attribute.
        let object = container
            .entry(attr.name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !object.is_object() {
            *object = Value::Object(Map::new());
        }
        if let Value::Object(map) = object {
            set_sub(map, sub, if op == Op::Remove { None } else { value }, label)?;
        }
        drop_if_empty(container, attr.name);
        return Ok(());
    }
    match op {
        Op::Remove => {
            if attr.required {
                return Err(ScimError::invalid_value(format!(
                    "{} is required and cannot be removed.",
                    attr.name
                )));
            }
            match value {
                Some(v) if attr.multi_valued && !v.is_null() => {
                    remove_listed_values(container, attr, v, label)
                }
                _ => {
                    container.remove(attr.name);
                    Ok(())
                }
            }
        }
        Op::Add | Op::Replace => {
            let value = value.unwrap_or(&Value::Null);
            if attr.multi_valued {
                let items = normalize_items(attr, value, label)?;
                if op == Op::Replace {
                    set_or_remove(container, attr.name, Value::Array(items));
                    return Ok(());
                }
                let mut list = take_array(container, attr.name);
                let first_new = list.len();
                for item in items {
                    if !list
                        .iter()
                        .any(|existing| same_value(attr, existing, &item))
                    {
                        list.push(item);
                    }
                }
                let touched: Vec<usize> = (first_new..list.len()).collect();
                clear_other_primaries(&mut list, &touched);
                finish_array(container, attr, list, label)
            } else if attr.kind == AttrType::Complex {
                merge_complex(container, attr, value, label)
            } else {
                match normalize_single(attr, value, label)? {
                    Some(v) => container.insert(attr.name.to_owned(), v),
                    None => container.remove(attr.name),
                };
                Ok(())
            }
        }
    }
}

/// Operations on some values of a multi-valued attribute: those a value filter selects,
/// or all of them for `emails.value`-style paths.
fn apply_multi_valued_selection(
    container: &mut Map<String, Value>,
    op: Op,
    target: &AttrTarget,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let attr = target.attr;
    let label = target.label.as_str();
    let mut list = take_array(container, attr.name);
    let mut matched = Vec::new();
    for (i, element) in list.iter().enumerate() {
        let selected = match &target.filter {
            Some(filter) => selects(filter, element, attr)?,
            None => true,
        };
        if selected {
            matched.push(i);
        }
    }
    if matched.is_empty() {
        let created = match (op, &target.filter) {
            // RFC 7644 §3.5.2.1 lets "add" create what a filter describes; Entra sends
            // `emails[type eq "work"].value` adds for users without a work email.
            (Op::Add, filter) => new_element(filter.as_ref(), target.sub, value)?,
            (_, None) if op == Op::Remove => {
                finish_array(container, attr, list, label)?;
                return Ok(());
            }
            _ => None,
        };
        let Some(element) = created else {
            restore(container, attr.name, list);
            return Err(if target.filter.is_some() {
                no_match(target)
            } else {
                ScimError::no_target(format!(
                    "{label}: {} has no values to change; select one with a filter such as \
                     {}[type eq \"work\"].",
                    attr.name, attr.name
                ))
            });
        };
        let element = normalize_element(attr, &element, label)?;
        list.push(element);
        let touched = [list.len() - 1];
        clear_other_primaries(&mut list, &touched);
        return finish_array(container, attr, list, label);
    }
    match (op, target.sub) {
        (Op::Remove, None) => {
            let mut index = 0;
            list.retain(|_| {
                let keep = !matched.contains(&index);
                index += 1;
                keep
            });
        }
        (Op::Remove, Some(sub)) => {
            for &i in &matched {
                if let Value::Object(map) = &mut list[i] {
                    set_sub(map, sub, None, label)?;
                }
            }
            list.retain(|e| !e.as_object().is_some_and(Map::is_empty));
        }
        (Op::Replace, None) => {
            let single = single_element(value, label)?;
            let replacement = normalize_element(attr, single, label)?;
            for &i in &matched {
                list[i] = replacement.clone();
            }
        }
        (Op::Add, None) => {
            let single = single_element(value, label)?;
            let Value::Object(additions) = single else {
                return Err(ScimError::invalid_value(format!(
                    "{label} selects values of {}, so the value must be an object of its \
                     sub-attributes, not {}.",
                    attr.name,
                    describe(single)
                )));
            };
            for &i in &matched {
                if let Value::Object(map) = &mut list[i] {
                    for (key, v) in additions {
                        match attr.sub_attribute(key) {
                            Some(sub) if sub.mutability == Mutability::ReadOnly => {}
                            Some(sub) => set_sub(map, sub, Some(v), label)?,
                            None if v.is_null() => {
                                map.remove(key);
                            }
                            None => {
                                map.insert(key.clone(), v.clone());
                            }
                        }
                    }
                }
            }
        }
        (Op::Add | Op::Replace, Some(sub)) => {
            for &i in &matched {
                if let Value::Object(map) = &mut list[i] {
                    set_sub(map, sub, value, label)?;
                }
            }
            list.retain(|e| !e.as_object().is_some_and(Map::is_empty));
        }
    }
    if op != Op::Remove {
        let touched: Vec<usize> = matched.into_iter().filter(|&i| i < list.len()).collect();
        clear_other_primaries(&mut list, &touched);
    }
    finish_array(container, attr, list, label)
}

/// For an "add" whose filter matched nothing: the element the filter describes
/// (`type eq "work"` → `{"type": "work"}`) plus the added value; `None` when the filter is
/// not a plain `eq` (or an `and` of them), since nothing sensible can be created then.
fn new_element(
    filter: Option<&Filter>,
    sub: Option<&'static Attribute>,
    value: Option<&Value>,
) -> Result<Option<Value>, ScimError> {
    let mut element = Map::new();
    if let Some(filter) = filter {
        if !equalities(filter, &mut element) {
            return Ok(None);
        }
    }
    match (sub, value) {
        (Some(sub), Some(v)) => {
            element.insert(sub.name.to_owned(), v.clone());
        }
        (None, Some(Value::Object(map))) => {
            for (k, v) in map {
                element.insert(k.clone(), v.clone());
            }
        }
        (None, Some(Value::Array(items))) if items.len() == 1 => {
            let Value::Object(map) = &items[0] else {
                return Ok(None);
            };
            for (k, v) in map {
                element.insert(k.clone(), v.clone());
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(Value::Object(element)))
}

fn equalities(filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if path.sub_attr.is_none() => {
            let json = match value {
                FilterValue::String(s) => Value::String(s.clone()),
                FilterValue::Bool(b) => Value::Bool(*b),
                FilterValue::Number(n) => match serde_json::from_str(n.as_str()) {
                    Ok(v) => v,
                    Err(_) => return false,
                },
                FilterValue::Null => return false,
            };
            out.insert(path.attr.clone(), json);
            true
        }
        Filter::And(left, right) => equalities(left, out) && equalities(right, out),
        _ => false,
    }
}

/// The one element a filtered add/replace writes: an object, or an array holding one.
fn single_element<'v>(value: Option<&'v Value>, label: &str) -> Result<&'v Value, ScimError> {
    match value {
        Some(Value::Array(items)) if items.len() == 1 => Ok(&items[0]),
        Some(v @ Value::Object(_)) => Ok(v),
        other => Err(ScimError::invalid_value(format!(
            "{label} selects values of a multi-valued attribute, so the value must be one \
             object, not {}.",
            other.map_or("no value".to_owned(), describe)
        ))),
    }
}

fn normalize_element(
    attr: &'static Attribute,
    element: &Value,
    label: &str,
) -> Result<Value, ScimError> {
    normalize_single(attr, element, label)?.ok_or_else(|| {
        ScimError::invalid_value(format!("{label}: the new value of {} is empty.", attr.name))
    })
}

/// The values a PATCH gives a multi-valued attribute: an array, or (leniently) one object.
fn normalize_items(
    attr: &'static Attribute,
    value: &Value,
    label: &str,
) -> Result<Vec<Value>, ScimError> {
    let wrapped;
    let value = if value.is_object() {
        wrapped = Value::Array(vec![value.clone()]);
        &wrapped
    } else {
        value
    };
    Ok(match normalize_value(attr, value, label)? {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    })
}

/// Entra's `{"op":"Remove","path":"emails","value":[{...}]}`: removes the listed values,
/// matched by their `value` sub-attribute when given, else as whole values.
fn remove_listed_values(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    value: &Value,
    label: &str,
) -> Result<(), ScimError> {
    let listed = normalize_items(attr, value, label)?;
    let mut list = take_array(container, attr.name);
    list.retain(|existing| {
        !listed.iter().any(|gone| match gone.get("value") {
            Some(v) if gone.as_object().is_some_and(|m| m.len() == 1) => existing
                .get("value")
                .is_some_and(|e| same_sub_value(attr.sub_attribute("value"), e, v)),
            _ => same_value(attr, existing, gone),
        })
    });
    finish_array(container, attr, list, label)
}

/// `replace`/`add` on a single-valued complex attribute sets the given sub-attributes and
/// leaves the others (RFC 7644 §3.5.2.3); `null` sub-values remove them.
fn merge_complex(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    value: &Value,
    label: &str,
) -> Result<(), ScimError> {
    let wrapped: Map<String, Value>;
    let map = match value {
        Value::Null => {
            container.remove(attr.name);
            return Ok(());
        }
        Value::String(id) if attr.sub_attribute("value").is_some() => {
            // Entra ID's `manager` as a bare id string (see `normalize_single`).
            if id.is_empty() {
                container.remove(attr.name);
                return Ok(());
            }
            wrapped = Map::from_iter([("value".to_owned(), value.clone())]);
            &wrapped
        }
        Value::Object(map) => map,
        other => {
            return Err(ScimError::invalid_value(format!(
                "{label} must be an object of {}'s sub-attributes, not {}.",
                attr.name,
                describe(other)
            )))
        }
    };
    let object = container
        .entry(attr.name.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    if let Value::Object(existing) = object {
        for (key, v) in map {
            match attr.sub_attribute(key) {
                Some(sub) if sub.mutability == Mutability::ReadOnly => {}
                Some(sub) => set_sub(existing, sub, Some(v), label)?,
                None if v.is_null() => {
                    existing.remove(key);
                }
                None => {
                    existing.insert(key.clone(), v.clone());
                }
            }
        }
    }
    drop_if_empty(container, attr.name);
    Ok(())
}

/// Sets (or with `None`/`null`, removes) one sub-attribute of a complex value.
fn set_sub(
    map: &mut Map<String, Value>,
    sub: &'static Attribute,
    value: Option<&Value>,
    label: &str,
) -> Result<(), ScimError> {
    // Stored keys are canonical, but remove any other spelling too.
    map.retain(|k, _| !k.eq_ignore_ascii_case(sub.name) || k == sub.name);
    let normalized = match value {
        Some(v) => normalize_value(sub, v, label)?,
        None => None,
    };
    match normalized {
        Some(v) => map.insert(sub.name.to_owned(), v),
        None => map.remove(sub.name),
    };
    Ok(())
}

/// After a value was set `primary`, the others stop being primary (RFC 7644 §3.5.2: the
/// server clears the flag rather than refusing two primaries).
fn clear_other_primaries(list: &mut [Value], touched: &[usize]) {
    if !touched.iter().any(|&i| list.get(i).is_some_and(is_primary)) {
        return;
    }
    for (i, element) in list.iter_mut().enumerate() {
        if !touched.contains(&i) && is_primary(element) {
            element["primary"] = Value::Bool(false);
        }
    }
}

fn take_array(container: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    match container.remove(name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn restore(container: &mut Map<String, Value>, name: &str, list: Vec<Value>) {
    if !list.is_empty() {
        container.insert(name.to_owned(), Value::Array(list));
    }
}

fn finish_array(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    list: Vec<Value>,
    label: &str,
) -> Result<(), ScimError> {
    if list.len() > MAX_VALUES {
        return Err(ScimError::invalid_value(format!(
            "{label}: {} would have {} values; at most {MAX_VALUES} are allowed.",
            attr.name,
            list.len()
        )));
    }
    check_primary(&list, attr.name)?;
    restore(container, attr.name, list);
    Ok(())
}

fn set_or_remove(container: &mut Map<String, Value>, name: &str, value: Value) {
    let empty = match &value {
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if empty {
        container.remove(name);
    } else {
        container.insert(name.to_owned(), value);
    }
}

fn drop_if_empty(container: &mut Map<String, Value>, name: &str) {
    if container
        .get(name)
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        container.remove(name);
    }
}

/// Whether two values of a multi-valued attribute are the same, comparing strings the way
/// the schema says (`emails.value` ignores case).
fn same_value(attr: &'static Attribute, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, va)| {
                    b.get(k)
                        .is_some_and(|vb| same_sub_value(attr.sub_attribute(k), va, vb))
                })
        }
        _ => a == b,
    }
}

fn same_sub_value(sub: Option<&'static Attribute>, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) if !sub.is_some_and(|s| s.case_exact) => {
            a.to_lowercase() == b.to_lowercase()
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------
// What changed, for events.
// ---------------------------------------------------------------------------------------

fn changed(
    kind: SchemaKind,
    before: &Value,
    after: &Value,
    members: &Members,
    password: &Option<Option<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let differs = |container: Option<&Value>, after_container: Option<&Value>, name: &str| {
        container.and_then(|c| c.get(name)) != after_container.and_then(|c| c.get(name))
    };
    for attr in kind.core().attributes {
        let name = attr.name;
        let is_changed = match (kind, name) {
            (SchemaKind::Group, "members") => members.touched,
            (SchemaKind::User, "password") => password.as_ref().is_some_and(Option::is_some),
            _ => differs(Some(before), Some(after), name),
        };
        if is_changed {
            out.push(name.to_owned());
        }
    }
    if differs(Some(before), Some(after), "externalId") {
        out.push("externalId".to_owned());
    }
    for ext in kind.extensions() {
        for attr in ext.attributes {
            if differs(before.get(ext.id), after.get(ext.id), attr.name) {
                out.push(format!("{}:{}", ext.id, attr.name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::resource::{validate_group, validate_user};
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    const USER_ID: &str = "23a35c27-23d3-4c03-b4c5-6443c09e7173";
    const GROUP_ID: &str = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b";

    fn user() -> Value {
        validate_user(&json!({
            "schemas": [USER_SCHEMA],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User", "middleName": "Q"},
            "emails": [
                {"primary": true, "value": "test.user@okta.local", "type": "work"},
                {"value": "home@example.com", "type": "home"}
            ],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "displayName": "Test User",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "active": true
        }))
        .unwrap()
        .resource
    }

    fn group() -> Value {
        validate_group(&json!({"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2"}))
            .unwrap()
            .resource
    }

    fn body(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
    }

    fn patch_as(
        kind: SchemaKind,
        resource: &Value,
        operations: Value,
    ) -> Result<(Value, PatchOutcome), ScimError> {
        let mut patched = resource.clone();
        let id = match kind {
            SchemaKind::User => USER_ID,
            SchemaKind::Group => GROUP_ID,
        };
        let outcome = apply_patch(&mut patched, kind, id, &body(operations))?;
        Ok((patched, outcome))
    }

    fn patch_user(operations: Value) -> (Value, PatchOutcome) {
        patch_as(SchemaKind::User, &user(), operations.clone())
            .unwrap_or_else(|e| panic!("{operations} should apply, got {e:?}"))
    }

    fn patch_group(operations: Value) -> PatchOutcome {
        let (patched, outcome) = patch_as(SchemaKind::Group, &group(), operations.clone())
            .unwrap_or_else(|e| panic!("{operations} should apply, got {e:?}"));
        assert!(
            patched.get("members").is_none(),
            "members must never be stored"
        );
        outcome
    }

    fn user_error(operations: Value) -> ScimError {
        let original = user();
        let mut patched = original.clone();
        match apply_patch(
            &mut patched,
            SchemaKind::User,
            USER_ID,
            &body(operations.clone()),
        ) {
            Ok(outcome) => panic!("{operations} should fail, got {patched} / {outcome:?}"),
            Err(e) => {
                assert_eq!(
                    patched, original,
                    "a failed PATCH must not change the resource"
                );
                e
            }
        }
    }

    fn group_error(operations: Value) -> ScimError {
        patch_as(SchemaKind::Group, &group(), operations.clone())
            .err()
            .unwrap_or_else(|| panic!("{operations} should fail"))
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    // --- Okta users ------------------------------------------------------------------------

    #[test]
    fn okta_deactivate_user_with_pathless_replace() {
        let (patched, outcome) = patch_user(json!([{"op": "replace", "value": {"active": false}}]));
        assert_eq!(patched["active"], false);
        assert_eq!(outcome.changed_attributes, ["active"]);
        assert!(!outcome.is_noop());
        let mut expected = user();
        expected["active"] = json!(false);
        assert_eq!(patched, expected, "nothing else may change");
    }

    #[test]
    fn okta_reactivate_user_with_pathless_replace() {
        let mut inactive = user();
        inactive["active"] = json!(false);
        let (patched, outcome) = patch_as(
            SchemaKind::User,
            &inactive,
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .unwrap();
        assert_eq!(patched["active"], true);
        assert_eq!(outcome.changed_attributes, ["active"]);
    }

    #[test]
    fn replace_active_with_path() {
        let (patched, _) = patch_user(json!([{"op": "replace", "path": "active", "value": false}]));
        assert_eq!(patched["active"], false);
    }

    #[test]
    fn okta_password_sync_is_returned_not_stored() {
        let (patched, outcome) =
            patch_user(json!([{"op": "replace", "value": {"password": "n3w-pa55"}}]));
        assert!(patched.get("password").is_none());
        assert_eq!(outcome.password.as_deref(), Some("n3w-pa55"));
        assert_eq!(outcome.changed_attributes, ["password"]);
        assert_eq!(patched, user());
    }

    #[test]
    fn okta_profile_update_with_several_pathless_attributes() {
        let (patched, outcome) = patch_user(json!([{
            "op": "replace",
            "value": {
                "name": {"givenName": "Testy"},
                "displayName": "Testy User",
                "emails": [{"value": "testy@okta.local", "type": "work", "primary": true}]
            }
        }]));
        // replace on a complex attribute sets the given sub-attributes and keeps the rest.
        assert_eq!(
            patched["name"],
            json!({"givenName": "Testy", "familyName": "User", "middleName": "Q"})
        );
        assert_eq!(patched["displayName"], "Testy User");
        assert_eq!(
            patched["emails"],
            json!([{"value": "testy@okta.local", "type": "work", "primary": true}])
        );
        assert_eq!(
            outcome.changed_attributes,
            ["name", "displayName", "emails"]
        );
    }

    // --- Entra users -----------------------------------------------------------------------

    #[test]
    fn entra_replace_with_string_false() {
        let (patched, outcome) =
            patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(patched["active"], false);
        assert_eq!(outcome.changed_attributes, ["active"]);
        let (patched, _) = patch_user(json!([{"op": "Replace", "value": {"active": "FALSE"}}]));
        assert_eq!(patched["active"], false);
    }

    #[test]
    fn entra_capitalised_ops_are_accepted() {
        let (patched, _) = patch_user(json!([
            {"op": "Add", "path": "title", "value": "Engineer"},
            {"op": "REPLACE", "path": "nickName", "value": "Tess"},
            {"op": "Remove", "path": "name.middleName"}
        ]));
        assert_eq!(patched["title"], "Engineer");
        assert_eq!(patched["nickName"], "Tess");
        assert!(patched["name"].get("middleName").is_none());
    }

    #[test]
    fn entra_add_work_phone_creates_it_from_the_filter() {
        let (patched, _) = patch_user(json!([{
            "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0199"
        }]));
        assert_eq!(
            patched["phoneNumbers"],
            json!([
                {"value": "+1 555 0100", "type": "work"},
                {"value": "+1 555 0199", "type": "mobile"}
            ])
        );
    }

    #[test]
    fn entra_add_by_filter_updates_the_matching_value() {
        let (patched, _) = patch_user(json!([{
            "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0111"
        }]));
        assert_eq!(
            patched["phoneNumbers"],
            json!([{"value": "+1 555 0111", "type": "work"}])
        );
    }

    #[test]
    fn urn_qualified_enterprise_attribute_in_pathless_value() {
        let (patched, outcome) = patch_user(json!([{
            "op": "Add",
            "value": {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m1",
                "name.givenName": "Tess"
            }
        }]));
        assert_eq!(
            patched[ENTERPRISE_USER_SCHEMA],
            json!({"employeeNumber": "701984", "manager": {"value": "m1"}})
        );
        assert_eq!(
            patched["schemas"],
            json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );
        assert_eq!(patched["name"]["givenName"], "Tess");
        assert_eq!(
            outcome.changed_attributes,
            [
                "name",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            ]
        );
    }

    #[test]
    fn enterprise_attribute_by_urn_path_and_whole_extension_value() {
        let (patched, _) = patch_user(json!([
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Eng"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": 4130}},
            {"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"division": "R&D", "manager": {"value": "m1", "displayName": "Boss"}}}}
        ]));
        assert_eq!(
            patched[ENTERPRISE_USER_SCHEMA],
            json!({"department": "Eng", "costCenter": "4130", "division": "R&D", "manager": {"value": "m1"}})
        );
    }

    #[test]
    fn entra_add_manager_as_plain_id_string() {
        let (patched, _) = patch_user(json!([{
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
        }]));
        assert_eq!(
            patched[ENTERPRISE_USER_SCHEMA]["manager"],
            json!({"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"})
        );
        let (patched, _) = patch_as(
            SchemaKind::User,
            &patched,
            json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": ""}]),
        )
        .unwrap();
        assert!(patched.get(ENTERPRISE_USER_SCHEMA).is_none());
    }

    #[test]
    fn removing_last_enterprise_attribute_drops_the_extension_object() {
        let mut with_ext = user();
        with_ext[ENTERPRISE_USER_SCHEMA] = json!({"department": "Eng"});
        let (patched, outcome) = patch_as(
            SchemaKind::User,
            &with_ext,
            json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
        )
        .unwrap();
        assert!(patched.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(
            outcome.changed_attributes,
            ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"]
        );
        // Removing an attribute of an absent extension is a no-op.
        let (_, outcome) = patch_user(
            json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
        );
        assert!(outcome.is_noop());
    }

    #[test]
    fn unqualified_enterprise_attribute_name_is_accepted() {
        let (patched, _) =
            patch_user(json!([{"op": "replace", "path": "department", "value": "Ops"}]));
        assert_eq!(patched[ENTERPRISE_USER_SCHEMA]["department"], "Ops");
    }

    #[test]
    fn core_urn_qualified_path() {
        let (patched, _) = patch_user(json!([{
            "op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "Jensen"
        }]));
        assert_eq!(patched["name"]["familyName"], "Jensen");
    }

    // --- Multi-valued attributes ---------------------------------------------------------

    #[test]
    fn replace_email_value_by_filter_path() {
        let (patched, outcome) = patch_user(json!([{
            "op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@okta.local"
        }]));
        assert_eq!(
            patched["emails"],
            json!([
                {"primary": true, "value": "new@okta.local", "type": "work"},
                {"value": "home@example.com", "type": "home"}
            ])
        );
        assert_eq!(outcome.changed_attributes, ["emails"]);
    }

    #[test]
    fn filter_comparison_ignores_case_for_case_insensitive_attributes() {
        let (patched, _) = patch_user(json!([{
            "op": "replace", "path": "emails[value eq \"HOME@EXAMPLE.COM\"].type", "value": "other"
        }]));
        assert_eq!(patched["emails"][1]["type"], "other");
    }

    #[test]
    fn replace_filter_matching_nothing_is_no_target() {
        let e = user_error(json!([{
            "op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@y"
        }]));
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
        assert!(e.detail.contains("PATCH operation 1"), "{}", e.detail);
    }

    #[test]
    fn remove_filter_matching_nothing_is_no_target() {
        let e = user_error(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]));
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn remove_email_by_filter() {
        let (patched, _) =
            patch_user(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]));
        assert_eq!(
            patched["emails"],
            json!([{"primary": true, "value": "test.user@okta.local", "type": "work"}])
        );
        let (patched, _) =
            patch_user(json!([{"op": "remove", "path": "phoneNumbers[type eq \"work\"]"}]));
        assert!(
            patched.get("phoneNumbers").is_none(),
            "an emptied attribute is unassigned"
        );
    }

    #[test]
    fn remove_sub_attribute_of_filtered_values() {
        let (patched, _) =
            patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
        assert!(patched["emails"][0].get("primary").is_none());
    }

    #[test]
    fn replace_whole_filtered_value() {
        let (patched, _) = patch_user(json!([{
            "op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h2@example.com", "type": "home"}
        }]));
        assert_eq!(
            patched["emails"][1],
            json!({"value": "h2@example.com", "type": "home"})
        );
    }

    #[test]
    fn add_email_appends_and_deduplicates() {
        let (patched, _) = patch_user(json!([{
            "op": "add",
            "path": "emails",
            "value": [
                {"value": "HOME@example.com", "type": "home"},
                {"value": "other@example.com", "type": "other"}
            ]
        }]));
        assert_eq!(
            patched["emails"],
            json!([
                {"primary": true, "value": "test.user@okta.local", "type": "work"},
                {"value": "home@example.com", "type": "home"},
                {"value": "other@example.com", "type": "other"}
            ])
        );
    }

    #[test]
    fn replace_multi_valued_without_filter_replaces_the_list() {
        let (patched, _) = patch_user(json!([{
            "op": "replace", "path": "emails", "value": [{"value": "only@example.com"}]
        }]));
        assert_eq!(patched["emails"], json!([{"value": "only@example.com"}]));
        let (patched, _) = patch_user(json!([{"op": "replace", "path": "emails", "value": []}]));
        assert!(patched.get("emails").is_none());
    }

    #[test]
    fn adding_a_primary_email_clears_the_old_primary() {
        let (patched, _) = patch_user(json!([{
            "op": "add", "path": "emails", "value": [{"value": "new@x", "type": "work", "primary": true}]
        }]));
        assert_eq!(patched["emails"][0]["primary"], false);
        assert_eq!(patched["emails"][2]["primary"], true);
        let (patched, _) = patch_user(json!([{
            "op": "replace", "path": "emails[type eq \"home\"].primary", "value": true
        }]));
        assert_eq!(patched["emails"][0]["primary"], false);
        assert_eq!(patched["emails"][1]["primary"], true);
    }

    #[test]
    fn making_two_values_primary_at_once_is_invalid_value() {
        let e = user_error(json!([{
            "op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]
        }]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        let e = user_error(
            json!([{"op": "replace", "path": "emails[type pr].primary", "value": true}]),
        );
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn pathless_single_object_for_multi_valued_attribute_is_wrapped() {
        let (patched, _) =
            patch_user(json!([{"op": "add", "path": "emails", "value": {"value": "c@x"}}]));
        assert_eq!(patched["emails"][2], json!({"value": "c@x"}));
    }

    #[test]
    fn entra_remove_listed_values_of_a_multi_valued_attribute() {
        let (patched, _) = patch_user(json!([{
            "op": "Remove", "path": "emails", "value": [{"value": "HOME@example.com"}]
        }]));
        assert_eq!(patched["emails"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn sub_attribute_of_multi_valued_without_filter() {
        // No phone numbers yet: the add creates one; with values, it sets all of them.
        let mut resource = user();
        resource.as_object_mut().unwrap().remove("phoneNumbers");
        let (patched, _) = patch_as(
            SchemaKind::User,
            &resource,
            json!([{"op": "add", "path": "phoneNumbers.value", "value": "+1 555 0123"}]),
        )
        .unwrap();
        assert_eq!(patched["phoneNumbers"], json!([{"value": "+1 555 0123"}]));
        let (patched, _) =
            patch_user(json!([{"op": "replace", "path": "emails.display", "value": "Mail"}]));
        assert!(patched["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["display"] == "Mail"));
        let (patched, _) = patch_user(json!([{"op": "remove", "path": "emails.type"}]));
        assert!(patched["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("type").is_none()));
    }

    // --- Complex and simple attributes ---------------------------------------------------

    #[test]
    fn sub_attribute_paths_and_dotted_keys() {
        let (patched, _) = patch_user(json!([
            {"op": "replace", "path": "name.givenName", "value": "Tess"},
            {"op": "add", "value": {"name.honorificPrefix": "Dr."}},
            {"op": "remove", "path": "name.middleName"}
        ]));
        assert_eq!(
            patched["name"],
            json!({"givenName": "Tess", "familyName": "User", "honorificPrefix": "Dr."})
        );
    }

    #[test]
    fn null_value_unassigns() {
        let (patched, outcome) = patch_user(
            json!([{"op": "replace", "value": {"displayName": null, "name": {"middleName": null}}}]),
        );
        assert!(patched.get("displayName").is_none());
        assert!(patched["name"].get("middleName").is_none());
        assert_eq!(outcome.changed_attributes, ["name", "displayName"]);
    }

    #[test]
    fn replace_external_id() {
        let (patched, outcome) =
            patch_user(json!([{"op": "replace", "path": "externalId", "value": "00unew"}]));
        assert_eq!(patched["externalId"], "00unew");
        assert_eq!(outcome.changed_attributes, ["externalId"]);
    }

    #[test]
    fn remove_username_is_invalid_value() {
        let e = user_error(json!([{"op": "remove", "path": "userName"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("userName is required"), "{}", e.detail);
        let e = user_error(json!([{"op": "replace", "path": "userName", "value": ""}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("userName is required"), "{}", e.detail);
    }

    #[test]
    fn patched_username_keeps_case() {
        let (patched, outcome) = patch_user(
            json!([{"op": "replace", "path": "USERNAME", "value": "New.Name@Okta.Local"}]),
        );
        assert_eq!(patched["userName"], "New.Name@Okta.Local");
        assert_eq!(outcome.changed_attributes, ["userName"]);
    }

    // --- Errors --------------------------------------------------------------------------

    #[test]
    fn replace_readonly_id_is_mutability_error() {
        let e = user_error(json!([{"op": "replace", "path": "id", "value": "someone-else"}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = user_error(json!([{"op": "replace", "value": {"id": "someone-else"}}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = user_error(json!([{"op": "remove", "path": "id"}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn read_only_attributes_are_mutability_errors() {
        for operations in [
            json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
            json!([{"op": "replace", "value": {"groups": []}}]),
            json!([{"op": "replace", "path": "meta.lastModified", "value": "2024-01-01T00:00:00Z"}]),
            json!([{"op": "replace", "value": {"meta": {}}}]),
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "Boss"}]),
        ] {
            let e = user_error(operations.clone());
            assert_eq!(
                e.scim_type,
                Some(ScimType::Mutability),
                "{operations}: {e:?}"
            );
        }
    }

    #[test]
    fn remove_without_path_is_no_target() {
        let e = user_error(json!([{"op": "remove", "value": {"active": false}}]));
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
        let e = user_error(json!([{"op": "remove", "path": ""}]));
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn unknown_attributes_in_paths_are_invalid_path() {
        for operations in [
            json!([{"op": "replace", "path": "favoriteColor", "value": "blue"}]),
            json!([{"op": "replace", "value": {"favoriteColor": "blue"}}]),
            json!([{"op": "replace", "path": "name.nickname", "value": "x"}]),
            json!([{"op": "replace", "path": "active.value", "value": "x"}]),
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:acme:2.0:User:x", "value": "x"}]),
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}]),
            json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": "x"}]),
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            json!([{"op": "replace", "path": 7, "value": "x"}]),
            json!([{"op": "replace", "path": "members", "value": []}]),
        ] {
            let e = user_error(operations.clone());
            assert_eq!(
                e.scim_type,
                Some(ScimType::InvalidPath),
                "{operations}: {e:?}"
            );
        }
    }

    #[test]
    fn wrong_value_types_are_invalid_value() {
        for operations in [
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            json!([{"op": "replace", "value": {"active": 0}}]),
            json!([{"op": "replace", "path": "emails", "value": "a@x"}]),
            json!([{"op": "add", "path": "emails", "value": ["a@x"]}]),
            json!([{"op": "replace", "path": "name", "value": "Tess User"}]),
            json!([{"op": "replace", "path": "displayName", "value": {"x": 1}}]),
            json!([{"op": "replace", "path": "password", "value": 1234}]),
            json!([{"op": "replace", "path": "active"}]),
            json!([{"op": "replace", "value": false}]),
            json!([{"op": "add"}]),
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": "x"}]),
            json!([{"op": "replace", "value": {"schemas": ["urn:example:other"]}}]),
        ] {
            let e = user_error(operations.clone());
            assert_eq!(
                e.scim_type,
                Some(ScimType::InvalidValue),
                "{operations}: {e:?}"
            );
        }
    }

    #[test]
    fn malformed_patch_bodies_are_invalid_syntax() {
        let table = [
            json!([]),
            json!({"Operations": [{"op": "replace", "value": {"active": false}}]}),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "replace", "value": {"active": false}}]}),
            json!({"schemas": [PATCH_OP_SCHEMA]}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": {"op": "replace"}}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ["replace"]}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "move", "path": "active"}]}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"path": "active", "value": true}]}),
        ];
        for bad in table {
            let mut resource = user();
            let e = apply_patch(&mut resource, SchemaKind::User, USER_ID, &bad).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{bad}: {e:?}");
            assert_eq!(resource, user());
        }
    }

    #[test]
    fn lowercase_operations_key_and_schema_case_are_accepted() {
        let mut resource = user();
        let patch = json!({
            "schemas": ["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
            "operations": [{"OP": "replace", "PATH": "active", "VALUE": false}]
        });
        apply_patch(&mut resource, SchemaKind::User, USER_ID, &patch).unwrap();
        assert_eq!(resource["active"], false);
    }

    #[test]
    fn failed_patch_leaves_resource_unchanged() {
        let original = user();
        let mut resource = original.clone();
        let e = apply_patch(
            &mut resource,
            SchemaKind::User,
            USER_ID,
            &body(json!([
                {"op": "replace", "value": {"active": false}},
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "nosuch", "value": 1}
            ])),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert!(e.detail.starts_with("PATCH operation 3:"), "{}", e.detail);
        assert_eq!(resource, original);
    }

    #[test]
    fn unchanged_values_are_a_noop() {
        let (patched, outcome) = patch_user(json!([
            {"op": "replace", "value": {"active": true, "displayName": "Test User", "schemas": [USER_SCHEMA]}},
            {"op": "add", "path": "emails", "value": [{"value": "home@example.com", "type": "home"}]}
        ]));
        assert_eq!(patched, user());
        assert!(outcome.is_noop(), "{outcome:?}");
    }

    // --- Groups --------------------------------------------------------------------------

    #[test]
    fn okta_rename_group_with_id_in_value() {
        let mut resource = group();
        let outcome = apply_patch(
            &mut resource,
            SchemaKind::Group,
            GROUP_ID,
            &body(json!([{"op": "replace", "value": {"id": GROUP_ID, "displayName": "Renamed"}}])),
        )
        .unwrap();
        assert_eq!(
            resource,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Renamed"})
        );
        assert_eq!(outcome.changed_attributes, ["displayName"]);
        assert_eq!(outcome.members_replaced, None);
    }

    #[test]
    fn group_external_id_and_name_in_one_pathless_replace() {
        let mut resource = group();
        let outcome = apply_patch(
            &mut resource,
            SchemaKind::Group,
            GROUP_ID,
            &body(
                json!([{"op": "Replace", "value": {"displayName": "Ops", "externalId": "00g1"}}]),
            ),
        )
        .unwrap();
        assert_eq!(
            resource,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Ops", "externalId": "00g1"})
        );
        assert_eq!(outcome.changed_attributes, ["displayName", "externalId"]);
    }

    #[test]
    fn patching_a_non_object_resource_fails_cleanly() {
        let mut resource = json!("not a resource");
        let e = apply_patch(
            &mut resource,
            SchemaKind::User,
            USER_ID,
            &body(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(resource, json!("not a resource"));
    }

    #[test]
    fn okta_rename_to_the_same_name_is_a_noop() {
        let outcome = patch_group(
            json!([{"op": "replace", "value": {"id": GROUP_ID, "displayName": "Test SCIMv2"}}]),
        );
        assert!(outcome.is_noop());
    }

    #[test]
    fn okta_rename_with_another_id_is_mutability() {
        let e =
            group_error(json!([{"op": "replace", "value": {"id": "other", "displayName": "X"}}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn group_display_name_cannot_be_removed() {
        let e = group_error(json!([{"op": "remove", "path": "displayName"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        let e = group_error(json!([{"op": "replace", "path": "displayName", "value": " "}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn okta_add_member() {
        let outcome = patch_group(json!([{
            "op": "add", "path": "members",
            "value": [{"value": "u1", "display": "test.user@okta.local"}]
        }]));
        assert_eq!(outcome.members_added, ids(&["u1"]));
        assert!(outcome.members_removed.is_empty());
        assert_eq!(outcome.members_replaced, None);
        assert_eq!(outcome.changed_attributes, ["members"]);
    }

    #[test]
    fn okta_remove_member_by_value_filter() {
        let outcome = patch_group(json!([{
            "op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"
        }]));
        assert_eq!(
            outcome.members_removed,
            ids(&["89bb1940-b905-4575-9e7f-6f887cfb368e"])
        );
        assert!(outcome.members_added.is_empty());
    }

    #[test]
    fn okta_membership_update_removes_and_adds_in_one_request() {
        // The exact body from okta-scim.md §5, followed by Okta's rename re-send.
        let outcome = patch_group(json!([
            {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
            {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]},
            {"op": "replace", "value": {"id": GROUP_ID, "displayName": "Test SCIMv2"}}
        ]));
        assert_eq!(
            outcome.members_removed,
            ids(&["89bb1940-b905-4575-9e7f-6f887cfb368e"])
        );
        assert_eq!(
            outcome.members_added,
            ids(&["23a35c27-23d3-4c03-b4c5-6443c09e7173"])
        );
        assert_eq!(outcome.changed_attributes, ["members"]);
    }

    #[test]
    fn okta_push_now_replaces_members() {
        let outcome = patch_group(json!([{
            "op": "replace", "path": "members",
            "value": [{"value": "u1", "display": "a"}, {"value": "u2", "display": "b"}, {"value": "u1"}]
        }]));
        assert_eq!(outcome.members_replaced, Some(ids(&["u1", "u2"])));
        assert!(outcome.members_added.is_empty() && outcome.members_removed.is_empty());
    }

    #[test]
    fn changes_after_a_replace_are_folded_into_it() {
        let outcome = patch_group(json!([
            {"op": "add", "path": "members", "value": [{"value": "u0"}]},
            {"op": "replace", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "add", "path": "members", "value": [{"value": "u3"}]},
            {"op": "remove", "path": "members[value eq \"u1\"]"}
        ]));
        assert_eq!(outcome.members_replaced, Some(ids(&["u2", "u3"])));
        assert!(outcome.members_added.is_empty() && outcome.members_removed.is_empty());
    }

    #[test]
    fn pathless_members_in_value() {
        let outcome = patch_group(json!([{"op": "add", "value": {"members": [{"value": "u1"}]}}]));
        assert_eq!(outcome.members_added, ids(&["u1"]));
        let outcome =
            patch_group(json!([{"op": "replace", "value": {"displayName": "G2", "members": []}}]));
        assert_eq!(outcome.members_replaced, Some(vec![]));
        assert_eq!(outcome.changed_attributes, ["displayName", "members"]);
    }

    #[test]
    fn entra_remove_members_by_value_list() {
        let outcome = patch_group(json!([{
            "op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]
        }]));
        assert_eq!(outcome.members_removed, ids(&["u1", "u2"]));
        assert_eq!(outcome.members_replaced, None);
    }

    #[test]
    fn entra_add_members_with_capitalised_op() {
        let outcome =
            patch_group(json!([{"op": "Add", "path": "members", "value": [{"value": "u1"}]}]));
        assert_eq!(outcome.members_added, ids(&["u1"]));
    }

    #[test]
    fn remove_all_members_without_value() {
        let outcome = patch_group(json!([{"op": "remove", "path": "members"}]));
        assert_eq!(outcome.members_replaced, Some(vec![]));
    }

    #[test]
    fn add_existing_member_is_a_noop() {
        // Set semantics are the store's; within one request ids are de-duplicated, and an
        // add cancelled by a later remove leaves only the remove.
        let outcome = patch_group(json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u1"}]},
            {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "remove", "path": "members[value eq \"u3\"]"},
            {"op": "remove", "path": "members[value eq \"u3\"]"}
        ]));
        assert_eq!(outcome.members_added, ids(&["u1"]));
        assert_eq!(outcome.members_removed, ids(&["u2", "u3"]));
    }

    #[test]
    fn remove_absent_member_is_not_an_error() {
        let outcome =
            patch_group(json!([{"op": "remove", "path": "members[value eq \"never-a-member\"]"}]));
        assert_eq!(outcome.members_removed, ids(&["never-a-member"]));
    }

    #[test]
    fn remove_members_with_or_filter() {
        let outcome = patch_group(json!([{
            "op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\" or VALUE EQ \"u1\"]"
        }]));
        assert_eq!(outcome.members_removed, ids(&["u1", "u2"]));
    }

    #[test]
    fn members_filters_other_than_value_eq_are_invalid_filter() {
        for path in [
            "members[display eq \"a\"]",
            "members[value co \"u\"]",
            "members[value eq \"u1\" and type eq \"User\"]",
            "members[not (value eq \"u1\")]",
        ] {
            let e = group_error(json!([{"op": "remove", "path": path}]));
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{path}: {e:?}");
        }
    }

    #[test]
    fn member_sub_attributes_are_immutable() {
        for operations in [
            json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
            json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u2"}}]),
            json!([{"op": "replace", "path": "members.value", "value": "u2"}]),
            json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": {"value": "u1"}}]),
        ] {
            let e = group_error(operations.clone());
            assert_eq!(
                e.scim_type,
                Some(ScimType::Mutability),
                "{operations}: {e:?}"
            );
        }
    }

    #[test]
    fn malformed_member_values_are_invalid_value() {
        for operations in [
            json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}]),
            json!([{"op": "add", "path": "members", "value": ["u1"]}]),
            json!([{"op": "add", "path": "members", "value": "u1"}]),
            json!([{"op": "add", "path": "members"}]),
            json!([{"op": "replace", "path": "members"}]),
            json!([{"op": "remove", "path": "members", "value": [{"value": 5}]}]),
        ] {
            let e = group_error(operations.clone());
            assert_eq!(
                e.scim_type,
                Some(ScimType::InvalidValue),
                "{operations}: {e:?}"
            );
        }
    }

    #[test]
    fn single_member_object_is_accepted() {
        let outcome =
            patch_group(json!([{"op": "add", "path": "members", "value": {"value": "u1"}}]));
        assert_eq!(outcome.members_added, ids(&["u1"]));
    }

    // --- Value filters ------------------------------------------------------------------

    #[test]
    fn invalid_filter_operator_in_patch_path_is_invalid_filter() {
        let e = user_error(json!([{"op": "remove", "path": "emails[primary gt true]"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    }
}
