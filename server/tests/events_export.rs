//! Events / Logs over HTTP: the CSV and JSON Lines exports and the page's server functions,
//! behind the admin session.

mod common;

use common::TestApp;
use gatehouse_domain::event::{Actor, Category, NewEvent, Outcome};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn ev(action: &'static str, outcome: Outcome, target: &str, detail: Value) -> NewEvent {
    NewEvent {
        category: Category::Provisioning,
        action,
        outcome,
        actor: Actor::System,
        target: Some(target.to_string()),
        detail: Some(detail.to_string()),
    }
}

/// Splits RFC 4180 CSV into records of fields (quoted fields may hold commas, quotes and
/// line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    assert!(
        field.is_empty() && record.is_empty(),
        "the last line must end with CRLF"
    );
    records
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn exports_need_an_admin_session() {
    let app = TestApp::spawn().await;
    for path in [
        "/console/api/events/export.csv",
        "/console/api/events/export.jsonl?range=all",
    ] {
        let res = get(&app, path, None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(res.text().await.unwrap().contains("Sign in"));
        let forged = get(&app, path, Some("gatehouse_session=AAAAAAAAAAAAAAAAAAAAAA")).await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // The golden case: the same request with a session works.
    let cookie = app.sign_in().await;
    let ok = get(&app, "/console/api/events/export.csv", Some(&cookie)).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn csv_export_has_the_filtered_rows_escaped_and_defused() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let now = OffsetDateTime::now_utc();
    app.store
        .insert_events_at(vec![
            (
                now - Duration::minutes(3),
                ev("user.create", Outcome::Failure, "=HYPERLINK(\"http://evil\",\"x\")", json!({"status": 409, "error": "A user with the userName \"x\" already exists,\nsays the store."})),
            ),
            (
                now - Duration::minutes(2),
                ev("user.created", Outcome::Success, "ok@example.com", json!({"user_id": "0190a1b2-0000-7000-8000-00000000c001"})),
            ),
            (
                now - Duration::minutes(1),
                ev("group.update", Outcome::Failure, "@Admins, Inc.", json!({"error": "-1 members"})),
            ),
        ])
        .await
        .unwrap();

    let res = get(
        &app,
        "/console/api/events/export.csv?range=1h&outcome=failure",
        Some(&cookie),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = res.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"gatehouse-events-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = res.text().await.unwrap();
    let records = parse_csv(&text);
    assert_eq!(
        records[0],
        [
            "id",
            "occurred_at",
            "category",
            "action",
            "outcome",
            "actor_kind",
            "actor_id",
            "actor_name",
            "target",
            "target_id",
            "detail"
        ]
    );
    assert_eq!(records.len(), 3, "header and the two failures: {text}");
    // Newest first.
    assert_eq!(records[1][3], "group.update");
    assert_eq!(
        records[1][8], "'@Admins, Inc.",
        "a cell starting with @ is defused"
    );
    assert_eq!(records[2][3], "user.create");
    assert_eq!(records[2][4], "failure");
    assert_eq!(records[2][5], "system");
    assert_eq!(
        records[2][8], "'=HYPERLINK(\"http://evil\",\"x\")",
        "a formula is defused, quotes survive"
    );
    let detail: Value = serde_json::from_str(&records[2][10]).unwrap();
    assert_eq!(detail["status"], 409);
    assert!(detail["error"].as_str().unwrap().contains("exists,\nsays"));
    // Raw text: the formula is inside quotes and starts with the apostrophe.
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{text}"
    );
    assert!(text.ends_with("\r\n"));
    // The export itself is recorded, with the filter it used.
    let recorded = app.store.recent_events(1).await.unwrap();
    assert_eq!(recorded[0].action, "events.exported");
    assert!(recorded[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("outcome=failure"));
}

#[tokio::test]
async fn json_lines_export_embeds_details_and_never_a_secret() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    app.store
        .record_event(ev("user.updated", Outcome::Success, "grace@example.com", json!({"changed": ["name"], "password": "hunter2 is my password", "nested": {"client_secret": "s3cr3t"}})))
        .await
        .unwrap();
    let res = get(
        &app,
        "/console/api/events/export.jsonl?range=all&target=GRACE@example.com",
        Some(&cookie),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[CONTENT_TYPE],
        "application/x-ndjson; charset=utf-8"
    );
    assert!(res.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .ends_with(".jsonl\""));
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("s3cr3t"),
        "{text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = &lines[0];
    assert_eq!(line["action"], "user.updated");
    assert_eq!(line["actor"]["kind"], "system");
    assert_eq!(line["target"], "grace@example.com");
    assert_eq!(line["detail"]["changed"][0], "name");
    assert_eq!(line["detail"]["password"], "[redacted]");
    assert_eq!(line["detail"]["nested"]["client_secret"], "[redacted]");
}

#[tokio::test]
async fn a_wrong_filter_is_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let res = get(
        &app,
        "/console/api/events/export.csv?outcome=maybe",
        Some(&cookie),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Unknown outcome \"maybe\""));
    let res = get(
        &app,
        "/console/api/events/export.csv?range=custom&from=2026-02-02&to=2026-02-01",
        Some(&cookie),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("ends before it starts"));
}

#[tokio::test]
async fn a_large_export_streams_every_row() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let now = OffsetDateTime::now_utc();
    let events = (0..20_000)
        .map(|i| {
            (
                now - Duration::seconds(i),
                ev(
                    "user.created",
                    Outcome::Success,
                    &format!("user{i}@example.com"),
                    json!({"user_id": format!("id-{i}")}),
                ),
            )
        })
        .collect();
    app.store.insert_events_at(events).await.unwrap();
    let mut res = get(
        &app,
        "/console/api/events/export.csv?range=24h&action=user.created",
        Some(&cookie),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get("content-length").is_none(),
        "streamed, not buffered"
    );
    let (mut bytes, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = res.chunk().await.unwrap() {
        chunks += 1;
        bytes.extend_from_slice(&chunk);
    }
    assert!(chunks > 10, "sent in many chunks ({chunks})");
    let records = parse_csv(&String::from_utf8(bytes).unwrap());
    assert_eq!(records.len(), 20_001);
    assert_eq!(records[1][8], "user0@example.com");
    assert_eq!(records[20_000][8], "user19999@example.com");
}

#[tokio::test]
async fn the_pages_server_functions_need_a_session_and_read_the_url_filters() {
    let app = TestApp::spawn().await;
    for (name, form) in [
        ("list_events", vec![("params[range]", "all")]),
        ("events_histogram", vec![("params[range]", "all")]),
        (
            "event_detail",
            vec![("id", "0190a1b2-0000-7000-8000-000000000001")],
        ),
        ("event_filter_choices", vec![]),
    ] {
        let res = app.call(name, &form, None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    let cookie = app.sign_in().await;
    app.store
        .record_event(ev(
            "user.create",
            Outcome::Failure,
            "dup@example.com",
            json!({"status": 409, "error": "exists"}),
        ))
        .await
        .unwrap();

    let res = app
        .call(
            "list_events",
            &[("params[range]", "all"), ("params[outcome]", "failure")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["event"]["target"], "dup@example.com");
    let id = entries[0]["event"]["id"].as_str().unwrap().to_string();

    let res = app
        .call("event_detail", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["detail"]["error"], "exists");

    let res = app
        .call(
            "list_events",
            &[("params[outcome]", "maybe")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("Unknown outcome"));

    let res = app
        .call(
            "event_detail",
            &[("id", "0190a1b2-0000-7000-8000-000000000001")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = app
        .call(
            "events_histogram",
            &[("params[range]", "1h")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let h: Value = res.json().await.unwrap();
    let failures: u64 = h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["failure"].as_u64().unwrap())
        .sum();
    assert_eq!(failures, 1);
}
