//! SCIM groups in the store, on SQLite and PostgreSQL: Okta's Group Push.

use gatehouse_domain::event::Actor;
use gatehouse_domain::store::{ScimCaller, Store};
use gatehouse_domain::testing::TestDatabase;
use serde_json::{json, Value};

async fn setup(store: &Store) -> (ScimCaller, Vec<String>) {
    let (token, _) = store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    let caller = ScimCaller {
        token,
        client_ip: "10.9.9.9".into(),
    };
    let mut ids = Vec::new();
    for name in ["ada@example.com", "bob@example.com", "cy@example.com"] {
        let body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
        ids.push(store.scim_create_user(&body, &caller).await.unwrap().id);
    }
    (caller, ids)
}

fn group(name: &str, members: &[&String]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
    })
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn member_ids(g: &gatehouse_domain::store::GroupRecord) -> Vec<String> {
    let mut ids: Vec<String> = g
        .members
        .as_ref()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn okta_pushes_a_group_with_members_and_users_see_it() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, users) = setup(&store).await;
        let g = store
            .scim_create_group(&group("Engineering", &[&users[0], &users[1]]), &caller)
            .await
            .unwrap();
        assert_eq!(member_ids(&g).len(), 2);
        let ada = store.scim_get_user(&users[0]).await.unwrap();
        assert_eq!(ada.groups, vec![(g.id.clone(), "Engineering".to_string())]);
        let dup = store
            .scim_create_group(&group("ENGINEERING", &[]), &caller)
            .await
            .unwrap_err();
        assert_eq!(dup.status, 409, "{:?}", db.backend);
    }
}

#[tokio::test]
async fn okta_adds_and_removes_members_and_repeats_are_noops() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, users) = setup(&store).await;
        let g = store
            .scim_create_group(&group("Eng", &[&users[0]]), &caller)
            .await
            .unwrap();
        let add = patch(
            json!([{"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": users[0]}]}]),
        );
        let after = store
            .scim_patch_group(&g.id, &add, None, &caller, true)
            .await
            .unwrap();
        assert_eq!(member_ids(&after), {
            let mut v = vec![users[0].clone(), users[1].clone()];
            v.sort();
            v
        });
        assert_eq!(after.version, 2);
        let again = store
            .scim_patch_group(&g.id, &add, None, &caller, true)
            .await
            .unwrap();
        assert_eq!(again.version, 2, "adding present members changes nothing");

        let remove =
            patch(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]));
        let after = store
            .scim_patch_group(&g.id, &remove, None, &caller, true)
            .await
            .unwrap();
        assert_eq!(member_ids(&after), vec![users[1].clone()]);
        let after = store
            .scim_patch_group(&g.id, &remove, None, &caller, true)
            .await
            .unwrap();
        assert_eq!(
            member_ids(&after),
            vec![users[1].clone()],
            "removing an absent member is a no-op"
        );
    }
}

#[tokio::test]
async fn okta_renames_with_id_in_the_value_and_replaces_members() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, users) = setup(&store).await;
        let g = store
            .scim_create_group(&group("Eng", &[&users[0], &users[1]]), &caller)
            .await
            .unwrap();
        let rename =
            patch(json!([{"op": "replace", "value": {"id": g.id, "displayName": "Engineering"}}]));
        let renamed = store
            .scim_patch_group(&g.id, &rename, None, &caller, true)
            .await
            .unwrap();
        assert_eq!(renamed.resource["displayName"], "Engineering");
        let replace =
            patch(json!([{"op": "replace", "path": "members", "value": [{"value": users[2]}]}]));
        let replaced = store
            .scim_patch_group(&g.id, &replace, None, &caller, true)
            .await
            .unwrap();
        assert_eq!(member_ids(&replaced), vec![users[2].clone()]);
        let actions: Vec<String> = store
            .recent_events(20)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            actions.contains(&"group.renamed".into())
                && actions.contains(&"group.members_changed".into())
        );
    }
}

#[tokio::test]
async fn an_unknown_member_is_refused_and_nothing_changes() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, users) = setup(&store).await;
        let g = store
            .scim_create_group(&group("Eng", &[&users[0]]), &caller)
            .await
            .unwrap();
        let add = patch(json!([
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}
        ]));
        let err = store
            .scim_patch_group(&g.id, &add, None, &caller, true)
            .await
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("no-such-user"));
        let after = store.scim_get_group(&g.id, true).await.unwrap();
        assert_eq!(after.resource["displayName"], "Eng");
        assert_eq!(after.version, 1);
    }
}

#[tokio::test]
async fn concurrent_member_adds_to_one_group_all_land() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, _) = setup(&store).await;
        let mut users = Vec::new();
        for i in 0..12 {
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}@example.com")});
            users.push(store.scim_create_user(&body, &caller).await.unwrap().id);
        }
        let g = store
            .scim_create_group(&group("Big", &[]), &caller)
            .await
            .unwrap();
        let handles: Vec<_> = users
            .iter()
            .map(|u| {
                let (store, caller, gid) = (store.clone(), caller.clone(), g.id.clone());
                let body =
                    patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
                tokio::spawn(async move {
                    store
                        .scim_patch_group(&gid, &body, None, &caller, true)
                        .await
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap().unwrap();
        }
        let after = store.scim_get_group(&g.id, true).await.unwrap();
        assert_eq!(after.members.unwrap().len(), 12, "{:?}", db.backend);
    }
}

#[tokio::test]
async fn deleting_a_group_keeps_its_users() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, users) = setup(&store).await;
        let g = store
            .scim_create_group(&group("Eng", &[&users[0]]), &caller)
            .await
            .unwrap();
        store.scim_delete_group(&g.id, None, &caller).await.unwrap();
        assert_eq!(
            store.scim_get_group(&g.id, false).await.unwrap_err().status,
            404
        );
        assert!(store
            .scim_get_user(&users[0])
            .await
            .unwrap()
            .groups
            .is_empty());
    }
}

#[tokio::test]
async fn a_write_that_does_not_ask_for_members_does_not_load_them() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (caller, users) = setup(&store).await;
        let g = store
            .scim_create_group(&group("Eng", &[&users[0]]), &caller)
            .await
            .unwrap();
        let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": users[1]}]}]));
        let after = store
            .scim_patch_group(&g.id, &add, None, &caller, false)
            .await
            .unwrap();
        assert!(
            after.members.is_none(),
            "members loaded although not asked for"
        );
        assert_eq!(after.version, 2);
        let loaded = store.scim_get_group(&g.id, true).await.unwrap();
        assert_eq!(loaded.members.unwrap().len(), 2, "{:?}", db.backend);
    }
}
