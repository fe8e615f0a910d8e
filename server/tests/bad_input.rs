//! Bad input of every kind gets a clear 4xx, never a 500 or a half-written change.

mod common;

use common::{TestApp, ADMIN_EMAIL};
use reqwest::header::{CONTENT_TYPE, ORIGIN};
use reqwest::StatusCode;

#[tokio::test]
async fn a_form_missing_a_field_is_a_400_that_names_it() {
    let app = TestApp::spawn().await;
    let res = app.call("sign_in", &[("email", ADMIN_EMAIL)], None).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("password"), "{body}");
}

#[tokio::test]
async fn a_garbled_body_is_a_400() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.url("/console/api/sign_in"))
        .header(ORIGIN, &app.base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("%%%&&&=\u{0}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(200 * 1024);
    let res = app
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", &big)],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_cross_origin_write_is_refused() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.url("/console/api/sign_in"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("email", ADMIN_EMAIL), ("password", common::ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn setup_with_mismatched_passwords_creates_nothing() {
    let app = TestApp::spawn_with(common::Options {
        with_admin: false,
        ..Default::default()
    })
    .await;
    let token = app.store.issue_setup_token().await.unwrap().unwrap();
    let res = app
        .call(
            "create_first_admin",
            &[
                ("token", &token),
                ("email", "first@example.com"),
                ("password", "first admin password"),
                ("password_confirmation", "another password!!"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.store.admin_count().await.unwrap(), 0);
    assert!(app.store.setup_token_is_valid(&token).await.unwrap());
}

#[tokio::test]
async fn unknown_pages_are_404_pages() {
    let app = TestApp::spawn().await;
    for path in ["/nope", "/console-x", "/assets/other.css"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
