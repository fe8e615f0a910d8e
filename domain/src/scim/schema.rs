//! The SCIM schemas Gatehouse serves (RFC 7643 §4 and §8.7): core User, the Enterprise User
//! extension and core Group.
//!
//! The schemas are static tables so that validation, projection and PATCH all read the
//! same characteristics the `/Schemas` endpoint advertises; a client that configures itself
//! from `/Schemas` (Okta's "Import User Schema", Entra's attribute mapping) therefore sees
//! exactly the rules we enforce.
//!
//! Deviations from the RFC text, each because the RFC contradicts itself or our behaviour:
//! - `addresses` has a `primary` sub-attribute (§4.1.2 defines it; §8.7.1 forgot it).
//! - Group `displayName` is `required` (§4.2 says REQUIRED; §8.7.1 says not) and has
//!   `uniqueness: server`, because Gatehouse refuses duplicate group names with a 409 and
//!   Okta's Group Push links groups by name.
//! - Group `members` has a `display` sub-attribute (Okta sends it; §2.4 lists `display`
//!   among the default sub-attributes of multi-valued attributes), immutable like the
//!   other sub-attributes of `members` (§4.2).

use serde_json::{json, Map, Value};

/// The core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Enterprise User extension URN.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The schema of the resources `/Schemas` returns.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The schema of the resources `/ResourceTypes` returns.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

/// Whether and when a client may write an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    /// Settable when the resource (or the value) is created, never changed afterwards.
    Immutable,
    /// Accepted but never returned, such as `password`.
    WriteOnly,
}

/// When an attribute appears in responses (RFC 7643 §7, RFC 7644 §3.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    /// Even when `attributes` does not ask for it and `excludedAttributes` names it.
    Always,
    Never,
    /// Unless `attributes` leaves it out or `excludedAttributes` names it.
    Default,
    /// Only when `attributes` names it.
    Request,
}

/// The scope in which a value must be unique (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl AttrType {
    /// The type's name as `/Schemas` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
            AttrType::Binary => "binary",
        }
    }
}

impl Mutability {
    /// The keyword as `/Schemas` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

impl Returned {
    /// The keyword as `/Schemas` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

impl Uniqueness {
    /// The keyword as `/Schemas` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition with its RFC 7643 §7 characteristics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// The canonical spelling; clients may use any case.
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    /// Whether string comparisons (filters, uniqueness, de-duplication) respect case.
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    /// Suggested values; advertised, not enforced (RFC 7643 §7 lets clients use others).
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
}

/// A schema: the attributes one URN defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

// ---------------------------------------------------------------------------------------
// Builders: RFC 7643's defaults (single-valued, optional, case-insensitive, readWrite,
// returned by default, not unique), with the exceptions spelled out per attribute.
// ---------------------------------------------------------------------------------------

const fn attr(name: &'static str, kind: AttrType, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        multi_valued: false,
        description,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

const fn string(name: &'static str, description: &'static str) -> Attribute {
    attr(name, AttrType::String, description)
}

const fn complex(
    name: &'static str,
    description: &'static str,
    sub_attributes: &'static [Attribute],
) -> Attribute {
    Attribute {
        sub_attributes,
        ..attr(name, AttrType::Complex, description)
    }
}

impl Attribute {
    const fn required(self) -> Self {
        Attribute {
            required: true,
            ..self
        }
    }

    const fn case_exact(self) -> Self {
        Attribute {
            case_exact: true,
            ..self
        }
    }

    const fn multi(self) -> Self {
        Attribute {
            multi_valued: true,
            ..self
        }
    }

    const fn mutability(self, mutability: Mutability) -> Self {
        Attribute { mutability, ..self }
    }

    const fn returned(self, returned: Returned) -> Self {
        Attribute { returned, ..self }
    }

    const fn uniqueness(self, uniqueness: Uniqueness) -> Self {
        Attribute { uniqueness, ..self }
    }

    const fn canonical(self, canonical_values: &'static [&'static str]) -> Self {
        Attribute {
            canonical_values,
            ..self
        }
    }

    const fn references(self, reference_types: &'static [&'static str]) -> Self {
        Attribute {
            reference_types,
            ..self
        }
    }
}

const PRIMARY: Attribute = attr(
    "primary",
    AttrType::Boolean,
    "A Boolean value indicating the 'primary' or preferred attribute value for this \
     attribute. The primary attribute value 'true' MUST appear no more than once.",
);
const DISPLAY: Attribute = string(
    "display",
    "A human-readable name, primarily used for display purposes.",
);

/// The usual sub-attributes of a multi-valued attribute (RFC 7643 §2.4) with a string value.
const fn value_display_type_primary(
    value: &'static str,
    type_description: &'static str,
    types: &'static [&'static str],
) -> [Attribute; 4] {
    [
        string("value", value),
        DISPLAY,
        string("type", type_description).canonical(types),
        PRIMARY,
    ]
}

const NAME_SUBS: [Attribute; 6] = [
    string(
        "formatted",
        "The full name, including all middle names, titles, and suffixes as appropriate, \
         formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
    ),
    string(
        "familyName",
        "The family name of the User, or last name in most Western languages.",
    ),
    string(
        "givenName",
        "The given name of the User, or first name in most Western languages.",
    ),
    string("middleName", "The middle name(s) of the User."),
    string(
        "honorificPrefix",
        "The honorific prefix(es) of the User, or title in most Western languages.",
    ),
    string(
        "honorificSuffix",
        "The honorific suffix(es) of the User, or suffix in most Western languages.",
    ),
];

const EMAIL_SUBS: [Attribute; 4] = value_display_type_primary(
    "Email addresses for the user.",
    "A label indicating the attribute's function, e.g., 'work' or 'home'.",
    &["work", "home", "other"],
);
const PHONE_SUBS: [Attribute; 4] = value_display_type_primary(
    "Phone number of the User.",
    "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
    &["work", "home", "mobile", "fax", "pager", "other"],
);
const IM_SUBS: [Attribute; 4] = value_display_type_primary(
    "Instant messaging address for the User.",
    "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
const PHOTO_SUBS: [Attribute; 4] = [
    attr("value", AttrType::Reference, "URL of a photo of the User.").references(&["external"]),
    DISPLAY,
    string(
        "type",
        "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
    )
    .canonical(&["photo", "thumbnail"]),
    PRIMARY,
];
const ADDRESS_SUBS: [Attribute; 8] = [
    string(
        "formatted",
        "The full mailing address, formatted for display or use with a mailing label.",
    ),
    string("streetAddress", "The full street address component."),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    string(
        "type",
        "A label indicating the attribute's function, e.g., 'work' or 'home'.",
    )
    .canonical(&["work", "home", "other"]),
    PRIMARY,
];
const GROUP_MEMBERSHIP_SUBS: [Attribute; 4] = [
    string("value", "The identifier of the User's group.").mutability(Mutability::ReadOnly),
    attr(
        "$ref",
        AttrType::Reference,
        "The URI of the corresponding 'Group' resource to which the user belongs.",
    )
    .references(&["User", "Group"])
    .mutability(Mutability::ReadOnly),
    DISPLAY.mutability(Mutability::ReadOnly),
    string(
        "type",
        "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
    )
    .canonical(&["direct", "indirect"])
    .mutability(Mutability::ReadOnly),
];
const ENTITLEMENT_SUBS: [Attribute; 4] = value_display_type_primary(
    "The value of an entitlement.",
    "A label indicating the attribute's function.",
    &[],
);
const ROLE_SUBS: [Attribute; 4] = value_display_type_primary(
    "The value of a role.",
    "A label indicating the attribute's function.",
    &[],
);
const CERTIFICATE_SUBS: [Attribute; 4] = [
    attr(
        "value",
        AttrType::Binary,
        "The value of an X.509 certificate.",
    ),
    DISPLAY,
    string("type", "A label indicating the attribute's function."),
    PRIMARY,
];

const USER_ATTRIBUTES: [Attribute; 21] = [
    string(
        "userName",
        "Unique identifier for the User, typically used by the user to directly authenticate \
         to the service provider. Each User MUST include a non-empty userName value. This \
         identifier MUST be unique across the service provider's entire set of Users.",
    )
    .required()
    .uniqueness(Uniqueness::Server),
    complex(
        "name",
        "The components of the user's real name.",
        &NAME_SUBS,
    ),
    string(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    string(
        "nickName",
        "The casual way to address the user in real life.",
    ),
    attr(
        "profileUrl",
        AttrType::Reference,
        "A fully qualified URL pointing to a page representing the User's online profile.",
    )
    .references(&["external"]),
    string("title", "The user's title, such as \"Vice President.\""),
    string(
        "userType",
        "Used to identify the relationship between the organization and the user.",
    ),
    string(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language.",
    ),
    string(
        "locale",
        "Used to indicate the User's default location for purposes of localizing items such \
         as currency, date time format, or numerical representations.",
    ),
    string(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format, e.g., \
         'America/Los_Angeles'.",
    ),
    attr(
        "active",
        AttrType::Boolean,
        "A Boolean value indicating the User's administrative status.",
    ),
    string(
        "password",
        "The User's cleartext password. Accepted to set or reset a password, never returned.",
    )
    .mutability(Mutability::WriteOnly)
    .returned(Returned::Never),
    complex("emails", "Email addresses for the user.", &EMAIL_SUBS).multi(),
    complex("phoneNumbers", "Phone numbers for the User.", &PHONE_SUBS).multi(),
    complex("ims", "Instant messaging addresses for the User.", &IM_SUBS).multi(),
    complex("photos", "URLs of photos of the User.", &PHOTO_SUBS).multi(),
    complex(
        "addresses",
        "A physical mailing address for this User.",
        &ADDRESS_SUBS,
    )
    .multi(),
    complex(
        "groups",
        "A list of groups to which the user belongs, either through direct membership, \
         through nested groups, or dynamically calculated.",
        &GROUP_MEMBERSHIP_SUBS,
    )
    .multi()
    .mutability(Mutability::ReadOnly),
    complex(
        "entitlements",
        "A list of entitlements for the User that represent a thing the User has.",
        &ENTITLEMENT_SUBS,
    )
    .multi(),
    complex(
        "roles",
        "A list of roles for the User that collectively represent who the User is.",
        &ROLE_SUBS,
    )
    .multi(),
    complex(
        "x509Certificates",
        "A list of certificates issued to the User.",
        &CERTIFICATE_SUBS,
    )
    .multi(),
];

const MANAGER_SUBS: [Attribute; 3] = [
    string(
        "value",
        "The id of the SCIM resource representing the User's manager.",
    ),
    attr(
        "$ref",
        AttrType::Reference,
        "The URI of the SCIM resource representing the User's manager.",
    )
    .references(&["User"]),
    string("displayName", "The displayName of the User's manager.")
        .mutability(Mutability::ReadOnly),
];

const ENTERPRISE_USER_ATTRIBUTES: [Attribute; 6] = [
    string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person, typically based on order \
         of hire or association with an organization.",
    ),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    complex("manager", "The User's manager.", &MANAGER_SUBS),
];

const MEMBER_SUBS: [Attribute; 4] = [
    string("value", "Identifier of the member of this Group.").mutability(Mutability::Immutable),
    attr(
        "$ref",
        AttrType::Reference,
        "The URI corresponding to a SCIM resource that is a member of this Group.",
    )
    .references(&["User", "Group"])
    .mutability(Mutability::Immutable),
    DISPLAY.mutability(Mutability::Immutable),
    string(
        "type",
        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
    )
    .canonical(&["User", "Group"])
    .mutability(Mutability::Immutable),
];

const GROUP_ATTRIBUTES: [Attribute; 2] = [
    string(
        "displayName",
        "A human-readable name for the Group. REQUIRED.",
    )
    .required()
    .uniqueness(Uniqueness::Server),
    complex("members", "A list of members of the Group.", &MEMBER_SUBS).multi(),
];

/// The core User schema (RFC 7643 §4.1).
pub static USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &USER_ATTRIBUTES,
};

/// The Enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &ENTERPRISE_USER_ATTRIBUTES,
};

/// The core Group schema (RFC 7643 §4.2).
pub static GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &GROUP_ATTRIBUTES,
};

const META_SUBS: [Attribute; 5] = [
    string(
        "resourceType",
        "The name of the resource type of the resource.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly),
    attr(
        "created",
        AttrType::DateTime,
        "The date and time the resource was added to the service provider.",
    )
    .mutability(Mutability::ReadOnly),
    attr(
        "lastModified",
        AttrType::DateTime,
        "The most recent date and time that the details of this resource were updated.",
    )
    .mutability(Mutability::ReadOnly),
    attr("location", AttrType::Reference, "The URI of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
    string("version", "The version (ETag) of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
];

/// `id`, `externalId` and `meta` (RFC 7643 §3.1): part of every resource but of no schema,
/// which is why `/Schemas` does not list them.
pub static COMMON_ATTRIBUTES: [Attribute; 3] = [
    string(
        "id",
        "A unique identifier for a SCIM resource as defined by the service provider.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .uniqueness(Uniqueness::Server),
    string(
        "externalId",
        "A String that is an identifier for the resource as defined by the provisioning client.",
    )
    .case_exact(),
    complex(
        "meta",
        "A complex attribute containing resource metadata.",
        &META_SUBS,
    )
    .mutability(Mutability::ReadOnly),
];

static USER_EXTENSIONS: [&Schema; 1] = [&ENTERPRISE_USER];

/// The kinds of resource Gatehouse serves; picks the schemas everything else applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    User,
    Group,
}

impl SchemaKind {
    /// The schema every resource of this kind must list in `schemas`.
    pub fn core(self) -> &'static Schema {
        match self {
            SchemaKind::User => &USER,
            SchemaKind::Group => &GROUP,
        }
    }

    /// The extension schemas a resource of this kind may carry, all optional.
    pub fn extensions(self) -> &'static [&'static Schema] {
        match self {
            SchemaKind::User => &USER_EXTENSIONS,
            SchemaKind::Group => &[],
        }
    }

    /// The resource type's name, as in `meta.resourceType` and `/ResourceTypes/{name}`.
    pub fn resource_type(self) -> &'static str {
        match self {
            SchemaKind::User => "User",
            SchemaKind::Group => "Group",
        }
    }

    /// The endpoint relative to the SCIM base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            SchemaKind::User => "/Users",
            SchemaKind::Group => "/Groups",
        }
    }

    /// The core schema, then the extensions.
    pub fn schemas(self) -> impl Iterator<Item = &'static Schema> {
        std::iter::once(self.core()).chain(self.extensions().iter().copied())
    }

    /// The schema of this kind with the URN `urn`, compared case-insensitively because
    /// RFC 7643 §2.1 makes URNs in attribute names case-insensitive.
    pub fn schema_for_urn(self, urn: &str) -> Option<&'static Schema> {
        self.schemas().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The extension schema (not the core one) with the URN `urn`.
    pub fn extension_for_urn(self, urn: &str) -> Option<&'static Schema> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

/// Every schema `/Schemas` lists, in the order it lists them.
pub fn all_schemas() -> [&'static Schema; 3] {
    [&USER, &ENTERPRISE_USER, &GROUP]
}

/// The schema with the URN `urn`, for `GET /Schemas/{id}`.
pub fn schema_by_urn(urn: &str) -> Option<&'static Schema> {
    all_schemas()
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(urn))
}

/// The attribute named `name` in any case: SCIM attribute names are case-insensitive
/// (RFC 7643 §2.1), and Okta's conformance test sends `USERNAME`-style variants.
pub fn find_attribute(schema: &'static Schema, name: &str) -> Option<&'static Attribute> {
    find_in(schema.attributes, name)
}

/// The common attribute (`id`, `externalId`, `meta`) named `name`, in any case.
pub fn find_common_attribute(name: &str) -> Option<&'static Attribute> {
    find_in(&COMMON_ATTRIBUTES, name)
}

fn find_in(attributes: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

impl Attribute {
    /// The sub-attribute named `name`, in any case.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        find_in(self.sub_attributes, name)
    }

    /// The attribute's representation in `/Schemas` (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), self.name.into());
        out.insert("type".into(), self.kind.as_str().into());
        out.insert("multiValued".into(), self.multi_valued.into());
        out.insert("description".into(), self.description.into());
        out.insert("required".into(), self.required.into());
        out.insert("caseExact".into(), self.case_exact.into());
        out.insert("mutability".into(), self.mutability.as_str().into());
        out.insert("returned".into(), self.returned.as_str().into());
        out.insert("uniqueness".into(), self.uniqueness.as_str().into());
        if !self.canonical_values.is_empty() {
            out.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            out.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if self.kind == AttrType::Complex {
            let subs: Vec<Value> = self.sub_attributes.iter().map(Attribute::to_json).collect();
            out.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(out)
    }
}

/// `base_url` without the trailing slashes, so `https://h/scim/v2/` and `https://h/scim/v2`
/// give the same locations.
fn trim_base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// The schema's `/Schemas` resource (RFC 7643 §7), with `meta.location` under `base_url`
/// (the SCIM base URL the client called, e.g. `https://gatehouse.example/scim/v2`).
pub fn schema_json(schema: &Schema, base_url: &str) -> Value {
    let attributes: Vec<Value> = schema.attributes.iter().map(Attribute::to_json).collect();
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", trim_base(base_url), schema.id),
        },
    })
}

/// The resource type's `/ResourceTypes` resource (RFC 7643 §6). Okta's OIW schema import
/// reads the User's `schemaExtensions` to find the enterprise attributes.
pub fn resource_type_json(kind: SchemaKind, base_url: &str) -> Value {
    let name = kind.resource_type();
    let mut out = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": kind.endpoint(),
        "description": kind.core().description,
        "schema": kind.core().id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{name}", trim_base(base_url)),
        },
    });
    if !kind.extensions().is_empty() {
        let extensions: Vec<Value> = kind
            .extensions()
            .iter()
            .map(|s| json!({ "schema": s.id, "required": false }))
            .collect();
        out["schemaExtensions"] = Value::Array(extensions);
    }
    out
}

/// Every resource type `/ResourceTypes` lists.
pub fn all_resource_types() -> [SchemaKind; 2] {
    [SchemaKind::User, SchemaKind::Group]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_attr(name: &str) -> &'static Attribute {
        find_attribute(&USER, name).unwrap_or_else(|| panic!("no User attribute {name}"))
    }

    #[test]
    fn attribute_lookup_is_case_insensitive() {
        assert_eq!(user_attr("USERNAME").name, "userName");
        assert_eq!(user_attr("phonenumbers").name, "phoneNumbers");
        assert_eq!(
            user_attr("name").sub_attribute("GIVENNAME").map(|a| a.name),
            Some("givenName")
        );
        assert!(find_attribute(&USER, "nosuch").is_none());
        assert_eq!(
            find_common_attribute("EXTERNALID").map(|a| a.name),
            Some("externalId")
        );
    }

    #[test]
    fn user_characteristics_follow_rfc_7643() {
        let user_name = user_attr("userName");
        assert!(user_name.required);
        assert!(!user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        assert_eq!(user_name.mutability, Mutability::ReadWrite);

        let password = user_attr("password");
        assert_eq!(password.mutability, Mutability::WriteOnly);
        assert_eq!(password.returned, Returned::Never);

        let emails = user_attr("emails");
        assert!(emails.multi_valued);
        assert_eq!(emails.kind, AttrType::Complex);
        let email_value = emails.sub_attribute("value").unwrap();
        assert!(!email_value.case_exact);
        assert_eq!(
            emails.sub_attribute("type").unwrap().canonical_values,
            ["work", "home", "other"]
        );
        assert_eq!(
            emails.sub_attribute("primary").unwrap().kind,
            AttrType::Boolean
        );

        let groups = user_attr("groups");
        assert_eq!(groups.mutability, Mutability::ReadOnly);
        assert!(groups
            .sub_attributes
            .iter()
            .all(|s| s.mutability == Mutability::ReadOnly));

        assert_eq!(user_attr("active").kind, AttrType::Boolean);
        assert_eq!(user_attr("profileUrl").kind, AttrType::Reference);
        assert_eq!(
            user_attr("x509Certificates")
                .sub_attribute("value")
                .unwrap()
                .kind,
            AttrType::Binary
        );
        assert!(user_attr("addresses").sub_attribute("primary").is_some());
        let names: Vec<&str> = USER.attributes.iter().map(|a| a.name).collect();
        assert_eq!(
            names,
            [
                "userName",
                "name",
                "displayName",
                "nickName",
                "profileUrl",
                "title",
                "userType",
                "preferredLanguage",
                "locale",
                "timezone",
                "active",
                "password",
                "emails",
                "phoneNumbers",
                "ims",
                "photos",
                "addresses",
                "groups",
                "entitlements",
                "roles",
                "x509Certificates",
            ]
        );
    }

    #[test]
    fn group_and_enterprise_characteristics() {
        let members = find_attribute(&GROUP, "members").unwrap();
        assert!(members.multi_valued);
        assert_eq!(members.mutability, Mutability::ReadWrite);
        let value = members.sub_attribute("value").unwrap();
        assert_eq!(value.mutability, Mutability::Immutable);
        assert!(!value.case_exact);
        assert_eq!(
            members.sub_attribute("type").unwrap().canonical_values,
            ["User", "Group"]
        );
        assert!(find_attribute(&GROUP, "displayName").unwrap().required);

        let manager = find_attribute(&ENTERPRISE_USER, "manager").unwrap();
        assert_eq!(
            manager.sub_attribute("displayName").unwrap().mutability,
            Mutability::ReadOnly
        );
        assert_eq!(
            manager.sub_attribute("$ref").unwrap().reference_types,
            ["User"]
        );
        assert!(find_attribute(&ENTERPRISE_USER, "EMPLOYEENUMBER").is_some());
    }

    #[test]
    fn kinds_know_their_schemas() {
        assert_eq!(SchemaKind::User.core().id, USER_SCHEMA);
        assert_eq!(
            SchemaKind::User
                .extension_for_urn(&ENTERPRISE_USER_SCHEMA.to_uppercase())
                .map(|s| s.id),
            Some(ENTERPRISE_USER_SCHEMA)
        );
        assert!(SchemaKind::User.extension_for_urn(USER_SCHEMA).is_none());
        assert!(SchemaKind::Group
            .schema_for_urn(ENTERPRISE_USER_SCHEMA)
            .is_none());
        assert_eq!(schema_by_urn(GROUP_SCHEMA).map(|s| s.name), Some("Group"));
        assert!(schema_by_urn("urn:example:nope").is_none());
    }

    #[test]
    fn schema_json_has_rfc_shape_and_location() {
        let json = schema_json(&USER, "https://gh.example/scim/v2/");
        assert_eq!(json["schemas"], json!([SCHEMA_SCHEMA]));
        assert_eq!(json["id"], USER_SCHEMA);
        assert_eq!(json["meta"]["resourceType"], "Schema");
        assert_eq!(
            json["meta"]["location"],
            "https://gh.example/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
        );
        let user_name = &json["attributes"][0];
        assert_eq!(
            user_name,
            &json!({
                "name": "userName",
                "type": "string",
                "multiValued": false,
                "description": USER.attributes[0].description,
                "required": true,
                "caseExact": false,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "server",
            })
        );
        let emails = json["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "emails")
            .unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"].as_array().unwrap().len(), 4);
        assert_eq!(
            emails["subAttributes"][2]["canonicalValues"],
            json!(["work", "home", "other"])
        );
    }

    #[test]
    fn resource_types_list_the_enterprise_extension_as_optional() {
        let user = resource_type_json(SchemaKind::User, "https://gh.example/scim/v2");
        assert_eq!(
            user,
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": USER_SCHEMA,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
                "meta": {
                    "resourceType": "ResourceType",
                    "location": "https://gh.example/scim/v2/ResourceTypes/User",
                },
            })
        );
        let group = resource_type_json(SchemaKind::Group, "https://gh.example/scim/v2");
        assert_eq!(group["endpoint"], "/Groups");
        assert_eq!(group["schema"], GROUP_SCHEMA);
        assert!(group.get("schemaExtensions").is_none());
    }
}
