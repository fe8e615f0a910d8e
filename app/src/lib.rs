//! Gatehouse's admin console: the pages an administrator sees, and the thin server functions
//! behind them (each checks the admin session in its body, then calls `gatehouse-domain`).
//!
//! Built twice: with `ssr` into the server, and with `hydrate` into the browser's wasm.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
#[cfg(feature = "ssr")]
pub mod end_user;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod shell;
#[cfg(feature = "ssr")]
pub mod state;
pub mod style;
pub mod theme;

pub use app::App;
