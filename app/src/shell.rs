//! The HTML document around the app, rendered on the server only.

use crate::style::STYLESHEET_PATH;
use crate::theme::current_theme;
use crate::App;
use leptos::prelude::*;
use leptos_meta::MetaTags;

/// The document: the theme class is set here from the visitor's cookie, so the first paint
/// already has the right colours.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = current_theme();
    view! {
        <!DOCTYPE html>
        <html lang="en" class=theme.html_class()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <script src="/theme.js"></script>
                <link rel="stylesheet" href=STYLESHEET_PATH/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100 antialiased">
                <App/>
            </body>
        </html>
    }
}
