//! The browser side of the console: hydrates the server-rendered page into the live app.

// The console's view types nest deeply (a page inside the frame inside the router); laying
// out their hydration futures needs more than rustc's default query depth, as in `app`.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(gatehouse_app::App);
    // Marks the page as interactive, so tests (and people debugging) can tell when the
    // buttons and forms are handled by the app rather than by plain HTML.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
