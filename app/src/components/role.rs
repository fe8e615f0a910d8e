//! What the signed-in administrator's role lets the console offer. An Auditor sees the
//! pages' controls disabled, so nothing invites a change the server will refuse
//! (`api::guard::require_administrator` refuses it anyway, checked in each function's body).
//! Disabled rather than removed: the page still shows what an Administrator can do there
//! and the values the forms hold. (Settings, which has the administrator in its own data,
//! leaves out its add and remove controls instead.)

use crate::error::AppError;
use gatehouse_domain::admin::Admin;
use leptos::prelude::*;

/// The signed-in administrator, loaded once by the console's frame and shared with its
/// pages through the context.
#[derive(Clone, Copy)]
pub struct SignedInAdmin(pub Resource<Result<Admin, AppError>>);

/// Whether the controls that change something must be disabled: true for an Auditor, and
/// also while the role is not yet known, so a control is never briefly usable by mistake.
/// Read it inside a `<Suspense/>` so that the server renders the settled answer and
/// hydration agrees with it.
pub fn use_read_only() -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let signed_in = use_context::<SignedInAdmin>();
    move || match signed_in {
        Some(SignedInAdmin(admin)) => !matches!(admin.get(), Some(Ok(a)) if a.can_change()),
        None => true,
    }
}
