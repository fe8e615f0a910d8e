//! SCIM API tokens: made, listed, checked on every SCIM request, regenerated, revoked.

use super::{events, from_ms, now_ms, Store};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::ids::ScimTokenId;
use crate::token::{check_token_name, ScimToken, SCIM_TOKEN_PREFIX};
use crate::{secret, DomainError, Result};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// "Last used" is written at most this often per token, so that a busy provisioning run
/// does not turn every read into a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A change of client address is written at most this often per token: Okta sends from a
/// pool of addresses, and writing on every change would again put a write on most reads.
const LAST_USED_IP_RESOLUTION_MS: i64 = 1_000;

/// How long a token that was found usable is trusted without reading it again. Checking a
/// token is on every SCIM request, and a database read there cost more than the rest of a
/// `userName eq` lookup. Revoking or regenerating through this process's [`Store`] takes
/// effect at once (the entry is dropped); a change made by another process (the CLI, another
/// replica) takes effect within this time. Expiry is checked on every request.
const CHECKED_TOKEN_TTL: Duration = Duration::from_secs(2);

/// Bound on cached tokens per database. Only tokens found in the database are cached, so
/// this is reached only with that many live tokens; the cache is then emptied.
const CHECKED_TOKEN_MAX: usize = 1_000;

/// A token found usable, and when it was read.
struct Checked {
    token: ScimToken,
    read_at: Instant,
}

/// Tokens recently found usable: database URL → token digest → token. Process-wide rather
/// than per [`Store`] value, because every clone of a store (and every store opened on the
/// same database) must see a revocation made through any of them.
static CHECKED: LazyLock<Mutex<HashMap<String, HashMap<String, Checked>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn checked() -> std::sync::MutexGuard<'static, HashMap<String, HashMap<String, Checked>>> {
    CHECKED.lock().unwrap_or_else(|p| p.into_inner())
}

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
        let mut tx = self.begin_write().await?;
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
    /// time it takes says nothing about how close a guess was. A token found usable is
    /// trusted for [`CHECKED_TOKEN_TTL`] without another read; last use is written at most
    /// once a minute (or a second, when the client address changed).
    pub async fn authenticate_scim_token(
        &self,
        presented: &str,
        client_ip: &str,
    ) -> Result<Result<ScimToken, TokenRejection>> {
        let digest = secret::digest(presented);
        let options = self.reader.connect_options();
        let database = options.database_url.as_str();
        let cached = checked()
            .get(database)
            .and_then(|tokens| tokens.get(&digest))
            .filter(|c| c.read_at.elapsed() < CHECKED_TOKEN_TTL)
            .map(|c| c.token.clone());
        let token = match cached {
            Some(token) => token,
            None => {
                let row = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM scim_tokens WHERE token_digest = $1"
                ))
                .bind(&digest)
                .fetch_optional(&self.reader)
                .await?;
                let Some(row) = row else {
                    return Ok(Err(TokenRejection::Unknown));
                };
                let token = token_from_row(&row)?;
                if token.revoked_at.is_some() {
                    forget(database, |t| t.id == token.id);
                    return Ok(Err(TokenRejection::Revoked));
                }
                remember(database, &digest, &token);
                token
            }
        };
        let now = now_ms();
        if !token.is_usable_at(from_ms(now)) {
            forget(database, |t| t.id == token.id);
            return Ok(Err(TokenRejection::Expired));
        }
        let since = token
            .last_used_at
            .map_or(i64::MAX, |t| now.saturating_sub(super::to_ms(t)));
        let stale = since >= LAST_USED_RESOLUTION_MS
            || (token.last_used_ip.as_deref() != Some(client_ip)
                && since >= LAST_USED_IP_RESOLUTION_MS);
        if stale {
            sqlx::query(
                "UPDATE scim_tokens SET last_used_at = $1, last_used_ip = $2 WHERE id = $3",
            )
            .bind(now)
            .bind(client_ip)
            .bind(token.id.to_string())
            .execute(&self.writer)
            .await?;
            if let Some(c) = checked()
                .get_mut(database)
                .and_then(|tokens| tokens.get_mut(&digest))
            {
                c.token.last_used_at = Some(from_ms(now));
                c.token.last_used_ip = Some(client_ip.to_string());
            }
        }
        Ok(Ok(token))
    }

    /// Drops a token from the cache of checked tokens, so that its revocation or new expiry
    /// applies to the next request.
    fn forget_checked_token(&self, id: ScimTokenId) {
        let options = self.reader.connect_options();
        forget(options.database_url.as_str(), |t| t.id == id);
    }

    /// Makes a new token with the same name and ends the old one: at once (`grace` = None)
    /// or after the grace period, so an IdP can be switched over without failed requests.
    pub async fn regenerate_scim_token(
        &self,
        id: ScimTokenId,
        grace: Option<Duration>,
        actor: Actor,
    ) -> Result<(ScimToken, String)> {
        let mut tx = self.begin_write().await?;
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
        self.forget_checked_token(id);
        Ok(made)
    }

    /// Stops a token at once.
    pub async fn revoke_scim_token(&self, id: ScimTokenId, actor: Actor) -> Result<ScimToken> {
        let mut tx = self.begin_write().await?;
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
        self.forget_checked_token(id);
        Ok(token)
    }
}

fn remember(database: &str, digest: &str, token: &ScimToken) {
    let mut all = checked();
    let tokens = match all.get_mut(database) {
        Some(tokens) => tokens,
        None => all.entry(database.to_string()).or_default(),
    };
    if tokens.len() >= CHECKED_TOKEN_MAX {
        tokens.clear();
    }
    tokens.insert(
        digest.to_string(),
        Checked {
            token: token.clone(),
            read_at: Instant::now(),
        },
    );
}

fn forget(database: &str, which: impl Fn(&ScimToken) -> bool) {
    if let Some(tokens) = checked().get_mut(database) {
        tokens.retain(|_, c| !which(&c.token));
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

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    async fn new_token(store: &Store) -> (ScimToken, String) {
        store
            .create_scim_token("Okta", None, Actor::System)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_token_checked_moments_ago_is_refused_at_once_after_revoke_or_regenerate() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let (revoked, secret) = new_token(&store).await;
            assert!(store
                .authenticate_scim_token(&secret, "ip")
                .await
                .unwrap()
                .is_ok());
            store
                .revoke_scim_token(revoked.id, Actor::System)
                .await
                .unwrap();
            assert_eq!(
                store.authenticate_scim_token(&secret, "ip").await.unwrap(),
                Err(TokenRejection::Revoked),
                "{:?}",
                db.backend
            );

            // A grace period ends the cached token when it runs out, not when the cache does.
            let (old, old_secret) = new_token(&store).await;
            assert!(store
                .authenticate_scim_token(&old_secret, "ip")
                .await
                .unwrap()
                .is_ok());
            store
                .regenerate_scim_token(old.id, Some(Duration::from_millis(1)), Actor::System)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(
                store
                    .authenticate_scim_token(&old_secret, "ip")
                    .await
                    .unwrap(),
                Err(TokenRejection::Expired),
                "{:?}",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn a_revocation_by_another_process_applies_within_the_cache_time() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let (token, secret) = new_token(&store).await;
            assert!(store
                .authenticate_scim_token(&secret, "ip")
                .await
                .unwrap()
                .is_ok());
            // What `gatehouse scim-token revoke` or another replica does: a plain update
            // this process's cache does not hear about.
            sqlx::query("UPDATE scim_tokens SET revoked_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(token.id.to_string())
                .execute(&store.writer)
                .await
                .unwrap();
            assert!(
                store
                    .authenticate_scim_token(&secret, "ip")
                    .await
                    .unwrap()
                    .is_ok(),
                "within {CHECKED_TOKEN_TTL:?} the cached check still holds"
            );
            tokio::time::sleep(CHECKED_TOKEN_TTL + Duration::from_millis(100)).await;
            assert_eq!(
                store.authenticate_scim_token(&secret, "ip").await.unwrap(),
                Err(TokenRejection::Revoked),
                "{:?}",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn last_use_is_written_at_most_once_a_minute_or_a_second_for_a_new_address() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let (token, secret) = new_token(&store).await;
            let half_a_minute_ago = now_ms() - 30_000;
            sqlx::query(
                "UPDATE scim_tokens SET last_used_at = $1, last_used_ip = 'a' WHERE id = $2",
            )
            .bind(half_a_minute_ago)
            .bind(token.id.to_string())
            .execute(&store.writer)
            .await
            .unwrap();
            let last_used = |store: Store| async move {
                let t = store.list_scim_tokens().await.unwrap().remove(0);
                (t.last_used_at.map(super::super::to_ms), t.last_used_ip)
            };

            store
                .authenticate_scim_token(&secret, "a")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                last_used(store.clone()).await,
                (Some(half_a_minute_ago), Some("a".into())),
                "same address within a minute: not written ({:?})",
                db.backend
            );

            store
                .authenticate_scim_token(&secret, "b")
                .await
                .unwrap()
                .unwrap();
            let (at, ip) = last_used(store.clone()).await;
            assert_eq!(ip.as_deref(), Some("b"), "{:?}", db.backend);
            assert!(at.unwrap() > half_a_minute_ago);

            store
                .authenticate_scim_token(&secret, "a")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                last_used(store.clone()).await,
                (at, Some("b".into())),
                "a new address within a second of the last write: not written ({:?})",
                db.backend
            );
        }
    }
}
