//! Settings: how this Gatehouse is configured, and who administers it.

use crate::api::overview::settings;
use crate::components::event_list::utc;
use crate::components::{ErrorNotice, PageHeader};
use leptos::prelude::*;

#[component]
fn Setting(label: &'static str, value: String, test: &'static str) -> impl IntoView {
    view! {
        <div class="px-4 py-3 sm:grid sm:grid-cols-3 sm:gap-4">
            <dt class="text-sm font-medium text-slate-600 dark:text-slate-400">{label}</dt>
            <dd data-test=test class="mt-1 sm:mt-0 sm:col-span-2 text-sm text-slate-900 dark:text-slate-100 break-all">{value}</dd>
        </div>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let view_data = Resource::new(|| (), |_| settings());
    view! {
        <PageHeader
            title="Settings"
            description="How this Gatehouse is configured. These values come from its configuration (environment variables); change them there and restart."
        />
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading settings…"</p> }>
            {move || view_data.get().map(|r| match r {
                Ok(s) => view! {
                    <section aria-labelledby="configuration" class="mb-8">
                        <h2 id="configuration" class="mb-3 text-lg font-semibold text-slate-900 dark:text-slate-100">"Configuration"</h2>
                        <dl class="divide-y divide-slate-100 dark:divide-slate-800 rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
                            <Setting label="Public URL" value=s.public_url test="public-url"/>
                            <Setting label="Database" value=s.database test="database"/>
                            <Setting label="Session ends after inactivity" value=format!("{} minutes", s.session_idle_minutes) test="session-idle"/>
                            <Setting label="Session ends after sign-in, at the latest" value=format!("{} hours", s.session_absolute_hours) test="session-absolute"/>
                        </dl>
                    </section>
                    <section aria-labelledby="administrators">
                        <h2 id="administrators" class="mb-3 text-lg font-semibold text-slate-900 dark:text-slate-100">"Administrators"</h2>
                        <ul class="divide-y divide-slate-100 dark:divide-slate-800 rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
                            {s.admins.into_iter().map(|a| view! {
                                <li class="flex flex-wrap justify-between gap-2 px-4 py-3 text-sm">
                                    <span class="font-medium text-slate-900 dark:text-slate-100">{a.email}</span>
                                    <span class="text-slate-600 dark:text-slate-400">
                                        {match a.last_sign_in_at {
                                            Some(t) => format!("Last signed in {}", utc(t)),
                                            None => "Never signed in".to_string(),
                                        }}
                                    </span>
                                </li>
                            }).collect_view()}
                        </ul>
                        <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                            "Add administrators with "<code class="font-mono">"gatehouse admin create"</code>" on the server."
                        </p>
                    </section>
                }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Suspense>
    }
}
