//! The Auditor role over real HTTP: an Auditor reads everything and changes nothing. Every
//! state-changing server function is called as an Auditor and must answer 403 with nothing
//! written; the list of functions is checked against the source of `app/src/api`, so a new
//! server function cannot be added without deciding which kind it is (issue 5).

mod common;

use common::{session_cookie, ScimClient, TestApp, ADMIN_PASSWORD};
use gatehouse_domain::admin::AdminRole;
use gatehouse_domain::auth_profile::{AuthProfileEdit, AuthProfileSettings};
use gatehouse_domain::event::Actor;
use gatehouse_domain::saml_profiles;
use gatehouse_domain::store::AdminOrigin;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const AUDITOR_EMAIL: &str = "eve@example.com";

/// Server functions that only read; an Auditor may call them.
const READS: &[&str] = &[
    "current_admin",
    "list_auth_profiles",
    "auth_profile_detail",
    "directory_users",
    "directory_user_count",
    "directory_user_filters",
    "directory_user",
    "directory_groups",
    "directory_group",
    "directory_group_members",
    "list_events",
    "events_histogram",
    "event_detail",
    "event_filter_choices",
    "recent_events",
    "dashboard",
    "dashboard_chart",
    "scim_overview",
    "settings",
];

/// Functions about one's own sign-in, open to every role (or to nobody signed in yet).
const SELF_SERVICE: &[&str] = &[
    "sign_in",
    "sign_out",
    "setup_link_status",
    "create_first_admin",
    "change_own_password",
];

/// Every state-changing server function. A new one goes here (with its arguments in
/// `write_call` below), and must call `require_administrator()` in its body.
const WRITES: &[&str] = &[
    "create_auth_profile",
    "move_auth_profile",
    "update_auth_profile",
    "rotate_sp_certificate",
    // Reads nothing back into the store, but makes the server fetch a URL: only for those
    // who can save the result.
    "preview_idp_metadata",
    "save_idp_metadata",
    "assign_profile_to_group",
    "delete_auth_profile",
    "end_user_sessions",
    "set_group_profile",
    "create_scim_token",
    "regenerate_scim_token",
    "revoke_scim_token",
    "add_admin",
    "remove_admin",
];

/// Each server function in `app/src/api/*.rs`: its endpoint name and the source of its body.
fn server_functions() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/api");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // `#[server(default)]` on an argument is not a server function: match the prefix.
        for chunk in text.split("#[server(prefix").skip(1) {
            let attr_end = chunk.find(")]").unwrap();
            let attr = &chunk[..attr_end];
            let name = attr
                .split("endpoint = \"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| {
                    panic!("{}: a server function without an endpoint", path.display())
                });
            found.push((name.to_string(), chunk.to_string()));
        }
    }
    found
}

#[test]
fn every_server_function_is_classified_and_writes_require_an_administrator() {
    let functions = server_functions();
    assert!(
        functions.len() > 20,
        "the source scan found too little: {}",
        functions.len()
    );
    let classified: BTreeSet<&str> = READS
        .iter()
        .chain(SELF_SERVICE)
        .chain(WRITES)
        .copied()
        .collect();
    for (name, body) in &functions {
        assert!(
            classified.contains(name.as_str()),
            "server function `{name}` is in none of READS, SELF_SERVICE, WRITES in server/tests/auditor.rs: \
             decide whether it changes state (then it must call require_administrator() and go in WRITES)"
        );
        let guarded = body.contains("require_administrator()");
        if WRITES.contains(&name.as_str()) {
            assert!(
                guarded,
                "`{name}` changes state but does not call require_administrator()"
            );
        } else {
            assert!(
                !guarded,
                "`{name}` is listed as open to Auditors but calls require_administrator()"
            );
        }
    }
    let names: BTreeSet<&str> = functions.iter().map(|(n, _)| n.as_str()).collect();
    for listed in &classified {
        assert!(
            names.contains(listed),
            "`{listed}` is listed but no longer exists"
        );
    }
}

/// How to call one state-changing function with arguments that would be accepted from an
/// Administrator, so a 403 can only come from the role check.
enum Body {
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

struct World {
    profile_id: String,
    profile_version: i64,
    group_id: String,
    user_id: String,
    token_id: String,
    admin_id: String,
}

fn write_call(name: &str, w: &World) -> Body {
    use Body::{Form, Json};
    match name {
        "create_auth_profile" => Form(vec![("name", "Sneaky".into())]),
        "move_auth_profile" => Form(vec![("id", w.profile_id.clone()), ("position", "0".into())]),
        "update_auth_profile" => Json(json!({
            "id": w.profile_id,
            "edit": serde_json::to_value(AuthProfileEdit {
                name: "Renamed".into(),
                description: String::new(),
                settings: AuthProfileSettings::default(),
            }).unwrap(),
            "version": w.profile_version,
        })),
        "rotate_sp_certificate" => Form(vec![("id", w.profile_id.clone())]),
        "preview_idp_metadata" => Json(json!({
            "source": {"kind": "xml", "value": "<EntityDescriptor/>"}, "entity_id": null
        })),
        "save_idp_metadata" => Json(json!({
            "id": w.profile_id, "source": {"kind": "xml", "value": "<EntityDescriptor/>"}, "entity_id": null,
            "digest": "00", "accept_expired": false
        })),
        "assign_profile_to_group" => Form(vec![
            ("id", w.profile_id.clone()),
            ("group", w.group_id.clone()),
        ]),
        "delete_auth_profile" => {
            Json(json!({"id": w.profile_id, "on_groups": {"kind": "unassign"}}))
        }
        "end_user_sessions" => Form(vec![("user_id", w.user_id.clone())]),
        "set_group_profile" => Form(vec![
            ("group_id", w.group_id.clone()),
            ("profile_id", w.profile_id.clone()),
        ]),
        "create_scim_token" => Form(vec![("name", "Sneaky".into())]),
        "regenerate_scim_token" => Form(vec![
            ("id", w.token_id.clone()),
            ("grace_hours", "0".into()),
        ]),
        "revoke_scim_token" => Form(vec![("id", w.token_id.clone())]),
        "add_admin" => Form(vec![
            ("email", "mallory@example.com".into()),
            ("role", "administrator".into()),
            ("password", ADMIN_PASSWORD.into()),
            ("password_confirmation", ADMIN_PASSWORD.into()),
        ]),
        "remove_admin" => Form(vec![("id", w.admin_id.clone())]),
        other => panic!("add `{other}` to write_call in server/tests/auditor.rs"),
    }
}

async fn call(app: &TestApp, name: &str, body: &Body, cookie: &str) -> reqwest::Response {
    let req = app
        .client
        .post(app.url(&format!("/console/api/{name}")))
        .header(ORIGIN, &app.base)
        .header(COOKIE, cookie);
    let req = match body {
        Body::Form(pairs) => req.form(pairs),
        Body::Json(v) => req
            .header(CONTENT_TYPE, "application/json")
            .body(v.to_string()),
    };
    req.send().await.unwrap()
}

async fn sign_in_as(app: &TestApp, email: &str, password: &str) -> String {
    let res = app
        .call("sign_in", &[("email", email), ("password", password)], None)
        .await;
    assert!(
        res.status().is_success(),
        "sign-in of {email}: {}",
        res.status()
    );
    session_cookie(res.headers()).unwrap()
}

/// A user in a group, a profile, a SCIM token and the two administrators.
async fn world() -> (TestApp, World) {
    let scim = ScimClient::new().await;
    let (status, user) = scim
        .call(
            Method::POST,
            "/Users",
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "grace@example.com",
                "active": true
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let user_id = user["id"].as_str().unwrap().to_string();
    let (status, group) = scim
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
    let app = scim.app;
    let profile = saml_profiles::create_profile(&app.store, &app.sealer, "Okta", "", Actor::System)
        .await
        .unwrap();
    let token_id = app.store.list_scim_tokens().await.unwrap()[0]
        .id
        .to_string();
    app.store
        .create_admin_with_role(
            AUDITOR_EMAIL,
            ADMIN_PASSWORD,
            AdminRole::Auditor,
            AdminOrigin::CommandLine,
        )
        .await
        .unwrap();
    let admin_id = app
        .store
        .list_admins()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.role == AdminRole::Administrator)
        .unwrap()
        .id
        .to_string();
    let w = World {
        profile_id: profile.id.to_string(),
        profile_version: profile.version,
        group_id: group["id"].as_str().unwrap().to_string(),
        user_id,
        token_id,
        admin_id,
    };
    (app, w)
}

/// What an Auditor's refused calls must leave as it was. Every change Gatehouse makes
/// appends an event in the same transaction, so the newest event is the first witness.
async fn snapshot(app: &TestApp) -> String {
    let store = &app.store;
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        store.recent_events(1).await.unwrap(),
        store.list_admins().await.unwrap(),
        store.list_scim_tokens().await.unwrap(),
        store.list_auth_profiles().await.unwrap(),
    )
}

#[tokio::test]
async fn an_auditor_is_refused_every_state_changing_call_and_nothing_changes() {
    let (app, w) = world().await;
    let cookie = sign_in_as(&app, AUDITOR_EMAIL, ADMIN_PASSWORD).await;
    let before = snapshot(&app).await;
    for name in WRITES {
        let res = call(&app, name, &write_call(name, &w), &cookie).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {text}");
        assert!(
            text.contains("Auditor"),
            "{name}: the refusal must say why: {text}"
        );
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "an Auditor's refused call changed something"
    );

    // What stays open to an Auditor: reading, and their own password.
    for name in [
        "current_admin",
        "settings",
        "list_auth_profiles",
        "scim_overview",
    ] {
        let res = app.call(name, &[], Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "{name}");
    }
    let res = app
        .call(
            "change_own_password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("new_password", "an auditor's new password"),
                ("new_password_confirmation", "an auditor's new password"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    sign_in_as(&app, AUDITOR_EMAIL, "an auditor's new password").await;
}

/// The golden case for the test above: the same calls from an Administrator get past the
/// role check (their own validation may still refuse the placeholder metadata).
#[tokio::test]
async fn an_administrator_gets_past_the_role_check_on_every_state_changing_call() {
    let (app, w) = world().await;
    let cookie = sign_in_as(&app, common::ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for name in WRITES {
        let res = call(&app, name, &write_call(name, &w), &cookie).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(
            status.is_success()
                || (status.is_client_error()
                    && status != StatusCode::FORBIDDEN
                    && status != StatusCode::UNAUTHORIZED),
            "{name}: {status} {text}"
        );
    }
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed_over_http() {
    let (app, w) = world().await;
    let cookie = sign_in_as(&app, common::ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let res = app
        .call("remove_admin", &[("id", &w.admin_id)], Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("last Administrator"));
    let auditor = app
        .store
        .list_admins()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.role == AdminRole::Auditor)
        .unwrap();
    let res = app
        .call(
            "remove_admin",
            &[("id", &auditor.id.to_string())],
            Some(&cookie),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(app.store.admin_count().await.unwrap(), 1);
}

/// `gatehouse admin create --role auditor` makes an Auditor; the default stays Administrator
/// and an unknown role is refused before anything is written.
#[tokio::test]
async fn the_cli_creates_auditors_on_request() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let create = |email: &str, role: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_ADMIN_EMAIL")
            .env_remove("GATEHOUSE_ADMIN_PASSWORD")
            .env("GATEHOUSE_DATA_DIR", dir.path())
            .args(["admin", "create", "--email", email, "--password-stdin"]);
        if let Some(role) = role {
            cmd.args(["--role", role]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ADMIN_PASSWORD.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(create("ada@example.com", None).status.success());
    let out = create("eve@example.com", Some("auditor"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Created administrator eve@example.com (Auditor)"
    );
    let out = create("bob@example.com", Some("owner"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("administrator or auditor"));

    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let store = gatehouse_domain::store::Store::open(&url).await.unwrap();
    let roles: Vec<_> = store
        .list_admins()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.email, a.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("ada@example.com".to_string(), AdminRole::Administrator),
            ("eve@example.com".to_string(), AdminRole::Auditor),
        ]
    );
}
