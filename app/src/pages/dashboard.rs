//! The dashboard: where an administrator lands after signing in. Every figure is read from
//! the database when the page loads; a number that is zero says how it stops being zero.
//! The chart's range lives in the URL (`?chart=7d`), like the Events page's filters.

use crate::api::auth_profiles::expiry_text;
use crate::api::dashboard::{
    dashboard, dashboard_chart, events_link, CertificateWarningView, DashboardView, SetupView,
    CHART_RANGES,
};
use crate::api::overview::recent_events;
use crate::components::event_list::{utc, EventTable};
use crate::components::events_chart::EventsChart;
use crate::components::{EmptyState, ErrorNotice, PageHeader};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use time::OffsetDateTime;

const CARD: &str =
    "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-4";
const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";
const LINK: &str = "text-indigo-700 dark:text-indigo-300 underline";
const NOTE: &str = "mt-1 text-sm text-slate-600 dark:text-slate-400";

/// How long ago, in the largest whole unit: "just now", "5 minutes ago", "3 days ago".
fn ago(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds().max(0);
    let (n, unit) = match secs {
        s if s < 60 => return "just now".into(),
        s if s < 3_600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s => (s / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// A time as the `datetime` attribute wants it (RFC 3339, UTC).
fn machine_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// One figure with its label; `test` names it for the end-to-end tests.
#[component]
fn Figure(
    /// What is counted.
    label: &'static str,
    value: i64,
    test: &'static str,
    /// Where the figure's detail is, if anywhere.
    #[prop(optional, into)]
    href: Option<String>,
) -> impl IntoView {
    let number = match href {
        Some(href) => view! {
            <a href=href class=LINK data-test=test aria-label=format!("{label}: {value}")>{value}</a>
        }.into_any(),
        None => view! { <span data-test=test>{value}</span> }.into_any(),
    };
    view! {
        <div>
            <dt class="text-sm text-slate-600 dark:text-slate-400">{label}</dt>
            <dd class="mt-1 text-2xl font-semibold text-slate-900 dark:text-slate-100">{number}</dd>
        </div>
    }
}

/// The directory and configuration at a glance.
#[component]
fn Counts(d: DashboardView) -> impl IntoView {
    let empty = d.users_active + d.users_inactive == 0;
    view! {
        <section aria-labelledby="counts" class=CARD>
            <h2 id="counts" class=H2>"Directory"</h2>
            <dl class="mt-3 grid grid-cols-2 md:grid-cols-4 gap-4">
                <Figure label="Active users" value=d.users_active test="count-users-active" href="/console/users?status=active"/>
                <Figure label="Inactive users" value=d.users_inactive test="count-users-inactive" href="/console/users?status=inactive"/>
                <Figure label="User groups" value=d.groups test="count-groups" href="/console/groups"/>
                <Figure label="Authentication profiles" value=d.auth_profiles test="count-auth-profiles" href="/console/auth-profiles"/>
            </dl>
            {empty.then(|| view! {
                <p class=NOTE>"Users and groups appear here when Okta pushes them over SCIM: give Okta the base URL and a token from "<a href="/console/scim" class=LINK>"SCIM Import"</a>"."</p>
            })}
        </section>
    }
}

/// Whether Okta is talking to Gatehouse, and whether it is being refused.
#[component]
fn Provisioning(d: DashboardView) -> impl IntoView {
    let now = d.as_of;
    let last = match d.last_scim_request {
        None => view! {
            <p data-test="last-scim-request" class="mt-2 text-sm text-slate-700 dark:text-slate-300">
                "No SCIM request yet. Once Okta has the base URL and a token from "
                <a href="/console/scim" class=LINK>"SCIM Import"</a>
                " and provisioning is turned on, its requests show here."
            </p>
        }
        .into_any(),
        Some(t) => {
            let what = d.last_provisioning_event.map(|e| {
                let target = e.event.target.clone().map(|t| format!(" ({t})")).unwrap_or_default();
                let verb = if e.event.outcome == gatehouse_domain::event::Outcome::Success { "" } else { ", refused" };
                format!("Last change: {}{target}{verb}, {}.", e.event.action, ago(e.event.occurred_at, now))
            });
            view! {
                <p class="mt-2 text-sm text-slate-700 dark:text-slate-300">
                    "Last SCIM request: "
                    <time datetime=machine_time(t) data-test="last-scim-request" class="font-medium">{ago(t, now)}</time>
                    <span class="text-slate-500 dark:text-slate-400">{format!(" ({})", utc(t))}</span>
                </p>
                {what.map(|w| view! { <p class="text-sm text-slate-600 dark:text-slate-400" data-test="last-scim-change">{w}</p> })}
            }
            .into_any()
        }
    };
    let failures_href = events_link(&[("category", "provisioning"), ("outcome", "failure")]);
    let failures = d.scim_failures;
    view! {
        <section aria-labelledby="provisioning" class=CARD>
            <h2 id="provisioning" class=H2>"Provisioning (SCIM)"</h2>
            {last}
            <dl class="mt-3">
                <Figure label="Failed SCIM requests, last 24 hours" value=failures test="scim-failures" href=failures_href/>
            </dl>
            {(failures > 0).then(|| view! {
                <p class="mt-1 text-sm text-amber-700 dark:text-amber-300">"Open them to see what Okta sent and why Gatehouse refused it."</p>
            })}
        </section>
    }
}

/// Sign-ins through the authentication profiles in the last day.
#[component]
fn SignIns(d: DashboardView) -> impl IntoView {
    let none = d.sign_ins_succeeded + d.sign_ins_failed == 0;
    view! {
        <section aria-labelledby="sign-ins" class=CARD>
            <h2 id="sign-ins" class=H2>"Sign-ins, last 24 hours"</h2>
            <dl class="mt-3 grid grid-cols-2 gap-4">
                <Figure label="Succeeded" value=d.sign_ins_succeeded test="sign-ins-succeeded" href=events_link(&[("action", "sign_in.succeeded")])/>
                <Figure label="Failed" value=d.sign_ins_failed test="sign-ins-failed" href=events_link(&[("action", "sign_in.failed")])/>
            </dl>
            {none.then(|| view! {
                <p class=NOTE>"People sign in at /login through their group's authentication profile; each attempt is counted here."</p>
            })}
        </section>
    }
}

/// Certificates that stop sign-in when they expire, each with a link to fix it.
#[component]
fn CertificateWarnings(
    warnings: Vec<CertificateWarningView>,
    now: OffsetDateTime,
) -> impl IntoView {
    let items = warnings
        .into_iter()
        .map(|w| {
            let href = format!("/console/auth-profiles/{}", w.profile.id);
            let which = match &w.idp_subject {
                None => "SP signing certificate".to_string(),
                Some(subject) => format!("IdP signing certificate {subject}"),
            };
            let fix = match (&w.idp_subject, w.other_valid_until) {
                (None, _) => "Rotate it on the profile's page and give Okta the new certificate if it checks signed requests.".to_string(),
                (Some(_), Some(until)) => format!(
                    "Another certificate from this IdP is valid until {}, so sign-in continues; re-import the IdP metadata to drop the old one.",
                    crate::api::auth_profiles::date(until)
                ),
                (Some(_), None) => "Sign-in through this profile stops when it expires: import the IdP's new metadata.".to_string(),
            };
            view! {
                <li data-test="certificate-warning">
                    <a href=href class=LINK>{w.profile.name.clone()}</a>
                    {format!(": {which}. {}. {fix}", expiry_text(w.not_after, now))}
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="certificates" data-test="certificate-warnings"
            class="rounded-xl border border-amber-300 dark:border-amber-800 bg-amber-50 dark:bg-amber-950 p-4 text-sm text-amber-900 dark:text-amber-100">
            <h2 id="certificates" class="text-base font-semibold">"Certificates expiring"</h2>
            <ul class="mt-2 list-disc space-y-1 pl-5">{items}</ul>
        </section>
    }
}

/// The set-up steps, ticked from what exists; folded away once all are done.
#[component]
fn SetupChecklist(setup: SetupView) -> impl IntoView {
    let complete = setup.complete();
    let steps: [(&str, bool, &str, &str, &str); 5] = [
        ("profile", setup.profile_created, "Create an authentication profile", "/console/auth-profiles", "Authentication Profiles: create a SAML profile and give its SP metadata to Okta."),
        ("okta", setup.okta_connected, "Connect Okta", "/console/scim", "SCIM Import: generate a token and paste it with the base URL into Okta; ticks when Okta first uses it."),
        ("group", setup.group_pushed, "Push a group", "/console/groups", "In Okta, push a group to Gatehouse (Push Groups); ticks when the group arrives."),
        ("assign", setup.profile_assigned, "Assign the profile to a group", "/console/groups", "User Groups: open a group and choose its authentication profile."),
        ("sign-in", setup.sign_in_tested, "Test a sign-in", "/login", "Sign in at /login as a member of that group; ticks after the first successful sign-in."),
    ];
    let done = steps.iter().filter(|s| s.1).count();
    let items = steps
        .into_iter()
        .map(|(key, ok, title, href, how)| {
            view! {
                <li data-test=format!("setup-{key}") data-done=if ok { "true" } else { "false" } class="flex gap-3">
                    <span aria-hidden="true" class=if ok {
                        "mt-0.5 flex h-5 w-5 shrink-0 items-center justify-center rounded-full bg-emerald-600 text-xs text-white"
                    } else {
                        "mt-0.5 h-5 w-5 shrink-0 rounded-full border-2 border-slate-300 dark:border-slate-600"
                    }>{ok.then_some("\u{2713}")}</span>
                    <span>
                        <a href=href rel=(href == "/login").then_some("external") class="font-medium text-slate-900 dark:text-slate-100 underline">{title}</a>
                        <span class="sr-only">{if ok { " (done)" } else { " (not done yet)" }}</span>
                        <span class="block text-sm text-slate-600 dark:text-slate-400">{how}</span>
                    </span>
                </li>
            }
        })
        .collect_view();
    let summary = format!("Set-up: {done} of 5 steps done");
    view! {
        <details open=!complete data-test="setup-checklist" data-complete=if complete { "true" } else { "false" } class=CARD>
            <summary class="cursor-pointer text-lg font-semibold text-slate-900 dark:text-slate-100">
                {if complete { "Set-up complete".to_string() } else { summary }}
            </summary>
            <ol class="mt-3 space-y-3">{items}</ol>
        </details>
    }
}

/// The chart of all events, for a range chosen by links that keep it in the URL.
#[component]
fn Activity() -> impl IntoView {
    let query = use_query_map();
    let range = Memo::new(move |_| {
        let r = query.read().get("chart").unwrap_or_default();
        if CHART_RANGES.iter().any(|(k, _)| *k == r) {
            r
        } else {
            CHART_RANGES[0].0.to_string()
        }
    });
    let histogram = Resource::new(move || range.get(), dashboard_chart);
    let links = CHART_RANGES
        .iter()
        .map(|(key, label)| {
            let current = move || range.get() == *key;
            view! {
                <a href=format!("/console?chart={key}")
                    aria-current=move || current().then_some("true")
                    class=move || if current() {
                        "rounded-md px-3 py-1 text-sm font-medium bg-indigo-600 text-white"
                    } else {
                        "rounded-md px-3 py-1 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800"
                    }
                >{*label}</a>
            }
        })
        .collect_view();
    let all_events = move || format!("/console/events?range={}", range.get());
    view! {
        <section aria-labelledby="activity" class=CARD>
            <div class="mb-3 flex flex-wrap items-center justify-between gap-2">
                <h2 id="activity" class=H2>"Events over time"</h2>
                <nav aria-label="Chart range" class="flex items-center gap-1">{links}</nav>
            </div>
            <Transition fallback=|| view! { <p class="h-40 text-sm text-slate-500 dark:text-slate-400">"Loading the chart\u{2026}"</p> }>
                {move || histogram.get().map(|r| match r {
                    Ok(h) => view! { <EventsChart histogram=h/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
            </Transition>
            <p class="mt-2 text-sm"><a href=all_events class=LINK>"Open these events in Events / Logs"</a></p>
        </section>
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let figures = Resource::new(|| (), |_| dashboard());
    let events = Resource::new(|| (), |_| recent_events(10));
    view! {
        <PageHeader
            title="Dashboard"
            description="An overview of this Gatehouse: who Okta has provisioned, how people sign in, and what changed recently."
        />
        <div class="space-y-6">
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading the figures\u{2026}"</p> }>
                {move || figures.get().map(|r| match r {
                    Ok(d) => view! {
                        <div class="space-y-6" data-test="dashboard">
                            {(!d.certificates.is_empty()).then(|| view! {
                                <CertificateWarnings warnings=d.certificates.clone() now=d.as_of/>
                            })}
                            <SetupChecklist setup=d.setup.clone()/>
                            <Counts d=d.clone()/>
                            <div class="grid grid-cols-1 lg:grid-cols-2 gap-6">
                                <Provisioning d=d.clone()/>
                                <SignIns d=d.clone()/>
                            </div>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
            </Suspense>
            <Activity/>
            <section aria-labelledby="recent-activity" class="space-y-3">
                <h2 id="recent-activity" class=H2>"Recent activity"</h2>
                <Suspense fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading events\u{2026}"</p> }>
                    {move || events.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! {
                            <EmptyState title="No activity yet">
                                <p>"Sign-ins, configuration changes and provisioning appear here as they happen."</p>
                            </EmptyState>
                        }.into_any(),
                        Ok(list) => view! { <EventTable events=list caption="The ten newest events"/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    })}
                </Suspense>
                <p class="text-sm"><a href="/console/events" class=LINK>"All events"</a></p>
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::ago;
    use time::macros::datetime;

    #[test]
    fn ago_uses_the_largest_whole_unit() {
        let now = datetime!(2026-03-01 12:00 UTC);
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now - time::Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now - time::Duration::minutes(90), now), "1 hour ago");
        assert_eq!(ago(now - time::Duration::days(3), now), "3 days ago");
    }
}
