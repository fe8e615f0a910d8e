//! The Authentication Profiles screens' server functions: the profiles in priority order, one
//! profile with the values Okta asks for, its settings, importing the IdP's metadata (preview
//! first, then save), rotating the SP certificate, assigning the profile to a group, and
//! deleting it without leaving a group pointing at nothing.
//!
//! Each function checks the admin session in its body, then calls `gatehouse_domain`
//! (`saml_profiles` for what needs keys, fetching or metadata checks; the store otherwise).

use crate::error::AppError;
use gatehouse_domain::auth_profile::{
    AuthProfile, AuthProfileEdit, AuthProfileRef, GroupRef, OnProfileGroups,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A certificate expiring within this many days is flagged on the page, early enough to
/// rotate it (SP) or to make sure Okta's new one is imported (IdP).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Largest metadata document the page sends: the limit of the server's metadata parser,
/// checked in the browser too so an oversized file is refused before it is uploaded.
pub const MAX_METADATA_BYTES: usize = 1 << 20;

#[cfg(feature = "ssr")]
const _: () = assert!(MAX_METADATA_BYTES == gatehouse_domain::saml::MAX_METADATA_BYTES);

/// Where a certificate stands on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryStatus {
    Valid,
    /// Still valid, for this many more (whole) days, fewer than `EXPIRY_WARNING_DAYS`.
    ExpiresSoon {
        days: i64,
    },
    Expired,
}

impl ExpiryStatus {
    /// Whether the page should draw attention to it.
    pub fn needs_attention(self) -> bool {
        !matches!(self, ExpiryStatus::Valid)
    }
}

/// How a certificate valid until `not_after` stands at `now`. The server's clock is used
/// (`now` comes with the data), so the page says the same thing rendered or hydrated.
pub fn expiry_status(not_after: OffsetDateTime, now: OffsetDateTime) -> ExpiryStatus {
    if not_after <= now {
        return ExpiryStatus::Expired;
    }
    let days = (not_after - now).whole_days();
    if days < EXPIRY_WARNING_DAYS {
        ExpiryStatus::ExpiresSoon { days }
    } else {
        ExpiryStatus::Valid
    }
}

/// A date as `YYYY-MM-DD` (UTC), the same on server and browser.
pub fn date(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// A certificate's expiry in words: "Expires 2035-11-28", "Expires in 12 days (…)",
/// "Expired on …".
pub fn expiry_text(not_after: OffsetDateTime, now: OffsetDateTime) -> String {
    match expiry_status(not_after, now) {
        ExpiryStatus::Valid => format!("Expires {}", date(not_after)),
        ExpiryStatus::ExpiresSoon { days: 0 } => {
            format!("Expires within a day ({})", date(not_after))
        }
        ExpiryStatus::ExpiresSoon { days: 1 } => format!("Expires in 1 day ({})", date(not_after)),
        ExpiryStatus::ExpiresSoon { days } => {
            format!("Expires in {days} days ({})", date(not_after))
        }
        ExpiryStatus::Expired => format!("Expired on {}", date(not_after)),
    }
}

/// The short name of a SAML binding URI, as Okta's and other IdPs' screens write it.
pub fn binding_name(binding: &str) -> &str {
    match binding {
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" => "HTTP-Redirect",
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" => "HTTP-POST",
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" => "HTTP-Artifact",
        "urn:oasis:names:tc:SAML:2.0:bindings:SOAP" => "SOAP",
        other => other,
    }
}

/// The profiles in priority order, and the server's time for the expiry warnings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileList {
    pub profiles: Vec<AuthProfile>,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

/// What an admin checks about a certificate: whose it is, its fingerprint to compare with
/// the other side's screen, and when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    pub subject: String,
    pub sha256_fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// One profile as its page shows it: the SP values to paste into Okta, and what is needed to
/// delete it (where its groups could go).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileDetail {
    pub profile: AuthProfile,
    /// Okta's "Audience URI (SP Entity ID)".
    pub entity_id: String,
    /// Okta's "Single sign-on URL".
    pub acs_url: String,
    pub sp_certificate: CertificateSummary,
    /// 1-based place in the priority order, and how many profiles there are.
    pub position: usize,
    pub profile_count: usize,
    /// The other profiles, in priority order: where the groups can move if this one goes.
    pub others: Vec<AuthProfileRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

/// Where IdP metadata comes from on the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum MetadataInput {
    /// Okta's `…/sso/saml/metadata` URL (kept, so it can be refreshed).
    Url(String),
    /// An uploaded file's text or pasted XML.
    Xml(String),
}

/// One SingleSignOnService found in metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoEndpointView {
    pub binding: String,
    pub location: String,
}

/// One signing certificate found in metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewCertificate {
    pub subject: String,
    pub sha256_fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub expired: bool,
}

/// What metadata holds, checked but not saved: shown to the admin before "Save".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataPreviewView {
    pub entity_id: String,
    pub sso_endpoints: Vec<SsoEndpointView>,
    pub certificates: Vec<PreviewCertificate>,
    /// The IdP asks for signed AuthnRequests (Okta's "Signed Requests").
    pub want_authn_requests_signed: bool,
    /// Where it was fetched from, for a URL import.
    pub url: Option<String>,
    /// SHA-256 of the document previewed. "Save" sends it back and the server refuses to
    /// save a different document (a URL whose answer changed since the preview).
    pub digest: String,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

impl MetadataPreviewView {
    /// Whether saving needs the admin's confirmation.
    pub fn has_expired_certificates(&self) -> bool {
        self.certificates.iter().any(|c| c.expired)
    }
}

/// The result of a preview: the IdP found, or the IdPs to choose from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataPreviewOutcome {
    Ready(MetadataPreviewView),
    /// An EntitiesDescriptor with several IdPs: the admin picks one and previews again.
    ChooseIdp {
        entity_ids: Vec<String>,
    },
}

/// A group's profile before an assignment made from the profile page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupAssignment {
    pub group: GroupRef,
    pub before: Option<AuthProfileRef>,
    pub after: Option<AuthProfileRef>,
}

/// What deleting a profile did, for the page's confirmation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedProfile {
    pub profile: AuthProfileRef,
    pub groups: Vec<GroupRef>,
    pub reassigned_to: Option<AuthProfileRef>,
    pub sessions_ended: u64,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use gatehouse_domain::auth_profile::AuthProfileId;
    use gatehouse_domain::event::Actor;
    use gatehouse_domain::saml_profiles::{ImportError, MetadataPreview, MetadataSource};

    pub fn actor(admin: &gatehouse_domain::admin::Admin) -> Actor {
        Actor::Admin(admin.id.to_string())
    }

    pub fn profile_id(id: &str) -> Result<AuthProfileId, AppError> {
        id.trim().parse().map_err(|_| {
            AppError::NotFound("No authentication profile has this id.".into()).respond()
        })
    }

    pub fn source(input: MetadataInput) -> Result<MetadataSource, AppError> {
        match input {
            MetadataInput::Url(url) if url.trim().is_empty() => Err(AppError::Invalid(
                "Enter the IdP's metadata URL, such as https://{org}.okta.com/app/{appId}/sso/saml/metadata."
                    .into(),
            )
            .respond()),
            MetadataInput::Xml(xml) if xml.trim().is_empty() => Err(AppError::Invalid(
                "The metadata is empty: choose the IdP's metadata file or paste its XML.".into(),
            )
            .respond()),
            MetadataInput::Url(url) => Ok(MetadataSource::Url(url)),
            MetadataInput::Xml(xml) => Ok(MetadataSource::Xml(xml)),
        }
    }

    /// An import refusal as the sentence the page shows.
    pub fn import_error(e: ImportError) -> AppError {
        match e {
            ImportError::Fetch(f) => {
                AppError::Invalid(format!("Could not import the metadata: {f}.")).respond()
            }
            ImportError::Rejected(r) => AppError::Invalid(r.to_string()).respond(),
            e @ ImportError::ExpiredCertificates(_) => AppError::Conflict(e.to_string()).respond(),
            ImportError::Domain(d) => d.into(),
        }
    }

    pub fn digest(xml: &str) -> String {
        gatehouse_domain::store::sha256_fingerprint(xml.as_bytes())
    }

    pub fn preview_view(preview: &MetadataPreview, now: OffsetDateTime) -> MetadataPreviewView {
        let m = &preview.metadata;
        MetadataPreviewView {
            entity_id: m.entity_id.clone(),
            sso_endpoints: m
                .sso_endpoints
                .iter()
                .map(|e| SsoEndpointView {
                    binding: e.binding.clone(),
                    location: e.location.clone(),
                })
                .collect(),
            certificates: m
                .certificates
                .iter()
                .map(|c| PreviewCertificate {
                    subject: c.subject.clone(),
                    sha256_fingerprint: c.sha256_fingerprint.clone(),
                    not_after: c.not_after,
                    expired: c.is_expired(now),
                })
                .collect(),
            want_authn_requests_signed: m.want_authn_requests_signed,
            url: preview.url.clone(),
            digest: digest(&preview.xml),
            checked_at: now,
        }
    }
}

/// Every profile in priority order, each with the groups that use it.
#[server(prefix = "/console/api", endpoint = "list_auth_profiles")]
pub async fn list_auth_profiles() -> Result<ProfileList, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    Ok(ProfileList {
        profiles: state.store.list_auth_profiles().await?,
        checked_at: OffsetDateTime::now_utc(),
    })
}

/// Creates a SAML profile with its own SP key pair; it goes last in priority order.
#[server(prefix = "/console/api", endpoint = "create_auth_profile")]
pub async fn create_auth_profile(
    name: String,
    #[server(default)] description: String,
) -> Result<AuthProfileRef, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    let profile = gatehouse_domain::saml_profiles::create_profile(
        &state.store,
        &state.settings.sealer,
        &name,
        &description,
        ssr::actor(&admin),
    )
    .await?;
    Ok(profile.to_ref())
}

/// Moves a profile to `position` (1 = first, wins over all others).
#[server(prefix = "/console/api", endpoint = "move_auth_profile")]
pub async fn move_auth_profile(id: String, position: u32) -> Result<(), AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    state
        .store
        .move_auth_profile(ssr::profile_id(&id)?, position, ssr::actor(&admin))
        .await?;
    Ok(())
}

/// One profile with the values to give Okta.
#[server(prefix = "/console/api", endpoint = "auth_profile_detail")]
pub async fn auth_profile_detail(id: String) -> Result<ProfileDetail, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let id = ssr::profile_id(&id)?;
    // The whole (short) list: the profile's place in the order and the others come with it.
    let all = state.store.list_auth_profiles().await?;
    let position = all.iter().position(|p| p.id == id).ok_or_else(|| {
        AppError::NotFound("No authentication profile has this id.".into()).respond()
    })?;
    let others = all
        .iter()
        .filter(|p| p.id != id)
        .map(AuthProfile::to_ref)
        .collect();
    let profile_count = all.len();
    let profile = all.into_iter().nth(position).expect("found above");
    let public_url = &state.settings.public_url;
    let cert = gatehouse_domain::saml::certificate_info(&profile.sp_certificate_der()?)?;
    Ok(ProfileDetail {
        entity_id: gatehouse_domain::saml_profiles::sp_entity_id(public_url, id),
        acs_url: gatehouse_domain::saml_profiles::acs_url(public_url, id),
        sp_certificate: CertificateSummary {
            subject: cert.subject,
            sha256_fingerprint: cert.sha256_fingerprint,
            not_after: cert.not_after,
        },
        position: position + 1,
        profile_count,
        others,
        profile,
        checked_at: OffsetDateTime::now_utc(),
    })
}

/// Saves name, description and sign-in settings. `version` is the one the form was filled
/// from: an edit made on stale data is refused rather than overwriting a newer change.
#[server(prefix = "/console/api", endpoint = "update_auth_profile", input = Json)]
pub async fn update_auth_profile(
    id: String,
    edit: AuthProfileEdit,
    version: i64,
) -> Result<AuthProfile, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    Ok(state
        .store
        .update_auth_profile(
            ssr::profile_id(&id)?,
            edit,
            Some(version),
            ssr::actor(&admin),
        )
        .await?)
}

/// Replaces the SP key pair and certificate.
#[server(prefix = "/console/api", endpoint = "rotate_sp_certificate")]
pub async fn rotate_sp_certificate(id: String) -> Result<(), AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    gatehouse_domain::saml_profiles::rotate_certificate(
        &state.store,
        &state.settings.sealer,
        ssr::profile_id(&id)?,
        ssr::actor(&admin),
    )
    .await?;
    Ok(())
}

/// Reads and checks IdP metadata without saving it. `entity_id` picks one IdP out of a
/// document that describes several.
#[server(prefix = "/console/api", endpoint = "preview_idp_metadata", input = Json)]
pub async fn preview_idp_metadata(
    source: MetadataInput,
    entity_id: Option<String>,
) -> Result<MetadataPreviewOutcome, AppError> {
    super::guard::require_administrator().await?;
    use gatehouse_domain::saml::MetadataRejection;
    use gatehouse_domain::saml_profiles::{preview_metadata, ImportError};
    let state = super::guard::app_state()?;
    match preview_metadata(
        ssr::source(source)?,
        state.settings.metadata_fetch,
        entity_id.as_deref().filter(|e| !e.is_empty()),
    )
    .await
    {
        Ok(preview) => Ok(MetadataPreviewOutcome::Ready(ssr::preview_view(
            &preview,
            OffsetDateTime::now_utc(),
        ))),
        Err(ImportError::Rejected(MetadataRejection::SeveralIdps { entity_ids })) => {
            Ok(MetadataPreviewOutcome::ChooseIdp { entity_ids })
        }
        Err(e) => Err(ssr::import_error(e)),
    }
}

/// Saves the metadata that was previewed into the profile. The source is read again and
/// must be the document previewed (`digest`); expired certificates need `accept_expired`.
#[server(prefix = "/console/api", endpoint = "save_idp_metadata", input = Json)]
pub async fn save_idp_metadata(
    id: String,
    source: MetadataInput,
    entity_id: Option<String>,
    digest: String,
    accept_expired: bool,
) -> Result<AuthProfile, AppError> {
    let admin = super::guard::require_administrator().await?;
    use gatehouse_domain::saml_profiles::{preview_metadata, save_metadata};
    let state = super::guard::app_state()?;
    let id = ssr::profile_id(&id)?;
    let preview = preview_metadata(
        ssr::source(source)?,
        state.settings.metadata_fetch,
        entity_id.as_deref().filter(|e| !e.is_empty()),
    )
    .await
    .map_err(ssr::import_error)?;
    if ssr::digest(&preview.xml) != digest {
        return Err(AppError::Conflict(
            "The metadata changed since it was previewed. Preview it again, check what it holds, then save."
                .into(),
        )
        .respond());
    }
    save_metadata(
        &state.store,
        id,
        preview,
        accept_expired,
        ssr::actor(&admin),
    )
    .await
    .map_err(ssr::import_error)
}

/// Makes a group (by id or display name) sign in through this profile.
#[server(prefix = "/console/api", endpoint = "assign_profile_to_group")]
pub async fn assign_profile_to_group(
    id: String,
    group: String,
) -> Result<GroupAssignment, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    let id = ssr::profile_id(&id)?;
    if group.trim().is_empty() {
        return Err(AppError::Invalid(
            "Enter the name of the user group (as pushed from Okta) or its id.".into(),
        )
        .respond());
    }
    let group = state.store.resolve_group(&group).await?;
    let change = state
        .store
        .set_group_profile(&group.id, Some(id), ssr::actor(&admin))
        .await?;
    Ok(GroupAssignment {
        group: change.group,
        before: change.before,
        after: change.after,
    })
}

/// Deletes a profile. If groups use it, `on_groups` says where they go; without it the
/// delete is refused, so no group is left pointing at nothing.
#[server(prefix = "/console/api", endpoint = "delete_auth_profile", input = Json)]
pub async fn delete_auth_profile(
    id: String,
    on_groups: Option<OnProfileGroups>,
) -> Result<DeletedProfile, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    let deleted = state
        .store
        .delete_auth_profile(ssr::profile_id(&id)?, on_groups, ssr::actor(&admin))
        .await?;
    Ok(DeletedProfile {
        profile: deleted.profile,
        groups: deleted.groups,
        reassigned_to: deleted.reassigned_to,
        sessions_ended: deleted.sessions_ended,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiry_is_flagged_within_thirty_days_and_after() {
        let now = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(
            expiry_status(datetime!(2027-01-01 0:00 UTC), now),
            ExpiryStatus::Valid
        );
        assert_eq!(
            expiry_status(now + time::Duration::days(30), now),
            ExpiryStatus::Valid
        );
        assert_eq!(
            expiry_status(now + time::Duration::days(29), now),
            ExpiryStatus::ExpiresSoon { days: 29 }
        );
        assert_eq!(
            expiry_status(now + time::Duration::hours(3), now),
            ExpiryStatus::ExpiresSoon { days: 0 }
        );
        assert_eq!(expiry_status(now, now), ExpiryStatus::Expired);
        assert!(!ExpiryStatus::Valid.needs_attention());
        assert!(ExpiryStatus::Expired.needs_attention());
    }

    #[test]
    fn expiry_reads_as_a_sentence() {
        let now = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(
            expiry_text(datetime!(2035-11-28 0:00 UTC), now),
            "Expires 2035-11-28"
        );
        assert_eq!(
            expiry_text(now + time::Duration::days(12), now),
            "Expires in 12 days (2026-01-13)"
        );
        assert_eq!(
            expiry_text(now + time::Duration::hours(30), now),
            "Expires in 1 day (2026-01-02)"
        );
        assert_eq!(
            expiry_text(datetime!(2025-12-31 0:00 UTC), now),
            "Expired on 2025-12-31"
        );
    }

    #[test]
    fn bindings_have_short_names() {
        assert_eq!(
            binding_name("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"),
            "HTTP-Redirect"
        );
        assert_eq!(
            binding_name("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"),
            "HTTP-POST"
        );
        assert_eq!(binding_name("urn:example:other"), "urn:example:other");
    }
}
