//! `GET /saml/{profile}/metadata`: the SP metadata an IdP imports (entity ID, ACS with the
//! POST binding, signing certificate). The URL is also the entity ID, so it must answer
//! without a session. `?download=1` makes browsers save it as a file.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_app::state::AppState;
use gatehouse_domain::auth_profile::AuthProfileId;
use gatehouse_domain::{saml_profiles, DomainError};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct MetadataQuery {
    download: Option<String>,
}

pub async fn sp_metadata(
    State(state): State<AppState>,
    Path(profile): Path<String>,
    Query(query): Query<MetadataQuery>,
) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "No authentication profile has this id.\n",
        )
            .into_response()
    };
    let Ok(id) = profile.parse::<AuthProfileId>() else {
        return not_found();
    };
    let profile = match state.store.get_auth_profile(id).await {
        Ok(p) => p,
        Err(DomainError::NotFound(_)) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "could not load an authentication profile");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let xml = match saml_profiles::sp_metadata(&state.settings.public_url, &profile) {
        Ok(xml) => xml,
        Err(e) => {
            tracing::error!(error = %e, "could not build SP metadata");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            "application/samlmetadata+xml; charset=utf-8",
        )],
        xml,
    )
        .into_response();
    if query.download.is_some() {
        let file = format!("attachment; filename=\"gatehouse-sp-{}.xml\"", profile.id);
        if let Ok(v) = file.parse() {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}
