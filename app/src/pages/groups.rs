//! Users & Groups → User Groups: the groups Okta pushed, and the profile each signs in with.

use crate::components::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn GroupsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="User Groups"
            description="The groups Okta pushes into Gatehouse. Assign an authentication profile to a group, and its members sign in through that profile's identity provider."
        />
        <EmptyState title="No user groups yet">
            <p>"Groups appear here when Okta pushes them through SCIM Import, with their member count and assigned authentication profile."</p>
        </EmptyState>
    }
}
