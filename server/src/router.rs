//! The HTTP surface of Gatehouse, in one place: what is mounted where, and which layers
//! wrap what.

use crate::metrics::{self, Metrics};
use crate::security_headers::{self, HeaderPolicy};
use crate::{
    assets, console_guard, events_export, health, saml, scim, session_store::DbSessionStore,
    telemetry,
};
use axum::http::HeaderName;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use gatehouse_app::shell::shell;
use gatehouse_app::state::AppState;
use gatehouse_app::App;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Largest request body the console accepts; its forms are small.
pub const CONSOLE_BODY_LIMIT: usize = 64 * 1024;

/// Largest body of the two console calls that carry IdP metadata (its preview and its save):
/// the metadata parser's own limit, JSON-escaped (at most doubled), with room for the rest.
pub const METADATA_BODY_LIMIT: usize = 2 * gatehouse_domain::saml::MAX_METADATA_BYTES + 64 * 1024;

/// The console calls that may carry a whole IdP metadata document.
const METADATA_CALLS: [&str; 2] = [
    "/console/api/preview_idp_metadata",
    "/console/api/save_idp_metadata",
];

fn boxed_body<B>(req: axum::http::Request<B>) -> axum::extract::Request
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    req.map(axum::body::Body::new)
}

/// The console's body limit: `CONSOLE_BODY_LIMIT`, except `METADATA_BODY_LIMIT` for the calls
/// that carry IdP metadata, so the rest of the console keeps its small limit.
async fn console_body_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tower::ServiceExt as _;
    let limit = if METADATA_CALLS.contains(&req.uri().path()) {
        METADATA_BODY_LIMIT
    } else {
        CONSOLE_BODY_LIMIT
    };
    let service = tower::ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(limit))
        .map_request(boxed_body)
        .service(next);
    match service.oneshot(req).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(never) => match never {},
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole application, with `/metrics` open to anyone who can reach it.
pub fn build(state: AppState) -> Router {
    build_with(state, Metrics::new(None))
}

/// Builds the whole application around the given metrics registry (which also knows who may
/// read `/metrics`).
pub fn build_with(state: AppState, metrics: Metrics) -> Router {
    let metrics = metrics.with_store(state.store.clone());
    let header_policy = HeaderPolicy {
        hsts: state.settings.https(),
    };
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
        // Event exports stream their bodies; they check the session themselves.
        .route("/console/api/events/export.csv", get(events_export::csv))
        .route(
            "/console/api/events/export.jsonl",
            get(events_export::jsonl),
        )
        // The nonce in the CSP header must be the one Leptos writes on its inline scripts.
        .leptos_routes_with_context(
            &state,
            routes,
            security_headers::provide_request_nonce,
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(security_headers::provide_request_nonce, shell))
        .layer(from_fn(console_guard::server_fn_error_status))
        .layer(from_fn_with_state(
            state.clone(),
            console_guard::require_admin_for_pages,
        ))
        .layer(sessions)
        .layer(from_fn(console_guard::same_origin_for_writes))
        .layer(from_fn(console_body_limit));

    // Endpoints that never touch sessions.
    let plain = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::serve).with_state(metrics.clone()))
        .route("/assets/{file}", get(assets::stylesheet));

    // SCIM for identity providers: its own auth, errors and fallback; never sessions.
    plain
        .nest("/scim/v2", scim::router(state.clone()))
        // End-user sign-in: no admin session, and the ACS takes the IdP's cross-site POST.
        .merge(saml::router())
        .merge(console)
        .with_state(state)
        // A `Router::layer`, so it sees the matched route template.
        .layer(from_fn_with_state(metrics, metrics::track))
        .layer(from_fn_with_state(header_policy, security_headers::add))
        .layer(CompressionLayer::new().compress_when(compressible()))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// What to compress: tower-http's defaults (not tiny bodies, images or event streams), and
/// not the Events exports: the encoder holds output back until it has a block's worth, which
/// would stall a download the server streams row by row.
fn compressible() -> impl Predicate {
    DefaultPredicate::new()
        .and(NotForContentType::new("text/csv"))
        .and(NotForContentType::new("application/x-ndjson"))
}
