//! `--pause auto`: the pause between imports, learned from how fast the platform imports.
//!
//! With event handlers on, every imported row queues a handler job, and a platform whose
//! queue is still busy imports more slowly (the emulator models it as
//! `rows_per_sec / (1 + queue / 1000)`). So the import's own throughput is the platform's
//! signal of a backlog, and [`Pacer`] turns it into the next pause, like TCP Vegas turns
//! round-trip times into a congestion window:
//!
//! * After each chunk, the runner reports the chunk's rows and its import throughput
//!   (the rows processed by the first status poll, placed by [`Pacer::first_poll`], over
//!   the time since the start request; see `step::wait`). The pacer keeps
//!   the **best** throughput the app has shown and computes the **congestion**
//!   `c = best / throughput − 1`: 0 when the import ran at full speed, growing with the
//!   backlog it ran into.
//! * `c ≤ 0.05` (**fast**): the queue was empty when the import began, so the pause may
//!   be longer than the queue needs. It shrinks: to a quarter per chunk until the first
//!   slowdown is seen (the *probe*, so a far too long starting pause is unlearned in a
//!   few chunks), then by 10 % per chunk, 20 % after three fast chunks in a row.
//! * `0.05 < c ≤ 0.15` (**steady**): a small standing backlog, so the handlers never
//!   idle and the queue stays short. The pause holds.
//! * `c > 0.15` (**slow**): the backlog grows. The pause grows at once, in proportion:
//!   `pause × (1 + 3c)`, at most tripled, so a queue building up is drained before the
//!   next import and never reaches much more than one chunk on top of the next.
//!
//! The pause always stays within `min` and `max`. The pacer is a pure state machine: no
//! clock, no I/O; the runner measures and sleeps. Its state is serde-serializable, so the
//! journal can keep it and a resumed run continues with the learned pause.
//!
//! [`simulate`] runs a pacer (or a fixed pause) against a model of the emulator's queue;
//! the tests and the pacing benchmark use it.
//!
//! ```
//! use std::time::Duration;
//! use elma_import_runner::pace::{Pacer, Verdict};
//!
//! let mut pacer = Pacer::new(Duration::from_secs(20), Duration::from_secs(1), Duration::from_secs(300));
//! assert_eq!(pacer.observe(1000, 1400.0).verdict, Verdict::First);
//! // Full speed again: the queue had drained, so the pause shrinks.
//! let d = pacer.observe(1000, 1400.0);
//! assert_eq!(d.verdict, Verdict::Fast);
//! assert!(d.pause < Duration::from_secs(20));
//! // A third slower: a backlog; the pause grows at once.
//! let before = d.pause;
//! let d = pacer.observe(1000, 1050.0);
//! assert_eq!(d.verdict, Verdict::Slow);
//! assert!(d.pause > before);
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Congestion at or below which an import counts as full speed.
pub const FAST_BELOW: f64 = 0.05;
/// Congestion above which an import counts as slowed by a backlog.
pub const SLOW_ABOVE: f64 = 0.15;
/// How strongly the pause grows with congestion: `pause × (1 + GAIN × c)`.
const GAIN: f64 = 3.0;
/// The most the pause grows after one chunk.
const MAX_GROWTH: f64 = 3.0;
/// Shrink factor per fast chunk while probing (before the first slowdown).
const PROBE_SHRINK: f64 = 0.25;
/// Shrink factor per fast chunk after the first slowdown.
const SHRINK: f64 = 0.9;
/// Shrink factor once [`LONG_STREAK`] fast chunks came in a row.
const STREAK_SHRINK: f64 = 0.8;
/// Fast chunks in a row after which the pause shrinks faster.
const LONG_STREAK: u32 = 3;

/// Which pause a run keeps between imports (with event handlers on).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PauseMode {
    /// The same pause after every chunk: `--pause`, else the plan's default.
    #[default]
    Fixed,
    /// A [`Pacer`] learns the pause from the imports' throughput, starting at the fixed
    /// pause and kept within the bounds.
    Auto {
        /// The shortest pause allowed, seconds.
        min_secs: f64,
        /// The longest pause allowed, seconds.
        max_secs: f64,
    },
}

impl PauseMode {
    /// Default `--min-pause` of `--pause auto`.
    pub const DEFAULT_MIN: Duration = Duration::from_secs(1);
    /// Default `--max-pause` of `--pause auto`.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(600);

    /// `--pause auto` within `min..=max` (a `max` below `min` is raised to it).
    pub fn auto(min: Duration, max: Duration) -> PauseMode {
        PauseMode::Auto { min_secs: min.as_secs_f64(), max_secs: max.as_secs_f64().max(min.as_secs_f64()) }
    }

    /// Whether the pacer decides.
    pub fn is_auto(&self) -> bool {
        matches!(self, PauseMode::Auto { .. })
    }

    /// The bounds of an auto pause.
    pub fn bounds(&self) -> Option<(Duration, Duration)> {
        match *self {
            PauseMode::Fixed => None,
            PauseMode::Auto { min_secs, max_secs } => Some((secs_or_zero(min_secs), secs_or_zero(max_secs))),
        }
    }
}

fn secs_or_zero(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

/// What one observation was judged to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The first usable observation: it sets the best throughput; the pause is kept.
    First,
    /// Full speed: the pause shrinks.
    Fast,
    /// A small backlog: the pause holds.
    Steady,
    /// Slowed by a backlog: the pause grows.
    Slow,
    /// Unusable input (no rows, or a throughput that is not a positive number): the
    /// pause is kept.
    Ignored,
}

impl Verdict {
    /// `first`, `fast`, `steady`, `slow` or `ignored`, for journals and progress lines.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::First => "first",
            Verdict::Fast => "fast",
            Verdict::Steady => "steady",
            Verdict::Slow => "slow",
            Verdict::Ignored => "ignored",
        }
    }
}

/// One decision of the pacer: the pause before the next import, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The pause to wait before the next import.
    #[serde(with = "secs")]
    pub pause: Duration,
    /// The observed throughput, rows per second.
    pub rows_per_sec: f64,
    /// The best throughput seen so far (including this one), rows per second.
    pub best_rows_per_sec: f64,
    /// `best / observed − 1` (0 for the first or an ignored observation).
    pub congestion: f64,
    /// What the observation was judged to be.
    pub verdict: Verdict,
}

impl Decision {
    /// Why the pause is what it is, for progress lines: `imports at full speed`,
    /// `imports 24 % slower: a handler backlog`, ….
    pub fn reason(&self) -> String {
        match self.verdict {
            Verdict::First => format!("first import measured, {:.0} rows/s", self.rows_per_sec),
            Verdict::Fast => "imports at full speed".to_string(),
            Verdict::Steady => {
                format!("imports {:.0} % slower: a short backlog, holding", self.slowdown_pct())
            }
            Verdict::Slow => format!("imports {:.0} % slower: a handler backlog", self.slowdown_pct()),
            Verdict::Ignored => "no throughput measured, holding".to_string(),
        }
    }

    /// How much slower than the best the import ran, percent.
    fn slowdown_pct(&self) -> f64 {
        100.0 * (1.0 - 1.0 / (1.0 + self.congestion.max(0.0)))
    }
}

/// The auto-pacing controller; see the [module docs](self) for the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pacer {
    /// The current pause, seconds.
    pause_secs: f64,
    /// The shortest pause allowed, seconds.
    min_secs: f64,
    /// The longest pause allowed, seconds.
    max_secs: f64,
    /// The best throughput seen, rows per second; `None` before the first observation.
    best_rows_per_sec: Option<f64>,
    /// Whether a slowdown has been seen (the probe is over).
    probed: bool,
    /// Fast chunks in a row.
    fast_streak: u32,
}

impl Pacer {
    /// A pacer starting at `initial` (clamped into `min..=max`; the plan's fixed pause is
    /// a good start). A `max` below `min` is raised to `min`.
    pub fn new(initial: Duration, min: Duration, max: Duration) -> Pacer {
        let min_secs = min.as_secs_f64();
        let max_secs = max.as_secs_f64().max(min_secs);
        Pacer {
            pause_secs: initial.as_secs_f64().clamp(min_secs, max_secs),
            min_secs,
            max_secs,
            best_rows_per_sec: None,
            probed: false,
            fast_streak: 0,
        }
    }

    /// The same learned state within new bounds (a resume may ask for other ones); the
    /// pause is clamped into them.
    pub fn with_bounds(mut self, min: Duration, max: Duration) -> Pacer {
        self.min_secs = min.as_secs_f64();
        self.max_secs = max.as_secs_f64().max(self.min_secs);
        self.set(self.pause_secs);
        self
    }

    /// The bounds in force: (shortest, longest) pause.
    pub fn bounds(&self) -> (Duration, Duration) {
        (secs_or_zero(self.min_secs), secs_or_zero(self.max_secs))
    }

    /// The pause to wait before the next import.
    pub fn pause(&self) -> Duration {
        Duration::from_secs_f64(self.pause_secs)
    }

    /// The best throughput seen so far, rows per second.
    pub fn best_rows_per_sec(&self) -> Option<f64> {
        self.best_rows_per_sec
    }

    /// When to poll an import of `rows` first: at 90 % of the time it takes at the best
    /// throughput seen (`None` before the first observation). A runner that learns of
    /// an import's progress only from status polls (≥ 1 s apart) should measure the
    /// throughput there: `processed` rows over the time to this poll, or, when the
    /// import is already done, its rows over that time (which only raises the best and
    /// so brings the next first poll earlier). Measured at later polls, a short import's
    /// throughput is rounded to whole poll intervals, and every import looks alike.
    pub fn first_poll(&self, rows: u64) -> Option<Duration> {
        let best = self.best_rows_per_sec?;
        Duration::try_from_secs_f64(0.9 * rows as f64 / best).ok()
    }

    /// Takes one chunk's result (`rows` imported at `rows_per_sec`) and decides the
    /// pause before the next import.
    pub fn observe(&mut self, rows: u64, rows_per_sec: f64) -> Decision {
        let usable = rows > 0 && rows_per_sec.is_finite() && rows_per_sec > 0.0;
        let Some(best) = self.best_rows_per_sec.filter(|_| usable) else {
            let verdict = if usable {
                self.best_rows_per_sec = Some(rows_per_sec);
                Verdict::First
            } else {
                Verdict::Ignored
            };
            return self.decision(rows_per_sec, 0.0, verdict);
        };
        let best = best.max(rows_per_sec);
        self.best_rows_per_sec = Some(best);
        let congestion = best / rows_per_sec - 1.0;
        let verdict = if congestion <= FAST_BELOW {
            self.fast_streak += 1;
            let factor = if !self.probed {
                PROBE_SHRINK
            } else if self.fast_streak > LONG_STREAK {
                STREAK_SHRINK
            } else {
                SHRINK
            };
            self.set(self.pause_secs * factor);
            Verdict::Fast
        } else if congestion <= SLOW_ABOVE {
            self.fast_streak = 0;
            Verdict::Steady
        } else {
            self.fast_streak = 0;
            self.probed = true;
            self.set(self.pause_secs * (1.0 + GAIN * congestion).min(MAX_GROWTH));
            Verdict::Slow
        };
        self.decision(rows_per_sec, congestion, verdict)
    }

    fn set(&mut self, secs: f64) {
        self.pause_secs = secs.clamp(self.min_secs, self.max_secs);
    }

    fn decision(&self, rows_per_sec: f64, congestion: f64, verdict: Verdict) -> Decision {
        Decision {
            pause: self.pause(),
            rows_per_sec,
            best_rows_per_sec: self.best_rows_per_sec.unwrap_or(0.0),
            congestion,
            verdict,
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// A model of the platform for [`simulate`]: the emulator's import and handler queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Platform {
    /// Rows per second an import runs at with an empty queue.
    pub rows_per_sec: f64,
    /// Handler jobs per second the queue drains.
    pub handler_rate: f64,
    /// Queue depth at which imports run at half speed (the emulator's 1,000).
    pub slowdown_depth: f64,
}

impl Platform {
    /// The emulator's model: `rows_per_sec / (1 + queue / 1000)`.
    pub fn emulator(rows_per_sec: f64, handler_rate: f64) -> Platform {
        Platform { rows_per_sec, handler_rate, slowdown_depth: 1000.0 }
    }
}

/// How the simulated runner measures an import's throughput.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seen {
    /// Exactly: rows over the import's duration.
    Exactly,
    /// At status polls, the first at `first` seconds after the start, then every
    /// `every` seconds; the throughput is the rows over the time to the poll that saw
    /// the import done. Coarse when imports are short: every import that ends between
    /// two polls looks alike.
    Polled {
        /// Seconds from the start to the first poll.
        first: f64,
        /// Seconds between later polls.
        every: f64,
    },
    /// As the runner should measure: the first poll at `lead` (a share) before
    /// [`Pacer::first_poll`]'s expected end (at `first` seconds while nothing is known),
    /// and the throughput is the rows processed by that poll over its time; rows over
    /// the time to the first poll when the import was done by then (a lower bound,
    /// which then moves the next first poll earlier).
    FirstPoll {
        /// Seconds to the first poll while no import has been seen.
        first: f64,
        /// Seconds between later polls.
        every: f64,
    },
}

/// How [`simulate`] paces.
#[derive(Debug, Clone, PartialEq)]
pub enum Pacing {
    /// The same pause after every chunk.
    Fixed(Duration),
    /// The pacer decides.
    Auto(Pacer),
}

/// What a simulated run came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimReport {
    /// From the first start to the end of the last import, seconds.
    pub wall_secs: f64,
    /// Until the handler queue is empty after the last import, seconds.
    pub drained_secs: f64,
    /// The ideal: `rows / handler_rate`, seconds.
    pub ideal_secs: f64,
    /// The deepest the handler queue got, jobs.
    pub peak_queue: f64,
    /// Chunks imported.
    pub chunks: u64,
    /// The pause in force at the end, seconds.
    pub last_pause_secs: f64,
}

/// Runs `rows` in chunks of `rows_per_chunk` against `platform`, pacing as asked: each
/// import adds a handler job per row while the queue drains at the handler rate and
/// slows the import; the runner sees it end as `seen` says, and a pause follows each
/// chunk but the last. Deterministic (5 ms steps while importing; pauses are drained in
/// one step).
pub fn simulate(
    platform: &Platform,
    rows: u64,
    rows_per_chunk: u64,
    seen: Seen,
    mut pacing: Pacing,
) -> SimReport {
    const DT: f64 = 0.005;
    let per_chunk = rows_per_chunk.max(1);
    let drain = platform.handler_rate.max(0.0);
    let (mut t, mut queue, mut peak) = (0.0f64, 0.0f64, 0.0f64);
    let mut left = rows;
    let mut chunks = 0;
    let mut pause_secs = 0.0;
    while left > 0 {
        let size = left.min(per_chunk);
        left -= size;
        chunks += 1;
        let started = t;
        let first_poll = match (seen, &pacing) {
            (Seen::Exactly, _) => f64::INFINITY,
            (Seen::Polled { first, .. }, _) => first,
            (Seen::FirstPoll { first, .. }, Pacing::Auto(p)) => {
                p.first_poll(size).map_or(first, |d| d.as_secs_f64())
            }
            (Seen::FirstPoll { first, .. }, Pacing::Fixed(_)) => first,
        };
        let mut done = 0.0f64;
        let mut done_at_first_poll = None;
        while done < size as f64 {
            if done_at_first_poll.is_none() && t - started >= first_poll {
                done_at_first_poll = Some(done);
            }
            let rate = platform.rows_per_sec / (1.0 + queue / platform.slowdown_depth);
            let step = (rate * DT).min(size as f64 - done);
            done += step;
            queue = (queue + step - drain * DT).max(0.0);
            peak = peak.max(queue);
            t += DT;
        }
        let took = t - started;
        // When the runner learns of the end (the queue drains meanwhile), and the
        // throughput it measures.
        let (seen_after, throughput) = match seen {
            Seen::Exactly => (took, size as f64 / took),
            Seen::Polled { every, .. } | Seen::FirstPoll { every, .. } => {
                let first = first_poll;
                let seen_after = if took <= first {
                    first
                } else {
                    first + ((took - first) / every.max(1e-3)).ceil() * every.max(1e-3)
                };
                let throughput = match (seen, done_at_first_poll) {
                    (Seen::FirstPoll { .. }, Some(rows)) if rows > 0.0 => rows / first,
                    _ => size as f64 / seen_after,
                };
                (seen_after, throughput)
            }
        };
        queue = (queue - drain * (seen_after - took)).max(0.0);
        t = started + seen_after;
        if left == 0 {
            break;
        }
        pause_secs = match &mut pacing {
            Pacing::Fixed(p) => p.as_secs_f64(),
            Pacing::Auto(pacer) => pacer.observe(size, throughput).pause.as_secs_f64(),
        };
        t += pause_secs;
        queue = (queue - drain * pause_secs).max(0.0);
    }
    let drained_secs = if drain > 0.0 { t + queue / drain } else { f64::INFINITY };
    SimReport {
        wall_secs: t,
        drained_secs,
        ideal_secs: if drain > 0.0 { rows as f64 / drain } else { f64::INFINITY },
        peak_queue: peak,
        chunks,
        last_pause_secs: pause_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn pacer(initial: f64) -> Pacer {
        Pacer::new(secs(initial), secs(1.0), secs(300.0))
    }

    #[test]
    fn full_speed_shrinks_fast_until_the_first_slowdown_then_gently() {
        let mut p = pacer(160.0);
        p.observe(1000, 1000.0);
        assert_eq!(p.observe(1000, 1000.0).pause, secs(40.0));
        assert_eq!(p.observe(1000, 990.0).pause, secs(10.0), "1 % slower is still full speed");
        let slow = p.observe(1000, 700.0);
        assert_eq!(slow.verdict, Verdict::Slow);
        let after = slow.pause.as_secs_f64();
        let next = p.observe(1000, 1000.0).pause.as_secs_f64();
        assert!((next - after * 0.9).abs() < 1e-9, "{after} → {next}");
    }

    #[test]
    fn a_slowdown_grows_the_pause_in_proportion_and_at_most_threefold() {
        let mut p = pacer(10.0);
        p.observe(1000, 1000.0);
        // c = 1000/800 − 1 = 0.25 → × 1.75
        let d = p.observe(1000, 800.0);
        assert!((d.congestion - 0.25).abs() < 1e-9);
        assert!((d.pause.as_secs_f64() - 17.5).abs() < 1e-9, "{:?}", d.pause);
        // c = 4 → capped at × 3
        let d = p.observe(1000, 200.0);
        assert!((d.pause.as_secs_f64() - 52.5).abs() < 1e-9, "{:?}", d.pause);
    }

    #[test]
    fn a_small_backlog_holds_the_pause() {
        let mut p = pacer(10.0);
        p.observe(1000, 1000.0);
        let d = p.observe(1000, 1000.0 / 1.1);
        assert_eq!(d.verdict, Verdict::Steady);
        assert_eq!(d.pause, secs(10.0));
    }

    #[test]
    fn a_faster_import_raises_the_best_and_counts_as_fast() {
        let mut p = pacer(10.0);
        p.observe(1000, 500.0);
        let d = p.observe(1000, 900.0);
        assert_eq!(d.verdict, Verdict::Fast);
        assert_eq!(d.best_rows_per_sec, 900.0);
        assert_eq!(p.observe(1000, 600.0).verdict, Verdict::Slow, "judged against the new best");
    }

    #[test]
    fn bounds_hold_both_ways() {
        let mut p = Pacer::new(secs(5.0), secs(2.0), secs(8.0));
        p.observe(1000, 1000.0);
        for _ in 0..10 {
            p.observe(1000, 1000.0);
        }
        assert_eq!(p.pause(), secs(2.0));
        for _ in 0..10 {
            p.observe(1000, 100.0);
        }
        assert_eq!(p.pause(), secs(8.0));
        assert_eq!(Pacer::new(secs(100.0), secs(2.0), secs(8.0)).pause(), secs(8.0));
        assert_eq!(Pacer::new(secs(0.0), secs(2.0), secs(1.0)).pause(), secs(2.0), "max raised to min");
    }

    #[test]
    fn unusable_observations_change_nothing() {
        let mut p = pacer(10.0);
        for (rows, rate) in [(0, 100.0), (1000, 0.0), (1000, f64::NAN), (1000, f64::INFINITY), (1000, -1.0)] {
            let before = p.clone();
            assert_eq!(p.observe(rows, rate).verdict, Verdict::Ignored);
            assert_eq!(p, before);
        }
        assert_eq!(p.observe(1000, 100.0).verdict, Verdict::First);
        let before = p.clone();
        assert_eq!(p.observe(1000, f64::NAN).verdict, Verdict::Ignored);
        assert_eq!(p, before);
    }

    #[test]
    fn state_survives_a_round_trip_through_json() {
        let mut p = pacer(20.0);
        p.observe(1000, 1000.0);
        p.observe(1000, 600.0);
        p.observe(1000, 1000.0);
        let json = serde_json::to_string(&p).unwrap();
        let mut back: Pacer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.observe(1000, 1000.0), p.observe(1000, 1000.0));
        let d = serde_json::to_value(p.observe(1000, 500.0)).unwrap();
        assert_eq!(d["verdict"], "slow");
        assert!(d["pause"].as_f64().unwrap() > 0.0);
    }

    /// The pacing target of issue 9 against the emulator's model: wall ≤ 1.25 × ideal and
    /// the queue's peak ≤ 1.5 chunks, from the plan's default start (1,000 rows at 50/s).
    #[test]
    fn auto_pacing_keeps_near_ideal_with_a_short_queue() {
        let polled = Seen::FirstPoll { first: 0.6, every: 1.0 };
        for (rate, seen) in [25.0, 100.0, 400.0].into_iter().flat_map(|r| [(r, Seen::Exactly), (r, polled)]) {
            let platform = Platform::emulator(2000.0, rate);
            let auto = Pacing::Auto(Pacer::new(secs(20.0), secs(1.0), secs(600.0)));
            let r = simulate(&platform, 100_000, 1000, seen, auto);
            let ratio = r.wall_secs / r.ideal_secs;
            assert!(
                ratio <= 1.25,
                "{rate}/s: wall {:.0} s = {ratio:.2} × ideal {:.0} s",
                r.wall_secs,
                r.ideal_secs
            );
            assert!(r.peak_queue <= 1500.0, "{rate}/s: queue peaked at {:.0}", r.peak_queue);
        }
    }

    #[test]
    fn the_fixed_default_misses_both_ways() {
        let fixed = || Pacing::Fixed(secs(20.0));
        let slow = simulate(&Platform::emulator(2000.0, 25.0), 100_000, 1000, Seen::Exactly, fixed());
        assert!(slow.peak_queue > 10_000.0, "a slow platform floods: {slow:?}");
        let fast = simulate(&Platform::emulator(2000.0, 400.0), 100_000, 1000, Seen::Exactly, fixed());
        assert!(fast.wall_secs > 5.0 * fast.ideal_secs, "a fast one waits: {fast:?}");
    }

    #[test]
    fn the_first_poll_comes_just_before_the_expected_end() {
        let mut p = pacer(10.0);
        assert_eq!(p.first_poll(1000), None);
        p.observe(1000, 2000.0);
        assert_eq!(p.first_poll(1000), Some(secs(0.45)));
    }

    #[test]
    fn coarse_polls_blind_the_pacer_and_the_first_poll_does_not() {
        let platform = Platform::emulator(2000.0, 25.0);
        let auto = || Pacing::Auto(Pacer::new(secs(20.0), secs(1.0), secs(600.0)));
        let coarse = simulate(&platform, 50_000, 1000, Seen::Polled { first: 0.6, every: 1.0 }, auto());
        assert!(coarse.peak_queue > 2000.0, "every import looks alike: {coarse:?}");
        let first = simulate(&platform, 50_000, 1000, Seen::FirstPoll { first: 0.6, every: 1.0 }, auto());
        assert!(first.peak_queue <= 1500.0, "{first:?}");
    }

    #[test]
    fn the_model_matches_the_emulators_slowdown() {
        // No handlers running: one chunk at full speed.
        let r =
            simulate(&Platform::emulator(2000.0, 0.0), 1000, 1000, Seen::Exactly, Pacing::Fixed(secs(1.0)));
        // The chunk queues its own rows as it goes, so it slows itself: ∫ dq (1 + q/1000) / 2000
        // from 0 to 1000 = 0.75 s.
        assert!((r.wall_secs - 0.75).abs() < 0.01, "{r:?}");
        assert!((r.peak_queue - 1000.0).abs() < 1e-6);
    }
}
