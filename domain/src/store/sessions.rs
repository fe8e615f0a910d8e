//! Console sessions, stored in the same database as everything else so that every replica
//! sees them. Each row also names its administrator, so "end this person's sessions" is
//! one indexed delete.

use super::{now_ms, to_ms, Store};
use crate::ids::AdminId;
use crate::Result;
use time::OffsetDateTime;

/// A session as stored: opaque JSON data, the administrator it belongs to, and its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub id: String,
    pub admin_id: Option<AdminId>,
    pub data: String,
    pub expires_at: OffsetDateTime,
}

impl Store {
    /// Inserts a new session; returns `false` if the id is taken (the caller picks another).
    pub async fn create_session(&self, s: &StoredSession) -> Result<bool> {
        let result = sqlx::query(
            "INSERT INTO admin_sessions (id, admin_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(s.admin_id.map(|a| a.to_string()))
        .bind(&s.data)
        .bind(to_ms(s.expires_at))
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Inserts or replaces a session.
    pub async fn save_session(&self, s: &StoredSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO admin_sessions (id, admin_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET admin_id = excluded.admin_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(&s.id)
        .bind(s.admin_id.map(|a| a.to_string()))
        .bind(&s.data)
        .bind(to_ms(s.expires_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Loads a session that has not expired.
    pub async fn load_session(&self, id: &str) -> Result<Option<StoredSession>> {
        let row: Option<(String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT id, admin_id, data, expires_at FROM admin_sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now_ms())
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|(id, admin_id, data, expires_at)| StoredSession {
            id,
            admin_id: admin_id.and_then(|a| a.parse().ok()),
            data,
            expires_at: super::from_ms(expires_at),
        }))
    }

    pub async fn delete_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM admin_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Ends every session of one administrator; returns how many there were.
    pub async fn delete_sessions_of(&self, admin: AdminId) -> Result<u64> {
        let r = sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
            .bind(admin.to_string())
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }

    /// Removes expired sessions; run periodically.
    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        let r = sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }
}
