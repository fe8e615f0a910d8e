//! The one-time setup link: when Gatehouse starts with no administrator and none was given
//! on the command line or in the environment, it logs a link that lets the first visitor
//! create one. The link stops working once an administrator exists.

use super::{admins, now_ms, Store};
use crate::admin::Admin;
use crate::store::admins::AdminOrigin;
use crate::{secret, DomainError, Result};

impl Store {
    /// Makes a new setup link token (replacing any earlier one) if no administrator exists.
    /// Returns the token to print, or `None` when there is an administrator already. Of
    /// replicas starting at once, each prints a link and the last one written works.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        let mut tx = self.begin_write().await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admins")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            sqlx::query("DELETE FROM setup_links")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(None);
        }
        let token = secret::generate();
        // One statement that inserts or replaces: replicas starting at once on PostgreSQL
        // each get here, and a DELETE then INSERT lets two of them insert the one row.
        sqlx::query(
            "INSERT INTO setup_links (singleton, token_digest, created_at) VALUES (1, $1, $2) \
             ON CONFLICT (singleton) DO UPDATE \
             SET token_digest = excluded.token_digest, created_at = excluded.created_at",
        )
        .bind(secret::digest(&token))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Whether `token` is the live setup link's token.
    pub async fn setup_token_is_valid(&self, token: &str) -> Result<bool> {
        let row: Option<(String,)> = sqlx::query_as("SELECT token_digest FROM setup_links")
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.is_some_and(|(digest,)| secret::matches(token, &digest)))
    }

    /// Creates the first administrator through the setup link. The token is consumed in the
    /// same transaction, so of two visitors racing with one link only one succeeds, and a
    /// refused email or password leaves the link usable.
    pub async fn create_admin_with_setup_token(
        &self,
        token: &str,
        email: &str,
        password: &str,
    ) -> Result<Admin> {
        let gone = || {
            DomainError::NotFound(
                "This setup link is no longer valid. An administrator may already exist: sign in instead.".into(),
            )
        };
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM setup_links WHERE token_digest = $1")
            .bind(secret::digest(token))
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() != 1 {
            return Err(gone());
        }
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admins")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Err(gone());
        }
        let admin = admins::insert_admin(&mut tx, email, password, AdminOrigin::SetupLink).await?;
        tx.commit().await?;
        Ok(admin)
    }
}
