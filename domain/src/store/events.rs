//! Appending to and reading Events / Logs. Appends take the caller's transaction, so a change
//! and its event commit together or not at all.
//!
//! Reads page by key, newest first, in the order (occurred_at, id): ids break ties in time,
//! so a page boundary never skips or repeats an event. Every filter has an index that starts
//! with its column and ends with (occurred_at, id) (migration 0005), so the first page of any
//! single filter is a short backward index scan however many events there are.

use super::{chart_slices, from_ms, now_ms, to_ms, Store};
use crate::event::{
    Actor, ActorFilter, Category, Event, EventCursor, EventEntry, EventFilter, EventHistogram,
    EventPage, HistogramBucket, NewEvent, Outcome, TargetFilter,
};
use crate::ids::EventId;
use crate::{DomainError, Result};
use futures_core::Stream;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::pin::Pin;
use std::task::{Context, Poll};
use time::OffsetDateTime;

/// The most events one page may hold.
pub const MAX_PAGE: u32 = 500;

/// Detail keys that name what an event is about, in order of preference. Callers write
/// them into the detail JSON; `append` copies the first one found into `target_id`.
const TARGET_ID_KEYS: [&str; 5] = [
    "user_id",
    "group_id",
    "profile_id",
    "auth_profile_id",
    "token_id",
];

/// The id of what an event concerns: from the detail JSON, else the target itself when it
/// is an id (refused SCIM writes name the resource only by its id).
fn target_id_of(target: Option<&str>, detail: Option<&str>) -> Option<String> {
    let from_detail = detail
        .filter(|d| d.contains("_id\""))
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|v| {
            TARGET_ID_KEYS.iter().find_map(|k| match v.get(*k) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
        });
    from_detail.or_else(|| {
        target
            .and_then(|t| uuid::Uuid::parse_str(t).ok())
            .map(|u| u.to_string())
    })
}

/// Appends one event inside the caller's transaction or connection.
pub(crate) async fn append(conn: &mut AnyConnection, event: NewEvent) -> Result<EventId> {
    append_at(conn, now_ms(), event).await
}

fn actor_columns(actor: &Actor) -> (&'static str, Option<String>) {
    match actor {
        Actor::System => ("system", None),
        Actor::Admin(id) => ("admin", Some(id.clone())),
        Actor::Anonymous => ("anonymous", None),
        Actor::ScimToken(id) => ("scim_token", Some(id.clone())),
    }
}

const EVENT_COLUMNS: &str = "INSERT INTO events (id, occurred_at, category, action, outcome, actor_kind, actor_id, target, detail, target_id, target_key) VALUES ";
const EVENT_PARAMS: usize = 11;

/// Binds one event's eleven columns, in `EVENT_COLUMNS`' order.
fn bind_event<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    id: EventId,
    at_ms: i64,
    event: NewEvent,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let (actor_kind, actor_id) = actor_columns(&event.actor);
    let target_id = target_id_of(event.target.as_deref(), event.detail.as_deref());
    let target_key = event.target.as_deref().map(str::to_lowercase);
    query
        .bind(id.to_string())
        .bind(at_ms)
        .bind(event.category.as_str())
        .bind(event.action)
        .bind(event.outcome.as_str())
        .bind(actor_kind)
        .bind(actor_id)
        .bind(event.target)
        .bind(event.detail)
        .bind(target_id)
        .bind(target_key)
}

/// `($first, …, $first+10)`: the placeholders of one event's columns.
fn event_placeholders(first: usize) -> String {
    let list: Vec<String> = (first..first + EVENT_PARAMS)
        .map(|n| format!("${n}"))
        .collect();
    format!("({})", list.join(", "))
}

async fn append_at(conn: &mut AnyConnection, at_ms: i64, event: NewEvent) -> Result<EventId> {
    let id = EventId::new();
    let sql = format!("{EVENT_COLUMNS}{}", event_placeholders(1));
    bind_event(sqlx::query(&sql), id, at_ms, event)
        .execute(conn)
        .await?;
    Ok(id)
}

/// SQLite: a statement appending `count` events, their parameters numbered from `first`,
/// keeping only those whose `target_id` (the 10th column) names a row of `users`. The group
/// commit of SCIM creations (`user_creations`) writes a batch's users with `ON CONFLICT DO
/// NOTHING`; this then writes the events of exactly the users that went in, in the same
/// hand-off to the database.
pub(crate) fn append_for_users_sql(first: usize, count: usize) -> String {
    let values: Vec<String> = (0..count)
        .map(|i| event_placeholders(first + i * EVENT_PARAMS))
        .collect();
    let values = values.join(", ");
    format!(
        "{} SELECT * FROM (VALUES {values}) AS v WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = v.column10)",
        EVENT_COLUMNS.trim_end_matches("VALUES ")
    )
}

/// Binds the events of [`append_for_users_sql`], each with a new id.
pub(crate) fn bind_events<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    events: Vec<(i64, NewEvent)>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for (at_ms, event) in events {
        query = bind_event(query, EventId::new(), at_ms, event);
    }
    query
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

fn entry_from_row(row: &AnyRow) -> Result<EventEntry> {
    Ok(EventEntry {
        event: event_from_row(row)?,
        actor_name: row.try_get("actor_name")?,
        target_id: row.try_get("target_id")?,
    })
}

/// The columns of an [`EventEntry`], with the actor's current name joined in.
const ENTRY_FROM: &str =
    "SELECT e.id, e.occurred_at, e.category, e.action, e.outcome, e.actor_kind, e.actor_id, \
     e.target, e.detail, e.target_id, COALESCE(a.email, t.name) AS actor_name \
     FROM events e \
     LEFT JOIN admins a ON e.actor_kind = 'admin' AND a.id = e.actor_id \
     LEFT JOIN scim_tokens t ON e.actor_kind = 'scim_token' AND t.id = e.actor_id";

const NEWEST_FIRST: &str = " ORDER BY e.occurred_at DESC, e.id DESC";

/// A value bound to a query built at run time.
#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause and its arguments, built from a filter. Only the conditions that apply
/// are written, so each combination of filters is its own statement with its own plan
/// (no `$1 IS NULL OR ...` that defeats indexes).
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    fn from_filter(f: &EventFilter) -> Self {
        let mut c = Conditions::default();
        if let Some(from) = f.from {
            let p = c.arg(Arg::Int(to_ms(from)));
            c.push(format!("e.occurred_at >= {p}"));
        }
        if let Some(to) = f.to {
            let p = c.arg(Arg::Int(to_ms(to)));
            c.push(format!("e.occurred_at < {p}"));
        }
        if let Some(cat) = f.category {
            let p = c.arg(Arg::Text(cat.as_str().into()));
            c.push(format!("e.category = {p}"));
        }
        if let Some(action) = &f.action {
            let p = c.arg(Arg::Text(action.clone()));
            c.push(format!("e.action = {p}"));
        }
        if let Some(outcome) = f.outcome {
            let p = c.arg(Arg::Text(outcome.as_str().into()));
            c.push(format!("e.outcome = {p}"));
        }
        match &f.actor {
            None => {}
            Some(ActorFilter::System) => c.push("e.actor_kind = 'system'".into()),
            Some(ActorFilter::Anonymous) => c.push("e.actor_kind = 'anonymous'".into()),
            Some(ActorFilter::AnyAdmin) => c.push("e.actor_kind = 'admin'".into()),
            Some(ActorFilter::AnyScimToken) => c.push("e.actor_kind = 'scim_token'".into()),
            Some(ActorFilter::Admin(id)) => {
                let p = c.arg(Arg::Text(id.clone()));
                c.push(format!("e.actor_id = {p} AND e.actor_kind = 'admin'"));
            }
            Some(ActorFilter::ScimToken(id)) => {
                let p = c.arg(Arg::Text(id.clone()));
                c.push(format!("e.actor_id = {p} AND e.actor_kind = 'scim_token'"));
            }
        }
        match &f.target {
            None => {}
            Some(TargetFilter::Id(id)) => {
                let p = c.arg(Arg::Text(id.clone()));
                c.push(format!("e.target_id = {p}"));
            }
            Some(TargetFilter::Name {
                name,
                prefix: false,
            }) => {
                let p = c.arg(Arg::Text(name.to_lowercase()));
                c.push(format!("e.target_key = {p}"));
            }
            Some(TargetFilter::Name { name, prefix: true }) => {
                // A range, so the index on target_key serves it (LIKE would not on
                // PostgreSQL). target_key compares bytewise on both databases (BINARY in
                // SQLite, COLLATE "C" in PostgreSQL), and U+10FFFF is the highest code point.
                let lo = name.to_lowercase();
                let hi = format!("{lo}\u{10FFFF}");
                let (lo, hi) = (c.arg(Arg::Text(lo)), c.arg(Arg::Text(hi)));
                c.push(format!("e.target_key >= {lo} AND e.target_key < {hi}"));
            }
        }
        c
    }

    /// Only events older than `cursor`, in the newest-first order. Written so that the
    /// first half is a plain range on occurred_at that the indexes serve.
    fn before(&mut self, cursor: EventCursor) {
        let t = self.arg(Arg::Int(cursor.occurred_at_ms));
        let id = self.arg(Arg::Text(cursor.id.to_string()));
        self.push(format!(
            "e.occurred_at <= {t} AND (e.occurred_at < {t} OR e.id < {id})"
        ));
    }

    /// Only events newer than `cursor`.
    fn after(&mut self, cursor: EventCursor) {
        let t = self.arg(Arg::Int(cursor.occurred_at_ms));
        let id = self.arg(Arg::Text(cursor.id.to_string()));
        self.push(format!(
            "e.occurred_at >= {t} AND (e.occurred_at > {t} OR e.id > {id})"
        ));
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &[Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(*i),
            Arg::Text(s) => q.bind(s.clone()),
        };
    }
    q
}

/// A page of events: where it starts, how long it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventQuery {
    pub filter: EventFilter,
    /// Only events older than this (the "Load older" button).
    pub before: Option<EventCursor>,
    /// Only events newer than this (what arrived since the page was loaded).
    pub after: Option<EventCursor>,
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: u32,
}

/// The chart's finest kept slice: the open slices are counted by the minute.
const MINUTE: i64 = 60_000;

/// The most minutes counted one by one (the open slices of a chart over a month).
const MAX_OPEN_MINUTES: i64 = 24 * 60;

/// Adds counts per slice to the chart's buckets, slice by slice.
fn add_counts(buckets: &mut [HistogramBucket], counts: &[chart_slices::SliceCounts]) {
    for (b, (success, failure)) in buckets.iter_mut().zip(counts) {
        b.success += success;
        b.failure += failure;
    }
}

/// Round bucket lengths for the chart, in milliseconds.
const BUCKET_LENGTHS_MS: [i64; 17] = [
    60_000,
    5 * 60_000,
    10 * 60_000,
    15 * 60_000,
    30 * 60_000,
    3_600_000,
    2 * 3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    2 * 86_400_000,
    7 * 86_400_000,
    14 * 86_400_000,
    30 * 86_400_000,
    91 * 86_400_000,
    365 * 86_400_000,
];

/// The shortest round bucket length that covers `span_ms` in at most `max_buckets` slices.
fn bucket_length(span_ms: i64, max_buckets: u32) -> i64 {
    let max = i64::from(max_buckets.max(1));
    BUCKET_LENGTHS_MS
        .iter()
        .copied()
        .find(|len| (span_ms + len - 1) / len <= max)
        .unwrap_or_else(|| {
            let last = BUCKET_LENGTHS_MS[BUCKET_LENGTHS_MS.len() - 1];
            let n = (span_ms + max - 1) / max;
            (n + last - 1) / last * last
        })
}

/// How many rows the export reads from the database at a time before handing them on.
const EXPORT_BATCH: usize = 256;

/// Events as the database yields them, for exports of any size: rows are read by one
/// streaming query (never all at once) and handed over in small batches, so memory stays
/// flat however many events match.
pub struct EventStream {
    rx: tokio::sync::mpsc::Receiver<Result<Vec<EventEntry>>>,
    batch: std::vec::IntoIter<EventEntry>,
}

impl Stream for EventStream {
    type Item = Result<EventEntry>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(e) = self.batch.next() {
                return Poll::Ready(Some(Ok(e)));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(batch))) => self.batch = batch.into_iter(),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
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

    /// One page of the events that match, newest first, and where the next older page
    /// starts.
    pub async fn query_events(&self, query: &EventQuery) -> Result<EventPage> {
        if query.limit == 0 || query.limit > MAX_PAGE {
            return Err(DomainError::Invalid(format!(
                "A page holds 1 to {MAX_PAGE} events (asked for {}).",
                query.limit
            )));
        }
        let mut c = Conditions::from_filter(&query.filter);
        if let Some(cursor) = query.before {
            c.before(cursor);
        }
        if let Some(cursor) = query.after {
            c.after(cursor);
        }
        // One more than asked tells whether an older page exists.
        let sql = format!(
            "{ENTRY_FROM}{}{NEWEST_FIRST} LIMIT {}",
            c.where_sql(),
            query.limit + 1
        );
        let rows = bind_all(sqlx::query(&sql), &c.args)
            .fetch_all(&self.reader)
            .await?;
        let mut entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>>>()?;
        let older = if entries.len() > query.limit as usize {
            entries.truncate(query.limit as usize);
            entries.last().map(EventEntry::cursor)
        } else {
            None
        };
        Ok(EventPage { entries, older })
    }

    /// One event, with its actor's name.
    pub async fn event_by_id(&self, id: EventId) -> Result<Option<EventEntry>> {
        let row = sqlx::query(&format!("{ENTRY_FROM} WHERE e.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// Counts of the matching events per time slice and outcome, for the chart. The range is
    /// the filter's (an open start begins at the oldest match, an open end is now), cut into
    /// at most `max_buckets` slices of a round length; counting happens in the database, and
    /// only for the slices that have not ended (see `chart_slices`).
    pub async fn event_histogram(
        &self,
        filter: &EventFilter,
        max_buckets: u32,
    ) -> Result<EventHistogram> {
        let now = OffsetDateTime::now_utc();
        let asked = std::time::Instant::now();
        let to = filter.to.unwrap_or(now);
        let from = match filter.from {
            Some(f) => f,
            None => {
                let c = Conditions::from_filter(filter);
                let sql = format!(
                    "SELECT MIN(e.occurred_at) AS first FROM events e{}",
                    c.where_sql()
                );
                let first: Option<i64> = bind_all(sqlx::query(&sql), &c.args)
                    .fetch_one(&self.reader)
                    .await?
                    .try_get("first")?;
                first.map(from_ms).unwrap_or(to - time::Duration::hours(24))
            }
        };
        let (from_ms_, to_ms_) = (to_ms(from), to_ms(to).max(to_ms(from) + 1));
        let width = bucket_length(to_ms_ - from_ms_, max_buckets);
        let start = from_ms_.div_euclid(width) * width;
        let count = ((to_ms_ - start + width - 1) / width) as usize;
        let mut buckets: Vec<HistogramBucket> = (0..count)
            .map(|i| HistogramBucket {
                start: from_ms(start + i as i64 * width),
                success: 0,
                failure: 0,
            })
            .collect();

        // The slices [ended_first, ended_last) lie wholly inside the range and ended long
        // enough ago to be final. With an open start the first slice is whole: no match is
        // older than the range's start.
        let lower = if filter.from.is_none() {
            start
        } else {
            from_ms_
        };
        let ended_first = usize::try_from((lower - start + width - 1).div_euclid(width))
            .unwrap_or(0)
            .min(count);
        let ended_limit = to_ms_.min(to_ms(now) - chart_slices::SETTLE_MS);
        let ended_last = usize::try_from((ended_limit - start).div_euclid(width))
            .unwrap_or(0)
            .clamp(ended_first, count);
        let slice_start = |i: usize| start + i as i64 * width;
        let key = format!(
            "{:?}",
            (
                filter.category,
                &filter.action,
                filter.outcome,
                &filter.actor,
                &filter.target
            )
        );
        let (mut kept, made) = self
            .ended_slices
            .from(&key, width, slice_start(ended_first));
        kept.truncate(ended_last - ended_first);
        for (b, (success, failure)) in buckets[ended_first..].iter_mut().zip(&kept) {
            b.success = *success;
            b.failure = *failure;
        }
        // What is left to count: everything, or what lies before and after the kept slices.
        // An open end is now, and takes in this millisecond's events too.
        let end = if filter.to.is_none() {
            to_ms_ + 1
        } else {
            to_ms_
        };
        let live_from = if kept.is_empty() {
            from_ms_
        } else {
            let head_end = slice_start(ended_first);
            if from_ms_ < head_end {
                let head = self
                    .count_slices(filter, (from_ms_, head_end), (start, width), count)
                    .await?;
                add_counts(&mut buckets, &head);
            }
            slice_start(ended_first + kept.len())
        };
        // The slices not yet ended (the one now falls in, and the one before while it
        // settles) are counted by the minute, and their ended minutes kept too: when most of
        // a day's events fall in its last half hour, a drawing counts the last minute or
        // two rather than the half hour.
        let open_start = slice_start(ended_last).max(live_from);
        let by_minute = width > MINUTE
            && width % MINUTE == 0
            && open_start % MINUTE == 0
            && open_start < end
            && end - open_start <= MAX_OPEN_MINUTES * MINUTE;
        let wide_end = if by_minute { open_start } else { end };
        if live_from < wide_end {
            let wide = self
                .count_slices(filter, (live_from, wide_end), (start, width), count)
                .await?;
            add_counts(&mut buckets, &wide);
        }
        if by_minute {
            let minutes = usize::try_from((end - open_start + MINUTE - 1) / MINUTE).unwrap_or(0);
            let minutes_ended = usize::try_from((ended_limit - open_start).div_euclid(MINUTE))
                .unwrap_or(0)
                .min(minutes);
            let (mut kept_minutes, minutes_made) = self.ended_slices.from(&key, MINUTE, open_start);
            kept_minutes.truncate(minutes_ended);
            let counted_from = open_start + kept_minutes.len() as i64 * MINUTE;
            let mut by_min = self
                .count_slices(filter, (counted_from, end), (open_start, MINUTE), minutes)
                .await?;
            by_min[..kept_minutes.len()].copy_from_slice(&kept_minutes);
            self.ended_slices.keep(
                key.clone(),
                MINUTE,
                open_start,
                by_min[..minutes_ended].to_vec(),
                if kept_minutes.is_empty() {
                    asked
                } else {
                    minutes_made
                },
            );
            for (i, (success, failure)) in by_min.into_iter().enumerate() {
                let at = open_start + i as i64 * MINUTE;
                if let Some(b) = usize::try_from((at - start) / width)
                    .ok()
                    .and_then(|i| buckets.get_mut(i))
                {
                    b.success += success;
                    b.failure += failure;
                }
            }
        }
        self.ended_slices.keep(
            key,
            width,
            slice_start(ended_first),
            buckets[ended_first..ended_last]
                .iter()
                .map(|b| (b.success, b.failure))
                .collect(),
            if kept.is_empty() { asked } else { made },
        );
        Ok(EventHistogram {
            from,
            to,
            bucket_ms: width,
            buckets,
        })
    }

    /// The matching events of `[lo, hi)` counted per outcome in `len` slices of `width`
    /// from `start`.
    async fn count_slices(
        &self,
        filter: &EventFilter,
        (lo, hi): (i64, i64),
        (start, width): (i64, i64),
        len: usize,
    ) -> Result<Vec<chart_slices::SliceCounts>> {
        let mut c = Conditions::from_filter(filter);
        let lo = c.arg(Arg::Int(lo));
        let hi = c.arg(Arg::Int(hi));
        c.push(format!("e.occurred_at >= {lo} AND e.occurred_at < {hi}"));
        let s = c.arg(Arg::Int(start));
        let w = c.arg(Arg::Int(width));
        let sql = format!(
            "SELECT (e.occurred_at - {s}) / {w} AS bucket, e.outcome AS outcome, COUNT(*) AS n \
             FROM events e{} GROUP BY 1, 2",
            c.where_sql()
        );
        let rows = bind_all(sqlx::query(&sql), &c.args)
            .fetch_all(&self.reader)
            .await?;
        let mut counts = vec![(0, 0); len];
        for row in rows {
            let bucket: i64 = row.try_get("bucket")?;
            let outcome: String = row.try_get("outcome")?;
            let n = row.try_get::<i64, _>("n")?.max(0) as u64;
            if let Some((success, failure)) =
                usize::try_from(bucket).ok().and_then(|i| counts.get_mut(i))
            {
                match Outcome::parse(&outcome) {
                    Some(Outcome::Success) => *success += n,
                    _ => *failure += n,
                }
            }
        }
        Ok(counts)
    }

    /// Every matching event, newest first, as a stream for exports. One query reads the rows
    /// as the consumer takes them (a slow download slows the query down rather than filling
    /// memory); on SQLite the export sees one consistent snapshot.
    pub fn stream_events(&self, filter: &EventFilter) -> EventStream {
        let c = Conditions::from_filter(filter);
        let sql = format!("{ENTRY_FROM}{}{NEWEST_FIRST}", c.where_sql());
        let args = c.args;
        let pool = self.reader.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<EventEntry>>>(4);
        tokio::spawn(async move {
            let mut rows = bind_all(sqlx::query(&sql), &args).fetch(&pool);
            let mut batch = Vec::with_capacity(EXPORT_BATCH);
            loop {
                let next = std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await;
                match next {
                    Some(Ok(row)) => match entry_from_row(&row) {
                        Ok(e) => {
                            batch.push(e);
                            if batch.len() == EXPORT_BATCH {
                                let full =
                                    std::mem::replace(&mut batch, Vec::with_capacity(EXPORT_BATCH));
                                if tx.send(Ok(full)).await.is_err() {
                                    return; // the download was abandoned
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    },
                    Some(Err(e)) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                    None => break,
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(Ok(batch)).await;
            }
        });
        EventStream {
            rx,
            batch: Vec::new().into_iter(),
        }
    }

    /// The actions that occur in Events, for the filter's suggestions. Each step of the
    /// recursive query jumps to the next distinct action through the index, so this costs
    /// one index probe per action, not a scan of the events.
    pub async fn event_actions(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "WITH RECURSIVE a(action) AS ( \
               SELECT MIN(action) FROM events \
               UNION ALL \
               SELECT (SELECT MIN(e.action) FROM events e WHERE e.action > a.action) FROM a WHERE a.action IS NOT NULL \
             ) SELECT action FROM a WHERE action IS NOT NULL",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("action").map_err(Into::into))
            .collect()
    }

    /// Deletes the events older than `cutoff` (the retention setting), in batches so other
    /// writers are never held up for long, then records the purge itself, with the count,
    /// as an event of the system. Returns how many were deleted.
    pub async fn purge_events_older_than(&self, cutoff: OffsetDateTime) -> Result<u64> {
        const BATCH: i64 = 5_000;
        let cutoff_ms = to_ms(cutoff);
        let mut deleted = 0u64;
        loop {
            let done = sqlx::query(
                "DELETE FROM events WHERE id IN \
                 (SELECT id FROM events WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)",
            )
            .bind(cutoff_ms)
            .bind(BATCH)
            .execute(&self.writer)
            .await?
            .rows_affected();
            deleted += done;
            if done < BATCH as u64 {
                break;
            }
        }
        self.ended_slices.clear();
        let cutoff_text = cutoff
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        self.record_event(NewEvent {
            category: Category::Administration,
            action: "events.purged",
            outcome: Outcome::Success,
            actor: Actor::System,
            target: None,
            detail: Some(
                serde_json::json!({"deleted": deleted, "older_than": cutoff_text}).to_string(),
            ),
        })
        .await?;
        Ok(deleted)
    }

    /// Appends events with the times given, many per transaction: for tests that need
    /// exact times (equal timestamps, old events to purge) and for benchmarks that need a
    /// million events quickly. Each row is derived exactly as [`append`] derives it.
    #[cfg(feature = "test-support")]
    pub async fn insert_events_at(
        &self,
        events: Vec<(OffsetDateTime, NewEvent)>,
    ) -> Result<Vec<EventId>> {
        const ROWS_PER_STATEMENT: usize = 400;
        let mut ids = Vec::with_capacity(events.len());
        let mut tx = self.begin_write().await?;
        let mut it = events.into_iter().peekable();
        while it.peek().is_some() {
            let chunk: Vec<_> = it.by_ref().take(ROWS_PER_STATEMENT).collect();
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| event_placeholders(i * EVENT_PARAMS + 1))
                .collect();
            let sql = format!("{EVENT_COLUMNS}{}", rows.join(", "));
            let mut q = sqlx::query(&sql);
            for (at, e) in chunk {
                let id = EventId::new();
                ids.push(id);
                q = bind_event(q, id, to_ms(at), e);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // Events in the past change slices the chart took as ended.
        self.ended_slices.clear();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ids_come_from_the_detail_or_an_id_target() {
        let uid = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(
            target_id_of(
                Some("ada"),
                Some(&format!(r#"{{"user_id":"{uid}","token":"t"}}"#))
            ),
            Some(uid.to_string())
        );
        assert_eq!(
            target_id_of(Some("Admins"), Some(r#"{"group_id":"g1","removed":["u"]}"#)),
            Some("g1".to_string())
        );
        assert_eq!(
            target_id_of(Some(uid), Some(r#"{"status":400}"#)),
            Some(uid.to_string())
        );
        assert_eq!(target_id_of(Some("ada"), Some("not json")), None);
        assert_eq!(target_id_of(None, None), None);
    }

    #[test]
    fn bucket_lengths_are_round_and_bounded() {
        assert_eq!(bucket_length(3_600_000, 60), 60_000);
        assert_eq!(bucket_length(86_400_000, 60), 30 * 60_000);
        assert_eq!(bucket_length(7 * 86_400_000, 60), 3 * 3_600_000);
        assert_eq!(bucket_length(30 * 86_400_000, 60), 12 * 3_600_000);
        assert_eq!(bucket_length(30 * 86_400_000, 30), 86_400_000);
        let huge = bucket_length(100 * 365 * 86_400_000, 10);
        assert!(100 * 365 * 86_400_000 / huge <= 10);
    }
}
