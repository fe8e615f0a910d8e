//! SCIM filters (RFC 7644 §3.4.2.2) and `sortBy` (§3.4.2.3) translated to SQL, so that list
//! requests are answered by the database instead of by loading every resource.
//!
//! The output is a fragment for `SELECT … FROM users WHERE <fragment>` (or `user_groups`),
//! with `$n` placeholders and the values to bind, for SQLite and PostgreSQL through sqlx's
//! `Any` driver. The table is referenced by its plain name (`users.id`), so callers must not
//! alias it.
//!
//! **Injection safety.** Table, column and function names come from fixed lists in this file;
//! attribute names only select entries of those lists (or of the static schema, whose
//! canonical names become JSON keys). Every value from the filter and every JSON path is a
//! bound parameter, never SQL text. The only things interpolated are `$n` numbers.
//!
//! **Where each attribute is read.** The filters identity providers send on every sync hit
//! indexed columns: `userName` compares `users.user_name_key` (lower-cased in Rust, unique
//! index) with the lower-cased value, `externalId` and `id` their columns,
//! `meta.lastModified` the millisecond `updated_at` column, a Group's `displayName`
//! `display_name_key`. `meta.created` and a User's `active` are read from their columns
//! too, which have no index (no IdP filters on them alone). Group membership (`members`, a User's
//! `groups`) is read from `group_members`. Everything else is read from the stored JSON in
//! `resource`: SQLite `json_extract`/`json_each`, PostgreSQL `jsonb_extract_path_text`/
//! `jsonb_array_elements` on `resource::jsonb`. `emails` is read from the JSON too: the
//! `primary_email` column holds one address, and a user may have several.
//!
//! **Semantics**, with their reasons:
//! - Every comparison is TRUE or FALSE, never NULL, because `not (title eq "x")` must match
//!   users without a title (and `title ne "x"` does too). JSON comparisons are wrapped as
//!   `COALESCE(…, FALSE)`; nullable columns get `… AND col IS NOT NULL` instead, which unlike
//!   `COALESCE` leaves the comparison usable by an index; NOT NULL columns need neither.
//! - `caseExact: false` strings compare `lower(x)` with the value lower-cased in Rust. On
//!   SQLite `lower()` folds ASCII only, and on PostgreSQL it follows the database's
//!   `LC_CTYPE`, so for JSON attributes and a User's `displayName` non-ASCII letters match
//!   only in the case they are stored in on SQLite. `userName` and a Group's `displayName`
//!   compare keys lower-cased in Rust and are fully case-insensitive on both databases.
//! - `co`/`sw`/`ew` are `LIKE … ESCAPE '\'` with `%`, `_` and `\` escaped. SQLite's `LIKE`
//!   ignores ASCII case, so case-exact attributes (`externalId`, `id`) use `GLOB` there, with
//!   `*`, `?` and `[` escaped.
//! - `gt`/`ge`/`lt`/`le` on strings compare code points on both databases (`COLLATE "C"` on
//!   PostgreSQL, SQLite's default `BINARY`), so a page boundary is the same on both.
//! - dateTimes are compared as instants: the RFC 3339 value becomes epoch milliseconds, the
//!   stored precision, exactly (`gt "…00.4999Z"` means `> …000`, `ge` `>= …001`).
//! - A multi-valued attribute matches when *some* value matches (RFC 7644 §3.4.2.2): a bare
//!   `emails co "x"` compares each email's `value`; `emails.type ne "work"` matches a user
//!   with one non-work email, and no user without emails. `emails[type eq "work" and value co
//!   "@x"]` needs one email satisfying both.
//! - `x eq null` is `not (x pr)` and `x ne null` is `x pr`; `pr` means present and not
//!   empty (not NULL, not `""`, for multi-valued at least one value).
//! - `active eq true` reads the column, which is true when the resource has no `active`
//!   (Gatehouse treats such a user as active); `active pr` reads the JSON, i.e. whether a GET
//!   shows the attribute.
//! - Group member values and a User's group values are ids and are compared exactly (as
//!   `id` is, RFC 7643 §3.1), which also keeps `group_members`' indexes usable.
//! - Filters the store cannot answer faithfully are refused with `invalidFilter` naming the
//!   attribute: unknown attributes and sub-attributes (even though unknown sub-attributes
//!   are stored), `password`, `meta.location`, `members.display`, and value types that do
//!   not fit (`active gt true`, `title co 5`, `userName eq true`).

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::Any;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter, Value};
use super::path::parse_path;
use super::resource::parse_bool;
use super::schema::{find_attribute, find_common_attribute, AttrType, Attribute, SchemaKind};
use crate::store::Backend;

/// Most bound parameters one filter (or sort key) may need. Real filters need one to four;
/// the cap bounds the size of the statement a client can make us prepare, well under both
/// databases' limits.
pub const MAX_PARAMS: usize = 200;

/// A value to bind, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// SQL text with `$n` placeholders numbered from the `first_placeholder` the caller passed,
/// and the values for them in order: `params[i]` binds `$(first_placeholder + i)`, so the
/// caller's next free placeholder is `first_placeholder + params.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFragment {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// The direction of `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    /// Reads the `sortOrder` parameter: absent means ascending, and the keywords are
    /// case-insensitive (RFC 7644 §3.4.2.3).
    pub fn parse(value: Option<&str>) -> Result<SortOrder, ScimError> {
        match value.map(str::trim) {
            None | Some("") => Ok(SortOrder::Ascending),
            Some(v) if v.eq_ignore_ascii_case("ascending") => Ok(SortOrder::Ascending),
            Some(v) if v.eq_ignore_ascii_case("descending") => Ok(SortOrder::Descending),
            Some(v) => Err(ScimError::invalid_value(format!(
                "sortOrder \"{v}\" is not supported: use \"ascending\" or \"descending\"."
            ))),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ASC",
            SortOrder::Descending => "DESC",
        }
    }
}

/// The WHERE-clause condition for `filter` over the `users` table (`SchemaKind::User`) or
/// `user_groups` (`SchemaKind::Group`), with placeholders numbered from `first_placeholder`
/// (at least 1). Errors are `invalidFilter` with a message for the admin.
pub fn where_clause(
    filter: &Filter,
    kind: SchemaKind,
    backend: Backend,
    first_placeholder: usize,
) -> Result<SqlFragment, ScimError> {
    let mut b = Builder::new(kind, backend, first_placeholder, Purpose::Filter);
    let sql = b.compile(filter, &Scope::Top)?;
    Ok(b.finish(sql))
}

/// The sort key for `sortBy` (RFC 7644 §3.4.2.3): a column or JSON value, lower-cased for
/// `caseExact: false` strings; for a multi-valued attribute (`emails`, `emails.type`), the
/// primary value's, else the first value's. The expression is NULL for resources without
/// the attribute; SQLite sorts NULLs first and PostgreSQL last, so prefer [`order_by`],
/// which places them as the RFC says on both.
///
/// Errors are `invalidValue` (RFC 7644 defines no `scimType` for sorting; the RFC's
/// `invalidValue` is "not compatible with the … resource schema"): an unknown attribute is
/// refused rather than ignored, so a typo in `sortBy` is not mistaken for an order.
pub fn sort_expression(
    sort_by: &str,
    kind: SchemaKind,
    backend: Backend,
    first_placeholder: usize,
) -> Result<SqlFragment, ScimError> {
    let path = parse_sort_by(sort_by)?;
    let mut b = Builder::new(kind, backend, first_placeholder, Purpose::Sort);
    let sql = b.sort_key(&path)?;
    Ok(b.finish(sql))
}

/// A complete `ORDER BY` list for `sortBy` and `sortOrder`: resources without a value come
/// last when ascending and first when descending (RFC 7644 §3.4.2.3) on both databases, and
/// the table's `id` breaks ties so that `startIndex` pages are stable.
pub fn order_by(
    sort_by: &str,
    order: SortOrder,
    kind: SchemaKind,
    backend: Backend,
    first_placeholder: usize,
) -> Result<SqlFragment, ScimError> {
    let path = parse_sort_by(sort_by)?;
    let mut b = Builder::new(kind, backend, first_placeholder, Purpose::Sort);
    // The key appears twice and each appearance gets its own placeholders: PostgreSQL infers
    // a parameter's type from one use, and fresh numbers keep that trivially true.
    let missing = b.sort_key(&path)?;
    let key = b.sort_key(&path)?;
    let dir = order.sql();
    let table = b.table;
    Ok(b.finish(format!(
        "({missing}) IS NULL {dir}, {key} {dir}, {table}.id ASC"
    )))
}

/// Queries that take bound values; implemented for sqlx's `query`, `query_as` and
/// `query_scalar` over `Any`, so [`bind_all`] works with each.
pub trait BindParam: Sized {
    fn bind_param(self, param: SqlParam) -> Self;
}

macro_rules! bind_param_impl {
    () => {
        fn bind_param(self, param: SqlParam) -> Self {
            match param {
                SqlParam::Text(v) => self.bind(v),
                SqlParam::Int(v) => self.bind(v),
                SqlParam::Float(v) => self.bind(v),
                SqlParam::Bool(v) => self.bind(v),
            }
        }
    };
}

impl<'q> BindParam for Query<'q, Any, AnyArguments<'q>> {
    bind_param_impl!();
}

impl<'q, O> BindParam for QueryAs<'q, Any, O, AnyArguments<'q>> {
    bind_param_impl!();
}

impl<'q, O> BindParam for QueryScalar<'q, Any, O, AnyArguments<'q>> {
    bind_param_impl!();
}

/// Binds `params` in order. Placeholders the caller numbered before the fragment must be
/// bound first, and those after it afterwards.
pub fn bind_all<Q: BindParam>(query: Q, params: impl IntoIterator<Item = SqlParam>) -> Q {
    params.into_iter().fold(query, Q::bind_param)
}

// ---------------------------------------------------------------------------------------
// Resolution: what an attribute path refers to.
// ---------------------------------------------------------------------------------------

/// How a text column or expression is made case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    /// The column already holds the value lower-cased in Rust (`user_name_key`).
    Key,
    /// Case-insensitive: compare `lower(x)` with the value lower-cased in Rust.
    Lower,
    /// Case-exact.
    Exact,
}

/// Where JSON is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    /// The row's `resource`.
    Resource,
    /// The current element `e.value` of an array being iterated.
    Element,
}

/// One value a comparison can read.
#[derive(Debug, Clone)]
enum Scalar {
    /// A text column; `column` is a whitelisted `table.column`, which may hold NULL when
    /// `nullable`.
    Text {
        column: String,
        fold: Fold,
        nullable: bool,
    },
    /// A boolean column extracted from the resource's `json_key`, which `pr` reads.
    Bool {
        column: String,
        json_key: &'static str,
    },
    /// A column of epoch milliseconds (`meta.created`, `meta.lastModified`).
    Millis(String),
    /// The version column, rendered as `W/"n"` in `meta.version`.
    Version(String),
    /// A value in the JSON at `keys` under `src`, typed by `attr`.
    Json {
        src: Src,
        keys: Vec<&'static str>,
        attr: &'static Attribute,
    },
    /// A value that is the same for every row (`meta.resourceType`, `members.type`).
    Const {
        value: &'static str,
        case_exact: bool,
    },
}

/// Which side of `group_members` an attribute reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A Group's `members`: rows with `m.group_id = user_groups.id`.
    GroupMembers,
    /// A User's `groups`: rows with `m.user_id = users.id`.
    UserGroups,
}

/// What a top-level attribute path refers to.
#[derive(Debug, Clone)]
enum Resolved {
    Scalar(Scalar),
    /// A single-valued complex attribute in the JSON (`name`, the enterprise `manager`).
    Object(Vec<&'static str>, &'static Attribute),
    /// A multi-valued complex attribute in the JSON, optionally one sub-attribute of it.
    Array {
        keys: Vec<&'static str>,
        attr: &'static Attribute,
        sub: Option<&'static Attribute>,
    },
    /// Group membership, optionally one sub-attribute of it.
    Membership {
        side: Side,
        attr: &'static Attribute,
        sub: Option<&'static Attribute>,
    },
    /// `meta` itself, which every resource has.
    Meta(&'static Attribute),
}

/// Where the names in a filter resolve.
#[derive(Debug, Clone)]
enum Scope {
    /// Names are attributes of the resource.
    Top,
    /// Inside `attr[...]`: names are sub-attributes of `attr`, read from `base`.
    Within {
        attr: &'static Attribute,
        base: Base,
    },
}

#[derive(Debug, Clone)]
enum Base {
    /// One element `e` of a JSON array being iterated.
    Element,
    /// The single-valued complex attribute at these keys of the resource.
    Object(Vec<&'static str>),
    /// One row `m` of `group_members`.
    Members(Side),
}

/// What the SQL is for, which decides the `scimType` of errors and the words in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Filter,
    Sort,
}

struct Builder {
    backend: Backend,
    kind: SchemaKind,
    /// The table's plain name, from the whitelist in [`table_of`].
    table: &'static str,
    first: usize,
    params: Vec<SqlParam>,
    purpose: Purpose,
    /// Set while compiling the condition of a `groups` EXISTS when it reads the group's
    /// name, so that the subquery joins `user_groups` only when it has to.
    joins_groups: bool,
}

fn table_of(kind: SchemaKind) -> &'static str {
    match kind {
        SchemaKind::User => "users",
        SchemaKind::Group => "user_groups",
    }
}

impl Builder {
    fn new(kind: SchemaKind, backend: Backend, first: usize, purpose: Purpose) -> Builder {
        debug_assert!(first >= 1, "placeholders start at $1");
        Builder {
            backend,
            kind,
            table: table_of(kind),
            first: first.max(1),
            params: Vec::new(),
            purpose,
            joins_groups: false,
        }
    }

    fn finish(self, sql: String) -> SqlFragment {
        SqlFragment {
            sql,
            params: self.params,
        }
    }

    fn error(&self, detail: String) -> ScimError {
        match self.purpose {
            Purpose::Filter => ScimError::invalid_filter(detail),
            Purpose::Sort => ScimError::invalid_value(detail),
        }
    }

    /// Adds a bound value and returns its placeholder.
    fn bind(&mut self, param: SqlParam) -> Result<String, ScimError> {
        if self.params.len() >= MAX_PARAMS {
            return Err(self.error(format!(
                "The {} is too complex: it would need more than {MAX_PARAMS} query parameters. \
                 Split it into several simpler requests.",
                match self.purpose {
                    Purpose::Filter => "filter",
                    Purpose::Sort => "sortBy",
                }
            )));
        }
        self.params.push(param);
        Ok(format!("${}", self.first + self.params.len() - 1))
    }

    fn text(&mut self, value: impl Into<String>) -> Result<String, ScimError> {
        self.bind(SqlParam::Text(value.into()))
    }

    // --- JSON access ------------------------------------------------------------------

    fn src(&self, src: Src) -> String {
        match (src, self.backend) {
            (Src::Resource, Backend::Sqlite) => format!("{}.resource", self.table),
            (Src::Resource, Backend::Postgres) => format!("{}.resource::jsonb", self.table),
            (Src::Element, _) => "e.value".to_owned(),
        }
    }

    /// The PostgreSQL path arguments: one text parameter per key.
    fn pg_keys(&mut self, keys: &[&'static str]) -> Result<String, ScimError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.text(*key)?);
        }
        Ok(out.join(", "))
    }

    /// The SQLite path parameter, such as `$."name"."familyName"`.
    fn sqlite_path(&mut self, keys: &[&'static str]) -> Result<String, ScimError> {
        self.text(sqlite_path(keys))
    }

    /// The scalar at `keys` as SQL text (NULL when absent). On SQLite a JSON boolean comes
    /// back as 0/1, on PostgreSQL as 'true'/'false'; both sort false first.
    fn json_text(&mut self, src: Src, keys: &[&'static str]) -> Result<String, ScimError> {
        let from = self.src(src);
        Ok(match self.backend {
            Backend::Sqlite => format!("json_extract({from}, {})", self.sqlite_path(keys)?),
            Backend::Postgres => {
                format!("jsonb_extract_path_text({from}, {})", self.pg_keys(keys)?)
            }
        })
    }

    /// 'true' or 'false' for a JSON boolean at `keys`, the same text on both databases
    /// (SQLite's `json_type` names the two boolean values).
    fn json_bool(&mut self, src: Src, keys: &[&'static str]) -> Result<String, ScimError> {
        match self.backend {
            Backend::Sqlite => {
                let from = self.src(src);
                Ok(format!("json_type({from}, {})", self.sqlite_path(keys)?))
            }
            Backend::Postgres => self.json_text(src, keys),
        }
    }

    /// The JSON type name at `keys` ('object' and 'array' are spelled alike on both).
    fn json_type(&mut self, src: Src, keys: &[&'static str]) -> Result<String, ScimError> {
        let from = self.src(src);
        Ok(match self.backend {
            Backend::Sqlite => format!("json_type({from}, {})", self.sqlite_path(keys)?),
            Backend::Postgres => format!(
                "jsonb_typeof(jsonb_extract_path({from}, {}))",
                self.pg_keys(keys)?
            ),
        })
    }

    /// A FROM item yielding the array at `keys` of the resource as rows `e` with column
    /// `value`; `with_position` adds `n`, the position (SQLite's `e.key`), for sorting.
    /// PostgreSQL's `jsonb_array_elements` fails on a non-array, so it gets `[]` instead.
    fn elements(
        &mut self,
        keys: &[&'static str],
        with_position: bool,
    ) -> Result<String, ScimError> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.sqlite_path(keys)?;
                Ok(format!("json_each({}.resource, {path}) AS e", self.table))
            }
            Backend::Postgres => {
                let from = self.src(Src::Resource);
                let test = format!("jsonb_extract_path({from}, {})", self.pg_keys(keys)?);
                let array = format!("jsonb_extract_path({from}, {})", self.pg_keys(keys)?);
                let columns = if with_position {
                    " WITH ORDINALITY AS e(value, n)"
                } else {
                    " AS e(value)"
                };
                Ok(format!(
                    "jsonb_array_elements(CASE WHEN jsonb_typeof({test}) = 'array' \
                     THEN {array} ELSE '[]'::jsonb END){columns}"
                ))
            }
        }
    }

    /// `EXISTS` over the rows of `group_members` on `side` of the current row.
    fn membership_exists(&mut self, side: Side, cond: Option<String>) -> String {
        let join = std::mem::take(&mut self.joins_groups);
        let (from, link) = match side {
            Side::GroupMembers => (
                "group_members m".to_owned(),
                format!("m.group_id = {}.id", self.table),
            ),
            Side::UserGroups => (
                if join {
                    "group_members m JOIN user_groups g ON g.id = m.group_id".to_owned()
                } else {
                    "group_members m".to_owned()
                },
                format!("m.user_id = {}.id", self.table),
            ),
        };
        match cond {
            Some(cond) => format!("EXISTS (SELECT 1 FROM {from} WHERE {link} AND {cond})"),
            None => format!("EXISTS (SELECT 1 FROM {from} WHERE {link})"),
        }
    }

    fn collate(&self, expr: String) -> String {
        match self.backend {
            Backend::Sqlite => expr,
            Backend::Postgres => format!("{expr} COLLATE \"C\""),
        }
    }

    // --- Resolution -------------------------------------------------------------------

    fn resolve(&mut self, path: &AttrPath, scope: &Scope) -> Result<Resolved, ScimError> {
        match scope {
            Scope::Top => self.resolve_top(path),
            Scope::Within { attr, base } => self.resolve_within(path, attr, base),
        }
    }

    /// Looks `path` up like PATCH does: URN-qualified names in that schema (the core one
    /// also holding `id`, `externalId` and `meta`), unqualified names in the core schema,
    /// the common attributes, then the extensions. Names are case-insensitive.
    fn resolve_top(&mut self, path: &AttrPath) -> Result<Resolved, ScimError> {
        let kind = self.kind;
        let core = kind.core();
        let unknown = |b: &Builder| {
            b.error(format!(
                "Unknown attribute \"{}\"{}: a {} has no such attribute.",
                path_without_sub(path),
                match b.purpose {
                    Purpose::Filter => " in the filter",
                    Purpose::Sort => " in sortBy",
                },
                kind.resource_type()
            ))
        };
        // `None` for the common attributes, which belong to no schema.
        let (schema, attr) = match &path.urn {
            Some(urn) => {
                let Some(schema) = kind.schema_for_urn(urn) else {
                    return Err(self.error(format!(
                        "\"{path}\" uses the schema \"{urn}\", which a {} does not have.",
                        kind.resource_type()
                    )));
                };
                match find_attribute(schema, &path.attr) {
                    Some(a) => (Some(schema), a),
                    None if schema.id == core.id => match find_common_attribute(&path.attr) {
                        Some(a) => (None, a),
                        None => return Err(unknown(self)),
                    },
                    None => return Err(unknown(self)),
                }
            }
            None => {
                if let Some(a) = find_attribute(core, &path.attr) {
                    (Some(core), a)
                } else if let Some(a) = find_common_attribute(&path.attr) {
                    (None, a)
                } else if let Some((ext, a)) = kind
                    .extensions()
                    .iter()
                    .find_map(|ext| find_attribute(ext, &path.attr).map(|a| (*ext, a)))
                {
                    // Unqualified extension names are accepted when no core attribute has
                    // the name, as PATCH does; never ambiguous for our schemas.
                    (Some(ext), a)
                } else {
                    return Err(unknown(self));
                }
            }
        };
        let sub = match &path.sub_attr {
            None => None,
            Some(name) if attr.kind != AttrType::Complex => {
                return Err(self.error(format!(
                    "\"{path}\": {} has no sub-attributes, so \"{name}\" cannot follow it.",
                    attr.name
                )))
            }
            Some(name) => Some(attr.sub_attribute(name).ok_or_else(|| {
                self.error(format!(
                    "\"{path}\": {} has no sub-attribute \"{name}\".",
                    attr.name
                ))
            })?),
        };
        let table = self.table;
        let column = |c: &str| format!("{table}.{c}");
        let Some(schema) = schema else {
            return Ok(match (attr.name, sub) {
                ("id", _) => Resolved::Scalar(Scalar::Text {
                    column: column("id"),
                    fold: Fold::Exact,
                    nullable: false,
                }),
                ("externalId", _) => Resolved::Scalar(Scalar::Text {
                    column: column("external_id"),
                    fold: Fold::Exact,
                    nullable: true,
                }),
                (_, None) => Resolved::Meta(attr),
                (_, Some(sub)) => Resolved::Scalar(match sub.name {
                    "created" => Scalar::Millis(column("created_at")),
                    "lastModified" => Scalar::Millis(column("updated_at")),
                    "version" => Scalar::Version(column("version")),
                    "resourceType" => Scalar::Const {
                        value: kind.resource_type(),
                        case_exact: true,
                    },
                    other => {
                        return Err(self.error(format!(
                            "\"{path}\": meta.{other} cannot be used here; the location \
                             depends on the URL the client calls, so filter on id instead."
                        )))
                    }
                }),
            });
        };
        if schema.id != core.id {
            return self.json_target(vec![schema.id, attr.name], attr, sub);
        }
        Ok(match (kind, attr.name) {
            (SchemaKind::User, "userName") => Resolved::Scalar(Scalar::Text {
                column: column("user_name_key"),
                fold: Fold::Key,
                nullable: false,
            }),
            (SchemaKind::User, "displayName") => Resolved::Scalar(Scalar::Text {
                column: column("display_name"),
                fold: Fold::Lower,
                nullable: true,
            }),
            (SchemaKind::User, "active") => Resolved::Scalar(Scalar::Bool {
                column: column("active"),
                json_key: "active",
            }),
            (SchemaKind::User, "password") => {
                return Err(self.error(
                    "password cannot be used in a filter or sortBy: it is never returned."
                        .to_owned(),
                ))
            }
            (SchemaKind::User, "groups") => Resolved::Membership {
                side: Side::UserGroups,
                attr,
                sub,
            },
            (SchemaKind::Group, "displayName") => Resolved::Scalar(Scalar::Text {
                column: column("display_name_key"),
                fold: Fold::Key,
                nullable: false,
            }),
            (SchemaKind::Group, "members") => Resolved::Membership {
                side: Side::GroupMembers,
                attr,
                sub,
            },
            _ => return self.json_target(vec![attr.name], attr, sub),
        })
    }

    /// An attribute read from the resource JSON at `keys` (canonical names, as stored).
    fn json_target(
        &self,
        mut keys: Vec<&'static str>,
        attr: &'static Attribute,
        sub: Option<&'static Attribute>,
    ) -> Result<Resolved, ScimError> {
        if attr.multi_valued {
            if attr.kind != AttrType::Complex {
                // No such attribute exists in Gatehouse's schemas.
                return Err(self.error(format!(
                    "{} cannot be used here: multi-valued simple attributes are not supported.",
                    attr.name
                )));
            }
            return Ok(Resolved::Array { keys, attr, sub });
        }
        if attr.kind == AttrType::Complex {
            return Ok(match sub {
                None => Resolved::Object(keys, attr),
                Some(sub) => {
                    keys.push(sub.name);
                    Resolved::Scalar(Scalar::Json {
                        src: Src::Resource,
                        keys,
                        attr: sub,
                    })
                }
            });
        }
        Ok(Resolved::Scalar(Scalar::Json {
            src: Src::Resource,
            keys,
            attr,
        }))
    }

    /// A name inside `attr[...]`: a sub-attribute of `attr`, written plainly (`type`) or
    /// with the attribute's name (`emails.type`).
    fn resolve_within(
        &mut self,
        path: &AttrPath,
        attr: &'static Attribute,
        base: &Base,
    ) -> Result<Resolved, ScimError> {
        if path.urn.is_some() {
            return Err(self.error(format!(
                "\"{path}\": inside {}[...] name its sub-attributes without a schema URN.",
                attr.name
            )));
        }
        let name = match &path.sub_attr {
            Some(sub) if path.attr.eq_ignore_ascii_case(attr.name) => sub,
            Some(_) => {
                return Err(self.error(format!(
                    "\"{path}\": inside {}[...] only sub-attributes of {} can be used.",
                    attr.name, attr.name
                )))
            }
            None => &path.attr,
        };
        let Some(sub) = attr.sub_attribute(name) else {
            return Err(self.error(format!(
                "Unknown attribute \"{name}\" in {}[...]: {} has no sub-attribute \"{name}\".",
                attr.name, attr.name
            )));
        };
        Ok(Resolved::Scalar(match base {
            Base::Element => Scalar::Json {
                src: Src::Element,
                keys: vec![sub.name],
                attr: sub,
            },
            Base::Object(prefix) => {
                let mut keys = prefix.clone();
                keys.push(sub.name);
                Scalar::Json {
                    src: Src::Resource,
                    keys,
                    attr: sub,
                }
            }
            Base::Members(side) => self.member_scalar(*side, attr, sub)?,
        }))
    }

    /// A sub-attribute of `members` or `groups`, read from the `group_members` row `m`.
    fn member_scalar(
        &mut self,
        side: Side,
        attr: &'static Attribute,
        sub: &'static Attribute,
    ) -> Result<Scalar, ScimError> {
        Ok(match (side, sub.name) {
            (Side::GroupMembers, "value") => Scalar::Text {
                column: "m.user_id".to_owned(),
                fold: Fold::Exact,
                nullable: false,
            },
            (Side::UserGroups, "value") => Scalar::Text {
                column: "m.group_id".to_owned(),
                fold: Fold::Exact,
                nullable: false,
            },
            // Gatehouse's members are users and its memberships direct.
            (Side::GroupMembers, "type") => Scalar::Const {
                value: "User",
                case_exact: false,
            },
            (Side::UserGroups, "type") => Scalar::Const {
                value: "direct",
                case_exact: false,
            },
            (Side::UserGroups, "display") => {
                self.joins_groups = true;
                Scalar::Text {
                    column: "g.display_name_key".to_owned(),
                    fold: Fold::Key,
                    nullable: false,
                }
            }
            (_, other) => {
                return Err(self.error(format!(
                    "{}.{other} cannot be used here; use {}.value (the id) instead.",
                    attr.name, attr.name
                )))
            }
        })
    }

    // --- Filters ----------------------------------------------------------------------

    fn compile(&mut self, filter: &Filter, scope: &Scope) -> Result<String, ScimError> {
        match filter {
            Filter::And(..) | Filter::Or(..) => {
                let is_and = matches!(filter, Filter::And(..));
                // Long chains (`a or b or c …`) become one flat list, not hundreds of nested
                // parentheses that would strain the databases' parsers.
                let mut parts = Vec::new();
                for operand in flatten(filter, is_and) {
                    parts.push(self.compile(operand, scope)?);
                }
                let joiner = if is_and { " AND " } else { " OR " };
                Ok(format!("({})", parts.join(joiner)))
            }
            Filter::Not(inner) => Ok(format!("NOT ({})", self.compile(inner, scope)?)),
            Filter::Present(path) => {
                let resolved = self.resolve(path, scope)?;
                self.present(&resolved)
            }
            Filter::Compare(path, op, Value::Null) => {
                let resolved = self.resolve(path, scope)?;
                match op {
                    CompareOp::Eq => Ok(format!("NOT ({})", self.present(&resolved)?)),
                    CompareOp::Ne => self.present(&resolved),
                    _ => Err(self.error(format!(
                        "\"{path} {op} null\": only eq and ne can compare with null."
                    ))),
                }
            }
            Filter::Compare(path, op, value) => {
                let resolved = self.resolve(path, scope)?;
                let expr = Expr::new(path, *op, value);
                self.compare(resolved, &expr)
            }
            Filter::ValuePath(path, inner) => self.value_path(path, inner, scope),
        }
    }

    fn value_path(
        &mut self,
        path: &AttrPath,
        inner: &Filter,
        scope: &Scope,
    ) -> Result<String, ScimError> {
        if !matches!(scope, Scope::Top) {
            return Err(self.error(format!(
                "A value filter cannot contain another value filter ({path}[...])."
            )));
        }
        if path.sub_attr.is_some() {
            return Err(self.error(format!(
                "\"{path}[...]\": a value filter follows an attribute, not a sub-attribute."
            )));
        }
        match self.resolve_top(path)? {
            Resolved::Array { keys, attr, .. } => {
                let from = self.elements(&keys, false)?;
                let within = Scope::Within {
                    attr,
                    base: Base::Element,
                };
                let cond = self.compile(inner, &within)?;
                Ok(format!("EXISTS (SELECT 1 FROM {from} WHERE {cond})"))
            }
            Resolved::Object(keys, attr) => {
                // `name[not (givenName eq "x")]` must not match users without a name.
                let present = self.present(&Resolved::Object(keys.clone(), attr))?;
                let within = Scope::Within {
                    attr,
                    base: Base::Object(keys),
                };
                let cond = self.compile(inner, &within)?;
                Ok(format!("({present} AND {cond})"))
            }
            Resolved::Membership { side, attr, .. } => {
                self.joins_groups = false;
                let within = Scope::Within {
                    attr,
                    base: Base::Members(side),
                };
                let cond = self.compile(inner, &within)?;
                Ok(self.membership_exists(side, Some(cond)))
            }
            Resolved::Meta(_) => Err(self.error(format!(
                "\"{path}[...]\": compare meta's sub-attributes directly, as in \
                 meta.lastModified gt \"2024-01-01T00:00:00Z\"."
            ))),
            Resolved::Scalar(_) => Err(self.error(format!(
                "\"{path}[...]\": {path} is not a complex attribute, so it cannot have a \
                 value filter."
            ))),
        }
    }

    fn present(&mut self, resolved: &Resolved) -> Result<String, ScimError> {
        match resolved {
            Resolved::Scalar(scalar) => self.present_scalar(scalar),
            Resolved::Object(keys, _) => {
                // Stored objects are never empty: validation drops `{}`.
                let ty = self.json_type(Src::Resource, keys)?;
                Ok(format!("COALESCE({ty} = 'object', FALSE)"))
            }
            Resolved::Array { keys, sub, .. } => {
                let from = self.elements(keys, false)?;
                match sub {
                    None => Ok(format!("EXISTS (SELECT 1 FROM {from})")),
                    Some(sub) => {
                        let cond = self.present_scalar(&element_scalar(sub))?;
                        Ok(format!("EXISTS (SELECT 1 FROM {from} WHERE {cond})"))
                    }
                }
            }
            Resolved::Membership { side, attr, sub } => {
                self.joins_groups = false;
                let cond = match sub {
                    None => None,
                    Some(sub) => {
                        let scalar = self.member_scalar(*side, attr, sub)?;
                        Some(self.present_scalar(&scalar)?)
                    }
                };
                Ok(self.membership_exists(*side, cond))
            }
            Resolved::Meta(_) => Ok("TRUE".to_owned()),
        }
    }

    fn present_scalar(&mut self, scalar: &Scalar) -> Result<String, ScimError> {
        Ok(match scalar {
            Scalar::Text {
                column, nullable, ..
            } => null_safe(
                format!("{column} <> ''"),
                Nulls::from_column(column, *nullable),
            ),
            Scalar::Bool { json_key, .. } => {
                let value = self.json_text(Src::Resource, &[json_key])?;
                format!("COALESCE({value} <> '', FALSE)")
            }
            Scalar::Json { src, keys, .. } => {
                // SQLite gives JSON booleans as 0/1, which differ from '' as they should.
                let value = self.json_text(*src, keys)?;
                format!("COALESCE({value} <> '', FALSE)")
            }
            Scalar::Millis(_) | Scalar::Version(_) | Scalar::Const { .. } => "TRUE".to_owned(),
        })
    }

    /// A comparison (not with null) on what `expr.path` resolved to.
    fn compare(&mut self, resolved: Resolved, expr: &Expr<'_>) -> Result<String, ScimError> {
        match resolved {
            Resolved::Scalar(scalar) => self.compare_scalar(&scalar, expr),
            Resolved::Object(_, attr) | Resolved::Meta(attr) => {
                Err(self.complex_needs_sub(attr, expr))
            }
            Resolved::Array { keys, attr, sub } => {
                let Some(sub) = sub.or_else(|| attr.sub_attribute("value")) else {
                    return Err(self.complex_needs_sub(attr, expr));
                };
                let from = self.elements(&keys, false)?;
                let cond = self.compare_scalar(&element_scalar(sub), expr)?;
                Ok(format!("EXISTS (SELECT 1 FROM {from} WHERE {cond})"))
            }
            Resolved::Membership { side, attr, sub } => {
                let Some(sub) = sub.or_else(|| attr.sub_attribute("value")) else {
                    return Err(self.complex_needs_sub(attr, expr));
                };
                self.joins_groups = false;
                let scalar = self.member_scalar(side, attr, sub)?;
                let cond = self.compare_scalar(&scalar, expr)?;
                Ok(self.membership_exists(side, Some(cond)))
            }
        }
    }

    fn complex_needs_sub(&self, attr: &'static Attribute, expr: &Expr<'_>) -> ScimError {
        let example = attr
            .sub_attributes
            .iter()
            .find(|s| s.name != "$ref")
            .map_or(String::new(), |s| {
                format!(", such as {}.{}", attr.name, s.name)
            });
        self.error(format!(
            "\"{expr}\": {} is a complex attribute; compare one of its sub-attributes \
             instead{example}.",
            attr.name
        ))
    }

    /// A comparison on one value; TRUE or FALSE, never NULL. `ne` is `not eq`, so that a
    /// missing value is "not equal".
    fn compare_scalar(&mut self, scalar: &Scalar, expr: &Expr<'_>) -> Result<String, ScimError> {
        if expr.op == CompareOp::Ne {
            let eq = Expr {
                op: CompareOp::Eq,
                ..*expr
            };
            // Validate with the real operator's words, then build `not eq`.
            return Ok(format!("NOT {}", self.compare_scalar(scalar, &eq)?));
        }
        match scalar {
            Scalar::Text {
                column,
                fold,
                nullable,
            } => {
                let nulls = Nulls::from_column(column, *nullable);
                self.compare_text(column.clone(), *fold, nulls, expr)
            }
            Scalar::Json { src, keys, attr } => match attr.kind {
                AttrType::String | AttrType::Reference | AttrType::Binary => {
                    // Checked before binding the path, so errors name the value first.
                    self.text_value(expr)?;
                    let value = self.json_text(*src, keys)?;
                    self.compare_text(value, fold_of(attr), Nulls::Expression, expr)
                }
                AttrType::Boolean => {
                    let wanted = self.bool_value(expr)?;
                    let value = self.json_bool(*src, keys)?;
                    let p = self.text(if wanted { "true" } else { "false" })?;
                    Ok(format!("COALESCE({value} = {p}, FALSE)"))
                }
                // Gatehouse's schemas have none of these inside the JSON.
                _ => Err(self.error(format!(
                    "\"{expr}\": comparing {} values of {} is not supported.",
                    attr.kind.as_str(),
                    expr.path
                ))),
            },
            Scalar::Bool { column, .. } => {
                let wanted = self.bool_value(expr)?;
                // NOT NULL, so the plain comparison is never NULL.
                let p = self.bind(SqlParam::Bool(wanted))?;
                Ok(format!("{column} = {p}"))
            }
            Scalar::Millis(column) => self.compare_millis(column.clone(), expr),
            Scalar::Version(column) => {
                let Value::String(text) = expr.value else {
                    return Err(self.error(format!(
                        "\"{expr}\": meta.version is a string such as \"W/\\\"3\\\"\"."
                    )));
                };
                if expr.op != CompareOp::Eq {
                    return Err(self.error(format!(
                        "\"{expr}\": meta.version can only be compared with eq and ne."
                    )));
                }
                match parse_etag(text) {
                    Some(version) => {
                        let p = self.bind(SqlParam::Int(version))?;
                        Ok(format!("{column} = {p}"))
                    }
                    None => Ok("FALSE".to_owned()),
                }
            }
            Scalar::Const { value, case_exact } => {
                let text = self.text_value(expr)?;
                let (actual, wanted) = if *case_exact {
                    ((*value).to_owned(), text)
                } else {
                    (value.to_lowercase(), text.to_lowercase())
                };
                let holds = match expr.op {
                    CompareOp::Eq | CompareOp::Ne => actual == wanted,
                    CompareOp::Co => actual.contains(&wanted),
                    CompareOp::Sw => actual.starts_with(&wanted),
                    CompareOp::Ew => actual.ends_with(&wanted),
                    CompareOp::Gt => actual > wanted,
                    CompareOp::Ge => actual >= wanted,
                    CompareOp::Lt => actual < wanted,
                    CompareOp::Le => actual <= wanted,
                };
                Ok(if holds { "TRUE" } else { "FALSE" }.to_owned())
            }
        }
    }

    /// The comparison value for a string attribute. A number is accepted for equality and
    /// compared as written, because validation stores numbers sent for string attributes as
    /// their text (Okta sends `employeeNumber` as a number).
    fn text_value(&self, expr: &Expr<'_>) -> Result<String, ScimError> {
        match expr.value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if expr.op == CompareOp::Eq => Ok(n.as_str().to_owned()),
            Value::Number(_) => Err(self.error(format!(
                "\"{expr}\": {} is a string attribute; {} compares it only with a string in \
                 double quotes.",
                expr.path, expr.original_op
            ))),
            _ => Err(self.error(format!(
                "\"{expr}\": {} is a string attribute; compare it with a string in double \
                 quotes.",
                expr.path
            ))),
        }
    }

    fn bool_value(&self, expr: &Expr<'_>) -> Result<bool, ScimError> {
        if expr.op != CompareOp::Eq {
            return Err(self.error(format!(
                "\"{expr}\": {} is a boolean, which only eq and ne can compare, not {}.",
                expr.path, expr.original_op
            )));
        }
        let parsed = match expr.value {
            Value::Bool(b) => Some(*b),
            // Entra ID writes booleans as strings; resources accept them too.
            Value::String(s) => parse_bool(s),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.error(format!(
                "\"{expr}\": {} is a boolean; compare it with true or false.",
                expr.path
            ))
        })
    }

    fn compare_text(
        &mut self,
        value_sql: String,
        fold: Fold,
        nulls: Nulls,
        expr: &Expr<'_>,
    ) -> Result<String, ScimError> {
        let text = self.text_value(expr)?;
        let (lhs, text) = match fold {
            Fold::Key => (value_sql, text.to_lowercase()),
            Fold::Lower => (format!("lower({value_sql})"), text.to_lowercase()),
            Fold::Exact => (value_sql, text),
        };
        let cond = match expr.op {
            CompareOp::Eq | CompareOp::Ne => format!("{lhs} = {}", self.text(text)?),
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                let (before, after) = match expr.op {
                    CompareOp::Co => (true, true),
                    CompareOp::Sw => (false, true),
                    _ => (true, false),
                };
                if self.backend == Backend::Sqlite && fold == Fold::Exact {
                    // SQLite's LIKE ignores ASCII case; GLOB does not.
                    let pattern = wrap(&glob_escape(&text), "*", before, after);
                    format!("{lhs} GLOB {}", self.text(pattern)?)
                } else {
                    let pattern = wrap(&like_escape(&text), "%", before, after);
                    format!("{lhs} LIKE {} ESCAPE '\\'", self.text(pattern)?)
                }
            }
            op => {
                let lhs = self.collate(lhs);
                format!("{lhs} {} {}", ordering_sql(op), self.text(text)?)
            }
        };
        Ok(null_safe(cond, nulls))
    }

    fn compare_millis(&mut self, column: String, expr: &Expr<'_>) -> Result<String, ScimError> {
        if matches!(expr.op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
            return Err(self.error(format!(
                "\"{expr}\": {} is a date and time, which {} cannot compare; use eq, ne, gt, \
                 ge, lt or le.",
                expr.path, expr.original_op
            )));
        }
        let not_a_date = || {
            self.error(format!(
                "\"{expr}\": {} is not an RFC 3339 date and time such as \
                 \"2024-05-01T12:00:00Z\".",
                expr.value
            ))
        };
        let Value::String(text) = expr.value else {
            return Err(not_a_date());
        };
        let instant = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| not_a_date())?;
        // Stored values are whole milliseconds, so a finer value compares exactly through
        // its floor and ceiling.
        let nanos = instant.unix_timestamp_nanos();
        let floor = nanos.div_euclid(1_000_000);
        let exact = nanos.rem_euclid(1_000_000) == 0;
        let ceil = if exact { floor } else { floor + 1 };
        let (op, ms) = match expr.op {
            CompareOp::Eq if !exact => return Ok("FALSE".to_owned()),
            CompareOp::Eq => ("=", floor),
            CompareOp::Gt => (">", floor),
            CompareOp::Ge => (">=", ceil),
            CompareOp::Lt => ("<", ceil),
            _ => ("<=", floor),
        };
        // RFC 3339 years stop at 9999, far inside i64 milliseconds.
        let ms = i64::try_from(ms).map_err(|_| not_a_date())?;
        // The millisecond columns are NOT NULL; left bare, the comparison can use their index.
        let p = self.bind(SqlParam::Int(ms))?;
        Ok(format!("{column} {op} {p}"))
    }

    // --- Sorting ----------------------------------------------------------------------

    fn sort_key(&mut self, path: &AttrPath) -> Result<String, ScimError> {
        let unsortable = |b: &Builder, why: String| b.error(format!("sortBy \"{path}\": {why}"));
        match self.resolve_top(path)? {
            Resolved::Scalar(Scalar::Text { column, fold, .. }) => Ok(self.text_sort(column, fold)),
            Resolved::Scalar(
                Scalar::Bool { column, .. } | Scalar::Millis(column) | Scalar::Version(column),
            ) => Ok(column),
            Resolved::Scalar(Scalar::Json { src, keys, attr }) => {
                let value = self.json_text(src, &keys)?;
                Ok(match attr.kind {
                    AttrType::Boolean => value,
                    _ => self.text_sort(value, fold_of(attr)),
                })
            }
            Resolved::Scalar(Scalar::Const { .. }) => Err(unsortable(
                self,
                format!(
                    "every {} has the same value, so it cannot order them.",
                    self.kind.resource_type()
                ),
            )),
            Resolved::Object(_, attr) | Resolved::Meta(attr) => Err(unsortable(
                self,
                format!(
                    "{} is complex; sort by one of its sub-attributes, such as {}.{}.",
                    attr.name,
                    attr.name,
                    attr.sub_attributes.first().map_or("value", |s| s.name)
                ),
            )),
            Resolved::Array { keys, attr, sub } => {
                let Some(sub) = sub.or_else(|| attr.sub_attribute("value")) else {
                    return Err(unsortable(
                        self,
                        format!(
                            "{} is complex; sort by one of its sub-attributes.",
                            attr.name
                        ),
                    ));
                };
                let value = self.primary_or_first(&keys, attr, sub)?;
                Ok(match sub.kind {
                    AttrType::Boolean => value,
                    _ => self.text_sort(value, fold_of(sub)),
                })
            }
            Resolved::Membership { attr, .. } => Err(unsortable(
                self,
                format!("sorting by {} is not supported.", attr.name),
            )),
        }
    }

    fn text_sort(&self, value: String, fold: Fold) -> String {
        let value = match fold {
            Fold::Lower => format!("lower({value})"),
            Fold::Key | Fold::Exact => value,
        };
        self.collate(value)
    }

    /// `sub` of the primary value of the multi-valued `attr`, else of the first value
    /// (RFC 7644 §3.4.2.3).
    fn primary_or_first(
        &mut self,
        keys: &[&'static str],
        attr: &'static Attribute,
        sub: &'static Attribute,
    ) -> Result<String, ScimError> {
        let from = self.elements(keys, true)?;
        let value = self.json_text(Src::Element, &[sub.name])?;
        let primary = match attr.sub_attribute("primary") {
            Some(p) => format!(
                "COALESCE({} = 'true', FALSE) DESC, ",
                self.json_bool(Src::Element, &[p.name])?
            ),
            None => String::new(),
        };
        let position = match self.backend {
            Backend::Sqlite => "e.key",
            Backend::Postgres => "e.n",
        };
        Ok(format!(
            "(SELECT {value} FROM {from} ORDER BY {primary}{position} LIMIT 1)"
        ))
    }
}

/// A comparison being compiled, for messages: `expr.to_string()` is the filter text.
#[derive(Clone, Copy)]
struct Expr<'f> {
    path: &'f AttrPath,
    /// The operator being built, which is `eq` while building a `ne`.
    op: CompareOp,
    value: &'f Value,
    /// The operator as written, for messages.
    original_op: CompareOp,
}

impl<'f> Expr<'f> {
    fn new(path: &'f AttrPath, op: CompareOp, value: &'f Value) -> Self {
        Expr {
            path,
            op,
            value,
            original_op: op,
        }
    }
}

impl std::fmt::Display for Expr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.path, self.original_op, self.value)
    }
}

/// Where a comparison's NULL can come from, and so how to make it FALSE.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Nulls {
    /// A NOT NULL column compared with a bound (never NULL) value: never NULL.
    Never,
    /// This nullable column.
    Column(String),
    /// An expression such as a JSON extraction.
    Expression,
}

impl Nulls {
    fn from_column(column: &str, nullable: bool) -> Nulls {
        if nullable {
            Nulls::Column(column.to_owned())
        } else {
            Nulls::Never
        }
    }
}

/// `cond` made TRUE or FALSE. `COALESCE` hides a column from the planner, so columns get an
/// `IS NOT NULL` conjunct instead (NULL AND FALSE is FALSE).
fn null_safe(cond: String, nulls: Nulls) -> String {
    match nulls {
        Nulls::Never => cond,
        Nulls::Column(column) => format!("({cond} AND {column} IS NOT NULL)"),
        Nulls::Expression => format!("COALESCE({cond}, FALSE)"),
    }
}

fn element_scalar(sub: &'static Attribute) -> Scalar {
    Scalar::Json {
        src: Src::Element,
        keys: vec![sub.name],
        attr: sub,
    }
}

fn fold_of(attr: &Attribute) -> Fold {
    if attr.case_exact {
        Fold::Exact
    } else {
        Fold::Lower
    }
}

fn ordering_sql(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        _ => "<=",
    }
}

/// The operands of a chain of `and`s (or of `or`s), left to right, without recursion.
fn flatten(filter: &Filter, is_and: bool) -> Vec<&Filter> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match (f, is_and) {
            (Filter::And(left, right), true) | (Filter::Or(left, right), false) => {
                stack.push(right);
                stack.push(left);
            }
            _ => out.push(f),
        }
    }
    out
}

/// `urn:…:User:manager` for messages about the attribute, without the sub-attribute.
fn path_without_sub(path: &AttrPath) -> String {
    AttrPath {
        sub_attr: None,
        ..path.clone()
    }
    .to_string()
}

/// A SQLite JSON path with every key quoted, because extension URNs contain `:` and `.`.
/// Keys are canonical schema names, which contain no `"`.
fn sqlite_path(keys: &[&str]) -> String {
    let mut path = String::from("$");
    for key in keys {
        debug_assert!(!key.contains('"'), "schema names never contain quotes");
        path.push_str(".\"");
        path.push_str(key);
        path.push('"');
    }
    path
}

/// `value` with `%`, `_` and the escape character `\` escaped for `LIKE … ESCAPE '\'`.
fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `value` with GLOB's metacharacters `*`, `?` and `[` each made a one-character class.
fn glob_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

fn wrap(escaped: &str, any: &str, before: bool, after: bool) -> String {
    let mut out = String::with_capacity(escaped.len() + 2);
    if before {
        out.push_str(any);
    }
    out.push_str(escaped);
    if after {
        out.push_str(any);
    }
    out
}

/// The version in an ETag as [`super::resource::etag`] renders it (`W/"3"`); the bare
/// number (`"3"` or `3`) is accepted too.
fn parse_etag(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    text.parse().ok()
}

/// `sortBy` is an attribute path in standard notation (RFC 7644 §3.10), without filters.
fn parse_sort_by(sort_by: &str) -> Result<AttrPath, ScimError> {
    let path = parse_path(sort_by).map_err(|e| {
        ScimError::invalid_value(format!(
            "sortBy \"{sort_by}\" is not an attribute path: {}",
            e.message()
        ))
    })?;
    if path.value_filter.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::invalid_value(format!(
            "sortBy \"{sort_by}\" must name an attribute, as in name.familyName, without a \
             value filter."
        )));
    }
    Ok(path.attr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;

    const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    fn fragment(filter: &str, kind: SchemaKind, backend: Backend) -> SqlFragment {
        let parsed = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        where_clause(&parsed, kind, backend, 1).unwrap_or_else(|e| panic!("{filter}: {e}"))
    }

    fn user(filter: &str, backend: Backend) -> SqlFragment {
        fragment(filter, SchemaKind::User, backend)
    }

    fn error(filter: &str, kind: SchemaKind) -> ScimError {
        let parsed = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let e = where_clause(&parsed, kind, Backend::Sqlite, 1).expect_err(filter);
        // The same filter fails the same way on the other database.
        assert_eq!(
            where_clause(&parsed, kind, Backend::Postgres, 1).unwrap_err(),
            e
        );
        e
    }

    fn text(s: &str) -> SqlParam {
        SqlParam::Text(s.to_owned())
    }

    #[test]
    fn user_name_eq_uses_the_lowercased_unique_key() {
        for backend in BOTH {
            let f = user(r#"userName eq "BJensen@Example.COM""#, backend);
            assert_eq!(f.sql, "users.user_name_key = $1");
            assert_eq!(f.params, [text("bjensen@example.com")]);
            // Attribute names are case-insensitive and may carry the core URN.
            let f = user(
                r#"urn:ietf:params:scim:schemas:core:2.0:User:USERNAME eq "ÉMILE""#,
                backend,
            );
            assert_eq!(f.sql, "users.user_name_key = $1");
            assert_eq!(f.params, [text("émile")]);
        }
    }

    #[test]
    fn placeholders_start_where_the_caller_says() {
        let parsed = parse_filter(r#"userName eq "a" and externalId eq "B""#).unwrap();
        let f = where_clause(&parsed, SchemaKind::User, Backend::Postgres, 3).unwrap();
        assert_eq!(
            f.sql,
            "(users.user_name_key = $3 AND (users.external_id = $4 AND users.external_id IS NOT NULL))"
        );
        assert_eq!(f.params, [text("a"), text("B")]);
    }

    #[test]
    fn hot_okta_filters_hit_indexed_columns() {
        for backend in BOTH {
            let f = user(r#"externalId eq "00u1ABC""#, backend);
            assert_eq!(
                f.sql,
                "(users.external_id = $1 AND users.external_id IS NOT NULL)"
            );
            assert_eq!(f.params, [text("00u1ABC")], "externalId is caseExact");

            let f = user(r#"id eq "0190-ab""#, backend);
            assert_eq!(f.sql, "users.id = $1");

            let f = user("active eq false", backend);
            assert_eq!(f.sql, "users.active = $1");
            assert_eq!(f.params, [SqlParam::Bool(false)]);

            let f = user(r#"meta.lastModified gt "2024-01-01T00:00:00Z""#, backend);
            assert_eq!(f.sql, "users.updated_at > $1");
            assert_eq!(f.params, [SqlParam::Int(1_704_067_200_000)]);

            let f = user(
                r#"meta.created le "2024-01-01T01:00:00.0005+01:00""#,
                backend,
            );
            assert_eq!(f.sql, "users.created_at <= $1");
            assert_eq!(f.params, [SqlParam::Int(1_704_067_200_000)]);

            let f = user(r#"displayName eq "Babs Jensen""#, backend);
            assert_eq!(
                f.sql,
                "(lower(users.display_name) = $1 AND users.display_name IS NOT NULL)"
            );
            assert_eq!(f.params, [text("babs jensen")]);

            let f = fragment(r#"displayName eq "Sales Team""#, SchemaKind::Group, backend);
            assert_eq!(f.sql, "user_groups.display_name_key = $1");
            assert_eq!(f.params, [text("sales team")]);

            let f = fragment(r#"externalId eq "okta-1""#, SchemaKind::Group, backend);
            assert_eq!(
                f.sql,
                "(user_groups.external_id = $1 AND user_groups.external_id IS NOT NULL)"
            );
        }
    }

    #[test]
    fn ne_and_not_are_null_safe() {
        let f = user(r#"externalId ne "x""#, Backend::Sqlite);
        assert_eq!(
            f.sql,
            "NOT (users.external_id = $1 AND users.external_id IS NOT NULL)"
        );
        let f = user(r#"not (title eq "x")"#, Backend::Sqlite);
        assert_eq!(
            f.sql,
            "NOT (COALESCE(lower(json_extract(users.resource, $1)) = $2, FALSE))"
        );
        assert_eq!(f.params, [text("$.\"title\""), text("x")]);
        let f = user("title eq null", Backend::Postgres);
        assert_eq!(
            f.sql,
            "NOT (COALESCE(jsonb_extract_path_text(users.resource::jsonb, $1) <> '', FALSE))"
        );
        assert_eq!(f.params, [text("title")]);
    }

    #[test]
    fn value_filter_is_one_exists_over_the_array() {
        let filter = r#"emails[type eq "work" and value co "@Example.com"]"#;
        let f = user(filter, Backend::Sqlite);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM json_each(users.resource, $1) AS e WHERE \
             (COALESCE(lower(json_extract(e.value, $2)) = $3, FALSE) AND \
             COALESCE(lower(json_extract(e.value, $4)) LIKE $5 ESCAPE '\\', FALSE)))"
        );
        assert_eq!(
            f.params,
            [
                text("$.\"emails\""),
                text("$.\"type\""),
                text("work"),
                text("$.\"value\""),
                text("%@example.com%"),
            ]
        );
        let f = user(filter, Backend::Postgres);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN \
             jsonb_typeof(jsonb_extract_path(users.resource::jsonb, $1)) = 'array' THEN \
             jsonb_extract_path(users.resource::jsonb, $2) ELSE '[]'::jsonb END) AS e(value) \
             WHERE (COALESCE(lower(jsonb_extract_path_text(e.value, $3)) = $4, FALSE) AND \
             COALESCE(lower(jsonb_extract_path_text(e.value, $5)) LIKE $6 ESCAPE '\\', FALSE)))"
        );
        assert_eq!(
            f.params,
            [
                text("emails"),
                text("emails"),
                text("type"),
                text("work"),
                text("value"),
                text("%@example.com%"),
            ]
        );
    }

    #[test]
    fn bare_multi_valued_path_compares_each_value() {
        let bare = user(r#"emails co "x""#, Backend::Sqlite);
        let dotted = user(r#"emails.value co "x""#, Backend::Sqlite);
        let bracketed = user(r#"emails[value co "x"]"#, Backend::Sqlite);
        assert_eq!(bare, dotted);
        assert_eq!(bare, bracketed);
        assert!(bare.sql.starts_with("EXISTS (SELECT 1 FROM json_each("));
        let f = user("emails pr", Backend::Sqlite);
        assert_eq!(
            f.sql,
            "EXISTS (SELECT 1 FROM json_each(users.resource, $1) AS e)"
        );
    }

    #[test]
    fn enterprise_attributes_are_read_under_the_extension_key() {
        let qualified = format!("{ENTERPRISE_USER_SCHEMA}:department eq \"Eng\"");
        for filter in [qualified.as_str(), r#"DEPARTMENT eq "Eng""#] {
            let f = user(filter, Backend::Sqlite);
            assert_eq!(
                f.sql,
                "COALESCE(lower(json_extract(users.resource, $1)) = $2, FALSE)"
            );
            assert_eq!(
                f.params,
                [
                    text(&format!("$.\"{ENTERPRISE_USER_SCHEMA}\".\"department\"")),
                    text("eng")
                ]
            );
            let f = user(filter, Backend::Postgres);
            assert_eq!(
                f.sql,
                "COALESCE(lower(jsonb_extract_path_text(users.resource::jsonb, $1, $2)) = $3, FALSE)"
            );
            assert_eq!(
                f.params,
                [
                    text(ENTERPRISE_USER_SCHEMA),
                    text("department"),
                    text("eng")
                ]
            );
        }
    }

    #[test]
    fn json_booleans_compare_as_true_false_text_on_both() {
        let f = user("emails[primary eq true]", Backend::Sqlite);
        assert!(
            f.sql
                .contains("COALESCE(json_type(e.value, $2) = $3, FALSE)"),
            "{}",
            f.sql
        );
        assert_eq!(f.params[2], text("true"));
        let f = user("emails[primary eq true]", Backend::Postgres);
        assert!(
            f.sql
                .contains("COALESCE(jsonb_extract_path_text(e.value, $3) = $4, FALSE)"),
            "{}",
            f.sql
        );
        assert_eq!(f.params[3], text("true"));
    }

    #[test]
    fn membership_reads_group_members() {
        for backend in BOTH {
            let f = fragment(r#"members[value eq "u1"]"#, SchemaKind::Group, backend);
            assert_eq!(
                f.sql,
                "EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = user_groups.id AND \
                 m.user_id = $1)"
            );
            assert_eq!(f.params, [text("u1")]);
            assert_eq!(
                fragment(r#"members.value eq "u1""#, SchemaKind::Group, backend),
                f
            );
            let f = fragment("members pr", SchemaKind::Group, backend);
            assert_eq!(
                f.sql,
                "EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = user_groups.id)"
            );
            let f = user(r#"groups.value eq "g1""#, backend);
            assert_eq!(
                f.sql,
                "EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = users.id AND \
                 m.group_id = $1)"
            );
            let f = user(r#"groups[display eq "Admins"]"#, backend);
            assert_eq!(
                f.sql,
                "EXISTS (SELECT 1 FROM group_members m JOIN user_groups g ON g.id = m.group_id \
                 WHERE m.user_id = users.id AND g.display_name_key = $1)"
            );
            assert_eq!(f.params, [text("admins")]);
        }
    }

    #[test]
    fn substring_operators_escape_metacharacters() {
        assert_eq!(like_escape(r"50%_off\now"), r"50\%\_off\\now");
        assert_eq!(glob_escape("a*b?[c]"), "a[*]b[?][[]c]");
        let f = user(r#"userName sw "A_b%""#, Backend::Postgres);
        assert_eq!(f.sql, "users.user_name_key LIKE $1 ESCAPE '\\'");
        assert_eq!(f.params, [text(r"a\_b\%%")]);
        // Case-exact substrings use GLOB on SQLite, whose LIKE ignores case.
        let f = user(r#"externalId ew "*X""#, Backend::Sqlite);
        assert_eq!(
            f.sql,
            "(users.external_id GLOB $1 AND users.external_id IS NOT NULL)"
        );
        assert_eq!(f.params, [text("*[*]X")]);
        let f = user(r#"externalId ew "*X""#, Backend::Postgres);
        assert_eq!(
            f.sql,
            "(users.external_id LIKE $1 ESCAPE '\\' AND users.external_id IS NOT NULL)"
        );
        assert_eq!(f.params, [text("%*X")]);
    }

    #[test]
    fn string_ordering_uses_code_point_order_on_postgres() {
        let f = user(r#"name.familyName gt "M""#, Backend::Postgres);
        assert_eq!(
            f.sql,
            "COALESCE(lower(jsonb_extract_path_text(users.resource::jsonb, $1, $2)) COLLATE \"C\" > $3, FALSE)"
        );
        let f = user(r#"name.familyName gt "M""#, Backend::Sqlite);
        assert_eq!(
            f.sql,
            "COALESCE(lower(json_extract(users.resource, $1)) > $2, FALSE)"
        );
        assert_eq!(f.params, [text("$.\"name\".\"familyName\""), text("m")]);
    }

    #[test]
    fn values_never_reach_the_sql_text() {
        let nasty = r#"'; DROP TABLE users; -- \" %_\\ $1"#;
        for backend in BOTH {
            for attr in [
                "userName",
                "externalId",
                "title",
                "emails",
                "name.familyName",
            ] {
                let f = user(&format!(r#"{attr} eq "{nasty}""#), backend);
                for piece in ["DROP", "';", "%_", "\\"] {
                    assert!(!f.sql.contains(piece), "{}", f.sql);
                }
                assert!(f.params.iter().any(
                    |p| matches!(p, SqlParam::Text(t) if t.to_lowercase().contains("drop table"))
                ));
            }
        }
    }

    #[test]
    fn datetime_values_compare_exactly_at_millisecond_precision() {
        let cases = [
            ("gt", "2024-01-01T00:00:00.0004Z", "> $1", 1_704_067_200_000),
            (
                "ge",
                "2024-01-01T00:00:00.0004Z",
                ">= $1",
                1_704_067_200_001,
            ),
            ("lt", "2024-01-01T00:00:00.0004Z", "< $1", 1_704_067_200_001),
            (
                "le",
                "2024-01-01T00:00:00.0004Z",
                "<= $1",
                1_704_067_200_000,
            ),
            ("eq", "2024-01-01T00:00:00.001Z", "= $1", 1_704_067_200_001),
            ("lt", "1969-12-31T23:59:59.9995Z", "< $1", 0),
        ];
        for (op, value, sql, ms) in cases {
            let f = user(
                &format!(r#"meta.lastModified {op} "{value}""#),
                Backend::Sqlite,
            );
            assert_eq!(f.sql, format!("users.updated_at {sql}"));
            assert_eq!(f.params, [SqlParam::Int(ms)], "{op} {value}");
        }
        // No stored millisecond equals an instant between two of them.
        let f = user(
            r#"meta.lastModified eq "2024-01-01T00:00:00.0004Z""#,
            Backend::Sqlite,
        );
        assert_eq!(f.sql, "FALSE");
    }

    #[test]
    fn constants_are_decided_in_rust() {
        assert_eq!(
            user(r#"meta.resourceType eq "User""#, Backend::Sqlite).sql,
            "TRUE"
        );
        assert_eq!(
            user(r#"meta.resourceType eq "user""#, Backend::Sqlite).sql,
            "FALSE"
        );
        assert_eq!(
            user(r#"meta.resourceType ne "Group""#, Backend::Sqlite).sql,
            "NOT FALSE"
        );
        assert_eq!(user("meta pr", Backend::Sqlite).sql, "TRUE");
    }

    #[test]
    fn invalid_filters_name_the_problem() {
        let cases: &[(&str, SchemaKind, &[&str])] = &[
            (
                r#"nosuch eq "x""#,
                SchemaKind::User,
                &["nosuch", "Unknown attribute"],
            ),
            (r#"name.nosuch eq "x""#, SchemaKind::User, &["nosuch"]),
            (
                r#"emails[nosuch eq "x"]"#,
                SchemaKind::User,
                &["nosuch", "emails"],
            ),
            (
                r#"userName.x pr"#,
                SchemaKind::User,
                &["userName", "no sub-attributes"],
            ),
            (
                "active gt true",
                SchemaKind::User,
                &["active", "gt", "boolean"],
            ),
            (
                "emails[primary ge false]",
                SchemaKind::User,
                &["primary", "ge"],
            ),
            (
                r#"active eq "yes""#,
                SchemaKind::User,
                &["active", "true or false"],
            ),
            (
                r#"meta.lastModified gt "yesterday""#,
                SchemaKind::User,
                &["yesterday", "RFC 3339"],
            ),
            (
                r#"meta.created co "2024""#,
                SchemaKind::User,
                &["meta.created", "co"],
            ),
            (
                r#"name eq "x""#,
                SchemaKind::User,
                &["name", "complex", "name.formatted"],
            ),
            (
                r#"addresses co "x""#,
                SchemaKind::User,
                &["addresses", "complex"],
            ),
            (
                "userName eq true",
                SchemaKind::User,
                &["userName", "string"],
            ),
            (
                "title co 5",
                SchemaKind::User,
                &["title", "co", "double quotes"],
            ),
            ("title gt null", SchemaKind::User, &["null"]),
            (r#"password eq "x""#, SchemaKind::User, &["password"]),
            (
                r#"meta.location eq "x""#,
                SchemaKind::User,
                &["meta.location"],
            ),
            (
                r#"urn:example:params:scim:schemas:x:Foo:bar eq "x""#,
                SchemaKind::User,
                &["urn:example:params:scim:schemas:x:Foo"],
            ),
            (
                r#"userName[value eq "x"]"#,
                SchemaKind::User,
                &["not a complex"],
            ),
            (
                r#"department eq "x""#,
                SchemaKind::Group,
                &["department", "Group"],
            ),
            (
                r#"members.display eq "x""#,
                SchemaKind::Group,
                &["members.display"],
            ),
        ];
        for (filter, kind, needles) in cases {
            let e = error(filter, *kind);
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{filter}");
            assert_eq!(e.status, 400);
            for needle in *needles {
                assert!(e.detail.contains(needle), "{filter}: {}", e.detail);
            }
        }
    }

    #[test]
    fn too_many_parameters_is_too_complex() {
        let filter = vec![r#"title eq "x""#; MAX_PARAMS / 2 + 1].join(" or ");
        let e = error(&filter, SchemaKind::User);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.detail.contains("too complex"), "{}", e.detail);
        // Right at the cap is fine.
        let filter = vec![r#"title eq "x""#; MAX_PARAMS / 2].join(" or ");
        assert_eq!(user(&filter, Backend::Sqlite).params.len(), MAX_PARAMS);
    }

    #[test]
    fn long_or_chains_stay_flat() {
        let filter = vec!["id pr"; 300].join(" or ");
        let f = user(&filter, Backend::Sqlite);
        assert!(f.sql.starts_with("(users.id <> '' OR users.id <> '' OR "));
        assert_eq!(f.sql.matches('(').count(), 1, "one group, no nesting");
    }

    #[test]
    fn sort_keys() {
        let f = order_by(
            "userName",
            SortOrder::Ascending,
            SchemaKind::User,
            Backend::Sqlite,
            1,
        )
        .unwrap();
        assert_eq!(
            f.sql,
            "(users.user_name_key) IS NULL ASC, users.user_name_key ASC, users.id ASC"
        );
        let f = order_by(
            "meta.lastModified",
            SortOrder::Descending,
            SchemaKind::Group,
            Backend::Postgres,
            1,
        )
        .unwrap();
        assert_eq!(
            f.sql,
            "(user_groups.updated_at) IS NULL DESC, user_groups.updated_at DESC, user_groups.id ASC"
        );
        let f = sort_expression("name.familyName", SchemaKind::User, Backend::Postgres, 2).unwrap();
        assert_eq!(
            f.sql,
            "lower(jsonb_extract_path_text(users.resource::jsonb, $2, $3)) COLLATE \"C\""
        );
        let f = sort_expression("emails", SchemaKind::User, Backend::Sqlite, 1).unwrap();
        assert_eq!(
            f.sql,
            "lower((SELECT json_extract(e.value, $2) FROM json_each(users.resource, $1) AS e \
             ORDER BY COALESCE(json_type(e.value, $3) = 'true', FALSE) DESC, e.key LIMIT 1))"
        );
        for bad in [
            "nosuch",
            "name",
            "groups",
            "meta.resourceType",
            r#"emails[type eq "work"]"#,
            "",
        ] {
            let e = sort_expression(bad, SchemaKind::User, Backend::Sqlite, 1).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{bad}: {e}");
        }
    }

    #[test]
    fn sort_order_parameter() {
        assert_eq!(SortOrder::parse(None).unwrap(), SortOrder::Ascending);
        assert_eq!(
            SortOrder::parse(Some("DESCENDING")).unwrap(),
            SortOrder::Descending
        );
        assert_eq!(
            SortOrder::parse(Some("up")).unwrap_err().scim_type,
            Some(ScimType::InvalidValue)
        );
    }
}
