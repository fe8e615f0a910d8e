//! Appending to and reading Events / Logs. Appends take the caller's transaction, so a change
//! and its event commit together or not at all.

use super::{from_ms, now_ms, Store};
use crate::event::{Actor, Category, Event, NewEvent, Outcome};
use crate::ids::EventId;
use crate::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// Appends one event inside the caller's transaction or connection.
pub(crate) async fn append(conn: &mut AnyConnection, event: NewEvent) -> Result<EventId> {
    let id = EventId::new();
    let (actor_kind, actor_id) = match &event.actor {
        Actor::System => ("system", None),
        Actor::Admin(id) => ("admin", Some(id.clone())),
        Actor::Anonymous => ("anonymous", None),
        Actor::ScimToken(id) => ("scim_token", Some(id.clone())),
    };
    sqlx::query(
        "INSERT INTO events (id, occurred_at, category, action, outcome, actor_kind, actor_id, target, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(now_ms())
    .bind(event.category.as_str())
    .bind(event.action)
    .bind(event.outcome.as_str())
    .bind(actor_kind)
    .bind(actor_id)
    .bind(event.target)
    .bind(event.detail)
    .execute(conn)
    .await?;
    Ok(id)
}

fn event_from_row(row: &AnyRow) -> Result<Event> {
    let id: String = row.try_get("id")?;
    let category: String = row.try_get("category")?;
    let outcome: String = row.try_get("outcome")?;
    let actor_kind: String = row.try_get("actor_kind")?;
    let actor_id: Option<String> = row.try_get("actor_id")?;
    Ok(Event {
        id: id
            .parse()
            .map_err(|e| crate::DomainError::Database(format!("bad event id {id}: {e}")))?,
        occurred_at: from_ms(row.try_get("occurred_at")?),
        category: Category::parse(&category).unwrap_or(Category::Administration),
        action: row.try_get("action")?,
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
        actor: match (actor_kind.as_str(), actor_id) {
            ("admin", Some(id)) => Actor::Admin(id),
            ("system", _) => Actor::System,
            ("scim_token", Some(id)) => Actor::ScimToken(id),
            _ => Actor::Anonymous,
        },
        target: row.try_get("target")?,
        detail: row.try_get("detail")?,
    })
}

impl Store {
    /// Appends one event on its own (for things that change nothing else, such as a failed
    /// sign-in).
    pub async fn record_event(&self, event: NewEvent) -> Result<EventId> {
        let mut conn = self.writer.acquire().await?;
        append(&mut conn, event).await
    }

    /// The newest events of one category and outcome, newest first (for "recent errors").
    pub async fn recent_events_of(
        &self,
        category: Category,
        outcome: Outcome,
        limit: u32,
    ) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, occurred_at, category, action, outcome, actor_kind, actor_id, target, detail \
             FROM events WHERE category = $1 AND outcome = $2 ORDER BY occurred_at DESC, id DESC LIMIT $3",
        )
        .bind(category.as_str())
        .bind(outcome.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The newest events, newest first. Ties in time are broken by id, so the order is stable.
    pub async fn recent_events(&self, limit: u32) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, occurred_at, category, action, outcome, actor_kind, actor_id, target, detail \
             FROM events ORDER BY occurred_at DESC, id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
