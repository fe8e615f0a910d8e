//! What the console's Dashboard shows, read in one place: counts, provisioning health, the
//! last day's sign-ins, certificates about to expire and the set-up checklist.
//!
//! Every figure is counted in the database at the time asked for (`now` is a parameter, so
//! tests can place the 24-hour window and the expiry window exactly). The event counts use
//! the indexes of migration 0005 that start with category or action and end with time, so
//! they read one day of events, not the whole log.

use super::{from_ms, to_ms, EventQuery, Store};
use crate::auth_profile::{AuthProfileId, AuthProfileRef};
use crate::event::{Category, EventEntry, EventFilter};
use crate::{DomainError, Result};
use serde::Deserialize;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// How far back "recent" failures and sign-ins reach.
pub const DASHBOARD_WINDOW: Duration = Duration::hours(24);

/// Users, groups and profiles as they are now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DashboardCounts {
    pub users_active: i64,
    pub users_inactive: i64,
    pub groups: i64,
    pub auth_profiles: i64,
}

/// Whether Okta is talking to Gatehouse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProvisioningHealth {
    /// The newest provisioning event (a change Okta made, or a request refused).
    pub last_event: Option<EventEntry>,
    /// The last time any SCIM token was presented, reads included (Okta's look-ups are not
    /// events); kept to the minute by the token check.
    pub last_token_use: Option<OffsetDateTime>,
    /// Refused provisioning requests in the last 24 hours.
    pub failures: i64,
}

impl ProvisioningHealth {
    /// The latest sign of a SCIM request: a token's use or a provisioning event, whichever
    /// is newer (a refused request with no valid token leaves only the event).
    pub fn last_request(&self) -> Option<OffsetDateTime> {
        let event = self.last_event.as_ref().map(|e| e.event.occurred_at);
        event.max(self.last_token_use)
    }
}

/// Sign-ins of the last 24 hours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignInCounts {
    pub succeeded: i64,
    pub failed: i64,
}

/// Which certificate of a profile a warning is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateKind {
    /// The profile's own signing certificate (in the SP metadata Okta holds).
    ServiceProvider,
    /// One of the IdP's signing certificates, as imported from its metadata.
    IdentityProvider {
        subject: String,
        sha256_fingerprint: String,
    },
}

/// A certificate that has expired or expires within the warning window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateWarning {
    pub profile: AuthProfileRef,
    pub kind: CertificateKind,
    pub not_after: OffsetDateTime,
    /// For an IdP certificate: the latest expiry of the IdP's other certificates, when one
    /// stays valid past the window, since sign-in then keeps working through a rollover.
    pub other_valid_until: Option<OffsetDateTime>,
}

/// The steps of setting Gatehouse up, each read from what exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupProgress {
    /// An authentication profile exists.
    pub profile_created: bool,
    /// A usable SCIM token exists and has been presented at least once.
    pub okta_connected: bool,
    /// A group exists (only SCIM creates groups).
    pub group_pushed: bool,
    /// A group has an authentication profile.
    pub profile_assigned: bool,
    /// Someone has signed in through a profile (a `sign_in.succeeded` event is kept).
    pub sign_in_tested: bool,
}

impl SetupProgress {
    pub fn complete(&self) -> bool {
        self.profile_created
            && self.okta_connected
            && self.group_pushed
            && self.profile_assigned
            && self.sign_in_tested
    }
}

/// Everything the Dashboard shows except the chart and the recent events, which have
/// queries of their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dashboard {
    /// The time the figures were read at.
    pub as_of: OffsetDateTime,
    pub counts: DashboardCounts,
    pub provisioning: ProvisioningHealth,
    pub sign_ins: SignInCounts,
    /// Soonest expiry first.
    pub certificates: Vec<CertificateWarning>,
    pub setup: SetupProgress,
}

/// The parts of an IdP certificate the warnings need, from the `idp_certificates` column.
#[derive(Deserialize)]
struct StoredCertificate {
    subject: String,
    sha256_fingerprint: String,
    not_after_ms: i64,
}

async fn count(conn: &mut sqlx::AnyConnection, sql: &str, since: Option<i64>) -> Result<i64> {
    let q = sqlx::query(sql);
    let q = match since {
        Some(ms) => q.bind(ms),
        None => q,
    };
    Ok(q.fetch_one(&mut *conn).await?.try_get(0)?)
}

impl Store {
    /// The Dashboard's figures as of `now`; certificates that expire before
    /// `now + expiry_window` are warned about.
    pub async fn dashboard(
        &self,
        now: OffsetDateTime,
        expiry_window: Duration,
    ) -> Result<Dashboard> {
        let since = to_ms(now - DASHBOARD_WINDOW);
        let now_ms = to_ms(now);
        let mut conn = self.reader.acquire().await?;

        let row = sqlx::query(
            "SELECT COUNT(CASE WHEN active THEN 1 END) AS active, \
             COUNT(CASE WHEN active THEN NULL ELSE 1 END) AS inactive FROM users",
        )
        .fetch_one(&mut *conn)
        .await?;
        let counts = DashboardCounts {
            users_active: row.try_get("active")?,
            users_inactive: row.try_get("inactive")?,
            groups: count(&mut conn, "SELECT COUNT(*) FROM user_groups", None).await?,
            auth_profiles: count(&mut conn, "SELECT COUNT(*) FROM auth_profiles", None).await?,
        };

        let failures = count(
            &mut conn,
            "SELECT COUNT(*) FROM events WHERE category = 'provisioning' \
             AND occurred_at >= $1 AND outcome = 'failure'",
            Some(since),
        )
        .await?;
        let last_token_use: Option<i64> =
            sqlx::query("SELECT MAX(last_used_at) AS last FROM scim_tokens")
                .fetch_one(&mut *conn)
                .await?
                .try_get("last")?;

        let rows = sqlx::query(
            "SELECT action, COUNT(*) AS n FROM events \
             WHERE action IN ('sign_in.succeeded', 'sign_in.failed') AND occurred_at >= $1 \
             GROUP BY action",
        )
        .bind(since)
        .fetch_all(&mut *conn)
        .await?;
        let mut sign_ins = SignInCounts::default();
        for row in rows {
            let action: String = row.try_get("action")?;
            let n: i64 = row.try_get("n")?;
            match action.as_str() {
                "sign_in.succeeded" => sign_ins.succeeded = n,
                _ => sign_ins.failed = n,
            }
        }

        let certificates = certificate_warnings(&mut conn, now + expiry_window).await?;

        let exists = |sql: &'static str| sqlx::query(sql);
        let setup = SetupProgress {
            profile_created: counts.auth_profiles > 0,
            okta_connected: exists(
                "SELECT 1 FROM scim_tokens WHERE last_used_at IS NOT NULL AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $1) LIMIT 1",
            )
            .bind(now_ms)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
            group_pushed: counts.groups > 0,
            profile_assigned: exists(
                "SELECT 1 FROM user_groups WHERE auth_profile_id IS NOT NULL LIMIT 1",
            )
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
            sign_in_tested: exists(
                "SELECT 1 FROM events WHERE action = 'sign_in.succeeded' LIMIT 1",
            )
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
        };
        drop(conn);

        let last_event = self
            .query_events(&EventQuery {
                filter: EventFilter {
                    category: Some(Category::Provisioning),
                    to: Some(now + Duration::milliseconds(1)),
                    ..Default::default()
                },
                limit: 1,
                ..Default::default()
            })
            .await?
            .entries
            .into_iter()
            .next();

        Ok(Dashboard {
            as_of: now,
            counts,
            provisioning: ProvisioningHealth {
                last_event,
                last_token_use: last_token_use.map(from_ms),
                failures,
            },
            sign_ins,
            certificates,
            setup,
        })
    }
}

/// Every SP or IdP certificate that ends before `horizon`, soonest first. Profiles are few
/// (one per IdP), so all are read and the IdP certificates' JSON is looked into here.
async fn certificate_warnings(
    conn: &mut sqlx::AnyConnection,
    horizon: OffsetDateTime,
) -> Result<Vec<CertificateWarning>> {
    let horizon_ms = to_ms(horizon);
    let rows = sqlx::query(
        "SELECT id, name, sp_certificate_not_after, idp_certificates FROM auth_profiles \
         ORDER BY priority, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut warnings = Vec::new();
    for row in rows {
        let id: String = row.try_get("id")?;
        let profile = AuthProfileRef {
            id: id
                .parse::<AuthProfileId>()
                .map_err(|e| DomainError::Database(format!("bad profile id {id}: {e}")))?,
            name: row.try_get("name")?,
        };
        let sp_not_after: i64 = row.try_get("sp_certificate_not_after")?;
        if sp_not_after < horizon_ms {
            warnings.push(CertificateWarning {
                profile: profile.clone(),
                kind: CertificateKind::ServiceProvider,
                not_after: from_ms(sp_not_after),
                other_valid_until: None,
            });
        }
        let json: String = row.try_get("idp_certificates")?;
        let certs: Vec<StoredCertificate> = serde_json::from_str(&json).map_err(|e| {
            DomainError::Database(format!("bad idp_certificates of profile {id}: {e}"))
        })?;
        for (i, c) in certs.iter().enumerate() {
            if c.not_after_ms >= horizon_ms {
                continue;
            }
            let other_valid_until = certs
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.not_after_ms >= horizon_ms)
                .map(|(_, o)| o.not_after_ms)
                .max()
                .map(from_ms);
            warnings.push(CertificateWarning {
                profile: profile.clone(),
                kind: CertificateKind::IdentityProvider {
                    subject: c.subject.clone(),
                    sha256_fingerprint: c.sha256_fingerprint.clone(),
                },
                not_after: from_ms(c.not_after_ms),
                other_valid_until,
            });
        }
    }
    warnings.sort_by_key(|w| w.not_after);
    Ok(warnings)
}
