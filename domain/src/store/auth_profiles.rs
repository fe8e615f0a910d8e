//! SAML authentication profiles and their assignment to user groups.
//!
//! Every change and its event commit in one transaction. A profile's SP private key is
//! stored sealed (see [`crate::sealed`]); the functions that need it take the [`Sealer`] as
//! an argument, so the store itself never holds the operator's key.
//!
//! Priority rule: when a user's groups map to several profiles, the one with the lowest
//! `priority` wins. Priorities are unique; a new profile goes last (max + 1), and
//! [`Store::move_auth_profile`] reorders them.

use super::{events, from_ms, is_unique_violation, now_ms, to_ms, Store};
use crate::auth_profile::{
    check_profile_description, check_profile_name, AuthProfile, AuthProfileEdit, AuthProfileId,
    AuthProfileKind, AuthProfileRef, AuthProfileSettings, GroupRef, IdpCertificate, IdpSettings,
    MatchAttribute, OnProfileGroups,
};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::sealed::Sealer;
use crate::{DomainError, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::pkey::PKey;
use openssl::x509::{X509Ref, X509};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use time::OffsetDateTime;

/// How often creating a profile is retried when a concurrent create took the same priority.
const MAX_ATTEMPTS: usize = 10;

/// Upper bound on stored IdP metadata. The metadata parser has its own, smaller limit; this
/// one only keeps an oversized value out of the database whatever the caller did.
const MAX_STORED_METADATA_BYTES: usize = 4 << 20;

/// Booleans are read as 0/1 through `CASE`: sqlx's Any driver cannot decode SQLite's
/// BOOLEAN columns, and the integer form reads the same on both databases.
const PROFILE_COLUMNS: &str = "id, name, description, kind, priority, sp_certificate_der, \
     sp_certificate_not_after, idp_entity_id, idp_sso_url, idp_sso_post_url, idp_certificates, \
     idp_metadata_url, idp_metadata_fetched_at, match_attribute, match_saml_attribute, \
     clock_skew_seconds, CASE WHEN sign_authn_requests THEN 1 ELSE 0 END AS sign_authn_requests, \
     CASE WHEN allow_idp_initiated THEN 1 ELSE 0 END AS allow_idp_initiated, created_at, updated_at, version";

/// A newly generated SP key pair: the PKCS#8 private key (DER) and its self-signed
/// certificate (DER). `Debug` never shows the private key.
#[derive(Clone)]
pub struct SpKeyMaterial {
    pub private_key_der: Vec<u8>,
    pub certificate_der: Vec<u8>,
}

impl fmt::Debug for SpKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpKeyMaterial")
            .field("private_key_der", &"[redacted]")
            .field(
                "certificate_der",
                &format!("{} bytes", self.certificate_der.len()),
            )
            .finish()
    }
}

/// What a new profile starts with. The IdP part comes later, by importing its metadata.
#[derive(Clone, Debug)]
pub struct NewAuthProfile {
    pub name: String,
    pub description: String,
    pub sp_key: SpKeyMaterial,
}

/// What was extracted from an IdP's metadata (by `saml::parse_idp_metadata`) and is to be
/// saved into a profile.
#[derive(Clone, Debug)]
pub struct ImportedIdpMetadata {
    pub entity_id: String,
    pub sso_url: Option<String>,
    pub sso_post_url: Option<String>,
    pub certificates: Vec<IdpCertificate>,
    /// The metadata as received, kept so an admin can see exactly what was imported.
    pub metadata_xml: String,
    /// Where it was fetched from (`None` for an upload or pasted XML); a URL can be
    /// refreshed later.
    pub metadata_url: Option<String>,
}

/// What deleting a profile did to the things that used it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedAuthProfile {
    pub profile: AuthProfileRef,
    /// The groups that used the profile.
    pub groups: Vec<GroupRef>,
    /// Where they went (`None`: left without a profile, or there were none).
    pub reassigned_to: Option<AuthProfileRef>,
    /// End-user sessions started through the profile, ended with it.
    pub sessions_ended: u64,
}

/// A group's profile before and after an assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupProfileChange {
    pub group: GroupRef,
    pub before: Option<AuthProfileRef>,
    pub after: Option<AuthProfileRef>,
}

/// A certificate as the `idp_certificates` JSON column holds it.
#[derive(Serialize, Deserialize)]
struct StoredCertificate {
    der_base64: String,
    subject: String,
    sha256_fingerprint: String,
    not_after_ms: i64,
}

impl From<&IdpCertificate> for StoredCertificate {
    fn from(c: &IdpCertificate) -> Self {
        StoredCertificate {
            der_base64: c.der_base64.clone(),
            subject: c.subject.clone(),
            sha256_fingerprint: c.sha256_fingerprint.clone(),
            not_after_ms: to_ms(c.not_after),
        }
    }
}

impl From<StoredCertificate> for IdpCertificate {
    fn from(c: StoredCertificate) -> Self {
        IdpCertificate {
            der_base64: c.der_base64,
            subject: c.subject,
            sha256_fingerprint: c.sha256_fingerprint,
            not_after: from_ms(c.not_after_ms),
        }
    }
}

impl IdpCertificate {
    /// The certificate's DER bytes, for signature verification.
    pub fn der(&self) -> Result<Vec<u8>> {
        STANDARD.decode(&self.der_base64).map_err(|e| {
            DomainError::Database(format!(
                "stored IdP certificate {} is not base64: {e}",
                self.sha256_fingerprint
            ))
        })
    }

    /// Describes a certificate from its DER: what the store keeps and the console shows.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = X509::from_der(der).map_err(|_| {
            DomainError::Invalid("The certificate is not a valid X.509 certificate.".into())
        })?;
        Ok(IdpCertificate {
            der_base64: STANDARD.encode(der),
            subject: subject_of(&cert),
            sha256_fingerprint: sha256_fingerprint(der),
            not_after: not_after_of(&cert)?,
        })
    }
}

impl AuthProfile {
    /// The SP certificate's DER bytes, for the SP metadata and AuthnRequests.
    pub fn sp_certificate_der(&self) -> Result<Vec<u8>> {
        STANDARD
            .decode(&self.sp_certificate_der_base64)
            .map_err(|e| {
                DomainError::Database(format!(
                    "stored SP certificate of profile {} is not base64: {e}",
                    self.id
                ))
            })
    }

    /// The DER of every IdP certificate a response may be signed with (empty until metadata
    /// is imported, and the verifier must then refuse everything).
    pub fn idp_certificates_der(&self) -> Result<Vec<Vec<u8>>> {
        self.idp
            .iter()
            .flat_map(|idp| idp.certificates.iter())
            .map(IdpCertificate::der)
            .collect()
    }
}

/// SHA-256 of a certificate's DER as upper-case hex pairs joined by colons, as IdP consoles
/// show fingerprints.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn normalize_fingerprint(fp: &str) -> String {
    fp.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn subject_of(cert: &X509Ref) -> String {
    cert.subject_name()
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_after_of(cert: &X509Ref) -> Result<OffsetDateTime> {
    let epoch = Asn1Time::from_unix(0)
        .map_err(|e| DomainError::Invalid(format!("cannot read certificate times: {e}")))?;
    let diff = epoch.diff(cert.not_after()).map_err(|_| {
        DomainError::Invalid("The certificate's expiry date cannot be read.".into())
    })?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    Ok(from_ms(secs * 1000))
}

/// Checks an SP key pair: the key is PKCS#8, the certificate X.509, and they belong
/// together. Returns the certificate's expiry and fingerprint.
fn check_sp_key(key: &SpKeyMaterial) -> Result<(OffsetDateTime, String)> {
    let cert = X509::from_der(&key.certificate_der).map_err(|_| {
        DomainError::Invalid("The SP certificate is not a valid X.509 certificate.".into())
    })?;
    let private = PKey::private_key_from_pkcs8(&key.private_key_der).map_err(|_| {
        DomainError::Invalid("The SP private key is not a valid PKCS#8 key.".into())
    })?;
    let public = cert.public_key().map_err(|_| {
        DomainError::Invalid("The SP certificate's public key cannot be read.".into())
    })?;
    if !public.public_eq(&private) {
        return Err(DomainError::Invalid(
            "The SP certificate does not belong to the SP private key.".into(),
        ));
    }
    Ok((
        not_after_of(&cert)?,
        sha256_fingerprint(&key.certificate_der),
    ))
}

/// Checks a URL from IdP metadata: http(s), no whitespace or control characters.
fn check_url(what: &str, url: &str) -> Result<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let has_host = |rest: &str| !rest.is_empty() && !rest.starts_with('/');
    let ok = match lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        Some(rest) => has_host(rest),
        None => false,
    };
    if !ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.len() > 2048 {
        return Err(DomainError::Invalid(format!(
            "The {what} \"{url}\" is not an http(s) URL."
        )));
    }
    Ok(url.to_string())
}

/// Checks certificates handed in from metadata: each decodes, its fingerprint is its own,
/// and its expiry is read from the certificate itself. Duplicates are dropped.
fn check_idp_certificates(certs: &[IdpCertificate]) -> Result<Vec<IdpCertificate>> {
    if certs.is_empty() {
        return Err(DomainError::Invalid(
            "The IdP metadata has no signing certificate, so no response could be verified; \
             it cannot be used."
                .into(),
        ));
    }
    let mut out: Vec<IdpCertificate> = Vec::new();
    for (i, c) in certs.iter().enumerate() {
        let der = STANDARD.decode(c.der_base64.trim()).map_err(|_| {
            DomainError::Invalid(format!("IdP certificate {} is not valid base64.", i + 1))
        })?;
        let mut checked = IdpCertificate::from_der(&der).map_err(|_| {
            DomainError::Invalid(format!(
                "IdP certificate {} is not a valid X.509 certificate.",
                i + 1
            ))
        })?;
        if normalize_fingerprint(&c.sha256_fingerprint)
            != normalize_fingerprint(&checked.sha256_fingerprint)
        {
            return Err(DomainError::Invalid(format!(
                "IdP certificate {}'s SHA-256 fingerprint ({}) is not that of the certificate ({}).",
                i + 1,
                c.sha256_fingerprint,
                checked.sha256_fingerprint
            )));
        }
        if !c.subject.trim().is_empty() {
            checked.subject = c.subject.trim().to_string();
        }
        if !out
            .iter()
            .any(|o| o.sha256_fingerprint == checked.sha256_fingerprint)
        {
            out.push(checked);
        }
    }
    Ok(out)
}

fn bad_row(what: &str, e: impl fmt::Display) -> DomainError {
    DomainError::Database(format!("bad {what} in auth_profiles: {e}"))
}

pub(crate) fn parse_profile_id(id: &str) -> Result<AuthProfileId> {
    id.parse().map_err(|e| bad_row("profile id", e))
}

fn profile_from_row(row: &AnyRow) -> Result<AuthProfile> {
    let id: String = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let match_attribute: String = row.try_get("match_attribute")?;
    let certificates: String = row.try_get("idp_certificates")?;
    let certificates: Vec<StoredCertificate> =
        serde_json::from_str(&certificates).map_err(|e| bad_row("idp_certificates", e))?;
    let entity_id: Option<String> = row.try_get("idp_entity_id")?;
    let skew: i32 = row.try_get("clock_skew_seconds")?;
    Ok(AuthProfile {
        id: parse_profile_id(&id)?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        kind: AuthProfileKind::parse(&kind).ok_or_else(|| bad_row("kind", &kind))?,
        priority: row.try_get("priority")?,
        sp_certificate_der_base64: row.try_get("sp_certificate_der")?,
        sp_certificate_not_after: from_ms(row.try_get("sp_certificate_not_after")?),
        idp: match entity_id {
            None => None,
            Some(entity_id) => Some(IdpSettings {
                entity_id,
                sso_url: row.try_get("idp_sso_url")?,
                sso_post_url: row.try_get("idp_sso_post_url")?,
                certificates: certificates.into_iter().map(Into::into).collect(),
                metadata_url: row.try_get("idp_metadata_url")?,
                metadata_fetched_at: row
                    .try_get::<Option<i64>, _>("idp_metadata_fetched_at")?
                    .map(from_ms),
            }),
        },
        settings: AuthProfileSettings {
            match_attribute: MatchAttribute::parse(&match_attribute)
                .ok_or_else(|| bad_row("match_attribute", &match_attribute))?,
            match_saml_attribute: row.try_get("match_saml_attribute")?,
            clock_skew_seconds: u32::try_from(skew).map_err(|e| bad_row("clock skew", e))?,
            sign_authn_requests: row.try_get::<i64, _>("sign_authn_requests")? != 0,
            allow_idp_initiated: row.try_get::<i64, _>("allow_idp_initiated")? != 0,
        },
        groups: Vec::new(),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
        version: row.try_get("version")?,
    })
}

/// Whether a database error is a foreign-key violation, the same on both databases.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_foreign_key_violation()
                || db.code().as_deref() == Some("23503")
                || db.message().contains("FOREIGN KEY constraint failed")
        }
        _ => false,
    }
}

fn profile_not_found(id: AuthProfileId) -> DomainError {
    DomainError::NotFound(format!("There is no authentication profile with id {id}."))
}

fn name_taken(name: &str) -> DomainError {
    DomainError::Conflict(format!(
        "An authentication profile named \"{name}\" already exists (names are unique, ignoring case)."
    ))
}

/// Loads one profile, without its groups.
pub(crate) async fn load_profile(
    conn: &mut AnyConnection,
    id: AuthProfileId,
) -> Result<Option<AuthProfile>> {
    let row = sqlx::query(&format!(
        "SELECT {PROFILE_COLUMNS} FROM auth_profiles WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(profile_from_row).transpose()
}

pub(crate) async fn load_profile_ref(
    conn: &mut AnyConnection,
    id: AuthProfileId,
) -> Result<Option<AuthProfileRef>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM auth_profiles WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(name,)| AuthProfileRef { id, name }))
}

/// Groups that use a profile, by name.
async fn groups_of_profile(conn: &mut AnyConnection, id: AuthProfileId) -> Result<Vec<GroupRef>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, display_name FROM user_groups WHERE auth_profile_id = $1 ORDER BY display_name_key, id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, display_name)| GroupRef { id, display_name })
        .collect())
}

async fn load_group(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(GroupRef, Option<String>)>> {
    let row: Option<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, display_name, auth_profile_id FROM user_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(id, display_name, profile)| (GroupRef { id, display_name }, profile)))
}

fn group_event(
    group: &GroupRef,
    before: Option<&AuthProfileRef>,
    after: Option<&AuthProfileRef>,
    actor: Actor,
    reason: Option<&str>,
) -> NewEvent {
    let mut detail = json!({
        "group_id": group.id,
        "previous_profile_id": before.map(|p| p.id.to_string()),
        "previous_profile": before.map(|p| p.name.clone()),
    });
    let action = match after {
        Some(p) => {
            detail["profile_id"] = json!(p.id.to_string());
            detail["profile"] = json!(p.name);
            "group.profile_assigned"
        }
        None => "group.profile_removed",
    };
    if let Some(reason) = reason {
        detail["reason"] = json!(reason);
    }
    NewEvent {
        category: Category::Configuration,
        action,
        outcome: Outcome::Success,
        actor,
        target: Some(group.display_name.clone()),
        detail: Some(detail.to_string()),
    }
}

fn change(before: impl Serialize, after: impl Serialize) -> Value {
    json!({"before": before, "after": after})
}

impl Store {
    /// Creates a profile with its own SP key pair, sealed before it is stored. It goes last
    /// in priority order.
    pub async fn create_auth_profile(
        &self,
        sealer: &Sealer,
        new: NewAuthProfile,
        actor: Actor,
    ) -> Result<AuthProfile> {
        let name = check_profile_name(&new.name).map_err(DomainError::Invalid)?;
        let description =
            check_profile_description(&new.description).map_err(DomainError::Invalid)?;
        let (not_after, fingerprint) = check_sp_key(&new.sp_key)?;
        let sealed_key = sealer.seal(&new.sp_key.private_key_der);
        let cert_b64 = STANDARD.encode(&new.sp_key.certificate_der);
        let id = AuthProfileId::new();
        for _ in 0..MAX_ATTEMPTS {
            let mut tx = self.begin_write().await?;
            let taken: Option<(String,)> =
                sqlx::query_as("SELECT id FROM auth_profiles WHERE name_key = $1")
                    .bind(name.to_lowercase())
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(name_taken(&name));
            }
            let (priority,): (i32,) =
                sqlx::query_as("SELECT COALESCE(MAX(priority), 0) + 1 FROM auth_profiles")
                    .fetch_one(&mut *tx)
                    .await?;
            let now = now_ms();
            let inserted = sqlx::query(
                "INSERT INTO auth_profiles (id, name, name_key, description, kind, priority, \
                 sp_private_key_sealed, sp_certificate_der, sp_certificate_not_after, \
                 created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)",
            )
            .bind(id.to_string())
            .bind(&name)
            .bind(name.to_lowercase())
            .bind(&description)
            .bind(AuthProfileKind::Saml.as_str())
            .bind(priority)
            .bind(&sealed_key)
            .bind(&cert_b64)
            .bind(to_ms(not_after))
            .bind(now)
            .execute(&mut *tx)
            .await;
            match inserted {
                // A concurrent create took this name or this priority; the next attempt
                // tells which.
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            events::append(
                &mut tx,
                NewEvent {
                    category: Category::Configuration,
                    action: "auth_profile.created",
                    outcome: Outcome::Success,
                    actor,
                    target: Some(name.clone()),
                    detail: Some(
                        json!({
                            "profile_id": id.to_string(),
                            "kind": "saml",
                            "priority": priority,
                            "sp_certificate_sha256": fingerprint,
                            "sp_certificate_not_after": to_ms(not_after),
                        })
                        .to_string(),
                    ),
                },
            )
            .await?;
            tx.commit().await?;
            return self.get_auth_profile(id).await;
        }
        Err(DomainError::Conflict(
            "Profiles were created concurrently too often; try again.".into(),
        ))
    }

    /// One profile with the groups that use it.
    pub async fn get_auth_profile(&self, id: AuthProfileId) -> Result<AuthProfile> {
        let mut conn = self.reader.acquire().await?;
        let mut profile = load_profile(&mut conn, id)
            .await?
            .ok_or_else(|| profile_not_found(id))?;
        profile.groups = groups_of_profile(&mut conn, id).await?;
        Ok(profile)
    }

    /// Finds a profile by id or, failing that, by name (ignoring case), as the command line
    /// accepts either.
    pub async fn resolve_auth_profile(&self, id_or_name: &str) -> Result<AuthProfile> {
        let id_or_name = id_or_name.trim();
        if let Ok(id) = id_or_name.parse::<AuthProfileId>() {
            if let Ok(p) = self.get_auth_profile(id).await {
                return Ok(p);
            }
        }
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM auth_profiles WHERE name_key = $1")
                .bind(id_or_name.to_lowercase())
                .fetch_optional(&self.reader)
                .await?;
        match row {
            Some((id,)) => self.get_auth_profile(parse_profile_id(&id)?).await,
            None => Err(DomainError::NotFound(format!(
                "There is no authentication profile with the id or name \"{id_or_name}\"."
            ))),
        }
    }

    /// Every profile in priority order (the order that decides a user's profile), each with
    /// the groups that use it.
    pub async fn list_auth_profiles(&self) -> Result<Vec<AuthProfile>> {
        let mut conn = self.reader.acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT {PROFILE_COLUMNS} FROM auth_profiles ORDER BY priority, id"
        ))
        .fetch_all(&mut *conn)
        .await?;
        let mut profiles: Vec<AuthProfile> =
            rows.iter().map(profile_from_row).collect::<Result<_>>()?;
        let groups: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, display_name, auth_profile_id FROM user_groups \
             WHERE auth_profile_id IS NOT NULL ORDER BY display_name_key, id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut by_profile: HashMap<String, Vec<GroupRef>> = HashMap::new();
        for (id, display_name, profile) in groups {
            by_profile
                .entry(profile)
                .or_default()
                .push(GroupRef { id, display_name });
        }
        for p in &mut profiles {
            p.groups = by_profile.remove(&p.id.to_string()).unwrap_or_default();
        }
        Ok(profiles)
    }

    /// The IdP metadata XML as it was imported (`None` before the first import).
    pub async fn idp_metadata_xml(&self, id: AuthProfileId) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT idp_metadata_xml FROM auth_profiles WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.reader)
                .await?;
        row.map(|(xml,)| xml).ok_or_else(|| profile_not_found(id))
    }

    /// The SP private key (PKCS#8 DER), unsealed, for signing AuthnRequests. Call it only
    /// when a signature is needed, and do not keep or log the result.
    pub async fn sp_private_key_der(&self, id: AuthProfileId, sealer: &Sealer) -> Result<Vec<u8>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT sp_private_key_sealed FROM auth_profiles WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.reader)
                .await?;
        let (sealed,) = row.ok_or_else(|| profile_not_found(id))?;
        sealer.open(&sealed)
    }

    /// Changes a profile's name, description and settings. `expected_version` (from the
    /// form the admin edited) refuses an edit made on stale data instead of silently
    /// overwriting someone else's change. The event lists each changed field before → after.
    pub async fn update_auth_profile(
        &self,
        id: AuthProfileId,
        edit: AuthProfileEdit,
        expected_version: Option<i64>,
        actor: Actor,
    ) -> Result<AuthProfile> {
        let name = check_profile_name(&edit.name).map_err(DomainError::Invalid)?;
        let description =
            check_profile_description(&edit.description).map_err(DomainError::Invalid)?;
        let settings = edit.settings.validate().map_err(DomainError::Invalid)?;
        let mut tx = self.begin_write().await?;
        let current = load_profile(&mut tx, id)
            .await?
            .ok_or_else(|| profile_not_found(id))?;
        if let Some(expected) = expected_version {
            if expected != current.version {
                return Err(DomainError::Conflict(format!(
                    "The profile \"{}\" was changed by someone else since it was opened (version {expected}, now {}). Reload it and make the change again.",
                    current.name, current.version
                )));
            }
        }
        let mut changed = BTreeMap::new();
        if name != current.name {
            changed.insert("name", change(&current.name, &name));
        }
        if description != current.description {
            changed.insert("description", change(&current.description, &description));
        }
        let (b, a) = (&current.settings, &settings);
        if b.match_attribute != a.match_attribute {
            changed.insert(
                "match_attribute",
                change(b.match_attribute.as_str(), a.match_attribute.as_str()),
            );
        }
        if b.match_saml_attribute != a.match_saml_attribute {
            changed.insert(
                "match_saml_attribute",
                change(&b.match_saml_attribute, &a.match_saml_attribute),
            );
        }
        if b.clock_skew_seconds != a.clock_skew_seconds {
            changed.insert(
                "clock_skew_seconds",
                change(b.clock_skew_seconds, a.clock_skew_seconds),
            );
        }
        if b.sign_authn_requests != a.sign_authn_requests {
            changed.insert(
                "sign_authn_requests",
                change(b.sign_authn_requests, a.sign_authn_requests),
            );
        }
        if b.allow_idp_initiated != a.allow_idp_initiated {
            changed.insert(
                "allow_idp_initiated",
                change(b.allow_idp_initiated, a.allow_idp_initiated),
            );
        }
        if changed.is_empty() {
            tx.commit().await?;
            return self.get_auth_profile(id).await;
        }
        let updated = sqlx::query(
            "UPDATE auth_profiles SET name = $1, name_key = $2, description = $3, match_attribute = $4, \
             match_saml_attribute = $5, clock_skew_seconds = $6, sign_authn_requests = $7, \
             allow_idp_initiated = $8, updated_at = $9, version = version + 1 \
             WHERE id = $10 AND version = $11",
        )
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(&description)
        .bind(settings.match_attribute.as_str())
        .bind(&settings.match_saml_attribute)
        .bind(settings.clock_skew_seconds as i32)
        .bind(settings.sign_authn_requests)
        .bind(settings.allow_idp_initiated)
        .bind(now_ms())
        .bind(id.to_string())
        .bind(current.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(&name)
            } else {
                e.into()
            }
        })?;
        if updated.rows_affected() != 1 {
            return Err(DomainError::Conflict(format!(
                "The profile \"{}\" was changed by someone else at the same time. Reload it and make the change again.",
                current.name
            )));
        }
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Configuration,
                action: "auth_profile.updated",
                outcome: Outcome::Success,
                actor,
                target: Some(name.clone()),
                detail: Some(json!({"profile_id": id.to_string(), "changed": changed}).to_string()),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_auth_profile(id).await
    }

    /// Saves what was read from the IdP's metadata. Refuses metadata without a certificate
    /// (no response could ever be verified) or without an SSO URL. The event says what
    /// changed: entity ID, URLs, and which certificate fingerprints were added or removed.
    /// Fetching the same metadata URL again is recorded as `auth_profile.metadata_refreshed`.
    pub async fn import_idp_metadata(
        &self,
        id: AuthProfileId,
        metadata: ImportedIdpMetadata,
        actor: Actor,
    ) -> Result<AuthProfile> {
        let entity_id = metadata.entity_id.trim().to_string();
        if entity_id.is_empty() || entity_id.len() > 1024 || entity_id.chars().any(char::is_control)
        {
            return Err(DomainError::Invalid(
                "The IdP metadata has no usable entity ID.".into(),
            ));
        }
        let sso_url = metadata
            .sso_url
            .as_deref()
            .map(|u| check_url("SSO URL (HTTP-Redirect)", u))
            .transpose()?;
        let sso_post_url = metadata
            .sso_post_url
            .as_deref()
            .map(|u| check_url("SSO URL (HTTP-POST)", u))
            .transpose()?;
        if sso_url.is_none() && sso_post_url.is_none() {
            return Err(DomainError::Invalid(
                "The IdP metadata has no single sign-on URL to send users to.".into(),
            ));
        }
        let metadata_url = metadata
            .metadata_url
            .as_deref()
            .map(|u| check_url("metadata URL", u))
            .transpose()?;
        let certificates = check_idp_certificates(&metadata.certificates)?;
        if metadata.metadata_xml.trim().is_empty() {
            return Err(DomainError::Invalid("The IdP metadata is empty.".into()));
        }
        if metadata.metadata_xml.len() > MAX_STORED_METADATA_BYTES {
            return Err(DomainError::Invalid(format!(
                "The IdP metadata is larger than {} MiB.",
                MAX_STORED_METADATA_BYTES >> 20
            )));
        }
        let stored_certs: Vec<StoredCertificate> =
            certificates.iter().map(StoredCertificate::from).collect();
        let certs_json = serde_json::to_string(&stored_certs)
            .map_err(|e| DomainError::Database(format!("cannot encode certificates: {e}")))?;

        let mut tx = self.begin_write().await?;
        let current = load_profile(&mut tx, id)
            .await?
            .ok_or_else(|| profile_not_found(id))?;
        let before = current.idp.as_ref();
        let refresh = metadata_url.is_some()
            && before.and_then(|b| b.metadata_url.as_ref()) == metadata_url.as_ref();

        let mut detail = json!({
            "profile_id": id.to_string(),
            "source": if metadata_url.is_some() { "url" } else { "upload" },
            "metadata_url": metadata_url,
        });
        let mut changes = serde_json::Map::new();
        let mut diff = |key: &str, old: Option<&String>, new: Option<&String>| {
            if old != new {
                changes.insert(key.to_string(), change(old, new));
            }
        };
        diff("entity_id", before.map(|b| &b.entity_id), Some(&entity_id));
        diff(
            "sso_url",
            before.and_then(|b| b.sso_url.as_ref()),
            sso_url.as_ref(),
        );
        diff(
            "sso_post_url",
            before.and_then(|b| b.sso_post_url.as_ref()),
            sso_post_url.as_ref(),
        );
        diff(
            "metadata_url",
            before.and_then(|b| b.metadata_url.as_ref()),
            metadata_url.as_ref(),
        );
        let old_certs: &[IdpCertificate] = before.map(|b| b.certificates.as_slice()).unwrap_or(&[]);
        let describe = |c: &IdpCertificate| {
            json!({
                "sha256_fingerprint": c.sha256_fingerprint,
                "subject": c.subject,
                "not_after": to_ms(c.not_after),
            })
        };
        let added: Vec<Value> = certificates
            .iter()
            .filter(|c| {
                !old_certs
                    .iter()
                    .any(|o| o.sha256_fingerprint == c.sha256_fingerprint)
            })
            .map(describe)
            .collect();
        let removed: Vec<Value> = old_certs
            .iter()
            .filter(|o| {
                !certificates
                    .iter()
                    .any(|c| c.sha256_fingerprint == o.sha256_fingerprint)
            })
            .map(describe)
            .collect();
        let kept: Vec<&str> = certificates
            .iter()
            .filter(|c| {
                old_certs
                    .iter()
                    .any(|o| o.sha256_fingerprint == c.sha256_fingerprint)
            })
            .map(|c| c.sha256_fingerprint.as_str())
            .collect();
        let any_change = !changes.is_empty() || !added.is_empty() || !removed.is_empty();
        detail["changes"] = Value::Object(changes);
        detail["certificates_added"] = json!(added);
        detail["certificates_removed"] = json!(removed);
        detail["certificates_kept"] = json!(kept);
        detail["changed"] = json!(any_change);

        let now = now_ms();
        sqlx::query(
            "UPDATE auth_profiles SET idp_entity_id = $1, idp_sso_url = $2, idp_sso_post_url = $3, \
             idp_certificates = $4, idp_metadata_xml = $5, idp_metadata_url = $6, \
             idp_metadata_fetched_at = $7, updated_at = $7, version = version + 1 WHERE id = $8",
        )
        .bind(&entity_id)
        .bind(&sso_url)
        .bind(&sso_post_url)
        .bind(&certs_json)
        .bind(&metadata.metadata_xml)
        .bind(&metadata_url)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Configuration,
                action: if refresh {
                    "auth_profile.metadata_refreshed"
                } else {
                    "auth_profile.metadata_imported"
                },
                outcome: Outcome::Success,
                actor,
                target: Some(current.name.clone()),
                detail: Some(detail.to_string()),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_auth_profile(id).await
    }

    /// Replaces a profile's SP key pair and certificate (on demand, or before the old one
    /// expires). The IdP must be given the new certificate if it checks AuthnRequest
    /// signatures; the event names both fingerprints so the admin can tell which is where.
    pub async fn rotate_sp_certificate(
        &self,
        id: AuthProfileId,
        sealer: &Sealer,
        sp_key: SpKeyMaterial,
        actor: Actor,
    ) -> Result<AuthProfile> {
        let (not_after, fingerprint) = check_sp_key(&sp_key)?;
        let sealed_key = sealer.seal(&sp_key.private_key_der);
        let mut tx = self.begin_write().await?;
        let current = load_profile(&mut tx, id)
            .await?
            .ok_or_else(|| profile_not_found(id))?;
        let old_fingerprint = current
            .sp_certificate_der()
            .map(|der| sha256_fingerprint(&der))?;
        sqlx::query(
            "UPDATE auth_profiles SET sp_private_key_sealed = $1, sp_certificate_der = $2, \
             sp_certificate_not_after = $3, updated_at = $4, version = version + 1 WHERE id = $5",
        )
        .bind(&sealed_key)
        .bind(STANDARD.encode(&sp_key.certificate_der))
        .bind(to_ms(not_after))
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Configuration,
                action: "auth_profile.certificate_rotated",
                outcome: Outcome::Success,
                actor,
                target: Some(current.name.clone()),
                detail: Some(
                    json!({
                        "profile_id": id.to_string(),
                        "previous_sha256": old_fingerprint,
                        "previous_not_after": to_ms(current.sp_certificate_not_after),
                        "sha256": fingerprint,
                        "not_after": to_ms(not_after),
                    })
                    .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_auth_profile(id).await
    }

    /// Deletes a profile. If groups use it, the caller must say what happens to them
    /// (`on_groups`); without a choice the delete is refused with the number of groups, so
    /// no group is ever left pointing at a profile that no longer exists. End-user sessions
    /// started through the profile end with it: the IdP it trusted is gone.
    pub async fn delete_auth_profile(
        &self,
        id: AuthProfileId,
        on_groups: Option<OnProfileGroups>,
        actor: Actor,
    ) -> Result<DeletedAuthProfile> {
        let mut tx = self.begin_write().await?;
        let profile = load_profile_ref(&mut tx, id)
            .await?
            .ok_or_else(|| profile_not_found(id))?;
        let groups = groups_of_profile(&mut tx, id).await?;
        let mut reassigned_to = None;
        if !groups.is_empty() {
            match on_groups {
                None => {
                    let mut names: Vec<&str> = groups
                        .iter()
                        .take(5)
                        .map(|g| g.display_name.as_str())
                        .collect();
                    if groups.len() > 5 {
                        names.push("…");
                    }
                    return Err(DomainError::Conflict(format!(
                        "{} group{} use{} the profile \"{}\" ({}). Choose whether to move {} to another profile or to leave {} without one.",
                        groups.len(),
                        if groups.len() == 1 { "" } else { "s" },
                        if groups.len() == 1 { "s" } else { "" },
                        profile.name,
                        names.join(", "),
                        if groups.len() == 1 { "it" } else { "them" },
                        if groups.len() == 1 { "it" } else { "them" },
                    )));
                }
                Some(OnProfileGroups::ReassignTo(other)) => {
                    if other == id {
                        return Err(DomainError::Invalid(
                            "The groups cannot be moved to the profile that is being deleted."
                                .into(),
                        ));
                    }
                    let target = load_profile_ref(&mut tx, other).await?.ok_or_else(|| {
                        DomainError::NotFound(format!(
                            "The profile to move the groups to (id {other}) does not exist."
                        ))
                    })?;
                    sqlx::query(
                        "UPDATE user_groups SET auth_profile_id = $1 WHERE auth_profile_id = $2",
                    )
                    .bind(other.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                    for g in &groups {
                        events::append(
                            &mut tx,
                            group_event(
                                g,
                                Some(&profile),
                                Some(&target),
                                actor.clone(),
                                Some("profile deleted"),
                            ),
                        )
                        .await?;
                    }
                    reassigned_to = Some(target);
                }
                Some(OnProfileGroups::Unassign) => {
                    sqlx::query(
                        "UPDATE user_groups SET auth_profile_id = NULL WHERE auth_profile_id = $1",
                    )
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                    for g in &groups {
                        events::append(
                            &mut tx,
                            group_event(
                                g,
                                Some(&profile),
                                None,
                                actor.clone(),
                                Some("profile deleted"),
                            ),
                        )
                        .await?;
                    }
                }
            }
        }
        let sessions_ended = sqlx::query("DELETE FROM end_user_sessions WHERE profile_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["saml_requests", "saml_assertions_seen"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE profile_id = $1"))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM auth_profiles WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    DomainError::Conflict(
                        "A group was assigned to this profile while it was being deleted; try again."
                            .into(),
                    )
                } else {
                    e.into()
                }
            })?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Configuration,
                action: "auth_profile.deleted",
                outcome: Outcome::Success,
                actor,
                target: Some(profile.name.clone()),
                detail: Some(
                    json!({
                        "profile_id": id.to_string(),
                        "groups": groups.len(),
                        "on_groups": match (groups.is_empty(), on_groups) {
                            (true, _) | (false, None) => "none",
                            (false, Some(OnProfileGroups::ReassignTo(_))) => "reassigned",
                            (false, Some(OnProfileGroups::Unassign)) => "unassigned",
                        },
                        "reassigned_to": reassigned_to.as_ref().map(|p| p.id.to_string()),
                        "sessions_ended": sessions_ended,
                    })
                    .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(DeletedAuthProfile {
            profile,
            groups,
            reassigned_to,
            sessions_ended,
        })
    }

    /// Moves a profile to `position` (1 = first, the highest priority) in the order that
    /// decides a user's profile, and renumbers all profiles 1..=n.
    pub async fn move_auth_profile(
        &self,
        id: AuthProfileId,
        position: u32,
        actor: Actor,
    ) -> Result<Vec<AuthProfileRef>> {
        let mut tx = self.begin_write().await?;
        let rows: Vec<(String, String, i32)> =
            sqlx::query_as("SELECT id, name, priority FROM auth_profiles ORDER BY priority, id")
                .fetch_all(&mut *tx)
                .await?;
        let mut order: Vec<AuthProfileRef> = rows
            .iter()
            .map(|(id, name, _)| {
                Ok(AuthProfileRef {
                    id: parse_profile_id(id)?,
                    name: name.clone(),
                })
            })
            .collect::<Result<_>>()?;
        let from = order
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| profile_not_found(id))?;
        if position == 0 || position as usize > order.len() {
            return Err(DomainError::Invalid(format!(
                "The position must be between 1 and {}; {position} is outside.",
                order.len()
            )));
        }
        let moved = order.remove(from);
        order.insert(position as usize - 1, moved);
        let already =
            order
                .iter()
                .zip(rows.iter())
                .enumerate()
                .all(|(i, (p, (row_id, _, prio)))| {
                    p.id.to_string() == *row_id && *prio == i as i32 + 1
                });
        if already {
            tx.commit().await?;
            return Ok(order);
        }
        // Two steps keep the unique index satisfied after every row: first every priority
        // becomes negative (distinct, and clear of 1..=n), then each gets its place.
        sqlx::query("UPDATE auth_profiles SET priority = -priority - 1")
            .execute(&mut *tx)
            .await?;
        for (i, p) in order.iter().enumerate() {
            sqlx::query("UPDATE auth_profiles SET priority = $1 WHERE id = $2")
                .bind(i as i32 + 1)
                .bind(p.id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Configuration,
                action: "auth_profile.reordered",
                outcome: Outcome::Success,
                actor,
                target: Some(order[position as usize - 1].name.clone()),
                detail: Some(
                    json!({
                        "profile_id": id.to_string(),
                        "from_position": from + 1,
                        "to_position": position,
                        "order": order.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
                    })
                    .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(order)
    }

    /// Finds a group by id or, failing that, by display name (ignoring case), as the
    /// command line accepts either.
    pub async fn resolve_group(&self, id_or_name: &str) -> Result<GroupRef> {
        let id_or_name = id_or_name.trim();
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT id, display_name FROM user_groups WHERE id = $1 OR display_name_key = $2 \
             ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(id_or_name)
        .bind(id_or_name.to_lowercase())
        .fetch_optional(&self.reader)
        .await?;
        row.map(|(id, display_name)| GroupRef { id, display_name })
            .ok_or_else(|| {
                DomainError::NotFound(format!(
                    "There is no group with the id or name \"{id_or_name}\"."
                ))
            })
    }

    /// The profile a group's members sign in through, if any.
    pub async fn profile_of_group(&self, group_id: &str) -> Result<Option<AuthProfileRef>> {
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT p.id, p.name FROM user_groups g LEFT JOIN auth_profiles p ON p.id = g.auth_profile_id \
             WHERE g.id = $1",
        )
        .bind(group_id)
        .fetch_optional(&self.reader)
        .await?;
        match row {
            None => Err(DomainError::NotFound(format!(
                "There is no group with id {group_id}."
            ))),
            Some((Some(id), Some(name))) => Ok(Some(AuthProfileRef {
                id: parse_profile_id(&id)?,
                name,
            })),
            Some(_) => Ok(None),
        }
    }

    /// Every group that has a profile, with it, for the User Groups list.
    pub async fn list_group_profiles(&self) -> Result<Vec<(GroupRef, AuthProfileRef)>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT g.id, g.display_name, p.id, p.name FROM user_groups g \
             JOIN auth_profiles p ON p.id = g.auth_profile_id ORDER BY g.display_name_key, g.id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(gid, gname, pid, pname)| {
                Ok((
                    GroupRef {
                        id: gid,
                        display_name: gname,
                    },
                    AuthProfileRef {
                        id: parse_profile_id(&pid)?,
                        name: pname,
                    },
                ))
            })
            .collect()
    }

    /// Assigns a profile to a group (`Some`), changes it, or removes it (`None`). Setting
    /// what is already set changes nothing and records nothing.
    pub async fn set_group_profile(
        &self,
        group_id: &str,
        profile: Option<AuthProfileId>,
        actor: Actor,
    ) -> Result<GroupProfileChange> {
        let mut tx = self.begin_write().await?;
        let (group, current) = load_group(&mut tx, group_id).await?.ok_or_else(|| {
            DomainError::NotFound(format!("There is no group with id {group_id}."))
        })?;
        let before = match current {
            Some(p) => load_profile_ref(&mut tx, parse_profile_id(&p)?).await?,
            None => None,
        };
        let after = match profile {
            Some(p) => Some(
                load_profile_ref(&mut tx, p)
                    .await?
                    .ok_or_else(|| profile_not_found(p))?,
            ),
            None => None,
        };
        if before.as_ref().map(|p| p.id) == after.as_ref().map(|p| p.id) {
            tx.commit().await?;
            return Ok(GroupProfileChange {
                group,
                before,
                after,
            });
        }
        sqlx::query("UPDATE user_groups SET auth_profile_id = $1 WHERE id = $2")
            .bind(after.as_ref().map(|p| p.id.to_string()))
            .bind(&group.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    DomainError::NotFound(
                        "The profile was deleted while it was being assigned.".into(),
                    )
                } else {
                    e.into()
                }
            })?;
        events::append(
            &mut tx,
            group_event(&group, before.as_ref(), after.as_ref(), actor, None),
        )
        .await?;
        tx.commit().await?;
        Ok(GroupProfileChange {
            group,
            before,
            after,
        })
    }
}
