//! The database: one API over SQLite (the embedded default) and PostgreSQL (for replicas).
//!
//! Queries are written once, in SQL that both databases accept, and run through sqlx's `Any`
//! driver; only the migrations differ per database. On SQLite all writes go through a
//! single connection, so writers queue in-process instead of failing with `SQLITE_BUSY`;
//! reads use a separate pool and see committed data thanks to WAL mode.

pub mod admins;
mod auth_profiles;
mod chart_slices;
mod dashboard;
mod directory;
mod end_user_sessions;
mod events;
mod read_conns;
mod saml_sign_in;
mod scim_groups;
mod scim_list;
mod scim_tokens;
mod scim_users;
mod sessions;
mod setup_link;
mod throttle;
mod user_creations;

pub use admins::AdminOrigin;
pub use auth_profiles::{
    sha256_fingerprint, DeletedAuthProfile, GroupProfileChange, ImportedIdpMetadata,
    NewAuthProfile, SpKeyMaterial,
};
pub use dashboard::{
    CertificateKind, CertificateWarning, Dashboard, DashboardCounts, ProvisioningHealth,
    SetupProgress, SignInCounts, DASHBOARD_WINDOW,
};
pub use directory::{
    attribute_sections, normalize_search, AttributeRow, AttributeSection, DirectoryPage,
    GroupDetail, GroupListQuery, GroupSort, GroupSummary, MembershipRow, ProfileFilter, SearchMode,
    SortOrder, Source, UserDetail, UserFilter, UserListQuery, UserSort, UserSummary,
    MAX_DIRECTORY_PAGE, MAX_SEARCH_CHARS,
};
pub use end_user_sessions::{
    NewEndUserSession, DEFAULT_END_USER_SESSION_TTL, MAX_END_USER_SESSION_TTL,
};
pub use events::{EventQuery, EventStream, MAX_PAGE as MAX_EVENT_PAGE};
pub use saml_sign_in::{
    check_relay_state, AssertionUserRefusal, NewSamlRequest, PurgedSignInState, Replay,
    RequestRejection, SamlRequest, SignInCandidate, SignInEvent, SignInRefusal, SignInStep,
    SignInUser, SAML_REQUEST_TTL,
};
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
    /// SQLite only: SCIM user creations committed in batches (see `user_creations`).
    user_creations: Option<std::sync::Arc<user_creations::UserCreations>>,
    /// SQLite only: readers for SCIM's hot reads, lent without the pool (see `read_conns`).
    hot_readers: Option<std::sync::Arc<read_conns::ReadConns>>,
    /// The chart's counts for time slices that have ended (see `chart_slices`).
    ended_slices: std::sync::Arc<chart_slices::EndedSlices>,
}

/// One connection pool's state at a moment (see [`Store::pool_use`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// `reader` or `writer` on SQLite, `shared` on PostgreSQL.
    pub pool: &'static str,
    /// Connections open now.
    pub open: u32,
    /// Of those, the ones lent to a query or transaction.
    pub in_use: u32,
    /// The most the pool will open.
    pub max: u32,
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
                // sqlx pings a connection before lending it; a SQLite connection is a file
                // in this process and cannot have gone away, and the ping is a round trip to
                // the connection's thread, as dear as a small query, on every request.
                .test_before_acquire(backend != Backend::Sqlite)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                            )
                            .await?;
                            // A checkpoint runs inside the commit that fills the WAL past
                            // this many pages, with two fsyncs, while every other writer
                            // waits. At SQLite's default (1,000 pages, ~80 user creations
                            // with their events) that cost a third of SCIM's write
                            // throughput here; 10,000 pages (~40 MB of WAL) spreads it. The
                            // file is cut back to 64 MB after a checkpoint if it grew past.
                            // With synchronous = NORMAL a commit survives a crash of the
                            // process; an OS crash can lose commits the WAL has not synced,
                            // and the WAL is synced at each checkpoint: this allows up to
                            // ~10,000 pages of them instead of ~1,000 (the kernel writes
                            // them back within about half a minute either way).
                            conn.execute(
                                "PRAGMA wal_autocheckpoint = 10000; \
                                 PRAGMA journal_size_limit = 67108864;",
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
        let (user_creations, hot_readers) = match backend {
            Backend::Sqlite => (
                Some(std::sync::Arc::new(user_creations::UserCreations::start(
                    writer.clone(),
                ))),
                Some(std::sync::Arc::new(
                    read_conns::ReadConns::take_from(&reader, read_conns::HOT_READERS).await?,
                )),
            ),
            Backend::Postgres => (None, None),
        };
        Ok(Store {
            reader,
            writer,
            backend,
            throttle: ThrottlePolicy::default(),
            user_creations,
            hot_readers,
            ended_slices: Default::default(),
        })
    }

    /// Connects and brings the schema up to date: what start-up does.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations. Safe to run again, and safe to run from several
    /// processes at once: on PostgreSQL sqlx holds an advisory lock while it migrates; on
    /// SQLite, where sqlx takes no lock, one `BEGIN IMMEDIATE` transaction holds the
    /// database's write lock around them all (each migration's own transaction becomes a
    /// savepoint in it), so a server and a CLI command starting together on a new file do
    /// not both apply the same migration.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
                SQLITE_MIGRATIONS.run_direct(&mut *tx).await?;
                tx.commit().await?;
            }
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.writer).await?,
        }
        Ok(())
    }

    /// A write transaction. On SQLite it takes the database's write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails at once
    /// with "database is locked" when another process (a CLI command beside the server)
    /// committed in between, where an immediate one waits its turn (busy_timeout). In this
    /// process all writes share one connection, so it costs nothing here.
    pub(crate) async fn begin_write(
        &self,
    ) -> std::result::Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// A read connection for SCIM's frequent reads: on SQLite one lent without the pool's
    /// check on return (see `read_conns`), on PostgreSQL one from the pool.
    pub(crate) async fn hot_read(&self) -> std::result::Result<read_conns::ReadConn, sqlx::Error> {
        match &self.hot_readers {
            Some(readers) => readers.lend().await,
            None => Ok(read_conns::ReadConn::Pool(self.reader.acquire().await?)),
        }
    }

    /// Answers whether the database takes queries now (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How full the connection pools are, for `/metrics`: a pool whose connections are all in
    /// use makes requests wait, which shows as latency long before it shows as errors.
    /// SQLite has a pool of readers and a pool of one writer; PostgreSQL one shared pool.
    pub fn pool_use(&self) -> Vec<PoolUse> {
        let one = |name: &'static str, pool: &AnyPool| {
            let open = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
            PoolUse {
                pool: name,
                open,
                in_use: open - idle,
                max: pool.options().get_max_connections(),
            }
        };
        match self.backend {
            Backend::Sqlite => vec![one("reader", &self.reader), one("writer", &self.writer)],
            Backend::Postgres => vec![one("shared", &self.writer)],
        }
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
