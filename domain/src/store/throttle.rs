//! Slowing down password guessing. Failures are counted in the database, so the limit holds
//! across restarts and across replicas.

use super::{now_ms, Store};
use crate::{DomainError, Result};
use std::time::Duration;

/// How many failed sign-ins are allowed in a sliding window before further attempts are
/// refused until the window moves on.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub window: Duration,
    /// Failures allowed for one email from one client address.
    pub per_account_and_client: u32,
    /// Failures allowed from one client address across all emails.
    pub per_client: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window: Duration::from_secs(15 * 60),
            per_account_and_client: 5,
            per_client: 30,
        }
    }
}

pub(crate) fn account_key(email_key: &str, client: &str) -> String {
    format!("account:{email_key}|client:{client}")
}

pub(crate) fn client_key(client: &str) -> String {
    format!("client:{client}")
}

impl Store {
    /// Refuses with [`DomainError::Throttled`] when either key is over its limit.
    pub(crate) async fn check_throttle(&self, email_key: &str, client: &str) -> Result<()> {
        let policy = self.throttle;
        let window_ms = policy.window.as_millis() as i64;
        let since = now_ms() - window_ms;
        for (key, limit) in [
            (
                account_key(email_key, client),
                policy.per_account_and_client,
            ),
            (client_key(client), policy.per_client),
        ] {
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(occurred_at) FROM sign_in_failures \
                 WHERE throttle_key = $1 AND occurred_at > $2",
            )
            .bind(&key)
            .bind(since)
            .fetch_one(&self.reader)
            .await?;
            if count >= i64::from(limit) {
                let free_at = oldest.unwrap_or(since) + window_ms;
                let retry_after_secs = ((free_at - now_ms()).max(1000) / 1000) as u64;
                return Err(DomainError::Throttled { retry_after_secs });
            }
        }
        Ok(())
    }

    pub(crate) async fn record_failure(&self, email_key: &str, client: &str) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        for key in [account_key(email_key, client), client_key(client)] {
            sqlx::query("INSERT INTO sign_in_failures (throttle_key, occurred_at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        // Old rows serve no purpose; trimming here keeps the table small without a job.
        sqlx::query("DELETE FROM sign_in_failures WHERE occurred_at < $1")
            .bind(now - self.throttle.window.as_millis() as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn clear_failures(&self, email_key: &str, client: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE throttle_key = $1")
            .bind(account_key(email_key, client))
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
