//! Administrator passwords: Argon2id, in the PHC string format, so parameters can be raised
//! later without invalidating stored hashes.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

/// Hashes a password with Argon2id and a fresh random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters cannot fail on a bounded password")
        .to_string()
}

/// Checks a password against a stored hash. A malformed stored hash never verifies.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification. Called when the email is unknown, so the
/// response time does not tell an attacker which emails are administrators.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("gatehouse-dummy-password"));
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash("correct horse battery staple");
        assert!(h.starts_with("$argon2id$"), "not Argon2id: {h}");
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapl", &h));
    }

    #[test]
    fn two_hashes_of_one_password_differ() {
        assert_ne!(hash("same password here"), hash("same password here"));
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify("anything", "not a hash"));
    }
}
