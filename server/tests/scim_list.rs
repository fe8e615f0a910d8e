//! Listing, filtering and discovery over HTTP: what Okta's import and "Test Connector"
//! calls do.

mod common;

use common::ScimClient as Scim;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn users(scim: &Scim, n: usize) {
    for i in 0..n {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("User{i:02}@Example.com"),
            "externalId": format!("00u{i:02}"),
            "emails": [{"value": format!("user{i:02}@example.com"), "type": "work", "primary": true}],
            "active": i % 2 == 0
        });
        let (status, _) = scim.call(Method::POST, "/Users", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
}

fn q(s: &str) -> String {
    s.replace(' ', "%20").replace('"', "%22")
}

#[tokio::test]
async fn okta_looks_a_user_up_by_username_ignoring_case() {
    let scim = Scim::new().await;
    users(&scim, 3).await;
    let (status, list) = scim
        .call(
            Method::GET,
            &format!(
                "/Users?filter={}&startIndex=1&count=100",
                q(r#"userName eq "user01@example.com""#)
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["itemsPerPage"], 1);
    assert_eq!(list["startIndex"], 1);
    assert_eq!(list["Resources"][0]["userName"], "User01@Example.com");

    let (_, none) = scim
        .call(
            Method::GET,
            &format!("/Users?filter={}", q(r#"userName eq "nobody@example.com""#)),
            None,
        )
        .await;
    assert_eq!(none["totalResults"], 0);
    assert_eq!(none["Resources"], json!([]));
}

#[tokio::test]
async fn pages_are_stable_and_count_zero_gives_only_the_total() {
    let scim = Scim::new().await;
    users(&scim, 5).await;
    let (_, first) = scim
        .call(Method::GET, "/Users?startIndex=1&count=2", None)
        .await;
    let (_, second) = scim
        .call(Method::GET, "/Users?startIndex=3&count=2", None)
        .await;
    let (_, third) = scim
        .call(Method::GET, "/Users?startIndex=5&count=2", None)
        .await;
    assert_eq!(first["totalResults"], 5);
    let names: Vec<&str> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userName"].as_str().unwrap())
        })
        .collect();
    assert_eq!(names.len(), 5);
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no user twice across pages: {names:?}");

    let (_, only_total) = scim.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(only_total["totalResults"], 5);
    assert_eq!(only_total["itemsPerPage"], 0);
    let (status, odd) = scim
        .call(Method::GET, "/Users?startIndex=-4&count=-1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(odd["startIndex"], 1);
    assert_eq!(odd["itemsPerPage"], 0);
    let (status, err) = scim.call(Method::GET, "/Users?count=lots", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["detail"].as_str().unwrap().contains("count"));
}

#[tokio::test]
async fn filters_and_sorting_run_in_the_database() {
    let scim = Scim::new().await;
    users(&scim, 4).await;
    let (_, active) = scim
        .call(
            Method::GET,
            &format!("/Users?filter={}", q("active eq false")),
            None,
        )
        .await;
    assert_eq!(active["totalResults"], 2);
    let (_, work) = scim
        .call(
            Method::GET,
            &format!(
                "/Users?filter={}",
                q(r#"emails[type eq "work" and value sw "user03"]"#)
            ),
            None,
        )
        .await;
    assert_eq!(work["totalResults"], 1);
    let (_, sorted) = scim
        .call(
            Method::GET,
            "/Users?sortBy=userName&sortOrder=descending",
            None,
        )
        .await;
    assert_eq!(sorted["Resources"][0]["userName"], "User03@Example.com");
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "externalId eq \"00u02\"", "attributes": ["userName"]});
    let (status, found) = scim
        .call(Method::POST, "/Users/.search", Some(&search))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], 1);
    assert!(found["Resources"][0].get("emails").is_none());
}

#[tokio::test]
async fn a_malformed_filter_is_a_400_invalid_filter_naming_the_problem() {
    let scim = Scim::new().await;
    for filter in [
        r#"userName eq"#,
        r#"userName equals "x""#,
        r#"noSuchAttribute eq "x""#,
        r#"userName eq "x" and"#,
    ] {
        let (status, err) = scim
            .call(Method::GET, &format!("/Users?filter={}", q(filter)), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}");
        assert_eq!(err["scimType"], "invalidFilter", "{filter}: {err}");
        assert!(!err["detail"].as_str().unwrap().is_empty());
    }
    let (status, _) = scim
        .call(
            Method::GET,
            &format!(
                "/Users?filter={}",
                q(r#"userName eq "x'; DROP TABLE users; --""#)
            ),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "quotes and SQL in a value are just a value"
    );
    let (_, still) = scim.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(still["totalResults"], 0);
}

#[tokio::test]
async fn okta_finds_a_pushed_group_by_name_without_its_members() {
    let scim = Scim::new().await;
    let push = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"});
    scim.call(Method::POST, "/Groups", Some(&push)).await;
    let (_, list) = scim
        .call(
            Method::GET,
            &format!(
                "/Groups?filter={}&excludedAttributes=members",
                q(r#"displayName eq "engineering""#)
            ),
            None,
        )
        .await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none());
}

#[tokio::test]
async fn discovery_describes_what_is_supported() {
    let scim = Scim::new().await;
    let (status, spc) = scim.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["changePassword"]["supported"], false);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let (_, types) = scim.call(Method::GET, "/ResourceTypes", None).await;
    assert_eq!(types["totalResults"], 2);
    let (_, user_type) = scim.call(Method::GET, "/ResourceTypes/User", None).await;
    assert_eq!(
        user_type["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );

    let (_, schemas) = scim.call(Method::GET, "/Schemas", None).await;
    assert_eq!(schemas["totalResults"], 3);
    let (status, user) = scim
        .call(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let user_name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    let (status, _) = scim.call(Method::GET, "/Schemas/urn:nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
