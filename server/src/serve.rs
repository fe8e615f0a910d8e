//! Start-up and shutdown of the server: configuration checks, the database, the first
//! administrator, then HTTP until SIGTERM or Ctrl-C.

use crate::config::{redact_url, ServeArgs};
use crate::router;
use gatehouse_app::state::{AppState, Settings};
use gatehouse_domain::fetch::FetchPolicy;
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::Store;
use leptos::prelude::LeptosOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not start, said so the operator knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot use the database at {url}: {reason}")]
    Database { url: String, reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
}

/// Opens the database named by the configuration and brings its schema up to date.
pub async fn open_store(args: &crate::config::StoreArgs) -> Result<Store, StartError> {
    let url = args.resolve_database_url().map_err(StartError::Config)?;
    Store::open(&url).await.map_err(|e| StartError::Database {
        url: redact_url(&url),
        reason: e.to_string(),
    })
}

pub fn site_root(args: &ServeArgs) -> Result<PathBuf, StartError> {
    let root = args
        .site_dir
        .clone()
        .or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/site"));
    let script = root.join("pkg").join("gatehouse.js");
    if !script.is_file() {
        return Err(StartError::Config(format!(
            "the site files are not at {} (no pkg/gatehouse.js there). Build them with `cargo leptos build --release` \
             and run from the checkout, or set GATEHOUSE_SITE_DIR to the built site directory (target/site)",
            root.display()
        )));
    }
    Ok(root)
}

/// Everything the server needs, checked, before it binds the port.
pub async fn prepare(args: &ServeArgs) -> Result<AppState, StartError> {
    let public_url = args.resolve_public_url().map_err(StartError::Config)?;
    let first_admin = args.first_admin().map_err(StartError::Config)?;
    let site_root = site_root(args)?;
    let store = open_store(&args.store).await?;
    tracing::info!(database = store.backend().name(), "database ready");

    if let Some((email, password)) = first_admin {
        match store.ensure_first_admin(&email, &password).await {
            Ok(Some(admin)) => tracing::info!(admin = %admin.email, "created the first administrator from GATEHOUSE_ADMIN_EMAIL"),
            Ok(None) => tracing::info!("an administrator exists; GATEHOUSE_ADMIN_EMAIL and GATEHOUSE_ADMIN_PASSWORD are ignored"),
            Err(e) => return Err(StartError::Config(format!("GATEHOUSE_ADMIN_EMAIL / GATEHOUSE_ADMIN_PASSWORD: {e}"))),
        }
    }
    if let Some(token) = store
        .issue_setup_token()
        .await
        .map_err(|e| StartError::Database {
            url: "(configured database)".into(),
            reason: e.to_string(),
        })?
    {
        let link = format!("{public_url}/console/setup?token={token}");
        // The link is a one-time secret the operator must see; it dies when used.
        tracing::warn!(
            "no administrator exists yet. Open this one-time link to create one: {link}"
        );
        eprintln!("\n  No administrator yet. Create one here (works once):\n\n    {link}\n");
    }

    let sealer = Sealer::new(
        args.store
            .resolve_secret_key()
            .map_err(StartError::Config)?,
    );
    if args.metadata_allow_private {
        tracing::warn!("GATEHOUSE_METADATA_ALLOW_PRIVATE is on: IdP metadata may be fetched over plain http and from loopback or private addresses; use it only for a test IdP");
    }

    let leptos_options = LeptosOptions::builder()
        .output_name(env!("CARGO_PKG_NAME").replace("-server", ""))
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.listen)
        .build();

    Ok(AppState {
        leptos_options,
        store,
        settings: Arc::new(Settings {
            public_url,
            session_idle: args.session_idle(),
            session_absolute: args.session_absolute(),
            event_retention_days: args.event_retention_days,
            scim_rate_per_second: args.scim_rate_limit,
            sealer,
            metadata_fetch: FetchPolicy {
                allow_private: args.metadata_allow_private,
                ..FetchPolicy::default()
            },
        }),
    })
}

/// Serves until SIGTERM or Ctrl-C; in-flight requests finish before the process exits.
pub async fn run(args: ServeArgs) -> Result<(), StartError> {
    let state = prepare(&args).await?;
    let store = state.store.clone();
    let public_url = state.settings.public_url.clone();

    let cleanup_store = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            match cleanup_store.delete_expired_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "removed expired console sessions"),
                Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
            }
        }
    });

    if args.event_retention_days > 0 {
        crate::events_export::spawn_retention(store.clone(), args.event_retention_days);
    }

    // Outermost, so every layer and handler sees the client's address, not the proxy's.
    let app = router::build_with(
        state,
        crate::metrics::Metrics::new(args.metrics_token.clone()),
    )
    .layer(axum::middleware::from_fn_with_state(
        args.trusted_proxies.clone(),
        crate::client_ip::resolve,
    ));
    if !args.trusted_proxies.is_empty() {
        tracing::info!(trusted_proxies = %args.trusted_proxies, "client addresses of requests from these proxies are taken from X-Forwarded-For");
    }
    let tls = match args.tls_files().map_err(StartError::Config)? {
        Some((cert, key)) => Some(crate::tls::acceptor(&cert, &key).map_err(StartError::Config)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| StartError::Listen {
            addr: args.listen,
            reason: e.to_string(),
        })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listen = %args.listen, scheme, public_url = %public_url, "Gatehouse is serving; the console is at {public_url}/console");
    let served = match tls {
        None => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        }
        Some(acceptor) => {
            use axum::serve::ListenerExt as _;
            let listener = crate::tls::TlsListener::new(listener, acceptor).map_err(|e| {
                StartError::Listen {
                    addr: args.listen,
                    reason: e.to_string(),
                }
            })?;
            // `tap_io` only so that axum gives the peer's address as ConnectInfo.
            axum::serve(
                listener.tap_io(|_| {}),
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        }
    };
    served.map_err(|e| StartError::Listen {
        addr: args.listen,
        reason: e.to_string(),
    })?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
