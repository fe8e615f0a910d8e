//! The console's Users and User Groups lists and pages, on SQLite and PostgreSQL: search,
//! each filter, every sort in both directions, key paging with equal keys, and member
//! paging of small and large groups.

use gatehouse_domain::event::{Actor, Category, NewEvent, Outcome};
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::{
    DirectoryPage, GroupListQuery, GroupSort, ProfileFilter, ScimCaller, SearchMode, SortOrder,
    Store, UserFilter, UserListQuery, UserSort, UserSummary,
};
use gatehouse_domain::testing::TestDatabase;
use gatehouse_domain::DomainError;
use serde_json::{json, Value};
use sqlx::Connection;

async fn caller(store: &Store, name: &str) -> ScimCaller {
    let (token, _) = store
        .create_scim_token(name, None, Actor::System)
        .await
        .unwrap();
    ScimCaller {
        token,
        client_ip: "10.0.0.1".into(),
    }
}

fn user(user_name: &str, given: &str, family: &str, email: Option<&str>) -> Value {
    let mut u = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "displayName": format!("{given} {family}"),
    });
    if let Some(e) = email {
        u["emails"] = json!([{"value": e, "type": "work", "primary": true}]);
    }
    u
}

async fn create_user(store: &Store, c: &ScimCaller, body: Value) -> String {
    store.scim_create_user(&body, c).await.unwrap().id
}

async fn create_group(store: &Store, c: &ScimCaller, name: &str, members: &[&String]) -> String {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
    });
    store.scim_create_group(&body, c).await.unwrap().id
}

fn query(filter: UserFilter) -> UserListQuery {
    UserListQuery {
        filter,
        limit: 50,
        ..Default::default()
    }
}

fn search(text: &str) -> UserListQuery {
    query(UserFilter {
        search: Some(text.into()),
        ..Default::default()
    })
}

fn names(page: &DirectoryPage<UserSummary>) -> Vec<&str> {
    page.rows.iter().map(|u| u.user_name.as_str()).collect()
}

/// Every row of a list, page by page forwards; checks each page's size and cursors.
async fn walk_forward(store: &Store, mut q: UserListQuery) -> Vec<UserSummary> {
    let mut all = Vec::new();
    let mut first = true;
    loop {
        let page = store.list_directory_users(&q).await.unwrap();
        assert!(page.rows.len() <= q.limit as usize);
        assert_eq!(page.prev.is_some(), !first && !page.rows.is_empty());
        first = false;
        all.extend(page.rows.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.rows.len(),
                    q.limit as usize,
                    "a next page after a short one"
                );
                q.after = Some(next);
            }
            None => return all,
        }
    }
}

/// Every row, page by page backwards from the last page (reached forwards first).
async fn walk_backward(store: &Store, q: UserListQuery) -> Vec<UserSummary> {
    let mut q = q;
    let mut last = store.list_directory_users(&q).await.unwrap();
    while let Some(next) = last.next.clone() {
        q.after = Some(next);
        last = store.list_directory_users(&q).await.unwrap();
    }
    let mut pages = vec![last.rows.clone()];
    let mut prev = last.prev.clone();
    q.after = None;
    while let Some(p) = prev {
        q.before = Some(p);
        let page = store.list_directory_users(&q).await.unwrap();
        assert!(
            page.next.is_some(),
            "a page reached backwards has a next one"
        );
        prev = page.prev.clone();
        pages.push(page.rows);
    }
    pages.into_iter().rev().flatten().collect()
}

/// Walking `q` forward and backward both give exactly `expected` userNames, in order.
async fn assert_walks_both_ways(store: &Store, q: &UserListQuery, expected: &[String], what: &str) {
    let names = |v: Vec<UserSummary>| v.into_iter().map(|u| u.user_name).collect::<Vec<_>>();
    assert_eq!(
        names(walk_forward(store, q.clone()).await),
        expected,
        "{what} forward"
    );
    assert_eq!(
        names(walk_backward(store, q.clone()).await),
        expected,
        "{what} backward"
    );
}

#[tokio::test]
async fn search_finds_prefixes_of_user_name_email_display_and_family_name() {
    for db in TestDatabase::each().await {
        let b = db.backend;
        let store = db.store().await;
        let c = caller(&store, "Okta").await;
        create_user(
            &store,
            &c,
            user(
                "ada@example.com",
                "Ada",
                "Lovelace",
                Some("ada@example.com"),
            ),
        )
        .await;
        create_user(
            &store,
            &c,
            user("grace", "Grace", "Hopper", Some("GHopper@Navy.mil")),
        )
        .await;
        create_user(&store, &c, user("alan.turing", "Alan", "Turing", None)).await;
        create_user(&store, &c, user("odon", "Ödön", "Hörvath", None)).await;
        create_user(&store, &c, user("percent", "Fifty%", "Off_Sale", None)).await;

        let found = |q: UserListQuery| {
            let store = store.clone();
            async move {
                let p = store.list_directory_users(&q).await.unwrap();
                let total = store.count_directory_users(&q.filter).await.unwrap();
                assert_eq!(total as usize, p.rows.len(), "{b:?}: total");
                let mut n: Vec<String> = names(&p).iter().map(|s| s.to_string()).collect();
                n.sort();
                n
            }
        };
        assert_eq!(
            found(search("lov")).await,
            ["ada@example.com"],
            "{b:?}: family name"
        );
        assert_eq!(found(search("ghop")).await, ["grace"], "{b:?}: email");
        assert_eq!(
            found(search("ALAN")).await,
            ["alan.turing"],
            "{b:?}: userName"
        );
        assert_eq!(
            found(search("Ada L")).await,
            ["ada@example.com"],
            "{b:?}: display name"
        );
        assert_eq!(
            found(search("a")).await,
            ["ada@example.com", "alan.turing"],
            "{b:?}"
        );
        // As the IdP spells it, whatever the database's lower() does with non-ASCII letters.
        assert_eq!(
            found(search("Ödön")).await,
            ["odon"],
            "{b:?}: non-ASCII name"
        );
        assert_eq!(
            found(search("Hörv")).await,
            ["odon"],
            "{b:?}: non-ASCII family name"
        );
        // Prefix by default: the middle of a value does not match...
        assert!(found(search("navy")).await.is_empty(), "{b:?}");
        // ...unless asked to match anywhere.
        let mut anywhere = search("navy");
        anywhere.filter.mode = SearchMode::Contains;
        assert_eq!(found(anywhere).await, ["grace"], "{b:?}: contains");
        // LIKE's wildcards are plain characters in a search.
        let mut pct = search("%");
        pct.filter.mode = SearchMode::Contains;
        assert_eq!(found(pct).await, ["percent"], "{b:?}: % is literal");
        let mut under = search("t_%");
        under.filter.mode = SearchMode::Contains;
        assert!(found(under).await.is_empty(), "{b:?}: _ is literal");
        assert!(found(search("zzz")).await.is_empty());
        // Blank is no search.
        assert_eq!(found(search("   ")).await.len(), 5);

        let long = store
            .list_directory_users(&search(&"x".repeat(201)))
            .await
            .unwrap_err();
        assert!(matches!(long, DomainError::Invalid(m) if m.contains("200")));
    }
}

#[tokio::test]
async fn filters_by_status_group_and_source_combine() {
    for db in TestDatabase::each().await {
        let b = db.backend;
        let store = db.store().await;
        let okta = caller(&store, "Okta production").await;
        let entra = caller(&store, "Entra").await;
        let ada = create_user(&store, &okta, user("ada", "Ada", "Lovelace", None)).await;
        let bob = create_user(&store, &okta, user("bob", "Bob", "Babbage", None)).await;
        let cy = create_user(&store, &entra, user("cy", "Cy", "Young", None)).await;
        let eng = create_group(&store, &okta, "Engineering", &[&ada, &cy]).await;
        store
            .scim_patch_user(
                &bob,
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "value": {"active": false}}]}),
                None,
                &okta,
            )
            .await
            .unwrap();

        let list = |f: UserFilter| {
            let store = store.clone();
            async move {
                let p = store.list_directory_users(&query(f.clone())).await.unwrap();
                let total = store.count_directory_users(&f).await.unwrap();
                assert_eq!(total as usize, p.rows.len());
                names(&p).iter().map(|s| s.to_string()).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list(UserFilter {
                active: Some(true),
                ..Default::default()
            })
            .await,
            ["ada", "cy"],
            "{b:?}"
        );
        assert_eq!(
            list(UserFilter {
                active: Some(false),
                ..Default::default()
            })
            .await,
            ["bob"],
            "{b:?}"
        );
        assert_eq!(
            list(UserFilter {
                group_id: Some(eng.clone()),
                ..Default::default()
            })
            .await,
            ["ada", "cy"],
            "{b:?}"
        );
        assert_eq!(
            list(UserFilter {
                source_token_id: Some(entra.token.id.to_string()),
                ..Default::default()
            })
            .await,
            ["cy"],
            "{b:?}"
        );
        assert_eq!(
            list(UserFilter {
                group_id: Some(eng.clone()),
                source_token_id: Some(okta.token.id.to_string()),
                active: Some(true),
                search: Some("a".into()),
                ..Default::default()
            })
            .await,
            ["ada"],
            "{b:?}: combined"
        );

        // Each row says where the user came from, by the token's name.
        let all = store
            .list_directory_users(&query(UserFilter::default()))
            .await
            .unwrap();
        let source = |n: &str| {
            all.rows
                .iter()
                .find(|u| u.user_name == n)
                .unwrap()
                .source
                .clone()
        };
        assert_eq!(source("ada").name, "Okta production");
        assert_eq!(source("cy").name, "Entra");
        assert_eq!(source("cy").token_id, Some(entra.token.id.to_string()));
        assert!(
            !all.rows
                .iter()
                .find(|u| u.user_name == "bob")
                .unwrap()
                .active
        );

        // A group that does not exist is an error that says so, not an empty list.
        let missing = store
            .list_directory_users(&query(UserFilter {
                group_id: Some(uuid_like(7)),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert!(matches!(missing, DomainError::NotFound(_)), "{b:?}");
        let bad = store
            .list_directory_users(&query(UserFilter {
                source_token_id: Some("okta".into()),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert!(matches!(bad, DomainError::NotFound(_)), "{b:?}");
    }
}

fn uuid_like(n: u32) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

/// Connects to the test database directly, for setting up what SCIM cannot (equal times,
/// thousands of rows at once).
async fn raw(db: &TestDatabase) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&db.url).await.unwrap()
}

#[tokio::test]
async fn every_sort_in_both_directions_pages_without_gaps_or_repeats() {
    for db in TestDatabase::each().await {
        let b = db.backend;
        let store = db.store().await;
        let c = caller(&store, "Okta").await;
        // Equal display names and equal update times: only the id orders them.
        let mut ids = Vec::new();
        for i in 0..23 {
            let (given, family) = if i % 3 == 0 {
                ("Same", "Name")
            } else {
                ("Person", ["Zed", "Able", "Mid"][i % 3])
            };
            ids.push(
                create_user(
                    &store,
                    &c,
                    user(&format!("user{i:02}"), given, family, None),
                )
                .await,
            );
        }
        let mut conn = raw(&db).await;
        sqlx::query("UPDATE users SET updated_at = 1700000000000 WHERE user_name LIKE 'user1%'")
            .execute(&mut conn)
            .await
            .unwrap();

        let all = store
            .list_directory_users(&UserListQuery {
                limit: 200,
                ..Default::default()
            })
            .await
            .unwrap()
            .rows;
        assert_eq!(all.len(), 23);
        for sort in [UserSort::UserName, UserSort::Name, UserSort::Updated] {
            for order in [SortOrder::Asc, SortOrder::Desc] {
                let mut expected = all.clone();
                expected.sort_by(|a, b| {
                    let key = |u: &UserSummary| match sort {
                        UserSort::UserName => (u.user_name.to_lowercase(), 0, u.id.clone()),
                        UserSort::Name => (
                            u.name.clone().unwrap_or_default().to_lowercase(),
                            0,
                            u.id.clone(),
                        ),
                        UserSort::Updated => (
                            String::new(),
                            (u.updated_at.unix_timestamp_nanos() / 1_000_000) as i64,
                            u.id.clone(),
                        ),
                    };
                    key(a).cmp(&key(b))
                });
                if order == SortOrder::Desc {
                    expected.reverse();
                }
                let q = UserListQuery {
                    sort,
                    order,
                    limit: 4,
                    ..Default::default()
                };
                let forward = walk_forward(&store, q.clone()).await;
                let ids_of = |v: &[UserSummary]| v.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
                assert_eq!(
                    ids_of(&forward),
                    ids_of(&expected),
                    "{b:?}: {sort:?} {order:?} forward"
                );
                let backward = walk_backward(&store, q.clone()).await;
                assert_eq!(
                    ids_of(&backward),
                    ids_of(&expected),
                    "{b:?}: {sort:?} {order:?} backward"
                );
            }
        }

        // A cursor from one order is refused by another, with a reason.
        let page = store
            .list_directory_users(&UserListQuery {
                sort: UserSort::Name,
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        let err = store
            .list_directory_users(&UserListQuery {
                sort: UserSort::UserName,
                after: page.next.clone(),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid(m) if m.contains("first page")),
            "{b:?}"
        );
        for limit in [0, 201] {
            assert!(store
                .list_directory_users(&UserListQuery {
                    limit,
                    ..Default::default()
                })
                .await
                .is_err());
        }

        // A user created between two pages neither repeats a row nor hides one.
        let q = UserListQuery {
            sort: UserSort::Name,
            limit: 6,
            ..Default::default()
        };
        let first = store.list_directory_users(&q).await.unwrap();
        create_user(&store, &c, user("aaa-new", "Aaa", "First", None)).await;
        let second = store
            .list_directory_users(&UserListQuery {
                after: first.next.clone(),
                ..q.clone()
            })
            .await
            .unwrap();
        for u in &second.rows {
            assert!(
                !first.rows.iter().any(|f| f.id == u.id),
                "{b:?}: repeated row"
            );
        }
        assert_eq!(store.count_directory_users(&q.filter).await.unwrap(), 24);
    }
}

/// Inserts `n` users named `member00000`… and makes the first `in_group` of them members of
/// a new group, in a few statements; returns the group's id.
async fn bulk_group(db: &TestDatabase, store: &Store, n: usize, in_group: usize) -> String {
    let c = caller(store, "Okta").await;
    let group = create_group(store, &c, &format!("Big {n}"), &[]).await;
    let mut conn = raw(db).await;
    let mut tx = conn.begin().await.unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut users = String::from(
            "INSERT INTO users (id, user_name, user_name_key, display_name, primary_email, active, resource, version, created_at, updated_at) VALUES ",
        );
        let mut members =
            String::from("INSERT INTO group_members (group_id, user_id, added_at) VALUES ");
        let mut any_member = false;
        for (k, i) in chunk.iter().enumerate() {
            let id = format!("01900000-0000-7000-8000-{i:012}");
            let name = format!("member{i:05}");
            let resource = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "displayName": format!("Member {i:05}"), "name": {"familyName": format!("Fam{}", i % 10)}});
            if k > 0 {
                users.push(',');
            }
            users.push_str(&format!(
                "('{id}', '{name}', '{name}', 'Member {i:05}', '{name}@example.com', TRUE, '{}', 1, {i}, {i})",
                resource.to_string().replace('\'', "''")
            ));
            if *i < in_group {
                if any_member {
                    members.push(',');
                }
                any_member = true;
                members.push_str(&format!("('{group}', '{id}', 0)"));
            }
        }
        sqlx::query(&users).execute(&mut *tx).await.unwrap();
        if any_member {
            sqlx::query(&members).execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    group
}

#[tokio::test]
async fn members_of_large_and_small_groups_page_by_key_and_search() {
    for db in TestDatabase::each().await {
        let b = db.backend;
        let store = db.store().await;
        // More members than the small-group threshold (2,000), so the large-group plan runs.
        let big = bulk_group(&db, &store, 2_300, 2_150).await;
        let c = caller(&store, "Okta").await;
        let few: Vec<String> = (0..3)
            .map(|i| format!("01900000-0000-7000-8000-{i:012}"))
            .collect();
        let small = create_group(&store, &c, "Small", &[&few[2], &few[0], &few[1]]).await;

        let members = |group: &str, order: SortOrder, search: Option<&str>| UserListQuery {
            filter: UserFilter {
                group_id: Some(group.to_string()),
                search: search.map(str::to_string),
                ..Default::default()
            },
            order,
            limit: 200,
            ..Default::default()
        };
        let first = store
            .list_directory_users(&members(&big, SortOrder::Asc, None))
            .await
            .unwrap();
        let count = |q: UserListQuery| {
            let store = store.clone();
            async move { store.count_directory_users(&q.filter).await.unwrap() }
        };
        assert_eq!(
            count(members(&big, SortOrder::Asc, None)).await,
            2_150,
            "{b:?}"
        );
        assert_eq!(first.rows[0].user_name, "member00000");
        assert_eq!(
            first.total,
            Some(2_150),
            "{b:?}: the member count comes with the page"
        );
        let everyone = walk_forward(&store, members(&big, SortOrder::Asc, None)).await;
        assert_eq!(everyone.len(), 2_150, "{b:?}");
        let expected: Vec<String> = (0..2_150).map(|i| format!("member{i:05}")).collect();
        let got: Vec<String> = everyone.iter().map(|u| u.user_name.clone()).collect();
        assert_eq!(got, expected, "{b:?}: every member once, in order");
        let desc = store
            .list_directory_users(&members(&big, SortOrder::Desc, None))
            .await
            .unwrap();
        assert_eq!(
            desc.rows[0].user_name, "member02149",
            "{b:?}: non-members never appear"
        );

        // Search inside a large group: userName prefix, and family name.
        let found = store
            .list_directory_users(&members(&big, SortOrder::Asc, Some("member0210")))
            .await
            .unwrap();
        assert_eq!(
            names(&found),
            (2100..2110)
                .map(|i| format!("member{i:05}"))
                .collect::<Vec<_>>(),
            "{b:?}"
        );
        assert_eq!(
            count(members(&big, SortOrder::Asc, Some("member0210"))).await,
            10
        );
        // A search inside a large group reads every match, and says how many.
        assert_eq!(found.total, Some(10), "{b:?}");
        let fam = store
            .list_directory_users(&members(&big, SortOrder::Asc, Some("fam3")))
            .await
            .unwrap();
        assert_eq!(fam.rows.len(), 200, "{b:?}: a full page");
        assert_eq!(fam.total, Some(215), "{b:?}: dense matches too");
        let second = store
            .list_directory_users(&UserListQuery {
                after: fam.next.clone(),
                ..members(&big, SortOrder::Asc, Some("fam3"))
            })
            .await
            .unwrap();
        assert_eq!(second.rows.len(), 15, "{b:?}: the rest");
        assert_eq!(second.total, Some(215), "{b:?}: every page knows the total");
        assert_eq!(
            count(members(&big, SortOrder::Asc, Some("fam3"))).await,
            215,
            "{b:?}: one in ten members"
        );
        // Paged by key through a search inside a large group, in each sort and both
        // directions: members only, every match once. Names and update times follow the
        // member's number, so every order is the numbers' order.
        let fam3: Vec<String> = (0..2_150)
            .filter(|i| i % 10 == 3)
            .map(|i| format!("member{i:05}"))
            .collect();
        for (sort, order) in [
            (UserSort::UserName, SortOrder::Asc),
            (UserSort::Name, SortOrder::Desc),
            (UserSort::Updated, SortOrder::Asc),
        ] {
            let q = UserListQuery {
                sort,
                limit: 40,
                ..members(&big, order, Some("fam3"))
            };
            let mut expected = fam3.clone();
            if order == SortOrder::Desc {
                expected.reverse();
            }
            assert_walks_both_ways(&store, &q, &expected, &format!("{b:?}: {sort:?}")).await;
        }

        // A narrow search over the whole directory (few matches among many users): the
        // matches are read through the search's indexes and sorted, in both directions.
        for (sort, order) in [
            (UserSort::Name, SortOrder::Desc),
            (UserSort::Updated, SortOrder::Asc),
        ] {
            let q = UserListQuery {
                filter: UserFilter {
                    search: Some("Member 0210".into()),
                    ..Default::default()
                },
                sort,
                order,
                limit: 3,
                ..Default::default()
            };
            let mut expected: Vec<String> = (2100..2110).map(|i| format!("member{i:05}")).collect();
            if order == SortOrder::Desc {
                expected.reverse();
            }
            assert_walks_both_ways(&store, &q, &expected, &format!("{b:?}: {sort:?}")).await;
        }

        let small_page = store
            .list_directory_users(&members(&small, SortOrder::Desc, None))
            .await
            .unwrap();
        assert_eq!(
            names(&small_page),
            ["member00002", "member00001", "member00000"],
            "{b:?}"
        );
        assert_eq!(count(members(&small, SortOrder::Desc, None)).await, 3);
        let small_walk = walk_forward(
            &store,
            UserListQuery {
                limit: 2,
                ..members(&small, SortOrder::Asc, None)
            },
        )
        .await;
        assert_eq!(small_walk.len(), 3, "{b:?}");

        // The groups list counts members without loading them.
        let groups = store
            .list_directory_groups(&GroupListQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let counts: Vec<(String, u64)> = groups
            .rows
            .iter()
            .map(|g| (g.display_name.clone(), g.member_count))
            .collect();
        assert_eq!(
            counts,
            [("Big 2300".to_string(), 2_150), ("Small".to_string(), 3)],
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn groups_list_searches_filters_by_profile_and_pages() {
    for db in TestDatabase::each().await {
        let b = db.backend;
        let store = db.store().await;
        let c = caller(&store, "Okta").await;
        let ada = create_user(&store, &c, user("ada", "Ada", "Lovelace", None)).await;
        let mut ids = Vec::new();
        for name in [
            "Engineering",
            "eng-oncall",
            "Sales",
            "Support",
            "Finance",
            "ENG Managers",
        ] {
            ids.push(create_group(&store, &c, name, &[&ada]).await);
        }
        let profile = gatehouse_domain::saml_profiles::create_profile(
            &store,
            &Sealer::new([7; 32]),
            "Okta SSO",
            "",
            Actor::System,
        )
        .await
        .unwrap();
        store
            .set_group_profile(&ids[0], Some(profile.id), Actor::System)
            .await
            .unwrap();

        let list = |q: GroupListQuery| {
            let store = store.clone();
            async move {
                let p = store.list_directory_groups(&q).await.unwrap();
                (
                    store.count_directory_groups(&q).await.unwrap(),
                    p.rows
                        .iter()
                        .map(|g| g.display_name.clone())
                        .collect::<Vec<_>>(),
                )
            }
        };
        let q = |search: Option<&str>| GroupListQuery {
            search: search.map(str::to_string),
            limit: 50,
            ..Default::default()
        };
        assert_eq!(
            list(q(Some("eng"))).await,
            (
                3,
                vec![
                    "ENG Managers".into(),
                    "eng-oncall".into(),
                    "Engineering".into()
                ]
            ),
            "{b:?}: prefix, case-insensitive, bytewise order"
        );
        assert_eq!(list(q(Some("s"))).await.0, 2);
        let mut contains = q(Some("NEER"));
        contains.mode = SearchMode::Contains;
        assert_eq!(list(contains).await.1, ["Engineering"], "{b:?}");
        let mut assigned = q(None);
        assigned.profile = Some(ProfileFilter::Profile(profile.id));
        assert_eq!(list(assigned).await.1, ["Engineering"], "{b:?}");
        let mut unassigned = q(None);
        unassigned.profile = Some(ProfileFilter::Unassigned);
        assert_eq!(list(unassigned).await.0, 5, "{b:?}");

        // Paging by name, both directions, two at a time.
        let mut seen = Vec::new();
        let mut page_q = GroupListQuery {
            limit: 2,
            order: SortOrder::Desc,
            ..Default::default()
        };
        loop {
            let page = store.list_directory_groups(&page_q).await.unwrap();
            assert_eq!(store.count_directory_groups(&page_q).await.unwrap(), 6);
            seen.extend(page.rows.iter().map(|g| g.display_name.clone()));
            match page.next {
                Some(n) => page_q.after = Some(n),
                None => break,
            }
        }
        assert_eq!(
            seen,
            [
                "Support",
                "Sales",
                "Finance",
                "Engineering",
                "eng-oncall",
                "ENG Managers"
            ],
            "{b:?}"
        );
        let by_update = store
            .list_directory_groups(&GroupListQuery {
                limit: 50,
                sort: GroupSort::Updated,
                order: SortOrder::Desc,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_update.rows.len(), 6);
        assert!(
            by_update
                .rows
                .windows(2)
                .all(|w| w[0].updated_at >= w[1].updated_at),
            "{b:?}"
        );

        // The row: members, profile, source, and the profile assignment as the last change.
        let eng = store.directory_group(&ids[0]).await.unwrap().summary;
        assert_eq!(eng.member_count, 1);
        assert_eq!(
            eng.profile.as_ref().map(|p| p.name.as_str()),
            Some("Okta SSO")
        );
        assert_eq!(eng.source.name, "Okta");
        assert!(eng.last_change >= eng.updated_at);
        assert!(matches!(
            store.directory_group("nope").await,
            Err(DomainError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn a_users_page_shows_all_attributes_groups_profiles_and_last_sign_in() {
    for db in TestDatabase::each().await {
        let b = db.backend;
        let store = db.store().await;
        let c = caller(&store, "Okta production").await;
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "ada@example.com",
            "externalId": "00u1",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}],
            "addresses": [{"type": "work", "locality": "London", "country": "GB"}],
            "title": "Analyst",
            "password": "not-to-be-shown-1",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "1815", "department": "Engines", "manager": {"value": "42", "displayName": "Charles Babbage"}
            }
        });
        let id = create_user(&store, &c, body).await;
        let eng = create_group(&store, &c, "Engineering", &[&id]).await;
        create_group(&store, &c, "All staff", &[&id]).await;
        let profile = gatehouse_domain::saml_profiles::create_profile(
            &store,
            &Sealer::new([7; 32]),
            "Okta SSO",
            "",
            Actor::System,
        )
        .await
        .unwrap();
        store
            .set_group_profile(&eng, Some(profile.id), Actor::System)
            .await
            .unwrap();

        let detail = store.directory_user(&id).await.unwrap();
        assert_eq!(
            detail.summary.name.as_deref(),
            Some("Ada Lovelace"),
            "{b:?}: name from its parts"
        );
        assert_eq!(detail.summary.email.as_deref(), Some("ada@example.com"));
        assert_eq!(detail.summary.source.name, "Okta production");
        assert_eq!(detail.external_id.as_deref(), Some("00u1"));
        let groups: Vec<(&str, Option<&str>)> = detail
            .groups
            .iter()
            .map(|m| {
                (
                    m.group.display_name.as_str(),
                    m.profile.as_ref().map(|p| p.name.as_str()),
                )
            })
            .collect();
        assert_eq!(
            groups,
            [("All staff", None), ("Engineering", Some("Okta SSO"))],
            "{b:?}"
        );
        let rows: Vec<(&str, &str)> = detail
            .attributes
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| (r.path.as_str(), r.value.as_str())))
            .collect();
        for expected in [
            ("userName", "ada@example.com"),
            ("phoneNumbers[work]", "+44 20 7946 0000"),
            ("addresses[work]", "London, GB"),
            ("department", "Engines"),
            ("title", "Analyst"),
            ("employeeNumber", "1815"),
            ("manager", "42"),
        ] {
            assert!(rows.contains(&expected), "{b:?}: {expected:?} in {rows:?}");
        }
        assert!(
            !rows.iter().any(|(p, _)| p.starts_with("addresses[work].")),
            "{b:?}: parts shown once"
        );
        assert!(
            !format!("{detail:?}").contains("not-to-be-shown"),
            "{b:?}: a password is never shown"
        );
        assert_eq!(detail.last_sign_in, None);

        // Sign-ins are events with the user's id; the latest successful one counts.
        for (action, outcome) in [
            ("sign_in.succeeded", Outcome::Success),
            ("sign_in.failed", Outcome::Failure),
        ] {
            store
                .record_event(NewEvent {
                    category: Category::SignIn,
                    action,
                    outcome,
                    actor: Actor::Anonymous,
                    target: Some("ada@example.com".into()),
                    detail: Some(json!({"user_id": id}).to_string()),
                })
                .await
                .unwrap();
        }
        let detail = store.directory_user(&id).await.unwrap();
        let signed_in = detail.last_sign_in.expect("a sign-in");
        assert!(
            (time::OffsetDateTime::now_utc() - signed_in).whole_seconds() < 60,
            "{b:?}"
        );

        assert!(matches!(
            store.directory_user(&uuid_like(1)).await,
            Err(DomainError::NotFound(_))
        ));
        assert!(matches!(
            store.directory_user("' OR 1=1 --").await,
            Err(DomainError::NotFound(_))
        ));
    }
}
