//! Soak benchmark (issue 6, "Load"): a fixed mix of SCIM and console traffic against a
//! running Gatehouse (one replica, or a load balancer in front of several) for a long time,
//! with the latency of every request and the servers' resident memory over time.
//!
//! ```text
//! cargo run --release -p gatehouse-server --example soak -- --base URL --token T
//!     --cookie 'gatehouse_session=…' [--minutes M] [--concurrency C] [--pid PID]...
//!     [--sample-seconds S] [--seed-users N] [--seed-groups N] [--label TEXT]
//! ```
//!
//! `scripts/bench-soak` starts the servers, makes the token and the admin session and runs
//! this; see docs/benchmarks.md ("Soak benchmark") for the mix and the results.
//!
//! Before the timed part it seeds `--seed-users` users (default 1,000) and `--seed-groups`
//! groups (default 20) of 50 members, through the same SCIM requests, untimed. Then
//! `--concurrency` workers (default 8) each take the next step of one fixed cycle of 25
//! operations (30 requests: 24 SCIM, 6 console) until `--minutes` (default 10) have passed:
//!
//! - Okta's import: a `userName eq` lookup that finds nothing, then POST /Users (×4);
//!   `userName eq` lookups of existing users (×4); PATCH replace of a user's name (×2);
//!   deactivation, PATCH `active: false` (×1); a group push, `displayName eq` lookup then
//!   POST /Groups (×1); PATCH add one member to a group (×3), PATCH remove one (×1);
//! - SCIM reads: GET /Users?startIndex=<random>&count=100 (×2), GET
//!   /Groups?excludedAttributes=members&count=100 (×1);
//! - the console, signed in as an administrator: the Dashboard, Users, User Groups and
//!   Events pages (×1 each), and the `directory_users` and `list_events` server functions
//!   the Users and Events pages call (×1 each).
//!
//! Every request must get the status it expects (200, or 201 for a creation; a redirect of a
//! console page means the session was lost) and, for lookups, the number of results it
//! expects; anything else, and every transport error, is an error. Every `--sample-seconds`
//! (default 30) it samples each `--pid`'s VmRSS from /proc and the interval's throughput and
//! latency. At the end it prints a markdown report and exits non-zero on any error.

use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, ORIGIN};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCIM_JSON: &str = "application/scim+json";
const FORM: &str = "application/x-www-form-urlencoded";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Error answers printed in full (the rest are only counted).
const SHOW_ERRORS: u64 = 10;

/// What each request is, for the per-kind table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    LookupNewUser,
    CreateUser,
    LookupUser,
    PatchUser,
    Deactivate,
    LookupGroup,
    CreateGroup,
    AddMember,
    RemoveMember,
    ListUsers,
    ListGroups,
    Dashboard,
    UsersPage,
    GroupsPage,
    EventsPage,
    ApiUsers,
    ApiEvents,
}

const KINDS: [Kind; 17] = [
    Kind::LookupNewUser,
    Kind::CreateUser,
    Kind::LookupUser,
    Kind::PatchUser,
    Kind::Deactivate,
    Kind::LookupGroup,
    Kind::CreateGroup,
    Kind::AddMember,
    Kind::RemoveMember,
    Kind::ListUsers,
    Kind::ListGroups,
    Kind::Dashboard,
    Kind::UsersPage,
    Kind::GroupsPage,
    Kind::EventsPage,
    Kind::ApiUsers,
    Kind::ApiEvents,
];

impl Kind {
    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).unwrap()
    }

    fn label(self) -> &'static str {
        match self {
            Kind::LookupNewUser => "SCIM GET /Users `userName eq` (new user, 0 found)",
            Kind::CreateUser => "SCIM POST /Users",
            Kind::LookupUser => "SCIM GET /Users `userName eq` (existing user)",
            Kind::PatchUser => "SCIM PATCH /Users/{id} (name)",
            Kind::Deactivate => "SCIM PATCH /Users/{id} (active: false)",
            Kind::LookupGroup => "SCIM GET /Groups `displayName eq` (new group)",
            Kind::CreateGroup => "SCIM POST /Groups",
            Kind::AddMember => "SCIM PATCH /Groups/{id} (add 1 member)",
            Kind::RemoveMember => "SCIM PATCH /Groups/{id} (remove 1 member)",
            Kind::ListUsers => "SCIM GET /Users?startIndex=random&count=100",
            Kind::ListGroups => "SCIM GET /Groups?excludedAttributes=members&count=100",
            Kind::Dashboard => "console GET /console",
            Kind::UsersPage => "console GET /console/users",
            Kind::GroupsPage => "console GET /console/groups",
            Kind::EventsPage => "console GET /console/events",
            Kind::ApiUsers => "console POST /console/api/directory_users",
            Kind::ApiEvents => "console POST /console/api/list_events",
        }
    }

    fn is_console(self) -> bool {
        matches!(
            self,
            Kind::Dashboard
                | Kind::UsersPage
                | Kind::GroupsPage
                | Kind::EventsPage
                | Kind::ApiUsers
                | Kind::ApiEvents
        )
    }
}

/// One step of the cycle; some steps make two requests.
#[derive(Clone, Copy, Debug)]
enum Op {
    ImportUser,
    LookupUser,
    PatchUser,
    Deactivate,
    PushGroup,
    AddMember,
    RemoveMember,
    ListUsers,
    ListGroups,
    Page(Kind),
    ApiUsers,
    ApiEvents,
}

/// The cycle the workers walk through together: 25 operations, 30 requests (24 SCIM, 6
/// console), interleaved so that every stretch of the run sees the whole mix.
const CYCLE: [Op; 25] = [
    Op::ImportUser,
    Op::LookupUser,
    Op::AddMember,
    Op::ListUsers,
    Op::Page(Kind::UsersPage),
    Op::ImportUser,
    Op::LookupUser,
    Op::PatchUser,
    Op::AddMember,
    Op::ListGroups,
    Op::ApiUsers,
    Op::ImportUser,
    Op::LookupUser,
    Op::RemoveMember,
    Op::Page(Kind::EventsPage),
    Op::ImportUser,
    Op::LookupUser,
    Op::PatchUser,
    Op::AddMember,
    Op::ListUsers,
    Op::ApiEvents,
    Op::Deactivate,
    Op::Page(Kind::GroupsPage),
    Op::PushGroup,
    Op::Page(Kind::Dashboard),
];

#[derive(Clone, Debug)]
struct Args {
    base: String,
    token: String,
    cookie: String,
    minutes: f64,
    concurrency: usize,
    pids: Vec<u32>,
    sample_seconds: f64,
    seed_users: usize,
    seed_groups: usize,
    label: String,
}

impl Args {
    fn parse() -> Args {
        let mut a = Args {
            base: String::new(),
            token: String::new(),
            cookie: String::new(),
            minutes: 10.0,
            concurrency: 8,
            pids: Vec::new(),
            sample_seconds: 30.0,
            seed_users: 1_000,
            seed_groups: 20,
            label: "Gatehouse".to_string(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                println!(
                    "soak --base URL --token T --cookie NAME=VALUE [--minutes M] \
                     [--concurrency C] [--pid PID]... [--sample-seconds S] [--seed-users N] \
                     [--seed-groups N] [--label TEXT]"
                );
                std::process::exit(0);
            }
            let value = it
                .next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
            let number = |v: &str| -> f64 {
                v.parse()
                    .unwrap_or_else(|_| fail(&format!("{flag}: not a number: {v}")))
            };
            match flag.as_str() {
                "--base" => a.base = value.trim_end_matches('/').to_string(),
                "--token" => a.token = value,
                "--cookie" => a.cookie = value,
                "--minutes" => a.minutes = number(&value),
                "--concurrency" => a.concurrency = (number(&value) as usize).max(1),
                "--pid" => a.pids.push(number(&value) as u32),
                "--sample-seconds" => a.sample_seconds = number(&value).max(1.0),
                "--seed-users" => a.seed_users = number(&value) as usize,
                "--seed-groups" => a.seed_groups = number(&value) as usize,
                "--label" => a.label = value,
                other => fail(&format!("unknown flag {other} (try --help)")),
            }
        }
        if a.base.is_empty() || a.token.is_empty() || a.cookie.is_empty() {
            fail("--base, --token and --cookie are required (try --help)");
        }
        a
    }
}

fn fail(message: &str) -> ! {
    eprintln!("soak: {message}");
    std::process::exit(2)
}

/// Latencies (microseconds) and errors, per kind and for the current sampling interval.
struct Recorder {
    latencies: Vec<Vec<u32>>,
    errors: Vec<u64>,
    interval: Vec<u32>,
    interval_errors: u64,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            latencies: vec![Vec::new(); KINDS.len()],
            errors: vec![0; KINDS.len()],
            interval: Vec::new(),
            interval_errors: 0,
        }
    }
}

struct Group {
    id: String,
    members: Vec<String>,
}

/// The client, and what it has created so far (so later steps can act on it).
struct Soak {
    args: Args,
    http: reqwest::Client,
    /// Makes this run's names unique, so runs can share a database.
    run: String,
    next_user: AtomicU64,
    next_group: AtomicU64,
    /// (id, userName) of every user this run created.
    users: Mutex<Vec<(String, String)>>,
    groups: Mutex<Vec<Arc<tokio::sync::Mutex<Group>>>>,
    recorder: Mutex<Recorder>,
    /// Whether to record at all (not while seeding).
    recording: AtomicBool,
    seed_failed: AtomicBool,
    shown: AtomicU64,
    requests: AtomicUsize,
}

/// What a request must get back.
enum Expect {
    Status(u16),
    /// 200 and `"totalResults":N` in the body.
    Found(u16, usize),
}

impl Soak {
    fn scim(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/scim/v2{path}", self.args.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.args.token))
    }

    fn scim_json(&self, method: Method, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.scim(method, path)
            .header(CONTENT_TYPE, SCIM_JSON)
            .body(body.to_string())
    }

    fn page(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.args.base))
            .header(COOKIE, &self.args.cookie)
    }

    /// A server function, called as the console's pages call it: a same-origin form POST.
    fn api(&self, name: &str, form: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/console/api/{name}", self.args.base))
            .header(COOKIE, &self.args.cookie)
            .header(ORIGIN, &self.args.base)
            .header(CONTENT_TYPE, FORM)
            .body(form.to_string())
    }

    /// Sends, times and checks one request; returns the body when it was as expected.
    async fn send(
        &self,
        kind: Kind,
        req: reqwest::RequestBuilder,
        expect: Expect,
    ) -> Option<Vec<u8>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let outcome = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                match res.bytes().await {
                    Ok(body) => Ok((status, body.to_vec())),
                    Err(e) => Err(format!("reading the body after {status}: {e}")),
                }
            }
            Err(e) => Err(format!("transport error: {e}")),
        };
        let took = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let result = match outcome {
            Err(e) => Err(e),
            Ok((status, body)) => {
                let (want, found) = match expect {
                    Expect::Status(s) => (s, None),
                    Expect::Found(s, n) => (s, Some(n)),
                };
                if status != want {
                    Err(format!(
                        "{status} (wanted {want}): {}",
                        snippet(&String::from_utf8_lossy(&body))
                    ))
                } else if let Some(n) = found {
                    let needle = format!("\"totalResults\":{n}");
                    if body.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        Ok(body)
                    } else {
                        Err(format!(
                            "wanted {needle}: {}",
                            snippet(&String::from_utf8_lossy(&body))
                        ))
                    }
                } else {
                    Ok(body)
                }
            }
        };
        let ok = result.is_ok();
        if let Err(e) = &result {
            if self.shown.fetch_add(1, Ordering::Relaxed) < SHOW_ERRORS {
                eprintln!("soak: error: {}: {e}", kind.label());
            }
        }
        if self.recording.load(Ordering::Relaxed) {
            let mut r = self.recorder.lock().unwrap();
            r.latencies[kind.index()].push(took);
            r.interval.push(took);
            if !ok {
                r.errors[kind.index()] += 1;
                r.interval_errors += 1;
            }
        } else if !ok {
            // Seeding must work, or the timed part would measure nonsense.
            self.seed_failed.store(true, Ordering::Relaxed);
        }
        result.ok()
    }

    fn random_user(&self) -> Option<(String, String)> {
        let users = self.users.lock().unwrap();
        if users.is_empty() {
            return None;
        }
        let i = rand::thread_rng().gen_range(0..users.len());
        Some(users[i].clone())
    }

    /// Okta's import of one user: a lookup that finds nobody, then the creation.
    async fn import_user(&self) {
        let n = self.next_user.fetch_add(1, Ordering::Relaxed);
        let name = format!("soak-{}-{n}@example.com", self.run);
        if self
            .send(
                Kind::LookupNewUser,
                self.scim(Method::GET, &user_filter(&name)),
                Expect::Found(200, 0),
            )
            .await
            .is_none()
        {
            return;
        }
        let body = json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": "Soak", "familyName": format!("User {n}")},
            "emails": [{"value": name, "type": "work", "primary": true}],
            "active": true
        });
        if let Some(res) = self
            .send(
                Kind::CreateUser,
                self.scim_json(Method::POST, "/Users", &body),
                Expect::Status(201),
            )
            .await
        {
            let id = serde_json::from_slice::<Value>(&res).unwrap_or(Value::Null)["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !id.is_empty() {
                self.users.lock().unwrap().push((id, name));
            }
        }
    }

    async fn lookup_user(&self) {
        let Some((_, name)) = self.random_user() else {
            return self.import_user().await;
        };
        self.send(
            Kind::LookupUser,
            self.scim(Method::GET, &user_filter(&name)),
            Expect::Found(200, 1),
        )
        .await;
    }

    async fn patch_user(&self, deactivate: bool) {
        let Some((id, _)) = self.random_user() else {
            return self.import_user().await;
        };
        let (kind, ops) = if deactivate {
            (
                Kind::Deactivate,
                json!([{"op": "replace", "value": {"active": false}}]),
            )
        } else {
            let given = format!("Soak{}", rand::thread_rng().gen_range(0..1_000_000));
            (
                Kind::PatchUser,
                json!([
                    {"op": "replace", "path": "name.givenName", "value": given},
                    {"op": "replace", "path": "name.familyName", "value": "Renamed"}
                ]),
            )
        };
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        self.send(
            kind,
            self.scim_json(Method::PATCH, &format!("/Users/{id}"), &body),
            Expect::Status(200),
        )
        .await;
    }

    /// Okta's group push: a lookup by name that finds nothing, then the creation. Returns
    /// the new group.
    async fn push_group(&self) -> Option<Arc<tokio::sync::Mutex<Group>>> {
        let n = self.next_group.fetch_add(1, Ordering::Relaxed);
        let name = format!("Soak {} group {n}", self.run);
        let filter = format!(
            "/Groups?excludedAttributes=members&filter={}",
            encode(&format!("displayName eq \"{name}\""))
        );
        self.send(
            Kind::LookupGroup,
            self.scim(Method::GET, &filter),
            Expect::Found(200, 0),
        )
        .await?;
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
        let res = self
            .send(
                Kind::CreateGroup,
                self.scim_json(Method::POST, "/Groups", &body),
                Expect::Status(201),
            )
            .await?;
        let id = serde_json::from_slice::<Value>(&res).unwrap_or(Value::Null)["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let group = Arc::new(tokio::sync::Mutex::new(Group {
            id,
            members: Vec::new(),
        }));
        self.groups.lock().unwrap().push(group.clone());
        Some(group)
    }

    /// A random group that no other worker is changing, locked. Okta, too, sends one
    /// group's changes one after the other.
    fn pick_group(&self, non_empty: bool) -> Option<tokio::sync::OwnedMutexGuard<Group>> {
        let groups = self.groups.lock().unwrap();
        if groups.is_empty() {
            return None;
        }
        let mut rng = rand::thread_rng();
        for _ in 0..16 {
            let g = &groups[rng.gen_range(0..groups.len())];
            if let Ok(guard) = g.clone().try_lock_owned() {
                if !non_empty || !guard.members.is_empty() {
                    return Some(guard);
                }
            }
        }
        None
    }

    async fn add_member(&self) {
        let Some(mut group) = self.pick_group(false) else {
            return;
        };
        let mut user = None;
        for _ in 0..8 {
            if let Some((id, _)) = self.random_user() {
                if !group.members.contains(&id) {
                    user = Some(id);
                    break;
                }
            }
        }
        let Some(user) = user else { return };
        let body = json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}]
        });
        let path = format!("/Groups/{}", group.id);
        if self
            .send(
                Kind::AddMember,
                self.scim_json(Method::PATCH, &path, &body),
                Expect::Status(200),
            )
            .await
            .is_some()
        {
            group.members.push(user);
        }
    }

    async fn remove_member(&self) {
        let Some(mut group) = self.pick_group(true) else {
            return self.add_member().await;
        };
        let i = rand::thread_rng().gen_range(0..group.members.len());
        let user = group.members.swap_remove(i);
        let body = json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]
        });
        let path = format!("/Groups/{}", group.id);
        if self
            .send(
                Kind::RemoveMember,
                self.scim_json(Method::PATCH, &path, &body),
                Expect::Status(200),
            )
            .await
            .is_none()
        {
            // Not removed after all: keep it, so no later step relies on a wrong list.
            group.members.push(user);
        }
    }

    async fn list_users(&self) {
        let known = self.users.lock().unwrap().len().max(1);
        let start = rand::thread_rng().gen_range(1..=known);
        self.send(
            Kind::ListUsers,
            self.scim(Method::GET, &format!("/Users?startIndex={start}&count=100")),
            Expect::Status(200),
        )
        .await;
    }

    async fn run(&self, op: Op) {
        match op {
            Op::ImportUser => self.import_user().await,
            Op::LookupUser => self.lookup_user().await,
            Op::PatchUser => self.patch_user(false).await,
            Op::Deactivate => self.patch_user(true).await,
            Op::PushGroup => {
                self.push_group().await;
            }
            Op::AddMember => self.add_member().await,
            Op::RemoveMember => self.remove_member().await,
            Op::ListUsers => self.list_users().await,
            Op::ListGroups => {
                self.send(
                    Kind::ListGroups,
                    self.scim(Method::GET, "/Groups?excludedAttributes=members&count=100"),
                    Expect::Status(200),
                )
                .await;
            }
            Op::Page(kind) => {
                let path = match kind {
                    Kind::Dashboard => "/console",
                    Kind::UsersPage => "/console/users",
                    Kind::GroupsPage => "/console/groups",
                    _ => "/console/events",
                };
                self.send(kind, self.page(path), Expect::Status(200)).await;
            }
            Op::ApiUsers => {
                self.send(
                    Kind::ApiUsers,
                    self.api("directory_users", ""),
                    Expect::Status(200),
                )
                .await;
            }
            Op::ApiEvents => {
                self.send(
                    Kind::ApiEvents,
                    self.api("list_events", ""),
                    Expect::Status(200),
                )
                .await;
            }
        }
    }

    /// Seeds users and groups of 50 members, untimed (Okta's first import).
    async fn seed(self: &Arc<Self>) {
        let began = Instant::now();
        let c = self.args.concurrency;
        let per = self.args.seed_users.div_ceil(c);
        let mut tasks = Vec::new();
        for _ in 0..c {
            let s = self.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..per {
                    s.import_user().await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("a seeding task panicked");
        }
        let users = self.users.lock().unwrap().clone();
        let mut tasks = Vec::new();
        for g in 0..self.args.seed_groups {
            let s = self.clone();
            let members: Vec<String> = (0..50.min(users.len()))
                .map(|k| users[(g * 50 + k) % users.len()].0.clone())
                .collect();
            tasks.push(tokio::spawn(async move {
                let Some(group) = s.push_group().await else {
                    return;
                };
                let mut group = group.lock().await;
                for chunk in members.chunks(25) {
                    let values: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                    let body = json!({
                        "schemas": [PATCH_SCHEMA],
                        "Operations": [{"op": "add", "path": "members", "value": values}]
                    });
                    let path = format!("/Groups/{}", group.id);
                    s.send(
                        Kind::AddMember,
                        s.scim_json(Method::PATCH, &path, &body),
                        Expect::Status(200),
                    )
                    .await;
                    group.members.extend(chunk.iter().cloned());
                }
            }));
        }
        for t in tasks {
            t.await.expect("a seeding task panicked");
        }
        eprintln!(
            "soak: seeded {} users and {} groups in {:.1} s",
            self.users.lock().unwrap().len(),
            self.groups.lock().unwrap().len(),
            began.elapsed().as_secs_f64()
        );
    }
}

fn snippet(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
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

fn user_filter(user_name: &str) -> String {
    format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{user_name}\""))
    )
}

/// VmRSS of a process in KiB, from /proc; `None` when it is gone.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The `p`th percentile of sorted microseconds, in milliseconds.
fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p / 100.0) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

/// One row of the over-time table.
struct Sample {
    at: f64,
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    rss: Vec<Option<u64>>,
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("gone".to_string(), |k| format!("{:.0}", k as f64 / 1024.0))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client");
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let soak = Arc::new(Soak {
        args: args.clone(),
        http,
        run,
        next_user: AtomicU64::new(0),
        next_group: AtomicU64::new(0),
        users: Mutex::new(Vec::new()),
        groups: Mutex::new(Vec::new()),
        recorder: Mutex::new(Recorder::new()),
        recording: AtomicBool::new(false),
        seed_failed: AtomicBool::new(false),
        shown: AtomicU64::new(0),
        requests: AtomicUsize::new(0),
    });
    eprintln!(
        "soak: {} against {}: {} min, {} workers, RSS of {:?} every {} s",
        args.label, args.base, args.minutes, args.concurrency, args.pids, args.sample_seconds
    );

    // The session must work before anything else, or every console request would fail.
    if soak
        .send(
            Kind::ApiUsers,
            soak.api("directory_users", ""),
            Expect::Status(200),
        )
        .await
        .is_none()
    {
        fail("the admin session does not work (directory_users was refused)");
    }
    soak.seed().await;
    if soak.seed_failed.load(Ordering::Relaxed) {
        fail("seeding failed (see the errors above)");
    }
    let seeded_requests = soak.requests.load(Ordering::Relaxed);

    // The timed part.
    soak.recording.store(true, Ordering::Relaxed);
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let began = Instant::now();
    let deadline = began + duration;
    let step = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (s, step) = (soak.clone(), step.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let i = step.fetch_add(1, Ordering::Relaxed) as usize;
                s.run(CYCLE[i % CYCLE.len()]).await;
            }
        }));
    }

    // Samples: one at the start, then every --sample-seconds until the workers stop.
    let mut samples = vec![Sample {
        at: 0.0,
        rate: 0.0,
        p50: f64::NAN,
        p99: f64::NAN,
        errors: 0,
        rss: args.pids.iter().map(|p| rss_kib(*p)).collect(),
    }];
    let every = Duration::from_secs_f64(args.sample_seconds);
    let mut last = began;
    loop {
        let next = last + every;
        let end = next >= deadline;
        tokio::time::sleep_until(next.min(deadline).into()).await;
        if end {
            break;
        }
        let now = Instant::now();
        let (mut interval, errors) = {
            let mut r = soak.recorder.lock().unwrap();
            let e = std::mem::take(&mut r.interval_errors);
            (std::mem::take(&mut r.interval), e)
        };
        interval.sort_unstable();
        let s = Sample {
            at: now.duration_since(began).as_secs_f64(),
            rate: interval.len() as f64 / now.duration_since(last).as_secs_f64(),
            p50: pct(&interval, 50.0),
            p99: pct(&interval, 99.0),
            errors,
            rss: args.pids.iter().map(|p| rss_kib(*p)).collect(),
        };
        eprintln!(
            "soak: t={:.0}s {:.0} req/s p50 {:.2} ms p99 {:.2} ms errors {} RSS MiB {}",
            s.at,
            s.rate,
            s.p50,
            s.p99,
            s.errors,
            s.rss.iter().map(|r| mib(*r)).collect::<Vec<_>>().join(" ")
        );
        samples.push(s);
        last = now;
    }
    for w in workers {
        w.await.expect("a worker panicked");
    }
    let elapsed = began.elapsed().as_secs_f64();
    // The last interval, up to the end of the run (it includes requests in flight at the
    // deadline).
    {
        let now = Instant::now();
        let (mut interval, errors) = {
            let mut r = soak.recorder.lock().unwrap();
            let e = std::mem::take(&mut r.interval_errors);
            (std::mem::take(&mut r.interval), e)
        };
        interval.sort_unstable();
        samples.push(Sample {
            at: now.duration_since(began).as_secs_f64(),
            rate: interval.len() as f64 / now.duration_since(last).as_secs_f64(),
            p50: pct(&interval, 50.0),
            p99: pct(&interval, 99.0),
            errors,
            rss: args.pids.iter().map(|p| rss_kib(*p)).collect(),
        });
    }

    let mut recorder = soak.recorder.lock().unwrap();
    report(
        &args,
        &mut recorder,
        &samples,
        elapsed,
        seeded_requests,
        &soak,
    );
    let errors: u64 = recorder.errors.iter().sum();
    if errors > 0 {
        eprintln!("soak: {errors} requests failed");
        std::process::exit(1);
    }
}

fn report(
    args: &Args,
    r: &mut Recorder,
    samples: &[Sample],
    elapsed: f64,
    seeded_requests: usize,
    soak: &Soak,
) {
    println!(
        "### {}: {:.0} min, {} workers",
        args.label, args.minutes, args.concurrency
    );
    println!();
    println!(
        "Seeded first (untimed, {seeded_requests} requests): {} users, {} groups of 50. \
         Timed part: {elapsed:.1} s.",
        args.seed_users, args.seed_groups
    );
    println!();
    println!("| Request | Count | Req/s | p50 ms | p99 ms | Errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut all = Vec::new();
    let (mut scim, mut console) = (Vec::new(), Vec::new());
    for (k, kind) in KINDS.iter().enumerate() {
        let lat = &mut r.latencies[k];
        lat.sort_unstable();
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.2} | {} |",
            kind.label(),
            lat.len(),
            lat.len() as f64 / elapsed,
            pct(lat, 50.0),
            pct(lat, 99.0),
            r.errors[k]
        );
        all.extend_from_slice(lat);
        if kind.is_console() {
            console.extend_from_slice(lat);
        } else {
            scim.extend_from_slice(lat);
        }
    }
    let errors: u64 = r.errors.iter().sum();
    let console_errors: u64 = KINDS
        .iter()
        .enumerate()
        .filter(|(_, k)| k.is_console())
        .map(|(i, _)| r.errors[i])
        .sum();
    for (name, lat, e) in [
        ("**All SCIM**", &mut scim, errors - console_errors),
        ("**All console**", &mut console, console_errors),
        ("**All**", &mut all, errors),
    ] {
        lat.sort_unstable();
        println!(
            "| {name} | {} | {:.1} | {:.2} | {:.2} | {e} |",
            lat.len(),
            lat.len() as f64 / elapsed,
            pct(lat, 50.0),
            pct(lat, 99.0),
        );
    }
    println!();
    println!(
        "Errors: {errors}. At the end this run had created {} users and {} groups.",
        soak.users.lock().unwrap().len(),
        soak.groups.lock().unwrap().len()
    );
    println!();

    println!("#### Over time");
    println!();
    let mut head = "| t (s) | req/s | p50 ms | p99 ms | errors |".to_string();
    let mut line = "|---:|---:|---:|---:|---:|".to_string();
    for p in &args.pids {
        head.push_str(&format!(" RSS MiB, pid {p} |"));
        line.push_str("---:|");
    }
    println!("{head}");
    println!("{line}");
    for s in samples {
        let (rate, p50, p99) = if s.at == 0.0 {
            ("-".to_string(), "-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.0}", s.rate),
                format!("{:.2}", s.p50),
                format!("{:.2}", s.p99),
            )
        };
        let rss: String = s.rss.iter().map(|k| format!(" {} |", mib(*k))).collect();
        println!(
            "| {:.0} | {rate} | {p50} | {p99} | {} |{rss}",
            s.at, s.errors
        );
    }
    println!();
    if args.pids.is_empty() {
        return;
    }

    // RSS: the first sample is taken before the load; the one at the end of the first
    // minute is the base for growth (allocators and pools fill during the first minute).
    let base_at = samples
        .iter()
        .position(|s| s.at >= 59.0)
        .unwrap_or(samples.len() - 1);
    println!("#### Resident memory (VmRSS, MiB)");
    println!();
    println!(
        "| pid | before load | min | max | at {:.0} s | last | last vs {:.0} s |",
        samples[base_at].at, samples[base_at].at
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut worst = f64::NEG_INFINITY;
    for (i, pid) in args.pids.iter().enumerate() {
        let values: Vec<u64> = samples.iter().filter_map(|s| s.rss[i]).collect();
        let (first, last, base) = (
            samples[0].rss[i],
            samples[samples.len() - 1].rss[i],
            samples[base_at].rss[i],
        );
        let growth = match (base, last) {
            (Some(b), Some(l)) if b > 0 => (l as f64 - b as f64) / b as f64 * 100.0,
            _ => f64::NAN,
        };
        if growth.is_nan() {
            worst = f64::NAN;
        } else if !worst.is_nan() {
            worst = worst.max(growth);
        }
        println!(
            "| {pid} | {} | {} | {} | {} | {} | {growth:+.1}% |",
            mib(first),
            mib(values.iter().min().copied()),
            mib(values.iter().max().copied()),
            mib(base),
            mib(last),
        );
    }
    println!();
    println!(
        "RSS growth last-vs-first-minute: {worst:+.1}% (the largest over the {} process{}; \
         the base is the sample at {:.0} s)",
        args.pids.len(),
        if args.pids.len() == 1 { "" } else { "es" },
        samples[base_at].at
    );
}
