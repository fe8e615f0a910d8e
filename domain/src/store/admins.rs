//! Administrators: creation (by CLI, environment or setup link), look-up and sign-in.

use super::{events, from_ms, is_unique_violation, now_ms, Store};
use crate::admin::{check_new_password, normalize_email, Admin};
use crate::event::{Actor, Category, NewEvent, Outcome};
use crate::ids::AdminId;
use crate::{password, DomainError, Result};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// How the first or a further administrator came to be; recorded in the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminOrigin {
    CommandLine,
    Environment,
    SetupLink,
}

impl AdminOrigin {
    fn as_str(self) -> &'static str {
        match self {
            AdminOrigin::CommandLine => "command_line",
            AdminOrigin::Environment => "environment",
            AdminOrigin::SetupLink => "setup_link",
        }
    }
}

fn admin_from_row(row: &AnyRow) -> Result<Admin> {
    let id: String = row.try_get("id")?;
    Ok(Admin {
        id: id
            .parse()
            .map_err(|e| DomainError::Database(format!("bad admin id {id}: {e}")))?,
        email: row.try_get("email")?,
        created_at: from_ms(row.try_get("created_at")?),
        last_sign_in_at: row
            .try_get::<Option<i64>, _>("last_sign_in_at")?
            .map(from_ms),
    })
}

const ADMIN_COLUMNS: &str = "id, email, created_at, last_sign_in_at";

/// Inserts an administrator and its event on `conn` (a transaction), after validation.
pub(crate) async fn insert_admin(
    conn: &mut AnyConnection,
    email: &str,
    password: &str,
    origin: AdminOrigin,
) -> Result<Admin> {
    let email = normalize_email(email).map_err(DomainError::Invalid)?;
    check_new_password(password).map_err(DomainError::Invalid)?;
    let admin = Admin {
        id: AdminId::new(),
        email: email.clone(),
        created_at: from_ms(now_ms()),
        last_sign_in_at: None,
    };
    let hash = password::hash(password);
    sqlx::query(
        "INSERT INTO admins (id, email, email_key, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(admin.id.to_string())
    .bind(&email)
    .bind(&email)
    .bind(hash)
    .bind(super::to_ms(admin.created_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            DomainError::Conflict(format!("An administrator with the email {email} already exists."))
        } else {
            e.into()
        }
    })?;
    events::append(
        conn,
        NewEvent {
            category: Category::Administration,
            action: "admin.created",
            outcome: Outcome::Success,
            actor: Actor::System,
            target: Some(email),
            detail: Some(format!(r#"{{"origin":"{}"}}"#, origin.as_str())),
        },
    )
    .await?;
    Ok(admin)
}

impl Store {
    /// Creates an administrator (email unique, case-insensitively). Nothing is written when
    /// the email or password is refused.
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        origin: AdminOrigin,
    ) -> Result<Admin> {
        let mut tx = self.writer.begin().await?;
        let admin = insert_admin(&mut tx, email, password, origin).await?;
        tx.commit().await?;
        Ok(admin)
    }

    /// Creates the first administrator from the environment, unless one exists already.
    /// Returns the new administrator, or `None` when there was one before.
    pub async fn ensure_first_admin(&self, email: &str, password: &str) -> Result<Option<Admin>> {
        let mut tx = self.writer.begin().await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admins")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Ok(None);
        }
        let admin = insert_admin(&mut tx, email, password, AdminOrigin::Environment).await?;
        tx.commit().await?;
        Ok(Some(admin))
    }

    pub async fn admin_count(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admins")
            .fetch_one(&self.reader)
            .await?;
        Ok(count)
    }

    pub async fn find_admin(&self, id: AdminId) -> Result<Option<Admin>> {
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(admin_from_row).transpose()
    }

    pub async fn list_admins(&self) -> Result<Vec<Admin>> {
        let rows = sqlx::query(&format!(
            "SELECT {ADMIN_COLUMNS} FROM admins ORDER BY email"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(admin_from_row).collect()
    }

    /// Checks an administrator's email and password. `client` (the client address) scopes
    /// the throttling. Every outcome is an event; a failure never says whether the email
    /// exists, and takes as long either way.
    pub async fn authenticate(&self, email: &str, password: &str, client: &str) -> Result<Admin> {
        let email_key = email.trim().to_lowercase();
        if let Err(e) = self.check_throttle(&email_key, client).await {
            self.record_event(sign_in_event(&email_key, Outcome::Failure, "throttled"))
                .await?;
            return Err(e);
        }
        let row = sqlx::query(&format!(
            "SELECT {ADMIN_COLUMNS}, password_hash FROM admins WHERE email_key = $1"
        ))
        .bind(&email_key)
        .fetch_optional(&self.reader)
        .await?;
        let verified = match &row {
            Some(row) => {
                let hash: String = row.try_get("password_hash")?;
                password.len() <= crate::admin::MAX_PASSWORD_LEN
                    && password::verify(password, &hash)
            }
            None => {
                password::verify_against_dummy(password);
                false
            }
        };
        let Some(row) = row.filter(|_| verified) else {
            self.record_failure(&email_key, client).await?;
            self.record_event(sign_in_event(
                &email_key,
                Outcome::Failure,
                "bad_credentials",
            ))
            .await?;
            return Err(DomainError::BadCredentials);
        };
        let mut admin = admin_from_row(&row)?;
        self.clear_failures(&email_key, client).await?;
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE admins SET last_sign_in_at = $1 WHERE id = $2")
            .bind(now)
            .bind(admin.id.to_string())
            .execute(&mut *tx)
            .await?;
        let mut event = sign_in_event(&admin.email, Outcome::Success, "password");
        event.actor = Actor::Admin(admin.id.to_string());
        events::append(&mut tx, event).await?;
        tx.commit().await?;
        admin.last_sign_in_at = Some(from_ms(now));
        Ok(admin)
    }

    /// Records that an administrator signed out.
    pub async fn record_sign_out(&self, admin: &Admin) -> Result<()> {
        self.record_event(NewEvent {
            category: Category::SignIn,
            action: "admin.signed_out",
            outcome: Outcome::Success,
            actor: Actor::Admin(admin.id.to_string()),
            target: Some(admin.email.clone()),
            detail: None,
        })
        .await?;
        Ok(())
    }
}

fn sign_in_event(email: &str, outcome: Outcome, how: &str) -> NewEvent {
    NewEvent {
        category: Category::SignIn,
        action: "admin.sign_in",
        outcome,
        actor: Actor::Anonymous,
        target: Some(email.to_string()),
        detail: Some(format!(r#"{{"reason":"{how}"}}"#)),
    }
}
