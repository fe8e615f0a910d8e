//! Administrators: creation (by CLI, environment, setup link or the console), removal,
//! password changes, look-up and sign-in.

use super::{events, from_ms, is_unique_violation, now_ms, Backend, Store};
use crate::admin::{check_new_password, normalize_email, Admin, AdminRole};
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
    Console,
}

impl AdminOrigin {
    fn as_str(self) -> &'static str {
        match self {
            AdminOrigin::CommandLine => "command_line",
            AdminOrigin::Environment => "environment",
            AdminOrigin::SetupLink => "setup_link",
            AdminOrigin::Console => "console",
        }
    }
}

fn role_from_str(role: &str) -> Result<AdminRole> {
    AdminRole::parse(role).map_err(|_| DomainError::Database(format!("unknown admin role {role}")))
}

fn admin_from_row(row: &AnyRow) -> Result<Admin> {
    let id: String = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    Ok(Admin {
        id: id
            .parse()
            .map_err(|e| DomainError::Database(format!("bad admin id {id}: {e}")))?,
        email: row.try_get("email")?,
        created_at: from_ms(row.try_get("created_at")?),
        last_sign_in_at: row
            .try_get::<Option<i64>, _>("last_sign_in_at")?
            .map(from_ms),
        role: role_from_str(&role)?,
    })
}

const ADMIN_COLUMNS: &str = "id, email, created_at, last_sign_in_at, role";

/// Inserts an Administrator on behalf of the system (environment, setup link).
pub(crate) async fn insert_admin(
    conn: &mut AnyConnection,
    email: &str,
    password: &str,
    origin: AdminOrigin,
) -> Result<Admin> {
    insert_admin_as(
        conn,
        email,
        password,
        AdminRole::Administrator,
        origin,
        Actor::System,
    )
    .await
}

/// Inserts an administrator and its event on `conn` (a transaction), after validation.
/// `actor` is who asked: the system for the CLI, environment and setup link, else an admin.
async fn insert_admin_as(
    conn: &mut AnyConnection,
    email: &str,
    password: &str,
    role: AdminRole,
    origin: AdminOrigin,
    actor: Actor,
) -> Result<Admin> {
    let email = normalize_email(email).map_err(DomainError::Invalid)?;
    check_new_password(password).map_err(DomainError::Invalid)?;
    let admin = Admin {
        id: AdminId::new(),
        email: email.clone(),
        created_at: from_ms(now_ms()),
        last_sign_in_at: None,
        role,
    };
    let hash = password::hash(password);
    sqlx::query(
        "INSERT INTO admins (id, email, email_key, password_hash, created_at, role) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(admin.id.to_string())
    .bind(&email)
    .bind(&email)
    .bind(hash)
    .bind(super::to_ms(admin.created_at))
    .bind(role.as_str())
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
            actor,
            target: Some(email),
            detail: Some(
                serde_json::json!({"origin": origin.as_str(), "role": role.as_str()}).to_string(),
            ),
        },
    )
    .await?;
    Ok(admin)
}

/// Checks, inside the transaction that is about to change administrators, that the acting
/// administrator still exists and is an Administrator: the console's guard checked it at
/// the start of the request, but the account may have been removed since.
async fn require_acting_administrator(conn: &mut AnyConnection, by: &Admin) -> Result<()> {
    let role: Option<(String,)> = sqlx::query_as("SELECT role FROM admins WHERE id = $1")
        .bind(by.id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match role {
        Some((role,)) if role_from_str(&role)?.can_change() => Ok(()),
        _ => Err(DomainError::Invalid(
            "Only an Administrator can change administrators.".into(),
        )),
    }
}

impl Store {
    /// Creates an Administrator (email unique, case-insensitively). Nothing is written when
    /// the email or password is refused.
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        origin: AdminOrigin,
    ) -> Result<Admin> {
        self.create_admin_with_role(email, password, AdminRole::Administrator, origin)
            .await
    }

    /// Creates an administrator with the given role, on behalf of the system (the CLI).
    pub async fn create_admin_with_role(
        &self,
        email: &str,
        password: &str,
        role: AdminRole,
        origin: AdminOrigin,
    ) -> Result<Admin> {
        let mut tx = self.begin_write().await?;
        let admin = insert_admin_as(&mut tx, email, password, role, origin, Actor::System).await?;
        tx.commit().await?;
        Ok(admin)
    }

    /// Adds an administrator from the console; `by` is recorded as the event's actor and
    /// must be an Administrator.
    pub async fn add_admin(
        &self,
        by: &Admin,
        email: &str,
        password: &str,
        role: AdminRole,
    ) -> Result<Admin> {
        let mut tx = self.begin_write().await?;
        require_acting_administrator(&mut tx, by).await?;
        let admin = insert_admin_as(
            &mut tx,
            email,
            password,
            role,
            AdminOrigin::Console,
            Actor::Admin(by.id.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(admin)
    }

    /// Removes an administrator and ends their sessions. Refused when it would leave no
    /// Administrator (nobody could then change anything, nor add one back from the console),
    /// and for the acting administrator themself, so nobody locks themself out by a slip.
    ///
    /// Two removals at once must not both pass the "another Administrator remains" check:
    /// on PostgreSQL the transaction first locks every Administrator row (in id order, so two
    /// removals cannot deadlock), and the count is read after the lock; on SQLite every write
    /// transaction runs alone on the single writer connection.
    pub async fn remove_admin(&self, by: &Admin, id: AdminId) -> Result<Admin> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query(
                "SELECT id FROM admins WHERE role = 'administrator' ORDER BY id FOR UPDATE",
            )
            .fetch_all(&mut *tx)
            .await?;
        }
        require_acting_administrator(&mut tx, by).await?;
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(target) = row.as_ref().map(admin_from_row).transpose()? else {
            return Err(DomainError::NotFound(
                "There is no such administrator; someone may have removed them already.".into(),
            ));
        };
        if target.role == AdminRole::Administrator {
            let (administrators,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM admins WHERE role = 'administrator'")
                    .fetch_one(&mut *tx)
                    .await?;
            if administrators <= 1 {
                return Err(DomainError::Conflict(format!(
                    "{} is the last Administrator. Gatehouse needs at least one, or nobody could change its settings: add another Administrator first.",
                    target.email
                )));
            }
        }
        if target.id == by.id {
            return Err(DomainError::Invalid(
                "You cannot remove your own account; another Administrator can.".into(),
            ));
        }
        sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM admins WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        events::append(
            &mut tx,
            NewEvent {
                category: Category::Administration,
                action: "admin.removed",
                outcome: Outcome::Success,
                actor: Actor::Admin(by.id.to_string()),
                target: Some(target.email.clone()),
                detail: Some(
                    serde_json::json!({"admin_id": target.id.to_string(), "role": target.role.as_str()})
                        .to_string(),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(target)
    }

    /// Changes an administrator's own password, given the current one; Auditors may too.
    /// Wrong guesses are throttled like sign-in failures, so a stolen session cannot be
    /// used to guess the password. The administrator's other sessions end (a password is
    /// usually changed because someone else may know it); `keep_session` is the session
    /// id of the request, which stays. Returns how many other sessions ended.
    pub async fn change_own_password(
        &self,
        admin: &Admin,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<u64> {
        check_new_password(new).map_err(DomainError::Invalid)?;
        if new == current {
            return Err(DomainError::Invalid(
                "The new password is the same as the current one.".into(),
            ));
        }
        let client = format!("password-change:{}", admin.id);
        let event = |outcome, reason: &str| NewEvent {
            category: Category::Administration,
            action: "admin.password_changed",
            outcome,
            actor: Actor::Admin(admin.id.to_string()),
            target: Some(admin.email.clone()),
            detail: Some(serde_json::json!({ "reason": reason }).to_string()),
        };
        if let Err(e) = self.check_throttle(&admin.email, &client).await {
            self.record_event(event(Outcome::Failure, "throttled"))
                .await?;
            return Err(e);
        }
        let stored: Option<(String,)> =
            sqlx::query_as("SELECT password_hash FROM admins WHERE id = $1")
                .bind(admin.id.to_string())
                .fetch_optional(&self.reader)
                .await?;
        let Some((hash,)) = stored else {
            return Err(DomainError::NotFound(
                "Your administrator account no longer exists.".into(),
            ));
        };
        if current.len() > crate::admin::MAX_PASSWORD_LEN || !password::verify(current, &hash) {
            self.record_failure(&admin.email, &client).await?;
            self.record_event(event(Outcome::Failure, "wrong_current_password"))
                .await?;
            return Err(DomainError::Invalid(
                "The current password is not correct.".into(),
            ));
        }
        self.clear_failures(&admin.email, &client).await?;
        let new_hash = password::hash(new);
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE admins SET password_hash = $1 WHERE id = $2")
            .bind(new_hash)
            .bind(admin.id.to_string())
            .execute(&mut *tx)
            .await?;
        let ended = sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1 AND id <> $2")
            .bind(admin.id.to_string())
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        events::append(&mut tx, event(Outcome::Success, "changed")).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// How many Administrators (not Auditors) there are.
    pub async fn administrator_count(&self) -> Result<i64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM admins WHERE role = 'administrator'")
                .fetch_one(&self.reader)
                .await?;
        Ok(count)
    }

    /// Creates the first administrator from the environment, unless one exists already.
    /// Returns the new administrator, or `None` when there was one before.
    pub async fn ensure_first_admin(&self, email: &str, password: &str) -> Result<Option<Admin>> {
        let mut tx = self.begin_write().await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admins")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Ok(None);
        }
        match insert_admin(&mut tx, email, password, AdminOrigin::Environment).await {
            Ok(admin) => {
                tx.commit().await?;
                Ok(Some(admin))
            }
            // Replicas starting at once on PostgreSQL each saw no administrator; the unique
            // email held the others back until the first committed. One exists now: done.
            Err(e @ DomainError::Conflict(_)) => {
                drop(tx);
                if self.admin_count().await? > 0 {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
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
        let mut tx = self.begin_write().await?;
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
