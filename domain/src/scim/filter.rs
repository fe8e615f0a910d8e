//! SCIM filter expressions (RFC 7644 §3.4.2.2), as sent in `GET /Users?filter=...` and
//! inside the brackets of PATCH paths.
//!
//! The parser is a small on-demand tokenizer under a recursive-descent parser. Both are
//! written for hostile input: they never panic, the input length and the nesting depth are
//! capped, and every error says what was wrong and where, because the message goes back to
//! the admin who configured the identity provider (as a SCIM 400 `invalidFilter`).
//!
//! Positions in error messages count characters (not bytes) from 0, so they match what an
//! admin sees in a log line even when the filter holds non-ASCII text.

use std::fmt;

use thiserror::Error;

/// Longest filter (in bytes) we parse. Real filters from Okta and Entra are well under
/// 200 bytes; the cap bounds the work and the size of the tree a caller can make us build.
pub const MAX_INPUT_BYTES: usize = 4096;

/// Deepest nesting of `(...)`, `not (...)` and `[...]` we accept. Parsing recurses once per
/// level, so this is what keeps hostile input from overflowing the stack.
pub const MAX_DEPTH: usize = 64;

/// Messages quote at most this many characters of the input, so one error stays one line.
const QUOTE_LIMIT: usize = 40;

/// An attribute reference such as `userName`, `name.familyName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
///
/// Names are kept as written: SCIM attribute names are case-insensitive, and matching them
/// against a schema is the caller's job, which knows the schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN the attribute is qualified with, without the trailing `:`
    /// (for example `urn:ietf:params:scim:schemas:core:2.0:User`), if any.
    pub urn: Option<String>,
    /// The attribute name.
    pub attr: String,
    /// The sub-attribute of a complex attribute, as in `name.familyName`.
    pub sub_attr: Option<String>,
}

/// A binary comparison operator. `pr` is not here because it takes no value; it is
/// [`Filter::Present`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A number exactly as written in the filter.
///
/// Kept as text so that nothing is lost before the caller knows the attribute's type: an
/// integer attribute wants `12345678901234567890` compared exactly, not as a rounded `f64`.
/// The text is always a valid JSON number with a finite value. Equality is textual, so
/// `1.0` and `1` are different ASTs (they print back as written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

/// A comparison value. The parser does not check that the value suits the operator or the
/// attribute (`gt true`, `co 5`); that needs the schema, so the caller does it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    String(String),
    Number(Number),
    Bool(bool),
    Null,
}

/// A parsed filter. Parentheses leave no trace: precedence is in the tree's shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `attr pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `attr op value`.
    Compare(AttrPath, CompareOp, Value),
    /// `not (filter)`.
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `attr[filter]`: matches when one value of the multi-valued attribute `attr` matches
    /// the inner filter, whose attribute paths are relative to `attr` (so in
    /// `emails[type eq "work"]`, `type` means `emails.type`).
    ValuePath(AttrPath, Box<Filter>),
}

/// Why a filter could not be parsed. The message is meant for the admin who wrote or
/// configured the filter, so it names the problem and its position.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct FilterError {
    message: String,
    position: usize,
}

impl FilterError {
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

/// Parses a SCIM filter such as `userName eq "john@example.com"`.
///
/// Operator and logical keywords are case-insensitive because Okta and Entra do not agree
/// on their case. The whole input must be one filter: trailing text is an error rather
/// than silently ignored, so a typo cannot widen a query.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser::new(input, Syntax::Filter)?;
    let filter = parser.parse_or()?;
    parser.expect_end_of_filter()?;
    Ok(filter)
}

impl CompareOp {
    /// The operator's keyword in canonical (lower) case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl Number {
    /// The number written as `text`, or `None` if `text` is not a JSON number with a finite
    /// value. Lets code other than the parser build filters without breaking the invariant.
    pub fn new(text: &str) -> Option<Number> {
        if is_json_number(text) && text.parse::<f64>().is_ok_and(f64::is_finite) {
            Some(Number(text.to_owned()))
        } else {
            None
        }
    }

    /// The number exactly as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a float, for decimal attributes; may round.
    pub fn as_f64(&self) -> f64 {
        // Cannot fail: `new` and the parser only accept text that parses to a finite f64.
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// The number as an integer, for integer attributes: `None` unless it is written as a
    /// plain integer (no fraction or exponent) that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, RFC 8259 §6.
fn is_json_number(text: &str) -> bool {
    fn digits(bytes: &[u8], mut i: usize) -> usize {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    }
    let b = text.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i),
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        let after = digits(b, i + 1);
        if after == i + 1 {
            return false;
        }
        i = after;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let after = digits(b, i);
        if after == i {
            return false;
        }
        i = after;
    }
    i == b.len()
}

// ---------------------------------------------------------------------------------------
// Printing. The output is canonical: lower-case keywords, single spaces, parentheses only
// where precedence needs them, strings re-escaped. It parses back to an equal tree.
// ---------------------------------------------------------------------------------------

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write_json_string(f, s),
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c if u32::from(c) < 0x20 => f.write_str(&escape_control(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// The JSON escape for a control character: the short form where JSON has one.
fn escape_control(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\u{8}' => "\\b".into(),
        '\u{c}' => "\\f".into(),
        c => format!("\\u{:04x}", u32::from(c)),
    }
}

/// How tightly an operand must bind to be printed without parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Or,
    And,
    Operand,
}

impl Filter {
    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, context: Precedence) -> fmt::Result {
        let own = match self {
            Filter::Or(..) => Precedence::Or,
            Filter::And(..) => Precedence::And,
            _ => Precedence::Operand,
        };
        let parenthesize = own < context;
        if parenthesize {
            f.write_str("(")?;
        }
        match self {
            Filter::Present(path) => write!(f, "{path} pr")?,
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}")?,
            Filter::Not(inner) => {
                f.write_str("not (")?;
                inner.fmt_at(f, Precedence::Or)?;
                f.write_str(")")?;
            }
            // Both are left-associative, so a right operand of the same kind needs
            // parentheses and a left one does not.
            Filter::And(left, right) => {
                left.fmt_at(f, Precedence::And)?;
                f.write_str(" and ")?;
                right.fmt_at(f, Precedence::Operand)?;
            }
            Filter::Or(left, right) => {
                left.fmt_at(f, Precedence::Or)?;
                f.write_str(" or ")?;
                right.fmt_at(f, Precedence::And)?;
            }
            Filter::ValuePath(path, inner) => {
                write!(f, "{path}[")?;
                inner.fmt_at(f, Precedence::Or)?;
                f.write_str("]")?;
            }
        }
        if parenthesize {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_at(f, Precedence::Or)
    }
}

// ---------------------------------------------------------------------------------------
// Tokenizer and parser, shared with `path.rs`.
// ---------------------------------------------------------------------------------------

/// What is being parsed, so that messages say "filter" or "path" as the admin expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Syntax {
    Filter,
    Path,
}

impl Syntax {
    fn noun(self) -> &'static str {
        match self {
            Syntax::Filter => "filter",
            Syntax::Path => "path",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    /// A run of characters up to whitespace, a bracket, a parenthesis or a quote: an
    /// attribute path, a keyword, a number, or garbage the parser names in its error.
    Word(&'a str),
    /// A string literal; its decoded text is in [`Token::text`].
    Str,
    LParen,
    RParen,
    LBracket,
    RBracket,
    End,
}

#[derive(Debug, Clone)]
pub(super) struct Token<'a> {
    pub(super) kind: Kind<'a>,
    /// The decoded value of a [`Kind::Str`]; empty otherwise.
    text: String,
    /// Byte offsets into the input.
    pub(super) start: usize,
    end: usize,
}

/// Recursive-descent parser over an on-demand tokenizer. Tokens are read lazily so that
/// the first error reported is the leftmost one.
pub(super) struct Parser<'a> {
    input: &'a str,
    syntax: Syntax,
    /// Byte offset of the next character the tokenizer has not read.
    offset: usize,
    peeked: Option<Token<'a>>,
    depth: usize,
    /// Inside `[...]`, where another `[` is forbidden (RFC 7644 does not nest value
    /// filters).
    in_value_filter: bool,
}

type Parsed<T> = Result<T, FilterError>;

const EXPECTED_OPERATOR: &str = "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)";
const EXPECTED_EXPRESSION: &str = "an attribute name, \"not\" or \"(\"";
const NAME_RULE: &str =
    "attribute names start with a letter and contain only letters, digits, \"-\" and \"_\"";

impl<'a> Parser<'a> {
    pub(super) fn new(input: &'a str, syntax: Syntax) -> Parsed<Parser<'a>> {
        let noun = syntax.noun();
        if input.len() > MAX_INPUT_BYTES {
            return Err(FilterError {
                message: format!(
                    "{noun} is too long: {} bytes, at most {MAX_INPUT_BYTES} are allowed",
                    input.len()
                ),
                position: 0,
            });
        }
        if input.trim().is_empty() {
            let example = match syntax {
                Syntax::Filter => "an expression such as userName eq \"john@example.com\"",
                Syntax::Path => {
                    "an attribute name such as members or emails[type eq \"work\"].value"
                }
            };
            return Err(FilterError {
                message: format!("empty {noun}: expected {example}"),
                position: 0,
            });
        }
        Ok(Parser {
            input,
            syntax,
            offset: 0,
            peeked: None,
            depth: 0,
            in_value_filter: false,
        })
    }

    // --- errors ------------------------------------------------------------------------

    /// Converts a byte offset to the character position shown to people.
    pub(super) fn position(&self, byte: usize) -> usize {
        self.input
            .get(..byte)
            .map_or(byte, |prefix| prefix.chars().count())
    }

    pub(super) fn error_at(&self, byte: usize, message: String) -> FilterError {
        FilterError {
            message,
            position: self.position(byte),
        }
    }

    /// The error for finding `token` where `expected` should be.
    pub(super) fn unexpected(&self, token: &Token<'a>, expected: &str) -> FilterError {
        if token.kind == Kind::End {
            let before = self.input.trim();
            let tail: String = if before.chars().count() > QUOTE_LIMIT {
                let skip = before.chars().count() - QUOTE_LIMIT;
                format!("…{}", before.chars().skip(skip).collect::<String>())
            } else {
                before.to_owned()
            };
            return self.error_at(
                self.input.len(),
                format!(
                    "unexpected end of {} after {}: expected {expected}",
                    self.syntax.noun(),
                    quote(&tail)
                ),
            );
        }
        self.error_at(
            token.start,
            format!(
                "unexpected {} at position {}: expected {expected}",
                self.describe(token),
                self.position(token.start)
            ),
        )
    }

    fn describe(&self, token: &Token<'a>) -> String {
        match token.kind {
            Kind::Word(word) => quote(word),
            Kind::Str => format!(
                "string {}",
                truncate(self.input.get(token.start..token.end).unwrap_or(""))
            ),
            Kind::LParen => "\"(\"".into(),
            Kind::RParen => "\")\"".into(),
            Kind::LBracket => "\"[\"".into(),
            Kind::RBracket => "\"]\"".into(),
            Kind::End => format!("end of {}", self.syntax.noun()),
        }
    }

    // --- tokenizer ---------------------------------------------------------------------

    pub(super) fn peek(&mut self) -> Parsed<&Token<'a>> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lex()?,
        };
        Ok(self.peeked.insert(token))
    }

    pub(super) fn peek_kind(&mut self) -> Parsed<Kind<'a>> {
        Ok(self.peek()?.kind)
    }

    pub(super) fn next(&mut self) -> Parsed<Token<'a>> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Parsed<Token<'a>> {
        let rest = self.input.get(self.offset..).unwrap_or("");
        let trimmed = rest.trim_start();
        let start = self.offset + (rest.len() - trimmed.len());
        let Some(first) = trimmed.chars().next() else {
            self.offset = self.input.len();
            return Ok(Token {
                kind: Kind::End,
                text: String::new(),
                start: self.input.len(),
                end: self.input.len(),
            });
        };
        let single = |kind| Token {
            kind,
            text: String::new(),
            start,
            end: start + 1,
        };
        let token = match first {
            '(' => single(Kind::LParen),
            ')' => single(Kind::RParen),
            '[' => single(Kind::LBracket),
            ']' => single(Kind::RBracket),
            '"' => self.lex_string(start)?,
            _ => {
                let len = trimmed
                    .find(|c: char| c.is_whitespace() || is_delimiter(c))
                    .unwrap_or(trimmed.len());
                Token {
                    kind: Kind::Word(&trimmed[..len]),
                    text: String::new(),
                    start,
                    end: start + len,
                }
            }
        };
        self.offset = token.end;
        Ok(token)
    }

    /// Reads a JSON string (RFC 8259 §7) whose opening quote is at byte `start`.
    fn lex_string(&self, start: usize) -> Parsed<Token<'a>> {
        let unterminated = || {
            self.error_at(
                start,
                format!(
                    "unterminated string starting at position {}: expected a closing \"",
                    self.position(start)
                ),
            )
        };
        let body_start = start + 1;
        let mut chars = self
            .input
            .get(body_start..)
            .unwrap_or("")
            .char_indices()
            .map(|(i, c)| (body_start + i, c))
            .peekable();
        let mut text = String::new();
        loop {
            let Some((at, c)) = chars.next() else {
                return Err(unterminated());
            };
            match c {
                '"' => {
                    return Ok(Token {
                        kind: Kind::Str,
                        text,
                        start,
                        end: at + 1,
                    })
                }
                '\\' => {
                    let Some((_, escape)) = chars.next() else {
                        return Err(unterminated());
                    };
                    match escape {
                        '"' => text.push('"'),
                        '\\' => text.push('\\'),
                        '/' => text.push('/'),
                        'b' => text.push('\u{8}'),
                        'f' => text.push('\u{c}'),
                        'n' => text.push('\n'),
                        'r' => text.push('\r'),
                        't' => text.push('\t'),
                        'u' => text.push(self.lex_unicode_escape(at, &mut chars, &unterminated)?),
                        other => {
                            return Err(self.error_at(
                                at,
                                format!(
                                    "invalid escape {} in string at position {}: expected one of \
                                     \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX",
                                    quote(&format!("\\{other}")),
                                    self.position(at)
                                ),
                            ))
                        }
                    }
                }
                c if u32::from(c) < 0x20 => {
                    return Err(self.error_at(
                        at,
                        format!(
                            "control character U+{:04X} in string at position {} must be \
                             escaped as {}",
                            u32::from(c),
                            self.position(at),
                            escape_control(c)
                        ),
                    ))
                }
                c => text.push(c),
            }
        }
    }

    /// Decodes `\uXXXX` (the `\u` at byte `at` already read), joining a UTF-16 surrogate
    /// pair written as two escapes.
    fn lex_unicode_escape(
        &self,
        at: usize,
        chars: &mut std::iter::Peekable<impl Iterator<Item = (usize, char)>>,
        unterminated: &dyn Fn() -> FilterError,
    ) -> Parsed<char> {
        let high = self.hex4(at, chars, unterminated)?;
        let unpaired = |escape_at: usize, unit: u32| {
            self.error_at(
                escape_at,
                format!(
                    "unpaired surrogate \"\\u{unit:04X}\" in string at position {}: a \
                     \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF escape",
                    self.position(escape_at)
                ),
            )
        };
        match high {
            0xD800..=0xDBFF => {
                let low_at = match chars.peek() {
                    Some(&(i, '\\')) => i,
                    Some(_) => return Err(unpaired(at, high)),
                    None => return Err(unterminated()),
                };
                chars.next();
                match chars.next() {
                    Some((_, 'u')) => {}
                    Some(_) => return Err(unpaired(at, high)),
                    None => return Err(unterminated()),
                }
                let low = self.hex4(low_at, chars, unterminated)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(unpaired(at, high));
                }
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                char::from_u32(code).ok_or_else(|| unpaired(at, high))
            }
            0xDC00..=0xDFFF => Err(unpaired(at, high)),
            _ => char::from_u32(high).ok_or_else(|| unpaired(at, high)),
        }
    }

    /// Reads the four hex digits of a `\u` escape whose backslash is at byte `at`.
    fn hex4(
        &self,
        at: usize,
        chars: &mut impl Iterator<Item = (usize, char)>,
        unterminated: &dyn Fn() -> FilterError,
    ) -> Parsed<u32> {
        let mut value = 0;
        let mut seen = String::from("\\u");
        for _ in 0..4 {
            let Some((_, c)) = chars.next() else {
                return Err(unterminated());
            };
            seen.push(c);
            let Some(digit) = c.to_digit(16) else {
                return Err(self.error_at(
                    at,
                    format!(
                        "invalid unicode escape {} in string at position {}: expected four hex \
                         digits after \\u",
                        quote(&seen),
                        self.position(at)
                    ),
                ));
            };
            value = value * 16 + digit;
        }
        Ok(value)
    }

    // --- grammar -----------------------------------------------------------------------

    /// `or_expr = and_expr *("or" and_expr)`; left-associative.
    pub(super) fn parse_or(&mut self) -> Parsed<Filter> {
        let mut left = self.parse_and()?;
        while self.peek_keyword("or")? {
            self.next()?;
            let right = self.parse_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `and_expr = unary *("and" unary)`; left-associative.
    fn parse_and(&mut self) -> Parsed<Filter> {
        let mut left = self.parse_unary()?;
        while self.peek_keyword("and")? {
            self.next()?;
            let right = self.parse_unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `unary = "not" "(" or_expr ")" / "(" or_expr ")" / attr_expr`.
    fn parse_unary(&mut self) -> Parsed<Filter> {
        let token = self.next()?;
        match token.kind {
            Kind::Word(word) if word.eq_ignore_ascii_case("not") => {
                let open = self.next()?;
                if open.kind != Kind::LParen {
                    return Err(self.unexpected(
                        &open,
                        "\"(\" after \"not\" (write not (...) around the negated expression)",
                    ));
                }
                let inner = self.parse_group(&open, Kind::RParen)?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Kind::LParen => self.parse_group(&token, Kind::RParen),
            Kind::Word(word) if is_logical_keyword(word) => Err(self.error_at(
                token.start,
                format!(
                    "unexpected {} at position {}: expected {EXPECTED_EXPRESSION}",
                    quote(word),
                    self.position(token.start)
                ),
            )),
            Kind::Word(word) => self.parse_attr_expr(word, token.start),
            _ => Err(self.unexpected(&token, EXPECTED_EXPRESSION)),
        }
    }

    /// The filter inside `(...)` or `[...]`, `open` being the opening token.
    fn parse_group(&mut self, open: &Token<'a>, close: Kind<'a>) -> Parsed<Filter> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_at(
                open.start,
                format!(
                    "{} is nested too deeply at position {}: at most {MAX_DEPTH} levels of \
                     parentheses and brackets are allowed",
                    self.syntax.noun(),
                    self.position(open.start)
                ),
            ));
        }
        self.depth += 1;
        let inner = self.parse_or()?;
        let token = self.next()?;
        if token.kind != close {
            let (open_char, close_char) = if close == Kind::RParen {
                ("(", ")")
            } else {
                ("[", "]")
            };
            let expected = format!(
                "\"and\", \"or\" or \"{close_char}\" to close the \"{open_char}\" at position {}",
                self.position(open.start)
            );
            return Err(self.unexpected(&token, &expected));
        }
        self.depth -= 1;
        Ok(inner)
    }

    /// `attr_expr = attrPath "pr" / attrPath compareOp value / attrPath "[" or_expr "]"`,
    /// the attribute path `word` at byte `start` already read.
    ///
    /// Also `attrPath "[" or_expr "]" "." subAttr ("pr" / compareOp value)`, which RFC 7644
    /// has only in PATCH paths but Microsoft Entra ID sends as a filter when a user's work
    /// email is a matching attribute (`emails[type eq "work"].value eq "x"`, in its SCIM
    /// guide). It means the same as the condition moved inside the brackets, and is parsed
    /// as that: `emails[type eq "work" and value eq "x"]`.
    fn parse_attr_expr(&mut self, word: &'a str, start: usize) -> Parsed<Filter> {
        let path = self.parse_attr_path(word, start)?;
        if self.peek_kind()? == Kind::LBracket {
            let inner = self.parse_value_filter(&path, start)?;
            if let Kind::Word(next) = self.peek_kind()? {
                if let Some(name) = next.strip_prefix('.') {
                    let at = self.peek()?.start;
                    self.next()?;
                    self.check_sub_attr_after_bracket(next, name, at)?;
                    let sub = AttrPath {
                        urn: None,
                        attr: name.to_owned(),
                        sub_attr: None,
                    };
                    let condition = self.parse_condition(sub)?;
                    return Ok(Filter::ValuePath(
                        path,
                        Box::new(Filter::And(Box::new(inner), Box::new(condition))),
                    ));
                }
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.parse_condition(path)
    }

    /// `"pr" / compareOp value` after the attribute path `path`.
    fn parse_condition(&mut self, path: AttrPath) -> Parsed<Filter> {
        let token = self.next()?;
        let Kind::Word(keyword) = token.kind else {
            return Err(self.unexpected(&token, EXPECTED_OPERATOR));
        };
        if keyword.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(keyword) else {
            return Err(self.error_at(
                token.start,
                format!(
                    "unknown operator {} at position {}: expected one of eq, ne, co, sw, ew, \
                     gt, ge, lt, le or pr",
                    quote(keyword),
                    self.position(token.start)
                ),
            ));
        };
        let value = self.parse_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    /// Checks the `.name` (the whole word `word`, at byte `at`) after a `]`: one
    /// sub-attribute name, as in `emails[type eq "work"].value`. PATCH paths and filters
    /// both allow it.
    pub(super) fn check_sub_attr_after_bracket(
        &self,
        word: &str,
        name: &str,
        at: usize,
    ) -> Parsed<()> {
        let position = self.position(at);
        if name.is_empty() {
            return Err(self.error_at(
                at,
                format!(
                    "missing sub-attribute name after \".\" at position {position}: expected \
                     a name as in emails[type eq \"work\"].value"
                ),
            ));
        }
        if name.contains('.') {
            return Err(self.error_at(
                at,
                format!(
                    "invalid sub-attribute {} at position {position}: a {} has at most one \
                     sub-attribute after \"]\"",
                    quote(word),
                    self.syntax.noun()
                ),
            ));
        }
        self.check_name(name, at + 1)
    }

    /// The `[...]` after `path` (which started at byte `start`), the `[` not yet read.
    pub(super) fn parse_value_filter(&mut self, path: &AttrPath, start: usize) -> Parsed<Filter> {
        let open = self.next()?;
        if self.in_value_filter {
            return Err(self.error_at(
                open.start,
                format!(
                    "nested value filter at position {}: a filter inside [...] cannot \
                     contain another [...]",
                    self.position(open.start)
                ),
            ));
        }
        if path.sub_attr.is_some() {
            return Err(self.error_at(
                open.start,
                format!(
                    "unexpected \"[\" at position {}: a value filter cannot follow the \
                     sub-attribute {}; brackets go right after a multi-valued attribute, \
                     as in emails[type eq \"work\"]",
                    self.position(open.start),
                    quote(self.input.get(start..open.start).unwrap_or("").trim_end())
                ),
            ));
        }
        self.in_value_filter = true;
        let inner = self.parse_group(&open, Kind::RBracket)?;
        self.in_value_filter = false;
        Ok(inner)
    }

    /// `compValue = false / null / true / number / string` (RFC 8259 values).
    fn parse_value(&mut self) -> Parsed<Value> {
        const EXPECTED_VALUE: &str = "a value";
        let token = self.next()?;
        match token.kind {
            Kind::Str => Ok(Value::String(token.text)),
            Kind::Word(word) if word.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Kind::Word(word) if word.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            Kind::Word(word) if word.eq_ignore_ascii_case("null") => Ok(Value::Null),
            Kind::Word(word) if word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                if !is_json_number(word) {
                    return Err(self.error_at(
                        token.start,
                        format!(
                            "invalid number {} at position {}: numbers are written as in \
                             JSON, for example 42, -7, 0.5 or 1e3",
                            quote(word),
                            self.position(token.start)
                        ),
                    ));
                }
                Number::new(word).map(Value::Number).ok_or_else(|| {
                    self.error_at(
                        token.start,
                        format!(
                            "number {} at position {} is out of range",
                            quote(word),
                            self.position(token.start)
                        ),
                    )
                })
            }
            Kind::Word(word) => Err(self.error_at(
                token.start,
                format!(
                    "invalid value {} at position {}: expected a string in double quotes, a \
                     number, true, false or null",
                    quote(word),
                    self.position(token.start)
                ),
            )),
            _ => Err(self.unexpected(&token, EXPECTED_VALUE)),
        }
    }

    /// Reads the next token as an attribute path; used by PATCH paths.
    pub(super) fn next_attr_path(&mut self) -> Parsed<(AttrPath, usize)> {
        let token = self.next()?;
        match token.kind {
            Kind::Word(word) if !is_logical_keyword(word) => {
                Ok((self.parse_attr_path(word, token.start)?, token.start))
            }
            _ => Err(self.unexpected(&token, "an attribute name")),
        }
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr`, from the word `word` at byte `start`.
    /// The URN is everything up to the last `:`, since attribute names cannot hold one.
    pub(super) fn parse_attr_path(&self, word: &str, start: usize) -> Parsed<AttrPath> {
        let invalid_path = |detail: &str| {
            self.error_at(
                start,
                format!(
                    "invalid attribute path {} at position {}: {detail}",
                    quote(word),
                    self.position(start)
                ),
            )
        };
        if word
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("filter="))
        {
            return Err(invalid_path(
                "\"filter=\" is the name of the query parameter and not part of the filter",
            ));
        }
        let (urn, rest, rest_start) = match word.rfind(':') {
            Some(colon) => (Some(&word[..colon]), &word[colon + 1..], start + colon + 1),
            None => (None, word, start),
        };
        if let Some(urn) = urn {
            self.check_urn(urn, word, start)?;
            if rest.is_empty() {
                return Err(invalid_path(
                    "it ends with \":\"; expected an attribute name after the schema URN",
                ));
            }
        }
        let mut parts = rest.splitn(3, '.');
        let attr = parts.next().unwrap_or("");
        let sub_attr = parts.next();
        if parts.next().is_some() {
            return Err(invalid_path(
                "an attribute path has at most one sub-attribute, as in name.familyName",
            ));
        }
        if attr.is_empty() {
            return Err(invalid_path("expected an attribute name before \".\""));
        }
        self.check_name(attr, rest_start)?;
        if let Some(sub) = sub_attr {
            if sub.is_empty() {
                return Err(invalid_path(
                    "it ends with \".\"; expected a sub-attribute name",
                ));
            }
            self.check_name(sub, rest_start + attr.len() + 1)?;
        }
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            attr: attr.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        })
    }

    /// `ATTRNAME = ALPHA *(nameChar)` (RFC 7643 §2.1), or `$ref`.
    pub(super) fn check_name(&self, name: &str, start: usize) -> Parsed<()> {
        if is_attr_name(name) {
            return Ok(());
        }
        Err(self.error_at(
            start,
            format!(
                "invalid attribute name {} at position {}: {NAME_RULE}",
                quote(name),
                self.position(start)
            ),
        ))
    }

    /// A schema URN such as `urn:ietf:params:scim:schemas:core:2.0:User`. RFC 7644 allows
    /// any URI here, but SCIM schema ids are URNs in practice; insisting on `urn:` turns a
    /// typo like `userName:x` into a clear error instead of an unknown schema.
    fn check_urn(&self, urn: &str, word: &str, start: usize) -> Parsed<()> {
        let problem = if !urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            Some(format!(
                "the part before the last \":\" ({}) is not a schema URN: it must start with \
                 \"urn:\"",
                quote(urn)
            ))
        } else if urn.split(':').any(str::is_empty) {
            Some(format!("the schema URN {} has an empty part", quote(urn)))
        } else {
            urn.chars()
                .find(|&c| !(c.is_ascii_alphanumeric() || ":.-_+%".contains(c)))
                .map(|c| {
                    format!(
                        "the schema URN {} contains {}, which is not allowed",
                        quote(urn),
                        quote(&c.to_string())
                    )
                })
        };
        match problem {
            None => Ok(()),
            Some(detail) => Err(self.error_at(
                start,
                format!(
                    "invalid attribute path {} at position {}: {detail}",
                    quote(word),
                    self.position(start)
                ),
            )),
        }
    }

    fn peek_keyword(&mut self, keyword: &str) -> Parsed<bool> {
        Ok(matches!(self.peek_kind()?, Kind::Word(w) if w.eq_ignore_ascii_case(keyword)))
    }

    /// After a whole filter: anything left over is an error.
    fn expect_end_of_filter(&mut self) -> Parsed<()> {
        let token = self.next()?;
        match token.kind {
            Kind::End => Ok(()),
            Kind::RParen | Kind::RBracket => {
                let open = if token.kind == Kind::RParen { "(" } else { "[" };
                Err(self.error_at(
                    token.start,
                    format!(
                        "unexpected {} at position {}: there is no \"{open}\" to close",
                        self.describe(&token),
                        self.position(token.start)
                    ),
                ))
            }
            _ => Err(self.unexpected(&token, "\"and\", \"or\" or the end of the filter")),
        }
    }
}

fn is_delimiter(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn is_logical_keyword(word: &str) -> bool {
    ["and", "or", "not"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

fn is_attr_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `text` in quotes for a message, cut short if long. Uses single quotes when the text
/// holds a double quote, so the message stays readable.
pub(super) fn quote(text: &str) -> String {
    let text = truncate(text);
    if text.contains('"') && !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("\"{text}\"")
    }
}

/// `text` cut to [`QUOTE_LIMIT`] characters, with control characters and line separators
/// written as escapes: a message quotes raw input, and must stay one line in a log or in
/// Okta's Tasks page whatever the input held.
fn truncate(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(QUOTE_LIMIT) {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&escape_control(c));
        } else {
            out.push(c);
        }
    }
    if text.chars().count() > QUOTE_LIMIT {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // --- helpers -----------------------------------------------------------------------

    fn parse(input: &str) -> Filter {
        parse_filter(input).unwrap_or_else(|e| panic!("{input:?} should parse, got: {e}"))
    }

    fn error(input: &str) -> FilterError {
        match parse_filter(input) {
            Ok(filter) => panic!("{input:?} should fail, parsed as {filter:?}"),
            Err(e) => e,
        }
    }

    /// `name` or `name.sub`, without a URN.
    fn path(text: &str) -> AttrPath {
        let (attr, sub_attr) = match text.split_once('.') {
            Some((a, s)) => (a, Some(s.to_owned())),
            None => (text, None),
        };
        AttrPath {
            urn: None,
            attr: attr.to_owned(),
            sub_attr,
        }
    }

    fn string(s: &str) -> Value {
        Value::String(s.to_owned())
    }

    fn number(s: &str) -> Value {
        Value::Number(Number::new(s).expect("valid number"))
    }

    fn cmp(attr: &str, op: CompareOp, value: Value) -> Filter {
        Filter::Compare(path(attr), op, value)
    }

    fn eq(attr: &str, value: &str) -> Filter {
        cmp(attr, CompareOp::Eq, string(value))
    }

    fn co(attr: &str, value: &str) -> Filter {
        cmp(attr, CompareOp::Co, string(value))
    }

    fn pr(attr: &str) -> Filter {
        Filter::Present(path(attr))
    }

    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }

    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }

    fn not(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }

    fn value_path(attr: &str, inner: Filter) -> Filter {
        Filter::ValuePath(path(attr), Box::new(inner))
    }

    fn assert_round_trips(input: &str) {
        let first = parse(input);
        let printed = first.to_string();
        let again = parse_filter(&printed)
            .unwrap_or_else(|e| panic!("{printed:?} (printed from {input:?}) fails: {e}"));
        assert_eq!(first, again, "{input:?} printed as {printed:?}");
    }

    /// The filters in RFC 7644 §3.4.2.2's example list, without the `filter=` prefix.
    const RFC_EXAMPLES: &[&str] = &[
        r#"userName Eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName eq "bjensen""#,
        r#"userName co "jensen""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];

    /// What Okta and Entra send when provisioning.
    const IDP_FILTERS: &[&str] = &[
        r#"userName eq "john@example.com""#,
        r#"externalId eq "00u1abc""#,
        r#"displayName eq "Engineering""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"userName EQ "john@example.com""#,
        r#"externalId eq "6a2c0a4e-5f1d-4e2b-9f0c-4e7d8b1a2c3d""#,
        r#"id eq "123" and members eq "456""#,
    ];

    // --- what identity providers send --------------------------------------------------

    #[test]
    fn okta_username_eq_filter() {
        assert_eq!(
            parse(r#"userName eq "john@example.com""#),
            eq("userName", "john@example.com")
        );
    }

    #[test]
    fn okta_external_id_eq_filter() {
        assert_eq!(
            parse(r#"externalId eq "00u1abc""#),
            eq("externalId", "00u1abc")
        );
    }

    #[test]
    fn okta_group_display_name_eq_filter() {
        assert_eq!(
            parse(r#"displayName eq "Engineering""#),
            eq("displayName", "Engineering")
        );
    }

    #[test]
    fn okta_last_modified_gt_filter() {
        assert_eq!(
            parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
            cmp(
                "meta.lastModified",
                CompareOp::Gt,
                string("2011-05-13T04:42:34Z")
            )
        );
    }

    #[test]
    fn entra_filter_with_uppercase_eq() {
        assert_eq!(
            parse(r#"userName EQ "john@example.com""#),
            eq("userName", "john@example.com")
        );
    }

    #[test]
    fn idp_filters_all_parse_and_round_trip() {
        for input in IDP_FILTERS {
            assert_round_trips(input);
        }
    }

    // --- attribute paths ---------------------------------------------------------------

    #[test]
    fn sub_attribute_path() {
        assert_eq!(
            parse(r#"name.familyName co "O'Malley""#),
            co("name.familyName", "O'Malley")
        );
    }

    #[test]
    fn urn_qualified_core_attribute() {
        let filter = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#);
        let expected = AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
            attr: "userName".into(),
            sub_attr: None,
        };
        assert_eq!(
            filter,
            Filter::Compare(expected, CompareOp::Sw, string("J"))
        );
    }

    #[test]
    fn urn_qualified_enterprise_attribute() {
        let filter = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        );
        let expected = AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            attr: "manager".into(),
            sub_attr: Some("value".into()),
        };
        assert_eq!(
            filter,
            Filter::Compare(
                expected,
                CompareOp::Eq,
                string("26118915-6090-4610-87e4-49d8ca9f808d")
            )
        );
    }

    #[test]
    fn dollar_ref_is_an_attribute_name() {
        assert_eq!(parse("members.$ref pr"), pr("members.$ref"));
        assert_eq!(parse("$ref pr"), pr("$ref"));
    }

    #[test]
    fn attribute_names_may_hold_digits_dashes_and_underscores() {
        assert_eq!(parse("x-custom_attr2 pr"), pr("x-custom_attr2"));
    }

    #[test]
    fn attribute_names_keep_their_case() {
        assert_eq!(parse("USERNAME pr"), pr("USERNAME"));
    }

    // --- operators and values ----------------------------------------------------------

    #[test]
    fn every_compare_operator_parses() {
        for (keyword, op) in [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ] {
            assert_eq!(
                parse(&format!(r#"title {keyword} "x""#)),
                cmp("title", op, string("x"))
            );
        }
    }

    #[test]
    fn present_operator_takes_no_value() {
        assert_eq!(parse("title pr"), pr("title"));
    }

    #[test]
    fn operators_are_case_insensitive() {
        for keyword in ["EQ", "Eq", "eQ"] {
            assert_eq!(parse(&format!(r#"a {keyword} "x""#)), eq("a", "x"));
        }
        assert_eq!(parse("title PR"), pr("title"));
        assert_eq!(parse("title Pr"), pr("title"));
    }

    #[test]
    fn logical_keywords_are_case_insensitive() {
        let expected = or(and(pr("a"), pr("b")), not(pr("c")));
        assert_eq!(parse("a pr AND b pr Or NOT (c pr)"), expected);
        assert_eq!(parse("a pr And b pr OR Not (c pr)"), expected);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            parse(r#"a eq "q\" b\\ s\/ \b\f\n\r\t""#),
            eq("a", "q\" b\\ s/ \u{8}\u{c}\n\r\t")
        );
    }

    #[test]
    fn unicode_escape_in_basic_plane() {
        assert_eq!(parse(r#"a eq "caf\u00e9 \u00E9""#), eq("a", "café é"));
    }

    #[test]
    fn unicode_escape_with_surrogate_pair() {
        assert_eq!(parse(r#"a eq "\ud83d\ude00!""#), eq("a", "😀!"));
    }

    #[test]
    fn raw_non_ascii_text_in_strings() {
        assert_eq!(
            parse(r#"displayName eq "Zoë 山田 😀""#),
            eq("displayName", "Zoë 山田 😀")
        );
    }

    #[test]
    fn empty_string_value() {
        assert_eq!(parse(r#"nickName eq """#), eq("nickName", ""));
    }

    #[test]
    fn number_values_keep_their_text() {
        for text in [
            "0", "42", "-7", "0.5", "-12.25", "1e3", "1E+3", "2.5e-10", "-0",
        ] {
            let filter = parse(&format!("a gt {text}"));
            assert_eq!(filter, cmp("a", CompareOp::Gt, number(text)));
            let Filter::Compare(_, _, Value::Number(n)) = filter else {
                unreachable!()
            };
            assert_eq!(n.as_str(), text);
            assert_eq!(n.as_f64(), text.parse::<f64>().unwrap());
        }
    }

    #[test]
    fn big_integers_are_kept_exactly() {
        let n = Number::new("12345678901234567890123").unwrap();
        assert_eq!(n.as_str(), "12345678901234567890123");
        assert_eq!(n.as_i64(), None);
        assert_eq!(Number::new("-9000").unwrap().as_i64(), Some(-9000));
        assert_eq!(Number::new("1e3").unwrap().as_i64(), None);
    }

    #[test]
    fn boolean_and_null_values() {
        assert_eq!(
            parse("active eq true"),
            cmp("active", CompareOp::Eq, Value::Bool(true))
        );
        assert_eq!(
            parse("active eq False"),
            cmp("active", CompareOp::Eq, Value::Bool(false))
        );
        assert_eq!(
            parse("title eq NULL"),
            cmp("title", CompareOp::Eq, Value::Null)
        );
    }

    #[test]
    fn value_may_touch_the_closing_parenthesis_or_bracket() {
        assert_eq!(parse("(a eq 1)"), cmp("a", CompareOp::Eq, number("1")));
        assert_eq!(
            parse("x[a eq true]"),
            value_path("x", cmp("a", CompareOp::Eq, Value::Bool(true)))
        );
    }

    // --- logic and precedence ----------------------------------------------------------

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse("a pr or b pr and c pr"),
            or(pr("a"), and(pr("b"), pr("c")))
        );
        assert_eq!(
            parse("a pr and b pr or c pr"),
            or(and(pr("a"), pr("b")), pr("c"))
        );
    }

    #[test]
    fn and_is_left_associative() {
        assert_eq!(
            parse("a pr and b pr and c pr"),
            and(and(pr("a"), pr("b")), pr("c"))
        );
    }

    #[test]
    fn or_is_left_associative() {
        assert_eq!(
            parse("a pr or b pr or c pr"),
            or(or(pr("a"), pr("b")), pr("c"))
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(parse("not (a pr) and b pr"), and(not(pr("a")), pr("b")));
    }

    #[test]
    fn not_without_space_before_parenthesis() {
        assert_eq!(parse("not(a pr)"), not(pr("a")));
    }

    #[test]
    fn not_requires_parentheses() {
        let e = error("not a pr");
        assert_eq!(
            e.message(),
            r#"unexpected "a" at position 4: expected "(" after "not" (write not (...) around the negated expression)"#
        );
        assert_eq!(e.position(), 4);
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(
            parse("(a pr or b pr) and c pr"),
            and(or(pr("a"), pr("b")), pr("c"))
        );
        assert_eq!(
            parse("a pr and (b pr or c pr)"),
            and(pr("a"), or(pr("b"), pr("c")))
        );
    }

    #[test]
    fn redundant_parentheses_leave_no_trace() {
        assert_eq!(parse("((a pr))"), pr("a"));
    }

    #[test]
    fn extra_whitespace_and_tabs_are_tolerated() {
        assert_eq!(
            parse("  \tuserName \t eq   \"x\"\tand  ( title  pr )  "),
            and(eq("userName", "x"), pr("title"))
        );
        assert_eq!(
            parse("emails[ type eq \"work\" ]"),
            value_path("emails", eq("type", "work"))
        );
    }

    // --- value filters -----------------------------------------------------------------

    #[test]
    fn value_filter_with_and_inside_brackets() {
        assert_eq!(
            parse(r#"emails[type eq "work" and value co "@example.com"]"#),
            value_path(
                "emails",
                and(eq("type", "work"), co("value", "@example.com"))
            )
        );
    }

    #[test]
    fn value_filters_combined_with_or() {
        assert_eq!(
            parse(
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#
            ),
            or(
                value_path(
                    "emails",
                    and(eq("type", "work"), co("value", "@example.com"))
                ),
                value_path("ims", and(eq("type", "xmpp"), co("value", "@foo.com"))),
            )
        );
    }

    #[test]
    fn value_filter_may_hold_not_and_parentheses() {
        assert_eq!(
            parse(r#"emails[not (type eq "home") and (primary eq true or value pr)]"#),
            value_path(
                "emails",
                and(
                    not(eq("type", "home")),
                    or(
                        cmp("primary", CompareOp::Eq, Value::Bool(true)),
                        pr("value")
                    )
                )
            )
        );
    }

    #[test]
    fn urn_qualified_value_filter() {
        let filter = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#);
        let Filter::ValuePath(attr, _) = filter else {
            panic!("expected a value path, got {filter:?}");
        };
        assert_eq!(
            attr.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(attr.attr, "emails");
    }

    #[test]
    fn nested_value_filters_are_rejected() {
        let e = error(r#"emails[type[value eq "x"]]"#);
        assert_eq!(
            e.message(),
            "nested value filter at position 11: a filter inside [...] cannot contain another [...]"
        );
    }

    #[test]
    fn entra_sub_attribute_after_value_filter_moves_inside_the_brackets() {
        // Microsoft Entra ID's SCIM guide: when the work email is a matching attribute, it
        // looks users up with `emails[type eq "work"].value eq "..."`.
        let expected = value_path(
            "emails",
            and(eq("type", "work"), eq("value", "user@contoso.com")),
        );
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "user@contoso.com""#),
            expected
        );
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "user@contoso.com""#),
            parse(r#"emails[type eq "work" and value eq "user@contoso.com"]"#)
        );
        // The bracketed filter keeps its own precedence, and `pr` works too.
        assert_eq!(
            parse(r#"emails[type eq "work" or type eq "home"].value pr and userName pr"#),
            and(
                value_path(
                    "emails",
                    and(or(eq("type", "work"), eq("type", "home")), pr("value"))
                ),
                pr("userName")
            )
        );
        assert_round_trips(r#"emails[type eq "work"].value eq "x""#);
    }

    #[test]
    fn sub_attribute_after_value_filter_must_be_one_name_and_a_condition() {
        assert_eq!(
            error(r#"emails[type eq "work"]. eq "x""#).message(),
            r#"missing sub-attribute name after "." at position 22: expected a name as in emails[type eq "work"].value"#
        );
        assert_eq!(
            error(r#"emails[type eq "work"].value.x eq "x""#).message(),
            r#"invalid sub-attribute ".value.x" at position 22: a filter has at most one sub-attribute after "]""#
        );
        assert_eq!(
            error(r#"emails[type eq "work"].9 eq "x""#).message(),
            r#"invalid attribute name "9" at position 23: attribute names start with a letter and contain only letters, digits, "-" and "_""#
        );
        assert_eq!(
            error(r#"emails[type eq "work"].value"#).message(),
            r#"unexpected end of filter after 'emails[type eq "work"].value': expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"#
        );
        assert_eq!(
            error(r#"emails[type eq "work"].value[type pr]"#).message(),
            r#"unexpected "[" at position 28: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"#
        );
    }

    #[test]
    fn value_filter_after_sub_attribute_is_rejected() {
        let e = error(r#"name.givenName[value eq "x"]"#);
        assert!(e.message().starts_with(r#"unexpected "[" at position 14: a value filter cannot follow the sub-attribute "name.givenName""#), "{e}");
    }

    #[test]
    fn empty_brackets_are_rejected() {
        assert_eq!(
            error("emails[]").message(),
            r#"unexpected "]" at position 7: expected an attribute name, "not" or "(""#
        );
    }

    // --- RFC examples and printing -----------------------------------------------------

    #[test]
    fn rfc_7644_examples_all_parse() {
        for input in RFC_EXAMPLES {
            parse(input);
        }
    }

    #[test]
    fn rfc_example_with_not_and_parentheses() {
        assert_eq!(
            parse(
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
            ),
            and(
                cmp("userType", CompareOp::Ne, string("Employee")),
                not(or(
                    co("emails", "example.com"),
                    co("emails.value", "example.org")
                ))
            )
        );
    }

    #[test]
    fn rfc_example_with_parenthesised_or() {
        assert_eq!(
            parse(
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#
            ),
            and(
                eq("userType", "Employee"),
                or(
                    co("emails", "example.com"),
                    co("emails.value", "example.org")
                )
            )
        );
    }

    #[test]
    fn rfc_example_present_and_eq() {
        assert_eq!(
            parse(r#"title pr and userType eq "Employee""#),
            and(pr("title"), eq("userType", "Employee"))
        );
    }

    #[test]
    fn display_is_canonical() {
        for (input, canonical) in [
            (r#"userName  EQ  "x""#, r#"userName eq "x""#),
            ("title PR", "title pr"),
            ("(a pr)", "a pr"),
            ("a pr and (b pr or c pr)", "a pr and (b pr or c pr)"),
            ("(a pr and b pr) or c pr", "a pr and b pr or c pr"),
            ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
            ("(a pr or b pr) or c pr", "a pr or b pr or c pr"),
            ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
            ("NOT(a pr)", "not (a pr)"),
            ("emails[ type eq \"work\" ]", r#"emails[type eq "work"]"#),
            (r#"a eq "\u0041\/\u0001""#, r#"a eq "A/\u0001""#),
            (r#"a eq "tab\there""#, r#"a eq "tab\there""#),
            ("a eq TRUE", "a eq true"),
            ("a eq Null", "a eq null"),
            ("a gt 1.50E+3", "a gt 1.50E+3"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr",
            ),
        ] {
            assert_eq!(parse(input).to_string(), canonical, "printing {input:?}");
        }
    }

    #[test]
    fn display_round_trips_rfc_and_idp_filters() {
        for input in RFC_EXAMPLES.iter().chain(IDP_FILTERS) {
            assert_round_trips(input);
        }
    }

    /// A tiny deterministic PRNG (xorshift64*), so the generated tests need no dependency
    /// and fail the same way every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    fn random_path(rng: &mut Rng) -> AttrPath {
        AttrPath {
            urn: (rng.below(4) == 0).then(|| {
                rng.pick(&[
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                ])
                .to_owned()
            }),
            attr: rng
                .pick(&["userName", "emails", "name", "x-y_z9", "$ref"])
                .to_owned(),
            sub_attr: (rng.below(3) == 0).then(|| {
                rng.pick(&["value", "type", "familyName", "$ref"])
                    .to_owned()
            }),
        }
    }

    fn random_value(rng: &mut Rng) -> Value {
        match rng.below(4) {
            0 => {
                let pieces = [
                    "a", "\"", "\\", "/", "\n", "\u{1}", "\u{7f}", "é", "😀", " ", "]", ")",
                ];
                let len = rng.below(6);
                Value::String((0..len).map(|_| rng.pick(&pieces)).collect())
            }
            1 => number(rng.pick(&[
                "0",
                "-1",
                "3.25",
                "1e10",
                "-2.5E-3",
                "123456789012345678901",
            ])),
            2 => Value::Bool(rng.below(2) == 0),
            _ => Value::Null,
        }
    }

    fn random_filter(rng: &mut Rng, depth: usize, in_value_filter: bool) -> Filter {
        let leaf = depth == 0 || rng.below(3) == 0;
        if leaf {
            return if rng.below(5) == 0 {
                Filter::Present(random_path(rng))
            } else {
                let op = CompareOp::from_keyword(
                    rng.pick(&["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]),
                )
                .unwrap();
                Filter::Compare(random_path(rng), op, random_value(rng))
            };
        }
        let sub = |rng: &mut Rng| Box::new(random_filter(rng, depth - 1, in_value_filter));
        match rng.below(if in_value_filter { 3 } else { 4 }) {
            0 => Filter::And(sub(rng), sub(rng)),
            1 => Filter::Or(sub(rng), sub(rng)),
            2 => Filter::Not(sub(rng)),
            _ => {
                let mut attr = random_path(rng);
                attr.sub_attr = None;
                Filter::ValuePath(attr, Box::new(random_filter(rng, depth - 1, true)))
            }
        }
    }

    #[test]
    fn display_round_trips_generated_filters() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let filter = random_filter(&mut rng, 5, false);
            let printed = filter.to_string();
            let parsed = parse_filter(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} does not parse: {e}\n{filter:?}"));
            assert_eq!(parsed, filter, "printed as {printed:?}");
        }
    }

    // --- errors ------------------------------------------------------------------------

    #[test]
    fn empty_filter_is_rejected() {
        for input in ["", "   ", "\t"] {
            assert_eq!(
                error(input).message(),
                r#"empty filter: expected an expression such as userName eq "john@example.com""#
            );
        }
    }

    #[test]
    fn missing_value_error_names_what_is_missing() {
        let e = error("userName eq");
        assert_eq!(
            e.message(),
            r#"unexpected end of filter after "userName eq": expected a value"#
        );
        assert_eq!(e.position(), 11);
        assert_eq!(
            error("userName eq  ").message(),
            r#"unexpected end of filter after "userName eq": expected a value"#
        );
    }

    #[test]
    fn missing_operator_error_lists_operators() {
        assert_eq!(
            error("userName").message(),
            r#"unexpected end of filter after "userName": expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"#
        );
        assert_eq!(
            error(r#"userName "x""#).message(),
            r#"unexpected string "x" at position 9: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"#
        );
    }

    #[test]
    fn unknown_operator_error_names_operator_and_position() {
        let e = error(r#"userName equals "x""#);
        assert_eq!(
            e.message(),
            r#"unknown operator "equals" at position 9: expected one of eq, ne, co, sw, ew, gt, ge, lt, le or pr"#
        );
        assert_eq!(e.position(), 9);
    }

    #[test]
    fn unterminated_string_error_points_at_opening_quote() {
        let e = error(r#"userName eq "john"#);
        assert_eq!(
            e.message(),
            r#"unterminated string starting at position 12: expected a closing ""#
        );
        assert_eq!(e.position(), 12);
        // A trailing backslash escapes the closing quote, so the string never ends.
        assert_eq!(error(r#"a eq "x\""#).position(), 5);
    }

    #[test]
    fn error_message_quotes_with_single_quotes_around_double_quotes() {
        assert_eq!(
            error(r#"userName eq "x" and"#).message(),
            r#"unexpected end of filter after 'userName eq "x" and': expected an attribute name, "not" or "(""#
        );
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let input = format!("{} eq", "a".repeat(100));
        let message = error(&input).message().to_owned();
        assert!(
            message.starts_with("unexpected end of filter after \"…"),
            "{message}"
        );
        assert!(message.len() < 150, "{message}");
    }

    #[test]
    fn messages_stay_one_line_whatever_the_input_holds() {
        // Found by the `filter` fuzz target: the input was quoted with its line break.
        assert_eq!(
            error("\nz").message(),
            r#"unexpected end of filter after "z": expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"#
        );
        assert_eq!(
            error("a\neq").message(),
            r#"unexpected end of filter after "a\neq": expected a value"#
        );
        assert_eq!(
            error("a\u{1}b pr").message(),
            r#"invalid attribute name "a\u0001b" at position 0: attribute names start with a letter and contain only letters, digits, "-" and "_""#
        );
        assert_eq!(
            error("a\u{2028}eq").message(),
            r#"unexpected end of filter after "a\u2028eq": expected a value"#
        );
        assert_eq!(
            error("a eq 1\r\n]").message(),
            r#"unexpected "]" at position 8: there is no "[" to close"#
        );
    }

    #[test]
    fn invalid_escape_is_rejected() {
        assert_eq!(
            error(r#"a eq "x\q""#).message(),
            r#"invalid escape "\q" in string at position 7: expected one of \" \\ \/ \b \f \n \r \t or \uXXXX"#
        );
    }

    #[test]
    fn invalid_unicode_escape_is_rejected() {
        assert_eq!(
            error(r#"a eq "\u12G4""#).message(),
            r#"invalid unicode escape "\u12G" in string at position 6: expected four hex digits after \u"#
        );
        assert_eq!(
            error(r#"a eq "\u12"#).message(),
            r#"unterminated string starting at position 5: expected a closing ""#
        );
    }

    #[test]
    fn lone_surrogates_are_rejected() {
        for input in [
            r#"a eq "\ud83d""#,
            r#"a eq "\ud83dx""#,
            r#"a eq "\ud83d\u0041""#,
            r#"a eq "\ude00""#,
        ] {
            let e = error(input);
            assert!(
                e.message().starts_with("unpaired surrogate"),
                "{input}: {e}"
            );
            assert_eq!(e.position(), 6, "{input}");
        }
    }

    #[test]
    fn control_character_in_string_is_rejected() {
        assert_eq!(
            error("a eq \"line\nbreak\"").message(),
            r#"control character U+000A in string at position 10 must be escaped as \n"#
        );
    }

    #[test]
    fn other_control_characters_get_a_unicode_escape_hint() {
        assert_eq!(
            error("a eq \"\u{1}\"").message(),
            r#"control character U+0001 in string at position 6 must be escaped as \u0001"#
        );
    }

    #[test]
    fn unquoted_string_value_is_rejected() {
        assert_eq!(
            error("userName eq john@example.com").message(),
            r#"invalid value "john@example.com" at position 12: expected a string in double quotes, a number, true, false or null"#
        );
        assert!(error("userName eq 'john'")
            .message()
            .starts_with("invalid value"));
    }

    #[test]
    fn invalid_numbers_are_rejected() {
        for bad in [
            "01", "1.", ".5", "-", "1e", "1e+", "--1", "1.2.3", "0x10", "1_000", "-.5",
        ] {
            let e = error(&format!("a eq {bad}"));
            let expected = if bad.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                "invalid number"
            } else {
                "invalid value"
            };
            assert!(e.message().starts_with(expected), "{bad}: {e}");
            assert_eq!(e.position(), 5, "{bad}");
        }
    }

    #[test]
    fn number_out_of_range_is_rejected() {
        assert_eq!(
            error("a eq 1e999").message(),
            r#"number "1e999" at position 5 is out of range"#
        );
        assert_eq!(Number::new("1e999"), None);
        assert_eq!(Number::new("abc"), None);
    }

    #[test]
    fn unbalanced_parentheses_are_rejected() {
        assert_eq!(
            error("(a pr").message(),
            r#"unexpected end of filter after "(a pr": expected "and", "or" or ")" to close the "(" at position 0"#
        );
        assert_eq!(
            error("a pr)").message(),
            r#"unexpected ")" at position 4: there is no "(" to close"#
        );
        assert_eq!(
            error("(a pr]").message(),
            r#"unexpected "]" at position 5: expected "and", "or" or ")" to close the "(" at position 0"#
        );
        assert_eq!(
            error("a pr]").message(),
            r#"unexpected "]" at position 4: there is no "[" to close"#
        );
        assert_eq!(
            error("()").message(),
            r#"unexpected ")" at position 1: expected an attribute name, "not" or "(""#
        );
    }

    #[test]
    fn unclosed_bracket_is_rejected() {
        assert_eq!(
            error(r#"emails[type eq "work""#).message(),
            r#"unexpected end of filter after 'emails[type eq "work"': expected "and", "or" or "]" to close the "[" at position 6"#
        );
    }

    #[test]
    fn missing_operand_after_and_or() {
        assert!(error("a pr and")
            .message()
            .ends_with(r#"expected an attribute name, "not" or "(""#));
        assert!(error("a pr or")
            .message()
            .ends_with(r#"expected an attribute name, "not" or "(""#));
        assert_eq!(
            error("a pr and or b pr").message(),
            r#"unexpected "or" at position 9: expected an attribute name, "not" or "(""#
        );
    }

    #[test]
    fn trailing_text_is_rejected() {
        assert_eq!(
            error(r#"a eq "x" b"#).message(),
            r#"unexpected "b" at position 9: expected "and", "or" or the end of the filter"#
        );
        assert_eq!(
            error(r#"title pr "x""#).message(),
            r#"unexpected string "x" at position 9: expected "and", "or" or the end of the filter"#
        );
    }

    #[test]
    fn logical_keyword_is_not_an_attribute() {
        assert_eq!(
            error("and pr").message(),
            r#"unexpected "and" at position 0: expected an attribute name, "not" or "(""#
        );
    }

    #[test]
    fn quoted_attribute_name_is_rejected() {
        assert_eq!(
            error(r#""userName" eq "x""#).message(),
            r#"unexpected string "userName" at position 0: expected an attribute name, "not" or "(""#
        );
    }

    #[test]
    fn invalid_attribute_names_are_rejected() {
        assert_eq!(
            error("user@name pr").message(),
            r#"invalid attribute name "user@name" at position 0: attribute names start with a letter and contain only letters, digits, "-" and "_""#
        );
        assert!(error("1abc pr")
            .message()
            .starts_with(r#"invalid attribute name "1abc""#));
        assert!(error("name._x pr")
            .message()
            .starts_with(r#"invalid attribute name "_x" at position 5"#));
        assert!(error("$refs pr")
            .message()
            .starts_with("invalid attribute name"));
    }

    #[test]
    fn attribute_path_with_two_dots_is_rejected() {
        assert_eq!(
            error("a.b.c pr").message(),
            r#"invalid attribute path "a.b.c" at position 0: an attribute path has at most one sub-attribute, as in name.familyName"#
        );
    }

    #[test]
    fn attribute_path_with_empty_parts_is_rejected() {
        assert!(error("name. pr")
            .message()
            .contains(r#"it ends with "."; expected a sub-attribute name"#));
        assert!(error(".value pr")
            .message()
            .contains(r#"expected an attribute name before ".""#));
        assert!(error("urn:ietf:params:scim:schemas:core:2.0:User: pr")
            .message()
            .contains("expected an attribute name after the schema URN"));
    }

    #[test]
    fn prefix_that_is_not_a_urn_is_rejected() {
        assert_eq!(
            error(r#"userName:x eq "y""#).message(),
            r#"invalid attribute path "userName:x" at position 0: the part before the last ":" ("userName") is not a schema URN: it must start with "urn:""#
        );
        assert!(error("urn::x pr").message().contains("has an empty part"));
        assert!(error("urn:a@b:x pr")
            .message()
            .contains(r#"contains "@", which is not allowed"#));
    }

    #[test]
    fn filter_query_parameter_name_is_explained() {
        assert!(error(r#"filter=userName eq "x""#)
            .message()
            .contains(r#""filter=" is the name of the query parameter"#));
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        // "é" and "山" take several bytes each but are one character to the reader.
        let e = error(r#"a eq "é山" zz"#);
        assert_eq!(e.position(), 10);
        assert!(e.message().contains("at position 10"), "{e}");
    }

    #[test]
    fn non_ascii_attribute_name_is_rejected() {
        assert_eq!(
            error("prénom pr").message(),
            r#"invalid attribute name "prénom" at position 0: attribute names start with a letter and contain only letters, digits, "-" and "_""#
        );
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok), pr("a"));
        let too_deep = format!(
            "{}a pr{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            error(&too_deep).message(),
            format!("filter is nested too deeply at position {MAX_DEPTH}: at most {MAX_DEPTH} levels of parentheses and brackets are allowed")
        );
        let nots = format!("{}a pr{}", "not (".repeat(200), ")".repeat(200));
        assert!(error(&nots).message().contains("nested too deeply"));
    }

    #[test]
    fn long_input_is_rejected() {
        let input = format!("a eq \"{}\"", "x".repeat(MAX_INPUT_BYTES));
        assert_eq!(
            error(&input).message(),
            format!(
                "filter is too long: {} bytes, at most {MAX_INPUT_BYTES} are allowed",
                input.len()
            )
        );
    }

    #[test]
    fn longest_flat_filter_parses_and_drops() {
        // About 500 left-nested `or`s: a deep tree, built and dropped without recursion
        // trouble.
        let mut input = String::from("a pr");
        while input.len() + 8 <= MAX_INPUT_BYTES {
            input.push_str(" or a pr");
        }
        let filter = parse(&input);
        assert_eq!(parse(&filter.to_string()), filter);
    }

    #[test]
    fn malformed_inputs_never_panic() {
        let mut inputs: Vec<String> = Vec::new();
        // Every prefix and suffix of every valid filter.
        for valid in RFC_EXAMPLES.iter().chain(IDP_FILTERS).chain(&[
            r#"a eq "\ud83d\ude00 \u00e9 \n" and b gt -1.5e3 or not (c pr)"#,
            r#"emails[type eq "wörk" and not (value ew "山")]"#,
        ]) {
            for (i, _) in valid.char_indices() {
                inputs.push(valid[..i].to_owned());
                inputs.push(valid[i..].to_owned());
            }
        }
        // Hand-picked garbage.
        for garbage in [
            "(",
            ")",
            "[",
            "]",
            "\"",
            "\\",
            "\"\\",
            "\"\\u",
            "\"\\ud800\\",
            "((((",
            "]]]]",
            "[[",
            "a[b[c[d",
            "not",
            "not (",
            "not not",
            "and",
            "or or or",
            "pr",
            "eq eq eq",
            "a eq \"\\uDBFF\\uDFFF\"",
            "a eq \"\\u0000\"",
            ":",
            "::",
            "urn:",
            "urn:x:",
            "a:b:c",
            ".",
            "..",
            "a.",
            ".a",
            "$",
            "$ref",
            "😀",
            "a eq 😀",
            "😀 eq 1",
            "a eq \"😀",
            "\u{0}",
            "a\u{0}b pr",
            "a eq -",
            "a eq 1e",
            "\u{feff}a pr",
            "a\u{a0}eq\u{a0}1",
            "a eq \"\u{10FFFF}\"",
            "é[é eq é]",
            "a[b pr].c",
            "a[b pr]]",
            "a pr and (b pr]",
        ] {
            inputs.push(garbage.to_owned());
        }
        // Pseudo-random sequences of filter-ish pieces.
        let pieces = [
            "a",
            "b.c",
            "urn:x:y:z",
            " ",
            "\t",
            "(",
            ")",
            "[",
            "]",
            "\"",
            "\\",
            "\\u",
            "d8",
            "3d",
            "eq",
            "pr",
            "and",
            "or",
            "not",
            "1",
            "-",
            ".",
            "e",
            "é",
            "😀",
            ":",
            "true",
        ];
        let mut rng = Rng(42);
        for _ in 0..5000 {
            let len = rng.below(12);
            inputs.push((0..len).map(|_| rng.pick(&pieces)).collect());
        }
        for input in &inputs {
            if let Err(e) = parse_filter(input) {
                // Every message is one line and names a position inside the input.
                assert!(
                    !e.message().is_empty() && !e.message().contains('\n'),
                    "{input:?}: {e}"
                );
                assert!(e.position() <= input.chars().count(), "{input:?}: {e}");
            }
        }
    }
}
