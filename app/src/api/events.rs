//! Events / Logs server functions: a page of events, the chart, one event, and what the
//! filters can offer. Each reads the URL's filter text and resolves it on the server (so
//! "last 24 hours" means the server's clock), and refuses a wrong filter with the reason.

use crate::error::AppError;
use gatehouse_domain::event::{DetailView, EventEntry, EventHistogram, EventPage, EventParams};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows on one page of the Events table.
pub const PAGE_SIZE: u32 = 50;

/// New events fetched per poll; when more arrived, the page reloads instead.
pub const POLL_LIMIT: u32 = 100;

/// Slices of the chart, at most.
pub const CHART_BUCKETS: u32 = 60;

/// One event and its detail taken apart, for the event's own page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetailView {
    pub entry: EventEntry,
    pub detail: DetailView,
}

/// Someone who can appear as an actor, for the actor filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorChoice {
    /// The filter's value, such as `admin:<id>`.
    pub value: String,
    pub label: String,
}

/// What the filter controls offer: known actions and actors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterChoices {
    pub actions: Vec<String>,
    pub admins: Vec<ActorChoice>,
    pub tokens: Vec<ActorChoice>,
}

#[cfg(feature = "ssr")]
fn filter_of(params: &EventParams) -> Result<gatehouse_domain::event::EventFilter, AppError> {
    params
        .to_filter(time::OffsetDateTime::now_utc())
        .map_err(|m| AppError::Invalid(m).respond())
}

#[cfg(feature = "ssr")]
fn cursor_of(c: Option<String>) -> Result<Option<gatehouse_domain::event::EventCursor>, AppError> {
    c.filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|m| AppError::Invalid(m).respond()))
        .transpose()
}

/// A page of the events that match the URL's filters, newest first: the first page, the
/// one older than `before`, or what arrived after `after` (the live update).
#[server(prefix = "/console/api", endpoint = "list_events")]
pub async fn list_events(
    // Every filter blank encodes as no field at all: the defaults stand in.
    #[server(default)] params: EventParams,
    before: Option<String>,
    after: Option<String>,
) -> Result<EventPage, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let after = cursor_of(after)?;
    let query = gatehouse_domain::store::EventQuery {
        filter: filter_of(&params)?,
        before: cursor_of(before)?,
        limit: if after.is_some() {
            POLL_LIMIT
        } else {
            PAGE_SIZE
        },
        after,
    };
    Ok(state.store.query_events(&query).await?)
}

/// The chart's counts for the URL's filters.
#[server(prefix = "/console/api", endpoint = "events_histogram")]
pub async fn events_histogram(
    #[server(default)] params: EventParams,
) -> Result<EventHistogram, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let filter = filter_of(&params)?;
    Ok(state.store.event_histogram(&filter, CHART_BUCKETS).await?)
}

/// One event, every field of it, with secrets (should any have slipped in) redacted.
#[server(prefix = "/console/api", endpoint = "event_detail")]
pub async fn event_detail(id: String) -> Result<EventDetailView, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let event_id = id
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid(format!("\"{id}\" is not an event id.")).respond())?;
    let entry = state.store.event_by_id(event_id).await?.ok_or_else(|| {
        AppError::NotFound(
            "There is no such event. It may have been removed by the retention setting.".into(),
        )
        .respond()
    })?;
    let detail = entry
        .event
        .detail
        .as_deref()
        .map(DetailView::from_detail)
        .unwrap_or_default();
    Ok(EventDetailView { entry, detail })
}

/// The actions and actors the filters can offer.
#[server(prefix = "/console/api", endpoint = "event_filter_choices")]
pub async fn event_filter_choices() -> Result<FilterChoices, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let admins = state
        .store
        .list_admins()
        .await?
        .into_iter()
        .map(|a| ActorChoice {
            value: format!("admin:{}", a.id),
            label: a.email,
        })
        .collect();
    let tokens = state
        .store
        .list_scim_tokens()
        .await?
        .into_iter()
        .map(|t| ActorChoice {
            value: format!("scim_token:{}", t.id),
            label: t.name,
        })
        .collect();
    Ok(FilterChoices {
        actions: state.store.event_actions().await?,
        admins,
        tokens,
    })
}
