//! Importing the IdP's metadata into a profile: from Okta's metadata URL, an uploaded file or
//! pasted XML. Nothing is saved until the admin has seen what the document holds (entity ID,
//! SSO URLs and bindings, each signing certificate) and pressed "Save".

use super::file::read_chosen_file;
use super::{confirmed, Expiry, H2, HINT, INPUT, LABEL, PRIMARY, SECONDARY, SECTION, WARNING};
use crate::api::auth_profiles::{
    binding_name, MetadataInput, MetadataPreviewOutcome, MetadataPreviewView, PreviewIdpMetadata,
    SaveIdpMetadata, MAX_METADATA_BYTES,
};
use crate::components::{use_read_only, ErrorNotice};
use gatehouse_domain::auth_profile::IdpSettings;
use leptos::prelude::*;

/// Where the metadata comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Url,
    File,
    Paste,
}

/// The import's state, kept by the profile page so a reload of the profile after another
/// action does not lose what the admin typed or previewed.
#[derive(Clone, Copy)]
pub struct ImportState {
    pub source: RwSignal<Source>,
    pub url: RwSignal<String>,
    /// The chosen file's name and text, once read.
    pub file: RwSignal<Option<(String, String)>>,
    pub file_error: RwSignal<Option<String>>,
    pub pasted: RwSignal<String>,
    /// What the shown preview was made from, so "Save" saves exactly that.
    pub previewed: RwSignal<Option<(MetadataInput, Option<String>)>>,
    pub preview: ServerAction<PreviewIdpMetadata>,
    pub save: ServerAction<SaveIdpMetadata>,
}

impl ImportState {
    pub fn new() -> Self {
        ImportState {
            source: RwSignal::new(Source::Url),
            url: RwSignal::new(String::new()),
            file: RwSignal::new(None),
            file_error: RwSignal::new(None),
            pasted: RwSignal::new(String::new()),
            previewed: RwSignal::new(None),
            preview: ServerAction::new(),
            save: ServerAction::new(),
        }
    }

    /// The metadata the form currently points at, if any.
    fn input(&self) -> Option<MetadataInput> {
        match self.source.get() {
            Source::Url => Some(MetadataInput::Url(self.url.get())),
            Source::File => self.file.get().map(|(_, text)| MetadataInput::Xml(text)),
            Source::Paste => Some(MetadataInput::Xml(self.pasted.get())),
        }
    }

    fn run_preview(&self, input: MetadataInput, entity_id: Option<String>) {
        self.previewed.set(Some((input.clone(), entity_id.clone())));
        self.preview.dispatch(PreviewIdpMetadata {
            source: input,
            entity_id,
        });
    }

    /// Previews the current contents of the profile's metadata URL for the IdP it holds:
    /// "Refresh from URL" goes through the same preview and save as a first import.
    pub fn refresh(&self, url: String, entity_id: String) {
        self.source.set(Source::Url);
        self.url.set(url.clone());
        self.run_preview(MetadataInput::Url(url), Some(entity_id));
    }
}

#[component]
fn SourceChoice(state: ImportState, value: Source, label: &'static str) -> impl IntoView {
    let id = match value {
        Source::Url => "source-url",
        Source::File => "source-file",
        Source::Paste => "source-paste",
    };
    view! {
        <label for=id class="inline-flex items-center gap-2 text-sm text-slate-700 dark:text-slate-300">
            <input type="radio" id=id name="metadata-source"
                prop:checked=move || state.source.get() == value
                on:change=move |_| {
                    state.source.set(value);
                    // A preview or refusal of the other source no longer applies.
                    state.preview.clear();
                    state.previewed.set(None);
                }/>
            {label}
        </label>
    }
}

/// What a preview found, with what changes against the metadata saved now.
#[component]
fn Preview(
    view_data: MetadataPreviewView,
    current: Option<IdpSettings>,
    state: ImportState,
    profile_id: String,
) -> impl IntoView {
    let now = view_data.checked_at;
    let current_fingerprints: Vec<String> = current
        .as_ref()
        .map(|c| {
            c.certificates
                .iter()
                .map(|c| c.sha256_fingerprint.clone())
                .collect()
        })
        .unwrap_or_default();
    let removed: Vec<String> = current
        .as_ref()
        .map(|c| {
            c.certificates
                .iter()
                .filter(|old| {
                    !view_data
                        .certificates
                        .iter()
                        .any(|n| n.sha256_fingerprint == old.sha256_fingerprint)
                })
                .map(|old| format!("{} ({})", old.subject, old.sha256_fingerprint))
                .collect()
        })
        .unwrap_or_default();
    let replaces_other_idp = current
        .as_ref()
        .filter(|c| c.entity_id != view_data.entity_id)
        .map(|c| c.entity_id.clone());
    let expired = view_data.has_expired_certificates();
    let for_save = view_data.clone();
    let save = move |_| {
        let Some((source, entity_id)) = state.previewed.get_untracked() else {
            return;
        };
        let accept_expired = for_save.has_expired_certificates();
        if accept_expired
            && !confirmed("A signing certificate in this metadata has expired. The IdP has probably rotated its key, and importing fresh metadata is better. Import it anyway?")
        {
            return;
        }
        state.save.dispatch(SaveIdpMetadata {
            id: profile_id.clone(),
            source,
            entity_id,
            digest: for_save.digest.clone(),
            accept_expired,
        });
    };
    view! {
        <div data-test="metadata-preview" class="rounded-lg border border-indigo-200 dark:border-indigo-900 bg-indigo-50/50 dark:bg-slate-950 p-4 space-y-4">
            <h3 class="text-base font-semibold text-slate-900 dark:text-slate-100">"Found in the metadata"</h3>
            {replaces_other_idp.map(|old| view! {
                <p class=WARNING>"This replaces the identity provider "<span class="font-mono break-all">{old}</span>" saved now."</p>
            })}
            <dl class="grid grid-cols-1 md:grid-cols-4 gap-x-4 gap-y-2 text-sm">
                <dt class="text-slate-500 dark:text-slate-400">"IdP entity ID"</dt>
                <dd class="md:col-span-3 font-mono break-all" data-test="preview-entity-id">{view_data.entity_id.clone()}</dd>
                {view_data.url.clone().map(|u| view! {
                    <dt class="text-slate-500 dark:text-slate-400">"Fetched from"</dt>
                    <dd class="md:col-span-3 font-mono break-all">{u}</dd>
                })}
                <dt class="text-slate-500 dark:text-slate-400">"Single sign-on URLs"</dt>
                <dd class="md:col-span-3">
                    <ul class="space-y-1" data-test="preview-sso">
                        {view_data.sso_endpoints.iter().map(|e| view! {
                            <li>
                                <span class="mr-2 rounded bg-slate-100 dark:bg-slate-800 px-1.5 py-0.5 text-xs">{binding_name(&e.binding).to_string()}</span>
                                <span class="font-mono text-xs break-all">{e.location.clone()}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                </dd>
                <dt class="text-slate-500 dark:text-slate-400">"Signed AuthnRequests"</dt>
                <dd class="md:col-span-3">
                    {if view_data.want_authn_requests_signed {
                        "The IdP asks for them: turn on \u{201c}Sign AuthnRequests\u{201d} below and give the IdP the SP certificate."
                    } else {
                        "Not asked for by the IdP."
                    }}
                </dd>
            </dl>
            <div>
                <h4 class="text-sm font-medium text-slate-700 dark:text-slate-300">"Signing certificates"</h4>
                <ul class="mt-2 space-y-2" data-test="preview-certificates">
                    {view_data.certificates.iter().map(|c| {
                        let new = current.is_some() && !current_fingerprints.contains(&c.sha256_fingerprint);
                        view! {
                            <li class="rounded-md border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 px-3 py-2 text-sm">
                                <div class="font-medium break-all">
                                    {c.subject.clone()}
                                    {new.then(|| view! { <span class="ml-2 rounded bg-emerald-100 dark:bg-emerald-900 px-1.5 py-0.5 text-xs text-emerald-900 dark:text-emerald-100">"new"</span> })}
                                </div>
                                <div class="font-mono text-xs break-all text-slate-600 dark:text-slate-400">"SHA-256 "{c.sha256_fingerprint.clone()}</div>
                                <div class="text-xs"><Expiry not_after=c.not_after now/></div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {(!removed.is_empty()).then(|| view! {
                    <p class=format!("{WARNING} mt-2")>"No longer in the metadata, and no longer trusted once saved: "{removed.join("; ")}</p>
                })}
            </div>
            {expired.then(|| view! {
                <p class=WARNING role="alert">"A signing certificate has expired. Saving will ask you to confirm."</p>
            })}
            <div class="flex flex-wrap gap-3">
                <button type="button" class=PRIMARY on:click=save disabled=move || state.save.pending().get()>"Save"</button>
                <button type="button" class=SECONDARY on:click=move |_| {
                    state.preview.clear();
                    state.previewed.set(None);
                }>"Cancel"</button>
            </div>
        </div>
    }
}

/// The several IdPs of an EntitiesDescriptor, to pick one.
#[component]
fn ChooseIdp(entity_ids: Vec<String>, state: ImportState) -> impl IntoView {
    let choice = RwSignal::new(entity_ids.first().cloned().unwrap_or_default());
    view! {
        <div data-test="choose-idp" class="rounded-lg border border-amber-300 dark:border-amber-800 p-4 space-y-3">
            <p class="text-sm text-slate-700 dark:text-slate-300">
                {format!("This metadata describes {} identity providers. Choose the one this profile signs in through.", entity_ids.len())}
            </p>
            <div>
                <label for="idp-choice" class=LABEL>"Identity provider"</label>
                <select id="idp-choice" class=INPUT on:change=move |ev| choice.set(event_target_value(&ev))>
                    {entity_ids.into_iter().map(|e| view! { <option value=e.clone()>{e.clone()}</option> }).collect_view()}
                </select>
            </div>
            <button type="button" class=PRIMARY on:click=move |_| {
                if let Some((source, _)) = state.previewed.get_untracked() {
                    state.run_preview(source, Some(choice.get_untracked()));
                }
            }>"Preview this identity provider"</button>
        </div>
    }
}

/// The import form and, once previewed, what the metadata holds.
#[component]
pub fn ImportMetadata(
    state: ImportState,
    profile_id: String,
    /// The IdP settings saved now, to show what a new import changes.
    current: Option<IdpSettings>,
) -> impl IntoView {
    let can_preview = move || match state.source.get() {
        Source::Url => !state.url.get().trim().is_empty(),
        Source::File => state.file.get().is_some(),
        Source::Paste => !state.pasted.get().trim().is_empty(),
    };
    let preview_now = move |_| {
        if let Some(input) = state.input() {
            state.run_preview(input, None);
        }
    };
    let current_for_preview = current.clone();
    let has_idp = current.is_some();
    let read_only = use_read_only();
    view! {
        <section aria-labelledby="import-title" class=SECTION>
            <h2 id="import-title" class=H2>{if has_idp { "Import new IdP metadata" } else { "Import the IdP's metadata" }}</h2>
            <p class="text-sm text-slate-600 dark:text-slate-400">
                "In Okta: the SAML app \u{2192} "<strong>"Sign On"</strong>" \u{2192} "<strong>"Metadata URL"</strong>" (copy it), or \u{201c}Identity Provider metadata\u{201d} to download the file. You will see what it holds before anything is saved."
            </p>
            <fieldset disabled=read_only class="space-y-4 min-w-0">
                <fieldset class="flex flex-wrap gap-6">
                    <legend class="sr-only">"Where the metadata comes from"</legend>
                    <SourceChoice state value=Source::Url label="From a URL"/>
                    <SourceChoice state value=Source::File label="Upload a file"/>
                    <SourceChoice state value=Source::Paste label="Paste XML"/>
                </fieldset>
                {move || match state.source.get() {
                    Source::Url => view! {
                        <div>
                            <label for="metadata-url" class=LABEL>"Metadata URL"</label>
                            <input id="metadata-url" type="url" class=INPUT
                                placeholder="https://example.okta.com/app/exk.../sso/saml/metadata"
                                prop:value=move || state.url.get()
                                on:input=move |ev| state.url.set(event_target_value(&ev))/>
                            <p class=HINT>"Fetched over https from a public address, within 5 seconds. Kept with the profile so it can be refreshed."</p>
                        </div>
                    }.into_any(),
                    Source::File => view! {
                        <div>
                            <label for="metadata-file" class=LABEL>"Metadata file (XML)"</label>
                            <input id="metadata-file" type="file" accept=".xml,application/xml,text/xml,application/samlmetadata+xml"
                                class="mt-1 block w-full text-sm text-slate-700 dark:text-slate-300"
                                on:change=move |ev| {
                                    state.file.set(None);
                                    state.file_error.set(None);
                                    read_chosen_file(&ev, MAX_METADATA_BYTES, move |r| match r {
                                        Ok(read) => state.file.set(Some(read)),
                                        Err(e) => state.file_error.set(Some(e)),
                                    });
                                }/>
                            {move || state.file.get().map(|(name, text)| view! {
                                <p class=HINT data-test="file-read">{format!("Read {name} ({:.1} KiB).", text.len() as f64 / 1024.0)}</p>
                            })}
                            {move || state.file_error.get().map(|e| view! { <p role="alert" class=WARNING>{e}</p> })}
                        </div>
                    }.into_any(),
                    Source::Paste => view! {
                        <div>
                            <label for="metadata-xml" class=LABEL>"Metadata XML"</label>
                            <textarea id="metadata-xml" rows="8" spellcheck="false" class=format!("{INPUT} font-mono text-xs")
                                placeholder="<md:EntityDescriptor entityID=\"http://www.okta.com/exk...\" ...>"
                                prop:value=move || state.pasted.get()
                                on:input=move |ev| state.pasted.set(event_target_value(&ev))></textarea>
                        </div>
                    }.into_any(),
                }}
                <button type="button" class=PRIMARY
                    disabled=move || !can_preview() || state.preview.pending().get()
                    on:click=preview_now
                >{move || if state.preview.pending().get() { "Reading\u{2026}" } else { "Preview" }}</button>
                {move || state.preview.value().get().map(|r| match r {
                    Ok(MetadataPreviewOutcome::Ready(v)) => view! {
                        <Preview view_data=v current=current_for_preview.clone() state profile_id=profile_id.clone()/>
                    }.into_any(),
                    Ok(MetadataPreviewOutcome::ChooseIdp { entity_ids }) => view! {
                        <ChooseIdp entity_ids state/>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
                {move || state.save.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
            </fieldset>
        </section>
    }
    .into_any()
}
