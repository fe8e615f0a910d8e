//! SCIM API tokens, on SQLite and PostgreSQL.

use gatehouse_domain::event::Actor;
use gatehouse_domain::store::TokenRejection;
use gatehouse_domain::testing::TestDatabase;
use gatehouse_domain::token::SCIM_TOKEN_PREFIX;
use std::time::Duration;

#[tokio::test]
async fn a_new_token_works_and_only_its_digest_is_stored() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (token, secret) = store
            .create_scim_token("Okta production", None, Actor::System)
            .await
            .unwrap();
        assert!(secret.starts_with(SCIM_TOKEN_PREFIX));
        assert!(secret.len() > 40);
        let ok = store
            .authenticate_scim_token(&secret, "10.1.1.1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ok.id, token.id);

        let listed = store.list_scim_tokens().await.unwrap();
        assert_eq!(listed[0].last_used_ip.as_deref(), Some("10.1.1.1"));
        assert!(listed[0].last_used_at.is_some());
        // The secret is nowhere in the events either.
        for e in store.recent_events(10).await.unwrap() {
            assert!(
                !format!("{e:?}").contains(&secret),
                "{:?}: secret in an event",
                db.backend
            );
        }
    }
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_refused() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        assert_eq!(
            store
                .authenticate_scim_token("gh_scim_nope", "ip")
                .await
                .unwrap(),
            Err(TokenRejection::Unknown)
        );
        let (revoked, secret) = store
            .create_scim_token("old", None, Actor::System)
            .await
            .unwrap();
        store
            .revoke_scim_token(revoked.id, Actor::System)
            .await
            .unwrap();
        assert_eq!(
            store.authenticate_scim_token(&secret, "ip").await.unwrap(),
            Err(TokenRejection::Revoked)
        );
        let (_, short) = store
            .create_scim_token("short-lived", Some(Duration::from_millis(1)), Actor::System)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            store.authenticate_scim_token(&short, "ip").await.unwrap(),
            Err(TokenRejection::Expired)
        );
    }
}

#[tokio::test]
async fn regenerating_without_grace_stops_the_old_token_at_once() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (old, old_secret) = store
            .create_scim_token("Okta", None, Actor::System)
            .await
            .unwrap();
        let (new, new_secret) = store
            .regenerate_scim_token(old.id, None, Actor::System)
            .await
            .unwrap();
        assert_eq!(new.name, "Okta");
        assert_ne!(new_secret, old_secret);
        assert!(store
            .authenticate_scim_token(&old_secret, "ip")
            .await
            .unwrap()
            .is_err());
        assert!(store
            .authenticate_scim_token(&new_secret, "ip")
            .await
            .unwrap()
            .is_ok());
    }
}

#[tokio::test]
async fn regenerating_with_grace_keeps_the_old_token_for_a_while() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (old, old_secret) = store
            .create_scim_token("Okta", None, Actor::System)
            .await
            .unwrap();
        store
            .regenerate_scim_token(old.id, Some(Duration::from_secs(3600)), Actor::System)
            .await
            .unwrap();
        assert!(store
            .authenticate_scim_token(&old_secret, "ip")
            .await
            .unwrap()
            .is_ok());
        let listed = store.list_scim_tokens().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed
            .iter()
            .any(|t| t.id == old.id && t.expires_at.is_some()));
    }
}

#[tokio::test]
async fn token_names_are_checked_and_nothing_is_written_on_refusal() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        assert!(store
            .create_scim_token("   ", None, Actor::System)
            .await
            .is_err());
        assert!(store
            .create_scim_token(&"x".repeat(101), None, Actor::System)
            .await
            .is_err());
        assert!(store.list_scim_tokens().await.unwrap().is_empty());
        assert!(store.recent_events(5).await.unwrap().is_empty());
    }
}
