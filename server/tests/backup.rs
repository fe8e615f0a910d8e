//! `gatehouse backup PATH` on the real binary (issue 6): a consistent copy of the SQLite
//! database written while the server keeps taking SCIM writes, and clear refusals.

#![cfg(unix)]

use sqlx::Connection as _;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn gatehouse(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_ADMIN_EMAIL")
        .env_remove("GATEHOUSE_ADMIN_PASSWORD")
        .env_remove("GATEHOUSE_METRICS_TOKEN")
        .env_remove("GATEHOUSE_CONFIG")
        .env("GATEHOUSE_DATA_DIR", data_dir);
    cmd
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Kills the server when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn user(name: &str) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Bea", "familyName": "Kup"},
        "emails": [{"value": name, "primary": true}],
        "active": true
    })
}

async fn create_user(client: &reqwest::Client, base: &str, token: &str, name: &str) -> bool {
    match client
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(user(name).to_string())
        .send()
        .await
    {
        Ok(res) => res.status() == reqwest::StatusCode::CREATED,
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_is_a_whole_database_with_every_acknowledged_user() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/gatehouse.js"), "").unwrap();

    let out = gatehouse(dir.path())
        .args(["scim-token", "create", "--name", "backup"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let addr = free_port();
    let _server = Server(
        gatehouse(dir.path())
            .env("GATEHOUSE_LISTEN", addr.to_string())
            .env("GATEHOUSE_SITE_DIR", &site)
            .env("GATEHOUSE_SCIM_RATE_LIMIT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    // Users acknowledged (201) before the backup starts.
    let mut acknowledged = Vec::new();
    for i in 0..60 {
        let name = format!("before-{i}@example.com");
        assert!(create_user(&client, &base, &token, &name).await, "{name}");
        acknowledged.push(name);
    }

    // A writer that keeps provisioning users while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written, client, base, token) = (
            stop.clone(),
            written.clone(),
            client.clone(),
            base.clone(),
            token.clone(),
        );
        tokio::spawn(async move {
            let mut names = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("during-{i}@example.com");
                if create_user(&client, &base, &token, &name).await {
                    names.push(name);
                    written.store(names.len(), Ordering::SeqCst);
                }
                i += 1;
            }
            names
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while written.load(Ordering::SeqCst) < 5 {
        assert!(Instant::now() < deadline, "the writer made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let written_before_backup = written.load(Ordering::SeqCst);

    let copy = dir.path().join("backups").join("gatehouse-copy.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let out = {
        let mut cmd = gatehouse(dir.path());
        cmd.arg("backup").arg(&copy);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    };
    let written_after_backup = written.load(Ordering::SeqCst);
    eprintln!(
        "SCIM users created while the backup ran: {}",
        written_after_backup - written_before_backup
    );
    assert!(
        written_after_backup > written_before_backup,
        "no SCIM write completed while the backup ran"
    );
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("gatehouse-copy.db"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The server kept serving: the writer still gets 201s after the backup.
    let deadline = Instant::now() + Duration::from_secs(20);
    while written.load(Ordering::SeqCst) < written_after_backup + 3 {
        assert!(
            Instant::now() < deadline,
            "SCIM writes stopped after the backup"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let during = writer.await.unwrap();

    // The copy is a whole SQLite database, readable by its owner only, with no temporary
    // file left beside it.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the copy is readable by others: {mode:o}");
    let leftovers: Vec<_> = std::fs::read_dir(copy.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let names: Vec<String> = sqlx::query_scalar("SELECT user_name FROM users")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    for name in acknowledged
        .iter()
        .chain(during.iter().take(written_before_backup))
    {
        assert!(
            names.contains(name),
            "{name} was acknowledged before the backup started but is not in the copy"
        );
    }
    // A snapshot: never a user the server had not yet created when the writer stopped.
    assert!(names.len() <= acknowledged.len() + during.len() + 1);
    // Each user's creation event is in the same snapshot (one transaction each).
    let created_events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE action = 'user.created'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(created_events as usize, names.len());
    conn.close().await.unwrap();

    // The copy is a Gatehouse database at the current schema: `migrate` finds nothing to do
    // and a restored server would start from it.
    let out = gatehouse(dir.path())
        .arg("migrate")
        .env(
            "GATEHOUSE_DATABASE_URL",
            format!("sqlite://{}", copy.display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backup_refuses_an_existing_file_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success());
    let existing = dir.path().join("precious.db");
    std::fs::write(&existing, "do not touch").unwrap();

    let out = gatehouse(dir.path())
        .arg("backup")
        .arg(&existing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "do not touch");
}

#[test]
fn backup_refuses_a_missing_database_instead_of_creating_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse(dir.path())
        .arg("backup")
        .arg(dir.path().join("copy.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no database"), "{stderr}");
    assert!(!dir.path().join("gatehouse.db").exists());
    assert!(!dir.path().join("copy.db").exists());
}

#[test]
fn backup_of_postgresql_points_to_pg_dump_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse(dir.path())
        .arg("backup")
        .arg(dir.path().join("copy.db"))
        .env(
            "GATEHOUSE_DATABASE_URL",
            "postgres://gatehouse:s3cret-pw@127.0.0.1:1/gatehouse",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
    assert!(!dir.path().join("copy.db").exists());
}
