//! The parts every console page is made of: a header, an empty state, an error notice.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

/// A page's title (also the document title) and one sentence on what the page is for.
#[component]
pub fn PageHeader(
    /// The page's name, as in the sidebar.
    #[prop(into)]
    title: String,
    /// What an administrator does here.
    #[prop(into)]
    description: String,
) -> impl IntoView {
    view! {
        <Title text=title.clone()/>
        <header class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight text-slate-900 dark:text-slate-100">{title}</h1>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400 max-w-3xl">{description}</p>
        </header>
    }
}

/// What an empty screen says: what will appear here, and how to make it appear.
#[component]
pub fn EmptyState(
    /// A short headline, such as "No users yet".
    #[prop(into)]
    title: String,
    /// Children: the explanation.
    children: Children,
) -> impl IntoView {
    view! {
        <section
            data-test="empty-state"
            class="rounded-xl border border-dashed border-slate-300 dark:border-slate-700 bg-white dark:bg-slate-900 px-6 py-10 text-center"
        >
            <h2 class="text-base font-semibold text-slate-900 dark:text-slate-100">{title}</h2>
            <div class="mx-auto mt-2 max-w-xl text-sm text-slate-600 dark:text-slate-400 space-y-2">{children()}</div>
        </section>
    }
}

/// An error from the server, said in a way the administrator can act on.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! {
        <p
            role="alert"
            class="rounded-lg border border-red-300 dark:border-red-800 bg-red-50 dark:bg-red-950 px-4 py-3 text-sm text-red-800 dark:text-red-200"
        >
            {error.to_string()}
        </p>
    }
}
