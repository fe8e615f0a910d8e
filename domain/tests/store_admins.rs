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
