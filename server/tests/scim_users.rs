//! `/scim/v2/Users` over HTTP, one test per request shape Okta sends.

mod common;

use common::ScimClient as Scim;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "password": "t1meMa$heen",
        "active": true
    })
}

#[tokio::test]
async fn okta_creates_a_user() {
    let scim = Scim::new().await;
    let (status, headers, body) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("ada@example.com")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        headers[LOCATION].to_str().unwrap(),
        format!("{}/scim/v2/Users/{id}", scim.app.base)
    );
    assert_eq!(headers[ETAG], "W/\"1\"");
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(body["meta"]["version"], "W/\"1\"");
    assert_eq!(body["userName"], "ada@example.com");
    assert_eq!(body["active"], true);
    assert!(body.get("password").is_none());
}

#[tokio::test]
async fn okta_reads_a_user_and_gets_back_what_it_wrote() {
    let scim = Scim::new().await;
    let (_, _, created) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("ada@example.com")),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let res = scim
        .req(reqwest::Method::GET, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    for key in [
        "userName",
        "name",
        "emails",
        "displayName",
        "locale",
        "externalId",
        "active",
    ] {
        assert_eq!(body[key], okta_user("ada@example.com")[key], "{key}");
    }
    let slim: Value = scim
        .req(
            reqwest::Method::GET,
            &format!("/Users/{id}?excludedAttributes=name,emails"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(slim.get("name").is_none() && slim.get("emails").is_none());
    assert_eq!(slim["id"], id);
}

#[tokio::test]
async fn a_duplicate_username_is_a_409_uniqueness() {
    let scim = Scim::new().await;
    scim.send_json(
        reqwest::Method::POST,
        "/Users",
        Some(&okta_user("ada@example.com")),
    )
    .await;
    let (status, _, body) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("Ada@Example.COM")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["scimType"], "uniqueness");
    assert_eq!(body["status"], "409");
}

#[tokio::test]
async fn okta_updates_with_put_and_deactivates_with_patch() {
    let scim = Scim::new().await;
    let (_, _, created) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("ada@example.com")),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();

    let mut put = created.clone();
    put["name"]["familyName"] = json!("Byron");
    let (status, _, updated) = scim
        .send_json(reqwest::Method::PUT, &format!("/Users/{id}"), Some(&put))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"]["familyName"], "Byron");

    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    let (status, _, patched) = scim
        .send_json(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(&deactivate),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["active"], false);
    assert_eq!(patched["meta"]["version"], "W/\"3\"");
}

#[tokio::test]
async fn a_stale_if_match_is_a_412() {
    let scim = Scim::new().await;
    let (_, _, created) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("ada@example.com")),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let res = scim
        .req(reqwest::Method::PUT, &format!("/Users/{id}"))
        .header(CONTENT_TYPE, "application/scim+json")
        .header(IF_MATCH, "W/\"7\"")
        .body(created.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn delete_is_a_204_and_then_the_user_is_gone() {
    let scim = Scim::new().await;
    let (_, _, created) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("ada@example.com")),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let res = scim
        .req(reqwest::Method::DELETE, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = scim
        .req(reqwest::Method::GET, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/scim+json");
}

#[tokio::test]
async fn bad_bodies_are_scim_400s_that_write_nothing() {
    let scim = Scim::new().await;
    let cases: Vec<(&str, &str, &str)> = vec![
        ("application/scim+json", "{not json", "not valid JSON"),
        ("text/plain", r#"{"userName":"x"}"#, "application/scim+json"),
        (
            "application/json",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}"#,
            "userName",
        ),
        (
            "application/json",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":{"first":"x"}}"#,
            "userName",
        ),
        ("application/json", "[1,2,3]", "JSON object"),
    ];
    for (content_type, body, mentions) in cases {
        let res = scim
            .req(reqwest::Method::POST, "/Users")
            .header(CONTENT_TYPE, content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = res.json().await.unwrap();
        assert!(
            err["detail"].as_str().unwrap().contains(mentions),
            "{body}: {err}"
        );
    }
    let users = scim.app.store.recent_events(50).await.unwrap();
    assert!(users.iter().all(|e| e.action != "user.created"));
    assert!(
        users.iter().filter(|e| e.action == "user.create").count() >= 5,
        "refusals are events"
    );
}

#[tokio::test]
async fn an_oversized_body_is_a_scim_413() {
    let scim = Scim::new().await;
    let mut user = okta_user("big@example.com");
    user["displayName"] = json!("x".repeat(2 * 1024 * 1024));
    let (status, _, body) = scim
        .send_json(reqwest::Method::POST, "/Users", Some(&user))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["status"], "413");
}

#[tokio::test]
async fn the_etag_is_sent_even_when_meta_is_projected_away() {
    let scim = Scim::new().await;
    let (_, _, created) = scim
        .send_json(
            reqwest::Method::POST,
            "/Users",
            Some(&okta_user("ada@example.com")),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let res = scim
        .req(
            reqwest::Method::GET,
            &format!("/Users/{id}?attributes=userName"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[ETAG], "W/\"1\"");
    let body: Value = res.json().await.unwrap();
    assert!(body.get("meta").is_none() && body.get("name").is_none());
}
