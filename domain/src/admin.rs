//! Administrators: the people who configure Gatehouse in the console.

use crate::ids::AdminId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An administrator as the console shows it. The password hash never leaves the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    pub id: AdminId,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
    pub role: AdminRole,
}

/// What an administrator may do in the console. Auditors exist so that security and
/// compliance staff can review the configuration and Events / Logs without being able to
/// change either; the server enforces it on every state-changing call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    Administrator,
    Auditor,
}

impl AdminRole {
    pub const ALL: [AdminRole; 2] = [AdminRole::Administrator, AdminRole::Auditor];

    /// The stored and wire form; stable, as the database and the CLI use it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Administrator => "administrator",
            AdminRole::Auditor => "auditor",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            AdminRole::Administrator => "Administrator",
            AdminRole::Auditor => "Auditor",
        }
    }

    /// Reads a role as typed by a person (any case, surrounding spaces ignored).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "administrator" => Ok(AdminRole::Administrator),
            "auditor" => Ok(AdminRole::Auditor),
            other => Err(format!(
                "Unknown role \"{other}\": use administrator or auditor."
            )),
        }
    }

    /// Whether this role may change anything (configuration, directory actions, admins).
    pub fn can_change(self) -> bool {
        self == AdminRole::Administrator
    }
}

impl Admin {
    pub fn can_change(&self) -> bool {
        self.role.can_change()
    }
}

/// Shortest password we accept for an administrator. NIST SP 800-63B asks for at least 8;
/// an account that controls a company's sign-in deserves more.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Longest password we hash: beyond this, hashing cost is a denial-of-service lever.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Checks and normalises an administrator's email: trimmed, lower-cased, one `@` with text on
/// both sides. Email addresses are compared case-insensitively everywhere in Gatehouse.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter an email address.".into());
    }
    if email.len() > 254 {
        return Err("The email address is longer than 254 characters.".into());
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(email)
        }
        _ => Err(format!("\"{email}\" is not an email address.")),
    }
}

/// Checks a new administrator password against the length rules.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(format!(
            "The password must be at least {MIN_PASSWORD_LEN} characters long."
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(format!(
            "The password must be at most {MAX_PASSWORD_LEN} bytes long."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a@b@c",
            "ad a@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn roles_round_trip_and_only_administrators_change() {
        for role in AdminRole::ALL {
            assert_eq!(AdminRole::parse(role.as_str()).unwrap(), role);
        }
        assert_eq!(AdminRole::parse(" Auditor ").unwrap(), AdminRole::Auditor);
        assert!(AdminRole::parse("owner").is_err());
        assert!(AdminRole::Administrator.can_change());
        assert!(!AdminRole::Auditor.can_change());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough password").is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
