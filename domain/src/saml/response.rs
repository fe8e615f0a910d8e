//! The ACS side: decoding a posted SAMLResponse and deciding whether it signs someone in.
//!
//! Two steps, so the caller can look the pending request up in between:
//! 1. `receive_response` decodes and strictly pre-parses the POST body and reads the
//!    (unverified) InResponseTo.
//! 2. `verify_response` checks the shape (one assertion, signatures only where an IdP puts
//!    them, allowed algorithms), lets samael verify the signature and its own conditions, then
//!    adds the checks samael leaves out. Identity comes only from what samael returns, which
//!    is reduced to the signed element.
//!
//! Replay protection is the caller's: keep `assertion_id` (and the request id) single-use
//! until `not_on_or_after` plus the clock skew.

use std::collections::HashSet;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::{Document, Node, ParsingOptions};
use samael::crypto::AllowedSignatureAlgorithm;
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{EntityDescriptor, IdpSsoDescriptor, KeyDescriptor};
use samael::schema::Assertion;
use samael::service_provider::{Error as SamaelError, ServiceProvider};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::rejection::SamlRejection;
use super::sp_metadata::SpIdentity;
use super::{NS_ASSERTION, NS_DSIG, NS_PROTOCOL};

/// The largest decoded SAMLResponse accepted: 256 KiB. Okta's are a few KB; the cap bounds
/// the work an anonymous POST to the ACS can cause.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// How old a response's IssueInstant may be (plus the policy's clock skew). The browser posts
/// it within seconds of the IdP making it; a short window narrows replays even before the
/// assertion-id cache.
pub const MAX_RESPONSE_AGE: Duration = Duration::seconds(90);

/// Most XML nodes a response may have.
const MAX_NODES: u32 = 20_000;
/// Deepest element nesting accepted. Okta's responses are 6 levels deep; libxml2 itself stops
/// at 256.
const MAX_DEPTH: u16 = 64;

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

const ALLOWED_SIGNATURE_METHODS: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const ALLOWED_DIGEST_METHODS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
/// Canonicalisations without comments: a "WithComments" variant would make comments part of
/// what is signed, and comment handling is where NameID truncation attacks live.
const ALLOWED_C14N: &[&str] = &[
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];
const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// A posted SAMLResponse, decoded and pre-parsed, not yet verified.
#[derive(Clone)]
pub struct ReceivedResponse {
    xml: String,
    /// The Response's ID (unverified).
    pub response_id: Option<String>,
    /// The Response's InResponseTo (UNVERIFIED): only for looking the pending request up. The
    /// verified value is `VerifiedAssertion::in_response_to`.
    pub in_response_to: Option<String>,
    /// The Response's Issuer (unverified), to tell the admin which IdP answered.
    pub issuer: Option<String>,
}

impl ReceivedResponse {
    /// The decoded XML, e.g. for a debugging view. It holds personal data (the NameID and
    /// attributes): never log it.
    pub fn xml(&self) -> &str {
        &self.xml
    }
}

impl fmt::Debug for ReceivedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedResponse")
            .field("response_id", &self.response_id)
            .field("in_response_to", &self.in_response_to)
            .field("issuer", &self.issuer)
            .field("xml", &format_args!("{} bytes", self.xml.len()))
            .finish()
    }
}

/// What a response is checked against: one authentication profile's settings.
#[derive(Debug, Clone, Copy)]
pub struct ResponsePolicy<'a> {
    /// This profile's SP identity (entity ID = Audience, ACS URL = Destination/Recipient).
    pub sp: &'a SpIdentity,
    /// The IdP's entity ID from its metadata; the Issuer must equal it.
    pub idp_entity_id: &'a str,
    /// The IdP's signing certificates (DER). Empty means nothing is accepted.
    pub idp_certificates: &'a [Vec<u8>],
    /// Tolerance for clock differences, applied to NotBefore, NotOnOrAfter and IssueInstant.
    pub clock_skew: Duration,
    /// Accept responses that answer no request (Okta dashboard tiles). Off by default.
    pub allow_idp_initiated: bool,
}

/// A verified assertion: everything here comes from signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The assertion's ID: the caller must accept it only once (replay).
    pub assertion_id: String,
    /// The Response's ID; signed only when the Response was, so use it as an extra key only.
    pub response_id: Option<String>,
    /// The Issuer (equal to the policy's IdP entity ID).
    pub issuer: String,
    /// The subject's NameID value, exactly as signed.
    pub name_id: String,
    /// The NameID Format, if the IdP sent one.
    pub name_id_format: Option<String>,
    /// Attribute name and values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The AuthnStatement SessionIndex, needed for single logout.
    pub session_index: Option<String>,
    /// The request this assertion answers, from its signed SubjectConfirmationData.
    pub in_response_to: Option<String>,
    /// The earliest of Conditions NotOnOrAfter and SubjectConfirmationData NotOnOrAfter:
    /// keep the assertion id in the replay cache until this instant plus the clock skew.
    pub not_on_or_after: OffsetDateTime,
}

/// Decodes the `SAMLResponse` form field and pre-parses it strictly. Cheap, and refuses
/// garbage before anything touches libxml2.
pub fn receive_response(saml_response_b64: &str) -> Result<ReceivedResponse, SamlRejection> {
    let max_b64 = MAX_RESPONSE_BYTES.div_ceil(3) * 4;
    // Line breaks every 76 columns add a few percent; twice the size is generous.
    if saml_response_b64.len() > max_b64 * 2 {
        return Err(SamlRejection::TooLarge {
            size: saml_response_b64.len(),
            limit: max_b64 * 2,
        });
    }
    let compact: Vec<u8> = saml_response_b64
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.len() > max_b64 {
        return Err(SamlRejection::TooLarge {
            size: compact.len(),
            limit: max_b64,
        });
    }
    if compact.is_empty() {
        return Err(SamlRejection::Encoding(
            "the SAMLResponse field is empty".into(),
        ));
    }
    let bytes = STANDARD
        .decode(&compact)
        .map_err(|e| SamlRejection::Encoding(format!("it is not valid base64 ({e})")))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlRejection::TooLarge {
            size: bytes.len(),
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let xml = String::from_utf8(bytes)
        .map_err(|_| SamlRejection::Encoding("the decoded response is not UTF-8 text".into()))?;
    let (response_id, in_response_to, issuer) = {
        let doc = parse_strict(&xml)?;
        let root = doc.root_element();
        (
            root.attribute("ID").map(str::to_string),
            root.attribute("InResponseTo").map(str::to_string),
            child(root, NS_ASSERTION, "Issuer")
                .and_then(|n| n.text())
                .map(|s| s.trim().to_string()),
        )
    };
    Ok(ReceivedResponse {
        xml,
        response_id,
        in_response_to,
        issuer,
    })
}

/// Verifies a received response for one profile. `expected_request_id` is the id of the
/// request pending for this browser (found through `ReceivedResponse::in_response_to`), or
/// None when there is none.
pub fn verify_response(
    received: &ReceivedResponse,
    policy: &ResponsePolicy,
    expected_request_id: Option<&str>,
) -> Result<VerifiedAssertion, SamlRejection> {
    // samael verifies no signature at all when it has no certificate (fail-open).
    if policy.idp_certificates.is_empty() || policy.idp_certificates.iter().any(Vec::is_empty) {
        return Err(SamlRejection::NoIdpCertificate);
    }
    let now = OffsetDateTime::now_utc();
    let skew = policy.clock_skew.abs();
    let doc = parse_strict(&received.xml)?;
    let root = doc.root_element();

    check_request_binding(received, policy, expected_request_id)?;
    check_status(root)?;
    check_response_envelope(root, policy, now, skew)?;
    let raw_assertion = check_structure(&doc)?;
    check_signatures(&doc, root, raw_assertion)?;

    let assertion = samael_verify(&received.xml, policy, expected_request_id, skew)
        .map_err(|e| with_raw_audiences(e, raw_assertion))?;

    if raw_assertion.attribute("ID") != Some(assertion.id.as_str()) {
        return Err(SamlRejection::SignatureLayout(
            "the signed assertion is not the one inside the Response".into(),
        ));
    }
    check_assertion(&assertion, policy, expected_request_id, now, skew, received)
}

/// A strict parse: no DTD, no PIs, UTF-8 only, bounded size and depth, root is a Response.
fn parse_strict(xml: &str) -> Result<Document<'_>, SamlRejection> {
    if xml.starts_with('\u{feff}') {
        return Err(SamlRejection::Malformed(
            "it starts with a byte order mark".into(),
        ));
    }
    if let Some(rest) = xml.strip_prefix("<?xml") {
        let decl = rest.split("?>").next().unwrap_or_default();
        if let Some(encoding) = declared_encoding(decl) {
            if !encoding.eq_ignore_ascii_case("utf-8") {
                return Err(SamlRejection::Malformed(format!(
                    "it declares the encoding {encoding}; only UTF-8 is accepted"
                )));
            }
        }
    }
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(SamlRejection::Doctype);
    }
    let doc = Document::parse_with_options(
        xml,
        ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_NODES,
        },
    )
    .map_err(|e| match e {
        roxmltree::Error::DtdDetected
        | roxmltree::Error::UnknownEntityReference(..)
        | roxmltree::Error::EntityReferenceLoop(..) => SamlRejection::Doctype,
        other => SamlRejection::Malformed(format!("not well-formed XML: {other}")),
    })?;
    let mut depth: Vec<u16> = vec![0; doc.descendants().count() + 1];
    for node in doc.descendants() {
        if node.is_pi() {
            return Err(SamlRejection::Malformed(
                "it contains a processing instruction".into(),
            ));
        }
        if let Some(parent) = node.parent() {
            let d = depth[parent.id().get_usize()].saturating_add(1);
            if d > MAX_DEPTH {
                return Err(SamlRejection::Malformed(format!(
                    "its elements nest deeper than {MAX_DEPTH} levels"
                )));
            }
            depth[node.id().get_usize()] = d;
        }
    }
    let root = doc.root_element();
    if !is(root, NS_PROTOCOL, "Response") {
        let name = root.tag_name();
        return Err(SamlRejection::NotAResponse {
            root: match name.namespace() {
                Some(ns) => format!("{} xmlns=\"{ns}\"", name.name()),
                None => name.name().to_string(),
            },
        });
    }
    Ok(doc)
}

fn declared_encoding(decl: &str) -> Option<&str> {
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = &rest[1..];
    rest.find(quote).map(|end| &rest[..end])
}

fn is(node: Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(*c, ns, name))
}

fn parse_instant(value: Option<&str>, what: &str) -> Result<OffsetDateTime, SamlRejection> {
    let value =
        value.ok_or_else(|| SamlRejection::Malformed(format!("the {what} has no IssueInstant")))?;
    OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|_| {
        SamlRejection::Malformed(format!(
            "the {what}'s IssueInstant {value:?} is not an ISO 8601 UTC time"
        ))
    })
}

/// InResponseTo against the pending request, before any expensive work. Reading the
/// unverified Response attribute can only make us refuse, never accept.
fn check_request_binding(
    received: &ReceivedResponse,
    policy: &ResponsePolicy,
    expected: Option<&str>,
) -> Result<(), SamlRejection> {
    match expected {
        None if !policy.allow_idp_initiated => Err(match &received.in_response_to {
            Some(found) => SamlRejection::InResponseTo {
                expected: None,
                found: Some(found.clone()),
            },
            None => SamlRejection::Unsolicited,
        }),
        None => Ok(()),
        Some(expected) => match &received.in_response_to {
            Some(found) if found != expected => Err(SamlRejection::InResponseTo {
                expected: Some(expected.to_string()),
                found: Some(found.clone()),
            }),
            _ => Ok(()),
        },
    }
}

/// The top-level Status. Checked before the signature so the admin sees what the IdP said
/// (error responses from Okta carry no assertion at all).
fn check_status(root: Node) -> Result<(), SamlRejection> {
    let status = child(root, NS_PROTOCOL, "Status")
        .ok_or_else(|| SamlRejection::Malformed("the Response has no Status".into()))?;
    let code_node = child(status, NS_PROTOCOL, "StatusCode")
        .ok_or_else(|| SamlRejection::Malformed("the Status has no StatusCode".into()))?;
    let code = code_node.attribute("Value").unwrap_or_default();
    if code == STATUS_SUCCESS {
        return Ok(());
    }
    Err(SamlRejection::Status {
        code: code.to_string(),
        sub_code: child(code_node, NS_PROTOCOL, "StatusCode")
            .and_then(|n| n.attribute("Value"))
            .map(str::to_string),
        message: child(status, NS_PROTOCOL, "StatusMessage")
            .and_then(|n| n.text())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    })
}

/// Destination, Issuer and IssueInstant of the Response element. samael checks them only when
/// the Response itself is signed; Okta always sends them, so a wrong value is refused either
/// way (unverified values can only cause a refusal here).
fn check_response_envelope(
    root: Node,
    policy: &ResponsePolicy,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<(), SamlRejection> {
    if root.attribute("Version") != Some("2.0") {
        return Err(SamlRejection::Malformed(
            "the Response is not SAML version 2.0".into(),
        ));
    }
    if let Some(destination) = root.attribute("Destination") {
        if destination != policy.sp.acs_url {
            return Err(SamlRejection::Destination {
                expected: policy.sp.acs_url.clone(),
                found: destination.to_string(),
            });
        }
    }
    if let Some(issuer) = child(root, NS_ASSERTION, "Issuer") {
        let value = issuer.text().unwrap_or_default().trim();
        if value != policy.idp_entity_id {
            return Err(SamlRejection::Issuer {
                expected: policy.idp_entity_id.to_string(),
                found: Some(value.to_string()),
            });
        }
    }
    let issued = parse_instant(root.attribute("IssueInstant"), "Response")?;
    if issued > now + skew {
        return Err(SamlRejection::IssuedInFuture {
            issue_instant: issued,
        });
    }
    Ok(())
}

/// Exactly one assertion, a direct child of the Response, no encrypted ones, unique IDs.
/// Every wrapping attack adds a second assertion somewhere or moves the signed one.
fn check_structure<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, SamlRejection> {
    let root = doc.root_element();
    let mut assertions = Vec::new();
    let mut ids = HashSet::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        if name == "EncryptedAssertion" {
            return Err(SamlRejection::EncryptedAssertion);
        }
        if name == "Assertion" {
            assertions.push(node);
        }
        for attr in node.attributes() {
            if attr.name() == "ID" && attr.namespace().is_none() && !ids.insert(attr.value()) {
                return Err(SamlRejection::DuplicateId {
                    id: attr.value().to_string(),
                });
            }
        }
    }
    let [assertion] = assertions.as_slice() else {
        return Err(SamlRejection::AssertionCount {
            count: assertions.len(),
        });
    };
    if assertion.tag_name().namespace() != Some(NS_ASSERTION) {
        return Err(SamlRejection::Malformed(format!(
            "the Assertion is in the namespace {:?}, not SAML 2.0's",
            assertion.tag_name().namespace().unwrap_or_default()
        )));
    }
    if assertion.parent_element() != Some(root) {
        return Err(SamlRejection::Malformed(
            "the Assertion is not directly inside the Response".into(),
        ));
    }
    if assertion.attribute("ID").is_none_or(str::is_empty) {
        return Err(SamlRejection::Malformed("the Assertion has no ID".into()));
    }
    Ok(*assertion)
}

/// Every signature must be an enveloped signature over its own parent, which is the Response
/// or the Assertion, with one reference, plain transforms and allowed algorithms. That is all
/// IdPs produce; anything else is a wrapping or downgrade attempt, refused with a precise code
/// before libxml2 sees it.
fn check_signatures(doc: &Document, root: Node, assertion: Node) -> Result<(), SamlRejection> {
    let signatures: Vec<Node> = doc
        .descendants()
        .filter(|n| is(*n, NS_DSIG, "Signature"))
        .collect();
    if signatures.is_empty() {
        return Err(SamlRejection::SignatureMissing);
    }
    let layout = |why: String| Err(SamlRejection::SignatureLayout(why));
    let mut signed_parents = Vec::new();
    for sig in signatures {
        let Some(parent) = sig.parent_element() else {
            return layout("a signature is the document root".into());
        };
        if parent != root && parent != assertion {
            return layout(format!(
                "a signature sits inside <{}>",
                parent.tag_name().name()
            ));
        }
        if signed_parents.contains(&parent) {
            return layout(format!(
                "<{}> carries two signatures",
                parent.tag_name().name()
            ));
        }
        signed_parents.push(parent);
        if child(sig, NS_DSIG, "Object").is_some() {
            return layout("a signature carries a ds:Object".into());
        }
        let signed_info: Vec<Node> = sig
            .children()
            .filter(|n| is(*n, NS_DSIG, "SignedInfo"))
            .collect();
        let [signed_info] = signed_info.as_slice() else {
            return layout("a signature does not have exactly one SignedInfo".into());
        };
        let c14n = child(*signed_info, NS_DSIG, "CanonicalizationMethod")
            .and_then(|n| n.attribute("Algorithm"))
            .unwrap_or_default();
        if !ALLOWED_C14N.contains(&c14n) {
            return layout(format!("canonicalization {c14n:?} is not accepted"));
        }
        let method = child(*signed_info, NS_DSIG, "SignatureMethod")
            .and_then(|n| n.attribute("Algorithm"))
            .unwrap_or_default();
        if !ALLOWED_SIGNATURE_METHODS.contains(&method) {
            return Err(SamlRejection::WeakAlgorithm {
                algorithm: method.to_string(),
            });
        }
        let references: Vec<Node> = signed_info
            .children()
            .filter(|n| is(*n, NS_DSIG, "Reference"))
            .collect();
        let [reference] = references.as_slice() else {
            return layout(format!(
                "a signature has {} references instead of one",
                references.len()
            ));
        };
        let parent_id = parent.attribute("ID").unwrap_or_default();
        let uri = reference.attribute("URI").unwrap_or_default();
        if parent_id.is_empty() || uri.strip_prefix('#') != Some(parent_id) {
            return layout(format!(
                "the signature inside <{}> covers {uri:?} instead of that element",
                parent.tag_name().name()
            ));
        }
        let digest = child(*reference, NS_DSIG, "DigestMethod")
            .and_then(|n| n.attribute("Algorithm"))
            .unwrap_or_default();
        if !ALLOWED_DIGEST_METHODS.contains(&digest) {
            return Err(SamlRejection::WeakAlgorithm {
                algorithm: digest.to_string(),
            });
        }
        if let Some(transforms) = child(*reference, NS_DSIG, "Transforms") {
            for transform in transforms.children().filter(|n| n.is_element()) {
                let algorithm = transform.attribute("Algorithm").unwrap_or_default();
                if !is(transform, NS_DSIG, "Transform")
                    || !(algorithm == ENVELOPED_SIGNATURE || ALLOWED_C14N.contains(&algorithm))
                {
                    return layout(format!("transform {algorithm:?} is not accepted"));
                }
            }
        }
    }
    Ok(())
}

/// Runs samael's verification: signature (against the metadata certificates only, never
/// KeyInfo), reduction to the signed element, and its own checks. Its error is not `Send`, so
/// it is turned into a `SamlRejection` here, before anything else happens.
fn samael_verify(
    xml: &str,
    policy: &ResponsePolicy,
    expected: Option<&str>,
    skew: Duration,
) -> Result<Assertion, SamlRejection> {
    let mut provider = ServiceProvider::default();
    // chrono is not a dependency of this crate: derive one second from samael's default
    // (a whole number of seconds) and scale it.
    let one_second = provider.max_issue_delay / (provider.max_issue_delay.num_seconds() as i32);
    let secs = |d: Duration| d.whole_seconds().clamp(0, i64::from(i32::MAX)) as i32;
    provider.entity_id = Some(policy.sp.entity_id.clone());
    provider.acs_url = Some(policy.sp.acs_url.clone());
    provider.slo_url = None;
    provider.metadata_url = None;
    provider.allow_idp_initiated = policy.allow_idp_initiated;
    provider.max_clock_skew = one_second * secs(skew);
    provider.max_issue_delay = one_second * secs(MAX_RESPONSE_AGE + skew);
    provider.allowed_signature_algorithms = Some(vec![
        AllowedSignatureAlgorithm::RsaSha256,
        AllowedSignatureAlgorithm::RsaSha384,
        AllowedSignatureAlgorithm::RsaSha512,
        AllowedSignatureAlgorithm::EcdsaSha256,
        AllowedSignatureAlgorithm::EcdsaSha384,
        AllowedSignatureAlgorithm::EcdsaSha512,
    ]);
    provider.idp_metadata = idp_entity_descriptor(policy);
    debug_assert_eq!(provider.max_clock_skew.num_seconds(), i64::from(secs(skew)));

    // The fail-open guard, again, on what samael itself will use.
    match provider.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => {}
        _ => return Err(SamlRejection::NoIdpCertificate),
    }
    let ids: Vec<&str> = expected.into_iter().collect();
    let possible = if ids.is_empty() {
        None
    } else {
        Some(ids.as_slice())
    };
    provider
        .parse_xml_response(xml, possible)
        .map_err(|e| map_samael_error(e, policy, expected))
}

fn idp_entity_descriptor(policy: &ResponsePolicy) -> EntityDescriptor {
    let key_descriptors = policy
        .idp_certificates
        .iter()
        .map(|der| KeyDescriptor {
            key_use: Some("signing".into()),
            key_info: KeyInfo {
                id: None,
                x509_data: Some(X509Data {
                    certificates: vec![STANDARD.encode(der)],
                }),
            },
            encryption_methods: None,
        })
        .collect();
    EntityDescriptor {
        entity_id: Some(policy.idp_entity_id.to_string()),
        idp_sso_descriptors: Some(vec![IdpSsoDescriptor {
            id: None,
            valid_until: None,
            cache_duration: None,
            protocol_support_enumeration: Some(NS_PROTOCOL.into()),
            error_url: None,
            signature: None,
            key_descriptors,
            organization: None,
            contact_people: Vec::new(),
            artifact_resolution_service: Vec::new(),
            single_logout_services: Vec::new(),
            manage_name_id_services: Vec::new(),
            name_id_formats: Vec::new(),
            want_authn_requests_signed: None,
            single_sign_on_services: Vec::new(),
            name_id_mapping_services: Vec::new(),
            assertion_id_request_services: Vec::new(),
            attribute_profiles: Vec::new(),
            attributes: Vec::new(),
        }]),
        ..EntityDescriptor::default()
    }
}

/// samael's audience error does not say what the assertion named; the admin needs that to
/// fix a mismatch, so it is read from the (here already signature-checked) document.
fn with_raw_audiences(e: SamlRejection, raw_assertion: Node) -> SamlRejection {
    match e {
        SamlRejection::Audience { expected, found } if found.is_empty() => {
            SamlRejection::Audience {
                expected,
                found: raw_assertion
                    .descendants()
                    .filter(|n| is(*n, NS_ASSERTION, "Audience"))
                    .filter_map(|n| n.text())
                    .map(|t| t.trim().to_string())
                    .collect(),
            }
        }
        other => other,
    }
}

fn parse_samael_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn map_samael_error(
    e: SamaelError,
    policy: &ResponsePolicy,
    expected: Option<&str>,
) -> SamlRejection {
    use SamaelError as E;
    match e {
        E::DestinationValidationError {
            response_destination,
            ..
        } => SamlRejection::Destination {
            expected: policy.sp.acs_url.clone(),
            found: response_destination.unwrap_or_default(),
        },
        E::AssertionExpired { .. } | E::ResponseExpired { .. } => SamlRejection::TooOld,
        E::AssertionBearerSubjectConfirmationMissing => {
            SamlRejection::SubjectConfirmation("there is no bearer SubjectConfirmation".into())
        }
        E::AssertionSubjectConfirmationMissing => SamlRejection::SubjectConfirmation(
            "the bearer SubjectConfirmationData or its NotOnOrAfter is missing".into(),
        ),
        E::AssertionSubjectConfirmationExpired { time } | E::AssertionConditionExpired { time } => {
            SamlRejection::Expired {
                not_on_or_after: parse_samael_time(&time),
            }
        }
        E::AssertionSubjectConfirmationExpiredBefore { time }
        | E::AssertionConditionExpiredBefore { time } => SamlRejection::NotYetValid {
            not_before: parse_samael_time(&time),
        },
        E::AssertionIssuerMismatch { issuer, .. } | E::ResponseIssuerMismatch { issuer, .. } => {
            SamlRejection::Issuer {
                expected: policy.idp_entity_id.to_string(),
                found: issuer,
            }
        }
        E::AssertionConditionAudienceRestrictionFailed { .. } => SamlRejection::Audience {
            expected: policy.sp.entity_id.clone(),
            found: Vec::new(),
        },
        E::AssertionRecipientMismatch {
            assertion_recipient,
            ..
        } => SamlRejection::Recipient {
            expected: policy.sp.acs_url.clone(),
            found: assertion_recipient,
        },
        E::AssertionInResponseToInvalid { .. } | E::ResponseInResponseToInvalid { .. } => {
            match expected {
                Some(expected) => SamlRejection::InResponseTo {
                    expected: Some(expected.to_string()),
                    found: None,
                },
                None => SamlRejection::Unsolicited,
            }
        }
        E::ResponseBadStatusCode { code } => SamlRejection::Status {
            code,
            sub_code: None,
            message: None,
        },
        E::EncryptedAssertionsNotYetSupported
        | E::MissingPrivateKeySP
        | E::MissingEncryptedKeyInfo
        | E::MissingEncryptedValueInfo
        | E::EncryptedAssertionKeyMethodUnsupported { .. }
        | E::EncryptedAssertionValueMethodUnsupported { .. }
        | E::EncryptedAssertionInvalid
        | E::FailedToDecryptAssertion => SamlRejection::EncryptedAssertion,
        E::FailedToValidateSignature => SamlRejection::SignatureInvalid,
        E::FailedToParseCert { .. } => SamlRejection::NoIdpCertificate,
        E::DeserializeResponseError
        | E::FailedToParseSamlResponse(_)
        | E::FailedToParseSamlAssertion(_)
        | E::CryptoXmlError(_) => SamlRejection::Malformed(format!("samael: {e}")),
        other => SamlRejection::Unexpected(other.to_string()),
    }
}

fn offset(secs: i64, nanos: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t + Duration::nanoseconds(i64::from(nanos)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The checks samael leaves out (samael.md §7.1), on the assertion it returned, which is the
/// signed one.
fn check_assertion(
    assertion: &Assertion,
    policy: &ResponsePolicy,
    expected: Option<&str>,
    now: OffsetDateTime,
    skew: Duration,
    received: &ReceivedResponse,
) -> Result<VerifiedAssertion, SamlRejection> {
    let issuer = assertion.issuer.value.clone().unwrap_or_default();
    if issuer != policy.idp_entity_id {
        return Err(SamlRejection::Issuer {
            expected: policy.idp_entity_id.to_string(),
            found: Some(issuer),
        });
    }
    let issued = offset(
        assertion.issue_instant.timestamp(),
        assertion.issue_instant.timestamp_subsec_nanos(),
    );
    if issued > now + skew {
        return Err(SamlRejection::IssuedInFuture {
            issue_instant: issued,
        });
    }
    if issued + MAX_RESPONSE_AGE + skew < now {
        return Err(SamlRejection::TooOld);
    }

    // Conditions and an Audience are required: without them an assertion for another SP (or
    // another profile at the same IdP) would be accepted here.
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or(SamlRejection::ConditionsMissing)?;
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .unwrap_or_default();
    let audiences: Vec<String> = restrictions
        .iter()
        .flat_map(|r| r.audience.iter().cloned())
        .collect();
    if audiences.is_empty() {
        return Err(SamlRejection::AudienceMissing);
    }
    // Each AudienceRestriction must name us (SAML core 2.5.1.4).
    if !restrictions
        .iter()
        .all(|r| r.audience.contains(&policy.sp.entity_id))
    {
        return Err(SamlRejection::Audience {
            expected: policy.sp.entity_id.clone(),
            found: audiences,
        });
    }
    let conditions_not_before = conditions
        .not_before
        .map(|t| offset(t.timestamp(), t.timestamp_subsec_nanos()));
    if let Some(not_before) = conditions_not_before {
        if now + skew < not_before {
            return Err(SamlRejection::NotYetValid {
                not_before: Some(not_before),
            });
        }
    }
    let conditions_not_on_or_after = conditions
        .not_on_or_after
        .map(|t| offset(t.timestamp(), t.timestamp_subsec_nanos()));

    // A bearer confirmation for our ACS, alive, answering the expected request.
    let subject = assertion.subject.as_ref();
    let bearer: Vec<_> = subject
        .and_then(|s| s.subject_confirmations.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|c| c.method.as_deref() == Some(CM_BEARER))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .collect();
    if bearer.is_empty() {
        return Err(SamlRejection::SubjectConfirmation(
            "there is no bearer SubjectConfirmation with data".into(),
        ));
    }
    let mut confirmed: Option<(OffsetDateTime, Option<String>)> = None;
    let mut first_problem = None;
    for data in bearer {
        if data.recipient.as_deref() != Some(policy.sp.acs_url.as_str()) {
            first_problem.get_or_insert(SamlRejection::Recipient {
                expected: policy.sp.acs_url.clone(),
                found: data.recipient.clone(),
            });
            continue;
        }
        let Some(until) = data
            .not_on_or_after
            .map(|t| offset(t.timestamp(), t.timestamp_subsec_nanos()))
        else {
            first_problem.get_or_insert(SamlRejection::SubjectConfirmation(
                "the bearer SubjectConfirmationData has no NotOnOrAfter".into(),
            ));
            continue;
        };
        if until + skew <= now {
            first_problem.get_or_insert(SamlRejection::Expired {
                not_on_or_after: Some(until),
            });
            continue;
        }
        if let Some(not_before) = data
            .not_before
            .map(|t| offset(t.timestamp(), t.timestamp_subsec_nanos()))
        {
            if now + skew < not_before {
                first_problem.get_or_insert(SamlRejection::NotYetValid {
                    not_before: Some(not_before),
                });
                continue;
            }
        }
        if let Some(expected) = expected {
            if data.in_response_to.as_deref() != Some(expected) {
                first_problem.get_or_insert(SamlRejection::InResponseTo {
                    expected: Some(expected.to_string()),
                    found: data.in_response_to.clone(),
                });
                continue;
            }
        }
        if confirmed.as_ref().is_none_or(|(t, _)| until > *t) {
            confirmed = Some((until, data.in_response_to.clone()));
        }
    }
    let Some((confirmation_until, in_response_to)) = confirmed else {
        return Err(first_problem.unwrap_or_else(|| {
            SamlRejection::SubjectConfirmation("no bearer confirmation is usable".into())
        }));
    };
    let not_on_or_after = match conditions_not_on_or_after {
        Some(c) => c.min(confirmation_until),
        None => confirmation_until,
    };
    if not_on_or_after + skew <= now {
        return Err(SamlRejection::Expired {
            not_on_or_after: Some(not_on_or_after),
        });
    }

    let name_id = subject
        .and_then(|s| s.name_id.as_ref())
        .filter(|n| !n.value.trim().is_empty())
        .ok_or(SamlRejection::NameIdMissing)?;

    let attributes = assertion
        .attribute_statements
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|s| s.attributes.iter())
        .filter_map(|a| {
            let name = a.name.clone().or_else(|| a.friendly_name.clone())?;
            let values = a
                .values
                .iter()
                .map(|v| v.value.clone().unwrap_or_default())
                .collect();
            Some((name, values))
        })
        .collect();
    let session_index = assertion
        .authn_statements
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|s| s.session_index.clone());

    Ok(VerifiedAssertion {
        assertion_id: assertion.id.clone(),
        response_id: received.response_id.clone(),
        issuer,
        name_id: name_id.value.clone(),
        name_id_format: name_id.format.clone(),
        attributes,
        session_index,
        in_response_to,
        not_on_or_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrono_seconds_are_derived_exactly() {
        let provider = ServiceProvider::default();
        let one_second = provider.max_issue_delay / (provider.max_issue_delay.num_seconds() as i32);
        assert_eq!(one_second.num_milliseconds(), 1000);
        assert_eq!((one_second * 180).num_seconds(), 180);
    }

    #[test]
    fn encoding_declaration_is_read() {
        assert_eq!(
            declared_encoding(r#" version="1.0" encoding="UTF-8""#),
            Some("UTF-8")
        );
        assert_eq!(
            declared_encoding(" version='1.0' encoding = 'latin1'"),
            Some("latin1")
        );
        assert_eq!(declared_encoding(r#" version="1.0""#), None);
    }
}
