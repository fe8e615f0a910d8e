//! `gatehouse config check`: every effective setting and where it came from, then the
//! checks `serve` makes at start-up, without starting anything or changing any file.

use crate::config::{redact_url, ServeArgs, SECRET_KEY_FILE};
use crate::config_file::{self, FileSettings, ADMIN_PASSWORD_KEY, ENV_PREFIX};
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};
use gatehouse_domain::store::Backend;
use std::time::Duration;

/// Where a setting's effective value came from.
fn source(matches: &ArgMatches, id: &str, key: &str, file: &FileSettings) -> String {
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => "command line".into(),
        Some(ValueSource::EnvVariable) => format!("environment {ENV_PREFIX}{}", key.to_uppercase()),
        Some(ValueSource::DefaultValue) if file.contains(key) => file_label(file),
        Some(ValueSource::DefaultValue) => "default".into(),
        _ => "not set".into(),
    }
}

fn file_label(file: &FileSettings) -> String {
    match file.path() {
        Some(p) => format!("file {}", p.display()),
        None => "file".into(),
    }
}

/// The value as printed: secrets only as `(set)`, database URLs without their password.
fn shown(key: &str, raw: Option<String>) -> String {
    match raw.filter(|v| !v.is_empty()) {
        None => "(not set)".into(),
        Some(_) if config_file::is_secret(key) => "(set)".into(),
        Some(v) if key == "database_url" => redact_url(&v),
        Some(v) => v,
    }
}

/// Prints the settings and the result of each check; `Err` names every problem.
pub async fn run(
    args: &ServeArgs,
    check_cmd: &Command,
    matches: &ArgMatches,
    file: &FileSettings,
) -> Result<(), String> {
    match file.path() {
        Some(p) => println!("Configuration file: {}", p.display()),
        None => println!(
            "Configuration file: none (--config FILE or {} names one)",
            config_file::CONFIG_ENV
        ),
    }
    println!("Precedence: command line > environment > file > default.\n");

    let mut rows: Vec<(String, String, String)> = Vec::new();
    for arg in check_cmd.get_arguments() {
        let Some(key) = config_file::key_of(arg) else {
            continue;
        };
        let id = arg.get_id().as_str();
        let raw = matches.get_raw(id).map(|values| {
            values
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        });
        let mut value = shown(&key, raw);
        let mut from = source(matches, id, &key, file);
        // Settings whose default is derived from others: show what takes effect.
        if from == "not set" {
            let derived = match key.as_str() {
                "database_url" => Some((
                    redact_url(&args.store.database_url_for_reading()),
                    "default: gatehouse.db in data_dir",
                )),
                "public_url" => Some((
                    args.resolve_public_url().unwrap_or_default(),
                    "default: from listen (https with tls_cert)",
                )),
                "site_dir" => Some((
                    std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()),
                    "default: LEPTOS_SITE_ROOT, else target/site",
                )),
                "secret_key" => Some(("(not set)".into(), "default: secret.key in data_dir")),
                _ => None,
            };
            if let Some((v, f)) = derived {
                value = v;
                from = f.into();
            }
        }
        rows.push((key.clone(), value, from));
    }
    let password_source =
        if std::env::var_os("GATEHOUSE_ADMIN_PASSWORD").is_some_and(|v| !v.is_empty()) {
            "environment GATEHOUSE_ADMIN_PASSWORD".to_string()
        } else if file.contains(ADMIN_PASSWORD_KEY) {
            file_label(file)
        } else {
            "not set".into()
        };
    rows.push((
        ADMIN_PASSWORD_KEY.into(),
        shown(ADMIN_PASSWORD_KEY, args.admin_password.clone()),
        password_source,
    ));
    rows.sort();
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let value_width = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for (key, value, source) in &rows {
        println!("  {key:<width$}  {value:<value_width$}  ({source})");
    }
    println!();

    let mut problems: Vec<String> = Vec::new();
    let mut report = |name: &str, result: Result<String, String>| match result {
        Ok(note) => println!("  ok     {name}: {note}"),
        Err(e) => {
            println!("  error  {name}: {e}");
            problems.push(format!("{name}: {e}"));
        }
    };

    report(
        "public_url",
        args.resolve_public_url().map(|u| {
            if u.starts_with("https://") {
                format!("{u} (cookies are marked Secure, HSTS is sent)")
            } else {
                format!("{u} (plain http: use https in production)")
            }
        }),
    );
    report("admin_email / admin_password", check_first_admin(args));
    report("database_url", check_database(args).await);
    report("secret_key", check_secret_key(args));
    report(
        "tls_cert / tls_key",
        args.tls_files().and_then(|files| match files {
            None => Ok("not set: plain HTTP (put a TLS-terminating proxy in front)".into()),
            Some((cert, key)) => crate::tls::acceptor(&cert, &key).map(|_| {
                format!(
                    "HTTPS with the certificate in {} and its key",
                    cert.display()
                )
            }),
        }),
    );
    report(
        "site_dir",
        crate::serve::site_root(args)
            .map(|p| format!("{} has the built site", p.display()))
            .map_err(|e| e.to_string()),
    );

    if problems.is_empty() {
        println!("\nThe configuration is valid.");
        Ok(())
    } else {
        Err(format!(
            "the configuration has {} problem{}:\n  {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("\n  ")
        ))
    }
}

fn check_first_admin(args: &ServeArgs) -> Result<String, String> {
    match args.first_admin()? {
        None => Ok("not set (create the first administrator with the one-time link printed at start, or `gatehouse admin create`)".into()),
        Some((email, password)) => {
            let email = gatehouse_domain::admin::normalize_email(&email)
                .map_err(|e| format!("GATEHOUSE_ADMIN_EMAIL: {e}"))?;
            gatehouse_domain::admin::check_new_password(&password)
                .map_err(|e| format!("GATEHOUSE_ADMIN_PASSWORD: {e}"))?;
            Ok(format!(
                "{email} is created at start if no administrator exists"
            ))
        }
    }
}

/// Reaches the database without creating, migrating or changing it.
async fn check_database(args: &ServeArgs) -> Result<String, String> {
    let url = args.store.database_url_for_reading();
    let backend = Backend::from_url(&url).map_err(|e| format!("GATEHOUSE_DATABASE_URL: {e}"))?;
    let shown = redact_url(&url);
    if backend == Backend::Sqlite {
        use std::str::FromStr as _;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .map_err(|e| format!("GATEHOUSE_DATABASE_URL: invalid SQLite URL: {e}"))?;
        let path = options.get_filename().to_path_buf();
        if !path.exists() {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| ".".into());
            let mut existing = dir.as_path();
            while !existing.exists() {
                match existing.parent() {
                    Some(p) if !p.as_os_str().is_empty() => existing = p,
                    _ => break,
                }
            }
            let writable = std::fs::metadata(existing)
                .map(|m| !m.permissions().readonly())
                .unwrap_or(false);
            return if writable {
                Ok(format!(
                    "SQLite; {} does not exist yet and is created at first start",
                    path.display()
                ))
            } else {
                Err(format!(
                    "GATEHOUSE_DATABASE_URL / GATEHOUSE_DATA_DIR: {} does not exist and {} is not writable",
                    path.display(),
                    existing.display()
                ))
            };
        }
    }
    // One plain connection, so the driver's own error (refused, unknown host, bad
    // password) is what the operator reads, not a pool's timeout.
    let connect = async {
        use sqlx::{ConnectOptions as _, Connection as _};
        use std::str::FromStr as _;
        match backend {
            Backend::Sqlite => {
                // Read-only and immutable: no -wal or -shm file is created, so a check run
                // as another user (root) leaves nothing the service could not open.
                let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
                    .create_if_missing(false)
                    .read_only(true)
                    .immutable(true)
                    .connect()
                    .await?;
                sqlx::query("SELECT COUNT(*) FROM sqlite_master")
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            Backend::Postgres => {
                let mut conn = sqlx::postgres::PgConnectOptions::from_str(&url)?
                    .connect()
                    .await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
                conn.close().await
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(15), connect).await {
        Ok(Ok(())) => Ok(format!("{} at {shown} is reachable", backend.name())),
        Ok(Err(e)) => Err(format!(
            "GATEHOUSE_DATABASE_URL: cannot use {shown}: {}",
            redact_secret(&e.to_string(), &url)
        )),
        Err(_) => Err(format!(
            "GATEHOUSE_DATABASE_URL: no answer from {shown} within 15 seconds"
        )),
    }
}

/// A driver's message, with the URL's password removed should the driver quote the URL.
fn redact_secret(message: &str, url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((_, password)) if !password.is_empty() => message.replace(password, "***"),
            _ => message.to_string(),
        },
        _ => message.to_string(),
    }
}

/// Decodes the key without generating one.
fn check_secret_key(args: &ServeArgs) -> Result<String, String> {
    let store = &args.store;
    if store
        .secret_key
        .as_deref()
        .is_some_and(|k| !k.trim().is_empty())
    {
        return store
            .resolve_secret_key()
            .map(|_| "set, 32 bytes".to_string());
    }
    let path = store.data_dir.join(SECRET_KEY_FILE);
    if path.exists() {
        store
            .resolve_secret_key()
            .map(|_| format!("the key file {} holds 32 bytes", path.display()))
    } else {
        Ok(format!(
            "not set; {} is generated at first start (replicas must share one GATEHOUSE_SECRET_KEY instead)",
            path.display()
        ))
    }
}
