//! Users & Groups → Users: the people the identity provider provisioned.
//!
//! Search, filters, sort and page position live in the URL (`?q=ada&status=active&sort=name`),
//! so a view can be shared and the back button works. The list pages by key: "Next" and
//! "Previous" carry an opaque cursor, so page 2,000 is as fast as page 1.

pub mod detail;

pub use detail::UserPage;

use crate::api::directory::{
    directory_user_count, directory_user_filters, directory_users, query_string, PageView,
    UserFilterChoices, UserParams, UserRow,
};
use crate::components::event_list::utc;
use crate::components::{ErrorNotice, PageHeader};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

pub(crate) const SECTION: &str = "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-4 md:p-6";
pub(crate) const LABEL: &str = "block text-xs font-medium text-slate-600 dark:text-slate-400";
pub(crate) const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-2 py-1.5 text-sm text-slate-900 dark:text-slate-100 disabled:opacity-60";
pub(crate) const BUTTON: &str = "rounded-md border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800";
pub(crate) const PRIMARY: &str =
    "rounded-md bg-indigo-600 px-4 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50 disabled:cursor-not-allowed";
pub(crate) const LINK: &str = "text-indigo-700 dark:text-indigo-300 underline";
pub(crate) const TH: &str = "px-3 py-3 font-medium";

/// The Users list's parameters as the URL has them.
pub(crate) fn user_params_from(q: &ParamsMap) -> UserParams {
    UserParams {
        q: q.get("q"),
        r#match: q.get("match"),
        status: q.get("status"),
        group: q.get("group"),
        source: q.get("source"),
        sort: q.get("sort"),
        order: q.get("order"),
        after: q.get("after"),
        before: q.get("before"),
    }
}

/// `base?query`, or `base` when there is no query.
pub(crate) fn with_query(base: &str, pairs: &[(&'static str, String)]) -> String {
    let q = query_string(pairs);
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

fn users_url(p: &UserParams) -> String {
    with_query("/console/users", &p.pairs())
}

/// `1,234`.
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 user", "1,234 users".
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", thousands(n))
    }
}

/// Active or deactivated, as a coloured word.
#[component]
pub fn StatusBadge(active: bool) -> impl IntoView {
    let (class, text) = if active {
        ("rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200", "Active")
    } else {
        ("rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700 dark:bg-slate-800 dark:text-slate-300", "Inactive")
    };
    view! { <span class=class data-test="status">{text}</span> }
}

/// The mark on everything the IdP owns: it is the source of truth, so it is read-only here.
#[component]
pub fn ManagedMark(
    /// The SCIM token (IdP connection) that created the user or group.
    #[prop(into)]
    source: String,
) -> impl IntoView {
    let text = if source == "SCIM" {
        "Managed by your identity provider (SCIM)".to_string()
    } else {
        format!("Managed by {source} (SCIM)")
    };
    view! {
        <span data-test="managed-by" class="inline-flex items-center gap-1 rounded-full border border-indigo-200 dark:border-indigo-800 bg-indigo-50 dark:bg-indigo-950 px-2.5 py-0.5 text-xs font-medium text-indigo-800 dark:text-indigo-200">
            <svg aria-hidden="true" viewBox="0 0 20 20" class="h-3.5 w-3.5 fill-current"><path d="M10 1l7 3v5c0 4.5-3 8.3-7 10-4-1.7-7-5.5-7-10V4l7-3z"/></svg>
            {text}
        </span>
    }
}

/// A sortable column header: a link that sorts by this column (again: the other way), with
/// `aria-sort` on the current one.
#[component]
pub fn SortHeader(
    /// What the column is called.
    label: &'static str,
    /// The `sort` value of this column.
    key: &'static str,
    /// Whether this column is the default sort (when the URL names none).
    #[prop(optional)]
    default: bool,
    /// The current sort and order, as in the URL.
    current: Signal<(Option<String>, Option<String>)>,
    /// The URL for a sort and order.
    href: Callback<(String, String), String>,
) -> impl IntoView {
    let state = move || {
        let (sort, order) = current.get();
        let active = match sort.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => s == key,
            None => default,
        };
        let desc = order.as_deref() == Some("desc");
        (active, desc)
    };
    let aria = move || match state() {
        (true, false) => "ascending",
        (true, true) => "descending",
        _ => "none",
    };
    let link = move || {
        let (active, desc) = state();
        let next = if active && !desc { "desc" } else { "asc" };
        href.run((key.to_string(), next.to_string()))
    };
    let arrow = move || match state() {
        (true, false) => " \u{2191}",
        (true, true) => " \u{2193}",
        _ => "",
    };
    view! {
        <th scope="col" class=TH aria-sort=aria>
            <A href=link attr:class="hover:underline" attr:data-test=format!("sort-{key}")>
                {label}<span aria-hidden="true">{arrow}</span>
            </A>
        </th>
    }
}

/// "Previous" / "Next" links and the count.
#[component]
pub fn Pager(
    /// Where the previous page is, if there is one.
    prev: Option<String>,
    /// Where the next page is, if there is one.
    next: Option<String>,
    /// Where the first page is, shown when this is not it.
    first: Option<String>,
) -> impl IntoView {
    let disabled = "rounded-md border border-slate-200 dark:border-slate-800 px-3 py-1.5 text-sm text-slate-400 dark:text-slate-600";
    view! {
        <nav aria-label="Pages" class="flex flex-wrap items-center gap-2 pt-2">
            {first.map(|href| view! { <A href=href attr:class=BUTTON attr:data-test="first-page">"First page"</A> })}
            {match prev {
                Some(href) => view! { <A href=href attr:class=BUTTON attr:data-test="prev-page" attr:rel="prev">"\u{2190} Previous"</A> }.into_any(),
                None => view! { <span class=disabled aria-disabled="true">"\u{2190} Previous"</span> }.into_any(),
            }}
            {match next {
                Some(href) => view! { <A href=href attr:class=BUTTON attr:data-test="next-page" attr:rel="next">"Next \u{2192}"</A> }.into_any(),
                None => view! { <span class=disabled aria-disabled="true">"Next \u{2192}"</span> }.into_any(),
            }}
        </nav>
    }
}

/// The users table's frame: header and column widths stay while rows load.
#[component]
pub fn UserTableFrame(
    /// What the table is, for screen readers.
    caption: &'static str,
    /// Whether rows are loading.
    #[prop(into)]
    busy: Signal<bool>,
    /// Current sort and order, for the headers.
    current: Signal<(Option<String>, Option<String>)>,
    /// The URL for a sort and order.
    href: Callback<(String, String), String>,
    /// Whether to show the Source column.
    #[prop(optional)]
    with_source: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
            <table class="w-full table-fixed text-left text-sm" data-test="user-table" aria-busy=move || busy.get().to_string()>
                <caption class="sr-only">{caption}</caption>
                <colgroup>
                    // Email gets what the fixed columns leave: at a 1280-pixel window
                    // that is still room for an address on one or two lines.
                    <col class="w-1/5"/>
                    <col class="w-1/6"/>
                    <col/>
                    <col class="w-20"/>
                    {with_source.then(|| view! { <col class="w-28"/> })}
                    <col class="w-44"/>
                </colgroup>
                <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                    <tr>
                        <SortHeader label="Username" key="user_name" default=true current href/>
                        <SortHeader label="Name" key="name" current href/>
                        <th scope="col" class=TH>"Email"</th>
                        <th scope="col" class=TH>"Status"</th>
                        {with_source.then(|| view! { <th scope="col" class=TH>"Source"</th> })}
                        <SortHeader label="Updated" key="updated" current href/>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">
                    {children()}
                </tbody>
            </table>
        </div>
    }
}

/// One user in a table.
#[component]
pub fn UserTableRow(
    user: UserRow,
    /// Whether to show the Source column.
    #[prop(optional)]
    with_source: bool,
) -> impl IntoView {
    let href = format!("/console/users/{}", user.id);
    view! {
        <tr data-test="user-row" class="align-top">
            <td class="px-3 py-2 break-all">
                <A href=href attr:class=LINK>{user.user_name}</A>
            </td>
            <td class="px-3 py-2 break-words">{user.name.unwrap_or_default()}</td>
            <td class="px-3 py-2 break-all">{user.email.unwrap_or_default()}</td>
            <td class="px-3 py-2"><StatusBadge active=user.active/></td>
            {with_source.then(|| view! { <td class="px-3 py-2 break-words">{user.source.name}</td> })}
            <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{utc(user.updated_at)}</td>
        </tr>
    }
}

/// A row that spans the table, for loading, errors and empty states.
#[component]
pub fn WideRow(
    /// Columns to span.
    columns: u8,
    children: Children,
) -> impl IntoView {
    view! {
        <tr><td colspan=columns.to_string() class="px-3 py-6 text-center text-sm text-slate-600 dark:text-slate-400">{children()}</td></tr>
    }
}

/// The filter controls. Selecting a value applies it at once; text applies on Enter or with
/// the Apply button.
#[component]
fn UserFilters(params: Memo<UserParams>, choices: UserFilterChoices) -> impl IntoView {
    let p0 = params.get_untracked();
    let text = |v: &Option<String>| RwSignal::new(v.clone().unwrap_or_default());
    let (q, mode, status) = (text(&p0.q), text(&p0.r#match), text(&p0.status));
    let (group, source) = (text(&p0.group), text(&p0.source));
    Effect::new(move |_| {
        let p = params.get();
        let set = |s: RwSignal<String>, v: &Option<String>| s.set(v.clone().unwrap_or_default());
        set(q, &p.q);
        set(mode, &p.r#match);
        set(status, &p.status);
        set(group, &p.group);
        set(source, &p.source);
    });
    let navigate = use_navigate();
    let go = move || {
        let val = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let current = params.get_untracked();
        let p = UserParams {
            q: val(q),
            r#match: val(mode),
            status: val(status),
            group: val(group),
            source: val(source),
            sort: current.sort,
            order: current.order,
            after: None,
            before: None,
        };
        navigate(&users_url(&p), Default::default());
    };
    let on_select = {
        let go = go.clone();
        move |signal: RwSignal<String>| {
            let go = go.clone();
            move |ev: leptos::ev::Event| {
                signal.set(event_target_value(&ev));
                go();
            }
        }
    };
    let submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            go();
        }
    };
    let opt = |value: &str, label: String, current: RwSignal<String>| {
        let v = value.to_string();
        view! { <option value=value.to_string() selected=move || current.get() == v>{label}</option> }
    };
    let mut known = vec![String::new()];
    known.extend(choices.sources.iter().map(|s| s.token_id.clone()));
    let unknown_source = Some(p0.source.clone().unwrap_or_default())
        .filter(|s| !known.contains(s))
        .map(|s| opt(&s, format!("{s} (not found)"), source));
    let sources = choices
        .sources
        .iter()
        .map(|s| {
            opt(
                &s.token_id,
                format!("Token \u{201c}{}\u{201d}", s.label),
                source,
            )
        })
        .collect_view();
    let groups = choices
        .groups
        .iter()
        .map(|g| view! { <option value=g.display_name.clone()></option> })
        .collect_view();
    view! {
        <form role="search" aria-label="Filter users" on:submit=submit class="space-y-3" data-test="user-filters">
            <div class="grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-6 gap-3 items-end">
                <div class="lg:col-span-2">
                    <label for="u-q" class=LABEL>"Search name, username or email"</label>
                    <input id="u-q" name="q" type="search" class=INPUT placeholder="ada, lovelace, ada@example.com" maxlength="200"
                        prop:value=move || q.get() value=q.get_untracked()
                        on:input=move |ev| q.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="u-match" class=LABEL>"Match"</label>
                    <select id="u-match" name="match" class=INPUT on:change=on_select(mode)>
                        {opt("", "Starts with".into(), mode)}
                        {opt("contains", "Contains".into(), mode)}
                    </select>
                </div>
                <div>
                    <label for="u-status" class=LABEL>"Status"</label>
                    <select id="u-status" name="status" class=INPUT on:change=on_select(status)>
                        {opt("", "Any status".into(), status)}
                        {opt("active", "Active".into(), status)}
                        {opt("inactive", "Inactive".into(), status)}
                    </select>
                </div>
                <div>
                    <label for="u-group" class=LABEL>"Group (name or id)"</label>
                    <input id="u-group" name="group" type="search" list="u-groups" class=INPUT placeholder="Engineering"
                        prop:value=move || group.get() value=group.get_untracked()
                        on:input=move |ev| group.set(event_target_value(&ev))/>
                    <datalist id="u-groups">{groups}</datalist>
                </div>
                <div>
                    <label for="u-source" class=LABEL>"Source"</label>
                    <select id="u-source" name="source" class=INPUT on:change=on_select(source)>
                        {opt("", "Any source".into(), source)}
                        {sources}
                        {unknown_source}
                    </select>
                </div>
            </div>
            <div class="flex flex-wrap items-center gap-3">
                <button type="submit" class=PRIMARY>"Apply"</button>
                <A href="/console/users" attr:class=format!("text-sm {LINK}")>"Clear filters"</A>
            </div>
        </form>
    }
}

/// What an empty list says: what would appear, and how to make it appear.
#[component]
fn NoUsers(params: UserParams) -> impl IntoView {
    if params.filtered() {
        let prefix_search = params.r#match.as_deref() != Some("contains") && params.q.is_some();
        view! {
            <p class="text-base font-semibold text-slate-900 dark:text-slate-100">"No user matches"</p>
            <p class="mx-auto mt-2 max-w-xl">
                "No user matches these filters. "
                {prefix_search.then_some("The search matches the start of a name, username or email; choose \u{201c}Contains\u{201d} to match anywhere. ")}
                "Or "<A href="/console/users" attr:class=LINK>"clear the filters"</A>"."
            </p>
        }
        .into_any()
    } else {
        view! {
            <p class="text-base font-semibold text-slate-900 dark:text-slate-100">"No users yet"</p>
            <p class="mx-auto mt-2 max-w-xl">
                "Users appear here when your identity provider provisions them. Connect Okta on the "
                <A href="/console/scim" attr:class=LINK>"SCIM Import"</A>
                " page, then assign people (or groups) to the Gatehouse app in Okta."
            </p>
        }
        .into_any()
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| user_params_from(&query.read()));
    let data = Resource::new(move || params.get(), directory_users);
    // The total depends on the filters only: counted once per filter, not once per page,
    // and in its own request so that the rows never wait for it.
    let filters = Memo::new(move |_| params.get().first_page());
    let total = Resource::new(move || filters.get(), directory_user_count);
    let choices = Resource::new(|| (), |_| directory_user_filters());
    let current = Signal::derive(move || {
        let p = params.get();
        (p.sort, p.order)
    });
    let sort_href = Callback::new(move |(sort, order): (String, String)| {
        let p = params.get();
        users_url(&UserParams {
            sort: Some(sort),
            order: Some(order),
            ..p.first_page()
        })
    });
    let frame = move |busy: Signal<bool>, body: AnyView| {
        view! {
            <UserTableFrame caption="Users" busy current href=sort_href with_source=true>
                {body}
            </UserTableFrame>
        }
    };

    view! {
        <PageHeader
            title="Users"
            description="The people your identity provider has provisioned into Gatehouse. Okta is the source of truth: their attributes are changed in Okta, not here."
        />
        <div class="space-y-6">
            <section aria-label="Filters" class=SECTION>
                <Transition fallback=move || view! { <UserFilters params choices=UserFilterChoices::default()/> }>
                    {move || choices.get().map(|c| view! { <UserFilters params choices=c.unwrap_or_default()/> })}
                </Transition>
            </section>
            <section aria-labelledby="users-heading" class="space-y-3">
                <div class="flex flex-wrap items-baseline justify-between gap-2">
                    <h2 id="users-heading" class="text-lg font-semibold text-slate-900 dark:text-slate-100">"People"</h2>
                    <p role="status" aria-live="polite" class="text-sm text-slate-600 dark:text-slate-400" data-test="user-total">
                        <Transition fallback=|| "Counting\u{2026}">
                            {move || total.get().map(|r| match r {
                                Ok(t) => {
                                    let n = count(t.total, "user", "users");
                                    match t.group {
                                        Some(g) => format!("{n} in {}", g.display_name),
                                        None => n,
                                    }
                                }
                                Err(_) => String::new(),
                            })}
                        </Transition>
                    </p>
                </div>
                <Transition
                    fallback=move || frame(Signal::from(true), view! { <WideRow columns=6>"Loading users\u{2026}"</WideRow> }.into_any())
                >
                    {move || data.get().map(|r| {
                        // Busy while the address asks for other rows than these; the
                        // Transition's own pending flag can stay set after hydration.
                        let shown_for = params.get_untracked();
                        let busy = Signal::derive(move || params.get() != shown_for);
                        match r {
                            Err(e) => frame(busy, view! { <tr><td colspan="6" class="px-3 py-4"><ErrorNotice error=e/></td></tr> }.into_any()).into_any(),
                            Ok(v) => {
                                let PageView { rows, next, prev, .. } = v.page;
                                let p = params.get_untracked();
                                let empty_params = p.clone();
                                let body = if rows.is_empty() {
                                    view! { <WideRow columns=6><NoUsers params=empty_params/></WideRow> }.into_any()
                                } else {
                                    rows.into_iter().map(|u| view! { <UserTableRow user=u with_source=true/> }).collect_view().into_any()
                                };
                                let at_start = p.after.is_none() && p.before.is_none();
                                let prev = prev.map(|c| users_url(&UserParams { before: Some(c), ..p.first_page() }));
                                let next = next.map(|c| users_url(&UserParams { after: Some(c), ..p.first_page() }));
                                let first = (!at_start).then(|| users_url(&p.first_page()));
                                view! {
                                    {frame(busy, body)}
                                    <Pager prev next first/>
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}
