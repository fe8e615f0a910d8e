//! SCIM API tokens: made, listed, checked on every SCIM request, regenerated, revoked.

use super::{events, from_ms, now_ms, Store};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::ids::ScimTokenId;
use crate::token::{check_token_name, ScimToken, SCIM_TOKEN_PREFIX};
use crate::{secret, DomainError, Result};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::time::Duration;

/// "Last used" is written at most this often per token, so that a busy provisioning run
/// does not turn every read into a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

const COLUMNS: &str = "id, name, created_at, last_used_at, last_used_ip, expires_at, revoked_at";

fn token_from_row(row: &AnyRow) -> Result<ScimToken> {
    let id: String = row.try_get("id")?;
    let opt = |col: &str| -> Result<Option<time::OffsetDateTime>> {
        Ok(row.try_get::<Option<i64>, _>(col)?.map(from_ms))
    };
    Ok(ScimToken {
        id: id
            .parse()
            .map_err(|e| DomainError::Database(format!("bad token id {id}: {e}")))?,
        name: row.try_get("name")?,
        created_at: from_ms(row.try_get("created_at")?),
        last_used_at: opt("last_used_at")?,
        last_used_ip: row.try_get("last_used_ip")?,
        expires_at: opt("expires_at")?,
        revoked_at: opt("revoked_at")?,
    })
}

/// Why a presented token was not accepted. Kept apart so the event can say which, while the
/// client always gets the same 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRejection {
    Unknown,
    Expired,
    Revoked,
}

impl Store {
    /// Makes a token; returns its metadata and the secret, which exists nowhere else after
    /// this call returns.
    pub async fn create_scim_token(
        &self,
        name: &str,
        expires_in: Option<Duration>,
        actor: Actor,
    ) -> Result<(ScimToken, String)> {
        let name = check_token_name(name).map_err(DomainError::Invalid)?;
        let mut tx = self.writer.begin().await?;
        let made = insert_token(&mut tx, &name, expires_in, actor, "scim_token.created").await?;
        tx.commit().await?;
        Ok(made)
    }

    /// Every token, newest first, revoked ones included (they explain old events).
    pub async fn list_scim_tokens(&self) -> Result<Vec<ScimToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM scim_tokens ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Checks a presented secret. The look-up is by the secret's SHA-256 digest, so the
    /// time it takes says nothing about how close a guess was.
    pub async fn authenticate_scim_token(
        &self,
        presented: &str,
        client_ip: &str,
    ) -> Result<Result<ScimToken, TokenRejection>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM scim_tokens WHERE token_digest = $1"
        ))
        .bind(secret::digest(presented))
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(Err(TokenRejection::Unknown));
        };
        let token = token_from_row(&row)?;
        let now = now_ms();
        if token.revoked_at.is_some() {
            return Ok(Err(TokenRejection::Revoked));
        }
        if !token.is_usable_at(from_ms(now)) {
            return Ok(Err(TokenRejection::Expired));
        }
        let stale = token
            .last_used_at
            .is_none_or(|t| now - super::to_ms(t) >= LAST_USED_RESOLUTION_MS)
            || token.last_used_ip.as_deref() != Some(client_ip);
        if stale {
            sqlx::query(
                "UPDATE scim_tokens SET last_used_at = $1, last_used_ip = $2 WHERE id = $3",
            )
            .bind(now)
            .bind(client_ip)
            .bind(token.id.to_string())
            .execute(&self.writer)
            .await?;
        }
        Ok(Ok(token))
    }

    /// Makes a new token with the same name and ends the old one: at once (`grace` = None)
    /// or after the grace period, so an IdP can be switched over without failed requests.
    pub async fn regenerate_scim_token(
        &self,
        id: ScimTokenId,
        grace: Option<Duration>,
        actor: Actor,
    ) -> Result<(ScimToken, String)> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM scim_tokens WHERE id = $1 AND revoked_at IS NULL"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let old = row
            .as_ref()
            .map(token_from_row)
            .transpose()?
            .ok_or_else(|| {
                DomainError::NotFound("There is no active token with that id.".into())
            })?;
        let now = now_ms();
        match grace {
            None => {
                sqlx::query("UPDATE scim_tokens SET revoked_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            Some(grace) => {
                let until = now + grace.as_millis() as i64;
                // Never lengthen an expiry that was already sooner.
                sqlx::query(
                    "UPDATE scim_tokens SET expires_at = $1 WHERE id = $2 AND (expires_at IS NULL OR expires_at > $1)",
                )
                .bind(until)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
        let made = insert_token(&mut tx, &old.name, None, actor, "scim_token.regenerated").await?;
        tx.commit().await?;
        Ok(made)
    }

    /// Stops a token at once.
    pub async fn revoke_scim_token(&self, id: ScimTokenId, actor: Actor) -> Result<ScimToken> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE scim_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(DomainError::NotFound(
                "There is no active token with that id.".into(),
            ));
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM scim_tokens WHERE id = $1"))
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let token = token_from_row(&row)?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Configuration,
                action: "scim_token.revoked",
                outcome: Outcome::Success,
                actor,
                target: Some(token.name.clone()),
                detail: Some(format!(r#"{{"token_id":"{}"}}"#, token.id)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}

async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    expires_in: Option<Duration>,
    actor: Actor,
    action: &'static str,
) -> Result<(ScimToken, String)> {
    let secret = format!("{SCIM_TOKEN_PREFIX}{}", secret::generate());
    let now = now_ms();
    let token = ScimToken {
        id: ScimTokenId::new(),
        name: name.to_string(),
        created_at: from_ms(now),
        last_used_at: None,
        last_used_ip: None,
        expires_at: expires_in.map(|d| from_ms(now + d.as_millis() as i64)),
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO scim_tokens (id, name, token_digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.id.to_string())
    .bind(&token.name)
    .bind(secret::digest(&secret))
    .bind(now)
    .bind(token.expires_at.map(super::to_ms))
    .execute(&mut *conn)
    .await?;
    events::append(
        conn,
        NewEvent {
            category: Category::Configuration,
            action,
            outcome: Outcome::Success,
            actor,
            target: Some(token.name.clone()),
            detail: Some(format!(r#"{{"token_id":"{}"}}"#, token.id)),
        },
    )
    .await?;
    Ok((token, secret))
}
