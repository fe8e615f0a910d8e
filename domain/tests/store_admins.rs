//! Store tests for administrators, the setup link and sign-in throttling. Every test runs on
//! SQLite and on PostgreSQL.

use gatehouse_domain::store::{AdminOrigin, ThrottlePolicy};
use gatehouse_domain::testing::TestDatabase;
use gatehouse_domain::DomainError;
use std::time::Duration;

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn migrations_are_idempotent() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        store.migrate().await.expect("second migration run");
        store.migrate().await.expect("third migration run");
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn sessions_table_exists_after_migration() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        // A round trip through the table proves it exists with the columns the store uses.
        let session = gatehouse_domain::store::StoredSession {
            id: "s1".into(),
            admin_id: None,
            data: "{}".into(),
            expires_at: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        assert!(store.create_session(&session).await.unwrap());
        assert!(
            !store.create_session(&session).await.unwrap(),
            "{:?}: duplicate id accepted",
            db.backend
        );
        assert_eq!(store.load_session("s1").await.unwrap().unwrap().data, "{}");
    }
}

#[tokio::test]
async fn expired_sessions_are_not_loaded_and_are_purged() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let expired = gatehouse_domain::store::StoredSession {
            id: "old".into(),
            admin_id: None,
            data: "{}".into(),
            expires_at: time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
        };
        store.save_session(&expired).await.unwrap();
        assert!(store.load_session("old").await.unwrap().is_none());
        assert_eq!(store.delete_expired_sessions().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn admin_emails_are_unique_case_insensitively() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        store
            .create_admin("Ada@Example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let err = store
            .create_admin("ada@EXAMPLE.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Conflict(_)),
            "{:?}: {err:?}",
            db.backend
        );
        assert_eq!(store.admin_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn a_refused_password_writes_nothing() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let err = store
            .create_admin("ada@example.com", "short", AdminOrigin::CommandLine)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Invalid(_)));
        assert_eq!(store.admin_count().await.unwrap(), 0);
        assert!(store.recent_events(10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn sign_in_accepts_the_password_and_refuses_others_alike() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let admin = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let signed_in = store
            .authenticate("ADA@example.com ", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        assert_eq!(signed_in.id, admin.id);
        assert!(signed_in.last_sign_in_at.is_some());

        let wrong = store
            .authenticate("ada@example.com", "wrong password!", "10.0.0.1")
            .await
            .unwrap_err();
        let unknown = store
            .authenticate("bob@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap_err();
        assert!(matches!(wrong, DomainError::BadCredentials));
        assert!(matches!(unknown, DomainError::BadCredentials));
        assert_eq!(
            wrong.to_string(),
            unknown.to_string(),
            "messages must not reveal which emails exist"
        );

        let actions: Vec<_> = store
            .recent_events(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.outcome.as_str()))
            .collect();
        assert!(actions.contains(&("admin.sign_in".into(), "success")));
        assert_eq!(actions.iter().filter(|a| a.1 == "failure").count(), 2);
    }
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password() {
    for db in TestDatabase::each().await {
        let store = db.store().await.with_throttle(ThrottlePolicy {
            window: Duration::from_secs(60),
            per_account_and_client: 3,
            per_client: 100,
        });
        store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        for _ in 0..3 {
            let e = store
                .authenticate("ada@example.com", "nope nope nope", "10.0.0.2")
                .await
                .unwrap_err();
            assert!(matches!(e, DomainError::BadCredentials));
        }
        let e = store
            .authenticate("ada@example.com", PASSWORD, "10.0.0.2")
            .await
            .unwrap_err();
        assert!(
            matches!(e, DomainError::Throttled { retry_after_secs } if retry_after_secs > 0),
            "{e:?}"
        );
        // Another client is not locked out by the attacker's failures.
        store
            .authenticate("ada@example.com", PASSWORD, "10.0.0.3")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn setup_link_creates_one_admin_then_stops_working() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let token = store
            .issue_setup_token()
            .await
            .unwrap()
            .expect("no admin yet");
        assert!(store.setup_token_is_valid(&token).await.unwrap());
        assert!(!store.setup_token_is_valid("not-the-token").await.unwrap());

        // A refused password keeps the link usable.
        assert!(store
            .create_admin_with_setup_token(&token, "ada@example.com", "short")
            .await
            .is_err());
        assert!(store.setup_token_is_valid(&token).await.unwrap());

        store
            .create_admin_with_setup_token(&token, "ada@example.com", PASSWORD)
            .await
            .unwrap();
        assert!(!store.setup_token_is_valid(&token).await.unwrap());
        let again = store
            .create_admin_with_setup_token(&token, "eve@example.com", PASSWORD)
            .await;
        assert!(matches!(again, Err(DomainError::NotFound(_))));
        assert_eq!(store.admin_count().await.unwrap(), 1);
        assert!(
            store.issue_setup_token().await.unwrap().is_none(),
            "no link once an admin exists"
        );
    }
}

#[tokio::test]
async fn first_admin_from_environment_only_when_none_exists() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        assert!(store
            .ensure_first_admin("ada@example.com", PASSWORD)
            .await
            .unwrap()
            .is_some());
        assert!(store
            .ensure_first_admin("eve@example.com", PASSWORD)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            store.list_admins().await.unwrap()[0].email,
            "ada@example.com"
        );
    }
}

#[tokio::test]
async fn ending_an_admins_sessions_removes_only_theirs() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ada = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let bob = store
            .create_admin("bob@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        for (id, admin) in [("a1", ada.id), ("a2", ada.id), ("b1", bob.id)] {
            store
                .save_session(&gatehouse_domain::store::StoredSession {
                    id: id.into(),
                    admin_id: Some(admin),
                    data: "{}".into(),
                    expires_at: later,
                })
                .await
                .unwrap();
        }
        assert_eq!(store.delete_sessions_of(ada.id).await.unwrap(), 2);
        assert!(store.load_session("b1").await.unwrap().is_some());
    }
}

// ---------------------------------------------------------------------------------------
// Roles, the console's administrator management and password changes (issue 5).
// ---------------------------------------------------------------------------------------

use gatehouse_domain::admin::AdminRole;

#[tokio::test]
async fn admins_created_without_a_role_are_administrators_and_roles_are_kept() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ada = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        assert_eq!(ada.role, AdminRole::Administrator);
        let eve = store
            .create_admin_with_role(
                "eve@example.com",
                PASSWORD,
                AdminRole::Auditor,
                AdminOrigin::CommandLine,
            )
            .await
            .unwrap();
        assert_eq!(eve.role, AdminRole::Auditor);
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
            ],
            "{:?}",
            db.backend
        );
        let signed_in = store
            .authenticate("eve@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        assert_eq!(signed_in.role, AdminRole::Auditor);
        assert_eq!(store.administrator_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn adding_an_admin_records_who_added_them() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ada = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let eve = store
            .add_admin(&ada, "Eve@Example.com", PASSWORD, AdminRole::Auditor)
            .await
            .unwrap();
        assert_eq!(eve.email, "eve@example.com");
        assert_eq!(eve.role, AdminRole::Auditor);
        let event = store.recent_events(1).await.unwrap().remove(0);
        assert_eq!(event.action, "admin.created");
        assert_eq!(
            event.actor,
            gatehouse_domain::event::Actor::Admin(ada.id.to_string())
        );
        let detail = event.detail.unwrap();
        assert!(detail.contains(r#""role":"auditor""#), "{detail}");
        assert!(!detail.contains(PASSWORD), "the password leaked: {detail}");

        // An Auditor cannot add anyone, even if a caller forgot to check.
        let err = store
            .add_admin(
                &eve,
                "mallory@example.com",
                PASSWORD,
                AdminRole::Administrator,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Invalid(_)), "{err:?}");
        // A refused password or a duplicate email writes nothing.
        assert!(store
            .add_admin(&ada, "bob@example.com", "short", AdminRole::Auditor)
            .await
            .is_err());
        assert!(matches!(
            store
                .add_admin(&ada, "EVE@example.com", PASSWORD, AdminRole::Auditor)
                .await
                .unwrap_err(),
            DomainError::Conflict(_)
        ));
        assert_eq!(store.admin_count().await.unwrap(), 2, "{:?}", db.backend);
    }
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ada = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let eve = store
            .add_admin(&ada, "eve@example.com", PASSWORD, AdminRole::Auditor)
            .await
            .unwrap();
        // Ada is the only Administrator: an Auditor does not count.
        let err = store.remove_admin(&ada, ada.id).await.unwrap_err();
        match &err {
            DomainError::Conflict(m) => assert!(m.contains("last Administrator"), "{m}"),
            other => panic!("{:?}: {other:?}", db.backend),
        }
        // The Auditor can be removed; their sessions end with them.
        store
            .save_session(&gatehouse_domain::store::StoredSession {
                id: "eve-session".into(),
                admin_id: Some(eve.id),
                data: "{}".into(),
                expires_at: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            })
            .await
            .unwrap();
        let removed = store.remove_admin(&ada, eve.id).await.unwrap();
        assert_eq!(removed.email, "eve@example.com");
        assert!(store.load_session("eve-session").await.unwrap().is_none());
        let event = store.recent_events(1).await.unwrap().remove(0);
        assert_eq!(event.action, "admin.removed");
        assert_eq!(event.target.as_deref(), Some("eve@example.com"));
        assert_eq!(
            event.actor,
            gatehouse_domain::event::Actor::Admin(ada.id.to_string())
        );
        // Removing someone already gone says so.
        assert!(matches!(
            store.remove_admin(&ada, eve.id).await.unwrap_err(),
            DomainError::NotFound(_)
        ));
        assert_eq!(store.admin_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn an_administrator_cannot_remove_themself_and_an_auditor_cannot_remove_anyone() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ada = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        let bob = store
            .add_admin(&ada, "bob@example.com", PASSWORD, AdminRole::Administrator)
            .await
            .unwrap();
        let eve = store
            .add_admin(&ada, "eve@example.com", PASSWORD, AdminRole::Auditor)
            .await
            .unwrap();
        assert!(matches!(
            store.remove_admin(&ada, ada.id).await.unwrap_err(),
            DomainError::Invalid(_)
        ));
        assert!(matches!(
            store.remove_admin(&eve, bob.id).await.unwrap_err(),
            DomainError::Invalid(_)
        ));
        assert_eq!(store.admin_count().await.unwrap(), 3, "{:?}", db.backend);
        // Another Administrator may remove one, as long as one remains.
        store.remove_admin(&bob, ada.id).await.unwrap();
        assert_eq!(store.administrator_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn two_administrators_removing_each_other_at_once_leave_one() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        for round in 0..10 {
            let ada = store
                .create_admin(
                    &format!("ada{round}@example.com"),
                    PASSWORD,
                    AdminOrigin::CommandLine,
                )
                .await
                .unwrap();
            let bob = store
                .add_admin(
                    &ada,
                    &format!("bob{round}@example.com"),
                    PASSWORD,
                    AdminRole::Administrator,
                )
                .await
                .unwrap();
            // Earlier rounds' survivors would make both removals legal: remove them first.
            for other in store.list_admins().await.unwrap() {
                if other.id != ada.id && other.id != bob.id {
                    store.remove_admin(&ada, other.id).await.unwrap();
                }
            }
            let (s1, s2) = (store.clone(), store.clone());
            let (a, b) = (ada.clone(), bob.clone());
            let first = tokio::spawn(async move { s1.remove_admin(&a, b.id).await });
            let (a, b) = (ada.clone(), bob.clone());
            let second = tokio::spawn(async move { s2.remove_admin(&b, a.id).await });
            let results = [first.await.unwrap(), second.await.unwrap()];
            let succeeded = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(
                succeeded, 1,
                "{:?} round {round}: exactly one removal may win: {results:?}",
                db.backend
            );
            for r in &results {
                if let Err(e) = r {
                    assert!(
                        matches!(e, DomainError::Conflict(_) | DomainError::Invalid(_)),
                        "{:?}: the loser must be refused cleanly, not {e:?}",
                        db.backend
                    );
                }
            }
            assert_eq!(store.administrator_count().await.unwrap(), 1);
        }
    }
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let eve = store
            .create_admin_with_role(
                "eve@example.com",
                PASSWORD,
                AdminRole::Auditor,
                AdminOrigin::CommandLine,
            )
            .await
            .unwrap();
        const NEW: &str = "another long password";
        let wrong = store
            .change_own_password(&eve, "not my password", NEW, None)
            .await
            .unwrap_err();
        assert!(matches!(wrong, DomainError::Invalid(_)), "{wrong:?}");
        let short = store
            .change_own_password(&eve, PASSWORD, "short", None)
            .await
            .unwrap_err();
        assert!(matches!(short, DomainError::Invalid(_)));
        // Nothing changed yet.
        store
            .authenticate("eve@example.com", PASSWORD, "10.0.0.1")
            .await
            .unwrap();

        let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        for id in ["this-one", "elsewhere"] {
            store
                .save_session(&gatehouse_domain::store::StoredSession {
                    id: id.into(),
                    admin_id: Some(eve.id),
                    data: "{}".into(),
                    expires_at: later,
                })
                .await
                .unwrap();
        }
        let ended = store
            .change_own_password(&eve, PASSWORD, NEW, Some("this-one"))
            .await
            .unwrap();
        assert_eq!(ended, 1, "{:?}", db.backend);
        assert!(store.load_session("this-one").await.unwrap().is_some());
        assert!(store.load_session("elsewhere").await.unwrap().is_none());
        assert!(store
            .authenticate("eve@example.com", PASSWORD, "10.0.0.1")
            .await
            .is_err());
        store
            .authenticate("eve@example.com", NEW, "10.0.0.1")
            .await
            .unwrap();
        let events = store.recent_events(20).await.unwrap();
        let changes: Vec<_> = events
            .iter()
            .filter(|e| e.action == "admin.password_changed")
            .map(|e| e.outcome.as_str())
            .collect();
        assert_eq!(changes, ["success", "failure"], "{:?}", db.backend);
        for e in &events {
            let text = format!("{e:?}");
            assert!(!text.contains(PASSWORD) && !text.contains(NEW), "{text}");
        }
    }
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled() {
    for db in TestDatabase::each().await {
        let store = db.store().await.with_throttle(ThrottlePolicy {
            window: Duration::from_secs(60),
            per_account_and_client: 2,
            per_client: 100,
        });
        let ada = store
            .create_admin("ada@example.com", PASSWORD, AdminOrigin::CommandLine)
            .await
            .unwrap();
        for _ in 0..2 {
            store
                .change_own_password(&ada, "a wrong password", "another long password", None)
                .await
                .unwrap_err();
        }
        let e = store
            .change_own_password(&ada, PASSWORD, "another long password", None)
            .await
            .unwrap_err();
        assert!(matches!(e, DomainError::Throttled { .. }), "{e:?}");
    }
}

/// Replicas (on PostgreSQL) started at the same moment on one database each migrate, then
/// run start-up's first-admin and setup-link steps at once: none of them may fail, and the
/// outcome is that of one start.
#[tokio::test]
async fn replicas_starting_together_agree_on_the_first_admin_and_the_setup_link() {
    let db = TestDatabase::postgres().await;
    let open = || gatehouse_domain::store::Store::open(&db.url);
    let (a, b, c) = tokio::join!(open(), open(), open());
    let stores = [a.unwrap(), b.unwrap(), c.unwrap()];

    for round in 0..5 {
        let (a, b, c) = tokio::join!(
            stores[0].issue_setup_token(),
            stores[1].issue_setup_token(),
            stores[2].issue_setup_token(),
        );
        let mut valid = 0;
        for result in [a, b, c] {
            let token = result
                .unwrap_or_else(|e| panic!("round {round}: {e}"))
                .expect("no admin yet");
            if stores[0].setup_token_is_valid(&token).await.unwrap() {
                valid += 1;
            }
        }
        assert_eq!(valid, 1, "round {round}: one live setup link");
    }

    let (a, b, c) = tokio::join!(
        stores[0].ensure_first_admin("ada@example.com", PASSWORD),
        stores[1].ensure_first_admin("ada@example.com", PASSWORD),
        stores[2].ensure_first_admin("ada@example.com", PASSWORD),
    );
    let created = [a, b, c]
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("first admin: {e}")))
        .filter(Option::is_some)
        .count();
    assert_eq!(created, 1, "one first administrator");
    assert_eq!(stores[0].admin_count().await.unwrap(), 1);
    assert!(stores[1].issue_setup_token().await.unwrap().is_none());
}

/// A server and a CLI command starting together on a new SQLite file both migrate it:
/// one waits for the other, and each migration is applied once.
#[tokio::test]
async fn stores_opened_at_once_on_one_sqlite_file_migrate_it_once() {
    for _ in 0..5 {
        let db = TestDatabase::sqlite();
        let open = || gatehouse_domain::store::Store::open(&db.url);
        let (a, b, c) = tokio::join!(open(), open(), open());
        for store in [a, b, c] {
            store.expect("every store opens").ping().await.unwrap();
        }
    }
}

/// Two processes writing one SQLite file (the server and a CLI command): a transaction
/// that reads before it writes waits for the other's write instead of failing with
/// "database is locked".
#[tokio::test]
async fn processes_writing_one_sqlite_file_wait_for_each_other() {
    let db = TestDatabase::sqlite();
    let first = db.store().await;
    let stores = [first, db.store().await, db.store().await];
    for round in 0..5 {
        let (a, b, c) = tokio::join!(
            stores[0].issue_setup_token(),
            stores[1].issue_setup_token(),
            stores[2].issue_setup_token(),
        );
        for result in [a, b, c] {
            result.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
    let (a, b, c) = tokio::join!(
        stores[0].ensure_first_admin("ada@example.com", PASSWORD),
        stores[1].ensure_first_admin("ada@example.com", PASSWORD),
        stores[2].ensure_first_admin("ada@example.com", PASSWORD),
    );
    let created = [a, b, c]
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("first admin: {e}")))
        .filter(Option::is_some)
        .count();
    assert_eq!(created, 1);
}
