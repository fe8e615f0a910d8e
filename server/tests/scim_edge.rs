//! The `/scim/v2` edge: token authentication and SCIM-shaped errors.

mod common;

use common::TestApp;
use gatehouse_domain::event::Actor;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;

async fn scim_error(res: reqwest::Response, status: StatusCode) -> serde_json::Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/scim+json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(body["status"], status.as_u16().to_string());
    body
}

#[tokio::test]
async fn a_request_without_a_token_is_a_scim_401() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert!(res.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body = scim_error(res, StatusCode::UNAUTHORIZED).await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
}

#[tokio::test]
async fn a_wrong_token_is_a_401_and_an_event_without_the_secret() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/scim/v2/Users"))
        .header(AUTHORIZATION, "Bearer gh_scim_guessed")
        .send()
        .await
        .unwrap();
    scim_error(res, StatusCode::UNAUTHORIZED).await;
    let events = app.store.recent_events(5).await.unwrap();
    let refusal = events
        .iter()
        .find(|e| e.action == "scim.authentication")
        .expect("an event");
    assert!(refusal.detail.as_deref().unwrap().contains("unknown"));
    assert!(!format!("{events:?}").contains("gh_scim_guessed"));
}

#[tokio::test]
async fn bearer_and_bare_tokens_are_let_in_and_unknown_paths_are_scim_404s() {
    let app = TestApp::spawn().await;
    let (_, secret) = app
        .store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    for value in [format!("Bearer {secret}"), secret.clone()] {
        let res = app
            .client
            .get(app.url("/scim/v2/NoSuchThing"))
            .header(AUTHORIZATION, value)
            .send()
            .await
            .unwrap();
        let body = scim_error(res, StatusCode::NOT_FOUND).await;
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains("/scim/v2/NoSuchThing"));
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let (token, secret) = app
        .store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    app.store
        .revoke_scim_token(token.id, Actor::System)
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url("/scim/v2/Users"))
        .header(AUTHORIZATION, format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    scim_error(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_token_over_its_rate_gets_a_scim_429_with_retry_after() {
    let app = TestApp::spawn_with(common::Options {
        scim_rate_per_second: 2,
        ..Default::default()
    })
    .await;
    let (_, secret) = app
        .store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let res = app
            .client
            .get(app.url("/scim/v2/ServiceProviderConfig"))
            .header(AUTHORIZATION, format!("Bearer {secret}"))
            .send()
            .await
            .unwrap();
        statuses.push(res.status());
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = Some(res.headers()["retry-after"].to_str().unwrap().to_string());
            scim_error(res, StatusCode::TOO_MANY_REQUESTS).await;
        }
    }
    assert_eq!(
        &statuses[..4],
        &[StatusCode::OK; 4],
        "a burst of twice the rate passes"
    );
    assert!(
        statuses[4..].contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn a_flood_of_refused_requests_records_one_event_a_minute() {
    let app = TestApp::spawn().await;
    for _ in 0..20 {
        let res = app
            .client
            .get(app.url("/scim/v2/Users"))
            .header(AUTHORIZATION, "Bearer gh_scim_flood")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let events = app.store.recent_events(50).await.unwrap();
    let refusals = events
        .iter()
        .filter(|e| e.action == "scim.authentication")
        .count();
    assert_eq!(
        refusals, 1,
        "20 refusals from one address in a minute are one event"
    );
}
