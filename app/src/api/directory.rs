//! Users & Groups server functions: the Users and User Groups lists, a user's and a group's
//! page, ending a user's sessions, and assigning a group's authentication profile.
//!
//! The lists' filters arrive as the URL has them (text), and are checked here with a reason
//! for anything wrong; the cursors are the store's opaque strings, passed through.

use crate::error::AppError;
use gatehouse_domain::auth_profile::{AuthProfileRef, EffectiveProfile, EndUserSession, GroupRef};
use gatehouse_domain::event::EventEntry;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Rows on one page of the Users and User Groups lists and of a group's members.
pub const PAGE_SIZE: u32 = 50;

/// Events shown on a user's or group's page (the rest are one link away).
pub const RECENT_EVENTS: u32 = 10;

/// The Users list's filters, sort and position, as in the URL (`?q=ada&status=active`).
/// Blank fields mean "no filter".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserParams {
    /// Search text.
    pub q: Option<String>,
    /// `prefix` (default) or `contains`.
    pub r#match: Option<String>,
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// A group, by id or by name.
    pub group: Option<String>,
    /// A SCIM token id.
    pub source: Option<String>,
    /// `user_name` (default), `name` or `updated`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl UserParams {
    /// The URL's `key=value` pairs, in a fixed order, blank ones left out.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("q", &self.q),
            ("match", &self.r#match),
            ("status", &self.status),
            ("group", &self.group),
            ("source", &self.source),
            ("sort", &self.sort),
            ("order", &self.order),
            ("after", &self.after),
            ("before", &self.before),
        ]
        .into_iter()
        .filter_map(|(k, v)| non_empty(v).map(|v| (k, v.to_string())))
        .collect()
    }

    /// Whether any filter narrows the list (sort and position do not).
    pub fn filtered(&self) -> bool {
        [&self.q, &self.status, &self.group, &self.source]
            .into_iter()
            .any(|v| non_empty(v).is_some())
    }

    /// The same filters and sort, on the first page.
    pub fn first_page(&self) -> Self {
        UserParams {
            after: None,
            before: None,
            ..self.clone()
        }
    }
}

/// The User Groups list's filters, sort and position, as in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupParams {
    pub q: Option<String>,
    pub r#match: Option<String>,
    /// `none` (groups without a profile) or a profile id.
    pub profile: Option<String>,
    /// `name` (default) or `updated`.
    pub sort: Option<String>,
    pub order: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl GroupParams {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("q", &self.q),
            ("match", &self.r#match),
            ("profile", &self.profile),
            ("sort", &self.sort),
            ("order", &self.order),
            ("after", &self.after),
            ("before", &self.before),
        ]
        .into_iter()
        .filter_map(|(k, v)| non_empty(v).map(|v| (k, v.to_string())))
        .collect()
    }

    pub fn filtered(&self) -> bool {
        non_empty(&self.q).is_some() || non_empty(&self.profile).is_some()
    }

    pub fn first_page(&self) -> Self {
        GroupParams {
            after: None,
            before: None,
            ..self.clone()
        }
    }
}

/// `key=value&…`, percent-encoded.
pub fn query_string(pairs: &[(&'static str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", gatehouse_domain::event::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Where a user or group came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    pub token_id: Option<String>,
    /// The SCIM token's name, or "SCIM" when that is no longer recorded.
    pub name: String,
}

/// A row of the Users list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub user_name: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub source: SourceView,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A page of rows and cursors for the neighbouring pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// The Users list as shown: a page, and the group filter resolved to a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersView {
    pub page: PageView<UserRow>,
    pub group: Option<GroupRef>,
}

/// How many users the Users list's filters match, on all pages. A call of its own so
/// that the page is shown without waiting for a count over the whole directory, and so that
/// turning pages does not count again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTotal {
    pub total: u64,
    pub group: Option<GroupRef>,
}

/// A page of a group's members and how many match (all of them without a search), in one
/// request: without a search the count is the membership index's, and a search whose
/// matches are few was counted while finding the page; only a search with many matches is
/// counted again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersView {
    pub page: PageView<UserRow>,
    pub total: u64,
}

/// A SCIM token the source filter can offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceChoice {
    pub token_id: String,
    pub label: String,
}

/// What the Users list's filter controls offer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFilterChoices {
    pub sources: Vec<SourceChoice>,
    /// Groups to suggest for the group filter (the first ones by name).
    pub groups: Vec<GroupRef>,
}

/// One attribute the IdP sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeView {
    pub label: String,
    pub path: String,
    pub value: String,
}

/// The attributes of one schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeSectionView {
    pub title: String,
    pub schema: String,
    pub rows: Vec<AttributeView>,
}

/// A group the user is in, and the profile it brings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipView {
    pub group: GroupRef,
    pub profile: Option<AuthProfileRef>,
    pub priority: Option<i32>,
}

/// Everything a user's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub user: UserRow,
    pub external_id: Option<String>,
    pub groups: Vec<MembershipView>,
    pub attributes: Vec<AttributeSectionView>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in: Option<OffsetDateTime>,
    pub effective_profile: Option<EffectiveProfile>,
    pub sessions: Vec<EndUserSession>,
    pub recent_events: Vec<EventEntry>,
}

/// A row of the User Groups list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub member_count: u64,
    pub profile: Option<AuthProfileRef>,
    pub source: SourceView,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_change: OffsetDateTime,
}

/// A profile a group can be assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChoice {
    pub id: String,
    pub name: String,
    pub priority: i32,
    /// Whether its IdP metadata is imported (members can sign in through it).
    pub ready: bool,
}

/// The User Groups list as shown, with the profiles its filter offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsView {
    pub page: PageView<GroupRow>,
    /// How many groups match, on all pages (a directory has hundreds, not 100,000s).
    pub total: u64,
    pub profiles: Vec<ProfileChoice>,
}

/// Everything a group's page shows except its members (a list of their own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub group: GroupRow,
    pub profiles: Vec<ProfileChoice>,
    pub recent_events: Vec<EventEntry>,
}

/// What assigning a profile did, in a sentence for the admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileAssigned {
    pub message: String,
    pub profile: Option<AuthProfileRef>,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use gatehouse_domain::store::{
        AttributeSection, DirectoryPage, GroupSummary, SearchMode, SortOrder, Source, UserSummary,
    };

    fn invalid(m: String) -> AppError {
        AppError::Invalid(m).respond()
    }

    pub fn mode(v: &Option<String>) -> Result<SearchMode, AppError> {
        match non_empty(v) {
            None => Ok(SearchMode::Prefix),
            Some(m) => SearchMode::parse(m).ok_or_else(|| {
                invalid(format!(
                    "Unknown search match \"{m}\": use prefix (starts with) or contains."
                ))
            }),
        }
    }

    pub fn order(v: &Option<String>) -> Result<SortOrder, AppError> {
        match non_empty(v) {
            None => Ok(SortOrder::Asc),
            Some(o) => SortOrder::parse(o)
                .ok_or_else(|| invalid(format!("Unknown order \"{o}\": use asc or desc."))),
        }
    }

    pub fn text(v: &Option<String>) -> Option<String> {
        non_empty(v).map(str::to_string)
    }

    fn source(s: Source) -> SourceView {
        SourceView {
            token_id: s.token_id,
            name: s.name,
        }
    }

    pub fn user(u: UserSummary) -> UserRow {
        UserRow {
            id: u.id,
            user_name: u.user_name,
            name: u.name,
            email: u.email,
            active: u.active,
            source: source(u.source),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }

    pub fn group(g: GroupSummary) -> GroupRow {
        GroupRow {
            id: g.id,
            display_name: g.display_name,
            external_id: g.external_id,
            member_count: g.member_count,
            profile: g.profile,
            source: source(g.source),
            created_at: g.created_at,
            updated_at: g.updated_at,
            last_change: g.last_change,
        }
    }

    pub fn page<T, U>(p: DirectoryPage<T>, f: impl Fn(T) -> U) -> PageView<U> {
        PageView {
            rows: p.rows.into_iter().map(f).collect(),
            next: p.next,
            prev: p.prev,
        }
    }

    pub fn sections(s: Vec<AttributeSection>) -> Vec<AttributeSectionView> {
        s.into_iter()
            .map(|s| AttributeSectionView {
                title: s.title,
                schema: s.schema,
                rows: s
                    .rows
                    .into_iter()
                    .map(|r| AttributeView {
                        label: r.label,
                        path: r.path,
                        value: r.value,
                    })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(feature = "ssr")]
async fn profile_choices(
    store: &gatehouse_domain::store::Store,
) -> Result<Vec<ProfileChoice>, AppError> {
    Ok(store
        .list_auth_profiles()
        .await?
        .into_iter()
        .map(|p| ProfileChoice {
            ready: p.can_sign_in(),
            id: p.id.to_string(),
            name: p.name,
            priority: p.priority,
        })
        .collect())
}

#[cfg(feature = "ssr")]
async fn events_about(
    store: &gatehouse_domain::store::Store,
    id: &str,
) -> Result<Vec<EventEntry>, AppError> {
    use gatehouse_domain::event::{EventFilter, TargetFilter};
    let page = store
        .query_events(&gatehouse_domain::store::EventQuery {
            filter: EventFilter {
                target: Some(TargetFilter::Id(id.to_string())),
                ..Default::default()
            },
            limit: RECENT_EVENTS,
            ..Default::default()
        })
        .await?;
    Ok(page.entries)
}

/// The store query for the Users list's URL parameters, and the group filter resolved.
#[cfg(feature = "ssr")]
async fn user_query(
    store: &gatehouse_domain::store::Store,
    params: &UserParams,
) -> Result<(gatehouse_domain::store::UserListQuery, Option<GroupRef>), AppError> {
    use gatehouse_domain::store::{UserFilter, UserListQuery, UserSort};
    let active = match non_empty(&params.status) {
        None => None,
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(s) => {
            return Err(AppError::Invalid(format!(
                "Unknown status \"{s}\": use active or inactive."
            ))
            .respond())
        }
    };
    let group = match non_empty(&params.group) {
        None => None,
        Some(g) => Some(store.resolve_group(g).await?),
    };
    let sort = match non_empty(&params.sort) {
        None => UserSort::UserName,
        Some(s) => UserSort::parse(s).ok_or_else(|| {
            AppError::Invalid(format!(
                "Unknown sort \"{s}\": use user_name, name or updated."
            ))
            .respond()
        })?,
    };
    let query = UserListQuery {
        filter: UserFilter {
            search: convert::text(&params.q),
            mode: convert::mode(&params.r#match)?,
            active,
            group_id: group.as_ref().map(|g| g.id.clone()),
            source_token_id: convert::text(&params.source),
        },
        sort,
        order: convert::order(&params.order)?,
        after: convert::text(&params.after),
        before: convert::text(&params.before),
        limit: PAGE_SIZE,
    };
    Ok((query, group))
}

/// A page of the Users list for the URL's filters (the total is [`directory_user_count`]).
#[server(prefix = "/console/api", endpoint = "directory_users")]
pub async fn directory_users(#[server(default)] params: UserParams) -> Result<UsersView, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let (query, group) = user_query(&state.store, &params).await?;
    let page = state.store.list_directory_users(&query).await?;
    Ok(UsersView {
        page: convert::page(page, convert::user),
        group,
    })
}

/// How many users the URL's filters match (its sort and position do not matter).
#[server(prefix = "/console/api", endpoint = "directory_user_count")]
pub async fn directory_user_count(
    #[server(default)] params: UserParams,
) -> Result<UserTotal, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let (query, group) = user_query(&state.store, &params).await?;
    Ok(UserTotal {
        total: state.store.count_directory_users(&query.filter).await?,
        group,
    })
}

/// The sources and groups the Users filters offer.
#[server(prefix = "/console/api", endpoint = "directory_user_filters")]
pub async fn directory_user_filters() -> Result<UserFilterChoices, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let sources = state
        .store
        .list_scim_tokens()
        .await?
        .into_iter()
        .map(|t| SourceChoice {
            label: if t.revoked_at.is_some() {
                format!("{} (revoked token)", t.name)
            } else {
                t.name
            },
            token_id: t.id.to_string(),
        })
        .collect();
    Ok(UserFilterChoices {
        sources,
        groups: state.store.suggest_groups("", 200).await?,
    })
}

/// One user's page.
#[server(prefix = "/console/api", endpoint = "directory_user")]
pub async fn directory_user(id: String) -> Result<UserView, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let store = &state.store;
    let detail = store.directory_user(&id).await?;
    let id = detail.summary.id.clone();
    Ok(UserView {
        external_id: detail.external_id,
        groups: detail
            .groups
            .into_iter()
            .map(|m| MembershipView {
                group: m.group,
                profile: m.profile,
                priority: m.priority,
            })
            .collect(),
        attributes: convert::sections(detail.attributes),
        last_sign_in: detail.last_sign_in,
        effective_profile: store.effective_profile_of_user(&id).await?,
        sessions: store.end_user_sessions_of(&id).await?,
        recent_events: events_about(store, &id).await?,
        user: convert::user(detail.summary),
    })
}

/// Ends every signed-in session of a user (recorded as an event); returns how many.
#[server(prefix = "/console/api", endpoint = "end_user_sessions")]
pub async fn end_user_sessions(user_id: String) -> Result<u64, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    let actor = gatehouse_domain::event::Actor::Admin(admin.id.to_string());
    Ok(state.store.end_sessions_of_user(&user_id, actor).await?)
}

/// A page of the User Groups list for the URL's filters.
#[server(prefix = "/console/api", endpoint = "directory_groups")]
pub async fn directory_groups(
    #[server(default)] params: GroupParams,
) -> Result<GroupsView, AppError> {
    super::guard::require_admin().await?;
    use gatehouse_domain::store::{GroupListQuery, GroupSort, ProfileFilter};
    let state = super::guard::app_state()?;
    let profile = match non_empty(&params.profile) {
        None => None,
        Some("none") => Some(ProfileFilter::Unassigned),
        Some(id) => Some(ProfileFilter::Profile(id.parse().map_err(|_| {
            AppError::Invalid(format!(
                "\"{id}\" is not a profile id; choose a profile from the list."
            ))
            .respond()
        })?)),
    };
    let sort = match non_empty(&params.sort) {
        None => GroupSort::Name,
        Some(s) => GroupSort::parse(s).ok_or_else(|| {
            AppError::Invalid(format!("Unknown sort \"{s}\": use name or updated.")).respond()
        })?,
    };
    let query = GroupListQuery {
        search: convert::text(&params.q),
        mode: convert::mode(&params.r#match)?,
        profile,
        sort,
        order: convert::order(&params.order)?,
        after: convert::text(&params.after),
        before: convert::text(&params.before),
        limit: PAGE_SIZE,
    };
    let page = state.store.list_directory_groups(&query).await?;
    Ok(GroupsView {
        page: convert::page(page, convert::group),
        total: state.store.count_directory_groups(&query).await?,
        profiles: profile_choices(&state.store).await?,
    })
}

/// One group's page, without its members.
#[server(prefix = "/console/api", endpoint = "directory_group")]
pub async fn directory_group(id: String) -> Result<GroupView, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    let detail = state.store.directory_group(&id).await?;
    let recent_events = events_about(&state.store, &detail.summary.id).await?;
    Ok(GroupView {
        group: convert::group(detail.summary),
        profiles: profile_choices(&state.store).await?,
        recent_events,
    })
}

/// A page of a group's members and how many match; `params.group` is ignored (the group
/// is `group_id`).
#[server(prefix = "/console/api", endpoint = "directory_group_members")]
pub async fn directory_group_members(
    group_id: String,
    // Every filter blank encodes as no field at all: the defaults stand in.
    #[server(default)] params: UserParams,
) -> Result<MembersView, AppError> {
    super::guard::require_admin().await?;
    let state = super::guard::app_state()?;
    // `user_query` looks the group up (a 404 when it is gone); its summary, with a count of
    // all its members, is `directory_group`'s, not needed for a page.
    let params = UserParams {
        group: Some(group_id),
        status: None,
        source: None,
        ..params
    };
    // The same checks and query as the Users list, narrowed to the group.
    let (query, _) = user_query(&state.store, &params).await?;
    let page = state.store.list_directory_users(&query).await?;
    let total = match page.total {
        Some(n) => n,
        None => state.store.count_directory_users(&query.filter).await?,
    };
    Ok(MembersView {
        page: convert::page(page, convert::user),
        total,
    })
}

/// Assigns a profile to a group, changes it, or removes it (`profile_id` empty).
#[server(prefix = "/console/api", endpoint = "set_group_profile")]
pub async fn set_group_profile(
    group_id: String,
    profile_id: String,
) -> Result<ProfileAssigned, AppError> {
    let admin = super::guard::require_administrator().await?;
    let state = super::guard::app_state()?;
    let profile = match profile_id.trim() {
        "" => None,
        id => Some(id.parse().map_err(|_| {
            AppError::Invalid(format!(
                "\"{id}\" is not a profile id; choose a profile from the list."
            ))
            .respond()
        })?),
    };
    let actor = gatehouse_domain::event::Actor::Admin(admin.id.to_string());
    let change = state
        .store
        .set_group_profile(&group_id, profile, actor)
        .await?;
    let group = &change.group.display_name;
    let unchanged = change.before.as_ref().map(|p| p.id) == change.after.as_ref().map(|p| p.id);
    let message = match (&change.after, unchanged) {
        (Some(p), true) => format!("{group} already signs in through {}; nothing changed.", p.name),
        (None, true) => format!("{group} has no authentication profile; nothing changed."),
        (Some(p), false) => format!("{group} now signs in through {}.", p.name),
        (None, false) => format!(
            "{} was removed from {group}. Its members cannot sign in until the group has a profile again.",
            change.before.as_ref().map_or("The profile", |p| p.name.as_str())
        ),
    };
    Ok(ProfileAssigned {
        message,
        profile: change.after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_make_a_stable_query_string() {
        let p = UserParams {
            q: Some("ada l".into()),
            status: Some("active".into()),
            group: Some("  ".into()),
            sort: Some("name".into()),
            after: Some("abc".into()),
            ..Default::default()
        };
        assert_eq!(
            query_string(&p.pairs()),
            "q=ada%20l&status=active&sort=name&after=abc"
        );
        assert!(p.filtered());
        assert_eq!(p.first_page().after, None);
        assert!(!UserParams {
            sort: Some("name".into()),
            ..Default::default()
        }
        .filtered());
        let g = GroupParams {
            profile: Some("none".into()),
            ..Default::default()
        };
        assert_eq!(query_string(&g.pairs()), "profile=none");
    }
}
