//! List requests (RFC 7644 §3.4.2 and §3.4.3): `GET /Users?filter=…&startIndex=…&count=…`,
//! the same for Groups, and `POST /.search` with the parameters in a JSON body.

use super::discovery::MAX_PAGE_SIZE;
use super::{
    body::json_body,
    groups::{group_json, render_group},
    response,
    users::render_user,
};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_app::state::AppState;
use gatehouse_domain::scim::error::ScimError;
use gatehouse_domain::scim::filter::parse_filter;
use gatehouse_domain::scim::query::SortOrder;
use gatehouse_domain::scim::resource::Projection;
use gatehouse_domain::scim::schema::SchemaKind;
use gatehouse_domain::store::ListQuery;
use serde::Deserialize;
use serde_json::{json, Value};

/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The list parameters, as strings so that bad numbers get a SCIM error, not a bare 400.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<Value>,
    pub count: Option<Value>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Option<Value>,
    pub excluded_attributes: Option<Value>,
}

fn integer(name: &str, v: &Option<Value>) -> Result<Option<i64>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            ScimError::invalid_value(format!("{name} must be an integer, not {n}."))
        }),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| {
            ScimError::invalid_value(format!("{name} must be an integer, not \"{s}\"."))
        }),
        Some(other) => Err(ScimError::invalid_value(format!(
            "{name} must be an integer, not {other}."
        ))),
    }
}

/// `attributes` is a comma-separated string in a query, and a JSON array in `.search`.
fn names(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

impl ListParams {
    /// Checks and normalises the parameters: `startIndex` below 1 means 1 and a negative
    /// `count` means 0 (RFC 7644 §3.4.2.4); `count` is capped at the documented maximum.
    fn parse(&self) -> Result<(ListQuery, Projection), ScimError> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(parse_filter(f)?),
        };
        let start_index = integer("startIndex", &self.start_index)?
            .unwrap_or(1)
            .max(1) as usize;
        let count = integer("count", &self.count)?
            .unwrap_or(DEFAULT_PAGE_SIZE as i64)
            .clamp(0, MAX_PAGE_SIZE as i64) as usize;
        let projection = Projection::parse(
            names(&self.attributes).as_deref(),
            names(&self.excluded_attributes).as_deref(),
        )?;
        Ok((
            ListQuery {
                filter,
                sort_by: self.sort_by.clone().filter(|s| !s.trim().is_empty()),
                sort_order: SortOrder::parse(self.sort_order.as_deref())?,
                start_index,
                count,
            },
            projection,
        ))
    }
}

fn list_response(total: i64, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// [`list_response`] around resources already written as JSON text.
fn list_response_text(total: i64, start_index: usize, resources: &[String]) -> String {
    let mut head = list_response(total, start_index, Vec::new());
    if let Some(map) = head.as_object_mut() {
        map.remove("Resources");
        map.insert("itemsPerPage".into(), resources.len().into());
    }
    let head = head.to_string();
    // `head` is an object with at least its schemas: insert the list before its last brace.
    let open = head.strip_suffix('}').unwrap_or(&head);
    let mut out = String::with_capacity(
        head.len() + 16 + resources.iter().map(|r| r.len() + 1).sum::<usize>(),
    );
    out.push_str(open);
    out.push_str(",\"Resources\":[");
    out.push_str(&resources.join(","));
    out.push_str("]}");
    out
}

async fn run(state: &AppState, kind: SchemaKind, params: ListParams) -> Response {
    let (query, projection) = match params.parse() {
        Ok(p) => p,
        Err(e) => return response::from_error(&e),
    };
    let result = match kind {
        SchemaKind::User => state.store.scim_list_users(&query).await.map(|page| {
            let items = page
                .items
                .iter()
                .map(|u| render_user(state, u, &projection))
                .collect();
            list_response(page.total, query.start_index, items)
        }),
        SchemaKind::Group => {
            let with_members = projection.wants(SchemaKind::Group, "members");
            let listed = state.store.scim_list_groups(&query, with_members).await;
            // Groups with their members are written as text (see `group_json`): large
            // groups would otherwise be built as JSON values member by member.
            return match listed {
                Ok(page) if with_members => {
                    let items: Vec<String> = page
                        .items
                        .iter()
                        .map(|g| group_json(state, g, &projection))
                        .collect();
                    response::text(
                        StatusCode::OK,
                        list_response_text(page.total, query.start_index, &items),
                    )
                }
                Ok(page) => {
                    let items = page
                        .items
                        .iter()
                        .map(|g| render_group(state, g, &projection))
                        .collect();
                    let body = list_response(page.total, query.start_index, items);
                    response::resource(StatusCode::OK, &body)
                }
                Err(e) => response::from_error(&e),
            };
        }
    };
    match result {
        Ok(body) => response::resource(StatusCode::OK, &body),
        Err(e) => response::from_error(&e),
    }
}

fn search_params(headers: &HeaderMap, body: &Bytes) -> Result<ListParams, ScimError> {
    let body = json_body(headers, body)?;
    serde_json::from_value(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The search request is not valid: {e}.")))
}

pub async fn users(State(state): State<AppState>, Query(params): Query<ListParams>) -> Response {
    run(&state, SchemaKind::User, params).await
}

pub async fn groups(State(state): State<AppState>, Query(params): Query<ListParams>) -> Response {
    run(&state, SchemaKind::Group, params).await
}

pub async fn search_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match search_params(&headers, &body) {
        Ok(params) => run(&state, SchemaKind::User, params).await,
        Err(e) => response::from_error(&e),
    }
}

pub async fn search_groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match search_params(&headers, &body) {
        Ok(params) => run(&state, SchemaKind::Group, params).await,
        Err(e) => response::from_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_written_as_text_reads_back_as_the_value_form() {
        let items = vec![
            json!({"id": "g1", "displayName": "A \"b\""}),
            json!({"id": "g2"}),
        ];
        let texts: Vec<String> = items.iter().map(Value::to_string).collect();
        let text = list_response_text(7, 3, &texts);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, list_response(7, 3, items));
        let empty: Value = serde_json::from_str(&list_response_text(0, 1, &[])).unwrap();
        assert_eq!(empty, list_response(0, 1, Vec::new()));
    }
}
