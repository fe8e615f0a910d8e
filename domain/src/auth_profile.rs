//! SAML authentication profiles and end-user sessions as the console sees them.
//!
//! These are plain data: the console's wasm build shares them with the server, so nothing
//! here depends on sqlx, openssl or anything else server-only. The store (and its inputs that
//! carry key material) lives in `store::auth_profiles`, `store::saml_sign_in` and
//! `store::end_user_sessions`.
//!
//! **Which profile a user gets.** A user signs in through the profile of one of their
//! groups. When their groups map to several profiles, the profile with the *lowest priority
//! number* wins (1 before 2). Priorities are unique, so the rule is deterministic; new
//! profiles go last, and an admin reorders them explicitly.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// An authentication profile's id, typed so that a group's or a user's id cannot be passed
/// in its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthProfileId(pub Uuid);

impl AuthProfileId {
    /// A fresh, time-ordered id (UUIDv7), so new rows land at the end of indexes.
    #[cfg(feature = "server")]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

#[cfg(feature = "server")]
impl Default for AuthProfileId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AuthProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for AuthProfileId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The protocol a profile signs in with. Only SAML exists today; the column and the type
/// exist so that adding another kind later is not a schema change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthProfileKind {
    Saml,
}

impl AuthProfileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthProfileKind::Saml => "saml",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "saml" => Some(AuthProfileKind::Saml),
            _ => None,
        }
    }
}

/// Which attribute of a Gatehouse user the IdP's NameID (or named SAML attribute) is
/// compared with, case-insensitively.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchAttribute {
    /// SCIM `userName` (what Okta sends as NameID by default).
    #[default]
    UserName,
    /// The user's primary email (the one marked primary, else the first one).
    Email,
}

impl MatchAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchAttribute::UserName => "user_name",
            MatchAttribute::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user_name" => Some(MatchAttribute::UserName),
            "email" => Some(MatchAttribute::Email),
            _ => None,
        }
    }
}

/// Clock skew allowed by default between Gatehouse and the IdP when checking NotBefore /
/// NotOnOrAfter: two minutes, what most SPs allow.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u32 = 120;

/// Largest clock skew an admin may allow. More than ten minutes would make a captured
/// assertion usable long after the IdP meant it to expire.
pub const MAX_CLOCK_SKEW_SECONDS: u32 = 600;

/// Per-profile sign-in settings. The defaults are the safe choice for each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthProfileSettings {
    pub match_attribute: MatchAttribute,
    /// `None`: match the assertion's NameID. Otherwise the name of a SAML attribute whose
    /// (first) value is matched instead.
    pub match_saml_attribute: Option<String>,
    pub clock_skew_seconds: u32,
    pub sign_authn_requests: bool,
    /// Whether responses nobody asked for (an IdP dashboard tile) are accepted. Replay
    /// protection applies either way.
    pub allow_idp_initiated: bool,
}

impl Default for AuthProfileSettings {
    fn default() -> Self {
        AuthProfileSettings {
            match_attribute: MatchAttribute::UserName,
            match_saml_attribute: None,
            clock_skew_seconds: DEFAULT_CLOCK_SKEW_SECONDS,
            sign_authn_requests: false,
            allow_idp_initiated: false,
        }
    }
}

impl AuthProfileSettings {
    /// Checks and normalises settings from a form: a blank attribute name means NameID.
    /// The error is a sentence the admin can act on.
    pub fn validate(mut self) -> Result<Self, String> {
        if self.clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            return Err(format!(
                "The allowed clock skew must be between 0 and {MAX_CLOCK_SKEW_SECONDS} seconds; {} is too large.",
                self.clock_skew_seconds
            ));
        }
        self.match_saml_attribute = match self.match_saml_attribute.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) if name.chars().count() > 256 => {
                return Err("The SAML attribute name must be at most 256 characters long.".into())
            }
            Some(name) if name.chars().any(|c| c.is_control()) => {
                return Err("The SAML attribute name must not contain control characters.".into())
            }
            Some(name) => Some(name.to_string()),
        };
        Ok(self)
    }
}

/// One IdP signing certificate, as imported from the IdP's metadata. Several may be valid at
/// once while the IdP rolls its key over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpCertificate {
    /// The certificate (DER), base64 (standard alphabet).
    pub der_base64: String,
    pub subject: String,
    /// SHA-256 of the DER, upper-case hex pairs separated by colons (how Okta shows it).
    pub sha256_fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// What Gatehouse knows about a profile's IdP, once its metadata is imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpSettings {
    pub entity_id: String,
    /// SingleSignOnService with the HTTP-Redirect binding (where AuthnRequests go).
    pub sso_url: Option<String>,
    /// SingleSignOnService with the HTTP-POST binding, if the IdP offers one.
    pub sso_post_url: Option<String>,
    pub certificates: Vec<IdpCertificate>,
    /// Where the metadata was fetched from, so it can be refreshed; `None` for an upload.
    pub metadata_url: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub metadata_fetched_at: Option<OffsetDateTime>,
}

impl IdpSettings {
    /// Whether sign-in can be started and verified with what was imported: an SSO URL to send
    /// users to and at least one certificate to check the answer with (never fail open).
    pub fn is_usable(&self) -> bool {
        (self.sso_url.is_some() || self.sso_post_url.is_some()) && !self.certificates.is_empty()
    }
}

/// A group as other screens name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
}

/// A profile as other screens name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthProfileRef {
    pub id: AuthProfileId,
    pub name: String,
}

/// An authentication profile, without its private key (which never leaves the store
/// unsealed except to sign an AuthnRequest) and without the raw IdP metadata XML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthProfile {
    pub id: AuthProfileId,
    pub name: String,
    pub description: String,
    pub kind: AuthProfileKind,
    /// Lower wins when a user's groups map to several profiles (see the module docs).
    pub priority: i32,
    /// The SP's signing certificate (DER), base64; it goes into the SP metadata.
    pub sp_certificate_der_base64: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sp_certificate_not_after: OffsetDateTime,
    /// `None` until the IdP's metadata has been imported.
    pub idp: Option<IdpSettings>,
    pub settings: AuthProfileSettings,
    /// The groups whose members sign in through this profile, by display name.
    pub groups: Vec<GroupRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Goes up on every change, so an edit made from a stale form can be refused.
    pub version: i64,
}

impl AuthProfile {
    pub fn to_ref(&self) -> AuthProfileRef {
        AuthProfileRef {
            id: self.id,
            name: self.name.clone(),
        }
    }

    /// Whether members of this profile's groups can sign in through it now.
    pub fn can_sign_in(&self) -> bool {
        self.idp.as_ref().is_some_and(IdpSettings::is_usable)
    }
}

/// What an admin can edit in a profile's form (the IdP part changes by importing metadata).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthProfileEdit {
    pub name: String,
    pub description: String,
    pub settings: AuthProfileSettings,
}

/// What happens to the groups of a profile that is deleted: a group never points at a
/// profile that no longer exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "profile_id", rename_all = "snake_case")]
pub enum OnProfileGroups {
    /// The groups move to this other profile.
    ReassignTo(AuthProfileId),
    /// The groups are left without a profile (their members cannot sign in until one is
    /// assigned).
    Unassign,
}

/// The profile a user signs in through, and why (which group brought it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveProfile {
    pub profile: AuthProfileRef,
    pub priority: i32,
    pub via_group: GroupRef,
}

/// An end user's signed-in session as the portal shows it. The cookie secret is not here:
/// it exists only in the browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUserSession {
    /// A handle for the session that is not its secret (for lists and events).
    pub session_id: String,
    pub user_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub profile: AuthProfileRef,
    pub groups: Vec<GroupRef>,
    pub name_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
}

/// Longest profile name accepted.
pub const MAX_PROFILE_NAME_CHARS: usize = 100;
/// Longest profile description accepted.
pub const MAX_PROFILE_DESCRIPTION_CHARS: usize = 1000;

/// Checks a profile name from a form: trimmed, not empty, not too long, no control
/// characters.
pub fn check_profile_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Give the profile a name, such as \"Okta\".".into());
    }
    if name.chars().count() > MAX_PROFILE_NAME_CHARS {
        return Err(format!(
            "The profile name must be at most {MAX_PROFILE_NAME_CHARS} characters long."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("The profile name must not contain control characters.".into());
    }
    Ok(name.to_string())
}

/// Checks a profile description: trimmed, may be empty, not too long.
pub fn check_profile_description(description: &str) -> Result<String, String> {
    let description = description.trim();
    if description.chars().count() > MAX_PROFILE_DESCRIPTION_CHARS {
        return Err(format!(
            "The description must be at most {MAX_PROFILE_DESCRIPTION_CHARS} characters long."
        ));
    }
    if description
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("The description must not contain control characters.".into());
    }
    Ok(description.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_the_safe_choices() {
        let s = AuthProfileSettings::default();
        assert_eq!(s.match_attribute, MatchAttribute::UserName);
        assert_eq!(s.clock_skew_seconds, 120);
        assert!(!s.sign_authn_requests);
        assert!(!s.allow_idp_initiated);
        assert_eq!(s.match_saml_attribute, None);
    }

    #[test]
    fn settings_validation_bounds_skew_and_normalises_the_attribute() {
        let mut s = AuthProfileSettings {
            clock_skew_seconds: 600,
            match_saml_attribute: Some("  ".into()),
            ..Default::default()
        };
        let ok = s.clone().validate().unwrap();
        assert_eq!(ok.match_saml_attribute, None);
        s.clock_skew_seconds = 601;
        assert!(s.clone().validate().unwrap_err().contains("601"));
        s.clock_skew_seconds = 0;
        s.match_saml_attribute = Some(" email ".into());
        assert_eq!(
            s.clone()
                .validate()
                .unwrap()
                .match_saml_attribute
                .as_deref(),
            Some("email")
        );
        s.match_saml_attribute = Some("a\u{0}b".into());
        assert!(s.validate().is_err());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_profile_name("  Okta  ").unwrap(), "Okta");
        assert!(check_profile_name("   ").is_err());
        assert!(check_profile_name(&"x".repeat(101)).is_err());
        assert!(check_profile_name("a\nb").is_err());
        assert_eq!(
            check_profile_description("line\nline").unwrap(),
            "line\nline"
        );
        assert!(check_profile_description(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn enums_round_trip_through_their_column_values() {
        for m in [MatchAttribute::UserName, MatchAttribute::Email] {
            assert_eq!(MatchAttribute::parse(m.as_str()), Some(m));
        }
        assert_eq!(MatchAttribute::parse("mail"), None);
        assert_eq!(AuthProfileKind::parse("saml"), Some(AuthProfileKind::Saml));
    }
}
