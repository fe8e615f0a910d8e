//! User Provider → SCIM Import: what Okta needs to provision users and groups into Gatehouse.

use crate::components::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn ScimImportPage() -> impl IntoView {
    view! {
        <PageHeader
            title="SCIM Import"
            description="Okta provisions users and groups into Gatehouse over SCIM 2.0. This page shows the SCIM Base URL and the API token to paste into Okta's provisioning settings (authentication mode \"HTTP Header\"), lets you regenerate the token, and shows whether Okta is talking to Gatehouse."
        />
        <EmptyState title="SCIM provisioning is not set up">
            <p>"The Base URL, the API token (shown once when generated) and the last requests from Okta will appear here."</p>
            <p>"This version of Gatehouse does not serve SCIM yet."</p>
        </EmptyState>
    }
}
