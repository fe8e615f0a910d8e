//! Sign-ins per second at the ACS, end to end over HTTP: form parsing, the SAML checks
//! (samael + xmlsec + ours), consuming the AuthnRequest, the replay cache, the user and group
//! re-check, and the session with its event, all against a real database.
//!
//! ```text
//! cargo run --release -p gatehouse-server --example saml_acs_bench -- [--postgres] [--sign-ins N] [--concurrency C]
//! ```
//!
//! Every sign-in is a distinct, valid response (its own AuthnRequest, its own assertion id),
//! signed beforehand by the test IdP's fixed key, so signing is not measured. The client
//! runs in the same process and shares the two cores with the server, so the figures
//! understate the server alone. Two runs: one request at a time (the latency a person sees)
//! and C at a time (throughput).

use gatehouse_app::state::{AppState, Settings};
use gatehouse_domain::auth_profile::AuthProfile;
use gatehouse_domain::event::Actor;
use gatehouse_domain::fetch::FetchPolicy;
use gatehouse_domain::saml::testing::{ResponseSpec, TestIdp};
use gatehouse_domain::saml_profiles::{self, MetadataSource};
use gatehouse_domain::sealed::Sealer;
use gatehouse_domain::store::{NewSamlRequest, Store};
use gatehouse_domain::testing::TestDatabase;
use leptos::prelude::LeptosOptions;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

struct Args {
    postgres: bool,
    sign_ins: usize,
    concurrency: usize,
}

fn args() -> Args {
    let mut a = Args {
        postgres: false,
        sign_ins: 1000,
        concurrency: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--postgres" => a.postgres = true,
            "--sign-ins" => {
                a.sign_ins = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--sign-ins N")
            }
            "--concurrency" => {
                a.concurrency = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--concurrency C")
            }
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// One prepared sign-in: the browser nonce and the signed response.
struct Prepared {
    cookie: String,
    response: String,
}

async fn prepare(store: &Store, base: &str, profile: &AuthProfile, n: usize) -> Vec<Prepared> {
    let sp = saml_profiles::sp_identity(base, profile).unwrap();
    let idp = TestIdp::fixed();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let request_id = gatehouse_domain::saml::new_request_id();
        let nonce = format!("bench-nonce-{i:08}-0123456789abcdef");
        store
            .create_saml_request(
                &NewSamlRequest {
                    id: request_id.clone(),
                    profile_id: profile.id,
                    browser_nonce: nonce.clone(),
                    relay_state: "/portal".into(),
                    user_id: None,
                    client_ip: None,
                },
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        let mut spec = ResponseSpec::golden(&sp, &idp.entity_id, &request_id);
        spec.name_id = "bench@example.com".into();
        out.push(Prepared {
            cookie: format!("gatehouse_sso={nonce}"),
            response: idp.response_b64(&spec),
        });
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(
    client: &reqwest::Client,
    acs: &str,
    prepared: Vec<Prepared>,
    concurrency: usize,
) -> (f64, Vec<Duration>, usize) {
    let queue = Arc::new(tokio::sync::Mutex::new(prepared));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        let client = client.clone();
        let acs = acs.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let Some(p) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                let res = client
                    .post(&acs)
                    .header("cookie", &p.cookie)
                    .form(&[("SAMLResponse", p.response.as_str())])
                    .send()
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
                if res.status() != reqwest::StatusCode::SEE_OTHER
                    || res.headers()["location"] != "/portal"
                {
                    errors += 1;
                    if errors == 1 {
                        eprintln!(
                            "unexpected answer {}: {}",
                            res.status(),
                            res.text().await.unwrap_or_default()
                        );
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / elapsed, all, errors)
}

#[tokio::main]
async fn main() {
    let args = args();
    let db = if args.postgres {
        TestDatabase::postgres().await
    } else {
        TestDatabase::sqlite()
    };
    let store = db.store().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let sealer = Sealer::new(rand::random());
    let state = AppState {
        leptos_options: LeptosOptions::builder()
            .output_name("gatehouse")
            .site_root("target/site")
            .site_addr(addr)
            .build(),
        store: store.clone(),
        settings: Arc::new(Settings {
            public_url: base.clone(),
            session_idle: Duration::from_secs(1800),
            session_absolute: Duration::from_secs(3600),
            event_retention_days: 365,
            scim_rate_per_second: 0,
            sealer: sealer.clone(),
            metadata_fetch: FetchPolicy::default(),
        }),
    };
    let app = gatehouse_server::router::build(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // A user in a group with a profile, provisioned the way Okta does it.
    let (_, token) = store
        .create_scim_token("bench", None, Actor::System)
        .await
        .unwrap();
    let scim = |path: &str| format!("{base}/scim/v2{path}");
    let user: serde_json::Value = client
        .post(scim("/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bench@example.com", "active": true}).to_string())
        .send().await.unwrap().json().await.unwrap();
    client
        .post(scim("/Groups"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Bench", "members": [{"value": user["id"]}]}).to_string())
        .send().await.unwrap();
    let profile = saml_profiles::create_profile(&store, &sealer, "Bench", "", Actor::System)
        .await
        .unwrap();
    let profile = saml_profiles::import_metadata(
        &store,
        profile.id,
        MetadataSource::Xml(TestIdp::fixed().metadata_xml("https://idp.example.test/sso")),
        FetchPolicy::default(),
        None,
        false,
        Actor::System,
    )
    .await
    .unwrap();
    let group = store.resolve_group("Bench").await.unwrap();
    store
        .set_group_profile(&group.id, Some(profile.id), Actor::System)
        .await
        .unwrap();
    let acs = format!("{base}/saml/{}/acs", profile.id);

    let backend = if args.postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("| Database | Clients | Sign-ins | Sign-ins/s | p50 ms | p99 ms | Errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // Warm-up, then one at a time, then concurrent.
    let warm = prepare(&store, &base, &profile, 50).await;
    run(&client, &acs, warm, 1).await;
    for concurrency in [1, args.concurrency] {
        let n = if concurrency == 1 {
            args.sign_ins / 4
        } else {
            args.sign_ins
        };
        eprintln!("signing {n} responses…");
        let prepared = prepare(&store, &base, &profile, n).await;
        let (rate, latencies, errors) = run(&client, &acs, prepared, concurrency).await;
        println!(
            "| {backend} | {concurrency} | {} | {rate:.0} | {:.2} | {:.2} | {errors} |",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
}
