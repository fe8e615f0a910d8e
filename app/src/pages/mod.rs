//! One file per console page.

pub mod auth_profiles;
pub mod dashboard;
pub mod events;
pub mod groups;
pub mod not_found;
pub mod scim_import;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod users;
