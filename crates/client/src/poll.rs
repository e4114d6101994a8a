//! The status poller: a small pure state machine, and the clocks that drive it.
//!
//! docs/platform.md §4: ask for an import's status no more than once a second. The [`Poller`] decides
//! how long to wait before the next status request; it never reads a clock itself, so tests
//! drive it with a [`ManualClock`].

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use elma_import_contract::wire;

/// Least time between two status requests: [`wire::MIN_POLL_INTERVAL_MS`].
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(wire::MIN_POLL_INTERVAL_MS);

/// Growth factor of the interval while nothing changes, in percent.
const GROWTH_PERCENT: u32 = 150;

/// How to poll an import's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// Shortest wait between two polls; raised to [`MIN_POLL_INTERVAL`] if below.
    pub min_interval: Duration,
    /// Longest wait the interval grows to while nothing changes (a `Retry-After` may ask
    /// for more).
    pub max_interval: Duration,
    /// Give up this long after the poller started; `None` waits forever.
    pub deadline: Option<Duration>,
    /// Wait before the first poll of an import (no earlier poll to keep a second from, so
    /// it may be shorter than `min_interval`: a small import is then seen done at once).
    pub first_poll: Duration,
}

impl Default for PollPolicy {
    /// 1 s to 10 s, no deadline.
    fn default() -> PollPolicy {
        PollPolicy {
            min_interval: MIN_POLL_INTERVAL,
            max_interval: Duration::from_secs(10),
            deadline: None,
            first_poll: MIN_POLL_INTERVAL,
        }
    }
}

impl PollPolicy {
    /// The policy with `min_interval ≥ 1 s` and `max_interval ≥ min_interval`.
    pub fn clamped(self) -> PollPolicy {
        let min_interval = self.min_interval.max(MIN_POLL_INTERVAL);
        PollPolicy {
            min_interval,
            max_interval: self.max_interval.max(min_interval),
            first_poll: self.first_poll.min(min_interval),
            ..self
        }
    }
}

/// What the last poll saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observation {
    /// Rows processed so far; `None` when the poll got no usable answer.
    pub processed: Option<u64>,
    /// A `Retry-After` the server sent with its answer.
    pub retry_after: Option<Duration>,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollDecision {
    /// Sleep this long, then poll (and report the send time with [`Poller::sent`]).
    Wait(Duration),
    /// The deadline leaves no room for another poll.
    GiveUp,
}

/// Adaptive poll timing. The interval starts at `min_interval`, grows by half after every
/// poll that saw no progress (up to `max_interval`) and falls back to `min_interval` as soon
/// as `processed` moves. A `Retry-After` is a floor. Every wait is measured from the
/// **send time of the last poll**, so no two polls are closer than `min_interval`, however
/// long a poll takes to come back.
///
/// ```
/// use std::time::{Duration, Instant};
/// use elma_import_client::{Observation, PollDecision, PollPolicy, Poller};
/// let t0 = Instant::now();
/// let mut poller = Poller::new(PollPolicy::default(), t0);
/// // The start request counts as the first contact: wait a full second.
/// assert_eq!(poller.next_delay(t0, &Observation::default()), PollDecision::Wait(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone)]
pub struct Poller {
    policy: PollPolicy,
    started: Instant,
    last_sent: Instant,
    interval: Duration,
    last_processed: Option<u64>,
    polled: bool,
}

impl Poller {
    /// A poller whose clock (and deadline) starts at `now`; the first poll comes
    /// `first_poll` later (by default `min_interval`), the rest at least `min_interval`
    /// after the one before.
    pub fn new(policy: PollPolicy, now: Instant) -> Poller {
        let policy = policy.clamped();
        let early = policy.min_interval.saturating_sub(policy.first_poll);
        let last_sent = now.checked_sub(early).unwrap_or(now);
        Poller {
            policy,
            started: now,
            last_sent,
            interval: policy.min_interval,
            last_processed: None,
            polled: false,
        }
    }

    /// The policy in force (clamped).
    pub fn policy(&self) -> PollPolicy {
        self.policy
    }

    /// The interval the next unchanged observation waits.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Records that a poll was sent at `at`.
    pub fn sent(&mut self, at: Instant) {
        self.last_sent = self.last_sent.max(at);
        self.polled = true;
    }

    /// How long to wait, from `now`, before the next poll, given what the last poll saw.
    pub fn next_delay(&mut self, now: Instant, observation: &Observation) -> PollDecision {
        let moved = match (observation.processed, self.last_processed) {
            // Before any poll there is nothing to judge; the first answer shows no trend
            // yet: both keep the shortest interval.
            _ if !self.polled => true,
            (Some(_), None) => true,
            (Some(p), Some(q)) => p != q,
            (None, _) => false,
        };
        if observation.processed.is_some() && self.polled {
            self.last_processed = observation.processed;
        }
        let wait = if moved {
            self.interval = self.policy.min_interval;
            self.interval
        } else {
            let wait = self.interval;
            self.interval = (self.interval * GROWTH_PERCENT / 100)
                .clamp(self.policy.min_interval, self.policy.max_interval);
            wait
        };
        let floor = self.policy.min_interval.max(observation.retry_after.unwrap_or_default());
        let mut next_send = self.last_sent + wait.max(floor);
        if let Some(deadline) = self.policy.deadline {
            let deadline_at = self.started + deadline;
            if now >= deadline_at || self.last_sent + floor > deadline_at {
                return PollDecision::GiveUp;
            }
            next_send = next_send.min(deadline_at);
        }
        PollDecision::Wait(next_send.saturating_duration_since(now))
    }

    /// How long the poller has been running at `now`.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }
}

/// Where time comes from: the real clock in production, a [`ManualClock`] in tests.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Instant;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
    /// The wall-clock time, seconds since the Unix epoch (journal timestamps, temporary
    /// files' ages). The system's clock unless the clock is simulated.
    fn wall(&self) -> f64 {
        system_wall()
    }
}

/// Seconds since the Unix epoch by the system's clock.
pub fn system_wall() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The real clock: `tokio::time`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// A clock that only moves when told to, or when something sleeps on it (the sleep returns
/// at once, having advanced the clock). Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    origin: Instant,
    wall: f64,
    offset: Arc<Mutex<Duration>>,
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock standing at the real current instant.
    pub fn new() -> ManualClock {
        ManualClock {
            origin: Instant::now(),
            wall: system_wall(),
            offset: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        *offset += by;
    }

    /// Time passed since the clock was made.
    pub fn elapsed(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.advance(duration);
        std::future::ready(())
    }

    fn wall(&self) -> f64 {
        self.wall + self.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Duration = Duration::from_secs(1);

    fn obs(processed: Option<u64>) -> Observation {
        Observation { processed, retry_after: None }
    }

    fn wait(d: PollDecision) -> Duration {
        match d {
            PollDecision::Wait(d) => d,
            PollDecision::GiveUp => panic!("gave up"),
        }
    }

    /// Runs the poller like `wait_for_import` does, returning the waits it chose.
    fn drive(policy: PollPolicy, seen: &[Option<u64>]) -> Vec<Duration> {
        let clock = ManualClock::new();
        let mut poller = Poller::new(policy, clock.now());
        let mut waits = vec![];
        let mut last = Observation::default();
        for &processed in seen {
            let d = wait(poller.next_delay(clock.now(), &last));
            waits.push(d);
            clock.advance(d);
            poller.sent(clock.now());
            last = obs(processed);
        }
        waits
    }

    #[test]
    fn interval_grows_while_nothing_changes_and_caps() {
        let waits = drive(PollPolicy::default(), &[Some(0); 10]);
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [1000, 1000, 1000, 1500, 2250, 3375, 5062, 7593, 10000, 10000]);
    }

    #[test]
    fn progress_resets_the_interval_to_min() {
        let seen = [Some(0), Some(0), Some(0), Some(0), Some(10), Some(10), Some(20)];
        let ms: Vec<u128> = drive(PollPolicy::default(), &seen).iter().map(Duration::as_millis).collect();
        // waits before polls 1..=7: the first answer shows no trend (1 s), then growth;
        // poll 6 follows the observation "10" (moved) → 1 s.
        assert_eq!(ms, [1000, 1000, 1000, 1500, 2250, 1000, 1000]);
        // A failed poll (no answer) counts as no progress.
        let ms: Vec<u128> =
            drive(PollPolicy::default(), &[None, None, None]).iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [1000, 1000, 1500]);
    }

    #[test]
    fn min_interval_is_clamped_to_the_platform_limit() {
        let policy = PollPolicy {
            min_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(20),
            deadline: None,
            first_poll: MIN_POLL_INTERVAL,
        };
        assert_eq!(policy.clamped().min_interval, S);
        assert_eq!(policy.clamped().max_interval, S);
        let waits = drive(policy, &[Some(1), Some(2), Some(2), Some(2)]);
        assert!(waits.iter().all(|&w| w == S), "{waits:?}");
    }

    #[test]
    fn wait_counts_from_the_send_time_of_the_last_poll() {
        let clock = ManualClock::new();
        let mut poller = Poller::new(PollPolicy::default(), clock.now());
        clock.advance(Duration::from_millis(400));
        poller.sent(clock.now());
        clock.advance(Duration::from_millis(700)); // the answer took 700 ms
                                                   // Progress → interval 1 s from the send → 300 ms left.
        assert_eq!(
            poller.next_delay(clock.now(), &obs(Some(5))),
            PollDecision::Wait(Duration::from_millis(300))
        );
        clock.advance(Duration::from_secs(5)); // a very slow answer
        assert_eq!(poller.next_delay(clock.now(), &obs(Some(6))), PollDecision::Wait(Duration::ZERO));
    }

    #[test]
    fn retry_after_is_honoured_as_a_floor() {
        let clock = ManualClock::new();
        let mut poller = Poller::new(PollPolicy::default(), clock.now());
        let o = Observation { processed: Some(3), retry_after: Some(Duration::from_secs(7)) };
        assert_eq!(poller.next_delay(clock.now(), &o), PollDecision::Wait(Duration::from_secs(7)));
        // Above max_interval too.
        let o = Observation { processed: None, retry_after: Some(Duration::from_secs(30)) };
        assert_eq!(poller.next_delay(clock.now(), &o), PollDecision::Wait(Duration::from_secs(30)));
    }

    #[test]
    fn deadline_is_respected() {
        let policy = PollPolicy { deadline: Some(Duration::from_secs(5)), ..PollPolicy::default() };
        let clock = ManualClock::new();
        let mut poller = Poller::new(policy, clock.now());
        let mut sends = vec![];
        while let PollDecision::Wait(d) = poller.next_delay(clock.now(), &obs(Some(0))) {
            clock.advance(d);
            sends.push(clock.elapsed());
            poller.sent(clock.now());
            clock.advance(Duration::from_millis(100));
        }
        let ms: Vec<u128> = sends.iter().map(Duration::as_millis).collect();
        // 1, 2, 3, 4.5; a poll at the deadline (5 s) would be under 1 s after the last: give up.
        assert_eq!(ms, [1000, 2000, 3000, 4500]);
        assert!(poller.elapsed(clock.now()) <= Duration::from_secs(6));
        // With room left, the last wait is cut short to land on the deadline.
        let policy = PollPolicy { deadline: Some(Duration::from_secs(8)), ..PollPolicy::default() };
        let clock = ManualClock::new();
        let mut poller = Poller::new(policy, clock.now());
        let mut sends = vec![];
        while let PollDecision::Wait(d) = poller.next_delay(clock.now(), &obs(Some(0))) {
            clock.advance(d);
            sends.push(clock.elapsed().as_millis());
            poller.sent(clock.now());
        }
        assert_eq!(sends, [1000, 2000, 3000, 4500, 6750, 8000]);
        // A Retry-After reaching past the deadline gives up at once.
        let mut poller = Poller::new(policy, clock.now());
        let o = Observation { processed: None, retry_after: Some(Duration::from_secs(9)) };
        assert_eq!(poller.next_delay(clock.now(), &o), PollDecision::GiveUp);
    }

    proptest! {
        #[test]
        fn no_two_polls_closer_than_a_second(
            min_ms in 0u64..3000,
            max_ms in 0u64..20_000,
            first_ms in 0u64..3000,
            deadline_s in proptest::option::of(0u64..120),
            steps in proptest::collection::vec(
                (proptest::option::of(0u64..5), proptest::option::of(0u64..4000), 0u64..3000),
                1..60,
            ),
        ) {
            let policy = PollPolicy {
                min_interval: Duration::from_millis(min_ms),
                max_interval: Duration::from_millis(max_ms),
                deadline: deadline_s.map(Duration::from_secs),
                first_poll: Duration::from_millis(first_ms),
            };
            let clock = ManualClock::new();
            let start = clock.now();
            let mut poller = Poller::new(policy, start);
            let mut processed = 0u64;
            let mut last = Observation::default();
            // The start is no status poll: only the first poll may come sooner than a
            // second after it, and not sooner than `first_poll`.
            let mut sends: Vec<Instant> = Vec::new();
            for (step, retry_after_ms, latency_ms) in steps {
                match poller.next_delay(clock.now(), &last) {
                    PollDecision::Wait(d) => clock.advance(d),
                    PollDecision::GiveUp => {
                        prop_assert!(policy.deadline.is_some(), "gave up without a deadline");
                        break;
                    }
                }
                let sent = clock.now();
                poller.sent(sent);
                sends.push(sent);
                clock.advance(Duration::from_millis(latency_ms));
                let retry_after = retry_after_ms.map(Duration::from_millis);
                last = match step {
                    Some(add) => { processed += add; Observation { processed: Some(processed), retry_after } }
                    None => Observation { processed: None, retry_after },
                };
            }
            let min = Duration::from_millis(min_ms).max(MIN_POLL_INTERVAL);
            if let Some(first) = sends.first() {
                prop_assert!(*first - start >= policy.clamped().first_poll.min(min));
            }
            for pair in sends.windows(2) {
                prop_assert!(pair[1] - pair[0] >= min, "{:?}", pair[1] - pair[0]);
            }
            if let Some(deadline) = policy.deadline {
                for s in &sends {
                    prop_assert!(*s - start <= deadline);
                }
            }
        }
    }

    #[test]
    fn an_early_first_poll_keeps_later_polls_a_second_apart() {
        let t0 = Instant::now();
        let policy = PollPolicy { first_poll: Duration::from_millis(200), ..PollPolicy::default() };
        let mut poller = Poller::new(policy, t0);
        let first = match poller.next_delay(t0, &Observation::default()) {
            PollDecision::Wait(d) => d,
            PollDecision::GiveUp => panic!("gave up"),
        };
        assert_eq!(first, Duration::from_millis(200));
        let sent = t0 + first;
        poller.sent(sent);
        let second = match poller.next_delay(sent, &Observation { processed: Some(0), retry_after: None }) {
            PollDecision::Wait(d) => d,
            PollDecision::GiveUp => panic!("gave up"),
        };
        assert!(second >= MIN_POLL_INTERVAL, "second poll only {second:?} after the first");
        let below = PollPolicy { first_poll: Duration::from_secs(5), ..PollPolicy::default() }.clamped();
        assert_eq!(
            below.first_poll, MIN_POLL_INTERVAL,
            "the first poll never waits longer than the interval"
        );
    }
}
