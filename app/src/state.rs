//! What every server function and page can reach on the server: the store and the settings.
//! `leptos_routes` provides it as context; server functions read it with `api::guard::app_state()`.

use axum::extract::FromRef;
use gatehouse_domain::fetch::FetchPolicy;
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::Store;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use std::time::Duration;

/// The server's shared state, cheap to clone.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub settings: Arc<Settings>,
}

/// Settings needed at request time, read once from configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The URL people and identity providers reach Gatehouse at, without a trailing slash.
    pub public_url: String,
    /// A session unused for this long ends.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_absolute: Duration,
    /// Days Events / Logs keeps an event (0: forever). The server's daily purge applies it;
    /// it is here so the console can show it.
    pub event_retention_days: u32,
    /// SCIM requests one token may make per second, on average (0: no limit). Bursts of
    /// twice as many are allowed. Counted per replica: see the README.
    pub scim_rate_per_second: u32,
    /// Seals secrets kept in the database (SAML profiles' private keys).
    pub sealer: Sealer,
    /// How IdP metadata may be fetched by URL (https and public addresses only, unless the
    /// operator allowed a test IdP on loopback).
    pub metadata_fetch: FetchPolicy,
}

impl Settings {
    /// Whether cookies must carry `Secure`: only when people reach us over https.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
