//! What an administrator does to a SAML authentication profile — create it, import or
//! refresh its IdP's metadata, rotate its certificate — done once here so the console and
//! the `gatehouse auth-profile` commands apply the same validation and record the same
//! events.
//!
//! A profile's SP identity is derived from the public URL and the profile id, never from a
//! request: `{public_url}/saml/{id}/metadata` is the entity ID (Okta's "Audience URI") and
//! `{public_url}/saml/{id}/acs` the ACS ("Single sign-on URL"). A UUID has no `_`, which
//! Okta's form refuses.

use crate::auth_profile::{AuthProfile, AuthProfileId, IdpCertificate};
use crate::event::Actor;
use crate::fetch::{fetch_metadata, FetchError, FetchPolicy};
use crate::saml::{self, IdpMetadata, MetadataRejection, SpIdentity, HTTP_POST_BINDING};
use crate::sealed::Sealer;
use crate::store::{ImportedIdpMetadata, NewAuthProfile, SpKeyMaterial, Store};
use crate::{DomainError, Result};
use time::OffsetDateTime;

/// How long a generated SP certificate is valid. Okta does not check SP certificates unless
/// requests are signed; ten years matches what Okta uses for its own.
pub const SP_CERTIFICATE_DAYS: u32 = 3650;

/// The entity ID of a profile's SP.
pub fn sp_entity_id(public_url: &str, id: AuthProfileId) -> String {
    format!("{}/saml/{id}/metadata", public_url.trim_end_matches('/'))
}

/// The ACS URL of a profile's SP.
pub fn acs_url(public_url: &str, id: AuthProfileId) -> String {
    format!("{}/saml/{id}/acs", public_url.trim_end_matches('/'))
}

/// A profile's SP as the SAML code needs it.
pub fn sp_identity(public_url: &str, profile: &AuthProfile) -> Result<SpIdentity> {
    Ok(SpIdentity {
        entity_id: sp_entity_id(public_url, profile.id),
        acs_url: acs_url(public_url, profile.id),
        certificate_der: profile.sp_certificate_der()?,
        sign_authn_requests: profile.settings.sign_authn_requests,
    })
}

/// The SP metadata document to give the IdP.
pub fn sp_metadata(public_url: &str, profile: &AuthProfile) -> Result<String> {
    Ok(saml::sp_metadata_xml(&sp_identity(public_url, profile)?))
}

fn new_key_material(name: &str) -> Result<SpKeyMaterial> {
    let pair = saml::generate_sp_key_pair(&format!("Gatehouse SP {name}"), SP_CERTIFICATE_DAYS)?;
    Ok(SpKeyMaterial {
        private_key_der: pair.private_key_der,
        certificate_der: pair.certificate_der,
    })
}

/// Creates a profile with a freshly generated SP key pair.
pub async fn create_profile(
    store: &Store,
    sealer: &Sealer,
    name: &str,
    description: &str,
    actor: Actor,
) -> Result<AuthProfile> {
    let sp_key = new_key_material(name.trim())?;
    store
        .create_auth_profile(
            sealer,
            NewAuthProfile {
                name: name.to_string(),
                description: description.to_string(),
                sp_key,
            },
            actor,
        )
        .await
}

/// Replaces a profile's SP key pair and certificate (for example before the old one expires).
pub async fn rotate_certificate(
    store: &Store,
    sealer: &Sealer,
    id: AuthProfileId,
    actor: Actor,
) -> Result<AuthProfile> {
    let profile = store.get_auth_profile(id).await?;
    let sp_key = new_key_material(&profile.name)?;
    store.rotate_sp_certificate(id, sealer, sp_key, actor).await
}

/// Where metadata comes from.
#[derive(Clone, Debug)]
pub enum MetadataSource {
    /// Uploaded as a file or pasted.
    Xml(String),
    /// Fetched from the IdP (Okta's `…/sso/saml/metadata`); the URL is kept for refreshes.
    Url(String),
}

/// Why metadata could not be imported, in words for the administrator.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Rejected(MetadataRejection),
    /// Parsed fine, but some certificate has expired; the admin must confirm.
    #[error("{}", expired_message(.0))]
    ExpiredCertificates(Vec<String>),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

fn expired_message(subjects: &[String]) -> String {
    format!(
        "The IdP's signing certificate has expired ({}). Responses signed with it are still checked, but the IdP has probably rotated it: import fresh metadata, or confirm to import anyway.",
        subjects.join("; ")
    )
}

/// What metadata holds, fetched and checked but not saved: shown to the admin before saving.
#[derive(Clone, Debug)]
pub struct MetadataPreview {
    pub metadata: IdpMetadata,
    pub xml: String,
    pub url: Option<String>,
}

impl MetadataPreview {
    /// Subjects of certificates already expired at `now`.
    pub fn expired_subjects(&self, now: OffsetDateTime) -> Vec<String> {
        self.metadata
            .certificates
            .iter()
            .filter(|c| c.is_expired(now))
            .map(|c| c.subject.clone())
            .collect()
    }
}

/// Reads and checks metadata without saving it. `chosen_entity_id` picks one IdP from an
/// EntitiesDescriptor that holds several.
pub async fn preview_metadata(
    source: MetadataSource,
    fetch_policy: FetchPolicy,
    chosen_entity_id: Option<&str>,
) -> std::result::Result<MetadataPreview, ImportError> {
    let (xml, url) = match source {
        MetadataSource::Xml(xml) => (xml, None),
        MetadataSource::Url(url) => {
            let url = url.trim().to_string();
            (fetch_metadata(&url, fetch_policy).await?, Some(url))
        }
    };
    let metadata =
        saml::parse_idp_metadata(&xml, chosen_entity_id).map_err(ImportError::Rejected)?;
    Ok(MetadataPreview { metadata, xml, url })
}

/// Saves previewed metadata into a profile. Expired certificates are refused unless
/// `accept_expired` (the admin confirmed).
pub async fn save_metadata(
    store: &Store,
    id: AuthProfileId,
    preview: MetadataPreview,
    accept_expired: bool,
    actor: Actor,
) -> std::result::Result<AuthProfile, ImportError> {
    let expired = preview.expired_subjects(OffsetDateTime::now_utc());
    if !expired.is_empty() && !accept_expired {
        return Err(ImportError::ExpiredCertificates(expired));
    }
    let metadata = &preview.metadata;
    let certificates = metadata
        .certificates
        .iter()
        .map(|c| IdpCertificate::from_der(&c.der))
        .collect::<Result<Vec<_>>>()?;
    let sso_post_url = metadata
        .sso_endpoints
        .iter()
        .find(|e| e.binding == HTTP_POST_BINDING)
        .map(|e| e.location.clone());
    let imported = ImportedIdpMetadata {
        entity_id: metadata.entity_id.clone(),
        sso_url: metadata.redirect_sso_url().map(str::to_string),
        sso_post_url,
        certificates,
        metadata_xml: preview.xml,
        metadata_url: preview.url,
    };
    Ok(store.import_idp_metadata(id, imported, actor).await?)
}

/// Fetch or read, check, and save in one step (the CLI, and "Refresh from URL").
pub async fn import_metadata(
    store: &Store,
    id: AuthProfileId,
    source: MetadataSource,
    fetch_policy: FetchPolicy,
    chosen_entity_id: Option<&str>,
    accept_expired: bool,
    actor: Actor,
) -> std::result::Result<AuthProfile, ImportError> {
    // The profile must exist before anything is fetched on its behalf.
    store.get_auth_profile(id).await?;
    let preview = preview_metadata(source, fetch_policy, chosen_entity_id).await?;
    save_metadata(store, id, preview, accept_expired, actor).await
}
