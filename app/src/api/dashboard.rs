//! The Dashboard's server functions: its figures in one call, and the chart of all events
//! for the last day or week. Both only read, so an Auditor sees the same Dashboard.

use crate::error::AppError;
use gatehouse_domain::auth_profile::AuthProfileRef;
use gatehouse_domain::event::{EventEntry, EventHistogram, EventParams};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The chart's time ranges: the Events page's presets of the same names.
pub const CHART_RANGES: [(&str, &str); 2] = [("24h", "Last 24 hours"), ("7d", "Last 7 days")];

/// A certificate that has expired or expires within the warning window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateWarningView {
    pub profile: AuthProfileRef,
    /// The IdP certificate's subject; `None` for the profile's own (SP) certificate.
    pub idp_subject: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Another IdP certificate that stays valid past the window, until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub other_valid_until: Option<OffsetDateTime>,
}

/// The set-up steps, each ticked from what exists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupView {
    pub profile_created: bool,
    pub okta_connected: bool,
    pub group_pushed: bool,
    pub profile_assigned: bool,
    pub sign_in_tested: bool,
}

impl SetupView {
    pub fn complete(&self) -> bool {
        self.profile_created
            && self.okta_connected
            && self.group_pushed
            && self.profile_assigned
            && self.sign_in_tested
    }
}

/// Everything on the Dashboard but the chart and the recent events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    /// The server's time when the figures were read, so "ago" and "expires in" read the
    /// same rendered and hydrated.
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
    pub users_active: i64,
    pub users_inactive: i64,
    pub groups: i64,
    pub auth_profiles: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_scim_request: Option<OffsetDateTime>,
    /// The newest provisioning event, to say what Okta last did.
    pub last_provisioning_event: Option<EventEntry>,
    pub scim_failures: i64,
    pub sign_ins_succeeded: i64,
    pub sign_ins_failed: i64,
    pub certificates: Vec<CertificateWarningView>,
    pub setup: SetupView,
}

/// A link to Events / Logs for the last 24 hours with these filters.
pub fn events_link(filters: &[(&str, &str)]) -> String {
    let mut p = EventParams {
        range: Some("24h".into()),
        ..Default::default()
    };
    for (k, v) in filters {
        let v = Some((*v).to_string());
        match *k {
            "category" => p.category = v,
            "action" => p.action = v,
            "outcome" => p.outcome = v,
            _ => {}
        }
    }
    format!("/console/events?{}", p.query_string())
}

/// The Dashboard's figures as of now.
#[server(prefix = "/console/api", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardView, AppError> {
    super::guard::require_admin().await?;
    use gatehouse_domain::store::CertificateKind;
    let state = super::guard::app_state()?;
    let window = time::Duration::days(super::auth_profiles::EXPIRY_WARNING_DAYS);
    let d = state
        .store
        .dashboard(OffsetDateTime::now_utc(), window)
        .await?;
    Ok(DashboardView {
        as_of: d.as_of,
        users_active: d.counts.users_active,
        users_inactive: d.counts.users_inactive,
        groups: d.counts.groups,
        auth_profiles: d.counts.auth_profiles,
        last_scim_request: d.provisioning.last_request(),
        last_provisioning_event: d.provisioning.last_event,
        scim_failures: d.provisioning.failures,
        sign_ins_succeeded: d.sign_ins.succeeded,
        sign_ins_failed: d.sign_ins.failed,
        certificates: d
            .certificates
            .into_iter()
            .map(|w| CertificateWarningView {
                profile: w.profile,
                idp_subject: match w.kind {
                    CertificateKind::ServiceProvider => None,
                    CertificateKind::IdentityProvider { subject, .. } => Some(subject),
                },
                not_after: w.not_after,
                other_valid_until: w.other_valid_until,
            })
            .collect(),
        setup: SetupView {
            profile_created: d.setup.profile_created,
            okta_connected: d.setup.okta_connected,
            group_pushed: d.setup.group_pushed,
            profile_assigned: d.setup.profile_assigned,
            sign_in_tested: d.setup.sign_in_tested,
        },
    })
}

/// All events of the last 24 hours (`24h`) or 7 days (`7d`), by outcome, for the chart.
#[server(prefix = "/console/api", endpoint = "dashboard_chart")]
pub async fn dashboard_chart(range: String) -> Result<EventHistogram, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    if !CHART_RANGES.iter().any(|(key, _)| *key == range) {
        return Err(AppError::Invalid(format!(
            "The Dashboard's chart covers 24h or 7d, not \"{range}\"; use Events / Logs for other ranges."
        ))
        .respond());
    }
    let filter = EventParams {
        range: Some(range),
        ..Default::default()
    }
    .to_filter(OffsetDateTime::now_utc())
    .map_err(|m| AppError::Invalid(m).respond())?;
    Ok(state
        .store
        .event_histogram(&filter, super::events::CHART_BUCKETS)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::events_link;

    #[test]
    fn links_open_events_filtered_to_the_last_day() {
        assert_eq!(
            events_link(&[("category", "provisioning"), ("outcome", "failure")]),
            "/console/events?range=24h&category=provisioning&outcome=failure"
        );
        assert_eq!(
            events_link(&[("action", "sign_in.failed")]),
            "/console/events?range=24h&action=sign_in.failed"
        );
    }
}
