//! The SP metadata document an admin downloads for the IdP.
//!
//! Written by hand rather than with samael's `ServiceProvider::metadata()`, which stamps a
//! 48-hour validUntil, emits the certificate twice as "signing", hard-codes
//! AuthnRequestsSigned="false" and needs an SLO URL (samael.md §4).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::{xml_escape, HTTP_POST_BINDING, NS_METADATA, NS_PROTOCOL};

/// One authentication profile's identity as a service provider. Every check on a response is
/// made against these exact strings, so they must be the public ones the IdP is configured
/// with (never derived from the incoming request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpIdentity {
    /// The SP entity ID, Okta's "Audience URI (SP Entity ID)".
    pub entity_id: String,
    /// The Assertion Consumer Service URL, Okta's "Single sign on URL"; compared exactly with
    /// Destination and Recipient.
    pub acs_url: String,
    /// The SP's signing certificate (DER); empty when the profile has none.
    pub certificate_der: Vec<u8>,
    /// Whether AuthnRequests are signed, announced in the metadata so the IdP can insist.
    pub sign_authn_requests: bool,
}

/// The SP metadata as an XML document. It carries no validUntil: the document describes a
/// profile until the admin changes it, and a short expiry only makes IdPs refuse it later.
pub fn sp_metadata_xml(sp: &SpIdentity) -> String {
    let mut xml = String::with_capacity(2048 + sp.certificate_der.len() * 2);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<md:EntityDescriptor xmlns:md=\"{NS_METADATA}\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{}\">\n",
        xml_escape(&sp.entity_id)
    ));
    xml.push_str(&format!(
        "  <md:SPSSODescriptor AuthnRequestsSigned=\"{}\" WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"{NS_PROTOCOL}\">\n",
        sp.sign_authn_requests
    ));
    if !sp.certificate_der.is_empty() {
        xml.push_str("    <md:KeyDescriptor use=\"signing\">\n");
        xml.push_str("      <ds:KeyInfo>\n        <ds:X509Data>\n          <ds:X509Certificate>");
        xml.push_str(&STANDARD.encode(&sp.certificate_der));
        xml.push_str("</ds:X509Certificate>\n        </ds:X509Data>\n      </ds:KeyInfo>\n");
        xml.push_str("    </md:KeyDescriptor>\n");
    }
    xml.push_str(
        "    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\n",
    );
    xml.push_str(
        "    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\n",
    );
    xml.push_str(&format!(
        "    <md:AssertionConsumerService Binding=\"{HTTP_POST_BINDING}\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\n",
        xml_escape(&sp.acs_url)
    ));
    xml.push_str("  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n");
    xml
}
