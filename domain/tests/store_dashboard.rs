//! The Dashboard's figures on SQLite and PostgreSQL: counts, the 24-hour windows of SCIM
//! failures and sign-ins, the certificate-expiry window, and the set-up checklist ticking
//! itself as each step is done (issues 4 and 5).

use gatehouse_domain::auth_profile::IdpCertificate;
use gatehouse_domain::event::{Actor, Category, NewEvent, Outcome};
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::{
    CertificateKind, ImportedIdpMetadata, NewAuthProfile, ScimCaller, SetupProgress, SpKeyMaterial,
    Store,
};
use gatehouse_domain::testing::TestDatabase;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use serde_json::json;
use std::sync::OnceLock;
use time::{Duration, OffsetDateTime};

const WINDOW: Duration = Duration::days(30);

/// A self-signed key pair valid for `days`: (PKCS#8 DER, certificate DER).
fn make_key_pair(cn: &str, days: u32) -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(days).unwrap().to_asn1_integer().unwrap())
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

/// The SP pair (365 days), an IdP certificate ending soon (100 days) and its successor
/// (400 days). Made once: RSA keys are slow.
fn pairs() -> &'static [(Vec<u8>, Vec<u8>)] {
    static PAIRS: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        vec![
            make_key_pair("sp", 365),
            make_key_pair("idp-old", 100),
            make_key_pair("idp-new", 400),
        ]
    })
}

fn idp_cert(i: usize) -> IdpCertificate {
    IdpCertificate::from_der(&pairs()[i].1).unwrap()
}

async fn caller(store: &Store) -> (ScimCaller, String) {
    let (token, secret) = store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    (
        ScimCaller {
            token,
            client_ip: "10.0.0.1".into(),
        },
        secret,
    )
}

fn event(category: Category, action: &'static str, outcome: Outcome) -> NewEvent {
    NewEvent {
        category,
        action,
        outcome,
        actor: Actor::Anonymous,
        target: None,
        detail: None,
    }
}

#[tokio::test]
async fn counts_windows_and_checklist() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let name = db.backend.name();
        let now = OffsetDateTime::now_utc();

        // A new installation: nothing counted, nothing ticked.
        let d = store.dashboard(now, WINDOW).await.unwrap();
        assert_eq!(d.counts.users_active, 0, "{name}");
        assert_eq!(d.counts.groups, 0, "{name}");
        assert_eq!(d.provisioning.last_request(), None, "{name}");
        assert_eq!(d.setup, SetupProgress::default(), "{name}");
        assert!(!d.setup.complete(), "{name}");
        assert!(d.certificates.is_empty(), "{name}");

        // A token that was never presented is not a connection.
        let (c, secret) = caller(&store).await;
        let d = store.dashboard(now, WINDOW).await.unwrap();
        assert!(!d.setup.okta_connected, "{name}");
        store
            .authenticate_scim_token(&secret, "10.0.0.1")
            .await
            .unwrap()
            .unwrap();

        // Okta pushes three users (one deactivated) and a group.
        let mut ids = Vec::new();
        for (user_name, active) in [("ada", true), ("grace", true), ("alan", false)] {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "active": active,
            });
            ids.push(store.scim_create_user(&body, &c).await.unwrap().id);
        }
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": ids[0]}],
        });
        let group_id = store.scim_create_group(&group, &c).await.unwrap().id;
        // A refused write now, and events of the previous day that must not count.
        let dup =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ADA"});
        assert!(store.scim_create_user(&dup, &c).await.is_err());
        let old = now - Duration::hours(25);
        let recent = now - Duration::hours(23);
        store
            .insert_events_at(vec![
                (
                    old,
                    event(Category::Provisioning, "user.create", Outcome::Failure),
                ),
                (
                    old,
                    event(Category::SignIn, "sign_in.succeeded", Outcome::Success),
                ),
                (
                    old,
                    event(Category::SignIn, "sign_in.failed", Outcome::Failure),
                ),
                (
                    recent,
                    event(Category::Provisioning, "user.create", Outcome::Failure),
                ),
                (
                    recent,
                    event(Category::SignIn, "sign_in.failed", Outcome::Failure),
                ),
                (
                    recent,
                    event(Category::SignIn, "sign_in.failed", Outcome::Failure),
                ),
                // Started is not a sign-in of its own.
                (
                    recent,
                    event(Category::SignIn, "sign_in.started", Outcome::Success),
                ),
            ])
            .await
            .unwrap();

        let now = OffsetDateTime::now_utc();
        let d = store.dashboard(now, WINDOW).await.unwrap();
        assert_eq!(d.counts.users_active, 2, "{name}");
        assert_eq!(d.counts.users_inactive, 1, "{name}");
        assert_eq!(d.counts.groups, 1, "{name}");
        assert_eq!(d.counts.auth_profiles, 0, "{name}");
        assert_eq!(
            d.provisioning.failures, 2,
            "{name}: the refused write and the one 23 h ago"
        );
        let last = d
            .provisioning
            .last_event
            .as_ref()
            .expect("a provisioning event");
        assert_eq!(last.event.action, "user.create", "{name}");
        assert_eq!(last.event.outcome, Outcome::Failure, "{name}");
        assert!(d.provisioning.last_token_use.is_some(), "{name}");
        assert!(d.provisioning.last_request().unwrap() <= now, "{name}");
        assert_eq!(
            d.sign_ins.succeeded, 0,
            "{name}: the success 25 h ago is outside"
        );
        assert_eq!(d.sign_ins.failed, 2, "{name}");
        assert_eq!(
            d.setup,
            SetupProgress {
                okta_connected: true,
                group_pushed: true,
                // The old success is still in Events: someone has signed in.
                sign_in_tested: true,
                ..Default::default()
            },
            "{name}"
        );

        // Seen from two days later, the last day holds none of it.
        let later = store
            .dashboard(now + Duration::hours(48), WINDOW)
            .await
            .unwrap();
        assert_eq!(later.provisioning.failures, 0, "{name}");
        assert_eq!(later.sign_ins.failed, 0, "{name}");

        // A profile, assigned to the group, completes the list.
        let profile = store
            .create_auth_profile(
                &Sealer::new([7; 32]),
                NewAuthProfile {
                    name: "Okta".into(),
                    description: String::new(),
                    sp_key: SpKeyMaterial {
                        private_key_der: pairs()[0].0.clone(),
                        certificate_der: pairs()[0].1.clone(),
                    },
                },
                Actor::System,
            )
            .await
            .unwrap();
        let d = store.dashboard(now, WINDOW).await.unwrap();
        assert!(
            d.setup.profile_created && !d.setup.profile_assigned,
            "{name}"
        );
        store
            .set_group_profile(&group_id, Some(profile.id), Actor::System)
            .await
            .unwrap();
        let d = store.dashboard(now, WINDOW).await.unwrap();
        assert_eq!(d.counts.auth_profiles, 1, "{name}");
        assert!(d.setup.complete(), "{name}: {:?}", d.setup);

        // Revoking the only token undoes "connect Okta".
        store
            .revoke_scim_token(c.token.id, Actor::System)
            .await
            .unwrap();
        let d = store.dashboard(now, WINDOW).await.unwrap();
        assert!(!d.setup.okta_connected, "{name}");
    }
}

#[tokio::test]
async fn certificates_warned_within_thirty_days() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let name = db.backend.name();
        let profile = store
            .create_auth_profile(
                &Sealer::new([7; 32]),
                NewAuthProfile {
                    name: "Okta".into(),
                    description: String::new(),
                    sp_key: SpKeyMaterial {
                        private_key_der: pairs()[0].0.clone(),
                        certificate_der: pairs()[0].1.clone(),
                    },
                },
                Actor::System,
            )
            .await
            .unwrap();
        let sp_end = profile.sp_certificate_not_after;
        let warnings = |now: OffsetDateTime| {
            let store = store.clone();
            async move { store.dashboard(now, WINDOW).await.unwrap().certificates }
        };

        // The SP certificate: quiet 31 days before, warned 29 days before and once expired.
        assert!(
            warnings(sp_end - Duration::days(31)).await.is_empty(),
            "{name}"
        );
        let w = warnings(sp_end - Duration::days(29)).await;
        assert_eq!(w.len(), 1, "{name}");
        assert_eq!(w[0].kind, CertificateKind::ServiceProvider, "{name}");
        assert_eq!(w[0].profile.id, profile.id, "{name}");
        assert_eq!(w[0].not_after, sp_end, "{name}");
        assert_eq!(
            warnings(sp_end + Duration::days(1)).await.len(),
            1,
            "{name}"
        );

        // IdP certificates in rollover: the old one is warned about, with the new one's end.
        store
            .import_idp_metadata(
                profile.id,
                ImportedIdpMetadata {
                    entity_id: "http://www.okta.com/exk1".into(),
                    sso_url: Some("https://example.okta.com/app/x/sso/saml".into()),
                    sso_post_url: None,
                    certificates: vec![idp_cert(1), idp_cert(2)],
                    metadata_xml: "<md:EntityDescriptor/>".into(),
                    metadata_url: None,
                },
                Actor::System,
            )
            .await
            .unwrap();
        let old_end = idp_cert(1).not_after;
        let new_end = idp_cert(2).not_after;
        assert!(
            warnings(old_end - Duration::days(31)).await.is_empty(),
            "{name}"
        );
        let w = warnings(old_end - Duration::days(29)).await;
        assert_eq!(w.len(), 1, "{name}: {w:?}");
        match &w[0].kind {
            CertificateKind::IdentityProvider { subject, .. } => {
                assert!(subject.contains("idp-old"), "{name}: {subject}")
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(w[0].other_valid_until, Some(new_end), "{name}");

        // Past the SP certificate's end as well: every expiring certificate, soonest first.
        let w = warnings(sp_end + Duration::days(1)).await;
        assert_eq!(w.len(), 2, "{name}: {w:?}");
        assert!(w[0].not_after <= w[1].not_after, "{name}");
        assert_eq!(w[1].kind, CertificateKind::ServiceProvider, "{name}");
        let w = warnings(new_end - Duration::days(1)).await;
        assert_eq!(w.len(), 3, "{name}: {w:?}");
        assert!(w.iter().all(|w| w.other_valid_until.is_none()), "{name}");
    }
}
