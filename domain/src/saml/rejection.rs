//! Why a SAMLResponse was refused.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::clip;

/// Why a SAMLResponse was refused. `code()` is stable (events, metrics, tests); `Display` is a
/// precise sentence for the admin's event list. Neither is meant for the end user, who should
/// only learn that the sign-in failed: details help an attacker probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlRejection {
    /// The SAMLResponse (base64 or decoded) is larger than accepted.
    TooLarge { size: usize, limit: usize },
    /// Not base64, or not UTF-8 once decoded.
    Encoding(String),
    /// A DOCTYPE or entity declaration: never legitimate in a response, and the lever for
    /// entity-splitting and expansion attacks.
    Doctype,
    /// Not well-formed or otherwise unacceptable XML; the text says what.
    Malformed(String),
    /// The root element is not a SAML 2.0 protocol Response.
    NotAResponse { root: String },
    /// The profile has no IdP certificate. Verifying anyway would accept unsigned responses
    /// (samael fails open), so nothing is accepted.
    NoIdpCertificate,
    /// Neither the Response nor the Assertion carries a signature.
    SignatureMissing,
    /// A signature does not verify with any of the IdP's certificates.
    SignatureInvalid,
    /// A signature or digest algorithm outside the allowlist (SHA-1, for one).
    WeakAlgorithm { algorithm: String },
    /// A signature in a place or shape an IdP never produces (wrapping attacks look like this).
    SignatureLayout(String),
    /// Not exactly one assertion, directly inside the Response.
    AssertionCount { count: usize },
    /// An encrypted assertion; Gatehouse does not support assertion encryption.
    EncryptedAssertion,
    /// Two elements carry the same ID.
    DuplicateId { id: String },
    /// The IdP answered with an error status instead of an assertion.
    Status {
        code: String,
        sub_code: Option<String>,
        message: Option<String>,
    },
    /// The Issuer is not the profile's IdP.
    Issuer {
        expected: String,
        found: Option<String>,
    },
    /// The Response's Destination is not this profile's ACS URL.
    Destination { expected: String, found: String },
    /// The SubjectConfirmationData Recipient is not this profile's ACS URL.
    Recipient {
        expected: String,
        found: Option<String>,
    },
    /// The assertion is meant for another audience (another SP or profile).
    Audience {
        expected: String,
        found: Vec<String>,
    },
    /// The assertion has no Conditions element.
    ConditionsMissing,
    /// The assertion's Conditions name no audience.
    AudienceMissing,
    /// NotOnOrAfter (Conditions or SubjectConfirmationData) has passed, beyond the skew.
    Expired {
        not_on_or_after: Option<OffsetDateTime>,
    },
    /// NotBefore is still in the future, beyond the skew.
    NotYetValid { not_before: Option<OffsetDateTime> },
    /// IssueInstant is in the future, beyond the skew.
    IssuedInFuture { issue_instant: OffsetDateTime },
    /// IssueInstant is older than the accepted age.
    TooOld,
    /// InResponseTo names a request other than the one pending for this browser.
    InResponseTo {
        expected: Option<String>,
        found: Option<String>,
    },
    /// A response to no request (IdP-initiated) while the profile does not allow that.
    Unsolicited,
    /// No usable bearer SubjectConfirmation (holder-of-key, or its data is missing).
    SubjectConfirmation(String),
    /// The assertion names no subject.
    NameIdMissing,
    /// samael failed in a way not expected for any input; the text is its message.
    Unexpected(String),
}

impl SamlRejection {
    /// A stable identifier for events, metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Encoding(_) => "encoding",
            Self::Doctype => "doctype",
            Self::Malformed(_) => "malformed",
            Self::NotAResponse { .. } => "not_response",
            Self::NoIdpCertificate => "no_idp_certificate",
            Self::SignatureMissing => "signature_missing",
            Self::SignatureInvalid => "signature_invalid",
            Self::WeakAlgorithm { .. } => "weak_algorithm",
            Self::SignatureLayout(_) => "signature_layout",
            Self::AssertionCount { .. } => "assertion_count",
            Self::EncryptedAssertion => "encrypted_assertion",
            Self::DuplicateId { .. } => "duplicate_id",
            Self::Status { .. } => "status",
            Self::Issuer { .. } => "issuer",
            Self::Destination { .. } => "destination",
            Self::Recipient { .. } => "recipient",
            Self::Audience { .. } => "audience",
            Self::ConditionsMissing => "conditions_missing",
            Self::AudienceMissing => "audience_missing",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::IssuedInFuture { .. } => "issued_in_future",
            Self::TooOld => "too_old",
            Self::InResponseTo { .. } => "in_response_to",
            Self::Unsolicited => "unsolicited",
            Self::SubjectConfirmation(_) => "subject_confirmation",
            Self::NameIdMissing => "name_id_missing",
            Self::Unexpected(_) => "unexpected",
        }
    }
}

fn when(t: &Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(clip).unwrap_or_else(|| "nothing".into())
}

impl fmt::Display for SamlRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => write!(
                f,
                "The SAML response is {size} bytes long; at most {limit} are accepted."
            ),
            Self::Encoding(why) => write!(f, "The SAML response could not be decoded: {why}."),
            Self::Doctype => f.write_str(
                "The SAML response contains a DOCTYPE or entity declaration, which is never legitimate.",
            ),
            Self::Malformed(why) => write!(f, "The SAML response is malformed: {}.", clip(why)),
            Self::NotAResponse { root } => write!(
                f,
                "The posted document is a <{}>, not a SAML 2.0 protocol Response.",
                clip(root)
            ),
            Self::NoIdpCertificate => f.write_str(
                "The profile has no IdP signing certificate, so no response can be verified. Import the IdP metadata again.",
            ),
            Self::SignatureMissing => {
                f.write_str("The SAML response is not signed: neither the Response nor the Assertion carries a signature.")
            }
            Self::SignatureInvalid => f.write_str(
                "The SAML response's signature does not verify with the IdP certificate(s) of this profile. The IdP may have rotated its certificate: re-import its metadata.",
            ),
            Self::WeakAlgorithm { algorithm } => write!(
                f,
                "The SAML response is signed with {}, which is not accepted; set the IdP to RSA-SHA256 with a SHA-256 digest.",
                clip(algorithm)
            ),
            Self::SignatureLayout(why) => write!(
                f,
                "The SAML response's signature is laid out in a way no IdP produces ({}); this looks like a signature-wrapping attempt.",
                clip(why)
            ),
            Self::AssertionCount { count } => write!(
                f,
                "The SAML response carries {count} assertions in total; exactly one, directly inside the Response, is accepted."
            ),
            Self::EncryptedAssertion => f.write_str(
                "The SAML response carries an encrypted assertion; Gatehouse does not support assertion encryption. Turn it off for this app in the IdP.",
            ),
            Self::DuplicateId { id } => write!(
                f,
                "The SAML response uses the ID {} on more than one element.",
                clip(id)
            ),
            Self::Status {
                code,
                sub_code,
                message,
            } => {
                write!(f, "The IdP answered with status {}", clip(code))?;
                if let Some(sub) = sub_code {
                    write!(f, " / {}", clip(sub))?;
                }
                if let Some(message) = message {
                    write!(f, ": \"{}\"", clip(message))?;
                }
                f.write_str(".")
            }
            Self::Issuer { expected, found } => write!(
                f,
                "The SAML response was issued by {}, but this profile's IdP is {}.",
                opt(found),
                clip(expected)
            ),
            Self::Destination { expected, found } => write!(
                f,
                "The SAML response is addressed to {}, but this profile's ACS URL is {}.",
                clip(found),
                clip(expected)
            ),
            Self::Recipient { expected, found } => write!(
                f,
                "The assertion's Recipient is {}, but this profile's ACS URL is {}.",
                opt(found),
                clip(expected)
            ),
            Self::Audience { expected, found } => write!(
                f,
                "The assertion is meant for the audience {}, but this profile's SP entity ID is {}. The IdP's \"Audience URI\" must equal it exactly.",
                if found.is_empty() {
                    "(none)".to_string()
                } else {
                    found.iter().map(|a| clip(a)).collect::<Vec<_>>().join(", ")
                },
                clip(expected)
            ),
            Self::ConditionsMissing => {
                f.write_str("The assertion has no Conditions, so its audience and lifetime are unknown.")
            }
            Self::AudienceMissing => {
                f.write_str("The assertion's Conditions name no Audience.")
            }
            Self::Expired { not_on_or_after } => write!(
                f,
                "The assertion has expired{}. Check the clocks of the IdP and of this server.",
                when(not_on_or_after)
            ),
            Self::NotYetValid { not_before } => write!(
                f,
                "The assertion is not valid yet{}. Check the clocks of the IdP and of this server.",
                when(not_before)
            ),
            Self::IssuedInFuture { issue_instant } => write!(
                f,
                "The SAML response was issued in the future{}. Check the clocks of the IdP and of this server.",
                when(&Some(*issue_instant))
            ),
            Self::TooOld => f.write_str(
                "The SAML response was issued too long ago to be accepted (or the clocks of the IdP and of this server differ).",
            ),
            Self::InResponseTo { expected, found } => match expected {
                Some(expected) => write!(
                    f,
                    "The SAML response answers request {}, but the request pending for this browser is {}.",
                    opt(found),
                    clip(expected)
                ),
                None => write!(
                    f,
                    "The SAML response answers request {}, which is not pending for this browser (expired, already used, or started in another browser).",
                    opt(found)
                ),
            },
            Self::Unsolicited => f.write_str(
                "The SAML response answers no request (IdP-initiated sign-in), which this profile does not allow. Start the sign-in from Gatehouse.",
            ),
            Self::SubjectConfirmation(why) => {
                write!(f, "The assertion's subject confirmation is unusable: {}.", clip(why))
            }
            Self::NameIdMissing => f.write_str("The assertion names no subject (NameID)."),
            Self::Unexpected(why) => {
                write!(f, "The SAML response could not be processed: {}.", clip(why))
            }
        }
    }
}

impl std::error::Error for SamlRejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_sentences_end_with_a_full_stop() {
        let s = || "x".to_string();
        let all = vec![
            SamlRejection::TooLarge { size: 2, limit: 1 },
            SamlRejection::Encoding(s()),
            SamlRejection::Doctype,
            SamlRejection::Malformed(s()),
            SamlRejection::NotAResponse { root: s() },
            SamlRejection::NoIdpCertificate,
            SamlRejection::SignatureMissing,
            SamlRejection::SignatureInvalid,
            SamlRejection::WeakAlgorithm { algorithm: s() },
            SamlRejection::SignatureLayout(s()),
            SamlRejection::AssertionCount { count: 2 },
            SamlRejection::EncryptedAssertion,
            SamlRejection::DuplicateId { id: s() },
            SamlRejection::Status {
                code: s(),
                sub_code: Some(s()),
                message: Some(s()),
            },
            SamlRejection::Issuer {
                expected: s(),
                found: None,
            },
            SamlRejection::Destination {
                expected: s(),
                found: s(),
            },
            SamlRejection::Recipient {
                expected: s(),
                found: None,
            },
            SamlRejection::Audience {
                expected: s(),
                found: vec![],
            },
            SamlRejection::ConditionsMissing,
            SamlRejection::AudienceMissing,
            SamlRejection::Expired {
                not_on_or_after: None,
            },
            SamlRejection::NotYetValid { not_before: None },
            SamlRejection::IssuedInFuture {
                issue_instant: OffsetDateTime::UNIX_EPOCH,
            },
            SamlRejection::TooOld,
            SamlRejection::InResponseTo {
                expected: None,
                found: None,
            },
            SamlRejection::Unsolicited,
            SamlRejection::SubjectConfirmation(s()),
            SamlRejection::NameIdMissing,
            SamlRejection::Unexpected(s()),
        ];
        let mut codes: Vec<&str> = all.iter().map(SamlRejection::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for r in &all {
            let text = r.to_string();
            assert!(text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn outside_text_is_clipped() {
        let r = SamlRejection::Malformed("y".repeat(10_000));
        assert!(r.to_string().len() < 400);
    }
}
