//! AuthnRequests, sent with the HTTP-Redirect binding (a deflated, base64'd request in the
//! query string, optionally signed over the query string).

use openssl::pkey::PKey;
use rand::RngCore;
use samael::service_provider::ServiceProviderBuilder;

use super::sp_metadata::SpIdentity;
use super::{check_endpoint_url, UrlProblem};
use crate::{DomainError, Result};

/// The SAML bindings spec (§3.4.3) limits RelayState to 80 bytes; IdPs may drop longer ones.
/// Keep it an opaque key to server-side state, never a URL the browser supplied.
pub const MAX_RELAY_STATE_BYTES: usize = 80;

/// Where to send the browser, and the request id to remember for the ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequestRedirect {
    /// The AuthnRequest's ID; the response's InResponseTo must equal it. Store it
    /// (single use, short-lived) bound to the browser that was sent off.
    pub request_id: String,
    /// The IdP SSO URL with SAMLRequest, RelayState and, when signed, SigAlg and Signature.
    pub url: String,
}

/// A fresh AuthnRequest ID: "id" and 128 random bits in hex. samael's own `id-<u32>` has only
/// 32 random bits; the ID is what binds a response to the request, so it must not be
/// guessable. It starts with a letter, as an XML ID (NCName) must.
pub fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut id = String::with_capacity(34);
    id.push_str("id");
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Builds the redirect to the IdP for a new sign-in. `signing_key_der` is the profile's PKCS#8
/// private key; when given, the query string is signed (RSA-SHA256 or ECDSA-SHA256 by key
/// type). No NameIDPolicy is sent: Okta refuses a request whose format differs from the app's.
pub fn authn_request_redirect(
    sp: &SpIdentity,
    idp_sso_url: &str,
    relay_state: &str,
    signing_key_der: Option<&[u8]>,
) -> Result<AuthnRequestRedirect> {
    match check_endpoint_url(idp_sso_url) {
        Ok(()) => {}
        Err(UrlProblem::Insecure) => {
            return Err(DomainError::Invalid(
                "The IdP's SSO URL uses plain http; only https is accepted (http only for 127.0.0.1, localhost or ::1).".into(),
            ))
        }
        Err(UrlProblem::Invalid(why)) => {
            return Err(DomainError::Invalid(format!(
                "The IdP's SSO URL is unusable: {why}."
            )))
        }
    }
    if relay_state.len() > MAX_RELAY_STATE_BYTES {
        return Err(DomainError::Invalid(format!(
            "The RelayState is {} bytes long; SAML allows at most {MAX_RELAY_STATE_BYTES}.",
            relay_state.len()
        )));
    }
    if sp.sign_authn_requests && signing_key_der.is_none() {
        return Err(DomainError::Invalid(
            "This profile announces signed AuthnRequests but has no signing key.".into(),
        ));
    }
    let provider = ServiceProviderBuilder::default()
        .entity_id(Some(sp.entity_id.clone()))
        .acs_url(Some(sp.acs_url.clone()))
        .slo_url(None::<String>)
        .metadata_url(None::<String>)
        .authn_name_id_format(None::<String>)
        .build()
        .map_err(|e| DomainError::Invalid(format!("Could not build the AuthnRequest: {e}")))?;
    let failed = |e: Box<dyn std::error::Error>| {
        DomainError::Invalid(format!("Could not build the AuthnRequest: {e}"))
    };
    let mut request = provider
        .make_authentication_request(idp_sso_url)
        .map_err(failed)?;
    request.id = new_request_id();
    let request_id = request.id.clone();
    let url = match signing_key_der {
        Some(der) => {
            let key = PKey::private_key_from_pkcs8(der).map_err(|_| {
                DomainError::Invalid(
                    "The profile's signing key is not a PKCS#8 private key.".into(),
                )
            })?;
            request.signed_redirect(relay_state, &key).map_err(failed)?
        }
        None => request.redirect(relay_state).map_err(failed)?,
    };
    let url = url.ok_or_else(|| {
        DomainError::Invalid("Could not build the AuthnRequest: no destination.".into())
    })?;
    Ok(AuthnRequestRedirect {
        request_id,
        url: url.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use openssl::hash::MessageDigest;
    use openssl::sign::Verifier;
    use openssl::x509::X509;

    use super::*;
    use crate::saml::certificate::generate_sp_key_pair;

    const IDP_SSO: &str = "https://acme.okta.com/app/acme_gh/exk123/sso/saml";

    fn sp(sign: bool) -> SpIdentity {
        SpIdentity {
            entity_id: "https://gatehouse.example.com/saml/p1/metadata".into(),
            acs_url: "https://gatehouse.example.com/saml/p1/acs".into(),
            certificate_der: Vec::new(),
            sign_authn_requests: sign,
        }
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The query parameters, raw (still percent-encoded), in order.
    fn query(url: &str) -> Vec<(String, String)> {
        let (_, q) = url.split_once('?').unwrap();
        q.split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    fn param(url: &str, name: &str) -> Option<String> {
        query(url)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| percent_decode(&v))
    }

    fn request_xml(url: &str) -> String {
        let deflated = STANDARD.decode(param(url, "SAMLRequest").unwrap()).unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_string(&mut xml)
            .unwrap();
        xml
    }

    #[test]
    fn request_ids_are_random_ncnames() {
        let a = new_request_id();
        assert_eq!(a.len(), 34);
        assert!(a.starts_with("id"));
        assert!(a[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_request_id());
    }

    #[test]
    fn unsigned_redirect_carries_the_request() {
        let r = authn_request_redirect(&sp(false), IDP_SSO, "k3y", None).unwrap();
        assert!(
            r.url.starts_with(&format!("{IDP_SSO}?SAMLRequest=")),
            "{}",
            r.url
        );
        assert_eq!(param(&r.url, "RelayState").as_deref(), Some("k3y"));
        assert_eq!(param(&r.url, "SigAlg"), None);
        assert_eq!(param(&r.url, "Signature"), None);

        let xml = request_xml(&r.url);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert!(root.has_tag_name((crate::saml::NS_PROTOCOL, "AuthnRequest")));
        assert_eq!(root.attribute("ID"), Some(r.request_id.as_str()));
        assert_eq!(root.attribute("Destination"), Some(IDP_SSO));
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some("https://gatehouse.example.com/saml/p1/acs")
        );
        assert_eq!(
            root.attribute("ProtocolBinding"),
            Some(crate::saml::HTTP_POST_BINDING)
        );
        let issuer = root
            .children()
            .find(|n| n.has_tag_name((crate::saml::NS_ASSERTION, "Issuer")))
            .unwrap();
        assert_eq!(
            issuer.text(),
            Some("https://gatehouse.example.com/saml/p1/metadata")
        );
        assert!(!xml.contains("NameIDPolicy"), "{xml}");
        assert!(r.request_id.starts_with("id") && r.request_id.len() == 34);

        // Empty RelayState is left out.
        let r = authn_request_redirect(&sp(false), IDP_SSO, "", None).unwrap();
        assert_eq!(param(&r.url, "RelayState"), None);
    }

    #[test]
    fn signed_redirect_verifies_with_the_sp_certificate() {
        let pair = generate_sp_key_pair("sp", 30).unwrap();
        let r = authn_request_redirect(
            &sp(true),
            "http://127.0.0.1:7000/saml/sso",
            "k3y",
            Some(&pair.private_key_der),
        )
        .unwrap();
        assert_eq!(
            param(&r.url, "SigAlg").as_deref(),
            Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
        );
        // Bindings §3.4.4.1: the signature covers the raw query up to Signature.
        let raw = r.url.split_once('?').unwrap().1;
        let (signed, sig) = raw.split_once("&Signature=").unwrap();
        assert!(signed.starts_with("SAMLRequest=") && signed.contains("&SigAlg="));
        let signature = STANDARD.decode(percent_decode(sig)).unwrap();
        let cert = X509::from_der(&pair.certificate_der).unwrap();
        let key = cert.public_key().unwrap();
        let mut verifier = Verifier::new(MessageDigest::sha256(), &key).unwrap();
        verifier.update(signed.as_bytes()).unwrap();
        assert!(verifier.verify(&signature).unwrap());
        // A different key does not verify it.
        let other = generate_sp_key_pair("other", 30).unwrap();
        let other_key = X509::from_der(&other.certificate_der)
            .unwrap()
            .public_key()
            .unwrap();
        let mut verifier = Verifier::new(MessageDigest::sha256(), &other_key).unwrap();
        verifier.update(signed.as_bytes()).unwrap();
        assert!(!verifier.verify(&signature).unwrap());
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let e = authn_request_redirect(&sp(false), "http://acme.okta.com/sso", "", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain http"), "{e}");
        let e = authn_request_redirect(&sp(false), "javascript:alert(1)", "", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an http(s) URL"), "{e}");
        let e = authn_request_redirect(&sp(false), IDP_SSO, &"x".repeat(81), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("RelayState"), "{e}");
        let e = authn_request_redirect(&sp(true), IDP_SSO, "", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no signing key"), "{e}");
        let e = authn_request_redirect(&sp(false), IDP_SSO, "", Some(b"junk"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("PKCS#8"), "{e}");
    }
}
