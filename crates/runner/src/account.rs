//! Where one execution's time went: uploads, waits on the platform, pauses, blocked.

use std::time::{Duration, Instant};

/// Time and its accounting in one execution.
#[derive(Debug, Default, Clone, Copy)]
pub struct Accounting {
    /// Uploads made.
    pub uploads: u32,
    /// Waiting for a blocked app.
    pub blocked: Duration,
    /// Pauses between imports.
    pub paused: Duration,
    /// Waiting on the network, the platform, polls or pauses; waits that overlap (polling
    /// while the next chunk uploads) count once.
    pub waiting: Duration,
    /// Validating and writing chunk files.
    pub prepare: Duration,
    /// Chunks settled by looking their rows up or by the user's word.
    pub settled: u32,
    /// Waits in progress.
    waits: u32,
    /// Since when one has been.
    waiting_since: Option<Instant>,
}

impl Accounting {
    /// The accounting of an execution whose preparation took `prepare`.
    pub fn with_prepare(prepare: Duration) -> Accounting {
        Accounting { prepare, ..Accounting::default() }
    }

    /// A wait begins at `now`.
    pub fn begin_wait(&mut self, now: Instant) {
        if self.waits == 0 {
            self.waiting_since = Some(now);
        }
        self.waits += 1;
    }

    /// A wait ends at `now`; the time counts once all overlapping waits ended.
    pub fn end_wait(&mut self, now: Instant) {
        self.waits = self.waits.saturating_sub(1);
        if self.waits == 0 {
            if let Some(since) = self.waiting_since.take() {
                self.waiting += now.saturating_duration_since(since);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_waits_count_once() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut a = Accounting::default();
        a.begin_wait(s(0));
        a.begin_wait(s(1));
        a.end_wait(s(2));
        a.end_wait(s(3));
        a.begin_wait(s(10));
        a.end_wait(s(11));
        assert_eq!(a.waiting, Duration::from_secs(4));
    }
}
