//! tower-sessions' store over Gatehouse's own database (SQLite or PostgreSQL through one
//! pool), so sessions are shared by every replica and each row names its administrator.

use async_trait::async_trait;
use gatehouse_app::session::ADMIN_ID_KEY;
use gatehouse_domain::store::{Store, StoredSession};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

/// Sessions in the `admin_sessions` table.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        DbSessionStore { store }
    }
}

fn to_stored(record: &Record) -> Result<StoredSession> {
    Ok(StoredSession {
        id: record.id.to_string(),
        admin_id: record
            .data
            .get(ADMIN_ID_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok()),
        data: serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?,
        expires_at: record.expiry_date,
    })
}

fn backend(e: gatehouse_domain::DomainError) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A collision of 128-bit random ids is improbable, but cheap to rule out.
        while !self
            .store
            .create_session(&to_stored(record)?)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store
            .save_session(&to_stored(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(stored) = self
            .store
            .load_session(&id.to_string())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&stored.data).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: stored.expires_at,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store
            .delete_session(&id.to_string())
            .await
            .map_err(backend)
    }
}
