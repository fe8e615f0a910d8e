//! Durability (issue 6): the real `gatehouse` binary is killed with SIGKILL in the middle of
//! an Okta-style import, on SQLite and on PostgreSQL, and started again on the same
//! database. Every write that was acknowledged with a 2xx is there, complete; nothing that
//! is there is half-written: each user has every attribute it was sent with and its
//! `user.created` event, each group's members are users that exist.

#![cfg(unix)]

#[path = "common/binary.rs"]
mod binary;

use binary::Installation;
use gatehouse_domain::testing::TestDatabase;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Concurrent clients creating users (Okta's provisioning runs several at once).
const USER_CLIENTS: usize = 3;
/// The kill comes once this much has been acknowledged (and with requests in flight).
const KILL_AFTER_USERS: usize = 400;
const KILL_AFTER_PATCHES: usize = 20;

/// A user as Okta creates it: core attributes, the enterprise extension, and the
/// write-only password.
fn okta_user(n: usize) -> Value {
    let user_name = format!("user{n:05}@example.com");
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": format!("Given{n}"), "familyName": format!("Family{n}")},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("Given{n} Family{n}"),
        "locale": "en-US",
        "title": format!("Engineer {}", n % 7),
        "externalId": format!("00u{n:08}"),
        "phoneNumbers": [{"value": format!("+1 555 01{:02}", n % 100), "type": "mobile"}],
        ENTERPRISE: {"employeeNumber": n.to_string(), "department": format!("Dept {}", n % 5)},
        "groups": [],
        "password": format!("pw-{n}-Secret!"),
        "active": true
    })
}

/// What a user must look like when read back: what was sent, minus what SCIM never
/// returns (`password`) or the server owns (`groups`).
fn expected_user(sent: &Value) -> Value {
    let mut v = sent.clone();
    let obj = v.as_object_mut().unwrap();
    obj.remove("password");
    obj.remove("groups");
    obj.remove("schemas");
    v
}

/// Every attribute of `expected` is in `actual` with the same value.
fn assert_has_all(actual: &Value, expected: &Value, what: &str) {
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(
            actual.get(key),
            Some(value),
            "{what}: attribute {key} differs or is missing in {actual}"
        );
    }
    let schemas = actual["schemas"].as_array().cloned().unwrap_or_default();
    assert!(
        schemas.contains(&json!(USER_SCHEMA)),
        "{what}: schemas {schemas:?}"
    );
}

/// What was sent and what was acknowledged.
#[derive(Default)]
struct Ledger {
    /// userName → the body of every user creation sent (acknowledged or not).
    users_sent: HashMap<String, Value>,
    /// id and userName of each user whose creation was answered 201.
    users_acked: Vec<(String, String)>,
    /// Display names of every group creation sent.
    groups_sent: BTreeSet<String>,
    /// Group id → display name, for creations answered 201.
    groups_acked: HashMap<String, String>,
    /// Group id → member ids in a request answered 2xx.
    members_acked: HashMap<String, BTreeSet<String>>,
    /// Group display name → member ids in any request sent.
    members_sent: HashMap<String, BTreeSet<String>>,
    patches_acked: usize,
    /// Answers that were neither 2xx nor a dropped connection: always a failure.
    bad_answers: Vec<String>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// `Ok(status, body)` for an answer, `Err` when the connection failed (the process
    /// is gone, or was killed while the request was in flight).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self
            .http
            .request(method, format!("{}/scim/v2{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/scim+json")
                .body(b.to_string());
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

async fn user_client(client: Arc<Client>, ledger: Arc<Mutex<Ledger>>, next: Arc<AtomicUsize>) {
    loop {
        let n = next.fetch_add(1, Ordering::SeqCst);
        let body = okta_user(n);
        let user_name = body["userName"].as_str().unwrap().to_string();
        ledger
            .lock()
            .unwrap()
            .users_sent
            .insert(user_name.clone(), body.clone());
        match client.send(Method::POST, "/Users", Some(&body)).await {
            Ok((StatusCode::CREATED, created)) => {
                let id = created["id"].as_str().unwrap().to_string();
                ledger.lock().unwrap().users_acked.push((id, user_name));
            }
            Ok((status, answer)) => {
                ledger
                    .lock()
                    .unwrap()
                    .bad_answers
                    .push(format!("POST /Users {user_name}: {status} {answer}"));
                return;
            }
            Err(_) => return,
        }
    }
}

/// Pushes groups the way Okta does: create the group (sometimes with members), then PATCH
/// members in as they are assigned.
async fn group_client(client: Arc<Client>, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
    let mut assigned = 0usize; // users_acked[..assigned] are in some group request already
    let mut k = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let (batch, groups): (Vec<String>, Vec<String>) = {
            let l = ledger.lock().unwrap();
            let end = l.users_acked.len().min(assigned + 5);
            (
                l.users_acked[assigned..end]
                    .iter()
                    .map(|(id, _)| id.clone())
                    .collect(),
                {
                    let mut ids: Vec<String> = l.groups_acked.keys().cloned().collect();
                    ids.sort();
                    ids
                },
            )
        };
        if batch.len() < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        assigned += batch.len();
        let members: Vec<Value> = batch.iter().map(|id| json!({"value": id})).collect();
        if groups.len() < 3 || k.is_multiple_of(4) {
            // A new group, with its first members in the creation itself.
            let name = format!("Team {k:03}");
            {
                let mut l = ledger.lock().unwrap();
                l.groups_sent.insert(name.clone());
                l.members_sent
                    .entry(name.clone())
                    .or_default()
                    .extend(batch.iter().cloned());
            }
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
                "members": members
            });
            match client.send(Method::POST, "/Groups", Some(&body)).await {
                Ok((StatusCode::CREATED, created)) => {
                    let id = created["id"].as_str().unwrap().to_string();
                    let mut l = ledger.lock().unwrap();
                    l.groups_acked.insert(id.clone(), name);
                    l.members_acked
                        .entry(id)
                        .or_default()
                        .extend(batch.iter().cloned());
                }
                Ok((status, answer)) => {
                    ledger
                        .lock()
                        .unwrap()
                        .bad_answers
                        .push(format!("POST /Groups {name}: {status} {answer}"));
                    return;
                }
                Err(_) => return,
            }
        } else {
            let id = &groups[k % groups.len()];
            {
                let mut l = ledger.lock().unwrap();
                let name = l.groups_acked[id].clone();
                l.members_sent
                    .entry(name)
                    .or_default()
                    .extend(batch.iter().cloned());
            }
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": members}]
            });
            match client
                .send(Method::PATCH, &format!("/Groups/{id}"), Some(&body))
                .await
            {
                Ok((status, _)) if status.is_success() => {
                    let mut l = ledger.lock().unwrap();
                    l.patches_acked += 1;
                    l.members_acked
                        .entry(id.clone())
                        .or_default()
                        .extend(batch.iter().cloned());
                }
                Ok((status, answer)) => {
                    ledger
                        .lock()
                        .unwrap()
                        .bad_answers
                        .push(format!("PATCH /Groups/{id}: {status} {answer}"));
                    return;
                }
                Err(_) => return,
            }
        }
        k += 1;
    }
}

/// Every resource of a kind, through SCIM's paging.
async fn list_all(client: &Client, kind: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut start = 1;
    loop {
        let (status, page) = client
            .send(
                Method::GET,
                &format!("/{kind}?startIndex={start}&count=200"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{page}");
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap() as usize;
        start += resources.len();
        all.extend(resources);
        if all.len() >= total || page["itemsPerPage"] == 0 {
            assert_eq!(all.len(), total, "paging {kind}");
            return all;
        }
    }
}

async fn killed_in_the_middle_of_an_import(db: TestDatabase) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let install = Installation::new(dir.path(), &db.url);
    let token = install.scim_token("Okta");
    let no_rate_limit = [("GATEHOUSE_SCIM_RATE_LIMIT", "0")];
    let mut server = install.spawn("gatehouse", &no_rate_limit);
    server.ready(Duration::from_secs(30)).await;

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let client = Arc::new(Client {
        http: http.clone(),
        base: server.base.clone(),
        token: token.clone(),
    });
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..USER_CLIENTS {
        tasks.push(tokio::spawn(user_client(
            client.clone(),
            ledger.clone(),
            next.clone(),
        )));
    }
    tasks.push(tokio::spawn(group_client(
        client.clone(),
        ledger.clone(),
        stop.clone(),
    )));

    // Kill once enough is acknowledged; the clients keep requests in flight all along.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        {
            let l = ledger.lock().unwrap();
            assert!(l.bad_answers.is_empty(), "{:?}", l.bad_answers);
            if l.users_acked.len() >= KILL_AFTER_USERS && l.patches_acked >= KILL_AFTER_PATCHES {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the import was too slow to reach the kill point: {} users, {} patches",
                l.users_acked.len(),
                l.patches_acked
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the clients stop once the server is gone")
            .unwrap();
    }
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    assert!(ledger.bad_answers.is_empty(), "{:?}", ledger.bad_answers);
    eprintln!(
        "killed after {} users, {} groups, {} member patches acknowledged ({} user creations sent)",
        ledger.users_acked.len(),
        ledger.groups_acked.len(),
        ledger.patches_acked,
        ledger.users_sent.len()
    );

    // Started again on the same database.
    let mut server = install.spawn("gatehouse-restarted", &no_rate_limit);
    server.ready(Duration::from_secs(30)).await;
    let client = Client {
        http,
        base: server.base.clone(),
        token,
    };

    // Every acknowledged user is there, with everything it was created with.
    for (id, user_name) in &ledger.users_acked {
        let (status, user) = client
            .send(Method::GET, &format!("/Users/{id}"), None)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "acknowledged user {user_name} lost");
        assert_has_all(
            &user,
            &expected_user(&ledger.users_sent[user_name]),
            user_name,
        );
    }
    // Every acknowledged group is there with at least its acknowledged members.
    for (id, name) in &ledger.groups_acked {
        let (status, group) = client
            .send(Method::GET, &format!("/Groups/{id}"), None)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "acknowledged group {name} lost");
        assert_eq!(group["displayName"], json!(name));
        let members: BTreeSet<String> = group["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect();
        let acked = &ledger.members_acked[id];
        let lost: Vec<_> = acked.difference(&members).collect();
        assert!(
            lost.is_empty(),
            "{name}: acknowledged members lost: {lost:?}"
        );
    }

    // Nothing half-written: whatever exists (acknowledged or caught in flight) is whole.
    let users = list_all(&client, "Users").await;
    assert!(users.len() >= ledger.users_acked.len());
    let mut user_ids = BTreeSet::new();
    for user in &users {
        let user_name = user["userName"].as_str().unwrap();
        let sent = ledger
            .users_sent
            .get(user_name)
            .unwrap_or_else(|| panic!("a user nobody created: {user}"));
        assert_has_all(user, &expected_user(sent), user_name);
        user_ids.insert(user["id"].as_str().unwrap().to_string());
    }
    let groups = list_all(&client, "Groups").await;
    assert!(groups.len() >= ledger.groups_acked.len());
    for group in &groups {
        let name = group["displayName"].as_str().unwrap();
        assert!(
            ledger.groups_sent.contains(name),
            "a group nobody created: {group}"
        );
        for member in group["members"].as_array().cloned().unwrap_or_default() {
            let id = member["value"].as_str().unwrap();
            assert!(
                user_ids.contains(id),
                "{name} has a member that is not a user: {id}"
            );
            assert!(
                ledger.members_sent[name].contains(id),
                "{name} has a member nobody added: {id}"
            );
        }
    }

    // Each user and group was written with its event, in one transaction.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let created: Vec<String> =
        sqlx::query_scalar("SELECT target FROM events WHERE action = 'user.created'")
            .fetch_all(&pool)
            .await
            .unwrap();
    let created: BTreeSet<String> = created.into_iter().collect();
    let names: BTreeSet<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        created, names,
        "user.created events and users differ: a write without its event or an event without its write"
    );
    let group_events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE action = 'group.created'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(group_events as usize, groups.len());
    pool.close().await;

    server.kill();
    eprintln!(
        "{} users and {} groups after the restart, checked in {:?}",
        users.len(),
        groups.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_an_import_loses_nothing_acknowledged_sqlite() {
    killed_in_the_middle_of_an_import(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_an_import_loses_nothing_acknowledged_postgres() {
    killed_in_the_middle_of_an_import(TestDatabase::postgres().await).await;
}
