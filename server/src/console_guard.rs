//! Request checks in front of the console: pages need a signed-in administrator, state-
//! changing requests must come from our own pages, and server-function errors carry a
//! status that matches their meaning.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_app::api::auth::safe_next;
use gatehouse_app::error::AppError;
use gatehouse_app::session::signed_in_admin;
use gatehouse_app::state::AppState;
use tower_sessions::Session;

/// Paths under `/console` that a visitor without a session may load.
fn is_public(path: &str) -> bool {
    path == "/console/login" || path == "/console/setup" || path.starts_with("/console/api/")
}

fn login_url(next: &str) -> String {
    let encoded: String = next
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/console/login?next={encoded}")
}

/// Sends a visitor without a session from a console page to sign-in (and back afterwards),
/// and a signed-in administrator from the sign-in page to the console.
pub async fn require_admin_for_pages(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page =
        req.method() == Method::GET && (path == "/console" || path.starts_with("/console/"));
    if !is_page {
        return next.run(req).await;
    }
    let signed_in = signed_in_admin(&state, &session).await.is_some();
    if path == "/console/login" && signed_in {
        let next_param = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("next="))
                .map(percent_decode)
        });
        return Redirect::to(&safe_next(next_param.as_deref())).into_response();
    }
    if is_public(path) || signed_in {
        return next.run(req).await;
    }
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/console".into());
    Redirect::to(&login_url(&here)).into_response()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The site root: signed-in administrators go to the dashboard, anyone else to sign-in.
pub async fn root(State(state): State<AppState>, session: Session) -> Redirect {
    if signed_in_admin(&state, &session).await.is_some() {
        Redirect::to("/console")
    } else {
        Redirect::to("/console/login")
    }
}

/// Refuses a state-changing request whose `Origin` is not this site (cross-site request
/// forgery). Browsers send `Origin` on every POST made by a page.
pub async fn same_origin_for_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = origin {
        let origin_host = origin.split_once("://").map(|(_, h)| h);
        if origin_host.is_none() || origin_host != host {
            tracing::warn!(origin, host, "refused a cross-origin write");
            return (
                StatusCode::FORBIDDEN,
                "Cross-origin request refused: this request did not come from Gatehouse's own pages.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Gives a server-function error response the status its error means. Errors raised inside
/// a function already set it; this covers those raised before the body runs, such as a form
/// that cannot be decoded (400, not 500).
pub async fn server_fn_error_status(req: Request, next: Next) -> Response {
    let is_server_fn = req.uri().path().starts_with("/console/api/");
    let res = next.run(req).await;
    if !is_server_fn {
        return res;
    }
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = match err {
            AppError::Transport(_) => StatusCode::BAD_REQUEST,
            other => other.status(),
        };
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_url_keeps_the_way_back() {
        assert_eq!(
            login_url("/console/users?q=a b"),
            "/console/login?next=/console/users%3Fq%3Da%20b"
        );
        assert_eq!(
            percent_decode("/console/users%3Fq%3Da%20b"),
            "/console/users?q=a b"
        );
    }
}
