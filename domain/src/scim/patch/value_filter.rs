//! Value filters (`emails[type eq "work"]`), evaluated against one value of a
//! multi-valued attribute held in memory.
//!
//! Comparisons follow the schema of the sub-attribute being compared: strings of
//! `caseExact: false` attributes compare case-insensitively, `dateTime` values as instants.
//! Operator and value combinations that can never make sense (`primary gt true`) are
//! `invalidFilter` even when no value has the attribute, so a broken filter fails loudly
//! instead of silently matching nothing.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::get_ci;
use crate::scim::error::ScimError;
use crate::scim::filter::{AttrPath, CompareOp, Filter, Value as FilterValue};
use crate::scim::resource::parse_bool;
use crate::scim::schema::{AttrType, Attribute};

/// Whether `filter` (whose attribute names are relative to `attr`, as in
/// `emails[type eq "work"]`) selects `element`.
pub(super) fn selects(
    filter: &Filter,
    element: &Value,
    attr: &'static Attribute,
) -> Result<bool, ScimError> {
    Ok(match filter {
        Filter::Present(path) => lookup(element, attr, path).1.is_some_and(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        }),
        Filter::Compare(path, op, expected) => {
            let (sub, actual) = lookup(element, attr, path);
            compare(actual, *op, expected, sub, path)?
        }
        Filter::Not(inner) => !selects(inner, element, attr)?,
        Filter::And(left, right) => selects(left, element, attr)? && selects(right, element, attr)?,
        Filter::Or(left, right) => selects(left, element, attr)? || selects(right, element, attr)?,
        Filter::ValuePath(path, _) => {
            return Err(ScimError::invalid_filter(format!(
                "A value filter cannot contain another value filter ({path}[...])."
            )))
        }
    })
}

/// The sub-attribute a filter path names inside one element, and its value there.
/// `emails[emails.type eq "work"]` is read like `emails[type eq "work"]`.
fn lookup<'e>(
    element: &'e Value,
    attr: &'static Attribute,
    path: &AttrPath,
) -> (Option<&'static Attribute>, Option<&'e Value>) {
    let name = match &path.sub_attr {
        Some(sub) if path.attr.eq_ignore_ascii_case(attr.name) => sub.as_str(),
        Some(_) => return (None, None),
        None => path.attr.as_str(),
    };
    let sub = attr.sub_attribute(name);
    let value = element.as_object().and_then(|map| {
        map.get(sub.map_or(name, |s| s.name))
            .or_else(|| get_ci(map, name))
    });
    (sub, value)
}

fn compare(
    actual: Option<&Value>,
    op: CompareOp,
    expected: &FilterValue,
    sub: Option<&'static Attribute>,
    path: &AttrPath,
) -> Result<bool, ScimError> {
    let unsupported = |what: &str| {
        ScimError::invalid_filter(format!(
            "\"{path} {op} ...\": the operator {op} cannot compare {what}."
        ))
    };
    // Checked before looking at the element, so a bad filter fails even when no element
    // has the attribute.
    let equality_only = matches!(op, CompareOp::Eq | CompareOp::Ne);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match expected {
        FilterValue::Null if !equality_only => return Err(unsupported("null")),
        FilterValue::Bool(_) if !equality_only => return Err(unsupported("booleans")),
        FilterValue::Number(_) if substring => return Err(unsupported("numbers")),
        _ => {}
    }
    let actual = actual.filter(|v| !v.is_null());
    if let FilterValue::Null = expected {
        return Ok((op == CompareOp::Eq) == actual.is_none());
    }
    let Some(actual) = actual else {
        return Ok(op == CompareOp::Ne);
    };
    match expected {
        FilterValue::Bool(expected) => {
            let actual = match actual {
                Value::Bool(b) => Some(*b),
                Value::String(s) => parse_bool(s),
                _ => None,
            };
            Ok((op == CompareOp::Eq) == (actual == Some(*expected)))
        }
        FilterValue::Number(expected) => {
            let Some(actual) = actual.as_f64() else {
                return Ok(op == CompareOp::Ne);
            };
            let expected = expected.as_f64();
            Ok(match op {
                CompareOp::Eq => actual == expected,
                CompareOp::Ne => actual != expected,
                CompareOp::Gt => actual > expected,
                CompareOp::Ge => actual >= expected,
                CompareOp::Lt => actual < expected,
                CompareOp::Le => actual <= expected,
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
            })
        }
        FilterValue::String(expected) => {
            let actual = match actual {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return Ok(op == CompareOp::Ne),
            };
            if sub.is_some_and(|s| s.kind == AttrType::DateTime) {
                if let (Ok(a), Ok(e)) = (
                    OffsetDateTime::parse(&actual, &Rfc3339),
                    OffsetDateTime::parse(expected, &Rfc3339),
                ) {
                    return Ok(ordering_holds(op, a.cmp(&e)).unwrap_or(false));
                }
            }
            let fold = !sub.is_some_and(|s| s.case_exact);
            let (a, e) = if fold {
                (actual.to_lowercase(), expected.to_lowercase())
            } else {
                (actual, expected.clone())
            };
            Ok(match op {
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                _ => ordering_holds(op, a.cmp(&e)).unwrap_or(false),
            })
        }
        FilterValue::Null => Ok(false),
    }
}

fn ordering_holds(op: CompareOp, ordering: std::cmp::Ordering) -> Option<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    Some(match op {
        CompareOp::Eq => ordering == Equal,
        CompareOp::Ne => ordering != Equal,
        CompareOp::Gt => ordering == Greater,
        CompareOp::Ge => ordering != Less,
        CompareOp::Lt => ordering == Less,
        CompareOp::Le => ordering != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::{find_attribute, USER};

    #[test]
    fn value_filter_operators() {
        let emails = find_attribute(&USER, "emails").unwrap();
        let element = json!({"value": "Bjensen@Example.com", "type": "work", "primary": true, "display": "B"});
        let table: &[(&str, bool)] = &[
            ("type eq \"work\"", true),
            ("type eq \"WORK\"", true),
            ("type ne \"work\"", false),
            ("type ne \"home\"", true),
            ("value co \"example\"", true),
            ("value sw \"bjensen@\"", true),
            ("value ew \".COM\"", true),
            ("value ew \".org\"", false),
            ("value gt \"a\"", true),
            ("value ge \"bjensen@example.com\"", true),
            ("value lt \"a\"", false),
            ("value le \"c\"", true),
            ("primary eq true", true),
            ("primary ne true", false),
            ("primary eq \"True\"", true),
            ("display pr", true),
            ("nosuch pr", false),
            ("nosuch eq \"x\"", false),
            ("nosuch ne \"x\"", true),
            ("nosuch eq null", true),
            ("type eq null", false),
            ("type eq \"work\" and primary eq true", true),
            ("type eq \"home\" or primary eq true", true),
            ("type eq \"home\" and primary eq true", false),
            ("not (type eq \"home\")", true),
            ("emails.type eq \"work\"", true),
            ("value eq 5", false),
        ];
        for (text, expected) in table {
            let filter = parse_filter(text).unwrap();
            assert_eq!(
                selects(&filter, &element, emails).unwrap(),
                *expected,
                "{text}"
            );
        }
        for bad in ["primary gt true", "type gt null", "value co 5"] {
            let filter = parse_filter(bad).unwrap();
            let e = selects(&filter, &element, emails).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{bad}");
        }
    }
}
