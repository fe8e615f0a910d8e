//! Structured logs with `tracing`: text for people, JSON for log pipelines, and a request id
//! on every request's span (also returned to the client as `x-request-id`).

use axum::http::Request;
use tower_http::request_id::RequestId;
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `GATEHOUSE_LOG` filters (default `info`);
/// `GATEHOUSE_LOG_FORMAT=json` switches to one JSON object per line.
pub fn init() {
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let json = std::env::var("GATEHOUSE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The span every request runs in: method, path and the request id.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_string();
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}
