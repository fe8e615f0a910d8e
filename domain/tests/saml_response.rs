//! The ACS checks, against responses from the test IdP (samael's IdP helpers, fixed key in
//! tests/data/saml). Every negative case starts from the passing golden response and changes
//! one thing, either in the spec before signing (validly signed but wrong) or in the XML after
//! signing (tampering, wrapping, parser tricks).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_domain::saml::testing::{ResponseSpec, SignMode, TestIdp};
use gatehouse_domain::saml::{
    receive_response, verify_response, ResponsePolicy, SamlRejection, SpIdentity,
    VerifiedAssertion, MAX_RESPONSE_BYTES,
};
use time::{Duration, OffsetDateTime};

const REQUEST_ID: &str = "id0123456789abcdef0123456789abcdef";
const SKEW_SECS: i64 = 120;

fn sp() -> SpIdentity {
    SpIdentity {
        entity_id: "https://gatehouse.example.com/saml/p1/metadata".into(),
        acs_url: "https://gatehouse.example.com/saml/p1/acs".into(),
        certificate_der: Vec::new(),
        sign_authn_requests: false,
    }
}

fn other_sp() -> SpIdentity {
    SpIdentity {
        entity_id: "https://gatehouse.example.com/saml/p2/metadata".into(),
        acs_url: "https://gatehouse.example.com/saml/p2/acs".into(),
        certificate_der: Vec::new(),
        sign_authn_requests: false,
    }
}

fn golden(sign: SignMode) -> ResponseSpec {
    let mut spec = ResponseSpec::golden(&sp(), &TestIdp::fixed().entity_id, REQUEST_ID);
    spec.sign = sign;
    spec
}

fn xml_for(spec: &ResponseSpec) -> String {
    TestIdp::fixed().response_xml(spec)
}

/// How a test verifies: the profile, its IdP certificates and switches.
struct Check {
    sp: SpIdentity,
    certs: Vec<Vec<u8>>,
    allow_idp_initiated: bool,
    expected: Option<String>,
}

impl Check {
    fn new() -> Self {
        Check {
            sp: sp(),
            certs: vec![TestIdp::fixed().certificate_der],
            allow_idp_initiated: false,
            expected: Some(REQUEST_ID.into()),
        }
    }

    fn b64(&self, b64: &str) -> Result<VerifiedAssertion, SamlRejection> {
        let received = receive_response(b64)?;
        let idp = TestIdp::fixed();
        let policy = ResponsePolicy {
            sp: &self.sp,
            idp_entity_id: &idp.entity_id,
            idp_certificates: &self.certs,
            clock_skew: Duration::seconds(SKEW_SECS),
            allow_idp_initiated: self.allow_idp_initiated,
        };
        verify_response(&received, &policy, self.expected.as_deref())
    }

    fn xml(&self, xml: &str) -> Result<VerifiedAssertion, SamlRejection> {
        self.b64(&STANDARD.encode(xml))
    }
}

fn verify(xml: &str) -> Result<VerifiedAssertion, SamlRejection> {
    Check::new().xml(xml)
}

#[track_caller]
fn rejected(result: Result<VerifiedAssertion, SamlRejection>) -> SamlRejection {
    match result {
        Ok(a) => panic!("accepted, as {:?}", a.name_id),
        Err(e) => {
            // Every rejection has a sentence for the admin.
            assert!(e.to_string().len() > 20, "{e:?}");
            e
        }
    }
}

#[track_caller]
fn assert_code(result: Result<VerifiedAssertion, SamlRejection>, code: &str) -> SamlRejection {
    let e = rejected(result);
    assert_eq!(e.code(), code, "{e}");
    e
}

/// `s` with `from` replaced once; panics when `from` is absent so a test cannot silently
/// tamper with nothing.
#[track_caller]
fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert!(s.contains(from), "{from:?} not found");
    s.replacen(from, to, 1)
}

/// Byte range of the first `<tag …>…</tag>` at or after `from`.
fn element_span(xml: &str, tag: &str, from: usize) -> (usize, usize) {
    let start = from + xml[from..].find(&format!("<{tag}")).expect("element start");
    let close = format!("</{tag}>");
    let end = start + xml[start..].find(&close).expect("element end") + close.len();
    (start, end)
}

fn assertion_span(xml: &str) -> (usize, usize) {
    element_span(xml, "saml2:Assertion", 0)
}

fn assertion_of(xml: &str) -> String {
    let (s, e) = assertion_span(xml);
    xml[s..e].to_string()
}

/// Removes the Response's own signature (the one before the Status).
fn strip_response_signature(xml: &str) -> String {
    let (s, e) = element_span(xml, "ds:Signature", 0);
    assert!(
        s < xml.find("<saml2p:Status").unwrap(),
        "not the Response's signature"
    );
    format!("{}{}", &xml[..s], &xml[e..])
}

/// Removes the signature inside the Assertion.
fn strip_assertion_signature(xml: &str) -> String {
    let (a, _) = assertion_span(xml);
    let (s, e) = element_span(xml, "ds:Signature", a);
    format!("{}{}", &xml[..s], &xml[e..])
}

fn strip_all_signatures(xml: &str) -> String {
    let mut xml = xml.to_string();
    while xml.contains("<ds:Signature") {
        let (s, e) = element_span(&xml, "ds:Signature", 0);
        xml = format!("{}{}", &xml[..s], &xml[e..]);
    }
    xml
}

fn without_declaration(xml: &str) -> &str {
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").unwrap().1.trim_start(),
        None => xml,
    }
}

/// An unsigned assertion saying "admin", with its own ID.
fn forged_assertion(xml: &str, id: &str) -> String {
    let legit = strip_all_signatures(&assertion_of(xml));
    let (id_start, _) = element_span(&legit, "saml2:Assertion", 0);
    let _ = id_start;
    let old_id = legit
        .split("ID=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    legit
        .replace(&old_id, id)
        .replace(">alice@example.com<", ">admin@example.com<")
}

// ---------------------------------------------------------------------------------------
// Golden

#[test]
fn golden_response_is_accepted_in_all_three_signing_modes() {
    for mode in [SignMode::Both, SignMode::Assertion, SignMode::Response] {
        let xml = xml_for(&golden(mode));
        let a = verify(&xml).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(a.name_id, "alice@example.com");
        assert_eq!(
            a.name_id_format.as_deref(),
            Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
        );
        assert_eq!(a.issuer, TestIdp::fixed().entity_id);
        assert_eq!(a.in_response_to.as_deref(), Some(REQUEST_ID));
        assert_eq!(a.session_index.as_deref(), Some("_session-0123456789"));
        assert_eq!(
            a.attributes,
            vec![
                ("email".to_string(), vec!["alice@example.com".to_string()]),
                ("firstName".to_string(), vec!["Alice".to_string()]),
                (
                    "groups".to_string(),
                    vec!["Engineering".to_string(), "Everyone".to_string()]
                ),
            ]
        );
        assert!(xml.contains(&format!("ID=\"{}\"", a.assertion_id)));
        assert!(a
            .response_id
            .is_some_and(|id| xml.contains(&format!("ID=\"{id}\""))));
        // Conditions and SubjectConfirmationData both say now + 5 min.
        let left = a.not_on_or_after - OffsetDateTime::now_utc();
        assert!(
            left > Duration::seconds(290) && left <= Duration::seconds(300),
            "{left}"
        );
    }
}

#[test]
fn not_on_or_after_is_the_earliest_of_conditions_and_confirmation() {
    let mut spec = golden(SignMode::Both);
    spec.not_on_or_after_offset = Some(200);
    spec.confirmation_not_on_or_after_offset = Some(400);
    let a = verify(&xml_for(&spec)).unwrap();
    let left = a.not_on_or_after - OffsetDateTime::now_utc();
    assert!(
        left > Duration::seconds(190) && left <= Duration::seconds(200),
        "{left}"
    );

    spec.not_on_or_after_offset = Some(400);
    spec.confirmation_not_on_or_after_offset = Some(100);
    let a = verify(&xml_for(&spec)).unwrap();
    let left = a.not_on_or_after - OffsetDateTime::now_utc();
    assert!(
        left > Duration::seconds(90) && left <= Duration::seconds(100),
        "{left}"
    );
}

#[test]
fn identical_response_verifies_twice_with_the_same_assertion_id() {
    // Replay is stopped by the caller's single-use store keyed on assertion_id; this pins the
    // fact that verification alone does not, and that the key is stable.
    let xml = xml_for(&golden(SignMode::Both));
    let first = verify(&xml).unwrap();
    let second = verify(&xml).unwrap();
    assert_eq!(first.assertion_id, second.assertion_id);
}

#[test]
fn signed_assertion_rewrapped_in_a_new_response_keeps_its_assertion_id() {
    // Assertion-only signing: an attacker can put the signed assertion into a fresh Response
    // (new ID). The assertion id, which the caller keeps single-use, stays the same.
    let xml = xml_for(&golden(SignMode::Assertion));
    let original = verify(&xml).unwrap();
    let rewrapped = xml.replace(
        original.response_id.as_deref().unwrap(),
        "idfreshwrapper0000000000000000000",
    );
    let again = verify(&rewrapped).unwrap();
    assert_eq!(again.assertion_id, original.assertion_id);
    assert_ne!(again.response_id, original.response_id);
}

#[test]
fn idp_certificate_rollover_accepts_either_certificate() {
    let xml = xml_for(&golden(SignMode::Both));
    let mut check = Check::new();
    check.certs = vec![
        TestIdp::attacker().certificate_der,
        TestIdp::fixed().certificate_der,
    ];
    check.xml(&xml).unwrap();
    check.certs = vec![TestIdp::attacker().certificate_der];
    assert_code(check.xml(&xml), "signature_invalid");
}

// ---------------------------------------------------------------------------------------
// Signatures and trust

#[test]
fn unsigned_response_is_refused() {
    assert_code(
        verify(&xml_for(&golden(SignMode::None))),
        "signature_missing",
    );
}

#[test]
fn stripped_signatures_are_refused() {
    // Response-only signing, signature removed.
    let xml = xml_for(&golden(SignMode::Response));
    assert_code(verify(&strip_response_signature(&xml)), "signature_missing");
    // Assertion-only signing, signature removed.
    let xml = xml_for(&golden(SignMode::Assertion));
    assert_code(
        verify(&strip_assertion_signature(&xml)),
        "signature_missing",
    );
    // Both signed, both removed.
    let xml = xml_for(&golden(SignMode::Both));
    assert_code(verify(&strip_all_signatures(&xml)), "signature_missing");
    // Both signed, the Assertion's removed: the Response's digest no longer matches.
    assert_code(
        verify(&strip_assertion_signature(&xml)),
        "signature_invalid",
    );
    // Both signed, the Response's removed: what is left is exactly a valid assertion-only
    // response, which is legitimately accepted (Okta "Response: Unsigned").
    let a = verify(&strip_response_signature(&xml)).unwrap();
    assert_eq!(a.name_id, "alice@example.com");
}

#[test]
fn no_idp_certificate_means_nothing_is_accepted() {
    // samael verifies nothing when it has no certificate (fail-open); we refuse first.
    let mut check = Check::new();
    check.certs = Vec::new();
    assert_code(
        check.xml(&xml_for(&golden(SignMode::Both))),
        "no_idp_certificate",
    );
    assert_code(
        check.xml(&xml_for(&golden(SignMode::None))),
        "no_idp_certificate",
    );
    check.certs = vec![Vec::new()];
    assert_code(
        check.xml(&xml_for(&golden(SignMode::None))),
        "no_idp_certificate",
    );
}

#[test]
fn signed_by_another_key_with_its_certificate_in_key_info_is_refused() {
    let attacker = TestIdp::attacker();
    for mode in [SignMode::Both, SignMode::Assertion, SignMode::Response] {
        let xml = attacker.response_xml(&golden(mode));
        // KeyInfo carries the attacker's certificate; only the metadata's may count.
        assert!(xml.contains(&STANDARD.encode(&attacker.certificate_der)[..60]));
        assert_code(verify(&xml), "signature_invalid");
    }
}

#[test]
fn changed_signed_content_is_refused() {
    for mode in [SignMode::Both, SignMode::Assertion, SignMode::Response] {
        let xml = xml_for(&golden(mode));
        let tampered = replace_once(&xml, ">alice@example.com<", ">admin@example.com<");
        assert_code(verify(&tampered), "signature_invalid");
    }
}

#[test]
fn sha1_digest_is_refused() {
    let mut spec = golden(SignMode::Both);
    spec.digest_sha1 = true;
    let e = assert_code(verify(&xml_for(&spec)), "weak_algorithm");
    assert!(e.to_string().contains("sha1"), "{e}");
}

#[test]
fn rsa_sha1_signature_is_refused() {
    for mode in [SignMode::Assertion, SignMode::Response] {
        let mut spec = golden(mode);
        spec.signature_rsa_sha1 = true;
        let xml = xml_for(&spec);
        assert!(xml.contains("xmldsig#rsa-sha1"));
        let e = assert_code(verify(&xml), "weak_algorithm");
        assert!(e.to_string().contains("rsa-sha1"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------
// XML signature wrapping (numbering as in SAML Raider)

#[test]
fn xsw1_signed_response_inside_the_clones_signature_is_refused() {
    let xml = xml_for(&golden(SignMode::Response));
    let original = without_declaration(&xml).to_string();
    let clone = replace_once(&original, ">alice@example.com<", ">admin@example.com<");
    let clone = replace_once(&clone, "ID=\"id", "ID=\"idevil");
    let evil = replace_once(
        &clone,
        "</ds:Signature>",
        &format!("{original}</ds:Signature>"),
    );
    // The clone's assertion still has the original's ID.
    assert_code(verify(&evil), "duplicate_id");
    let clone = replace_once(&clone, "ID=\"_", "ID=\"_evil");
    let evil = replace_once(
        &clone,
        "</ds:Signature>",
        &format!("{original}</ds:Signature>"),
    );
    assert_code(verify(&evil), "assertion_count");
}

#[test]
fn xsw2_signed_response_before_the_clones_signature_is_refused() {
    let xml = xml_for(&golden(SignMode::Response));
    let original = without_declaration(&xml).to_string();
    let clone = replace_once(&original, ">alice@example.com<", ">admin@example.com<");
    let clone = replace_once(&clone, "ID=\"id", "ID=\"idevil");
    let evil = replace_once(&clone, "<ds:Signature", &format!("{original}<ds:Signature"));
    assert_code(verify(&evil), "duplicate_id");
    let clone = replace_once(&clone, "ID=\"_", "ID=\"_evil");
    let evil = replace_once(&clone, "<ds:Signature", &format!("{original}<ds:Signature"));
    assert_code(verify(&evil), "assertion_count");
}

#[test]
fn xsw3_forged_assertion_before_the_signed_one_is_refused() {
    for mode in [SignMode::Assertion, SignMode::Both] {
        let xml = xml_for(&golden(mode));
        let forged = forged_assertion(&xml, "_evil");
        let (s, _) = assertion_span(&xml);
        let evil = format!("{}{}{}", &xml[..s], forged, &xml[s..]);
        assert_code(verify(&evil), "assertion_count");
    }
}

#[test]
fn xsw4_forged_assertion_after_or_around_the_signed_one_is_refused() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let forged = forged_assertion(&xml, "_evil");
    let (s, e) = assertion_span(&xml);
    let after = format!("{}{}{}", &xml[..e], forged, &xml[e..]);
    assert_code(verify(&after), "assertion_count");

    // The forged assertion wraps the signed one.
    let close = "</saml2:Assertion>";
    let wrapper_open = &forged[..forged.len() - close.len()];
    let around = format!(
        "{}{}{}{}{}",
        &xml[..s],
        wrapper_open,
        &xml[s..e],
        close,
        &xml[e..]
    );
    assert_code(verify(&around), "assertion_count");
}

#[test]
fn xsw5_modified_signed_assertion_with_an_unsigned_original_copy_is_refused() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let copy = strip_all_signatures(&assertion_of(&xml));
    let modified = replace_once(&xml, ">alice@example.com<", ">admin@example.com<");
    let evil = replace_once(
        &modified,
        "</saml2p:Response>",
        &format!("{copy}</saml2p:Response>"),
    );
    // Two assertions, the copy with the same ID.
    assert_code(verify(&evil), "duplicate_id");
}

#[test]
fn xsw6_original_copy_inside_the_signature_is_refused() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let copy = strip_all_signatures(&assertion_of(&xml));
    let copy = replace_once(&copy, "ID=\"_", "ID=\"_copy");
    let modified = replace_once(&xml, ">alice@example.com<", ">admin@example.com<");
    let (a, _) = assertion_span(&modified);
    let (_, sig_end) = element_span(&modified, "ds:Signature", a);
    let close = "</ds:Signature>";
    let at = sig_end - close.len();
    let evil = format!("{}{}{}", &modified[..at], copy, &modified[at..]);
    assert_code(verify(&evil), "assertion_count");
}

#[test]
fn xsw7_signed_assertion_moved_into_extensions_is_refused() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let legit = assertion_of(&xml);
    let (s, e) = assertion_span(&xml);
    let ext = format!("<saml2p:Extensions>{legit}</saml2p:Extensions>");
    // A forged assertion with a different ID where the signed one was.
    let forged = forged_assertion(&xml, "_evil");
    let rebuilt = format!("{}{}{}", &xml[..s], forged, &xml[e..]);
    let evil = replace_once(
        &rebuilt,
        "<saml2p:Status>",
        &format!("{ext}<saml2p:Status>"),
    );
    assert_code(verify(&evil), "assertion_count");

    // The same with the forged assertion carrying the signed one's ID.
    let id = legit
        .split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let forged_same_id = forged_assertion(&xml, id);
    let rebuilt = format!("{}{}{}", &xml[..s], forged_same_id, &xml[e..]);
    let evil = replace_once(
        &rebuilt,
        "<saml2p:Status>",
        &format!("{ext}<saml2p:Status>"),
    );
    assert_code(verify(&evil), "duplicate_id");
}

#[test]
fn xsw8_assertion_copy_in_a_signature_object_is_refused() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let copy = strip_all_signatures(&assertion_of(&xml));
    let copy = replace_once(&copy, "ID=\"_", "ID=\"_object");
    let modified = replace_once(&xml, ">alice@example.com<", ">admin@example.com<");
    let evil = replace_once(
        &modified,
        "</ds:KeyInfo>",
        &format!("</ds:KeyInfo><ds:Object>{copy}</ds:Object>"),
    );
    assert_code(verify(&evil), "assertion_count");

    // A ds:Object without an assertion is refused on its own.
    let evil = replace_once(
        &xml,
        "</ds:KeyInfo>",
        "</ds:KeyInfo><ds:Object><x>anything</x></ds:Object>",
    );
    assert_code(verify(&evil), "signature_layout");
}

#[test]
fn two_assertions_with_the_same_id_are_refused() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let legit = assertion_of(&xml);
    let (_, e) = assertion_span(&xml);
    let evil = format!("{}{}{}", &xml[..e], legit, &xml[e..]);
    assert_code(verify(&evil), "duplicate_id");
}

#[test]
fn assertion_nested_in_advice_is_refused() {
    let xml = xml_for(&golden(SignMode::Response));
    let forged = forged_assertion(&xml, "_advice");
    let evil = replace_once(
        &xml,
        "<saml2:Subject ",
        &format!("<saml2:Advice>{forged}</saml2:Advice><saml2:Subject "),
    );
    assert_code(verify(&evil), "assertion_count");
}

#[test]
fn assertion_in_a_foreign_namespace_is_refused() {
    let xml = xml_for(&golden(SignMode::Response));
    let evil = replace_once(
        &xml,
        "<saml2p:Status>",
        "<evil:Assertion xmlns:evil=\"urn:example:evil\" ID=\"_x\"><evil:NameID>admin@example.com</evil:NameID></evil:Assertion><saml2p:Status>",
    );
    assert_code(verify(&evil), "assertion_count");
}

#[test]
fn signature_that_covers_something_else_is_refused() {
    let xml = xml_for(&golden(SignMode::Response));
    // Whole-document reference.
    let id = xml
        .split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let evil = replace_once(&xml, &format!("URI=\"#{id}\""), "URI=\"\"");
    assert_code(verify(&evil), "signature_layout");
    // An XPath transform.
    let evil = replace_once(
        &xml,
        "<ds:Transforms>",
        "<ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1</ds:XPath></ds:Transform>",
    );
    assert_code(verify(&evil), "signature_layout");
    // A signature moved into the Status.
    let (s, e) = element_span(&xml, "ds:Signature", 0);
    let sig = &xml[s..e];
    let moved = format!("{}{}", &xml[..s], &xml[e..]);
    let evil = replace_once(
        &moved,
        "</saml2p:Status>",
        &format!("{sig}</saml2p:Status>"),
    );
    assert_code(verify(&evil), "signature_layout");
}

#[test]
fn forged_digest_value_elsewhere_is_refused() {
    // CVE-2024-45409 (ruby-saml): a second DigestValue earlier in the document. The verifier
    // must use the one inside the verified SignedInfo, so the changed NameID fails.
    let xml = xml_for(&golden(SignMode::Response));
    let modified = replace_once(&xml, ">alice@example.com<", ">admin@example.com<");
    let evil = replace_once(
        &modified,
        "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>",
        "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/><saml2p:StatusDetail><ds:DigestValue xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></saml2p:StatusDetail>",
    );
    assert_code(verify(&evil), "signature_invalid");
}

// ---------------------------------------------------------------------------------------
// Comments, entities, parser differentials

#[test]
fn comment_injected_into_the_signed_name_id_never_yields_the_truncated_name() {
    for mode in [SignMode::Both, SignMode::Assertion, SignMode::Response] {
        let mut spec = golden(mode);
        spec.name_id = "alice@example.com.evil.com".into();
        let xml = xml_for(&spec);
        let evil = replace_once(
            &xml,
            ">alice@example.com.evil.com</saml2:NameID>",
            ">alice@example.com<!---->.evil.com</saml2:NameID>",
        );
        // exc-c14n drops comments, so the digest still matches; samael's reduction to the
        // signed nodes then fails (samael.md §7.2), which it reports as a bad signature. What
        // matters: "alice@example.com" is never returned.
        assert_code(verify(&evil), "signature_invalid");
    }
}

#[test]
fn comment_injected_into_a_signed_attribute_value_is_refused() {
    let mut spec = golden(SignMode::Assertion);
    spec.attributes = vec![("email".into(), vec!["alice@example.com.evil.com".into()])];
    let xml = xml_for(&spec);
    let evil = replace_once(
        &xml,
        ">alice@example.com.evil.com</saml2:AttributeValue>",
        ">alice@example.com<!---->.evil.com</saml2:AttributeValue>",
    );
    assert_code(verify(&evil), "signature_invalid");
}

#[test]
fn comment_before_the_name_id_text_yields_the_full_signed_value() {
    let mut spec = golden(SignMode::Assertion);
    spec.name_id = "alice@example.com.evil.com".into();
    let xml = xml_for(&spec);
    let evil = replace_once(
        &xml,
        ">alice@example.com.evil.com</saml2:NameID>",
        "><!---->alice@example.com.evil.com</saml2:NameID>",
    );
    // The comment is dropped by canonicalisation and by samael's parse alike: the value read
    // is the whole signed text (as samael.md §7.2 observed).
    let a = verify(&evil).unwrap();
    assert_eq!(a.name_id, "alice@example.com.evil.com");
}

#[test]
fn doctype_and_entities_are_refused() {
    let xml = xml_for(&golden(SignMode::Both));
    let body = without_declaration(&xml);
    for prolog in [
        "<!DOCTYPE r [<!ENTITY a \"a\">]>",
        "<!DOCTYPE saml2p:Response>",
        "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
    ] {
        assert_code(verify(&format!("{prolog}{body}")), "doctype");
    }
    // Entity split inside the signed NameID.
    let split = replace_once(body, ">alice@example.com<", ">&a;lice@example.com<");
    assert_code(
        verify(&format!("<!DOCTYPE r [<!ENTITY a \"a\">]>{split}")),
        "doctype",
    );
    // An entity reference without a DTD.
    assert_code(verify(&split), "doctype");
}

#[test]
fn truncated_xml_is_refused() {
    // libxml2 in RECOVER mode accepts this; the strict pre-parse does not.
    let xml = xml_for(&golden(SignMode::Both));
    let truncated = xml.trim_end().strip_suffix("</saml2p:Response>").unwrap();
    assert_code(verify(truncated), "malformed");
    assert_code(verify(&xml[..xml.len() / 2]), "malformed");
}

#[test]
fn parser_tricks_are_refused() {
    let xml = xml_for(&golden(SignMode::Both));
    let body = without_declaration(&xml);
    // Duplicate attribute.
    let evil = replace_once(body, "<saml2:Assertion ", "<saml2:Assertion ID=\"_dup\" ");
    assert_code(verify(&evil), "malformed");
    // A processing instruction.
    assert_code(verify(&format!("<?evil x?>{body}")), "malformed");
    // A byte order mark.
    assert_code(verify(&format!("\u{feff}{xml}")), "malformed");
    // A non-UTF-8 encoding declaration (libxml2 would honour it, roxmltree would not).
    assert_code(
        verify(&format!(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{body}"
        )),
        "malformed",
    );
    // Elements nested absurdly deep.
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    let evil = replace_once(
        body,
        "<saml2p:Status>",
        &format!("<saml2p:Extensions>{deep}</saml2p:Extensions><saml2p:Status>"),
    );
    assert_code(verify(&evil), "malformed");
}

#[test]
fn encrypted_assertion_is_refused_as_unsupported() {
    let xml = xml_for(&golden(SignMode::Response));
    let (s, e) = assertion_span(&xml);
    let evil = format!(
        "{}<saml2:EncryptedAssertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"><x/></saml2:EncryptedAssertion>{}",
        &xml[..s],
        &xml[e..]
    );
    assert_code(verify(&evil), "encrypted_assertion");
}

// ---------------------------------------------------------------------------------------
// Conditions and bindings (validly signed, one field wrong)

#[test]
fn wrong_or_missing_audience_is_refused() {
    for wrong in [
        other_sp().entity_id,
        format!("{}/", sp().entity_id),
        sp().entity_id.replace("https://", "http://"),
        sp().entity_id.replace(".com/", ".com:443/"),
    ] {
        let mut spec = golden(SignMode::Both);
        spec.audience = Some(wrong.clone());
        let e = assert_code(verify(&xml_for(&spec)), "audience");
        assert!(e.to_string().contains(&sp().entity_id), "{e}");
    }
    let mut spec = golden(SignMode::Both);
    spec.audience = None;
    assert_code(verify(&xml_for(&spec)), "audience_missing");
    let mut spec = golden(SignMode::Both);
    spec.conditions = false;
    assert_code(verify(&xml_for(&spec)), "conditions_missing");
}

#[test]
fn wrong_recipient_is_refused() {
    for wrong in [
        other_sp().acs_url,
        sp().acs_url.replace("https://", "http://"),
    ] {
        let mut spec = golden(SignMode::Assertion);
        spec.recipient = wrong;
        assert_code(verify(&xml_for(&spec)), "recipient");
    }
}

#[test]
fn wrong_destination_is_refused() {
    // On a signed Response.
    let mut spec = golden(SignMode::Response);
    spec.destination = Some(other_sp().acs_url);
    assert_code(verify(&xml_for(&spec)), "destination");
    // And on an unsigned Response around a signed assertion (samael would not look).
    let mut spec = golden(SignMode::Assertion);
    spec.destination = Some(other_sp().acs_url);
    assert_code(verify(&xml_for(&spec)), "destination");
    // Destination is optional when absent.
    let mut spec = golden(SignMode::Assertion);
    spec.destination = None;
    verify(&xml_for(&spec)).unwrap();
}

#[test]
fn response_for_another_profile_is_refused() {
    let xml = xml_for(&golden(SignMode::Both));
    let mut check = Check::new();
    check.sp = other_sp();
    assert_code(check.xml(&xml), "destination");
    // Without a Destination, the (signed) Audience catches it; Recipient would too.
    let mut spec = golden(SignMode::Assertion);
    spec.destination = None;
    let e = assert_code(check.xml(&xml_for(&spec)), "audience");
    assert!(
        e.to_string().contains(&sp().entity_id),
        "names the audience found: {e}"
    );
}

#[test]
fn wrong_issuer_is_refused() {
    let mut spec = golden(SignMode::Both);
    spec.assertion_issuer = "http://www.okta.com/exkOtherApp".into();
    let e = assert_code(verify(&xml_for(&spec)), "issuer");
    assert!(e.to_string().contains("exkOtherApp"), "{e}");
    let mut spec = golden(SignMode::Assertion);
    spec.response_issuer = Some("http://www.okta.com/exkOtherApp".into());
    assert_code(verify(&xml_for(&spec)), "issuer");
}

#[test]
fn expired_assertion_is_refused() {
    let mut spec = golden(SignMode::Both);
    spec.not_on_or_after_offset = Some(-(SKEW_SECS + 60));
    assert_code(verify(&xml_for(&spec)), "expired");
    let mut spec = golden(SignMode::Both);
    spec.confirmation_not_on_or_after_offset = Some(-(SKEW_SECS + 60));
    assert_code(verify(&xml_for(&spec)), "expired");
    // Within the skew it is still accepted.
    let mut spec = golden(SignMode::Both);
    spec.not_on_or_after_offset = Some(-(SKEW_SECS - 30));
    spec.confirmation_not_on_or_after_offset = Some(-(SKEW_SECS - 30));
    verify(&xml_for(&spec)).unwrap();
}

#[test]
fn missing_confirmation_not_on_or_after_is_refused() {
    let mut spec = golden(SignMode::Both);
    spec.confirmation_not_on_or_after_offset = None;
    assert_code(verify(&xml_for(&spec)), "subject_confirmation");
}

#[test]
fn not_yet_valid_assertion_is_refused() {
    let mut spec = golden(SignMode::Both);
    spec.not_before_offset = Some(SKEW_SECS + 60);
    assert_code(verify(&xml_for(&spec)), "not_yet_valid");
    let mut spec = golden(SignMode::Both);
    spec.not_before_offset = Some(SKEW_SECS - 30);
    verify(&xml_for(&spec)).unwrap();
}

#[test]
fn issue_instant_far_in_the_future_or_past_is_refused() {
    for mode in [SignMode::Both, SignMode::Assertion] {
        let mut spec = golden(mode);
        spec.issue_instant_offset = 600;
        spec.not_before_offset = Some(0);
        spec.not_on_or_after_offset = Some(900);
        spec.confirmation_not_on_or_after_offset = Some(900);
        assert_code(verify(&xml_for(&spec)), "issued_in_future");

        let mut spec = golden(mode);
        spec.issue_instant_offset = -600;
        assert_code(verify(&xml_for(&spec)), "too_old");
    }
    // Only the signed Assertion's IssueInstant in the future (the unsigned Response's is now):
    // samael never looks at a future IssueInstant, our check on the verified assertion does.
    let mut spec = golden(SignMode::Assertion);
    spec.issue_instant_offset = 600;
    spec.not_before_offset = Some(0);
    spec.not_on_or_after_offset = Some(900);
    spec.confirmation_not_on_or_after_offset = Some(900);
    let xml = xml_for(&spec);
    let response_instant = xml
        .split("IssueInstant=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let now = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let xml = replace_once(&xml, response_instant, &now);
    assert_code(verify(&xml), "issued_in_future");
    // A little ahead (within the skew) is fine.
    let mut spec = golden(SignMode::Both);
    spec.issue_instant_offset = SKEW_SECS - 30;
    verify(&xml_for(&spec)).unwrap();
}

#[test]
fn in_response_to_must_be_the_pending_request() {
    let xml = xml_for(&golden(SignMode::Both));
    // Another request is pending for this browser.
    let mut check = Check::new();
    check.expected = Some("id_other_request".into());
    let e = assert_code(check.xml(&xml), "in_response_to");
    assert!(e.to_string().contains(REQUEST_ID), "{e}");
    // No request pending: the response answers one we no longer have.
    check.expected = None;
    assert_code(check.xml(&xml), "in_response_to");
    // The signed assertion answers another request than the (unsigned) Response claims.
    let mut spec = golden(SignMode::Assertion);
    spec.confirmation_in_response_to = Some("id_other_request".into());
    assert_code(verify(&xml_for(&spec)), "in_response_to");
    // Even when IdP-initiated sign-in is allowed, a pending request must match.
    let mut check = Check::new();
    check.allow_idp_initiated = true;
    assert_code(check.xml(&xml_for(&spec)), "in_response_to");
}

#[test]
fn unsolicited_response_needs_idp_initiated_allowed() {
    let xml = xml_for(&golden(SignMode::Both).unsolicited());
    let mut check = Check::new();
    check.expected = None;
    assert_code(check.xml(&xml), "unsolicited");
    check.allow_idp_initiated = true;
    let a = check.xml(&xml).unwrap();
    assert_eq!(a.in_response_to, None);
    assert_eq!(a.name_id, "alice@example.com");
}

#[test]
fn error_status_is_refused_with_the_idps_words() {
    let mut spec = golden(SignMode::Both);
    spec.status_code = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
    spec.status_message = Some("User is not assigned to this application.".into());
    let e = assert_code(verify(&xml_for(&spec)), "status");
    match &e {
        SamlRejection::Status { code, message, .. } => {
            assert_eq!(code, "urn:oasis:names:tc:SAML:2.0:status:Requester");
            assert_eq!(
                message.as_deref(),
                Some("User is not assigned to this application.")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("not assigned"), "{e}");
}

#[test]
fn nested_status_code_is_reported() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let evil = replace_once(
        &xml,
        "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>",
        "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:AuthnFailed\"/></saml2p:StatusCode>",
    );
    let e = assert_code(verify(&evil), "status");
    assert!(e.to_string().contains("AuthnFailed"), "{e}");
}

#[test]
fn holder_of_key_instead_of_bearer_is_refused() {
    let mut spec = golden(SignMode::Both);
    spec.confirmation_method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into();
    assert_code(verify(&xml_for(&spec)), "subject_confirmation");
}

// ---------------------------------------------------------------------------------------
// Transport: base64, sizes, the root element

#[test]
fn line_wrapped_base64_is_accepted() {
    let b64 = STANDARD.encode(xml_for(&golden(SignMode::Both)));
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let wrapped = format!("  {}\r\n", wrapped.join("\r\n"));
    Check::new().b64(&wrapped).unwrap();
}

#[test]
fn oversize_responses_are_refused() {
    // Decoded size over the cap, in a well-formed document.
    let xml = xml_for(&golden(SignMode::Both));
    let padding = "x".repeat(MAX_RESPONSE_BYTES);
    let big = replace_once(
        &xml,
        "<saml2p:Status>",
        &format!("<saml2p:Extensions>{padding}</saml2p:Extensions><saml2p:Status>"),
    );
    assert_code(verify(&big), "too_large");
    // Raw input far over the cap, even if mostly whitespace.
    let huge = " ".repeat(4 * MAX_RESPONSE_BYTES);
    assert_code(Check::new().b64(&huge), "too_large");
}

#[test]
fn undecodable_input_is_refused() {
    assert_code(Check::new().b64("not base64!"), "encoding");
    assert_code(Check::new().b64(""), "encoding");
    assert_code(
        Check::new().b64(&STANDARD.encode([0xff, 0xfe, 0x00])),
        "encoding",
    );
}

#[test]
fn other_documents_are_not_responses() {
    let xml = xml_for(&golden(SignMode::Assertion));
    let assertion = assertion_of(&xml);
    let e = assert_code(verify(&assertion), "not_response");
    assert!(e.to_string().contains("Assertion"), "{e}");
    assert_code(
        verify("<html><body>Sign in to Okta</body></html>"),
        "not_response",
    );
    assert_code(
        verify("<Response xmlns=\"urn:example:not-saml\"/>"),
        "not_response",
    );
}

#[test]
fn received_response_exposes_the_unverified_request_id() {
    let xml = xml_for(&golden(SignMode::Both));
    let received = receive_response(&STANDARD.encode(&xml)).unwrap();
    assert_eq!(received.in_response_to.as_deref(), Some(REQUEST_ID));
    assert_eq!(
        received.issuer.as_deref(),
        Some(TestIdp::fixed().entity_id.as_str())
    );
    assert_eq!(received.xml(), xml);
    // Debug output does not dump the document (it holds personal data).
    assert!(!format!("{received:?}").contains("alice"));
}
