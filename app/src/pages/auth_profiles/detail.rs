//! One authentication profile: the values to enter in Okta's SAML app (Single sign-on URL,
//! Audience URI, the SP certificate and metadata), the IdP's metadata and its import, the
//! sign-in settings, the user groups that use it, and deleting it.

use super::import::{ImportMetadata, ImportState};
use super::{
    confirmed, Expiry, H2, HINT, INPUT, LABEL, PRIMARY, PRIORITY_RULE, SECONDARY, SECTION, SUCCESS,
    WARNING,
};
use crate::api::auth_profiles::{
    auth_profile_detail, AssignProfileToGroup, DeleteAuthProfile, ProfileDetail,
    RotateSpCertificate, UpdateAuthProfile,
};
use crate::components::copy_field::CopyField;
use crate::components::event_list::utc;
use crate::components::{use_read_only, ErrorNotice, PageHeader};
use crate::error::AppError;
use gatehouse_domain::auth_profile::{
    AuthProfile, AuthProfileEdit, AuthProfileId, AuthProfileSettings, IdpSettings, MatchAttribute,
    OnProfileGroups, MAX_CLOCK_SKEW_SECONDS,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

const DT: &str = "text-sm text-slate-500 dark:text-slate-400";
const DD: &str = "md:col-span-3 text-sm text-slate-900 dark:text-slate-100 break-all";
const LINK: &str = "text-indigo-700 dark:text-indigo-300 hover:underline";

/// The SP certificate as a PEM file, for Okta's "Signature Certificate" (needed when
/// AuthnRequests are signed), as a `data:` URL so no extra endpoint is needed.
fn pem_data_url(der_base64: &str) -> String {
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in der_base64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    let encoded: String = pem
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("data:application/x-pem-file,{encoded}")
}

/// What Okta's "Application username" must be for this profile's match setting.
fn application_username_hint(settings: &AuthProfileSettings) -> String {
    match (&settings.match_saml_attribute, settings.match_attribute) {
        (Some(attr), MatchAttribute::UserName) => format!(
            "Gatehouse reads the SAML attribute \u{201c}{attr}\u{201d} (add it under Attribute Statements) and matches it with the user's SCIM userName."
        ),
        (Some(attr), MatchAttribute::Email) => format!(
            "Gatehouse reads the SAML attribute \u{201c}{attr}\u{201d} (add it under Attribute Statements) and matches it with the user's primary email."
        ),
        (None, MatchAttribute::UserName) => "Application username: the same value Okta provisions as the SCIM userName (usually Email, or Okta username). Gatehouse matches the NameID with it, ignoring case.".into(),
        (None, MatchAttribute::Email) => "Application username: Email. Gatehouse matches the NameID with the user's primary email, ignoring case.".into(),
    }
}

#[component]
fn ServiceProvider(
    detail: ProfileDetail,
    rotate: ServerAction<RotateSpCertificate>,
) -> impl IntoView {
    let profile = &detail.profile;
    let id = profile.id.to_string();
    let name = profile.name.clone();
    let metadata_href = format!("/saml/{id}/metadata?download=1");
    let pem_href = pem_data_url(&profile.sp_certificate_der_base64);
    let pem_file = format!("gatehouse-sp-{id}.pem");
    let now = detail.checked_at;
    let cert = detail.sp_certificate.clone();
    let read_only = use_read_only();
    view! {
        <section aria-labelledby="sp-title" class=SECTION>
            <h2 id="sp-title" class=H2>"Service provider: enter these in Okta"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">
                "In Okta: "<strong>"Applications \u{2192} Create App Integration \u{2192} SAML 2.0"</strong>", then on \u{201c}Configure SAML\u{201d}:"
            </p>
            <CopyField label="Single sign-on URL" value=detail.acs_url.clone() test="acs-url"/>
            <p class=HINT>"Leave \u{201c}Use this for Recipient URL and Destination URL\u{201d} ticked."</p>
            <CopyField label="Audience URI (SP Entity ID)" value=detail.entity_id.clone() test="entity-id"/>
            <dl class="grid grid-cols-1 md:grid-cols-4 gap-x-4 gap-y-2">
                <dt class=DT>"Name ID format"</dt>
                <dd class=DD>"EmailAddress (Unspecified works too)"</dd>
                <dt class=DT>"Application username"</dt>
                <dd class=DD>{application_username_hint(&profile.settings)}</dd>
            </dl>
            <h3 class="pt-2 text-base font-semibold text-slate-900 dark:text-slate-100">"SP signing certificate"</h3>
            <dl class="grid grid-cols-1 md:grid-cols-4 gap-x-4 gap-y-2" data-test="sp-certificate">
                <dt class=DT>"Subject"</dt>
                <dd class=DD>{cert.subject}</dd>
                <dt class=DT>"SHA-256 fingerprint"</dt>
                <dd class=format!("{DD} font-mono text-xs")>{cert.sha256_fingerprint}</dd>
                <dt class=DT>"Expiry"</dt>
                <dd class=DD><Expiry not_after=cert.not_after now test="sp-expiry"/></dd>
            </dl>
            <div class="flex flex-wrap gap-3">
                <a href=metadata_href download rel="external" class=SECONDARY data-test="download-sp-metadata">"Download SP metadata"</a>
                <a href=pem_href download=pem_file rel="external" class=SECONDARY>"Download certificate (PEM)"</a>
                <button type="button" class=SECONDARY
                    disabled=move || rotate.pending().get() || read_only()
                    on:click=move |_| {
                        if confirmed(&format!("Rotate the SP certificate of \u{201c}{name}\u{201d}? A new key pair replaces the current one at once. If Okta checks signed AuthnRequests, upload the new certificate there.")) {
                            rotate.dispatch(RotateSpCertificate { id: id.clone() });
                        }
                    }
                >"Rotate certificate"</button>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn IdentityProvider(
    profile: AuthProfile,
    now: time::OffsetDateTime,
    import: ImportState,
) -> impl IntoView {
    let Some(idp) = profile.idp.clone() else {
        return view! {
            <section aria-labelledby="idp-title" class=SECTION>
                <h2 id="idp-title" class=H2>"Identity provider"</h2>
                <p data-test="no-idp" class=WARNING>"No IdP metadata yet. Import Okta's metadata below; until then nobody can sign in through this profile."</p>
            </section>
        }
        .into_any();
    };
    let IdpSettings {
        entity_id,
        sso_url,
        sso_post_url,
        certificates,
        metadata_url,
        metadata_fetched_at,
    } = idp;
    let read_only = use_read_only();
    let refresh = metadata_url.clone().map(|url| {
        let entity = entity_id.clone();
        view! {
            <button type="button" class=SECONDARY
                disabled=move || import.preview.pending().get() || read_only()
                on:click=move |_| import.refresh(url.clone(), entity.clone())
            >"Refresh from URL"</button>
        }
    });
    let source = match (metadata_url, metadata_fetched_at) {
        (Some(url), Some(at)) => format!("Fetched from {url} on {}", utc(at)),
        (Some(url), None) => format!("Fetched from {url}"),
        (None, Some(at)) => format!("Uploaded or pasted on {}", utc(at)),
        (None, None) => "Uploaded or pasted".into(),
    };
    view! {
        <section aria-labelledby="idp-title" class=SECTION>
            <h2 id="idp-title" class=H2>"Identity provider"</h2>
            {(!profile.can_sign_in()).then(|| view! {
                <p class=WARNING>"The imported metadata lacks an SSO URL or a signing certificate, so nobody can sign in through this profile."</p>
            })}
            <dl class="grid grid-cols-1 md:grid-cols-4 gap-x-4 gap-y-2">
                <dt class=DT>"IdP entity ID (Issuer)"</dt>
                <dd class=format!("{DD} font-mono") data-test="idp-entity-id">{entity_id}</dd>
                <dt class=DT>"SSO URL (HTTP-Redirect)"</dt>
                <dd class=format!("{DD} font-mono text-xs")>{sso_url.unwrap_or_else(|| "\u{2014}".into())}</dd>
                <dt class=DT>"SSO URL (HTTP-POST)"</dt>
                <dd class=format!("{DD} font-mono text-xs")>{sso_post_url.unwrap_or_else(|| "\u{2014}".into())}</dd>
                <dt class=DT>"Metadata"</dt>
                <dd class=DD data-test="idp-source">{source}</dd>
            </dl>
            <h3 class="text-sm font-medium text-slate-700 dark:text-slate-300">"Signing certificates (a response signed by any of them is accepted)"</h3>
            <ul class="space-y-2" data-test="idp-certificates">
                {certificates.into_iter().map(|c| view! {
                    <li class="rounded-md border border-slate-200 dark:border-slate-800 px-3 py-2 text-sm">
                        <div class="font-medium break-all">{c.subject}</div>
                        <div class="font-mono text-xs break-all text-slate-600 dark:text-slate-400">"SHA-256 "{c.sha256_fingerprint}</div>
                        <div class="text-xs"><Expiry not_after=c.not_after now/></div>
                    </li>
                }).collect_view()}
            </ul>
            {refresh}
        </section>
    }
    .into_any()
}

#[component]
fn Settings(profile: AuthProfile, update: ServerAction<UpdateAuthProfile>) -> impl IntoView {
    let s = profile.settings.clone();
    let name = RwSignal::new(profile.name.clone());
    let description = RwSignal::new(profile.description.clone());
    let match_attribute = RwSignal::new(s.match_attribute);
    let saml_attribute = RwSignal::new(s.match_saml_attribute.clone().unwrap_or_default());
    let skew = RwSignal::new(s.clock_skew_seconds.to_string());
    let sign = RwSignal::new(s.sign_authn_requests);
    let idp_initiated = RwSignal::new(s.allow_idp_initiated);
    let form_error = RwSignal::new(None::<String>);
    let id = profile.id.to_string();
    let version = profile.version;
    let read_only = use_read_only();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let clock_skew_seconds = match skew.get_untracked().trim().parse::<u32>() {
            Ok(v) => v,
            Err(_) => {
                form_error.set(Some(format!(
                    "The allowed clock skew must be a whole number of seconds between 0 and {MAX_CLOCK_SKEW_SECONDS}."
                )));
                return;
            }
        };
        form_error.set(None);
        let attribute = saml_attribute.get_untracked();
        update.dispatch(UpdateAuthProfile {
            id: id.clone(),
            edit: AuthProfileEdit {
                name: name.get_untracked(),
                description: description.get_untracked(),
                settings: AuthProfileSettings {
                    match_attribute: match_attribute.get_untracked(),
                    match_saml_attribute: (!attribute.trim().is_empty()).then_some(attribute),
                    clock_skew_seconds,
                    sign_authn_requests: sign.get_untracked(),
                    allow_idp_initiated: idp_initiated.get_untracked(),
                },
            },
            version,
        });
    };
    view! {
        <section aria-labelledby="settings-title" class=SECTION>
            <h2 id="settings-title" class=H2>"Settings"</h2>
            <form on:submit=submit data-test="settings-form">
                <fieldset disabled=read_only class="space-y-4 min-w-0">
                    <div class="grid grid-cols-1 md:grid-cols-2 gap-4">
                        <div>
                            <label for="settings-name" class=LABEL>"Name"</label>
                            <input id="settings-name" required maxlength="100" class=INPUT
                                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                        </div>
                        <div>
                            <label for="settings-description" class=LABEL>"Description"</label>
                            <input id="settings-description" maxlength="1000" class=INPUT
                                prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))/>
                        </div>
                        <div>
                            <label for="match-attribute" class=LABEL>"Match users by"</label>
                            <select id="match-attribute" class=INPUT
                                on:change=move |ev| {
                                    if let Some(m) = MatchAttribute::parse(&event_target_value(&ev)) {
                                        match_attribute.set(m);
                                    }
                                }
                            >
                                <option value="user_name" selected={s.match_attribute == MatchAttribute::UserName}>"userName (SCIM)"</option>
                                <option value="email" selected={s.match_attribute == MatchAttribute::Email}>"Primary email"</option>
                            </select>
                            <p class=HINT>"Compared with the assertion's value, ignoring case."</p>
                        </div>
                        <div>
                            <label for="saml-attribute" class=LABEL>"SAML attribute to match (optional)"</label>
                            <input id="saml-attribute" maxlength="256" placeholder="Leave empty to use the NameID" class=INPUT
                                prop:value=move || saml_attribute.get() on:input=move |ev| saml_attribute.set(event_target_value(&ev))/>
                            <p class=HINT>"The name of an Attribute Statement in Okta; empty means the Subject's NameID."</p>
                        </div>
                        <div>
                            <label for="clock-skew" class=LABEL>"Allowed clock skew (seconds)"</label>
                            <input id="clock-skew" type="number" min="0" max=MAX_CLOCK_SKEW_SECONDS.to_string() step="1" required class=INPUT
                                prop:value=move || skew.get() on:input=move |ev| skew.set(event_target_value(&ev))/>
                            <p class=HINT>"How far Okta's clock may be from Gatehouse's when checking an assertion's validity window. Default 120."</p>
                        </div>
                    </div>
                    <div class="space-y-3">
                        <label for="sign-requests" class="flex items-start gap-2 text-sm text-slate-700 dark:text-slate-300">
                            <input id="sign-requests" type="checkbox" class="mt-1"
                                prop:checked=move || sign.get() on:change=move |ev| sign.set(event_target_checked(&ev))/>
                            <span>
                                "Sign AuthnRequests"
                                <span class="block text-xs text-slate-500 dark:text-slate-400">"Turn on when Okta's \u{201c}Signed Requests\u{201d} is ticked; upload the SP certificate (PEM) to Okta's \u{201c}Signature Certificate\u{201d}."</span>
                            </span>
                        </label>
                        <label for="idp-initiated" class="flex items-start gap-2 text-sm text-slate-700 dark:text-slate-300">
                            <input id="idp-initiated" type="checkbox" class="mt-1"
                                prop:checked=move || idp_initiated.get() on:change=move |ev| idp_initiated.set(event_target_checked(&ev))/>
                            <span>
                                "Allow IdP-initiated sign-in (the app's tile on the Okta dashboard)"
                                <span class="block text-xs text-slate-500 dark:text-slate-400">"Off by default. Sign-in started at Gatehouse's /login works without it."</span>
                            </span>
                        </label>
                        {move || idp_initiated.get().then(|| view! {
                            <p class=WARNING data-test="idp-initiated-warning">
                                "With this on, Gatehouse accepts responses it did not ask for, so it cannot check that the person finishing the sign-in is the one who started it. A response intercepted on its way could be used from another browser until it expires. Each response is still accepted only once. Leave it off unless people must start from the Okta dashboard."
                            </p>
                        })}
                    </div>
                    {move || form_error.get().map(|e| view! { <p role="alert" class=WARNING>{e}</p> })}
                    {move || update.value().get().map(|r| match r {
                        Ok(_) => view! { <p role="status" class=SUCCESS data-test="settings-saved">"Settings saved."</p> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    })}
                    <button type="submit" class=PRIMARY disabled=move || update.pending().get()>"Save settings"</button>
                </fieldset>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn Groups(detail: ProfileDetail, assign: ServerAction<AssignProfileToGroup>) -> impl IntoView {
    let profile = &detail.profile;
    let id = profile.id.to_string();
    let groups = profile.groups.clone();
    let order_note = format!(
        "This profile is number {} of {} in priority order. {PRIORITY_RULE}",
        detail.position, detail.profile_count
    );
    let read_only = use_read_only();
    view! {
        <section aria-labelledby="groups-title" class=SECTION>
            <h2 id="groups-title" class=H2>"User groups"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">{order_note}</p>
            {if groups.is_empty() {
                view! {
                    <p data-test="no-groups" class="text-sm text-slate-600 dark:text-slate-400">"No user group uses this profile yet. Assign one below (groups come from Okta over SCIM)."</p>
                }.into_any()
            } else {
                view! {
                    <ul data-test="profile-groups" class="divide-y divide-slate-100 dark:divide-slate-800 text-sm">
                        {groups.into_iter().map(|g| view! {
                            <li class="py-2"><A href=format!("/console/groups/{}", g.id) attr:class=LINK>{g.display_name}</A></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=assign>
                <fieldset disabled=read_only class="flex flex-wrap items-end gap-3 min-w-0">
                    <input type="hidden" name="id" value=id/>
                    <div class="grow">
                        <label for="assign-group" class=LABEL>"Assign to a user group"</label>
                        <input id="assign-group" name="group" required placeholder="Group name, as pushed from Okta" class=INPUT/>
                    </div>
                    <button type="submit" class=SECONDARY disabled=move || assign.pending().get()>"Assign"</button>
                </fieldset>
            </ActionForm>
            {move || assign.value().get().map(|r| match r {
                Ok(change) => {
                    let mut text = format!("\u{201c}{}\u{201d} now signs in through this profile", change.group.display_name);
                    match change.before {
                        Some(before) if Some(&before) != change.after.as_ref() => text.push_str(&format!(" instead of \u{201c}{}\u{201d}.", before.name)),
                        Some(_) => text = format!("\u{201c}{}\u{201d} already signed in through this profile.", change.group.display_name),
                        None => text.push('.'),
                    }
                    view! { <p role="status" class=SUCCESS data-test="assign-result">{text}</p> }.into_any()
                }
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </section>
    }
    .into_any()
}

#[component]
fn Delete(detail: ProfileDetail, delete: ServerAction<DeleteAuthProfile>) -> impl IntoView {
    let profile = detail.profile.clone();
    let group_count = profile.groups.len();
    let others = detail.others.clone();
    let has_others = !others.is_empty();
    // "move" or "unassign"; moving is the default when there is somewhere to move to.
    let choice = RwSignal::new(if has_others { "move" } else { "unassign" });
    let target = RwSignal::new(others.first().map(|p| p.id.to_string()).unwrap_or_default());
    let id = profile.id.to_string();
    let name = profile.name.clone();
    let read_only = use_read_only();
    let on_delete = move |_| {
        let on_groups = if group_count == 0 {
            None
        } else if choice.get_untracked() == "move" {
            match target.get_untracked().parse::<AuthProfileId>() {
                Ok(other) => Some(OnProfileGroups::ReassignTo(other)),
                Err(_) => return,
            }
        } else {
            Some(OnProfileGroups::Unassign)
        };
        let what = match on_groups {
            None => String::new(),
            Some(OnProfileGroups::Unassign) => format!(" Its {group_count} group(s) will have no profile, and their members cannot sign in until one is assigned."),
            Some(OnProfileGroups::ReassignTo(_)) => format!(" Its {group_count} group(s) will sign in through the profile chosen."),
        };
        if confirmed(&format!("Delete the profile \u{201c}{name}\u{201d}?{what} Sessions started through it end now. This cannot be undone.")) {
            delete.dispatch(DeleteAuthProfile { id: id.clone(), on_groups });
        }
    };
    view! {
        <section aria-labelledby="delete-title" class="rounded-xl border border-red-200 dark:border-red-900 bg-white dark:bg-slate-900 p-6 space-y-4">
            <h2 id="delete-title" class=H2>"Delete this profile"</h2>
            {(group_count > 0).then(|| view! {
                <fieldset disabled=read_only class="space-y-2 text-sm text-slate-700 dark:text-slate-300">
                    <legend class="mb-2">{format!("{group_count} user group(s) use this profile. What should happen to them?")}</legend>
                    <label for="delete-move" class="flex flex-wrap items-center gap-2">
                        <input type="radio" id="delete-move" name="on-groups" disabled={!has_others}
                            prop:checked=move || choice.get() == "move" on:change=move |_| choice.set("move")/>
                        "Move them to"
                        <select aria-label="Profile to move the groups to" disabled={!has_others}
                            class="rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-2 py-1 text-sm"
                            on:change=move |ev| target.set(event_target_value(&ev))>
                            {others.iter().map(|p| view! { <option value=p.id.to_string()>{p.name.clone()}</option> }).collect_view()}
                        </select>
                        {(!has_others).then_some("(there is no other profile)")}
                    </label>
                    <label for="delete-unassign" class="flex items-center gap-2">
                        <input type="radio" id="delete-unassign" name="on-groups"
                            prop:checked=move || choice.get() == "unassign" on:change=move |_| choice.set("unassign")/>
                        "Leave them without a profile (their members cannot sign in until one is assigned)"
                    </label>
                </fieldset>
            })}
            {(group_count == 0).then(|| view! {
                <p class="text-sm text-slate-600 dark:text-slate-400">"No user group uses it. Sessions started through it end when it is deleted."</p>
            })}
            {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
            <button type="button" data-test="delete-profile"
                class="rounded-md border border-red-300 dark:border-red-800 px-3 py-2 text-sm font-medium text-red-700 dark:text-red-300 hover:bg-red-50 dark:hover:bg-red-950 disabled:opacity-50"
                disabled=move || delete.pending().get() || read_only()
                on:click=on_delete
            >"Delete profile"</button>
        </section>
    }
    .into_any()
}

#[component]
fn Detail(
    detail: ProfileDetail,
    update: ServerAction<UpdateAuthProfile>,
    rotate: ServerAction<RotateSpCertificate>,
    assign: ServerAction<AssignProfileToGroup>,
    delete: ServerAction<DeleteAuthProfile>,
    import: ImportState,
    flash: RwSignal<Option<Result<String, AppError>>>,
) -> impl IntoView {
    let profile = detail.profile.clone();
    let description = if profile.description.is_empty() {
        "A SAML authentication profile: its own service-provider identity for Okta, and the identity provider its user groups sign in through.".to_string()
    } else {
        profile.description.clone()
    };
    view! {
        <p class="mb-2 text-sm"><A href="/console/auth-profiles" attr:class=LINK>"\u{2190} Authentication Profiles"</A></p>
        <PageHeader title=profile.name.clone() description/>
        <div class="space-y-6">
            {move || flash.get().map(|r| match r {
                Ok(text) => view! { <p role="status" class=SUCCESS data-test="flash">{text}</p> }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
            <ServiceProvider detail=detail.clone() rotate/>
            <IdentityProvider profile=profile.clone() now=detail.checked_at import/>
            <ImportMetadata state=import profile_id=profile.id.to_string() current=profile.idp.clone()/>
            <Settings profile=profile.clone() update/>
            <Groups detail=detail.clone() assign/>
            <Delete detail delete/>
        </div>
    }
}

#[component]
pub fn AuthProfilePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateAuthProfile>::new();
    let rotate = ServerAction::<RotateSpCertificate>::new();
    let assign = ServerAction::<AssignProfileToGroup>::new();
    let delete = ServerAction::<DeleteAuthProfile>::new();
    let import = ImportState::new();
    let data = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                rotate.version().get(),
                assign.version().get(),
                import.save.version().get(),
            )
        },
        |(id, ..)| auth_profile_detail(id),
    );
    // The latest outcome of an action that reloads the page, said once at the top.
    let flash = RwSignal::new(None::<Result<String, AppError>>);
    Effect::new(move |_| {
        if let Some(r) = rotate.value().get() {
            flash.set(Some(r.map(|_| {
                "New SP certificate made. If Okta checks signed AuthnRequests, give it the new certificate (or the SP metadata again).".to_string()
            })));
        }
    });
    // A saved import ends its preview.
    Effect::new(move |_| {
        if let Some(Ok(profile)) = import.save.value().get() {
            import.preview.clear();
            import.previewed.set(None);
            let entity = profile.idp.map(|i| i.entity_id).unwrap_or_default();
            flash.set(Some(Ok(format!("IdP metadata saved: {entity}."))));
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            navigate("/console/auth-profiles", Default::default());
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Loading\u{2026}"</p> }>
            {move || data.get().map(|r| match r {
                Ok(detail) => view! { <Detail detail update rotate assign delete import flash/> }.into_any(),
                Err(e) => view! {
                    <PageHeader title="Authentication profile" description="A SAML authentication profile."/>
                    <ErrorNotice error=e/>
                    <p class="mt-4 text-sm"><A href="/console/auth-profiles" attr:class=LINK>"Back to Authentication Profiles"</A></p>
                }.into_any(),
            })}
        </Transition>
    }
}
