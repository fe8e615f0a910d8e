//! Pieces shared by the console's pages.

pub mod copy_field;
pub mod event_list;
pub mod events_chart;
pub mod layout;
pub mod page;
pub mod pending_transition;
pub mod role;

pub use layout::ConsoleLayout;
pub use page::{EmptyState, ErrorNotice, PageHeader};
pub use pending_transition::PendingTransition;
pub use role::use_read_only;
