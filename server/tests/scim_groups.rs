//! `/scim/v2/Groups` over HTTP: Okta's Group Push shapes.

mod common;

use common::ScimClient as Scim;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn user(scim: &Scim, name: &str) -> String {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    let (status, user) = scim.call(Method::POST, "/Users", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    user["id"].as_str().unwrap().to_string()
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test]
async fn okta_group_push_rename_and_membership() {
    let scim = Scim::new().await;
    let ada = user(&scim, "ada@example.com").await;
    let bob = user(&scim, "bob@example.com").await;

    let push = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": []});
    let (status, group) = scim.call(Method::POST, "/Groups", Some(&push)).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["meta"]["resourceType"], "Group");

    let add = patch(
        json!([{"op": "add", "path": "members", "value": [{"value": ada, "display": "ada@example.com"}, {"value": bob}]}]),
    );
    let (status, group) = scim
        .call(Method::PATCH, &format!("/Groups/{id}"), Some(&add))
        .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    // A PATCH answers with the group but lists its members only when asked to.
    assert!(group.get("members").is_none(), "{group}");
    assert_eq!(group["displayName"], "Engineering");
    let (_, read) = scim.call(Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(read["members"].as_array().unwrap().len(), 2, "{read}");

    let remove = patch(json!([{"op": "remove", "path": format!("members[value eq \"{ada}\"]")}]));
    let (_, group) = scim
        .call(
            Method::PATCH,
            &format!("/Groups/{id}?attributes=members,displayName"),
            Some(&remove),
        )
        .await;
    assert_eq!(group["members"].as_array().unwrap().len(), 1, "{group}");
    assert_eq!(group["members"][0]["value"], bob);

    let rename = patch(json!([{"op": "replace", "value": {"id": id, "displayName": "Eng"}}]));
    let (_, group) = scim
        .call(Method::PATCH, &format!("/Groups/{id}"), Some(&rename))
        .await;
    assert_eq!(group["displayName"], "Eng");

    let (_, slim) = scim
        .call(
            Method::GET,
            &format!("/Groups/{id}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(slim.get("members").is_none());
    assert_eq!(slim["displayName"], "Eng");

    let (_, bob_user) = scim.call(Method::GET, &format!("/Users/{bob}"), None).await;
    assert_eq!(bob_user["groups"][0]["value"], id);
    assert_eq!(bob_user["groups"][0]["display"], "Eng");

    let (status, _) = scim
        .call(Method::DELETE, &format!("/Groups/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = scim.call(Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["status"], "404");
}

#[tokio::test]
async fn a_patch_that_cannot_apply_is_a_400_never_a_silent_200() {
    let scim = Scim::new().await;
    let push =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"});
    let (_, group) = scim.call(Method::POST, "/Groups", Some(&push)).await;
    let id = group["id"].as_str().unwrap();
    for (ops, scim_type) in [
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "nonsense[[", "value": 1}]),
            "invalidPath",
        ),
        (
            json!([{"op": "frobnicate", "path": "displayName", "value": "x"}]),
            "invalidSyntax",
        ),
    ] {
        let (status, err) = scim
            .call(
                Method::PATCH,
                &format!("/Groups/{id}"),
                Some(&patch(ops.clone())),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ops}: {err}");
        assert_eq!(err["scimType"], scim_type, "{ops}: {err}");
    }
}
