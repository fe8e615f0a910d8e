//! Benchmark of Events / Logs at scale: the first page of events with each single filter,
//! the chart's counts, and the CSV export's rate and peak memory.
//!
//! ```text
//! cargo run --release -p gatehouse-server --example events_bench -- [--postgres]
//!     [--events 1000000] [--users 100000] [--runs 21]
//! ```
//!
//! It seeds a throw-away database (SQLite, or PostgreSQL at GATEHOUSE_TEST_POSTGRES_URL) with
//! `--users` SCIM users and `--events` events spread over the last 30 days, then starts the
//! real server in this process (`serve::prepare` + `router::build`) and measures:
//! the store call behind the page (`Store::query_events`, the server's own work) and the
//! whole `list_events` server function over HTTP, median and p95 of `--runs` runs after 3
//! warm-up runs; and `GET /console/api/events/export.csv?range=all` read to the end by a
//! client that keeps no more than one chunk, with the process's peak RSS (VmHWM, reset just
//! before the export). See docs/benchmarks.md for results.

use clap::Parser;
use gatehouse_domain::event::{Actor, Category, EventFilter, EventParams, NewEvent, Outcome};
use gatehouse_domain::store::{AdminOrigin, EventQuery, Store};
use gatehouse_domain::testing::TestDatabase;
use gatehouse_server::config::ServeArgs;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Instant;
use time::OffsetDateTime;

#[derive(Parser, Debug)]
struct Bench {
    /// Run on PostgreSQL instead of SQLite.
    #[arg(long)]
    postgres: bool,
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Timed runs per scenario (after 3 warm-up runs).
    #[arg(long, default_value_t = 21)]
    runs: usize,
}

/// The server's own arguments, parsed the way the binary parses them.
#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    args: ServeArgs,
}

/// A small deterministic generator, so every run seeds the same history.
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

fn user_name(i: usize) -> String {
    format!("user{i:06}@example.com")
}

fn user_id(i: usize) -> String {
    format!("01900000-0000-7000-8000-{i:012}")
}

fn group_id(i: usize) -> String {
    format!("01900000-0000-7000-9000-{i:012}")
}

async fn seed_users(url: &str, n: usize) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect for seeding");
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let mut tx = pool.begin().await.unwrap();
        for rows in chunk.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO users (id, user_name, user_name_key, display_name, primary_email, active, resource, version, created_at, updated_at) VALUES ",
            );
            for (k, _) in rows.iter().enumerate() {
                let b = k * 10;
                if k > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${},${},${},${},${},${},${},${},${},${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
            }
            let mut q = sqlx::query(&sql);
            for &i in rows {
                let name = user_name(i);
                let resource = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name, "active": true, "displayName": format!("User {i}"),
                });
                q = q
                    .bind(user_id(i))
                    .bind(name.clone())
                    .bind(name.clone())
                    .bind(format!("User {i}"))
                    .bind(name)
                    .bind(true)
                    .bind(resource.to_string())
                    .bind(1i64)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await.expect("insert users");
        }
        tx.commit().await.unwrap();
    }
    if url.starts_with("postgres") {
        pool.execute("ANALYZE").await.unwrap();
    }
    pool.close().await;
}

/// Events over the last 30 days, in the proportions a provisioning-heavy installation sees:
/// mostly SCIM writes by two tokens, some sign-ins, a little configuration, 2% failures.
async fn seed_events(store: &Store, n: usize, users: usize, admins: &[String], tokens: &[String]) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let now = OffsetDateTime::now_utc();
    let span_ms = 30 * 86_400_000i64;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(20_000);
        let mut events = Vec::with_capacity(batch);
        for k in 0..batch {
            // Oldest first, evenly spread, with a little jitter.
            let i = done + k;
            let at = now - time::Duration::milliseconds(span_ms - (i as i64 * span_ms / n as i64))
                + time::Duration::milliseconds((rng.below(1000)) as i64);
            let u = rng.below(users);
            let g = rng.below(1000);
            let token = Actor::ScimToken(tokens[rng.below(tokens.len())].clone());
            let failed = rng.below(100) < 2;
            let roll = rng.below(100);
            let e = if roll < 80 {
                let (action, target, detail) = match roll % 8 {
                    0..=2 => (
                        "user.updated",
                        user_name(u),
                        json!({"user_id": user_id(u), "token": "Okta", "client_ip": "10.0.0.1", "changed": ["name"]}),
                    ),
                    3 => (
                        "user.created",
                        user_name(u),
                        json!({"user_id": user_id(u), "token": "Okta", "client_ip": "10.0.0.1", "active": true}),
                    ),
                    4 => (
                        "user.deactivated",
                        user_name(u),
                        json!({"user_id": user_id(u), "token": "Okta", "client_ip": "10.0.0.1"}),
                    ),
                    _ => (
                        "group.members_changed",
                        format!("Group {g}"),
                        json!({"group_id": group_id(g), "added": [user_id(u)], "removed": [], "token": "Okta"}),
                    ),
                };
                NewEvent {
                    category: Category::Provisioning,
                    action: if failed { "user.update" } else { action },
                    outcome: if failed {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    },
                    actor: token,
                    target: Some(target),
                    detail: Some(if failed {
                        json!({"token": "Okta", "status": 400, "error": "bad request"}).to_string()
                    } else {
                        detail.to_string()
                    }),
                }
            } else if roll < 92 {
                NewEvent {
                    category: Category::SignIn,
                    action: "admin.sign_in",
                    outcome: if failed {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    },
                    actor: Actor::Anonymous,
                    target: Some(format!("admin{}@example.com", rng.below(5))),
                    detail: Some(json!({"reason": "password"}).to_string()),
                }
            } else if roll < 97 {
                NewEvent {
                    category: Category::Configuration,
                    action: "scim_token.created",
                    outcome: Outcome::Success,
                    actor: Actor::Admin(admins[rng.below(admins.len())].clone()),
                    target: Some("Okta".into()),
                    detail: Some(json!({"token_id": tokens[0]}).to_string()),
                }
            } else {
                NewEvent {
                    category: Category::Administration,
                    action: "events.exported",
                    outcome: Outcome::Success,
                    actor: Actor::Admin(admins[rng.below(admins.len())].clone()),
                    target: None,
                    detail: Some(json!({"format": "csv", "filter": "range=all"}).to_string()),
                }
            };
            events.push((at, e));
        }
        store.insert_events_at(events).await.expect("insert events");
        done += batch;
        if done % 200_000 == 0 || done == n {
            eprintln!("  {done} events");
        }
    }
}

fn median_p95(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p95 = v[((v.len() as f64 * 0.95).ceil() as usize).min(v.len()) - 1];
    (v[v.len() / 2], p95)
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// One scenario: a name, the filter for the store call, the same filter as URL parameters.
struct Scenario {
    name: String,
    filter: EventFilter,
    params: EventParams,
}

fn scenario(name: &str, params: EventParams, now: OffsetDateTime) -> Scenario {
    Scenario {
        name: name.into(),
        filter: params.to_filter(now).expect("a valid filter"),
        params,
    }
}

#[tokio::main]
async fn main() {
    let bench = Bench::parse();
    let backend = if bench.postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!("events_bench on {backend}: {bench:?}");

    let db = if bench.postgres {
        TestDatabase::postgres().await
    } else {
        TestDatabase::sqlite()
    };
    let work =
        std::env::temp_dir().join(format!("gatehouse-events-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(work.join("site/pkg")).unwrap();
    std::fs::write(work.join("site/pkg/gatehouse.js"), "").unwrap();
    let mut serve = Serve::parse_from([
        "gatehouse",
        "--database-url",
        &db.url,
        "--data-dir",
        work.join("data").to_str().unwrap(),
        "--site-dir",
        work.join("site").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--admin-email",
        "bench@example.com",
        "--scim-rate-limit",
        "0",
    ])
    .args;
    serve.admin_password = Some("bench password, long enough".into());
    let state = gatehouse_server::serve::prepare(&serve)
        .await
        .expect("prepare the server");
    let store = state.store.clone();

    let t = Instant::now();
    eprintln!("seeding {} users", bench.users);
    seed_users(&db.url, bench.users).await;
    let admin = store
        .create_admin(
            "second@example.com",
            "another long password",
            AdminOrigin::CommandLine,
        )
        .await
        .unwrap();
    let first_admin = store.list_admins().await.unwrap()[0].id.to_string();
    let admins = vec![first_admin, admin.id.to_string()];
    let mut tokens = Vec::new();
    for name in ["Okta production", "Okta staging"] {
        let (tok, _) = store
            .create_scim_token(name, None, Actor::System)
            .await
            .unwrap();
        tokens.push(tok.id.to_string());
    }
    eprintln!("seeding {} events", bench.events);
    seed_events(&store, bench.events, bench.users, &admins, &tokens).await;
    {
        // PostgreSQL's autovacuum analyses a table this size on its own within a minute;
        // do it now rather than wait. SQLite gets no statistics: that is how it runs.
        if bench.postgres {
            use sqlx::Executor;
            let pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap();
            pool.execute("ANALYZE").await.unwrap();
            pool.close().await;
        }
    }
    let seed_secs = t.elapsed().as_secs_f64();
    eprintln!("seeded in {seed_secs:.1} s");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let app = gatehouse_server::router::build(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/console/api/sign_in"))
        .header(ORIGIN, &base)
        .form(&[
            ("email", "bench@example.com"),
            ("password", "bench password, long enough"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "sign-in: {}", res.status());
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gatehouse_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie");

    let now = OffsetDateTime::now_utc();
    let p = |f: &dyn Fn(&mut EventParams)| {
        let mut params = EventParams {
            range: Some("all".into()),
            ..EventParams::default()
        };
        f(&mut params);
        params
    };
    let some_user = user_name(4242);
    let ten_days_ago = gatehouse_domain::event::format_minute(now - time::Duration::days(10));
    let ten_days_ago_plus = gatehouse_domain::event::format_minute(
        now - time::Duration::days(10) + time::Duration::hours(1),
    );
    let scenarios = vec![
        scenario("no filter (all time)", p(&|_| {}), now),
        scenario(
            "time: last 24 hours (the default)",
            p(&|p| p.range = Some("24h".into())),
            now,
        ),
        scenario(
            "time: a custom hour 10 days ago",
            p(&|p| {
                p.range = Some("custom".into());
                p.from = Some(ten_days_ago.clone());
                p.to = Some(ten_days_ago_plus.clone());
            }),
            now,
        ),
        scenario(
            "category = configuration (5%)",
            p(&|p| p.category = Some("configuration".into())),
            now,
        ),
        scenario(
            "action = user.deactivated (~10%)",
            p(&|p| p.action = Some("user.deactivated".into())),
            now,
        ),
        scenario(
            "outcome = failure (2%)",
            p(&|p| p.outcome = Some("failure".into())),
            now,
        ),
        scenario(
            "actor = one administrator",
            p(&|p| p.actor = Some(format!("admin:{}", admins[1]))),
            now,
        ),
        scenario(
            "actor = any SCIM token",
            p(&|p| p.actor = Some("scim_token".into())),
            now,
        ),
        scenario(
            "target = one user's name (~8 events)",
            p(&|p| p.target = Some(some_user.to_uppercase())),
            now,
        ),
        scenario(
            "target = one user's id",
            p(&|p| p.target = Some(user_id(4242))),
            now,
        ),
        scenario(
            "target = name prefix user0042*",
            p(&|p| p.target = Some("user0042*".into())),
            now,
        ),
        scenario(
            "target = a name nobody has",
            p(&|p| p.target = Some("nobody@example.com".into())),
            now,
        ),
    ];

    println!(
        "\n### {backend}: {} events, {} users (median / p95 of {} runs)\n",
        bench.events, bench.users, bench.runs
    );
    println!("| First page (50 rows) with | Rows | Store median ms | Store p95 ms | HTTP median ms | HTTP p95 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut worst: f64 = 0.0;
    for s in &scenarios {
        let query = EventQuery {
            filter: s.filter.clone(),
            limit: 50,
            ..EventQuery::default()
        };
        let mut store_ms = Vec::new();
        let mut rows = 0;
        for i in 0..bench.runs + 3 {
            let t = Instant::now();
            let page = store.query_events(&query).await.unwrap();
            if i >= 3 {
                store_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            rows = page.entries.len();
        }
        let mut form: Vec<(String, String)> = s
            .params
            .pairs()
            .into_iter()
            .map(|(k, v)| (format!("params[{k}]"), v))
            .collect();
        form.sort();
        let mut http_ms = Vec::new();
        for i in 0..bench.runs + 3 {
            let t = Instant::now();
            let res = client
                .post(format!("{base}/console/api/list_events"))
                .header(ORIGIN, &base)
                .header(COOKIE, &cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}: {}", s.name, res.status());
            let _ = res.bytes().await.unwrap();
            if i >= 3 {
                http_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let (sm, sp) = median_p95(store_ms);
        let (hm, hp) = median_p95(http_ms);
        worst = worst.max(sm);
        println!(
            "| {} | {rows} | {sm:.2} | {sp:.2} | {hm:.2} | {hp:.2} |",
            s.name
        );
    }
    println!(
        "\nSlowest store median: {worst:.2} ms (target < 50 ms: {}).",
        if worst < 50.0 { "met" } else { "NOT met" }
    );

    println!("\n| Chart counts (60 slices max) for | Store median ms | Store p95 ms |");
    println!("|---|---:|---:|");
    for s in scenarios.iter().filter(|s| {
        s.name.starts_with("time: last 24")
            || s.name.starts_with("no filter")
            || s.name.starts_with("outcome")
    }) {
        let mut ms = Vec::new();
        for i in 0..bench.runs.min(7) + 1 {
            let t = Instant::now();
            store.event_histogram(&s.filter, 60).await.unwrap();
            if i >= 1 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let (m, p) = median_p95(ms);
        println!("| {} | {m:.1} | {p:.1} |", s.name);
    }

    // The export: memory is measured from here on.
    let rss_before = status_kb("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let mut res = client
        .get(format!("{base}/console/api/events/export.csv?range=all"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "export: {}", res.status());
    let (mut bytes, mut lines, mut chunks) = (0usize, 0usize, 0usize);
    while let Some(chunk) = res.chunk().await.unwrap() {
        bytes += chunk.len();
        chunks += 1;
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let secs = t.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:");
    let rows = lines - 1; // the header
    println!("\n| CSV export, all events | |\n|---|---:|");
    println!("| rows | {rows} |");
    println!(
        "| bytes | {bytes} ({:.0} MB) in {chunks} chunks |",
        bytes as f64 / 1e6
    );
    println!("| time | {secs:.2} s |");
    println!(
        "| rate | {:.0} rows/s (target ≥ 50,000: {}) |",
        rows as f64 / secs,
        if rows as f64 / secs >= 50_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "| process RSS before the export | {} MB |",
        rss_before / 1024
    );
    println!(
        "| process peak RSS during the export (VmHWM, reset before it) | {} MB |",
        peak / 1024
    );
    println!("\nSeeding took {seed_secs:.0} s.");
    assert!(
        rows >= bench.events,
        "the export must hold every event ({rows} < {})",
        bench.events
    );
    let _ = std::fs::remove_dir_all(&work);
}
