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
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Map, Value};

/// The response body of one group.
pub fn render_group(state: &AppState, group: &GroupRecord, projection: &Projection) -> Value {
    render_group_at(&state.settings.public_url, group, projection)
}

/// [`render_group`] with the public URL given.
fn render_group_at(base: &str, group: &GroupRecord, projection: &Projection) -> Value {
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

/// One group's response body as JSON text. When the answer shows every member whole, the
/// members are written straight from the rows, not built as JSON values first: a group of
/// 50,000 members is millions of small allocations that way, most of the time of the answer.
pub fn group_json(state: &AppState, group: &GroupRecord, projection: &Projection) -> String {
    group_json_at(&state.settings.public_url, group, projection)
}

/// [`group_json`] with the public URL given.
fn group_json_at(base: &str, group: &GroupRecord, projection: &Projection) -> String {
    match &group.members {
        Some(members)
            if !members.is_empty() && projection.keeps_whole(SchemaKind::Group, "members") =>
        {
            let without = GroupRecord {
                members: None,
                ..group.clone()
            };
            let Value::Object(body) = render_group_at(base, &without, projection) else {
                return render_group_at(base, group, projection).to_string();
            };
            let with = WithMembers {
                body: &body,
                members,
                base,
            };
            serde_json::to_string(&with)
                .unwrap_or_else(|_| render_group_at(base, group, projection).to_string())
        }
        _ => render_group_at(base, group, projection).to_string(),
    }
}

/// A rendered group without its members, and the members to write after it.
struct WithMembers<'a> {
    body: &'a Map<String, Value>,
    members: &'a [(String, String)],
    base: &'a str,
}

impl Serialize for WithMembers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.body.len() + 1))?;
        for (k, v) in self.body {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("members", &Members(self.members, self.base))?;
        map.end()
    }
}

/// The members, each as `render_group` shows one.
struct Members<'a>(&'a [(String, String)], &'a str);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (id, name) in self.0 {
            seq.serialize_element(&Member {
                id,
                name,
                base: self.1,
            })?;
        }
        seq.end()
    }
}

struct Member<'a> {
    id: &'a str,
    name: &'a str,
    base: &'a str,
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The keys in the order a JSON value keeps them (sorted), as `render_group` has them.
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry(
            "$ref",
            &format_args!("{}/scim/v2/Users/{}", self.base, self.id),
        )?;
        map.serialize_entry("display", self.name)?;
        map.serialize_entry("type", "User")?;
        map.serialize_entry("value", self.id)?;
        map.end()
    }
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
            response::versioned_text(
                status,
                group_json(state, &g, projection),
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

/// The shape of a PATCH answer: as asked, except that `members` is listed only when
/// `attributes` names it. A PATCH is a change, not a read: Okta and Entra ID send one per
/// membership change and neither reads the members back (Okta accepts a group whose
/// members are omitted; RFC 7644 §3.5.2 would even allow no body). Listing them would make
/// adding one member to a group of 50,000 write 50,000 members into the answer.
fn patch_shape(shape: &Shape) -> Shape {
    let asked = shape
        .attributes
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty());
    if asked {
        return shape.clone();
    }
    let excluded = match shape.excluded_attributes.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => format!("{e},members"),
        _ => "members".to_string(),
    };
    Shape {
        attributes: None,
        excluded_attributes: Some(excluded),
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
    let shape = patch_shape(&shape);
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn group(members: Option<Vec<(String, String)>>) -> GroupRecord {
        GroupRecord {
            id: "g1".into(),
            resource: json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng \"core\" ✓"}),
            version: 4,
            created_at: datetime!(2024-05-01 12:00:00 UTC),
            updated_at: datetime!(2024-05-02 08:30:00 UTC),
            members,
        }
    }

    #[test]
    fn members_written_directly_read_back_as_render_group_makes_them() {
        let members = vec![
            ("u1".to_string(), "ada@example.com".to_string()),
            ("u2".to_string(), "O\"Brien\\ ✓".to_string()),
        ];
        let g = group(Some(members));
        for (attributes, excluded) in [
            (None, None),
            (Some("members"), None),
            (None, Some("displayName")),
            (Some("members.value"), None),
            (None, Some("members.display")),
            (None, Some("members")),
        ] {
            let projection = Projection::parse(attributes, excluded).unwrap();
            let text = group_json_at("https://gh.example", &g, &projection);
            let direct: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                direct,
                render_group_at("https://gh.example", &g, &projection),
                "{attributes:?} {excluded:?}"
            );
        }
        let text = group_json_at("https://gh.example", &g, &Projection::default());
        let direct: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            direct["members"][1],
            json!({"value": "u2", "display": "O\"Brien\\ ✓", "$ref": "https://gh.example/scim/v2/Users/u2", "type": "User"})
        );
        // No members, or not loaded: no "members" at all, as before.
        for g in [group(Some(Vec::new())), group(None)] {
            let direct: Value = serde_json::from_str(&group_json_at(
                "https://gh.example",
                &g,
                &Projection::default(),
            ))
            .unwrap();
            assert!(direct.get("members").is_none(), "{direct}");
        }
    }
}
