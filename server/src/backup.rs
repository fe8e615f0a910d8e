//! `gatehouse backup PATH`: a consistent copy of the SQLite database, taken while the server
//! keeps serving.
//!
//! SQLite's `VACUUM INTO` reads the database inside one read transaction and writes a fresh,
//! compacted database file: the copy is exactly the database as of one commit, whatever the
//! server writes meanwhile (in WAL mode a reader never blocks writers, nor they it). The
//! copy is written under a temporary name beside PATH, synced, then linked to PATH, so PATH
//! is either absent or a whole database, and an existing file is never overwritten.

use crate::config::{redact_url, StoreArgs};
use gatehouse_domain::store::Backend;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

/// What a finished backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Copies the configured SQLite database to `target`, refusing if `target` exists or the
/// database is PostgreSQL.
pub async fn run(store: &StoreArgs, target: &Path) -> Result<BackupReport, String> {
    let url = store.database_url_for_reading();
    match Backend::from_url(&url).map_err(|e| format!("GATEHOUSE_DATABASE_URL: {e}"))? {
        Backend::Postgres => {
            return Err(format!(
                "the database is PostgreSQL ({}): `gatehouse backup` copies SQLite databases only. \
                 Back up PostgreSQL with its own tools, e.g. `pg_dump --format=custom --file=gatehouse.dump \"$GATEHOUSE_DATABASE_URL\"`, \
                 or your provider's snapshots",
                redact_url(&url)
            ))
        }
        Backend::Sqlite => {}
    }
    if target.as_os_str().is_empty() {
        return Err("give the path of the backup file to write".into());
    }
    if std::fs::symlink_metadata(target).is_ok() {
        return Err(format!(
            "{} already exists: give a new file name (a backup never overwrites a file)",
            target.display()
        ));
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "cannot write {}: the directory {} does not exist",
            target.display(),
            dir.display()
        ));
    }

    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| format!("GATEHOUSE_DATABASE_URL: invalid SQLite URL: {e}"))?
        // Never create an empty database where the operator expected theirs.
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30));
    let source = options.get_filename().to_path_buf();
    if !source.is_file() {
        return Err(format!(
            "there is no database at {} (check GATEHOUSE_DATA_DIR or GATEHOUSE_DATABASE_URL)",
            source.display()
        ));
    }

    // The copy holds everything the database holds (token digests, sealed keys, events):
    // make it readable by its owner only, from the first byte. VACUUM INTO accepts an
    // existing empty file.
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gatehouse-backup".into());
    let partial = dir.join(format!(
        ".{file_name}.partial-{}",
        uuid::Uuid::new_v4().simple()
    ));
    create_private_empty(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let result = copy_into(options, &partial).await;
    let result = result.and_then(|()| {
        let file = std::fs::File::open(&partial)
            .map_err(|e| format!("cannot reopen {}: {e}", partial.display()))?;
        file.sync_all()
            .map_err(|e| format!("cannot sync {}: {e}", partial.display()))?;
        // A hard link never replaces an existing file, unlike a rename.
        std::fs::hard_link(&partial, target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!(
                    "{} already exists: give a new file name (a backup never overwrites a file)",
                    target.display()
                )
            } else {
                format!("cannot write {}: {e}", target.display())
            }
        })?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
    });
    let _ = std::fs::remove_file(&partial);
    let bytes = result?;
    Ok(BackupReport {
        path: target.to_path_buf(),
        bytes,
    })
}

async fn copy_into(options: SqliteConnectOptions, partial: &Path) -> Result<(), String> {
    let mut conn = options
        .connect()
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let into = partial
        .to_str()
        .ok_or_else(|| format!("the path {} is not valid UTF-8", partial.display()))?;
    let result = sqlx::query("VACUUM INTO ?")
        .bind(into)
        .execute(&mut conn)
        .await
        .map_err(|e| format!("the copy failed: {e}"));
    let _ = conn.close().await;
    result.map(|_| ())
}

fn create_private_empty(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(|_| ())
}
