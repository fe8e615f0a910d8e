//! SCIM error responses (RFC 7644 §3.12).
//!
//! Everything in the SCIM protocol code fails with a [`ScimError`], which already carries
//! the HTTP status and `scimType` the client expects, so the HTTP layer only has to call
//! [`ScimError::to_json`]. Okta shows `detail` to admins in its Tasks and Alerts pages, so
//! every constructor takes a sentence an admin can act on.

use std::fmt;

use serde_json::{json, Value};
use thiserror::Error;

use super::filter::FilterError;
use super::path::PathError;

/// The schema URN of SCIM error bodies.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12 (Table 9). Clients branch on these, so they
/// are an enum rather than free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The keyword exactly as RFC 7644 spells it (camelCase).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// The HTTP status RFC 7644 pairs with the keyword: 409 for `uniqueness`, 403 for
    /// `sensitive`, 400 for the rest.
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed SCIM request, ready to be sent back as an RFC 7644 error body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{detail}")]
pub struct ScimError {
    /// The HTTP status code.
    pub status: u16,
    /// RFC 7644's machine-readable reason, for the 400/403/409 cases that have one.
    pub scim_type: Option<ScimType>,
    /// A human-readable sentence; Okta shows it to the admin verbatim.
    pub detail: String,
}

impl ScimError {
    /// An error with an explicit status, for the cases the named constructors do not cover.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn typed(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(scim_type.status(), Some(scim_type), detail)
    }

    /// 400 `invalidFilter`: the filter cannot be parsed or compares in a way we do not support.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::InvalidFilter, detail)
    }

    /// 400 `tooMany`: the request would touch more resources than we are willing to.
    pub fn too_many(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness`: Okta treats this as "already exists" and links instead of failing.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::Uniqueness, detail)
    }

    /// 400 `mutability`: the request changes a readOnly or immutable attribute.
    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::Mutability, detail)
    }

    /// 400 `invalidSyntax`: the body is not the JSON structure the request requires.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidPath`: a PATCH path is malformed or names an attribute that does not exist.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`: a PATCH path selects nothing, so applying it would silently do nothing.
    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::NoTarget, detail)
    }

    /// 400 `invalidValue`: a value is missing or has the wrong type for its attribute.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidVers`: the `If-Match` version is not one we can compare against.
    pub fn invalid_vers(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::InvalidVers, detail)
    }

    /// 403 `sensitive`: the request put sensitive data (such as a password) in the URL.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        ScimError::typed(ScimType::Sensitive, detail)
    }

    /// 404 without a `scimType`: RFC 7644 defines none, and Okta's conformance test only
    /// checks the status and a non-empty `detail`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(404, None, detail)
    }

    /// 401: Okta's conformance test requires a SCIM error body (with `status` and `detail`)
    /// even when the token is wrong.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ScimError::new(401, None, detail)
    }

    /// 412: the `If-Match` version no longer matches the resource (RFC 7644 §3.14).
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        ScimError::new(412, None, detail)
    }

    /// The RFC 7644 §3.12 body. `status` is a string because the RFC says so; Okta accepts
    /// both forms and strict clients only the string.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = Value::String(scim_type.as_str().to_owned());
        }
        body
    }
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        ScimError::invalid_filter(e.message())
    }
}

impl From<PathError> for ScimError {
    fn from(e: PathError) -> Self {
        ScimError::invalid_path(e.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::path::parse_path;

    #[test]
    fn error_body_follows_rfc_7644() {
        let e = ScimError::uniqueness("User already exists.");
        assert_eq!(
            e.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "User already exists.",
            })
        );
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let body = ScimError::not_found("No user with id x.").to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
        assert_eq!(body["detail"], "No user with id x.");
    }

    #[test]
    fn constructors_pick_the_rfc_status() {
        let table: &[(ScimError, u16, Option<&str>)] = &[
            (ScimError::invalid_filter("x"), 400, Some("invalidFilter")),
            (ScimError::too_many("x"), 400, Some("tooMany")),
            (ScimError::uniqueness("x"), 409, Some("uniqueness")),
            (ScimError::mutability("x"), 400, Some("mutability")),
            (ScimError::invalid_syntax("x"), 400, Some("invalidSyntax")),
            (ScimError::invalid_path("x"), 400, Some("invalidPath")),
            (ScimError::no_target("x"), 400, Some("noTarget")),
            (ScimError::invalid_value("x"), 400, Some("invalidValue")),
            (ScimError::invalid_vers("x"), 400, Some("invalidVers")),
            (ScimError::sensitive("x"), 403, Some("sensitive")),
            (ScimError::not_found("x"), 404, None),
            (ScimError::unauthorized("x"), 401, None),
            (ScimError::precondition_failed("x"), 412, None),
        ];
        for (error, status, scim_type) in table {
            assert_eq!(error.status, *status, "{error:?}");
            assert_eq!(error.scim_type.map(ScimType::as_str), *scim_type);
            assert_eq!(error.to_json()["status"], status.to_string());
        }
    }

    #[test]
    fn parser_errors_convert_to_their_scim_type() {
        let e: ScimError = parse_filter("userName eq").unwrap_err().into();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert_eq!(e.status, 400);
        assert!(!e.detail.is_empty());
        let e: ScimError = parse_path("members[").unwrap_err().into();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert!(e.detail.contains("members["));
    }
}
