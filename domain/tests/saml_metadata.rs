//! IdP metadata import and the SP metadata Gatehouse publishes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_domain::saml::testing::TestIdp;
use gatehouse_domain::saml::{
    certificate_info, generate_sp_key_pair, parse_idp_metadata, sp_metadata_xml, MetadataRejection,
    SpIdentity, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING, MAX_METADATA_BYTES,
};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Name, X509};
use time::{Duration, OffsetDateTime};

const OKTA: &str = include_str!("data/saml/okta-metadata.xml");
const SAML_IDP: &str = include_str!("data/saml/saml-idp-metadata.xml");
const TEST_IDP_FINGERPRINT: &str =
    "DE:B7:B1:CA:1E:36:6C:26:EB:5E:5C:99:CB:07:7C:66:29:F2:B7:1E:8C:BD:8E:87:E0:36:66:2E:A8:ED:71:E9";
const OKTA_FINGERPRINT: &str =
    "BE:C7:FB:50:DD:4C:0B:A8:D0:F9:4E:66:AE:AA:86:53:69:B8:E4:DB:96:41:02:86:92:7C:04:CB:81:6B:A2:09";

fn test_cert_b64() -> String {
    STANDARD.encode(TestIdp::fixed().certificate_der)
}

/// A self-signed certificate valid from `from` to `until` (seconds since the epoch).
fn cert_b64(bits: u32, from: i64, until: i64) -> String {
    let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "made for a test")
        .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(until).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    STANDARD.encode(b.build().to_der().unwrap())
}

fn key_descriptor(use_attr: Option<&str>, cert_b64: &str) -> String {
    let use_attr = use_attr
        .map(|u| format!(" use=\"{u}\""))
        .unwrap_or_default();
    format!(
        "<md:KeyDescriptor{use_attr}><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
}

fn sso(binding: &str, location: &str) -> String {
    format!("<md:SingleSignOnService Binding=\"{binding}\" Location=\"{location}\"/>")
}

fn redirect_sso() -> String {
    sso(HTTP_REDIRECT_BINDING, "https://idp.example.com/sso")
}

/// An EntityDescriptor with one IDPSSODescriptor holding `inner`.
fn idp_entity(entity_id: &str, inner: &str) -> String {
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity_id}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{inner}</md:IDPSSODescriptor></md:EntityDescriptor>"
    )
}

fn simple_idp(entity_id: &str) -> String {
    idp_entity(
        entity_id,
        &format!(
            "{}{}",
            key_descriptor(Some("signing"), &test_cert_b64()),
            redirect_sso()
        ),
    )
}

#[track_caller]
fn refused(xml: &str) -> MetadataRejection {
    let e = parse_idp_metadata(xml, None).expect_err("metadata should be refused");
    assert!(e.to_string().len() > 20, "a sentence for the admin: {e}");
    e
}

// ---------------------------------------------------------------------------------------
// Accepted shapes

#[test]
fn okta_metadata_is_imported() {
    let m = parse_idp_metadata(OKTA, None).unwrap();
    assert_eq!(m.entity_id, "http://www.okta.com/exk1a2b3c4d5E6F7g8h9");
    let sso_url = "https://acme.okta.com/app/acme_gatehouse_1/exk1a2b3c4d5E6F7g8h9/sso/saml";
    assert_eq!(m.redirect_sso_url(), Some(sso_url));
    assert_eq!(m.post_sso_url(), Some(sso_url));
    assert_eq!(m.sso_endpoints.len(), 2);
    assert!(!m.want_authn_requests_signed);
    assert_eq!(m.certificates.len(), 1);
    let cert = &m.certificates[0];
    // The fingerprint openssl printed for this certificate.
    assert_eq!(cert.sha256_fingerprint, OKTA_FINGERPRINT);
    assert!(cert.subject.contains("O=Okta"), "{}", cert.subject);
    assert!(cert.subject.contains("OU=SSOProvider"), "{}", cert.subject);
    assert!(cert.subject.contains("CN=acme"), "{}", cert.subject);
    assert_eq!(cert.public_key_bits, 2048);
    let now = OffsetDateTime::now_utc();
    assert!(cert.not_before <= now && cert.not_after > now + Duration::days(3000));
    assert!(m.expired_certificates(now).is_empty());
    assert!(m.certificates_expiring_within(now, 30).is_empty());
    assert_eq!(m.certificate_ders(), vec![cert.der.clone()]);
}

#[test]
fn saml_idp_metadata_shape_is_imported() {
    // Default namespaces, a certificate wrapped over many lines, http on 127.0.0.1.
    let m = parse_idp_metadata(SAML_IDP, None).unwrap();
    assert_eq!(m.entity_id, "urn:example:idp");
    assert_eq!(m.redirect_sso_url(), Some("http://127.0.0.1:7000/saml/sso"));
    assert_eq!(m.certificates.len(), 1);
    assert_eq!(m.certificates[0].sha256_fingerprint, TEST_IDP_FINGERPRINT);
    assert_eq!(m.certificates[0].der, TestIdp::fixed().certificate_der);
    assert_eq!(
        m.certificates[0].subject,
        "O=Gatehouse Tests, CN=Gatehouse Test IdP"
    );
}

#[test]
fn test_idp_metadata_is_imported() {
    let idp = TestIdp::fixed();
    let m = parse_idp_metadata(
        &idp.metadata_xml("https://idp.example.com/sso?x=1&y=2"),
        None,
    )
    .unwrap();
    assert_eq!(m.entity_id, idp.entity_id);
    assert_eq!(
        m.redirect_sso_url(),
        Some("https://idp.example.com/sso?x=1&y=2")
    );
    assert_eq!(m.certificate_ders(), vec![idp.certificate_der]);
}

#[test]
fn want_authn_requests_signed_is_read() {
    let xml = OKTA.replace(
        "WantAuthnRequestsSigned=\"false\"",
        "WantAuthnRequestsSigned=\"true\"",
    );
    assert!(
        parse_idp_metadata(&xml, None)
            .unwrap()
            .want_authn_requests_signed
    );
}

#[test]
fn two_signing_certificates_are_kept_for_rollover() {
    let second = TestIdp::attacker().certificate_der;
    let xml = idp_entity(
        "urn:idp",
        &format!(
            "{}{}{}",
            key_descriptor(Some("signing"), &test_cert_b64()),
            key_descriptor(Some("signing"), &STANDARD.encode(&second)),
            redirect_sso()
        ),
    );
    let m = parse_idp_metadata(&xml, None).unwrap();
    assert_eq!(
        m.certificate_ders(),
        vec![TestIdp::fixed().certificate_der, second]
    );
}

#[test]
fn key_descriptor_without_use_counts_and_duplicates_are_merged() {
    let xml = idp_entity(
        "urn:idp",
        &format!(
            "{}{}{}{}",
            key_descriptor(None, &test_cert_b64()),
            key_descriptor(Some("signing"), &test_cert_b64()),
            key_descriptor(
                Some("encryption"),
                &STANDARD.encode(TestIdp::attacker().certificate_der)
            ),
            redirect_sso()
        ),
    );
    let m = parse_idp_metadata(&xml, None).unwrap();
    // The encryption-only certificate is not trusted for signatures.
    assert_eq!(m.certificate_ders(), vec![TestIdp::fixed().certificate_der]);
}

#[test]
fn byte_order_mark_is_tolerated() {
    parse_idp_metadata(&format!("\u{feff}{OKTA}"), None).unwrap();
}

#[test]
fn entities_descriptor_with_one_idp_picks_it() {
    let sp_entity = sp_metadata_xml(&sp_identity(false))
        .split_once("?>")
        .unwrap()
        .1
        .to_string();
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</md:EntitiesDescriptor>",
        sp_entity,
        simple_idp("urn:the-idp")
    );
    let m = parse_idp_metadata(&xml, None).unwrap();
    assert_eq!(m.entity_id, "urn:the-idp");
}

#[test]
fn entities_descriptor_with_two_idps_asks_for_a_choice() {
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}<md:EntitiesDescriptor>{}</md:EntitiesDescriptor></md:EntitiesDescriptor>",
        simple_idp("urn:idp-a"),
        simple_idp("urn:idp-b")
    );
    let e = refused(&xml);
    assert_eq!(
        e,
        MetadataRejection::SeveralIdps {
            entity_ids: vec!["urn:idp-a".into(), "urn:idp-b".into()]
        }
    );
    assert_eq!(e.code(), "several_idps");
    assert!(e.to_string().contains("urn:idp-b"), "{e}");

    let m = parse_idp_metadata(&xml, Some("urn:idp-b")).unwrap();
    assert_eq!(m.entity_id, "urn:idp-b");
    let e = parse_idp_metadata(&xml, Some("urn:idp-c")).unwrap_err();
    assert_eq!(e.code(), "unknown_entity_id");
    assert!(e.to_string().contains("urn:idp-a"), "{e}");
}

#[test]
fn choice_must_match_a_single_entity_descriptor() {
    let e = parse_idp_metadata(OKTA, Some("http://www.okta.com/exkOther")).unwrap_err();
    assert_eq!(e.code(), "unknown_entity_id");
    parse_idp_metadata(OKTA, Some("http://www.okta.com/exk1a2b3c4d5E6F7g8h9")).unwrap();
}

// ---------------------------------------------------------------------------------------
// Hostile or wrong documents

#[test]
fn xxe_is_refused() {
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        simple_idp("&xxe;")
    );
    assert_eq!(refused(&xml), MetadataRejection::Doctype);
    let parameter = format!(
        "<!DOCTYPE x [<!ENTITY % xxe SYSTEM \"http://127.0.0.1:1/x.dtd\"> %xxe;]>{}",
        simple_idp("urn:idp")
    );
    assert_eq!(refused(&parameter), MetadataRejection::Doctype);
    // An entity reference without a DTD.
    assert_eq!(refused(&simple_idp("&xxe;")), MetadataRejection::Doctype);
    // A bare DOCTYPE, which roxmltree alone would accept.
    let bare = format!("<!DOCTYPE md:EntityDescriptor>{}", simple_idp("urn:idp"));
    assert_eq!(refused(&bare), MetadataRejection::Doctype);
}

#[test]
fn billion_laughs_is_refused() {
    let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>");
    let xml = format!("{dtd}{}", simple_idp("&lol9;"));
    let started = std::time::Instant::now();
    assert_eq!(refused(&xml), MetadataRejection::Doctype);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn html_page_is_refused() {
    let page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign In</title></head><body><form>Okta</form></body></html>";
    let e = refused(page);
    assert_eq!(
        e,
        MetadataRejection::NotMetadata {
            root: "html".into()
        }
    );
    assert!(e.to_string().contains("login page"), "{e}");
    // Well-formed XHTML without a DOCTYPE.
    let e = refused("<html xmlns=\"http://www.w3.org/1999/xhtml\"><body/></html>");
    assert_eq!(e.code(), "not_metadata");
    // Some other XML document.
    let e = refused("<feed xmlns=\"http://www.w3.org/2005/Atom\"/>");
    assert_eq!(
        e,
        MetadataRejection::NotMetadata {
            root: "feed".into()
        }
    );
}

#[test]
fn empty_entity_descriptor_is_refused() {
    let e = refused(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"urn:x\"/>",
    );
    assert_eq!(e, MetadataRejection::NoIdpDescriptor);
    let e = refused("<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>");
    assert_eq!(e, MetadataRejection::NoIdpDescriptor);
    // Right local name, wrong namespace.
    let e = refused("<EntityDescriptor entityID=\"urn:x\"/>");
    assert_eq!(e.code(), "not_metadata");
    // An EntitiesDescriptor with nothing in it.
    let e = refused("<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>");
    assert_eq!(e, MetadataRejection::NoIdpDescriptor);
}

#[test]
fn sp_metadata_is_refused_as_such() {
    let e = refused(&sp_metadata_xml(&sp_identity(true)));
    assert_eq!(e, MetadataRejection::ServiceProviderMetadata);
    assert!(e.to_string().contains("service provider"), "{e}");
}

#[test]
fn missing_entity_id_is_refused() {
    let xml = simple_idp("urn:x").replace(" entityID=\"urn:x\"", "");
    assert_eq!(refused(&xml), MetadataRejection::MissingEntityId);
    let xml = simple_idp("  ");
    assert_eq!(refused(&xml), MetadataRejection::MissingEntityId);
}

#[test]
fn several_idp_descriptors_in_one_entity_are_refused() {
    let one = simple_idp("urn:x");
    let (start, rest) = one.split_once("<md:IDPSSODescriptor").unwrap();
    let descriptor = format!(
        "<md:IDPSSODescriptor{}",
        rest.strip_suffix("</md:EntityDescriptor>").unwrap()
    );
    let xml = format!("{start}{descriptor}{descriptor}</md:EntityDescriptor>");
    assert_eq!(refused(&xml), MetadataRejection::SeveralIdpDescriptors);
}

#[test]
fn non_saml2_idp_is_refused() {
    let xml = simple_idp("urn:x").replace(
        "urn:oasis:names:tc:SAML:2.0:protocol",
        "urn:oasis:names:tc:SAML:1.1:protocol",
    );
    assert_eq!(refused(&xml), MetadataRejection::NotSaml2);
}

#[test]
fn metadata_without_signing_certificate_is_refused() {
    let xml = idp_entity("urn:x", &redirect_sso());
    let e = refused(&xml);
    assert_eq!(
        e,
        MetadataRejection::NoSigningCertificate {
            encryption_only: false
        }
    );
    // A KeyDescriptor with no certificate in it.
    let xml = idp_entity(
        "urn:x",
        &format!(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:KeyName>k</ds:KeyName></ds:KeyInfo></md:KeyDescriptor>{}",
            redirect_sso()
        ),
    );
    assert_eq!(refused(&xml).code(), "no_signing_certificate");
}

#[test]
fn encryption_only_key_descriptor_is_refused() {
    let xml = idp_entity(
        "urn:x",
        &format!(
            "{}{}",
            key_descriptor(Some("encryption"), &test_cert_b64()),
            redirect_sso()
        ),
    );
    let e = refused(&xml);
    assert_eq!(
        e,
        MetadataRejection::NoSigningCertificate {
            encryption_only: true
        }
    );
    assert!(e.to_string().contains("encryption"), "{e}");
}

#[test]
fn malformed_certificates_are_refused() {
    for bad in [
        "not base64 at all!",
        "AAAA",
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
    ] {
        let xml = idp_entity(
            "urn:x",
            &format!("{}{}", key_descriptor(Some("signing"), bad), redirect_sso()),
        );
        let e = refused(&xml);
        assert_eq!(e.code(), "bad_certificate", "{bad}: {e}");
    }
    // A truncated real certificate.
    let truncated = &test_cert_b64()[..400];
    let xml = idp_entity(
        "urn:x",
        &format!(
            "{}{}",
            key_descriptor(Some("signing"), truncated),
            redirect_sso()
        ),
    );
    assert_eq!(refused(&xml).code(), "bad_certificate");
}

#[test]
fn weak_rsa_key_is_refused() {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let xml = idp_entity(
        "urn:x",
        &format!(
            "{}{}",
            key_descriptor(
                Some("signing"),
                &cert_b64(1024, now - 60, now + 86_400 * 365)
            ),
            redirect_sso()
        ),
    );
    let e = refused(&xml);
    assert!(
        matches!(e, MetadataRejection::WeakCertificateKey { bits: 1024, .. }),
        "{e:?}"
    );
}

#[test]
fn expired_certificate_is_imported_and_listed() {
    let now = OffsetDateTime::now_utc();
    let t = now.unix_timestamp();
    let expired = cert_b64(2048, t - 86_400 * 400, t - 86_400 * 30);
    let expiring = cert_b64(2048, t - 86_400, t + 86_400 * 10);
    let xml = idp_entity(
        "urn:x",
        &format!(
            "{}{}{}{}",
            key_descriptor(Some("signing"), &expired),
            key_descriptor(Some("signing"), &expiring),
            key_descriptor(Some("signing"), &test_cert_b64()),
            redirect_sso()
        ),
    );
    let m = parse_idp_metadata(&xml, None).unwrap();
    assert_eq!(m.certificates.len(), 3);
    let expired_list = m.expired_certificates(now);
    assert_eq!(expired_list.len(), 1);
    assert_eq!(expired_list[0].der, STANDARD.decode(&expired).unwrap());
    let soon = m.certificates_expiring_within(now, 30);
    assert_eq!(soon.len(), 1);
    assert_eq!(soon[0].der, STANDARD.decode(&expiring).unwrap());
    assert!(m.certificates_expiring_within(now, 5).is_empty());
}

#[test]
fn insecure_sso_urls_are_refused() {
    let with_sso = |location: &str| {
        idp_entity(
            "urn:x",
            &format!(
                "{}{}",
                key_descriptor(Some("signing"), &test_cert_b64()),
                sso(HTTP_REDIRECT_BINDING, location)
            ),
        )
    };
    let e = refused(&with_sso("http://acme.okta.com/app/x/sso/saml"));
    assert_eq!(
        e,
        MetadataRejection::InsecureSsoUrl("http://acme.okta.com/app/x/sso/saml".into())
    );
    assert!(e.to_string().contains("https"), "{e}");
    for bad in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "",
        "https://user:pw@idp.example.com/",
    ] {
        assert_eq!(refused(&with_sso(bad)).code(), "bad_sso_url", "{bad}");
    }
    for loopback in [
        "http://127.0.0.1:7000/saml/sso",
        "http://localhost:7000/saml/sso",
        "http://[::1]:7000/saml/sso",
    ] {
        parse_idp_metadata(&with_sso(loopback), None).unwrap();
    }
}

#[test]
fn sso_service_is_required_with_the_redirect_binding() {
    let xml = idp_entity("urn:x", &key_descriptor(Some("signing"), &test_cert_b64()));
    assert_eq!(refused(&xml), MetadataRejection::NoSsoService);
    let xml = idp_entity(
        "urn:x",
        &format!(
            "{}{}",
            key_descriptor(Some("signing"), &test_cert_b64()),
            sso(HTTP_POST_BINDING, "https://idp.example.com/sso")
        ),
    );
    let e = refused(&xml);
    assert_eq!(e.code(), "no_redirect_sso_service");
    assert!(e.to_string().contains("HTTP-POST"), "{e}");
}

#[test]
fn not_well_formed_metadata_is_refused() {
    let truncated = &OKTA[..OKTA.len() - 30];
    let e = refused(truncated);
    assert_eq!(e.code(), "not_well_formed");
    let e = refused("");
    assert_eq!(e.code(), "not_well_formed");
}

#[test]
fn oversize_metadata_is_refused() {
    let padding = format!("<!--{}-->", "x".repeat(MAX_METADATA_BYTES));
    let xml = format!("{}{}", simple_idp("urn:x"), padding);
    assert_eq!(
        refused(&xml),
        MetadataRejection::TooLarge {
            size: xml.len(),
            limit: MAX_METADATA_BYTES
        }
    );
}

// ---------------------------------------------------------------------------------------
// SP metadata

fn sp_identity(sign: bool) -> SpIdentity {
    SpIdentity {
        entity_id: "https://gatehouse.example.com/saml/p1/metadata".into(),
        acs_url: "https://gatehouse.example.com/saml/p1/acs?a=1&b=\"2\"".into(),
        certificate_der: generate_sp_key_pair("gatehouse p1", 365)
            .unwrap()
            .certificate_der,
        sign_authn_requests: sign,
    }
}

#[test]
fn sp_metadata_carries_the_profile() {
    for sign in [false, true] {
        let sp = sp_identity(sign);
        let xml = sp_metadata_xml(&sp);

        let doc = roxmltree::Document::parse(&xml).unwrap();
        let md = "urn:oasis:names:tc:SAML:2.0:metadata";
        let root = doc.root_element();
        assert!(root.has_tag_name((md, "EntityDescriptor")));
        assert_eq!(root.attribute("entityID"), Some(sp.entity_id.as_str()));
        assert_eq!(root.attribute("validUntil"), None);
        let descriptor = root
            .children()
            .find(|n| n.has_tag_name((md, "SPSSODescriptor")))
            .unwrap();
        assert_eq!(descriptor.attribute("validUntil"), None);
        assert_eq!(
            descriptor.attribute("AuthnRequestsSigned"),
            Some(if sign { "true" } else { "false" })
        );
        assert_eq!(descriptor.attribute("WantAssertionsSigned"), Some("true"));
        assert_eq!(
            descriptor.attribute("protocolSupportEnumeration"),
            Some("urn:oasis:names:tc:SAML:2.0:protocol")
        );
        let keys: Vec<_> = descriptor
            .children()
            .filter(|n| n.has_tag_name((md, "KeyDescriptor")))
            .collect();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].attribute("use"), Some("signing"));
        let cert_text = keys[0]
            .descendants()
            .find(|n| n.has_tag_name("X509Certificate"))
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(STANDARD.decode(cert_text).unwrap(), sp.certificate_der);
        let formats: Vec<_> = descriptor
            .children()
            .filter(|n| n.has_tag_name((md, "NameIDFormat")))
            .map(|n| n.text().unwrap())
            .collect();
        assert_eq!(
            formats,
            vec![
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
            ]
        );
        let acs: Vec<_> = descriptor
            .children()
            .filter(|n| n.has_tag_name((md, "AssertionConsumerService")))
            .collect();
        assert_eq!(acs.len(), 1);
        assert_eq!(acs[0].attribute("Binding"), Some(HTTP_POST_BINDING));
        assert_eq!(acs[0].attribute("Location"), Some(sp.acs_url.as_str()));
        assert_eq!(acs[0].attribute("index"), Some("0"));

        // samael reads it back the same way.
        let parsed: samael::metadata::EntityDescriptor = xml.parse().unwrap();
        assert_eq!(parsed.entity_id.as_deref(), Some(sp.entity_id.as_str()));
        assert_eq!(parsed.valid_until, None);
        let sp_desc = &parsed.sp_sso_descriptors.as_ref().unwrap()[0];
        assert_eq!(sp_desc.authn_requests_signed, Some(sign));
        assert_eq!(sp_desc.want_assertions_signed, Some(true));
        assert_eq!(sp_desc.assertion_consumer_services.len(), 1);
        assert_eq!(sp_desc.assertion_consumer_services[0].location, sp.acs_url);
        let kds = sp_desc.key_descriptors.as_ref().unwrap();
        assert_eq!(kds.len(), 1);
        assert!(kds[0].is_signing());
        assert_eq!(
            certificate_info(
                &STANDARD
                    .decode(&kds[0].key_info.x509_data.as_ref().unwrap().certificates[0])
                    .unwrap()
            )
            .unwrap()
            .der,
            sp.certificate_der
        );
    }
}

#[test]
fn sp_metadata_without_certificate_has_no_key_descriptor() {
    let mut sp = sp_identity(false);
    sp.certificate_der = Vec::new();
    let xml = sp_metadata_xml(&sp);
    assert!(!xml.contains("KeyDescriptor"));
    roxmltree::Document::parse(&xml).unwrap();
}
