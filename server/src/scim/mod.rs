//! The SCIM 2.0 edge at `/scim/v2`: token authentication, SCIM's error format and content
//! type, and a SCIM 404 for paths that do not exist (never the console's HTML page).
//!
//! The protocol itself (schemas, filters, PATCH) lives in `gatehouse_domain::scim`; this
//! module only speaks HTTP.

pub mod auth;
pub mod response;

use axum::middleware::from_fn_with_state;
use axum::Router;
use gatehouse_app::state::AppState;

/// Largest SCIM request body accepted (RFC 7644 §3.12: larger is a 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `/scim/v2` router, to be nested by the main router. Everything in it, including
/// the fallback, needs a valid token: a client without one learns nothing, not even which
/// paths exist.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .fallback(response::unknown_path)
        .layer(from_fn_with_state(state, auth::require_token))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
}
