//! A `<Transition>` that reports whether it is pending, in the browser only.
//!
//! Leptos runs `Transition`'s `set_pending` effect on the server too, as a task of its own.
//! Under load that task can run after the response is written and the page's reactive owner
//! is gone; it then reads the Transition's disposed state and panics in a tokio worker
//! (reactive_graph's "already been disposed", found by the soak benchmark against a debug
//! build: leptos 0.8.23 transition.rs:115). A page rendered on the server is never pending,
//! so there the Transition goes without it.

use leptos::children::{TypedChildren, ViewFnOnce};
use leptos::prelude::*;

#[component]
pub fn PendingTransition<Chil>(
    /// Shown until the first data arrives.
    #[prop(optional, into)]
    fallback: ViewFnOnce,
    /// Told `true` while new data loads behind the current view, `false` when it is shown.
    set_pending: WriteSignal<bool>,
    children: TypedChildren<Chil>,
) -> impl IntoView
where
    Chil: IntoView + Send + 'static,
{
    let children = children.into_inner();
    #[cfg(feature = "hydrate")]
    {
        view! { <Transition fallback set_pending>{children()}</Transition> }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = set_pending;
        view! { <Transition fallback>{children()}</Transition> }
    }
}
