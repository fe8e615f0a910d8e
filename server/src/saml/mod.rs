//! End-user sign-in, the HTTP half: `/login` (identifier first) → the IdP of the user's
//! group → `POST /saml/{profile}/acs` → `/portal`; and each profile's SP metadata at
//! `/saml/{profile}/metadata`. The SAML checks themselves live in `gatehouse_domain::saml`;
//! what must be shared by replicas (pending requests, seen assertions, sessions) lives in
//! the database.

mod acs;
mod cookies;
mod login;
mod metadata;
mod portal;

use axum::routing::{get, post};
use axum::Router;
use gatehouse_app::state::AppState;
use std::net::SocketAddr;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest form body accepted: a SAMLResponse of the largest size the verifier accepts
/// (256 KiB), base64-encoded and form-encoded, with room to spare.
pub const SIGN_IN_BODY_LIMIT: usize = 512 * 1024;

/// The sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/saml/{profile}/metadata", get(metadata::sp_metadata))
        .route("/saml/{profile}/acs", post(acs::assertion_consumer))
        .route("/portal", get(portal::show))
        .route("/logout", post(portal::sign_out))
        .layer(RequestBodyLimitLayer::new(SIGN_IN_BODY_LIMIT))
}

/// The client's address as the connection shows it (a proxy's address behind a proxy).
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|axum::extract::ConnectInfo(a)| a.ip().to_string()),
        ))
    }
}
