//! Health endpoints for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_domain::store::Store;
use serde_json::{json, Value};

/// The process is up and serving HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can reach its database; 503 when it cannot, so a load balancer stops
/// sending traffic here.
pub async fn readyz(State(store): State<Store>) -> (StatusCode, Json<Value>) {
    match store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": store.backend().name() })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "status": "unavailable", "database": store.backend().name(), "reason": "database unreachable" }),
                ),
            )
        }
    }
}
