//! The admin session: who is signed in, and since when. Shared by the server functions and
//! by the server's page guard, so both judge a session the same way.

use crate::state::AppState;
use gatehouse_domain::admin::Admin;
use gatehouse_domain::ids::AdminId;
use time::OffsetDateTime;
use tower_sessions::Session;

/// Session key holding the signed-in administrator's id. The session store also copies it
/// into its own column, so all sessions of one administrator can be ended at once.
pub const ADMIN_ID_KEY: &str = "admin_id";
/// Session key holding the sign-in time (Unix seconds), for the absolute lifetime.
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";

/// The administrator signed in on this session, if the session is still within its absolute
/// lifetime and the administrator still exists. An expired session is cleared.
pub async fn signed_in_admin(state: &AppState, session: &Session) -> Option<Admin> {
    let admin_id: AdminId = session.get(ADMIN_ID_KEY).await.ok()??;
    let signed_in_at: i64 = session.get(SIGNED_IN_AT_KEY).await.ok()??;
    let age = OffsetDateTime::now_utc().unix_timestamp() - signed_in_at;
    if age < 0 || age as u64 > state.settings.session_absolute.as_secs() {
        let _ = session.flush().await;
        return None;
    }
    match state.store.find_admin(admin_id).await {
        Ok(Some(admin)) => Some(admin),
        Ok(None) => {
            let _ = session.flush().await;
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "could not load the signed-in administrator");
            None
        }
    }
}

/// Starts an admin session: a new session id (so an id planted before sign-in is useless),
/// then the administrator and the time.
pub async fn start(session: &Session, admin: &Admin) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(ADMIN_ID_KEY, admin.id).await?;
    session
        .insert(SIGNED_IN_AT_KEY, OffsetDateTime::now_utc().unix_timestamp())
        .await?;
    Ok(())
}
