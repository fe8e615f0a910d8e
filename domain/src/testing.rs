//! Throw-away databases for tests, so every store test runs on SQLite *and* PostgreSQL.
//!
//! PostgreSQL is found at `GATEHOUSE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets a database of its own,
//! dropped when the test ends. A PostgreSQL server that cannot be reached fails the test
//! with a message saying how to start one: it is never silently skipped.

use crate::store::{Backend, Store};
use sqlx::{Connection, Executor};
use std::path::PathBuf;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh SQLite database file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("gatehouse-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TestDatabase {
            url: format!("sqlite://{}", dir.join("gatehouse.db").display()),
            backend: Backend::Sqlite,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh, empty PostgreSQL database.
    pub async fn postgres() -> Self {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let name = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {admin_url} ({e}). Start it (the test command does: \
                 scripts/test) or point GATEHOUSE_TEST_POSTGRES_URL at a server."
            )
        });
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        TestDatabase {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }

    /// Both kinds, SQLite first.
    pub async fn each() -> Vec<TestDatabase> {
        vec![Self::sqlite(), Self::postgres().await]
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {} test store: {e}", self.backend.name()))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside async code; a short-lived runtime on its own thread
                // removes the database even when the test's runtime is gone.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                            let _ = conn
                                .execute(
                                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                                )
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
