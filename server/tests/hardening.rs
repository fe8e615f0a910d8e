//! What a security engineer and an operator check from outside (issue 6): security headers,
//! compressed responses, and `/metrics`.

mod common;

use common::{Options, ScimClient, TestApp};
use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING};
use reqwest::StatusCode;
use std::io::Read as _;

#[tokio::test]
async fn console_pages_carry_security_headers_and_no_hsts_over_http() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    for part in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert!(h.get("strict-transport-security").is_none());

    // The nonce the header allows is the one on the page's inline hydration script.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the CSP")
        .to_string();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts do not carry the header's nonce"
    );

    // A fresh nonce per response.
    let again = app
        .client
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
}

#[tokio::test]
async fn end_user_pages_and_scim_json_carry_the_headers() {
    let scim = ScimClient::new().await;
    let login = scim
        .app
        .client
        .get(scim.app.url("/login"))
        .send()
        .await
        .unwrap();
    assert!(login.headers().contains_key("content-security-policy"));
    assert_eq!(login.headers()["x-frame-options"], "DENY");

    let res = scim
        .req(reqwest::Method::GET, "/Users")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(Options {
        public_url: Some("https://gatehouse.example.com".into()),
        ..Options::default()
    })
    .await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

#[tokio::test]
async fn the_stylesheet_is_gzip_encoded_when_asked() {
    let app = TestApp::spawn().await;
    let path = gatehouse_app::style::STYLESHEET_PATH;
    let plain = app
        .client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url(path))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.len() < plain.len(), "compressed is smaller");
    let mut css = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut css)
        .unwrap();
    assert_eq!(css, plain);

    // Brotli too, when the client prefers it.
    let br = app
        .client
        .get(app.url(path))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()[CONTENT_ENCODING], "br");
}

#[tokio::test]
async fn scim_json_is_gzip_encoded_when_asked() {
    let scim = ScimClient::new().await;
    let res = scim
        .req(reqwest::Method::GET, "/Schemas")
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
}

fn sample(text: &str, name_and_labels: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_scim_operations_by_outcome() {
    let scim = ScimClient::new().await;
    let app = &scim.app;
    for _ in 0..3 {
        app.client.get(app.url("/healthz")).send().await.unwrap();
    }
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace@example.com",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [{"value": "grace@example.com", "primary": true}],
        "active": true
    });
    let (status, _) = scim
        .call(reqwest::Method::POST, "/Users", Some(&user))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = scim
        .call(reqwest::Method::POST, "/Users", Some(&user))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = scim
        .call(reqwest::Method::GET, "/Users/no-such-user", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A wrong password is a failed console sign-in.
    app.call(
        "sign_in",
        &[
            ("email", common::ADMIN_EMAIL),
            ("password", "wrong password!"),
        ],
        None,
    )
    .await;
    app.sign_in().await;

    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            "gatehouse_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        3,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "gatehouse_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        3
    );
    assert_eq!(
        sample(
            &text,
            "gatehouse_scim_operations_total{operation=\"create_user\",outcome=\"success\"}"
        ),
        1,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "gatehouse_scim_operations_total{operation=\"create_user\",outcome=\"conflict\"}"
        ),
        1
    );
    assert_eq!(
        sample(
            &text,
            "gatehouse_scim_operations_total{operation=\"get_user\",outcome=\"not_found\"}"
        ),
        1
    );
    assert_eq!(
        sample(
            &text,
            "gatehouse_sign_ins_total{kind=\"console\",outcome=\"failure\"}"
        ),
        1,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "gatehouse_sign_ins_total{kind=\"console\",outcome=\"success\"}"
        ),
        1
    );
    // The pools of the test's SQLite store: eight readers, one writer; what is open is
    // within what the pool allows, and readers stay open between requests.
    for (pool, max) in [("reader", 8), ("writer", 1)] {
        let cap = sample(
            &text,
            &format!("gatehouse_db_pool_max_connections{{pool=\"{pool}\"}}"),
        );
        assert_eq!(cap, max, "{pool}: {text}");
        let state = |s: &str| {
            let line = format!("gatehouse_db_pool_connections{{pool=\"{pool}\",state=\"{s}\"}} ");
            assert!(text.lines().any(|l| l.starts_with(&line)), "{line}: {text}");
            sample(&text, line.trim_end())
        };
        assert!(state("in_use") + state("idle") <= max, "{pool}: {text}");
    }
    assert!(
        sample(
            &text,
            "gatehouse_db_pool_connections{pool=\"reader\",state=\"idle\"}"
        ) >= 1,
        "{text}"
    );
    // Route labels are templates: the user id never becomes a label.
    assert!(!text.contains("no-such-user"));
    assert!(
        text.contains("route=\"/scim/v2/Users/{id}\",status=\"404\""),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_want_the_token_when_one_is_set() {
    let app = TestApp::spawn().await;
    let state_app = gatehouse_server::router::build_with(
        test_state(&app),
        gatehouse_server::metrics::Metrics::new(Some("s3cret-metrics".into())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            state_app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let client = reqwest::Client::new();
    let none = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .get(format!("{base}/metrics"))
        .header(AUTHORIZATION, "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(format!("{base}/metrics"))
        .header(AUTHORIZATION, "Bearer s3cret-metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
}

fn test_state(app: &TestApp) -> gatehouse_app::state::AppState {
    use std::sync::Arc;
    use std::time::Duration;
    gatehouse_app::state::AppState {
        leptos_options: leptos::prelude::LeptosOptions::builder()
            .output_name("gatehouse")
            .site_root("target/site")
            .build(),
        store: app.store.clone(),
        settings: Arc::new(gatehouse_app::state::Settings {
            public_url: app.base.clone(),
            session_idle: Duration::from_secs(1800),
            session_absolute: Duration::from_secs(3600),
            event_retention_days: 365,
            scim_rate_per_second: 0,
            sealer: app.sealer.clone(),
            metadata_fetch: gatehouse_domain::fetch::FetchPolicy::default(),
        }),
    }
}
