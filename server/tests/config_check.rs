//! The configuration file and `gatehouse config check` on the real binary (issue 6).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "c2VjcmV0LWtleS0zMi1ieXRlcy1mb3ItdGhlLXRlc3Q=";
const METRICS_TOKEN: &str = "metrics-token-never-printed-7f3a";
const ADMIN_PASSWORD: &str = "an admin password never printed";
const DB_PASSWORD: &str = "db-password-never-printed";

/// The binary with none of the settings this machine's environment might carry.
fn gatehouse() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GATEHOUSE_") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("LEPTOS_SITE_ROOT");
    cmd
}

struct Setup {
    dir: tempfile::TempDir,
    site: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(site.join("pkg/gatehouse.js"), "").unwrap();
        Setup { dir, site }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes `gatehouse.toml` with the given lines and returns its path.
    fn file(&self, body: &str) -> PathBuf {
        let path = self.dir.path().join("gatehouse.toml");
        std::fs::write(&path, body).unwrap();
        path
    }

    /// A complete, valid file.
    fn valid_file(&self) -> PathBuf {
        self.file(&format!(
            r#"# Gatehouse settings
public_url = "https://gatehouse.example.com"
listen = "127.0.0.1:3999"
data_dir = "{data}"
site_dir = "{site}"
session_idle_minutes = 45
metadata_allow_private = false
secret_key = "{SECRET_KEY}"
metrics_token = "{METRICS_TOKEN}"
admin_email = "ops@example.com"
admin_password = "{ADMIN_PASSWORD}"
"#,
            data = self.data().display(),
            site = self.site.display(),
        ))
    }
}

fn check(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The line of `config check`'s listing for `key`.
fn row<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no row for {key} in:\n{stdout}"))
}

#[test]
fn a_valid_file_passes_and_each_setting_says_where_it_came_from() {
    let s = Setup::new();
    let file = s.valid_file();
    let (out, stdout, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&file));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("The configuration is valid."), "{stdout}");
    let from_file = format!("(file {})", file.display());
    for (key, value) in [
        ("public_url", "https://gatehouse.example.com"),
        ("listen", "127.0.0.1:3999"),
        ("session_idle_minutes", "45"),
        ("admin_email", "ops@example.com"),
    ] {
        let line = row(&stdout, key);
        assert!(line.contains(value) && line.contains(&from_file), "{line}");
    }
    assert!(row(&stdout, "session_max_hours").contains("12"));
    assert!(row(&stdout, "session_max_hours").contains("(default)"));
    // Checking changes nothing: no database, no key file.
    assert!(
        !s.data().exists(),
        "config check created the data directory"
    );

    // GATEHOUSE_CONFIG names the file as --config does.
    let (out, stdout, _) = check(
        gatehouse()
            .args(["config", "check"])
            .env("GATEHOUSE_CONFIG", &file),
    );
    assert!(out.status.success(), "{stdout}");
    assert!(row(&stdout, "listen").contains(&from_file));
}

#[test]
fn the_server_runs_with_the_settings_of_the_file() {
    let s = Setup::new();
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let file = s.file(&format!(
        "listen = \"{addr}\"\ndata_dir = \"{}\"\nsite_dir = \"{}\"\n",
        s.data().display(),
        s.site.display()
    ));
    let mut server = gatehouse()
        .arg("--config")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = loop {
        if TcpStream::connect(addr).is_ok() {
            break true;
        }
        if Instant::now() > deadline || server.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(started, "the server did not listen on the file's address");
    assert!(
        s.data().join("gatehouse.db").exists(),
        "the database is not in the file's data_dir"
    );

    // Checking an existing database reaches it and leaves its directory as it was (no
    // -wal or -shm file made by whoever runs the check).
    let wal = s.data().join("gatehouse.db-wal");
    let shm = s.data().join("gatehouse.db-shm");
    let _ = std::fs::remove_file(&wal);
    let _ = std::fs::remove_file(&shm);
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(s.data())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let (out, stdout, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&file));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok     database_url: SQLite at sqlite://"),
        "{stdout}"
    );
    assert!(stdout.contains("is reachable"), "{stdout}");
    assert_eq!(listing(), before);
}

#[test]
fn an_unknown_key_is_refused_naming_the_key_and_the_file() {
    let s = Setup::new();
    let file = s.file("publik_url = \"https://gatehouse.example.com\"\n");
    for args in [&["config", "check"][..], &["serve"], &["migrate"]] {
        let (out, stdout, stderr) = check(gatehouse().args(args).arg("--config").arg(&file));
        assert!(!out.status.success(), "{args:?}: {stdout}");
        assert!(
            stderr.contains("unknown setting `publik_url`")
                && stderr.contains(&file.display().to_string()),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("public_url"),
            "the known names are listed: {stderr}"
        );
    }
}

#[test]
fn a_value_of_the_wrong_type_or_range_is_refused_naming_the_key_and_the_file() {
    let s = Setup::new();
    let file = s.file(
        "session_idle_minutes = \"45\"\nsession_max_hours = 100000\nlisten = 3000\ntrusted_proxies = \"10.0.0.0/33\"\n",
    );
    let (out, _, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&file));
    assert!(!out.status.success());
    let file = file.display().to_string();
    for needle in [
        "`session_idle_minutes` must be a whole number",
        "`session_max_hours` = 100000: invalid value: 100000 is not in 1..=720",
        "`listen` must be a string",
        "`trusted_proxies` = \"10.0.0.0/33\": invalid value: \"10.0.0.0/33\" is not an IP address or a CIDR block",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(needle) && l.contains(&file)),
            "{needle}: {stderr}"
        );
    }

    let bad = s.dir.path().join("broken.toml");
    std::fs::write(&bad, "public_url = \"https://x\n").unwrap();
    let (out, _, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&bad));
    assert!(!out.status.success());
    assert!(
        stderr.contains("not valid TOML") && stderr.contains("broken.toml"),
        "{stderr}"
    );

    let missing = s.dir.path().join("missing.toml");
    let (out, _, stderr) = check(
        gatehouse()
            .args(["config", "check", "--config"])
            .arg(&missing),
    );
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot read the configuration file"),
        "{stderr}"
    );
}

#[test]
fn the_environment_overrides_the_file_and_the_command_line_overrides_both() {
    let s = Setup::new();
    let file = s.valid_file();
    let (out, stdout, stderr) = check(
        gatehouse()
            .args(["config", "check", "--config"])
            .arg(&file)
            .env("GATEHOUSE_PUBLIC_URL", "https://from-env.example.com")
            .env("GATEHOUSE_SESSION_IDLE_MINUTES", "20"),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = row(&stdout, "public_url");
    assert!(
        line.contains("https://from-env.example.com")
            && line.contains("(environment GATEHOUSE_PUBLIC_URL)"),
        "{line}"
    );
    assert!(row(&stdout, "session_idle_minutes").contains("20"));
    assert!(row(&stdout, "listen").contains("(file "));

    let (out, stdout, _) = check(
        gatehouse()
            .args(["config", "check", "--config"])
            .arg(&file)
            .args(["--public-url", "https://from-flag.example.com"])
            .env("GATEHOUSE_PUBLIC_URL", "https://from-env.example.com"),
    );
    assert!(out.status.success());
    let line = row(&stdout, "public_url");
    assert!(
        line.contains("https://from-flag.example.com") && line.contains("(command line)"),
        "{line}"
    );
}

#[test]
fn a_bad_public_url_is_named_in_the_message() {
    let s = Setup::new();
    let file = s.file(&format!(
        "public_url = \"https://gatehouse.example.com/console\"\ndata_dir = \"{}\"\nsite_dir = \"{}\"\n",
        s.data().display(),
        s.site.display()
    ));
    let (out, stdout, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&file));
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("error  public_url") && stdout.contains("without a path"),
        "{stdout}"
    );
    assert!(stderr.contains("GATEHOUSE_PUBLIC_URL"), "{stderr}");

    // serve refuses it at start with the same message.
    let (out, _, stderr) = check(gatehouse().arg("--config").arg(&file));
    assert!(!out.status.success());
    assert!(stderr.contains("GATEHOUSE_PUBLIC_URL"), "{stderr}");
}

#[test]
fn other_start_up_checks_name_their_setting() {
    let s = Setup::new();
    let (out, stdout, stderr) = check(
        gatehouse()
            .args(["config", "check"])
            .env("GATEHOUSE_DATA_DIR", s.data())
            .env("GATEHOUSE_SITE_DIR", s.dir.path().join("no-site"))
            .env("GATEHOUSE_ADMIN_EMAIL", "ops@example.com")
            .env("GATEHOUSE_SECRET_KEY", "too-short")
            .env(
                "GATEHOUSE_DATABASE_URL",
                format!("postgres://gatehouse:{DB_PASSWORD}@127.0.0.1:1/gatehouse"),
            ),
    );
    assert!(!out.status.success(), "{stdout}");
    for needle in [
        "GATEHOUSE_ADMIN_EMAIL is set but GATEHOUSE_ADMIN_PASSWORD is not",
        "GATEHOUSE_SECRET_KEY must be 32 bytes",
        "GATEHOUSE_DATABASE_URL: cannot use postgres://gatehouse:***@127.0.0.1:1/gatehouse",
        "GATEHOUSE_SITE_DIR",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert!(!stdout.contains(DB_PASSWORD) && !stderr.contains(DB_PASSWORD));
    assert!(!stdout.contains("too-short") && !stderr.contains("too-short"));
}

fn assert_no_secret(text: &str) {
    for secret in [SECRET_KEY, METRICS_TOKEN, ADMIN_PASSWORD, DB_PASSWORD] {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
}

#[test]
fn secrets_are_never_printed() {
    let s = Setup::new();
    let file = s.valid_file();
    let (out, stdout, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&file));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    for key in ["secret_key", "metrics_token", "admin_password"] {
        assert!(row(&stdout, key).contains("(set)"), "{}", row(&stdout, key));
    }

    // The same secrets from the environment, a database URL with a password, and a
    // refused run: still never printed.
    let (out, stdout, stderr) = check(
        gatehouse()
            .args(["config", "check"])
            .env("GATEHOUSE_DATA_DIR", s.data())
            .env("GATEHOUSE_SITE_DIR", &s.site)
            .env("GATEHOUSE_SECRET_KEY", SECRET_KEY)
            .env("GATEHOUSE_METRICS_TOKEN", METRICS_TOKEN)
            .env("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "GATEHOUSE_DATABASE_URL",
                format!("postgres://gatehouse:{DB_PASSWORD}@127.0.0.1:1/gatehouse"),
            ),
    );
    assert!(!out.status.success());
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    assert!(row(&stdout, "database_url").contains("gatehouse:***@"));

    // A file whose secret has the wrong type does not echo it either, and --help with a
    // file never shows the file's values as defaults.
    let file = s.file(&format!("metrics_token = [\"{METRICS_TOKEN}\"]\n"));
    let (out, stdout, stderr) = check(gatehouse().args(["config", "check", "--config"]).arg(&file));
    assert!(!out.status.success());
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    let file = s.valid_file();
    let (_, stdout, stderr) = check(gatehouse().args(["serve", "--help", "--config"]).arg(&file));
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
}

#[test]
fn help_lists_config_and_the_check_command() {
    let (out, stdout, _) = check(gatehouse().arg("--help"));
    assert!(out.status.success());
    assert!(stdout.contains("--config <FILE>") && stdout.contains("GATEHOUSE_CONFIG"));
    let (out, stdout, _) = check(gatehouse().args(["config", "check", "--help"]));
    assert!(out.status.success());
    assert!(stdout.contains("where it came from"), "{stdout}");
}
