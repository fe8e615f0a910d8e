//! A table of events as recorded, newest first.

use gatehouse_domain::event::{Actor, Event, Outcome};
use leptos::prelude::*;

fn actor_label(actor: &Actor) -> String {
    match actor {
        Actor::System => "System".into(),
        Actor::Admin(id) => format!("Administrator {}", &id[..8.min(id.len())]),
        Actor::Anonymous => "Anonymous".into(),
        Actor::ScimToken(id) => format!("SCIM token {}", &id[..8.min(id.len())]),
    }
}

/// Formats a time as `YYYY-MM-DD HH:MM:SS UTC`, the same on server and browser.
pub fn utc(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The events given, as a table with a caption for screen readers.
#[component]
pub fn EventTable(
    /// Events, newest first.
    events: Vec<Event>,
    /// What the table is, for screen readers.
    caption: &'static str,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
            <table class="min-w-full text-left text-sm" data-test="event-table">
                <caption class="sr-only">{caption}</caption>
                <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                    <tr>
                        <th scope="col" class="px-4 py-3 font-medium">"Time"</th>
                        <th scope="col" class="px-4 py-3 font-medium">"Action"</th>
                        <th scope="col" class="px-4 py-3 font-medium">"Outcome"</th>
                        <th scope="col" class="px-4 py-3 font-medium">"Target"</th>
                        <th scope="col" class="px-4 py-3 font-medium">"Actor"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">
                    {events
                        .into_iter()
                        .map(|e| {
                            let ok = e.outcome == Outcome::Success;
                            view! {
                                <tr>
                                    <td class="whitespace-nowrap px-4 py-2 font-mono text-xs">{utc(e.occurred_at)}</td>
                                    <td class="px-4 py-2 font-mono text-xs">{e.action}</td>
                                    <td class="px-4 py-2">
                                        <span class=if ok {
                                            "rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"
                                        } else {
                                            "rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-800 dark:bg-red-950 dark:text-red-200"
                                        }>{if ok { "Success" } else { "Failure" }}</span>
                                    </td>
                                    <td class="px-4 py-2">{e.target.unwrap_or_default()}</td>
                                    <td class="px-4 py-2">{actor_label(&e.actor)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
