//! Server functions: the console's only way to the server. Each one is thin: it checks the
//! admin session in its own body (middleware does not run when a function is called during
//! server rendering), then calls `gatehouse-domain` and returns plain data.
//!
//! Every function has a fixed URL under `/console/api/`, so the URLs do not depend on the
//! build directory and tests can call them by name.

pub mod auth;
pub mod overview;
pub mod scim;

#[cfg(feature = "ssr")]
pub(crate) mod guard {
    use crate::error::AppError;
    use crate::state::AppState;
    use gatehouse_domain::admin::Admin;
    use leptos::prelude::expect_context;
    use tower_sessions::Session;

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
        let state = expect_context::<AppState>();
        let session = session().await?;
        crate::session::signed_in_admin(&state, &session)
            .await
            .ok_or_else(|| AppError::Unauthorized.respond())
    }
}
