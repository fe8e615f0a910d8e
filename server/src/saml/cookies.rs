//! The two cookies of end-user sign-in.
//!
//! - `gatehouse_sso` binds a pending AuthnRequest to the browser that started it (only its
//!   SHA-256 is stored with the request). It must come back on the IdP's cross-site POST to
//!   the ACS, so under https it is `SameSite=None; Secure`; over plain http (a test set-up on
//!   loopback, where IdP and SP are same-site anyway) browsers refuse `None` without
//!   `Secure`, so it is `Lax`. Path `/saml/`, ten minutes.
//! - `gatehouse_portal` is the end-user session, separate from the console's. It is only
//!   set on the redirect after the ACS and read on same-site requests, so `Lax` suffices.

use axum::http::{header, HeaderMap};
use time::OffsetDateTime;

pub const SSO_COOKIE: &str = "gatehouse_sso";
pub const PORTAL_COOKIE: &str = "gatehouse_portal";

/// A cookie's value from the request, if present.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// The browser-binding cookie.
pub fn sso_state(value: &str, https: bool) -> String {
    let same_site = if https { "None; Secure" } else { "Lax" };
    format!("{SSO_COOKIE}={value}; Path=/saml/; Max-Age=600; HttpOnly; SameSite={same_site}")
}

/// Removes the browser-binding cookie once its request is answered.
pub fn clear_sso_state(https: bool) -> String {
    let same_site = if https { "None; Secure" } else { "Lax" };
    format!("{SSO_COOKIE}=; Path=/saml/; Max-Age=0; HttpOnly; SameSite={same_site}")
}

/// The end-user session cookie, living as long as the session.
pub fn portal_session(secret: &str, expires_at: OffsetDateTime, https: bool) -> String {
    let max_age = (expires_at - OffsetDateTime::now_utc())
        .whole_seconds()
        .max(0);
    let secure = if https { "; Secure" } else { "" };
    format!("{PORTAL_COOKIE}={secret}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// Ends the end-user session cookie.
pub fn clear_portal_session(https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{PORTAL_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_one_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gatehouse_sso=abc; gatehouse_portal="),
        );
        assert_eq!(read(&headers, SSO_COOKIE).as_deref(), Some("abc"));
        assert_eq!(read(&headers, PORTAL_COOKIE), None);
        assert_eq!(read(&headers, "missing"), None);
    }

    #[test]
    fn the_binding_cookie_survives_a_cross_site_post_under_https() {
        assert!(sso_state("x", true).contains("SameSite=None; Secure"));
        assert!(sso_state("x", false).contains("SameSite=Lax"));
        assert!(portal_session("s", OffsetDateTime::now_utc(), true).contains("Secure"));
    }
}
