//! Discovery (RFC 7644 §4): what this service provider supports, said exactly. Okta and
//! Entra read these to decide which requests to send, so nothing here may claim a feature
//! that is not implemented.

use super::response;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_app::state::AppState;
use gatehouse_domain::scim::schema::{
    all_resource_types, all_schemas, resource_type_json, schema_by_urn, schema_json,
};
use serde_json::{json, Value};

/// Largest page a list request returns (`count` above it is capped). Okta pages by 100.
pub const MAX_PAGE_SIZE: usize = 200;

fn base(state: &AppState) -> String {
    format!("{}/scim/v2", state.settings.public_url)
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn service_provider_config(State(state): State<AppState>) -> Response {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": format!("{}/console/scim", state.settings.public_url),
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE_SIZE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The API token from Gatehouse's User Provider → SCIM Import page, sent as \"Authorization: Bearer <token>\".",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(&state)),
        }
    });
    response::resource(StatusCode::OK, &body)
}

pub async fn resource_types(State(state): State<AppState>) -> Response {
    let base = base(&state);
    let all = all_resource_types()
        .into_iter()
        .map(|k| resource_type_json(k, &base))
        .collect();
    response::resource(StatusCode::OK, &list(all))
}

pub async fn resource_type(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let base = base(&state);
    match all_resource_types()
        .into_iter()
        .find(|k| k.resource_type().eq_ignore_ascii_case(&name))
    {
        Some(kind) => response::resource(StatusCode::OK, &resource_type_json(kind, &base)),
        None => response::error(
            StatusCode::NOT_FOUND,
            None,
            &format!("There is no resource type {name}; there are User and Group."),
        ),
    }
}

pub async fn schemas(State(state): State<AppState>) -> Response {
    let base = base(&state);
    let all = all_schemas()
        .into_iter()
        .map(|s| schema_json(s, &base))
        .collect();
    response::resource(StatusCode::OK, &list(all))
}

pub async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match schema_by_urn(&id) {
        Some(s) => response::resource(StatusCode::OK, &schema_json(s, &base(&state))),
        None => response::error(
            StatusCode::NOT_FOUND,
            None,
            &format!("There is no schema {id}."),
        ),
    }
}
