//! Okta's own "SCIM 2.0 SPEC Test" (the Runscope export Okta publishes for SCIM
//! integrators), replayed assertion by assertion against a real Gatehouse.
//!
//! The test reads `Okta-SCIM-20-SPEC-Test.json` and `Initial_Script_Spec.txt` at run time
//! and interprets them: each request step has its `{{variables}}` substituted, is sent,
//! has every assertion evaluated and its variables extracted for later steps. Nothing is
//! copied from the export into this file, so a newer export is a drop-in replacement; an
//! assertion kind the interpreter does not know fails instead of being skipped.
//!
//! What Runscope does and this does not: pauses are not waited for (Gatehouse's writes are
//! visible to the next request), and step scripts (JavaScript) are not run; both are
//! listed in the output.

mod common;

use common::TestApp;
use gatehouse_domain::event::Actor;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The number of assertions Okta's README states the SPEC test has.
const ASSERTIONS_IN_SPEC: usize = 52;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/okta")
}

fn read_reference(name: &str) -> String {
    let path = reference_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read Okta's reference file {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------

/// Random bytes from v4 UUIDs (the fixed version and variant bytes left out).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = uuid::Uuid::new_v4();
        out.extend(
            id.as_bytes()
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 6 && *i != 8)
                .map(|(_, b)| *b),
        );
    }
    out.truncate(n);
    out
}

fn pick(alphabet: &str, byte: u8) -> char {
    let chars: Vec<char> = alphabet.chars().collect();
    chars[byte as usize % chars.len()]
}

/// What the initial script's `generate_firstname`, `generate_lastname` and `email` produce:
/// `Runscope` and three digits; an upper-case letter, eight lower-case letters and three
/// digits; and the two joined, at `atko.com`.
fn script_locals() -> HashMap<&'static str, String> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    let r = random_bytes(15);
    let firstname: String = std::iter::once("Runscope".to_string())
        .chain(r[0..3].iter().map(|b| pick(DIGITS, *b).to_string()))
        .collect();
    let mut lastname = String::new();
    lastname.push(pick(UPPER, r[3]));
    lastname.extend(r[4..12].iter().map(|b| pick(LOWER, *b)));
    lastname.extend(r[12..15].iter().map(|b| pick(DIGITS, *b)));
    let email = format!("{firstname}{lastname}@atko.com");
    HashMap::from([
        ("firstname", firstname),
        ("lastname", lastname),
        ("email", email),
    ])
}

/// The variables the initial script sets: every `variables.set("name", expr)` line, where
/// `expr` is a string literal, one of the script's locals, or a local's `.toUpperCase()`.
fn initial_variables(script: &str) -> HashMap<String, String> {
    let locals = script_locals();
    let mut vars = HashMap::new();
    for line in script.lines() {
        let Some(rest) = line.trim().strip_prefix("variables.set(") else {
            continue;
        };
        let args = rest
            .trim_end()
            .trim_end_matches(';')
            .trim_end()
            .strip_suffix(')')
            .unwrap_or_else(|| panic!("unexpected initial script line: {line}"));
        let (name, expr) = args
            .split_once(',')
            .unwrap_or_else(|| panic!("unexpected initial script line: {line}"));
        let name = name.trim().trim_matches('"').to_string();
        let expr = expr.trim();
        let value = if let Some(lit) = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            lit.to_string()
        } else if let Some(local) = expr.strip_suffix(".toUpperCase()") {
            locals
                .get(local)
                .unwrap_or_else(|| panic!("unknown initial script variable in: {line}"))
                .to_uppercase()
        } else {
            locals
                .get(expr)
                .unwrap_or_else(|| panic!("unknown initial script expression in: {line}"))
                .clone()
        };
        vars.insert(name, value);
    }
    vars
}

/// Replaces each `{{name}}` with its value. An unknown name stays as written (as Runscope
/// leaves it), and is reported.
fn substitute(
    template: &str,
    vars: &HashMap<String, String>,
    unresolved: &mut Vec<String>,
) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        unresolved.push(name.to_string());
                        out.push_str(&rest[start..start + 2 + end + 2]);
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------
// JSON properties and comparisons (Runscope's semantics)
// ---------------------------------------------------------------------------------------

/// A Runscope JSON property such as `Resources[0].name.familyName`.
fn lookup<'a>(root: &'a Value, property: &str) -> Option<&'a Value> {
    let mut current = root;
    for part in property.split('.') {
        let (key, mut indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        while let Some(rest) = indexes.strip_prefix('[') {
            let end = rest.find(']')?;
            let index: usize = rest[..end].trim().parse().ok()?;
            current = current.get(index)?;
            indexes = &rest[end + 1..];
        }
        if !indexes.is_empty() {
            return None;
        }
    }
    Some(current)
}

/// A JSON value as the text Runscope compares: strings without quotes, everything else as
/// JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn excerpt(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    }
}

/// What an assertion's source produced.
enum Actual<'a> {
    /// A number that is not from the body (status code, response time in ms).
    Number(f64),
    /// A JSON property: `None` when the body is not JSON or has no such property.
    Json(Option<&'a Value>),
}

impl Actual<'_> {
    fn describe(&self) -> String {
        match self {
            Actual::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
            Actual::Number(n) => format!("{n:.1}"),
            Actual::Json(None) => "(absent)".into(),
            Actual::Json(Some(v)) => excerpt(&v.to_string(), 100),
        }
    }

    /// The value as a number, for the numeric comparisons: a JSON number, never a string
    /// (RFC 7644 defines `totalResults`, `startIndex` and `itemsPerPage` as integers).
    fn number(&self) -> Option<f64> {
        match self {
            Actual::Number(n) => Some(*n),
            Actual::Json(v) => v.and_then(Value::as_f64),
        }
    }
}

/// Evaluates one comparison. `Err` is a comparison this interpreter does not implement;
/// it counts as a failure.
fn compare(comparison: &str, actual: &Actual, expected: Option<&str>) -> Result<bool, String> {
    let expected_number = || expected.and_then(|e| e.trim().parse::<f64>().ok());
    let json = match actual {
        Actual::Json(v) => *v,
        Actual::Number(_) => None,
    };
    let expected_text = expected.unwrap_or("");
    Ok(match comparison {
        "equal" => match actual {
            Actual::Number(n) => expected_number() == Some(*n),
            Actual::Json(v) => v.is_some_and(|v| !v.is_null() && text(v) == expected_text),
        },
        "equal_number" => match (actual.number(), expected_number()) {
            (Some(a), Some(e)) => a == e,
            _ => false,
        },
        "is_less_than" => match (actual.number(), expected_number()) {
            (Some(a), Some(e)) => a < e,
            _ => false,
        },
        "is_a_number" => actual.number().is_some(),
        "not_empty" => match actual {
            Actual::Number(_) => true,
            Actual::Json(v) => match v {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                Some(Value::Object(o)) => !o.is_empty(),
                Some(_) => true,
            },
        },
        // Runscope's "has value": an array or object has an element equal to the value.
        "has_value" => match json {
            Some(Value::Array(a)) => a.iter().any(|v| text(v) == expected_text),
            Some(Value::Object(o)) => o.values().any(|v| text(v) == expected_text),
            _ => false,
        },
        // Runscope's "contains": a substring of a string, an element of an array.
        "contains" => match json {
            Some(Value::String(s)) => s.contains(expected_text),
            Some(Value::Array(a)) => a.iter().any(|v| text(v) == expected_text),
            _ => false,
        },
        other => return Err(format!("comparison \"{other}\" is not implemented")),
    })
}

fn describe_expectation(comparison: &str, expected: Option<&str>) -> String {
    match (comparison, expected) {
        ("not_empty", _) => "not empty".into(),
        ("is_a_number", _) => "a number".into(),
        ("equal", Some(e)) => format!("= \"{e}\""),
        ("equal_number", Some(e)) => format!("== {e}"),
        ("is_less_than", Some(e)) => format!("< {e}"),
        ("has_value", Some(e)) => format!("has value \"{e}\""),
        ("contains", Some(e)) => format!("contains \"{e}\""),
        (c, Some(e)) => format!("{c} \"{e}\""),
        (c, None) => c.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

struct Outcome {
    pass: bool,
    step: String,
    assertion: String,
    expected: String,
    actual: String,
}

/// A request as sent and its response, for the failure report.
struct Exchange {
    step: String,
    request: String,
    response: String,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The precondition Okta's README states: one existing user with givenName, familyName,
/// userName, active and an email. Made through SCIM, as Okta would have.
async fn seed_user(app: &TestApp, secret: &str) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace.hopper@example.com",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [{"primary": true, "value": "grace.hopper@example.com", "type": "work"}],
        "displayName": "Grace Hopper",
        "active": true
    });
    let res = app
        .client
        .post(app.url("/scim/v2/Users"))
        .header(AUTHORIZATION, format!("Bearer {secret}"))
        .header(CONTENT_TYPE, "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "precondition: seeding a user failed: {text}"
    );
}

#[tokio::test]
async fn okta_scim_2_0_spec_test_passes_assertion_by_assertion() {
    let spec: Value = serde_json::from_str(&read_reference("Okta-SCIM-20-SPEC-Test.json"))
        .expect("the SPEC test export is JSON");
    let steps = spec["steps"].as_array().expect("the export has steps");

    let app = TestApp::spawn().await;
    let (_, secret) = app
        .store
        .create_scim_token("Okta", None, Actor::System)
        .await
        .unwrap();
    seed_user(&app, &secret).await;

    let mut vars = initial_variables(&read_reference("Initial_Script_Spec.txt"));
    vars.insert("SCIMBaseURL".into(), app.url("/scim/v2"));
    vars.insert("auth".into(), format!("Bearer {secret}"));

    let mut in_file = 0;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut exchanges: Vec<Exchange> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (number, step) in steps.iter().enumerate() {
        assert_ne!(
            step["skipped"],
            json!(true),
            "step {number} is marked skipped; this interpreter runs every step"
        );
        match str_field(step, "step_type") {
            Some("pause") => {
                notes.push(format!(
                    "step {number}: pause of {}s not waited for",
                    step["duration"]
                ));
                continue;
            }
            Some("request") => {}
            other => panic!("step {number}: step type {other:?} is not implemented"),
        }
        let mut unresolved = Vec::new();
        let label = format!(
            "#{number} {}",
            substitute(
                str_field(step, "note").unwrap_or(""),
                &vars,
                &mut Vec::new()
            )
            .trim()
        );
        let method = Method::from_bytes(str_field(step, "method").unwrap().as_bytes()).unwrap();
        let url = substitute(str_field(step, "url").unwrap(), &vars, &mut unresolved);
        let url = Url::parse(&url).unwrap_or_else(|e| panic!("{label}: bad URL {url}: {e}"));
        let mut req = app.client.request(method.clone(), url.clone());
        let mut sent_headers = Vec::new();
        if let Some(headers) = step["headers"].as_object() {
            for (name, values) in headers {
                for value in values.as_array().into_iter().flatten() {
                    let value = substitute(value.as_str().unwrap(), &vars, &mut unresolved);
                    let shown = if name.eq_ignore_ascii_case("authorization") {
                        "<redacted>".to_string()
                    } else {
                        value.clone()
                    };
                    sent_headers.push(format!("{name}: {shown}"));
                    req = req.header(
                        HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        HeaderValue::from_str(&value).unwrap(),
                    );
                }
            }
        }
        let body = str_field(step, "body")
            .filter(|b| !b.is_empty())
            .map(|b| substitute(b, &vars, &mut unresolved));
        if let Some(b) = &body {
            req = req.body(b.clone());
        }
        for script in step["before_scripts"].as_array().into_iter().flatten() {
            if script.as_str().is_some_and(|s| !s.trim().is_empty()) {
                panic!("{label}: before_scripts (JavaScript) are not implemented");
            }
        }
        if !unresolved.is_empty() {
            notes.push(format!(
                "{label}: variables left unresolved (an earlier extraction failed): {unresolved:?}"
            ));
        }

        let started = Instant::now();
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{label}: request failed: {e}"));
        let status = res.status();
        let response_headers = res.headers().clone();
        let response_text = res.text().await.unwrap();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let response_json: Option<Value> = serde_json::from_str(&response_text).ok();
        let content_type = response_headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)");
        exchanges.push(Exchange {
            step: label.clone(),
            request: format!(
                "{method} {url}\n    {}{}",
                sent_headers.join("\n    "),
                body.as_deref()
                    .map(|b| format!("\n    body: {b}"))
                    .unwrap_or_default()
            ),
            response: format!(
                "{status} ({content_type}, {elapsed_ms:.0} ms) {}",
                excerpt(&response_text, 400)
            ),
        });

        for assertion in step["assertions"].as_array().into_iter().flatten() {
            in_file += 1;
            let source = str_field(assertion, "source").unwrap_or("");
            let comparison = str_field(assertion, "comparison").unwrap_or("");
            let property = str_field(assertion, "property").unwrap_or("");
            let expected =
                str_field(assertion, "value").map(|v| substitute(v, &vars, &mut Vec::new()));
            let (subject, actual) = match source {
                "response_status" => (
                    "status".to_string(),
                    Some(Actual::Number(status.as_u16().into())),
                ),
                "response_time" => ("time (ms)".to_string(), Some(Actual::Number(elapsed_ms))),
                "response_json" => (
                    property.to_string(),
                    Some(Actual::Json(
                        response_json.as_ref().and_then(|j| lookup(j, property)),
                    )),
                ),
                other => (format!("source {other}"), None),
            };
            let (pass, actual_text) = match &actual {
                None => (
                    false,
                    "source not implemented by the interpreter".to_string(),
                ),
                Some(a) => match compare(comparison, a, expected.as_deref()) {
                    Ok(pass) => (pass, a.describe()),
                    Err(why) => (false, why),
                },
            };
            outcomes.push(Outcome {
                pass,
                step: label.clone(),
                assertion: subject,
                expected: describe_expectation(comparison, expected.as_deref()),
                actual: actual_text,
            });
        }

        for variable in step["variables"].as_array().into_iter().flatten() {
            let name = str_field(variable, "name").unwrap();
            let source = str_field(variable, "source").unwrap_or("");
            assert_eq!(
                source, "response_json",
                "{label}: variable source {source} is not implemented"
            );
            let property = str_field(variable, "property").unwrap();
            match response_json.as_ref().and_then(|j| lookup(j, property)) {
                Some(v) if !v.is_null() => {
                    vars.insert(name.to_string(), text(v));
                }
                _ => notes.push(format!(
                    "{label}: variable {name} not set: the response has no {property}"
                )),
            }
        }

        for script in step["scripts"].as_array().into_iter().flatten() {
            if script.as_str().is_some_and(|s| !s.trim().is_empty()) {
                notes.push(format!(
                    "{label}: a JavaScript script is not run (it holds no assertion counted in the {ASSERTIONS_IN_SPEC})"
                ));
            }
        }
    }

    println!("\nOkta SCIM 2.0 SPEC Test against {}", app.url("/scim/v2"));
    for note in &notes {
        println!("NOTE {note}");
    }
    for o in &outcomes {
        println!(
            "{} {}: {} (expected {} vs actual {})",
            if o.pass { "PASS" } else { "FAIL" },
            o.step,
            o.assertion,
            o.expected,
            o.actual
        );
    }
    let passed = outcomes.iter().filter(|o| o.pass).count();
    println!("{passed} of {} assertions passed", outcomes.len());

    assert_eq!(
        in_file, ASSERTIONS_IN_SPEC,
        "the export no longer has the {ASSERTIONS_IN_SPEC} assertions Okta's README states"
    );
    assert_eq!(
        outcomes.len(),
        in_file,
        "every assertion in the export must be evaluated"
    );

    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| !o.pass).collect();
    if !failures.is_empty() {
        let mut report = String::new();
        for o in &failures {
            report.push_str(&format!(
                "\n  FAIL {}: {} (expected {} vs actual {})",
                o.step, o.assertion, o.expected, o.actual
            ));
        }
        report.push_str("\n\nThe failing exchanges:");
        for e in exchanges
            .iter()
            .filter(|e| failures.iter().any(|o| o.step == e.step))
        {
            report.push_str(&format!(
                "\n  {}\n    {}\n    -> {}",
                e.step, e.request, e.response
            ));
        }
        panic!(
            "{} of {} assertions of Okta's SCIM 2.0 SPEC Test failed:{report}",
            failures.len(),
            outcomes.len()
        );
    }
}

// ---------------------------------------------------------------------------------------
// The interpreter itself: it must be able to fail, or 52 passes mean nothing.
// ---------------------------------------------------------------------------------------

#[test]
fn the_interpreter_fails_what_runscope_would_fail() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "itemsPerPage": "1",
        "Resources": [{"id": "a", "name": {"givenName": ""}, "active": false, "emails": [{"value": "x@y"}]}]
    });
    let at = |p: &str| Actual::Json(lookup(&body, p));
    let ok = |c: &str, a: Actual, e: Option<&str>| compare(c, &a, e).unwrap();

    assert_eq!(
        lookup(&body, "Resources[0].emails[0].value"),
        Some(&json!("x@y"))
    );
    assert_eq!(lookup(&body, "Resources[1].id"), None);
    assert_eq!(lookup(&body, "Resources[0].id[0]"), None);
    assert_eq!(lookup(&body, "nope"), None);

    assert!(ok("equal", at("totalResults"), Some("0")));
    assert!(!ok("equal", at("totalResults"), Some("1")));
    assert!(!ok("equal", at("missing"), Some("")));
    assert!(ok("equal", at("Resources[0].active"), Some("false")));
    assert!(ok("equal_number", Actual::Number(201.0), Some("201")));
    assert!(!ok("equal_number", Actual::Number(200.0), Some("201")));
    assert!(!ok("equal_number", at("itemsPerPage"), Some("1")));
    assert!(ok("is_a_number", at("totalResults"), None));
    assert!(!ok("is_a_number", at("itemsPerPage"), None));
    assert!(!ok("is_a_number", at("missing"), None));
    assert!(ok("not_empty", at("Resources[0].active"), None));
    assert!(!ok("not_empty", at("Resources[0].name.givenName"), None));
    assert!(!ok("not_empty", at("Resources[0].name.familyName"), None));
    assert!(!ok("not_empty", at("Resources[1]"), None));
    let list = Some("urn:ietf:params:scim:api:messages:2.0:ListResponse");
    let error = Some("urn:ietf:params:scim:api:messages:2.0:Error");
    assert!(ok("has_value", at("schemas"), list));
    assert!(!ok("has_value", at("schemas"), error));
    assert!(!ok("has_value", at("missing"), list));
    assert!(ok("contains", at("schemas"), list));
    assert!(!ok("contains", at("schemas"), Some("urn:ietf")));
    assert!(ok(
        "contains",
        at("Resources[0].emails[0].value"),
        Some("@")
    ));
    assert!(ok("is_less_than", Actual::Number(599.0), Some("600")));
    assert!(!ok("is_less_than", Actual::Number(600.0), Some("600")));
    assert!(compare("has_key", &at("schemas"), Some("x")).is_err());

    let vars = HashMap::from([("a".to_string(), "1".to_string())]);
    let mut unresolved = Vec::new();
    assert_eq!(
        substitute("{{a}}/{{b}}/{{ a }}", &vars, &mut unresolved),
        "1/{{b}}/1"
    );
    assert_eq!(unresolved, ["b"]);
}

#[test]
fn the_initial_variables_look_like_the_scripts() {
    let vars = initial_variables(&read_reference("Initial_Script_Spec.txt"));
    let given = &vars["randomGivenName"];
    let family = &vars["randomFamilyName"];
    assert!(
        given.starts_with("Runscope") && given.len() == 11,
        "{given}"
    );
    assert!(given[8..].chars().all(|c| c.is_ascii_digit()), "{given}");
    assert_eq!(family.len(), 12, "{family}");
    assert!(
        family[..1].chars().all(|c| c.is_ascii_uppercase()),
        "{family}"
    );
    assert!(
        family[1..9].chars().all(|c| c.is_ascii_lowercase()),
        "{family}"
    );
    assert!(family[9..].chars().all(|c| c.is_ascii_digit()), "{family}");
    let email = format!("{given}{family}@atko.com");
    assert_eq!(vars["randomEmail"], email);
    assert_eq!(vars["randomUsername"], email);
    assert_eq!(vars["randomUsernameCaps"], email.to_uppercase());
    assert_eq!(vars["InvalidUserEmail"], "abcdefgh@atko.com");
    assert_eq!(
        vars["UserIdThatDoesNotExist"],
        "010101001010101011001010101011"
    );
    assert_eq!(vars.len(), 7);
}
