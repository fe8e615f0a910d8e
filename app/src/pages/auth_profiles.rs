//! Authentication Profiles: the SAML profiles user groups sign in through, in the priority
//! order that decides which one a user gets when their groups map to several. Each profile
//! has its own page (`detail`) with the values Okta asks for and the IdP's metadata.

mod detail;
mod file;
mod import;

pub use detail::AuthProfilePage;

use crate::api::auth_profiles::{
    expiry_status, expiry_text, list_auth_profiles, CreateAuthProfile, MoveAuthProfile, ProfileList,
};
use crate::components::{use_read_only, EmptyState, ErrorNotice, PageHeader};
use gatehouse_domain::auth_profile::AuthProfile;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use time::OffsetDateTime;

pub(crate) const SECTION: &str = "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-6 space-y-4";
pub(crate) const H2: &str = "text-lg font-semibold text-slate-900 dark:text-slate-100";
pub(crate) const LABEL: &str = "block text-sm font-medium text-slate-700 dark:text-slate-300";
pub(crate) const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-3 py-2 text-sm text-slate-900 dark:text-slate-100 disabled:opacity-60";
pub(crate) const HINT: &str = "mt-1 text-xs text-slate-500 dark:text-slate-400";
pub(crate) const PRIMARY: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50 disabled:cursor-not-allowed";
pub(crate) const SECONDARY: &str = "rounded-md border border-slate-300 dark:border-slate-600 px-3 py-2 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800 disabled:opacity-50 disabled:cursor-not-allowed";
pub(crate) const SMALL: &str = "rounded-md border border-slate-300 dark:border-slate-600 px-2 py-1 text-xs font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800 disabled:opacity-40 disabled:cursor-not-allowed";
pub(crate) const WARNING: &str =
    "rounded-md bg-amber-50 dark:bg-amber-950 px-3 py-2 text-sm text-amber-900 dark:text-amber-200";
pub(crate) const SUCCESS: &str = "rounded-md bg-emerald-50 dark:bg-emerald-950 px-3 py-2 text-sm text-emerald-900 dark:text-emerald-200";

/// The sentence that explains the order, shown wherever the order matters.
pub(crate) const PRIORITY_RULE: &str = "A user signs in through the profile of their user group. When their groups use several profiles, the profile highest in this list (priority 1 first) wins.";

/// Asks the admin to confirm an action that cannot be undone or changes what Okta must hold.
pub(crate) fn confirmed(message: &str) -> bool {
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

/// A certificate's expiry, amber when it needs attention.
#[component]
pub(crate) fn Expiry(
    /// When the certificate ends.
    not_after: OffsetDateTime,
    /// The server's time when the page's data was read.
    now: OffsetDateTime,
    /// `data-test` of the text, for tests.
    #[prop(optional)]
    test: &'static str,
) -> impl IntoView {
    let attention = expiry_status(not_after, now).needs_attention();
    view! {
        <span
            data-test=(!test.is_empty()).then_some(test)
            class=if attention { "font-medium text-amber-700 dark:text-amber-300" } else { "" }
        >
            {attention.then_some("\u{26a0} ")}
            {expiry_text(not_after, now)}
        </span>
    }
}

#[component]
fn ProfileRow(
    profile: AuthProfile,
    index: usize,
    count: usize,
    now: OffsetDateTime,
    mover: ServerAction<MoveAuthProfile>,
) -> impl IntoView {
    let href = format!("/console/auth-profiles/{}", profile.id);
    let id = profile.id.to_string();
    let id_down = id.clone();
    let name = profile.name.clone();
    let down_label = format!("Move {name} down");
    let (first, last) = (index == 0, index + 1 >= count);
    let read_only = use_read_only();
    let idp = match &profile.idp {
        Some(idp) => view! {
            <span class="font-mono text-xs break-all">{idp.entity_id.clone()}</span>
            {(!profile.can_sign_in()).then(|| view! {
                <span class="block text-xs text-amber-700 dark:text-amber-300">"Not usable for sign-in yet"</span>
            })}
        }
        .into_any(),
        None => view! {
            <span class="text-amber-700 dark:text-amber-300">"No IdP metadata yet"</span>
        }
        .into_any(),
    };
    let groups = if profile.groups.is_empty() {
        view! { <span class="text-slate-500 dark:text-slate-400">"No groups"</span> }.into_any()
    } else {
        view! {
            <ul class="space-y-0.5">
                {profile.groups.clone().into_iter().map(|g| view! {
                    <li><A href=format!("/console/groups/{}", g.id) attr:class="text-indigo-700 dark:text-indigo-300 hover:underline">{g.display_name}</A></li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let idp_certs = profile
        .idp
        .as_ref()
        .map(|idp| idp.certificates.clone())
        .unwrap_or_default();
    view! {
        <tr data-test="profile-row">
            <td class="px-3 py-3 font-mono text-xs" data-test="profile-priority">{index + 1}</td>
            <td class="px-3 py-3">
                <A href=href attr:class="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">{profile.name.clone()}</A>
                <span class="ml-2 rounded bg-slate-100 dark:bg-slate-800 px-1.5 py-0.5 text-xs text-slate-600 dark:text-slate-300">"SAML"</span>
                {(!profile.description.is_empty()).then(|| view! {
                    <p class="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{profile.description.clone()}</p>
                })}
            </td>
            <td class="px-3 py-3">{idp}</td>
            <td class="px-3 py-3">{groups}</td>
            <td class="px-3 py-3 text-xs space-y-0.5">
                <div>"SP: "<Expiry not_after=profile.sp_certificate_not_after now/></div>
                {idp_certs.into_iter().map(|c| view! {
                    <div>"IdP: "<Expiry not_after=c.not_after now/></div>
                }).collect_view()}
            </td>
            <td class="px-3 py-3 whitespace-nowrap text-right space-x-1">
                <button type="button" class=SMALL
                    aria-label=format!("Move {name} up")
                    disabled=move || first || read_only()
                    on:click=move |_| { mover.dispatch(MoveAuthProfile { id: id.clone(), position: index as u32 }); }
                >"\u{2191}"</button>
                <button type="button" class=SMALL
                    aria-label=down_label
                    disabled=move || last || read_only()
                    on:click=move |_| { mover.dispatch(MoveAuthProfile { id: id_down.clone(), position: index as u32 + 2 }); }
                >"\u{2193}"</button>
            </td>
        </tr>
    }
}

#[component]
fn ProfileTable(list: ProfileList, mover: ServerAction<MoveAuthProfile>) -> impl IntoView {
    if list.profiles.is_empty() {
        return view! {
            <EmptyState title="No authentication profiles yet">
                <p>"Create one above, for example \u{201c}Okta\u{201d}. Its page then shows the Single sign-on URL and Audience URI to enter in Okta's SAML app, and lets you import Okta's IdP metadata."</p>
                <p>"Then assign the profile to the user groups Okta pushed over SCIM: their members sign in through it at /login."</p>
            </EmptyState>
        }
        .into_any();
    }
    let count = list.profiles.len();
    let now = list.checked_at;
    view! {
        <section aria-labelledby="profiles-title" class=SECTION>
            <h2 id="profiles-title" class=H2>"Profiles in priority order"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">{PRIORITY_RULE}" Use the arrows to change the order."</p>
            <div class="overflow-x-auto">
                <table class="min-w-full text-left text-sm" data-test="profile-table">
                    <caption class="sr-only">"Authentication profiles, highest priority first"</caption>
                    <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        <tr>
                            <th scope="col" class="px-3 py-2 font-medium">"Priority"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Name"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Identity provider"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"User groups"</th>
                            <th scope="col" class="px-3 py-2 font-medium">"Certificates"</th>
                            <th scope="col" class="px-3 py-2 font-medium"><span class="sr-only">"Order"</span></th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">
                        {list.profiles.into_iter().enumerate().map(|(index, profile)| view! {
                            <ProfileRow profile index count now mover/>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
pub fn AuthProfilesPage() -> impl IntoView {
    let create = ServerAction::<CreateAuthProfile>::new();
    let mover = ServerAction::<MoveAuthProfile>::new();
    let data = Resource::new(
        move || (create.version().get(), mover.version().get()),
        |_| list_auth_profiles(),
    );
    let navigate = use_navigate();
    let read_only = use_read_only();
    Effect::new(move |_| {
        if let Some(Ok(made)) = create.value().get() {
            navigate(
                &format!("/console/auth-profiles/{}", made.id),
                Default::default(),
            );
        }
    });
    let action_error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| mover.value().get().and_then(Result::err))
    };
    view! {
        <PageHeader
            title="Authentication Profiles"
            description="SAML profiles decide which identity provider a user group signs in through. Each profile has its own service-provider identity (ACS URL, entity ID, certificate) to give to Okta, and holds the IdP metadata imported from Okta."
        />
        <div class="space-y-6">
            {move || action_error().map(|e| view! { <ErrorNotice error=e/> })}
            <section aria-labelledby="create-title" class=SECTION>
                <h2 id="create-title" class=H2>"Create a profile"</h2>
                // The role decides whether the form is usable: rendered once it is known.
                <Suspense fallback=|| ()>
                    <ActionForm action=create attr:class="grid grid-cols-1 md:grid-cols-3 gap-4 items-end">
                        <div>
                            <label for="profile-name" class=LABEL>"Name"</label>
                            <input id="profile-name" name="name" required maxlength="100" placeholder="Okta" class=INPUT disabled=read_only/>
                        </div>
                        <div>
                            <label for="profile-description" class=LABEL>"Description (optional)"</label>
                            <input id="profile-description" name="description" maxlength="1000" placeholder="Employees signing in with Okta" class=INPUT disabled=read_only/>
                        </div>
                        <div class="flex items-end gap-3">
                            <div class="grow">
                                <label for="profile-type" class=LABEL>"Type"</label>
                                <select id="profile-type" disabled class=INPUT>
                                    <option>"SAML 2.0"</option>
                                </select>
                            </div>
                            <button type="submit" class=PRIMARY disabled=move || create.pending().get() || read_only()>"Create profile"</button>
                        </div>
                    </ActionForm>
                </Suspense>
            </section>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading\u{2026}"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(list) => view! { <ProfileTable list mover/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
            </Transition>
        </div>
    }
}
