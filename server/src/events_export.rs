//! Exports of Events / Logs: `GET /console/api/events/export.csv` and `.jsonl`, with the
//! same filter parameters as the console's URL. The body is streamed as the database yields
//! rows, in chunks of a few tens of kilobytes, so a million events download with flat server
//! memory. Behind the console's session; an export is itself recorded as an event.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_core::Stream;
use gatehouse_app::session::signed_in_admin;
use gatehouse_app::state::AppState;
use gatehouse_domain::event::{
    redact_detail, Actor, Category, EventEntry, EventParams, NewEvent, Outcome,
};
use gatehouse_domain::store::EventStream;
use std::pin::Pin;
use std::task::{Context, Poll};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tower_sessions::Session;

/// A chunk is sent once it holds this many bytes (or when the database is slower than the
/// network and rows run out for the moment).
const CHUNK: usize = 64 * 1024;

/// The CSV columns, in order.
pub const CSV_HEADER: &str = "id,occurred_at,category,action,outcome,actor_kind,actor_id,actor_name,target,target_id,detail\r\n";

/// The two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson; charset=utf-8",
        }
    }
}

/// Appends one CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break,
/// quotes doubled). A value that a spreadsheet would run as a formula (starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so opening an export
/// never executes what an identity provider or a visitor typed.
pub fn push_csv_field(out: &mut String, value: &str) {
    let guard = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        for c in value.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn actor_columns(actor: &Actor) -> (&'static str, &str) {
    match actor {
        Actor::System => ("system", ""),
        Actor::Anonymous => ("anonymous", ""),
        Actor::Admin(id) => ("admin", id),
        Actor::ScimToken(id) => ("scim_token", id),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// One event as a CSV line (CRLF-terminated).
pub fn csv_line(out: &mut String, entry: &EventEntry) {
    let e = &entry.event;
    let (kind, actor_id) = actor_columns(&e.actor);
    let detail = e
        .detail
        .as_deref()
        .map(|d| match redact_detail(d) {
            serde_json::Value::String(s) => s,
            v => v.to_string(),
        })
        .unwrap_or_default();
    let fields: [&str; 11] = [
        &e.id.to_string(),
        &rfc3339(e.occurred_at),
        e.category.as_str(),
        &e.action,
        e.outcome.as_str(),
        kind,
        actor_id,
        entry.actor_name.as_deref().unwrap_or(""),
        e.target.as_deref().unwrap_or(""),
        entry.target_id.as_deref().unwrap_or(""),
        &detail,
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// One event as a JSON Lines line: the detail is embedded as JSON, not as a string.
pub fn json_line(out: &mut String, entry: &EventEntry) {
    let e = &entry.event;
    let (kind, actor_id) = actor_columns(&e.actor);
    let line = serde_json::json!({
        "id": e.id,
        "occurred_at": rfc3339(e.occurred_at),
        "category": e.category.as_str(),
        "action": e.action,
        "outcome": e.outcome.as_str(),
        "actor": {
            "kind": kind,
            "id": (!actor_id.is_empty()).then_some(actor_id),
            "name": entry.actor_name,
        },
        "target": e.target,
        "target_id": entry.target_id,
        "detail": e.detail.as_deref().map(redact_detail),
    });
    out.push_str(&line.to_string());
    out.push('\n');
}

/// The response body: events from the store, encoded and gathered into chunks.
struct ExportBody {
    events: EventStream,
    format: Format,
    buf: String,
    finished: bool,
}

impl ExportBody {
    fn take(&mut self) -> Bytes {
        Bytes::from(std::mem::replace(
            &mut self.buf,
            String::with_capacity(CHUNK + 4096),
        ))
    }
}

impl Stream for ExportBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut self.events).poll_next(cx) {
                Poll::Ready(Some(Ok(entry))) => {
                    let format = self.format;
                    match format {
                        Format::Csv => csv_line(&mut self.buf, &entry),
                        Format::JsonLines => json_line(&mut self.buf, &entry),
                    }
                    if self.buf.len() >= CHUNK {
                        return Poll::Ready(Some(Ok(self.take())));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    // Ending the body with an error makes the download fail visibly rather
                    // than end early looking complete.
                    tracing::error!(error = %e, "an events export failed part-way");
                    self.finished = true;
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "the export failed part-way; see the server log",
                    ))));
                }
                Poll::Ready(None) => {
                    self.finished = true;
                    return Poll::Ready((!self.buf.is_empty()).then(|| Ok(self.take())));
                }
                Poll::Pending => {
                    if self.buf.is_empty() {
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(Ok(self.take())));
                }
            }
        }
    }
}

/// `GET /console/api/events/export.csv`.
pub async fn csv(
    state: State<AppState>,
    session: Session,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    export(state, session, params, Format::Csv).await
}

/// `GET /console/api/events/export.jsonl`.
pub async fn jsonl(
    state: State<AppState>,
    session: Session,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    export(state, session, params, Format::JsonLines).await
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
    format: Format,
) -> Response {
    let Some(admin) = signed_in_admin(&state, &session).await else {
        return (
            StatusCode::UNAUTHORIZED,
            "Sign in to the console to export events.",
        )
            .into_response();
    };
    let params = match params {
        Ok(Query(p)) => p,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("The export's filters could not be read: {e}"),
            )
                .into_response()
        }
    };
    let now = OffsetDateTime::now_utc();
    let filter = match params.to_filter(now) {
        Ok(f) => f,
        Err(reason) => return (StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let recorded = state
        .store
        .record_event(NewEvent {
            category: Category::Administration,
            action: "events.exported",
            outcome: Outcome::Success,
            actor: Actor::Admin(admin.id.to_string()),
            target: None,
            detail: Some(
                serde_json::json!({"format": format.extension(), "filter": params.query_string()})
                    .to_string(),
            ),
        })
        .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record an events export");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The export could not be started; the server log has the details.",
        )
            .into_response();
    }
    let mut buf = String::with_capacity(CHUNK + 4096);
    if format == Format::Csv {
        buf.push_str(CSV_HEADER);
    }
    let body = ExportBody {
        events: state.store.stream_events(&filter),
        format,
        buf,
        finished: false,
    };
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let disposition = format!(
        "attachment; filename=\"gatehouse-events-{stamp}.{}\"",
        format.extension()
    );
    let mut res = Body::from_stream(body).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// Starts the daily retention purge: a minute after start-up, then every 24 hours, events
/// older than `days` are deleted; the store records each purge as an event. With several
/// replicas each runs it; the later runs of a day find nothing left to delete.
pub fn spawn_retention(store: gatehouse_domain::store::Store, days: u32) {
    tokio::spawn(async move {
        let day = std::time::Duration::from_secs(86_400);
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + std::time::Duration::from_secs(60),
            day,
        );
        loop {
            tick.tick().await;
            let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
            match store.purge_events_older_than(cutoff).await {
                Ok(n) => tracing::info!(deleted = n, retention_days = days, "purged old events"),
                Err(e) => tracing::warn!(error = %e, "could not purge old events"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::push_csv_field;

    fn field(s: &str) -> String {
        let mut out = String::new();
        push_csv_field(&mut out, s);
        out
    }

    #[test]
    fn csv_fields_follow_rfc_4180_and_never_start_a_formula() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2"), "'-2");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("a=b"), "a=b");
        assert_eq!(field(""), "");
    }
}
