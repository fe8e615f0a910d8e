//! SQLite read connections for SCIM's hot reads, lent without sqlx's pool.
//!
//! sqlx's pool pings every connection as it comes back (`return_to_pool`), in a task of
//! its own. For a SQLite connection the ping is a hand-off to the connection's thread and
//! back, as dear as the look-up it follows: on 2 cores Okta's `userName eq` GET spent about
//! as much time switching threads for the ping as for the query. These connections are
//! taken from the reader pool once (with its settings applied) and then lent and returned
//! here, synchronously. A SQLite connection is a file in this process: there is no
//! server that could have dropped it, which is what the ping is for. Only reads use them,
//! so none is ever returned inside a transaction; a request cancelled mid-query leaves its
//! command to finish on the connection's thread before the next one runs.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many connections are kept here: enough for both cores and for requests waiting on
/// the connection threads; the rest of the reader pool serves the console.
pub(crate) const HOT_READERS: usize = 4;

#[derive(Debug)]
pub(crate) struct ReadConns {
    free: Mutex<Vec<AnyConnection>>,
    permits: Arc<Semaphore>,
}

impl ReadConns {
    /// Takes `n` connections out of the reader pool for good.
    pub async fn take_from(pool: &AnyPool, n: usize) -> Result<Self, sqlx::Error> {
        let mut free = Vec::with_capacity(n);
        for _ in 0..n {
            free.push(pool.acquire().await?.detach());
        }
        Ok(ReadConns {
            free: Mutex::new(free),
            permits: Arc::new(Semaphore::new(n)),
        })
    }

    /// A connection, waiting for one when all are lent.
    pub async fn lend(self: &Arc<Self>) -> Result<ReadConn, sqlx::Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or(sqlx::Error::PoolClosed)?;
        Ok(ReadConn::Lent {
            home: self.clone(),
            conn: Some(conn),
            _permit: permit,
        })
    }
}

/// A read connection: one of [`ReadConns`], or from the pool where there are none
/// (PostgreSQL, whose connections are network sockets worth checking).
pub(crate) enum ReadConn {
    Lent {
        home: Arc<ReadConns>,
        conn: Option<AnyConnection>,
        _permit: OwnedSemaphorePermit,
    },
    Pool(PoolConnection<Any>),
}

impl Deref for ReadConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConn::Lent { conn, .. } => conn.as_ref().expect("lent until dropped"),
            ReadConn::Pool(c) => c,
        }
    }
}

impl DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConn::Lent { conn, .. } => conn.as_mut().expect("lent until dropped"),
            ReadConn::Pool(c) => c,
        }
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let ReadConn::Lent { home, conn, .. } = self {
            if let Some(conn) = conn.take() {
                // Back before the permit (dropped after this) lets the next borrower in.
                home.free
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(conn);
            }
        }
    }
}
