//! `/scim/v2/Groups`: Okta's Group Push (create, rename, membership, delete).

use super::body::{if_match, read_write};
use super::users::Shape;
use super::{response, ScimContext};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_app::state::AppState;
use gatehouse_domain::scim::resource::{render, Meta, Projection};
use gatehouse_domain::scim::schema::SchemaKind;
use gatehouse_domain::store::GroupRecord;
use serde_json::{json, Map, Value};

/// The response body of one group.
pub fn render_group(state: &AppState, group: &GroupRecord, projection: &Projection) -> Value {
    let base = &state.settings.public_url;
    let mut extra = Map::new();
    if let Some(members) = &group.members {
        extra.insert(
            "members".into(),
            Value::Array(
                members
                    .iter()
                    .map(|(id, name)| json!({"value": id, "display": name, "$ref": format!("{base}/scim/v2/Users/{id}"), "type": "User"}))
                    .collect(),
            ),
        );
    }
    let meta = Meta {
        resource_type: SchemaKind::Group,
        created: group.created_at,
        last_modified: group.updated_at,
        version: group.version,
        location: format!("{base}/scim/v2/Groups/{}", group.id),
    };
    render(&group.resource, &group.id, &meta, extra, projection)
}

/// A write's answer: the group as it now is, shaped as asked.
fn answer(
    state: &AppState,
    status: StatusCode,
    result: Result<GroupRecord, gatehouse_domain::scim::error::ScimError>,
    projection: &Projection,
) -> Response {
    match result {
        Ok(g) => {
            let location = format!("{}/scim/v2/Groups/{}", state.settings.public_url, g.id);
            response::versioned(
                status,
                &render_group(state, &g, projection),
                g.version,
                &location,
            )
        }
        Err(e) => response::from_error(&e),
    }
}

pub async fn create(
    State(state): State<AppState>,
    ctx: ScimContext,
    Query(shape): Query<Shape>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (projection, body) =
        match read_write(&state, &ctx, &shape, &headers, &body, "group.create").await {
            Ok(read) => read,
            Err(e) => return response::from_error(&e),
        };
    let result = state.store.scim_create_group(&body, &ctx.caller).await;
    answer(&state, StatusCode::CREATED, result, &projection)
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
    // Okta reads groups with excludedAttributes=members: then the members are not loaded.
    let with_members = projection.wants(SchemaKind::Group, "members");
    let result = state.store.scim_get_group(&id, with_members).await;
    answer(&state, StatusCode::OK, result, &projection)
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
        match read_write(&state, &ctx, &shape, &headers, &body, "group.update").await {
            Ok(read) => read,
            Err(e) => return response::from_error(&e),
        };
    let result = state
        .store
        .scim_replace_group(
            &id,
            &body,
            if_match(&headers),
            &ctx.caller,
            projection.wants(SchemaKind::Group, "members"),
        )
        .await;
    answer(&state, StatusCode::OK, result, &projection)
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
        match read_write(&state, &ctx, &shape, &headers, &body, "group.update").await {
            Ok(read) => read,
            Err(e) => return response::from_error(&e),
        };
    let result = state
        .store
        .scim_patch_group(
            &id,
            &body,
            if_match(&headers),
            &ctx.caller,
            projection.wants(SchemaKind::Group, "members"),
        )
        .await;
    answer(&state, StatusCode::OK, result, &projection)
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: ScimContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state
        .store
        .scim_delete_group(&id, if_match(&headers), &ctx.caller)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => response::from_error(&e),
    }
}
