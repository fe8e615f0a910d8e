//! SCIM Groups as the store keeps them: the validated resource JSON, the columns for
//! uniqueness and filters, and membership as rows of `group_members`, so adding one member
//! to a large group is one insert, and concurrent changes to one group lose nothing.

use super::scim_users::{check_if_match, internal, ScimCaller, MAX_ATTEMPTS};
use super::{events, from_ms, is_unique_violation, now_ms, Store};
use crate::event::{Category, NewEvent, Outcome};
use crate::scim::error::ScimError;
use crate::scim::patch::apply_patch;
use crate::scim::resource::{group_columns, validate_group};
use crate::scim::schema::SchemaKind;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// A stored Group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRecord {
    pub id: String,
    pub resource: Value,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Members as (user id, userName), or `None` when the caller asked not to load them
    /// (`excludedAttributes=members`, which Okta uses to avoid reading huge groups).
    pub members: Option<Vec<(String, String)>>,
}

const GROUP_COLUMNS: &str = "id, resource, version, created_at, updated_at";

fn group_from_row(row: &AnyRow) -> Result<GroupRecord, ScimError> {
    let resource: String = row.try_get("resource").map_err(internal)?;
    Ok(GroupRecord {
        id: row.try_get("id").map_err(internal)?,
        resource: serde_json::from_str(&resource).map_err(internal)?,
        version: row.try_get("version").map_err(internal)?,
        created_at: from_ms(row.try_get("created_at").map_err(internal)?),
        updated_at: from_ms(row.try_get("updated_at").map_err(internal)?),
        members: None,
    })
}

fn group_not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("There is no group with id {id}."))
}

fn uniqueness_or_internal(e: sqlx::Error, name: &str) -> ScimError {
    if is_unique_violation(&e) {
        ScimError::uniqueness(format!(
            "A group named \"{name}\" already exists (group names are unique, ignoring case)."
        ))
    } else {
        internal(e)
    }
}

async fn load_group(conn: &mut AnyConnection, id: &str) -> Result<Option<GroupRecord>, ScimError> {
    let row = sqlx::query(&format!(
        "SELECT {GROUP_COLUMNS} FROM user_groups WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(internal)?;
    row.as_ref().map(group_from_row).transpose()
}

async fn member_ids(
    conn: &mut AnyConnection,
    group_id: &str,
) -> Result<BTreeSet<String>, ScimError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT user_id FROM group_members WHERE group_id = $1")
            .bind(group_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(internal)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Refuses member ids that are not users, naming them (a group cannot hold nobody).
async fn check_users_exist(conn: &mut AnyConnection, ids: &[String]) -> Result<(), ScimError> {
    let mut missing = Vec::new();
    for id in ids {
        let found: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(internal)?;
        if found.is_none() {
            missing.push(id.as_str());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "These members are not users Gatehouse knows: {}. Provision the users before adding them to a group.",
            missing.join(", ")
        )))
    }
}

/// Adds and removes members; returns what actually changed (present members added again
/// and absent members removed are no-ops).
async fn change_members(
    conn: &mut AnyConnection,
    group_id: &str,
    add: &[String],
    remove: &[String],
) -> Result<(Vec<String>, Vec<String>), ScimError> {
    check_users_exist(conn, add).await?;
    let now = now_ms();
    let mut added = Vec::new();
    for user in add {
        let r = sqlx::query(
            "INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(internal)?;
        if r.rows_affected() == 1 {
            added.push(user.clone());
        }
    }
    let mut removed = Vec::new();
    for user in remove {
        let r = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user)
            .execute(&mut *conn)
            .await
            .map_err(internal)?;
        if r.rows_affected() == 1 {
            removed.push(user.clone());
        }
    }
    Ok((added, removed))
}

/// The change that makes the membership equal `wanted`.
async fn replace_members(
    conn: &mut AnyConnection,
    group_id: &str,
    wanted: &[String],
) -> Result<(Vec<String>, Vec<String>), ScimError> {
    let current = member_ids(conn, group_id).await?;
    let wanted_set: BTreeSet<String> = wanted.iter().cloned().collect();
    let add: Vec<String> = wanted_set.difference(&current).cloned().collect();
    let remove: Vec<String> = current.difference(&wanted_set).cloned().collect();
    change_members(conn, group_id, &add, &remove).await
}

impl Store {
    /// `POST /Groups` (Okta's Group Push).
    pub async fn scim_create_group(
        &self,
        body: &Value,
        caller: &ScimCaller,
    ) -> Result<GroupRecord, ScimError> {
        let result = async {
            let validated = validate_group(body)?;
            let cols = group_columns(&validated.resource)?;
            let id = uuid::Uuid::now_v7().to_string();
            let now = now_ms();
            let mut tx = self.writer.begin().await.map_err(internal)?;
            sqlx::query(
                "INSERT INTO user_groups (id, display_name, display_name_key, external_id, resource, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
            )
            .bind(&id)
            .bind(&cols.display_name)
            .bind(&cols.display_name_key)
            .bind(&cols.external_id)
            .bind(validated.resource.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| uniqueness_or_internal(e, &cols.display_name))?;
            let members = validated.members.unwrap_or_default();
            let (added, _) = change_members(&mut tx, &id, &members, &[]).await?;
            events::append(
                &mut tx,
                NewEvent {
                    category: Category::Provisioning,
                    action: "group.created",
                    outcome: Outcome::Success,
                    actor: caller.actor(),
                    target: Some(cols.display_name.clone()),
                    detail: Some(json!({"group_id": id, "members_added": added, "token": caller.token.name, "client_ip": caller.client_ip}).to_string()),
                },
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            self.scim_get_group(&id, true).await
        }
        .await;
        if let Err(e) = &result {
            let target = body
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.record_scim_failure("group.create", target, caller, e)
                .await;
        }
        result
    }

    /// `GET /Groups/{id}`; members only when `with_members`.
    pub async fn scim_get_group(
        &self,
        id: &str,
        with_members: bool,
    ) -> Result<GroupRecord, ScimError> {
        let mut conn = self.reader.acquire().await.map_err(internal)?;
        let mut group = load_group(&mut conn, id)
            .await?
            .ok_or_else(|| group_not_found(id))?;
        if with_members {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT u.id, u.user_name FROM group_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_id = $1 ORDER BY u.user_name_key",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(internal)?;
            group.members = Some(rows);
        }
        Ok(group)
    }

    /// `PUT /Groups/{id}`: replaces the name and attributes, and the members when the body
    /// lists them. The answer carries the members only when `with_members` (loading all of
    /// a large group's members is what would make a write cost grow with the group).
    pub async fn scim_replace_group(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        caller: &ScimCaller,
        with_members: bool,
    ) -> Result<GroupRecord, ScimError> {
        let result = async {
            if let Some(body_id) = body.get("id").and_then(Value::as_str) {
                if body_id != id {
                    return Err(ScimError::mutability(format!(
                        "The id in the body ({body_id}) differs from the id in the URL ({id}); a group's id cannot change."
                    )));
                }
            }
            let validated = validate_group(body)?;
            self.update_group(id, if_match, caller, with_members, |_| {
                Ok((
                    validated.resource.clone(),
                    MemberChange::Replace(validated.members.clone()),
                ))
            })
            .await
        }
        .await;
        if let Err(e) = &result {
            self.record_scim_failure("group.update", Some(id.to_string()), caller, e)
                .await;
        }
        result
    }

    /// `PATCH /Groups/{id}`: Okta's rename and member add/remove/replace.
    pub async fn scim_patch_group(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        caller: &ScimCaller,
        with_members: bool,
    ) -> Result<GroupRecord, ScimError> {
        let result = self
            .update_group(id, if_match, caller, with_members, |current| {
                let mut resource = current.clone();
                let outcome = apply_patch(&mut resource, SchemaKind::Group, id, body)?;
                let change = match outcome.members_replaced {
                    Some(all) => MemberChange::Replace(Some(all)),
                    None => MemberChange::Delta {
                        add: outcome.members_added,
                        remove: outcome.members_removed,
                    },
                };
                Ok((resource, change))
            })
            .await;
        if let Err(e) = &result {
            self.record_scim_failure("group.update", Some(id.to_string()), caller, e)
                .await;
        }
        result
    }

    async fn update_group(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
        with_members: bool,
        change: impl Fn(&Value) -> Result<(Value, MemberChange), ScimError>,
    ) -> Result<GroupRecord, ScimError> {
        // As for users: the UPDATE applies only to the version read, and a lost race starts
        // over (membership rows included, since they roll back with the attempt).
        for _ in 0..MAX_ATTEMPTS {
            if self.try_update_group(id, if_match, caller, &change).await? {
                return self.scim_get_group(id, with_members).await;
            }
        }
        Err(ScimError::new(
            409,
            None,
            "The group changed too often while this request was applied; retry it.",
        ))
    }

    /// One attempt; `false` when a concurrent writer changed the group first.
    async fn try_update_group(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
        change: &impl Fn(&Value) -> Result<(Value, MemberChange), ScimError>,
    ) -> Result<bool, ScimError> {
        let mut tx = self.writer.begin().await.map_err(internal)?;
        let current = load_group(&mut tx, id)
            .await?
            .ok_or_else(|| group_not_found(id))?;
        check_if_match(if_match, current.version)?;
        let (updated, members) = change(&current.resource)?;
        let cols = group_columns(&updated)?;
        let (added, removed) = match members {
            MemberChange::Replace(Some(all)) => replace_members(&mut tx, id, &all).await?,
            MemberChange::Replace(None) => (Vec::new(), Vec::new()),
            MemberChange::Delta { add, remove } => {
                change_members(&mut tx, id, &add, &remove).await?
            }
        };
        let resource_changed = updated != current.resource;
        if !resource_changed && added.is_empty() && removed.is_empty() {
            tx.commit().await.map_err(internal)?;
            return Ok(true);
        }
        let applied = sqlx::query(
            "UPDATE user_groups SET display_name = $1, display_name_key = $2, external_id = $3, resource = $4, \
             version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7",
        )
        .bind(&cols.display_name)
        .bind(&cols.display_name_key)
        .bind(&cols.external_id)
        .bind(updated.to_string())
        .bind(now_ms())
        .bind(id)
        .bind(current.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| uniqueness_or_internal(e, &cols.display_name))?;
        if applied.rows_affected() != 1 {
            return Ok(false);
        }
        let base =
            json!({"group_id": id, "token": caller.token.name, "client_ip": caller.client_ip});
        let old_name = current
            .resource
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if old_name != cols.display_name {
            let mut detail = base.clone();
            detail["from"] = json!(old_name);
            detail["to"] = json!(cols.display_name);
            self.append_group_event(&mut tx, "group.renamed", &cols.display_name, caller, detail)
                .await?;
        } else if resource_changed {
            self.append_group_event(
                &mut tx,
                "group.updated",
                &cols.display_name,
                caller,
                base.clone(),
            )
            .await?;
        }
        if !added.is_empty() || !removed.is_empty() {
            let mut detail = base;
            detail["added"] = json!(added);
            detail["removed"] = json!(removed);
            self.append_group_event(
                &mut tx,
                "group.members_changed",
                &cols.display_name,
                caller,
                detail,
            )
            .await?;
        }
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }

    async fn append_group_event(
        &self,
        conn: &mut AnyConnection,
        action: &'static str,
        name: &str,
        caller: &ScimCaller,
        detail: Value,
    ) -> Result<(), ScimError> {
        events::append(
            conn,
            NewEvent {
                category: Category::Provisioning,
                action,
                outcome: Outcome::Success,
                actor: caller.actor(),
                target: Some(name.to_string()),
                detail: Some(detail.to_string()),
            },
        )
        .await
        .map_err(internal)?;
        Ok(())
    }

    /// `DELETE /Groups/{id}`: the group and its memberships go; the users stay.
    pub async fn scim_delete_group(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
    ) -> Result<(), ScimError> {
        let result = async {
            let mut tx = self.writer.begin().await.map_err(internal)?;
            let current = load_group(&mut tx, id)
                .await?
                .ok_or_else(|| group_not_found(id))?;
            check_if_match(if_match, current.version)?;
            sqlx::query("DELETE FROM user_groups WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
            let name = current
                .resource
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let detail =
                json!({"group_id": id, "token": caller.token.name, "client_ip": caller.client_ip});
            self.append_group_event(&mut tx, "group.deleted", &name, caller, detail)
                .await?;
            tx.commit().await.map_err(internal)
        }
        .await;
        if let Err(e) = &result {
            self.record_scim_failure("group.delete", Some(id.to_string()), caller, e)
                .await;
        }
        result
    }
}

/// What a group write does to membership.
enum MemberChange {
    /// Make the members exactly these (`None`: the body did not mention members).
    Replace(Option<Vec<String>>),
    Delta {
        add: Vec<String>,
        remove: Vec<String>,
    },
}
