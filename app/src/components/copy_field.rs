//! A value an admin copies into another product (a URL, a token): shown in full, selectable,
//! with a Copy button.

use leptos::prelude::*;

/// Asks the browser to put `text` on the clipboard.
#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: &str) {
    let _ = window().navigator().clipboard().write_text(text);
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_text: &str) {}

/// A labelled, read-only field with a Copy button.
#[component]
pub fn CopyField(
    /// The label, as the other product names the field ("Base URL").
    label: &'static str,
    /// The value to copy.
    #[prop(into)]
    value: String,
    /// `data-test` of the field, for tests.
    test: &'static str,
) -> impl IntoView {
    let id = format!("copy-{test}");
    let (copied, set_copied) = signal(false);
    let for_click = value.clone();
    view! {
        <div>
            <label for=id.clone() class="block text-sm font-medium text-slate-700 dark:text-slate-300">{label}</label>
            <div class="mt-1 flex gap-2">
                <input
                    id=id
                    data-test=test
                    readonly
                    prop:value=value
                    class="block w-full min-w-0 rounded-md border border-slate-300 dark:border-slate-600 bg-slate-50 dark:bg-slate-800 px-3 py-2 font-mono text-sm text-slate-900 dark:text-slate-100"
                />
                <button
                    type="button"
                    class="shrink-0 rounded-md border border-slate-300 dark:border-slate-600 px-3 py-2 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800"
                    on:click=move |_| {
                        copy_to_clipboard(&for_click);
                        set_copied.set(true);
                    }
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}
