#![recursion_limit = "256"]

//! The `gatehouse` server: configuration, start-up, and the HTTP edges (console, health,
//! and later SCIM and SAML). The binary in `main.rs` is a thin command-line front.

pub mod assets;
pub mod backup;
pub mod cli_profiles;
pub mod client_ip;
pub mod config;
pub mod config_check;
pub mod config_file;
pub mod console_guard;
pub mod events_export;
pub mod health;
pub mod metrics;
pub mod router;
pub mod saml;
pub mod scim;
pub mod security_headers;
pub mod serve;
pub mod session_store;
pub mod telemetry;
pub mod tls;
