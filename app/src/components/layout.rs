//! The console's frame: a sidebar with the product's sections, a top bar with the signed-in
//! administrator, and the page in between. Collapses to a menu button on a phone.

use super::role::SignedInAdmin;
use crate::api::auth::{current_admin, SignOut};
use crate::error::AppError;
use crate::theme::ThemeSwitcher;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_location;

/// One sidebar link; marked as the current page when the location is at or below it.
#[component]
fn NavLink(
    /// Where it goes.
    href: &'static str,
    /// What it says.
    label: &'static str,
    /// Indented under a group heading.
    #[prop(optional)]
    nested: bool,
) -> impl IntoView {
    let location = use_location();
    let active = move || {
        let path = location.pathname.get();
        if href == "/console" {
            path == "/console" || path == "/console/"
        } else {
            path == href || path.starts_with(&format!("{href}/"))
        }
    };
    view! {
        <A
            href=href
            attr:class=move || {
                match (active(), nested) {
                    (true, false) => "flex items-center rounded-md px-3 py-2 text-sm font-medium bg-indigo-50 text-indigo-700 dark:bg-slate-800 dark:text-white",
                    (false, false) => "flex items-center rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800",
                    (true, true) => "flex items-center rounded-md py-2 pl-6 pr-3 text-sm font-medium bg-indigo-50 text-indigo-700 dark:bg-slate-800 dark:text-white",
                    (false, true) => "flex items-center rounded-md py-2 pl-6 pr-3 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800",
                }
            }
        >
            {label}
        </A>
    }
}

/// A heading over a group of sidebar links.
#[component]
fn NavGroup(label: &'static str, children: Children) -> impl IntoView {
    view! {
        <li>
            <span class="block px-3 pt-4 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
                {label}
            </span>
            <ul class="space-y-1">{children()}</ul>
        </li>
    }
}

/// The sections of the console, in the order of the product's setup guide.
#[component]
fn Sidebar() -> impl IntoView {
    view! {
        <nav aria-label="Console sections" class="px-3 py-4">
            <ul class="space-y-1">
                <li><NavLink href="/console" label="Dashboard"/></li>
                <li><NavLink href="/console/auth-profiles" label="Authentication Profiles"/></li>
                <NavGroup label="User Provider">
                    <li><NavLink href="/console/scim" label="SCIM Import" nested=true/></li>
                </NavGroup>
                <NavGroup label="Users & Groups">
                    <li><NavLink href="/console/users" label="Users" nested=true/></li>
                    <li><NavLink href="/console/groups" label="User Groups" nested=true/></li>
                </NavGroup>
                <li class="pt-4"><NavLink href="/console/events" label="Events / Logs"/></li>
                <li><NavLink href="/console/settings" label="Settings"/></li>
            </ul>
        </nav>
    }
}

/// Sends the browser to sign-in when the session has ended while a page was open.
#[cfg(feature = "hydrate")]
fn go_to_sign_in() {
    let here = window().location();
    let next = format!(
        "{}{}",
        here.pathname().unwrap_or_default(),
        here.search().unwrap_or_default()
    );
    let encoded: String = js_sys_encode(&next);
    let _ = here.set_href(&format!("/console/login?next={encoded}"));
}

#[cfg(feature = "hydrate")]
fn js_sys_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The frame around every signed-in page.
#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let admin = Resource::new(|| (), |_| current_admin());
    provide_context(SignedInAdmin(admin));
    let sign_out = ServerAction::<SignOut>::new();
    let (menu_open, set_menu_open) = signal(false);

    // A page left open past the session's end: go to sign-in, then come back here.
    Effect::new(move |_| {
        if let Some(Err(AppError::Unauthorized)) = admin.get() {
            #[cfg(feature = "hydrate")]
            go_to_sign_in();
        }
    });

    view! {
        <a href="#main" class="skip-link rounded-md bg-indigo-600 px-3 py-2 text-sm text-white">"Skip to content"</a>
        <div class="min-h-screen md:flex">
            <aside class="md:w-64 md:shrink-0 border-b md:border-b-0 md:border-r border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
                <div class="flex items-center justify-between px-6 py-4">
                    <A href="/console" attr:class="text-lg font-bold tracking-tight text-slate-900 dark:text-white">
                        "Gatehouse"
                    </A>
                    <button
                        type="button"
                        class="md:hidden rounded-md border border-slate-300 dark:border-slate-600 px-3 py-1 text-sm text-slate-700 dark:text-slate-200"
                        aria-controls="console-sidebar"
                        aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| set_menu_open.update(|o| *o = !*o)
                    >
                        "Menu"
                    </button>
                </div>
                <div
                    id="console-sidebar"
                    class=move || if menu_open.get() { "block" } else { "hidden md:block" }
                >
                    <Sidebar/>
                </div>
            </aside>
            <div class="flex-1 min-w-0 flex flex-col">
                <header class="flex flex-wrap items-center justify-end gap-3 border-b border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 px-4 md:px-8 py-3">
                    <ThemeSwitcher/>
                    <Suspense fallback=|| view! { <span class="text-sm text-slate-500 dark:text-slate-400">"…"</span> }>
                        {move || {
                            admin
                                .get()
                                .map(|r| match r {
                                    Ok(a) => view! {
                                        <span data-test="signed-in-admin" class="text-sm text-slate-700 dark:text-slate-300">
                                            <span class="sr-only">"Signed in as "</span>
                                            {a.email.clone()}
                                        </span>
                                        {(!a.can_change()).then(|| view! {
                                            <span data-test="read-only-badge" title="An Auditor can see everything and change nothing."
                                                class="rounded-full bg-amber-100 dark:bg-amber-900 px-2 py-0.5 text-xs font-medium text-amber-900 dark:text-amber-100">
                                                "Auditor: read-only"
                                            </span>
                                        })}
                                    }
                                    .into_any(),
                                    Err(_) => ().into_any(),
                                })
                        }}
                    </Suspense>
                    <ActionForm action=sign_out>
                        <button
                            type="submit"
                            class="rounded-md border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800"
                        >
                            "Sign out"
                        </button>
                    </ActionForm>
                </header>
                <main id="main" tabindex="-1" class="flex-1 px-4 md:px-8 py-6 md:py-8">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}
