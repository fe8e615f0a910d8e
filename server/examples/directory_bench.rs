//! Benchmark of the console's Users and User Groups lists at scale: the first page of Users
//! with a search (the issue's target: median under 50 ms with 100,000 users), with each
//! filter and sort, a page deep in the list, a 50,000-member group's members, the groups
//! list and a user's page.
//!
//! ```text
//! cargo run --release -p gatehouse-server --example directory_bench -- [--postgres]
//!     [--users 100000] [--events 1000000] [--big-group 50000] [--runs 21]
//! ```
//!
//! It seeds a throw-away database (SQLite, or PostgreSQL at GATEHOUSE_TEST_POSTGRES_URL) with
//! `--users` users (names drawn from small pools, so a search matches many of them, as in a
//! real company), 500 groups of which one holds `--big-group` members, a `user.created`
//! event per user from one SCIM token (the Source column reads it) and further events up to
//! `--events`. Then it times the store calls behind each screen, the page
//! (`list_directory_users`, `list_directory_groups`, `directory_user`) and, apart, the
//! total above it (`count_directory_users`, `count_directory_groups`: the console asks for
//! it in a request of its own, once per filter; a group's member list is one request, so
//! its rows time the page with its total together), 3 warm-up runs and `--runs` timed ones
//! each, and prints median and p95 as a markdown table. Searches rotate through several terms so no single lucky term decides the result.
//! SQLite is not ANALYZEd (a fresh installation is not); PostgreSQL is, as autovacuum would.

use clap::Parser;
use gatehouse_domain::event::{Actor, Category, NewEvent, Outcome};
use gatehouse_domain::store::{
    GroupListQuery, SearchMode, SortOrder, Store, UserFilter, UserListQuery, UserSort,
};
use gatehouse_domain::testing::TestDatabase;
use serde_json::json;
use std::cell::Cell;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

#[derive(Parser, Debug)]
struct Bench {
    /// Run on PostgreSQL instead of SQLite.
    #[arg(long)]
    postgres: bool,
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Events in the store in all (one `user.created` per user, the rest other actions).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Members of the largest group.
    #[arg(long, default_value_t = 50_000)]
    big_group: usize,
    /// Timed runs per scenario (after 3 warm-up runs).
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Keep the seeded database (print its URL) instead of dropping it, to look at plans.
    #[arg(long)]
    keep_db: bool,
    /// Only seed (with --keep-db), do not time anything.
    #[arg(long)]
    seed_only: bool,
}

/// A small deterministic generator, so every run seeds the same directory.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const GIVEN: [&str; 24] = [
    "Ada",
    "Alan",
    "Barbara",
    "Charles",
    "Dana",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "Joan",
    "Ken",
    "Linus",
    "Margaret",
    "Niklaus",
    "Ole",
    "Radia",
    "Sophie",
    "Tim",
    "Ursula",
    "Vint",
    "Whitfield",
    "Xiao",
    "Yukihiro",
];
const FAMILY: [&str; 20] = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Babbage",
    "Scott",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Sutherland",
    "Clarke",
    "Thompson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Dahl",
    "Perlman",
    "Wilson",
    "Berners-Lee",
    "Matsumoto",
];
const GROUPS: usize = 500;

fn user_id(i: usize) -> String {
    format!("01900000-0000-7000-8000-{i:012}")
}

fn group_id(i: usize) -> String {
    format!("01900000-0000-7000-9000-{i:012}")
}

struct Person {
    user_name: String,
    given: &'static str,
    family: &'static str,
}

fn person(i: usize) -> Person {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let given = GIVEN[r.below(GIVEN.len())];
    let family = FAMILY[r.below(FAMILY.len())];
    Person {
        user_name: format!(
            "{}.{}{i}@example.com",
            given.to_lowercase(),
            family.to_lowercase()
        ),
        given,
        family,
    }
}

async fn seed(url: &str, users: usize, big_group: usize) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect for seeding");
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let mut rng = Rng(42);
    for chunk in (0..users).collect::<Vec<_>>().chunks(10_000) {
        let mut tx = pool.begin().await.unwrap();
        for rows in chunk.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO users (id, user_name, user_name_key, external_id, display_name, primary_email, active, resource, version, created_at, updated_at) VALUES ",
            );
            for k in 0..rows.len() {
                let b = k * 11;
                if k > 0 {
                    sql.push(',');
                }
                let p: Vec<String> = (1..=11).map(|j| format!("${}", b + j)).collect();
                sql.push_str(&format!("({})", p.join(",")));
            }
            let mut q = sqlx::query(&sql);
            for &i in rows {
                let p = person(i);
                let active = rng.below(10) != 0;
                let display = format!("{} {}", p.given, p.family);
                let resource = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                    "userName": p.user_name, "active": active, "displayName": display,
                    "externalId": format!("00u{i:017}"),
                    "name": {"givenName": p.given, "familyName": p.family},
                    "emails": [{"value": p.user_name, "type": "work", "primary": true}],
                    "title": "Engineer", "locale": "en-US",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "employeeNumber": i.to_string()},
                });
                let created = now - 86_400_000 * 400 + i as i64 * 1000;
                q = q
                    .bind(user_id(i))
                    .bind(p.user_name.clone())
                    .bind(p.user_name.clone())
                    .bind(format!("00u{i:017}"))
                    .bind(display)
                    .bind(p.user_name)
                    .bind(active)
                    .bind(resource.to_string())
                    .bind(1i64)
                    .bind(created)
                    .bind(created + rng.below(86_400_000 * 300) as i64);
            }
            q.execute(&mut *tx).await.expect("insert users");
        }
        tx.commit().await.unwrap();
    }

    let mut tx = pool.begin().await.unwrap();
    for rows in (0..GROUPS).collect::<Vec<_>>().chunks(250) {
        let mut sql = String::from(
            "INSERT INTO user_groups (id, display_name, display_name_key, resource, version, created_at, updated_at) VALUES ",
        );
        for (k, &g) in rows.iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            let name = if g == 0 {
                "Everyone".to_string()
            } else {
                format!("Team {g:03}")
            };
            let resource = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
            sql.push_str(&format!(
                "('{}', '{name}', '{}', '{}', 1, {now}, {now})",
                group_id(g),
                name.to_lowercase(),
                resource
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();

    // The big group: the first `big_group` users. Every user is also in one team.
    let mut members: Vec<(usize, usize)> = (0..big_group.min(users)).map(|u| (0, u)).collect();
    members.extend((0..users).map(|u| (1 + u % (GROUPS - 1), u)));
    for chunk in members.chunks(20_000) {
        let mut tx = pool.begin().await.unwrap();
        for rows in chunk.chunks(1_000) {
            let values: Vec<String> = rows
                .iter()
                .map(|(g, u)| format!("('{}', '{}', {now})", group_id(*g), user_id(*u)))
                .collect();
            sqlx::query(&format!(
                "INSERT INTO group_members (group_id, user_id, added_at) VALUES {}",
                values.join(",")
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    pool.close().await;
}

/// One `user.created` per user by the token, then updates and sign-ins up to `total`.
async fn seed_events(store: &Store, total: usize, users: usize, token: &str) {
    let mut rng = Rng(7);
    let start = OffsetDateTime::now_utc() - time::Duration::days(300);
    let mut done = 0;
    while done < total {
        let batch = (total - done).min(20_000);
        let events = (done..done + batch)
            .map(|i| {
                let at = start + time::Duration::seconds(i as i64 * 25);
                let (action, category, actor, u) = if i < users {
                    (
                        "user.created",
                        Category::Provisioning,
                        Actor::ScimToken(token.into()),
                        i,
                    )
                } else if rng.below(10) == 0 {
                    (
                        "sign_in.succeeded",
                        Category::SignIn,
                        Actor::Anonymous,
                        rng.below(users),
                    )
                } else {
                    (
                        "user.updated",
                        Category::Provisioning,
                        Actor::ScimToken(token.into()),
                        rng.below(users),
                    )
                };
                (
                    at,
                    NewEvent {
                        category,
                        action,
                        outcome: Outcome::Success,
                        actor,
                        target: Some(person(u).user_name),
                        detail: Some(json!({"user_id": user_id(u), "token": "Okta"}).to_string()),
                    },
                )
            })
            .collect();
        store.insert_events_at(events).await.expect("insert events");
        done += batch;
        eprint!("\r  events: {done}/{total}");
    }
    eprintln!();
}

struct Timing {
    median: Duration,
    p95: Duration,
}

async fn time_it<F, Fut>(runs: usize, mut f: F) -> Timing
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..3 {
        f(i).await;
    }
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(3 + i).await;
        times.push(t.elapsed());
    }
    times.sort();
    Timing {
        median: times[times.len() / 2],
        p95: times[(times.len() * 95 / 100).min(times.len() - 1)],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn users_query(filter: UserFilter) -> UserListQuery {
    UserListQuery {
        filter,
        limit: 50,
        ..Default::default()
    }
}

fn searching(term: &str, mode: SearchMode) -> UserListQuery {
    users_query(UserFilter {
        search: Some(term.into()),
        mode,
        ..Default::default()
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bench = Bench::parse();
    let db = if bench.postgres {
        TestDatabase::postgres().await
    } else {
        TestDatabase::sqlite()
    };
    let store = db.store().await;
    let (token, _) = store
        .create_scim_token("Okta production", None, Actor::System)
        .await
        .unwrap();
    let t = Instant::now();
    eprintln!(
        "seeding {} users, {GROUPS} groups (one of {}) on {}",
        bench.users,
        bench.big_group,
        db.backend.name()
    );
    seed(&db.url, bench.users, bench.big_group).await;
    seed_events(
        &store,
        bench.events.max(bench.users),
        bench.users,
        &token.id.to_string(),
    )
    .await;
    if bench.postgres {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
    }
    eprintln!("seeded in {:.0} s", t.elapsed().as_secs_f64());
    if bench.keep_db {
        eprintln!("keeping the database: {}", db.url);
    }
    if bench.seed_only {
        store.close().await;
        if bench.keep_db {
            std::mem::forget(db);
        }
        return;
    }

    let runs = bench.runs;
    // Each scenario: the page (what the list waits for), then the total (a request of its
    // own in the console, made once per filter rather than once per page).
    let mut rows: Vec<(String, u64, Timing, Option<Timing>)> = Vec::new();
    macro_rules! scenario {
        ($name:expr, $make:expr) => {{
            let make = $make;
            let page = time_it(runs, |i| {
                let q: UserListQuery = make(i);
                let store = store.clone();
                async move {
                    store.list_directory_users(&q).await.expect("list users");
                }
            })
            .await;
            let total = Cell::new(0);
            let count = time_it(runs, |i| {
                let q: UserListQuery = make(i);
                let store = store.clone();
                let total = &total;
                async move {
                    total.set(store.count_directory_users(&q.filter).await.expect("count"));
                }
            })
            .await;
            eprintln!(
                "  {}: page median {} ms, total median {} ms",
                $name,
                ms(page.median),
                ms(count.median)
            );
            rows.push(($name.to_string(), total.get(), page, Some(count)));
        }};
    }

    // A group's member list: one request, the page and its total; the total is counted
    // apart only when the page did not learn it (see `DirectoryPage::total`).
    macro_rules! members_scenario {
        ($name:expr, $make:expr) => {{
            let make = $make;
            let total = Cell::new(0);
            let both = time_it(runs, |i| {
                let q: UserListQuery = make(i);
                let store = store.clone();
                let total = &total;
                async move {
                    let page = store.list_directory_users(&q).await.expect("list members");
                    let n = match page.total {
                        Some(n) => n,
                        None => store.count_directory_users(&q.filter).await.expect("count"),
                    };
                    total.set(n);
                }
            })
            .await;
            eprintln!("  {}: page with total median {} ms", $name, ms(both.median));
            rows.push(($name.to_string(), total.get(), both, None));
        }};
    }

    let three = [
        "ada", "lov", "hop", "tur", "mar", "dij", "gra", "tho", "wil", "ken",
    ];
    let names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Ken Thompson",
        "Tim Berners",
    ];
    scenario!("Users, first page, no search", |_| users_query(
        UserFilter::default()
    ));
    scenario!(
        "Users, search 1 letter (\"a\", \"m\", \"t\"…)",
        |i: usize| { searching(["a", "m", "t", "l", "s"][i % 5], SearchMode::Prefix,) }
    );
    scenario!(
        "Users, search 3 letters (\"ada\", \"lov\"…)",
        |i: usize| { searching(three[i % three.len()], SearchMode::Prefix) }
    );
    scenario!(
        "Users, search full name (\"Grace Hopper\"…)",
        |i: usize| { searching(names[i % names.len()], SearchMode::Prefix) }
    );
    scenario!("Users, search one userName", |i: usize| {
        searching(&person(i * 997 % bench.users).user_name, SearchMode::Prefix)
    });
    scenario!("Users, search \"contains\" (\"42@\"…)", |i: usize| {
        searching(&format!("{}@", 40 + i % 10), SearchMode::Contains)
    });
    scenario!(
        "Users, search 3 letters, sorted by name desc",
        |i: usize| {
            UserListQuery {
                sort: UserSort::Name,
                order: SortOrder::Desc,
                ..searching(three[i % three.len()], SearchMode::Prefix)
            }
        }
    );
    scenario!("Users, search 3 letters + inactive", |i: usize| {
        let mut q = searching(three[i % three.len()], SearchMode::Prefix);
        q.filter.active = Some(false);
        q
    });
    scenario!("Users, inactive only", |_| users_query(UserFilter {
        active: Some(false),
        ..Default::default()
    }));
    scenario!("Users, sorted by updated desc", |_| UserListQuery {
        sort: UserSort::Updated,
        order: SortOrder::Desc,
        ..users_query(UserFilter::default())
    });
    scenario!("Users, source = the token", |_| users_query(UserFilter {
        source_token_id: Some(token.id.to_string()),
        ..Default::default()
    }));

    // A page deep in the list: the cursor of the 1,000th page of 50 (found by walking).
    let mut q = users_query(UserFilter::default());
    let deep_pages = (bench.users / 50).saturating_sub(2).min(1_000);
    for _ in 0..deep_pages {
        let page = store.list_directory_users(&q).await.unwrap();
        q.after = page.next;
    }
    let deep = q.clone();
    scenario!(format!("Users, page {deep_pages} (by cursor)"), |_| deep
        .clone());

    let big = group_id(0);
    members_scenario!(
        format!(
            "Members of the {}-member group, first page, with total",
            bench.big_group
        ),
        |_| users_query(UserFilter {
            group_id: Some(big.clone()),
            ..Default::default()
        })
    );
    members_scenario!(
        format!(
            "Members of the {}-member group, search 3 letters, with total",
            bench.big_group
        ),
        |i: usize| users_query(UserFilter {
            group_id: Some(big.clone()),
            search: Some(three[i % three.len()].into()),
            ..Default::default()
        })
    );
    members_scenario!(
        format!(
            "Members of the {}-member group, search 1 letter, with total",
            bench.big_group
        ),
        |i: usize| users_query(UserFilter {
            group_id: Some(big.clone()),
            search: Some(["a", "m", "t", "l", "s"][i % 5].into()),
            ..Default::default()
        })
    );
    let team = group_id(7);
    members_scenario!("Members of a team (~200), first page, with total", |_| {
        users_query(UserFilter {
            group_id: Some(team.clone()),
            ..Default::default()
        })
    });

    let group_total = Cell::new(0);
    let groups_query = GroupListQuery {
        limit: 50,
        ..Default::default()
    };
    let groups = time_it(runs, |_| {
        let store = store.clone();
        let q = groups_query.clone();
        async move {
            store.list_directory_groups(&q).await.unwrap();
        }
    })
    .await;
    let groups_count = time_it(runs, |_| {
        let store = store.clone();
        let q = groups_query.clone();
        let total = &group_total;
        async move {
            total.set(store.count_directory_groups(&q).await.unwrap());
        }
    })
    .await;
    rows.push((
        "User Groups, first page (member counts)".into(),
        group_total.get(),
        groups,
        Some(groups_count),
    ));
    let detail = time_it(runs, |i| {
        let store = store.clone();
        async move {
            store
                .directory_user(&user_id(i * 7919 % bench.users))
                .await
                .unwrap();
        }
    })
    .await;
    rows.push((
        "A user's page (attributes, groups, last sign-in)".into(),
        1,
        detail,
        None,
    ));

    println!(
        "\n{} users, {} events, {GROUPS} groups, on {}; {runs} runs each\n",
        bench.users,
        bench.events.max(bench.users),
        db.backend.name()
    );
    println!("| Scenario | Matches | Page median (ms) | Page p95 (ms) | Total median (ms) | Total p95 (ms) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, total, t, count) in rows {
        let (cm, cp) = count.map_or(("—".into(), "—".into()), |c| (ms(c.median), ms(c.p95)));
        println!(
            "| {name} | {total} | {} | {} | {cm} | {cp} |",
            ms(t.median),
            ms(t.p95)
        );
    }
    store.close().await;
    if bench.keep_db {
        std::mem::forget(db);
    }
}
