//! Group commit for SCIM user creations on SQLite.
//!
//! SQLite has one writer, and every statement is a hand-off to its connection's thread and
//! back. A creation on its own is four hand-offs (BEGIN, the user, its event, COMMIT) plus
//! the pool's check of the connection on its return, and the writer is held for all of them,
//! so an Okta import's POSTs queued one behind another on thread switches rather than on
//! work. Here the creations that arrive while a batch commits wait together, and the next
//! batch writes all of them in one transaction: one multi-row insert of the users (`ON
//! CONFLICT DO NOTHING RETURNING id` says which userNames were taken), one of their events.
//! Each user still commits together with its event, and a taken userName fails only its own
//! request. PostgreSQL, with real concurrent writers, does not use this.

use super::events;
use super::scim_users::{internal, uniqueness_error};
use crate::event::NewEvent;
use crate::scim::error::ScimError;
use crate::scim::resource::UserColumns;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row};
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// The most creations one transaction takes: a bound on the statement's size (9 parameters
/// a user, 11 an event, far below SQLite's 32,766) and on how long one batch holds the writer.
const MAX_BATCH: usize = 64;

/// How many batches in a row may keep the writer before it goes back to the pool.
const ROUNDS_HELD: usize = 4;

/// One user to insert, already validated, with its event.
pub(crate) struct NewUserRow {
    pub id: String,
    pub cols: UserColumns,
    pub resource: String,
    pub now_ms: i64,
    pub event: NewEvent,
}

struct Job {
    row: NewUserRow,
    done: oneshot::Sender<Result<(), ScimError>>,
}

/// The queue in front of the writer, and the task that empties it.
#[derive(Debug)]
pub(crate) struct UserCreations {
    jobs: mpsc::UnboundedSender<Job>,
}

impl UserCreations {
    /// Starts the committing task on the current runtime.
    pub fn start(writer: AnyPool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, queue));
        UserCreations { jobs }
    }

    /// Inserts one user and its event, committed with whatever else is queued. `Err(row)`
    /// gives the row back when the committing task is gone (its runtime ended): nothing of
    /// it was written, so the caller may write it itself.
    pub async fn insert(&self, row: NewUserRow) -> Result<Result<(), ScimError>, Box<NewUserRow>> {
        let (done, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(Job { row, done }) {
            return Err(Box::new(job.row));
        }
        Ok(answer
            .await
            .unwrap_or_else(|_| Err(internal("the user creation queue stopped before answering"))))
    }
}

async fn run(writer: AnyPool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut next = queue.recv().await;
    while let Some(first) = next {
        // The writer is kept across batches that follow one another: giving it back to the
        // pool and taking it again costs a ping on the connection's thread and a task
        // switch, about as long as a batch's own statement. After a few rounds it goes
        // back, so the other writes (sign-ins, group changes) are not kept waiting.
        let mut held = None;
        let mut job = Some(first);
        for _ in 0..ROUNDS_HELD {
            let Some(first) = job.take() else { break };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            commit(&writer, &mut held, batch).await;
            job = queue.try_recv().ok();
        }
        drop(held);
        next = match job {
            Some(job) => Some(job),
            None => queue.recv().await,
        };
    }
}

/// Commits a batch and answers each job. When the batch as a whole fails (not a taken
/// userName, which only skips that user: a database error), each job is tried on its own,
/// so one bad row cannot fail the others.
async fn commit(writer: &AnyPool, held: &mut Option<PoolConnection<Any>>, batch: Vec<Job>) {
    let rows: Vec<&NewUserRow> = batch.iter().map(|j| &j.row).collect();
    match insert_batch(writer, held, &rows).await {
        Ok(inserted) => answer(batch, &inserted),
        Err(e) if batch.len() == 1 => {
            for job in batch {
                let _ = job.done.send(Err(internal(&e)));
            }
        }
        Err(_) => {
            for job in batch {
                let result = match insert_batch(writer, held, &[&job.row]).await {
                    Ok(inserted) => outcome(&job.row, &inserted),
                    Err(e) => Err(internal(e)),
                };
                let _ = job.done.send(result);
            }
        }
    }
}

fn outcome(row: &NewUserRow, inserted: &HashSet<String>) -> Result<(), ScimError> {
    if inserted.contains(&row.id) {
        Ok(())
    } else {
        Err(uniqueness_error(&row.cols.user_name))
    }
}

fn answer(batch: Vec<Job>, inserted: &HashSet<String>) {
    for job in batch {
        let result = outcome(&job.row, inserted);
        let _ = job.done.send(result);
    }
}

const USER_PARAMS: usize = 9;

/// The insert of `users` rows, up to `VALUES`: one row's placeholders are [`user_values`].
pub(crate) const USER_INSERT: &str = "INSERT INTO users (id, user_name, user_name_key, external_id, display_name, primary_email, active, resource, created_at, version, updated_at) VALUES ";

/// One row's placeholders for [`USER_INSERT`], numbered from `first`: the nine bound
/// values, version 1, and `updated_at` equal to `created_at`.
pub(crate) fn user_values(first: usize) -> String {
    let p: Vec<String> = (first..first + USER_PARAMS)
        .map(|k| format!("${k}"))
        .collect();
    format!("({}, 1, ${})", p.join(", "), first + USER_PARAMS - 1)
}

/// Binds one row's nine values, in [`user_values`]' order.
pub(crate) fn bind_user<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    row: &'q NewUserRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(row.id.as_str())
        .bind(row.cols.user_name.as_str())
        .bind(row.cols.user_name_key.as_str())
        .bind(row.cols.external_id.as_deref())
        .bind(row.cols.display_name.as_deref())
        .bind(row.cols.primary_email.as_deref())
        .bind(row.cols.active)
        .bind(row.resource.as_str())
        .bind(row.now_ms)
}

/// One transaction, sent as one command: the users that are not taken, then the events of
/// those that went in, then COMMIT. Returns the ids inserted. The transaction is opened and
/// closed in the SQL rather than by sqlx, because each statement sqlx sends on its own is a
/// hand-off to the connection's thread and back; on an error it is rolled back here, and the
/// connection, whose state is then uncertain, is closed rather than lent again.
async fn insert_batch(
    writer: &AnyPool,
    held: &mut Option<PoolConnection<Any>>,
    rows: &[&NewUserRow],
) -> crate::Result<HashSet<String>> {
    let values: Vec<String> = (0..rows.len())
        .map(|i| user_values(i * USER_PARAMS + 1))
        .collect();
    let sql = format!(
        "BEGIN IMMEDIATE; \
         {USER_INSERT}{} ON CONFLICT DO NOTHING RETURNING id; \
         {}; \
         COMMIT",
        values.join(", "),
        events::append_for_users_sql(rows.len() * USER_PARAMS + 1, rows.len())
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = bind_user(query, row);
    }
    let events = rows.iter().map(|r| (r.now_ms, r.event.clone())).collect();
    let query = events::bind_events(query, events);
    let conn = match held {
        Some(conn) => conn,
        None => held.insert(writer.acquire().await?),
    };
    match query.fetch_all(&mut **conn).await {
        Ok(rows) => rows
            .iter()
            .map(|row| row.try_get::<String, _>(0).map_err(Into::into))
            .collect(),
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
            if let Some(mut conn) = held.take() {
                conn.close_on_drop();
            }
            Err(e.into())
        }
    }
}
