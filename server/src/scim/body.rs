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

/// What every SCIM write starts with: the requested response shape and the JSON body. A
/// request refused here is recorded as a failure of `action`, like any refused write.
pub async fn read_write(
    state: &gatehouse_app::state::AppState,
    ctx: &super::ScimContext,
    shape: &super::users::Shape,
    headers: &HeaderMap,
    body: &Bytes,
    action: &'static str,
) -> Result<(gatehouse_domain::scim::resource::Projection, Value), ScimError> {
    let read = shape
        .projection()
        .and_then(|p| Ok((p, json_body(headers, body)?)));
    if let Err(e) = &read {
        state
            .store
            .record_scim_refusal(action, &ctx.caller, e)
            .await;
    }
    read
}

/// The `If-Match` header, for writes that must not overwrite a newer version.
pub fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}
