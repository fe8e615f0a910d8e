//! The database: one API over SQLite (the embedded default) and PostgreSQL (for replicas).
//!
//! Queries are written once, in SQL that both databases accept, and run through sqlx's `Any`
//! driver; only the migrations differ per database. On SQLite all writes go through a
//! single connection, so writers queue in-process instead of failing with `SQLITE_BUSY`;
//! reads use a separate pool and see committed data thanks to WAL mode.

pub mod admins;
mod events;
mod scim_groups;
mod scim_list;
mod scim_tokens;
mod scim_users;
mod sessions;
mod setup_link;
mod throttle;

pub use admins::AdminOrigin;
pub use scim_groups::GroupRecord;
pub use scim_list::{ListQuery, Page};
pub use scim_tokens::TokenRejection;
pub use scim_users::{ScimCaller, UserRecord};
pub use sessions::StoredSession;
pub use throttle::ThrottlePolicy;

use crate::{DomainError, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the database kind from a connection URL, refusing anything else with a message
    /// that names the accepted forms.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(DomainError::Invalid(format!(
                "unsupported database URL scheme \"{scheme}:\"; use sqlite://PATH or postgres://USER@HOST/DB"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Handle to the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    throttle: ThrottlePolicy,
}

impl Store {
    /// Connects (creating a SQLite file if needed) without running migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| DomainError::Invalid(format!("invalid database URL: {e}")))?;
        let connect = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                let writer = connect(1).await?;
                (connect(8).await?, writer)
            }
            Backend::Postgres => {
                let pool = connect(16).await?;
                (pool.clone(), pool)
            }
        };
        Ok(Store {
            reader,
            writer,
            backend,
            throttle: ThrottlePolicy::default(),
        })
    }

    /// Connects and brings the schema up to date: what start-up does.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations. Safe to run again, and on PostgreSQL safe to run from
    /// several replicas at once: sqlx holds an advisory lock while it migrates.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.writer).await?;
        Ok(())
    }

    /// Answers whether the database takes queries now (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Replaces the sign-in throttling policy (tests use a small one).
    pub fn with_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = policy;
        self
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Now, in the unit the database stores.
pub(crate) fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whether a database error is a unique-constraint violation, the same on both databases.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}
