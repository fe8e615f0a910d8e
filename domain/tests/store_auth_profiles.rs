//! SAML authentication profiles and their assignment to groups, on SQLite and PostgreSQL.

use gatehouse_domain::auth_profile::{
    AuthProfileEdit, AuthProfileSettings, IdpCertificate, MatchAttribute, OnProfileGroups,
};
use gatehouse_domain::event::{Actor, Category, Event};
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::{
    ImportedIdpMetadata, NewAuthProfile, ScimCaller, SpKeyMaterial, Store,
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

/// A self-signed RSA key pair: (PKCS#8 DER, certificate DER).
fn make_key_pair(cn: &str, days: u32) -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(cn.len() as u32 + days).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(days).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (
        key.private_key_to_pkcs8().unwrap(),
        b.build().to_der().unwrap(),
    )
}

/// Key pairs are slow to make; the tests share a few.
fn key_pairs() -> &'static [(Vec<u8>, Vec<u8>)] {
    static PAIRS: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        (0..4)
            .map(|i| make_key_pair(&format!("test-{i}"), 365 + i))
            .collect()
    })
}

fn sp_key(i: usize) -> SpKeyMaterial {
    let (private_key_der, certificate_der) = key_pairs()[i].clone();
    SpKeyMaterial {
        private_key_der,
        certificate_der,
    }
}

fn idp_cert(i: usize) -> IdpCertificate {
    IdpCertificate::from_der(&key_pairs()[i].1).unwrap()
}

fn sealer() -> Sealer {
    Sealer::new([42; 32])
}

async fn create(store: &Store, name: &str) -> gatehouse_domain::auth_profile::AuthProfile {
    store
        .create_auth_profile(
            &sealer(),
            NewAuthProfile {
                name: name.into(),
                description: "".into(),
                sp_key: sp_key(0),
            },
            Actor::Admin("admin-1".into()),
        )
        .await
        .unwrap()
}

fn metadata(certs: &[usize], url: Option<&str>) -> ImportedIdpMetadata {
    ImportedIdpMetadata {
        entity_id: "http://www.okta.com/exk1".into(),
        sso_url: Some("https://example.okta.com/app/x/sso/saml".into()),
        sso_post_url: Some("https://example.okta.com/app/x/sso/saml".into()),
        certificates: certs.iter().map(|i| idp_cert(*i)).collect(),
        metadata_xml: "<md:EntityDescriptor/>".into(),
        metadata_url: url.map(str::to_string),
    }
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

async fn scim_user(store: &Store, caller: &ScimCaller, user_name: &str) -> String {
    let body =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name});
    store.scim_create_user(&body, caller).await.unwrap().id
}

async fn scim_group(store: &Store, caller: &ScimCaller, name: &str, members: &[&str]) -> String {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
    });
    store.scim_create_group(&body, caller).await.unwrap().id
}

#[tokio::test]
async fn a_profile_is_created_with_a_sealed_key_and_listed_in_priority_order() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let okta = create(&store, "Okta").await;
        let entra = create(&store, "  Entra ID ").await;
        assert_eq!(okta.priority, 1, "{:?}", db.backend);
        assert_eq!(entra.priority, 2);
        assert_eq!(entra.name, "Entra ID");
        assert_eq!(okta.settings, AuthProfileSettings::default());
        assert!(okta.idp.is_none());
        assert!(!okta.can_sign_in());
        assert_eq!(okta.version, 1);
        assert_eq!(okta.sp_certificate_der().unwrap(), key_pairs()[0].1);
        let days_left =
            (okta.sp_certificate_not_after - time::OffsetDateTime::now_utc()).whole_days();
        assert!((363..=365).contains(&days_left), "{days_left}");

        let listed = store.list_auth_profiles().await.unwrap();
        assert_eq!(
            listed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Okta", "Entra ID"]
        );
        assert_eq!(store.get_auth_profile(okta.id).await.unwrap(), okta);
        assert_eq!(
            store.resolve_auth_profile("okta").await.unwrap().id,
            okta.id
        );
        assert_eq!(
            store
                .resolve_auth_profile(&entra.id.to_string())
                .await
                .unwrap()
                .id,
            entra.id
        );

        // The private key is stored sealed, opens with the right key only.
        assert_eq!(
            store.sp_private_key_der(okta.id, &sealer()).await.unwrap(),
            key_pairs()[0].0
        );
        assert!(store
            .sp_private_key_der(okta.id, &Sealer::new([1; 32]))
            .await
            .is_err());
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let row = sqlx::query("SELECT sp_private_key_sealed FROM auth_profiles WHERE id = $1")
            .bind(okta.id.to_string())
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let stored: String = row.try_get(0).unwrap();
        use base64::Engine;
        let plain_b64 = base64::engine::general_purpose::STANDARD.encode(&key_pairs()[0].0);
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains(&plain_b64[..40]));
        conn.close().await.unwrap();

        let created = events_named(&store, "auth_profile.created").await;
        assert_eq!(created.len(), 2);
        let e = created
            .iter()
            .find(|e| e.target.as_deref() == Some("Okta"))
            .unwrap();
        assert_eq!(e.category, Category::Configuration);
        assert_eq!(e.actor, Actor::Admin("admin-1".into()));
        assert_eq!(detail(e)["profile_id"], okta.id.to_string());
        assert!(!e.detail.as_ref().unwrap().contains(&plain_b64[..40]));
    }
}

#[tokio::test]
async fn names_are_unique_ignoring_case_and_bad_input_is_refused() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let okta = create(&store, "Okta").await;
        let err = store
            .create_auth_profile(
                &sealer(),
                NewAuthProfile {
                    name: "OKTA".into(),
                    description: "".into(),
                    sp_key: sp_key(1),
                },
                Actor::System,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Conflict(_)),
            "{:?}: {err:?}",
            db.backend
        );
        assert!(err.to_string().contains("already exists"));

        for name in ["", "   ", "a\u{7}b"] {
            let err = store
                .create_auth_profile(
                    &sealer(),
                    NewAuthProfile {
                        name: name.into(),
                        description: "".into(),
                        sp_key: sp_key(1),
                    },
                    Actor::System,
                )
                .await
                .unwrap_err();
            assert!(matches!(err, DomainError::Invalid(_)), "{name:?}: {err:?}");
        }

        // A certificate that is not the key's is refused, naming the problem.
        let mismatched = SpKeyMaterial {
            private_key_der: key_pairs()[1].0.clone(),
            certificate_der: key_pairs()[2].1.clone(),
        };
        let err = store
            .create_auth_profile(
                &sealer(),
                NewAuthProfile {
                    name: "Other".into(),
                    description: "".into(),
                    sp_key: mismatched,
                },
                Actor::System,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");
        let garbage = SpKeyMaterial {
            private_key_der: b"nope".to_vec(),
            certificate_der: key_pairs()[1].1.clone(),
        };
        assert!(format!("{garbage:?}").contains("redacted"));
        assert!(store
            .create_auth_profile(
                &sealer(),
                NewAuthProfile {
                    name: "Other".into(),
                    description: "".into(),
                    sp_key: garbage,
                },
                Actor::System,
            )
            .await
            .is_err());

        // Renaming onto another profile's name is a conflict too.
        let other = create(&store, "Other").await;
        let err = store
            .update_auth_profile(
                other.id,
                AuthProfileEdit {
                    name: "okta".into(),
                    description: "".into(),
                    settings: AuthProfileSettings::default(),
                },
                None,
                Actor::System,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
        assert_eq!(store.list_auth_profiles().await.unwrap().len(), 2);
        assert_eq!(store.get_auth_profile(okta.id).await.unwrap().name, "Okta");
    }
}

#[tokio::test]
async fn settings_are_validated_and_changes_are_recorded_before_and_after() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let p = create(&store, "Okta").await;
        let edit = |skew: u32| AuthProfileEdit {
            name: "Okta prod".into(),
            description: "Employees".into(),
            settings: AuthProfileSettings {
                match_attribute: MatchAttribute::Email,
                match_saml_attribute: Some(" mail ".into()),
                clock_skew_seconds: skew,
                sign_authn_requests: true,
                allow_idp_initiated: true,
            },
        };
        let err = store
            .update_auth_profile(p.id, edit(601), None, Actor::System)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Invalid(_)), "{err:?}");
        assert!(err.to_string().contains("between 0 and 600"), "{err}");
        assert_eq!(store.get_auth_profile(p.id).await.unwrap().version, 1);

        let updated = store
            .update_auth_profile(p.id, edit(30), Some(1), Actor::System)
            .await
            .unwrap();
        assert_eq!(updated.version, 2, "{:?}", db.backend);
        assert_eq!(updated.name, "Okta prod");
        assert_eq!(updated.settings.match_attribute, MatchAttribute::Email);
        assert_eq!(
            updated.settings.match_saml_attribute.as_deref(),
            Some("mail")
        );
        assert_eq!(updated.settings.clock_skew_seconds, 30);
        assert!(updated.settings.sign_authn_requests && updated.settings.allow_idp_initiated);

        let ev = events_named(&store, "auth_profile.updated").await;
        assert_eq!(ev.len(), 1);
        let changed = &detail(&ev[0])["changed"];
        assert_eq!(
            changed["name"],
            json!({"before": "Okta", "after": "Okta prod"})
        );
        assert_eq!(
            changed["clock_skew_seconds"],
            json!({"before": 120, "after": 30})
        );
        assert_eq!(
            changed["match_attribute"],
            json!({"before": "user_name", "after": "email"})
        );

        // A form opened before that change is refused instead of overwriting it.
        let err = store
            .update_auth_profile(p.id, edit(60), Some(1), Actor::System)
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
        // Saving the same values again changes and records nothing.
        let same = store
            .update_auth_profile(p.id, edit(30), Some(2), Actor::System)
            .await
            .unwrap();
        assert_eq!(same.version, 2);
        assert_eq!(events_named(&store, "auth_profile.updated").await.len(), 1);
    }
}

#[tokio::test]
async fn importing_metadata_records_what_changed() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let p = create(&store, "Okta").await;
        let imported = store
            .import_idp_metadata(p.id, metadata(&[1], None), Actor::System)
            .await
            .unwrap();
        assert!(imported.can_sign_in(), "{:?}", db.backend);
        let idp = imported.idp.as_ref().unwrap();
        assert_eq!(idp.entity_id, "http://www.okta.com/exk1");
        assert_eq!(idp.certificates.len(), 1);
        assert_eq!(idp.certificates[0].subject, "CN=test-1");
        assert_eq!(
            idp.certificates[0].sha256_fingerprint,
            idp_cert(1).sha256_fingerprint
        );
        assert!(idp.metadata_fetched_at.is_some());
        assert_eq!(
            imported.idp_certificates_der().unwrap(),
            vec![key_pairs()[1].1.clone()]
        );
        assert_eq!(
            store.idp_metadata_xml(p.id).await.unwrap().as_deref(),
            Some("<md:EntityDescriptor/>")
        );
        let first = &events_named(&store, "auth_profile.metadata_imported").await[0];
        let d = detail(first);
        assert_eq!(d["source"], "upload");
        assert_eq!(
            d["changes"]["entity_id"],
            json!({"before": null, "after": "http://www.okta.com/exk1"})
        );
        assert_eq!(d["certificates_added"].as_array().unwrap().len(), 1);
        assert_eq!(d["changed"], true);

        // Key rollover: the IdP adds a certificate and later drops the old one, and the
        // metadata now comes from a URL.
        let mut rolled = metadata(
            &[2, 1],
            Some("https://example.okta.com/app/exk1/sso/saml/metadata"),
        );
        rolled.entity_id = "http://www.okta.com/exk2".into();
        store
            .import_idp_metadata(p.id, rolled, Actor::System)
            .await
            .unwrap();
        let dropped = store
            .import_idp_metadata(
                p.id,
                metadata(
                    &[2],
                    Some("https://example.okta.com/app/exk1/sso/saml/metadata"),
                ),
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(dropped.idp.as_ref().unwrap().certificates.len(), 1);
        let imports = events_named(&store, "auth_profile.metadata_imported").await;
        assert_eq!(imports.len(), 2);
        let refreshes = events_named(&store, "auth_profile.metadata_refreshed").await;
        assert_eq!(refreshes.len(), 1);
        let second = detail(&imports[0]);
        assert_eq!(second["source"], "url");
        assert_eq!(
            second["certificates_added"][0]["sha256_fingerprint"],
            idp_cert(2).sha256_fingerprint
        );
        assert_eq!(second["certificates_removed"], json!([]));
        assert_eq!(
            second["certificates_kept"],
            json!([idp_cert(1).sha256_fingerprint])
        );
        assert_eq!(
            second["changes"]["entity_id"]["after"],
            "http://www.okta.com/exk2"
        );
        let third = detail(&refreshes[0]);
        assert_eq!(
            third["certificates_removed"][0]["sha256_fingerprint"],
            idp_cert(1).sha256_fingerprint
        );
        assert_eq!(third["certificates_added"], json!([]));
        assert_eq!(
            third["changes"]["entity_id"]["after"],
            "http://www.okta.com/exk1"
        );

        // A refresh that finds nothing new says so.
        store
            .import_idp_metadata(
                p.id,
                metadata(
                    &[2],
                    Some("https://example.okta.com/app/exk1/sso/saml/metadata"),
                ),
                Actor::System,
            )
            .await
            .unwrap();
        let latest = &events_named(&store, "auth_profile.metadata_refreshed").await[0];
        assert_eq!(detail(latest)["changed"], false);
        assert_eq!(detail(latest)["changes"], json!({}));
    }
}

#[tokio::test]
async fn metadata_that_could_not_verify_a_response_is_refused() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let p = create(&store, "Okta").await;
        let refused = |m: ImportedIdpMetadata| {
            let store = store.clone();
            async move {
                store
                    .import_idp_metadata(p.id, m, Actor::System)
                    .await
                    .unwrap_err()
                    .to_string()
            }
        };
        let no_cert = metadata(&[], None);
        assert!(refused(no_cert).await.contains("no signing certificate"));
        let mut no_sso = metadata(&[1], None);
        no_sso.sso_url = None;
        no_sso.sso_post_url = None;
        assert!(refused(no_sso).await.contains("single sign-on URL"));
        let mut bad_url = metadata(&[1], None);
        bad_url.sso_url = Some("javascript:alert(1)".into());
        assert!(refused(bad_url).await.contains("not an http(s) URL"));
        let mut wrong_fp = metadata(&[1], None);
        wrong_fp.certificates[0].sha256_fingerprint = idp_cert(2).sha256_fingerprint;
        assert!(refused(wrong_fp).await.contains("fingerprint"));
        let mut not_a_cert = metadata(&[1], None);
        not_a_cert.certificates[0].der_base64 = "AAAA".into();
        assert!(refused(not_a_cert).await.contains("not a valid X.509"));
        let mut no_entity = metadata(&[1], None);
        no_entity.entity_id = "  ".into();
        assert!(refused(no_entity).await.contains("entity ID"));

        // Nothing was saved and nothing was recorded as imported.
        assert!(
            store.get_auth_profile(p.id).await.unwrap().idp.is_none(),
            "{:?}",
            db.backend
        );
        assert!(events_named(&store, "auth_profile.metadata_imported")
            .await
            .is_empty());
    }
}

#[tokio::test]
async fn rotating_the_sp_certificate_replaces_key_and_certificate() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let p = create(&store, "Okta").await;
        let rotated = store
            .rotate_sp_certificate(p.id, &sealer(), sp_key(3), Actor::System)
            .await
            .unwrap();
        assert_eq!(rotated.sp_certificate_der().unwrap(), key_pairs()[3].1);
        assert_eq!(rotated.version, 2);
        assert!(rotated.sp_certificate_not_after > p.sp_certificate_not_after);
        assert_eq!(
            store.sp_private_key_der(p.id, &sealer()).await.unwrap(),
            key_pairs()[3].0,
            "{:?}",
            db.backend
        );
        let ev = &events_named(&store, "auth_profile.certificate_rotated").await[0];
        let d = detail(ev);
        assert_eq!(d["previous_sha256"], idp_cert(0).sha256_fingerprint);
        assert_eq!(d["sha256"], idp_cert(3).sha256_fingerprint);
    }
}

#[tokio::test]
async fn groups_are_assigned_changed_and_unassigned_with_events() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = create(&store, "Okta").await;
        let entra = create(&store, "Entra").await;
        let eng = scim_group(&store, &caller, "Engineering", &[]).await;

        let c = store
            .set_group_profile(&eng, Some(okta.id), Actor::System)
            .await
            .unwrap();
        assert_eq!(c.before, None);
        assert_eq!(c.after.unwrap().id, okta.id);
        assert_eq!(
            store.profile_of_group(&eng).await.unwrap().unwrap().id,
            okta.id
        );
        // The same again changes and records nothing.
        store
            .set_group_profile(&eng, Some(okta.id), Actor::System)
            .await
            .unwrap();
        assert_eq!(
            events_named(&store, "group.profile_assigned").await.len(),
            1,
            "{:?}",
            db.backend
        );

        store
            .set_group_profile(&eng, Some(entra.id), Actor::System)
            .await
            .unwrap();
        let changed = &events_named(&store, "group.profile_assigned").await[0];
        assert_eq!(changed.target.as_deref(), Some("Engineering"));
        let d = detail(changed);
        assert_eq!(d["previous_profile"], "Okta");
        assert_eq!(d["profile"], "Entra");
        assert_eq!(d["group_id"], eng);
        let listed = store.list_auth_profiles().await.unwrap();
        assert!(listed[0].groups.is_empty());
        assert_eq!(listed[1].groups[0].display_name, "Engineering");
        assert_eq!(store.list_group_profiles().await.unwrap().len(), 1);

        store
            .set_group_profile(&eng, None, Actor::System)
            .await
            .unwrap();
        assert_eq!(store.profile_of_group(&eng).await.unwrap(), None);
        let removed = &events_named(&store, "group.profile_removed").await[0];
        assert_eq!(detail(removed)["previous_profile"], "Entra");

        // Unknown group or profile: NotFound, nothing changes.
        assert!(matches!(
            store
                .set_group_profile("nope", Some(okta.id), Actor::System)
                .await,
            Err(DomainError::NotFound(_))
        ));
        let gone = gatehouse_domain::auth_profile::AuthProfileId(uuid::Uuid::nil());
        assert!(matches!(
            store
                .set_group_profile(&eng, Some(gone), Actor::System)
                .await,
            Err(DomainError::NotFound(_))
        ));
        assert_eq!(store.resolve_group("ENGINEERING").await.unwrap().id, eng);
        assert_eq!(
            store.resolve_group(&eng).await.unwrap().display_name,
            "Engineering"
        );
        assert!(store.resolve_group("Sales").await.is_err());
    }
}

#[tokio::test]
async fn deleting_a_profile_never_leaves_a_group_pointing_at_nothing() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let okta = create(&store, "Okta").await;
        let entra = create(&store, "Entra").await;
        let spare = create(&store, "Spare").await;
        let eng = scim_group(&store, &caller, "Engineering", &[]).await;
        let ops = scim_group(&store, &caller, "Ops", &[]).await;
        for g in [&eng, &ops] {
            store
                .set_group_profile(g, Some(okta.id), Actor::System)
                .await
                .unwrap();
        }

        // Without a choice: refused, with the number and names of the groups.
        let err = store
            .delete_auth_profile(okta.id, None, Actor::System)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Conflict(_)),
            "{:?}: {err:?}",
            db.backend
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("2 groups use the profile \"Okta\""),
            "{msg}"
        );
        assert!(msg.contains("Engineering") && msg.contains("Ops"), "{msg}");
        // Moving them to the profile being deleted, or to none that exists, is refused too.
        assert!(matches!(
            store
                .delete_auth_profile(
                    okta.id,
                    Some(OnProfileGroups::ReassignTo(okta.id)),
                    Actor::System
                )
                .await,
            Err(DomainError::Invalid(_))
        ));
        let gone = gatehouse_domain::auth_profile::AuthProfileId(uuid::Uuid::nil());
        assert!(matches!(
            store
                .delete_auth_profile(
                    okta.id,
                    Some(OnProfileGroups::ReassignTo(gone)),
                    Actor::System
                )
                .await,
            Err(DomainError::NotFound(_))
        ));
        assert_eq!(
            store.get_auth_profile(okta.id).await.unwrap().groups.len(),
            2
        );

        // Reassign: both groups now use Entra, in the same transaction as the delete.
        let deleted = store
            .delete_auth_profile(
                okta.id,
                Some(OnProfileGroups::ReassignTo(entra.id)),
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(deleted.groups.len(), 2);
        assert_eq!(deleted.reassigned_to.as_ref().unwrap().id, entra.id);
        assert!(matches!(
            store.get_auth_profile(okta.id).await,
            Err(DomainError::NotFound(_))
        ));
        for g in [&eng, &ops] {
            assert_eq!(
                store.profile_of_group(g).await.unwrap().unwrap().id,
                entra.id
            );
        }
        let ev = &events_named(&store, "auth_profile.deleted").await[0];
        assert_eq!(detail(ev)["on_groups"], "reassigned");
        assert_eq!(detail(ev)["groups"], 2);
        let moved = events_named(&store, "group.profile_assigned").await;
        assert_eq!(
            moved
                .iter()
                .filter(|e| detail(e)["reason"] == "profile deleted")
                .count(),
            2
        );

        // Unassign: the groups are left without a profile.
        let deleted = store
            .delete_auth_profile(entra.id, Some(OnProfileGroups::Unassign), Actor::System)
            .await
            .unwrap();
        assert_eq!(deleted.reassigned_to, None);
        for g in [&eng, &ops] {
            assert_eq!(store.profile_of_group(g).await.unwrap(), None);
        }
        assert_eq!(events_named(&store, "group.profile_removed").await.len(), 2);

        // A profile no group uses is deleted without a choice.
        store
            .delete_auth_profile(spare.id, None, Actor::System)
            .await
            .unwrap();
        assert!(store.list_auth_profiles().await.unwrap().is_empty());
        assert!(matches!(
            store
                .delete_auth_profile(spare.id, None, Actor::System)
                .await,
            Err(DomainError::NotFound(_))
        ));

        // Groups themselves are untouched, and a group with a profile can still be deleted
        // over SCIM; the profile then has one group fewer.
        assert!(store.scim_get_group(&eng, false).await.is_ok());
        let last = create(&store, "Last").await;
        store
            .set_group_profile(&eng, Some(last.id), Actor::System)
            .await
            .unwrap();
        store.scim_delete_group(&eng, None, &caller).await.unwrap();
        assert!(store
            .get_auth_profile(last.id)
            .await
            .unwrap()
            .groups
            .is_empty());
    }
}

#[tokio::test]
async fn the_lowest_priority_number_decides_a_users_profile_and_can_be_reordered() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let caller = caller(&store).await;
        let first = create(&store, "First").await;
        let second = create(&store, "Second").await;
        let third = create(&store, "Third").await;
        let ada = scim_user(&store, &caller, "ada@example.com").await;
        // Group names sort opposite to the priorities, so name order cannot be what decides.
        let a = scim_group(&store, &caller, "A team", &[&ada]).await;
        let z = scim_group(&store, &caller, "Z team", &[&ada]).await;
        store
            .set_group_profile(&a, Some(second.id), Actor::System)
            .await
            .unwrap();
        store
            .set_group_profile(&z, Some(first.id), Actor::System)
            .await
            .unwrap();

        let eff = store
            .effective_profile_of_user(&ada)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(eff.profile.id, first.id, "{:?}", db.backend);
        assert_eq!(eff.via_group.display_name, "Z team");
        assert_eq!(eff.priority, 1);

        // Move "Second" to the top: it now wins.
        let order = store
            .move_auth_profile(second.id, 1, Actor::System)
            .await
            .unwrap();
        assert_eq!(
            order.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Second", "First", "Third"]
        );
        let listed = store.list_auth_profiles().await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|p| (p.name.as_str(), p.priority))
                .collect::<Vec<_>>(),
            [("Second", 1), ("First", 2), ("Third", 3)]
        );
        let eff = store
            .effective_profile_of_user(&ada)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(eff.profile.id, second.id);
        assert_eq!(eff.via_group.display_name, "A team");
        let ev = &events_named(&store, "auth_profile.reordered").await[0];
        assert_eq!(detail(ev)["order"], json!(["Second", "First", "Third"]));

        // Last place, and out-of-range positions.
        store
            .move_auth_profile(second.id, 3, Actor::System)
            .await
            .unwrap();
        assert_eq!(
            store
                .effective_profile_of_user(&ada)
                .await
                .unwrap()
                .unwrap()
                .profile
                .id,
            first.id
        );
        for bad in [0, 4] {
            assert!(matches!(
                store.move_auth_profile(third.id, bad, Actor::System).await,
                Err(DomainError::Invalid(_))
            ));
        }
        // A new profile goes after all others, even after reordering.
        let fourth = create(&store, "Fourth").await;
        assert_eq!(fourth.priority, 4);

        // A user in no group with a profile has none.
        let bob = scim_user(&store, &caller, "bob@example.com").await;
        assert_eq!(store.effective_profile_of_user(&bob).await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_get_distinct_priorities() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let mut tasks = Vec::new();
        for i in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .create_auth_profile(
                        &sealer(),
                        NewAuthProfile {
                            name: format!("P{i}"),
                            description: "".into(),
                            sp_key: sp_key(0),
                        },
                        Actor::System,
                    )
                    .await
                    .map(|p| p.priority)
            }));
        }
        let mut priorities = Vec::new();
        for t in tasks {
            priorities.push(t.await.unwrap().unwrap());
        }
        priorities.sort();
        assert_eq!(priorities, [1, 2, 3, 4, 5, 6], "{:?}", db.backend);
    }
}
