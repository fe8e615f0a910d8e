//! Importing an IdP's metadata (Okta's `…/sso/saml/metadata`, a file the admin uploads).
//!
//! Parsed strictly with roxmltree rather than with samael: samael's parser turns an HTML page,
//! an `EntitiesDescriptor` or an empty `EntityDescriptor` into an empty result without an
//! error, and metadata without a certificate later makes it accept unsigned responses
//! (samael.md §5, §7.1). Everything the ACS will rely on is checked here, once, with a sentence
//! the admin can act on.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::{Document, Node, ParsingOptions};
use time::{Duration, OffsetDateTime};

use super::certificate::{certificate_info, CertificateInfo};
use super::{
    check_endpoint_url, clip, UrlProblem, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING, NS_METADATA,
    NS_PROTOCOL,
};

/// The largest metadata document accepted: 1 MiB. Okta's is about 2 KB; even a federation
/// aggregate cut down to one IdP is far below this. It bounds memory and parse time for a
/// document that may come from an upload or a URL.
pub const MAX_METADATA_BYTES: usize = 1 << 20;

/// Most XML nodes a metadata document may have (a cap on work, whatever the byte size).
const MAX_METADATA_NODES: u32 = 200_000;

/// RSA keys below this size are refused: they can be factored by a motivated attacker, and
/// whoever holds the IdP key can log in as anyone.
const MIN_RSA_BITS: u32 = 2048;

/// One SingleSignOnService of the IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoEndpoint {
    /// The binding URI, e.g. `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect`.
    pub binding: String,
    /// Where the browser is sent with the AuthnRequest.
    pub location: String,
}

/// What Gatehouse keeps from an IdP's metadata: enough to send users there and to verify what
/// comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's entity ID; responses must carry exactly this Issuer.
    pub entity_id: String,
    /// Every SingleSignOnService, all of them http(s) and checked.
    pub sso_endpoints: Vec<SsoEndpoint>,
    /// The signing certificates, deduplicated. Several are kept so a rollover overlap works:
    /// a response signed by any of them is accepted.
    pub certificates: Vec<CertificateInfo>,
    /// The IdP asks for signed AuthnRequests (Okta: "Signed Requests" ticked).
    pub want_authn_requests_signed: bool,
}

impl IdpMetadata {
    /// The HTTP-Redirect SSO URL, the one Gatehouse sends AuthnRequests to.
    pub fn redirect_sso_url(&self) -> Option<&str> {
        self.sso_url(HTTP_REDIRECT_BINDING)
    }

    /// The HTTP-POST SSO URL, shown to the admin for reference.
    pub fn post_sso_url(&self) -> Option<&str> {
        self.sso_url(HTTP_POST_BINDING)
    }

    fn sso_url(&self, binding: &str) -> Option<&str> {
        self.sso_endpoints
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.as_str())
    }

    /// Certificates already expired at `now`. Not a reason to refuse the import (IdPs keep
    /// signing with expired certificates, and SAML does not check expiry), but the admin should
    /// confirm it knowingly.
    pub fn expired_certificates(&self, now: OffsetDateTime) -> Vec<&CertificateInfo> {
        self.certificates
            .iter()
            .filter(|c| c.is_expired(now))
            .collect()
    }

    /// Certificates still valid at `now` that expire within `days`, for a rollover warning.
    pub fn certificates_expiring_within(
        &self,
        now: OffsetDateTime,
        days: u32,
    ) -> Vec<&CertificateInfo> {
        let horizon = now + Duration::days(i64::from(days));
        self.certificates
            .iter()
            .filter(|c| !c.is_expired(now) && c.not_after <= horizon)
            .collect()
    }

    /// The certificates as DER, the form `ResponsePolicy::idp_certificates` takes.
    pub fn certificate_ders(&self) -> Vec<Vec<u8>> {
        self.certificates.iter().map(|c| c.der.clone()).collect()
    }
}

/// Why a metadata document was refused. `Display` is a sentence for the admin who imported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataRejection {
    /// Bigger than `MAX_METADATA_BYTES`.
    TooLarge { size: usize, limit: usize },
    /// Has a DOCTYPE or entity declarations, the carrier of XXE and entity-expansion attacks.
    Doctype,
    /// Not well-formed XML; the text says where.
    NotWellFormed(String),
    /// Well-formed, but the root is not SAML metadata (an HTML login page, say).
    NotMetadata { root: String },
    /// The metadata of a service provider, not of an identity provider.
    ServiceProviderMetadata,
    /// No IDPSSODescriptor.
    NoIdpDescriptor,
    /// An EntitiesDescriptor holding several IdPs and no choice made: the UI offers these.
    SeveralIdps { entity_ids: Vec<String> },
    /// The chosen entity ID is not in the document.
    UnknownEntityId {
        chosen: String,
        available: Vec<String>,
    },
    /// One entity with more than one IDPSSODescriptor: ambiguous which to use.
    SeveralIdpDescriptors,
    /// The EntityDescriptor has no entityID.
    MissingEntityId,
    /// The IDPSSODescriptor does not announce SAML 2.0.
    NotSaml2,
    /// No SingleSignOnService.
    NoSsoService,
    /// SSO services exist, but none with the HTTP-Redirect binding Gatehouse uses.
    NoRedirectSsoService { bindings: Vec<String> },
    /// No certificate usable for signing. `encryption_only` when the only ones are marked
    /// `use="encryption"`.
    NoSigningCertificate { encryption_only: bool },
    /// A signing certificate that is not valid base64 or not an X.509 certificate.
    BadCertificate(String),
    /// A signing certificate with a key too small to trust.
    WeakCertificateKey { subject: String, bits: u32 },
    /// An SSO URL over plain http to a host other than loopback.
    InsecureSsoUrl(String),
    /// An SSO URL that is not an http(s) URL at all.
    BadSsoUrl { url: String, reason: &'static str },
}

impl MetadataRejection {
    /// A stable identifier for events, metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Doctype => "doctype",
            Self::NotWellFormed(_) => "not_well_formed",
            Self::NotMetadata { .. } => "not_metadata",
            Self::ServiceProviderMetadata => "sp_metadata",
            Self::NoIdpDescriptor => "no_idp_descriptor",
            Self::SeveralIdps { .. } => "several_idps",
            Self::UnknownEntityId { .. } => "unknown_entity_id",
            Self::SeveralIdpDescriptors => "several_idp_descriptors",
            Self::MissingEntityId => "missing_entity_id",
            Self::NotSaml2 => "not_saml2",
            Self::NoSsoService => "no_sso_service",
            Self::NoRedirectSsoService { .. } => "no_redirect_sso_service",
            Self::NoSigningCertificate { .. } => "no_signing_certificate",
            Self::BadCertificate(_) => "bad_certificate",
            Self::WeakCertificateKey { .. } => "weak_certificate_key",
            Self::InsecureSsoUrl(_) => "insecure_sso_url",
            Self::BadSsoUrl { .. } => "bad_sso_url",
        }
    }
}

impl fmt::Display for MetadataRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => write!(
                f,
                "The metadata is {size} bytes long; at most {limit} bytes are accepted."
            ),
            Self::Doctype => f.write_str(
                "The metadata contains a DOCTYPE or entity declarations, which are refused because they can read files or exhaust memory.",
            ),
            Self::NotWellFormed(why) => write!(f, "The metadata is not well-formed XML: {why}."),
            Self::NotMetadata { root } => write!(
                f,
                "This is not SAML metadata: the document is a <{root}>, not an EntityDescriptor. Check that the URL or file is the IdP's metadata and not a login page."
            ),
            Self::ServiceProviderMetadata => f.write_str(
                "This is the metadata of a service provider, not of an identity provider. Import the metadata Okta (the IdP) publishes for this app.",
            ),
            Self::NoIdpDescriptor => f.write_str(
                "The metadata describes no identity provider (it has no IDPSSODescriptor).",
            ),
            Self::SeveralIdps { entity_ids } => write!(
                f,
                "The metadata describes {} identity providers; choose one: {}.",
                entity_ids.len(),
                entity_ids.iter().map(|e| clip(e)).collect::<Vec<_>>().join(", ")
            ),
            Self::UnknownEntityId { chosen, available } => write!(
                f,
                "The metadata has no identity provider with entity ID {}; it has: {}.",
                clip(chosen),
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.iter().map(|e| clip(e)).collect::<Vec<_>>().join(", ")
                }
            ),
            Self::SeveralIdpDescriptors => f.write_str(
                "The identity provider has more than one IDPSSODescriptor, so it is unclear which one to use.",
            ),
            Self::MissingEntityId => {
                f.write_str("The identity provider in the metadata has no entityID.")
            }
            Self::NotSaml2 => f.write_str(
                "The identity provider does not announce SAML 2.0 support (protocolSupportEnumeration).",
            ),
            Self::NoSsoService => f.write_str(
                "The identity provider has no SingleSignOnService, so there is nowhere to send users.",
            ),
            Self::NoRedirectSsoService { bindings } => write!(
                f,
                "The identity provider has no SingleSignOnService with the HTTP-Redirect binding, the one Gatehouse uses (it offers: {}).",
                bindings.iter().map(|b| clip(b)).collect::<Vec<_>>().join(", ")
            ),
            Self::NoSigningCertificate { encryption_only: true } => f.write_str(
                "The identity provider's only certificates are marked for encryption; a signing certificate is required to verify its responses.",
            ),
            Self::NoSigningCertificate { encryption_only: false } => f.write_str(
                "The identity provider has no signing certificate, so its responses could not be verified.",
            ),
            Self::BadCertificate(why) => write!(f, "A signing certificate is unusable: {why}"),
            Self::WeakCertificateKey { subject, bits } => write!(
                f,
                "The signing certificate {} has a {bits}-bit RSA key; at least {MIN_RSA_BITS} bits are required.",
                clip(subject)
            ),
            Self::InsecureSsoUrl(url) => write!(
                f,
                "The SSO URL {} uses plain http; only https is accepted (http only for 127.0.0.1, localhost or ::1).",
                clip(url)
            ),
            Self::BadSsoUrl { url, reason } => {
                write!(f, "The SSO URL {} is unusable: {reason}.", clip(url))
            }
        }
    }
}

impl std::error::Error for MetadataRejection {}

/// Parses and checks an IdP's metadata. `chosen_entity_id` picks one IdP out of an
/// EntitiesDescriptor that holds several (after `SeveralIdps` offered the list).
pub fn parse_idp_metadata(
    xml: &str,
    chosen_entity_id: Option<&str>,
) -> Result<IdpMetadata, MetadataRejection> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(MetadataRejection::TooLarge {
            size: xml.len(),
            limit: MAX_METADATA_BYTES,
        });
    }
    // A byte order mark is common in files saved on Windows, and harmless.
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    // A login or error page instead of the metadata is the common mistake; say so rather
    // than complain about its DOCTYPE or its unclosed tags.
    if looks_like_html(xml) {
        return Err(MetadataRejection::NotMetadata {
            root: "html".into(),
        });
    }
    // roxmltree accepts a DOCTYPE without an internal subset; nothing legitimate needs one.
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(MetadataRejection::Doctype);
    }
    let doc = Document::parse_with_options(
        xml,
        ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_METADATA_NODES,
        },
    )
    .map_err(|e| match e {
        roxmltree::Error::DtdDetected
        | roxmltree::Error::UnknownEntityReference(..)
        | roxmltree::Error::EntityReferenceLoop(..) => MetadataRejection::Doctype,
        other => MetadataRejection::NotWellFormed(other.to_string()),
    })?;

    let root = doc.root_element();
    let entity = if is_md(root, "EntityDescriptor") {
        if let Some(chosen) = chosen_entity_id {
            let own = root.attribute("entityID").unwrap_or_default();
            if own != chosen {
                return Err(MetadataRejection::UnknownEntityId {
                    chosen: chosen.to_string(),
                    available: vec![own.to_string()],
                });
            }
        }
        root
    } else if is_md(root, "EntitiesDescriptor") {
        choose_entity(root, chosen_entity_id)?
    } else {
        return Err(MetadataRejection::NotMetadata {
            root: root.tag_name().name().to_string(),
        });
    };

    let idp_descriptors: Vec<Node> = entity
        .children()
        .filter(|n| is_md(*n, "IDPSSODescriptor"))
        .collect();
    let idp = match idp_descriptors.as_slice() {
        [] => {
            return Err(if entity.children().any(|n| is_md(n, "SPSSODescriptor")) {
                MetadataRejection::ServiceProviderMetadata
            } else {
                MetadataRejection::NoIdpDescriptor
            })
        }
        [one] => *one,
        _ => return Err(MetadataRejection::SeveralIdpDescriptors),
    };
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(MetadataRejection::MissingEntityId)?
        .to_string();
    let saml2 = idp
        .attribute("protocolSupportEnumeration")
        .is_some_and(|v| v.split_ascii_whitespace().any(|p| p == NS_PROTOCOL));
    if !saml2 {
        return Err(MetadataRejection::NotSaml2);
    }

    let certificates = signing_certificates(idp)?;
    let sso_endpoints = sso_endpoints(idp)?;
    let want_authn_requests_signed = matches!(
        idp.attribute("WantAuthnRequestsSigned").map(str::trim),
        Some("true") | Some("1")
    );
    Ok(IdpMetadata {
        entity_id,
        sso_endpoints,
        certificates,
        want_authn_requests_signed,
    })
}

fn looks_like_html(xml: &str) -> bool {
    let head: String = xml
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    let head = head.trim_start_matches(|c: char| c != '<');
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn is_md(node: Node, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(NS_METADATA)
}

fn is_dsig(node: Node, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(super::NS_DSIG)
}

/// Picks the IdP out of an EntitiesDescriptor (they may nest).
fn choose_entity<'a, 'i>(
    root: Node<'a, 'i>,
    chosen: Option<&str>,
) -> Result<Node<'a, 'i>, MetadataRejection> {
    let idps: Vec<Node> = root
        .descendants()
        .filter(|n| is_md(*n, "EntityDescriptor"))
        .filter(|n| n.children().any(|c| is_md(c, "IDPSSODescriptor")))
        .collect();
    let ids = || {
        idps.iter()
            .map(|n| n.attribute("entityID").unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    if let Some(chosen) = chosen {
        return idps
            .iter()
            .copied()
            .find(|n| n.attribute("entityID") == Some(chosen))
            .ok_or_else(|| MetadataRejection::UnknownEntityId {
                chosen: chosen.to_string(),
                available: ids(),
            });
    }
    match idps.as_slice() {
        [] => {
            let has_sp = root.descendants().any(|n| is_md(n, "SPSSODescriptor"));
            Err(if has_sp {
                MetadataRejection::ServiceProviderMetadata
            } else {
                MetadataRejection::NoIdpDescriptor
            })
        }
        [one] => Ok(*one),
        _ => Err(MetadataRejection::SeveralIdps { entity_ids: ids() }),
    }
}

/// Certificates from KeyDescriptors with `use="signing"` or no `use` (which means both).
fn signing_certificates(idp: Node) -> Result<Vec<CertificateInfo>, MetadataRejection> {
    let mut certificates: Vec<CertificateInfo> = Vec::new();
    let mut saw_encryption = false;
    for kd in idp.children().filter(|n| is_md(*n, "KeyDescriptor")) {
        match kd.attribute("use").map(str::trim) {
            None | Some("") | Some("signing") => {}
            Some(_) => {
                saw_encryption = true;
                continue;
            }
        }
        let texts = kd
            .children()
            .filter(|n| is_dsig(*n, "KeyInfo"))
            .flat_map(|ki| ki.children().filter(|n| is_dsig(*n, "X509Data")))
            .flat_map(|xd| xd.children().filter(|n| is_dsig(*n, "X509Certificate")));
        for cert_node in texts {
            let text: String = cert_node
                .text()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let position = certificates.len() + 1;
            let der = STANDARD.decode(text.as_bytes()).map_err(|e| {
                MetadataRejection::BadCertificate(format!(
                    "certificate {position} is not valid base64 ({e})."
                ))
            })?;
            let info = certificate_info(&der).map_err(|e| {
                MetadataRejection::BadCertificate(format!("certificate {position}: {e}"))
            })?;
            if is_rsa(&info.der) && info.public_key_bits < MIN_RSA_BITS {
                return Err(MetadataRejection::WeakCertificateKey {
                    subject: info.subject,
                    bits: info.public_key_bits,
                });
            }
            if !certificates
                .iter()
                .any(|c| c.sha256_fingerprint == info.sha256_fingerprint)
            {
                certificates.push(info);
            }
        }
    }
    if certificates.is_empty() {
        return Err(MetadataRejection::NoSigningCertificate {
            encryption_only: saw_encryption,
        });
    }
    Ok(certificates)
}

fn is_rsa(der: &[u8]) -> bool {
    openssl::x509::X509::from_der(der)
        .and_then(|c| c.public_key())
        .map(|k| k.id() == openssl::pkey::Id::RSA)
        .unwrap_or(false)
}

fn sso_endpoints(idp: Node) -> Result<Vec<SsoEndpoint>, MetadataRejection> {
    let mut endpoints = Vec::new();
    for node in idp.children().filter(|n| is_md(*n, "SingleSignOnService")) {
        let binding = node
            .attribute("Binding")
            .unwrap_or_default()
            .trim()
            .to_string();
        let location = node
            .attribute("Location")
            .unwrap_or_default()
            .trim()
            .to_string();
        match check_endpoint_url(&location) {
            Ok(()) => {}
            Err(UrlProblem::Insecure) => return Err(MetadataRejection::InsecureSsoUrl(location)),
            Err(UrlProblem::Invalid(reason)) => {
                return Err(MetadataRejection::BadSsoUrl {
                    url: location,
                    reason,
                })
            }
        }
        endpoints.push(SsoEndpoint { binding, location });
    }
    if endpoints.is_empty() {
        return Err(MetadataRejection::NoSsoService);
    }
    if !endpoints.iter().any(|e| e.binding == HTTP_REDIRECT_BINDING) {
        return Err(MetadataRejection::NoRedirectSsoService {
            bindings: endpoints.iter().map(|e| e.binding.clone()).collect(),
        });
    }
    Ok(endpoints)
}
