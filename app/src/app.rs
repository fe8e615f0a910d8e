//! The console's routes. Everything lives under `/console`; `/login`, `/saml/…` and
//! `/scim/v2` are left to end-user sign-in, SAML and SCIM.

use crate::components::ConsoleLayout;
use crate::pages::{
    auth_profiles::AuthProfilesPage, dashboard::DashboardPage, events::EventsPage,
    groups::GroupsPage, not_found::NotFoundPage, scim_import::ScimImportPage,
    settings::SettingsPage, setup::SetupPage, sign_in::SignInPage, users::UsersPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| format!("{page} · Gatehouse")/>
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/console/login") view=SignInPage/>
                <Route path=path!("/console/setup") view=SetupPage/>
                <ParentRoute path=path!("/console") view=ConsoleLayout>
                    <Route path=path!("") view=DashboardPage/>
                    <Route path=path!("auth-profiles") view=AuthProfilesPage/>
                    <Route path=path!("auth-profiles/:id") view=crate::pages::auth_profiles::AuthProfilePage/>
                    <Route path=path!("scim") view=ScimImportPage/>
                    <Route path=path!("users") view=UsersPage/>
                    <Route path=path!("users/:id") view=crate::pages::users::UserPage/>
                    <Route path=path!("groups") view=GroupsPage/>
                    <Route path=path!("groups/:id") view=crate::pages::groups::GroupPage/>
                    <Route path=path!("events") view=EventsPage/>
                    <Route path=path!("events/:id") view=crate::pages::events::EventDetailPage/>
                    <Route path=path!("settings") view=SettingsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
