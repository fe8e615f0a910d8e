//! SCIM users in the store, on SQLite and PostgreSQL: what Okta's provisioning does.

use gatehouse_domain::event::Actor;
use gatehouse_domain::store::{ScimCaller, Store};
use gatehouse_domain::testing::TestDatabase;
use serde_json::json;

async fn caller(store: &Store) -> ScimCaller {
    let (token, _) = store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    ScimCaller {
        token,
        client_ip: "10.9.9.9".into(),
    }
}

fn okta_user(user_name: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "active": true,
        "password": "never stored"
    })
}

#[tokio::test]
async fn okta_creates_a_user_and_reads_it_back_unchanged() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let created = store
            .scim_create_user(&okta_user("Ada@Example.com"), &caller)
            .await
            .unwrap();
        assert_eq!(created.version, 1);
        let read = store.scim_get_user(&created.id).await.unwrap();
        assert_eq!(read.resource["userName"], "Ada@Example.com");
        assert_eq!(read.resource["name"]["familyName"], "Lovelace");
        assert_eq!(read.resource["locale"], "en-US");
        assert!(
            read.resource.get("password").is_none(),
            "{:?}: password stored",
            db.backend
        );
        let events = store.recent_events(5).await.unwrap();
        assert!(events.iter().any(|e| e.action == "user.created"));
        assert!(!format!("{events:?}").contains("never stored"));
    }
}

#[tokio::test]
async fn a_second_user_with_the_same_username_in_other_case_is_a_409_and_an_event() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        let err = store
            .scim_create_user(&okta_user("ADA@example.com"), &caller)
            .await
            .unwrap_err();
        assert_eq!(err.status, 409, "{:?}", db.backend);
        assert_eq!(err.scim_type.unwrap().as_str(), "uniqueness");
        let events = store.recent_events(5).await.unwrap();
        assert!(events
            .iter()
            .any(|e| e.action == "user.create" && e.outcome.as_str() == "failure"));
    }
}

#[tokio::test]
async fn concurrent_creates_of_one_username_give_one_user() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let tries = (0..8).map(|i| {
            let (store, caller) = (store.clone(), caller.clone());
            tokio::spawn(async move {
                let name = if i % 2 == 0 {
                    "race@example.com"
                } else {
                    "RACE@example.com"
                };
                store.scim_create_user(&okta_user(name), &caller).await
            })
        });
        let results: Vec<_> = futures_join(tries).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{:?}: {} creates succeeded", db.backend, ok);
        assert!(results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| e.status == 409));
    }
}

/// Creations that arrive together are committed together on SQLite (one transaction for
/// the batch): each user must still get exactly one `user.created` event, a taken userName
/// must fail only its own request, and every created user must be readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_committed_together_keep_one_event_each_and_fail_alone() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        store
            .scim_create_user(&okta_user("taken-3@example.com"), &caller)
            .await
            .unwrap();
        // 55 creations at once: new-0 to new-49 but new-3, new-5 to new-9 a second time, and
        // TAKEN-3, which exists already (in other case: userName ignores case).
        let tries = (0..55).map(|i| {
            let (store, caller) = (store.clone(), caller.clone());
            let name = match i {
                50..=54 => format!("new-{}@example.com", i - 45),
                3 => "TAKEN-3@example.com".to_string(),
                _ => format!("new-{i}@example.com"),
            };
            tokio::spawn(async move {
                let result = store.scim_create_user(&okta_user(&name), &caller).await;
                (name, result)
            })
        });
        let results = futures_join(tries).await;
        let created: Vec<_> = results
            .iter()
            .filter_map(|(name, r)| r.as_ref().ok().map(|u| (name.clone(), u.id.clone())))
            .collect();
        let refused: Vec<_> = results
            .iter()
            .filter_map(|(name, r)| r.as_ref().err().map(|e| (name.clone(), e.status)))
            .collect();
        // 49 new names (0..50 but 3) created once each; 5 repeats and TAKEN-3 refused.
        assert_eq!(created.len(), 49, "{:?}: {refused:?}", db.backend);
        assert_eq!(refused.len(), 6, "{:?}: {refused:?}", db.backend);
        assert!(
            refused.iter().all(|(_, status)| *status == 409),
            "{refused:?}"
        );
        for (name, id) in &created {
            let read = store.scim_get_user(id).await.unwrap();
            assert_eq!(read.resource["userName"], name.as_str(), "{:?}", db.backend);
        }
        let events = store.recent_events(500).await.unwrap();
        for (name, _) in &created {
            let mine = events
                .iter()
                .filter(|e| e.action == "user.created" && e.target.as_deref() == Some(name))
                .count();
            assert_eq!(mine, 1, "{:?}: events for {name}", db.backend);
        }
        let created_events = events.iter().filter(|e| e.action == "user.created").count();
        assert_eq!(created_events, 50, "{:?}: 49 + the first user", db.backend);
        let failures = events
            .iter()
            .filter(|e| e.action == "user.create" && e.outcome.as_str() == "failure")
            .count();
        assert_eq!(failures, 6, "{:?}", db.backend);
    }
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn okta_deactivates_with_a_pathless_replace_and_reactivates() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let user = store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        let patch = |active: bool| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": active}}]
            })
        };
        let off = store
            .scim_patch_user(&user.id, &patch(false), None, &caller)
            .await
            .unwrap();
        assert_eq!(off.resource["active"], false);
        assert_eq!(off.version, 2);
        let on = store
            .scim_patch_user(&user.id, &patch(true), None, &caller)
            .await
            .unwrap();
        assert_eq!(on.resource["active"], true);
        let actions: Vec<String> = store
            .recent_events(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"user.deactivated".to_string()));
        assert!(actions.contains(&"user.reactivated".to_string()));
    }
}

#[tokio::test]
async fn okta_put_replaces_and_a_stale_if_match_is_a_412() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let user = store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        let mut body = okta_user("ada@example.com");
        body["name"]["familyName"] = json!("Byron");
        body["id"] = json!(user.id);
        let replaced = store
            .scim_replace_user(&user.id, &body, Some("W/\"1\""), &caller)
            .await
            .unwrap();
        assert_eq!(replaced.resource["name"]["familyName"], "Byron");
        let stale = store
            .scim_replace_user(&user.id, &body, Some("W/\"1\""), &caller)
            .await
            .unwrap_err();
        assert_eq!(stale.status, 412);

        body["id"] = json!("another-id");
        let moved = store
            .scim_replace_user(&user.id, &body, None, &caller)
            .await
            .unwrap_err();
        assert_eq!(moved.status, 400);
        assert_eq!(
            store.scim_get_user(&user.id).await.unwrap().version,
            2,
            "a refused PUT changed nothing"
        );
    }
}

#[tokio::test]
async fn a_patch_that_cannot_apply_changes_nothing() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let user = store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        let bad = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "noSuchAttribute", "value": "x"}
            ]
        });
        let err = store
            .scim_patch_user(&user.id, &bad, None, &caller)
            .await
            .unwrap_err();
        assert_eq!(err.status, 400);
        let after = store.scim_get_user(&user.id).await.unwrap();
        assert_eq!(after.resource["displayName"], "Ada Lovelace");
        assert_eq!(after.version, 1);
    }
}

#[tokio::test]
async fn deleting_a_user_keeps_their_history() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let user = store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        store
            .scim_delete_user(&user.id, None, &caller)
            .await
            .unwrap();
        assert_eq!(store.scim_get_user(&user.id).await.unwrap_err().status, 404);
        assert_eq!(
            store
                .scim_delete_user(&user.id, None, &caller)
                .await
                .unwrap_err()
                .status,
            404
        );
        let actions: Vec<String> = store
            .recent_events(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            actions.contains(&"user.created".to_string())
                && actions.contains(&"user.deleted".to_string())
        );
    }
}

#[tokio::test]
async fn concurrent_patches_to_one_user_all_land() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let user = store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (store, caller, id) = (store.clone(), caller.clone(), user.id.clone());
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "emails", "value": [{"value": format!("alias{i}@example.com"), "type": "other"}]}]
                });
                tokio::spawn(async move { store.scim_patch_user(&id, &body, None, &caller).await })
            })
            .collect();
        for h in handles {
            h.await.unwrap().unwrap();
        }
        let after = store.scim_get_user(&user.id).await.unwrap();
        assert_eq!(
            after.resource["emails"].as_array().unwrap().len(),
            9,
            "{:?}: a change was lost",
            db.backend
        );
        assert_eq!(after.version, 9);
    }
}

#[tokio::test]
async fn deleting_a_user_changes_their_groups_visibly() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let user = store
            .scim_create_user(&okta_user("ada@example.com"), &caller)
            .await
            .unwrap();
        let group = store
            .scim_create_group(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng", "members": [{"value": user.id}]}),
                &caller,
            )
            .await
            .unwrap();
        store
            .scim_delete_user(&user.id, None, &caller)
            .await
            .unwrap();
        let after = store.scim_get_group(&group.id, true).await.unwrap();
        assert!(after.members.unwrap().is_empty());
        assert_eq!(after.version, group.version + 1, "{:?}", db.backend);
        let events = store.recent_events(5).await.unwrap();
        assert!(events
            .iter()
            .any(|e| e.action == "group.members_changed" && e.target.as_deref() == Some("Eng")));
    }
}
