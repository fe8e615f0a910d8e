//! The chart's counts for time slices that have ended, kept so that drawing the chart again
//! counts only the events of the slices still open.
//!
//! Counting a day of events for the Dashboard's chart reads every event of the day (one
//! index entry each: about 0.6 µs per event on PostgreSQL, so a busy day of a million events
//! costs most of a second on every view). An event's time is set when it is written, so
//! once a slice has ended, and a margin for transactions still committing and for clocks
//! of replicas that differ a little has passed, its counts no longer change. Only the
//! retention purge removes events after that, and it removes whole old days: this process's
//! purge clears the kept counts, and counts kept longer than [`MAX_AGE`] are counted again,
//! which bounds how long another replica's purge can go unseen.
//!
//! Kept per process (each replica keeps its own): nothing here is state that replicas must
//! share, only a copy of what the database would say again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after a slice ends its counts are taken as final.
pub(crate) const SETTLE_MS: i64 = 60_000;

/// Counts older than this are counted again (see the module's note on the purge).
const MAX_AGE: Duration = Duration::from_secs(3600);

/// How many filters' counts are kept; the least recently made go first.
const MAX_FILTERS: usize = 256;

/// Successes and failures in one slice.
pub(crate) type SliceCounts = (u64, u64);

/// The ended slices' counts, by filter (its conditions other than time) and slice length.
#[derive(Debug, Default)]
pub(crate) struct EndedSlices {
    kept: Mutex<HashMap<(String, i64), Kept>>,
}

/// Consecutive slices of one length, the first starting at `first`.
#[derive(Debug)]
struct Kept {
    first: i64,
    counts: Vec<SliceCounts>,
    /// When the oldest of these counts was read from the database.
    made: Instant,
}

impl EndedSlices {
    /// The kept counts of consecutive `width`-long slices from the one starting at `from`,
    /// with when the oldest was read, or nothing when `from` is not among them.
    pub(crate) fn from(&self, filter: &str, width: i64, from: i64) -> (Vec<SliceCounts>, Instant) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let key = (filter.to_string(), width);
        let Some(k) = kept.get(&key) else {
            return (Vec::new(), Instant::now());
        };
        if k.made.elapsed() > MAX_AGE {
            kept.remove(&key);
            return (Vec::new(), Instant::now());
        }
        let offset = from - k.first;
        if offset < 0 || offset % width != 0 {
            return (Vec::new(), Instant::now());
        }
        let skip = usize::try_from(offset / width).unwrap_or(usize::MAX);
        (k.counts.get(skip..).unwrap_or_default().to_vec(), k.made)
    }

    /// Keeps the counts of consecutive ended slices from the one starting at `first`,
    /// replacing what was kept for the filter and length.
    pub(crate) fn keep(
        &self,
        filter: String,
        width: i64,
        first: i64,
        counts: Vec<SliceCounts>,
        made: Instant,
    ) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let key = (filter, width);
        if counts.is_empty() {
            kept.remove(&key);
            return;
        }
        if kept.len() >= MAX_FILTERS && !kept.contains_key(&key) {
            if let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, k)| k.made)
                .map(|(k, _)| k.clone())
            {
                kept.remove(&oldest);
            }
        }
        kept.insert(
            key,
            Kept {
                first,
                counts,
                made,
            },
        );
    }

    /// Forgets every kept count (events were deleted, or written with past times).
    pub(crate) fn clear(&self) {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_given_from_any_kept_slice_on_and_only_for_the_same_filter_and_length() {
        let slices = EndedSlices::default();
        let made = Instant::now();
        slices.keep("f".into(), 10, 100, vec![(1, 0), (2, 1), (3, 0)], made);
        assert_eq!(slices.from("f", 10, 100).0, vec![(1, 0), (2, 1), (3, 0)]);
        assert_eq!(slices.from("f", 10, 120).0, vec![(3, 0)]);
        assert!(slices.from("f", 10, 130).0.is_empty());
        assert!(
            slices.from("f", 10, 90).0.is_empty(),
            "before the first kept slice"
        );
        assert!(slices.from("f", 10, 105).0.is_empty(), "not a slice start");
        assert!(slices.from("f", 20, 100).0.is_empty(), "another length");
        assert!(slices.from("g", 10, 100).0.is_empty(), "another filter");
        slices.clear();
        assert!(slices.from("f", 10, 100).0.is_empty());
    }

    #[test]
    fn counts_older_than_the_limit_are_counted_again() {
        let slices = EndedSlices::default();
        let Some(long_ago) = Instant::now().checked_sub(MAX_AGE + Duration::from_secs(1)) else {
            return; // a machine up for less than an hour has no such instant
        };
        slices.keep("f".into(), 10, 100, vec![(1, 0)], long_ago);
        assert!(slices.from("f", 10, 100).0.is_empty());
    }

    #[test]
    fn the_oldest_filter_goes_when_too_many_are_kept() {
        let slices = EndedSlices::default();
        let start = Instant::now();
        for i in 0..MAX_FILTERS {
            let made = start + Duration::from_millis(i as u64);
            slices.keep(format!("f{i}"), 10, 0, vec![(1, 0)], made);
        }
        slices.keep(
            "new".into(),
            10,
            0,
            vec![(1, 0)],
            start + Duration::from_secs(1),
        );
        assert!(slices.from("f0", 10, 0).0.is_empty());
        assert_eq!(slices.from("f1", 10, 0).0, vec![(1, 0)]);
        assert_eq!(slices.from("new", 10, 0).0, vec![(1, 0)]);
    }
}
