//! Events / Logs queries on SQLite and PostgreSQL: filters, paging, the chart, exports,
//! retention.

use gatehouse_domain::event::{
    Actor, ActorFilter, Category, EventCursor, EventEntry, EventFilter, EventParams, NewEvent,
    Outcome, TargetFilter,
};
use gatehouse_domain::ids::EventId;
use gatehouse_domain::store::{AdminOrigin, EventQuery, ScimCaller, Store};
use gatehouse_domain::testing::TestDatabase;
use serde_json::json;
use std::collections::HashSet;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ADMIN_ID: &str = "0190a1b2-0000-7000-8000-00000000a001";
const TOKEN_ID: &str = "0190a1b2-0000-7000-8000-00000000b001";
const USER_ID: &str = "0190a1b2-0000-7000-8000-00000000c001";
const GROUP_ID: &str = "0190a1b2-0000-7000-8000-00000000d001";

fn ev(
    category: Category,
    action: &'static str,
    outcome: Outcome,
    actor: Actor,
    target: Option<&str>,
    detail: Option<serde_json::Value>,
) -> NewEvent {
    NewEvent {
        category,
        action,
        outcome,
        actor,
        target: target.map(str::to_string),
        detail: detail.map(|d| d.to_string()),
    }
}

/// An administrator's sign-in to the console, as the chart tests count them.
fn sign_in(outcome: Outcome) -> NewEvent {
    ev(
        Category::SignIn,
        "admin.sign_in",
        outcome,
        Actor::Anonymous,
        Some("a"),
        None,
    )
}

/// A small, known history: what each filter must find is decidable by reading this list.
/// Returns the ids in insertion order (oldest first).
async fn seed(store: &Store) -> Vec<EventId> {
    let events = vec![
        // 0: an hour before T0
        (
            T0 - Duration::hours(1),
            ev(
                Category::SignIn,
                "admin.sign_in",
                Outcome::Success,
                Actor::Anonymous,
                Some("ada@example.com"),
                Some(json!({"reason": "password"})),
            ),
        ),
        // 1
        (
            T0,
            ev(
                Category::Provisioning,
                "user.created",
                Outcome::Success,
                Actor::ScimToken(TOKEN_ID.into()),
                Some("Grace@Example.com"),
                Some(json!({"user_id": USER_ID, "token": "Okta"})),
            ),
        ),
        // 2
        (
            T0 + Duration::minutes(1),
            ev(
                Category::Provisioning,
                "user.update",
                Outcome::Failure,
                Actor::ScimToken(TOKEN_ID.into()),
                Some(USER_ID),
                Some(json!({"status": 400, "error": "bad"})),
            ),
        ),
        // 3
        (
            T0 + Duration::minutes(2),
            ev(
                Category::Provisioning,
                "group.created",
                Outcome::Success,
                Actor::ScimToken(TOKEN_ID.into()),
                Some("Engineering"),
                Some(json!({"group_id": GROUP_ID})),
            ),
        ),
        // 4
        (
            T0 + Duration::minutes(3),
            ev(
                Category::Configuration,
                "scim_token.created",
                Outcome::Success,
                Actor::Admin(ADMIN_ID.into()),
                Some("Okta"),
                Some(json!({"token_id": TOKEN_ID})),
            ),
        ),
        // 5
        (
            T0 + Duration::minutes(4),
            ev(
                Category::Provisioning,
                "group.renamed",
                Outcome::Success,
                Actor::ScimToken(TOKEN_ID.into()),
                Some("Engineers"),
                Some(json!({"group_id": GROUP_ID, "from": "Engineering", "to": "Engineers"})),
            ),
        ),
        // 6
        (
            T0 + Duration::minutes(5),
            ev(
                Category::SignIn,
                "admin.sign_in",
                Outcome::Failure,
                Actor::Anonymous,
                Some("ADA@example.com"),
                Some(json!({"reason": "bad_password"})),
            ),
        ),
        // 7
        (
            T0 + Duration::minutes(6),
            ev(
                Category::Administration,
                "admin.created",
                Outcome::Success,
                Actor::System,
                Some("grace.hopper@example.com"),
                None,
            ),
        ),
    ];
    store.insert_events_at(events).await.unwrap()
}

async fn ids_of(store: &Store, filter: EventFilter) -> Vec<EventId> {
    let page = store
        .query_events(&EventQuery {
            filter,
            limit: 500,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    page.entries.iter().map(|e| e.event.id).collect()
}

/// The seeded ids at these positions, newest first (the order every query returns).
fn expect(ids: &[EventId], positions: &[usize]) -> Vec<EventId> {
    let mut p = positions.to_vec();
    p.sort_unstable_by(|a, b| b.cmp(a));
    p.into_iter().map(|i| ids[i]).collect()
}

#[tokio::test]
async fn each_filter_finds_exactly_its_events() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ids = seed(&store).await;
        let b = db.backend;
        let f = EventFilter::default;

        assert_eq!(
            ids_of(&store, f()).await,
            expect(&ids, &[0, 1, 2, 3, 4, 5, 6, 7]),
            "{b:?} all"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    from: Some(T0 + Duration::minutes(2)),
                    ..f()
                }
            )
            .await,
            expect(&ids, &[3, 4, 5, 6, 7]),
            "{b:?} from is inclusive"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    to: Some(T0 + Duration::minutes(2)),
                    ..f()
                }
            )
            .await,
            expect(&ids, &[0, 1, 2]),
            "{b:?} to is exclusive"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    category: Some(Category::SignIn),
                    ..f()
                }
            )
            .await,
            expect(&ids, &[0, 6]),
            "{b:?} category"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    action: Some("group.created".into()),
                    ..f()
                }
            )
            .await,
            expect(&ids, &[3]),
            "{b:?} action"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    outcome: Some(Outcome::Failure),
                    ..f()
                }
            )
            .await,
            expect(&ids, &[2, 6]),
            "{b:?} outcome"
        );
        let actor = |a: ActorFilter| EventFilter {
            actor: Some(a),
            ..f()
        };
        assert_eq!(
            ids_of(&store, actor(ActorFilter::System)).await,
            expect(&ids, &[7]),
            "{b:?} system"
        );
        assert_eq!(
            ids_of(&store, actor(ActorFilter::Anonymous)).await,
            expect(&ids, &[0, 6]),
            "{b:?} anonymous"
        );
        assert_eq!(
            ids_of(&store, actor(ActorFilter::AnyAdmin)).await,
            expect(&ids, &[4]),
            "{b:?} any admin"
        );
        assert_eq!(
            ids_of(&store, actor(ActorFilter::Admin(ADMIN_ID.into()))).await,
            expect(&ids, &[4]),
            "{b:?} admin"
        );
        assert_eq!(
            ids_of(&store, actor(ActorFilter::Admin(TOKEN_ID.into()))).await,
            vec![],
            "{b:?} a token's id is not an admin's"
        );
        assert_eq!(
            ids_of(&store, actor(ActorFilter::ScimToken(TOKEN_ID.into()))).await,
            expect(&ids, &[1, 2, 3, 5]),
            "{b:?} token"
        );
        assert_eq!(
            ids_of(&store, actor(ActorFilter::AnyScimToken)).await,
            expect(&ids, &[1, 2, 3, 5]),
            "{b:?} any token"
        );

        let target = |t: &str| EventFilter {
            target: Some(TargetFilter::parse(t).unwrap()),
            ..f()
        };
        assert_eq!(
            ids_of(&store, target("ada@example.com")).await,
            expect(&ids, &[0, 6]),
            "{b:?} name ignores case"
        );
        assert_eq!(
            ids_of(&store, target("GRACE@example.com")).await,
            expect(&ids, &[1]),
            "{b:?} exact name"
        );
        assert_eq!(
            ids_of(&store, target("grace*")).await,
            expect(&ids, &[1, 7]),
            "{b:?} prefix"
        );
        assert_eq!(
            ids_of(&store, target("engineer*")).await,
            expect(&ids, &[3, 5]),
            "{b:?} prefix of both names"
        );
        assert_eq!(
            ids_of(&store, target("Engineers")).await,
            expect(&ids, &[5]),
            "{b:?} the name as it was"
        );
        assert_eq!(
            ids_of(&store, target(GROUP_ID)).await,
            expect(&ids, &[3, 5]),
            "{b:?} group id, across a rename"
        );
        assert_eq!(
            ids_of(&store, target(USER_ID)).await,
            expect(&ids, &[1, 2]),
            "{b:?} user id: from the detail, and from a target that is an id"
        );
        assert_eq!(
            ids_of(&store, target(TOKEN_ID)).await,
            expect(&ids, &[4]),
            "{b:?} token id"
        );
        assert_eq!(
            ids_of(&store, target("nobody")).await,
            vec![],
            "{b:?} unknown target"
        );
    }
}

#[tokio::test]
async fn filters_combine() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let ids = seed(&store).await;
        let b = db.backend;
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    category: Some(Category::SignIn),
                    outcome: Some(Outcome::Failure),
                    ..EventFilter::default()
                }
            )
            .await,
            expect(&ids, &[6]),
            "{b:?}"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    from: Some(T0),
                    to: Some(T0 + Duration::minutes(4)),
                    actor: Some(ActorFilter::ScimToken(TOKEN_ID.into())),
                    target: Some(TargetFilter::Id(GROUP_ID.into())),
                    ..EventFilter::default()
                }
            )
            .await,
            expect(&ids, &[3]),
            "{b:?} time, actor and target"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    action: Some("admin.sign_in".into()),
                    outcome: Some(Outcome::Success),
                    target: Some(TargetFilter::parse("ADA@EXAMPLE.COM").unwrap()),
                    ..EventFilter::default()
                }
            )
            .await,
            expect(&ids, &[0]),
            "{b:?} action, outcome and target"
        );
        assert_eq!(
            ids_of(
                &store,
                EventFilter {
                    category: Some(Category::Configuration),
                    outcome: Some(Outcome::Failure),
                    ..EventFilter::default()
                }
            )
            .await,
            vec![],
            "{b:?} nothing matches both"
        );
    }
}

/// Many events in the same millisecond: paging must still visit each exactly once, in the
/// same order as one big page, even while new events arrive.
#[tokio::test]
async fn seek_paging_is_stable_with_equal_timestamps() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let mut batch = Vec::new();
        for i in 0..60 {
            // 40 events share T0 exactly; the others are spread around it.
            let at = if i < 40 {
                T0
            } else {
                T0 + Duration::milliseconds(i64::from(i) - 50)
            };
            batch.push((
                at,
                ev(
                    Category::Provisioning,
                    "user.created",
                    Outcome::Success,
                    Actor::System,
                    Some("x"),
                    None,
                ),
            ));
        }
        let all_ids: HashSet<EventId> = store
            .insert_events_at(batch)
            .await
            .unwrap()
            .into_iter()
            .collect();

        let full = store
            .query_events(&EventQuery {
                limit: 500,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(full.entries.len(), 60);
        assert_eq!(full.older, None);
        for w in full.entries.windows(2) {
            let (a, b) = (w[0].cursor(), w[1].cursor());
            assert!(
                (a.occurred_at_ms, a.id) > (b.occurred_at_ms, b.id),
                "{:?}: newest first, ties by id",
                db.backend
            );
        }

        let mut walked: Vec<EventEntry> = Vec::new();
        let mut before: Option<EventCursor> = None;
        let mut pages = 0;
        loop {
            let page = store
                .query_events(&EventQuery {
                    before,
                    limit: 7,
                    ..EventQuery::default()
                })
                .await
                .unwrap();
            pages += 1;
            if pages == 2 {
                // Events that arrive while someone pages must not shift the older pages.
                store
                    .insert_events_at(vec![(
                        T0,
                        ev(
                            Category::Provisioning,
                            "user.created",
                            Outcome::Success,
                            Actor::System,
                            Some("late"),
                            None,
                        ),
                    )])
                    .await
                    .unwrap();
            }
            assert!(page.entries.len() <= 7);
            walked.extend(page.entries);
            match page.older {
                Some(c) => before = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 9, "{:?}: 60 events in pages of 7", db.backend);
        let walked_ids: Vec<EventId> = walked.iter().map(|e| e.event.id).collect();
        let full_ids: Vec<EventId> = full.entries.iter().map(|e| e.event.id).collect();
        // The late event shares T0 with page 2's last event but has a higher id than every
        // event before it, so it sorts above page 2's cursor and never shows up in an older
        // page.
        assert_eq!(
            walked_ids, full_ids,
            "{:?}: no event skipped or repeated",
            db.backend
        );
        assert_eq!(walked_ids.iter().copied().collect::<HashSet<_>>(), all_ids);
    }
}

#[tokio::test]
async fn newer_than_a_cursor_returns_only_what_arrived_since() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        seed(&store).await;
        let first = store
            .query_events(&EventQuery {
                limit: 3,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        let newest = first.entries[0].cursor();
        let none = store
            .query_events(&EventQuery {
                after: Some(newest),
                limit: 50,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        assert!(none.entries.is_empty(), "{:?}", db.backend);

        let fresh = store
            .record_event(ev(
                Category::Configuration,
                "scim_token.revoked",
                Outcome::Success,
                Actor::System,
                Some("Okta"),
                None,
            ))
            .await
            .unwrap();
        let since = store
            .query_events(&EventQuery {
                after: Some(newest),
                limit: 50,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            since.entries.iter().map(|e| e.event.id).collect::<Vec<_>>(),
            vec![fresh]
        );
    }
}

#[tokio::test]
async fn page_size_is_checked() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        for limit in [0, 501] {
            let err = store
                .query_events(&EventQuery {
                    limit,
                    ..EventQuery::default()
                })
                .await
                .unwrap_err();
            assert!(err.to_string().contains("1 to 500"), "{err}");
        }
    }
}

#[tokio::test]
async fn actors_are_shown_by_name() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let admin = store
            .create_admin(
                "Ada@Example.com",
                "a long enough password",
                AdminOrigin::CommandLine,
            )
            .await
            .unwrap();
        let (token, secret) = store
            .create_scim_token("Okta production", None, Actor::Admin(admin.id.to_string()))
            .await
            .unwrap();
        store
            .record_event(ev(
                Category::Provisioning,
                "user.created",
                Outcome::Success,
                Actor::ScimToken(token.id.to_string()),
                Some("x"),
                None,
            ))
            .await
            .unwrap();
        store
            .record_event(ev(
                Category::Provisioning,
                "user.created",
                Outcome::Success,
                Actor::ScimToken("0190a1b2-0000-7000-8000-0000000000ff".into()),
                Some("y"),
                None,
            ))
            .await
            .unwrap();
        let page = store
            .query_events(&EventQuery {
                limit: 10,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        let labels: Vec<String> = page.entries.iter().map(EventEntry::actor_label).collect();
        assert_eq!(
            labels,
            vec![
                "SCIM token 0190a1b2 (removed)".to_string(),
                "SCIM token \u{201c}Okta production\u{201d}".to_string(),
                admin.email.clone(),
                "System".to_string(),
            ],
            "{:?}",
            db.backend
        );
        // The token's creation is found by the token's id, and its secret is nowhere.
        let by_id = ids_of(
            &store,
            EventFilter {
                target: Some(TargetFilter::Id(token.id.to_string())),
                ..EventFilter::default()
            },
        )
        .await;
        assert_eq!(by_id.len(), 1);
        let one = store.event_by_id(by_id[0]).await.unwrap().unwrap();
        assert_eq!(one.event.action, "scim_token.created");
        assert_eq!(
            one.target_id.as_deref(),
            Some(token.id.to_string().as_str())
        );
        assert_eq!(one.actor_name.as_deref(), Some(admin.email.as_str()));
        assert!(!format!("{page:?}{one:?}").contains(&secret));
        assert!(store.event_by_id(EventId::new()).await.unwrap().is_none());
    }
}

/// Real writes fill target_id without their callers knowing about it.
#[tokio::test]
async fn provisioning_events_are_found_by_the_users_id() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let (token, _) = store
            .create_scim_token("Okta", None, Actor::System)
            .await
            .unwrap();
        let caller = ScimCaller {
            token,
            client_ip: "10.0.0.1".into(),
        };
        let user = store
            .scim_create_user(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Linus@Example.com", "active": true}),
                &caller,
            )
            .await
            .unwrap();
        let other = store
            .scim_create_user(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "other@example.com", "active": true}),
                &caller,
            )
            .await
            .unwrap();
        store
            .scim_delete_user(&user.id, None, &caller)
            .await
            .unwrap();
        let page = store
            .query_events(&EventQuery {
                filter: EventFilter {
                    target: Some(TargetFilter::Id(user.id.clone())),
                    ..EventFilter::default()
                },
                limit: 50,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        let actions: Vec<&str> = page
            .entries
            .iter()
            .map(|e| e.event.action.as_str())
            .collect();
        assert_eq!(
            actions,
            vec!["user.deleted", "user.created"],
            "{:?}",
            db.backend
        );
        assert!(page
            .entries
            .iter()
            .all(|e| e.actor_name.as_deref() == Some("Okta")));
        assert_ne!(user.id, other.id);
        // And by the name as typed by someone who does not remember its case.
        let by_name = ids_of(
            &store,
            EventFilter {
                target: Some(TargetFilter::parse("linus@example.COM").unwrap()),
                ..EventFilter::default()
            },
        )
        .await;
        assert_eq!(by_name.len(), 2);
        let actions = store.event_actions().await.unwrap();
        assert_eq!(
            actions,
            vec!["scim_token.created", "user.created", "user.deleted"],
            "{:?}",
            db.backend
        );
    }
}

#[tokio::test]
async fn histogram_counts_per_bucket_and_outcome() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let from = T0;
        let mut batch = Vec::new();
        // Hour 0: 3 successes, 1 failure; hour 2: 2 failures; hour 5: 1 success.
        for (minutes, outcome) in [
            (1, Outcome::Success),
            (20, Outcome::Success),
            (59, Outcome::Success),
            (30, Outcome::Failure),
            (120, Outcome::Failure),
            (179, Outcome::Failure),
            (300, Outcome::Success),
        ] {
            batch.push((from + Duration::minutes(minutes), sign_in(outcome)));
        }
        // Outside the range: not counted.
        batch.push((from - Duration::minutes(1), sign_in(Outcome::Success)));
        batch.push((from + Duration::hours(6), sign_in(Outcome::Success)));
        // Another category: excluded by the filter.
        batch.push((
            from + Duration::minutes(5),
            ev(
                Category::Configuration,
                "x.y",
                Outcome::Failure,
                Actor::System,
                None,
                None,
            ),
        ));
        store.insert_events_at(batch).await.unwrap();

        let filter = EventFilter {
            from: Some(from),
            to: Some(from + Duration::hours(6)),
            category: Some(Category::SignIn),
            ..EventFilter::default()
        };
        let h = store.event_histogram(&filter, 6).await.unwrap();
        assert_eq!(h.bucket_ms, 3_600_000, "{:?}", db.backend);
        let counts: Vec<(u64, u64)> = h.buckets.iter().map(|b| (b.success, b.failure)).collect();
        assert_eq!(
            counts,
            vec![(3, 1), (0, 0), (0, 2), (0, 0), (0, 0), (1, 0)],
            "{:?}",
            db.backend
        );
        assert_eq!(h.buckets[2].start, from + Duration::hours(2));

        // Finer buckets, same totals.
        let fine = store.event_histogram(&filter, 40).await.unwrap();
        assert_eq!(fine.bucket_ms, 10 * 60_000);
        assert_eq!(fine.buckets.len(), 36);
        let total: u64 = fine.buckets.iter().map(|b| b.success + b.failure).sum();
        assert_eq!(total, 7);

        // An open start begins at the oldest match.
        let open = store
            .event_histogram(
                &EventFilter {
                    to: filter.to,
                    category: filter.category,
                    ..EventFilter::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(open.from, from - Duration::minutes(1));
        let total: u64 = open.buckets.iter().map(|b| b.success + b.failure).sum();
        assert_eq!(total, 8, "{:?}", db.backend);
    }
}

/// The chart keeps the counts of slices that have ended and counts only the rest again.
/// Whatever it kept, each drawing must equal what a store with nothing kept counts.
#[tokio::test]
async fn a_chart_drawn_again_counts_new_events_and_keeps_ended_slices_right() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let now = OffsetDateTime::now_utc();
        // Ended slices, and one event in the day's first (partial) slice.
        store
            .insert_events_at(vec![
                (now - Duration::hours(3), sign_in(Outcome::Success)),
                (now - Duration::hours(3), sign_in(Outcome::Success)),
                (now - Duration::minutes(150), sign_in(Outcome::Failure)),
                (
                    now - Duration::hours(24) + Duration::seconds(30),
                    sign_in(Outcome::Failure),
                ),
            ])
            .await
            .unwrap();
        // The Dashboard's filter: the last day, an unaligned start, no end.
        let day = EventFilter {
            from: Some(now - Duration::hours(24)),
            ..EventFilter::default()
        };
        let counts = |h: &gatehouse_domain::event::EventHistogram| -> Vec<(u64, u64)> {
            h.buckets.iter().map(|b| (b.success, b.failure)).collect()
        };
        let total = |h: &gatehouse_domain::event::EventHistogram| -> u64 {
            h.buckets.iter().map(|b| b.success + b.failure).sum()
        };
        let first = store.event_histogram(&day, 48).await.unwrap();
        assert_eq!(total(&first), 4, "{:?}", db.backend);

        // New events land in the open slice; the ended ones come from what was kept.
        for outcome in [Outcome::Success, Outcome::Success, Outcome::Failure] {
            store.record_event(sign_in(outcome)).await.unwrap();
        }
        let again = store.event_histogram(&day, 48).await.unwrap();
        assert_eq!(total(&again), 7, "{:?}", db.backend);
        let fresh = db.store().await.event_histogram(&day, 48).await.unwrap();
        assert_eq!(counts(&again), counts(&fresh), "{:?}", db.backend);
        assert_eq!(
            again.buckets[0].failure, 1,
            "the partial first slice is counted"
        );

        // The kept counts are what it used: an event written into an ended slice by another
        // handle (no production path writes past times) is not seen until they are dropped.
        let other = db.store().await;
        // That holds for an ended half hour and for an ended minute of the open one.
        other
            .insert_events_at(vec![
                (now - Duration::hours(2), sign_in(Outcome::Success)),
                (now - Duration::minutes(5), sign_in(Outcome::Success)),
            ])
            .await
            .unwrap();
        let kept = store.event_histogram(&day, 48).await.unwrap();
        assert_eq!(total(&kept), 7, "{:?}", db.backend);
        let fresh = db.store().await.event_histogram(&day, 48).await.unwrap();
        assert_eq!(total(&fresh), 9, "{:?}", db.backend);

        // Events written with past times (tests, benchmarks) are not hidden by kept counts.
        store
            .insert_events_at(vec![(now - Duration::hours(5), sign_in(Outcome::Failure))])
            .await
            .unwrap();
        let after_insert = store.event_histogram(&day, 48).await.unwrap();
        assert_eq!(total(&after_insert), 10, "{:?}", db.backend);

        // Nor are purged ones still counted (the purge records an event of its own).
        store
            .purge_events_older_than(now - Duration::hours(4))
            .await
            .unwrap();
        let after_purge = store.event_histogram(&day, 48).await.unwrap();
        let fresh = db.store().await.event_histogram(&day, 48).await.unwrap();
        assert_eq!(total(&after_purge), 9, "{:?}", db.backend);
        assert_eq!(counts(&after_purge), counts(&fresh), "{:?}", db.backend);
    }
}

#[tokio::test]
async fn the_export_stream_yields_every_match_in_order() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let mut batch = Vec::new();
        for i in 0..1_234 {
            let outcome = if i % 3 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            batch.push((
                T0 + Duration::seconds(i),
                ev(
                    Category::Provisioning,
                    "user.created",
                    outcome,
                    Actor::System,
                    Some("u"),
                    None,
                ),
            ));
        }
        store.insert_events_at(batch).await.unwrap();
        let filter = EventFilter {
            outcome: Some(Outcome::Failure),
            ..EventFilter::default()
        };
        let mut stream = store.stream_events(&filter);
        let mut seen = Vec::new();
        while let Some(e) = std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
        })
        .await
        {
            seen.push(e.unwrap());
        }
        assert_eq!(seen.len(), 412, "{:?}", db.backend);
        assert!(seen.iter().all(|e| e.event.outcome == Outcome::Failure));
        assert!(seen
            .windows(2)
            .all(|w| w[0].event.occurred_at > w[1].event.occurred_at));
        assert_eq!(seen[0].event.occurred_at, T0 + Duration::seconds(1233));
    }
}

#[tokio::test]
async fn purge_deletes_only_older_events_and_records_itself() {
    for db in TestDatabase::each().await {
        let store = db.store().await;
        let now = OffsetDateTime::now_utc();
        let mut batch = Vec::new();
        for i in 0..12_000 {
            batch.push((
                now - Duration::days(400) + Duration::seconds(i),
                ev(
                    Category::Provisioning,
                    "user.created",
                    Outcome::Success,
                    Actor::System,
                    Some("old"),
                    None,
                ),
            ));
        }
        batch.push((
            now - Duration::days(10),
            ev(
                Category::Provisioning,
                "user.created",
                Outcome::Success,
                Actor::System,
                Some("recent"),
                None,
            ),
        ));
        store.insert_events_at(batch).await.unwrap();

        let deleted = store
            .purge_events_older_than(now - Duration::days(365))
            .await
            .unwrap();
        assert_eq!(deleted, 12_000, "{:?}", db.backend);
        let left = store
            .query_events(&EventQuery {
                limit: 10,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        let actions: Vec<(&str, Option<&str>)> = left
            .entries
            .iter()
            .map(|e| (e.event.action.as_str(), e.event.target.as_deref()))
            .collect();
        assert_eq!(
            actions,
            vec![("events.purged", None), ("user.created", Some("recent"))]
        );
        let purge = &left.entries[0].event;
        assert_eq!(purge.actor, Actor::System);
        assert_eq!(purge.category, Category::Administration);
        let detail: serde_json::Value =
            serde_json::from_str(purge.detail.as_deref().unwrap()).unwrap();
        assert_eq!(detail["deleted"], 12_000);

        // Again: nothing to delete, and that is recorded too.
        assert_eq!(
            store
                .purge_events_older_than(now - Duration::days(365))
                .await
                .unwrap(),
            0
        );
        let purges = ids_of(
            &store,
            EventFilter {
                action: Some("events.purged".into()),
                ..EventFilter::default()
            },
        )
        .await;
        assert_eq!(purges.len(), 2);
    }
}

#[test]
fn url_parameters_become_filters_or_a_clear_error() {
    let now = T0;
    let p = |pairs: &[(&str, &str)]| {
        let mut params = EventParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "range" => params.range = v,
                "from" => params.from = v,
                "to" => params.to = v,
                "category" => params.category = v,
                "action" => params.action = v,
                "outcome" => params.outcome = v,
                "actor" => params.actor = v,
                "target" => params.target = v,
                _ => unreachable!(),
            }
        }
        params
    };
    let f = p(&[]).to_filter(now).unwrap();
    assert_eq!(
        f.from,
        Some(now - Duration::hours(24)),
        "24 hours by default"
    );
    assert_eq!(
        p(&[("range", "all")]).to_filter(now).unwrap(),
        EventFilter::default()
    );
    let f = p(&[
        ("range", "custom"),
        ("from", "2026-02-01T08:30"),
        ("to", "2026-02-02"),
    ])
    .to_filter(now)
    .unwrap();
    assert_eq!(f.from, Some(datetime!(2026-02-01 08:30 UTC)));
    assert_eq!(f.to, Some(datetime!(2026-02-02 00:00 UTC)));
    let f = p(&[("from", "2026-02-01T08:30:00Z")])
        .to_filter(now)
        .unwrap();
    assert_eq!(
        f.from,
        Some(datetime!(2026-02-01 08:30 UTC)),
        "from alone means custom"
    );
    let f = p(&[
        ("range", "7d"),
        ("category", "sign_in"),
        ("action", "admin.sign_in"),
        ("outcome", "failure"),
        ("actor", &format!("admin:{ADMIN_ID}")),
        ("target", "Ada@*"),
    ])
    .to_filter(now)
    .unwrap();
    assert_eq!(f.from, Some(now - Duration::days(7)));
    assert_eq!(f.category, Some(Category::SignIn));
    assert_eq!(f.outcome, Some(Outcome::Failure));
    assert_eq!(f.actor, Some(ActorFilter::Admin(ADMIN_ID.into())));
    assert_eq!(
        f.target,
        Some(TargetFilter::Name {
            name: "ada@".into(),
            prefix: true
        })
    );

    for (pairs, needle) in [
        (vec![("range", "2w")], "Unknown time range"),
        (
            vec![("range", "custom"), ("from", "yesterday")],
            "not a date and time",
        ),
        (
            vec![("from", "2026-02-02"), ("to", "2026-02-01")],
            "ends before it starts",
        ),
        (vec![("category", "billing")], "Unknown category"),
        (vec![("outcome", "maybe")], "Unknown outcome"),
        (vec![("action", "DROP TABLE")], "not an action"),
        (vec![("actor", "robot")], "Unknown actor"),
        (vec![("actor", "admin:42")], "not a valid id"),
        (vec![("target", "*")], "at least one character"),
        (vec![("target", "a*b")], "only allowed at the end"),
    ] {
        let err = p(&pairs).to_filter(now).unwrap_err();
        assert!(err.contains(needle), "{pairs:?}: {err}");
    }

    let shared = p(&[
        ("range", "7d"),
        ("outcome", "failure"),
        ("target", "ada lovelace&co"),
    ]);
    assert_eq!(
        shared.query_string(),
        "range=7d&outcome=failure&target=ada%20lovelace%26co"
    );
    let cursor: EventCursor = "1700000000000_0190a1b2000070008000000000000001"
        .parse()
        .unwrap();
    assert_eq!(cursor.to_string().parse::<EventCursor>().unwrap(), cursor);
    assert!("nonsense".parse::<EventCursor>().is_err());
}
