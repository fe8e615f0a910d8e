//! Signing administrators in and out, and the one-time setup link.

use crate::error::AppError;
use gatehouse_domain::admin::Admin;
use leptos::prelude::*;

/// The signed-in administrator; `Unauthorized` without a session.
#[server(prefix = "/console/api", endpoint = "current_admin")]
pub async fn current_admin() -> Result<Admin, AppError> {
    super::guard::require_admin().await
}

/// Where to go after signing in: only paths inside the console, so the `next` parameter
/// cannot send an administrator to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console")
                && !n.starts_with("/console/login")
                && !n.starts_with("/console/setup")
                && !n.contains("//")
                && !n.contains('\\') =>
        {
            n.to_string()
        }
        _ => "/console".to_string(),
    }
}

/// Checks email and password, starts a new session and sends the browser to `next`.
/// Failures are throttled per email and client address.
#[server(prefix = "/console/api", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let state = super::guard::app_state()?;
    if email.trim().is_empty() || password.is_empty() {
        return Err(AppError::Invalid("Enter your email and password.".into()).respond());
    }
    let client = client_address().await;
    let admin = state.store.authenticate(&email, &password, &client).await?;
    let session = super::guard::session().await?;
    crate::session::start(&session, &admin).await.map_err(|e| {
        tracing::error!(error = %e, "could not start a session");
        AppError::Internal.respond()
    })?;
    tracing::info!(admin = %admin.email, "administrator signed in");
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the current session.
#[server(prefix = "/console/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let admin = super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let session = super::guard::session().await?;
    session.flush().await.map_err(|e| {
        tracing::error!(error = %e, "could not end a session");
        AppError::Internal.respond()
    })?;
    state.store.record_sign_out(&admin).await?;
    leptos_axum::redirect("/console/login");
    Ok(())
}

/// Whether a setup link is still good, so the page can say so before the form is filled.
#[server(prefix = "/console/api", endpoint = "setup_link_status")]
pub async fn setup_link_status(token: String) -> Result<bool, AppError> {
    let state = super::guard::app_state()?;
    Ok(state.store.setup_token_is_valid(&token).await?)
}

/// Creates the first administrator through the setup link, and signs them in.
#[server(prefix = "/console/api", endpoint = "create_first_admin")]
pub async fn create_first_admin(
    token: String,
    email: String,
    password: String,
    password_confirmation: String,
) -> Result<(), AppError> {
    if password != password_confirmation {
        return Err(AppError::Invalid("The two passwords differ.".into()).respond());
    }
    let state = super::guard::app_state()?;
    let admin = state
        .store
        .create_admin_with_setup_token(&token, &email, &password)
        .await?;
    let session = super::guard::session().await?;
    crate::session::start(&session, &admin).await.map_err(|e| {
        tracing::error!(error = %e, "could not start a session");
        AppError::Internal.respond()
    })?;
    tracing::info!(admin = %admin.email, "first administrator created through the setup link");
    leptos_axum::redirect("/console");
    Ok(())
}

/// The client's address, for throttling. Behind a proxy listed in GATEHOUSE_TRUSTED_PROXIES
/// the server has already put the forwarded client address here (server/src/client_ip.rs).
#[cfg(feature = "ssr")]
async fn client_address() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    match leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
        Ok(ConnectInfo(addr)) => addr.ip().to_string(),
        Err(_) => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_inside_the_console() {
        assert_eq!(safe_next(Some("/console/users")), "/console/users");
        assert_eq!(
            safe_next(Some("/console/events?category=sign_in")),
            "/console/events?category=sign_in"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/console//evil",
            "/scim/v2/Users",
            "/console/login",
            "/console\\evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad} was allowed");
        }
        assert_eq!(safe_next(None), "/console");
    }
}
