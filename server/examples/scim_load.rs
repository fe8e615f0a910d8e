//! Load benchmark of the SCIM endpoints, client and server in one process.
//!
//! ```text
//! cargo run --release -p gatehouse-server --example scim_load -- [--postgres] [--users N]
//!     [--seconds S] [--warmup S] [--concurrency C] [--import-users N] [--import-groups M]
//!     [--group-size N] [--member-batch N] [--scale-users N] [--big-group N] [--member-ops N]
//!     [--only 3,4,5]
//! ```
//!
//! The throughput figures of the issue (scenarios 1 and 2) are measured against the release
//! server in its own process by `scripts/bench-scim`; here the client shares the process and
//! the cores with the server, which understates them. `--only` picks scenarios.
//!
//! See `docs/benchmarks.md` for what each scenario measures and the latest results.

use gatehouse_app::state::{AppState, Settings};
use gatehouse_domain::event::Actor;
use gatehouse_domain::testing::TestDatabase;
use leptos::prelude::LeptosOptions;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCIM_JSON: &str = "application/scim+json";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Clone, Debug)]
struct Args {
    postgres: bool,
    users: usize,
    seconds: f64,
    warmup: f64,
    concurrency: usize,
    import_users: usize,
    import_groups: usize,
    group_size: usize,
    member_batch: usize,
    scale_small: usize,
    scale_users: usize,
    big_group: usize,
    member_ops: usize,
    /// Scenarios to run (1 to 5); all when empty.
    only: Vec<u8>,
}

impl Args {
    fn wants(&self, scenario: u8) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }
}

impl Args {
    fn parse() -> Args {
        let mut a = Args {
            postgres: false,
            users: 2_000,
            seconds: 5.0,
            warmup: 1.0,
            concurrency: 16,
            import_users: 2_000,
            import_groups: 20,
            group_size: 100,
            member_batch: 25,
            scale_small: 1_000,
            scale_users: 20_000,
            big_group: 5_000,
            member_ops: 200,
            only: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--postgres" {
                a.postgres = true;
                continue;
            }
            if flag == "--help" || flag == "-h" {
                println!(
                    "scim_load [--postgres] [--users N] [--seconds S] [--warmup S] \
                     [--concurrency C] [--import-users N] [--import-groups M] [--group-size N] \
                     [--member-batch N] [--scale-small N] [--scale-users N] [--big-group N] \
                     [--member-ops N] [--only 3,4,5]"
                );
                std::process::exit(0);
            }
            let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            let n = || -> usize {
                value
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{flag}: not a number: {value}"))
            };
            match flag.as_str() {
                "--users" => a.users = n(),
                "--seconds" => a.seconds = value.parse().expect("--seconds: a number"),
                "--warmup" => a.warmup = value.parse().expect("--warmup: a number"),
                "--concurrency" => a.concurrency = n().max(1),
                "--import-users" => a.import_users = n(),
                "--import-groups" => a.import_groups = n(),
                "--group-size" => a.group_size = n(),
                "--member-batch" => a.member_batch = n().max(1),
                "--scale-small" => a.scale_small = n().max(1),
                "--scale-users" => a.scale_users = n(),
                "--big-group" => a.big_group = n(),
                "--member-ops" => a.member_ops = n().max(1),
                "--only" => {
                    a.only = value
                        .split(',')
                        .map(|v| match v.trim().parse::<u8>() {
                            Ok(k @ 1..=5) => k,
                            _ => panic!("--only: scenarios are numbers 1 to 5, not {v:?}"),
                        })
                        .collect()
                }
                other => panic!("unknown flag {other} (try --help)"),
            }
        }
        a
    }
}

/// The server under test and a SCIM client for it.
struct Bench {
    base: String,
    token: String,
    client: reqwest::Client,
    _db: TestDatabase,
}

impl Bench {
    async fn spawn(postgres: bool) -> Arc<Bench> {
        let db = if postgres {
            TestDatabase::postgres().await
        } else {
            TestDatabase::sqlite()
        };
        let store = db.store().await;
        let (_, token) = store
            .create_scim_token("bench", None, Actor::System)
            .await
            .expect("create a SCIM token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let state = AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("gatehouse")
                .site_root("target/site")
                .site_addr(addr)
                .build(),
            store,
            settings: Arc::new(Settings {
                public_url: base.clone(),
                session_idle: Duration::from_secs(1800),
                session_absolute: Duration::from_secs(3600),
                event_retention_days: 365,
                scim_rate_per_second: 0,
                sealer: gatehouse_domain::sealed::Sealer::new(rand::random()),
                metadata_fetch: Default::default(),
            }),
        };
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
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        Arc::new(Bench {
            base,
            token,
            client,
            _db: db,
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/scim/v2{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
    }

    /// Sends a request and returns the status and body; `None` on a transport error.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Option<(u16, bytes_body::Body)> {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.header(CONTENT_TYPE, SCIM_JSON).body(b.to_string());
        }
        match r.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let bytes = res.bytes().await.ok()?;
                Some((status, bytes_body::Body(bytes.to_vec())))
            }
            Err(e) => {
                eprintln!("transport error: {e}");
                None
            }
        }
    }

    /// Sends and checks the status; prints the first few unexpected answers.
    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        want: u16,
    ) -> Option<bytes_body::Body> {
        let (status, body) = self.send(method.clone(), path, body).await?;
        if status == want {
            Some(body)
        } else {
            static SHOWN: AtomicU64 = AtomicU64::new(0);
            if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!(
                    "{method} {path}: {status} (wanted {want}): {}",
                    String::from_utf8_lossy(&body.0)
                );
            }
            None
        }
    }
}

mod bytes_body {
    /// A response body, kept as bytes so that timed loops do not parse JSON they do not need.
    pub struct Body(pub Vec<u8>);

    impl Body {
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.0).unwrap_or(serde_json::Value::Null)
        }
    }
}

fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Bench", "familyName": "User"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true
    })
}

fn add_members(ids: &[String]) -> Value {
    let values: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": values}]
    })
}

fn remove_member(id: &str) -> Value {
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn user_filter_path(user_name: &str) -> String {
    format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{user_name}\""))
    )
}

/// A deterministic, well-spread pseudo-random number for request `i` (splitmix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Default)]
struct Stats {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    /// Latencies in microseconds, sorted.
    latencies: Vec<u64>,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: usize) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i] as f64 / 1000.0
    }
}

/// Runs `op(i)` from `concurrency` tasks, `i` counting up from `start`, until `duration` has
/// passed (when `limit` is `None`) or `limit` operations have been started. `op` returns how
/// many HTTP requests it made and whether all of them succeeded.
async fn drive<F, Fut>(
    concurrency: usize,
    start: u64,
    duration: Duration,
    limit: Option<u64>,
    op: F,
) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (u64, bool)> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(start));
    let began = Instant::now();
    let deadline = began + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut requests, mut errors) = (0u64, 0u64);
            loop {
                if limit.is_none() && Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if let Some(l) = limit {
                    if i >= start + l {
                        break;
                    }
                }
                let t0 = Instant::now();
                let (n, ok) = op(i).await;
                lat.push(t0.elapsed().as_micros() as u64);
                requests += n;
                if !ok {
                    errors += 1;
                }
            }
            (lat, requests, errors)
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        let (lat, r, e) = t.await.expect("a load task panicked");
        stats.latencies.extend(lat);
        stats.requests += r;
        stats.errors += e;
    }
    stats.elapsed = began.elapsed();
    stats.latencies.sort_unstable();
    stats
}

/// Creates users `from..to` named `user{i}@example.com` and returns their ids in order.
async fn seed_users(b: &Arc<Bench>, concurrency: usize, from: usize, to: usize) -> Vec<String> {
    if to <= from {
        return Vec::new();
    }
    let began = Instant::now();
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); to - from]));
    let (b2, ids2) = (b.clone(), ids.clone());
    let stats = drive(
        concurrency,
        from as u64,
        Duration::ZERO,
        Some((to - from) as u64),
        move |i| {
            let (b, ids) = (b2.clone(), ids2.clone());
            async move {
                let body = user_body(&format!("user{i}@example.com"));
                match b
                    .expect(reqwest::Method::POST, "/Users", Some(&body), 201)
                    .await
                {
                    Some(res) => {
                        let id = res.json()["id"].as_str().unwrap_or_default().to_string();
                        ids.lock().unwrap()[i as usize - from] = id;
                        (1, true)
                    }
                    None => (1, false),
                }
            }
        },
    )
    .await;
    assert_eq!(stats.errors, 0, "seeding users failed");
    eprintln!(
        "  seeded users {from}..{to} in {:.1}s ({:.0} users/s)",
        began.elapsed().as_secs_f64(),
        stats.rate()
    );
    let ids = ids.lock().unwrap().clone();
    ids
}

async fn create_group(b: &Bench, name: &str) -> String {
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
    let res = b
        .expect(reqwest::Method::POST, "/Groups", Some(&body), 201)
        .await
        .expect("create a group");
    res.json()["id"].as_str().unwrap().to_string()
}

/// Timed `userName eq` lookups of random users among `0..n`, with a warm-up.
async fn lookup_load(b: &Arc<Bench>, args: &Args, n: usize) -> Stats {
    let mk = |b: Arc<Bench>| {
        move |i: u64| {
            let b = b.clone();
            async move {
                let k = mix(i) % n as u64;
                let path = user_filter_path(&format!("user{k}@example.com"));
                let ok = match b.expect(reqwest::Method::GET, &path, None, 200).await {
                    // A cheap check that the user was found, without parsing the JSON.
                    Some(res) => res.0.windows(16).any(|w| w == b"\"totalResults\":1"),
                    None => false,
                };
                (1, ok)
            }
        }
    };
    let warm = Duration::from_secs_f64(args.warmup);
    drive(args.concurrency, 0, warm, None, mk(b.clone())).await;
    let secs = Duration::from_secs_f64(args.seconds);
    drive(args.concurrency, 1 << 40, secs, None, mk(b.clone())).await
}

async fn post_load(b: &Arc<Bench>, args: &Args) -> Stats {
    let mk = |b: Arc<Bench>| {
        move |i: u64| {
            let b = b.clone();
            async move {
                let body = user_body(&format!("post{i}@example.com"));
                let ok = b
                    .expect(reqwest::Method::POST, "/Users", Some(&body), 201)
                    .await
                    .is_some();
                (1, ok)
            }
        }
    };
    let warm = Duration::from_secs_f64(args.warmup);
    drive(args.concurrency, 0, warm, None, mk(b.clone())).await;
    let secs = Duration::from_secs_f64(args.seconds);
    drive(args.concurrency, 1 << 40, secs, None, mk(b.clone())).await
}

/// Okta-style import into an empty database: per user a filter GET then a POST; then per
/// group a filter GET, a POST and PATCHes adding its members in batches.
async fn import(args: &Args) -> (Stats, Stats, Duration) {
    let b = Bench::spawn(args.postgres).await;
    let n = args.import_users;
    let began = Instant::now();
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let (b2, ids2) = (b.clone(), ids.clone());
    let users = drive(
        args.concurrency,
        0,
        Duration::ZERO,
        Some(n as u64),
        move |i| {
            let (b, ids) = (b2.clone(), ids2.clone());
            async move {
                let name = format!("okta{i}@example.com");
                let Some(found) = b
                    .expect(reqwest::Method::GET, &user_filter_path(&name), None, 200)
                    .await
                else {
                    return (1, false);
                };
                if found.json()["totalResults"] != 0 {
                    return (1, false);
                }
                match b
                    .expect(
                        reqwest::Method::POST,
                        "/Users",
                        Some(&user_body(&name)),
                        201,
                    )
                    .await
                {
                    Some(res) => {
                        ids.lock().unwrap()[i as usize] =
                            res.json()["id"].as_str().unwrap_or_default().to_string();
                        (2, true)
                    }
                    None => (2, false),
                }
            }
        },
    )
    .await;
    let ids = Arc::new(ids.lock().unwrap().clone());
    let (size, batch) = (args.group_size.min(n), args.member_batch);
    let b2 = b.clone();
    let groups = drive(
        args.concurrency,
        0,
        Duration::ZERO,
        Some(args.import_groups as u64),
        move |g| {
            let (b, ids) = (b2.clone(), ids.clone());
            async move {
                let name = format!("Okta group {g}");
                let filter = format!(
                    "/Groups?excludedAttributes=members&filter={}",
                    encode(&format!("displayName eq \"{name}\""))
                );
                let mut requests = 1;
                if b.expect(reqwest::Method::GET, &filter, None, 200)
                    .await
                    .is_none()
                {
                    return (requests, false);
                }
                let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
                requests += 1;
                let Some(res) = b
                    .expect(reqwest::Method::POST, "/Groups", Some(&body), 201)
                    .await
                else {
                    return (requests, false);
                };
                let gid = res.json()["id"].as_str().unwrap_or_default().to_string();
                // Members: `size` distinct users, a different window of them per group.
                let first = (mix(g) % n as u64) as usize;
                let members: Vec<String> =
                    (0..size).map(|k| ids[(first + k) % n].clone()).collect();
                let mut ok = true;
                for chunk in members.chunks(batch) {
                    requests += 1;
                    ok &= b
                        .expect(
                            reqwest::Method::PATCH,
                            &format!("/Groups/{gid}"),
                            Some(&add_members(chunk)),
                            200,
                        )
                        .await
                        .is_some();
                }
                (requests, ok)
            }
        },
    )
    .await;
    (users, groups, began.elapsed())
}

/// Adds one member then removes them again, timing only the add, `ops` times in a row, so the
/// group keeps its size. `suffix` is appended to the PATCH path (e.g. a query).
async fn member_add_latency(
    b: &Bench,
    gid: &str,
    spare: &[String],
    ops: usize,
    suffix: &str,
) -> Stats {
    let path = format!("/Groups/{gid}{suffix}");
    let mut stats = Stats::default();
    let began = Instant::now();
    let warm = (ops / 10).max(5);
    for k in 0..(warm + ops) {
        let user = &spare[k % spare.len()];
        let t0 = Instant::now();
        let ok = b
            .expect(
                reqwest::Method::PATCH,
                &path,
                Some(&add_members(std::slice::from_ref(user))),
                200,
            )
            .await
            .is_some();
        let took = t0.elapsed().as_micros() as u64;
        let ok2 = b
            .expect(
                reqwest::Method::PATCH,
                &path,
                Some(&remove_member(user)),
                200,
            )
            .await
            .is_some();
        if k >= warm {
            stats.latencies.push(took);
            stats.requests += 1;
            stats.errors += u64::from(!(ok && ok2));
        }
    }
    stats.elapsed = began.elapsed();
    stats.latencies.sort_unstable();
    stats
}

struct Row {
    scenario: String,
    requests: u64,
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    target: String,
}

fn row(scenario: impl Into<String>, s: &Stats, target: impl Into<String>) -> Row {
    let r = Row {
        scenario: scenario.into(),
        requests: s.requests,
        rate: s.rate(),
        p50: s.pct(50),
        p99: s.pct(99),
        errors: s.errors,
        target: target.into(),
    };
    eprintln!(
        "  {}: {} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        r.scenario, r.requests, r.rate, r.p50, r.p99, r.errors
    );
    r
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "not met"
    }
}

/// Scenario 5: one member added to a group of 10 vs a group of `--big-group`, with the
/// answer Okta gets (the group without its members) and with `attributes=members` (the
/// answer lists every member, so it grows with the group; no target applies to it).
async fn member_scenario(b: &Arc<Bench>, args: &Args, ids: &[String], rows: &mut Vec<Row>) {
    let big = args.big_group.min(ids.len().saturating_sub(20));
    eprintln!("[5] member add: group of 10 vs group of {big}");
    let g_small = create_group(b, "Bench small").await;
    let g_big = create_group(b, "Bench big").await;
    b.expect(
        reqwest::Method::PATCH,
        &format!("/Groups/{g_small}"),
        Some(&add_members(&ids[..10])),
        200,
    )
    .await
    .expect("fill the small group");
    let fill = Instant::now();
    for chunk in ids[..big].chunks(100) {
        b.expect(
            reqwest::Method::PATCH,
            &format!("/Groups/{g_big}?excludedAttributes=members"),
            Some(&add_members(chunk)),
            200,
        )
        .await
        .expect("fill the big group");
    }
    eprintln!(
        "  filled the big group in {:.1}s ({} PATCHes of 100)",
        fill.elapsed().as_secs_f64(),
        big.div_ceil(100)
    );
    let spare: Vec<String> = ids[ids.len() - 20..].to_vec();
    let ops = args.member_ops;
    let m_small = member_add_latency(b, &g_small, &spare, ops, "").await;
    rows.push(row("5a. PATCH add 1 member, group of 10", &m_small, "-"));
    let m_big = member_add_latency(b, &g_big, &spare, ops, "").await;
    let ratio = m_big.pct(50) / m_small.pct(50);
    rows.push(row(
        format!("5b. PATCH add 1 member, group of {big}"),
        &m_big,
        format!("p50 {ratio:.2}× of 5a; ≤ 2×: {}", verdict(ratio <= 2.0)),
    ));
    let q = "?attributes=members,displayName";
    let m_small_x = member_add_latency(b, &g_small, &spare, ops, q).await;
    rows.push(row(
        "5c. as 5a, attributes=members (answer lists them)",
        &m_small_x,
        "-",
    ));
    let m_big_x = member_add_latency(b, &g_big, &spare, ops, q).await;
    let ratio_x = m_big_x.pct(50) / m_small_x.pct(50);
    rows.push(row(
        "5d. as 5b, attributes=members (answer lists them)",
        &m_big_x,
        format!("p50 {ratio_x:.2}× of 5c (no target: the answer grows with the group)"),
    ));
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let backend = if args.postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!("scim_load on {backend}: {args:?}");
    let total = Instant::now();
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    let lookups = args.wants(1) || args.wants(2) || args.wants(4) || args.wants(5);
    if lookups {
        let b = Bench::spawn(args.postgres).await;
        let small = args.scale_small.min(args.users).max(1);
        let mut ids = seed_users(&b, args.concurrency, 0, small).await;

        let mut s_small = None;
        if args.wants(4) {
            eprintln!("[4a] userName eq lookup at {small} users");
            let s = lookup_load(&b, &args, small).await;
            rows.push(row(format!("4a. GET userName eq @ {small} users"), &s, "-"));
            s_small = Some(s);
        }

        ids.extend(seed_users(&b, args.concurrency, small, args.users.max(small)).await);
        let n1 = ids.len();
        if args.wants(1) {
            eprintln!("[1] userName eq lookup at {n1} users");
            let s1 = lookup_load(&b, &args, n1).await;
            let t1 = format!(
                "≥ 15,000 req/s: {} (in-process; see scripts/bench-scim)",
                verdict(s1.rate() >= 15_000.0)
            );
            rows.push(row(format!("1. GET userName eq @ {n1} users"), &s1, t1));
        }

        if args.wants(2) {
            eprintln!("[2] POST /Users");
            let s2 = post_load(&b, &args).await;
            let t2 = format!(
                "≥ 6,000 req/s: {} (in-process; see scripts/bench-scim)",
                verdict(s2.rate() >= 6_000.0)
            );
            rows.push(row("2. POST /Users (fresh users)", &s2, t2));
        }

        if args.wants(4) || args.wants(5) {
            let scale = args.scale_users.max(n1);
            ids.extend(seed_users(&b, args.concurrency, n1, scale).await);
        }
        if let Some(s_small) = &s_small {
            let scale = ids.len();
            eprintln!("[4b] userName eq lookup at {scale} users (+ POSTed users)");
            let s_big = lookup_load(&b, &args, scale).await;
            let (r50, r99) = (
                s_big.pct(50) / s_small.pct(50),
                s_big.pct(99) / s_small.pct(99),
            );
            rows.push(row(
                format!("4b. GET userName eq @ {scale} users"),
                &s_big,
                format!(
                    "p50 {r50:.2}×, p99 {r99:.2}× of 4a; ≤ 1.5×: {}",
                    verdict(r50.max(r99) <= 1.5)
                ),
            ));
        }

        if args.wants(5) {
            member_scenario(&b, &args, &ids, &mut rows).await;
        }
    }

    if args.wants(3) {
        eprintln!(
            "[3] Okta-style import: {} users, {} groups of {} (batches of {})",
            args.import_users, args.import_groups, args.group_size, args.member_batch
        );
        let (iu, ig, took) = import(&args).await;
        let total_requests = iu.requests + ig.requests;
        rows.push(row(
            format!(
                "3a. import: {} users (GET filter + POST)",
                args.import_users
            ),
            &iu,
            "-",
        ));
        rows.push(row(
            format!(
                "3b. import: {} groups (GET + POST + PATCHes)",
                args.import_groups
            ),
            &ig,
            "-",
        ));
        notes.push(format!(
            "Import total: {total_requests} requests in {:.2} s = {:.0} req/s; \
             latencies in 3a/3b are per user (2 requests) and per group (all its requests).",
            took.as_secs_f64(),
            total_requests as f64 / took.as_secs_f64()
        ));
    }

    println!();
    println!(
        "### {backend}, concurrency {}, {} s per timed scenario",
        args.concurrency, args.seconds
    );
    println!();
    println!("| Scenario | Requests | Req/s | p50 ms | p99 ms | Errors | Target |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            r.scenario, r.requests, r.rate, r.p50, r.p99, r.errors, r.target
        );
    }
    println!();
    for n in &notes {
        println!("{n}");
    }
    println!("Whole run: {:.1} s", total.elapsed().as_secs_f64());
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        eprintln!("{errors} errors");
        std::process::exit(1);
    }
}
