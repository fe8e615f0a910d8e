//! SCIM API tokens as the console and the CLI see them. The secret itself is shown once,
//! when made, and stored only as a digest.

use crate::ids::ScimTokenId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Prefix of every SCIM token, so secret scanners and people can recognise one.
pub const SCIM_TOKEN_PREFIX: &str = "gh_scim_";

/// A SCIM API token (metadata only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimToken {
    pub id: ScimTokenId,
    /// Which identity-provider app uses it, in the admin's words ("Okta production").
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
    /// When it stops working by itself (set at creation, or by a regeneration's grace period).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ScimToken {
    /// Whether a request presenting this token at `now` is let in.
    pub fn is_usable_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// Checks a token name given by an admin.
pub fn check_token_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Give the token a name, such as \"Okta production\".".into());
    }
    if name.chars().count() > 100 {
        return Err("The token name must be at most 100 characters long.".into());
    }
    if name.chars().any(char::is_control) {
        return Err("The token name must not contain control characters.".into());
    }
    Ok(name.to_string())
}
