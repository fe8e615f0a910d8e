//! Encryption at rest for the few secrets Gatehouse must be able to read back (each SAML
//! profile's SP private key), so that a copy of the database alone (a backup, a replica's
//! disk) does not hand out the keys that sign as Gatehouse.
//!
//! AES-256-GCM with a fresh random 96-bit nonce per value; the stored form is
//! `v1:` + base64(nonce ‖ ciphertext ‖ 128-bit tag). The version prefix lets a later format
//! or key rotation coexist with values sealed today. The key comes from the operator
//! (configuration or a key file), never from the database.

use crate::{DomainError, Result};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use rand::RngCore;
use std::fmt;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes in a sealing key (AES-256).
pub const KEY_LEN: usize = 32;

/// Seals and opens values with one 256-bit key. `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; KEY_LEN],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn new(key: [u8; KEY_LEN]) -> Self {
        Sealer { key }
    }

    /// Reads a key given as base64 (standard or URL-safe, padded or not, surrounding
    /// whitespace ignored), as an operator would paste it into configuration.
    pub fn from_base64(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| {
                DomainError::Invalid(
                    "The secret key is not valid base64; generate one with `openssl rand -base64 32`."
                        .into(),
                )
            })?;
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            DomainError::Invalid(format!(
                "The secret key must be {KEY_LEN} bytes (base64 of 32 random bytes); this one is {} bytes.",
                bytes.len()
            ))
        })?;
        Ok(Sealer { key })
    }

    /// A new random key in the base64 form [`Sealer::from_base64`] reads, for a first start
    /// that writes its own key file.
    pub fn generate_key_base64() -> String {
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Encrypts and authenticates `plaintext`. Sealing the same value twice gives different
    /// text (the nonce is random), so equal keys are not visible as equal rows.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut tag = [0u8; TAG_LEN];
        // AES-256-GCM with a 32-byte key and 12-byte nonce cannot fail short of OpenSSL
        // itself being broken, which no caller could handle better than by stopping.
        let ciphertext = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            PREFIX.as_bytes(),
            plaintext,
            &mut tag,
        )
        .expect("AES-256-GCM encryption with a valid key and nonce");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&tag);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Decrypts a value made by [`Sealer::seal`]. Fails, without saying more, when the value
    /// was altered or was sealed with another key: the usual cause is a changed
    /// `GATEHOUSE_SECRET_KEY`.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>> {
        let body = sealed.strip_prefix(PREFIX).ok_or_else(|| {
            DomainError::Invalid(
                "The sealed value has an unknown format (expected \"v1:\").".into(),
            )
        })?;
        let bytes = STANDARD.decode(body).map_err(|_| {
            DomainError::Invalid("The sealed value is not valid base64; it was altered.".into())
        })?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(DomainError::Invalid(
                "The sealed value is too short; it was altered.".into(),
            ));
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            PREFIX.as_bytes(),
            ciphertext,
            tag,
        )
        .map_err(|_| {
            DomainError::Invalid(
                "The sealed value cannot be opened: it was sealed with another secret key, or altered. \
                 Check that GATEHOUSE_SECRET_KEY (or the key file) is the one this database was set up with."
                    .into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new([byte; KEY_LEN])
    }

    #[test]
    fn round_trip_and_random_nonce() {
        let s = sealer(7);
        let secret = b"-----PKCS#8 bytes-----";
        let a = s.seal(secret);
        let b = s.seal(secret);
        assert!(a.starts_with("v1:"));
        assert_ne!(a, b, "two seals of one value must differ");
        assert_eq!(s.open(&a).unwrap(), secret);
        assert_eq!(s.open(&b).unwrap(), secret);
        assert!(!a.contains("PKCS"));
        assert_eq!(s.open(&s.seal(b"")).unwrap(), b"");
    }

    #[test]
    fn another_key_cannot_open() {
        let sealed = sealer(1).seal(b"private");
        let err = sealer(2).open(&sealed).unwrap_err().to_string();
        assert!(err.contains("another secret key"), "{err}");
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let s = sealer(3);
        let sealed = s.seal(b"private key bytes");
        let raw = STANDARD.decode(&sealed[3..]).unwrap();
        for i in 0..raw.len() {
            let mut altered = raw.clone();
            altered[i] ^= 0x01;
            let text = format!("v1:{}", STANDARD.encode(&altered));
            assert!(s.open(&text).is_err(), "flipping byte {i} went unnoticed");
        }
        // Truncation, a missing prefix and garbage are refused too.
        assert!(s.open(&sealed[..sealed.len() - 4]).is_err());
        assert!(s.open(&sealed[3..]).is_err());
        assert!(s.open("v1:!!!").is_err());
        assert!(s.open("v1:AAAA").is_err());
    }

    #[test]
    fn keys_are_read_from_base64_of_exactly_32_bytes() {
        let text = Sealer::generate_key_base64();
        let a = Sealer::from_base64(&format!("  {text}\n")).unwrap();
        let b = Sealer::from_base64(&URL_SAFE_NO_PAD.encode(a.key)).unwrap();
        assert_eq!(b.open(&a.seal(b"x")).unwrap(), b"x");
        let short = Sealer::from_base64(&STANDARD.encode([0u8; 16])).unwrap_err();
        assert!(short.to_string().contains("16 bytes"), "{short}");
        assert!(Sealer::from_base64("not base64 at all!").is_err());
        assert_eq!(format!("{a:?}"), "Sealer(..)");
    }
}
