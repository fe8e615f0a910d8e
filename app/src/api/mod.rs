//! Server functions: the console's only way to the server. Each one is thin: it checks the
//! admin session in its own body (middleware does not run when a function is called during
//! server rendering), then calls `gatehouse-domain` and returns plain data.
//!
//! Every function has a fixed URL under `/console/api/`, so the URLs do not depend on the
//! build directory and tests can call them by name.

pub mod auth;
pub mod auth_profiles;
pub mod dashboard;
pub mod directory;
pub mod events;
pub mod overview;
pub mod scim;
pub mod settings;

#[cfg(feature = "ssr")]
pub(crate) mod guard {
    use crate::error::AppError;
    use crate::state::AppState;
    use gatehouse_domain::admin::Admin;
    use leptos::prelude::use_context;
    use tower_sessions::Session;

    /// The server's state. It is missing only when the request that started this call has
    /// gone (a browser left the page while the render waited for data, and the render's
    /// context went with it): then the call ends quietly instead of panicking in a task
    /// nobody awaits.
    pub fn app_state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::debug!("server function outlived its request; stopping");
            AppError::Internal
        })
    }

    /// The session of the current request. Missing only if the server was wired wrongly.
    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|e| {
            tracing::error!(error = %e, "no session layer on a console request");
            AppError::Internal.respond()
        })
    }

    /// The signed-in administrator, or `Unauthorized` (status 401). Every server function
    /// that is not part of signing in calls this first.
    pub async fn require_admin() -> Result<Admin, AppError> {
        let state = app_state()?;
        let session = session().await?;
        crate::session::signed_in_admin(&state, &session)
            .await
            .ok_or_else(|| AppError::Unauthorized.respond())
    }

    /// The signed-in administrator if their role may change things, else `Forbidden` (403).
    /// Every state-changing server function calls this in its own body, so an Auditor is
    /// refused however the call arrives (a page, a script, a hand-made request); reads use
    /// [`require_admin`]. The role is read from the database on each call, so a change of
    /// role takes effect at once.
    pub async fn require_administrator() -> Result<Admin, AppError> {
        let admin = require_admin().await?;
        if admin.can_change() {
            Ok(admin)
        } else {
            tracing::warn!(admin = %admin.email, "refused a change requested by an Auditor");
            Err(AppError::Forbidden(
                "You are signed in as an Auditor: you can see everything but change nothing. Ask an Administrator to make this change.".into(),
            )
            .respond())
        }
    }
}
