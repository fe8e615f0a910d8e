//! Users & Groups → Users: the people Okta provisioned.

use crate::components::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Users"
            description="The people your identity provider has provisioned into Gatehouse. Okta is the source of truth: their attributes are changed in Okta, not here."
        />
        <EmptyState title="No users yet">
            <p>"Users appear here when Okta provisions them through SCIM Import, with their status, groups and effective authentication profile."</p>
        </EmptyState>
    }
}
