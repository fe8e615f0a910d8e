//! The `gatehouse` binary as an operator uses it.

use std::io::Write;
use std::process::{Command, Stdio};

fn gatehouse() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_ADMIN_EMAIL")
        .env_remove("GATEHOUSE_ADMIN_PASSWORD");
    cmd
}

fn admin_create(data_dir: &std::path::Path, email: &str, password: &str) -> std::process::Output {
    let mut child = gatehouse()
        .args(["admin", "create", "--email", email, "--password-stdin"])
        .env("GATEHOUSE_DATA_DIR", data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn help_describes_every_command() {
    let out = gatehouse().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        "serve",
        "migrate",
        "admin",
        "GATEHOUSE_LISTEN",
        "GATEHOUSE_DATABASE_URL",
    ] {
        assert!(help.contains(word), "--help does not mention {word}");
    }
    for sub in [
        &["serve", "--help"][..],
        &["migrate", "--help"],
        &["admin", "create", "--help"],
    ] {
        assert!(
            gatehouse().args(sub).output().unwrap().status.success(),
            "{sub:?}"
        );
    }
}

#[tokio::test]
async fn admin_create_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = admin_create(dir.path(), "Ops@Example.com", "a long enough password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Created administrator ops@example.com"
    );

    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let store = gatehouse_domain::store::Store::open(&url).await.unwrap();
    store
        .authenticate("ops@example.com", "a long enough password", "cli-test")
        .await
        .expect("the password from stdin, without its newline, signs in");
}

#[test]
fn admin_create_refuses_a_short_password_and_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let short = admin_create(dir.path(), "ops@example.com", "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));

    assert!(
        admin_create(dir.path(), "ops@example.com", "a long enough password")
            .status
            .success()
    );
    let again = admin_create(dir.path(), "OPS@example.com", "a long enough password");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn migrate_creates_the_database_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = gatehouse()
            .arg("migrate")
            .env("GATEHOUSE_DATA_DIR", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.path().join("gatehouse.db").is_file());
}

#[test]
fn an_unreachable_database_is_an_error_not_a_panic() {
    let out = gatehouse()
        .arg("migrate")
        .env(
            "GATEHOUSE_DATABASE_URL",
            "postgres://nobody:pw@127.0.0.1:1/none",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot use the database at postgres://nobody:***@127.0.0.1:1/none"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unsupported_database_url_names_the_setting() {
    let out = gatehouse()
        .arg("migrate")
        .env("GATEHOUSE_DATABASE_URL", "mysql://localhost/x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL scheme"));
}

#[tokio::test]
async fn scim_token_create_prints_only_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse()
        .args([
            "scim-token",
            "create",
            "--name",
            "Okta production",
            "--expires-in",
            "30",
        ])
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout must hold the token alone: {stdout:?}"
    );
    assert!(secret.starts_with("gh_scim_"));

    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let store = gatehouse_domain::store::Store::open(&url).await.unwrap();
    let token = store
        .authenticate_scim_token(secret, "cli-test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.name, "Okta production");
    assert!(token.expires_at.is_some());
}

#[tokio::test]
async fn scim_tokens_can_be_listed_regenerated_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        gatehouse()
            .args(args)
            .env("GATEHOUSE_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let first = String::from_utf8(run(&["scim-token", "create", "--name", "Okta"]).stdout).unwrap();
    let list = String::from_utf8(run(&["scim-token", "list"]).stdout).unwrap();
    assert!(
        !list.contains(first.trim()),
        "list must never show a secret"
    );
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let regenerated = run(&["scim-token", "regenerate", &id]);
    assert!(
        regenerated.status.success(),
        "{}",
        String::from_utf8_lossy(&regenerated.stderr)
    );
    let second = String::from_utf8(regenerated.stdout).unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let store = gatehouse_domain::store::Store::open(&url).await.unwrap();
    assert!(
        store
            .authenticate_scim_token(first.trim(), "t")
            .await
            .unwrap()
            .is_err(),
        "old token stopped"
    );
    assert!(store
        .authenticate_scim_token(second.trim(), "t")
        .await
        .unwrap()
        .is_ok());

    let new_id = store.list_scim_tokens().await.unwrap()[0].id.to_string();
    assert!(run(&["scim-token", "revoke", &new_id]).status.success());
    // The CLI is another process: a store that found the token usable a moment ago trusts
    // it for up to 2 s more (the documented cost of not reading the token on every SCIM
    // request), and then refuses it.
    let revoked_at = std::time::Instant::now();
    loop {
        let refused = store
            .authenticate_scim_token(second.trim(), "t")
            .await
            .unwrap()
            .is_err();
        if refused {
            break;
        }
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(3),
            "a token revoked by the CLI is still accepted after 3 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let bad = run(&["scim-token", "revoke", "not-an-id"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a token id"));
}
