//! What the dashboard shows of Events / Logs: real rows from the database, nothing
//! invented. Settings live in `settings.rs`.

use crate::error::AppError;
use gatehouse_domain::event::Event;
use leptos::prelude::*;

/// The newest events, newest first (at most `limit`, capped at 200).
#[server(prefix = "/console/api", endpoint = "recent_events")]
pub async fn recent_events(limit: u32) -> Result<Vec<Event>, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    Ok(state.store.recent_events(limit.min(200)).await?)
}
