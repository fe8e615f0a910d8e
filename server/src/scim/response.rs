//! SCIM responses: `application/scim+json` on everything, and errors in the RFC 7644 §3.12
//! format with a `detail` that Okta shows to the admin.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_domain::scim::error::ScimError;
use gatehouse_domain::scim::resource::etag;
use serde_json::{json, Value};

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error response.
pub fn error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    with_scim_type(status, body.to_string())
}

/// A domain SCIM error as a response.
pub fn from_error(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_scim_type(status, e.to_json().to_string())
}

/// A SCIM list or discovery document as a response.
pub fn resource(status: StatusCode, body: &Value) -> Response {
    with_scim_type(status, body.to_string())
}

/// A SCIM document already written out as JSON text, as a response.
pub fn text(status: StatusCode, body: String) -> Response {
    with_scim_type(status, body)
}

/// One User or Group as a response: `ETag` from its version and, when created, `Location`,
/// both whether or not `attributes` left `meta` in the body.
pub fn versioned(status: StatusCode, body: &Value, version: i64, location: &str) -> Response {
    versioned_text(status, body.to_string(), version, location)
}

/// [`versioned`] for a body already written out as JSON text.
pub fn versioned_text(status: StatusCode, body: String, version: i64, location: &str) -> Response {
    let mut res = with_scim_type(status, body);
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    res
}

fn with_scim_type(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    res
}

/// The fallback of `/scim/v2`: a SCIM 404 that names the path.
pub async fn unknown_path(axum::extract::OriginalUri(uri): axum::extract::OriginalUri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        None,
        &format!("There is no SCIM endpoint at {}.", uri.path()),
    )
}

/// Turns the plain-text refusals of generic layers (body too large, wrong method) into
/// SCIM errors, so every answer under `/scim/v2` has SCIM's shape.
pub async fn scim_shaped_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let is_scim = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(SCIM_JSON.as_bytes()));
    if is_scim || res.status().is_success() || res.status().is_redirection() {
        return res;
    }
    let detail = match res.status() {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "The request body is larger than {} bytes, the most Gatehouse accepts.",
            super::MAX_BODY_BYTES
        ),
        StatusCode::METHOD_NOT_ALLOWED => "This endpoint does not support that HTTP method.".into(),
        other => other
            .canonical_reason()
            .unwrap_or("Request refused.")
            .to_string(),
    };
    error(res.status(), None, &detail)
}
