//! SCIM PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, as in
//! `members`, `name.familyName` or `emails[type eq "work"].value`.
//!
//! Paths share the filter's tokenizer and grammar (a value filter is a filter), but have
//! their own error type so that the HTTP layer answers `invalidPath` rather than
//! `invalidFilter`, and their own messages, which say "path".

use std::fmt;

use thiserror::Error;

use super::filter::{AttrPath, Filter, FilterError, Kind, Parser, Syntax};

/// Where a PATCH operation applies.
///
/// `attr` is everything before any `[`, so for `name.familyName` the sub-attribute is in
/// `attr.sub_attr`, while for `emails[type eq "work"].value` it is in `sub_attr` (a value
/// filter cannot follow a sub-attribute, so the parser never sets both). Use
/// [`PatchPath::sub_attr`] when the difference does not matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// Selects which values of the multi-valued `attr` the operation touches.
    pub value_filter: Option<Filter>,
    /// The sub-attribute after the value filter, as `value` in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// The sub-attribute the operation targets, wherever the path wrote it.
    pub fn sub_attr(&self) -> Option<&str> {
        self.sub_attr.as_deref().or(self.attr.sub_attr.as_deref())
    }
}

/// Why a PATCH path could not be parsed; the message names the problem and its position,
/// for the admin who will see it in a SCIM 400 `invalidPath`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct PathError {
    message: String,
    position: usize,
}

impl PathError {
    /// The full human-readable message (the same text `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the problem is, in characters from the start of the input (0-based); the
    /// input's length when the input ended too early.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl From<FilterError> for PathError {
    fn from(e: FilterError) -> Self {
        PathError {
            message: e.message().to_owned(),
            position: e.position(),
        }
    }
}

/// Parses a PATCH operation's `path`. The whole input must be one path; whitespace is
/// allowed around it and, as in filters, between the tokens inside brackets.
pub fn parse_path(input: &str) -> Result<PatchPath, PathError> {
    let mut parser = Parser::new(input, Syntax::Path)?;
    let (attr, attr_start) = parser.next_attr_path()?;
    let mut path = PatchPath {
        attr,
        value_filter: None,
        sub_attr: None,
    };
    if parser.peek_kind()? == Kind::LBracket {
        path.value_filter = Some(parser.parse_value_filter(&path.attr, attr_start)?);
        path.sub_attr = sub_attr_after_filter(&mut parser)?;
    }
    let token = parser.next()?;
    match token.kind {
        Kind::End => Ok(path),
        Kind::RBracket => Err(parser
            .error_at(
                token.start,
                format!(
                    "unexpected \"]\" at position {}: there is no \"[\" to close",
                    parser.position(token.start)
                ),
            )
            .into()),
        _ if path.value_filter.is_some() => {
            Err(parser.unexpected(&token, "the end of the path").into())
        }
        _ => Err(parser
            .unexpected(&token, "\"[\" or the end of the path")
            .into()),
    }
}

/// The optional `.subAttr` after `]`.
fn sub_attr_after_filter(parser: &mut Parser<'_>) -> Result<Option<String>, PathError> {
    let Kind::Word(word) = parser.peek_kind()? else {
        return Ok(None);
    };
    let start = parser.peek()?.start;
    let Some(name) = word.strip_prefix('.') else {
        let token = parser.next()?;
        return Err(parser
            .unexpected(
                &token,
                "\".\" and a sub-attribute name, or the end of the path",
            )
            .into());
    };
    parser.next()?;
    parser.check_sub_attr_after_bracket(word, name, start)?;
    Ok(Some(name.to_owned()))
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{CompareOp, Value};

    fn parse(input: &str) -> PatchPath {
        parse_path(input).unwrap_or_else(|e| panic!("{input:?} should parse, got: {e}"))
    }

    fn error(input: &str) -> PathError {
        match parse_path(input) {
            Ok(path) => panic!("{input:?} should fail, parsed as {path:?}"),
            Err(e) => e,
        }
    }

    fn attr(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: urn.map(str::to_owned),
            attr: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare(
            attr(None, name, None),
            CompareOp::Eq,
            Value::String(value.to_owned()),
        )
    }

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    const VALID: &[&str] = &[
        "members",
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"emails[type eq "work"].value"#,
        "name.familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        r#"addresses[type eq "work"].streetAddress"#,
        "active",
        r#"emails[type eq "work" and primary eq true].value"#,
    ];

    #[test]
    fn plain_attribute() {
        let path = parse("members");
        assert_eq!(
            path,
            PatchPath {
                attr: attr(None, "members", None),
                value_filter: None,
                sub_attr: None,
            }
        );
        assert_eq!(parse("active").attr.attr, "active");
    }

    #[test]
    fn member_selected_by_value_filter() {
        assert_eq!(
            parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#),
            PatchPath {
                attr: attr(None, "members", None),
                value_filter: Some(eq("value", "2819c223-7f76-453a-919d-413861904646")),
                sub_attr: None,
            }
        );
    }

    #[test]
    fn sub_attribute_after_value_filter() {
        let path = parse(r#"emails[type eq "work"].value"#);
        assert_eq!(
            path,
            PatchPath {
                attr: attr(None, "emails", None),
                value_filter: Some(eq("type", "work")),
                sub_attr: Some("value".into()),
            }
        );
        assert_eq!(path.sub_attr(), Some("value"));
    }

    #[test]
    fn addresses_street_address_of_work_address() {
        let path = parse(r#"addresses[type eq "work"].streetAddress"#);
        assert_eq!(path.attr, attr(None, "addresses", None));
        assert_eq!(path.value_filter, Some(eq("type", "work")));
        assert_eq!(path.sub_attr.as_deref(), Some("streetAddress"));
    }

    #[test]
    fn sub_attribute_without_value_filter() {
        let path = parse("name.familyName");
        assert_eq!(path.attr, attr(None, "name", Some("familyName")));
        assert_eq!(path.value_filter, None);
        assert_eq!(path.sub_attr, None);
        assert_eq!(path.sub_attr(), Some("familyName"));
    }

    #[test]
    fn urn_qualified_enterprise_attribute() {
        assert_eq!(
            parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").attr,
            attr(Some(ENTERPRISE), "employeeNumber", None)
        );
    }

    #[test]
    fn urn_qualified_enterprise_sub_attribute() {
        assert_eq!(
            parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").attr,
            attr(Some(ENTERPRISE), "manager", Some("value"))
        );
    }

    #[test]
    fn value_filter_keywords_are_case_insensitive() {
        assert_eq!(
            parse(r#"members[value EQ "x"]"#).value_filter,
            Some(eq("value", "x"))
        );
    }

    #[test]
    fn surrounding_whitespace_is_tolerated() {
        assert_eq!(parse("  members\t"), parse("members"));
    }

    #[test]
    fn display_round_trips() {
        for input in VALID {
            let path = parse(input);
            assert_eq!(&path.to_string(), input);
            assert_eq!(parse(&path.to_string()), path);
        }
    }

    #[test]
    fn empty_path_is_rejected() {
        for input in ["", "  "] {
            assert_eq!(
                error(input).message(),
                r#"empty path: expected an attribute name such as members or emails[type eq "work"].value"#
            );
        }
    }

    #[test]
    fn unclosed_bracket_is_rejected() {
        let e = error("members[");
        assert_eq!(
            e.message(),
            r#"unexpected end of path after "members[": expected an attribute name, "not" or "(""#
        );
        assert_eq!(e.position(), 8);
        assert_eq!(
            error(r#"members[value eq "x""#).message(),
            r#"unexpected end of path after 'members[value eq "x"': expected "and", "or" or "]" to close the "[" at position 7"#
        );
    }

    #[test]
    fn messages_stay_one_line_when_the_path_has_line_breaks() {
        assert_eq!(
            error("\nmembers[").message(),
            r#"unexpected end of path after "members[": expected an attribute name, "not" or "(""#
        );
        assert_eq!(
            error("members[value\neq").message(),
            r#"unexpected end of path after "members[value\neq": expected a value"#
        );
    }

    #[test]
    fn value_filter_missing_its_value_is_rejected() {
        let e = error("members[value eq]");
        assert_eq!(
            e.message(),
            r#"unexpected "]" at position 16: expected a value"#
        );
        assert_eq!(e.position(), 16);
    }

    #[test]
    fn dot_without_sub_attribute_is_rejected() {
        assert_eq!(
            error(r#"emails[type eq "work"]."#).message(),
            r#"missing sub-attribute name after "." at position 22: expected a name as in emails[type eq "work"].value"#
        );
    }

    #[test]
    fn two_sub_attributes_are_rejected() {
        assert_eq!(
            error("a.b.c").message(),
            r#"invalid attribute path "a.b.c" at position 0: an attribute path has at most one sub-attribute, as in name.familyName"#
        );
        assert_eq!(
            error(r#"emails[type eq "work"].value.x"#).message(),
            r#"invalid sub-attribute ".value.x" at position 22: a path has at most one sub-attribute after "]""#
        );
    }

    #[test]
    fn closing_bracket_without_opening_is_rejected() {
        let e = error("members]");
        assert_eq!(
            e.message(),
            r#"unexpected "]" at position 7: there is no "[" to close"#
        );
        assert_eq!(e.position(), 7);
    }

    #[test]
    fn trailing_text_is_rejected() {
        assert_eq!(
            error("members value").message(),
            r#"unexpected "value" at position 8: expected "[" or the end of the path"#
        );
        assert_eq!(
            error(r#"emails[type eq "work"]value"#).message(),
            r#"unexpected "value" at position 22: expected "." and a sub-attribute name, or the end of the path"#
        );
        assert_eq!(
            error(r#"emails[type eq "work"].value[type pr]"#).message(),
            r#"unexpected "[" at position 28: expected the end of the path"#
        );
    }

    #[test]
    fn nested_value_filter_is_rejected() {
        assert!(error(r#"groups[members[value eq "x"]]"#)
            .message()
            .starts_with("nested value filter at position 14"));
    }

    #[test]
    fn value_filter_after_sub_attribute_is_rejected() {
        assert!(error(r#"name.givenName[value eq "x"]"#)
            .message()
            .contains("a value filter cannot follow the sub-attribute"));
    }

    #[test]
    fn invalid_sub_attribute_name_is_rejected() {
        assert_eq!(
            error(r#"emails[type eq "work"].9x"#).message(),
            r#"invalid attribute name "9x" at position 23: attribute names start with a letter and contain only letters, digits, "-" and "_""#
        );
    }

    #[test]
    fn logical_keyword_or_string_is_not_a_path() {
        assert_eq!(
            error("not").message(),
            r#"unexpected "not" at position 0: expected an attribute name"#
        );
        assert_eq!(
            error(r#""members""#).message(),
            r#"unexpected string "members" at position 0: expected an attribute name"#
        );
    }

    #[test]
    fn errors_in_the_value_filter_say_path() {
        assert_eq!(
            error("members[value eq").message(),
            r#"unexpected end of path after "members[value eq": expected a value"#
        );
    }

    #[test]
    fn long_path_is_rejected() {
        let input = "a".repeat(5000);
        assert_eq!(
            error(&input).message(),
            "path is too long: 5000 bytes, at most 4096 are allowed"
        );
    }

    #[test]
    fn malformed_paths_never_panic() {
        let mut inputs: Vec<String> = Vec::new();
        for valid in VALID {
            for (i, _) in valid.char_indices() {
                inputs.push(valid[..i].to_owned());
                inputs.push(valid[i..].to_owned());
                // And with one character swapped for something hostile.
                for bad in ["]", "[", "\"", ".", "😀", " "] {
                    let mut s = valid.to_string();
                    let end = i + s[i..].chars().next().map_or(0, char::len_utf8);
                    s.replace_range(i..end, bad);
                    inputs.push(s);
                }
            }
        }
        for garbage in [
            "[",
            "]",
            "[]",
            ".",
            "..",
            "a[",
            "a]",
            "a[]",
            "a[b]",
            "a[b pr].",
            "a[b pr]..",
            "a[b pr].😀",
            "😀",
            "a.😀",
            "urn:",
            ":a",
            "a[b pr][c pr]",
            "a[(b pr]",
        ] {
            inputs.push(garbage.to_owned());
        }
        for input in &inputs {
            if let Err(e) = parse_path(input) {
                assert!(!e.message().contains('\n'), "{input:?}: {e}");
                assert!(e.position() <= input.chars().count(), "{input:?}: {e}");
            }
        }
    }
}
