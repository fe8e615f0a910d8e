//! What the dashboard, Events / Logs and Settings show in this version: real rows from the
//! database, nothing invented.

use crate::error::AppError;
use gatehouse_domain::admin::Admin;
use gatehouse_domain::event::Event;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The newest events, newest first (at most `limit`, capped at 200).
#[server(prefix = "/console/api", endpoint = "recent_events")]
pub async fn recent_events(limit: u32) -> Result<Vec<Event>, AppError> {
    super::guard::require_admin().await?;
    let state = expect_context::<crate::state::AppState>();
    Ok(state.store.recent_events(limit.min(200)).await?)
}

/// The settings an administrator can see in this version (they are set by configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub public_url: String,
    pub database: String,
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    pub admins: Vec<Admin>,
}

#[server(prefix = "/console/api", endpoint = "settings")]
pub async fn settings() -> Result<SettingsView, AppError> {
    super::guard::require_admin().await?;
    let state = expect_context::<crate::state::AppState>();
    Ok(SettingsView {
        public_url: state.settings.public_url.clone(),
        database: state.store.backend().name().to_string(),
        session_idle_minutes: state.settings.session_idle.as_secs() / 60,
        session_absolute_hours: state.settings.session_absolute.as_secs() / 3600,
        admins: state.store.list_admins().await?,
    })
}
