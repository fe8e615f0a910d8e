//! `/scim/v2/Users`: what Okta's provisioning engine calls to create, read, update,
//! deactivate and delete people.

use super::body::{if_match, read_write};
use super::{response, ScimContext};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_app::state::AppState;
use gatehouse_domain::scim::error::ScimError;
use gatehouse_domain::scim::resource::{render, Meta, Projection};
use gatehouse_domain::scim::schema::SchemaKind;
use gatehouse_domain::store::UserRecord;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// `attributes` and `excludedAttributes` (RFC 7644 §3.9), accepted on every read.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Shape {
    pub attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

impl Shape {
    pub fn projection(&self) -> Result<Projection, ScimError> {
        Projection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

/// Where a user lives, for `meta.location` and `Location`.
pub fn user_location(state: &AppState, id: &str) -> String {
    format!("{}/scim/v2/Users/{id}", state.settings.public_url)
}

/// One user as a response, with its `ETag`.
fn user_response(
    state: &AppState,
    status: StatusCode,
    user: &UserRecord,
    projection: &Projection,
) -> Response {
    response::versioned(
        status,
        &render_user(state, user, projection),
        user.version,
        &user_location(state, &user.id),
    )
}

/// The response body of one user.
pub fn render_user(state: &AppState, user: &UserRecord, projection: &Projection) -> Value {
    let mut extra = Map::new();
    if !user.groups.is_empty() {
        let base = &state.settings.public_url;
        extra.insert(
            "groups".into(),
            Value::Array(
                user.groups
                    .iter()
                    .map(|(id, name)| json!({"value": id, "display": name, "$ref": format!("{base}/scim/v2/Groups/{id}"), "type": "direct"}))
                    .collect(),
            ),
        );
    }
    let meta = Meta {
        resource_type: SchemaKind::User,
        created: user.created_at,
        last_modified: user.updated_at,
        version: user.version,
        location: user_location(state, &user.id),
    };
    render(&user.resource, &user.id, &meta, extra, projection)
}

pub async fn create(
    State(state): State<AppState>,
    ctx: ScimContext,
    Query(shape): Query<Shape>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (projection, body) =
        match read_write(&state, &ctx, &shape, &headers, &body, "user.create").await {
            Ok(read) => read,
            Err(e) => return response::from_error(&e),
        };
    match state.store.scim_create_user(&body, &ctx.caller).await {
        Ok(user) => user_response(&state, StatusCode::CREATED, &user, &projection),
        Err(e) => response::from_error(&e),
    }
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(shape): Query<Shape>,
) -> Response {
    let projection = match shape.projection() {
        Ok(p) => p,
        Err(e) => return response::from_error(&e),
    };
    match state.store.scim_get_user(&id).await {
        Ok(user) => user_response(&state, StatusCode::OK, &user, &projection),
        Err(e) => response::from_error(&e),
    }
}

pub async fn replace(
    State(state): State<AppState>,
    ctx: ScimContext,
    Path(id): Path<String>,
    Query(shape): Query<Shape>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (projection, body) =
        match read_write(&state, &ctx, &shape, &headers, &body, "user.update").await {
            Ok(read) => read,
            Err(e) => return response::from_error(&e),
        };
    match state
        .store
        .scim_replace_user(&id, &body, if_match(&headers), &ctx.caller)
        .await
    {
        Ok(user) => user_response(&state, StatusCode::OK, &user, &projection),
        Err(e) => response::from_error(&e),
    }
}

pub async fn patch(
    State(state): State<AppState>,
    ctx: ScimContext,
    Path(id): Path<String>,
    Query(shape): Query<Shape>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (projection, body) =
        match read_write(&state, &ctx, &shape, &headers, &body, "user.update").await {
            Ok(read) => read,
            Err(e) => return response::from_error(&e),
        };
    match state
        .store
        .scim_patch_user(&id, &body, if_match(&headers), &ctx.caller)
        .await
    {
        Ok(user) => user_response(&state, StatusCode::OK, &user, &projection),
        Err(e) => response::from_error(&e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: ScimContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state
        .store
        .scim_delete_user(&id, if_match(&headers), &ctx.caller)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => response::from_error(&e),
    }
}
