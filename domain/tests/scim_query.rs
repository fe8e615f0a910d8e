//! SCIM filters and sortBy translated to SQL, run against real SQLite and PostgreSQL
//! databases: every filter must select exactly the same rows on both.

use gatehouse_domain::scim::error::{ScimError, ScimType};
use gatehouse_domain::scim::filter::parse_filter;
use gatehouse_domain::scim::query::{bind_all, order_by, where_clause, SortOrder};
use gatehouse_domain::scim::schema::{
    SchemaKind, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA,
};
use gatehouse_domain::store::Backend;
use gatehouse_domain::testing::TestDatabase;
use serde_json::{json, Value};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const DAY_MS: i64 = 86_400_000;

fn ms(rfc3339: &str) -> i64 {
    let t = OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

struct TestUser {
    id: &'static str,
    user_name: &'static str,
    external_id: Option<&'static str>,
    display_name: Option<&'static str>,
    active: bool,
    version: i64,
    updated: &'static str,
    resource: Value,
}

fn users() -> Vec<TestUser> {
    vec![
        TestUser {
            id: "u1",
            user_name: "Alice.Smith@Example.com",
            external_id: Some("ext-1"),
            display_name: Some("Alice Smith"),
            active: true,
            version: 1,
            updated: "2024-01-01T00:00:00Z",
            resource: json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "Alice.Smith@Example.com",
                "externalId": "ext-1",
                "displayName": "Alice Smith",
                "active": true,
                "title": "Engineer",
                "name": {"givenName": "Alice", "familyName": "Smith"},
                "emails": [
                    {"value": "alice@example.com", "type": "work", "primary": true},
                    {"value": "ALICE@home.org", "type": "home"}
                ],
                ENTERPRISE_USER_SCHEMA: {"department": "Engineering", "manager": {"value": "u3"}}
            }),
        },
        TestUser {
            id: "u2",
            user_name: "bob@example.com",
            external_id: Some("EXT-1"),
            display_name: Some("Bob Jones"),
            active: false,
            version: 2,
            updated: "2024-02-01T00:00:00Z",
            resource: json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "bob@example.com",
                "externalId": "EXT-1",
                "displayName": "Bob Jones",
                "active": false,
                "name": {"familyName": "Jones"},
                "emails": [
                    {"value": "bob@example.org", "type": "work"},
                    {"value": "bob@example.com", "type": "home", "primary": true}
                ],
                ENTERPRISE_USER_SCHEMA: {"department": "Sales", "employeeNumber": "701984"}
            }),
        },
        TestUser {
            id: "u3",
            user_name: r"Carol_50%\off",
            external_id: None,
            display_name: Some(r#"O'Brien "Carol""#),
            active: true,
            version: 2,
            updated: "2024-03-01T00:00:00.500Z",
            resource: json!({
                "schemas": [USER_SCHEMA],
                "userName": r"Carol_50%\off",
                "displayName": r#"O'Brien "Carol""#,
                "active": true,
                "title": "'; DROP TABLE users; --"
            }),
        },
        TestUser {
            // No `active` in the JSON: the column says active, as the store decides.
            id: "u4",
            user_name: "dave@example.com",
            external_id: None,
            display_name: None,
            active: true,
            version: 2,
            updated: "2024-04-01T00:00:00Z",
            resource: json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "dave@example.com",
                "name": {"familyName": "Smithson"},
                "emails": [{"value": "dave@EXAMPLE.com"}],
                ENTERPRISE_USER_SCHEMA: {"department": "engineering"}
            }),
        },
        TestUser {
            id: "u5",
            user_name: "Émile",
            external_id: Some("a*b?[c]"),
            display_name: Some("Émile"),
            active: false,
            version: 2,
            updated: "2024-05-01T00:00:00Z",
            resource: json!({
                "schemas": [USER_SCHEMA],
                "userName": "Émile",
                "externalId": "a*b?[c]",
                "displayName": "Émile",
                "active": false,
                "title": "Engineer",
                "nickName": "Mimi"
            }),
        },
    ]
}

struct TestGroup {
    id: &'static str,
    display_name: &'static str,
    external_id: Option<&'static str>,
    updated: &'static str,
    members: &'static [&'static str],
}

const GROUPS: [TestGroup; 3] = [
    TestGroup {
        id: "g1",
        display_name: "Engineering",
        external_id: Some("okta-g1"),
        updated: "2024-01-15T00:00:00Z",
        members: &["u1", "u4"],
    },
    TestGroup {
        id: "g2",
        display_name: "Sales Team",
        external_id: None,
        updated: "2024-02-15T00:00:00Z",
        members: &["u2"],
    },
    TestGroup {
        id: "g3",
        display_name: "Empty",
        external_id: Some("okta-g3"),
        updated: "2024-03-15T00:00:00Z",
        members: &[],
    },
];

/// A migrated database holding the users and groups above, inserted with plain SQL.
async fn seeded(db: &TestDatabase) -> AnyPool {
    let store = db.store().await;
    store.close().await;
    let pool = AnyPoolOptions::new()
        .max_connections(2)
        .connect(&db.url)
        .await
        .unwrap();
    for u in users() {
        let primary_email = u.resource["emails"].as_array().and_then(|emails| {
            emails
                .iter()
                .find(|e| e["primary"] == true)
                .or(emails.first())
                .and_then(|e| e["value"].as_str())
                .map(str::to_lowercase)
        });
        let updated = ms(u.updated);
        sqlx::query(
            "INSERT INTO users (id, user_name, user_name_key, external_id, display_name, \
             primary_email, active, resource, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(u.id)
        .bind(u.user_name)
        .bind(u.user_name.to_lowercase())
        .bind(u.external_id)
        .bind(u.display_name)
        .bind(primary_email)
        .bind(u.active)
        .bind(u.resource.to_string())
        .bind(u.version)
        .bind(updated - 10 * DAY_MS)
        .bind(updated)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{:?}: insert {}: {e}", db.backend, u.id));
    }
    for TestGroup {
        id,
        display_name: name,
        external_id,
        updated,
        members,
    } in GROUPS
    {
        let mut resource = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
        if let Some(external_id) = external_id {
            resource["externalId"] = json!(external_id);
        }
        sqlx::query(
            "INSERT INTO user_groups (id, display_name, display_name_key, external_id, \
             resource, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
        )
        .bind(id)
        .bind(name)
        .bind(name.to_lowercase())
        .bind(external_id)
        .bind(resource.to_string())
        .bind(ms(updated) - DAY_MS)
        .bind(ms(updated))
        .execute(&pool)
        .await
        .unwrap();
        for member in members {
            sqlx::query(
                "INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, 0)",
            )
            .bind(id)
            .bind(*member)
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    pool
}

fn table(kind: SchemaKind) -> &'static str {
    match kind {
        SchemaKind::User => "users",
        SchemaKind::Group => "user_groups",
    }
}

/// The ids `filter` selects, in id order.
async fn select(
    pool: &AnyPool,
    backend: Backend,
    kind: SchemaKind,
    filter: &str,
) -> Result<Vec<String>, ScimError> {
    let parsed = parse_filter(filter)?;
    let fragment = where_clause(&parsed, kind, backend, 1)?;
    let sql = format!(
        "SELECT id FROM {} WHERE {} ORDER BY id",
        table(kind),
        fragment.sql
    );
    Ok(
        bind_all(sqlx::query_scalar::<_, String>(&sql), fragment.params)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {filter}\n{sql}\n{e}")),
    )
}

async fn check(pool: &AnyPool, backend: Backend, kind: SchemaKind, cases: &[(&str, &[&str])]) {
    let mut failures = Vec::new();
    for (filter, expected) in cases {
        match select(pool, backend, kind, filter).await {
            Ok(ids) if ids == *expected => {}
            Ok(ids) => failures.push(format!("{filter}: got {ids:?}, expected {expected:?}")),
            Err(e) => failures.push(format!("{filter}: refused: {e}")),
        }
    }
    assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
}

const ALL_USERS: &[&str] = &["u1", "u2", "u3", "u4", "u5"];

const USER_CASES: &[(&str, &[&str])] = &[
    // Okta's lookups before creating a user, case-insensitive on userName.
    (r#"userName eq "alice.smith@example.com""#, &["u1"]),
    (r#"USERNAME eq "ALICE.SMITH@EXAMPLE.COM""#, &["u1"]),
    (r#"userName eq "ÉMILE""#, &["u5"]),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Bob@Example.com""#,
        &["u2"],
    ),
    (r#"userName eq "alice""#, &[]),
    (r#"userName gt "c""#, &["u3", "u4", "u5"]),
    // externalId and id are caseExact.
    (r#"externalId eq "ext-1""#, &["u1"]),
    (r#"externalId eq "EXT-1""#, &["u2"]),
    (r#"id eq "u3""#, &["u3"]),
    (r#"id eq "U3""#, &[]),
    (r#"displayName eq "alice smith""#, &["u1"]),
    (r#"displayName co "'brien \"car""#, &["u3"]),
    // meta dates are instants, compared at the stored millisecond precision.
    (
        r#"meta.lastModified gt "2024-02-01T00:00:00Z""#,
        &["u3", "u4", "u5"],
    ),
    (
        r#"meta.lastModified ge "2024-02-01T00:00:00Z""#,
        &["u2", "u3", "u4", "u5"],
    ),
    (
        r#"meta.lastModified eq "2024-02-01T01:00:00+01:00""#,
        &["u2"],
    ),
    (r#"meta.lastModified eq "2024-03-01T00:00:00.5Z""#, &["u3"]),
    (
        r#"meta.lastModified lt "2024-03-01T00:00:00.5001Z""#,
        &["u1", "u2", "u3"],
    ),
    (
        r#"meta.lastModified le "2024-03-01T00:00:00.4999Z""#,
        &["u1", "u2"],
    ),
    (
        r#"meta.lastModified gt "2024-03-01T00:00:00.4999Z""#,
        &["u3", "u4", "u5"],
    ),
    (
        r#"meta.lastModified ge "2024-03-01T00:00:00.5001Z""#,
        &["u4", "u5"],
    ),
    (r#"meta.created lt "2024-01-01T00:00:00Z""#, &["u1"]),
    (r#"meta.resourceType eq "User""#, ALL_USERS),
    (r#"meta.version eq "W/\"1\"""#, &["u1"]),
    // Value filters: both conditions on the same email.
    (
        r#"emails[type eq "work" and value co "@example.com"]"#,
        &["u1"],
    ),
    (r#"emails[type eq "WORK"]"#, &["u1", "u2"]),
    (r#"emails[primary eq true]"#, &["u1", "u2"]),
    (r#"emails[value ew ".org" and primary eq true]"#, &[]),
    (r#"emails[not (primary eq true)]"#, &["u1", "u2", "u4"]),
    (r#"emails.value sw "bob@""#, &["u2"]),
    (r#"emails.value ew "@example.com""#, &["u1", "u2", "u4"]),
    (r#"emails.value eq "dave@example.com""#, &["u4"]),
    (r#"emails co "HOME.ORG""#, &["u1"]),
    (r#"emails.type ne "work""#, &["u1", "u2", "u4"]),
    (r#"name.familyName co "smith""#, &["u1", "u4"]),
    (r#"name.familyName eq "SMITH""#, &["u1"]),
    (r#"name.familyName lt "smith""#, &["u2"]),
    (r#"name.familyName le "smith""#, &["u1", "u2"]),
    (r#"name[givenName eq "alice"]"#, &["u1"]),
    (r#"name[not (givenName pr)]"#, &["u2", "u4"]),
    // Enterprise attributes, qualified or not.
    (
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering""#,
        &["u1", "u4"],
    ),
    (r#"department eq "ENGINEERING""#, &["u1", "u4"]),
    (
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "u3""#,
        &["u1"],
    ),
    (r#"manager pr"#, &["u1"]),
    (r#"employeeNumber eq 701984"#, &["u2"]),
    // Booleans.
    ("active eq false", &["u2", "u5"]),
    ("active eq true", &["u1", "u3", "u4"]),
    ("active ne false", &["u1", "u3", "u4"]),
    (r#"active eq "False""#, &["u2", "u5"]),
    ("active pr", &["u1", "u2", "u3", "u5"]),
    // not, ne and null on missing attributes.
    ("not (active eq false)", &["u1", "u3", "u4"]),
    (r#"not (title eq "Engineer")"#, &["u2", "u3", "u4"]),
    (r#"title ne "Engineer""#, &["u2", "u3", "u4"]),
    ("title eq null", &["u2", "u4"]),
    ("title ne null", &["u1", "u3", "u5"]),
    (r#"nickName ne "x""#, ALL_USERS),
    (r#"externalId ne "ext-1""#, &["u2", "u3", "u4", "u5"]),
    // `and` binds tighter than `or`.
    (
        r#"userName sw "a" or userName sw "b" and active eq true"#,
        &["u1"],
    ),
    (
        r#"(userName sw "a" or userName sw "b") and active eq false"#,
        &["u2"],
    ),
    (
        r#"userName sw "a" or userName sw "b" and active eq false"#,
        &["u1", "u2"],
    ),
    (
        r#"userName sw "b" and active eq false or userName sw "é""#,
        &["u2", "u5"],
    ),
    (r#"not (userName sw "a" or active eq false)"#, &["u3", "u4"]),
    // pr on single- and multi-valued attributes.
    ("title pr", &["u1", "u3", "u5"]),
    ("emails pr", &["u1", "u2", "u4"]),
    ("emails.type pr", &["u1", "u2"]),
    ("name pr", &["u1", "u2", "u4"]),
    ("externalId pr", &["u1", "u2", "u5"]),
    ("displayName pr", &["u1", "u2", "u3", "u5"]),
    ("meta pr", ALL_USERS),
    ("id pr", ALL_USERS),
    // Group membership.
    (r#"groups.value eq "g1""#, &["u1", "u4"]),
    (r#"groups[value eq "g2"]"#, &["u2"]),
    (r#"groups.display eq "ENGINEERING""#, &["u1", "u4"]),
    (
        r#"groups[display sw "sales" or value eq "g1"]"#,
        &["u1", "u2", "u4"],
    ),
    (r#"groups[type eq "direct"]"#, &["u1", "u2", "u4"]),
    ("groups pr", &["u1", "u2", "u4"]),
    ("not (groups pr)", &["u3", "u5"]),
    // LIKE metacharacters are literal.
    (r#"userName co "%""#, &["u3"]),
    (r#"userName co "_""#, &["u3"]),
    (r#"userName co "\\""#, &["u3"]),
    (r#"userName sw "carol_50%\\""#, &["u3"]),
    (r#"userName ew "%\\OFF""#, &["u3"]),
    (r#"displayName co "_""#, &[]),
    // Case-exact substrings, and GLOB metacharacters on SQLite.
    (r#"externalId co "*""#, &["u5"]),
    (r#"externalId co "?""#, &["u5"]),
    (r#"externalId co "[c]""#, &["u5"]),
    (r#"externalId sw "a*b?""#, &["u5"]),
    (r#"externalId co "x""#, &["u1"]),
    (r#"externalId co "X""#, &["u2"]),
    (r#"externalId ew "-1""#, &["u1", "u2"]),
    // Injection attempts are just values.
    (r#"title eq "'; DROP TABLE users; --""#, &["u3"]),
    (r#"userName eq "x' OR '1'='1""#, &[]),
    (r#"userName eq "\" OR 1=1 --""#, &[]),
    (r#"displayName eq "o'brien \"carol\"""#, &["u3"]),
    (r#"title co "'""#, &["u3"]),
    (r#"emails[value eq "'); DELETE FROM users; --"]"#, &[]),
];

const ALL_GROUPS: &[&str] = &["g1", "g2", "g3"];

const GROUP_CASES: &[(&str, &[&str])] = &[
    (r#"displayName eq "engineering""#, &["g1"]),
    (r#"displayName eq "SALES TEAM""#, &["g2"]),
    (r#"displayName sw "e""#, &["g1", "g3"]),
    (r#"externalId eq "okta-g1""#, &["g1"]),
    (r#"externalId eq "OKTA-G1""#, &[]),
    (r#"members[value eq "u1"]"#, &["g1"]),
    (r#"members.value eq "u2""#, &["g2"]),
    (r#"members eq "u4""#, &["g1"]),
    (r#"members.value ne "u1""#, &["g1", "g2"]),
    (r#"members[type eq "user"]"#, &["g1", "g2"]),
    ("members pr", &["g1", "g2"]),
    ("not (members pr)", &["g3"]),
    ("members eq null", &["g3"]),
    (
        r#"meta.lastModified gt "2024-02-01T00:00:00Z""#,
        &["g2", "g3"],
    ),
    (r#"meta.resourceType eq "Group""#, ALL_GROUPS),
    ("displayName pr and not (externalId pr)", &["g2"]),
];

#[tokio::test]
async fn user_filters_select_the_same_users_on_both_databases() {
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        check(&pool, db.backend, SchemaKind::User, USER_CASES).await;
        pool.close().await;
    }
}

#[tokio::test]
async fn group_filters_select_the_same_groups_on_both_databases() {
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        check(&pool, db.backend, SchemaKind::Group, GROUP_CASES).await;
        pool.close().await;
    }
}

#[tokio::test]
async fn injection_strings_leave_the_database_intact() {
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        for value in [
            "'; DROP TABLE users; --",
            "\\'; DROP TABLE users; --",
            "$1; DROP TABLE users",
            "%' OR 1=1 --",
            "_\\%",
        ] {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            for filter in [
                format!(r#"userName eq "{escaped}""#),
                format!(r#"title co "{escaped}""#),
                format!(r#"externalId sw "{escaped}""#),
                format!(r#"emails[value ew "{escaped}"]"#),
                format!(r#"department gt "{escaped}""#),
            ] {
                select(&pool, db.backend, SchemaKind::User, &filter)
                    .await
                    .unwrap();
            }
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 5, "{:?}", db.backend);
        pool.close().await;
    }
}

#[tokio::test]
async fn invalid_filters_are_refused_before_reaching_the_database() {
    let cases: &[(&str, SchemaKind, &str)] = &[
        (r#"nosuch eq "x""#, SchemaKind::User, "nosuch"),
        ("active gt true", SchemaKind::User, "gt"),
        (
            r#"meta.lastModified gt "yesterday""#,
            SchemaKind::User,
            "yesterday",
        ),
        (
            r#"meta.lastModified gt "2024-01-01""#,
            SchemaKind::User,
            "RFC 3339",
        ),
        (r#"name eq "x""#, SchemaKind::User, "name"),
        (r#"emails[nosuch eq "x"]"#, SchemaKind::User, "nosuch"),
        (r#"displayName eq true"#, SchemaKind::Group, "displayName"),
        (r#"department eq "x""#, SchemaKind::Group, "department"),
    ];
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        for (filter, kind, needle) in cases {
            let e = select(&pool, db.backend, *kind, filter).await.unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{filter}");
            assert!(e.detail.contains(needle), "{filter}: {}", e.detail);
        }
        pool.close().await;
    }
}

#[tokio::test]
async fn fragments_combine_with_the_callers_own_placeholders() {
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        let filter = parse_filter(r#"emails.value ew "@EXAMPLE.com""#).unwrap();
        // $1 is the caller's; the filter starts at $2 and the sort key after it.
        let fragment = where_clause(&filter, SchemaKind::User, db.backend, 2).unwrap();
        let next = 2 + fragment.params.len();
        let sort = order_by(
            "name.familyName",
            SortOrder::Descending,
            SchemaKind::User,
            db.backend,
            next,
        )
        .unwrap();
        let sql = format!(
            "SELECT id FROM users WHERE users.active = $1 AND {} ORDER BY {}",
            fragment.sql, sort.sql
        );
        let query = sqlx::query_scalar::<_, String>(&sql).bind(true);
        let query = bind_all(query, fragment.params.into_iter().chain(sort.params));
        let ids = query.fetch_all(&pool).await.unwrap();
        assert_eq!(ids, ["u4", "u1"], "{:?}", db.backend);
        pool.close().await;
    }
}

async fn sorted(
    pool: &AnyPool,
    backend: Backend,
    kind: SchemaKind,
    sort_by: &str,
    order: SortOrder,
) -> Vec<String> {
    let sort = order_by(sort_by, order, kind, backend, 1).unwrap();
    let sql = format!("SELECT id FROM {} ORDER BY {}", table(kind), sort.sql);
    bind_all(sqlx::query_scalar::<_, String>(&sql), sort.params)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {sort_by}\n{sql}\n{e}"))
}

#[tokio::test]
async fn sort_by_orders_alike_with_missing_values_last_when_ascending() {
    use SortOrder::{Ascending as Asc, Descending as Desc};
    let cases: &[(SchemaKind, &str, SortOrder, &[&str])] = &[
        (
            SchemaKind::User,
            "userName",
            Asc,
            &["u1", "u2", "u3", "u4", "u5"],
        ),
        (
            SchemaKind::User,
            "USERNAME",
            Desc,
            &["u5", "u4", "u3", "u2", "u1"],
        ),
        (
            SchemaKind::User,
            "name.familyName",
            Asc,
            &["u2", "u1", "u4", "u3", "u5"],
        ),
        (
            SchemaKind::User,
            "name.familyName",
            Desc,
            &["u3", "u5", "u4", "u1", "u2"],
        ),
        // The primary email, else the first.
        (
            SchemaKind::User,
            "emails",
            Asc,
            &["u1", "u2", "u4", "u3", "u5"],
        ),
        (
            SchemaKind::User,
            "emails.type",
            Asc,
            &["u2", "u1", "u3", "u4", "u5"],
        ),
        (
            SchemaKind::User,
            "meta.lastModified",
            Desc,
            &["u5", "u4", "u3", "u2", "u1"],
        ),
        (
            SchemaKind::User,
            "displayName",
            Asc,
            &["u1", "u2", "u3", "u5", "u4"],
        ),
        (
            SchemaKind::User,
            "active",
            Asc,
            &["u2", "u5", "u1", "u3", "u4"],
        ),
        (
            SchemaKind::User,
            "department",
            Asc,
            &["u1", "u4", "u2", "u3", "u5"],
        ),
        (
            SchemaKind::User,
            "externalId",
            Asc,
            &["u2", "u5", "u1", "u3", "u4"],
        ),
        (SchemaKind::Group, "displayName", Asc, &["g3", "g1", "g2"]),
        (SchemaKind::Group, "externalId", Desc, &["g2", "g3", "g1"]),
    ];
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        for (kind, sort_by, order, expected) in cases {
            let ids = sorted(&pool, db.backend, *kind, sort_by, *order).await;
            assert_eq!(ids, *expected, "{:?}: {sort_by} {order:?}", db.backend);
        }
        pool.close().await;
    }
}

/// The query plan of `SELECT id FROM <table> WHERE <filter>`, one line per step.
async fn plan(pool: &AnyPool, backend: Backend, kind: SchemaKind, filter: &str) -> String {
    let fragment = where_clause(&parse_filter(filter).unwrap(), kind, backend, 1).unwrap();
    let select = format!("SELECT id FROM {} WHERE {}", table(kind), fragment.sql);
    let mut conn = pool.acquire().await.unwrap();
    let (sql, column) = match backend {
        Backend::Sqlite => (format!("EXPLAIN QUERY PLAN {select}"), "detail"),
        Backend::Postgres => {
            // The tables are tiny, so without this PostgreSQL would scan them whatever the
            // indexes; with it, a sequential scan means no index could answer the filter.
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            (format!("EXPLAIN {select}"), "QUERY PLAN")
        }
    };
    let rows = bind_all(sqlx::query(&sql), fragment.params)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{backend:?}: {sql}: {e}"));
    rows.iter()
        .map(|row| sqlx::Row::try_get::<String, _>(row, column).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn okta_hot_filters_are_answered_from_indexes() {
    let cases: &[(SchemaKind, &str)] = &[
        (SchemaKind::User, r#"userName eq "BOB@example.com""#),
        (SchemaKind::User, r#"externalId eq "ext-1""#),
        (SchemaKind::User, r#"id eq "u1""#),
        (
            SchemaKind::User,
            r#"meta.lastModified gt "2024-04-15T00:00:00Z""#,
        ),
        (SchemaKind::Group, r#"displayName eq "Engineering""#),
        (SchemaKind::Group, r#"externalId eq "okta-g1""#),
    ];
    for db in TestDatabase::each().await {
        let pool = seeded(&db).await;
        for (kind, filter) in cases {
            let plan = plan(&pool, db.backend, *kind, filter).await;
            let table = table(*kind);
            let indexed = match db.backend {
                Backend::Sqlite => {
                    plan.contains(&format!("SEARCH {table} USING"))
                        && !plan.contains(&format!("SCAN {table}"))
                }
                Backend::Postgres => {
                    plan.contains("Index") && !plan.contains(&format!("Seq Scan on {table}"))
                }
            };
            assert!(
                indexed,
                "{:?}: {filter} does not use an index:\n{plan}",
                db.backend
            );
        }
        pool.close().await;
    }
}
