//! End-user sessions: what a successful SAML sign-in starts. Separate from admin sessions.
//!
//! The browser holds a random secret; the database holds only its SHA-256, so a copy of
//! the database cannot be turned into signed-in browsers. A session is valid while it has
//! not expired *and* its user is active: deactivation over SCIM ends the sessions in the
//! same transaction, and the look-up checks `active` again in case of a race.

use super::{events, from_ms, now_ms, to_ms, Store};
use crate::auth_profile::{AuthProfileId, AuthProfileRef, EndUserSession, GroupRef};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::{secret, DomainError, Result};
use serde_json::json;
use sqlx::AnyConnection;
use time::{Duration, OffsetDateTime};

/// A session's lifetime when the caller has no reason to choose another.
pub const DEFAULT_END_USER_SESSION_TTL: Duration = Duration::hours(8);

/// The longest session accepted, whatever the caller asks.
pub const MAX_END_USER_SESSION_TTL: Duration = Duration::days(30);

/// "Last seen" is written at most this often per session, so a busy portal does not turn
/// every request into a write.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

/// What a successful sign-in starts a session with.
#[derive(Clone, Debug)]
pub struct NewEndUserSession {
    pub user_id: String,
    pub profile_id: AuthProfileId,
    /// The NameID the IdP asserted (kept for single logout and for the portal).
    pub name_id: String,
    pub session_index: Option<String>,
    /// When the session ends: at most [`MAX_END_USER_SESSION_TTL`] from now; the caller may
    /// shorten it to the IdP's SessionNotOnOrAfter.
    pub expires_at: OffsetDateTime,
    /// For the `sign_in.succeeded` event.
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

const SESSION_SELECT: &str = "SELECT s.id, s.user_id, s.profile_id, s.name_id, s.created_at, s.expires_at, \
     s.last_seen_at, u.user_name, u.display_name, p.name \
     FROM end_user_sessions s JOIN users u ON u.id = s.user_id JOIN auth_profiles p ON p.id = s.profile_id";

type SessionRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    Option<String>,
    String,
);

fn session_from_row(row: SessionRow, groups: Vec<GroupRef>) -> Result<EndUserSession> {
    let (id, user_id, profile_id, name_id, created, expires, seen, user_name, display_name, pname) =
        row;
    Ok(EndUserSession {
        session_id: id,
        user_id,
        user_name,
        display_name,
        profile: AuthProfileRef {
            id: super::auth_profiles::parse_profile_id(&profile_id)?,
            name: pname,
        },
        groups,
        name_id,
        created_at: from_ms(created),
        expires_at: from_ms(expires),
        last_seen_at: from_ms(seen),
    })
}

async fn groups_of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<GroupRef>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT g.id, g.display_name FROM group_members m JOIN user_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 ORDER BY g.display_name_key, g.id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, display_name)| GroupRef { id, display_name })
        .collect())
}

/// Ends every session of a user inside the caller's transaction (SCIM deactivation and
/// deletion); returns how many there were.
pub(crate) async fn end_all_in(conn: &mut AnyConnection, user_id: &str) -> Result<u64> {
    let r = sqlx::query("DELETE FROM end_user_sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

impl Store {
    /// Starts a session for a user who just signed in, and records `sign_in.succeeded` in
    /// the same transaction. Returns the session and its secret for the cookie; the secret
    /// exists nowhere else after this returns. Refused if the user is not active at this
    /// moment (deactivated since the assertion was checked).
    pub async fn start_end_user_session(
        &self,
        new: &NewEndUserSession,
    ) -> Result<(EndUserSession, String)> {
        let now = now_ms();
        let expires = to_ms(new.expires_at);
        if expires <= now {
            return Err(DomainError::Invalid(
                "A session must end in the future.".into(),
            ));
        }
        if expires > now + MAX_END_USER_SESSION_TTL.whole_milliseconds() as i64 {
            return Err(DomainError::Invalid(format!(
                "A session may last at most {} days.",
                MAX_END_USER_SESSION_TTL.whole_days()
            )));
        }
        if new.name_id.is_empty() || new.name_id.len() > 1024 {
            return Err(DomainError::Invalid(
                "The NameID must be 1 to 1024 characters.".into(),
            ));
        }
        let cookie_secret = secret::generate();
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.begin_write().await?;
        // Insert only for an active user, in one statement, so a deactivation that commits
        // first cannot be followed by a session.
        let inserted = sqlx::query(
            "INSERT INTO end_user_sessions (id_hash, id, user_id, profile_id, name_id, session_index, created_at, expires_at, last_seen_at) \
             SELECT $1, $2, u.id, $3, $4, $5, $6, $7, $6 FROM users u WHERE u.id = $8 AND u.active = $9",
        )
        .bind(secret::digest(&cookie_secret))
        .bind(&id)
        .bind(new.profile_id.to_string())
        .bind(&new.name_id)
        .bind(&new.session_index)
        .bind(now)
        .bind(expires)
        .bind(&new.user_id)
        .bind(true)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if super::auth_profiles::is_foreign_key_violation(&e) {
                DomainError::NotFound(format!(
                    "There is no authentication profile with id {}.",
                    new.profile_id
                ))
            } else {
                e.into()
            }
        })?;
        if inserted.rows_affected() != 1 {
            return Err(DomainError::NotFound(
                "The user does not exist or is not active; no session was started.".into(),
            ));
        }
        let row: SessionRow = sqlx::query_as(&format!("{SESSION_SELECT} WHERE s.id = $1"))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        let groups = groups_of_user(&mut tx, &new.user_id).await?;
        let session = session_from_row(row, groups)?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::SignIn,
                action: "sign_in.succeeded",
                outcome: Outcome::Success,
                actor: Actor::Anonymous,
                target: Some(session.user_name.clone()),
                detail: Some(
                    json!({
                        "user_id": session.user_id,
                        "profile_id": session.profile.id.to_string(),
                        "profile": session.profile.name,
                        "session_id": session.session_id,
                        "request_id": new.request_id,
                        "client_ip": new.client_ip,
                        "expires_at": expires,
                    })
                    .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((session, cookie_secret))
    }

    /// The session a cookie secret belongs to, if it has not expired and its user is still
    /// active; with the user's current groups, for the portal.
    pub async fn find_end_user_session(
        &self,
        cookie_secret: &str,
    ) -> Result<Option<EndUserSession>> {
        let now = now_ms();
        let mut conn = self.reader.acquire().await?;
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "{SESSION_SELECT} WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.active = $3"
        ))
        .bind(secret::digest(cookie_secret))
        .bind(now)
        .bind(true)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let groups = groups_of_user(&mut conn, &row.1).await?;
        let session = session_from_row(row, groups)?;
        drop(conn);
        if now - to_ms(session.last_seen_at) >= LAST_SEEN_RESOLUTION_MS {
            sqlx::query("UPDATE end_user_sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&session.session_id)
                .execute(&self.writer)
                .await?;
        }
        Ok(Some(session))
    }

    /// Signs out the browser holding this secret; `false` if there was no such session.
    pub async fn sign_out_end_user(&self, cookie_secret: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let row: Option<(String, String, String)> = sqlx::query_as(
            "DELETE FROM end_user_sessions WHERE id_hash = $1 RETURNING id, user_id, profile_id",
        )
        .bind(secret::digest(cookie_secret))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session_id, user_id, profile_id)) = row else {
            return Ok(false);
        };
        let user_name: Option<(String,)> =
            sqlx::query_as("SELECT user_name FROM users WHERE id = $1")
                .bind(&user_id)
                .fetch_optional(&mut *tx)
                .await?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::SignIn,
                action: "sign_in.signed_out",
                outcome: Outcome::Success,
                actor: Actor::Anonymous,
                target: user_name.map(|(n,)| n),
                detail: Some(
                    json!({"user_id": user_id, "profile_id": profile_id, "session_id": session_id})
                        .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends every session of a user (the admin's "End sessions"), with an event naming
    /// how many; returns that number.
    pub async fn end_sessions_of_user(&self, user_id: &str, actor: Actor) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let user: Option<(String,)> = sqlx::query_as("SELECT user_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (user_name,) = user
            .ok_or_else(|| DomainError::NotFound(format!("There is no user with id {user_id}.")))?;
        let ended = end_all_in(&mut tx, user_id).await?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Administration,
                action: "user.sessions_ended",
                outcome: Outcome::Success,
                actor,
                target: Some(user_name),
                detail: Some(json!({"user_id": user_id, "sessions_ended": ended}).to_string()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// A user's sessions that have not expired, newest first (for the user's page).
    pub async fn end_user_sessions_of(&self, user_id: &str) -> Result<Vec<EndUserSession>> {
        let mut conn = self.reader.acquire().await?;
        let rows: Vec<SessionRow> = sqlx::query_as(&format!(
            "{SESSION_SELECT} WHERE s.user_id = $1 AND s.expires_at > $2 ORDER BY s.created_at DESC, s.id DESC"
        ))
        .bind(user_id)
        .bind(now_ms())
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let groups = groups_of_user(&mut conn, user_id).await?;
        rows.into_iter()
            .map(|r| session_from_row(r, groups.clone()))
            .collect()
    }

    /// How many unexpired sessions a user has.
    pub async fn count_end_user_sessions(&self, user_id: &str) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM end_user_sessions WHERE user_id = $1 AND expires_at > $2",
        )
        .bind(user_id)
        .bind(now_ms())
        .fetch_one(&self.reader)
        .await?;
        Ok(n as u64)
    }
}
