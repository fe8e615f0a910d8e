//! The real `gatehouse` binary as child processes: one database, any number of servers on
//! it, and the command-line tools run against the same database. For the tests that kill,
//! restart and replicate the process (durability, replicas).
//!
//! A test includes it with `#[path = "common/binary.rs"] mod binary;`.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key every process of a test seals secrets with (replicas must share one).
pub const SECRET_KEY: &str = "R2F0ZWhvdXNlIHRlc3Qga2V5OiAzMiBieXRlcyEhISE=";

/// A database and the settings every `gatehouse` process of one test shares.
pub struct Installation {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub site_dir: PathBuf,
    /// Where the servers' logs go, one file per server.
    pub log_dir: PathBuf,
}

impl Installation {
    /// Settings under `dir` (which must outlive the servers) for the database at `url`.
    pub fn new(dir: &Path, database_url: &str) -> Self {
        let site_dir = dir.join("site");
        std::fs::create_dir_all(site_dir.join("pkg")).unwrap();
        std::fs::write(site_dir.join("pkg/gatehouse.js"), "").unwrap();
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let log_dir = dir.join("logs");
        std::fs::create_dir_all(&log_dir).unwrap();
        Installation {
            database_url: database_url.to_string(),
            data_dir,
            site_dir,
            log_dir,
        }
    }

    /// `gatehouse` with this installation's settings and none inherited from the caller.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GATEHOUSE_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("GATEHOUSE_DATA_DIR", &self.data_dir)
            .env("GATEHOUSE_DATABASE_URL", &self.database_url)
            .env("GATEHOUSE_SECRET_KEY", SECRET_KEY)
            .env("GATEHOUSE_SITE_DIR", &self.site_dir)
            .env("GATEHOUSE_LOG", "info,sqlx=warn");
        cmd
    }

    /// Runs a command-line tool to completion and returns its standard output, trimmed;
    /// a failure fails the test with the tool's standard error.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write as _;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gatehouse {}: {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A new SCIM token (`gatehouse scim-token create`).
    pub fn scim_token(&self, name: &str) -> String {
        self.run(&["scim-token", "create", "--name", name], None)
    }

    /// A console administrator (`gatehouse admin create --password-stdin`).
    pub fn create_admin(&self, email: &str, password: &str) {
        self.run(
            &["admin", "create", "--email", email, "--password-stdin"],
            Some(&format!("{password}\n")),
        );
    }

    /// Starts a server on a free loopback port, with `env` on top of the installation's
    /// settings. It is not ready yet: see [`Server::ready`].
    pub fn spawn(&self, name: &str, env: &[(&str, &str)]) -> Server {
        let addr = free_port();
        let log = self.log_dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = self
            .command()
            .env("GATEHOUSE_LISTEN", addr.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Server {
            name: name.to_string(),
            addr,
            base: format!("http://{addr}"),
            log,
            child: Some(child),
        }
    }
}

/// A loopback address nothing listens on (yet).
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A running `gatehouse` process, killed (SIGKILL) when dropped. A test that fails prints
/// the end of each server's log.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    pub base: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Waits until `/readyz` answers 200; fails the test if the process exits first or
    /// takes longer than `timeout`.
    pub async fn ready(&mut self, timeout: Duration) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{} exited before it was ready ({status}):\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if let Ok(res) = client.get(self.url("/readyz")).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} was not ready within {timeout:?}:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of {}'s log ---", self.name);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}
