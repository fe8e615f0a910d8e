//! Bearer-token authentication for SCIM clients. Okta's "HTTP Header" mode sends
//! `Authorization: Bearer <token>`; some clients send the bare token. Both are accepted.

use super::response;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_domain::event::{Actor, Category, NewEvent, Outcome};
use gatehouse_domain::store::{Store, TokenRejection};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The token in an `Authorization` header value: after a case-insensitive `Bearer `, or the
/// whole value when there is no scheme.
pub fn presented_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        // "Bearer" alone is a scheme without a token, not a token.
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

fn unauthorized(detail: &str) -> Response {
    let mut res = response::error(StatusCode::UNAUTHORIZED, None, detail);
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"gatehouse-scim\""),
    );
    res
}

/// Lets a request through only with a usable token, which it then carries as an extension.
/// A refusal is recorded as an event (never with the presented secret). Takes the store
/// alone, behind an `Arc`, because it runs on every SCIM request and cloning the whole
/// application state there is measurable.
pub async fn require_token(
    store: Arc<Store>,
    refusals: Arc<RefusalLog>,
    mut req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let Some(presented) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(presented_token)
        .map(str::to_string)
    else {
        record_refusal(&store, &refusals, &ip, "missing").await;
        return unauthorized("Authentication is required: send the SCIM API token as \"Authorization: Bearer <token>\".");
    };
    match store.authenticate_scim_token(&presented, &ip).await {
        Ok(Ok(token)) => {
            req.extensions_mut().insert(token);
            next.run(req).await
        }
        Ok(Err(why)) => {
            let reason = match why {
                TokenRejection::Unknown => "unknown",
                TokenRejection::Expired => "expired",
                TokenRejection::Revoked => "revoked",
            };
            record_refusal(&store, &refusals, &ip, reason).await;
            unauthorized("The SCIM API token is not valid. Copy the current token from Gatehouse's User Provider → SCIM Import page.")
        }
        Err(e) => {
            tracing::error!(error = %e, "SCIM token check failed");
            response::error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "Gatehouse cannot reach its database right now; try again shortly.",
            )
        }
    }
}

/// Refused requests from one address for one reason are recorded at most once a minute:
/// an event per 401 would let a client without a token make the database write as fast
/// as it can send. The log line is still written for every refusal. Kept per process, like
/// the rate limit.
#[derive(Debug, Default)]
pub struct RefusalLog {
    recent: Mutex<HashMap<(String, &'static str), Instant>>,
}

impl RefusalLog {
    fn first_this_minute(&self, ip: &str, reason: &'static str) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if recent.len() > 10_000 {
            recent.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
        }
        match recent.get(&(ip.to_string(), reason)) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(60) => false,
            _ => {
                recent.insert((ip.to_string(), reason), now);
                true
            }
        }
    }
}

async fn record_refusal(store: &Store, refusals: &RefusalLog, ip: &str, reason: &'static str) {
    tracing::info!(
        client_ip = ip,
        reason,
        "refused a SCIM request without a usable token"
    );
    if !refusals.first_this_minute(ip, reason) {
        return;
    }
    let event = NewEvent {
        category: Category::Provisioning,
        action: "scim.authentication",
        outcome: Outcome::Failure,
        actor: Actor::Anonymous,
        target: None,
        detail: Some(format!(r#"{{"reason":"{reason}","client_ip":"{ip}"}}"#)),
    };
    if let Err(e) = store.record_event(event).await {
        tracing::warn!(error = %e, "could not record a refused SCIM request");
    }
}

#[cfg(test)]
mod tests {
    use super::presented_token;

    #[test]
    fn bearer_and_bare_tokens_are_accepted() {
        assert_eq!(presented_token("Bearer gh_scim_abc"), Some("gh_scim_abc"));
        assert_eq!(
            presented_token("bearer   gh_scim_abc "),
            Some("gh_scim_abc")
        );
        assert_eq!(presented_token("gh_scim_abc"), Some("gh_scim_abc"));
    }

    #[test]
    fn other_schemes_and_empty_values_are_refused() {
        assert_eq!(presented_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(presented_token("Bearer "), None);
        assert_eq!(presented_token(""), None);
    }
}
