//! Arbitrary text as the `path` of a PATCH operation, applied by the PATCH engine to a
//! stored user and group: the path is parsed, resolved against the schema and applied, so
//! this reaches the value-filter evaluator too. A failure must be a 400 with one of
//! PATCH's error types and must leave the resource exactly as it was.

#![no_main]

use gatehouse_domain::scim::error::ScimType;
use gatehouse_domain::scim::patch::{apply_patch, PATCH_OP_SCHEMA};
use gatehouse_domain::scim::resource::{validate_group, validate_user};
use gatehouse_domain::scim::schema::SchemaKind;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the operation and value, the rest is the path.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let path = String::from_utf8_lossy(rest);
    let op = ["add", "replace", "remove", "Replace"][usize::from(selector & 3)];
    let value = match (selector >> 2) & 7 {
        0 => Value::Null,
        1 => json!("new@example.com"),
        2 => json!("False"),
        3 => json!([{"value": "x@example.com", "type": "work"}]),
        4 => json!({"givenName": "Ada", "value": "v"}),
        5 => json!([{"value": "0190f6d2-7b1e-7c3a-9c1e-2f4a5b6c7d8e"}]),
        6 => json!(42),
        _ => json!(true),
    };
    let user = validate_user(&json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [
            {"value": "ada@example.com", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Engineering",
            "manager": {"value": "m1"}
        }
    }))
    .unwrap()
    .resource;
    let group = validate_group(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering"
    }))
    .unwrap()
    .resource;
    let body = json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": op, "path": path, "value": value}]
    });
    for (kind, resource) in [(SchemaKind::User, user), (SchemaKind::Group, group)] {
        let mut patched = resource.clone();
        if let Err(e) = apply_patch(&mut patched, kind, "id-1", &body) {
            assert_eq!(e.status, 400, "{path:?}: {e:?}");
            assert!(
                matches!(
                    e.scim_type,
                    Some(
                        ScimType::InvalidPath
                            | ScimType::InvalidFilter
                            | ScimType::NoTarget
                            | ScimType::Mutability
                            | ScimType::InvalidValue
                            | ScimType::InvalidSyntax
                    )
                ),
                "{path:?}: {e:?}"
            );
            assert_eq!(
                patched, resource,
                "{path:?}: a failed PATCH changed the resource"
            );
        }
    }
});
