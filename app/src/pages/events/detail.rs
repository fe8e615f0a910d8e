//! One event, every field of it: when, what, who, about what, the outcome and the error a
//! refused request got, and for updates what changed. The filters of the list it was opened
//! from ride along in the URL, so "Back to Events" returns to the same view.

use super::{category_label, OutcomeBadge};
use crate::api::events::{event_detail, EventDetailView};
use crate::components::{ErrorNotice, PageHeader};
use gatehouse_domain::event::{percent_encode, Actor};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

const SECTION: &str = "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-6 space-y-4";
const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";
const DT: &str = "text-sm text-slate-500 dark:text-slate-400";
const DD: &str = "text-sm text-slate-900 dark:text-slate-100 break-all";

fn timestamp(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[component]
fn Field(
    label: &'static str,
    #[prop(into)] value: String,
    #[prop(optional)] mono: bool,
) -> impl IntoView {
    view! {
        <div class="grid grid-cols-1 sm:grid-cols-4 gap-1 py-2">
            <dt class=DT>{label}</dt>
            <dd class=format!("{DD} sm:col-span-3 {}", if mono { "font-mono" } else { "" })>{value}</dd>
        </div>
    }
}

#[component]
fn Detail(detail: EventDetailView) -> impl IntoView {
    let EventDetailView { entry, detail } = detail;
    let e = entry.event.clone();
    let (kind, actor_id) = match &e.actor {
        Actor::System => ("system", None),
        Actor::Anonymous => ("anonymous", None),
        Actor::Admin(id) => ("administrator", Some(id.clone())),
        Actor::ScimToken(id) => ("SCIM token", Some(id.clone())),
    };
    let target_link = entry.target_id.clone().map(|id| {
        let href = format!("/console/events?range=all&target={}", percent_encode(&id));
        view! {
            <a href=href class="text-indigo-700 dark:text-indigo-300 underline">"All events about it"</a>
        }
    });
    let changes = (!detail.changes.is_empty()).then(|| {
        let rows = detail
            .changes
            .iter()
            .map(|c| {
                view! {
                    <tr data-test="change-row">
                        <th scope="row" class="px-3 py-2 text-left font-medium">{c.what.clone()}</th>
                        <td class="px-3 py-2 font-mono text-xs break-all">{c.before.clone().unwrap_or_else(|| "\u{2014}".into())}</td>
                        <td class="px-3 py-2 font-mono text-xs break-all">{c.after.clone().unwrap_or_else(|| "\u{2014}".into())}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section aria-labelledby="changes" class=SECTION>
                <h2 id="changes" class=H2>"What changed"</h2>
                <p class="text-sm text-slate-600 dark:text-slate-400">"A dash means the event did not record that value."</p>
                <table class="min-w-full text-sm text-slate-700 dark:text-slate-300">
                    <caption class="sr-only">"Changes: before and after"</caption>
                    <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        <tr>
                            <th scope="col" class="px-3 py-2 text-left font-medium">"What"</th>
                            <th scope="col" class="px-3 py-2 text-left font-medium">"Before"</th>
                            <th scope="col" class="px-3 py-2 text-left font-medium">"After"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100 dark:divide-slate-800">{rows}</tbody>
                </table>
            </section>
        }
    });
    let error = detail.error.clone().map(|err| {
        view! {
            <div role="note" data-test="event-error" class="rounded-lg border border-red-300 dark:border-red-800 bg-red-50 dark:bg-red-950 px-4 py-3 text-sm text-red-800 dark:text-red-200">
                <strong>"Error sent back: "</strong>{err}
            </div>
        }
    });
    let facts = (!detail.fields.is_empty() || detail.raw.is_some()).then(|| {
        let fields = detail
            .fields
            .iter()
            .map(|f| {
                view! {
                    <div class="grid grid-cols-1 sm:grid-cols-4 gap-1 py-2">
                        <dt class=format!("{DT} font-mono")>{f.key.clone()}</dt>
                        <dd class=format!("{DD} sm:col-span-3 font-mono text-xs")>{f.value.clone()}</dd>
                    </div>
                }
            })
            .collect_view();
        let raw = detail.raw.clone().map(|r| view! { <Field label="Detail (as recorded)" value=r mono=true/> });
        view! {
            <section aria-labelledby="facts" class=SECTION>
                <h2 id="facts" class=H2>"Details"</h2>
                <dl class="divide-y divide-slate-100 dark:divide-slate-800" data-test="event-facts">{fields}{raw}</dl>
            </section>
        }
    });
    view! {
        <PageHeader title=format!("Event {}", e.action) description="Everything recorded about this event. Values that could be secrets are never shown."/>
        <div class="space-y-6" data-test="event-detail">
            <section aria-labelledby="summary" class=SECTION>
                <h2 id="summary" class=H2>"Summary"</h2>
                {error}
                <dl class="divide-y divide-slate-100 dark:divide-slate-800">
                    <Field label="Time (UTC)" value=timestamp(e.occurred_at) mono=true/>
                    <Field label="Action" value=e.action.clone() mono=true/>
                    <Field label="Category" value=category_label(e.category)/>
                    <div class="grid grid-cols-1 sm:grid-cols-4 gap-1 py-2">
                        <dt class=DT>"Outcome"</dt>
                        <dd class="sm:col-span-3"><OutcomeBadge outcome=e.outcome/></dd>
                    </div>
                    <Field label="Actor" value=entry.actor_label()/>
                    <Field label="Actor kind" value=kind/>
                    {actor_id.map(|id| view! { <Field label="Actor id" value=id mono=true/> })}
                    <Field label="Target" value=e.target.clone().unwrap_or_else(|| "\u{2014}".into())/>
                    <div class="grid grid-cols-1 sm:grid-cols-4 gap-1 py-2">
                        <dt class=DT>"Target id"</dt>
                        <dd class=format!("{DD} sm:col-span-3 space-x-3")>
                            <span class="font-mono">{entry.target_id.clone().unwrap_or_else(|| "\u{2014}".into())}</span>
                            {target_link}
                        </dd>
                    </div>
                    <Field label="Event id" value=e.id.to_string() mono=true/>
                </dl>
            </section>
            {changes}
            {facts}
        </div>
    }
}

/// `/console/events/:id`.
#[component]
pub fn EventDetailPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, event_detail);
    let back = move || {
        let q = query.read().to_query_string();
        format!("/console/events{q}")
    };
    view! {
        <p class="mb-4 text-sm">
            <a href=back class="text-indigo-700 dark:text-indigo-300 underline">"\u{2190} Back to Events / Logs"</a>
        </p>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading the event\u{2026}"</p> }>
            {move || detail.get().map(|r| match r {
                Ok(d) => view! { <Detail detail=d/> }.into_any(),
                Err(e) => view! {
                    <PageHeader title="Event" description="One event of Events / Logs."/>
                    <ErrorNotice error=e/>
                }.into_any(),
            })}
        </Suspense>
    }
}
