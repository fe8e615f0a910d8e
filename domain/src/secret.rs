//! Random secrets (setup links, API tokens) and how they are kept: only a SHA-256 digest is
//! stored, and digests are compared in constant time. A secret is shown once, when made.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new secret with 256 bits of entropy, URL-safe so it can sit in a link or a header.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The digest that is stored in place of the secret. SHA-256 suffices: the secret is
/// random with 256 bits of entropy, so there is nothing to brute-force.
pub fn digest(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` is the one whose digest was stored, in time independent of where they
/// differ.
pub fn matches(secret: &str, stored_digest: &str) -> bool {
    digest(secret)
        .as_bytes()
        .ct_eq(stored_digest.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = generate();
        assert_eq!(a.len(), 43);
        assert_ne!(a, generate());
    }

    #[test]
    fn only_the_right_secret_matches() {
        let s = generate();
        let d = digest(&s);
        assert!(matches(&s, &d));
        assert!(!matches(&generate(), &d));
        assert!(!d.contains(&s));
    }
}
