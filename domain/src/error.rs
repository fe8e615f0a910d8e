//! One error type for the domain; each edge (console, SCIM, SAML, CLI) maps it to its own
//! wire format exactly once.

use thiserror::Error;

/// Why a domain operation did not happen. Messages are safe to show to the person who
/// asked: they never contain a secret.
#[derive(Debug, Error)]
pub enum DomainError {
    /// The input breaks a rule; the message says which, in words an admin can act on.
    #[error("{0}")]
    Invalid(String),
    /// Something with the same unique key already exists.
    #[error("{0}")]
    Conflict(String),
    /// The thing asked for does not exist (or the caller may not know that it does).
    #[error("{0}")]
    NotFound(String),
    /// Email and password do not match an administrator. Deliberately says nothing about
    /// which of the two was wrong.
    #[error("The email or password is not correct.")]
    BadCredentials,
    /// Too many failed attempts recently; the caller should wait this many seconds.
    #[error("Too many failed attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    /// The database could not be reached or answered with an error we did not expect.
    #[error("database error: {0}")]
    Database(String),
}

/// The domain's result alias.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

#[cfg(feature = "server")]
impl From<sqlx::Error> for DomainError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::Database(e.to_string())
    }
}

#[cfg(feature = "server")]
impl From<sqlx::migrate::MigrateError> for DomainError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        DomainError::Database(format!("migration failed: {e}"))
    }
}
