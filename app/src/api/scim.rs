//! The SCIM Import screen's server functions: the base URL Okta needs, the API tokens, and
//! whether Okta is talking to us.

use crate::error::AppError;
use gatehouse_domain::event::Event;
use gatehouse_domain::token::ScimToken;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Everything the SCIM Import screen shows, read in one call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScimImportView {
    /// What to paste into Okta's "Base URL".
    pub base_url: String,
    /// Reasons Okta may refuse the base URL, in words an admin can act on.
    pub base_url_warnings: Vec<String>,
    pub tokens: Vec<ScimToken>,
    pub users: i64,
    pub groups: i64,
    /// The latest refused provisioning requests, newest first.
    pub recent_errors: Vec<Event>,
}

/// A token just made: shown once, with its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewScimToken {
    pub token: ScimToken,
    pub secret: String,
}

/// Why Okta would refuse this base URL (it requires https, and rejects `_` in host names).
pub fn base_url_warnings(base_url: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if !base_url.starts_with("https://") {
        warnings.push("The base URL is not https: Okta only provisions to https URLs. Set GATEHOUSE_PUBLIC_URL to the https address Okta reaches Gatehouse at.".to_string());
    }
    let host = base_url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    if host.contains('_') {
        warnings
            .push("The host name contains \"_\", which Okta rejects in a base URL.".to_string());
    }
    warnings
}

#[server(prefix = "/console/api", endpoint = "scim_overview")]
pub async fn scim_overview() -> Result<ScimImportView, AppError> {
    super::guard::require_admin().await?;
    use gatehouse_domain::event::{Category, Outcome};
    let state = super::guard::app_state()?;
    let base_url = format!("{}/scim/v2", state.settings.public_url);
    let (users, groups) = state.store.scim_counts().await.map_err(|e| {
        tracing::error!(error = %e.detail, "SCIM counts");
        AppError::Internal.respond()
    })?;
    Ok(ScimImportView {
        base_url_warnings: base_url_warnings(&base_url),
        base_url,
        tokens: state.store.list_scim_tokens().await?,
        users,
        groups,
        recent_errors: state
            .store
            .recent_events_of(Category::Provisioning, Outcome::Failure, 5)
            .await?,
    })
}

#[cfg(feature = "ssr")]
fn admin_actor(admin: &gatehouse_domain::admin::Admin) -> gatehouse_domain::event::Actor {
    gatehouse_domain::event::Actor::Admin(admin.id.to_string())
}

#[cfg(feature = "ssr")]
fn parse_token_id(id: &str) -> Result<gatehouse_domain::ids::ScimTokenId, AppError> {
    id.parse()
        .map_err(|_| AppError::Invalid("That is not a token id.".into()).respond())
}

/// Makes a token; its secret is in the answer and nowhere else.
#[server(prefix = "/console/api", endpoint = "create_scim_token")]
pub async fn create_scim_token(name: String) -> Result<NewScimToken, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    let (token, secret) = state
        .store
        .create_scim_token(&name, None, admin_actor(&admin))
        .await?;
    Ok(NewScimToken { token, secret })
}

/// Replaces a token; the old one stops now, or after `grace_hours`.
#[server(prefix = "/console/api", endpoint = "regenerate_scim_token")]
pub async fn regenerate_scim_token(id: String, grace_hours: u64) -> Result<NewScimToken, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    if grace_hours > 720 {
        return Err(AppError::Invalid(
            "The grace period can be at most 720 hours (30 days).".into(),
        )
        .respond());
    }
    let grace = (grace_hours > 0).then(|| std::time::Duration::from_secs(grace_hours * 3600));
    let (token, secret) = state
        .store
        .regenerate_scim_token(parse_token_id(&id)?, grace, admin_actor(&admin))
        .await?;
    Ok(NewScimToken { token, secret })
}

/// Stops a token at once.
#[server(prefix = "/console/api", endpoint = "revoke_scim_token")]
pub async fn revoke_scim_token(id: String) -> Result<(), AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    state
        .store
        .revoke_scim_token(parse_token_id(&id)?, admin_actor(&admin))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::base_url_warnings;

    #[test]
    fn okta_refuses_plain_http_and_underscores() {
        assert!(base_url_warnings("https://gatehouse.example.com/scim/v2").is_empty());
        assert_eq!(base_url_warnings("http://127.0.0.1:3000/scim/v2").len(), 1);
        assert_eq!(
            base_url_warnings("https://gate_house.example.com/scim/v2").len(),
            1
        );
    }
}
