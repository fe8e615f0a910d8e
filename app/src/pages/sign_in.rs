//! The console's sign-in page.

use crate::api::auth::SignIn;
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Shared look of the sign-in and setup cards.
pub const INPUT_CLASS: &str = "mt-1 block w-full rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-3 py-2 text-sm text-slate-900 dark:text-slate-100 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500";
pub const LABEL_CLASS: &str = "block text-sm font-medium text-slate-700 dark:text-slate-300";
pub const BUTTON_CLASS: &str = "w-full rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow hover:bg-indigo-500 disabled:opacity-60";

/// A centred card for pages seen before signing in.
#[component]
pub fn AuthCard(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <Title text=title.clone()/>
        <main class="min-h-screen flex items-center justify-center px-4 py-12">
            <div class="w-full max-w-sm">
                <p class="mb-6 text-center text-2xl font-bold tracking-tight text-slate-900 dark:text-white">"Gatehouse"</p>
                <section class="rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-6 shadow-sm">
                    <h1 class="mb-4 text-lg font-semibold text-slate-900 dark:text-slate-100">{title}</h1>
                    {children()}
                </section>
            </div>
        </main>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || {
        query
            .with(|q| q.get("next"))
            .unwrap_or_else(|| "/console".into())
    };
    view! {
        <AuthCard title="Sign in to the console">
            <ActionForm action=action attr:class="space-y-4">
                <input type="hidden" name="next" prop:value=next/>
                <div>
                    <label for="email" class=LABEL_CLASS>"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required class=INPUT_CLASS/>
                </div>
                <div>
                    <label for="password" class=LABEL_CLASS>"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required class=INPUT_CLASS/>
                </div>
                {move || action.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
                <button type="submit" class=BUTTON_CLASS disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </AuthCard>
    }
}
