//! Listing SCIM users and groups: filter, sort and page in the database (RFC 7644 §3.4.2),
//! never by loading every row.

use super::scim_groups::GroupRecord;
use super::scim_users::{internal, UserRecord};
use super::{from_ms, Backend, Store};
use crate::scim::error::ScimError;
use crate::scim::filter::Filter;
use crate::scim::query::{bind_all, order_by, where_clause, SortOrder, SqlParam};
use crate::scim::schema::SchemaKind;
use sqlx::Row;

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

fn plan(q: &ListQuery, kind: SchemaKind, backend: Backend, table: &str) -> Result<Plan, ScimError> {
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

/// The ids on the page (`LIMIT` and `OFFSET` are the parameters after the plan's `n`). The
/// page's rows, with their groups or members, are read by id around this: a scalar
/// subquery in the same SELECT as the `OFFSET` would be computed for every row skipped
/// (PostgreSQL projects before the limit discards), which made `startIndex=5001` cost 5,000
/// users' groups.
fn page_ids_sql(table: &str, p: &Plan, n: usize) -> String {
    format!(
        "SELECT {table}.id FROM {table} WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}",
        p.where_sql,
        p.order_sql,
        n + 1,
        n + 2
    )
}

/// A scalar subquery giving the groups of the user in the outer `users` row as one JSON
/// text, `[[group id, displayName], …]` ordered by name: a page of users and their groups
/// then come back in one statement, instead of a second round trip per page (on SQLite
/// every statement is a hand-off to the connection's thread, which costs more than the
/// index look-up itself).
pub(crate) fn groups_json_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "(SELECT json_group_array(json_array(g.id, g.display_name) ORDER BY g.display_name_key) \
             FROM group_members m JOIN user_groups g ON g.id = m.group_id WHERE m.user_id = users.id)"
        }
        Backend::Postgres => {
            "(SELECT COALESCE(json_agg(json_build_array(g.id, g.display_name) ORDER BY g.display_name_key), '[]'::json)::text \
             FROM group_members m JOIN user_groups g ON g.id = m.group_id WHERE m.user_id = users.id)"
        }
    }
}

/// The same for the members of the group in the outer `user_groups` row,
/// `[[user id, userName], …]` ordered by userName. One row of JSON instead of a row per
/// member matters for large groups: the drivers hand rows over one at a time.
pub(crate) fn members_json_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "(SELECT json_group_array(json_array(u.id, u.user_name) ORDER BY u.user_name_key) \
             FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = user_groups.id)"
        }
        Backend::Postgres => {
            "(SELECT COALESCE(json_agg(json_build_array(u.id, u.user_name) ORDER BY u.user_name_key), '[]'::json)::text \
             FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = user_groups.id)"
        }
    }
}

/// Reads what [`groups_json_sql`] or [`members_json_sql`] made.
pub(crate) fn pairs_from_json(json: Option<String>) -> Result<Vec<(String, String)>, ScimError> {
    match json {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(internal),
    }
}

/// How many rows of `table` the plan's filter matches.
async fn count_matching(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    p: &Plan,
) -> Result<i64, ScimError> {
    bind_all(
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE {}",
            p.where_sql
        )),
        p.params.clone(),
    )
    .fetch_one(conn)
    .await
    .map_err(internal)
}

/// The total of a list whose page is `rows` long, when the page itself tells: a page
/// shorter than asked for ends the results, unless it is empty past the first one (then
/// `startIndex` may be beyond the end, and only a count tells how far).
fn total_from_page(q: &ListQuery, rows: usize) -> Option<i64> {
    let ended = rows < q.count && (rows > 0 || q.start_index <= 1);
    ended.then(|| (q.start_index.saturating_sub(1) + rows) as i64)
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

    /// `GET /Users` (and `POST /Users/.search`). Usually one statement: the page with each
    /// user's groups, and the total from the page when it is not full (Okta's `userName eq`
    /// look-up); a separate count only when the page is full or past the end.
    pub async fn scim_list_users(&self, q: &ListQuery) -> Result<Page<UserRecord>, ScimError> {
        let p = plan(q, SchemaKind::User, self.backend, "users")?;
        let mut conn = self.hot_read().await.map_err(internal)?;
        if q.count == 0 {
            return Ok(Page {
                total: count_matching(&mut conn, "users", &p).await?,
                items: Vec::new(),
            });
        }
        let n = p.params.len() + p.order_params.len();
        let sql = format!(
            "SELECT id, resource, version, created_at, updated_at, {} AS groups_json FROM users \
             WHERE users.id IN ({}) ORDER BY {}",
            groups_json_sql(self.backend),
            page_ids_sql("users", &p, n),
            p.order_sql,
        );
        let rows = bind_all(
            bind_all(sqlx::query(&sql), p.params.clone()),
            p.order_params.clone(),
        )
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
                groups: pairs_from_json(row.try_get("groups_json").map_err(internal)?)?,
            });
        }
        let total = match total_from_page(q, users.len()) {
            Some(total) => total,
            None => count_matching(&mut conn, "users", &p).await?,
        };
        Ok(Page {
            total,
            items: users,
        })
    }

    /// `GET /Groups`; members are loaded (in the same statement) only when `with_members`.
    /// The total is counted as for users.
    pub async fn scim_list_groups(
        &self,
        q: &ListQuery,
        with_members: bool,
    ) -> Result<Page<GroupRecord>, ScimError> {
        let p = plan(q, SchemaKind::Group, self.backend, "user_groups")?;
        let mut conn = self.hot_read().await.map_err(internal)?;
        if q.count == 0 {
            return Ok(Page {
                total: count_matching(&mut conn, "user_groups", &p).await?,
                items: Vec::new(),
            });
        }
        let n = p.params.len() + p.order_params.len();
        let members = if with_members {
            format!(", {} AS members_json", members_json_sql(self.backend))
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT id, resource, version, created_at, updated_at{members} FROM user_groups \
             WHERE user_groups.id IN ({}) ORDER BY {}",
            page_ids_sql("user_groups", &p, n),
            p.order_sql,
        );
        let rows = bind_all(
            bind_all(sqlx::query(&sql), p.params.clone()),
            p.order_params.clone(),
        )
        .bind(q.count as i64)
        .bind(q.start_index.saturating_sub(1) as i64)
        .fetch_all(&mut *conn)
        .await
        .map_err(internal)?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            let resource: String = row.try_get("resource").map_err(internal)?;
            let members = if with_members {
                Some(pairs_from_json(
                    row.try_get("members_json").map_err(internal)?,
                )?)
            } else {
                None
            };
            groups.push(GroupRecord {
                id: row.try_get("id").map_err(internal)?,
                resource: serde_json::from_str(&resource).map_err(internal)?,
                version: row.try_get("version").map_err(internal)?,
                created_at: from_ms(row.try_get("created_at").map_err(internal)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(internal)?),
                members,
            });
        }
        let total = match total_from_page(q, groups.len()) {
            Some(total) => total,
            None => count_matching(&mut conn, "user_groups", &p).await?,
        };
        Ok(Page {
            total,
            items: groups,
        })
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::event::Actor;
    use crate::scim::filter::parse_filter;
    use crate::store::ScimCaller;
    use crate::testing::TestDatabase;
    use serde_json::{json, Value};

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

    fn page(start_index: usize, count: usize, filter: Option<&str>) -> ListQuery {
        ListQuery {
            filter: filter.map(|f| parse_filter(f).unwrap()),
            start_index,
            count,
            ..ListQuery::default()
        }
    }

    #[test]
    fn a_short_page_tells_the_total_and_a_full_or_empty_later_one_does_not() {
        assert_eq!(total_from_page(&page(1, 100, None), 1), Some(1));
        assert_eq!(total_from_page(&page(1, 100, None), 0), Some(0));
        assert_eq!(total_from_page(&page(5, 2, None), 1), Some(5));
        assert_eq!(total_from_page(&page(1, 2, None), 2), None);
        assert_eq!(total_from_page(&page(9, 2, None), 0), None);
    }

    #[tokio::test]
    async fn totals_are_right_whether_counted_or_read_off_the_page() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let caller = caller(&store).await;
            for i in 0..5 {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}@example.com")});
                store.scim_create_user(&body, &caller).await.unwrap();
            }
            for (q, items, total) in [
                (page(1, 2, None), 2, 5),
                (page(5, 2, None), 1, 5),
                (page(9, 2, None), 0, 5),
                (page(1, 100, None), 5, 5),
                (page(1, 0, None), 0, 5),
                (page(1, 100, Some("userName eq \"U3@EXAMPLE.COM\"")), 1, 1),
                (page(1, 100, Some("userName eq \"nobody\"")), 0, 0),
                (page(2, 100, Some("userName eq \"u3@example.com\"")), 0, 1),
            ] {
                let got = store.scim_list_users(&q).await.unwrap();
                assert_eq!(
                    (got.items.len(), got.total),
                    (items, total),
                    "{:?} start {} count {} filter {:?}",
                    db.backend,
                    q.start_index,
                    q.count,
                    q.filter
                );
            }
        }
    }

    /// Pages read by `startIndex` under a filter and a `sortBy` with bound values: the
    /// page's ids are chosen in an inner query and its rows read around it, in the same
    /// order, with their groups.
    #[tokio::test]
    async fn sorted_filtered_pages_by_start_index_cover_every_match_once_in_order() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let caller = caller(&store).await;
            let mut ids = Vec::new();
            for (i, family) in ["Moss", "Abel", "Zorn", "Kite", "Bram", "Ng", "Ives"]
                .iter()
                .enumerate()
            {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("s{i}@example.com"), "name": {"familyName": family}});
                ids.push(store.scim_create_user(&body, &caller).await.unwrap().id);
            }
            let other = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "other@example.com", "name": {"familyName": "Aaron"}});
            store.scim_create_user(&other, &caller).await.unwrap();
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Kites", "members": [{"value": ids[3]}]});
            store.scim_create_group(&body, &caller).await.unwrap();

            let mut seen = Vec::new();
            for start in [1, 3, 5, 7] {
                let q = ListQuery {
                    sort_by: Some("name.familyName".into()),
                    sort_order: SortOrder::Descending,
                    ..page(start, 2, Some("userName sw \"s\""))
                };
                let got = store.scim_list_users(&q).await.unwrap();
                assert_eq!(got.total, 7, "{:?} start {start}", db.backend);
                for u in got.items {
                    let family = u.resource["name"]["familyName"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    let groups: Vec<&str> = u.groups.iter().map(|(_, n)| n.as_str()).collect();
                    let expected: &[&str] = if family == "Kite" { &["Kites"] } else { &[] };
                    assert_eq!(groups, expected, "{:?}: groups of {family}", db.backend);
                    seen.push(family);
                }
            }
            assert_eq!(
                seen,
                ["Zorn", "Ng", "Moss", "Kite", "Ives", "Bram", "Abel"],
                "{:?}",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn groups_of_listed_users_and_members_of_listed_groups_come_in_name_order() {
        for db in TestDatabase::each().await {
            let store = db.store().await;
            let caller = caller(&store).await;
            let mut ids = Vec::new();
            // Quotes, backslashes and non-ASCII letters survive the JSON aggregation.
            for name in [
                "zed@example.com",
                "O\"Brien\\ ✓@example.com",
                "amy@example.com",
            ] {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
                ids.push(store.scim_create_user(&body, &caller).await.unwrap().id);
            }
            let mut groups = Vec::new();
            for name in ["b-team", "A-team"] {
                let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members});
                groups.push(store.scim_create_group(&body, &caller).await.unwrap().id);
            }

            let users = store.scim_list_users(&page(1, 100, None)).await.unwrap();
            assert_eq!(users.total, 3);
            for u in &users.items {
                assert_eq!(
                    u.groups,
                    vec![
                        (groups[1].clone(), "A-team".to_string()),
                        (groups[0].clone(), "b-team".to_string())
                    ],
                    "{:?}",
                    db.backend
                );
            }

            let listed = store
                .scim_list_groups(&page(1, 100, None), true)
                .await
                .unwrap();
            let expected = vec![
                (ids[2].clone(), "amy@example.com".to_string()),
                (ids[1].clone(), "O\"Brien\\ ✓@example.com".to_string()),
                (ids[0].clone(), "zed@example.com".to_string()),
            ];
            for g in &listed.items {
                assert_eq!(g.members.as_ref(), Some(&expected), "{:?}", db.backend);
            }
            let one = store.scim_get_group(&groups[0], true).await.unwrap();
            assert_eq!(one.members, Some(expected));
            let slim = store
                .scim_list_groups(&page(1, 100, None), false)
                .await
                .unwrap();
            assert!(slim.items.iter().all(|g| g.members.is_none()));
        }
    }
}
