//! The few pages end users see: the identifier-first sign-in form, the portal after a
//! successful SAML sign-in, and the calm failure page. They are plain server-rendered HTML
//! (no wasm): an end user's browser arrives from the IdP's cross-site POST and should get a
//! complete page at once. They share the console's stylesheet and theme.

use crate::style::STYLESHEET_PATH;
use leptos::prelude::*;

const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-3 py-2 text-sm text-slate-900 dark:text-slate-100 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500";
const BUTTON: &str = "w-full rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow hover:bg-indigo-500";

/// What the portal shows about the signed-in person.
#[derive(Clone, Debug)]
pub struct PortalView {
    pub user_name: String,
    pub display_name: Option<String>,
    pub profile_name: String,
    pub groups: Vec<String>,
    /// When the session ends, already formatted for people (UTC).
    pub expires_at: String,
}

fn document(title: &str, body: impl IntoView + 'static) -> String {
    let title = format!("{title} · Gatehouse");
    let page = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="referrer" content="no-referrer"/>
                <title>{title}</title>
                <script src="/theme.js"></script>
                <link rel="stylesheet" href=STYLESHEET_PATH/>
            </head>
            <body class="bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100 antialiased">
                <main class="min-h-screen flex items-center justify-center px-4 py-12">
                    <div class="w-full max-w-md">
                        <p class="mb-6 text-center text-2xl font-bold tracking-tight text-slate-900 dark:text-white">"Gatehouse"</p>
                        <section class="rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-6 shadow-sm">
                            {body}
                        </section>
                    </div>
                </main>
            </body>
        </html>
    };
    format!("<!DOCTYPE html>{}", page.to_html())
}

/// The identifier-first form. `message` is the one calm sentence shown after a refusal,
/// the same whatever the reason, so the form never tells who exists.
pub fn login_page(email: &str, next: &str, message: Option<&str>) -> String {
    let email = email.to_string();
    let next = next.to_string();
    let message = message.map(str::to_string);
    document(
        "Sign in",
        view! {
            <h1 class="mb-2 text-lg font-semibold">"Sign in"</h1>
            <p class="mb-4 text-sm text-slate-600 dark:text-slate-400">
                "Enter your work email. You will continue at your organisation's sign-in page."
            </p>
            {message.map(|m| view! {
                <p role="alert" data-test="login-message" class="mb-4 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">{m}</p>
            })}
            <form method="post" action="/login" class="space-y-4">
                <input type="hidden" name="next" value=next/>
                <div>
                    <label for="email" class="block text-sm font-medium text-slate-700 dark:text-slate-300">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required autofocus value=email class=INPUT/>
                </div>
                <button type="submit" class=BUTTON data-test="login-continue">"Continue"</button>
            </form>
        },
    )
}

/// The portal: who signed in, through which profile, their groups and when the session ends.
pub fn portal_page(view_data: PortalView) -> String {
    let PortalView {
        user_name,
        display_name,
        profile_name,
        groups,
        expires_at,
    } = view_data;
    let heading = display_name.clone().unwrap_or_else(|| user_name.clone());
    let groups_view = if groups.is_empty() {
        view! { <p class="text-sm text-slate-600 dark:text-slate-400">"You are in no group."</p> }
            .into_any()
    } else {
        view! {
            <ul class="flex flex-wrap gap-2" data-test="portal-groups">
                {groups.into_iter().map(|g| view! {
                    <li class="rounded-full bg-slate-100 dark:bg-slate-800 px-3 py-1 text-xs font-medium">{g}</li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    document(
        "Signed in",
        view! {
            <h1 class="mb-1 text-lg font-semibold" data-test="portal-heading">"Signed in as " {heading}</h1>
            <dl class="my-4 space-y-3 text-sm">
                <div>
                    <dt class="font-medium text-slate-500 dark:text-slate-400">"User name"</dt>
                    <dd data-test="portal-user">{user_name}</dd>
                </div>
                <div>
                    <dt class="font-medium text-slate-500 dark:text-slate-400">"Signed in through"</dt>
                    <dd data-test="portal-profile">{profile_name}</dd>
                </div>
                <div>
                    <dt class="font-medium text-slate-500 dark:text-slate-400">"Groups"</dt>
                    <dd>{groups_view}</dd>
                </div>
                <div>
                    <dt class="font-medium text-slate-500 dark:text-slate-400">"Session ends"</dt>
                    <dd data-test="portal-expires">{expires_at}</dd>
                </div>
            </dl>
            <form method="post" action="/logout">
                <button type="submit" class=BUTTON data-test="portal-sign-out">"Sign out"</button>
            </form>
        },
    )
}

/// What an end user sees when sign-in fails: no reason (that is for the administrator, in
/// Events), but a reference the administrator can search for.
pub fn sign_in_failed_page(reference: &str) -> String {
    let reference = reference.to_string();
    document(
        "Sign-in failed",
        view! {
            <h1 class="mb-2 text-lg font-semibold">"We could not sign you in"</h1>
            <p class="mb-4 text-sm text-slate-600 dark:text-slate-400">
                "Try again from the start. If it keeps failing, give your administrator this reference:"
            </p>
            <p class="mb-4 rounded-md bg-slate-100 dark:bg-slate-800 px-3 py-2 font-mono text-sm" data-test="failure-reference">{reference}</p>
            <a href="/login" class="text-sm font-medium text-indigo-600 dark:text-indigo-400 hover:underline">"Back to sign-in"</a>
        },
    )
}

/// After signing out.
pub fn signed_out_page() -> String {
    document(
        "Signed out",
        view! {
            <h1 class="mb-2 text-lg font-semibold" data-test="signed-out">"You are signed out"</h1>
            <p class="mb-4 text-sm text-slate-600 dark:text-slate-400">
                "Your Gatehouse session has ended. Your identity provider may still keep its own session."
            </p>
            <a href="/login" class="text-sm font-medium text-indigo-600 dark:text-indigo-400 hover:underline">"Sign in again"</a>
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let html = login_page("\"><script>alert(1)</script>", "/x", Some("<b>calm</b>"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>calm</b>"));
        assert!(html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn the_portal_names_the_profile_and_groups() {
        let html = portal_page(PortalView {
            user_name: "alice@example.com".into(),
            display_name: Some("Alice".into()),
            profile_name: "Okta".into(),
            groups: vec!["Engineering".into()],
            expires_at: "2026-11-28 20:00 UTC".into(),
        });
        assert!(html.contains("Signed in as"));
        assert!(html.contains("Engineering"));
        assert!(html.contains("Okta"));
    }
}
