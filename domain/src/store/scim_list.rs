//! Listing SCIM users and groups: filter, sort and page in the database (RFC 7644 §3.4.2),
//! never by loading every row.

use super::scim_groups::GroupRecord;
use super::scim_users::{internal, UserRecord};
use super::{from_ms, Store};
use crate::scim::error::ScimError;
use crate::scim::filter::Filter;
use crate::scim::query::{bind_all, order_by, where_clause, SortOrder, SqlParam};
use crate::scim::schema::SchemaKind;
use sqlx::Row;
use std::collections::HashMap;

/// One list request, already parsed and checked by the HTTP edge.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort_by: Option<String>,
    pub sort_order: SortOrder,
    /// 1-based, as in SCIM.
    pub start_index: usize,
    /// Page size; 0 asks only for the total.
    pub count: usize,
}

/// A page of results and the total that matched.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub total: i64,
    pub items: Vec<T>,
}

struct Plan {
    where_sql: String,
    order_sql: String,
    params: Vec<SqlParam>,
    order_params: Vec<SqlParam>,
}

fn plan(
    q: &ListQuery,
    kind: SchemaKind,
    backend: super::Backend,
    table: &str,
) -> Result<Plan, ScimError> {
    let (where_sql, params) = match &q.filter {
        Some(f) => {
            let frag = where_clause(f, kind, backend, 1)?;
            (frag.sql, frag.params)
        }
        None => ("TRUE".to_string(), Vec::new()),
    };
    let (order_sql, order_params) = match &q.sort_by {
        Some(s) => {
            let frag = order_by(s, q.sort_order, kind, backend, params.len() + 1)?;
            (frag.sql, frag.params)
        }
        // UUIDv7 ids are in creation order: a stable order that needs no extra index.
        None => (format!("{table}.id ASC"), Vec::new()),
    };
    Ok(Plan {
        where_sql,
        order_sql,
        params,
        order_params,
    })
}

/// `($k, $k+1, …)` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// How many users and groups have been provisioned (for the SCIM Import screen).
    pub async fn scim_counts(&self) -> Result<(i64, i64), ScimError> {
        let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.reader)
            .await
            .map_err(internal)?;
        let (groups,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_groups")
            .fetch_one(&self.reader)
            .await
            .map_err(internal)?;
        Ok((users, groups))
    }

    /// `GET /Users` (and `POST /Users/.search`).
    pub async fn scim_list_users(&self, q: &ListQuery) -> Result<Page<UserRecord>, ScimError> {
        let p = plan(q, SchemaKind::User, self.backend, "users")?;
        let mut conn = self.reader.acquire().await.map_err(internal)?;
        let total: i64 = bind_all(
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users WHERE {}", p.where_sql)),
            p.params.clone(),
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(internal)?;
        if q.count == 0 || total == 0 {
            return Ok(Page {
                total,
                items: Vec::new(),
            });
        }
        let n = p.params.len() + p.order_params.len();
        let sql = format!(
            "SELECT id, resource, version, created_at, updated_at FROM users WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}",
            p.where_sql,
            p.order_sql,
            n + 1,
            n + 2
        );
        let rows = bind_all(bind_all(sqlx::query(&sql), p.params), p.order_params)
            .bind(q.count as i64)
            .bind(q.start_index.saturating_sub(1) as i64)
            .fetch_all(&mut *conn)
            .await
            .map_err(internal)?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            let resource: String = row.try_get("resource").map_err(internal)?;
            users.push(UserRecord {
                id: row.try_get("id").map_err(internal)?,
                resource: serde_json::from_str(&resource).map_err(internal)?,
                version: row.try_get("version").map_err(internal)?,
                created_at: from_ms(row.try_get("created_at").map_err(internal)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(internal)?),
                groups: Vec::new(),
            });
        }
        // Every listed user's groups in one query.
        if !users.is_empty() {
            let sql = format!(
                "SELECT m.user_id, g.id, g.display_name FROM group_members m JOIN user_groups g ON g.id = m.group_id \
                 WHERE m.user_id IN ({}) ORDER BY g.display_name_key",
                placeholders(1, users.len())
            );
            let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
            for u in &users {
                query = query.bind(u.id.clone());
            }
            let mut by_user: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for (user, gid, name) in query.fetch_all(&mut *conn).await.map_err(internal)? {
                by_user.entry(user).or_default().push((gid, name));
            }
            for u in &mut users {
                u.groups = by_user.remove(&u.id).unwrap_or_default();
            }
        }
        Ok(Page {
            total,
            items: users,
        })
    }

    /// `GET /Groups`; members are loaded (in one query) only when `with_members`.
    pub async fn scim_list_groups(
        &self,
        q: &ListQuery,
        with_members: bool,
    ) -> Result<Page<GroupRecord>, ScimError> {
        let p = plan(q, SchemaKind::Group, self.backend, "user_groups")?;
        let mut conn = self.reader.acquire().await.map_err(internal)?;
        let total: i64 = bind_all(
            sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM user_groups WHERE {}",
                p.where_sql
            )),
            p.params.clone(),
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(internal)?;
        if q.count == 0 || total == 0 {
            return Ok(Page {
                total,
                items: Vec::new(),
            });
        }
        let n = p.params.len() + p.order_params.len();
        let sql = format!(
            "SELECT id, resource, version, created_at, updated_at FROM user_groups WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}",
            p.where_sql,
            p.order_sql,
            n + 1,
            n + 2
        );
        let rows = bind_all(bind_all(sqlx::query(&sql), p.params), p.order_params)
            .bind(q.count as i64)
            .bind(q.start_index.saturating_sub(1) as i64)
            .fetch_all(&mut *conn)
            .await
            .map_err(internal)?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            let resource: String = row.try_get("resource").map_err(internal)?;
            groups.push(GroupRecord {
                id: row.try_get("id").map_err(internal)?,
                resource: serde_json::from_str(&resource).map_err(internal)?,
                version: row.try_get("version").map_err(internal)?,
                created_at: from_ms(row.try_get("created_at").map_err(internal)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(internal)?),
                members: None,
            });
        }
        if with_members && !groups.is_empty() {
            let sql = format!(
                "SELECT m.group_id, u.id, u.user_name FROM group_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_id IN ({}) ORDER BY u.user_name_key",
                placeholders(1, groups.len())
            );
            let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
            for g in &groups {
                query = query.bind(g.id.clone());
            }
            let mut by_group: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for (group, uid, name) in query.fetch_all(&mut *conn).await.map_err(internal)? {
                by_group.entry(group).or_default().push((uid, name));
            }
            for g in &mut groups {
                g.members = Some(by_group.remove(&g.id).unwrap_or_default());
            }
        }
        Ok(Page {
            total,
            items: groups,
        })
    }
}
