//! Events / Logs: every provisioning change, configuration change and sign-in.

use crate::api::overview::recent_events;
use crate::components::event_list::EventTable;
use crate::components::{EmptyState, ErrorNotice, PageHeader};
use leptos::prelude::*;

/// How many events the page shows in this version.
const SHOWN: u32 = 100;

#[component]
pub fn EventsPage() -> impl IntoView {
    let events = Resource::new(|| (), |_| recent_events(SHOWN));
    view! {
        <PageHeader
            title="Events / Logs"
            description="Every provisioning change, configuration change and sign-in, newest first."
        />
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading events…"</p> }>
            {move || events.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <EmptyState title="No events yet">
                        <p>"Events are recorded as administrators sign in and change settings, and as Okta provisions users and groups."</p>
                    </EmptyState>
                }.into_any(),
                Ok(list) => view! {
                    <p class="mb-3 text-sm text-slate-600 dark:text-slate-400">
                        {format!("The newest {} events.", list.len())}
                    </p>
                    <EventTable events=list caption="Events, newest first"/>
                }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Suspense>
    }
}
