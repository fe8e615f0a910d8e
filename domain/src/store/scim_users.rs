//! SCIM Users as the store keeps them: the validated resource JSON plus the columns that make
//! uniqueness and Okta's hot filters fast. Every write and its event commit together; a
//! refused write changes nothing and is recorded as a failed event.

use super::user_creations::{bind_user, user_values, NewUserRow, USER_INSERT};
use super::{events, from_ms, is_unique_violation, now_ms, Store};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::scim::error::ScimError;
use crate::scim::patch::apply_patch;
use crate::scim::resource::{etag, user_columns, validate_user};
use crate::scim::schema::SchemaKind;
use crate::token::ScimToken;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

/// Who is provisioning: the token the request presented and where it came from.
#[derive(Clone, Debug)]
pub struct ScimCaller {
    pub token: ScimToken,
    pub client_ip: String,
}

impl ScimCaller {
    pub(crate) fn actor(&self) -> Actor {
        Actor::ScimToken(self.token.id.to_string())
    }
}

/// A stored User and what is computed around it.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub resource: Value,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The groups the user is a member of: (group id, display name), read-only in SCIM.
    pub groups: Vec<(String, String)>,
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ScimError {
    tracing::error!(error = %e, "SCIM store error");
    ScimError::new(
        500,
        None,
        "Gatehouse could not complete the request because of a database error; it was not applied.",
    )
}

/// How often a write is attempted again after losing a race with a concurrent writer.
pub(crate) const MAX_ATTEMPTS: usize = 10;

const USER_COLUMNS: &str = "id, resource, version, created_at, updated_at";

fn user_from_row(row: &AnyRow) -> Result<UserRecord, ScimError> {
    let resource: String = row.try_get("resource").map_err(internal)?;
    Ok(UserRecord {
        id: row.try_get("id").map_err(internal)?,
        resource: serde_json::from_str(&resource).map_err(internal)?,
        version: row.try_get("version").map_err(internal)?,
        created_at: from_ms(row.try_get("created_at").map_err(internal)?),
        updated_at: from_ms(row.try_get("updated_at").map_err(internal)?),
        groups: Vec::new(),
    })
}

/// Checks an `If-Match` header value against the current version (`*` matches any).
pub(crate) fn check_if_match(if_match: Option<&str>, version: i64) -> Result<(), ScimError> {
    match if_match.map(str::trim) {
        None | Some("*") => Ok(()),
        Some(given) => {
            let current = etag(version);
            let matches = given.split(',').map(str::trim).any(|g| {
                g == current || g.trim_start_matches("W/") == current.trim_start_matches("W/")
            });
            if matches {
                Ok(())
            } else {
                Err(ScimError::precondition_failed(format!(
                    "The resource has changed: its version is {current}, not {given}. Read it again and retry."
                )))
            }
        }
    }
}

/// The top-level attributes whose values differ between two resources, for events.
fn changed_attributes(before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut names: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A user just created: version 1, no groups yet.
fn created(id: String, resource: Value, now: i64) -> UserRecord {
    UserRecord {
        id,
        resource,
        version: 1,
        created_at: from_ms(now),
        updated_at: from_ms(now),
        groups: Vec::new(),
    }
}

async fn load_user(conn: &mut AnyConnection, id: &str) -> Result<Option<UserRecord>, ScimError> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(internal)?;
    row.as_ref().map(user_from_row).transpose()
}

fn user_not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("There is no user with id {id}."))
}

/// The 409 for a userName that is taken.
pub(crate) fn uniqueness_error(user_name: &str) -> ScimError {
    ScimError::uniqueness(format!(
        "A user with the userName \"{user_name}\" already exists (userName is unique, ignoring case)."
    ))
}

fn uniqueness_or_internal(e: sqlx::Error, user_name: &str) -> ScimError {
    if is_unique_violation(&e) {
        uniqueness_error(user_name)
    } else {
        internal(e)
    }
}

impl Store {
    /// Records a SCIM write refused before it reached the store (unreadable body, bad
    /// media type), so that failed provisioning is visible in Events too.
    pub async fn record_scim_refusal(
        &self,
        action: &'static str,
        caller: &ScimCaller,
        error: &ScimError,
    ) {
        self.record_scim_failure(action, None, caller, error).await;
    }

    /// Records a SCIM write that was refused, with the error sent back.
    pub(crate) async fn record_scim_failure(
        &self,
        action: &'static str,
        target: Option<String>,
        caller: &ScimCaller,
        error: &ScimError,
    ) {
        let event = NewEvent {
            category: Category::Provisioning,
            action,
            outcome: Outcome::Failure,
            actor: caller.actor(),
            target,
            detail: Some(
                json!({
                    "token": caller.token.name,
                    "client_ip": caller.client_ip,
                    "status": error.status,
                    "scim_type": error.scim_type.map(|t| t.as_str()),
                    "error": error.detail,
                })
                .to_string(),
            ),
        };
        if let Err(e) = self.record_event(event).await {
            tracing::warn!(error = %e, "could not record a refused SCIM write");
        }
    }

    /// `POST /Users`.
    pub async fn scim_create_user(
        &self,
        body: &Value,
        caller: &ScimCaller,
    ) -> Result<UserRecord, ScimError> {
        let result = self.create_user_inner(body, caller).await;
        if let Err(e) = &result {
            let target = body
                .get("userName")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.record_scim_failure("user.create", target, caller, e)
                .await;
        }
        result
    }

    async fn create_user_inner(
        &self,
        body: &Value,
        caller: &ScimCaller,
    ) -> Result<UserRecord, ScimError> {
        let validated = validate_user(body)?;
        let cols = user_columns(&validated.resource)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_ms();
        let event = NewEvent {
            category: Category::Provisioning,
            action: "user.created",
            outcome: Outcome::Success,
            actor: caller.actor(),
            target: Some(cols.user_name.clone()),
            detail: Some(
                json!({"user_id": id, "token": caller.token.name, "client_ip": caller.client_ip, "active": cols.active})
                    .to_string(),
            ),
        };
        let row = NewUserRow {
            id: id.clone(),
            cols,
            resource: validated.resource.to_string(),
            now_ms: now,
            event,
        };
        let row = match &self.user_creations {
            Some(queue) => match queue.insert(row).await {
                Ok(result) => return result.map(|()| created(id, validated.resource, now)),
                Err(row) => *row,
            },
            None => row,
        };
        self.insert_user(row).await?;
        Ok(created(id, validated.resource, now))
    }

    /// A user and its event in a transaction of their own (PostgreSQL, where writers run
    /// concurrently; on SQLite the batched path of `user_creations` does this).
    async fn insert_user(&self, row: NewUserRow) -> Result<(), ScimError> {
        let mut tx = self.begin_write().await.map_err(internal)?;
        let sql = format!("{USER_INSERT}{}", user_values(1));
        bind_user(sqlx::query(&sql), &row)
            .execute(&mut *tx)
            .await
            .map_err(|e| uniqueness_or_internal(e, &row.cols.user_name))?;
        events::append(&mut tx, row.event).await.map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(())
    }

    /// `GET /Users/{id}`, with the user's groups.
    pub async fn scim_get_user(&self, id: &str) -> Result<UserRecord, ScimError> {
        let mut conn = self.hot_read().await.map_err(internal)?;
        let mut user = load_user(&mut conn, id)
            .await?
            .ok_or_else(|| user_not_found(id))?;
        user.groups = self.groups_of(&mut conn, id).await?;
        Ok(user)
    }

    async fn groups_of(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, ScimError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT g.id, g.display_name FROM group_members m JOIN user_groups g ON g.id = m.group_id \
             WHERE m.user_id = $1 ORDER BY g.display_name_key",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(internal)?;
        Ok(rows)
    }

    /// `PUT /Users/{id}`: the body replaces everything the client can write.
    pub async fn scim_replace_user(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        caller: &ScimCaller,
    ) -> Result<UserRecord, ScimError> {
        let result = async {
            if let Some(body_id) = body.get("id").and_then(Value::as_str) {
                if body_id != id {
                    return Err(ScimError::mutability(format!(
                        "The id in the body ({body_id}) differs from the id in the URL ({id}); a user's id cannot change."
                    )));
                }
            }
            let validated = validate_user(body)?;
            self.update_user(id, if_match, caller, |_| Ok(validated.resource.clone())).await
        }
        .await;
        if let Err(e) = &result {
            self.record_scim_failure("user.update", Some(id.to_string()), caller, e)
                .await;
        }
        result
    }

    /// `PATCH /Users/{id}` (RFC 7644 §3.5.2).
    pub async fn scim_patch_user(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        caller: &ScimCaller,
    ) -> Result<UserRecord, ScimError> {
        let result = self
            .update_user(id, if_match, caller, |current| {
                let mut resource = current.clone();
                apply_patch(&mut resource, SchemaKind::User, id, body)?;
                Ok(resource)
            })
            .await;
        if let Err(e) = &result {
            self.record_scim_failure("user.update", Some(id.to_string()), caller, e)
                .await;
        }
        result
    }

    /// Loads, changes and stores a user in one transaction; records what changed, and
    /// deactivation or reactivation as events of their own.
    async fn update_user(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
        change: impl Fn(&Value) -> Result<Value, ScimError>,
    ) -> Result<UserRecord, ScimError> {
        // Optimistic concurrency: the UPDATE only applies to the version that was read; a
        // concurrent writer in between (possible on PostgreSQL) makes this attempt start
        // over from the new version, so no change is lost.
        for _ in 0..MAX_ATTEMPTS {
            if let Some(user) = self.try_update_user(id, if_match, caller, &change).await? {
                return Ok(user);
            }
        }
        Err(ScimError::new(
            409,
            None,
            "The user changed too often while this request was applied; retry it.",
        ))
    }

    async fn try_update_user(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
        change: &impl Fn(&Value) -> Result<Value, ScimError>,
    ) -> Result<Option<UserRecord>, ScimError> {
        let mut tx = self.begin_write().await.map_err(internal)?;
        let current = load_user(&mut tx, id)
            .await?
            .ok_or_else(|| user_not_found(id))?;
        check_if_match(if_match, current.version)?;
        let updated = change(&current.resource)?;
        let cols = user_columns(&updated)?;
        let changed = changed_attributes(&current.resource, &updated);
        if changed.is_empty() {
            tx.commit().await.map_err(internal)?;
            let mut user = current;
            let mut conn = self.hot_read().await.map_err(internal)?;
            user.groups = self.groups_of(&mut conn, id).await?;
            return Ok(Some(user));
        }
        let was_active = current
            .resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let now = now_ms();
        let applied = sqlx::query(
            "UPDATE users SET user_name = $1, user_name_key = $2, external_id = $3, display_name = $4, \
             primary_email = $5, active = $6, resource = $7, version = version + 1, updated_at = $8 \
             WHERE id = $9 AND version = $10",
        )
        .bind(&cols.user_name)
        .bind(&cols.user_name_key)
        .bind(&cols.external_id)
        .bind(&cols.display_name)
        .bind(&cols.primary_email)
        .bind(cols.active)
        .bind(updated.to_string())
        .bind(now)
        .bind(id)
        .bind(current.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| uniqueness_or_internal(e, &cols.user_name))?;
        if applied.rows_affected() != 1 {
            return Ok(None);
        }
        let base =
            json!({"user_id": id, "token": caller.token.name, "client_ip": caller.client_ip});
        let mut detail = base.clone();
        detail["changed"] = json!(changed);
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Provisioning,
                action: "user.updated",
                outcome: Outcome::Success,
                actor: caller.actor(),
                target: Some(cols.user_name.clone()),
                detail: Some(detail.to_string()),
            },
        )
        .await
        .map_err(internal)?;
        if was_active != cols.active {
            let mut detail = base.clone();
            if !cols.active {
                // Deactivation blocks the user at once: their sessions end with it.
                let ended = super::end_user_sessions::end_all_in(&mut tx, id)
                    .await
                    .map_err(internal)?;
                detail["sessions_ended"] = json!(ended);
            }
            events::append(
                &mut tx,
                NewEvent {
                    category: Category::Provisioning,
                    action: if cols.active {
                        "user.reactivated"
                    } else {
                        "user.deactivated"
                    },
                    outcome: Outcome::Success,
                    actor: caller.actor(),
                    target: Some(cols.user_name.clone()),
                    detail: Some(detail.to_string()),
                },
            )
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)?;
        let mut conn = self.hot_read().await.map_err(internal)?;
        Ok(Some(UserRecord {
            id: id.to_string(),
            resource: updated,
            version: current.version + 1,
            created_at: current.created_at,
            updated_at: from_ms(now),
            groups: self.groups_of(&mut conn, id).await?,
        }))
    }

    /// `DELETE /Users/{id}`: the user and their memberships go; their events stay.
    pub async fn scim_delete_user(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
    ) -> Result<(), ScimError> {
        let result = async {
            let mut tx = self.begin_write().await.map_err(internal)?;
            let current = load_user(&mut tx, id).await?.ok_or_else(|| user_not_found(id))?;
            check_if_match(if_match, current.version)?;
            // The user leaves their groups: those groups change, so their version and
            // lastModified move and each gets an event, for clients that sync by either.
            let groups = self.groups_of(&mut tx, id).await?;
            let now = now_ms();
            for (group_id, group_name) in &groups {
                sqlx::query("UPDATE user_groups SET version = version + 1, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(group_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(internal)?;
                events::append(
                    &mut tx,
                    NewEvent {
                        category: Category::Provisioning,
                        action: "group.members_changed",
                        outcome: Outcome::Success,
                        actor: caller.actor(),
                        target: Some(group_name.clone()),
                        detail: Some(json!({"group_id": group_id, "removed": [id], "reason": "user deleted", "token": caller.token.name}).to_string()),
                    },
                )
                .await
                .map_err(internal)?;
            }
            let sessions_ended = super::end_user_sessions::end_all_in(&mut tx, id)
                .await
                .map_err(internal)?;
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
            let user_name = current.resource.get("userName").and_then(Value::as_str).map(str::to_string);
            events::append(
                &mut tx,
                NewEvent {
                    category: Category::Provisioning,
                    action: "user.deleted",
                    outcome: Outcome::Success,
                    actor: caller.actor(),
                    target: user_name,
                    detail: Some(json!({"user_id": id, "token": caller.token.name, "client_ip": caller.client_ip, "sessions_ended": sessions_ended}).to_string()),
                },
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)
        }
        .await;
        if let Err(e) = &result {
            self.record_scim_failure("user.delete", Some(id.to_string()), caller, e)
                .await;
        }
        result
    }
}
