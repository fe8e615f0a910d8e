//! A test IdP built on samael's IdP helpers: signed "golden" SAML responses whose every field
//! can be changed before signing, so each negative test differs from a passing one by one
//! thing. Uses the fixed key pair in `domain/tests/data/saml` (valid until 2056), so the
//! metadata is stable; `TestIdp::attacker` signs with a different key.
//!
//! Times are relative to now (samael has no clock injection), so responses must be built at
//! test time, not stored.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::pkey::PKey;
use openssl::x509::X509;
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::idp::response_builder::build_response_template;
use samael::schema::{AttributeStatement, StatusMessage};
use samael::service_provider::ServiceProvider;
use samael::signature::{DigestAlgorithm, Signature, SignatureAlgorithm};
use samael::traits::ToXml;

use super::sp_metadata::SpIdentity;
use super::{xml_escape, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING};

/// The fixed test IdP's private key (PKCS#8 PEM). Test-only: it is public in the repository.
pub const TEST_IDP_KEY_PEM: &str = include_str!("../../tests/data/saml/idp-key.pem");
/// The fixed test IdP's certificate (PEM), CN "Gatehouse Test IdP", valid until 2056.
pub const TEST_IDP_CERT_PEM: &str = include_str!("../../tests/data/saml/idp-cert.pem");
/// A second key pair, for "signed by someone else" tests.
pub const ATTACKER_KEY_PEM: &str = include_str!("../../tests/data/saml/other-key.pem");
/// The second key pair's certificate.
pub const ATTACKER_CERT_PEM: &str = include_str!("../../tests/data/saml/other-cert.pem");

/// The entity ID the test IdP uses unless told otherwise (Okta's shape).
pub const TEST_IDP_ENTITY_ID: &str = "http://www.okta.com/exkTestIdp0123456789";

/// Which parts of the response carry a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// Only the Assertion (Okta "Response: Unsigned", "Assertion Signature: Signed").
    Assertion,
    /// Only the Response (Okta "Response: Signed", "Assertion Signature: Unsigned").
    Response,
    /// Both (Okta's default).
    Both,
    /// Neither.
    None,
}

/// A signing identity for test responses.
pub struct TestIdp {
    /// The IdP entity ID put into Issuer unless a spec overrides it.
    pub entity_id: String,
    /// The certificate (DER) that verifies this IdP's signatures.
    pub certificate_der: Vec<u8>,
    /// PKCS#1 DER, the form samael's `Crypto::sign_xml` loads.
    key_der: Vec<u8>,
}

impl TestIdp {
    /// The fixed test IdP.
    pub fn fixed() -> Self {
        Self::from_pem(TEST_IDP_ENTITY_ID, TEST_IDP_KEY_PEM, TEST_IDP_CERT_PEM)
    }

    /// Someone else's key, presenting the same entity ID.
    pub fn attacker() -> Self {
        Self::from_pem(TEST_IDP_ENTITY_ID, ATTACKER_KEY_PEM, ATTACKER_CERT_PEM)
    }

    /// An IdP from a PEM key and certificate.
    pub fn from_pem(entity_id: &str, key_pem: &str, cert_pem: &str) -> Self {
        let key = PKey::private_key_from_pem(key_pem.as_bytes()).expect("test key PEM");
        let cert = X509::from_pem(cert_pem.as_bytes()).expect("test certificate PEM");
        TestIdp {
            entity_id: entity_id.to_string(),
            certificate_der: cert.to_der().expect("certificate DER"),
            key_der: key
                .rsa()
                .expect("RSA key")
                .private_key_to_der()
                .expect("key DER"),
        }
    }

    /// Okta-shaped IdP metadata for this IdP (saml-okta.md §1), with the SSO service at
    /// `sso_url` for both bindings.
    pub fn metadata_xml(&self, sso_url: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="{post}" Location="{sso}"/><md:SingleSignOnService Binding="{redirect}" Location="{sso}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            entity = xml_escape(&self.entity_id),
            cert = STANDARD.encode(&self.certificate_der),
            post = HTTP_POST_BINDING,
            redirect = HTTP_REDIRECT_BINDING,
            sso = xml_escape(sso_url),
        )
    }

    /// The signed response XML for `spec`.
    pub fn response_xml(&self, spec: &ResponseSpec) -> String {
        build_signed_response(self, spec)
    }

    /// The response as the browser posts it (base64 of the XML).
    pub fn response_b64(&self, spec: &ResponseSpec) -> String {
        STANDARD.encode(self.response_xml(spec))
    }
}

/// Everything about a test response that a test may want to get wrong. Start from
/// `ResponseSpec::golden`, change one field.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    pub sign: SignMode,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// None leaves the AudienceRestriction out (Conditions stay).
    pub audience: Option<String>,
    /// false leaves Conditions out entirely.
    pub conditions: bool,
    pub recipient: String,
    pub destination: Option<String>,
    /// Issuer of the Response element (None omits it).
    pub response_issuer: Option<String>,
    /// Issuer of the Assertion.
    pub assertion_issuer: String,
    /// InResponseTo on the Response.
    pub response_in_response_to: Option<String>,
    /// InResponseTo on the SubjectConfirmationData.
    pub confirmation_in_response_to: Option<String>,
    /// IssueInstant of Response and Assertion, in seconds from now.
    pub issue_instant_offset: i64,
    /// Conditions NotBefore, seconds from now.
    pub not_before_offset: Option<i64>,
    /// Conditions NotOnOrAfter, seconds from now.
    pub not_on_or_after_offset: Option<i64>,
    /// SubjectConfirmationData NotOnOrAfter, seconds from now.
    pub confirmation_not_on_or_after_offset: Option<i64>,
    pub confirmation_method: String,
    pub status_code: String,
    pub status_message: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub session_index: Option<String>,
    /// SHA-256 unless a test wants SHA-1.
    pub digest_sha1: bool,
    /// Sign with RSA-SHA1 instead of RSA-SHA256.
    pub signature_rsa_sha1: bool,
}

impl ResponseSpec {
    /// What Okta sends for an SP-initiated sign-in with default settings: both parts signed,
    /// RSA-SHA256/SHA-256, NotBefore = now − 5 min, NotOnOrAfter = now + 5 min.
    pub fn golden(sp: &SpIdentity, idp_entity_id: &str, request_id: &str) -> Self {
        ResponseSpec {
            sign: SignMode::Both,
            name_id: "alice@example.com".into(),
            name_id_format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
            audience: Some(sp.entity_id.clone()),
            conditions: true,
            recipient: sp.acs_url.clone(),
            destination: Some(sp.acs_url.clone()),
            response_issuer: Some(idp_entity_id.to_string()),
            assertion_issuer: idp_entity_id.to_string(),
            response_in_response_to: Some(request_id.to_string()),
            confirmation_in_response_to: Some(request_id.to_string()),
            issue_instant_offset: 0,
            not_before_offset: Some(-300),
            not_on_or_after_offset: Some(300),
            confirmation_not_on_or_after_offset: Some(300),
            confirmation_method: "urn:oasis:names:tc:SAML:2.0:cm:bearer".into(),
            status_code: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            status_message: None,
            attributes: vec![
                ("email".into(), vec!["alice@example.com".into()]),
                ("firstName".into(), vec!["Alice".into()]),
                (
                    "groups".into(),
                    vec!["Engineering".into(), "Everyone".into()],
                ),
            ],
            session_index: Some("_session-0123456789".into()),
            digest_sha1: false,
            signature_rsa_sha1: false,
        }
    }

    /// The same response, unsolicited (IdP-initiated): no InResponseTo anywhere.
    pub fn unsolicited(mut self) -> Self {
        self.response_in_response_to = None;
        self.confirmation_in_response_to = None;
        self
    }
}

fn template(id: &str, cert: &CertificateDer, spec: &ResponseSpec) -> Signature {
    let mut signature = Signature::template(id, cert);
    if !spec.digest_sha1 {
        for reference in &mut signature.signed_info.reference {
            reference.digest_method.algorithm = DigestAlgorithm::Sha256;
        }
    }
    if spec.signature_rsa_sha1 {
        signature.signed_info.signature_method.algorithm =
            SignatureAlgorithm::Unsupported("http://www.w3.org/2000/09/xmldsig#rsa-sha1".into());
    }
    signature
}

fn strip_declaration(xml: &str) -> &str {
    if xml.starts_with("<?xml") {
        xml.split_once("?>")
            .map(|(_, rest)| rest.trim_start())
            .unwrap_or(xml)
    } else {
        xml
    }
}

fn build_signed_response(idp: &TestIdp, spec: &ResponseSpec) -> String {
    let cert = CertificateDer::from(idp.certificate_der.clone());
    let mut response = build_response_template(
        &cert,
        &spec.name_id,
        spec.audience.as_deref().unwrap_or(""),
        &spec.assertion_issuer,
        &spec.recipient,
        spec.confirmation_in_response_to.as_deref().unwrap_or(""),
        &[],
    );
    // chrono is not a dependency here; one second, derived from samael's default.
    let delay = ServiceProvider::default().max_issue_delay;
    let one_second = delay / (delay.num_seconds() as i32);
    let now = response.issue_instant;
    let at = |offset: i64| now + one_second * (offset as i32);

    response.issue_instant = at(spec.issue_instant_offset);
    response.destination = spec.destination.clone();
    response.in_response_to = spec.response_in_response_to.clone();
    response.issuer = spec
        .response_issuer
        .as_ref()
        .map(|value| samael::schema::Issuer {
            value: Some(value.clone()),
            ..Default::default()
        });
    if let Some(status) = response.status.as_mut() {
        status.status_code.value = Some(spec.status_code.clone());
        status.status_message = spec.status_message.as_ref().map(|m| StatusMessage {
            value: Some(m.clone()),
        });
    }
    let mut assertion = response
        .assertion
        .take()
        .expect("template has an assertion");
    assertion.issue_instant = at(spec.issue_instant_offset);
    if let Some(subject) = assertion.subject.as_mut() {
        if let Some(name_id) = subject.name_id.as_mut() {
            name_id.format = spec.name_id_format.clone();
        }
        for confirmation in subject.subject_confirmations.iter_mut().flatten() {
            confirmation.method = Some(spec.confirmation_method.clone());
            if let Some(data) = confirmation.subject_confirmation_data.as_mut() {
                data.not_on_or_after = spec.confirmation_not_on_or_after_offset.map(at);
                data.in_response_to = spec.confirmation_in_response_to.clone();
            }
        }
    }
    if spec.conditions {
        if let Some(conditions) = assertion.conditions.as_mut() {
            conditions.not_before = spec.not_before_offset.map(at);
            conditions.not_on_or_after = spec.not_on_or_after_offset.map(at);
            if spec.audience.is_none() {
                conditions.audience_restrictions = None;
            }
        }
    } else {
        assertion.conditions = None;
    }
    for statement in assertion.authn_statements.iter_mut().flatten() {
        statement.session_index = spec.session_index.clone();
        statement.authn_instant = Some(at(spec.issue_instant_offset));
    }
    assertion.attribute_statements = if spec.attributes.is_empty() {
        None
    } else {
        Some(vec![AttributeStatement {
            attributes: spec
                .attributes
                .iter()
                .map(|(name, values)| Attribute {
                    friendly_name: None,
                    name: Some(name.clone()),
                    name_format: Some("urn:oasis:names:tc:SAML:2.0:attrname-format:basic".into()),
                    values: values
                        .iter()
                        .map(|v| AttributeValue {
                            attribute_type: Some("xs:string".into()),
                            value: Some(v.clone()),
                        })
                        .collect(),
                })
                .collect(),
        }])
    };

    let sign = |xml: &str| -> String {
        Crypto::sign_xml(xml, &idp.key_der).expect("samael signs the test response")
    };
    let sign_assertion = matches!(spec.sign, SignMode::Assertion | SignMode::Both);
    let sign_response = matches!(spec.sign, SignMode::Response | SignMode::Both);
    assertion.signature = None;
    response.signature = if sign_response {
        Some(template(&response.id, &cert, spec))
    } else {
        None
    };

    if sign_assertion {
        // sign_xml signs the first template in document order, so the assertion is signed on
        // its own first and then put into the Response (test-idps.md §2).
        let mut signed_assertion = assertion.clone();
        signed_assertion.signature = Some(template(&assertion.id, &cert, spec));
        let assertion_xml = signed_assertion.to_string().expect("serialise assertion");
        let signed = sign(&assertion_xml);
        let signed = strip_declaration(&signed).trim_end().to_string();

        response.assertion = Some(assertion);
        let response_xml = response.to_string().expect("serialise response");
        let start = response_xml
            .find("<saml2:Assertion")
            .expect("assertion start");
        let end_tag = "</saml2:Assertion>";
        let end = response_xml.rfind(end_tag).expect("assertion end") + end_tag.len();
        let combined = format!(
            "{}{}{}",
            &response_xml[..start],
            signed,
            &response_xml[end..]
        );
        if sign_response {
            sign(&combined)
        } else {
            combined
        }
    } else {
        response.assertion = Some(assertion);
        let response_xml = response.to_string().expect("serialise response");
        if sign_response {
            sign(&response_xml)
        } else {
            response_xml
        }
    }
}
