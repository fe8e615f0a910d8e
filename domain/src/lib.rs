//! Everything in Gatehouse that is neither UI nor HTTP.
//!
//! The plain data types (models, identifiers, errors) compile everywhere, including the
//! browser's wasm build, so the console can share them with the server. The store, password
//! hashing and protocol code sit behind the `server` feature: the wasm build never compiles
//! sqlx or any other server-only dependency.

pub mod admin;
pub mod auth_profile;
pub mod error;
pub mod event;
pub mod ids;
pub mod token;

#[cfg(feature = "server")]
pub mod fetch;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod saml;
#[cfg(feature = "server")]
pub mod saml_profiles;
#[cfg(feature = "server")]
pub mod scim;
#[cfg(feature = "server")]
pub mod sealed;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::{DomainError, Result};
