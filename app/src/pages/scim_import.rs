//! User Provider → SCIM Import: what Okta needs to provision users and groups into
//! Gatehouse (the base URL and an API token), the tokens themselves, and whether Okta is
//! talking to us.

use crate::api::scim::{
    scim_overview, CreateScimToken, NewScimToken, RegenerateScimToken, RevokeScimToken,
    ScimImportView,
};
use crate::components::copy_field::CopyField;
use crate::components::event_list::utc;
use crate::components::{use_read_only, ErrorNotice, PageHeader};
use gatehouse_domain::token::ScimToken;
use leptos::prelude::*;

const SECTION: &str = "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-6 space-y-4";
const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";
const SMALL_BUTTON: &str = "rounded-md border border-slate-300 dark:border-slate-600 px-2.5 py-1 text-xs font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800 disabled:opacity-50 disabled:cursor-not-allowed";

/// Asks the admin to confirm a destructive action.
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

fn status(t: &ScimToken) -> String {
    match (t.revoked_at, t.expires_at) {
        (Some(at), _) => format!("Revoked {}", utc(at)),
        (None, Some(at)) => format!("Active until {}", utc(at)),
        (None, None) => "Active".into(),
    }
}

/// The one-time reveal of a token just made.
#[component]
fn NewTokenPanel(made: NewScimToken, dismiss: WriteSignal<Option<NewScimToken>>) -> impl IntoView {
    view! {
        <section role="status" aria-labelledby="new-token-title" class="rounded-xl border border-emerald-300 dark:border-emerald-800 bg-emerald-50 dark:bg-emerald-950 p-6 space-y-3">
            <h2 id="new-token-title" class="text-base font-semibold text-emerald-900 dark:text-emerald-100">
                {format!("New API token \u{201c}{}\u{201d}", made.token.name)}
            </h2>
            <p class="text-sm text-emerald-900 dark:text-emerald-200">
                "Copy it into Okta now. This is the only time it is shown: Gatehouse keeps only a digest of it."
            </p>
            <CopyField label="API Token" value=made.secret test="new-token"/>
            <button type="button" class=SMALL_BUTTON on:click=move |_| dismiss.set(None)>"I have copied it"</button>
        </section>
    }
}

#[component]
fn Tokens(
    tokens: Vec<ScimToken>,
    regenerate: ServerAction<RegenerateScimToken>,
    revoke: ServerAction<RevokeScimToken>,
) -> impl IntoView {
    let (grace_hours, set_grace_hours) = signal(0u64);
    let read_only = use_read_only();
    if tokens.is_empty() {
        return view! {
            <p data-test="no-tokens" class="text-sm text-slate-600 dark:text-slate-400">
                "No API tokens yet. Generate one above and paste it into Okta's provisioning settings."
            </p>
        }
        .into_any();
    }
    view! {
        <div class="flex flex-wrap items-center gap-2 text-sm text-slate-700 dark:text-slate-300">
            <label for="grace">"When a token is regenerated, the old one stops"</label>
            <select
                id="grace"
                disabled=read_only
                class="rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-2 py-1 text-sm"
                on:change=move |ev| set_grace_hours.set(event_target_value(&ev).parse().unwrap_or(0))
            >
                <option value="0">"at once"</option>
                <option value="1">"after 1 hour"</option>
                <option value="24">"after 24 hours"</option>
            </select>
        </div>
        <div class="overflow-x-auto">
            <table class="min-w-full text-left text-sm" data-test="token-table">
                <caption class="sr-only">"SCIM API tokens"</caption>
                <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                    <tr>
                        <th scope="col" class="px-3 py-2 font-medium">"Name"</th>
                        <th scope="col" class="px-3 py-2 font-medium">"Created"</th>
                        <th scope="col" class="px-3 py-2 font-medium">"Last used"</th>
                        <th scope="col" class="px-3 py-2 font-medium">"Status"</th>
                        <th scope="col" class="px-3 py-2 font-medium"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">
                    {tokens.into_iter().map(|t| {
                        let id = t.id.to_string();
                        let (id_regen, id_revoke) = (id.clone(), id.clone());
                        let name = t.name.clone();
                        let (name_regen, name_revoke) = (name.clone(), name.clone());
                        let usable = t.revoked_at.is_none();
                        view! {
                            <tr data-test="token-row">
                                <td class="px-3 py-2 font-medium">{name}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{utc(t.created_at)}</td>
                                <td class="px-3 py-2 whitespace-nowrap">
                                    {match (t.last_used_at, t.last_used_ip.clone()) {
                                        (Some(at), Some(ip)) => format!("{} from {ip}", utc(at)),
                                        (Some(at), None) => utc(at),
                                        _ => "Never used".to_string(),
                                    }}
                                </td>
                                <td class="px-3 py-2">{status(&t)}</td>
                                <td class="px-3 py-2 whitespace-nowrap text-right space-x-2">
                                    {usable.then(|| view! {
                                        <button type="button" class=SMALL_BUTTON disabled=read_only
                                            aria-label=format!("Regenerate {name_regen}")
                                            on:click=move |_| {
                                                if confirmed(&format!("Regenerate \u{201c}{name_regen}\u{201d}? Okta must be given the new token.")) {
                                                    regenerate.dispatch(RegenerateScimToken { id: id_regen.clone(), grace_hours: grace_hours.get_untracked() });
                                                }
                                            }
                                        >"Regenerate"</button>
                                        <button type="button" class="rounded-md border border-red-300 dark:border-red-800 px-2.5 py-1 text-xs font-medium text-red-700 dark:text-red-300 hover:bg-red-50 dark:hover:bg-red-950 disabled:opacity-50 disabled:cursor-not-allowed" disabled=read_only
                                            aria-label=format!("Revoke {name_revoke}")
                                            on:click=move |_| {
                                                if confirmed(&format!("Revoke \u{201c}{name_revoke}\u{201d}? Okta's provisioning stops working with it at once.")) {
                                                    revoke.dispatch(RevokeScimToken { id: id_revoke.clone() });
                                                }
                                            }
                                        >"Revoke"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Overview(
    view_data: ScimImportView,
    regenerate: ServerAction<RegenerateScimToken>,
    revoke: ServerAction<RevokeScimToken>,
) -> impl IntoView {
    let last_request = view_data.tokens.iter().filter_map(|t| t.last_used_at).max();
    let base_url = view_data.base_url.clone();
    let connection = view! {
        <section aria-labelledby="connection" class=SECTION>
            <h2 id="connection" class=H2>"Connection"</h2>
            <CopyField label="Base URL" value=view_data.base_url.clone() test="base-url"/>
            {view_data.base_url_warnings.into_iter().map(|w| view! {
                <p class="rounded-md bg-amber-50 dark:bg-amber-950 px-3 py-2 text-sm text-amber-900 dark:text-amber-200">{w}</p>
            }).collect_view()}
            <p class="text-sm text-slate-600 dark:text-slate-400">
                "Authentication mode in Okta: "<strong>"HTTP Header"</strong>" (Okta sends the token as \u{201c}Authorization: Bearer \u{2026}\u{201d})."
            </p>
            <dl class="grid grid-cols-1 sm:grid-cols-3 gap-4 text-sm">
                <div>
                    <dt class="text-slate-500 dark:text-slate-400">"Last request from Okta"</dt>
                    <dd data-test="last-request" class="font-medium text-slate-900 dark:text-slate-100">
                        {last_request.map(utc).unwrap_or_else(|| "No request yet".into())}
                    </dd>
                </div>
                <div>
                    <dt class="text-slate-500 dark:text-slate-400">"Users provisioned"</dt>
                    <dd data-test="user-count" class="font-medium text-slate-900 dark:text-slate-100">{view_data.users}</dd>
                </div>
                <div>
                    <dt class="text-slate-500 dark:text-slate-400">"Groups provisioned"</dt>
                    <dd data-test="group-count" class="font-medium text-slate-900 dark:text-slate-100">{view_data.groups}</dd>
                </div>
            </dl>
        </section>
    }
    .into_any();
    let tokens = view! {
        <section aria-labelledby="tokens" class=SECTION>
            <h2 id="tokens" class=H2>"API tokens"</h2>
            <Tokens tokens=view_data.tokens regenerate revoke/>
        </section>
    }
    .into_any();
    let errors = view! {
        <section aria-labelledby="errors" class=SECTION>
            <h2 id="errors" class=H2>"Recent provisioning errors"</h2>
            {if view_data.recent_errors.is_empty() {
                view! { <p class="text-sm text-slate-600 dark:text-slate-400">"None. Refused requests from Okta, with the error Okta was sent, will be listed here."</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100 dark:divide-slate-800 text-sm">
                        {view_data.recent_errors.into_iter().map(|e| view! {
                            <li class="py-2">
                                <span class="font-mono text-xs text-slate-500 dark:text-slate-400">{utc(e.occurred_at)}</span>" "
                                <span class="font-mono text-xs">{e.action}</span>" "
                                <span class="text-slate-700 dark:text-slate-300 break-all">{e.detail.unwrap_or_default()}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any();
    let guide = view! {
        <section aria-labelledby="guide" class=SECTION>
            <h2 id="guide" class=H2>"Connect Okta"</h2>
            <ol class="list-decimal space-y-2 pl-5 text-sm text-slate-700 dark:text-slate-300">
                <li>"In Okta, open your SCIM app (for example \u{201c}SCIM 2.0 Test App (Header Auth)\u{201d}) \u{2192} "<strong>"Provisioning \u{2192} Integration \u{2192} Configure API Integration"</strong>", and tick "<strong>"Enable API integration"</strong>"."</li>
                <li>"Base URL: "<code class="font-mono break-all">{base_url}</code>"."</li>
                <li>"API Token: a token generated on this page (shown once)."</li>
                <li><strong>"Test API Credentials"</strong>", then "<strong>"Save"</strong>"."</li>
                <li><strong>"Provisioning \u{2192} To App"</strong>": enable Create Users, Update User Attributes and Deactivate Users."</li>
                <li><strong>"Assignments"</strong>": assign people or groups; "<strong>"Push Groups"</strong>": push the groups that should sign in through Gatehouse."</li>
            </ol>
        </section>
    }
    .into_any();
    view! {
        {connection}
        {tokens}
        {errors}
        {guide}
    }
}

#[component]
pub fn ScimImportPage() -> impl IntoView {
    let create = ServerAction::<CreateScimToken>::new();
    let regenerate = ServerAction::<RegenerateScimToken>::new();
    let revoke = ServerAction::<RevokeScimToken>::new();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                regenerate.version().get(),
                revoke.version().get(),
            )
        },
        |_| scim_overview(),
    );
    let (revealed, set_revealed) = signal(None::<NewScimToken>);
    let read_only = use_read_only();
    Effect::new(move |_| {
        if let Some(Ok(made)) = create.value().get() {
            set_revealed.set(Some(made));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(made)) = regenerate.value().get() {
            set_revealed.set(Some(made));
        }
    });
    let action_error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| regenerate.value().get().and_then(Result::err))
            .or_else(|| revoke.value().get().and_then(Result::err))
    };
    // A view of its own, type-erased: keeps the page's view type (and its compile time) small.
    let generate = view! {
        <section aria-labelledby="generate" class=SECTION>
            <h2 id="generate" class=H2>"Generate a token"</h2>
            // In a Suspense of its own: the role decides whether the form is usable, and
            // the server must render the same answer the browser hydrates.
            <Suspense fallback=|| ()>
                <ActionForm action=create attr:class="flex flex-wrap items-end gap-3">
                    <div class="grow">
                        <label for="token-name" class="block text-sm font-medium text-slate-700 dark:text-slate-300">"Token name"</label>
                        <input id="token-name" name="name" required maxlength="100" placeholder="Okta production" disabled=read_only
                            class="mt-1 block w-full rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-3 py-2 text-sm text-slate-900 dark:text-slate-100 disabled:opacity-50"/>
                    </div>
                    <button type="submit" disabled=read_only class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50 disabled:cursor-not-allowed">
                        "Generate token"
                    </button>
                </ActionForm>
            </Suspense>
        </section>
    }
    .into_any();
    view! {
        <PageHeader
            title="SCIM Import"
            description="Okta provisions users and groups into Gatehouse over SCIM 2.0. Paste the Base URL and an API token below into Okta's provisioning settings."
        />
        <div class="space-y-6">
            {move || revealed.get().map(|made| view! { <NewTokenPanel made dismiss=set_revealed/> })}
            {move || action_error().map(|e| view! { <ErrorNotice error=e/> })}
            {generate}
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(v) => view! { <Overview view_data=v regenerate revoke/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
            </Suspense>
        </div>
    }
}
