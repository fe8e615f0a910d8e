//! The database side of end-user sign-in: who is signing in and through which profile,
//! the AuthnRequests in flight, and the assertion ids already used. All of it lives in the
//! database so that any replica can finish a sign-in another one started.
//!
//! Events: storing an AuthnRequest records `sign_in.started`, and starting a session
//! records `sign_in.succeeded`, each in the same transaction as the write. The caller
//! records every failure with [`Store::record_sign_in_event`] (`sign_in.failed` with the
//! reason code of whichever check refused), since a failure writes nothing else.

use super::auth_profiles::{load_profile, parse_profile_id};
use super::{events, from_ms, to_ms, Store};
use crate::auth_profile::{
    AuthProfile, AuthProfileId, AuthProfileRef, EffectiveProfile, GroupRef, MatchAttribute,
    MAX_CLOCK_SKEW_SECONDS,
};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::ids::EventId;
use crate::{secret, DomainError, Result};
use serde_json::json;
use sqlx::AnyConnection;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// How long an AuthnRequest may wait for its answer.
pub const SAML_REQUEST_TTL: Duration = Duration::minutes(5);

/// Expired requests are kept this long after expiry so that a late answer is reported as
/// "expired" rather than "unknown", then purged.
const EXPIRED_REQUEST_RETENTION_MS: i64 = 60 * 60 * 1000;

/// Opportunistic purges run at most this often per process.
const PURGE_INTERVAL_MS: i64 = 60_000;
static LAST_PURGE_MS: AtomicI64 = AtomicI64::new(0);

/// Longest identifier accepted at `/login` (an email is at most 254 characters).
const MAX_IDENTIFIER_CHARS: usize = 256;

/// A user as sign-in knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInUser {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub primary_email: Option<String>,
}

/// Who `/login` found, and the profile (with its IdP) they sign in through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInCandidate {
    pub user: SignInUser,
    pub profile: AuthProfile,
    pub via_group: GroupRef,
}

/// Why `/login` cannot start a sign-in. The end user always sees one calm message; this is
/// for the event the admin reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInRefusal {
    /// No user has that userName or primary email.
    UnknownUser,
    /// Several active users share that primary email, and none has it as userName.
    AmbiguousEmail { users: usize },
    /// The user exists but is deactivated.
    Inactive(SignInUser),
    /// None of the user's groups has a profile.
    NoProfile(SignInUser),
    /// The user's profile has no usable IdP yet (metadata not imported).
    ProfileWithoutIdp {
        user: SignInUser,
        profile: AuthProfileRef,
    },
}

impl SignInRefusal {
    /// A stable code for events and filters.
    pub fn code(&self) -> &'static str {
        match self {
            SignInRefusal::UnknownUser => "unknown_user",
            SignInRefusal::AmbiguousEmail { .. } => "ambiguous_email",
            SignInRefusal::Inactive(_) => "inactive_user",
            SignInRefusal::NoProfile(_) => "no_profile",
            SignInRefusal::ProfileWithoutIdp { .. } => "profile_without_idp",
        }
    }

    /// The user, where one was found.
    pub fn user(&self) -> Option<&SignInUser> {
        match self {
            SignInRefusal::Inactive(u) | SignInRefusal::NoProfile(u) => Some(u),
            SignInRefusal::ProfileWithoutIdp { user, .. } => Some(user),
            _ => None,
        }
    }
}

impl fmt::Display for SignInRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignInRefusal::UnknownUser => f.write_str("No user has this userName or email."),
            SignInRefusal::AmbiguousEmail { users } => write!(
                f,
                "{users} active users share this email and none has it as userName; sign-in cannot tell them apart."
            ),
            SignInRefusal::Inactive(_) => f.write_str("The user is deactivated."),
            SignInRefusal::NoProfile(_) => {
                f.write_str("None of the user's groups has an authentication profile.")
            }
            SignInRefusal::ProfileWithoutIdp { profile, .. } => write!(
                f,
                "The user's profile \"{}\" has no IdP metadata with a certificate and an SSO URL yet.",
                profile.name
            ),
        }
    }
}

/// Why the user named by a verified assertion may not sign in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssertionUserRefusal {
    UnknownUser,
    AmbiguousEmail {
        users: usize,
    },
    Inactive(SignInUser),
    /// The user is no longer in any group assigned to the profile the response came to.
    NotInProfileGroup(SignInUser),
}

impl AssertionUserRefusal {
    /// A stable code for events and filters.
    pub fn code(&self) -> &'static str {
        match self {
            AssertionUserRefusal::UnknownUser => "unknown_user",
            AssertionUserRefusal::AmbiguousEmail { .. } => "ambiguous_email",
            AssertionUserRefusal::Inactive(_) => "inactive_user",
            AssertionUserRefusal::NotInProfileGroup(_) => "not_in_profile_group",
        }
    }

    pub fn user(&self) -> Option<&SignInUser> {
        match self {
            AssertionUserRefusal::Inactive(u) | AssertionUserRefusal::NotInProfileGroup(u) => {
                Some(u)
            }
            _ => None,
        }
    }
}

impl fmt::Display for AssertionUserRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssertionUserRefusal::UnknownUser => {
                f.write_str("The asserted identity matches no user.")
            }
            AssertionUserRefusal::AmbiguousEmail { users } => write!(
                f,
                "The asserted email belongs to {users} active users; sign-in cannot tell them apart."
            ),
            AssertionUserRefusal::Inactive(_) => f.write_str("The user is deactivated."),
            AssertionUserRefusal::NotInProfileGroup(_) => {
                f.write_str("The user is not in any group assigned to this profile.")
            }
        }
    }
}

/// An AuthnRequest about to be sent.
#[derive(Clone, Debug)]
pub struct NewSamlRequest {
    /// The AuthnRequest's ID attribute (random, 128 bits or more).
    pub id: String,
    pub profile_id: AuthProfileId,
    /// The random value in the browser's short-lived cookie. Only its SHA-256 is stored.
    pub browser_nonce: String,
    /// Where to go after sign-in: a local path (checked with [`check_relay_state`]).
    pub relay_state: String,
    /// The user `/login` resolved, if any.
    pub user_id: Option<String>,
    /// For the `sign_in.started` event.
    pub client_ip: Option<String>,
}

/// A stored AuthnRequest, as consuming it returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlRequest {
    pub id: String,
    pub profile_id: AuthProfileId,
    pub relay_state: String,
    pub user_id: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Why a response's InResponseTo does not complete a sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestRejection {
    /// No request with that id was ever stored (or it was purged long ago).
    Unknown,
    /// The request was sent for another profile than the one the response was posted to.
    OtherProfile,
    /// The response arrived in another browser than the one that started sign-in.
    OtherBrowser,
    /// The request was already answered once.
    AlreadyUsed,
    /// The answer came too late.
    Expired,
}

impl RequestRejection {
    /// A stable code for events and filters.
    pub fn code(self) -> &'static str {
        match self {
            RequestRejection::Unknown => "request_unknown",
            RequestRejection::OtherProfile => "request_other_profile",
            RequestRejection::OtherBrowser => "request_other_browser",
            RequestRejection::AlreadyUsed => "request_already_used",
            RequestRejection::Expired => "request_expired",
        }
    }
}

impl fmt::Display for RequestRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestRejection::Unknown => "InResponseTo names no AuthnRequest Gatehouse sent.",
            RequestRejection::OtherProfile => {
                "InResponseTo names an AuthnRequest sent for another profile."
            }
            RequestRejection::OtherBrowser => {
                "The response was posted from another browser than the one that started sign-in."
            }
            RequestRejection::AlreadyUsed => "The AuthnRequest was already answered once.",
            RequestRejection::Expired => "The AuthnRequest expired before the response arrived.",
        })
    }
}

/// An assertion id that was already accepted once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replay;

impl fmt::Display for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("This assertion was already used to sign in (replay).")
    }
}

/// How many rows a purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgedSignInState {
    pub requests: u64,
    pub assertions: u64,
    pub sessions: u64,
}

/// The step of sign-in an event describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInStep {
    Started,
    Succeeded,
    Failed,
}

impl SignInStep {
    pub fn action(self) -> &'static str {
        match self {
            SignInStep::Started => "sign_in.started",
            SignInStep::Succeeded => "sign_in.succeeded",
            SignInStep::Failed => "sign_in.failed",
        }
    }
}

/// A sign-in event from the HTTP layer. Never put a secret here: no SAMLResponse, no
/// cookie value, no key.
#[derive(Clone, Debug)]
pub struct SignInEvent {
    pub step: SignInStep,
    pub profile: Option<AuthProfileRef>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    /// What the person typed at `/login`, when no user was found (truncated).
    pub identifier: Option<String>,
    /// A stable code: a [`SignInRefusal`], [`RequestRejection`], [`AssertionUserRefusal`] or
    /// SAML check code.
    pub reason: Option<String>,
    /// The precise explanation for the admin.
    pub message: Option<String>,
    /// The id shown to the end user on the error page, so support can find this event.
    pub reference_id: Option<String>,
    pub client_ip: Option<String>,
}

impl SignInEvent {
    /// An event with nothing but its step; set the fields that are known.
    pub fn new(step: SignInStep) -> Self {
        SignInEvent {
            step,
            profile: None,
            user_id: None,
            user_name: None,
            identifier: None,
            reason: None,
            message: None,
            reference_id: None,
            client_ip: None,
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Checks a post-sign-in destination: only a path on this site, never another host
/// (`//evil.example`, `/\evil.example`, `https://…`). Empty means the portal's root.
pub fn check_relay_state(relay_state: &str) -> Result<String> {
    let r = relay_state.trim();
    if r.is_empty() {
        return Ok("/".into());
    }
    let local = r.starts_with('/')
        && !r.starts_with("//")
        && !r.contains('\\')
        && !r.chars().any(|c| c.is_control() || c.is_whitespace())
        && r.len() <= 1024;
    if local {
        Ok(r.to_string())
    } else {
        Err(DomainError::Invalid(format!(
            "The return address \"{}\" is not a path on this site.",
            truncate(r, 200)
        )))
    }
}

/// `active` as 0/1: sqlx's Any driver cannot decode SQLite's BOOLEAN columns.
const USER_COLUMNS: &str =
    "id, user_name, display_name, primary_email, CASE WHEN active THEN 1 ELSE 0 END AS active";

type UserRow = (String, String, Option<String>, Option<String>, i64);

fn sign_in_user((id, user_name, display_name, primary_email, _): UserRow) -> SignInUser {
    SignInUser {
        id,
        user_name,
        display_name,
        primary_email,
    }
}

/// How a looked-up identity resolved to users.
enum UserMatch {
    Active(SignInUser),
    Inactive(SignInUser),
    Ambiguous(usize),
    None,
}

/// Finds the user an identity names, case-insensitively: by userName, or by primary email.
async fn match_user(
    conn: &mut AnyConnection,
    attribute: MatchAttribute,
    value: &str,
) -> Result<UserMatch> {
    let key = value.trim().to_lowercase();
    if attribute == MatchAttribute::UserName {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_name_key = $1"
        ))
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await?;
        return Ok(match row {
            Some(r) if r.4 != 0 => UserMatch::Active(sign_in_user(r)),
            Some(r) => UserMatch::Inactive(sign_in_user(r)),
            None => UserMatch::None,
        });
    }
    // primary_email is stored lower-cased (see scim::resource::user_columns), and is not
    // unique: several users may share one.
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE primary_email = $1 ORDER BY id LIMIT 10"
    ))
    .bind(&key)
    .fetch_all(&mut *conn)
    .await?;
    let (active, inactive): (Vec<UserRow>, Vec<UserRow>) = rows.into_iter().partition(|r| r.4 != 0);
    Ok(match active.len() {
        1 => UserMatch::Active(sign_in_user(active.into_iter().next().expect("one"))),
        0 => match inactive.into_iter().next() {
            Some(r) => UserMatch::Inactive(sign_in_user(r)),
            None => UserMatch::None,
        },
        n => UserMatch::Ambiguous(n),
    })
}

async fn effective_profile(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<EffectiveProfile>> {
    let row: Option<(String, String, i32, String, String)> = sqlx::query_as(
        "SELECT p.id, p.name, p.priority, g.id, g.display_name FROM group_members m \
         JOIN user_groups g ON g.id = m.group_id \
         JOIN auth_profiles p ON p.id = g.auth_profile_id \
         WHERE m.user_id = $1 ORDER BY p.priority, g.display_name_key, g.id LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(pid, name, priority, gid, gname)| {
        Ok(EffectiveProfile {
            profile: AuthProfileRef {
                id: parse_profile_id(&pid)?,
                name,
            },
            priority,
            via_group: GroupRef {
                id: gid,
                display_name: gname,
            },
        })
    })
    .transpose()
}

async fn in_group_with_profile(
    conn: &mut AnyConnection,
    user_id: &str,
    profile_id: AuthProfileId,
) -> Result<bool> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT m.group_id FROM group_members m JOIN user_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 AND g.auth_profile_id = $2 LIMIT 1",
    )
    .bind(user_id)
    .bind(profile_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

impl Store {
    /// Resolves what a person typed at `/login` to an active user and the profile they
    /// sign in through. The identifier matches userName first, then the primary email,
    /// ignoring case. The profile is the one with the lowest priority among the user's
    /// groups' profiles; if that profile has no usable IdP the sign-in is refused (no
    /// silent fallback to another profile), so what the admin sees as the user's effective
    /// profile is what sign-in uses.
    pub async fn find_sign_in_candidate(
        &self,
        identifier: &str,
    ) -> Result<Result<SignInCandidate, SignInRefusal>> {
        let identifier = identifier.trim();
        if identifier.is_empty() {
            return Err(DomainError::Invalid("Enter your email address.".into()));
        }
        if identifier.chars().count() > MAX_IDENTIFIER_CHARS {
            return Ok(Err(SignInRefusal::UnknownUser));
        }
        let mut conn = self.reader.acquire().await?;
        let mut found = match_user(&mut conn, MatchAttribute::UserName, identifier).await?;
        if let UserMatch::None = found {
            found = match_user(&mut conn, MatchAttribute::Email, identifier).await?;
        }
        let user = match found {
            UserMatch::Active(u) => u,
            UserMatch::Inactive(u) => return Ok(Err(SignInRefusal::Inactive(u))),
            UserMatch::Ambiguous(n) => return Ok(Err(SignInRefusal::AmbiguousEmail { users: n })),
            UserMatch::None => return Ok(Err(SignInRefusal::UnknownUser)),
        };
        let Some(effective) = effective_profile(&mut conn, &user.id).await? else {
            return Ok(Err(SignInRefusal::NoProfile(user)));
        };
        let Some(profile) = load_profile(&mut conn, effective.profile.id).await? else {
            // Deleted between the two reads; as if it had never been assigned.
            return Ok(Err(SignInRefusal::NoProfile(user)));
        };
        if !profile.can_sign_in() {
            return Ok(Err(SignInRefusal::ProfileWithoutIdp {
                user,
                profile: effective.profile,
            }));
        }
        Ok(Ok(SignInCandidate {
            user,
            profile,
            via_group: effective.via_group,
        }))
    }

    /// The profile a user signs in through (lowest priority among their groups' profiles)
    /// and the group that brings it, for the user's page.
    pub async fn effective_profile_of_user(
        &self,
        user_id: &str,
    ) -> Result<Option<EffectiveProfile>> {
        let mut conn = self.reader.acquire().await?;
        effective_profile(&mut conn, user_id).await
    }

    /// Whether the user is (still) in some group assigned to this profile: the re-check at
    /// the ACS, since membership may have changed since `/login`.
    pub async fn user_in_group_with_profile(
        &self,
        user_id: &str,
        profile_id: AuthProfileId,
    ) -> Result<bool> {
        let mut conn = self.reader.acquire().await?;
        in_group_with_profile(&mut conn, user_id, profile_id).await
    }

    /// Maps a verified assertion's identity (NameID, or the configured attribute's value)
    /// to an active user of this profile, by the profile's match attribute, ignoring case.
    /// Any group assigned to the profile admits the user, not only the one that makes it
    /// their effective profile, so an IdP-initiated sign-in through a second profile works.
    pub async fn match_assertion_user(
        &self,
        profile: &AuthProfile,
        asserted: &str,
    ) -> Result<Result<SignInUser, AssertionUserRefusal>> {
        if asserted.trim().is_empty() || asserted.chars().count() > MAX_IDENTIFIER_CHARS {
            return Ok(Err(AssertionUserRefusal::UnknownUser));
        }
        let mut conn = self.reader.acquire().await?;
        let user = match match_user(&mut conn, profile.settings.match_attribute, asserted).await? {
            UserMatch::Active(u) => u,
            UserMatch::Inactive(u) => return Ok(Err(AssertionUserRefusal::Inactive(u))),
            UserMatch::Ambiguous(n) => {
                return Ok(Err(AssertionUserRefusal::AmbiguousEmail { users: n }))
            }
            UserMatch::None => return Ok(Err(AssertionUserRefusal::UnknownUser)),
        };
        if !in_group_with_profile(&mut conn, &user.id, profile.id).await? {
            return Ok(Err(AssertionUserRefusal::NotInProfileGroup(user)));
        }
        Ok(Ok(user))
    }

    /// Stores an AuthnRequest about to be sent (valid for [`SAML_REQUEST_TTL`] from `now`)
    /// and records `sign_in.started` with it.
    pub async fn create_saml_request(
        &self,
        request: &NewSamlRequest,
        now: OffsetDateTime,
    ) -> Result<SamlRequest> {
        let id = request.id.trim();
        if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control()) {
            return Err(DomainError::Invalid(
                "An AuthnRequest id must be 1 to 256 printable characters.".into(),
            ));
        }
        if request.browser_nonce.len() < 16 {
            return Err(DomainError::Invalid(
                "The browser nonce must be a random value of at least 16 characters.".into(),
            ));
        }
        let relay_state = check_relay_state(&request.relay_state)?;
        let created = to_ms(now);
        let expires = to_ms(now + SAML_REQUEST_TTL);
        let mut tx = self.begin_write().await?;
        let (profile_name,): (String,) =
            sqlx::query_as("SELECT name FROM auth_profiles WHERE id = $1")
                .bind(request.profile_id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    DomainError::NotFound(format!(
                        "There is no authentication profile with id {}.",
                        request.profile_id
                    ))
                })?;
        let user_name = match &request.user_id {
            Some(user_id) => Some(
                sqlx::query_as::<_, (String,)>("SELECT user_name FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| {
                        DomainError::NotFound(format!("There is no user with id {user_id}."))
                    })?
                    .0,
            ),
            None => None,
        };
        sqlx::query(
            "INSERT INTO saml_requests (id, profile_id, browser_binding, relay_state, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(request.profile_id.to_string())
        .bind(secret::digest(&request.browser_nonce))
        .bind(&relay_state)
        .bind(&request.user_id)
        .bind(created)
        .bind(expires)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if super::is_unique_violation(&e) {
                DomainError::Conflict(format!("An AuthnRequest with id {id} already exists."))
            } else {
                e.into()
            }
        })?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::SignIn,
                action: SignInStep::Started.action(),
                outcome: Outcome::Success,
                actor: Actor::Anonymous,
                target: user_name.clone(),
                detail: Some(
                    json!({
                        "profile_id": request.profile_id.to_string(),
                        "profile": profile_name,
                        "user_id": request.user_id,
                        "request_id": id,
                        "client_ip": request.client_ip,
                    })
                    .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        // The real clock, not the caller's `now`: a `now` in the future must not hold the
        // purge back, nor one in the past make it delete too little.
        self.maybe_purge(OffsetDateTime::now_utc()).await;
        Ok(SamlRequest {
            id: id.to_string(),
            profile_id: request.profile_id,
            relay_state,
            user_id: request.user_id.clone(),
            created_at: from_ms(created),
            expires_at: from_ms(expires),
        })
    }

    /// Marks the AuthnRequest a response answers as used, once: of two concurrent
    /// attempts (on any replicas) exactly one gets the request back. A refusal says
    /// precisely why, for the event; the request stays usable if the refusal was about the
    /// profile or the browser, so a misdirected post cannot burn someone else's sign-in.
    pub async fn consume_saml_request(
        &self,
        request_id: &str,
        profile_id: AuthProfileId,
        browser_nonce: &str,
        now: OffsetDateTime,
    ) -> Result<Result<SamlRequest, RequestRejection>> {
        let now_ms = to_ms(now);
        let binding = secret::digest(browser_nonce);
        let row: Option<(String, Option<String>, i64, i64)> = sqlx::query_as(
            "UPDATE saml_requests SET consumed_at = $1 \
             WHERE id = $2 AND profile_id = $3 AND browser_binding = $4 \
             AND consumed_at IS NULL AND expires_at > $1 \
             RETURNING relay_state, user_id, created_at, expires_at",
        )
        .bind(now_ms)
        .bind(request_id)
        .bind(profile_id.to_string())
        .bind(&binding)
        .fetch_optional(&self.writer)
        .await?;
        if let Some((relay_state, user_id, created_at, expires_at)) = row {
            return Ok(Ok(SamlRequest {
                id: request_id.to_string(),
                profile_id,
                relay_state,
                user_id,
                created_at: from_ms(created_at),
                expires_at: from_ms(expires_at),
            }));
        }
        // Not consumed: read the row to say why.
        let row: Option<(String, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT profile_id, browser_binding, consumed_at, expires_at FROM saml_requests WHERE id = $1",
        )
        .bind(request_id)
        .fetch_optional(&self.writer)
        .await?;
        let Some((stored_profile, stored_binding, consumed_at, expires_at)) = row else {
            return Ok(Err(RequestRejection::Unknown));
        };
        Ok(Err(if stored_profile != profile_id.to_string() {
            RequestRejection::OtherProfile
        } else if !secret::matches(browser_nonce, &stored_binding) {
            RequestRejection::OtherBrowser
        } else if consumed_at.is_some() {
            RequestRejection::AlreadyUsed
        } else if expires_at <= now_ms {
            RequestRejection::Expired
        } else {
            // Only reachable if the row changed between the two statements.
            RequestRejection::AlreadyUsed
        }))
    }

    /// Remembers an accepted assertion id so it is accepted only once. The database's
    /// primary key decides, so this holds across connections and replicas. The row is kept
    /// until `expires_at` (the assertion's NotOnOrAfter) plus the largest clock skew any
    /// profile may allow, after which the assertion would be refused as expired anyway.
    pub async fn remember_assertion(
        &self,
        assertion_id: &str,
        profile_id: AuthProfileId,
        expires_at: OffsetDateTime,
    ) -> Result<Result<(), Replay>> {
        if assertion_id.is_empty() || assertion_id.len() > 512 {
            return Err(DomainError::Invalid(
                "An assertion id must be 1 to 512 characters.".into(),
            ));
        }
        let now = OffsetDateTime::now_utc();
        let keep_until = expires_at.max(now) + Duration::seconds(i64::from(MAX_CLOCK_SKEW_SECONDS));
        let inserted = sqlx::query(
            "INSERT INTO saml_assertions_seen (assertion_id, profile_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (assertion_id) DO NOTHING",
        )
        .bind(assertion_id)
        .bind(profile_id.to_string())
        .bind(to_ms(keep_until))
        .execute(&self.writer)
        .await
        .map_err(|e| {
            if super::auth_profiles::is_foreign_key_violation(&e) {
                DomainError::NotFound(format!(
                    "There is no authentication profile with id {profile_id}."
                ))
            } else {
                e.into()
            }
        })?;
        self.maybe_purge(now).await;
        Ok(if inserted.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Replay)
        })
    }

    /// Deletes what sign-in no longer needs: assertion ids and sessions past their expiry,
    /// and AuthnRequests an hour past theirs. Also run every minute or so by the sign-in
    /// functions themselves.
    pub async fn purge_expired_sign_in_state(
        &self,
        now: OffsetDateTime,
    ) -> Result<PurgedSignInState> {
        let now = to_ms(now);
        let mut tx = self.begin_write().await?;
        let requests = sqlx::query("DELETE FROM saml_requests WHERE expires_at < $1")
            .bind(now - EXPIRED_REQUEST_RETENTION_MS)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let assertions = sqlx::query("DELETE FROM saml_assertions_seen WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM end_user_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(PurgedSignInState {
            requests,
            assertions,
            sessions,
        })
    }

    async fn maybe_purge(&self, now: OffsetDateTime) {
        let now_ms = to_ms(now);
        let last = LAST_PURGE_MS.load(Ordering::Relaxed);
        if now_ms - last < PURGE_INTERVAL_MS
            || LAST_PURGE_MS
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = self.purge_expired_sign_in_state(now).await {
            tracing::warn!(error = %e, "could not purge expired sign-in state");
        }
    }

    /// Records a sign-in event (category SignIn, actor anonymous: the person is not
    /// signed in yet). Use it for failures; starts and successes are recorded by
    /// [`Store::create_saml_request`] and [`Store::start_end_user_session`].
    pub async fn record_sign_in_event(&self, event: SignInEvent) -> Result<EventId> {
        let detail = json!({
            "profile_id": event.profile.as_ref().map(|p| p.id.to_string()),
            "profile": event.profile.as_ref().map(|p| p.name.clone()),
            "user_id": event.user_id,
            "identifier": event.identifier.as_deref().map(|s| truncate(s, MAX_IDENTIFIER_CHARS)),
            "reason": event.reason,
            "message": event.message.as_deref().map(|s| truncate(s, 2000)),
            "reference_id": event.reference_id,
            "client_ip": event.client_ip,
        });
        let target = event.user_name.clone().or_else(|| {
            event
                .identifier
                .as_deref()
                .map(|s| truncate(s, MAX_IDENTIFIER_CHARS))
        });
        self.record_event(NewEvent {
            category: Category::SignIn,
            action: event.step.action(),
            outcome: if event.step == SignInStep::Failed {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            actor: Actor::Anonymous,
            target,
            detail: Some(detail.to_string()),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_state_must_stay_on_this_site() {
        assert_eq!(check_relay_state("").unwrap(), "/");
        assert_eq!(check_relay_state("/portal?x=1").unwrap(), "/portal?x=1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil.example",
            "javascript:alert(1)",
            "/a b",
            "/a\nLocation: x",
        ] {
            assert!(check_relay_state(bad).is_err(), "{bad:?} accepted");
        }
    }
}
