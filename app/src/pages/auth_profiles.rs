//! Authentication Profiles: SAML profiles that user groups sign in through.

use crate::components::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn AuthProfilesPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Authentication Profiles"
            description="SAML profiles decide which identity provider a user group signs in through. Each profile has its own service-provider metadata (ACS URL, entity ID, certificate) to give to Okta, and holds the IdP metadata imported from Okta."
        />
        <EmptyState title="No authentication profiles">
            <p>"Profiles you create appear here with their IdP, certificate expiry and the user groups that use them."</p>
            <p>"Creating SAML profiles is not available in this version of Gatehouse yet."</p>
        </EmptyState>
    }
}
