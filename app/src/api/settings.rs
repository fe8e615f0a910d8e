//! Settings and administrators: what this Gatehouse is configured with, and who may use the
//! console. Anyone signed in reads them; only an Administrator adds or removes someone.
//! Changing one's own password is open to Auditors too: it changes nothing but their own
//! account, and an Auditor must be able to recover from a leaked password.

use crate::error::AppError;
use gatehouse_domain::admin::Admin;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The settings page's data. The configuration values come from the server's start-up
/// configuration; the console shows them but does not change them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub public_url: String,
    pub database: String,
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    /// 0 means events are kept forever.
    pub event_retention_days: u32,
    pub admins: Vec<Admin>,
    /// Who is asking, so the page can mark "you" and hide what their role cannot do.
    pub me: Admin,
}

#[server(prefix = "/console/api", endpoint = "settings")]
pub async fn settings() -> Result<SettingsView, AppError> {
    let me = super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    Ok(SettingsView {
        public_url: state.settings.public_url.clone(),
        database: state.store.backend().name().to_string(),
        session_idle_minutes: state.settings.session_idle.as_secs() / 60,
        session_absolute_hours: state.settings.session_absolute.as_secs() / 3600,
        event_retention_days: state.settings.event_retention_days,
        admins: state.store.list_admins().await?,
        me,
    })
}

/// Adds an administrator with an initial password, which the new administrator should
/// change after signing in. Same rules as `gatehouse admin create`.
#[server(prefix = "/console/api", endpoint = "add_admin")]
pub async fn add_admin(
    email: String,
    role: String,
    password: String,
    password_confirmation: String,
) -> Result<Admin, AppError> {
    let admin = super::guard::require_administrator().await?;
    use gatehouse_domain::admin::AdminRole;
    let role = AdminRole::parse(&role).map_err(|m| AppError::Invalid(m).respond())?;
    if password != password_confirmation {
        return Err(AppError::Invalid("The two passwords differ.".into()).respond());
    }
    let state = super::guard::app_state()?;
    let added = state
        .store
        .add_admin(&admin, &email, &password, role)
        .await?;
    tracing::info!(by = %admin.email, added = %added.email, role = added.role.as_str(), "administrator added");
    Ok(added)
}

/// Removes an administrator and ends their sessions; never the last Administrator.
#[server(prefix = "/console/api", endpoint = "remove_admin")]
pub async fn remove_admin(id: String) -> Result<(), AppError> {
    let admin = super::guard::require_administrator().await?;
    let id = id
        .parse()
        .map_err(|_| AppError::NotFound("There is no such administrator.".into()).respond())?;
    let state = super::guard::app_state()?;
    let removed = state.store.remove_admin(&admin, id).await?;
    tracing::info!(by = %admin.email, removed = %removed.email, "administrator removed");
    Ok(())
}

/// Changes the signed-in administrator's password, given the current one. Their other
/// sessions end; this one stays. Returns how many other sessions ended.
#[server(prefix = "/console/api", endpoint = "change_own_password")]
pub async fn change_own_password(
    current_password: String,
    new_password: String,
    new_password_confirmation: String,
) -> Result<u64, AppError> {
    let admin = super::guard::require_admin().await?;
    if new_password != new_password_confirmation {
        return Err(AppError::Invalid("The two new passwords differ.".into()).respond());
    }
    let state = super::guard::app_state()?;
    let session = super::guard::session().await?;
    let keep = session.id().map(|id| id.to_string());
    let ended = state
        .store
        .change_own_password(&admin, &current_password, &new_password, keep.as_deref())
        .await?;
    tracing::info!(admin = %admin.email, other_sessions_ended = ended, "administrator changed their password");
    Ok(ended)
}
