//! The database side of end-user sign-in, on SQLite and PostgreSQL: who signs in through
//! which profile, AuthnRequests used once, assertions accepted once, end-user sessions.

use gatehouse_domain::auth_profile::{
    AuthProfile, AuthProfileEdit, AuthProfileSettings, IdpCertificate, MatchAttribute,
};
use gatehouse_domain::event::{Actor, Category, Event, Outcome};
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::{
    AssertionUserRefusal, ImportedIdpMetadata, NewAuthProfile, NewEndUserSession, NewSamlRequest,
    Replay, RequestRejection, ScimCaller, SignInEvent, SignInRefusal, SignInStep, SpKeyMaterial,
    Store,
};
use gatehouse_domain::testing::TestDatabase;
use gatehouse_domain::DomainError;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::sync::OnceLock;
use time::{Duration, OffsetDateTime};

/// One self-signed RSA key pair shared by every test: (PKCS#8 DER, certificate DER).
fn key_pair() -> &'static (Vec<u8>, Vec<u8>) {
    static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "sign-in test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(365).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (
            key.private_key_to_pkcs8().unwrap(),
            b.build().to_der().unwrap(),
        )
    })
}

async fn profile(store: &Store, name: &str, with_idp: bool) -> AuthProfile {
    let (private_key_der, certificate_der) = key_pair().clone();
    let p = store
        .create_auth_profile(
            &Sealer::new([9; 32]),
            NewAuthProfile {
                name: name.into(),
                description: "".into(),
                sp_key: SpKeyMaterial {
                    private_key_der,
                    certificate_der: certificate_der.clone(),
                },
            },
            Actor::System,
        )
        .await
        .unwrap();
    if !with_idp {
        return p;
    }
    store
        .import_idp_metadata(
            p.id,
            ImportedIdpMetadata {
                entity_id: format!("https://idp.example/{name}"),
                sso_url: Some("https://idp.example/sso".into()),
                sso_post_url: None,
                certificates: vec![IdpCertificate::from_der(&certificate_der).unwrap()],
                metadata_xml: "<EntityDescriptor/>".into(),
                metadata_url: None,
            },
            Actor::System,
        )
        .await
        .unwrap()
}

async fn caller(store: &Store) -> ScimCaller {
    let (token, _) = store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    ScimCaller {
        token,
        client_ip: "10.0.0.1".into(),
    }
}

async fn user(store: &Store, caller: &ScimCaller, user_name: &str, email: &str) -> String {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": [{"value": email, "primary": true, "type": "work"}],
        "active": true
    });
    store.scim_create_user(&body, caller).await.unwrap().id
}

async fn deactivate(store: &Store, caller: &ScimCaller, id: &str) {
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    store
        .scim_patch_user(id, &patch, None, caller)
        .await
        .unwrap();
}

async fn group(store: &Store, caller: &ScimCaller, name: &str, members: &[&str]) -> String {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
    });
    store.scim_create_group(&body, caller).await.unwrap().id
}

fn detail(e: &Event) -> Value {
    serde_json::from_str(e.detail.as_deref().unwrap()).unwrap()
}

async fn events_named(store: &Store, action: &str) -> Vec<Event> {
    store
        .recent_events(200)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

const NONCE: &str = "browser-nonce-0123456789abcdef";

fn request(id: &str, profile: &AuthProfile, user_id: Option<&str>) -> NewSamlRequest {
    NewSamlRequest {
        id: id.into(),
        profile_id: profile.id,
        browser_nonce: NONCE.into(),
        relay_state: "/portal".into(),
        user_id: user_id.map(str::to_string),
        client_ip: Some("192.0.2.1".into()),
    }
}

fn session(user_id: &str, profile: &AuthProfile, ttl: Duration) -> NewEndUserSession {
    NewEndUserSession {
        user_id: user_id.into(),
        profile_id: profile.id,
        name_id: "ada@example.com".into(),
        session_index: Some("_sess1".into()),
        expires_at: OffsetDateTime::now_utc() + ttl,
        request_id: Some("id-1".into()),
        client_ip: None,
    }
}

#[tokio::test]
async fn login_finds_the_active_user_by_username_or_email_and_their_profile() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = profile(&store, "Okta", true).await;
        let ada = user(&store, &caller, "ada", "Ada.Lovelace@Example.com").await;
        let eng = group(&store, &caller, "Engineering", &[&ada]).await;
        store
            .set_group_profile(&eng, Some(okta.id), Actor::System)
            .await
            .unwrap();

        for typed in [
            "ada",
            "ADA",
            " ada ",
            "ada.lovelace@example.com",
            "ADA.LOVELACE@EXAMPLE.COM",
        ] {
            let found = store
                .find_sign_in_candidate(typed)
                .await
                .unwrap()
                .unwrap_or_else(|r| panic!("{:?}: {typed:?} refused: {r:?}", db.backend));
            assert_eq!(found.user.id, ada);
            assert_eq!(found.profile.id, okta.id);
            assert_eq!(found.via_group.display_name, "Engineering");
            assert_eq!(
                found.profile.idp.as_ref().unwrap().sso_url.as_deref(),
                Some("https://idp.example/sso")
            );
        }
        assert!(matches!(
            store.find_sign_in_candidate("   ").await,
            Err(DomainError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn login_says_exactly_why_it_cannot_start() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let ready = profile(&store, "Ready", true).await;
        let bare = profile(&store, "Bare", false).await;
        let inactive = user(&store, &caller, "ina", "ina@example.com").await;
        let loner = user(&store, &caller, "loner", "loner@example.com").await;
        let early = user(&store, &caller, "early", "early@example.com").await;
        let twin1 = user(&store, &caller, "twin1", "twins@example.com").await;
        let twin2 = user(&store, &caller, "twin2", "Twins@example.com").await;
        let g = group(&store, &caller, "G", &[&inactive, &twin1, &twin2]).await;
        store
            .set_group_profile(&g, Some(ready.id), Actor::System)
            .await
            .unwrap();
        let b = group(&store, &caller, "B", &[&early]).await;
        store
            .set_group_profile(&b, Some(bare.id), Actor::System)
            .await
            .unwrap();
        deactivate(&store, &caller, &inactive).await;
        let _ = loner;

        let why = |typed: &'static str| {
            let store = store.clone();
            async move {
                store
                    .find_sign_in_candidate(typed)
                    .await
                    .unwrap()
                    .unwrap_err()
            }
        };
        assert_eq!(
            why("nobody@example.com").await,
            SignInRefusal::UnknownUser,
            "{:?}",
            db.backend
        );
        let r = why("INA@example.com").await;
        assert_eq!(r.code(), "inactive_user");
        assert_eq!(r.user().unwrap().id, inactive);
        let r = why("loner").await;
        assert_eq!(r.code(), "no_profile");
        let r = why("early@example.com").await;
        assert_eq!(r.code(), "profile_without_idp");
        assert!(r.to_string().contains("\"Bare\""), "{r}");
        assert_eq!(
            why("twins@example.com").await,
            SignInRefusal::AmbiguousEmail { users: 2 }
        );
        // The userName of one twin is not ambiguous.
        assert_eq!(
            store
                .find_sign_in_candidate("twin2")
                .await
                .unwrap()
                .unwrap()
                .user
                .id,
            twin2
        );

        // Importing the IdP's metadata makes the bare profile usable.
        store
            .import_idp_metadata(
                bare.id,
                ImportedIdpMetadata {
                    entity_id: "https://idp.example/bare".into(),
                    sso_url: None,
                    sso_post_url: Some("https://idp.example/post".into()),
                    certificates: vec![IdpCertificate::from_der(&key_pair().1).unwrap()],
                    metadata_xml: "<x/>".into(),
                    metadata_url: None,
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert!(store.find_sign_in_candidate("early").await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn the_asserted_identity_must_be_an_active_member_of_a_group_of_the_profile() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = profile(&store, "Okta", true).await;
        let other = profile(&store, "Other", true).await;
        let ada = user(&store, &caller, "ada", "ada@corp.example").await;
        let bob = user(&store, &caller, "bob", "bob@corp.example").await;
        let eng = group(&store, &caller, "Engineering", &[&ada]).await;
        let ops = group(&store, &caller, "Ops", &[&bob]).await;
        store
            .set_group_profile(&eng, Some(okta.id), Actor::System)
            .await
            .unwrap();
        store
            .set_group_profile(&ops, Some(other.id), Actor::System)
            .await
            .unwrap();

        // By userName (the default), ignoring case.
        assert_eq!(
            store
                .match_assertion_user(&okta, "ADA")
                .await
                .unwrap()
                .unwrap()
                .id,
            ada
        );
        assert_eq!(
            store
                .match_assertion_user(&okta, "ada@corp.example")
                .await
                .unwrap(),
            Err(AssertionUserRefusal::UnknownUser),
            "{:?}",
            db.backend
        );
        // Bob exists but is not in a group of this profile.
        let r = store
            .match_assertion_user(&okta, "bob")
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(r.code(), "not_in_profile_group");
        assert!(store
            .user_in_group_with_profile(&bob, other.id)
            .await
            .unwrap());
        assert!(!store
            .user_in_group_with_profile(&bob, okta.id)
            .await
            .unwrap());

        // By email once the profile says so.
        let by_email = store
            .update_auth_profile(
                okta.id,
                AuthProfileEdit {
                    name: "Okta".into(),
                    description: "".into(),
                    settings: AuthProfileSettings {
                        match_attribute: MatchAttribute::Email,
                        ..Default::default()
                    },
                },
                None,
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .match_assertion_user(&by_email, "Ada@Corp.Example")
                .await
                .unwrap()
                .unwrap()
                .id,
            ada
        );

        // Leaving the group or being deactivated ends access through the profile.
        deactivate(&store, &caller, &ada).await;
        assert_eq!(
            store
                .match_assertion_user(&by_email, "ada@corp.example")
                .await
                .unwrap()
                .unwrap_err()
                .code(),
            "inactive_user"
        );
    }
}

#[tokio::test]
async fn an_authn_request_is_consumed_once_by_its_profile_and_browser_before_it_expires() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = profile(&store, "Okta", true).await;
        let other = profile(&store, "Other", true).await;
        let ada = user(&store, &caller, "ada", "ada@example.com").await;
        let now = OffsetDateTime::now_utc();

        let stored = store
            .create_saml_request(&request("id-golden", &okta, Some(&ada)), now)
            .await
            .unwrap();
        assert_eq!(stored.expires_at - stored.created_at, Duration::minutes(5));
        let started = &events_named(&store, "sign_in.started").await[0];
        assert_eq!(started.category, Category::SignIn);
        assert_eq!(started.target.as_deref(), Some("ada"));
        assert_eq!(detail(started)["request_id"], "id-golden");
        assert_eq!(detail(started)["profile"], "Okta");
        assert!(!started.detail.as_ref().unwrap().contains(NONCE));

        // Posted to another profile, or from another browser: refused, and the request
        // stays usable for the right one.
        assert_eq!(
            store
                .consume_saml_request("id-golden", other.id, NONCE, now)
                .await
                .unwrap(),
            Err(RequestRejection::OtherProfile),
            "{:?}",
            db.backend
        );
        assert_eq!(
            store
                .consume_saml_request("id-golden", okta.id, "another-browser-nonce-xxxx", now)
                .await
                .unwrap(),
            Err(RequestRejection::OtherBrowser)
        );
        let used = store
            .consume_saml_request("id-golden", okta.id, NONCE, now + Duration::seconds(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(used.relay_state, "/portal");
        assert_eq!(used.user_id.as_deref(), Some(ada.as_str()));
        assert_eq!(used.profile_id, okta.id);
        assert_eq!(
            store
                .consume_saml_request("id-golden", okta.id, NONCE, now)
                .await
                .unwrap(),
            Err(RequestRejection::AlreadyUsed)
        );
        assert_eq!(
            store
                .consume_saml_request("id-never", okta.id, NONCE, now)
                .await
                .unwrap(),
            Err(RequestRejection::Unknown)
        );

        // Five minutes and one second later it has expired.
        store
            .create_saml_request(&request("id-late", &okta, None), now)
            .await
            .unwrap();
        assert_eq!(
            store
                .consume_saml_request("id-late", okta.id, NONCE, now + Duration::seconds(301))
                .await
                .unwrap(),
            Err(RequestRejection::Expired)
        );
        assert_eq!(RequestRejection::Expired.code(), "request_expired");

        // Bad input is refused before anything is stored.
        let mut offsite = request("id-offsite", &okta, None);
        offsite.relay_state = "//evil.example/".into();
        assert!(matches!(
            store.create_saml_request(&offsite, now).await,
            Err(DomainError::Invalid(_))
        ));
        let mut weak = request("id-weak", &okta, None);
        weak.browser_nonce = "short".into();
        assert!(store.create_saml_request(&weak, now).await.is_err());
        assert!(matches!(
            store
                .create_saml_request(&request("id-golden", &okta, None), now)
                .await,
            Err(DomainError::Conflict(_))
        ));
        assert_eq!(
            store
                .consume_saml_request("id-offsite", okta.id, NONCE, now)
                .await
                .unwrap(),
            Err(RequestRejection::Unknown)
        );

        // Only the nonce's digest is stored.
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let row = sqlx::query("SELECT browser_binding FROM saml_requests WHERE id = $1")
            .bind("id-golden")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let binding: String = row.try_get(0).unwrap();
        assert_eq!(binding.len(), 64);
        assert_ne!(binding, NONCE);
        conn.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_consumers_of_one_request_exactly_one_wins() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let okta = profile(&store, "Okta", true).await;
        let now = OffsetDateTime::now_utc();
        store
            .create_saml_request(&request("id-race", &okta, None), now)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let id = okta.id;
            tasks.push(tokio::spawn(async move {
                store
                    .consume_saml_request("id-race", id, NONCE, OffsetDateTime::now_utc())
                    .await
                    .unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(r) => assert_eq!(r, RequestRejection::AlreadyUsed),
            }
        }
        assert_eq!(won, 1, "{:?}", db.backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_assertion_is_accepted_once_even_concurrently_and_is_purged_after_expiry() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let okta = profile(&store, "Okta", true).await;
        let not_on_or_after = OffsetDateTime::now_utc() + Duration::minutes(5);
        assert_eq!(
            store
                .remember_assertion("_a1", okta.id, not_on_or_after)
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            store
                .remember_assertion("_a1", okta.id, not_on_or_after)
                .await
                .unwrap(),
            Err(Replay),
            "{:?}",
            db.backend
        );

        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let id = okta.id;
            tasks.push(tokio::spawn(async move {
                store
                    .remember_assertion("_race", id, not_on_or_after)
                    .await
                    .unwrap()
            }));
        }
        let mut first = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                first += 1;
            }
        }
        assert_eq!(first, 1, "{:?}", db.backend);

        // Kept until NotOnOrAfter plus the largest clock skew: a purge just before keeps
        // it, one after removes it.
        let purged = store
            .purge_expired_sign_in_state(not_on_or_after + Duration::seconds(590))
            .await
            .unwrap();
        assert_eq!(purged.assertions, 0);
        assert_eq!(
            store
                .remember_assertion("_a1", okta.id, not_on_or_after)
                .await
                .unwrap(),
            Err(Replay)
        );
        let purged = store
            .purge_expired_sign_in_state(not_on_or_after + Duration::seconds(700))
            .await
            .unwrap();
        assert_eq!(purged.assertions, 2);
        assert!(matches!(
            store.remember_assertion("", okta.id, not_on_or_after).await,
            Err(DomainError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn a_session_is_found_by_its_secret_until_sign_out_expiry_or_deactivation() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = profile(&store, "Okta", true).await;
        let ada = user(&store, &caller, "ada", "ada@example.com").await;
        let eng = group(&store, &caller, "Engineering", &[&ada]).await;
        store
            .set_group_profile(&eng, Some(okta.id), Actor::System)
            .await
            .unwrap();

        let (started, secret) = store
            .start_end_user_session(&session(&ada, &okta, Duration::hours(8)))
            .await
            .unwrap();
        let found = store.find_end_user_session(&secret).await.unwrap().unwrap();
        assert_eq!(found, started, "{:?}", db.backend);
        assert_eq!(found.user_name, "ada");
        assert_eq!(found.profile.name, "Okta");
        assert_eq!(found.groups[0].display_name, "Engineering");
        assert!(found.expires_at > OffsetDateTime::now_utc() + Duration::hours(7));
        assert_eq!(
            store.find_end_user_session("wrong secret").await.unwrap(),
            None
        );
        assert_eq!(store.count_end_user_sessions(&ada).await.unwrap(), 1);
        assert_eq!(
            store.end_user_sessions_of(&ada).await.unwrap()[0].session_id,
            started.session_id
        );
        let ok = &events_named(&store, "sign_in.succeeded").await[0];
        assert_eq!(ok.outcome, Outcome::Success);
        assert_eq!(detail(ok)["session_id"], started.session_id);

        // Neither the database nor the events hold the secret.
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let row = sqlx::query("SELECT id_hash FROM end_user_sessions")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let hash: String = row.try_get(0).unwrap();
        assert_ne!(hash, secret);
        assert_eq!(hash.len(), 64);
        for e in store.recent_events(100).await.unwrap() {
            assert!(!format!("{e:?}").contains(&secret));
        }

        // Sign out.
        assert!(store.sign_out_end_user(&secret).await.unwrap());
        assert!(!store.sign_out_end_user(&secret).await.unwrap());
        assert_eq!(store.find_end_user_session(&secret).await.unwrap(), None);
        assert_eq!(events_named(&store, "sign_in.signed_out").await.len(), 1);

        // Expired.
        let (_, short) = store
            .start_end_user_session(&session(&ada, &okta, Duration::milliseconds(300)))
            .await
            .unwrap();
        assert!(store.find_end_user_session(&short).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert_eq!(store.find_end_user_session(&short).await.unwrap(), None);

        // An inactive user's session is not returned even if it survived somehow.
        let (_, kept) = store
            .start_end_user_session(&session(&ada, &okta, Duration::hours(1)))
            .await
            .unwrap();
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(false)
            .bind(&ada)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(store.find_end_user_session(&kept).await.unwrap(), None);
        // ...and no new session starts for them.
        assert!(matches!(
            store
                .start_end_user_session(&session(&ada, &okta, Duration::hours(1)))
                .await,
            Err(DomainError::NotFound(_))
        ));
        conn.close().await.unwrap();

        // Sessions are bounded and must end in the future.
        let bob = user(&store, &caller, "bob", "bob@example.com").await;
        for ttl in [Duration::seconds(-1), Duration::days(31)] {
            assert!(matches!(
                store
                    .start_end_user_session(&session(&bob, &okta, ttl))
                    .await,
                Err(DomainError::Invalid(_))
            ));
        }
    }
}

#[tokio::test]
async fn scim_deactivation_and_deletion_end_the_users_sessions_in_the_same_write() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = profile(&store, "Okta", true).await;
        let ada = user(&store, &caller, "ada", "ada@example.com").await;
        let bob = user(&store, &caller, "bob", "bob@example.com").await;
        let mut secrets = Vec::new();
        for _ in 0..2 {
            secrets.push(
                store
                    .start_end_user_session(&session(&ada, &okta, Duration::hours(1)))
                    .await
                    .unwrap()
                    .1,
            );
        }
        let (_, bobs) = store
            .start_end_user_session(&session(&bob, &okta, Duration::hours(1)))
            .await
            .unwrap();

        deactivate(&store, &caller, &ada).await;
        for s in &secrets {
            assert_eq!(
                store.find_end_user_session(s).await.unwrap(),
                None,
                "{:?}",
                db.backend
            );
        }
        assert_eq!(store.count_end_user_sessions(&ada).await.unwrap(), 0);
        let ev = &events_named(&store, "user.deactivated").await[0];
        assert_eq!(detail(ev)["sessions_ended"], 2);
        // Bob is untouched.
        assert!(store.find_end_user_session(&bobs).await.unwrap().is_some());

        // Deleting a user ends theirs too, and says how many.
        store.scim_delete_user(&bob, None, &caller).await.unwrap();
        assert_eq!(store.find_end_user_session(&bobs).await.unwrap(), None);
        let ev = &events_named(&store, "user.deleted").await[0];
        assert_eq!(detail(ev)["sessions_ended"], 1);

        // The admin's "End sessions".
        let cy = user(&store, &caller, "cy", "cy@example.com").await;
        let (_, cys) = store
            .start_end_user_session(&session(&cy, &okta, Duration::hours(1)))
            .await
            .unwrap();
        assert_eq!(
            store
                .end_sessions_of_user(&cy, Actor::Admin("a1".into()))
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.find_end_user_session(&cys).await.unwrap(), None);
        let ev = &events_named(&store, "user.sessions_ended").await[0];
        assert_eq!(ev.target.as_deref(), Some("cy"));
        assert_eq!(detail(ev)["sessions_ended"], 1);
    }
}

#[tokio::test]
async fn deleting_a_profile_ends_the_sessions_started_through_it() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = profile(&store, "Okta", true).await;
        let ada = user(&store, &caller, "ada", "ada@example.com").await;
        let (_, secret) = store
            .start_end_user_session(&session(&ada, &okta, Duration::hours(1)))
            .await
            .unwrap();
        store
            .create_saml_request(&request("id-x", &okta, None), OffsetDateTime::now_utc())
            .await
            .unwrap();
        let deleted = store
            .delete_auth_profile(okta.id, None, Actor::System)
            .await
            .unwrap();
        assert_eq!(deleted.sessions_ended, 1, "{:?}", db.backend);
        assert_eq!(store.find_end_user_session(&secret).await.unwrap(), None);
        assert_eq!(
            store
                .consume_saml_request("id-x", okta.id, NONCE, OffsetDateTime::now_utc())
                .await
                .unwrap(),
            Err(RequestRejection::Unknown)
        );
    }
}

#[tokio::test]
async fn failures_are_recorded_with_their_reason_and_reference() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let okta = profile(&store, "Okta", true).await;
        let mut e = SignInEvent::new(SignInStep::Failed);
        e.profile = Some(okta.to_ref());
        e.identifier = Some("nobody@example.com".into());
        e.reason = Some(SignInRefusal::UnknownUser.code().into());
        e.message = Some(SignInRefusal::UnknownUser.to_string());
        e.reference_id = Some("REF-123".into());
        store.record_sign_in_event(e).await.unwrap();
        let ev = &events_named(&store, "sign_in.failed").await[0];
        assert_eq!(ev.outcome, Outcome::Failure, "{:?}", db.backend);
        assert_eq!(ev.category, Category::SignIn);
        assert_eq!(ev.target.as_deref(), Some("nobody@example.com"));
        let d = detail(ev);
        assert_eq!(d["reason"], "unknown_user");
        assert_eq!(d["reference_id"], "REF-123");
        assert_eq!(d["profile_id"], okta.id.to_string());
    }
}
