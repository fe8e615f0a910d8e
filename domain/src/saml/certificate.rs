//! X.509 certificates: the SP's own signing key pair, and the facts an admin needs to judge an
//! IdP certificate (fingerprint, expiry, key size).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Name, X509};
use time::OffsetDateTime;

use crate::{DomainError, Result};

/// RSA modulus size of the keys Gatehouse makes. 2048 bits is what Okta and every other IdP
/// accept for request signing, and it keeps each signed redirect cheap.
const SP_KEY_BITS: u32 = 2048;

/// A key pair made for one authentication profile, to sign AuthnRequests (and later SLO).
/// The private key is a secret: keep it encrypted or at least out of logs and API answers.
#[derive(Clone)]
pub struct SpKeyPair {
    /// The private key as PKCS#8 DER, the form `authn_request_redirect` takes.
    pub private_key_der: Vec<u8>,
    /// The self-signed certificate (DER) that goes into the SP metadata and into Okta's
    /// "Signature Certificate" field.
    pub certificate_der: Vec<u8>,
    /// When the certificate stops being valid, so the console can warn before that.
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for SpKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeyPair")
            .field("private_key_der", &"<redacted>")
            .field(
                "certificate_der",
                &format_args!("{} bytes", self.certificate_der.len()),
            )
            .field("not_after", &self.not_after)
            .finish()
    }
}

/// Makes a new RSA key pair and a self-signed SHA-256 certificate for it. Self-signed is
/// enough: SAML peers pin the certificate itself, they do not walk a chain.
pub fn generate_sp_key_pair(common_name: &str, valid_days: u32) -> Result<SpKeyPair> {
    let common_name = common_name.trim();
    if common_name.is_empty() {
        return Err(DomainError::Invalid(
            "The certificate needs a name (common name).".into(),
        ));
    }
    // X.509's upper bound for a common name.
    if common_name.chars().count() > 64 {
        return Err(DomainError::Invalid(
            "The certificate's common name can have at most 64 characters.".into(),
        ));
    }
    if !(1..=36_500).contains(&valid_days) {
        return Err(DomainError::Invalid(
            "A certificate must be valid for between 1 day and 100 years.".into(),
        ));
    }
    let build = || -> std::result::Result<SpKeyPair, openssl::error::ErrorStack> {
        let rsa = Rsa::generate(SP_KEY_BITS)?;
        let key = PKey::from_rsa(rsa)?;

        let mut name = X509Name::builder()?;
        name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
        let name = name.build();

        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;

        let now = OffsetDateTime::now_utc().unix_timestamp();
        // Backdated a little so a peer whose clock runs behind still accepts it at once.
        let not_before = Asn1Time::from_unix(now - 300)?;
        let not_after = Asn1Time::days_from_now(valid_days)?;

        let mut builder = X509::builder()?;
        builder.set_version(2)?;
        let serial = serial.to_asn1_integer()?;
        builder.set_serial_number(&serial)?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        builder.set_not_before(&not_before)?;
        builder.set_not_after(&not_after)?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
        builder.sign(&key, MessageDigest::sha256())?;
        let cert = builder.build();

        Ok(SpKeyPair {
            private_key_der: key.private_key_to_pkcs8()?,
            certificate_der: cert.to_der()?,
            not_after: asn1_to_offset(cert.not_after()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        })
    };
    build().map_err(|e| DomainError::Invalid(format!("Could not make a key pair: {e}")))
}

/// What the console shows about a certificate and what the expiry warnings are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The certificate as DER, exactly as it was given.
    pub der: Vec<u8>,
    /// The subject as `CN=…, O=…`, for a human to recognise it.
    pub subject: String,
    /// SHA-256 of the DER, `AB:CD:…` in upper-case hex, the form Okta and openssl print, so an
    /// admin can compare it with what the IdP's console shows.
    pub sha256_fingerprint: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Size of the public key (RSA modulus bits, or the curve size for EC keys).
    pub public_key_bits: u32,
}

impl CertificateInfo {
    /// Whether the certificate is no longer valid at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.not_after <= now
    }

    /// The certificate as PEM, for a download or to paste into an IdP's console.
    pub fn pem(&self) -> String {
        certificate_pem(&self.der)
    }
}

/// Decodes a DER certificate and reads what an admin needs to judge it. Fails with a sentence
/// when the bytes are not one X.509 certificate.
pub fn certificate_info(der: &[u8]) -> Result<CertificateInfo> {
    let bad = |why: String| {
        DomainError::Invalid(format!("This is not a valid X.509 certificate: {why}."))
    };
    if der.is_empty() {
        return Err(bad("it is empty".into()));
    }
    let cert = X509::from_der(der).map_err(|e| bad(first_openssl_reason(&e)))?;
    // from_der reads one certificate and ignores what follows; a pasted bundle or junk after
    // the certificate would then be stored without anyone noticing.
    let reencoded = cert.to_der().map_err(|e| bad(first_openssl_reason(&e)))?;
    if reencoded.len() != der.len() {
        return Err(bad("there is extra data after the certificate".into()));
    }
    let subject = cert
        .subject_name()
        .entries()
        .map(|entry| {
            let key = entry
                .object()
                .nid()
                .short_name()
                .map(str::to_string)
                .unwrap_or_else(|_| entry.object().to_string());
            let value = entry.data().to_string().unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let digest = cert
        .digest(MessageDigest::sha256())
        .map_err(|e| bad(first_openssl_reason(&e)))?;
    let sha256_fingerprint = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let not_before = asn1_to_offset(cert.not_before())
        .ok_or_else(|| bad("its start date cannot be read".into()))?;
    let not_after = asn1_to_offset(cert.not_after())
        .ok_or_else(|| bad("its end date cannot be read".into()))?;
    let public_key_bits = cert
        .public_key()
        .map_err(|e| {
            bad(format!(
                "its public key cannot be read ({})",
                first_openssl_reason(&e)
            ))
        })?
        .bits();
    Ok(CertificateInfo {
        der: der.to_vec(),
        subject,
        sha256_fingerprint,
        not_before,
        not_after,
        public_key_bits,
    })
}

/// The certificate in PEM form (64-column base64 between BEGIN/END lines).
pub fn certificate_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn asn1_to_offset(t: &Asn1TimeRef) -> Option<OffsetDateTime> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

fn first_openssl_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(|e| e.reason().map(str::to_string))
        .unwrap_or_else(|| "openssl could not decode it".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn generated_key_pair_has_a_matching_certificate() {
        let pair = generate_sp_key_pair("gatehouse sp", 365).unwrap();
        let info = certificate_info(&pair.certificate_der).unwrap();
        assert_eq!(info.subject, "CN=gatehouse sp");
        assert_eq!(info.public_key_bits, 2048);
        assert_eq!(info.not_after, pair.not_after);
        let now = OffsetDateTime::now_utc();
        assert!(info.not_before <= now);
        let days = (info.not_after - now).whole_days();
        assert!((364..=365).contains(&days), "{days}");
        assert!(!info.is_expired(now));
        assert!(info.is_expired(now + Duration::days(366)));

        let key = PKey::private_key_from_pkcs8(&pair.private_key_der).unwrap();
        let cert = X509::from_der(&pair.certificate_der).unwrap();
        assert!(cert.public_key().unwrap().public_eq(&key));
        assert!(cert.verify(&key).unwrap(), "self-signed");
        assert!(!format!("{pair:?}").contains(&format!("{:?}", &pair.private_key_der[..8])));
    }

    #[test]
    fn key_pair_input_is_checked() {
        assert!(generate_sp_key_pair(" ", 10).is_err());
        assert!(generate_sp_key_pair(&"x".repeat(65), 10).is_err());
        assert!(generate_sp_key_pair("sp", 0).is_err());
        assert!(generate_sp_key_pair("sp", 40_000).is_err());
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(certificate_info(b"").is_err());
        let err = certificate_info(b"not a certificate")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("This is not a valid X.509 certificate"),
            "{err}"
        );
        let pair = generate_sp_key_pair("sp", 10).unwrap();
        let mut trailing = pair.certificate_der.clone();
        trailing.extend_from_slice(b"junk");
        let err = certificate_info(&trailing).unwrap_err().to_string();
        assert!(err.contains("extra data"), "{err}");
        let truncated = &pair.certificate_der[..pair.certificate_der.len() - 10];
        assert!(certificate_info(truncated).is_err());
    }

    #[test]
    fn pem_round_trips_through_openssl() {
        let pair = generate_sp_key_pair("sp", 10).unwrap();
        let pem = certificate_pem(&pair.certificate_der);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let back = X509::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(back.to_der().unwrap(), pair.certificate_der);
    }
}
