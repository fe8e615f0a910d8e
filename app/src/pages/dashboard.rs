//! The dashboard: where an administrator lands after signing in.

use crate::api::overview::recent_events;
use crate::components::event_list::EventTable;
use crate::components::{EmptyState, ErrorNotice, PageHeader};
use leptos::prelude::*;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let events = Resource::new(|| (), |_| recent_events(10));
    view! {
        <PageHeader
            title="Dashboard"
            description="An overview of this Gatehouse: who Okta has provisioned, how people sign in, and what changed recently."
        />
        <section aria-labelledby="recent-activity" class="space-y-3">
            <h2 id="recent-activity" class="text-lg font-semibold text-slate-900 dark:text-slate-100">"Recent activity"</h2>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading events…"</p> }>
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
        </section>
        <section aria-labelledby="coming" class="mt-8">
            <h2 id="coming" class="text-lg font-semibold text-slate-900 dark:text-slate-100">"Counts and health"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400 max-w-3xl">
                "User, group and profile counts, SCIM provisioning health, sign-ins of the last 24 hours and certificate warnings will appear here once Okta provisioning and SAML profiles are available in Gatehouse. Nothing is shown until there is something real to count."
            </p>
        </section>
    }
}
