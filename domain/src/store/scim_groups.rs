//! SCIM Groups as the store keeps them: the validated resource JSON, the columns for
//! uniqueness and filters, and membership as rows of `group_members`, so adding one member
//! to a large group is one insert, and concurrent changes to one group lose nothing.

use super::scim_list::{members_json_sql, pairs_from_json};
use super::scim_users::{check_if_match, internal, ScimCaller, MAX_ATTEMPTS};
use super::{events, from_ms, is_unique_violation, now_ms, Backend, Store};
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

/// Reads a group inside a write transaction. On PostgreSQL the row is locked until the
/// transaction ends, so concurrent writes to one group queue instead of racing: without the
/// lock, a dozen simultaneous member adds made the last one lose the version check more
/// often than it may retry. SQLite needs no lock: its writes already go one at a time.
async fn load_group_for_update(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
) -> Result<Option<GroupRecord>, ScimError> {
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    };
    let row = sqlx::query(&format!(
        "SELECT {GROUP_COLUMNS} FROM user_groups WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(internal)?;
    row.as_ref().map(group_from_row).transpose()
}

async fn member_ids(
    conn: &mut AnyConnection,
    backend: Backend,
    group_id: &str,
) -> Result<BTreeSet<String>, ScimError> {
    // One row of JSON rather than a row per member: the drivers hand rows over one by one.
    let sql = match backend {
        Backend::Sqlite => "SELECT json_group_array(user_id) FROM group_members WHERE group_id = $1",
        Backend::Postgres => {
            "SELECT COALESCE(json_agg(user_id), '[]'::json)::text FROM group_members WHERE group_id = $1"
        }
    };
    let json: String = sqlx::query_scalar(sql)
        .bind(group_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(internal)?;
    serde_json::from_str(&json).map_err(internal)
}

/// Most values bound in one membership statement: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters, and large enough that a push of 100 members is one
/// statement.
const MEMBERS_PER_STATEMENT: usize = 500;

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ids in `ids` without repeats, in their first order.
fn distinct(ids: &[String]) -> Vec<&String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).collect()
}

/// Refuses member ids that are not users, naming them (a group cannot hold nobody).
async fn check_users_exist(conn: &mut AnyConnection, ids: &[&String]) -> Result<(), ScimError> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id FROM users WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        found.extend(query.fetch_all(&mut *conn).await.map_err(internal)?);
    }
    let missing: Vec<&str> = ids
        .iter()
        .map(|id| id.as_str())
        .filter(|id| !found.contains(*id))
        .collect();
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
/// and absent members removed are no-ops), in the order the request named them. A few
/// statements per change whatever its size, not one per member.
async fn change_members(
    conn: &mut AnyConnection,
    group_id: &str,
    add: &[String],
    remove: &[String],
) -> Result<(Vec<String>, Vec<String>), ScimError> {
    let add = distinct(add);
    let remove = distinct(remove);
    check_users_exist(conn, &add).await?;
    let now = now_ms();
    let mut added = std::collections::HashSet::new();
    for chunk in add.chunks(MEMBERS_PER_STATEMENT) {
        // $1 the group, $2 the time, then one user per row.
        let rows = (0..chunk.len())
            .map(|i| format!("($1, ${}, $2)", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO group_members (group_id, user_id, added_at) VALUES {rows} \
             ON CONFLICT DO NOTHING RETURNING user_id"
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql)
            .bind(group_id)
            .bind(now);
        for user in chunk {
            query = query.bind(user.as_str());
        }
        added.extend(query.fetch_all(&mut *conn).await.map_err(internal)?);
    }
    let mut removed = std::collections::HashSet::new();
    for chunk in remove.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM group_members WHERE group_id = $1 AND user_id IN ({}) RETURNING user_id",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(group_id);
        for user in chunk {
            query = query.bind(user.as_str());
        }
        removed.extend(query.fetch_all(&mut *conn).await.map_err(internal)?);
    }
    let in_order = |ids: Vec<&String>, done: &std::collections::HashSet<String>| {
        ids.into_iter()
            .filter(|id| done.contains(id.as_str()))
            .cloned()
            .collect::<Vec<String>>()
    };
    Ok((in_order(add, &added), in_order(remove, &removed)))
}

/// The change that makes the membership equal `wanted`.
async fn replace_members(
    conn: &mut AnyConnection,
    backend: Backend,
    group_id: &str,
    wanted: &[String],
) -> Result<(Vec<String>, Vec<String>), ScimError> {
    let current = member_ids(conn, backend, group_id).await?;
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
            let mut tx = self.begin_write().await.map_err(internal)?;
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

    /// `GET /Groups/{id}`; members only when `with_members`. One statement either way.
    pub async fn scim_get_group(
        &self,
        id: &str,
        with_members: bool,
    ) -> Result<GroupRecord, ScimError> {
        let members = if with_members {
            format!(", {} AS members_json", members_json_sql(self.backend))
        } else {
            String::new()
        };
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS}{members} FROM user_groups WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.hot_read().await.map_err(internal)?)
        .await
        .map_err(internal)?
        .ok_or_else(|| group_not_found(id))?;
        let mut group = group_from_row(&row)?;
        if with_members {
            group.members = Some(pairs_from_json(
                row.try_get("members_json").map_err(internal)?,
            )?);
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
        // over (membership rows included, since they roll back with the attempt). With the
        // row lock taken on read (PostgreSQL) a race is not expected; the check stays as the
        // guarantee.
        for _ in 0..MAX_ATTEMPTS {
            if let Some(group) = self.try_update_group(id, if_match, caller, &change).await? {
                // The written group is known; only its members need reading, and only when
                // the answer shows them.
                if with_members {
                    return self.scim_get_group(id, true).await;
                }
                return Ok(group);
            }
        }
        Err(ScimError::new(
            409,
            None,
            "The group changed too often while this request was applied; retry it.",
        ))
    }

    /// One attempt: the group as written (without members), or `None` when a concurrent
    /// writer changed the group first.
    async fn try_update_group(
        &self,
        id: &str,
        if_match: Option<&str>,
        caller: &ScimCaller,
        change: &impl Fn(&Value) -> Result<(Value, MemberChange), ScimError>,
    ) -> Result<Option<GroupRecord>, ScimError> {
        let mut tx = self.begin_write().await.map_err(internal)?;
        let current = load_group_for_update(&mut tx, self.backend, id)
            .await?
            .ok_or_else(|| group_not_found(id))?;
        check_if_match(if_match, current.version)?;
        let (updated, members) = change(&current.resource)?;
        let cols = group_columns(&updated)?;
        let (added, removed) = match members {
            MemberChange::Replace(Some(all)) => {
                replace_members(&mut tx, self.backend, id, &all).await?
            }
            MemberChange::Replace(None) => (Vec::new(), Vec::new()),
            MemberChange::Delta { add, remove } => {
                change_members(&mut tx, id, &add, &remove).await?
            }
        };
        let resource_changed = updated != current.resource;
        if !resource_changed && added.is_empty() && removed.is_empty() {
            tx.commit().await.map_err(internal)?;
            return Ok(Some(current));
        }
        let now = now_ms();
        let applied = sqlx::query(
            "UPDATE user_groups SET display_name = $1, display_name_key = $2, external_id = $3, resource = $4, \
             version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7",
        )
        .bind(&cols.display_name)
        .bind(&cols.display_name_key)
        .bind(&cols.external_id)
        .bind(updated.to_string())
        .bind(now)
        .bind(id)
        .bind(current.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| uniqueness_or_internal(e, &cols.display_name))?;
        if applied.rows_affected() != 1 {
            return Ok(None);
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
        Ok(Some(GroupRecord {
            resource: updated,
            version: current.version + 1,
            updated_at: from_ms(now),
            ..current
        }))
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
            let mut tx = self.begin_write().await.map_err(internal)?;
            let current = load_group_for_update(&mut tx, self.backend, id)
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

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::event::Actor;
    use crate::testing::TestDatabase;

    async fn caller(store: &Store) -> ScimCaller {
        let (token, _) = store
            .create_scim_token("test", None, Actor::System)
            .await
            .unwrap();
        ScimCaller {
            token,
            client_ip: "127.0.0.1".into(),
        }
    }

    fn add_remove(add: &[&String], remove: &[&String]) -> Value {
        let add: Vec<Value> = add.iter().map(|id| json!({ "value": id })).collect();
        let mut ops = vec![json!({"op": "add", "path": "members", "value": add})];
        if !remove.is_empty() {
            let remove: Vec<Value> = remove.iter().map(|id| json!({ "value": id })).collect();
            ops.push(json!({"op": "remove", "path": "members", "value": remove}));
        }
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    }

    /// The `added` and `removed` of the newest members event.
    async fn last_change(store: &Store) -> (Vec<String>, Vec<String>) {
        let event = store
            .recent_events(20)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "group.members_changed")
            .expect("a members event");
        let detail: Value = serde_json::from_str(event.detail.as_deref().unwrap()).unwrap();
        let list = |k: &str| -> Vec<String> {
            serde_json::from_value(detail[k].clone()).unwrap_or_default()
        };
        (list("added"), list("removed"))
    }

    #[tokio::test]
    async fn batched_member_changes_report_each_real_change_once_in_request_order() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let caller = caller(&store).await;
            // More users than one statement takes, so the batches are split.
            let n = MEMBERS_PER_STATEMENT + 20;
            let mut users = Vec::new();
            for i in 0..n {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i:04}@example.com")});
                users.push(store.scim_create_user(&body, &caller).await.unwrap().id);
            }
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": users[0]}]});
            let g = store.scim_create_group(&body, &caller).await.unwrap();

            // users[0] is already in; users[2] is named twice; the rest in reverse order.
            let mut add: Vec<&String> = vec![&users[2], &users[0], &users[2]];
            add.extend(users[3..].iter().rev());
            let after = store
                .scim_patch_group(&g.id, &add_remove(&add, &[]), None, &caller, true)
                .await
                .unwrap();
            assert_eq!(
                after.members.as_ref().unwrap().len(),
                n - 1,
                "{:?}",
                db.backend
            );
            let mut expected: Vec<String> = vec![users[2].clone()];
            expected.extend(users[3..].iter().rev().cloned());
            assert_eq!(
                last_change(&store).await,
                (expected, vec![]),
                "{:?}",
                db.backend
            );

            // Adding a new member and removing present and absent ones, in one PATCH.
            let nobody = "not-a-member".to_string();
            let mut removed: Vec<&String> = vec![&users[0], &nobody];
            removed.extend(users[2..MEMBERS_PER_STATEMENT + 5].iter());
            let after = store
                .scim_patch_group(
                    &g.id,
                    &add_remove(&[&users[1]], &removed),
                    None,
                    &caller,
                    false,
                )
                .await
                .unwrap();
            assert!(after.members.is_none(), "not asked for");
            let left = store
                .scim_get_group(&g.id, true)
                .await
                .unwrap()
                .members
                .unwrap();
            let mut left_ids: Vec<&String> = left.iter().map(|(id, _)| id).collect();
            left_ids.sort();
            let mut want: Vec<&String> = users[MEMBERS_PER_STATEMENT + 5..].iter().collect();
            want.push(&users[1]);
            want.sort();
            assert_eq!(left_ids, want, "{:?}", db.backend);
            let (added, removed_now) = last_change(&store).await;
            assert_eq!(added, vec![users[1].clone()]);
            let mut want_removed: Vec<String> = vec![users[0].clone(), users[2].clone()];
            want_removed.extend(users[3..MEMBERS_PER_STATEMENT + 5].iter().cloned());
            assert_eq!(removed_now, want_removed, "{:?}", db.backend);
        }
    }

    #[tokio::test]
    async fn a_batch_with_unknown_users_names_them_all_and_adds_nobody() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let caller = caller(&store).await;
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com"});
            let ada = store.scim_create_user(&body, &caller).await.unwrap().id;
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"});
            let g = store.scim_create_group(&body, &caller).await.unwrap();
            let (ghost1, ghost2) = ("ghost-1".to_string(), "ghost-2".to_string());
            let e = store
                .scim_patch_group(
                    &g.id,
                    &add_remove(&[&ada, &ghost1, &ghost2], &[]),
                    None,
                    &caller,
                    true,
                )
                .await
                .unwrap_err();
            assert_eq!(e.status, 400);
            assert!(
                e.detail.contains("ghost-1, ghost-2"),
                "{:?}: {}",
                db.backend,
                e.detail
            );
            let after = store.scim_get_group(&g.id, true).await.unwrap();
            assert_eq!(after.members, Some(vec![]));
            assert_eq!(after.version, 1);
        }
    }
}
