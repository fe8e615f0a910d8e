//! What an operator relies on: health endpoints, request ids, the stylesheet, start-up
//! errors that say what to fix.

mod common;

use common::TestApp;
use gatehouse_server::config::{ServeArgs, StoreArgs};
use reqwest::StatusCode;

#[tokio::test]
async fn healthz_and_readyz_answer_json() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "SQLite");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.store.close().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = res.headers().get("x-request-id").expect("x-request-id");
    assert_eq!(id.len(), 36, "a UUID");
}

#[tokio::test]
async fn the_stylesheet_holds_the_classes_the_console_uses() {
    let app = TestApp::spawn().await;
    let css = app
        .client
        .get(app.url(gatehouse_app::style::STYLESHEET_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let css = css.text().await.unwrap();
    for rule in [
        ".bg-indigo-600",
        ".md\\:flex",
        ".dark .dark\\:bg-slate-950",
        ".hover\\:bg-indigo-500:hover",
        ".sr-only",
    ] {
        assert!(css.contains(rule), "missing {rule}");
    }
    // A class nobody uses is not generated.
    assert!(!css.contains(".bg-fuchsia-900"));
}

fn serve_args(database_url: &str, site_dir: &std::path::Path) -> ServeArgs {
    ServeArgs {
        store: StoreArgs {
            data_dir: site_dir.join("data"),
            database_url: Some(database_url.into()),
            secret_key: None,
        },
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        admin_email: None,
        admin_password: None,
        session_idle_minutes: 30,
        session_max_hours: 12,
        scim_rate_limit: 100,
        event_retention_days: 365,
        metadata_allow_private: false,
        site_dir: Some(site_dir.to_path_buf()),
        metrics_token: None,
        trusted_proxies: Default::default(),
        tls_cert: None,
        tls_key: None,
    }
}

fn fake_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/gatehouse.js"), "").unwrap();
    dir
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_start_up_error() {
    let site = fake_site();
    let err = gatehouse_server::serve::prepare(&serve_args(
        "postgres://gh:secret@127.0.0.1:1/gatehouse",
        site.path(),
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("cannot use the database at postgres://gh:***@127.0.0.1:1/gatehouse"),
        "{err}"
    );
    assert!(!err.contains("secret"), "the password leaked: {err}");
}

#[tokio::test]
async fn a_missing_site_directory_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = gatehouse_server::serve::prepare(&serve_args("sqlite://unused.db", dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("GATEHOUSE_SITE_DIR"), "{err}");
}

#[tokio::test]
async fn half_of_the_first_admin_settings_is_refused() {
    let site = fake_site();
    let mut args = serve_args(
        &format!("sqlite://{}/g.db", site.path().display()),
        site.path(),
    );
    args.admin_email = Some("ada@example.com".into());
    let err = gatehouse_server::serve::prepare(&args)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("GATEHOUSE_ADMIN_PASSWORD"), "{err}");
}

#[tokio::test]
async fn a_refused_first_admin_password_stops_start_up_and_writes_nothing() {
    let site = fake_site();
    let url = format!("sqlite://{}/g.db", site.path().display());
    let mut args = serve_args(&url, site.path());
    args.admin_email = Some("ada@example.com".into());
    args.admin_password = Some("short".into());
    let err = gatehouse_server::serve::prepare(&args)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 12 characters"), "{err}");
    let store = gatehouse_domain::store::Store::open(&url).await.unwrap();
    assert_eq!(store.admin_count().await.unwrap(), 0);
}

#[tokio::test]
async fn the_console_works_the_same_on_postgres() {
    let app = TestApp::spawn_with(common::Options {
        postgres: true,
        ..Default::default()
    })
    .await;
    let ready: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "PostgreSQL");
    let cookie = app.sign_in().await;
    let me = app.call("current_admin", &[], Some(&cookie)).await;
    assert_eq!(me.status(), StatusCode::OK);
    let events = app
        .call("recent_events", &[("limit", "5")], Some(&cookie))
        .await;
    assert!(events.text().await.unwrap().contains("admin.sign_in"));
}
