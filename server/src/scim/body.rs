//! Reading a SCIM request body: JSON, as `application/scim+json` or `application/json`.

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use gatehouse_domain::scim::error::ScimError;
use serde_json::Value;

/// Parses a request body, refusing other media types and malformed JSON with a SCIM 400 that
/// says what is wrong (serde's message names the line and column).
pub fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ScimError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !media.is_empty() && media != "application/scim+json" && media != "application/json" {
        return Err(ScimError::invalid_syntax(format!(
            "The request body must be application/scim+json or application/json, not {media}."
        )));
    }
    if body.is_empty() {
        return Err(ScimError::invalid_syntax(
            "The request has no body; send a JSON object.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The request body is not valid JSON: {e}.")))
}
