//! Security headers on every response, and the per-response CSP nonce the Leptos hydration
//! scripts carry.
//!
//! The policy is strict on scripts: only the app's own files, plus the inline module script
//! Leptos writes for hydration (and the inline scripts of streamed resources), which carry a
//! fresh random nonce. No `'unsafe-inline'` anywhere: the console has no inline styles or
//! event handlers, so it does not need one.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use rand::RngCore as _;

/// The nonce of one response, put in the request's extensions so the page render can give it
/// to Leptos, and the response header can name the same value.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// What varies per deployment: HSTS only makes sense, and is only safe, when the public URL
/// is https (a browser told to insist on https for a plain-http install would lock users out).
#[derive(Clone, Debug)]
pub struct HeaderPolicy {
    pub hsts: bool,
}

/// The Content-Security-Policy for a response with this nonce.
///
/// - `script-src`: `'wasm-unsafe-eval'` lets the page compile the app's wasm; the nonce admits
///   Leptos' inline hydration script and nothing else inline.
/// - `style-src 'self'`: the stylesheet is a file; no inline styles are used.
/// - `frame-ancestors 'none'`: the console must never be framed (clickjacking).
/// - no `form-action`: browsers apply it to the redirect after a form post too, and `/login`
///   answers its form with a redirect to the group's IdP, a host not known in advance.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
}

fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Adds the headers. They go on every response (SCIM JSON included) because they are cheap
/// and harmless on non-HTML: one rule is easier to trust than a list of exceptions.
pub async fn add(State(policy): State<HeaderPolicy>, mut req: Request, next: Next) -> Response {
    let nonce = fresh_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: with `no-referrer` a browser sends `Origin: null` on
    // same-origin form posts, and the console's Origin check would refuse its own forms.
    // Other sites (the IdP included) still learn nothing of our URLs.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if policy.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// Hands the request's nonce to Leptos, replacing the one leptos_axum generated, so the
/// hydration scripts carry the nonce the CSP header names. Called as "additional context"
/// after leptos_axum has provided the request's parts.
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(CspNonce(nonce)) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_and_header_safe() {
        let (a, b) = (fresh_nonce(), fresh_nonce());
        assert_ne!(a, b);
        assert!(HeaderValue::from_str(&content_security_policy(&a)).is_ok());
        assert!(!content_security_policy(&a).contains("unsafe-inline"));
    }
}
