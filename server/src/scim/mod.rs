//! The SCIM 2.0 edge at `/scim/v2`: token authentication, SCIM's error format and content
//! type, and a SCIM 404 for paths that do not exist (never the console's HTML page).
//!
//! The protocol itself (schemas, filters, PATCH) lives in `gatehouse_domain::scim`; this
//! module only speaks HTTP.

pub mod auth;
pub mod body;
pub mod discovery;
pub mod groups;
pub mod list;
pub mod rate_limit;
pub mod response;
pub mod users;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::middleware::from_fn;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_app::state::AppState;
use gatehouse_domain::store::ScimCaller;
use gatehouse_domain::token::ScimToken;
use std::net::SocketAddr;

/// Largest SCIM request body accepted (RFC 7644 §3.12: larger is a 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `/scim/v2` router, to be nested by the main router. Everything in it, including
/// the fallback, needs a valid token: a client without one learns nothing, not even which
/// paths exist.
pub fn router(state: AppState) -> Router<AppState> {
    let limiter = rate_limit::RateLimiter::new(state.settings.scim_rate_per_second);
    let refusals = std::sync::Arc::new(auth::RefusalLog::default());
    let store = std::sync::Arc::new(state.store.clone());
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/Users", get(list::users).post(users::create))
        .route("/Users/.search", axum::routing::post(list::search_users))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(list::groups).post(groups::create))
        .route("/Groups/.search", axum::routing::post(list::search_groups))
        .route(
            "/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .fallback(response::unknown_path)
        .layer(from_fn(move |req, next| {
            rate_limit::limit(limiter.clone(), req, next)
        }))
        .layer(from_fn(move |req, next| {
            auth::require_token(store.clone(), refusals.clone(), req, next)
        }))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(from_fn(response::scim_shaped_errors))
}

/// The authenticated caller of a SCIM request: the token (set by [`auth::require_token`])
/// and the client address.
pub struct ScimContext {
    pub caller: ScimCaller,
}

impl<S: Send + Sync> FromRequestParts<S> for ScimContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .extensions
            .get::<ScimToken>()
            .cloned()
            .ok_or_else(|| {
                response::error(
                    axum::http::StatusCode::UNAUTHORIZED,
                    None,
                    "Authentication is required.",
                )
            })?;
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ScimContext {
            caller: ScimCaller { token, client_ip },
        })
    }
}
