//! List requests (RFC 7644 §3.4.2 and §3.4.3): `GET /Users?filter=…&startIndex=…&count=…`,
//! the same for Groups, and `POST /.search` with the parameters in a JSON body.

use super::discovery::MAX_PAGE_SIZE;
use super::{body::json_body, groups::render_group, response, users::render_user};
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
            state
                .store
                .scim_list_groups(&query, with_members)
                .await
                .map(|page| {
                    let items = page
                        .items
                        .iter()
                        .map(|g| render_group(state, g, &projection))
                        .collect();
                    list_response(page.total, query.start_index, items)
                })
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
