//! `POST /saml/{profile}/acs`: where the IdP posts the SAMLResponse. The profile comes from
//! the URL, never from the response, so Recipient, Destination, Audience and Issuer all bind
//! the response to this one profile.
//!
//! Order of checks: the response's shape and signature (samael plus our own checks, in
//! `gatehouse_domain::saml`), then the AuthnRequest it answers is consumed (single use, same
//! profile, same browser), then the assertion id is remembered (replay), then the asserted
//! identity must be an active user still in a group of this profile. Only then does a
//! session start. Any failure shows a calm page with a reference; the precise reason goes to
//! Events under that reference.

use super::{cookies, login::DEFAULT_DESTINATION, ClientIp};
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use gatehouse_app::end_user::sign_in_failed_page;
use gatehouse_app::state::AppState;
use gatehouse_domain::auth_profile::{AuthProfile, AuthProfileId, AuthProfileRef};
use gatehouse_domain::saml::{self, ResponsePolicy, SpIdentity, VerifiedAssertion};
use gatehouse_domain::saml_profiles::sp_identity;
use gatehouse_domain::store::{
    check_relay_state, NewEndUserSession, SignInEvent, SignInStep, DEFAULT_END_USER_SESSION_TTL,
};
use gatehouse_domain::DomainError;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// A refused sign-in on its way to Events and to the person's screen.
struct Refusal {
    status: StatusCode,
    reason: String,
    message: String,
    user: Option<(String, String)>,
}

impl Refusal {
    fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.to_string(),
            message: message.into(),
            user: None,
        }
    }
}

pub async fn assertion_consumer(
    State(state): State<AppState>,
    Path(profile): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<AcsForm>, FormRejection>,
) -> Response {
    let profile = match load_profile(&state, &profile).await {
        Ok(p) => p,
        Err(refusal) => return refuse(&state, None, refusal, ip).await,
    };
    let form = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            let refusal = Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("The ACS request is not a SAML POST binding form: {e}"),
            );
            return refuse(&state, Some(profile.to_ref()), refusal, ip).await;
        }
    };
    match complete(&state, &profile, form, &headers, ip.clone()).await {
        Ok(response) => response,
        Err(refusal) => refuse(&state, Some(profile.to_ref()), refusal, ip).await,
    }
}

async fn load_profile(state: &AppState, id: &str) -> Result<AuthProfile, Refusal> {
    let unknown = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "unknown_profile",
            format!("A SAML response was posted to the ACS of a profile that does not exist ({id:.64})."),
        )
    };
    let id: AuthProfileId = id.parse().map_err(|_| unknown())?;
    match state.store.get_auth_profile(id).await {
        Ok(p) => Ok(p),
        Err(DomainError::NotFound(_)) => Err(unknown()),
        Err(e) => Err(internal(e)),
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "sign-in failed on an internal error");
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal_error",
        format!("Gatehouse could not complete the sign-in: {e}"),
    )
}

async fn complete(
    state: &AppState,
    profile: &AuthProfile,
    form: AcsForm,
    headers: &HeaderMap,
    ip: Option<String>,
) -> Result<Response, Refusal> {
    let store = &state.store;
    let idp = profile.idp.as_ref().ok_or_else(|| {
        Refusal::new(
            StatusCode::FORBIDDEN,
            "no_idp_certificate",
            "The profile has no IdP metadata, so no response can be trusted.",
        )
    })?;
    let sp = sp_identity(&state.settings.public_url, profile).map_err(internal)?;
    let certificates = profile.idp_certificates_der().map_err(internal)?;
    let assertion = verify(
        form.saml_response,
        sp,
        idp.entity_id.clone(),
        certificates,
        profile.settings.clock_skew_seconds,
        profile.settings.allow_idp_initiated,
    )
    .await?;

    // The AuthnRequest this answers: single use, this profile, this browser.
    let now = OffsetDateTime::now_utc();
    let (request_id, destination) = match &assertion.in_response_to {
        Some(request_id) => {
            let nonce = cookies::read(headers, cookies::SSO_COOKIE).unwrap_or_default();
            let request = store
                .consume_saml_request(request_id, profile.id, &nonce, now)
                .await
                .map_err(internal)?
                .map_err(|r| Refusal::new(StatusCode::FORBIDDEN, r.code(), r.to_string()))?;
            (Some(request.id), request.relay_state)
        }
        // Only reachable when the profile allows IdP-initiated sign-in: the verifier
        // refuses unsolicited responses otherwise. RelayState then comes from the IdP.
        None => (
            None,
            form.relay_state
                .as_deref()
                .and_then(|r| check_relay_state(r).ok())
                .unwrap_or_default(),
        ),
    };
    let destination = if destination.is_empty() || destination == "/" {
        DEFAULT_DESTINATION.to_string()
    } else {
        destination
    };

    store
        .remember_assertion(
            &assertion.assertion_id,
            profile.id,
            assertion.not_on_or_after,
        )
        .await
        .map_err(internal)?
        .map_err(|replay| Refusal::new(StatusCode::FORBIDDEN, "replay", replay.to_string()))?;

    let asserted = asserted_identity(profile, &assertion).ok_or_else(|| {
        Refusal::new(
            StatusCode::FORBIDDEN,
            "missing_attribute",
            format!(
                "The assertion has no attribute \"{}\", which this profile matches users by.",
                profile
                    .settings
                    .match_saml_attribute
                    .as_deref()
                    .unwrap_or_default()
            ),
        )
    })?;
    let user = store
        .match_assertion_user(profile, &asserted)
        .await
        .map_err(internal)?
        .map_err(|r| {
            let mut refusal = Refusal::new(
                StatusCode::FORBIDDEN,
                r.code(),
                format!("{r} (asserted: {asserted:.128})"),
            );
            refusal.user = r.user().map(|u| (u.id.clone(), u.user_name.clone()));
            refusal
        })?;

    let (session, secret) = store
        .start_end_user_session(&NewEndUserSession {
            user_id: user.id.clone(),
            profile_id: profile.id,
            name_id: assertion.name_id.clone(),
            session_index: assertion.session_index.clone(),
            expires_at: now + DEFAULT_END_USER_SESSION_TTL,
            request_id,
            client_ip: ip,
        })
        .await
        .map_err(|e| match e {
            DomainError::Invalid(m) | DomainError::Conflict(m) => {
                let mut refusal = Refusal::new(StatusCode::FORBIDDEN, "session_refused", m);
                refusal.user = Some((user.id.clone(), user.user_name.clone()));
                refusal
            }
            other => internal(other),
        })?;

    let https = state.settings.https();
    let mut response = Redirect::to(&destination).into_response();
    for cookie in [
        cookies::portal_session(&secret, session.expires_at, https),
        cookies::clear_sso_state(https),
    ] {
        if let Ok(v) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// Signature checks are CPU work in C (xmlsec): run them off the async workers.
async fn verify(
    saml_response: String,
    sp: SpIdentity,
    idp_entity_id: String,
    certificates: Vec<Vec<u8>>,
    clock_skew_seconds: u32,
    allow_idp_initiated: bool,
) -> Result<VerifiedAssertion, Refusal> {
    let checked = tokio::task::spawn_blocking(move || {
        let received = saml::receive_response(&saml_response)?;
        let policy = ResponsePolicy {
            sp: &sp,
            idp_entity_id: &idp_entity_id,
            idp_certificates: &certificates,
            clock_skew: time::Duration::seconds(i64::from(clock_skew_seconds)),
            allow_idp_initiated,
        };
        let expected = received.in_response_to.clone();
        saml::verify_response(&received, &policy, expected.as_deref())
    })
    .await
    .map_err(internal)?;
    checked.map_err(|r| {
        let status = if matches!(r.code(), "too_large") {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::FORBIDDEN
        };
        Refusal::new(status, r.code(), r.to_string())
    })
}

/// The value users are matched by: a named attribute if the profile says so, else NameID.
fn asserted_identity(profile: &AuthProfile, assertion: &VerifiedAssertion) -> Option<String> {
    match profile.settings.match_saml_attribute.as_deref() {
        Some(name) if !name.is_empty() => assertion
            .attributes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, values)| values.first().cloned()),
        _ => Some(assertion.name_id.clone()),
    }
}

async fn refuse(
    state: &AppState,
    profile: Option<AuthProfileRef>,
    refusal: Refusal,
    ip: Option<String>,
) -> Response {
    let reference = reference_id();
    let mut event = SignInEvent::new(SignInStep::Failed);
    event.profile = profile;
    event.reason = Some(refusal.reason.clone());
    event.message = Some(refusal.message.clone());
    event.reference_id = Some(reference.clone());
    event.client_ip = ip;
    if let Some((id, name)) = refusal.user {
        event.user_id = Some(id);
        event.user_name = Some(name);
    }
    if let Err(e) = state.store.record_sign_in_event(event).await {
        tracing::error!(error = %e, "could not record a failed sign-in");
    }
    tracing::info!(reason = %refusal.reason, reference = %reference, "SAML sign-in refused");
    (refusal.status, Html(sign_in_failed_page(&reference))).into_response()
}

/// A short reference the person can read out to support; unique enough to find one event.
fn reference_id() -> String {
    let id = gatehouse_domain::secret::generate();
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>()
        .to_uppercase()
}
