//! End-user sign-in over HTTP, on SQLite and PostgreSQL: Okta provisions a user and a group
//! over SCIM, an admin gives the group a SAML profile, the user signs in at `/login` and
//! comes back through the ACS with a response signed by the test IdP's fixed key. Then the
//! things that must fail do: replay, another browser, another profile, a deactivated user.

mod common;

use base64::Engine as _;
use common::{Options, ScimClient, TestApp};
use gatehouse_domain::auth_profile::AuthProfile;
use gatehouse_domain::event::Actor;
use gatehouse_domain::fetch::FetchPolicy;
use gatehouse_domain::saml::testing::{ResponseSpec, TestIdp};
use gatehouse_domain::saml_profiles::{self, MetadataSource};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::io::Read as _;

const IDP_SSO_URL: &str = "https://idp.example.test/app/gatehouse/sso/saml";

struct World {
    scim: ScimClient,
    profile: AuthProfile,
    user_id: String,
}

async fn world(postgres: bool) -> World {
    let app = TestApp::spawn_with(Options {
        postgres,
        ..Options::default()
    })
    .await;
    let (_, token) = app
        .store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    let scim = ScimClient { app, token };
    let (status, user) = scim
        .call(
            Method::POST,
            "/Users",
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@example.com",
                "name": {"givenName": "Alice", "familyName": "Liddell"},
                "emails": [{"value": "alice@example.com", "primary": true, "type": "work"}],
                "active": true
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let user_id = user["id"].as_str().unwrap().to_string();
    let (status, _) = scim
        .call(
            Method::POST,
            "/Groups",
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": user_id}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let profile = profile_for(&scim.app, "Okta", Some("Engineering")).await;
    World {
        scim,
        profile,
        user_id,
    }
}

/// A profile with the fixed test IdP's metadata, optionally assigned to a group.
async fn profile_for(app: &TestApp, name: &str, group: Option<&str>) -> AuthProfile {
    let store = &app.store;
    let profile = saml_profiles::create_profile(store, &app.sealer, name, "", Actor::System)
        .await
        .unwrap();
    let metadata = TestIdp::fixed().metadata_xml(IDP_SSO_URL);
    let profile = saml_profiles::import_metadata(
        store,
        profile.id,
        MetadataSource::Xml(metadata),
        FetchPolicy::default(),
        None,
        false,
        Actor::System,
    )
    .await
    .unwrap();
    if let Some(group) = group {
        let group = store.resolve_group(group).await.unwrap();
        store
            .set_group_profile(&group.id, Some(profile.id), Actor::System)
            .await
            .unwrap();
    }
    profile
}

/// `/login?login_hint=…`: the redirect to the IdP, the AuthnRequest's ID in it, and the
/// browser-binding cookie.
async fn start_sign_in(app: &TestApp, hint: &str) -> (String, String) {
    let res = app
        .client
        .get(app.url(&format!("/login?login_hint={hint}&next=/portal")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    let location = res.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with(IDP_SSO_URL), "{location}");
    let cookie = set_cookie(&res, "gatehouse_sso").expect("a browser-binding cookie");
    (request_id_of(&location), cookie)
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// The ID of the AuthnRequest in an HTTP-Redirect binding URL (deflated, base64).
fn request_id_of(location: &str) -> String {
    let url = reqwest::Url::parse(location).unwrap();
    let encoded = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .to_string();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    let start = xml.find(" ID=\"").unwrap() + 5;
    xml[start..start + xml[start..].find('"').unwrap()].to_string()
}

fn golden(app: &TestApp, profile: &AuthProfile, request_id: &str) -> ResponseSpec {
    let sp = saml_profiles::sp_identity(&app.base, profile).unwrap();
    ResponseSpec::golden(&sp, &TestIdp::fixed().entity_id, request_id)
}

async fn post_acs(
    app: &TestApp,
    profile: &AuthProfile,
    saml_response: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(&format!("/saml/{}/acs", profile.id)))
        .form(&[("SAMLResponse", saml_response), ("RelayState", "")]);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

async fn last_sign_in_failure(app: &TestApp) -> serde_json::Value {
    let events = app.store.recent_events(20).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.action == "sign_in.failed")
        .expect("a sign_in.failed event");
    serde_json::from_str(event.detail.as_deref().unwrap()).unwrap()
}

async fn signs_in_then_replay_and_deactivation_are_refused(postgres: bool) {
    let w = world(postgres).await;
    let app = &w.scim.app;

    let (request_id, sso_cookie) = start_sign_in(app, "Alice@Example.com").await;
    let response = TestIdp::fixed().response_b64(&golden(app, &w.profile, &request_id));
    let res = post_acs(app, &w.profile, &response, Some(&sso_cookie)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/portal");
    let portal_cookie = set_cookie(&res, "gatehouse_portal").expect("a session cookie");

    let page = app
        .client
        .get(app.url("/portal"))
        .header(COOKIE, &portal_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("alice@example.com"), "{html}");
    assert!(
        html.contains("Okta") && html.contains("Engineering"),
        "{html}"
    );

    // The same response again, even from the same browser: refused as a replay or as a
    // request already answered, and no second session.
    let again = post_acs(app, &w.profile, &response, Some(&sso_cookie)).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&again, "gatehouse_portal").is_none());
    let reason = last_sign_in_failure(app).await["reason"].clone();
    assert_eq!(reason, "request_already_used");

    // SCIM deactivation ends the session at once, and sign-in is refused afterwards.
    let (status, _) = w
        .scim
        .call(
            Method::PATCH,
            &format!("/Users/{}", w.user_id),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = app
        .client
        .get(app.url("/portal"))
        .header(COOKIE, &portal_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/login");

    let res = app
        .client
        .get(app.url("/login?login_hint=alice@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let inactive_page = res.text().await.unwrap();
    assert!(
        inactive_page.contains("can&#x27;t sign you in")
            || inactive_page.contains("can't sign you in")
            || inactive_page.contains("can&#39;t sign you in"),
        "{inactive_page}"
    );
    assert_eq!(last_sign_in_failure(app).await["reason"], "inactive_user");

    // Unknown people get the very same sentence.
    let res = app
        .client
        .get(app.url("/login?login_hint=nobody@example.com"))
        .send()
        .await
        .unwrap();
    let unknown_page = res.text().await.unwrap();
    assert_eq!(
        unknown_page.replace("nobody@example.com", "X"),
        inactive_page.replace("alice@example.com", "X")
    );
    assert_eq!(last_sign_in_failure(app).await["reason"], "unknown_user");
}

#[tokio::test]
async fn signs_in_then_replay_and_deactivation_are_refused_sqlite() {
    signs_in_then_replay_and_deactivation_are_refused(false).await;
}

#[tokio::test]
async fn signs_in_then_replay_and_deactivation_are_refused_postgres() {
    signs_in_then_replay_and_deactivation_are_refused(true).await;
}

#[tokio::test]
async fn a_response_from_another_browser_is_refused() {
    let w = world(false).await;
    let app = &w.scim.app;
    let (request_id, _their_cookie) = start_sign_in(app, "alice@example.com").await;
    let response = TestIdp::fixed().response_b64(&golden(app, &w.profile, &request_id));
    let res = post_acs(
        app,
        &w.profile,
        &response,
        Some("gatehouse_sso=somebody-elses-nonce-0123456789abcdef"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    let detail = last_sign_in_failure(app).await;
    assert_eq!(detail["reason"], "request_other_browser");
    // The page shows the reference the event carries, and not the reason.
    let reference = detail["reference_id"].as_str().unwrap();
    assert!(html.contains(reference));
    assert!(!html.contains("browser"));
}

#[tokio::test]
async fn a_response_for_one_profile_is_refused_at_another() {
    let w = world(false).await;
    let app = &w.scim.app;
    let other = profile_for(app, "Second Okta app", None).await;
    let (request_id, cookie) = start_sign_in(app, "alice@example.com").await;
    let response = TestIdp::fixed().response_b64(&golden(app, &w.profile, &request_id));
    let res = post_acs(app, &other, &response, Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let reason = last_sign_in_failure(app).await["reason"].clone();
    // Recipient/Destination/Audience name the first profile's URLs.
    assert!(
        ["destination", "recipient", "audience"].contains(&reason.as_str().unwrap()),
        "{reason}"
    );
    // The first profile's request is still usable: a misdirected post burns nothing.
    let res = post_acs(app, &w.profile, &response, Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_user_outside_the_profiles_groups_is_refused_at_the_acs() {
    let w = world(false).await;
    let app = &w.scim.app;
    let (request_id, cookie) = start_sign_in(app, "alice@example.com").await;
    // Okta removes Alice from the group between /login and the ACS.
    let group = app.store.resolve_group("Engineering").await.unwrap();
    let (status, _) = w
        .scim
        .call(
            Method::PATCH,
            &format!("/Groups/{}", group.id),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", w.user_id)}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let response = TestIdp::fixed().response_b64(&golden(app, &w.profile, &request_id));
    let res = post_acs(app, &w.profile, &response, Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        last_sign_in_failure(app).await["reason"],
        "not_in_profile_group"
    );
}

#[tokio::test]
async fn an_unsolicited_response_is_refused_unless_the_profile_allows_it() {
    let w = world(false).await;
    let app = &w.scim.app;
    let spec = golden(app, &w.profile, "unused").unsolicited();
    let response = TestIdp::fixed().response_b64(&spec);
    let res = post_acs(app, &w.profile, &response, None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(last_sign_in_failure(app).await["reason"], "unsolicited");
}

#[tokio::test]
async fn a_forged_unsigned_response_is_refused() {
    let w = world(false).await;
    let app = &w.scim.app;
    let (request_id, cookie) = start_sign_in(app, "alice@example.com").await;
    let mut spec = golden(app, &w.profile, &request_id);
    spec.sign = gatehouse_domain::saml::testing::SignMode::None;
    let response = TestIdp::fixed().response_b64(&spec);
    let res = post_acs(app, &w.profile, &response, Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&res, "gatehouse_portal").is_none());
}

#[tokio::test]
async fn garbage_at_the_acs_gets_a_calm_4xx() {
    let w = world(false).await;
    let app = &w.scim.app;
    for body in ["", "SAMLResponse=%%%", "SAMLResponse=PGh0bWw%2B"] {
        let res = app
            .client
            .post(app.url(&format!("/saml/{}/acs", w.profile.id)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{body}: {}", res.status());
    }
    let res = app
        .client
        .post(app.url("/saml/not-a-profile/acs"))
        .form(&[("SAMLResponse", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Over the size limit: refused before anything is parsed.
    let huge = "A".repeat(600 * 1024);
    let res = app
        .client
        .post(app.url(&format!("/saml/{}/acs", w.profile.id)))
        .form(&[("SAMLResponse", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn next_may_only_lead_to_a_local_path() {
    let w = world(false).await;
    let app = &w.scim.app;
    for next in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let res = app
            .client
            .get(app.url("/login"))
            .query(&[("login_hint", "alice@example.com"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(&res, "gatehouse_sso").unwrap();
        let request_id = request_id_of(res.headers()[LOCATION].to_str().unwrap());
        let response = TestIdp::fixed().response_b64(&golden(app, &w.profile, &request_id));
        let res = post_acs(app, &w.profile, &response, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(res.headers()[LOCATION], "/portal", "{next}");
    }
}

#[tokio::test]
async fn sp_metadata_is_served_per_profile() {
    let w = world(false).await;
    let app = &w.scim.app;
    let res = app
        .client
        .get(app.url(&format!("/saml/{}/metadata", w.profile.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/samlmetadata+xml"));
    let xml = res.text().await.unwrap();
    let sp = saml_profiles::sp_identity(&app.base, &w.profile).unwrap();
    assert!(
        xml.contains(&format!("entityID=\"{}\"", sp.entity_id)),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("Location=\"{}\"", sp.acs_url)),
        "{xml}"
    );
    let res = app
        .client
        .get(app.url("/saml/00000000-0000-0000-0000-000000000000/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let w = world(false).await;
    let app = &w.scim.app;
    let (request_id, cookie) = start_sign_in(app, "alice@example.com").await;
    let response = TestIdp::fixed().response_b64(&golden(app, &w.profile, &request_id));
    let res = post_acs(app, &w.profile, &response, Some(&cookie)).await;
    let portal_cookie = set_cookie(&res, "gatehouse_portal").unwrap();
    let res = app
        .client
        .post(app.url("/logout"))
        .header(COOKIE, &portal_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = app
        .client
        .get(app.url("/portal"))
        .header(COOKIE, &portal_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}
