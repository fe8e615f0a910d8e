//! `/scim/v2` over HTTP as Microsoft Entra ID's provisioning service calls it, on SQLite and
//! PostgreSQL.
//!
//! The request bodies are the ones Microsoft documents in "Tutorial: Develop and plan
//! provisioning for a SCIM endpoint" (use-scim-to-provision-users-and-groups) and "Known
//! issues with SCIM 2.0 protocol compliance" (both shapes: Entra's default, with `Replace`,
//! `"False"` and member removal by value list, and the `aadOptscim062020` flag's RFC
//! shapes). Every write is checked twice: by its status and by reading the resource back.

mod common;

use common::{Options, ScimClient, TestApp};
use gatehouse_domain::event::Actor;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A server on SQLite or PostgreSQL with a token named as an Entra admin would name it.
async fn entra(postgres: bool) -> ScimClient {
    let app = TestApp::spawn_with(Options {
        postgres,
        ..Options::default()
    })
    .await;
    let (_, token) = app
        .store
        .create_scim_token("Entra ID", None, Actor::System)
        .await
        .unwrap();
    ScimClient { app, token }
}

/// Both databases, labelled for assertion messages.
const DATABASES: [(bool, &str); 2] = [(false, "sqlite"), (true, "postgres")];

/// Percent-encodes a query parameter value the way Entra's HTTP client does (everything
/// but RFC 3986's unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// Entra's "Create User" request, with the Enterprise extension attributes its default
/// mapping sends (department, employeeId → employeeNumber).
fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Test User",
        "emails": [{
            "primary": true,
            "type": "work",
            "value": format!("work.{user_name}")
        }],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": [],
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "701984"}
    })
}

async fn create_user(scim: &ScimClient, user_name: &str, external_id: &str, db: &str) -> String {
    let (status, user) = scim
        .call(
            Method::POST,
            "/Users",
            Some(&entra_user(user_name, external_id)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{db}: {user}");
    user["id"].as_str().expect("an id").to_owned()
}

async fn get_user(scim: &ScimClient, id: &str, db: &str) -> Value {
    let (status, user) = scim.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{db}: {user}");
    user
}

async fn get_group(scim: &ScimClient, id: &str, db: &str) -> Value {
    let (status, group) = scim.call(Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{db}: {group}");
    group
}

/// `GET {endpoint}?filter=…` (with any extra query), checked to be a ListResponse with
/// integer counts; returns the resources.
async fn list(
    scim: &ScimClient,
    endpoint: &str,
    filter: &str,
    extra: &str,
    db: &str,
) -> Vec<Value> {
    let (status, body) = scim
        .call(
            Method::GET,
            &format!("{endpoint}?{extra}filter={}", encode(filter)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{db}: {filter}: {body}");
    assert_eq!(body["schemas"], json!([LIST]), "{db}");
    let resources = body["Resources"].as_array().expect("Resources").clone();
    assert_eq!(
        body["totalResults"],
        json!(resources.len()),
        "{db}: {filter}"
    );
    assert!(
        body["startIndex"].is_u64() && body["itemsPerPage"].is_u64(),
        "{db}: {body}"
    );
    resources
}

async fn patch_user(scim: &ScimClient, id: &str, operations: Value, db: &str) -> Value {
    let (status, body) = scim
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&patch(operations.clone())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{db}: {operations}: {body}");
    body
}

async fn patch_group(scim: &ScimClient, id: &str, operations: Value, db: &str) -> Value {
    let (status, body) = scim
        .call(
            Method::PATCH,
            &format!("/Groups/{id}"),
            Some(&patch(operations.clone())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{db}: {operations}: {body}");
    body
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------
// Test Connection.
// ---------------------------------------------------------------------------------------

/// "Test Connection" looks up a user and a group that cannot exist (random GUIDs), and
/// needs a 200 with an empty ListResponse, not a 404 or an error.
#[tokio::test]
async fn entra_test_connection_queries_a_random_user_and_group() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        create_user(&scim, "someone@contoso.com", "ext-1", db).await;
        let random = uuid::Uuid::new_v4().to_string();

        let users = list(
            &scim,
            "/Users",
            &format!("userName eq \"{random}\""),
            "",
            db,
        )
        .await;
        assert!(users.is_empty(), "{db}: {users:?}");
        let groups = list(
            &scim,
            "/Groups",
            &format!("displayName eq \"{random}\""),
            "excludedAttributes=members&",
            db,
        )
        .await;
        assert!(groups.is_empty(), "{db}: {groups:?}");

        // Without the token the same request is a SCIM 401, which is what makes the test
        // fail in Entra's UI when the secret is wrong.
        let res = scim
            .app
            .client
            .get(scim.app.url(&format!(
                "/scim/v2/Users?filter={}",
                encode(&format!("userName eq \"{random}\""))
            )))
            .header(reqwest::header::AUTHORIZATION, "Bearer wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{db}");
    }
}

// ---------------------------------------------------------------------------------------
// Users.
// ---------------------------------------------------------------------------------------

/// Entra's create request (`"active": true`, the Enterprise extension, the read-only
/// `meta` echo, an empty `roles`), then the lookups it makes to match users: by
/// `userName` and by `externalId` (its matching attributes), and by the work email.
#[tokio::test]
async fn entra_creates_a_user_and_finds_it_by_its_matching_attributes() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let user_name = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@contoso.com";
        let external_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
        let (status, headers, created) = scim
            .send_json(
                Method::POST,
                "/Users",
                Some(&entra_user(user_name, external_id)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db}: {created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(headers.contains_key(reqwest::header::LOCATION), "{db}");

        let user = get_user(&scim, &id, db).await;
        assert_eq!(user["userName"], user_name, "{db}");
        assert_eq!(user["externalId"], external_id, "{db}");
        assert_eq!(user["active"], true, "{db}");
        assert_eq!(user["name"]["givenName"], "givenName", "{db}");
        assert_eq!(user["name"]["formatted"], "givenName familyName", "{db}");
        assert_eq!(user["emails"][0]["type"], "work", "{db}");
        assert_eq!(user[ENTERPRISE]["department"], "Engineering", "{db}");
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984", "{db}");
        assert!(
            user["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(ENTERPRISE)),
            "{db}: {user}"
        );
        assert_eq!(user["meta"]["resourceType"], "User", "{db}");
        assert!(
            user.get("roles").is_none(),
            "{db}: an empty list is not stored"
        );

        let by_name = list(
            &scim,
            "/Users",
            &format!("userName eq \"{user_name}\""),
            "",
            db,
        )
        .await;
        assert_eq!(by_name.len(), 1, "{db}");
        assert_eq!(by_name[0]["id"], id.as_str(), "{db}");
        let by_external_id = list(
            &scim,
            "/Users",
            &format!("externalId eq \"{external_id}\""),
            "",
            db,
        )
        .await;
        assert_eq!(by_external_id.len(), 1, "{db}");
        assert_eq!(by_external_id[0]["id"], id.as_str(), "{db}");
        // externalId is case-exact: Entra's object ids differ from each other, not in case.
        let upper = list(
            &scim,
            "/Users",
            &format!("externalId eq \"{}\"", external_id.to_uppercase()),
            "",
            db,
        )
        .await;
        assert!(upper.is_empty(), "{db}");
        // Entra's `and`, the only other operator it uses.
        let both = list(
            &scim,
            "/Users",
            &format!("userName eq \"{user_name}\" and externalId eq \"{external_id}\""),
            "",
            db,
        )
        .await;
        assert_eq!(both.len(), 1, "{db}");
        // When the work email is a matching attribute, Entra filters on it as the docs
        // spell it, with the sub-attribute after the brackets.
        let by_email = list(
            &scim,
            "/Users",
            &format!("emails[type eq \"work\"].value eq \"work.{user_name}\""),
            "",
            db,
        )
        .await;
        assert_eq!(by_email.len(), 1, "{db}");
        assert_eq!(by_email[0]["id"], id.as_str(), "{db}");
        let other_type = list(
            &scim,
            "/Users",
            &format!("emails[type eq \"home\"].value eq \"work.{user_name}\""),
            "",
            db,
        )
        .await;
        assert!(other_type.is_empty(), "{db}");
    }
}

/// Entra's default "Disable User": `Replace`, with the boolean as the string `"False"`;
/// and back with `"True"`. With the `aadOptscim062020` flag, a real boolean.
#[tokio::test]
async fn entra_disables_and_enables_a_user_with_string_booleans() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let id = create_user(&scim, "ada@contoso.com", "ext-ada", db).await;

        let answer = patch_user(
            &scim,
            &id,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            db,
        )
        .await;
        assert_eq!(answer["active"], false, "{db}: the answer is the new state");
        assert_eq!(get_user(&scim, &id, db).await["active"], false, "{db}");
        let inactive = list(&scim, "/Users", "active eq false", "", db).await;
        assert_eq!(inactive.len(), 1, "{db}");

        patch_user(
            &scim,
            &id,
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
            db,
        )
        .await;
        assert_eq!(get_user(&scim, &id, db).await["active"], true, "{db}");

        patch_user(
            &scim,
            &id,
            json!([{"op": "replace", "path": "active", "value": false}]),
            db,
        )
        .await;
        let user = get_user(&scim, &id, db).await;
        assert_eq!(user["active"], false, "{db}");
        // Nothing else moved.
        assert_eq!(user["userName"], "ada@contoso.com", "{db}");
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984", "{db}");

        // A string that is not a boolean is refused, and changes nothing.
        let (status, err) = scim
            .call(
                Method::PATCH,
                &format!("/Users/{id}"),
                Some(&patch(
                    json!([{"op": "Replace", "path": "active", "value": "Yes"}]),
                )),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{db}: {err}");
        assert_eq!(err["scimType"], "invalidValue", "{db}");
        assert_eq!(get_user(&scim, &id, db).await["active"], false, "{db}");
    }
}

/// "Requests to replace multiple attributes", without the flag: one `Replace` per
/// attribute, with value-filter, dotted and URN-qualified paths.
#[tokio::test]
async fn entra_replaces_several_attributes_one_path_each() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let id = create_user(&scim, "bob@contoso.com", "ext-bob", db).await;
        let before = get_user(&scim, &id, db).await;

        patch_user(
            &scim,
            &id,
            json!([
                {"op": "Replace", "path": "displayName", "value": "Pvlo"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
                {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
                {"op": "Replace", "path": "externalId", "value": "Eqpj"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "Eqpj"}
            ]),
            db,
        )
        .await;

        let user = get_user(&scim, &id, db).await;
        assert_eq!(user["displayName"], "Pvlo", "{db}");
        assert_eq!(
            user["emails"],
            json!([{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": true}]),
            "{db}: only the value of the work email changes"
        );
        assert_eq!(
            user["name"],
            json!({"formatted": "givenName familyName", "givenName": "Gtfd", "familyName": "Pkqf"}),
            "{db}"
        );
        assert_eq!(user["externalId"], "Eqpj", "{db}");
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "Eqpj", "{db}");
        assert_eq!(user[ENTERPRISE]["department"], "Engineering", "{db}");
        assert_eq!(user["userName"], before["userName"], "{db}");
        assert_ne!(user["meta"]["version"], before["meta"]["version"], "{db}");

        // The new externalId is what Entra will match on next time.
        let found = list(&scim, "/Users", "externalId eq \"Eqpj\"", "", db).await;
        assert_eq!(found.len(), 1, "{db}");
        assert!(list(&scim, "/Users", "externalId eq \"ext-bob\"", "", db)
            .await
            .is_empty());
    }
}

/// The same update with the `aadOptscim062020` flag: the work email by path, everything
/// else in one path-less `replace` whose keys are plain, dotted and URN-qualified.
#[tokio::test]
async fn entra_replaces_several_attributes_with_a_pathless_value() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let id = create_user(&scim, "carol@contoso.com", "ext-carol", db).await;

        patch_user(
            &scim,
            &id,
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
                {"op": "replace", "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    format!("{ENTERPRISE}:employeeNumber"): "Aklq"
                }}
            ]),
            db,
        )
        .await;

        let user = get_user(&scim, &id, db).await;
        assert_eq!(user["displayName"], "Bjfe", "{db}");
        assert_eq!(user["name"]["givenName"], "Kkom", "{db}");
        assert_eq!(user["name"]["familyName"], "Unua", "{db}");
        assert_eq!(user["name"]["formatted"], "givenName familyName", "{db}");
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "Aklq", "{db}");
        assert_eq!(
            user["emails"][0]["value"], "TestMhvaes@test.microsoft.com",
            "{db}"
        );
        assert_eq!(user["emails"][0]["primary"], true, "{db}");
    }
}

/// Entra adds attributes a user did not have with `Add`: a plain string attribute, a
/// value in a multi-valued attribute selected by a filter that matches nothing yet (the
/// value is created), the manager as a bare id, and `userName` is replaced like any
/// single-valued attribute.
#[tokio::test]
async fn entra_adds_attributes_the_user_did_not_have() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let manager = create_user(&scim, "boss@contoso.com", "ext-boss", db).await;
        let id = create_user(&scim, "dan@contoso.com", "ext-dan", db).await;
        let before = get_user(&scim, &id, db).await;
        assert!(before.get("nickName").is_none() && before.get("phoneNumbers").is_none());

        patch_user(
            &scim,
            &id,
            json!([
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"op": "Add", "path": "title", "value": "Engineer"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "+1 555 0199"},
                {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
                {"op": "Add", "value": {format!("{ENTERPRISE}:manager"): manager}}
            ]),
            db,
        )
        .await;

        let user = get_user(&scim, &id, db).await;
        assert_eq!(user["nickName"], "Babs", "{db}");
        assert_eq!(user["title"], "Engineer", "{db}");
        let mut phones = user["phoneNumbers"].as_array().unwrap().clone();
        phones.sort_by_key(|p| p["type"].as_str().unwrap().to_owned());
        assert_eq!(
            phones,
            vec![
                json!({"type": "fax", "value": "+1 555 0199"}),
                json!({"type": "mobile", "value": "+1 555 0100"})
            ],
            "{db}"
        );
        assert_eq!(
            user["addresses"],
            json!([{"type": "work", "postalCode": "98052"}]),
            "{db}"
        );
        assert_eq!(
            user[ENTERPRISE]["manager"]["value"],
            manager.as_str(),
            "{db}"
        );
        assert_eq!(user[ENTERPRISE]["department"], "Engineering", "{db}");

        // Adding the same values again changes nothing: same version.
        let version = user["meta"]["version"].clone();
        patch_user(
            &scim,
            &id,
            json!([
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}
            ]),
            db,
        )
        .await;
        assert_eq!(
            get_user(&scim, &id, db).await["meta"]["version"],
            version,
            "{db}"
        );

        // "Update User [Single-valued properties]": a new userName.
        patch_user(
            &scim,
            &id,
            json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]),
            db,
        )
        .await;
        let renamed = list(
            &scim,
            "/Users",
            "userName eq \"5B50642D-79FC-4410-9E90-4C077CDD1A59@testuser.com\"",
            "",
            db,
        )
        .await;
        assert_eq!(renamed.len(), 1, "{db}: userName matches ignoring case");
        assert_eq!(renamed[0]["id"], id.as_str(), "{db}");
        assert!(
            list(&scim, "/Users", "userName eq \"dan@contoso.com\"", "", db)
                .await
                .is_empty()
        );
    }
}

/// Entra deletes users it no longer provisions (unlike Okta): 204, then 404, and the user
/// is gone from lists and from the groups it was in.
#[tokio::test]
async fn entra_deletes_a_user() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let id = create_user(&scim, "erin@contoso.com", "ext-erin", db).await;
        let other = create_user(&scim, "finn@contoso.com", "ext-finn", db).await;
        let (status, group) = scim
            .call(
                Method::POST,
                "/Groups",
                Some(&json!({"schemas": [GROUP], "displayName": "Sales", "members": [{"value": id}, {"value": other}]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db}: {group}");
        let group_id = group["id"].as_str().unwrap().to_owned();

        let (status, body) = scim
            .call(Method::DELETE, &format!("/Users/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{db}: {body}");

        let (status, err) = scim.call(Method::GET, &format!("/Users/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db}");
        assert_eq!(err["status"], "404", "{db}");
        assert!(
            list(&scim, "/Users", "userName eq \"erin@contoso.com\"", "", db)
                .await
                .is_empty()
        );
        assert_eq!(
            member_ids(&get_group(&scim, &group_id, db).await),
            sorted(&[&other]),
            "{db}"
        );
        // The other user is untouched, and a second DELETE is a 404.
        assert_eq!(
            get_user(&scim, &other, db).await["userName"],
            "finn@contoso.com"
        );
        let (status, _) = scim
            .call(Method::DELETE, &format!("/Users/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db}");
        // The same userName can be provisioned again.
        create_user(&scim, "erin@contoso.com", "ext-erin", db).await;
    }
}

// ---------------------------------------------------------------------------------------
// Groups.
// ---------------------------------------------------------------------------------------

/// Entra's "Create Group" (with its own ADSCIM schema URN next to the core one, and the
/// read-only `meta` echo), the lookups it makes (`excludedAttributes=members`, by id and
/// by `displayName`), members added by value list (with `"$ref": null`), a rename with
/// `Replace` on `displayName`, members removed by value list and by value filter, and the
/// delete.
#[tokio::test]
async fn entra_group_lifecycle() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let ada = create_user(&scim, "ada@contoso.com", "ext-ada", db).await;
        let bob = create_user(&scim, "bob@contoso.com", "ext-bob", db).await;
        let cy = create_user(&scim, "cy@contoso.com", "ext-cy", db).await;

        let create = json!({
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"}
        });
        let (status, created) = scim.call(Method::POST, "/Groups", Some(&create)).await;
        assert_eq!(status, StatusCode::CREATED, "{db}: {created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(
            created["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "{db}"
        );

        let (status, slim) = scim
            .call(
                Method::GET,
                &format!("/Groups/{id}?excludedAttributes=members"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db}");
        assert!(slim.get("members").is_none(), "{db}: {slim}");
        assert_eq!(slim["displayName"], "displayName", "{db}");
        let found = list(
            &scim,
            "/Groups",
            "displayName eq \"displayName\"",
            "excludedAttributes=members&",
            db,
        )
        .await;
        assert_eq!(found.len(), 1, "{db}");
        assert_eq!(found[0]["id"], id.as_str(), "{db}");
        assert!(found[0].get("members").is_none(), "{db}");

        // "Update Group [Add Members]".
        patch_group(
            &scim,
            &id,
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": ada}]}]),
            db,
        )
        .await;
        patch_group(
            &scim,
            &id,
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": bob}, {"$ref": null, "value": cy}]}]),
            db,
        )
        .await;
        assert_eq!(
            member_ids(&get_group(&scim, &id, db).await),
            sorted(&[&ada, &bob, &cy]),
            "{db}"
        );
        assert_eq!(
            get_user(&scim, &bob, db).await["groups"][0]["value"],
            id.as_str()
        );

        // "Update Group [Non-member attributes]".
        patch_group(
            &scim,
            &id,
            json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
            db,
        )
        .await;
        let group = get_group(&scim, &id, db).await;
        assert_eq!(
            group["displayName"], "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
            "{db}"
        );
        assert_eq!(
            member_ids(&group),
            sorted(&[&ada, &bob, &cy]),
            "{db}: the rename kept the members"
        );
        assert!(
            list(&scim, "/Groups", "displayName eq \"displayName\"", "", db)
                .await
                .is_empty()
        );

        // "Update Group [Remove Members]", Entra's default: the member in `value`. It must
        // remove only that member (an RFC reading of a path-only remove would empty the
        // group).
        patch_group(
            &scim,
            &id,
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": ada}]}]),
            db,
        )
        .await;
        assert_eq!(
            member_ids(&get_group(&scim, &id, db).await),
            sorted(&[&bob, &cy]),
            "{db}"
        );
        // Removing a member who is no longer there is a no-op, not an error.
        patch_group(
            &scim,
            &id,
            json!([{"op": "Remove", "path": "members", "value": [{"value": ada}]}]),
            db,
        )
        .await;
        // With the flag: the RFC's value filter.
        patch_group(
            &scim,
            &id,
            json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]),
            db,
        )
        .await;
        assert_eq!(
            member_ids(&get_group(&scim, &id, db).await),
            sorted(&[&cy]),
            "{db}"
        );
        assert!(
            get_user(&scim, &bob, db).await.get("groups").is_none(),
            "{db}"
        );

        // "Delete Group".
        let (status, _) = scim
            .call(Method::DELETE, &format!("/Groups/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{db}");
        let (status, _) = scim.call(Method::GET, &format!("/Groups/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db}");
        // Its members are still users.
        assert_eq!(get_user(&scim, &cy, db).await["userName"], "cy@contoso.com");
        assert!(
            get_user(&scim, &cy, db).await.get("groups").is_none(),
            "{db}"
        );
    }
}

/// Members named in a PATCH must be users: an unknown id fails the whole PATCH with a 400
/// that names it, and the group is as it was.
#[tokio::test]
async fn entra_adding_an_unknown_member_changes_nothing() {
    for (postgres, db) in DATABASES {
        let scim = entra(postgres).await;
        let ada = create_user(&scim, "ada@contoso.com", "ext-ada", db).await;
        let (_, group) = scim
            .call(
                Method::POST,
                "/Groups",
                Some(&json!({"schemas": [GROUP], "displayName": "Ops"})),
            )
            .await;
        let id = group["id"].as_str().unwrap().to_owned();
        let ghost = uuid::Uuid::new_v4().to_string();
        let (status, err) = scim
            .call(
                Method::PATCH,
                &format!("/Groups/{id}"),
                Some(&patch(json!([
                    {"op": "Add", "path": "members", "value": [{"value": ada}, {"value": ghost}]},
                    {"op": "Replace", "path": "displayName", "value": "Ops 2"}
                ]))),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{db}: {err}");
        assert_eq!(err["scimType"], "invalidValue", "{db}");
        assert!(
            err["detail"].as_str().unwrap().contains(&ghost),
            "{db}: {err}"
        );
        let group = get_group(&scim, &id, db).await;
        assert_eq!(group["displayName"], "Ops", "{db}");
        assert!(member_ids(&group).is_empty(), "{db}: {group}");
    }
}
