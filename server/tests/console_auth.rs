//! The console's sign-in, sessions and page guard, over real HTTP.

mod common;

use common::{session_cookie, session_set_cookie, Options, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::header::{COOKIE, LOCATION};
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn server_functions_refuse_callers_without_a_session() {
    let app = TestApp::spawn().await;
    for name in ["current_admin", "settings", "sign_out"] {
        let res = app.call(name, &[], None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(res.text().await.unwrap().contains("Unauthorized"), "{name}");
    }
    let res = app.call("recent_events", &[("limit", "10")], None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_forged_session_cookie_is_refused() {
    let app = TestApp::spawn().await;
    let res = app
        .call(
            "current_admin",
            &[],
            Some("gatehouse_session=AAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_password_fails_and_starts_no_session() {
    let app = TestApp::spawn().await;
    let wrong = app
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", "not the password")],
            None,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(session_cookie(wrong.headers()).is_none());
    let wrong_body = wrong.text().await.unwrap();
    assert!(
        wrong_body.contains("The email or password is not correct."),
        "{wrong_body}"
    );

    let unknown = app
        .call(
            "sign_in",
            &[
                ("email", "nobody@example.com"),
                ("password", ADMIN_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.text().await.unwrap(),
        wrong_body,
        "an unknown email must look the same"
    );
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let res = app
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            None,
        )
        .await;
    let cookie = session_set_cookie(res.headers()).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-http public URL must not set Secure: {cookie}"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(Options {
        public_url: Some("https://gatehouse.example.com".into()),
        ..Options::default()
    })
    .await;
    let res = app
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            None,
        )
        .await;
    let cookie = session_set_cookie(res.headers()).unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn signing_in_cycles_the_session_id() {
    let app = TestApp::spawn().await;
    let first = app.sign_in().await;
    let res = app
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            Some(&first),
        )
        .await;
    let second = session_cookie(res.headers()).expect("a new cookie");
    assert_ne!(first, second);
    // The old id no longer works.
    let old = app.call("current_admin", &[], Some(&first)).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_signed_in_admin_is_known_until_signing_out() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let me = app.call("current_admin", &[], Some(&cookie)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert!(me.text().await.unwrap().contains(ADMIN_EMAIL));

    let out = app.call("sign_out", &[], Some(&cookie)).await;
    assert!(
        out.status().is_success() || out.status().is_redirection(),
        "{}",
        out.status()
    );
    let after = app.call("current_admin", &[], Some(&cookie)).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime() {
    let app = TestApp::spawn_with(Options {
        session_absolute: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let cookie = app.sign_in().await;
    assert_eq!(
        app.call("current_admin", &[], Some(&cookie)).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.call("current_admin", &[], Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn console_pages_send_strangers_to_sign_in_and_back() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/console/users?q=ada"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        "/console/login?next=/console/users%3Fq%3Dada"
    );
    // The sign-in page itself is open.
    let login = app
        .client
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(html.contains("Sign in to the console"));
    assert!(
        html.contains(r#"<label for="email""#),
        "the field needs a label"
    );
}

#[tokio::test]
async fn a_signed_in_admin_gets_console_pages() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    for (path, heading) in [
        ("/console", "Dashboard"),
        ("/console/auth-profiles", "Authentication Profiles"),
        ("/console/scim", "SCIM Import"),
        ("/console/users", "Users"),
        ("/console/groups", "User Groups"),
        ("/console/events", "Events / Logs"),
        ("/console/settings", "Settings"),
    ] {
        let res = app
            .client
            .get(app.url(path))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        // Read the whole page, as a browser does: the render waits for its data.
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!(">{heading}</h1>")),
            "{path}: no heading {heading:?}"
        );
        assert!(
            html.contains("</html>"),
            "{path}: the page ended early: {}",
            &html[html.len().saturating_sub(300)..]
        );
    }
    // The sign-in page sends a signed-in admin on.
    let res = app
        .client
        .get(app.url("/console/login?next=/console/events"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/console/events");
}

#[tokio::test]
async fn the_site_root_sends_each_visitor_to_the_right_place() {
    let app = TestApp::spawn().await;
    let stranger = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(stranger.headers()[LOCATION], "/console/login");
    let cookie = app.sign_in().await;
    let admin = app
        .client
        .get(app.url("/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.headers()[LOCATION], "/console");
}

#[tokio::test]
async fn repeated_failures_are_slowed_down() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let res = app
            .call(
                "sign_in",
                &[("email", ADMIN_EMAIL), ("password", "wrong wrong wrong")],
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = app
        .call(
            "sign_in",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("Try again in"));
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = TestApp::spawn_with(Options {
        with_admin: false,
        ..Options::default()
    })
    .await;
    let token = app.store.issue_setup_token().await.unwrap().unwrap();
    let form = [
        ("token", token.as_str()),
        ("email", "first@example.com"),
        ("password", "first admin password"),
        ("password_confirmation", "first admin password"),
    ];
    let res = app.call("create_first_admin", &form, None).await;
    assert!(res.status().is_success(), "{}", res.status());
    let cookie = session_cookie(res.headers()).expect("signed in after setup");
    assert!(app
        .call("current_admin", &[], Some(&cookie))
        .await
        .text()
        .await
        .unwrap()
        .contains("first@example.com"));

    let again = app.call("create_first_admin", &form, None).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.store.admin_count().await.unwrap(), 1);
}

/// The list pages call these from the browser with every filter blank, which the form
/// encoding sends as no field at all (this once answered "missing field `params`").
#[tokio::test]
async fn list_functions_accept_a_call_with_every_filter_blank() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let group_id = uuid::Uuid::now_v7().to_string();
    for (name, form) in [
        ("directory_users", vec![]),
        ("directory_user_count", vec![]),
        ("directory_groups", vec![]),
        ("list_events", vec![]),
        ("events_histogram", vec![]),
        (
            "directory_group_members",
            vec![("group_id", group_id.as_str())],
        ),
    ] {
        let res = app.call(name, &form, Some(&cookie)).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(!body.contains("missing field"), "{name}: {body}");
        // An unknown group is a 404; everything else answers with data.
        if name == "directory_group_members" {
            assert_eq!(status, StatusCode::NOT_FOUND, "{name}: {body}");
        } else {
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
        }
    }
}
