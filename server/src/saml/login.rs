//! `/login`: identifier-first sign-in. The person types an email (or arrives with
//! `?login_hint=`), Gatehouse finds the active user, the profile of their group, stores the
//! AuthnRequest in the database and redirects to the IdP. Whatever stops it — unknown,
//! inactive, no profile — the person sees the same calm sentence; the reason goes to Events.

use super::{cookies, ClientIp};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use gatehouse_app::end_user::login_page;
use gatehouse_app::state::AppState;
use gatehouse_domain::saml;
use gatehouse_domain::saml_profiles::sp_identity;
use gatehouse_domain::store::{check_relay_state, NewSamlRequest, SignInEvent, SignInStep};
use gatehouse_domain::DomainError;
use serde::Deserialize;
use time::OffsetDateTime;

/// The one message for every refusal, so the form never tells who exists.
pub const CALM_REFUSAL: &str =
    "We can't sign you in with this address. Check it, or ask your administrator for access.";

/// Where people land after signing in when nothing else was asked for.
pub const DEFAULT_DESTINATION: &str = "/portal";

#[derive(Deserialize)]
pub struct LoginQuery {
    login_hint: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    next: Option<String>,
}

fn destination(next: Option<&str>) -> String {
    next.filter(|n| !n.trim().is_empty())
        .and_then(|n| check_relay_state(n).ok())
        .filter(|n| n != "/")
        .unwrap_or_else(|| DEFAULT_DESTINATION.to_string())
}

pub async fn form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = destination(query.next.as_deref());
    match query.login_hint.filter(|h| !h.trim().is_empty()) {
        Some(hint) => start(&state, &hint, &next, ip, &headers).await,
        None => Html(login_page("", &next, None)).into_response(),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            Html(login_page(
                "",
                DEFAULT_DESTINATION,
                Some("Enter your email address."),
            )),
        )
            .into_response();
    };
    let next = destination(form.next.as_deref());
    start(&state, &form.email, &next, ip, &headers).await
}

async fn start(
    state: &AppState,
    identifier: &str,
    next: &str,
    ip: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let store = &state.store;
    let page = |status: StatusCode, message: &str| {
        (status, Html(login_page(identifier, next, Some(message)))).into_response()
    };
    let candidate = match store.find_sign_in_candidate(identifier).await {
        Ok(Ok(c)) => c,
        Ok(Err(refusal)) => {
            let mut event = SignInEvent::new(SignInStep::Failed);
            event.reason = Some(refusal.code().into());
            event.message = Some(refusal.to_string());
            event.client_ip = ip;
            match refusal.user() {
                Some(u) => {
                    event.user_id = Some(u.id.clone());
                    event.user_name = Some(u.user_name.clone());
                }
                None => event.identifier = Some(identifier.trim().to_string()),
            }
            if let gatehouse_domain::store::SignInRefusal::ProfileWithoutIdp { profile, .. } =
                &refusal
            {
                event.profile = Some(profile.clone());
            }
            if let Err(e) = store.record_sign_in_event(event).await {
                tracing::error!(error = %e, "could not record a refused sign-in");
            }
            return page(StatusCode::OK, CALM_REFUSAL);
        }
        Err(DomainError::Invalid(message)) => return page(StatusCode::BAD_REQUEST, &message),
        Err(e) => {
            tracing::error!(error = %e, "could not look up a user for sign-in");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable right now. Try again in a moment.",
            );
        }
    };
    match redirect_to_idp(state, &candidate, next, ip, headers).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, profile = %candidate.profile.id, "could not start SAML sign-in");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable right now. Try again in a moment.",
            )
        }
    }
}

async fn redirect_to_idp(
    state: &AppState,
    candidate: &gatehouse_domain::store::SignInCandidate,
    next: &str,
    ip: Option<String>,
    headers: &HeaderMap,
) -> gatehouse_domain::Result<Response> {
    let profile = &candidate.profile;
    let idp = profile
        .idp
        .as_ref()
        .ok_or_else(|| DomainError::Invalid("the profile has no IdP".into()))?;
    let sso_url = idp
        .sso_url
        .as_deref()
        .ok_or_else(|| DomainError::Invalid("the profile's IdP has no redirect SSO URL".into()))?;
    let sp = sp_identity(&state.settings.public_url, profile)?;
    let key = if profile.settings.sign_authn_requests {
        Some(
            state
                .store
                .sp_private_key_der(profile.id, &state.settings.sealer)
                .await?,
        )
    } else {
        None
    };
    let redirect = saml::authn_request_redirect(&sp, sso_url, "", key.as_deref())?;
    // One nonce per browser: several tabs signing in at once share it.
    let nonce = cookies::read(headers, cookies::SSO_COOKIE)
        .filter(|n| {
            n.len() >= 32
                && n.len() <= 128
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or_else(gatehouse_domain::secret::generate);
    state
        .store
        .create_saml_request(
            &NewSamlRequest {
                id: redirect.request_id.clone(),
                profile_id: profile.id,
                browser_nonce: nonce.clone(),
                relay_state: next.to_string(),
                user_id: Some(candidate.user.id.clone()),
                client_ip: ip,
            },
            OffsetDateTime::now_utc(),
        )
        .await?;
    let mut response = Redirect::to(&redirect.url).into_response();
    if let Ok(v) = cookies::sso_state(&nonce, state.settings.https()).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
