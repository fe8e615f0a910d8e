//! One user: every attribute the identity provider sent (read-only: Okta is the source of
//! truth), their groups and the authentication profile they sign in through, their active
//! sessions (which an admin can end), and what happened to them recently.

use super::{ManagedMark, StatusBadge, LINK, SECTION};
use crate::api::directory::{directory_user, EndUserSessions, UserView};
use crate::components::event_list::utc;
use crate::components::{use_read_only, ErrorNotice, PageHeader};
use gatehouse_domain::event::{percent_encode, EventEntry};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";
const DT: &str = "text-sm text-slate-500 dark:text-slate-400";
const DD: &str = "text-sm text-slate-900 dark:text-slate-100 break-all";

/// Asks the admin to confirm a destructive action.
pub(crate) fn confirmed(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().confirm_with_message(message).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

/// A label and a value in a description list.
#[component]
pub fn Fact(
    /// What the value is.
    label: &'static str,
    /// The value.
    #[prop(into)]
    value: String,
    /// `data-test` of the value.
    #[prop(optional)]
    test: &'static str,
) -> impl IntoView {
    view! {
        <div>
            <dt class=DT>{label}</dt>
            <dd class=DD data-test=test>{value}</dd>
        </div>
    }
}

/// The latest events about a user or group, with a link to all of them.
#[component]
pub fn RecentEvents(
    /// Newest first.
    events: Vec<EventEntry>,
    /// The user's or group's id (the Events filter's target).
    target_id: String,
    /// What to call it when there are none ("this user").
    what: &'static str,
) -> impl IntoView {
    let all = format!(
        "/console/events?range=all&target={}",
        percent_encode(&target_id)
    );
    let body = if events.is_empty() {
        view! {
            <p class="text-sm text-slate-600 dark:text-slate-400">
                {format!("Nothing recorded about {what} yet. Provisioning changes, profile assignments and sign-ins will be listed here.")}
            </p>
        }
        .into_any()
    } else {
        let rows = events
            .into_iter()
            .map(|e| {
                let href = format!("/console/events/{}", e.event.id);
                let actor = e.actor_label();
                let ok = e.event.outcome == gatehouse_domain::event::Outcome::Success;
                view! {
                    <tr data-test="recent-event">
                        <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{utc(e.event.occurred_at)}</td>
                        <td class="px-3 py-2 font-mono text-xs break-all"><A href=href attr:class=LINK>{e.event.action.clone()}</A></td>
                        <td class="px-3 py-2">
                            <span class=if ok {
                                "rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"
                            } else {
                                "rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-800 dark:bg-red-950 dark:text-red-200"
                            }>{if ok { "Success" } else { "Failure" }}</span>
                        </td>
                        <td class="px-3 py-2 break-all">{actor}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="overflow-x-auto">
                <table class="min-w-full text-left text-sm" data-test="recent-events">
                    <caption class="sr-only">"Recent events, newest first"</caption>
                    <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        <tr>
                            <th scope="col" class="px-3 py-2 font-medium">"Time"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Action"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Outcome"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Actor"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="events-heading" class=format!("{SECTION} space-y-3")>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="events-heading" class=H2>"Recent events"</h2>
                <A href=all attr:class=format!("text-sm {LINK}") attr:data-test="all-events">"All events in Events / Logs"</A>
            </div>
            {body}
        </section>
    }
}

#[component]
fn Sessions(
    view_data: UserView,
    end: ServerAction<EndUserSessions>,
    ended: RwSignal<Option<String>>,
) -> impl IntoView {
    let user_id = view_data.user.id.clone();
    let user_name = view_data.user.user_name.clone();
    let n = view_data.sessions.len();
    let list = if view_data.sessions.is_empty() {
        view! {
            <p class="text-sm text-slate-600 dark:text-slate-400" data-test="no-sessions">
                "No active sessions. A session starts when the user signs in through their authentication profile, and ends at its expiry, at sign-out, on deactivation in Okta, or here."
            </p>
        }
        .into_any()
    } else {
        let rows = view_data
            .sessions
            .into_iter()
            .map(|s| {
                view! {
                    <tr data-test="session-row">
                        <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{utc(s.created_at)}</td>
                        <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{utc(s.last_seen_at)}</td>
                        <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{utc(s.expires_at)}</td>
                        <td class="px-3 py-2">{s.profile.name}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="overflow-x-auto">
                <table class="min-w-full text-left text-sm" data-test="session-table">
                    <caption class="sr-only">"Active sessions"</caption>
                    <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        <tr>
                            <th scope="col" class="px-3 py-2 font-medium">"Started"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Last seen"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Expires"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Profile"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let read_only = use_read_only();
    let end_button = (n > 0).then(|| {
        view! {
            <button type="button"
                class="rounded-md border border-red-300 dark:border-red-800 px-3 py-1.5 text-sm font-medium text-red-700 dark:text-red-300 hover:bg-red-50 dark:hover:bg-red-950 disabled:opacity-50 disabled:cursor-not-allowed"
                disabled=move || end.pending().get() || read_only()
                on:click=move |_| {
                    let question = format!("End all {n} session(s) of {user_name}? They will have to sign in again.");
                    if confirmed(&question) {
                        ended.set(None);
                        end.dispatch(EndUserSessions { user_id: user_id.clone() });
                    }
                }
            >{move || if end.pending().get() { "Ending\u{2026}" } else { "End sessions" }}</button>
        }
    });
    view! {
        <section aria-labelledby="sessions-heading" class=format!("{SECTION} space-y-3")>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 id="sessions-heading" class=H2>"Active sessions"</h2>
                {end_button}
            </div>
            {list}
        </section>
    }
}

#[component]
fn UserDetail(
    view_data: UserView,
    end: ServerAction<EndUserSessions>,
    ended: RwSignal<Option<String>>,
) -> impl IntoView {
    let u = view_data.user.clone();
    let title = u.name.clone().unwrap_or_else(|| u.user_name.clone());
    let profile = match view_data.effective_profile.clone() {
        Some(e) => view! {
            <p class="text-sm text-slate-900 dark:text-slate-100" data-test="effective-profile">
                <strong>{e.profile.name.clone()}</strong>
                {format!(" (priority {}), through the group ", e.priority)}
                <A href=format!("/console/groups/{}", e.via_group.id) attr:class=LINK>{e.via_group.display_name.clone()}</A>
                "."
            </p>
        }
        .into_any(),
        None => view! {
            <p class="text-sm text-amber-900 dark:text-amber-200 rounded-md bg-amber-50 dark:bg-amber-950 px-3 py-2" data-test="effective-profile">
                "No profile: none of this user's groups has an authentication profile, so they cannot sign in. Assign a profile to one of their groups on its page under User Groups."
            </p>
        }
        .into_any(),
    };
    let groups = if view_data.groups.is_empty() {
        view! {
            <p class="text-sm text-slate-600 dark:text-slate-400" data-test="no-groups">
                "Not in any group. Groups appear here when Okta pushes a group with this user in it (Okta \u{2192} the app \u{2192} Push Groups)."
            </p>
        }
        .into_any()
    } else {
        view! {
            <ul class="divide-y divide-slate-100 dark:divide-slate-800 text-sm" data-test="user-groups">
                {view_data.groups.clone().into_iter().map(|m| {
                    let href = format!("/console/groups/{}", m.group.id);
                    let profile = match (&m.profile, m.priority) {
                        (Some(p), Some(n)) => format!("{} (priority {n})", p.name),
                        (Some(p), None) => p.name.clone(),
                        (None, _) => "No authentication profile".to_string(),
                    };
                    view! {
                        <li class="flex flex-wrap items-baseline justify-between gap-2 py-2">
                            <A href=href attr:class=LINK>{m.group.display_name.clone()}</A>
                            <span class="text-slate-600 dark:text-slate-400">{profile}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let attributes = view_data
        .attributes
        .iter()
        .map(|s| {
            let rows = s
                .rows
                .iter()
                .map(|r| {
                    view! {
                        <div class="grid grid-cols-1 sm:grid-cols-3 gap-1 py-2" data-test="attribute">
                            <dt class=DT>
                                {r.label.clone()}
                                <span class="block font-mono text-xs text-slate-500 dark:text-slate-400">{r.path.clone()}</span>
                            </dt>
                            <dd class=format!("{DD} sm:col-span-2")>{r.value.clone()}</dd>
                        </div>
                    }
                })
                .collect_view();
            view! {
                <div class="space-y-1">
                    <h3 class="text-sm font-semibold text-slate-900 dark:text-slate-100">{s.title.clone()}</h3>
                    <p class="font-mono text-xs text-slate-500 dark:text-slate-400 break-all">{s.schema.clone()}</p>
                    <dl class="divide-y divide-slate-100 dark:divide-slate-800">{rows}</dl>
                </div>
            }
        })
        .collect_view();

    view! {
        <PageHeader
            title=title
            description="Attributes come from your identity provider and are read-only here: change them in Okta, and the next provisioning run brings the change."
        />
        <div class="space-y-6" data-test="user-detail">
            <div class="flex flex-wrap items-center gap-3">
                <ManagedMark source=u.source.name.clone()/>
                <StatusBadge active=u.active/>
                <A href="/console/users" attr:class=format!("text-sm {LINK}")>"All users"</A>
            </div>
            <section aria-labelledby="summary-heading" class=SECTION>
                <h2 id="summary-heading" class="sr-only">"Summary"</h2>
                <dl class="grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 gap-4">
                    <Fact label="Username" value=u.user_name.clone() test="user-name"/>
                    <Fact label="Email" value=u.email.clone().unwrap_or_else(|| "\u{2014}".into())/>
                    <Fact label="External id (in the IdP)" value=view_data.external_id.clone().unwrap_or_else(|| "\u{2014}".into())/>
                    <Fact label="Created" value=utc(u.created_at)/>
                    <Fact label="Updated" value=utc(u.updated_at)/>
                    <Fact label="Last sign-in" value=view_data.last_sign_in.map(utc).unwrap_or_else(|| "Never signed in".into()) test="last-sign-in"/>
                    <Fact label="Source" value=u.source.name.clone()/>
                    <Fact label="Gatehouse id" value=u.id.clone()/>
                </dl>
            </section>
            <section aria-labelledby="auth-heading" class=format!("{SECTION} space-y-3")>
                <h2 id="auth-heading" class=H2>"Authentication profile"</h2>
                {profile}
                <p class="text-xs text-slate-600 dark:text-slate-400">
                    "A user signs in through the profile of one of their groups. When their groups map to several profiles, the profile with the lowest priority number wins (1 before 2); the order is set on the "
                    <A href="/console/auth-profiles" attr:class=LINK>"Authentication Profiles"</A>" page."
                </p>
            </section>
            <section aria-labelledby="groups-heading" class=format!("{SECTION} space-y-3")>
                <h2 id="groups-heading" class=H2>"Groups"</h2>
                {groups}
            </section>
            {move || ended.get().map(|m| view! {
                <p role="status" data-test="sessions-ended" class="rounded-lg border border-emerald-300 dark:border-emerald-800 bg-emerald-50 dark:bg-emerald-950 px-4 py-3 text-sm text-emerald-900 dark:text-emerald-100">{m}</p>
            })}
            <Sessions view_data=view_data.clone() end ended/>
            <section aria-labelledby="attributes-heading" class=format!("{SECTION} space-y-4")>
                <h2 id="attributes-heading" class=H2>"Attributes from the identity provider"</h2>
                {attributes}
            </section>
            <RecentEvents events=view_data.recent_events.clone() target_id=u.id.clone() what="this user"/>
        </div>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let end = ServerAction::<EndUserSessions>::new();
    let ended = RwSignal::new(None::<String>);
    let data = Resource::new(
        move || (id.get(), end.version().get()),
        |(id, _)| directory_user(id),
    );
    Effect::new(move |_| match end.value().get() {
        Some(Ok(0)) => ended.set(Some("There was no session left to end.".into())),
        Some(Ok(1)) => ended.set(Some("Ended 1 session. The user must sign in again.".into())),
        Some(Ok(n)) => ended.set(Some(format!(
            "Ended {n} sessions. The user must sign in again."
        ))),
        _ => {}
    });
    let action_error = move || end.value().get().and_then(Result::err);
    view! {
        {move || action_error().map(|e| view! { <ErrorNotice error=e/> })}
        <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading the user\u{2026}"</p> }>
            {move || data.get().map(|r| match r {
                Ok(v) => view! { <UserDetail view_data=v end ended/> }.into_any(),
                Err(e) => view! {
                    <PageHeader title="User" description="A person your identity provider provisioned."/>
                    <ErrorNotice error=e/>
                    <p class="mt-4 text-sm"><A href="/console/users" attr:class=LINK>"Back to all users"</A></p>
                }.into_any(),
            })}
        </Transition>
    }
}
