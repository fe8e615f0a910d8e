//! GATEHOUSE_TRUSTED_PROXIES on the real binary (issue 6): X-Forwarded-For decides the
//! recorded client address only when the TCP peer is a trusted proxy, and X-Forwarded-Host
//! from a trusted proxy is the host the console's same-origin check compares with.

#![cfg(unix)]

use reqwest::header::ORIGIN;
use reqwest::StatusCode;
use sqlx::Connection as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PUBLIC_HOST: &str = "gatehouse.example.com";

fn gatehouse(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GATEHOUSE_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("GATEHOUSE_DATA_DIR", data_dir);
    cmd
}

/// A running server; killed when dropped.
struct Server {
    child: std::process::Child,
    base: String,
    token: String,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(trusted_proxies: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(site.join("pkg/gatehouse.js"), "").unwrap();
        let out = gatehouse(dir.path())
            .args(["scim-token", "create", "--name", "proxy test"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

        let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut cmd = gatehouse(dir.path());
        cmd.env("GATEHOUSE_LISTEN", addr.to_string())
            .env("GATEHOUSE_SITE_DIR", &site)
            .env("GATEHOUSE_PUBLIC_URL", format!("https://{PUBLIC_HOST}"))
            .env("GATEHOUSE_SCIM_RATE_LIMIT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(t) = trusted_proxies {
            cmd.env("GATEHOUSE_TRUSTED_PROXIES", t);
        }
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Server {
            child,
            base: format!("http://{addr}"),
            token,
            db: dir.path().join("gatehouse.db"),
            _dir: dir,
        }
    }

    /// Creates a user over SCIM with the given X-Forwarded-For (if any) and token.
    async fn create_user(&self, name: &str, xff: Option<&str>, token: &str) -> StatusCode {
        let mut req = reqwest::Client::new()
            .post(format!("{}/scim/v2/Users", self.base))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name,
                    "active": true
                })
                .to_string(),
            );
        if let Some(xff) = xff {
            req = req.header("x-forwarded-for", xff);
        }
        req.send().await.unwrap().status()
    }

    /// A console sign-in that fails (nobody has that email): it is throttled, and so
    /// recorded, per client address.
    async fn sign_in(&self, origin: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let mut req = reqwest::Client::new()
            .post(format!("{}/console/api/sign_in", self.base))
            .header(ORIGIN, origin)
            .form(&[
                ("email", "nobody@example.com"),
                ("password", "not the password"),
            ]);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    async fn db(&self) -> sqlx::SqliteConnection {
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", self.db.display()))
            .await
            .unwrap()
    }

    /// The client_ip recorded in the creation event of `user_name`.
    async fn created_from(&self, user_name: &str) -> String {
        let mut db = self.db().await;
        let details: Vec<String> = sqlx::query_scalar(
            "SELECT e.detail FROM events e WHERE e.action = 'user.created' AND e.detail LIKE '%' || (SELECT id FROM users WHERE user_name = $1) || '%'",
        )
        .bind(user_name)
        .fetch_all(&mut db)
        .await
        .unwrap();
        assert_eq!(details.len(), 1, "{details:?}");
        let detail: serde_json::Value = serde_json::from_str(&details[0]).unwrap();
        detail["client_ip"].as_str().unwrap().to_string()
    }

    /// The token's "last used from".
    async fn token_last_used_from(&self) -> String {
        let mut db = self.db().await;
        sqlx::query_scalar("SELECT last_used_ip FROM scim_tokens")
            .fetch_one(&mut db)
            .await
            .unwrap()
    }

    /// The client keys sign-in failures were counted under.
    async fn sign_in_failure_clients(&self) -> Vec<String> {
        let mut db = self.db().await;
        sqlx::query_scalar(
            "SELECT DISTINCT throttle_key FROM sign_in_failures WHERE throttle_key LIKE 'client:%'",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
    }

    /// Details of SCIM refusal events (requests without a usable token).
    async fn refusal_details(&self) -> Vec<String> {
        let mut db = self.db().await;
        sqlx::query_scalar(
            "SELECT detail FROM events WHERE outcome <> 'success' AND detail LIKE '%client_ip%'",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_headers_are_ignored() {
    let server = Server::start(None);
    let token = server.token.clone();

    let status = server
        .create_user("spoof@example.com", Some("203.0.113.9"), &token)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(server.created_from("spoof@example.com").await, "127.0.0.1");
    assert_eq!(server.token_last_used_from().await, "127.0.0.1");

    let status = server
        .create_user("x@example.com", Some("203.0.113.77"), "not-a-token")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refusals = server.refusal_details().await;
    assert!(
        refusals.iter().any(|d| d.contains("127.0.0.1")),
        "{refusals:?}"
    );
    assert!(!refusals.iter().any(|d| d.contains("203.0.113.77")));

    // X-Forwarded-Host from an untrusted peer does not make a foreign Origin same-site.
    let (status, body) = server
        .sign_in(
            &format!("https://{PUBLIC_HOST}"),
            &[
                ("x-forwarded-host", PUBLIC_HOST),
                ("x-forwarded-for", "203.0.113.50"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Cross-origin"), "{body}");

    // A same-origin sign-in is throttled under the peer's address, not the claimed one.
    let (status, body) = server
        .sign_in(&server.base, &[("x-forwarded-for", "203.0.113.50")])
        .await;
    assert_ne!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(server.sign_in_failure_clients().await, ["client:127.0.0.1"]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_recorded() {
    let server = Server::start(Some("127.0.0.1, 10.0.0.0/8"));
    let token = server.token.clone();

    // The client made up the first entry; the proxies appended the real client and an
    // inner proxy (trusted, so skipped).
    let status = server
        .create_user(
            "alice@example.com",
            Some("198.51.100.1, 203.0.113.9, 10.1.2.3"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        server.created_from("alice@example.com").await,
        "203.0.113.9"
    );
    assert_eq!(server.token_last_used_from().await, "203.0.113.9");

    // Without the header, the request comes from the proxy itself.
    let status = server.create_user("bob@example.com", None, &token).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(server.created_from("bob@example.com").await, "127.0.0.1");

    // A refused request is recorded with the forwarded client too.
    let status = server
        .create_user("x@example.com", Some("203.0.113.77"), "not-a-token")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refusals = server.refusal_details().await;
    assert!(
        refusals.iter().any(|d| d.contains("203.0.113.77")),
        "{refusals:?}"
    );

    // The console behind the proxy: the browser's Origin is the public host, which the
    // proxy passes as X-Forwarded-Host while connecting to 127.0.0.1.
    let (status, body) = server
        .sign_in(
            &format!("https://{PUBLIC_HOST}"),
            &[
                ("x-forwarded-host", PUBLIC_HOST),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-for", "203.0.113.50"),
            ],
        )
        .await;
    assert_ne!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        server.sign_in_failure_clients().await,
        ["client:203.0.113.50"]
    );

    // Another site's Origin is still refused.
    let (status, _) = server
        .sign_in("https://evil.example", &[("x-forwarded-host", PUBLIC_HOST)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
