//! One group: its authentication profile (assign, change, remove), its members (searchable,
//! paged by key, so a group of 50,000 stays fast) and what happened to it recently.
//!
//! The members' search, sort and position live in the URL, like the Users list's.

use crate::api::directory::{
    directory_group, directory_group_members, GroupView, MembersView, PageView, ProfileAssigned,
    SetGroupProfile, UserParams,
};
use crate::components::event_list::utc;
use crate::components::{use_read_only, ErrorNotice, PageHeader};
use crate::pages::users::detail::{confirmed, Fact, RecentEvents};
use crate::pages::users::{
    count, user_params_from, with_query, ManagedMark, Pager, UserTableFrame, UserTableRow, WideRow,
    INPUT, LABEL, LINK, PRIMARY, SECTION,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";

fn group_url(id: &str, p: &UserParams) -> String {
    // Only what applies to a member list: search, match, sort and position.
    let pairs: Vec<_> = p
        .pairs()
        .into_iter()
        .filter(|(k, _)| matches!(*k, "q" | "match" | "sort" | "order" | "after" | "before"))
        .collect();
    with_query(&format!("/console/groups/{id}"), &pairs)
}

/// The profile section: what the group signs in through, and a form to change it.
#[component]
fn ProfileSection(
    view_data: GroupView,
    assign: ServerAction<SetGroupProfile>,
    feedback: RwSignal<Option<String>>,
) -> impl IntoView {
    let group_id = view_data.group.id.clone();
    let group_name = view_data.group.display_name.clone();
    let current = view_data.group.profile.clone();
    let current_id = current
        .as_ref()
        .map(|p| p.id.to_string())
        .unwrap_or_default();
    let chosen = RwSignal::new(current_id.clone());
    let status = match &current {
        Some(p) => {
            let ready = view_data
                .profiles
                .iter()
                .find(|c| c.id == p.id.to_string())
                .is_some_and(|c| c.ready);
            view! {
                <p class="text-sm text-slate-900 dark:text-slate-100" data-test="current-profile">
                    "Members sign in through "<strong>{p.name.clone()}</strong>"."
                    {(!ready).then_some(" Its identity provider's metadata is not imported yet, so sign-in will fail until it is.")}
                </p>
            }
            .into_any()
        }
        None => view! {
            <p class="text-sm rounded-md bg-amber-50 dark:bg-amber-950 px-3 py-2 text-amber-900 dark:text-amber-200" data-test="current-profile">
                "No authentication profile: members of this group cannot sign in through it. Choose a profile below."
            </p>
        }
        .into_any(),
    };
    if view_data.profiles.is_empty() {
        return view! {
            <section aria-labelledby="profile-heading" class=format!("{SECTION} space-y-3")>
                <h2 id="profile-heading" class=H2>"Authentication profile"</h2>
                {status}
                <p class="text-sm text-slate-600 dark:text-slate-400" data-test="no-profiles">
                    "There are no authentication profiles yet. Create one on the "
                    <A href="/console/auth-profiles" attr:class=LINK>"Authentication Profiles"</A>
                    " page, import your identity provider's metadata into it, then come back to assign it."
                </p>
            </section>
        }
        .into_any();
    }
    let options = view_data
        .profiles
        .iter()
        .map(|p| {
            let id = p.id.clone();
            let label = if p.ready {
                format!("{} (priority {})", p.name, p.priority)
            } else {
                format!("{} (priority {}, no IdP metadata yet)", p.name, p.priority)
            };
            view! { <option value=p.id.clone() selected=move || chosen.get() == id>{label}</option> }
        })
        .collect_view();
    let had_profile = current.is_some();
    let read_only = use_read_only();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let profile_id = chosen.get_untracked();
        if profile_id.is_empty()
            && had_profile
            && !confirmed(&format!(
                "Remove the profile from {group_name}? Its members will not be able to sign in until it has one again."
            ))
        {
            return;
        }
        feedback.set(None);
        assign.dispatch(SetGroupProfile {
            group_id: group_id.clone(),
            profile_id,
        });
    };
    view! {
        <section aria-labelledby="profile-heading" class=format!("{SECTION} space-y-3")>
            <h2 id="profile-heading" class=H2>"Authentication profile"</h2>
            {status}
            <form on:submit=submit data-test="profile-form">
                <fieldset disabled=read_only class="flex flex-wrap items-end gap-3 min-w-0">
                    <div class="grow max-w-md">
                        <label for="g-profile-choice" class=LABEL>"Sign in through"</label>
                        <select id="g-profile-choice" name="profile_id" class=INPUT
                            on:change=move |ev| chosen.set(event_target_value(&ev))>
                            <option value="" selected=move || chosen.get().is_empty()>"No profile (members cannot sign in)"</option>
                            {options}
                        </select>
                    </div>
                    <button type="submit" class=PRIMARY disabled=move || assign.pending().get()>
                        {move || if assign.pending().get() { "Saving\u{2026}" } else { "Save profile" }}
                    </button>
                </fieldset>
            </form>
            <p class="text-xs text-slate-600 dark:text-slate-400">
                "A member of several groups signs in through the profile with the lowest priority number among their groups' profiles."
            </p>
        </section>
    }
    .into_any()
}

/// The member count above the table. It lives inside the table's `Transition` rather than
/// in a second one beside it: a second `Transition` on the same resource, nested in the
/// page's own, stayed empty after hydration.
#[component]
fn MemberTotal(text: String) -> impl IntoView {
    view! {
        <p role="status" aria-live="polite" class="text-sm text-slate-600 dark:text-slate-400" data-test="member-total">{text}</p>
    }
}

/// A page of the group's members, for the URL's search, sort and position.
type MembersResource = Resource<Result<MembersView, crate::error::AppError>>;

#[component]
fn Members(group_id: String, params: Memo<UserParams>, data: MembersResource) -> impl IntoView {
    let q = RwSignal::new(params.get_untracked().q.unwrap_or_default());
    Effect::new(move |_| q.set(params.get().q.unwrap_or_default()));
    let navigate = use_navigate();
    let gid = group_id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = Some(q.get_untracked()).filter(|v| !v.trim().is_empty());
        let p = UserParams {
            q: text,
            ..params.get_untracked().first_page()
        };
        navigate(&group_url(&gid, &p), Default::default());
    };
    let gid = group_id.clone();
    let current = Signal::derive(move || {
        let p = params.get();
        (p.sort, p.order)
    });
    let sort_href = Callback::new(move |(sort, order): (String, String)| {
        group_url(
            &gid,
            &UserParams {
                sort: Some(sort),
                order: Some(order),
                ..params.get().first_page()
            },
        )
    });
    let frame = move |busy: Signal<bool>, body: AnyView| {
        view! { <UserTableFrame caption="Members" busy current href=sort_href>{body}</UserTableFrame> }
    };
    let gid = group_id.clone();
    view! {
        <section aria-labelledby="members-heading" class="space-y-3">
            <h2 id="members-heading" class=H2>"Members"</h2>
            <form role="search" aria-label="Search members" on:submit=submit class="flex flex-wrap items-end gap-3">
                <div class="grow max-w-md">
                    <label for="m-q" class=LABEL>"Search members by name, username or email"</label>
                    <input id="m-q" name="q" type="search" class=INPUT maxlength="200"
                        prop:value=move || q.get() value=q.get_untracked()
                        on:input=move |ev| q.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class=PRIMARY>"Search"</button>
            </form>
            <Transition
                fallback=move || view! {
                    <MemberTotal text="Counting\u{2026}".to_string()/>
                    {frame(Signal::from(true), view! { <WideRow columns=5>"Loading members\u{2026}"</WideRow> }.into_any())}
                }
            >
                {move || data.get().map(|r| {
                    // Busy while the address asks for other rows than these; the
                    // Transition's own pending flag can stay set after hydration.
                    let shown_for = params.get_untracked();
                    let busy = Signal::derive(move || params.get() != shown_for);
                    match r {
                        Err(e) => frame(busy, view! { <tr><td colspan="5" class="px-3 py-4"><ErrorNotice error=e/></td></tr> }.into_any()).into_any(),
                        Ok(MembersView { page, total }) => {
                            let PageView { rows, next, prev } = page;
                            let p = params.get_untracked();
                            let body = if rows.is_empty() {
                                let text = if p.q.is_some() {
                                    "No member matches this search (it matches the start of a name, username or email)."
                                } else {
                                    "No members yet. Members appear when Okta pushes the group with people in it; in Okta, check the group's membership and the app's Push Groups tab."
                                };
                                view! { <WideRow columns=5>{text}</WideRow> }.into_any()
                            } else {
                                rows.into_iter().map(|u| view! { <UserTableRow user=u/> }).collect_view().into_any()
                            };
                            let at_start = p.after.is_none() && p.before.is_none();
                            let prev = prev.map(|c| group_url(&gid, &UserParams { before: Some(c), ..p.first_page() }));
                            let next = next.map(|c| group_url(&gid, &UserParams { after: Some(c), ..p.first_page() }));
                            let first = (!at_start).then(|| group_url(&gid, &p.first_page()));
                            view! {
                                <MemberTotal text=count(total, "member", "members")/>
                                {frame(busy, body)}
                                <Pager prev next first/>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn GroupDetail(
    view_data: GroupView,
    assign: ServerAction<SetGroupProfile>,
    feedback: RwSignal<Option<String>>,
    member_params: Memo<UserParams>,
    members: MembersResource,
) -> impl IntoView {
    let g = view_data.group.clone();
    view! {
        <PageHeader
            title=g.display_name.clone()
            description="A group your identity provider pushed. Its name and members come from Okta and are read-only here; which authentication profile it signs in through is set here."
        />
        <div class="space-y-6" data-test="group-detail">
            <div class="flex flex-wrap items-center gap-3">
                <ManagedMark source=g.source.name.clone()/>
                <A href="/console/groups" attr:class=format!("text-sm {LINK}")>"All groups"</A>
            </div>
            <section aria-labelledby="summary-heading" class=SECTION>
                <h2 id="summary-heading" class="sr-only">"Summary"</h2>
                <dl class="grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 gap-4">
                    <Fact label="Members" value=count(g.member_count, "member", "members") test="group-member-count"/>
                    <Fact label="External id (in the IdP)" value=g.external_id.clone().unwrap_or_else(|| "\u{2014}".into())/>
                    <Fact label="Source" value=g.source.name.clone()/>
                    <Fact label="Created" value=utc(g.created_at)/>
                    <Fact label="Last change" value=utc(g.last_change)/>
                    <Fact label="Gatehouse id" value=g.id.clone()/>
                </dl>
            </section>
            {move || feedback.get().map(|m| view! {
                <p role="status" data-test="profile-feedback" class="rounded-lg border border-emerald-300 dark:border-emerald-800 bg-emerald-50 dark:bg-emerald-950 px-4 py-3 text-sm text-emerald-900 dark:text-emerald-100">{m}</p>
            })}
            {move || assign.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
            <ProfileSection view_data=view_data.clone() assign feedback/>
            <Members group_id=g.id.clone() params=member_params data=members/>
            <RecentEvents events=view_data.recent_events.clone() target_id=g.id.clone() what="this group"/>
        </div>
    }
}

#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let assign = ServerAction::<SetGroupProfile>::new();
    let feedback = RwSignal::new(None::<String>);
    let data = Resource::new(
        move || (id.get(), assign.version().get()),
        |(id, _)| directory_group(id),
    );
    // The members' resource is made here, beside the group's, rather than in the members
    // section inside the group's Transition: a resource created only once another has
    // resolved was numbered differently in the browser, and hydration failed now and then.
    let query = use_query_map();
    let member_params = Memo::new(move |_| user_params_from(&query.read()));
    let members = Resource::new(
        move || (id.get(), member_params.get()),
        |(id, p)| directory_group_members(id, p),
    );
    Effect::new(move |_| {
        if let Some(Ok(ProfileAssigned { message, .. })) = assign.value().get() {
            feedback.set(Some(message));
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading the group\u{2026}"</p> }>
            {move || data.get().map(|r| match r {
                Ok(v) => view! { <GroupDetail view_data=v assign feedback member_params members/> }.into_any(),
                Err(e) => view! {
                    <PageHeader title="User group" description="A group your identity provider pushed."/>
                    <ErrorNotice error=e/>
                    <p class="mt-4 text-sm"><A href="/console/groups" attr:class=LINK>"Back to all groups"</A></p>
                }.into_any(),
            })}
        </Transition>
    }
}
