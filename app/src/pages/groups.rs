//! Users & Groups → User Groups: the groups Okta pushed, how many members each has, and the
//! authentication profile each signs in through.
//!
//! Search, the profile filter, sort and page position live in the URL; the list pages by key.

pub mod detail;

pub use detail::GroupPage;

use crate::api::directory::{directory_groups, GroupParams, GroupRow, PageView, ProfileChoice};
use crate::components::event_list::utc;
use crate::components::{ErrorNotice, PageHeader};
use crate::pages::users::{
    count, thousands, with_query, Pager, SortHeader, WideRow, INPUT, LABEL, LINK, PRIMARY, SECTION,
    TH,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

fn params_from(q: &leptos_router::params::ParamsMap) -> GroupParams {
    GroupParams {
        q: q.get("q"),
        r#match: q.get("match"),
        profile: q.get("profile"),
        sort: q.get("sort"),
        order: q.get("order"),
        after: q.get("after"),
        before: q.get("before"),
    }
}

fn groups_url(p: &GroupParams) -> String {
    with_query("/console/groups", &p.pairs())
}

#[component]
fn GroupFilters(params: Memo<GroupParams>, profiles: Vec<ProfileChoice>) -> impl IntoView {
    let p0 = params.get_untracked();
    let text = |v: &Option<String>| RwSignal::new(v.clone().unwrap_or_default());
    let (q, mode, profile) = (text(&p0.q), text(&p0.r#match), text(&p0.profile));
    Effect::new(move |_| {
        let p = params.get();
        q.set(p.q.unwrap_or_default());
        mode.set(p.r#match.unwrap_or_default());
        profile.set(p.profile.unwrap_or_default());
    });
    let navigate = use_navigate();
    let go = move || {
        let val = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let current = params.get_untracked();
        navigate(
            &groups_url(&GroupParams {
                q: val(q),
                r#match: val(mode),
                profile: val(profile),
                sort: current.sort,
                order: current.order,
                after: None,
                before: None,
            }),
            Default::default(),
        );
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
    let opt = |value: String, label: String, current: RwSignal<String>| {
        let v = value.clone();
        view! { <option value=value selected=move || current.get() == v>{label}</option> }
    };
    let profile_options = profiles
        .into_iter()
        .map(|p| opt(p.id, p.name, profile))
        .collect_view();
    view! {
        <form role="search" aria-label="Filter groups" on:submit=submit class="space-y-3" data-test="group-filters">
            <div class="grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 gap-3 items-end">
                <div class="lg:col-span-2">
                    <label for="g-q" class=LABEL>"Search group names"</label>
                    <input id="g-q" name="q" type="search" class=INPUT placeholder="Engineering" maxlength="200"
                        prop:value=move || q.get() value=q.get_untracked()
                        on:input=move |ev| q.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="g-match" class=LABEL>"Match"</label>
                    <select id="g-match" name="match" class=INPUT on:change=on_select(mode)>
                        {opt(String::new(), "Starts with".into(), mode)}
                        {opt("contains".into(), "Contains".into(), mode)}
                    </select>
                </div>
                <div>
                    <label for="g-profile" class=LABEL>"Authentication profile"</label>
                    <select id="g-profile" name="profile" class=INPUT on:change=on_select(profile)>
                        {opt(String::new(), "Any".into(), profile)}
                        {opt("none".into(), "No profile".into(), profile)}
                        {profile_options}
                    </select>
                </div>
            </div>
            <div class="flex flex-wrap items-center gap-3">
                <button type="submit" class=PRIMARY>"Apply"</button>
                <A href="/console/groups" attr:class=format!("text-sm {LINK}")>"Clear filters"</A>
            </div>
        </form>
    }
}

#[component]
fn GroupTableFrame(
    #[prop(into)] busy: Signal<bool>,
    current: Signal<(Option<String>, Option<String>)>,
    href: Callback<(String, String), String>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
            <table class="w-full table-fixed text-left text-sm" data-test="group-table" aria-busy=move || busy.get().to_string()>
                <caption class="sr-only">"User groups"</caption>
                <colgroup>
                    <col/>
                    <col class="w-28"/>
                    <col class="w-64"/>
                    <col class="w-40"/>
                    <col class="w-48"/>
                </colgroup>
                <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                    <tr>
                        <SortHeader label="Name" key="name" default=true current href/>
                        <th scope="col" class=format!("{TH} text-right")>"Members"</th>
                        <th scope="col" class=TH>"Authentication profile"</th>
                        <th scope="col" class=TH>"Source"</th>
                        <SortHeader label="Last change" key="updated" current href/>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">
                    {children()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn GroupTableRow(group: GroupRow) -> impl IntoView {
    let href = format!("/console/groups/{}", group.id);
    let profile = match group.profile {
        Some(p) => view! { <span>{p.name}</span> }.into_any(),
        None => view! {
            <span class="text-amber-800 dark:text-amber-300">"None \u{2014} members cannot sign in"</span>
        }
        .into_any(),
    };
    view! {
        <tr data-test="group-row" class="align-top">
            <td class="px-3 py-2 break-words"><A href=href attr:class=LINK>{group.display_name}</A></td>
            <td class="px-3 py-2 text-right tabular-nums" data-test="member-count">{thousands(group.member_count)}</td>
            <td class="px-3 py-2 break-words" data-test="group-profile">{profile}</td>
            <td class="px-3 py-2 break-words">{group.source.name}</td>
            <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{utc(group.last_change)}</td>
        </tr>
    }
}

#[component]
fn NoGroups(params: GroupParams) -> impl IntoView {
    if params.filtered() {
        view! {
            <p class="text-base font-semibold text-slate-900 dark:text-slate-100">"No group matches"</p>
            <p class="mx-auto mt-2 max-w-xl">
                "No group matches these filters. The search matches the start of a group's name unless \u{201c}Contains\u{201d} is chosen. Or "
                <A href="/console/groups" attr:class=LINK>"clear the filters"</A>"."
            </p>
        }
        .into_any()
    } else {
        view! {
            <p class="text-base font-semibold text-slate-900 dark:text-slate-100">"No user groups yet"</p>
            <p class="mx-auto mt-2 max-w-xl">
                "Groups appear here when Okta pushes them. Connect Okta on the "
                <A href="/console/scim" attr:class=LINK>"SCIM Import"</A>
                " page, then in Okta open the app's "<strong>"Push Groups"</strong>" tab and push the groups that should sign in through Gatehouse. Then assign each an authentication profile here."
            </p>
        }
        .into_any()
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| params_from(&query.read()));
    let data = Resource::new(move || params.get(), directory_groups);
    let current = Signal::derive(move || {
        let p = params.get();
        (p.sort, p.order)
    });
    let sort_href = Callback::new(move |(sort, order): (String, String)| {
        groups_url(&GroupParams {
            sort: Some(sort),
            order: Some(order),
            ..params.get().first_page()
        })
    });
    let frame = move |busy: Signal<bool>, body: AnyView| {
        view! { <GroupTableFrame busy current href=sort_href>{body}</GroupTableFrame> }
    };
    view! {
        <PageHeader
            title="User Groups"
            description="The groups Okta pushes into Gatehouse. Assign an authentication profile to a group, and its members sign in through that profile's identity provider."
        />
        // One Transition for everything the list's data decides: the filters' profile
        // choices, the total and the table.
        <Transition
            fallback=move || view! {
                <GroupsLayout
                    filters=view! { <GroupFilters params profiles=Vec::new()/> }.into_any()
                    total="Counting\u{2026}".to_string()
                    table=frame(Signal::from(true), view! { <WideRow columns=5>"Loading groups\u{2026}"</WideRow> }.into_any()).into_any()
                />
            }
        >
            {move || data.get().map(|r| {
                // Busy while the address asks for other rows than these: the Transition's
                // own pending flag stayed set after hydration now and then on this page.
                let shown_for = params.get_untracked();
                let busy = Signal::derive(move || params.get() != shown_for);
                match r {
                    Err(e) => view! {
                        <GroupsLayout
                            filters=view! { <GroupFilters params profiles=Vec::new()/> }.into_any()
                            total=String::new()
                            table=frame(busy, view! { <tr><td colspan="5" class="px-3 py-4"><ErrorNotice error=e/></td></tr> }.into_any()).into_any()
                        />
                    }.into_any(),
                    Ok(v) => {
                        let total = v.total;
                        let PageView { rows, next, prev } = v.page;
                        let p = params.get_untracked();
                        let empty_params = p.clone();
                        let body = if rows.is_empty() {
                            view! { <WideRow columns=5><NoGroups params=empty_params/></WideRow> }.into_any()
                        } else {
                            rows.into_iter().map(|g| view! { <GroupTableRow group=g/> }).collect_view().into_any()
                        };
                        let at_start = p.after.is_none() && p.before.is_none();
                        let prev = prev.map(|c| groups_url(&GroupParams { before: Some(c), ..p.first_page() }));
                        let next = next.map(|c| groups_url(&GroupParams { after: Some(c), ..p.first_page() }));
                        let first = (!at_start).then(|| groups_url(&p.first_page()));
                        let table = view! {
                            {frame(busy, body)}
                            <Pager prev next first/>
                        }.into_any();
                        view! {
                            <GroupsLayout
                                filters=view! { <GroupFilters params profiles=v.profiles/> }.into_any()
                                total=count(total, "group", "groups")
                                table
                            />
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The page below its header: filters, then the list with its total.
#[component]
fn GroupsLayout(filters: AnyView, total: String, table: AnyView) -> impl IntoView {
    view! {
        <div class="space-y-6">
            <section aria-label="Filters" class=SECTION>{filters}</section>
            <section aria-labelledby="groups-heading" class="space-y-3">
                <div class="flex flex-wrap items-baseline justify-between gap-2">
                    <h2 id="groups-heading" class="text-lg font-semibold text-slate-900 dark:text-slate-100">"Groups"</h2>
                    <p role="status" aria-live="polite" class="text-sm text-slate-600 dark:text-slate-400" data-test="group-total">{total}</p>
                </div>
                {table}
                <p class="text-xs text-slate-600 dark:text-slate-400">
                    "Last change is the later of Okta's last change to the group and the last change made here (such as assigning a profile). "
                    <A href="/console/auth-profiles" attr:class=LINK>"Manage authentication profiles"</A>"."
                </p>
            </section>
        </div>
    }
}
