//! `/portal` and `/logout`: what a signed-in end user sees, and how they leave. The session
//! is read from the database on every request, so a SCIM deactivation (which deletes the
//! user's sessions) ends it everywhere at once.

use super::cookies;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use gatehouse_app::end_user::{portal_page, signed_out_page, PortalView};
use gatehouse_app::state::AppState;
use time::format_description::well_known::Rfc2822;

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(secret) = cookies::read(&headers, cookies::PORTAL_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    match state.store.find_end_user_session(&secret).await {
        Ok(Some(session)) => {
            let expires_at = session
                .expires_at
                .format(&Rfc2822)
                .unwrap_or_else(|_| session.expires_at.to_string());
            let view = PortalView {
                user_name: session.user_name,
                display_name: session.display_name,
                profile_name: session.profile.name,
                groups: session.groups.into_iter().map(|g| g.display_name).collect(),
                expires_at,
            };
            (
                [(header::CACHE_CONTROL, "no-store")],
                Html(portal_page(view)),
            )
                .into_response()
        }
        Ok(None) => {
            let mut response = Redirect::to("/login").into_response();
            if let Ok(v) = cookies::clear_portal_session(state.settings.https()).parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read an end-user session");
            axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = cookies::read(&headers, cookies::PORTAL_COOKIE) {
        if let Err(e) = state.store.sign_out_end_user(&secret).await {
            tracing::error!(error = %e, "could not end an end-user session");
        }
    }
    let mut response = Html(signed_out_page()).into_response();
    if let Ok(v) = cookies::clear_portal_session(state.settings.https()).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
