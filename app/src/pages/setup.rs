//! The one-time setup link's page: the first visitor creates the first administrator.

use super::sign_in::{AuthCard, BUTTON_CLASS, INPUT_CLASS, LABEL_CLASS};
use crate::api::auth::{setup_link_status, CreateFirstAdmin};
use crate::components::ErrorNotice;
use gatehouse_domain::admin::MIN_PASSWORD_LEN;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let status = Resource::new(token, setup_link_status);
    let action = ServerAction::<CreateFirstAdmin>::new();
    view! {
        <AuthCard title="Create the first administrator">
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Checking the setup link…"</p> }>
                {move || status.get().map(|valid| match valid {
                    Ok(true) => view! {
                        <ActionForm action=action attr:class="space-y-4">
                            <input type="hidden" name="token" prop:value=token/>
                            <div>
                                <label for="email" class=LABEL_CLASS>"Email"</label>
                                <input id="email" name="email" type="email" autocomplete="username" required class=INPUT_CLASS/>
                            </div>
                            <div>
                                <label for="password" class=LABEL_CLASS>"Password"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password"
                                    minlength=MIN_PASSWORD_LEN.to_string() required class=INPUT_CLASS aria-describedby="password-rule"/>
                                <p id="password-rule" class="mt-1 text-xs text-slate-500 dark:text-slate-400">
                                    {format!("At least {MIN_PASSWORD_LEN} characters.")}
                                </p>
                            </div>
                            <div>
                                <label for="password_confirmation" class=LABEL_CLASS>"Password again"</label>
                                <input id="password_confirmation" name="password_confirmation" type="password"
                                    autocomplete="new-password" required class=INPUT_CLASS/>
                            </div>
                            {move || action.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNotice error=e/> })}
                            <button type="submit" class=BUTTON_CLASS disabled=move || action.pending().get()>
                                "Create administrator"
                            </button>
                        </ActionForm>
                    }.into_any(),
                    _ => view! {
                        <p role="alert" class="text-sm text-slate-700 dark:text-slate-300">
                            "This setup link is not valid. It works once, and only until the first administrator exists. "
                            <a class="font-medium text-indigo-600 dark:text-indigo-400 underline" href="/console/login">"Sign in"</a>
                            " instead, or restart Gatehouse to print a new link if no administrator exists."
                        </p>
                    }.into_any(),
                })}
            </Suspense>
        </AuthCard>
    }
}
