//! The console's stylesheet, embedded in the binary at build time.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_app::style::{STYLESHEET, STYLESHEET_PATH};

/// Serves the stylesheet at its content-hashed path, cacheable forever; any other name
/// under `/assets/` is a 404.
pub async fn stylesheet(Path(file): Path<String>) -> Response {
    if STYLESHEET_PATH.strip_prefix("/assets/") == Some(file.as_str()) {
        (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            STYLESHEET,
        )
            .into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}
