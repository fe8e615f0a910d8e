//! The page for an address that does not exist (status 404).

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <main class="min-h-screen flex items-center justify-center px-4">
            <div class="text-center">
                <h1 class="text-2xl font-semibold text-slate-900 dark:text-slate-100">"Page not found"</h1>
                <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">"There is nothing at this address."</p>
                <a href="/console" class="mt-4 inline-block text-sm font-medium text-indigo-600 dark:text-indigo-400 underline">"Go to the console"</a>
            </div>
        </main>
    }
}
