//! Light and dark themes. The choice lives in a cookie so the server renders the right theme
//! on the first byte; without a choice the OS setting applies (public/theme.js).

use leptos::prelude::*;

/// The cookie that remembers the visitor's theme.
pub const THEME_COOKIE: &str = "gatehouse_theme";

/// What the visitor chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// Follow the operating system's light/dark setting.
    System,
    Light,
    Dark,
}

impl Theme {
    /// Reads a `Cookie` header's value (all cookies) for the theme.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(name, _)| *name == THEME_COOKIE)
            .map(|(_, value)| match value {
                "light" => Theme::Light,
                "dark" => Theme::Dark,
                _ => Theme::System,
            })
            .unwrap_or(Theme::System)
    }

    /// The class on `<html>` the server renders. For `System` the server cannot know the OS
    /// setting; theme.js adds `dark` before the first paint when the OS asks for it.
    pub fn html_class(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light | Theme::System => "",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }
}

/// The theme of the current request (server) or document (browser).
pub fn current_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .map(Theme::from_cookie_header)
            })
            .unwrap_or(Theme::System)
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use wasm_bindgen::JsCast;
        document()
            .dyn_into::<web_sys::HtmlDocument>()
            .ok()
            .and_then(|d| d.cookie().ok())
            .map(|c| Theme::from_cookie_header(&c))
            .unwrap_or(Theme::System)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Theme::System
    }
}

/// Remembers the choice for a year and applies it to the page at once.
#[cfg(feature = "hydrate")]
fn apply(theme: Theme) {
    use wasm_bindgen::JsCast;
    let doc = document();
    if let Ok(html_doc) = doc.clone().dyn_into::<web_sys::HtmlDocument>() {
        let cookie = match theme {
            Theme::System => format!("{THEME_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
            Theme::Light => format!("{THEME_COOKIE}=light; Path=/; Max-Age=31536000; SameSite=Lax"),
            Theme::Dark => format!("{THEME_COOKIE}=dark; Path=/; Max-Age=31536000; SameSite=Lax"),
        };
        let _ = html_doc.set_cookie(&cookie);
    }
    let dark = match theme {
        Theme::Dark => true,
        Theme::Light => false,
        Theme::System => window()
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches()),
    };
    if let Some(root) = doc.document_element() {
        let _ = root.class_list().toggle_with_force("dark", dark);
    }
}

#[cfg(not(feature = "hydrate"))]
fn apply(_theme: Theme) {}

/// Three buttons (System, Light, Dark); the pressed one is the current choice.
#[component]
pub fn ThemeSwitcher() -> impl IntoView {
    let (theme, set_theme) = signal(current_theme());
    view! {
        <div role="group" aria-label="Colour theme" class="inline-flex rounded-lg border border-slate-300 dark:border-slate-600 p-0.5 text-xs">
            {[Theme::System, Theme::Light, Theme::Dark]
                .into_iter()
                .map(|t| {
                    view! {
                        <button
                            type="button"
                            data-test=format!("theme-{}", t.label().to_lowercase())
                            aria-pressed=move || (theme.get() == t).to_string()
                            class="rounded-md px-2 py-1 text-slate-600 dark:text-slate-300 hover:bg-slate-100 dark:hover:bg-slate-700 aria-pressed:bg-indigo-600 aria-pressed:text-white dark:aria-pressed:bg-indigo-500 dark:aria-pressed:text-white"
                            on:click=move |_| {
                                set_theme.set(t);
                                apply(t);
                            }
                        >
                            {t.label()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_theme_cookie_among_others() {
        assert_eq!(
            Theme::from_cookie_header("a=b; gatehouse_theme=dark; c=d"),
            Theme::Dark
        );
        assert_eq!(
            Theme::from_cookie_header("gatehouse_theme=light"),
            Theme::Light
        );
        assert_eq!(
            Theme::from_cookie_header("gatehouse_theme=purple"),
            Theme::System
        );
        assert_eq!(Theme::from_cookie_header("other=dark"), Theme::System);
    }
}
