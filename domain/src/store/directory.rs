//! The console's Users and User Groups screens: lists that search, filter, sort and page by
//! key over what the identity provider provisioned, and the detail of one user or group.
//!
//! **Paging.** Every list is ordered by (sort key, id) and pages by key: a page starts after
//! (or before) the last row of the previous one, handed out as an opaque cursor. A page
//! deep in 100,000 users costs what the first one does, and equal sort keys (two users
//! named "Ada Lovelace", many users updated in the same millisecond) never make a row
//! appear twice or not at all, because the id breaks the tie.
//!
//! **Search.** By default a search is a *prefix* match, ignoring case, on the userName, the
//! primary email, the display name and the family name: each is an index range
//! (migration 0006), so a search over 100,000 users answers in milliseconds. "Contains"
//! finds the text anywhere in the userName, email or display name; it reads every user, so
//! it is slower on large directories. Search text is always a bound parameter.
//!
//! Case: userName and email are lower-cased in Rust when written, so they compare ignoring
//! case in every script. Names are lower-cased by the database: PostgreSQL folds every
//! script (with a Unicode default collation); SQLite folds ASCII letters only, so there a
//! name such as "Élodie" is found by "élodie" only if the IdP sent it in that case. The
//! search also tries the text with only its ASCII letters folded, so typing the name as the
//! IdP spells it always finds it.
//!
//! **Source.** Where a user or group came from is the SCIM token whose request created it,
//! read from its `user.created` / `group.created` event; once retention has purged that
//! event, the source is plain "SCIM".

use super::{from_ms, Backend, Store};
use crate::auth_profile::{AuthProfileId, AuthProfileRef, GroupRef};
use crate::{DomainError, Result};
use base64::Engine;
use serde_json::Value;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row};
use time::OffsetDateTime;

/// The most rows one page may hold.
pub const MAX_DIRECTORY_PAGE: u32 = 200;

/// Longest search text accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// A group with at most this many members is listed by reading its members and sorting
/// them; a larger one by walking the users in order and checking membership. Either way a
/// page reads at most a few thousand index entries, whatever the group's size.
const SMALL_GROUP: i64 = 2_000;

/// How a search matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchMode {
    /// The text starts the userName, email, display name or family name (indexed).
    #[default]
    Prefix,
    /// The text occurs anywhere in the userName, email or display name (reads every row).
    Contains,
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Prefix => "prefix",
            SearchMode::Contains => "contains",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "prefix" | "starts" => Some(SearchMode::Prefix),
            "contains" | "anywhere" => Some(SearchMode::Contains),
            _ => None,
        }
    }
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "asc" => Some(SortOrder::Asc),
            "desc" => Some(SortOrder::Desc),
            _ => None,
        }
    }

    fn flip(self) -> Self {
        match self {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

/// The columns the Users list sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    UserName,
    /// The display name, ignoring case (users without one come first).
    Name,
    /// When the IdP last changed the user.
    Updated,
}

impl UserSort {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::UserName => "user_name",
            UserSort::Name => "name",
            UserSort::Updated => "updated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user_name" | "username" | "userName" => Some(UserSort::UserName),
            "name" => Some(UserSort::Name),
            "updated" => Some(UserSort::Updated),
            _ => None,
        }
    }
}

/// The columns the User Groups list sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupSort {
    #[default]
    Name,
    Updated,
}

impl GroupSort {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSort::Name => "name",
            GroupSort::Updated => "updated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "name" => Some(GroupSort::Name),
            "updated" => Some(GroupSort::Updated),
            _ => None,
        }
    }
}

/// Which users to list. Every field narrows the list; they combine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Text to look for (see the module docs); blank means no search.
    pub search: Option<String>,
    pub mode: SearchMode,
    /// `Some(true)`: active users only; `Some(false)`: deactivated ones only.
    pub active: Option<bool>,
    /// Members of this group (by id) only.
    pub group_id: Option<String>,
    /// Users created through this SCIM token (by id) only.
    pub source_token_id: Option<String>,
}

/// A page of the Users list (or of a group's members, with `filter.group_id`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserListQuery {
    pub filter: UserFilter,
    pub sort: UserSort,
    pub order: SortOrder,
    /// The rows after this cursor (the "next" of a previous page).
    pub after: Option<String>,
    /// The rows before this cursor (the "previous" of a previous page).
    pub before: Option<String>,
    /// 1 to [`MAX_DIRECTORY_PAGE`].
    pub limit: u32,
}

/// What the User Groups list can be narrowed to by profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileFilter {
    /// Groups with no authentication profile (their members cannot sign in).
    Unassigned,
    /// Groups assigned this profile.
    Profile(AuthProfileId),
}

/// A page of the User Groups list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupListQuery {
    pub search: Option<String>,
    pub mode: SearchMode,
    pub profile: Option<ProfileFilter>,
    pub sort: GroupSort,
    pub order: SortOrder,
    pub after: Option<String>,
    pub before: Option<String>,
    pub limit: u32,
}

/// One page of a list and where the neighbouring pages start. The total that match is a
/// separate call (`count_directory_users`, `count_directory_groups`), so a page never waits
/// for a count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryPage<T> {
    pub rows: Vec<T>,
    /// Cursor for the page after this one, if there is one.
    pub next: Option<String>,
    /// Cursor for the page before this one, if there is one.
    pub prev: Option<String>,
    /// How many match on all pages, when finding this page learnt it anyway (a group's
    /// member count, a sparse search that read every match, or a search
    /// inside a large group): counting again would cost as much as the page did.
    pub total: Option<u64>,
}

/// Where a user or group came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The SCIM token whose request created it, if that is still recorded.
    pub token_id: Option<String>,
    /// The token's name (what the admin called the IdP connection), or "SCIM".
    pub name: String,
}

impl Source {
    fn from_columns(token_id: Option<String>, name: Option<String>) -> Self {
        match (token_id, name) {
            (Some(id), Some(name)) => Source {
                token_id: Some(id),
                name,
            },
            _ => Source {
                token_id: None,
                name: "SCIM".into(),
            },
        }
    }
}

/// A row of the Users list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub user_name: String,
    /// The name to show: displayName, else name.formatted, else given and family name.
    pub name: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub source: Source,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A row of the User Groups list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub member_count: u64,
    pub profile: Option<AuthProfileRef>,
    pub source: Source,
    pub created_at: OffsetDateTime,
    /// When the IdP last changed the group (SCIM lastModified).
    pub updated_at: OffsetDateTime,
    /// The latest of `updated_at` and the group's newest event (a profile assignment is a
    /// change too, though SCIM does not see it).
    pub last_change: OffsetDateTime,
}

/// A group a user is in, with the profile it brings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRow {
    pub group: GroupRef,
    pub profile: Option<AuthProfileRef>,
    /// The profile's priority (lower wins), for explaining the effective profile.
    pub priority: Option<i32>,
}

/// One attribute as the IdP sent it, flattened for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeRow {
    /// In words ("Work email (primary)").
    pub label: String,
    /// Where it is in the SCIM resource (`emails[work].value`), as IdP mappings name it.
    pub path: String,
    pub value: String,
}

/// The attributes of one schema (core, enterprise, or an IdP's own extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeSection {
    pub title: String,
    /// The schema URN.
    pub schema: String,
    pub rows: Vec<AttributeRow>,
}

/// Everything the user's page shows that the store holds about the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDetail {
    pub summary: UserSummary,
    pub external_id: Option<String>,
    pub version: i64,
    pub groups: Vec<MembershipRow>,
    /// Every attribute of the stored SCIM resource, by schema (never a password).
    pub attributes: Vec<AttributeSection>,
    /// The latest successful end-user sign-in, if any is still recorded.
    pub last_sign_in: Option<OffsetDateTime>,
}

/// Everything the group's page shows about the group itself (members are a list query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDetail {
    pub summary: GroupSummary,
    pub version: i64,
}

// ---------------------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------------------

/// A position in a sorted list: the sort key of a row and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Text(String),
    Int(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cursor {
    sort: &'static str,
    order: SortOrder,
    key: Key,
    id: String,
}

fn stale_cursor() -> DomainError {
    DomainError::Invalid(
        "This page position is not valid for the current list (it may come from another sort order). Go back to the first page.".into(),
    )
}

impl Cursor {
    fn encode(&self) -> String {
        let key = match &self.key {
            Key::Text(s) => format!("t{s}"),
            Key::Int(i) => format!("i{i}"),
        };
        let raw = format!("{}|{}|{}|{key}", self.sort, self.order.as_str(), self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor handed out for a list in this sort order; any other is refused.
    fn decode(s: &str, sort: &'static str, order: SortOrder) -> Result<Self> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| stale_cursor())?;
        let raw = String::from_utf8(raw).map_err(|_| stale_cursor())?;
        let mut parts = raw.splitn(4, '|');
        let (Some(s_sort), Some(s_order), Some(id), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(stale_cursor());
        };
        if s_sort != sort || s_order != order.as_str() || uuid::Uuid::parse_str(id).is_err() {
            return Err(stale_cursor());
        }
        let key = match key.split_at_checked(1) {
            Some(("t", text)) => Key::Text(text.to_string()),
            Some(("i", n)) => Key::Int(n.parse().map_err(|_| stale_cursor())?),
            _ => return Err(stale_cursor()),
        };
        Ok(Cursor {
            sort,
            order,
            key,
            id: id.to_string(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Building queries
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause under construction and the values bound to it. Only the conditions that
/// apply are written, so each combination is its own statement with its own plan.
#[derive(Clone, Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn text(&mut self, s: impl Into<String>) -> String {
        self.arg(Arg::Text(s.into()))
    }

    fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Rows strictly after `cursor` in `order` (by `key`, then `id`). The first half is a
    /// plain range on the key, which the index serves.
    fn seek(&mut self, key_sql: &str, id_sql: &str, cursor: &Cursor, order: SortOrder) {
        let k = match &cursor.key {
            Key::Text(s) => self.text(s.clone()),
            Key::Int(i) => self.arg(Arg::Int(*i)),
        };
        let id = self.text(cursor.id.clone());
        let (ge, gt) = match order {
            SortOrder::Asc => (">=", ">"),
            SortOrder::Desc => ("<=", "<"),
        };
        self.push(format!(
            "{key_sql} {ge} {k} AND ({key_sql} {gt} {k} OR {id_sql} {gt} {id})"
        ));
    }
}

/// A condition on users, written two ways over the same bound values: `drive` lets the
/// database read its index first (a range, or an `IN` list), `check` tests one row. On
/// SQLite, which keeps no statistics unless asked, the store picks which condition drives
/// (see `list_directory_users`); on PostgreSQL both are the same kind of condition and the
/// planner picks.
struct Cond {
    /// Lower drives first when several could; [`NOT_A_DRIVER`] never drives.
    rank: u8,
    drive: String,
    check: String,
}

/// The rank of a condition no index can serve (a "contains" search).
const NOT_A_DRIVER: u8 = u8::MAX;

/// Matches are "dense" when at least one user in this many matches: then walking the sort
/// order's index finds a page of 50 after about 50 × this many rows.
const DENSE_RATIO: i64 = 40;

/// A list's or count's statement with its values bound. On PostgreSQL it is planned for the
/// values of each call, never from a cached generic plan: without the values the planner
/// takes a group for an average one (300 members) and a search range for a wide one, and
/// the generic plan for "search inside a 50,000-member group" walks every member (369 ms
/// against 38 ms, measured with directory_bench). On SQLite, whose planner does not look
/// at the values here (no STAT4 statistics), the prepared statement is kept.
fn filtered_query<'q>(
    backend: Backend,
    sql: &'q str,
    args: &[Arg],
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    let mut q = sqlx::query(sql).persistent(backend == Backend::Sqlite);
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(*i),
            Arg::Text(s) => q.bind(s.clone()),
        };
    }
    q
}

/// The SQL of the keys, per database, written exactly as the indexes of migration 0006 (and
/// 0003) have them so that the planner uses them.
struct Keys {
    backend: Backend,
}

impl Keys {
    fn c(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => expr.to_string(),
            Backend::Postgres => format!("{expr} COLLATE \"C\""),
        }
    }

    /// The expression in a form no index serves (SQLite's unary `+`), so that a condition
    /// is checked per row and an ORDER BY is sorted rather than read from an index.
    /// PostgreSQL chooses for itself and gets the expression unchanged.
    fn no_index(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("+{expr}"),
            Backend::Postgres => expr.to_string(),
        }
    }

    fn user_name(&self) -> String {
        self.c("u.user_name_key")
    }

    fn email(&self) -> String {
        self.c("u.primary_email")
    }

    fn name(&self) -> String {
        match self.backend {
            Backend::Sqlite => "COALESCE(lower(u.display_name), '')".into(),
            Backend::Postgres => "(COALESCE(lower(u.display_name), '')) COLLATE \"C\"".into(),
        }
    }

    fn family_name(&self) -> String {
        match self.backend {
            Backend::Sqlite => "lower(json_extract(u.resource, '$.name.familyName'))".into(),
            // A stored column (migration 0008), so a row check does not parse the resource.
            Backend::Postgres => self.c("u.family_name_key"),
        }
    }

    fn user_sort(&self, sort: UserSort) -> String {
        match sort {
            UserSort::UserName => self.user_name(),
            UserSort::Name => self.name(),
            UserSort::Updated => "u.updated_at".into(),
        }
    }

    /// How the outer query orders the page by the inner query's `sort_key` column: the
    /// same collation as inside, so both orders agree.
    fn outer(&self, text_key: bool) -> &'static str {
        match (self.backend, text_key) {
            (Backend::Postgres, true) => "sort_key COLLATE \"C\"",
            _ => "sort_key",
        }
    }

    fn group_sort(&self, sort: GroupSort) -> String {
        match sort {
            GroupSort::Name => self.c("g.display_name_key"),
            GroupSort::Updated => "g.updated_at".into(),
        }
    }
}

/// The highest code point: `p || U+10FFFF` is above every string that starts with `p`, in
/// bytewise order (SQLite's BINARY, PostgreSQL's "C").
const TOP: char = '\u{10FFFF}';

/// Checks and normalises search text: trimmed, at most [`MAX_SEARCH_CHARS`], no control
/// characters. Blank means "no search".
pub fn normalize_search(search: Option<&str>) -> Result<Option<String>> {
    let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > MAX_SEARCH_CHARS {
        return Err(DomainError::Invalid(format!(
            "The search is longer than {MAX_SEARCH_CHARS} characters; shorten it."
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::Invalid(
            "The search contains control characters; type plain text.".into(),
        ));
    }
    Ok(Some(s.to_string()))
}

/// `%text%` for LIKE, with LIKE's own wildcards escaped (with `\`).
fn like_contains(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// The forms of the search text to compare with a name lower-cased by the database: fully
/// lower-cased, and with only ASCII letters folded (what SQLite's lower() does).
fn name_variants(text: &str) -> Vec<String> {
    let mut v = vec![text.to_lowercase()];
    let ascii = text.to_ascii_lowercase();
    if ascii != v[0] {
        v.push(ascii);
    }
    v
}

/// The search condition on users (alias `u`): any of the keys matches.
fn user_search(w: &mut Where, keys: &Keys, search: &str, mode: SearchMode) -> Cond {
    let lower = search.to_lowercase();
    let mut drive = Vec::new();
    let mut check = Vec::new();
    match mode {
        SearchMode::Prefix => {
            let mut range = |w: &mut Where, expr: String, prefix: &str| {
                let lo = w.text(prefix);
                let hi = w.text(format!("{prefix}{TOP}"));
                drive.push(format!("({expr} >= {lo} AND {expr} < {hi})"));
                let x = keys.no_index(&expr);
                check.push(format!("({x} >= {lo} AND {x} < {hi})"));
            };
            range(w, keys.user_name(), &lower);
            range(w, keys.email(), &lower);
            for v in name_variants(search) {
                range(w, keys.name(), &v);
                range(w, keys.family_name(), &v);
            }
        }
        SearchMode::Contains => {
            let p = w.text(like_contains(&lower));
            drive.push(format!("u.user_name_key LIKE {p} ESCAPE '\\'"));
            drive.push(format!("u.primary_email LIKE {p} ESCAPE '\\'"));
            for v in name_variants(search) {
                let p = w.text(like_contains(&v));
                drive.push(format!(
                    "COALESCE(lower(u.display_name), '') LIKE {p} ESCAPE '\\'"
                ));
            }
            check = drive.clone();
        }
    }
    Cond {
        rank: if mode == SearchMode::Prefix {
            0
        } else {
            NOT_A_DRIVER
        },
        drive: format!("({})", drive.join(" OR ")),
        check: format!("({})", check.join(" OR ")),
    }
}

/// The WHERE clause of the User Groups list's search and profile filter (alias `g`).
fn group_conditions(q: &GroupListQuery, keys: &Keys) -> Result<Where> {
    let search = normalize_search(q.search.as_deref())?;
    let mut w = Where::default();
    if let Some(s) = &search {
        let lower = s.to_lowercase();
        match q.mode {
            SearchMode::Prefix => {
                let name = keys.c("g.display_name_key");
                let lo = w.text(lower.clone());
                let hi = w.text(format!("{lower}{TOP}"));
                w.push(format!("{name} >= {lo} AND {name} < {hi}"));
            }
            SearchMode::Contains => {
                let p = w.text(like_contains(&lower));
                w.push(format!("g.display_name_key LIKE {p} ESCAPE '\\'"));
            }
        }
    }
    match &q.profile {
        None => {}
        Some(ProfileFilter::Unassigned) => w.push("g.auth_profile_id IS NULL"),
        Some(ProfileFilter::Profile(id)) => {
            let p = w.text(id.to_string());
            w.push(format!("g.auth_profile_id = {p}"));
        }
    }
    Ok(w)
}

/// The name to show for a user, from the stored resource.
fn display_name_of(resource: &Value) -> Option<String> {
    let s = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(d) = s(resource.get("displayName")) {
        return Some(d);
    }
    let name = resource.get("name");
    if let Some(f) = s(name.and_then(|n| n.get("formatted"))) {
        return Some(f);
    }
    let parts: Vec<String> = ["givenName", "familyName"]
        .iter()
        .filter_map(|k| s(name.and_then(|n| n.get(*k))))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The token that created each row: the first `<what>.created` event whose target is the
/// row, with the token's current name.
///
/// Only `target_id` may be read through an index: the other conditions are written as
/// expressions (`|| ''`) that no index serves. Without that, PostgreSQL with statistics
/// older than a busy import chose to AND the outcome and actor-kind indexes (tens of
/// thousands of entries each) for every row of the page: 2.4 s for 50 groups instead of
/// a few milliseconds through `events_target_id_time`.
fn source_columns(alias: &str, action: &str) -> String {
    let created = format!(
        "e.target_id = {alias}.id AND e.action || '' = '{action}' \
         AND e.actor_kind || '' = 'scim_token' AND e.outcome || '' = 'success'"
    );
    format!(
        "(SELECT e.actor_id FROM events e WHERE {created} \
           ORDER BY e.occurred_at, e.id LIMIT 1) AS source_token_id, \
         (SELECT t.name FROM events e JOIN scim_tokens t ON t.id = e.actor_id WHERE {created} \
           ORDER BY e.occurred_at, e.id LIMIT 1) AS source_name"
    )
}

fn check_limit(limit: u32) -> Result<()> {
    if limit == 0 || limit > MAX_DIRECTORY_PAGE {
        return Err(DomainError::Invalid(format!(
            "A page holds 1 to {MAX_DIRECTORY_PAGE} rows (asked for {limit})."
        )));
    }
    Ok(())
}

fn check_id(id: &str, what: &str) -> Result<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| DomainError::NotFound(format!("There is no {what} with id \"{id}\".")))
}

/// Which way a page is read, from its cursors.
struct Direction {
    /// The order rows are read in (the list's order, or its reverse for "previous").
    read: SortOrder,
    cursor: Option<Cursor>,
    backwards: bool,
}

fn direction(
    after: &Option<String>,
    before: &Option<String>,
    sort: &'static str,
    order: SortOrder,
) -> Result<Direction> {
    fn non_empty(c: &Option<String>) -> Option<&str> {
        c.as_deref().filter(|s| !s.trim().is_empty())
    }
    match (non_empty(after), non_empty(before)) {
        (Some(_), Some(_)) => Err(DomainError::Invalid(
            "A page starts after one row or before another, not both.".into(),
        )),
        (Some(a), None) => Ok(Direction {
            read: order,
            cursor: Some(Cursor::decode(a, sort, order)?),
            backwards: false,
        }),
        (None, Some(b)) => Ok(Direction {
            read: order.flip(),
            cursor: Some(Cursor::decode(b, sort, order)?),
            backwards: true,
        }),
        (None, None) => Ok(Direction {
            read: order,
            cursor: None,
            backwards: false,
        }),
    }
}

/// Turns rows read (limit + 1 of them, in `dir.read` order) into a page in list order.
fn finish_page<T>(
    mut rows: Vec<(T, Key, String)>,
    limit: u32,
    dir: &Direction,
    sort: &'static str,
    order: SortOrder,
) -> DirectoryPage<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if dir.backwards {
        rows.reverse();
    }
    let cursor = |(_, key, id): &(T, Key, String)| {
        Cursor {
            sort,
            order,
            key: key.clone(),
            id: id.clone(),
        }
        .encode()
    };
    // Forwards: a next page exists if more rows were read; a previous one if we came from
    // a cursor. Backwards: the other way round.
    let (has_next, has_prev) = if dir.backwards {
        (dir.cursor.is_some(), more)
    } else {
        (more, dir.cursor.is_some())
    };
    let next = has_next.then(|| rows.last().map(cursor)).flatten();
    let prev = has_prev.then(|| rows.first().map(cursor)).flatten();
    DirectoryPage {
        rows: rows.into_iter().map(|(t, _, _)| t).collect(),
        next,
        prev,
        total: None,
    }
}

fn user_from_row(row: &AnyRow) -> Result<UserSummary> {
    let resource: String = row.try_get("resource")?;
    let resource: Value = serde_json::from_str(&resource)
        .map_err(|e| DomainError::Database(format!("a stored user is not JSON: {e}")))?;
    let active: i64 = row.try_get("active")?;
    Ok(UserSummary {
        id: row.try_get("id")?,
        user_name: row.try_get("user_name")?,
        name: display_name_of(&resource),
        email: row.try_get("primary_email")?,
        active: active != 0,
        source: Source::from_columns(row.try_get("source_token_id")?, row.try_get("source_name")?),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

fn profile_ref(id: Option<String>, name: Option<String>) -> Result<Option<AuthProfileRef>> {
    match (id, name) {
        (Some(id), Some(name)) => Ok(Some(AuthProfileRef {
            id: id
                .parse()
                .map_err(|e| DomainError::Database(format!("bad profile id {id}: {e}")))?,
            name,
        })),
        _ => Ok(None),
    }
}

fn group_from_row(row: &AnyRow) -> Result<GroupSummary> {
    let updated_at: i64 = row.try_get("updated_at")?;
    let last_event: Option<i64> = row.try_get("last_event")?;
    let members: i64 = row.try_get("member_count")?;
    Ok(GroupSummary {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        external_id: row.try_get("external_id")?,
        member_count: members.max(0) as u64,
        profile: profile_ref(row.try_get("profile_id")?, row.try_get("profile_name")?)?,
        source: Source::from_columns(row.try_get("source_token_id")?, row.try_get("source_name")?),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(updated_at),
        last_change: from_ms(last_event.map_or(updated_at, |e| e.max(updated_at))),
    })
}

const USER_ROW_COLUMNS: &str = "u.id, u.user_name, u.primary_email, \
     CASE WHEN u.active THEN 1 ELSE 0 END AS active, u.resource, u.created_at, u.updated_at";

const GROUP_ROW_COLUMNS: &str = "g.id, g.display_name, g.external_id, g.created_at, g.updated_at, \
     g.version, p.id AS profile_id, p.name AS profile_name, \
     (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count, \
     (SELECT MAX(e.occurred_at) FROM events e WHERE e.target_id = g.id) AS last_event";

/// A user's group as read for their page: group id and name, and the group's profile (id,
/// name, priority) when it has one.
type MembershipTuple = (String, String, Option<String>, Option<String>, Option<i32>);

/// The conditions of a [`UserFilter`], ready to be written into a page query or a count.
struct UserConditions {
    /// `users u`, or a small group's membership rows joined to their users.
    from: String,
    /// Clauses that always apply as written (a small group's join), and every bound value.
    w: Where,
    conds: Vec<Cond>,
    /// The group's member count when the group is the only filter: the total without
    /// counting again.
    known_total: Option<i64>,
    /// A search narrows a group too large to read whole (more than [`SMALL_GROUP`]).
    search_in_large_group: bool,
}

impl UserConditions {
    /// Which condition's index is read first (the most selective kind present); the others
    /// are checked row by row.
    fn driver(&self) -> Option<usize> {
        self.conds
            .iter()
            .enumerate()
            .filter(|(_, c)| c.rank < NOT_A_DRIVER)
            .min_by_key(|(_, c)| c.rank)
            .map(|(i, _)| i)
    }

    /// The WHERE clause with the driving condition in its index form (`driven`) or every
    /// condition in its row-check form.
    fn clause(&self, driven: bool) -> Where {
        let driver = self.driver();
        let mut w = self.w.clone();
        for (i, c) in self.conds.iter().enumerate() {
            if driven && Some(i) == driver {
                w.push(c.drive.clone());
            } else {
                w.push(c.check.clone());
            }
        }
        w
    }

    /// Whether the rows come straight from `users` (not a small group's membership rows).
    fn reads_users(&self) -> bool {
        self.from.starts_with("users")
    }
}

impl Store {
    /// Turns a filter into conditions; refuses an unknown group with a 404-kind error.
    async fn user_conditions(
        &self,
        conn: &mut sqlx::pool::PoolConnection<Any>,
        filter: &UserFilter,
        keys: &Keys,
    ) -> Result<UserConditions> {
        let search = normalize_search(filter.search.as_deref())?;
        let mut w = Where::default();
        let mut conds: Vec<Cond> = Vec::new();
        // A group's members: from the membership rows when the group is small, else as a
        // condition on users (see SMALL_GROUP).
        let mut from = "users u".to_string();
        let mut known_total = None;
        let mut large_group = false;
        if let Some(group) = &filter.group_id {
            let group = check_id(group, "group")?;
            let narrowed =
                filter.active.is_some() || filter.source_token_id.is_some() || search.is_some();
            // The group's size is the total when nothing narrows it; otherwise only whether
            // it is small matters, and counting stops there (a 50,000-member group costs a
            // full count of 8-15 ms on PostgreSQL, 2,001 rows well under one).
            let members = if narrowed {
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM group_members WHERE group_id = $1 LIMIT {}) x",
                    SMALL_GROUP + 1
                )
            } else {
                "SELECT COUNT(*) FROM group_members WHERE group_id = $1".to_string()
            };
            let (exists, members): (i64, i64) = sqlx::query_as(&format!(
                "SELECT (SELECT COUNT(*) FROM user_groups WHERE id = $1), ({members})"
            ))
            .bind(&group)
            .fetch_one(&mut **conn)
            .await?;
            if exists == 0 {
                return Err(DomainError::NotFound(format!(
                    "There is no group with id {group}; it may have been deleted in the identity provider."
                )));
            }
            let g = w.text(group);
            if members <= SMALL_GROUP {
                // CROSS JOIN keeps the membership rows as the outer loop on SQLite.
                from = "group_members gm CROSS JOIN users u".into();
                w.push(format!("gm.group_id = {g} AND u.id = gm.user_id"));
            } else {
                large_group = true;
                conds.push(Cond {
                    rank: 2,
                    drive: format!(
                        "u.id IN (SELECT gm.user_id FROM group_members gm WHERE gm.group_id = {g})"
                    ),
                    check: format!(
                        "EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = {g} AND gm.user_id = u.id)"
                    ),
                });
            }
            known_total = (!narrowed).then_some(members);
        }
        if let Some(active) = filter.active {
            let value = if active { "TRUE" } else { "FALSE" };
            conds.push(Cond {
                rank: 3,
                drive: format!("u.active = {value}"),
                check: format!("{} = {value}", keys.no_index("u.active")),
            });
        }
        if let Some(token) = &filter.source_token_id {
            let token = check_id(token, "SCIM token")?;
            let t = w.text(token);
            // Served by the partial index of migration 0006 on user.created events.
            let created = format!(
                "e.action = 'user.created' AND e.actor_id = {t} AND e.actor_kind = 'scim_token' AND e.outcome = 'success'"
            );
            conds.push(Cond {
                rank: 1,
                drive: format!("u.id IN (SELECT e.target_id FROM events e WHERE {created})"),
                check: format!(
                    "EXISTS (SELECT 1 FROM events e WHERE {created} AND e.target_id = u.id)"
                ),
            });
        }
        if let Some(s) = &search {
            conds.push(user_search(&mut w, keys, s, filter.mode));
        }
        Ok(UserConditions {
            from,
            w,
            conds,
            known_total,
            search_in_large_group: large_group && search.is_some(),
        })
    }

    /// How many users match a filter, on all pages: the total above the Users list and a
    /// group's member list. Separate from the page because counting a search that matches
    /// 20,000 of 100,000 users costs several times what finding the first 50 does; the
    /// console shows the page first and the total when it arrives, once per filter rather
    /// than once per page.
    pub async fn count_directory_users(&self, filter: &UserFilter) -> Result<u64> {
        let keys = Keys {
            backend: self.backend,
        };
        let mut conn = self.reader.acquire().await?;
        let c = self.user_conditions(&mut conn, filter, &keys).await?;
        if let Some(n) = c.known_total {
            return Ok(n.max(0) as u64);
        }
        let w = c.clause(true);
        let sql = format!("SELECT COUNT(*) AS n FROM {}{}", c.from, w.sql());
        let n: i64 = filtered_query(self.backend, &sql, &w.args)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// A page of users that match, in the order asked (the total is
    /// [`Store::count_directory_users`]). With `filter.group_id` this is a group's member
    /// list: it stays fast for groups of any size because it never reads more than a
    /// page's worth of a large group.
    pub async fn list_directory_users(
        &self,
        q: &UserListQuery,
    ) -> Result<DirectoryPage<UserSummary>> {
        check_limit(q.limit)?;
        let sort = q.sort.as_str();
        let dir = direction(&q.after, &q.before, sort, q.order)?;
        let keys = Keys {
            backend: self.backend,
        };
        let key_sql = keys.user_sort(q.sort);
        let mut conn = self.reader.acquire().await?;
        let c = self.user_conditions(&mut conn, &q.filter, &keys).await?;

        // The page: when matches are dense, walking the sort order's index and checking
        // each row finds a page after a few hundred rows; when they are sparse, reading the
        // matches through the driving condition's index and sorting them is cheaper.
        // PostgreSQL's planner makes this choice itself from its statistics; on SQLite the
        // store counts matches up to the density line, which stops early when they are
        // dense. With no condition an index serves (a "contains" search) the walk is the
        // only choice that can stop early.
        let mut total = c.known_total.map(|n| n.max(0) as u64);
        let dense = match (self.backend, c.driver(), c.reads_users()) {
            // Read whole below, whatever the density: no probe.
            _ if c.search_in_large_group => true,
            (Backend::Sqlite, Some(_), true) => {
                let (all,): (Option<i64>,) = sqlx::query_as("SELECT MAX(rowid) FROM users")
                    .fetch_one(&mut *conn)
                    .await?;
                let line = (all.unwrap_or(0) / DENSE_RATIO).max(1);
                let w = c.clause(true);
                let sql = format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {}{} LIMIT {line}) x",
                    c.from,
                    w.sql()
                );
                let n: i64 = filtered_query(self.backend, &sql, &w.args)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get("n")?;
                if n < line {
                    total = Some(n.max(0) as u64);
                }
                n >= line
            }
            _ => true,
        };
        let ord = dir.read.sql();
        let text_key = q.sort != UserSort::Updated;
        let source = source_columns("u", "user.created");
        let sql;
        let w;
        if c.search_in_large_group {
            // A search inside a large group: its matches are found once, through the
            // search's indexes and the membership key, then both sorted for the page and
            // counted for the total. Walking the sort order instead checks thousands of
            // non-matching members (the matches are a few percent of the group), and the
            // total then needs that join a second time; SQLite's density probe and page
            // read the matches twice.
            let mut m = c.clause(true);
            let matches = format!(
                "SELECT u.id AS id, {key_sql} AS sort_key FROM {}{}",
                c.from,
                m.sql()
            );
            m.clauses.clear();
            if let Some(cursor) = &dir.cursor {
                m.seek(keys.outer(text_key), "id", cursor, dir.read);
            }
            sql = format!(
                "WITH m AS MATERIALIZED ({matches}) \
                 SELECT p.sort_key, (SELECT COUNT(*) FROM m) AS total, {USER_ROW_COLUMNS}, {source} FROM \
                 (SELECT id, sort_key FROM m{} ORDER BY {} {ord}, id {ord} LIMIT {}) p \
                 JOIN users u ON u.id = p.id ORDER BY p.{} {ord}, u.id {ord}",
                m.sql(),
                keys.outer(text_key),
                q.limit + 1,
                keys.outer(text_key),
            );
            w = m;
        } else {
            let mut page = c.clause(!dense);
            if let Some(cursor) = &dir.cursor {
                page.seek(&key_sql, "u.id", cursor, dir.read);
            }
            let order_key = if dense {
                key_sql.clone()
            } else {
                keys.no_index(&key_sql)
            };
            // The page's ids first (a narrow read), then their rows.
            sql = format!(
                "SELECT p.sort_key, {USER_ROW_COLUMNS}, {source} FROM \
                 (SELECT u.id AS id, {key_sql} AS sort_key FROM {}{} ORDER BY {order_key} {ord}, u.id {ord} LIMIT {}) p \
                 JOIN users u ON u.id = p.id ORDER BY p.{} {ord}, u.id {ord}",
                c.from,
                page.sql(),
                q.limit + 1,
                keys.outer(text_key),
            );
            w = page;
        }
        let rows = filtered_query(self.backend, &sql, &w.args)
            .fetch_all(&mut *conn)
            .await?;
        if c.search_in_large_group {
            // Every row carries the count; a page past the last match has none to carry.
            total = match rows.first() {
                Some(r) => Some(r.try_get::<i64, _>("total")?.max(0) as u64),
                None if dir.cursor.is_none() => Some(0),
                None => None,
            };
        }
        let rows = rows
            .iter()
            .map(|r| {
                let key = match q.sort {
                    UserSort::Updated => Key::Int(r.try_get("sort_key")?),
                    _ => Key::Text(r.try_get("sort_key")?),
                };
                let user = user_from_row(r)?;
                let id = user.id.clone();
                Ok((user, key, id))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DirectoryPage {
            total,
            ..finish_page(rows, q.limit, &dir, sort, q.order)
        })
    }
}

impl Store {
    /// A page of groups that match, with member counts, profiles and sources.
    pub async fn list_directory_groups(
        &self,
        q: &GroupListQuery,
    ) -> Result<DirectoryPage<GroupSummary>> {
        check_limit(q.limit)?;
        let sort = q.sort.as_str();
        let dir = direction(&q.after, &q.before, sort, q.order)?;
        let keys = Keys {
            backend: self.backend,
        };
        let key_sql = keys.group_sort(q.sort);
        let mut w = group_conditions(q, &keys)?;
        let mut conn = self.reader.acquire().await?;
        if let Some(c) = &dir.cursor {
            w.seek(&key_sql, "g.id", c, dir.read);
        }
        let ord = dir.read.sql();
        let sql = format!(
            "SELECT p2.sort_key, {GROUP_ROW_COLUMNS}, {} FROM \
             (SELECT g.id AS id, {key_sql} AS sort_key FROM user_groups g{} ORDER BY {key_sql} {ord}, g.id {ord} LIMIT {}) p2 \
             JOIN user_groups g ON g.id = p2.id LEFT JOIN auth_profiles p ON p.id = g.auth_profile_id \
             ORDER BY p2.{} {ord}, g.id {ord}",
            source_columns("g", "group.created"),
            w.sql(),
            q.limit + 1,
            keys.outer(q.sort == GroupSort::Name),
        );
        let rows = filtered_query(self.backend, &sql, &w.args)
            .fetch_all(&mut *conn)
            .await?;
        let rows = rows
            .iter()
            .map(|r| {
                let key = match q.sort {
                    GroupSort::Updated => Key::Int(r.try_get("sort_key")?),
                    GroupSort::Name => Key::Text(r.try_get("sort_key")?),
                };
                let group = group_from_row(r)?;
                let id = group.id.clone();
                Ok((group, key, id))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(finish_page(rows, q.limit, &dir, sort, q.order))
    }

    /// How many groups match the query's search and profile filter, on all pages (its
    /// sort and cursors do not matter).
    pub async fn count_directory_groups(&self, q: &GroupListQuery) -> Result<u64> {
        let keys = Keys {
            backend: self.backend,
        };
        let w = group_conditions(q, &keys)?;
        let sql = format!("SELECT COUNT(*) AS n FROM user_groups g{}", w.sql());
        let n: i64 = filtered_query(self.backend, &sql, &w.args)
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// One user as their page shows them: the IdP's attributes, groups with the profile each
    /// brings, source, and the latest successful sign-in.
    pub async fn directory_user(&self, id: &str) -> Result<UserDetail> {
        let not_found = || {
            DomainError::NotFound(format!(
                "There is no user with id \"{id}\"; they may have been deleted in the identity provider."
            ))
        };
        let id = uuid::Uuid::parse_str(id.trim())
            .map_err(|_| not_found())?
            .to_string();
        let mut conn = self.reader.acquire().await?;
        let sql = format!(
            "SELECT {USER_ROW_COLUMNS}, u.external_id, u.version, {} FROM users u WHERE u.id = $1",
            source_columns("u", "user.created")
        );
        let row = sqlx::query(&sql)
            .bind(&id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(not_found)?;
        let summary = user_from_row(&row)?;
        let resource: String = row.try_get("resource")?;
        let resource: Value = serde_json::from_str(&resource)
            .map_err(|e| DomainError::Database(format!("a stored user is not JSON: {e}")))?;

        let groups: Vec<MembershipTuple> =
            sqlx::query_as(
                "SELECT g.id, g.display_name, p.id, p.name, p.priority FROM group_members m \
                 JOIN user_groups g ON g.id = m.group_id LEFT JOIN auth_profiles p ON p.id = g.auth_profile_id \
                 WHERE m.user_id = $1 ORDER BY g.display_name_key, g.id",
            )
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?;
        let groups = groups
            .into_iter()
            .map(|(gid, gname, pid, pname, priority)| {
                Ok(MembershipRow {
                    group: GroupRef {
                        id: gid,
                        display_name: gname,
                    },
                    profile: profile_ref(pid, pname)?,
                    priority,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let (last_sign_in,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(occurred_at) FROM events WHERE target_id = $1 AND action = 'sign_in.succeeded'",
        )
        .bind(&id)
        .fetch_one(&mut *conn)
        .await?;

        Ok(UserDetail {
            summary,
            external_id: row.try_get("external_id")?,
            version: row.try_get("version")?,
            groups,
            attributes: attribute_sections(&resource),
            last_sign_in: last_sign_in.map(from_ms),
        })
    }

    /// One group as its page shows it (its members are [`Store::list_directory_users`] with
    /// the group as filter).
    pub async fn directory_group(&self, id: &str) -> Result<GroupDetail> {
        let not_found = || {
            DomainError::NotFound(format!(
                "There is no group with id \"{id}\"; it may have been deleted in the identity provider."
            ))
        };
        let id = uuid::Uuid::parse_str(id.trim())
            .map_err(|_| not_found())?
            .to_string();
        let sql = format!(
            "SELECT {GROUP_ROW_COLUMNS}, {} FROM user_groups g \
             LEFT JOIN auth_profiles p ON p.id = g.auth_profile_id WHERE g.id = $1",
            source_columns("g", "group.created")
        );
        let row = sqlx::query(&sql)
            .bind(&id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(not_found)?;
        Ok(GroupDetail {
            summary: group_from_row(&row)?,
            version: row.try_get("version")?,
        })
    }

    /// The groups whose name starts with `prefix` (ignoring case), first `limit` by name,
    /// for the Users list's group filter suggestions.
    pub async fn suggest_groups(&self, prefix: &str, limit: u32) -> Result<Vec<GroupRef>> {
        let limit = limit.clamp(1, MAX_DIRECTORY_PAGE);
        let keys = Keys {
            backend: self.backend,
        };
        let name = keys.c("g.display_name_key");
        let lower = prefix.trim().to_lowercase();
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT g.id, g.display_name FROM user_groups g WHERE {name} >= $1 AND {name} < $2 \
             ORDER BY {name}, g.id LIMIT {limit}"
        ))
        .bind(&lower)
        .bind(format!("{lower}{TOP}"))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, display_name)| GroupRef { id, display_name })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Attributes for display
// ---------------------------------------------------------------------------------------

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Attributes never shown: the resource's bookkeeping (shown elsewhere on the page) and
/// anything that is a secret should an IdP send it.
fn hidden(name: &str) -> bool {
    matches!(name, "schemas" | "id" | "meta" | "groups") || is_secret(name)
}

fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("secret")
}

/// The order core attributes are shown in (the rest follow, alphabetically).
const CORE_ORDER: [&str; 20] = [
    "userName",
    "name",
    "displayName",
    "nickName",
    "emails",
    "phoneNumbers",
    "addresses",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "profileUrl",
    "active",
    "externalId",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509Certificates",
];

const ENTERPRISE_ORDER: [&str; 6] = [
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];

fn label_of(path: &str) -> Option<&'static str> {
    Some(match path {
        "userName" => "Username",
        "name.formatted" => "Full name",
        "name.givenName" => "Given name",
        "name.familyName" => "Family name",
        "name.middleName" => "Middle name",
        "name.honorificPrefix" => "Honorific prefix",
        "name.honorificSuffix" => "Honorific suffix",
        "displayName" => "Display name",
        "nickName" => "Nickname",
        "title" => "Title",
        "userType" => "User type",
        "preferredLanguage" => "Preferred language",
        "locale" => "Locale",
        "timezone" => "Time zone",
        "profileUrl" => "Profile URL",
        "active" => "Active",
        "externalId" => "External id",
        "employeeNumber" => "Employee number",
        "costCenter" => "Cost center",
        "organization" => "Organization",
        "division" => "Division",
        "department" => "Department",
        "manager" => "Manager",
        _ => return None,
    })
}

/// Words for the multi-valued attributes, singular.
fn item_label(attr: &str) -> String {
    match attr {
        "emails" => "Email".into(),
        "phoneNumbers" => "Phone".into(),
        "addresses" => "Address".into(),
        "ims" => "Instant messaging".into(),
        "photos" => "Photo".into(),
        "entitlements" => "Entitlement".into(),
        "roles" => "Role".into(),
        "x509Certificates" => "X.509 certificate".into(),
        other => other.to_string(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        _ => None,
    }
}

/// Flattens the attributes of one schema into rows.
fn flatten_into(
    rows: &mut Vec<AttributeRow>,
    obj: &serde_json::Map<String, Value>,
    order: &[&str],
) {
    let mut names: Vec<&String> = obj.keys().filter(|k| !hidden(k)).collect();
    names.sort_by_key(|k| {
        (
            order.iter().position(|o| o == k).unwrap_or(order.len()),
            k.to_ascii_lowercase(),
        )
    });
    for name in names {
        flatten_value(rows, name, name, &obj[name.as_str()]);
    }
}

fn flatten_value(rows: &mut Vec<AttributeRow>, attr: &str, path: &str, v: &Value) {
    match v {
        Value::Object(o) if attr == "manager" && path == "manager" => {
            let who = o.get("displayName").and_then(scalar);
            let id = o.get("value").and_then(scalar);
            let value = match (who, id) {
                (Some(n), Some(i)) => format!("{n} ({i})"),
                (Some(n), None) => n,
                (None, Some(i)) => i,
                (None, None) => return,
            };
            rows.push(AttributeRow {
                label: "Manager".into(),
                path: path.into(),
                value,
            });
        }
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().filter(|k| !is_secret(k)).collect();
            keys.sort_by_key(|k| k.to_ascii_lowercase());
            for k in keys {
                flatten_value(rows, attr, &format!("{path}.{k}"), &o[k.as_str()]);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            let values: Vec<String> = items.iter().filter_map(scalar).collect();
            if !values.is_empty() {
                rows.push(AttributeRow {
                    label: label_of(path).map_or_else(|| path.to_string(), str::to_string),
                    path: path.into(),
                    value: values.join(", "),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                multi_valued_item(rows, attr, path, i, item);
            }
        }
        other => {
            if let Some(value) = scalar(other) {
                rows.push(AttributeRow {
                    label: label_of(path).map_or_else(|| path.to_string(), str::to_string),
                    path: path.into(),
                    value,
                });
            }
        }
    }
}

/// One value of a multi-valued attribute (`emails`, `addresses`, ...): one row with its
/// type and primary mark, or a row per sub-attribute for anything unusual.
fn multi_valued_item(rows: &mut Vec<AttributeRow>, attr: &str, path: &str, i: usize, item: &Value) {
    let Value::Object(o) = item else {
        if let Some(value) = scalar(item) {
            rows.push(AttributeRow {
                label: item_label(attr),
                path: format!("{path}[{i}]"),
                value,
            });
        }
        return;
    };
    let kind = o.get("type").and_then(Value::as_str).map(str::to_string);
    let primary = o.get("primary").and_then(Value::as_bool).unwrap_or(false);
    let mut label = item_label(attr);
    let mut marks = Vec::new();
    if let Some(k) = &kind {
        marks.push(k.clone());
    }
    if primary {
        marks.push("primary".to_string());
    }
    if !marks.is_empty() {
        label = format!("{label} ({})", marks.join(", "));
    }
    let selector = kind.clone().unwrap_or_else(|| i.to_string());
    let item_path = format!("{path}[{selector}]");
    let value = if attr == "addresses" {
        o.get("formatted").and_then(scalar).or_else(|| {
            let parts: Vec<String> = [
                "streetAddress",
                "locality",
                "region",
                "postalCode",
                "country",
            ]
            .iter()
            .filter_map(|k| o.get(*k).and_then(scalar))
            .filter(|s| !s.trim().is_empty())
            .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        })
    } else {
        o.get("value")
            .and_then(scalar)
            .or_else(|| o.get("display").and_then(scalar))
    };
    if let Some(value) = value {
        rows.push(AttributeRow {
            label,
            path: item_path.clone(),
            value,
        });
    }
    // Whatever else the IdP sent with the value, each on its own row.
    // An address without `formatted` is shown joined from its parts, so they are not
    // repeated; with `formatted`, its parts follow (they may say more).
    let shown: &[&str] = match attr {
        "addresses" if o.contains_key("formatted") => &["type", "primary", "formatted"],
        "addresses" => &[
            "type",
            "primary",
            "streetAddress",
            "locality",
            "region",
            "postalCode",
            "country",
        ],
        _ => &["type", "primary", "value"],
    };
    let mut rest: Vec<&String> = o
        .keys()
        .filter(|k| !shown.contains(&k.as_str()) && !is_secret(k))
        .collect();
    rest.sort_by_key(|k| k.to_ascii_lowercase());
    for k in rest {
        if let Some(v) = scalar(&o[k.as_str()]) {
            rows.push(AttributeRow {
                label: format!("{} \u{b7} {k}", item_label(attr)),
                path: format!("{item_path}.{k}"),
                value: v,
            });
        } else {
            flatten_value(rows, attr, &format!("{item_path}.{k}"), &o[k.as_str()]);
        }
    }
}

/// The stored resource as sections of rows: core attributes, the enterprise extension, then
/// any other extension the IdP sent (each under its URN).
pub fn attribute_sections(resource: &Value) -> Vec<AttributeSection> {
    let Some(obj) = resource.as_object() else {
        return Vec::new();
    };
    let mut sections = Vec::new();
    let mut core = serde_json::Map::new();
    let mut extensions: Vec<(&String, &serde_json::Map<String, Value>)> = Vec::new();
    for (k, v) in obj {
        match v {
            Value::Object(ext) if k.starts_with("urn:") => extensions.push((k, ext)),
            _ => {
                core.insert(k.clone(), v.clone());
            }
        }
    }
    let mut rows = Vec::new();
    flatten_into(&mut rows, &core, &CORE_ORDER);
    if !rows.is_empty() {
        sections.push(AttributeSection {
            title: "Core attributes".into(),
            schema: CORE_USER.into(),
            rows,
        });
    }
    extensions.sort_by_key(|(k, _)| (k.as_str() != ENTERPRISE_USER, k.to_string()));
    for (urn, ext) in extensions {
        let mut rows = Vec::new();
        let order: &[&str] = if urn == ENTERPRISE_USER {
            &ENTERPRISE_ORDER
        } else {
            &[]
        };
        flatten_into(&mut rows, ext, order);
        if rows.is_empty() {
            continue;
        }
        let title = if urn == ENTERPRISE_USER {
            "Enterprise attributes".to_string()
        } else {
            format!("Extension {}", urn.rsplit(':').next().unwrap_or(urn))
        };
        sections.push(AttributeSection {
            title,
            schema: urn.clone(),
            rows,
        });
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_refuse_another_order() {
        let c = Cursor {
            sort: "name",
            order: SortOrder::Desc,
            key: Key::Text("ada | lovelace".into()),
            id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        };
        let s = c.encode();
        assert!(s
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
        assert_eq!(Cursor::decode(&s, "name", SortOrder::Desc).unwrap(), c);
        assert!(Cursor::decode(&s, "name", SortOrder::Asc).is_err());
        assert!(Cursor::decode(&s, "user_name", SortOrder::Desc).is_err());
        assert!(Cursor::decode("not a cursor", "name", SortOrder::Desc).is_err());
        let n = Cursor {
            sort: "updated",
            order: SortOrder::Asc,
            key: Key::Int(-5),
            id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        };
        assert_eq!(
            Cursor::decode(&n.encode(), "updated", SortOrder::Asc).unwrap(),
            n
        );
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn search_text_is_checked() {
        assert_eq!(normalize_search(Some("  ")).unwrap(), None);
        assert_eq!(
            normalize_search(Some(" Ada ")).unwrap().as_deref(),
            Some("Ada")
        );
        assert!(normalize_search(Some(&"x".repeat(201))).is_err());
        assert!(normalize_search(Some("a\u{0}b")).is_err());
    }

    #[test]
    fn names_fall_back_from_display_name_to_parts() {
        assert_eq!(
            display_name_of(&json!({"displayName": "Ada L", "name": {"formatted": "X"}})),
            Some("Ada L".into())
        );
        assert_eq!(
            display_name_of(&json!({"name": {"givenName": "Ada", "familyName": "Lovelace"}})),
            Some("Ada Lovelace".into())
        );
        assert_eq!(display_name_of(&json!({"userName": "a"})), None);
    }

    #[test]
    fn every_attribute_is_shown_and_no_password() {
        let user = json!({
            "schemas": [CORE_USER, ENTERPRISE_USER, "urn:okta:custom:1.0:User"],
            "id": "x",
            "userName": "ada@example.com",
            "password": "hunter2",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}, {"value": "ada@home"}],
            "phoneNumbers": [{"value": "+44 20", "type": "mobile"}],
            "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "London", "country": "GB"}],
            "active": true,
            "meta": {"resourceType": "User"},
            ENTERPRISE_USER: {"department": "Engineering", "manager": {"value": "m1", "displayName": "Charles"}},
            "urn:okta:custom:1.0:User": {"badge": 7, "apiSecret": "s3cr3t"}
        });
        let sections = attribute_sections(&user);
        let titles: Vec<&str> = sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Core attributes", "Enterprise attributes", "Extension User"]
        );
        let all: Vec<&AttributeRow> = sections.iter().flat_map(|s| &s.rows).collect();
        let find = |path: &str| {
            all.iter()
                .find(|r| r.path == path)
                .map(|r| r.value.as_str())
        };
        assert_eq!(find("userName"), Some("ada@example.com"));
        assert_eq!(find("name.familyName"), Some("Lovelace"));
        assert_eq!(find("emails[work]"), Some("ada@example.com"));
        assert_eq!(find("emails[1]"), Some("ada@home"));
        assert_eq!(find("phoneNumbers[mobile]"), Some("+44 20"));
        assert_eq!(find("addresses[work]"), Some("1 Main St, London, GB"));
        assert_eq!(find("manager"), Some("Charles (m1)"));
        assert_eq!(find("department"), Some("Engineering"));
        assert_eq!(find("badge"), Some("7"));
        let email = all.iter().find(|r| r.path == "emails[work]").unwrap();
        assert_eq!(email.label, "Email (work, primary)");
        let text = format!("{sections:?}");
        assert!(!text.contains("hunter2") && !text.contains("s3cr3t"));
        assert!(find("meta.resourceType").is_none() && find("id").is_none());
        // userName comes first, as the IdP's mapping starts there.
        assert_eq!(sections[0].rows[0].path, "userName");
    }
}
