//! `/metrics` in the Prometheus text format, from a small registry of our own.
//!
//! A handful of counters and one histogram family do not justify a metrics framework and
//! its global state: each router owns its registry, so tests running several servers in
//! one process see only their own numbers. Labels come only from bounded sets (route
//! templates, methods, status codes, fixed names), never from raw URLs or user input.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Default)]
struct Registry {
    /// (method, route, status) → latency.
    http: BTreeMap<(String, String, u16), Histogram>,
    /// (operation, outcome) → count.
    scim: BTreeMap<(&'static str, &'static str), u64>,
    /// (method, outcome) → count.
    sign_ins: BTreeMap<(&'static str, &'static str), u64>,
}

/// The process's metrics, and who may read them.
#[derive(Clone, Default)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    /// When set, `/metrics` wants `Authorization: Bearer <token>`.
    token: Option<Arc<str>>,
    /// The store whose connection pools `/metrics` reports, once the router knows it.
    store: Option<gatehouse_domain::store::Store>,
}

impl Metrics {
    pub fn new(token: Option<String>) -> Self {
        Metrics {
            registry: Arc::default(),
            token: token.filter(|t| !t.is_empty()).map(Arc::from),
            store: None,
        }
    }

    /// Reports this store's connection pools too.
    pub fn with_store(mut self, store: gatehouse_domain::store::Store) -> Self {
        self.store = Some(store);
        self
    }

    fn record(&self, method: &Method, route: &str, path: &str, status: StatusCode, secs: f64) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        r.http
            .entry((method.to_string(), route.to_string(), status.as_u16()))
            .or_default()
            .observe(secs);
        if let Some(op) = scim_operation(method, path) {
            *r.scim.entry((op, scim_outcome(status))).or_default() += 1;
        }
        if let Some((kind, outcome)) = sign_in(method, path, status) {
            *r.sign_ins.entry((kind, outcome)).or_default() += 1;
        }
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP gatehouse_http_requests_total HTTP requests answered, by method, route template and status.\n");
        out.push_str("# TYPE gatehouse_http_requests_total counter\n");
        for ((method, route, status), h) in &r.http {
            let _ = writeln!(
                out,
                "gatehouse_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                h.count
            );
        }
        out.push_str("# HELP gatehouse_http_request_duration_seconds Time to the response head, by method, route template and status.\n");
        out.push_str("# TYPE gatehouse_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in &r.http {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (le, n) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP gatehouse_scim_operations_total SCIM requests, by operation and outcome.\n",
        );
        out.push_str("# TYPE gatehouse_scim_operations_total counter\n");
        for ((op, outcome), n) in &r.scim {
            let _ = writeln!(
                out,
                "gatehouse_scim_operations_total{{operation=\"{op}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP gatehouse_sign_ins_total Sign-in attempts, by kind (console, saml) and outcome.\n",
        );
        out.push_str("# TYPE gatehouse_sign_ins_total counter\n");
        for ((kind, outcome), n) in &r.sign_ins {
            let _ = writeln!(
                out,
                "gatehouse_sign_ins_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        drop(r);
        if let Some(store) = &self.store {
            let pools = store.pool_use();
            out.push_str("# HELP gatehouse_db_pool_connections Database connections open now, by pool and state (in_use, idle).\n");
            out.push_str("# TYPE gatehouse_db_pool_connections gauge\n");
            for p in &pools {
                let pool = p.pool;
                let idle = p.open - p.in_use;
                let _ = writeln!(
                    out,
                    "gatehouse_db_pool_connections{{pool=\"{pool}\",state=\"in_use\"}} {}",
                    p.in_use
                );
                let _ = writeln!(
                    out,
                    "gatehouse_db_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}"
                );
            }
            out.push_str("# HELP gatehouse_db_pool_max_connections The most connections each pool will open.\n");
            out.push_str("# TYPE gatehouse_db_pool_max_connections gauge\n");
            for p in &pools {
                let _ = writeln!(
                    out,
                    "gatehouse_db_pool_max_connections{{pool=\"{}\"}} {}",
                    p.pool, p.max
                );
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The SCIM operation a request is, from a fixed set, so a client cannot add label values.
fn scim_operation(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/scim/v2")?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let op = match (method.as_str(), segs.as_slice()) {
        ("GET", ["Users"]) => "list_users",
        ("POST", ["Users"]) => "create_user",
        ("POST", ["Users", ".search"]) => "search_users",
        ("GET", ["Users", _]) => "get_user",
        ("PUT", ["Users", _]) => "replace_user",
        ("PATCH", ["Users", _]) => "patch_user",
        ("DELETE", ["Users", _]) => "delete_user",
        ("GET", ["Groups"]) => "list_groups",
        ("POST", ["Groups"]) => "create_group",
        ("POST", ["Groups", ".search"]) => "search_groups",
        ("GET", ["Groups", _]) => "get_group",
        ("PUT", ["Groups", _]) => "replace_group",
        ("PATCH", ["Groups", _]) => "patch_group",
        ("DELETE", ["Groups", _]) => "delete_group",
        ("GET", ["ServiceProviderConfig" | "ResourceTypes" | "Schemas", ..]) => "discovery",
        _ => "other",
    };
    Some(op)
}

fn scim_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "success",
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "too_large",
        429 => "rate_limited",
        500..=599 => "server_error",
        _ => "client_error",
    }
}

/// A console sign-in succeeds with 200 (the server function's answer); an end-user SAML
/// sign-in succeeds when the ACS redirects to where the user was going.
fn sign_in(
    method: &Method,
    path: &str,
    status: StatusCode,
) -> Option<(&'static str, &'static str)> {
    if method != Method::POST {
        return None;
    }
    if path == "/console/api/sign_in" {
        return Some((
            "console",
            if status.is_success() {
                "success"
            } else {
                "failure"
            },
        ));
    }
    if path.starts_with("/saml/") && path.ends_with("/acs") {
        return Some((
            "saml",
            if status.is_redirection() {
                "success"
            } else {
                "failure"
            },
        ));
    }
    None
}

/// Times and counts every request. The route label is the matched route template; anything
/// no route matched (static files, unknown paths) is one label, so scanners cannot grow
/// the registry.
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.run(req).await;
    metrics.record(
        &method,
        &route,
        &path,
        res.status(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`.
pub async fn serve(State(metrics): State<Metrics>, headers: HeaderMap) -> Response {
    if let Some(expected) = &metrics.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "a bearer token (GATEHOUSE_METRICS_TOKEN) is required\n",
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_operations_are_a_fixed_set() {
        assert_eq!(
            scim_operation(&Method::PATCH, "/scim/v2/Users/abc"),
            Some("patch_user")
        );
        assert_eq!(
            scim_operation(&Method::GET, "/scim/v2/whatever/a/b"),
            Some("other")
        );
        assert_eq!(scim_operation(&Method::GET, "/console"), None);
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new(None);
        m.record(&Method::GET, "/healthz", "/healthz", StatusCode::OK, 0.02);
        let text = m.render();
        assert!(text.contains("le=\"0.01\"} 0"), "{text}");
        assert!(text.contains("le=\"0.025\"} 1"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 1"), "{text}");
    }
}
