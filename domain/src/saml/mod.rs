//! SAML 2.0 for Gatehouse as a service provider: key pairs and SP metadata for the admin, IdP
//! metadata import, AuthnRequests (HTTP-Redirect binding) and the checks on a SAMLResponse
//! posted to the ACS.
//!
//! Pure logic: no database, no HTTP. The caller owns everything that needs state: the pending
//! request ids, the single-use cache of assertion ids (replay), the profile's stored metadata.
//!
//! samael 0.0.22 does the XML signature work (libxml2 + xmlsec). Its gaps are closed here, see
//! `shared/reference/samael.md` §7.1 and §10: it fails open when the IdP has no certificate, it
//! parses in libxml2's RECOVER mode and accepts a DOCTYPE, it does not require Conditions or an
//! Audience, it never looks at an IssueInstant in the future, and with only the assertion
//! signed it ignores the Response's Status, Destination and Issuer. So every response is first
//! pre-parsed strictly (roxmltree), its shape is checked, and only then handed to samael; the
//! identity is read from what samael returns, which is the signed element only.
//!
//! No samael type appears in a public signature: callers get plain data and the rejection
//! enums, whose `code()` is stable for events and metrics.

mod authn_request;
mod certificate;
mod idp_metadata;
mod rejection;
mod response;
mod sp_metadata;
#[cfg(feature = "test-support")]
pub mod testing;

pub use authn_request::{
    authn_request_redirect, new_request_id, AuthnRequestRedirect, MAX_RELAY_STATE_BYTES,
};
pub use certificate::{
    certificate_info, certificate_pem, generate_sp_key_pair, CertificateInfo, SpKeyPair,
};
pub use idp_metadata::{
    parse_idp_metadata, IdpMetadata, MetadataRejection, SsoEndpoint, MAX_METADATA_BYTES,
};
pub use rejection::SamlRejection;
pub use response::{
    receive_response, verify_response, ReceivedResponse, ResponsePolicy, VerifiedAssertion,
    MAX_RESPONSE_AGE, MAX_RESPONSE_BYTES,
};
pub use sp_metadata::{sp_metadata_xml, SpIdentity};

/// The SAML 2.0 metadata namespace.
pub(crate) const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// The SAML 2.0 protocol namespace (Response, Status, AuthnRequest).
pub(crate) const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 assertion namespace (Assertion, Issuer, Subject, Conditions).
pub(crate) const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// XML Signature.
pub(crate) const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The HTTP-Redirect binding, the only one Gatehouse sends AuthnRequests with.
pub const HTTP_REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding, the only one Gatehouse receives responses with.
pub const HTTP_POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Escapes text for an XML attribute value or element content.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Why a URL may not be used as an SSO endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    /// Not an absolute http(s) URL, or one we refuse to parse (userinfo, spaces, no host).
    Invalid(&'static str),
    /// Plain http to a host that is not the loopback interface.
    Insecure,
}

/// Checks that `url` is an absolute https URL, or http to the loopback interface (so a test
/// IdP on 127.0.0.1 works). The browser is sent there with the AuthnRequest, so anything else
/// would leak the request over plain text or to an odd scheme (`javascript:`, `file:`).
pub(crate) fn check_endpoint_url(url: &str) -> Result<(), UrlProblem> {
    if url.is_empty() {
        return Err(UrlProblem::Invalid("it is empty"));
    }
    if url.len() > 2048 {
        return Err(UrlProblem::Invalid("it is longer than 2048 characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlProblem::Invalid(
            "it contains spaces or control characters",
        ));
    }
    let lower = url.to_ascii_lowercase();
    let (secure, rest) = if lower.starts_with("https://") {
        (true, &url["https://".len()..])
    } else if lower.starts_with("http://") {
        (false, &url["http://".len()..])
    } else {
        return Err(UrlProblem::Invalid("it is not an http(s) URL"));
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Err(UrlProblem::Invalid("it carries a user name or password"));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some(close) = bracketed.find(']') else {
            return Err(UrlProblem::Invalid(
                "its IPv6 address has no closing bracket",
            ));
        };
        let after = &bracketed[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UrlProblem::Invalid("its host is malformed")),
        };
        (&bracketed[..close], port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::Invalid("it has no host"));
    }
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
            return Err(UrlProblem::Invalid("its port is not a number"));
        }
    }
    if !authority.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(UrlProblem::Invalid(
            "its host name has characters a host name cannot have",
        ));
    }
    if secure {
        return Ok(());
    }
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host == "127.0.0.1" || host == "::1" {
        Ok(())
    } else {
        Err(UrlProblem::Insecure)
    }
}

/// Shortens text that came from outside (an IdP, a browser) before it goes into a message, so
/// a hostile value cannot flood the admin's event list.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_must_be_https_except_on_loopback() {
        assert_eq!(
            check_endpoint_url("https://acme.okta.com/app/x/sso/saml"),
            Ok(())
        );
        assert_eq!(
            check_endpoint_url("HTTPS://acme.okta.com:443/x?y=z"),
            Ok(())
        );
        assert_eq!(check_endpoint_url("http://127.0.0.1:7000/saml/sso"), Ok(()));
        assert_eq!(check_endpoint_url("http://localhost/saml/sso"), Ok(()));
        assert_eq!(check_endpoint_url("http://[::1]:7000/saml/sso"), Ok(()));
        assert_eq!(
            check_endpoint_url("http://acme.okta.com/app/x/sso/saml"),
            Err(UrlProblem::Insecure)
        );
        assert_eq!(
            check_endpoint_url("http://127.0.0.1.evil.com/sso"),
            Err(UrlProblem::Insecure)
        );
        for bad in [
            "",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "ftp://idp.example.com/",
            "https://",
            "https://user:pw@idp.example.com/",
            "https://idp.example.com:44x/",
            "https://idp example.com/",
            "https://[::1/",
            "//idp.example.com/sso",
        ] {
            assert!(
                matches!(check_endpoint_url(bad), Err(UrlProblem::Invalid(_))),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            xml_escape(r#"a<b>&"c"'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;"
        );
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text() {
        assert_eq!(clip("abc"), "abc");
        let long = "x".repeat(500);
        assert_eq!(clip(&long).chars().count(), 201);
    }
}
