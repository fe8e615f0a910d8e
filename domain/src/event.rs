//! Events / Logs: the append-only record of every provisioning change, configuration change
//! and sign-in.

use crate::ids::EventId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The broad kind of an event, the first filter an admin reaches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Provisioning,
    Configuration,
    SignIn,
    Administration,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Provisioning => "provisioning",
            Category::Configuration => "configuration",
            Category::SignIn => "sign_in",
            Category::Administration => "administration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "provisioning" => Category::Provisioning,
            "configuration" => Category::Configuration,
            "sign_in" => Category::SignIn,
            "administration" => Category::Administration,
            _ => return None,
        })
    }
}

/// Whether the thing the event describes happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// Who caused an event, as the console names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// Gatehouse itself (start-up, scheduled jobs).
    System,
    /// An administrator, by id.
    Admin(String),
    /// Someone not (yet) known: a sign-in attempt, a setup-link visitor.
    Anonymous,
    /// An identity provider's SCIM client, by the id of the token it presented.
    ScimToken(String),
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub category: Category,
    /// A dotted verb such as `admin.signed_in`; stable, so filters and exports can rely on it.
    pub action: String,
    pub outcome: Outcome,
    pub actor: Actor,
    /// What the event is about, in words an admin recognises (an email, a group name).
    pub target: Option<String>,
    /// Extra facts as JSON text (never a secret).
    pub detail: Option<String>,
}

/// An event about to be appended; the store gives it its id and time.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub category: Category,
    pub action: &'static str,
    pub outcome: Outcome,
    pub actor: Actor,
    pub target: Option<String>,
    pub detail: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Reading Events / Logs: filters, pages, the chart and the detail view. Plain data, so the
// console's browser code shares them with the server.
// ---------------------------------------------------------------------------------------

/// Whose events to show. "Any administrator" and "one administrator" are both needed: the
/// first answers "what did people change by hand", the second "what did Ada do".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorFilter {
    System,
    Anonymous,
    AnyAdmin,
    Admin(String),
    AnyScimToken,
    ScimToken(String),
}

impl ActorFilter {
    /// The form used in URLs: `system`, `anonymous`, `admin`, `admin:<id>`, `scim_token`,
    /// `scim_token:<id>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let checked_id = |id: &str, what: &str| -> Result<String, String> {
            uuid::Uuid::parse_str(id)
                .map(|u| u.to_string())
                .map_err(|_| {
                    format!(
                        "The actor filter names {what} by an id that is not a valid id (\"{id}\")."
                    )
                })
        };
        Ok(match s.split_once(':') {
            None => match s {
                "system" => ActorFilter::System,
                "anonymous" => ActorFilter::Anonymous,
                "admin" => ActorFilter::AnyAdmin,
                "scim_token" => ActorFilter::AnyScimToken,
                _ => return Err(format!(
                    "Unknown actor \"{s}\": use system, anonymous, admin, admin:<id>, scim_token or scim_token:<id>."
                )),
            },
            Some(("admin", id)) => ActorFilter::Admin(checked_id(id, "an administrator")?),
            Some(("scim_token", id)) => ActorFilter::ScimToken(checked_id(id, "a SCIM token")?),
            Some((kind, _)) => {
                return Err(format!(
                    "Unknown actor kind \"{kind}\": only admin:<id> and scim_token:<id> take an id."
                ))
            }
        })
    }

    /// The inverse of [`ActorFilter::parse`].
    pub fn as_param(&self) -> String {
        match self {
            ActorFilter::System => "system".into(),
            ActorFilter::Anonymous => "anonymous".into(),
            ActorFilter::AnyAdmin => "admin".into(),
            ActorFilter::Admin(id) => format!("admin:{id}"),
            ActorFilter::AnyScimToken => "scim_token".into(),
            ActorFilter::ScimToken(id) => format!("scim_token:{id}"),
        }
    }
}

/// What an event is about. Events keep the target's name as it was then (an email, a group
/// name) and, since migration 0005, the id of the user, group, profile or token it concerns,
/// so a renamed group is still found by its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetFilter {
    /// Exactly this id.
    Id(String),
    /// This name ignoring case; with `prefix`, every name that starts with it.
    Name { name: String, prefix: bool },
}

impl TargetFilter {
    /// The form an administrator types: an id, a name, or a name prefix ending in `*`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("The target filter is empty.".into());
        }
        if s.chars().count() > 300 {
            return Err("The target filter is longer than 300 characters.".into());
        }
        if let Some(prefix) = s.strip_suffix('*') {
            let prefix = prefix.trim();
            if prefix.is_empty() || prefix.contains('*') {
                return Err("A target prefix needs at least one character before a single trailing \"*\" (for example \"ada@*\").".into());
            }
            return Ok(TargetFilter::Name {
                name: prefix.to_lowercase(),
                prefix: true,
            });
        }
        if s.contains('*') {
            return Err("\"*\" is only allowed at the end of a target (a prefix search).".into());
        }
        if let Ok(id) = uuid::Uuid::parse_str(s) {
            return Ok(TargetFilter::Id(id.to_string()));
        }
        Ok(TargetFilter::Name {
            name: s.to_lowercase(),
            prefix: false,
        })
    }
}

/// Which events to read: every field narrows the result, and the fields combine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Inclusive.
    #[serde(with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Exclusive.
    #[serde(with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    pub category: Option<Category>,
    /// An exact action such as `user.created`.
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub actor: Option<ActorFilter>,
    pub target: Option<TargetFilter>,
}

/// A position in the newest-first order of events: (time, id). Opaque to the console, which
/// only hands back what the server gave it; ties in time are broken by id, so paging never
/// skips or repeats an event even when many share a millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct EventCursor {
    pub occurred_at_ms: i64,
    pub id: EventId,
}

impl std::fmt::Display for EventCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.occurred_at_ms, self.id.0.simple())
    }
}

impl std::str::FromStr for EventCursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a position in Events / Logs; reload the page.");
        let (ms, id) = s.split_once('_').ok_or_else(bad)?;
        Ok(EventCursor {
            occurred_at_ms: ms.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl From<EventCursor> for String {
    fn from(c: EventCursor) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for EventCursor {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// An event as the console and exports show it: with the actor's current name (an admin's
/// email, a token's name) rather than an id, and the id of what it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEntry {
    pub event: Event,
    /// `None` for the system, anonymous callers, and actors deleted since.
    pub actor_name: Option<String>,
    pub target_id: Option<String>,
}

impl EventEntry {
    /// Where this event stands in the newest-first order.
    pub fn cursor(&self) -> EventCursor {
        EventCursor {
            occurred_at_ms: (self.event.occurred_at.unix_timestamp_nanos() / 1_000_000) as i64,
            id: self.event.id,
        }
    }

    /// Who caused it, in words.
    pub fn actor_label(&self) -> String {
        let short = |id: &str| id.chars().take(8).collect::<String>();
        match (&self.event.actor, &self.actor_name) {
            (Actor::System, _) => "System".into(),
            (Actor::Anonymous, _) => "Anonymous".into(),
            (Actor::Admin(_), Some(name)) => name.clone(),
            (Actor::Admin(id), None) => format!("Administrator {} (removed)", short(id)),
            (Actor::ScimToken(_), Some(name)) => format!("SCIM token \u{201c}{name}\u{201d}"),
            (Actor::ScimToken(id), None) => format!("SCIM token {} (removed)", short(id)),
        }
    }
}

/// One page of events, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub entries: Vec<EventEntry>,
    /// Where the next, older page starts; `None` when this page reaches the oldest match.
    pub older: Option<EventCursor>,
}

/// Counts of one time slice of the chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramBucket {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub success: u64,
    pub failure: u64,
}

/// Events over time for one filter, split by outcome, in equal slices of a round length
/// (a minute, an hour, a day...) so the chart's labels read naturally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHistogram {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub bucket_ms: i64,
    pub buckets: Vec<HistogramBucket>,
}

/// The relative time ranges offered as presets.
pub const TIME_PRESETS: [(&str, &str, i64); 4] = [
    ("1h", "Last hour", 3_600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
    ("30d", "Last 30 days", 30 * 86_400),
];

/// The preset used when the URL names none.
pub const DEFAULT_RANGE: &str = "24h";

/// The filters as they appear in the console's URL and the export links: text, exactly as
/// typed, so a view can be shared and an invalid value can be explained rather than dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventParams {
    /// `1h`, `24h`, `7d`, `30d`, `all` or `custom` (then `from` and `to` apply).
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Reads `YYYY-MM-DDTHH:MM[:SS]` (what a datetime-local field sends, taken as UTC), a full
/// RFC 3339 time, or a plain date (midnight UTC).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{Date, PrimitiveDateTime};
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let s = s.trim_end_matches('Z');
    for fd in [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ] {
        if let Ok(t) = PrimitiveDateTime::parse(s, fd) {
            return Some(t.assume_utc());
        }
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// The `YYYY-MM-DDTHH:MM` form of a time (UTC), as datetime-local fields and URLs carry it.
pub fn format_minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

impl EventParams {
    /// The time preset in effect: the named one, `custom` when only `from`/`to` are given,
    /// else the default.
    pub fn range(&self) -> String {
        match non_empty(&self.range) {
            Some(r) => r.to_string(),
            None if non_empty(&self.from).is_some() || non_empty(&self.to).is_some() => {
                "custom".into()
            }
            None => DEFAULT_RANGE.into(),
        }
    }

    /// Turns the URL's text into a filter, resolving relative ranges against `now`; the
    /// error says which parameter is wrong and what it accepts.
    pub fn to_filter(&self, now: OffsetDateTime) -> Result<EventFilter, String> {
        let mut f = EventFilter::default();
        match self.range().as_str() {
            "all" => {}
            "custom" => {
                f.from = match non_empty(&self.from) {
                    None => None,
                    Some(s) => Some(parse_time(s).ok_or_else(|| {
                        format!("The start of the time range (\"{s}\") is not a date and time: use YYYY-MM-DDTHH:MM, in UTC.")
                    })?),
                };
                f.to = match non_empty(&self.to) {
                    None => None,
                    Some(s) => Some(parse_time(s).ok_or_else(|| {
                        format!("The end of the time range (\"{s}\") is not a date and time: use YYYY-MM-DDTHH:MM, in UTC.")
                    })?),
                };
                if let (Some(a), Some(b)) = (f.from, f.to) {
                    if a >= b {
                        return Err(
                            "The time range ends before it starts: pick an end after the start."
                                .into(),
                        );
                    }
                }
            }
            preset => {
                let secs = TIME_PRESETS
                    .iter()
                    .find(|(key, _, _)| *key == preset)
                    .map(|(_, _, secs)| *secs)
                    .ok_or_else(|| {
                        format!(
                            "Unknown time range \"{preset}\": use 1h, 24h, 7d, 30d, all or custom."
                        )
                    })?;
                f.from = Some(now - time::Duration::seconds(secs));
            }
        }
        if let Some(c) = non_empty(&self.category) {
            f.category = Some(Category::parse(c).ok_or_else(|| {
                format!("Unknown category \"{c}\": use provisioning, configuration, sign_in or administration.")
            })?);
        }
        if let Some(a) = non_empty(&self.action) {
            let valid = a.len() <= 100
                && a.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            if !valid {
                return Err(format!(
                    "\"{a}\" is not an action: actions are dotted lower-case names such as user.created."
                ));
            }
            f.action = Some(a.to_string());
        }
        if let Some(o) = non_empty(&self.outcome) {
            f.outcome = Some(
                Outcome::parse(o)
                    .ok_or_else(|| format!("Unknown outcome \"{o}\": use success or failure."))?,
            );
        }
        if let Some(a) = non_empty(&self.actor) {
            f.actor = Some(ActorFilter::parse(a)?);
        }
        if let Some(t) = non_empty(&self.target) {
            f.target = Some(TargetFilter::parse(t)?);
        }
        Ok(f)
    }

    /// The parameters that are set, in a fixed order, for building URLs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("category", &self.category),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("actor", &self.actor),
            ("target", &self.target),
        ]
        .into_iter()
        .filter_map(|(k, v)| non_empty(v).map(|v| (k, v.to_string())))
        .collect()
    }

    /// `a=b&c=d`, percent-encoded; empty when nothing is set.
    pub fn query_string(&self) -> String {
        self.pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One fact of an event's detail, ready to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailField {
    pub key: String,
    pub value: String,
}

/// One change an update made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailChange {
    /// What changed: an attribute, "members", "name".
    pub what: String,
    /// The value before, when the event recorded it.
    pub before: Option<String>,
    /// The value after, when the event recorded it.
    pub after: Option<String>,
}

/// An event's detail JSON, taken apart for the detail view: the request's error, what an
/// update changed, and every other fact. Values under keys that could hold a secret are
/// replaced, whatever the writer of the event intended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailView {
    /// The error the request was answered with, if it failed.
    pub error: Option<String>,
    pub changes: Vec<DetailChange>,
    pub fields: Vec<DetailField>,
    /// The detail was not JSON; shown as it is.
    pub raw: Option<String>,
}

/// Whether a detail key could hold a secret; such values are never shown or exported.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret",
        "password",
        "passphrase",
        "private",
        "credential",
        "session_id",
        "cookie",
    ]
    .iter()
    .any(|s| k.contains(s))
        || k == "token_value"
        || k == "bearer"
        || k == "saml_response"
        || k == "assertion"
}

/// The text an event detail's value (JSON text) is replaced with when its key could hold a
/// secret.
pub const REDACTED: &str = "[redacted]";

#[cfg(feature = "server")]
impl DetailView {
    /// Takes an event's detail JSON apart. Knows the shapes Gatehouse writes: `error`
    /// (with `status` and `scim_type`), `changed` (a list of attribute names, or an object of
    /// `{before, after}` / `{from, to}` pairs), top-level `from`/`to` (a rename), `added`/
    /// `removed` (members).
    pub fn from_detail(detail: &str) -> DetailView {
        use serde_json::Value;
        let show = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => "(none)".into(),
            other => other.to_string(),
        };
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(detail) else {
            return DetailView {
                raw: Some(detail.to_string()),
                ..DetailView::default()
            };
        };
        let mut view = DetailView::default();
        let pair = |v: &Value, a: &str, b: &str| -> Option<(Option<String>, Option<String>)> {
            let o = v.as_object()?;
            (o.contains_key(a) || o.contains_key(b))
                .then(|| (o.get(a).map(show), o.get(b).map(show)))
        };
        for (key, value) in &map {
            if is_secret_key(key) {
                view.fields.push(DetailField {
                    key: key.clone(),
                    value: REDACTED.into(),
                });
                continue;
            }
            match (key.as_str(), value) {
                ("error", v) => view.error = Some(show(v)),
                ("changed" | "changes", Value::Array(names)) => {
                    view.changes.extend(names.iter().map(|n| DetailChange {
                        what: show(n),
                        before: None,
                        after: None,
                    }))
                }
                ("changed" | "changes", Value::Object(attrs)) => {
                    for (what, v) in attrs {
                        let (before, after) = if is_secret_key(what) {
                            (Some(REDACTED.to_string()), Some(REDACTED.to_string()))
                        } else {
                            pair(v, "before", "after")
                                .or_else(|| pair(v, "from", "to"))
                                .unwrap_or((None, Some(show(v))))
                        };
                        view.changes.push(DetailChange {
                            what: what.clone(),
                            before,
                            after,
                        });
                    }
                }
                ("from", _) | ("to", _) => {}
                ("added" | "removed", Value::Array(list)) if !list.is_empty() => {
                    let ids = list.iter().map(show).collect::<Vec<_>>().join(", ");
                    view.changes.push(DetailChange {
                        what: format!("members {key}"),
                        before: None,
                        after: Some(ids),
                    });
                }
                ("added" | "removed", Value::Array(_)) => {}
                _ => view.fields.push(DetailField {
                    key: key.clone(),
                    value: show(value),
                }),
            }
        }
        if map.contains_key("from") || map.contains_key("to") {
            view.changes.insert(
                0,
                DetailChange {
                    what: "name".into(),
                    before: map.get("from").map(show),
                    after: map.get("to").map(show),
                },
            );
        }
        view
    }
}

/// An event's detail JSON with the value of every key that could hold a secret replaced, at
/// any depth: what exports write. A detail that is not JSON is returned as it is.
#[cfg(feature = "server")]
pub fn redact_detail(detail: &str) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_secret_key(k) {
                        *v = serde_json::Value::String(REDACTED.into());
                    } else {
                        walk(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(mut v) => {
            walk(&mut v);
            v
        }
        Err(_) => serde_json::Value::String(detail.to_string()),
    }
}
