//! Events / Logs: every provisioning change, configuration change and sign-in, newest first.
//!
//! The filters live in the URL (`?range=7d&outcome=failure&target=ada@example.com`), so a
//! view can be shared and the back button works; changing one navigates. Under the filters:
//! the chart of the same filter, export links for it, and the table, which pages by key
//! ("Load older") and takes in new events every few seconds while the tab is visible.

pub mod detail;

use crate::api::events::{event_filter_choices, events_histogram, list_events, FilterChoices};
use crate::components::event_list::utc;
use crate::components::events_chart::EventsChart;
use crate::components::{ErrorNotice, PageHeader, PendingTransition};
use crate::error::AppError;
use gatehouse_domain::event::{
    format_minute, parse_time, Category, EventCursor, EventEntry, EventParams, Outcome,
    TIME_PRESETS,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

pub use detail::EventDetailPage;

const SECTION: &str = "rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900 p-4 md:p-6";
const LABEL: &str = "block text-xs font-medium text-slate-600 dark:text-slate-400";
const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-800 px-2 py-1.5 text-sm text-slate-900 dark:text-slate-100";
const BUTTON: &str = "rounded-md border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800";

/// The categories, as the filter offers them.
const CATEGORIES: [Category; 4] = [
    Category::Provisioning,
    Category::Configuration,
    Category::SignIn,
    Category::Administration,
];

/// A category in words.
pub fn category_label(c: Category) -> &'static str {
    match c {
        Category::Provisioning => "Provisioning",
        Category::Configuration => "Configuration",
        Category::SignIn => "Sign-in",
        Category::Administration => "Administration",
    }
}

/// The filters as the URL has them.
fn params_from(q: &ParamsMap) -> EventParams {
    EventParams {
        range: q.get("range"),
        from: q.get("from"),
        to: q.get("to"),
        category: q.get("category"),
        action: q.get("action"),
        outcome: q.get("outcome"),
        actor: q.get("actor"),
        target: q.get("target"),
    }
}

fn events_url(p: &EventParams) -> String {
    let q = p.query_string();
    if q.is_empty() {
        "/console/events".into()
    } else {
        format!("/console/events?{q}")
    }
}

/// Success or failure, as a coloured word.
#[component]
pub fn OutcomeBadge(outcome: Outcome) -> impl IntoView {
    let (class, text) = match outcome {
        Outcome::Success => ("rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200", "Success"),
        Outcome::Failure => ("rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-800 dark:bg-red-950 dark:text-red-200", "Failure"),
    };
    view! { <span class=class>{text}</span> }
}

/// A `<select>` option that is also selected in the server-rendered HTML.
fn option(value: String, label: String, current: RwSignal<String>) -> impl IntoView {
    let v = value.clone();
    view! { <option value=value selected=move || current.get() == v>{label}</option> }
}

/// The time range: presets as links, or a custom from/to.
#[component]
fn TimeRange(params: Memo<EventParams>) -> impl IntoView {
    let link = move |range: &'static str| {
        let mut p = params.get();
        p.range = Some(range.into());
        p.from = None;
        p.to = None;
        events_url(&p)
    };
    let presets = TIME_PRESETS
        .iter()
        .map(|(key, label, _)| (*key, *label))
        .chain([("all", "All time")])
        .map(|(key, label)| {
            let current = move || params.get().range() == key;
            view! {
                <a href=move || link(key)
                    aria-current=move || current().then_some("true")
                    class=move || if current() {
                        "rounded-md px-3 py-1.5 text-sm font-medium bg-indigo-600 text-white"
                    } else {
                        "rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-800"
                    }
                >{label}</a>
            }
        })
        .collect_view();
    view! {
        <nav aria-label="Time range" class="flex flex-wrap items-center gap-1">
            {presets}
        </nav>
    }
}

/// The filter controls. Selecting a value navigates at once; text fields apply on Enter or
/// with the Apply button.
#[component]
fn FilterForm(params: Memo<EventParams>, choices: FilterChoices) -> impl IntoView {
    let p0 = params.get_untracked();
    let text = |v: &Option<String>| RwSignal::new(v.clone().unwrap_or_default());
    let (from, to) = (text(&p0.from), text(&p0.to));
    let (category, action, outcome) = (text(&p0.category), text(&p0.action), text(&p0.outcome));
    let (actor, target) = (text(&p0.actor), text(&p0.target));
    let custom = RwSignal::new(p0.range() == "custom");
    // The back button changes the URL under the form: follow it.
    Effect::new(move |_| {
        let p = params.get();
        let set = |s: RwSignal<String>, v: &Option<String>| s.set(v.clone().unwrap_or_default());
        set(from, &p.from);
        set(to, &p.to);
        set(category, &p.category);
        set(action, &p.action);
        set(outcome, &p.outcome);
        set(actor, &p.actor);
        set(target, &p.target);
        custom.set(p.range() == "custom");
    });
    let current = move || {
        let val = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let mut p = EventParams {
            range: params.get_untracked().range,
            from: None,
            to: None,
            category: val(category),
            action: val(action),
            outcome: val(outcome),
            actor: val(actor),
            target: val(target),
        };
        if custom.get_untracked() {
            p.range = Some("custom".into());
            p.from = val(from);
            p.to = val(to);
        } else if p.range.as_deref() == Some("custom") {
            p.range = None;
        }
        p
    };
    let navigate = use_navigate();
    let go = {
        let navigate = navigate.clone();
        move || navigate(&events_url(&current()), Default::default())
    };
    let on_select = {
        let go = go.clone();
        move |signal: RwSignal<String>| {
            let go = go.clone();
            move |ev: leptos::ev::Event| {
                signal.set(event_target_value(&ev));
                go();
            }
        }
    };
    let submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            go();
        }
    };

    let category_options = CATEGORIES
        .iter()
        .map(|c| option(c.as_str().into(), category_label(*c).into(), category))
        .collect_view();
    let mut known_actor = vec![
        "".to_string(),
        "system".into(),
        "anonymous".into(),
        "admin".into(),
        "scim_token".into(),
    ];
    known_actor.extend(choices.admins.iter().map(|a| a.value.clone()));
    known_actor.extend(choices.tokens.iter().map(|t| t.value.clone()));
    let unknown_actor = Some(p0.actor.clone().unwrap_or_default())
        .filter(|a| !known_actor.contains(a))
        .map(|a| option(a.clone(), format!("{a} (not found)"), actor));
    let admin_options = choices
        .admins
        .iter()
        .map(|a| option(a.value.clone(), a.label.clone(), actor))
        .collect_view();
    let token_options = choices
        .tokens
        .iter()
        .map(|t| {
            option(
                t.value.clone(),
                format!("Token \u{201c}{}\u{201d}", t.label),
                actor,
            )
        })
        .collect_view();
    let actions = choices
        .actions
        .iter()
        .map(|a| view! { <option value=a.clone()></option> })
        .collect_view();

    view! {
        <form role="search" aria-label="Filter events" on:submit=submit class="space-y-4" data-test="event-filters">
            <div class="flex flex-wrap items-center gap-3">
                <TimeRange params/>
                <label class="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-300">
                    <input type="checkbox" prop:checked=move || custom.get() checked=p0.range() == "custom"
                        on:change=move |ev| custom.set(event_target_checked(&ev))/>
                    "Custom range"
                </label>
            </div>
            <Show when=move || custom.get()>
                <div class="flex flex-wrap items-end gap-3">
                    <div>
                        <label for="f-from" class=LABEL>"From (UTC)"</label>
                        <input id="f-from" type="datetime-local" class=INPUT
                            prop:value=move || from.get() value=from.get_untracked()
                            on:input=move |ev| from.set(event_target_value(&ev))/>
                    </div>
                    <div>
                        <label for="f-to" class=LABEL>"To (UTC)"</label>
                        <input id="f-to" type="datetime-local" class=INPUT
                            prop:value=move || to.get() value=to.get_untracked()
                            on:input=move |ev| to.set(event_target_value(&ev))/>
                    </div>
                </div>
            </Show>
            <div class="grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-6 gap-3 items-end">
                <div>
                    <label for="f-category" class=LABEL>"Category"</label>
                    <select id="f-category" name="category" class=INPUT on:change=on_select(category)>
                        {option(String::new(), "All categories".into(), category)}
                        {category_options}
                    </select>
                </div>
                <div>
                    <label for="f-outcome" class=LABEL>"Outcome"</label>
                    <select id="f-outcome" name="outcome" class=INPUT on:change=on_select(outcome)>
                        {option(String::new(), "Any outcome".into(), outcome)}
                        {option("success".into(), "Success".into(), outcome)}
                        {option("failure".into(), "Failure".into(), outcome)}
                    </select>
                </div>
                <div>
                    <label for="f-actor" class=LABEL>"Actor"</label>
                    <select id="f-actor" name="actor" class=INPUT on:change=on_select(actor)>
                        {option(String::new(), "Anyone".into(), actor)}
                        {option("system".into(), "The system".into(), actor)}
                        {option("anonymous".into(), "Anonymous (sign-in attempts)".into(), actor)}
                        <optgroup label="Administrators">
                            {option("admin".into(), "Any administrator".into(), actor)}
                            {admin_options}
                        </optgroup>
                        <optgroup label="SCIM tokens">
                            {option("scim_token".into(), "Any SCIM token".into(), actor)}
                            {token_options}
                        </optgroup>
                        {unknown_actor}
                    </select>
                </div>
                <div>
                    <label for="f-action" class=LABEL>"Action"</label>
                    <input id="f-action" name="action" type="search" list="f-actions" class=INPUT placeholder="user.created"
                        prop:value=move || action.get() value=action.get_untracked()
                        on:input=move |ev| action.set(event_target_value(&ev))/>
                    <datalist id="f-actions">{actions}</datalist>
                </div>
                <div class="lg:col-span-2">
                    <label for="f-target" class=LABEL>"Target (name or id; end with * for a prefix)"</label>
                    <input id="f-target" name="target" type="search" class=INPUT placeholder="ada@example.com, Engineering, ada@*"
                        prop:value=move || target.get() value=target.get_untracked()
                        on:input=move |ev| target.set(event_target_value(&ev))/>
                </div>
            </div>
            <div class="flex flex-wrap items-center gap-3">
                <button type="submit" class="rounded-md bg-indigo-600 px-4 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500">"Apply filters"</button>
                <a href="/console/events" class="text-sm text-indigo-700 dark:text-indigo-300 underline">"Clear filters"</a>
            </div>
        </form>
     }
    .into_any()
}

/// One row of the table.
#[component]
fn EventRow(entry: EventEntry, query: String) -> impl IntoView {
    let e = &entry.event;
    let href = if query.is_empty() {
        format!("/console/events/{}", e.id)
    } else {
        format!("/console/events/{}?{query}", e.id)
    };
    let actor = entry.actor_label();
    let (time, action, outcome) = (utc(e.occurred_at), e.action.clone(), e.outcome);
    let (target, category) = (
        e.target.clone().unwrap_or_default(),
        category_label(e.category),
    );
    view! {
        <tr data-test="event-row" class="align-top">
            <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{time}</td>
            <td class="px-3 py-2 font-mono text-xs break-all">
                <a href=href class="text-indigo-700 dark:text-indigo-300 underline">{action}</a>
            </td>
            <td class="px-3 py-2"><OutcomeBadge outcome/></td>
            <td class="px-3 py-2 break-all">{target}</td>
            <td class="px-3 py-2 break-all">{actor}</td>
            <td class="px-3 py-2">{category}</td>
        </tr>
    }
}

/// The table's frame: the header and column widths stay while rows load.
#[component]
fn EventTableFrame(#[prop(into)] busy: Signal<bool>, children: Children) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 dark:border-slate-800 bg-white dark:bg-slate-900">
            <table class="w-full table-fixed text-left text-sm" data-test="event-table" aria-busy=move || busy.get().to_string()>
                <caption class="sr-only">"Events, newest first"</caption>
                <colgroup>
                    <col class="w-48"/>
                    <col class="w-56"/>
                    <col class="w-24"/>
                    <col/>
                    <col class="w-48"/>
                    <col class="w-32"/>
                </colgroup>
                <thead class="border-b border-slate-200 dark:border-slate-800 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                    <tr>
                        <th scope="col" class="px-3 py-3 font-medium">"Time"</th>
                        <th scope="col" class="px-3 py-3 font-medium">"Action"</th>
                        <th scope="col" class="px-3 py-3 font-medium">"Outcome"</th>
                        <th scope="col" class="px-3 py-3 font-medium">"Target"</th>
                        <th scope="col" class="px-3 py-3 font-medium">"Actor"</th>
                        <th scope="col" class="px-3 py-3 font-medium">"Category"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800 text-slate-700 dark:text-slate-300">
                    {children()}
                </tbody>
            </table>
        </div>
    }
}

/// What an empty result says: what would appear, and how to make it appear.
#[component]
fn NoEvents(params: EventParams) -> impl IntoView {
    let filtered = params.pairs().iter().any(|(k, _)| *k != "range");
    let range = params.range();
    let explanation = if filtered {
        "No event matches these filters in this time range. Widen the time range or clear a filter."
            .to_string()
    } else if range == "all" {
        "Nothing has been recorded yet. Events appear as administrators sign in and change settings, and as Okta provisions users and groups (connect it under User Provider \u{2192} SCIM Import).".to_string()
    } else {
        "Nothing happened in this time range. Choose a longer range or \u{201c}All time\u{201d}. Events appear as administrators sign in and change settings, and as Okta provisions users and groups.".to_string()
    };
    view! {
        <tr>
            <td colspan="6" class="px-6 py-10 text-center" data-test="empty-state">
                <p class="text-base font-semibold text-slate-900 dark:text-slate-100">"No events"</p>
                <p class="mx-auto mt-2 max-w-xl text-sm text-slate-600 dark:text-slate-400">{explanation}</p>
            </td>
        </tr>
    }
}

#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| params_from(&query.read()));
    let page = Resource::new(move || params.get(), |p| list_events(p, None, None));
    let histogram = Resource::new(move || params.get(), events_histogram);
    let choices = Resource::new(|| (), |_| event_filter_choices());

    // Rows beyond the first page: new ones above it, older ones below it.
    let newer = RwSignal::new(Vec::<EventEntry>::new());
    let older = RwSignal::new(Vec::<EventEntry>::new());
    let older_cursor = RwSignal::new(None::<Option<EventCursor>>);
    let loading_older = RwSignal::new(false);
    let older_error = RwSignal::new(None::<AppError>);
    let arrived = RwSignal::new(0usize);
    let (pending, set_pending) = signal(false);

    Effect::new(move |prev: Option<EventParams>| {
        let p = params.get();
        if prev.is_some_and(|old| old != p) {
            newer.set(Vec::new());
            older.set(Vec::new());
            older_cursor.set(None);
            older_error.set(None);
            arrived.set(0);
        }
        p
    });

    let next_cursor = move || -> Option<EventCursor> {
        match older_cursor.get() {
            Some(c) => c,
            None => page.get().and_then(Result::ok).and_then(|p| p.older),
        }
    };
    let load_older = move |_| {
        let Some(cursor) = next_cursor() else { return };
        let p = params.get_untracked();
        loading_older.set(true);
        leptos::task::spawn_local(async move {
            let result = list_events(p.clone(), Some(cursor.to_string()), None).await;
            loading_older.set(false);
            if params.get_untracked() != p {
                return;
            }
            match result {
                Ok(more) => {
                    older.update(|o| o.extend(more.entries));
                    older_cursor.set(Some(more.older));
                    older_error.set(None);
                }
                Err(e) => older_error.set(Some(e)),
            }
        });
    };

    // New events while the page is open: ask for what is newer than the newest row every
    // few seconds, unless the tab is hidden.
    #[cfg(feature = "hydrate")]
    {
        use crate::api::events::POLL_LIMIT;
        let in_flight = StoredValue::new(false);
        let poll = move || {
            if document().hidden() || in_flight.get_value() {
                return;
            }
            let Some(Ok(first)) = page.get_untracked() else {
                return;
            };
            let p = params.get_untracked();
            let newest = newer
                .with_untracked(|n| n.first().map(EventEntry::cursor))
                .or_else(|| first.entries.first().map(EventEntry::cursor));
            in_flight.set_value(true);
            leptos::task::spawn_local(async move {
                let result = list_events(p.clone(), None, newest.map(|c| c.to_string())).await;
                in_flight.set_value(false);
                let Ok(fresh) = result else { return };
                if params.get_untracked() != p || fresh.entries.is_empty() {
                    return;
                }
                arrived.update(|a| *a += fresh.entries.len());
                if newest.is_none() || fresh.entries.len() >= POLL_LIMIT as usize {
                    // Too many to splice in: start again from the newest page.
                    newer.set(Vec::new());
                    older.set(Vec::new());
                    older_cursor.set(None);
                    page.refetch();
                } else {
                    newer.update(|n| {
                        let mut rows = fresh.entries;
                        rows.append(n);
                        *n = rows;
                    });
                }
                histogram.refetch();
            });
        };
        let handle = set_interval_with_handle(poll, std::time::Duration::from_secs(5)).ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    }

    let export = move |ext: &str| {
        let q = params.get().query_string();
        if q.is_empty() {
            format!("/console/api/events/export.{ext}")
        } else {
            format!("/console/api/events/export.{ext}?{q}")
        }
    };
    let range_note = move || {
        let p = params.get();
        match p.range().as_str() {
            "all" => "All time".to_string(),
            "custom" => {
                let show = |v: &Option<String>| {
                    v.as_deref()
                        .and_then(parse_time)
                        .map(format_minute)
                        .map(|s| s.replace('T', " "))
                };
                match (show(&p.from), show(&p.to)) {
                    (Some(a), Some(b)) => format!("From {a} to {b} UTC"),
                    (Some(a), None) => format!("Since {a} UTC"),
                    (None, Some(b)) => format!("Until {b} UTC"),
                    (None, None) => "All time".to_string(),
                }
            }
            r => TIME_PRESETS
                .iter()
                .find(|(k, _, _)| *k == r)
                .map(|(_, label, _)| label.to_string())
                .unwrap_or_default(),
        }
    };

    let filters = view! {
            <section aria-label="Filters" class=SECTION>
                <Transition fallback=move || view! { <FilterForm params choices=FilterChoices::default()/> }>
                    {move || choices.get().map(|c| view! { <FilterForm params choices=c.unwrap_or_default()/> })}
                </Transition>
            </section>
    }
    .into_any();
    let chart = view! {
            <section aria-labelledby="chart-heading" class=SECTION>
                <div class="mb-3 flex flex-wrap items-baseline justify-between gap-2">
                    <h2 id="chart-heading" class="text-lg font-semibold text-slate-900 dark:text-slate-100">"Over time"</h2>
                    <span class="text-sm text-slate-500 dark:text-slate-400">{range_note}</span>
                </div>
                <Transition fallback=|| view! { <p class="h-40 text-sm text-slate-500 dark:text-slate-400">"Loading the chart\u{2026}"</p> }>
                    {move || histogram.get().map(|r| match r {
                        Ok(h) => view! { <EventsChart histogram=h/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    })}
                </Transition>
            </section>
    }
    .into_any();
    let list = view! {
            <section aria-labelledby="list-heading" class="space-y-3">
                <div class="flex flex-wrap items-center justify-between gap-3">
                    <h2 id="list-heading" class="text-lg font-semibold text-slate-900 dark:text-slate-100">"Events"</h2>
                    <div class="flex flex-wrap items-center gap-2 text-sm">
                        <span class="text-slate-600 dark:text-slate-400">"Export this view:"</span>
                        <a href=move || export("csv") download class=BUTTON data-test="export-csv">"CSV"</a>
                        <a href=move || export("jsonl") download class=BUTTON data-test="export-jsonl">"JSON Lines"</a>
                    </div>
                </div>
                <p role="status" aria-live="polite" class="text-sm text-slate-600 dark:text-slate-400" data-test="live-status">
                    {move || {
                        let n = arrived.get();
                        if pending.get() {
                            "Updating\u{2026}".to_string()
                        } else if n == 1 {
                            "1 new event arrived while this page was open.".to_string()
                        } else if n > 1 {
                            format!("{n} new events arrived while this page was open.")
                        } else {
                            "New events appear here as they happen.".to_string()
                        }
                    }}
                </p>
                <PendingTransition
                    set_pending=set_pending
                    fallback=|| view! {
                        <EventTableFrame busy=true>
                            <tr><td colspan="6" class="px-3 py-6 text-center text-sm text-slate-500 dark:text-slate-400">"Loading events\u{2026}"</td></tr>
                        </EventTableFrame>
                    }
                >
                    {move || page.get().map(|r| {
                        // Busy while the address asks for other rows than these; the
                        // Transition's own pending flag can stay set after hydration.
                        let shown_for = params.get_untracked();
                        let qs = shown_for.query_string();
                        let busy = Signal::derive(move || params.get() != shown_for);
                        match r {
                            Err(e) => view! {
                                <EventTableFrame busy>
                                    <tr><td colspan="6" class="px-3 py-4"><ErrorNotice error=e/></td></tr>
                                </EventTableFrame>
                            }.into_any(),
                            Ok(first) => {
                                let empty = first.entries.is_empty();
                                let (q1, q2, q3) = (qs.clone(), qs.clone(), qs);
                                let rows = first.entries.into_iter().map(|e| view! { <EventRow entry=e query=q2.clone()/> }).collect_view();
                                view! {
                                    <EventTableFrame busy>
                                        <For each=move || newer.get() key=|e| e.event.id let:e>
                                            <EventRow entry=e query=q1.clone()/>
                                        </For>
                                        {(empty && newer.get_untracked().is_empty()).then(|| view! { <NoEvents params=params.get_untracked()/> })}
                                        {rows}
                                        <For each=move || older.get() key=|e| e.event.id let:e>
                                            <EventRow entry=e query=q3.clone()/>
                                        </For>
                                    </EventTableFrame>
                                }.into_any()
                            }
                        }
                    })}
                    <div class="flex flex-wrap items-center gap-3 pt-2">
                        {move || next_cursor().is_some().then(|| view! {
                            <button type="button" class=BUTTON on:click=load_older disabled=move || loading_older.get() data-test="load-older">
                                {move || if loading_older.get() { "Loading\u{2026}" } else { "Load older events" }}
                            </button>
                        })}
                        {move || (page.get().is_some_and(|r| r.is_ok()) && next_cursor().is_none() && !older.get().is_empty()).then(|| view! {
                            <span class="text-sm text-slate-500 dark:text-slate-400">"That is the oldest matching event."</span>
                        })}
                        {move || older_error.get().map(|e| view! { <ErrorNotice error=e/> })}
                    </div>
                </PendingTransition>
            </section>
    }
    .into_any();

    view! {
        <PageHeader
            title="Events / Logs"
            description="Every provisioning change, configuration change and sign-in, newest first. Filters are part of the address, so a view can be bookmarked or shared."
        />
        <div class="space-y-6">
            {filters}
            {chart}
            {list}
        </div>
    }
}
