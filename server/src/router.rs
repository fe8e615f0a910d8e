//! The HTTP surface of Gatehouse, in one place: what is mounted where, and which layers
//! wrap what.

use crate::{assets, console_guard, health, scim, session_store::DbSessionStore, telemetry};
use axum::http::HeaderName;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use gatehouse_app::shell::shell;
use gatehouse_app::state::AppState;
use gatehouse_app::App;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Largest request body the console accepts; its forms are small.
pub const CONSOLE_BODY_LIMIT: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole application.
pub fn build(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.store.clone()))
        .with_name("gatehouse_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.https())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.settings.session_idle)
                .unwrap_or(time::Duration::minutes(30)),
        ));

    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);

    // The console: pages, its server functions under /console/api, and the site root.
    let console = Router::new()
        .route("/", get(console_guard::root))
        .leptos_routes(&state, routes, move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn(console_guard::server_fn_error_status))
        .layer(from_fn_with_state(
            state.clone(),
            console_guard::require_admin_for_pages,
        ))
        .layer(sessions)
        .layer(from_fn(console_guard::same_origin_for_writes))
        .layer(RequestBodyLimitLayer::new(CONSOLE_BODY_LIMIT));

    // Endpoints that never touch sessions.
    let plain = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/assets/{file}", get(assets::stylesheet));

    // SCIM for identity providers: its own auth, errors and fallback; never sessions.
    plain
        .nest("/scim/v2", scim::router(state.clone()))
        .merge(console)
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
