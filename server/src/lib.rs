#![recursion_limit = "256"]

//! The `gatehouse` server: configuration, start-up, and the HTTP edges (console, health,
//! and later SCIM and SAML). The binary in `main.rs` is a thin command-line front.

pub mod assets;
pub mod config;
pub mod console_guard;
pub mod health;
pub mod router;
pub mod scim;
pub mod serve;
pub mod session_store;
pub mod telemetry;
