//! WAL checkpoints on SQLite, run beside the writer instead of inside its commits.
//!
//! By default SQLite checkpoints in the commit that fills the WAL past a number of pages:
//! that commit copies the pages into the database file and syncs both files while every
//! other write waits. Under an Okta import that was the slowest commit of all (SCIM POST's
//! p99), and the time of every user creation queued behind it. Here the connections never
//! checkpoint on commit (`wal_autocheckpoint = 0`); a task of its own, on a connection of its
//! own, runs a PASSIVE checkpoint a few times a second, which copies what it can without
//! taking the write lock, so writers go on appending to the WAL meanwhile. Once a checkpoint
//! has copied everything, the next writer starts the WAL again from its beginning, as it
//! does after an automatic checkpoint.
//!
//! A PASSIVE checkpoint cannot copy frames that a reader still needs, so under readers that
//! never pause the WAL could grow; past [`TRUNCATE_PAGES`] the task runs a TRUNCATE
//! checkpoint instead, which waits for readers (and holds writers back) until it has copied
//! everything and cut the file to nothing.
//!
//! With `synchronous = NORMAL`, a commit survives a crash of the process at once and a crash
//! of the operating system once the WAL is synced, which every checkpoint does: commits are
//! at most [`EVERY`] from that, where the automatic checkpoint left up to its page count.

use sqlx::{AnyConnection, Connection, Executor, Row};
use std::time::Duration;
use tokio::sync::oneshot;

/// How often the task checkpoints.
pub(crate) const EVERY: Duration = Duration::from_millis(250);

/// WAL pages past which the task stops being polite: about 200 MB at 4 KB pages.
pub(crate) const TRUNCATE_PAGES: i64 = 50_000;

/// Keeps the checkpointing task alive: it stops when the last holder is dropped.
#[derive(Debug)]
pub(crate) struct WalCheckpoints {
    _stop: oneshot::Sender<()>,
}

impl WalCheckpoints {
    /// Starts the task on the current runtime, with a connection that is its alone.
    pub fn start(conn: AnyConnection) -> Self {
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(conn, stopped));
        WalCheckpoints { _stop: stop }
    }
}

async fn run(mut conn: AnyConnection, mut stopped: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {}
        }
        match checkpoint(&mut conn, "PASSIVE").await {
            Ok(wal_pages) if wal_pages >= TRUNCATE_PAGES => {
                if let Err(e) = checkpoint(&mut conn, "TRUNCATE").await {
                    tracing::warn!(error = %e, wal_pages, "SQLite WAL checkpoint (TRUNCATE) failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "SQLite WAL checkpoint failed"),
        }
    }
    let _ = conn.close().await;
}

/// Runs one checkpoint of the given mode; answers the WAL's size in pages when it began.
async fn checkpoint(conn: &mut AnyConnection, mode: &str) -> Result<i64, sqlx::Error> {
    let row = conn
        .fetch_one(format!("PRAGMA wal_checkpoint({mode})").as_str())
        .await?;
    row.try_get::<i64, _>(1)
}
