//! SCIM 2.0 (RFC 7643 / RFC 7644) protocol logic that needs neither HTTP nor a database.
//!
//! [`filter`] parses the `filter` query parameter of list requests and [`path`] the `path`
//! of PATCH operations. Both are pure functions from text to a tree, so the rules of the
//! grammar are tested here once, apart from how the store evaluates a filter.

pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod query;
pub mod resource;
pub mod schema;
