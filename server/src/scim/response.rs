//! SCIM responses: `application/scim+json` on everything, and errors in the RFC 7644 §3.12
//! format with a `detail` that Okta shows to the admin.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
    let mut res = (status, body.to_string()).into_response();
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
