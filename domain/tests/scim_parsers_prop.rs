//! Property tests for the SCIM filter and path parsers and the PATCH engine.
//!
//! The table-driven tests beside each parser pin the messages; these check what must hold
//! for *every* input, which tables cannot:
//! - a filter tree written out as text, in any of the spellings the grammar allows (keyword
//!   case, spacing, redundant parentheses, escapes), parses back to exactly that tree;
//! - arbitrary text never panics a parser and always ends in `Ok` or the right SCIM 400;
//! - nesting and length limits turn hostile filters into a clear error, never a stack
//!   overflow;
//! - PATCH laws that identity providers rely on: adding a value and removing it again
//!   changes nothing, and sending the same `replace` twice is the same as once.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use gatehouse_domain::scim::error::{ScimError, ScimType};
use gatehouse_domain::scim::filter::{
    parse_filter, AttrPath, CompareOp, Filter, Number, Value as FilterValue, MAX_DEPTH,
    MAX_INPUT_BYTES,
};
use gatehouse_domain::scim::patch::{apply_patch, PatchOutcome, PATCH_OP_SCHEMA};
use gatehouse_domain::scim::path::parse_path;
use gatehouse_domain::scim::query::{order_by, where_clause, SortOrder, MAX_PARAMS};
use gatehouse_domain::scim::resource::{validate_group, validate_user};
use gatehouse_domain::scim::schema::{
    SchemaKind, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA,
};
use gatehouse_domain::store::Backend;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

const USER_ID: &str = "0190f6d2-7b1e-7c3a-9c1e-2f4a5b6c7d8e";
const GROUP_ID: &str = "0190f6d2-7b1e-7c3a-9c1e-000000000001";

// ---------------------------------------------------------------------------------------
// Generators for filter trees.
// ---------------------------------------------------------------------------------------

fn is_keyword(name: &str) -> bool {
    ["and", "or", "not"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// An attribute or sub-attribute name: real SCIM names, and anything RFC 7643's
/// `ATTRNAME` allows. `and`/`or`/`not` are left out because, standing alone, they are the
/// grammar's keywords.
fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "userName",
            "emails",
            "value",
            "type",
            "primary",
            "name",
            "familyName",
            "meta",
            "lastModified",
            "members",
            "displayName",
            "externalId",
            "$ref",
            "x509Certificates",
            "employeeNumber",
            "pr",
            "eq",
            "true",
            "null",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9_-]{0,10}".prop_filter("a keyword is not a name", |s| !is_keyword(s)),
    ]
}

/// A schema URN: the real ones, and generated ones of the allowed characters.
fn urn() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]).prop_map(str::to_owned),
        "[uU][rR][nN](:[a-zA-Z0-9.+%_-]{1,6}){1,4}",
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.2, urn()),
        attr_name(),
        prop::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(urn, attr, sub_attr)| AttrPath {
            urn,
            attr,
            sub_attr,
        })
}

/// A path that may be followed by `[`: value filters cannot follow a sub-attribute.
fn value_path_attr() -> impl Strategy<Value = AttrPath> {
    (prop::option::weighted(0.2, urn()), attr_name()).prop_map(|(urn, attr)| AttrPath {
        urn,
        attr,
        sub_attr: None,
    })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

/// JSON numbers (RFC 8259 §6) whose value is finite: at most 20 integer digits and a
/// two-digit exponent.
fn number() -> impl Strategy<Value = Number> {
    "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,2})?"
        .prop_map(|text| Number::new(&text).expect("the pattern only makes valid numbers"))
}

/// Strings of any characters, weighted towards the ones that need escaping.
fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        3 => prop::collection::vec(
            select(vec!['"', '\\', '/', '\n', '\t', '\u{0}', '\u{1f}', ' ', 'a', 'é', '😀', ']', ')']),
            0..8,
        )
        .prop_map(String::from_iter),
        // dateTimes are strings in SCIM filters.
        2 => "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?(Z|[+-][0-2][0-9]:[0-5][0-9])",
        2 => "[a-z.+]{1,10}@example\\.(com|org)",
    ]
}

fn filter_value() -> impl Strategy<Value = FilterValue> {
    prop_oneof![
        6 => string_value().prop_map(FilterValue::String),
        2 => number().prop_map(FilterValue::Number),
        1 => any::<bool>().prop_map(FilterValue::Bool),
        1 => Just(FilterValue::Null),
    ]
}

fn comparison() -> impl Strategy<Value = Filter> {
    prop_oneof![
        1 => attr_path().prop_map(Filter::Present),
        4 => (attr_path(), compare_op(), filter_value())
            .prop_map(|(path, op, value)| Filter::Compare(path, op, value)),
    ]
}

/// `and`, `or` and `not` over `leaf`, a few levels deep.
fn logic(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
    .boxed()
}

/// Any filter the grammar can express: value filters such as
/// `emails[type eq "work" and value co "x"]` anywhere except inside another value filter.
fn filter() -> BoxedStrategy<Filter> {
    let value_filter = (value_path_attr(), logic(comparison().boxed()))
        .prop_map(|(path, inner)| Filter::ValuePath(path, Box::new(inner)));
    logic(prop_oneof![3 => comparison(), 1 => value_filter].boxed())
}

// ---------------------------------------------------------------------------------------
// A renderer independent of `Filter`'s `Display`, which varies everything the grammar
// leaves free, so that the parser is tested against the grammar and not against the
// printer's habits.
// ---------------------------------------------------------------------------------------

/// A small deterministic generator of spelling choices; the seed comes from proptest, so
/// failures shrink and replay.
struct Spelling(u64);

impl Spelling {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }

    /// Whitespace where the grammar needs some.
    fn space(&mut self) -> &'static str {
        self.pick(&[" ", " ", " ", "  ", "\t", " \t "])
    }

    /// Whitespace where the grammar allows none.
    fn maybe_space(&mut self) -> &'static str {
        self.pick(&["", "", " "])
    }

    /// A keyword in some mix of cases: `eq`, `EQ`, `Eq`, `eQ`.
    fn keyword(&mut self, word: &str) -> String {
        word.chars()
            .map(|c| {
                if self.one_in(3) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Context {
    Or,
    And,
    Operand,
}

fn render(filter: &Filter, seed: u64) -> String {
    let mut s = Spelling(seed | 1);
    let mut out = String::new();
    out.push_str(s.maybe_space());
    render_at(filter, Context::Or, &mut s, &mut out);
    out.push_str(s.maybe_space());
    out
}

fn render_at(filter: &Filter, context: Context, s: &mut Spelling, out: &mut String) {
    let own = match filter {
        Filter::Or(..) => Context::Or,
        Filter::And(..) => Context::And,
        _ => Context::Operand,
    };
    // Needed parentheses, and now and then some that are not needed.
    let parenthesize = own < context || s.one_in(8);
    if parenthesize {
        out.push('(');
        out.push_str(s.maybe_space());
    }
    match filter {
        Filter::Present(path) => {
            write!(out, "{}{}{}", render_path(path), s.space(), s.keyword("pr")).unwrap();
        }
        Filter::Compare(path, op, value) => {
            let path = render_path(path);
            let op = s.keyword(op.as_str());
            let (sp1, sp2) = (s.space(), s.space());
            write!(out, "{path}{sp1}{op}{sp2}").unwrap();
            render_value(value, s, out);
        }
        Filter::Not(inner) => {
            out.push_str(&s.keyword("not"));
            out.push_str(s.maybe_space());
            out.push('(');
            out.push_str(s.maybe_space());
            render_at(inner, Context::Or, s, out);
            out.push_str(s.maybe_space());
            out.push(')');
        }
        Filter::And(left, right) => {
            render_at(left, Context::And, s, out);
            let and = s.keyword("and");
            let (sp1, sp2) = (s.space(), s.space());
            write!(out, "{sp1}{and}{sp2}").unwrap();
            render_at(right, Context::Operand, s, out);
        }
        Filter::Or(left, right) => {
            render_at(left, Context::Or, s, out);
            let or = s.keyword("or");
            let (sp1, sp2) = (s.space(), s.space());
            write!(out, "{sp1}{or}{sp2}").unwrap();
            render_at(right, Context::And, s, out);
        }
        Filter::ValuePath(path, inner) => {
            out.push_str(&render_path(path));
            out.push_str(s.maybe_space());
            out.push('[');
            out.push_str(s.maybe_space());
            render_at(inner, Context::Or, s, out);
            out.push_str(s.maybe_space());
            out.push(']');
        }
    }
    if parenthesize {
        out.push_str(s.maybe_space());
        out.push(')');
    }
}

fn render_path(path: &AttrPath) -> String {
    let mut out = String::new();
    if let Some(urn) = &path.urn {
        write!(out, "{urn}:").unwrap();
    }
    out.push_str(&path.attr);
    if let Some(sub) = &path.sub_attr {
        write!(out, ".{sub}").unwrap();
    }
    out
}

fn render_value(value: &FilterValue, s: &mut Spelling, out: &mut String) {
    match value {
        FilterValue::String(text) => render_string(text, s, out),
        FilterValue::Number(n) => out.push_str(n.as_str()),
        FilterValue::Bool(b) => out.push_str(&s.keyword(&b.to_string())),
        FilterValue::Null => out.push_str(&s.keyword("null")),
    }
}

/// A JSON string literal, choosing among the escapes RFC 8259 allows for each character.
fn render_string(text: &str, s: &mut Spelling, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        let code = u32::from(c);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if s.one_in(2) => out.push_str("\\/"),
            '\n' if s.one_in(2) => out.push_str("\\n"),
            '\t' if s.one_in(2) => out.push_str("\\t"),
            '\r' if s.one_in(2) => out.push_str("\\r"),
            '\u{8}' if s.one_in(2) => out.push_str("\\b"),
            '\u{c}' if s.one_in(2) => out.push_str("\\f"),
            c if code < 0x20 || s.one_in(10) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if s.one_in(2) {
                        write!(out, "\\u{unit:04x}").unwrap();
                    } else {
                        write!(out, "\\u{unit:04X}").unwrap();
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The string values of a filter that could not appear in our SQL by chance (they hold a
/// quote), to check that values are bound rather than spliced.
fn string_values(filter: &Filter) -> Vec<String> {
    match filter {
        Filter::Compare(_, _, FilterValue::String(s)) if s.contains(['\'', '"']) && s.len() > 2 => {
            vec![s.clone()]
        }
        Filter::Present(_) | Filter::Compare(..) => Vec::new(),
        Filter::Not(inner) | Filter::ValuePath(_, inner) => string_values(inner),
        Filter::And(a, b) | Filter::Or(a, b) => {
            let mut out = string_values(a);
            out.extend(string_values(b));
            out
        }
    }
}

fn tree_depth(filter: &Filter) -> usize {
    match filter {
        Filter::Present(_) | Filter::Compare(..) => 1,
        Filter::Not(inner) | Filter::ValuePath(_, inner) => 1 + tree_depth(inner),
        Filter::And(a, b) | Filter::Or(a, b) => 1 + tree_depth(a).max(tree_depth(b)),
    }
}

// ---------------------------------------------------------------------------------------
// Inputs for "never panics": arbitrary text, text made of filter-ish pieces, and bytes
// that were not UTF-8 (as a server would see them after lossy decoding).
// ---------------------------------------------------------------------------------------

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        1 => prop::collection::vec(select(PIECES), 0..24).prop_map(|p| p.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        2 => mutated_filter(),
    ]
}

const PIECES: &[&str] = &[
    "a",
    "emails",
    "name.givenName",
    "urn:ietf:params:scim:schemas:core:2.0:User:",
    "urn:x:",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\u{2028}",
    "\u{85}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\\",
    "\\u",
    "\\ud83d",
    "\\ude00",
    "d8",
    "eq",
    "EQ",
    "pr",
    "co",
    "and",
    "or",
    "not",
    "1",
    "-",
    "1e999",
    ".",
    "..",
    ":",
    "true",
    "null",
    "$ref",
    "é",
    "😀",
    "\u{0}",
    "\u{feff}",
    "filter=",
    "value eq \"x\"",
];

/// A valid filter with a few edits (a character deleted, a piece inserted, a span
/// repeated, the end cut off): almost-right input, where parsers usually go wrong.
fn mutated_filter() -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0u8..4, select(PIECES));
    (filter(), any::<u64>(), prop::collection::vec(edit, 1..4)).prop_map(|(f, seed, edits)| {
        let mut chars: Vec<char> = render(&f, seed).chars().collect();
        for (at, kind, piece) in edits {
            if chars.is_empty() {
                break;
            }
            let i = at.index(chars.len());
            match kind {
                0 => {
                    chars.remove(i);
                }
                1 => {
                    chars.splice(i..i, piece.chars());
                }
                2 => {
                    let span: Vec<char> = chars[i..(i + 5).min(chars.len())].to_vec();
                    chars.splice(i..i, span);
                }
                _ => chars.truncate(i),
            }
        }
        chars.into_iter().collect()
    })
}

/// The invariants of every parser error: a non-empty single-line message, and a position
/// inside the input (or just past it).
fn check_error_shape(input: &str, message: &str, position: usize) -> Result<(), TestCaseError> {
    prop_assert!(!message.is_empty(), "{input:?}: empty message");
    prop_assert!(!message.contains('\n'), "{input:?}: {message}");
    prop_assert!(
        position <= input.chars().count(),
        "{input:?}: position {position} is past the end: {message}"
    );
    Ok(())
}

/// Checks that the `$n` placeholders of a fragment are exactly `first..first + params`, so
/// every bound value is used and nothing is bound that the SQL does not mention.
fn check_placeholders(sql: &str, first: usize, params: usize) -> Result<(), TestCaseError> {
    let mut seen = BTreeSet::new();
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !digits.is_empty() {
                seen.insert(digits.parse::<usize>().unwrap());
                i += digits.len();
            }
        }
        i += 1;
    }
    let expected: BTreeSet<usize> = (first..first + params).collect();
    prop_assert_eq!(seen, expected, "{}", sql);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Resources for the PATCH properties.
// ---------------------------------------------------------------------------------------

fn patch_body(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

fn patch(
    kind: SchemaKind,
    resource: &Value,
    operations: Value,
) -> Result<(Value, PatchOutcome), ScimError> {
    let id = match kind {
        SchemaKind::User => USER_ID,
        SchemaKind::Group => GROUP_ID,
    };
    let mut patched = resource.clone();
    let outcome = apply_patch(&mut patched, kind, id, &patch_body(operations))?;
    Ok((patched, outcome))
}

/// An email not marked primary, so that adding it cannot clear another's `primary`.
#[derive(Debug, Clone)]
struct Email {
    value: String,
    kind: &'static str,
}

fn email() -> impl Strategy<Value = Email> {
    (
        prop_oneof![
            "[a-z0-9.+_-]{1,12}@[a-z]{1,8}\\.(com|org|net)",
            prop::collection::vec(any::<char>(), 1..10).prop_map(String::from_iter),
            prop::collection::vec(select(vec!['"', '\\', 'A', 'a', ']', '[', ' ', 'ß']), 1..6)
                .prop_map(String::from_iter),
        ],
        select(vec!["work", "home", "other"]),
    )
        .prop_map(|(value, kind)| Email { value, kind })
}

/// A stored user (validated as a POST would be) with `emails`, the first of them primary.
fn user_with(emails: &[Email]) -> Value {
    let emails: Vec<Value> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if i == 0 {
                json!({"value": e.value, "type": e.kind, "primary": true})
            } else {
                json!({"value": e.value, "type": e.kind})
            }
        })
        .collect();
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "active": true,
        ENTERPRISE_USER_SCHEMA: {"department": "Engineering"}
    });
    if !emails.is_empty() {
        body["emails"] = Value::Array(emails);
    }
    validate_user(&body)
        .expect("the generated user is valid")
        .resource
}

/// Emails whose values differ even ignoring case (emails.value is `caseExact: false`, so
/// two that differ only in case are one value to the PATCH engine).
fn distinct_emails(max: usize) -> impl Strategy<Value = Vec<Email>> {
    prop::collection::vec(email(), 0..max).prop_map(|list| {
        let mut seen = BTreeSet::new();
        list.into_iter()
            .filter(|e| seen.insert(e.value.to_lowercase()))
            .collect()
    })
}

/// A member id: any non-blank text (ids are opaque to the engine; the store checks them).
fn member_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        prop::collection::vec(any::<char>(), 1..10)
            .prop_map(String::from_iter)
            .prop_filter("ids are not blank", |s| !s.trim().is_empty()),
    ]
}

/// The membership after a PATCH outcome, given the membership before: what the store does
/// with `members_added`, `members_removed` and `members_replaced`.
fn apply_members(before: &BTreeSet<String>, outcome: &PatchOutcome) -> BTreeSet<String> {
    if let Some(all) = &outcome.members_replaced {
        return all.iter().cloned().collect();
    }
    let mut after = before.clone();
    after.extend(outcome.members_added.iter().cloned());
    for id in &outcome.members_removed {
        after.remove(id);
    }
    after
}

/// A JSON string literal, which is also a valid SCIM filter string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// One `replace` operation of the kinds IdPs send.
fn replace_operation() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        "[A-Za-z .'-]{0,16}",
        prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ];
    prop_oneof![
        (
            select(vec![
                "displayName",
                "title",
                "nickName",
                "name.givenName",
                "name.familyName",
                "emails[type eq \"work\"].value",
                "emails[type eq \"work\"].display",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                "department",
            ]),
            text.clone()
        )
            .prop_map(|(path, value)| json!({"op": "replace", "path": path, "value": value})),
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            select(vec!["True", "False", "true", "FALSE"]).prop_map(|s| json!(s)),
        ]
        .prop_map(|value| json!({"op": "Replace", "path": "active", "value": value})),
        (text.clone(), text.clone(), any::<bool>()).prop_map(|(given, title, active)| json!({
            "op": "replace",
            "value": {
                "name.givenName": given,
                "title": title,
                "active": active,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "4130"
            }
        })),
        distinct_emails(4).prop_map(|emails| {
            let list: Vec<Value> = emails
                .iter()
                .map(|e| json!({"value": e.value, "type": e.kind}))
                .collect();
            json!({"op": "replace", "path": "emails", "value": list})
        }),
        text.prop_map(|v| json!({"op": "replace", "path": "name", "value": {"middleName": v}})),
    ]
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// (a) Round trips.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1024))]

    /// Any tree, written in any allowed spelling, parses back to itself.
    #[test]
    fn rendered_filters_parse_back_to_the_same_tree(f in filter(), seed in any::<u64>()) {
        let text = render(&f, seed);
        prop_assume!(text.len() <= MAX_INPUT_BYTES);
        match parse_filter(&text) {
            Ok(parsed) => prop_assert_eq!(parsed, f, "text: {}", text),
            Err(e) => prop_assert!(false, "{text:?} did not parse: {e}"),
        }
    }

    /// `Display` is canonical: what it prints parses back to the same tree, and printing
    /// that again gives the same text.
    #[test]
    fn displayed_filters_parse_back_to_the_same_tree(f in filter()) {
        let text = f.to_string();
        prop_assume!(text.len() <= MAX_INPUT_BYTES);
        let parsed = parse_filter(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&parsed, &f);
        prop_assert_eq!(parsed.to_string(), text);
    }

    /// A PATCH path (`attr[filter].sub`) in any spelling parses back to its parts.
    #[test]
    fn rendered_patch_paths_parse_back(
        attr in value_path_attr(),
        inner in prop::option::of(logic(comparison().boxed())),
        sub in prop::option::of(attr_name()),
        plain_sub in prop::option::of(attr_name()),
        seed in any::<u64>(),
    ) {
        let mut s = Spelling(seed | 1);
        let mut text = String::from(s.maybe_space());
        let expected_attr;
        let expected_sub;
        match &inner {
            Some(filter) => {
                text.push_str(&render_path(&attr));
                text.push('[');
                text.push_str(s.maybe_space());
                render_at(filter, Context::Or, &mut s, &mut text);
                text.push_str(s.maybe_space());
                text.push(']');
                if let Some(sub) = &sub {
                    write!(text, ".{sub}").unwrap();
                }
                expected_attr = attr.clone();
                expected_sub = sub.clone();
            }
            None => {
                expected_attr = AttrPath { sub_attr: plain_sub.clone(), ..attr.clone() };
                text.push_str(&render_path(&expected_attr));
                expected_sub = None;
            }
        }
        text.push_str(s.maybe_space());
        prop_assume!(text.len() <= MAX_INPUT_BYTES);
        let path = parse_path(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&path.attr, &expected_attr, "{}", text);
        prop_assert_eq!(&path.value_filter, &inner, "{}", text);
        prop_assert_eq!(&path.sub_attr, &expected_sub, "{}", text);
        prop_assert_eq!(parse_path(&path.to_string()).ok(), Some(path));
    }
}

// ---------------------------------------------------------------------------------------
// (b) Arbitrary input never panics and fails with the right SCIM error.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn any_text_gives_a_filter_or_an_invalid_filter_error(input in hostile_text()) {
        match parse_filter(&input) {
            Ok(filter) => {
                // Whatever was accepted prints canonically and parses back to itself.
                let text = filter.to_string();
                prop_assert_eq!(parse_filter(&text).ok(), Some(filter), "{:?} → {:?}", input, text);
            }
            Err(e) => {
                check_error_shape(&input, e.message(), e.position())?;
                let scim: ScimError = e.into();
                prop_assert_eq!(scim.status, 400);
                prop_assert_eq!(scim.scim_type, Some(ScimType::InvalidFilter));
            }
        }
    }

    #[test]
    fn any_text_gives_a_path_or_an_invalid_path_error(input in hostile_text()) {
        match parse_path(&input) {
            Ok(path) => {
                let text = path.to_string();
                prop_assert_eq!(parse_path(&text).ok(), Some(path), "{:?} → {:?}", input, text);
            }
            Err(e) => {
                check_error_shape(&input, e.message(), e.position())?;
                let scim: ScimError = e.into();
                prop_assert_eq!(scim.status, 400);
                prop_assert_eq!(scim.scim_type, Some(ScimType::InvalidPath));
            }
        }
    }

    /// The same through the PATCH engine, where the path is also resolved against the
    /// schema and applied: a 400 with one of PATCH's error types, and the resource as it
    /// was.
    #[test]
    fn any_patch_path_applies_or_fails_cleanly(
        input in hostile_text(),
        op in select(vec!["add", "replace", "remove", "Remove"]),
        value in prop_oneof![
            Just(Value::Null),
            Just(json!("x")),
            Just(json!(false)),
            Just(json!([{"value": "x@example.com", "type": "work"}])),
            Just(json!({"givenName": "x"})),
        ],
        group in any::<bool>(),
    ) {
        let (kind, resource) = if group {
            (
                SchemaKind::Group,
                validate_group(&json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng"}))
                    .unwrap()
                    .resource,
            )
        } else {
            (SchemaKind::User, user_with(&[Email { value: "ada@example.com".into(), kind: "work" }]))
        };
        let id = if group { GROUP_ID } else { USER_ID };
        let mut patched = resource.clone();
        let body = patch_body(json!([{"op": op, "path": input, "value": value}]));
        if let Err(e) = apply_patch(&mut patched, kind, id, &body) {
            prop_assert_eq!(e.status, 400, "{:?}: {:?}", input, e);
            prop_assert!(
                matches!(
                    e.scim_type,
                    Some(
                        ScimType::InvalidPath
                            | ScimType::InvalidFilter
                            | ScimType::NoTarget
                            | ScimType::Mutability
                            | ScimType::InvalidValue
                            | ScimType::InvalidSyntax
                    )
                ),
                "{:?}: {:?}", input, e
            );
            prop_assert!(!e.detail.is_empty());
            prop_assert_eq!(patched, resource, "a failed PATCH changed the resource");
        }
    }

    /// `sortBy` is an attribute path too; whatever it holds, the answer is an ORDER BY or
    /// a 400 `invalidValue`.
    #[test]
    fn any_sort_by_gives_an_order_or_an_invalid_value_error(
        input in hostile_text(),
        group in any::<bool>(),
        postgres in any::<bool>(),
    ) {
        let kind = if group { SchemaKind::Group } else { SchemaKind::User };
        let backend = if postgres { Backend::Postgres } else { Backend::Sqlite };
        match order_by(&input, SortOrder::Descending, kind, backend, 3) {
            Ok(fragment) => check_placeholders(&fragment.sql, 3, fragment.params.len())?,
            Err(e) => {
                prop_assert_eq!(e.status, 400);
                prop_assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{:?}", e);
            }
        }
    }
}

/// Filter trees over the attributes the store knows, so that translation to SQL is
/// exercised past the "unknown attribute" check.
fn known_filter(kind: SchemaKind) -> BoxedStrategy<Filter> {
    type Known = (Option<&'static str>, &'static str, Option<&'static str>);
    let common: Vec<Known> = vec![
        (None, "externalId", None),
        (None, "id", None),
        (None, "displayName", None),
        (None, "meta", Some("lastModified")),
        (None, "meta", Some("created")),
        // Names that only mean something inside brackets, and one that means nothing.
        (None, "value", None),
        (None, "type", None),
        (None, "nosuch", None),
    ];
    let own: Vec<Known> = match kind {
        SchemaKind::User => vec![
            (None, "userName", None),
            (Some(USER_SCHEMA), "userName", None),
            (None, "active", None),
            (None, "title", None),
            (None, "emails", None),
            (None, "emails", Some("value")),
            (None, "emails", Some("type")),
            (None, "emails", Some("primary")),
            (None, "name", Some("familyName")),
            (None, "groups", Some("value")),
            (Some(ENTERPRISE_USER_SCHEMA), "department", None),
            (Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value")),
        ],
        SchemaKind::Group => vec![
            (None, "members", None),
            (None, "members", Some("value")),
            (Some(GROUP_SCHEMA), "displayName", None),
        ],
    };
    let known = select([common, own.clone(), own].concat()).prop_map(|(urn, attr, sub)| AttrPath {
        urn: urn.map(str::to_owned),
        attr: attr.to_owned(),
        sub_attr: sub.map(str::to_owned),
    });
    let value = prop_oneof![
        3 => string_value().prop_map(FilterValue::String),
        1 => Just(FilterValue::String("2024-05-01T12:00:00.5Z".into())),
        1 => number().prop_map(FilterValue::Number),
        1 => any::<bool>().prop_map(FilterValue::Bool),
        1 => Just(FilterValue::Null),
    ];
    let leaf = prop_oneof![
        1 => known.clone().prop_map(Filter::Present),
        4 => (known.clone(), compare_op(), value)
            .prop_map(|(path, op, value)| Filter::Compare(path, op, value)),
    ]
    .boxed();
    let multi_valued = match kind {
        SchemaKind::User => vec!["emails", "groups", "addresses", "phoneNumbers"],
        SchemaKind::Group => vec!["members"],
    };
    let value_filter = (select(multi_valued), logic(leaf.clone())).prop_map(|(attr, inner)| {
        Filter::ValuePath(
            AttrPath {
                urn: None,
                attr: attr.to_owned(),
                sub_attr: None,
            },
            Box::new(inner),
        )
    });
    logic(prop_oneof![3 => leaf, 1 => value_filter].boxed())
}

proptest! {
    #![proptest_config(config(2048))]

    /// Every parsed filter either becomes SQL whose placeholders match its bound values
    /// exactly, or is refused as `invalidFilter`; never a panic, never another error.
    #[test]
    fn filters_translate_to_sql_or_an_invalid_filter_error(
        (kind, f) in prop_oneof![
            known_filter(SchemaKind::User).prop_map(|f| (SchemaKind::User, f)),
            known_filter(SchemaKind::Group).prop_map(|f| (SchemaKind::Group, f)),
        ],
        postgres in any::<bool>(),
    ) {
        let backend = if postgres { Backend::Postgres } else { Backend::Sqlite };
        match where_clause(&f, kind, backend, 2) {
            Ok(fragment) => {
                prop_assert!(fragment.params.len() <= MAX_PARAMS);
                check_placeholders(&fragment.sql, 2, fragment.params.len())?;
                // Values are bound, never spliced into the SQL text.
                for value in string_values(&f) {
                    prop_assert!(!fragment.sql.contains(&value), "{:?} in {}", value, fragment.sql);
                }
            }
            Err(e) => {
                prop_assert_eq!(e.status, 400);
                prop_assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{:?}", e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// (c) Overlong and deeply nested input.
// ---------------------------------------------------------------------------------------

/// One level of nesting, in each form the grammar has.
fn opener() -> impl Strategy<Value = (&'static str, &'static str)> {
    select(vec![
        ("(", ")"),
        ("not (", ")"),
        ("NOT(", ")"),
        (" ( ", " ) "),
    ])
}

proptest! {
    #![proptest_config(config(256))]

    /// Up to `MAX_DEPTH` levels parse; one more is refused with a message that says so,
    /// whatever mix of `(` and `not (` makes up the nesting, and however far beyond the
    /// limit it goes (a stack overflow would abort the test binary, not fail it).
    #[test]
    fn nesting_beyond_the_limit_is_refused_clearly(
        levels in prop::collection::vec(opener(), 1..400),
        inside in select(vec!["a pr", "emails[type eq \"work\"]", "userName eq \"x\""]),
    ) {
        let open: String = levels.iter().map(|(o, _)| *o).collect();
        let close: String = levels.iter().rev().map(|(_, c)| *c).collect();
        let brackets = usize::from(inside.contains('['));
        let text = format!("{open}{inside}{close}");
        let result = parse_filter(&text);
        if levels.len() + brackets <= MAX_DEPTH {
            prop_assert!(result.is_ok(), "{} levels: {:?}", levels.len(), result);
            prop_assert!(tree_depth(&result.unwrap()) <= MAX_DEPTH + 1);
        } else {
            let e = result.unwrap_err();
            prop_assert!(
                e.message().contains("nested too deeply") || e.message().contains("too long"),
                "{}", e.message()
            );
            prop_assert!(e.message().contains(&MAX_DEPTH.to_string()) || e.message().contains("too long"));
        }
    }

    /// Anything over `MAX_INPUT_BYTES` is refused before parsing, for filters and paths
    /// alike, with the length in the message.
    #[test]
    fn overlong_input_is_refused_with_its_length(extra in 1usize..20_000, fill in "[a-z(\\[\" ]") {
        let text = format!("userName eq \"{}", fill.repeat(MAX_INPUT_BYTES + extra));
        let e = parse_filter(&text).unwrap_err();
        prop_assert_eq!(
            e.message(),
            format!("filter is too long: {} bytes, at most {MAX_INPUT_BYTES} are allowed", text.len())
        );
        let e = parse_path(&text).unwrap_err();
        prop_assert!(e.message().starts_with("path is too long"), "{}", e.message());
    }
}

/// The deepest tree a filter can make without parentheses is a left-nested chain of `or`s
/// (or `and`s) as long as the length limit allows. Parsing, printing, translating to SQL,
/// evaluating as a PATCH value filter and dropping it all recurse over the tree; none may
/// overflow the stack of an ordinary (2 MiB) thread, which is what a server's worker has.
#[test]
fn the_deepest_filters_the_limits_allow_do_not_overflow_the_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            // Leaves that need no bound parameter, so that the parameter cap does not stop
            // the translation before it has recursed over the whole tree.
            for (leaf, joiner) in [
                ("userName pr", " or "),
                ("id pr", " and "),
                ("externalId pr", " or "),
                ("not (displayName pr)", " and "),
            ] {
                let mut text = String::from(leaf);
                while text.len() + joiner.len() + leaf.len() <= MAX_INPUT_BYTES {
                    text.push_str(joiner);
                    text.push_str(leaf);
                }
                let filter = parse_filter(&text).expect("the longest flat filter parses");
                assert!(tree_depth(&filter) > 150, "{leaf}{joiner}");
                assert_eq!(parse_filter(&filter.to_string()).unwrap(), filter);
                let kind = if leaf.starts_with("userName") {
                    SchemaKind::User
                } else {
                    SchemaKind::Group
                };
                for backend in [Backend::Sqlite, Backend::Postgres] {
                    let fragment = where_clause(&filter, kind, backend, 1)
                        .unwrap_or_else(|e| panic!("{leaf}{joiner}: {e:?}"));
                    assert!(fragment.params.is_empty(), "{leaf}");
                }
            }
            // The same depth inside a PATCH value filter, evaluated against emails.
            let mut inner = String::from("type eq \"home\"");
            while inner.len() + 40 <= MAX_INPUT_BYTES {
                inner.push_str(" or type eq \"home\"");
            }
            let path = format!("emails[{inner} or type eq \"work\"].value");
            assert!(path.len() <= MAX_INPUT_BYTES);
            let user = user_with(&[Email {
                value: "ada@example.com".into(),
                kind: "work",
            }]);
            let (patched, _) = patch(
                SchemaKind::User,
                &user,
                json!([{"op": "replace", "path": path, "value": "new@example.com"}]),
            )
            .expect("the deep value filter selects the work email");
            assert_eq!(patched["emails"][0]["value"], "new@example.com");
        })
        .unwrap();
    handle.join().expect("no stack overflow or panic");
}

// ---------------------------------------------------------------------------------------
// (d) PATCH laws.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    /// Adding an email that is not there and removing it again leaves the user exactly as
    /// it was: in one PATCH or two, and removed by value filter (Okta, RFC) or by value
    /// list (Entra).
    #[test]
    fn adding_then_removing_an_email_changes_nothing(
        existing in distinct_emails(5),
        new in email(),
        by_value_list in any::<bool>(),
        one_patch in any::<bool>(),
    ) {
        prop_assume!(existing.iter().all(|e| e.value.to_lowercase() != new.value.to_lowercase()));
        let user = user_with(&existing);
        let add = json!({"op": "Add", "path": "emails", "value": [{"value": new.value, "type": new.kind}]});
        let remove = if by_value_list {
            json!({"op": "Remove", "path": "emails", "value": [{"value": new.value}]})
        } else {
            json!({"op": "remove", "path": format!("emails[value eq {}]", quoted(&new.value))})
        };
        let after = if one_patch {
            let (after, outcome) = patch(SchemaKind::User, &user, json!([add, remove]))
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert!(outcome.is_noop(), "{:?}", outcome.changed_attributes);
            after
        } else {
            let (added, outcome) = patch(SchemaKind::User, &user, json!([add]))
                .map_err(|e| TestCaseError::fail(format!("add: {e:?}")))?;
            prop_assert_eq!(outcome.changed_attributes, vec!["emails".to_owned()]);
            prop_assert_eq!(
                added["emails"].as_array().map(Vec::len),
                Some(existing.len() + 1)
            );
            let (after, _) = patch(SchemaKind::User, &added, json!([remove]))
                .map_err(|e| TestCaseError::fail(format!("remove: {e:?}")))?;
            after
        };
        prop_assert_eq!(after, user);
    }

    /// Adding members who are not in the group and removing them again leaves the
    /// membership as it was, whichever removal shape the IdP uses and whether it comes in
    /// the same PATCH or the next one. Group members live in the store, so the law is
    /// checked on what the store would do with the outcome.
    #[test]
    fn adding_then_removing_members_changes_nothing(
        existing in prop::collection::btree_set(member_id(), 0..6),
        new in prop::collection::btree_set(member_id(), 1..4),
        by_value_list in any::<bool>(),
        one_patch in any::<bool>(),
    ) {
        prop_assume!(existing.is_disjoint(&new));
        let group = validate_group(&json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng"}))
            .unwrap()
            .resource;
        let add = json!({
            "op": "Add",
            "path": "members",
            "value": new.iter().map(|id| json!({"value": id, "$ref": null})).collect::<Vec<_>>()
        });
        let remove = if by_value_list {
            json!({
                "op": "Remove",
                "path": "members",
                "value": new.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()
            })
        } else {
            let filter = new
                .iter()
                .map(|id| format!("value eq {}", quoted(id)))
                .collect::<Vec<_>>()
                .join(" or ");
            json!({"op": "remove", "path": format!("members[{filter}]")})
        };
        let after = if one_patch {
            let (patched, outcome) = patch(SchemaKind::Group, &group, json!([add, remove]))
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(patched, group.clone());
            apply_members(&existing, &outcome)
        } else {
            let (patched, added) = patch(SchemaKind::Group, &group, json!([add]))
                .map_err(|e| TestCaseError::fail(format!("add: {e:?}")))?;
            let middle = apply_members(&existing, &added);
            prop_assert_eq!(middle.len(), existing.len() + new.len());
            let (patched, removed) = patch(SchemaKind::Group, &patched, json!([remove]))
                .map_err(|e| TestCaseError::fail(format!("remove: {e:?}")))?;
            prop_assert_eq!(patched, group.clone());
            apply_members(&middle, &removed)
        };
        prop_assert_eq!(after, existing);
    }

    /// Sending the same `replace` twice is the same as sending it once, and the second
    /// time is a no-op (no new version, no event): IdPs retry, and Okta re-sends a rename
    /// after every membership change. (One operation per PATCH: a sequence such as
    /// "replace the work email's value, then replace all emails" is rightly not
    /// idempotent, since the second run finds no work email.)
    #[test]
    fn the_same_replace_twice_equals_once(
        existing in distinct_emails(4),
        operation in replace_operation(),
    ) {
        let mut emails = existing;
        // A work email for `emails[type eq "work"]` paths to select.
        emails.retain(|e| e.kind != "work");
        emails.push(Email { value: "work@example.com".into(), kind: "work" });
        let user = user_with(&emails);
        let ops = json!([operation]);
        match patch(SchemaKind::User, &user, ops.clone()) {
            Ok((once, _)) => {
                let (twice, outcome) = patch(SchemaKind::User, &once, ops.clone())
                    .map_err(|e| TestCaseError::fail(format!("second time: {e:?}")))?;
                prop_assert_eq!(&twice, &once, "{}", ops);
                prop_assert!(outcome.is_noop(), "{} changed {:?}", ops, outcome.changed_attributes);
            }
            Err(e) => {
                // A replace that fails, fails the same way every time.
                let again = patch(SchemaKind::User, &user, ops.clone()).unwrap_err();
                prop_assert_eq!(e, again);
            }
        }
    }

    /// The same for a group's members and name: replacing the member list twice leaves the
    /// list the first replace made.
    #[test]
    fn replacing_members_twice_equals_once(
        existing in prop::collection::btree_set(member_id(), 0..6),
        list in prop::collection::vec(member_id(), 0..6),
        name in "[A-Za-z0-9][A-Za-z0-9 ]{0,11}",
    ) {
        let group = validate_group(&json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng"}))
            .unwrap()
            .resource;
        let ops = json!([
            {"op": "Replace", "path": "members", "value": list.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()},
            {"op": "replace", "value": {"id": GROUP_ID, "displayName": name}}
        ]);
        let (once, first) = patch(SchemaKind::Group, &group, ops.clone())
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let (twice, second) = patch(SchemaKind::Group, &once, ops)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(&twice, &once);
        let after_once = apply_members(&existing, &first);
        prop_assert_eq!(apply_members(&after_once, &second), after_once.clone());
        prop_assert_eq!(after_once, list.into_iter().collect::<BTreeSet<_>>());
    }
}
