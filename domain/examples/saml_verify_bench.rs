//! How long the ACS's SAML work takes: `receive_response` + `verify_response` on a golden
//! response (both parts signed, RSA-2048/SHA-256), repeated, on one thread.
//!
//! ```sh
//! cargo run --release -p gatehouse-domain --features server,test-support --example saml_verify_bench
//! ```
//!
//! The issue's target for the whole ACS (this plus the database and the session) is a median
//! under 10 ms and at least 300 sign-ins per second on 2 cores.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_domain::saml::testing::{ResponseSpec, SignMode, TestIdp};
use gatehouse_domain::saml::{receive_response, verify_response, ResponsePolicy, SpIdentity};

const ITERATIONS: usize = 500;
const REQUEST_ID: &str = "id0123456789abcdef0123456789abcdef";

fn main() {
    let sp = SpIdentity {
        entity_id: "https://gatehouse.example.com/saml/p1/metadata".into(),
        acs_url: "https://gatehouse.example.com/saml/p1/acs".into(),
        certificate_der: Vec::new(),
        sign_authn_requests: false,
    };
    let idp = TestIdp::fixed();
    let certs = vec![idp.certificate_der.clone()];
    let policy = ResponsePolicy {
        sp: &sp,
        idp_entity_id: &idp.entity_id,
        idp_certificates: &certs,
        clock_skew: time::Duration::seconds(120),
        allow_idp_initiated: false,
    };

    for mode in [SignMode::Both, SignMode::Assertion, SignMode::Response] {
        let mut spec = ResponseSpec::golden(&sp, &idp.entity_id, REQUEST_ID);
        spec.sign = mode;
        let b64 = STANDARD.encode(idp.response_xml(&spec));

        let mut times = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let started = Instant::now();
            let received = receive_response(&b64).expect("golden response decodes");
            let verified =
                verify_response(&received, &policy, Some(REQUEST_ID)).expect("golden verifies");
            times.push(started.elapsed());
            std::hint::black_box(verified);
        }
        times.sort();
        let median = times[ITERATIONS / 2];
        let p99 = times[ITERATIONS * 99 / 100];
        let total: Duration = times.iter().sum();
        println!(
            "{mode:?}: {} bytes, median {:.2} ms, p99 {:.2} ms, {:.0} verifications/s on one thread",
            b64.len(),
            median.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            ITERATIONS as f64 / total.as_secs_f64()
        );
    }
}
