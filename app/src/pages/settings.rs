//! Settings: how this Gatehouse is configured, and who administers it. Configuration values
//! are read-only here (they come from the server's environment); administrators are managed
//! here by Administrators. An Auditor sees the same page without the controls that change
//! anything, and is told so; the server refuses them regardless.

use super::sign_in::{INPUT_CLASS, LABEL_CLASS};
use crate::api::settings::{settings, AddAdmin, ChangeOwnPassword, RemoveAdmin, SettingsView};
use crate::components::event_list::utc;
use crate::components::{ErrorNotice, PageHeader};
use crate::error::AppError;
use gatehouse_domain::admin::{Admin, AdminRole};
use leptos::prelude::*;

const SECTION: &str = "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-6 space-y-4";
const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";
const PRIMARY: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-60";
const DANGER: &str = "rounded-md border border-red-300 dark:border-red-800 px-2.5 py-1 text-xs font-medium text-red-700 dark:text-red-300 hover:bg-red-50 dark:hover:bg-red-950 disabled:opacity-60";
const STATUS: &str = "rounded-lg border border-emerald-300 dark:border-emerald-800 bg-emerald-50 dark:bg-emerald-950 px-4 py-3 text-sm text-emerald-900 dark:text-emerald-100";

/// Asks the administrator to confirm a destructive action (the browser's own dialog, which
/// is keyboard and screen-reader friendly). Never confirmed during server rendering.
fn confirmed(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().confirm_with_message(message).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

#[component]
fn Setting(label: &'static str, value: String, test: &'static str) -> impl IntoView {
    view! {
        <div class="py-3 sm:grid sm:grid-cols-3 sm:gap-4">
            <dt class="text-sm font-medium text-slate-600 dark:text-slate-400">{label}</dt>
            <dd data-test=test class="mt-1 sm:mt-0 sm:col-span-2 text-sm text-slate-900 dark:text-slate-100 break-all">{value}</dd>
        </div>
    }
    .into_any()
}

#[component]
fn Configuration(s: SettingsView) -> impl IntoView {
    let retention = match s.event_retention_days {
        0 => "Kept forever".to_string(),
        1 => "1 day, then deleted by the daily purge".to_string(),
        n => format!("{n} days, then deleted by the daily purge"),
    };
    view! {
        <section aria-labelledby="configuration" class=SECTION>
            <h2 id="configuration" class=H2>"Configuration"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">
                "These values come from the server's configuration (environment variables such as "
                <code class="font-mono">"GATEHOUSE_PUBLIC_URL"</code>" and "<code class="font-mono">"GATEHOUSE_EVENT_RETENTION_DAYS"</code>
                "); change them there and restart Gatehouse."
            </p>
            <dl class="divide-y divide-slate-100 dark:divide-slate-800">
                <Setting label="Public URL" value=s.public_url test="public-url"/>
                <Setting label="Database" value=s.database test="database"/>
                <Setting label="Session ends after inactivity" value=format!("{} minutes", s.session_idle_minutes) test="session-idle"/>
                <Setting label="Session ends after sign-in, at the latest" value=format!("{} hours", s.session_absolute_hours) test="session-absolute"/>
                <Setting label="Events / Logs keeps events for" value=retention test="event-retention"/>
            </dl>
        </section>
    }
    .into_any()
}

/// The administrators, with a Remove button for an Administrator looking at the list.
#[component]
fn AdminTable(admins: Vec<Admin>, me: Admin, remove: ServerAction<RemoveAdmin>) -> impl IntoView {
    let can_change = me.can_change();
    let rows = admins
        .into_iter()
        .map(|a| {
            let is_me = a.id == me.id;
            let email = a.email.clone();
            let id = a.id.to_string();
            let role = a.role;
            let remove_button = can_change.then(|| {
                let email = email.clone();
                view! {
                    <button type="button" class=DANGER
                        aria-label=format!("Remove {email}")
                        disabled=move || remove.pending().get()
                        on:click=move |_| {
                            let question = if is_me {
                                format!("Remove your own account, {email}? You would be signed out at once.")
                            } else {
                                format!("Remove {email}? They are signed out at once and can no longer sign in to the console.")
                            };
                            if confirmed(&question) {
                                remove.dispatch(RemoveAdmin { id: id.clone() });
                            }
                        }
                    >"Remove"</button>
                }
            });
            view! {
                <tr data-test="admin-row">
                    <td class="px-3 py-2 font-medium text-slate-900 dark:text-slate-100">
                        <span data-test="admin-email">{a.email.clone()}</span>
                        {is_me.then(|| view! { <span class="ml-2 text-xs font-normal text-slate-500 dark:text-slate-400">"(you)"</span> })}
                    </td>
                    <td class="px-3 py-2" data-test="admin-role">
                        <span class=match role {
                            AdminRole::Administrator => "rounded-full bg-indigo-50 dark:bg-indigo-950 px-2 py-0.5 text-xs font-medium text-indigo-800 dark:text-indigo-200",
                            AdminRole::Auditor => "rounded-full bg-slate-100 dark:bg-slate-800 px-2 py-0.5 text-xs font-medium text-slate-800 dark:text-slate-200",
                        }>{role.label()}</span>
                    </td>
                    <td class="px-3 py-2 whitespace-nowrap">
                        {match a.last_sign_in_at {
                            Some(t) => utc(t),
                            None => "Never signed in".to_string(),
                        }}
                    </td>
                    <td class="px-3 py-2 whitespace-nowrap">{utc(a.created_at)}</td>
                    <td class="px-3 py-2 text-right">{remove_button}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-left text-sm" data-test="admin-table">
                <caption class="sr-only">"Administrators"</caption>
                <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                    <tr>
                        <th scope="col" class="px-3 py-2 font-medium">"Email"</th>
                        <th scope="col" class="px-3 py-2 font-medium">"Role"</th>
                        <th scope="col" class="px-3 py-2 font-medium">"Last sign-in"</th>
                        <th scope="col" class="px-3 py-2 font-medium">"Added"</th>
                        <th scope="col" class="px-3 py-2 font-medium"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The form to add an administrator: the same fields as `gatehouse admin create`, plus the
/// password twice since it is typed, not piped.
#[component]
fn AddAdminForm(add: ServerAction<AddAdmin>) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            if let Some(f) = form.get() {
                f.reset();
            }
        }
    });
    view! {
        <section aria-labelledby="add-admin" class=SECTION>
            <h2 id="add-admin" class=H2>"Add an administrator"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">
                "An Administrator can change everything; an Auditor can see everything and change nothing but their own password. Give the initial password to the new administrator over a trusted channel and ask them to change it under Settings after signing in."
            </p>
            <ActionForm action=add node_ref=form attr:class="grid grid-cols-1 gap-4 md:grid-cols-2">
                <div>
                    <label for="new-admin-email" class=LABEL_CLASS>"Email"</label>
                    <input id="new-admin-email" name="email" type="email" required autocomplete="off" class=INPUT_CLASS/>
                </div>
                <div>
                    <label for="new-admin-role" class=LABEL_CLASS>"Role"</label>
                    <select id="new-admin-role" name="role" required class=INPUT_CLASS>
                        <option value="" selected disabled>"Choose a role"</option>
                        <option value="administrator">"Administrator (can change everything)"</option>
                        <option value="auditor">"Auditor (read-only)"</option>
                    </select>
                </div>
                <div>
                    <label for="new-admin-password" class=LABEL_CLASS>"Initial password (at least 12 characters)"</label>
                    <input id="new-admin-password" name="password" type="password" required minlength="12" autocomplete="new-password" class=INPUT_CLASS/>
                </div>
                <div>
                    <label for="new-admin-password-confirmation" class=LABEL_CLASS>"Initial password again"</label>
                    <input id="new-admin-password-confirmation" name="password_confirmation" type="password" required minlength="12" autocomplete="new-password" class=INPUT_CLASS/>
                </div>
                <div class="md:col-span-2">
                    <button type="submit" class=PRIMARY disabled=move || add.pending().get()>
                        {move || if add.pending().get() { "Adding\u{2026}" } else { "Add administrator" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Changing one's own password: open to every role.
#[component]
fn ChangePasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangeOwnPassword>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = change.value().get() {
            if let Some(f) = form.get() {
                f.reset();
            }
        }
    });
    let outcome = move || {
        change.value().get().map(|r| match r {
            Ok(n) => {
                let others = match n {
                    0 => String::new(),
                    1 => " Your 1 other session was signed out.".to_string(),
                    n => format!(" Your {n} other sessions were signed out."),
                };
                view! { <p role="status" class=STATUS data-test="password-changed">{format!("Your password was changed.{others}")}</p> }.into_any()
            }
            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
        })
    };
    view! {
        <section aria-labelledby="change-password" class=SECTION>
            <h2 id="change-password" class=H2>"Change your password"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">
                "Your other sessions end when the password changes; this one stays signed in."
            </p>
            <ActionForm action=change node_ref=form attr:class="grid grid-cols-1 gap-4 md:grid-cols-3">
                <div>
                    <label for="current-password" class=LABEL_CLASS>"Current password"</label>
                    <input id="current-password" name="current_password" type="password" required autocomplete="current-password" class=INPUT_CLASS/>
                </div>
                <div>
                    <label for="new-password" class=LABEL_CLASS>"New password (at least 12 characters)"</label>
                    <input id="new-password" name="new_password" type="password" required minlength="12" autocomplete="new-password" class=INPUT_CLASS/>
                </div>
                <div>
                    <label for="new-password-confirmation" class=LABEL_CLASS>"New password again"</label>
                    <input id="new-password-confirmation" name="new_password_confirmation" type="password" required minlength="12" autocomplete="new-password" class=INPUT_CLASS/>
                </div>
                <div class="md:col-span-3">
                    <button type="submit" class=PRIMARY disabled=move || change.pending().get()>
                        {move || if change.pending().get() { "Changing\u{2026}" } else { "Change password" }}
                    </button>
                </div>
            </ActionForm>
            {outcome}
        </section>
    }
    .into_any()
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let add = ServerAction::<AddAdmin>::new();
    let remove = ServerAction::<RemoveAdmin>::new();
    let view_data = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| settings(),
    );
    // The last administrator action's outcome, said once, above the list it changed.
    let (notice, set_notice) = signal(None::<Result<String, AppError>>);
    Effect::new(move |_| match add.value().get() {
        Some(Ok(a)) => set_notice.set(Some(Ok(format!(
            "Added {} as {}.",
            a.email,
            a.role.label()
        )))),
        Some(Err(e)) => set_notice.set(Some(Err(e))),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => set_notice.set(Some(Ok(
            "Administrator removed; their sessions ended.".into()
        ))),
        Some(Err(e)) => set_notice.set(Some(Err(e))),
        None => {}
    });
    let notice_view = move || {
        notice.get().map(|n| match n {
            Ok(m) => {
                view! { <p role="status" class=STATUS data-test="admin-notice">{m}</p> }.into_any()
            }
            Err(e) => {
                view! { <div data-test="admin-notice"><ErrorNotice error=e/></div> }.into_any()
            }
        })
    };
    view! {
        <PageHeader
            title="Settings"
            description="How this Gatehouse is configured, and who may use this console."
        />
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading settings\u{2026}"</p> }>
            {move || view_data.get().map(|r| match r {
                Ok(s) => {
                    let me = s.me.clone();
                    let admins = s.admins.clone();
                    let can_change = me.can_change();
                    view! {
                        <div class="space-y-6">
                            {(!can_change).then(|| view! {
                                <p role="note" data-test="read-only-notice" class="rounded-lg border border-amber-300 dark:border-amber-800 bg-amber-50 dark:bg-amber-950 px-4 py-3 text-sm text-amber-900 dark:text-amber-100">
                                    "You are signed in as an Auditor: the console is read-only for you. You can see everything, and change only your own password."
                                </p>
                            })}
                            <Configuration s/>
                            <section aria-labelledby="administrators" class=SECTION>
                                <h2 id="administrators" class=H2>"Administrators"</h2>
                                <p class="text-sm text-slate-600 dark:text-slate-400">
                                    "People who can sign in to this console. There is always at least one Administrator. Administrators can also be added on the server with "
                                    <code class="font-mono">"gatehouse admin create --email \u{2026} --role administrator|auditor --password-stdin"</code>"."
                                </p>
                                {notice_view}
                                <AdminTable admins me=me.clone() remove/>
                            </section>
                            {can_change.then(|| view! { <AddAdminForm add/> })}
                            <ChangePasswordForm/>
                        </div>
                    }
                    .into_any()
                }
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Suspense>
    }
    .into_any()
}
