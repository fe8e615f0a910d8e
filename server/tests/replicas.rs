//! Several replicas (issue 6): three `gatehouse` processes started at the same moment on
//! one fresh PostgreSQL database, behind nginx as a round-robin reverse proxy on loopback.
//!
//! - the migrations ran exactly once and the schema is the one a single process makes;
//! - an Okta-style import whose requests alternate between the replicas ends with exactly
//!   the users, groups and memberships that were sent;
//! - an administrator signs in through one replica and keeps working through the others;
//!   failed sign-ins are counted across replicas, per client address behind the proxy;
//! - an end-user SAML sign-in starts on one replica and completes on another, and a replay
//!   of the same response to the third is refused;
//! - SCIM deactivation on one replica ends the portal session on all of them;
//! - the SCIM rate limit counts per replica, as the README says;
//! - a token revoked with the CLI stops working on every replica within seconds.
//!
//! nginx adds the upstream that served each request as a response header, so the test
//! knows which replica answered. nginx must be installed (`scripts/setup test` does it).

#![cfg(unix)]

#[path = "common/binary.rs"]
mod binary;
mod common;

use base64::Engine as _;
use binary::{Installation, Server};
use common::{session_cookie, ADMIN_EMAIL, ADMIN_PASSWORD};
use gatehouse_domain::saml::testing::{ResponseSpec, TestIdp};
use gatehouse_domain::saml_profiles;
use gatehouse_domain::store::Store;
use gatehouse_domain::testing::TestDatabase;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NGINX: &str = "/usr/sbin/nginx";
/// The response header nginx adds: the replica (`127.0.0.1:PORT`) that answered.
const UPSTREAM: &str = "x-gatehouse-upstream";
/// The SCIM rate limit the replicas run with: 5 a second per token, bursts of 10.
const RATE: usize = 5;
const IDP_SSO_URL: &str = "https://idp.example.test/app/gatehouse/sso/saml";

// ---------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------

/// nginx in the foreground, one process (`master_process off`: killing it leaves no worker
/// behind, and one round-robin state makes the order of replicas strict), with everything
/// (configuration, pid, logs, temp files) in one directory; killed when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// Fails the test, with the way to fix it, when nginx is not installed.
    fn require() {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: this test needs nginx as the replicas' reverse proxy. \
             `scripts/setup test` installs it (Debian package nginx)."
        );
    }

    fn start(dir: &Path, listen: SocketAddr, upstreams: &[SocketAddr]) -> Nginx {
        Self::require();
        std::fs::create_dir_all(dir).unwrap();
        let servers: String = upstreams
            .iter()
            .map(|a| format!("        server {a};\n"))
            .collect();
        // As root, nginx's workers would otherwise run as `nobody`, who cannot write the
        // temp directories inside a root-owned temp dir.
        let user = if running_as_root() {
            "user root;\n"
        } else {
            ""
        };
        let d = dir.display();
        let conf = format!(
            "{user}daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream gatehouse {{
{servers}    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://gatehouse;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A failed request is a failure, not a retry on the next replica.
            proxy_next_upstream off;
            add_header X-Gatehouse-Upstream $upstream_addr always;
        }}
    }}
}}
"
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(listen).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "nginx exited ({status}):\n{}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "nginx did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- nginx error log ---\n{}",
                std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
            );
        }
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
// ---------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------

/// What came back through the proxy, and which replica sent it.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
    replica: usize,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_string())
    }
}

/// A client of the proxy that knows the replicas behind it.
#[derive(Clone)]
struct Proxy {
    http: reqwest::Client,
    base: String,
    replicas: Vec<String>,
}

impl Proxy {
    async fn answer(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap();
        let upstream = headers
            .get(UPSTREAM)
            .unwrap_or_else(|| panic!("nginx did not say which replica answered: {headers:?}"))
            .to_str()
            .unwrap();
        let replica = self
            .replicas
            .iter()
            .position(|r| r == upstream)
            .unwrap_or_else(|| panic!("an answer from an unknown upstream {upstream}"));
        Answer {
            status,
            headers,
            body,
            replica,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// A SCIM request, as Okta sends it: over the rate limit it waits as long as
    /// `Retry-After` says and sends the request again.
    async fn scim(&self, token: &str, method: Method, path: &str, body: Option<&Value>) -> Answer {
        for _ in 0..30 {
            let mut req = self
                .request(method.clone(), &format!("/scim/v2{path}"))
                .header(AUTHORIZATION, format!("Bearer {token}"));
            if let Some(b) = body {
                req = req
                    .header(CONTENT_TYPE, "application/scim+json")
                    .body(b.to_string());
            }
            let answer = self.answer(req).await;
            if answer.status != StatusCode::TOO_MANY_REQUESTS {
                return answer;
            }
            let wait: u64 = answer.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        panic!("{method} {path}: still rate-limited after 30 tries");
    }

    /// A console server function, called the way the console's pages call it.
    async fn call(&self, name: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Answer {
        let mut req = self
            .request(Method::POST, &format!("/console/api/{name}"))
            .header(ORIGIN, &self.base)
            .form(form);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        self.answer(req).await
    }

    /// `GET path` with a cookie.
    async fn get(&self, path: &str, cookie: &str) -> Answer {
        self.answer(self.request(Method::GET, path).header(COOKIE, cookie))
            .await
    }

    /// Every resource of a kind (one page), and the replica that listed them.
    async fn list_all(&self, token: &str, kind: &str) -> (Vec<Value>, usize) {
        let answer = self
            .scim(token, Method::GET, &format!("/{kind}?count=200"), None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let page = answer.json();
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(page["totalResults"], json!(resources.len()), "one page");
        (resources, answer.replica)
    }
}

struct Cluster {
    proxy: Proxy,
    public_url: String,
    // Dropped in this order: the proxy, the replicas, the database, the directory.
    _nginx: Nginx,
    replicas: Vec<Server>,
    install: Installation,
    db: TestDatabase,
    _dir: tempfile::TempDir,
}

/// Three replicas started at the same moment on one fresh database, behind nginx.
async fn cluster() -> Cluster {
    Nginx::require();
    let db = TestDatabase::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let install = Installation::new(dir.path(), &db.url);
    // The replicas' public URL is the proxy's.
    let listen = binary::free_port();
    let public_url = format!("http://{listen}");
    let rate = RATE.to_string();
    let env = [
        ("GATEHOUSE_PUBLIC_URL", public_url.as_str()),
        ("GATEHOUSE_SCIM_RATE_LIMIT", rate.as_str()),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let mut replicas: Vec<Server> = (0..3)
        .map(|i| install.spawn(&format!("replica-{i}"), &env))
        .collect();
    for r in &mut replicas {
        r.ready(Duration::from_secs(60)).await;
    }
    let upstreams: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
    let nginx = Nginx::start(&dir.path().join("nginx"), listen, &upstreams);
    let proxy = Proxy {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: public_url.clone(),
        replicas: upstreams.iter().map(ToString::to_string).collect(),
    };
    Cluster {
        proxy,
        public_url,
        _nginx: nginx,
        replicas,
        install,
        db,
        _dir: dir,
    }
}

// ---------------------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------------------

/// The schema as PostgreSQL describes it: columns, indexes, constraints, and the
/// migrations table's rows.
async fn schema(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let mut out = Vec::new();
    for query in [
        "SELECT concat_ws('|', 'column', table_name, column_name, data_type, is_nullable, \
         coalesce(column_default, '')) FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY 1",
        "SELECT concat_ws('|', 'index', tablename, indexname, indexdef) FROM pg_indexes \
         WHERE schemaname = 'public' ORDER BY 1",
        "SELECT concat_ws('|', 'constraint', conrelid::regclass::text, conname, \
         pg_get_constraintdef(oid)) FROM pg_constraint \
         WHERE connamespace = 'public'::regnamespace ORDER BY 1",
        "SELECT concat_ws('|', 'migration', version::text, description, \
         encode(checksum, 'hex'), success::text) FROM _sqlx_migrations ORDER BY 1",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(&pool).await.unwrap();
        out.extend(rows);
    }
    pool.close().await;
    out
}

async fn migrations_ran_exactly_once(c: &mut Cluster) {
    for r in &mut c.replicas {
        assert!(r.running(), "{} exited after start-up", r.name);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/migrations/postgres");
    let mut expected: Vec<i64> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| name.split('_').next().unwrap().parse().unwrap())
        .collect();
    expected.sort();
    assert!(!expected.is_empty());

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&c.db.url).await.unwrap();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, COUNT(*) FROM _sqlx_migrations WHERE success GROUP BY version \
         ORDER BY version",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(failed, 0, "a migration is recorded as failed");
    assert_eq!(
        rows,
        expected.iter().map(|v| (*v, 1)).collect::<Vec<_>>(),
        "each migration exactly once"
    );

    // The same schema as one process alone makes.
    let reference = TestDatabase::postgres().await;
    let _ = reference.store().await;
    let (ours, theirs) = (schema(&c.db.url).await, schema(&reference.url).await);
    for kind in ["column|users|", "index|users|", "constraint|", "migration|"] {
        assert!(
            theirs.iter().any(|r| r.starts_with(kind)),
            "no {kind} rows in {theirs:#?}"
        );
    }
    let missing: Vec<_> = theirs.iter().filter(|r| !ours.contains(r)).collect();
    let extra: Vec<_> = ours.iter().filter(|r| !theirs.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the schema differs from a single process's: missing {missing:#?}, extra {extra:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// a. An import spread over the replicas
// ---------------------------------------------------------------------------------------

const USERS: usize = 45;
const GROUPS: usize = 5;

fn okta_user(n: usize) -> Value {
    let user_name = format!("person{n:03}@example.com");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": format!("Given{n}"), "familyName": format!("Family{n}")},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("Given{n} Family{n}"),
        "externalId": format!("00u{n:06}"),
        "locale": "en-US",
        "groups": [],
        "password": format!("pw-{n}-Secret!"),
        "active": true
    })
}

fn group_name(k: usize) -> String {
    if k == 0 {
        // Renamed during the import.
        "Department 0 (renamed)".into()
    } else {
        format!("Department {k}")
    }
}

/// Users are created by three clients at once; each group is pushed by a client of its
/// own: created with some members, members added in batches, one removed, one renamed.
/// Returns how many answers each replica gave.
async fn import_alternating_between_replicas(c: &Cluster) -> Vec<usize> {
    let token = c.install.scim_token("Okta import");
    let mut served = vec![0usize; 3];

    let mut tasks = Vec::new();
    for t in 0..3 {
        let (proxy, token) = (c.proxy.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for n in (t..USERS).step_by(3) {
                let a = proxy
                    .scim(&token, Method::POST, "/Users", Some(&okta_user(n)))
                    .await;
                assert_eq!(a.status, StatusCode::CREATED, "user {n}: {}", a.body);
                out.push((n, a.json()["id"].as_str().unwrap().to_string(), a.replica));
            }
            out
        }));
    }
    let mut ids = vec![String::new(); USERS];
    for task in tasks {
        for (n, id, replica) in task.await.unwrap() {
            ids[n] = id;
            served[replica] += 1;
        }
    }

    let ids = Arc::new(ids);
    let mut tasks = Vec::new();
    for k in 0..GROUPS {
        let (proxy, token, ids) = (c.proxy.clone(), token.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut replicas = Vec::new();
            let members: Vec<usize> = (k..USERS).step_by(GROUPS).collect();
            let value = |ns: &[usize]| -> Vec<Value> {
                ns.iter().map(|n| json!({"value": ids[*n]})).collect()
            };
            let a = proxy
                .scim(
                    &token,
                    Method::POST,
                    "/Groups",
                    Some(&json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": format!("Department {k}"),
                        "members": value(&members[..3])
                    })),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "group {k}: {}", a.body);
            replicas.push(a.replica);
            let id = a.json()["id"].as_str().unwrap().to_string();
            let path = format!("/Groups/{id}");
            let patch = |ops: Value| {
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": ops
                })
            };
            for batch in members[3..].chunks(2) {
                let a = proxy
                    .scim(
                        &token,
                        Method::PATCH,
                        &path,
                        Some(&patch(
                            json!([{"op": "add", "path": "members", "value": value(batch)}]),
                        )),
                    )
                    .await;
                assert!(a.status.is_success(), "group {k}: {}", a.body);
                replicas.push(a.replica);
            }
            let removed = members[1];
            let a = proxy
                .scim(
                    &token,
                    Method::PATCH,
                    &path,
                    Some(&patch(json!([{
                        "op": "remove",
                        "path": format!("members[value eq \"{}\"]", ids[removed])
                    }]))),
                )
                .await;
            assert!(a.status.is_success(), "group {k}: {}", a.body);
            replicas.push(a.replica);
            if k == 0 {
                let a = proxy
                    .scim(
                        &token,
                        Method::PATCH,
                        &path,
                        Some(&patch(json!([{
                            "op": "replace",
                            "value": {"id": id, "displayName": group_name(0)}
                        }]))),
                    )
                    .await;
                assert!(a.status.is_success(), "group {k}: {}", a.body);
                replicas.push(a.replica);
            }
            replicas
        }));
    }
    for task in tasks {
        for replica in task.await.unwrap() {
            served[replica] += 1;
        }
    }

    // What was sent, exactly: read back through every replica.
    let expected_members: BTreeMap<String, BTreeSet<String>> = (0..GROUPS)
        .map(|k| {
            let members = (k..USERS)
                .step_by(GROUPS)
                .filter(|n| *n != k + GROUPS) // members[1], removed
                .map(|n| ids[n].clone())
                .collect();
            (group_name(k), members)
        })
        .collect();
    let mut listed_by = BTreeSet::new();
    for _ in 0..3 {
        let (users, replica) = c.proxy.list_all(&token, "Users").await;
        listed_by.insert(replica);
        assert_eq!(users.len(), USERS, "users as replica {replica} lists them");
        for user in &users {
            let n: usize = user["userName"].as_str().unwrap()[6..9].parse().unwrap();
            let sent = okta_user(n);
            assert_eq!(user["id"], json!(ids[n]));
            for key in [
                "userName",
                "name",
                "emails",
                "displayName",
                "externalId",
                "active",
            ] {
                assert_eq!(user[key], sent[key], "{key} of user {n}");
            }
        }
        let (groups, replica) = c.proxy.list_all(&token, "Groups").await;
        listed_by.insert(replica);
        let actual: BTreeMap<String, BTreeSet<String>> = groups
            .iter()
            .map(|g| {
                (
                    g["displayName"].as_str().unwrap().to_string(),
                    g["members"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|m| m["value"].as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            actual, expected_members,
            "groups and members as replica {replica} lists them"
        );
    }
    assert_eq!(listed_by.len(), 3, "the reads went to every replica");
    served
}

// ---------------------------------------------------------------------------------------
// b. The console across replicas
// ---------------------------------------------------------------------------------------

async fn an_admin_session_works_on_every_replica(c: &Cluster) {
    c.install.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD);
    let a = c
        .proxy
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            None,
        )
        .await;
    assert!(a.status.is_success(), "sign-in: {} {}", a.status, a.body);
    let cookie = session_cookie(&a.headers).expect("a session cookie");
    let signed_in_on = a.replica;

    // The next calls go round the other replicas: each knows the session.
    let mut served_by = BTreeSet::from([signed_in_on]);
    for name in ["current_admin", "settings", "current_admin", "settings"] {
        let a = c.proxy.call(name, &[], Some(&cookie)).await;
        assert_eq!(
            a.status,
            StatusCode::OK,
            "{name} on replica {} with a session from replica {signed_in_on}: {}",
            a.replica,
            a.body
        );
        if name == "current_admin" {
            assert!(a.body.contains(ADMIN_EMAIL), "{}", a.body);
        }
        served_by.insert(a.replica);
    }
    assert_eq!(served_by.len(), 3, "the calls went to every replica");

    // Signing out on one replica ends the session on all.
    let a = c.proxy.call("sign_out", &[], Some(&cookie)).await;
    assert!(a.status.is_success() || a.status.is_redirection());
    let signed_out_on = a.replica;
    let mut refused_by = BTreeSet::new();
    for _ in 0..3 {
        let a = c.proxy.call("current_admin", &[], Some(&cookie)).await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "replica {} still knows a session ended on replica {signed_out_on}",
            a.replica
        );
        refused_by.insert(a.replica);
    }
    assert_eq!(refused_by.len(), 3);

    // Failed sign-ins count in the database, so across replicas, per client address as
    // nginx forwards it (X-Forwarded-For; the replicas trust the proxy).
    c.install.create_admin("grace@example.com", ADMIN_PASSWORD);
    let sign_in = |password: &'static str, client: &'static str| {
        c.proxy.answer(
            c.proxy
                .request(Method::POST, "/console/api/sign_in")
                .header(ORIGIN, &c.proxy.base)
                .header("x-forwarded-for", client)
                .form(&[("email", "grace@example.com"), ("password", password)]),
        )
    };
    let mut failed_on = BTreeSet::new();
    for _ in 0..5 {
        let a = sign_in("not the password at all", "198.51.100.7").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        failed_on.insert(a.replica);
    }
    assert_eq!(failed_on.len(), 3, "the failures went to every replica");
    let a = sign_in(ADMIN_PASSWORD, "198.51.100.7").await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "replica {} did not count the failures made through the others: {}",
        a.replica,
        a.body
    );
    let a = sign_in(ADMIN_PASSWORD, "203.0.113.9").await;
    assert!(
        a.status.is_success(),
        "another client address is not held back: {} {}",
        a.status,
        a.body
    );
}

// ---------------------------------------------------------------------------------------
// c, d. End-user sign-in across replicas
// ---------------------------------------------------------------------------------------

/// The ID of the AuthnRequest in an HTTP-Redirect binding URL (deflated, base64).
fn request_id_of(location: &str) -> String {
    let url = reqwest::Url::parse(location).unwrap();
    let encoded = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .to_string();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    let start = xml.find(" ID=\"").unwrap() + 5;
    xml[start..start + xml[start..].find('"').unwrap()].to_string()
}

async fn saml_sign_in_across_replicas_then_deactivation(c: &Cluster) {
    // Okta provisions Alice into Engineering; the operator sets up the profile with the CLI.
    let token = c.install.scim_token("Okta sign-in");
    let a = c
        .proxy
        .scim(
            &token,
            Method::POST,
            "/Users",
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@example.com",
                "name": {"givenName": "Alice", "familyName": "Liddell"},
                "emails": [{"value": "alice@example.com", "primary": true, "type": "work"}],
                "active": true
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let alice = a.json()["id"].as_str().unwrap().to_string();
    let a = c
        .proxy
        .scim(
            &token,
            Method::POST,
            "/Groups",
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": alice}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let profile_id = c
        .install
        .run(&["auth-profile", "create", "--name", "Okta"], None);
    let metadata = c.install.data_dir.join("okta-metadata.xml");
    std::fs::write(&metadata, TestIdp::fixed().metadata_xml(IDP_SSO_URL)).unwrap();
    c.install.run(
        &[
            "auth-profile",
            "import-metadata",
            "Okta",
            "--file",
            metadata.to_str().unwrap(),
        ],
        None,
    );
    c.install
        .run(&["group", "set-profile", "Engineering", "Okta"], None);
    let store = Store::connect(&c.db.url).await.unwrap();
    let profile = store.resolve_auth_profile(&profile_id).await.unwrap();
    let sp = saml_profiles::sp_identity(&c.public_url, &profile).unwrap();

    // c. Starts on one replica…
    let login = c
        .proxy
        .answer(c.proxy.request(
            Method::GET,
            "/login?login_hint=alice@example.com&next=/portal",
        ))
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let location = login.headers[LOCATION].to_str().unwrap();
    assert!(location.starts_with(IDP_SSO_URL), "{location}");
    let sso_cookie = login
        .cookie("gatehouse_sso")
        .expect("a browser-binding cookie");
    let spec = ResponseSpec::golden(&sp, &TestIdp::fixed().entity_id, &request_id_of(location));
    let response = TestIdp::fixed().response_b64(&spec);

    // …completes on another…
    let acs = |cookie: String| {
        c.proxy.answer(
            c.proxy
                .request(Method::POST, &format!("/saml/{}/acs", profile.id))
                .header(COOKIE, cookie)
                .form(&[("SAMLResponse", response.as_str()), ("RelayState", "")]),
        )
    };
    let done = acs(sso_cookie.clone()).await;
    assert_ne!(
        done.replica, login.replica,
        "the ACS went to the same replica"
    );
    assert_eq!(
        done.status,
        StatusCode::SEE_OTHER,
        "sign-in started on replica {}, completed on {}: {}",
        login.replica,
        done.replica,
        done.body
    );
    assert_eq!(done.headers[LOCATION], "/portal");
    let portal_cookie = done.cookie("gatehouse_portal").expect("a portal session");

    // …and the same response at the third is refused.
    let replay = acs(sso_cookie).await;
    assert!(
        replay.replica != login.replica && replay.replica != done.replica,
        "the replay went to a replica already used"
    );
    assert_eq!(replay.status, StatusCode::FORBIDDEN, "{}", replay.body);
    assert!(replay.cookie("gatehouse_portal").is_none());
    let events = store.recent_events(20).await.unwrap();
    let failure = events
        .iter()
        .find(|e| e.action == "sign_in.failed")
        .expect("a sign_in.failed event for the replay");
    let detail: Value = serde_json::from_str(failure.detail.as_deref().unwrap()).unwrap();
    assert!(
        ["request_already_used", "replay"].contains(&detail["reason"].as_str().unwrap()),
        "{detail}"
    );

    // d. The portal session is good on every replica…
    let mut served_by = BTreeSet::new();
    for _ in 0..3 {
        let page = c.proxy.get("/portal", &portal_cookie).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "portal on replica {}",
            page.replica
        );
        assert!(page.body.contains("alice@example.com"));
        served_by.insert(page.replica);
    }
    assert_eq!(served_by.len(), 3);
    // …until Okta deactivates Alice through one of them: then on none.
    let a = c
        .proxy
        .scim(
            &token,
            Method::PATCH,
            &format!("/Users/{alice}"),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let deactivated_on = a.replica;
    let mut served_by = BTreeSet::new();
    for _ in 0..3 {
        let page = c.proxy.get("/portal", &portal_cookie).await;
        assert_eq!(
            (page.status, page.headers.get(LOCATION).cloned()),
            (
                StatusCode::SEE_OTHER,
                Some(reqwest::header::HeaderValue::from_static("/login"))
            ),
            "replica {} still serves a session of a user deactivated on replica {deactivated_on}",
            page.replica
        );
        served_by.insert(page.replica);
    }
    assert_eq!(served_by.len(), 3);
}

// ---------------------------------------------------------------------------------------
// e. The SCIM rate limit, per replica
// ---------------------------------------------------------------------------------------

async fn the_scim_rate_limit_counts_per_replica(c: &Cluster) {
    let burst = 2 * RATE;
    let http = reqwest::Client::new();
    let get = |server: &Server, token: &str| {
        http.get(server.url("/scim/v2/Users?count=1"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
    };

    // One replica: a burst of twice the rate, then 429 with Retry-After.
    let token = c.install.scim_token("Burst");
    let started = Instant::now();
    let mut accepted = 0usize;
    let refused = loop {
        let res = get(&c.replicas[0], &token).await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            break res;
        }
        assert_eq!(res.status(), StatusCode::OK);
        accepted += 1;
        assert!(accepted <= 200, "no 429 after {accepted} requests");
    };
    let allowed = burst as f64 + RATE as f64 * started.elapsed().as_secs_f64();
    assert!(
        accepted >= burst && accepted as f64 <= allowed + 1.0,
        "{accepted} requests accepted; the limit allows {allowed:.1}"
    );
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], "429", "{body}");

    // The other replicas count their own: a whole burst each for the same token.
    for r in &c.replicas[1..] {
        for i in 0..burst {
            let res = get(r, &token).await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "request {i} to {} after replica-0 refused the token",
                r.name
            );
        }
    }

    // So through the proxy a token may make three times as many (the README says so).
    let token = c.install.scim_token("Burst through the proxy");
    let started = Instant::now();
    let mut per_replica = [0usize; 3];
    for i in 0..3 * burst {
        let a = c
            .proxy
            .answer(
                c.proxy
                    .request(Method::GET, "/scim/v2/Users?count=1")
                    .header(AUTHORIZATION, format!("Bearer {token}")),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "request {i} through the proxy");
        per_replica[a.replica] += 1;
    }
    assert_eq!(per_replica, [burst; 3]);
    let one_replica_allows = burst as f64 + RATE as f64 * started.elapsed().as_secs_f64();
    assert!(
        (3 * burst) as f64 > one_replica_allows,
        "too slow to tell a shared limit from a per-replica one"
    );
}

// ---------------------------------------------------------------------------------------
// f. Token revocation reaches every replica
// ---------------------------------------------------------------------------------------

/// docs/deployment.md: a token revoked through one replica or the CLI stops working on the
/// others within 2 seconds (each replica remembers a checked token that long).
async fn a_revoked_token_stops_on_every_replica(c: &Cluster) {
    let token = c.install.scim_token("Revoked soon");
    let http = reqwest::Client::new();
    let status = |server: &Server| {
        let req = http
            .get(server.url("/scim/v2/Users?count=1"))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        async move { req.send().await.unwrap().status() }
    };
    // Every replica has checked (and may remember) the token.
    for r in &c.replicas {
        assert_eq!(status(r).await, StatusCode::OK, "{}", r.name);
    }
    let list = c.install.run(&["scim-token", "list"], None);
    let id = list
        .lines()
        .find(|l| l.contains("Revoked soon"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("the token in the list:\n{list}"))
        .to_string();
    c.install.run(&["scim-token", "revoke", &id], None);
    let revoked = Instant::now();
    let mut refused = [None; 3];
    while refused.iter().any(Option::is_none) {
        for (i, r) in c.replicas.iter().enumerate() {
            if refused[i].is_none() {
                // 429 (this polling is near the rate limit) still means "accepted".
                if status(r).await == StatusCode::UNAUTHORIZED {
                    refused[i] = Some(revoked.elapsed());
                }
            }
        }
        assert!(
            revoked.elapsed() < Duration::from_secs(5),
            "a revoked token still works on some replica after 5 s: {refused:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("revoked token refused by the replicas after {refused:?}");
    for (i, after) in refused.iter().enumerate() {
        let after = after.unwrap();
        assert!(
            after <= Duration::from_millis(3000),
            "replica-{i} refused the revoked token only after {after:?} (documented: 2 s)"
        );
    }
}

// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_a_round_robin_proxy() {
    let started = Instant::now();
    let mut c = cluster().await;
    eprintln!("three replicas and nginx up in {:?}", started.elapsed());

    migrations_ran_exactly_once(&mut c).await;
    eprintln!("migrations checked at {:?}", started.elapsed());

    let served = import_alternating_between_replicas(&c).await;
    assert!(
        served.iter().all(|n| *n > 0),
        "every replica served part of the import: {served:?}"
    );
    eprintln!(
        "import (answers per replica {served:?}) checked at {:?}",
        started.elapsed()
    );

    an_admin_session_works_on_every_replica(&c).await;
    eprintln!("console session checked at {:?}", started.elapsed());

    saml_sign_in_across_replicas_then_deactivation(&c).await;
    eprintln!(
        "SAML sign-in and deactivation checked at {:?}",
        started.elapsed()
    );

    the_scim_rate_limit_counts_per_replica(&c).await;
    eprintln!("rate limit checked at {:?}", started.elapsed());

    a_revoked_token_stops_on_every_replica(&c).await;
    eprintln!("token revocation checked at {:?}", started.elapsed());

    for r in &mut c.replicas {
        assert!(r.running(), "{} died during the test", r.name);
    }
}
