//! The chart of events over time: stacked bars per time slice (succeeded below, failed
//! above), drawn as SVG by the app itself, with a title, a description and a text summary
//! for people who do not see it, and the numbers as a table on request.

use crate::components::event_list::utc;
use gatehouse_domain::event::EventHistogram;
use leptos::prelude::*;
use time::OffsetDateTime;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;
const AXIS: f64 = 18.0;

/// A slice's start in as few words as its length allows.
fn slice_label(t: OffsetDateTime, bucket_ms: i64) -> String {
    if bucket_ms < 86_400_000 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A human length for a slice: "30 minutes", "1 hour", "7 days".
fn slice_length(ms: i64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        m if m % 1440 == 0 => plural((m / 1440) as u64, "day", "days"),
        m if m % 60 == 0 => plural((m / 60) as u64, "hour", "hours"),
        m => plural(m as u64, "minute", "minutes"),
    }
}

/// What the chart shows, in one or two sentences.
pub fn summary(h: &EventHistogram) -> String {
    let success: u64 = h.buckets.iter().map(|b| b.success).sum();
    let failure: u64 = h.buckets.iter().map(|b| b.failure).sum();
    let total = success + failure;
    let span = format!("from {} to {}", utc(h.from), utc(h.to));
    if total == 0 {
        return format!("No events {span}.");
    }
    let busiest = h
        .buckets
        .iter()
        .max_by_key(|b| (b.success + b.failure, std::cmp::Reverse(b.start)))
        .expect("a histogram with events has buckets");
    format!(
        "{} {span}: {} succeeded and {} failed. The busiest {} began at {}, with {}.",
        plural(total, "event", "events"),
        success,
        failure,
        slice_length(h.bucket_ms),
        utc(busiest.start),
        plural(busiest.success + busiest.failure, "event", "events"),
    )
}

/// The chart for one histogram.
#[component]
pub fn EventsChart(histogram: EventHistogram) -> impl IntoView {
    let h = histogram;
    let n = h.buckets.len().max(1) as f64;
    let max = h
        .buckets
        .iter()
        .map(|b| b.success + b.failure)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot = HEIGHT - AXIS;
    let slot = WIDTH / n;
    let bar = (slot * 0.8).max(1.0);
    let text = summary(&h);
    let bucket_ms = h.bucket_ms;
    let label_every = (h.buckets.len() / 6).max(1);
    let bars = h
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as f64 * slot + (slot - bar) / 2.0;
            let hs = b.success as f64 / max * (plot - 4.0);
            let hf = b.failure as f64 / max * (plot - 4.0);
            let tip = format!(
                "{}: {} succeeded, {} failed",
                utc(b.start),
                b.success,
                b.failure
            );
            view! {
                <g>
                    <title>{tip}</title>
                    <rect x=format!("{x:.1}") y=format!("{:.1}", plot - hs) width=format!("{bar:.1}") height=format!("{hs:.1}")
                        fill="currentColor" class="text-emerald-600 dark:text-emerald-400"/>
                    <rect x=format!("{x:.1}") y=format!("{:.1}", plot - hs - hf) width=format!("{bar:.1}") height=format!("{hf:.1}")
                        fill="currentColor" class="text-red-600 dark:text-red-400"/>
                </g>
            }
        })
        .collect_view();
    let labels = h
        .buckets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
        .map(|(i, b)| {
            let x = i as f64 * slot;
            view! {
                <text x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - 4.0) font-size="11"
                    fill="currentColor" class="text-slate-500 dark:text-slate-400">
                    {slice_label(b.start, bucket_ms)}
                </text>
            }
        })
        .collect_view();
    let rows = h
        .buckets
        .iter()
        .filter(|b| b.success + b.failure > 0)
        .map(|b| {
            view! {
                <tr>
                    <td class="px-3 py-1 font-mono text-xs">{utc(b.start)}</td>
                    <td class="px-3 py-1 text-right">{b.success}</td>
                    <td class="px-3 py-1 text-right">{b.failure}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="space-y-2" data-test="events-chart">
            <div class="flex flex-wrap items-center gap-4 text-xs text-slate-600 dark:text-slate-400" aria-hidden="true">
                <span class="flex items-center gap-1"><span class="inline-block h-3 w-3 rounded-sm bg-emerald-600 dark:bg-emerald-400"></span>"Succeeded"</span>
                <span class="flex items-center gap-1"><span class="inline-block h-3 w-3 rounded-sm bg-red-600 dark:bg-red-400"></span>"Failed"</span>
                <span>{format!("Max {} per {}", max as u64, slice_length(bucket_ms))}</span>
            </div>
            <svg
                role="img"
                aria-labelledby="events-chart-title events-chart-desc"
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                class="h-40 w-full"
            >
                <title id="events-chart-title">"Events over time, by outcome"</title>
                <desc id="events-chart-desc">{text.clone()}</desc>
                <line x1="0" y1=format!("{plot}") x2=format!("{WIDTH}") y2=format!("{plot}") stroke="currentColor"
                    class="text-slate-300 dark:text-slate-700"/>
                {bars}
                {labels}
            </svg>
            <figcaption data-test="chart-summary" class="text-sm text-slate-600 dark:text-slate-400">{text}</figcaption>
            <details class="text-sm text-slate-700 dark:text-slate-300">
                <summary class="cursor-pointer text-indigo-700 dark:text-indigo-300">"Chart data as a table"</summary>
                <table class="mt-2 text-left text-sm">
                    <caption class="sr-only">"Events per time slice"</caption>
                    <thead class="text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        <tr>
                            <th scope="col" class="px-3 py-1 font-medium">"Slice starting"</th>
                            <th scope="col" class="px-3 py-1 font-medium text-right">"Succeeded"</th>
                            <th scope="col" class="px-3 py-1 font-medium text-right">"Failed"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::event::HistogramBucket;
    use time::macros::datetime;

    #[test]
    fn the_summary_names_totals_and_the_busiest_slice() {
        let t = datetime!(2026-03-01 12:00 UTC);
        let h = EventHistogram {
            from: t,
            to: t + time::Duration::hours(2),
            bucket_ms: 3_600_000,
            buckets: vec![
                HistogramBucket {
                    start: t,
                    success: 2,
                    failure: 1,
                },
                HistogramBucket {
                    start: t + time::Duration::hours(1),
                    success: 5,
                    failure: 0,
                },
            ],
        };
        assert_eq!(
            summary(&h),
            "8 events from 2026-03-01 12:00:00 UTC to 2026-03-01 14:00:00 UTC: 7 succeeded and 1 failed. \
             The busiest 1 hour began at 2026-03-01 13:00:00 UTC, with 5 events."
        );
        let empty = EventHistogram {
            buckets: vec![],
            ..h
        };
        assert!(summary(&empty).starts_with("No events from"));
        assert_eq!(slice_length(30 * 60_000), "30 minutes");
        assert_eq!(slice_length(7 * 86_400_000), "7 days");
    }
}
