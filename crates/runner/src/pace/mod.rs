//! `--pause auto`: the pause between imports, computed from a model of the platform that
//! each import's throughput updates. The controller is specified in `docs/pacing.md`;
//! in short:
//!
//! * With event handlers on, every imported row queues a handler job, and a platform
//!   whose queue is busy imports more slowly. The runner polls each import once at a
//!   fixed point of its course ([`Pacer::first_poll`]) and hands the pacer what it saw
//!   ([`Pacer::observe_poll`]). The first import sets the reference speed (an empty
//!   queue); any later one's reading converts into the **backlog** it began with.
//! * Between two imports the queue gains the first one's rows and loses what the
//!   handlers did meanwhile, so two backlogs and the time between the two starts give
//!   the **handler rate** (a mass balance). A reading that cannot tell the queue from
//!   empty only bounds the rate from below.
//! * Until a backlog has been measured the pause **descends**: each step is as short as
//!   the slowest handler rate consistent with what was seen allows without leaving more
//!   than half a chunk queued, so a step too far shows in the very next import. From the
//!   first measured backlog on, the pause is **computed**: the time the handlers need for
//!   the import's rows and part of the gap between the backlog and a small standing
//!   backlog, minus the time the import and its polls took.
//!
//! The pause always stays within `min` and `max`. The pacer is a pure state machine: no
//! clock, no I/O; the runner measures and sleeps. Its decisions depend only on the polls
//! it was given, so [`Pacer::replay`] rebuilds it from a journal's polls. A simulation of
//! the emulator, behind the `sim` feature, serves the tests and the pacing benchmark.
//!
//! ```
//! use std::time::Duration;
//! use elma_import_runner::pace::{Pacer, Poll, Verdict};
//!
//! let secs = Duration::from_secs_f64;
//! let mut pacer = Pacer::new(secs(20.0), secs(1.0), secs(600.0));
//! // The first import: 700 of 1,000 rows by the poll 0.5 s after the start request.
//! let d = pacer.observe_poll(Poll { rows: 1000, processed: 700, secs: 0.5, finished: false });
//! assert_eq!(d.verdict, Verdict::First);
//! assert_eq!(pacer.first_poll(1000), Some(secs(0.5)));
//! // Full speed again after the 20 s pause: the queue had drained, so the pause shrinks.
//! let d = pacer.observe_poll(Poll { rows: 1000, processed: 700, secs: 0.5, finished: false });
//! assert_eq!(d.verdict, Verdict::Fast);
//! assert!(d.pause < secs(20.0));
//! // A third slower: the import began with a backlog; the pause is computed from it.
//! let d = pacer.observe_poll(Poll { rows: 1000, processed: 525, secs: 0.5, finished: false });
//! assert_eq!(d.verdict, Verdict::Slow);
//! assert!(d.handler_rate > 0.0 && d.backlog > 300.0);
//! ```

mod model;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use model::{backlog, Anchor, HandlerRate, Reference, Spread};
pub use model::{POLL_INTERVAL, SLOWDOWN_DEPTH};

/// The handler rate a decision uses is the mass balance with this many reading
/// spreads fewer jobs drained: the doubt of the readings, which fades as the time
/// measured grows.
const DOUBT: f64 = 1.0;
/// The standing backlog the computed pause aims at, as a share of the import's rows
/// (but clear of what a reading cannot tell from empty, twice its spread, and at most
/// [`TARGET_MOST`]): enough that the handlers never idle and every reading measures the
/// queue, little enough that an import never meets more than half a chunk.
pub const TARGET_SHARE: f64 = 0.25;
/// The most the standing backlog aimed at may be, as a share of the import's rows.
pub const TARGET_MOST: f64 = 0.35;
/// The share of the gap between the backlog met and the target one pause closes.
const APPROACH: f64 = 0.6;
/// How much the measured handler rate is raised when the queue ran empty where the
/// model had it busy.
const RAISE: f64 = 1.2;
/// How far the backlog a decision uses moves from the model's expectation towards the
/// reading.
const BLEND: f64 = 0.5;
/// The most a descending step may leave queued for the next import, as a share of the
/// import's rows, were the handlers as slow as what was seen allows.
const DESCENT_LEAVES: f64 = 0.4;
/// How much later than the import's expected end its last poll may come: the runner
/// polls a second after the first answer until one says done.
const END_MARGIN: f64 = 1.1;
/// Where an import is polled when the pace is quick: a little after such an import
/// would end, so it is seen done at once.
const END_POINT: f64 = 1.1;
/// How many spreads squared a cold first import's reading may be off by, beside a
/// reading's own.
const COLD: f64 = 5.0;
/// The most the anchor may correct a reading by, as a share of the import's rows.
const ANCHOR_MOST: f64 = 0.5;
/// The most one decision may grow the cycle, from one import's start to the next.
const MAX_GROWTH: f64 = 3.0;
/// The share of the way the mean busy time moves towards each import's.
const BUSY_FOLLOW: f64 = 0.3;
/// How much earlier the measuring poll moves when an import was already done by it.
const EARLIER: f64 = 0.7;

/// Which pause a run keeps between imports (with event handlers on).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PauseMode {
    /// The same pause after every chunk: `--pause`, else the plan's default.
    #[default]
    Fixed,
    /// A [`Pacer`] computes the pause from the imports' throughput, starting at the
    /// fixed pause and kept within the bounds.
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
    /// The first usable observation: it sets the reference speed; the pause is kept.
    First,
    /// The queue was (as far as a reading can tell) empty when the import began: the
    /// pause shrinks.
    Fast,
    /// A backlog about the standing one aimed at: the pause holds the pace.
    Steady,
    /// A backlog above the standing one: the pause grows to drain it.
    Slow,
    /// Written by the controller before this one (a moderate slowdown right after an
    /// import at full speed); no longer decided.
    Unconfirmed,
    /// Unusable input (no rows, or a time that is not a positive number): the pause is
    /// kept and nothing is learned.
    Ignored,
}

impl Verdict {
    /// `first`, `fast`, `steady`, `slow`, `unconfirmed` or `ignored`, for journals and
    /// progress lines.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::First => "first",
            Verdict::Fast => "fast",
            Verdict::Steady => "steady",
            Verdict::Slow => "slow",
            Verdict::Unconfirmed => "unconfirmed",
            Verdict::Ignored => "ignored",
        }
    }
}

/// One decision of the pacer: the pause before the next import, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The pause to wait before the next import.
    #[serde(with = "elma_import_chunk::plan::secs")]
    pub pause: Duration,
    /// The observed throughput, rows per second (rows processed by the poll over its time).
    pub rows_per_sec: f64,
    /// The reference: what an import into an empty queue reads at the same point, rows
    /// per second.
    pub best_rows_per_sec: f64,
    /// `reference / observed − 1`: 0 at full speed, growing with the backlog met (0 for
    /// the first or an ignored observation).
    pub congestion: f64,
    /// What the observation was judged to be.
    pub verdict: Verdict,
    /// The handler queue the import began with, as the model reads it, jobs (0 when the
    /// reading cannot tell it from empty).
    #[serde(default)]
    pub backlog: f64,
    /// The handler rate the model infers, jobs per second (0 before a backlog was
    /// measured: until then only a floor is known).
    #[serde(default)]
    pub handler_rate: f64,
}

impl Decision {
    /// Why the pause is what it is, for progress lines: `imports at full speed`,
    /// `imports 24 % slower: a handler backlog of about 410 jobs, handlers at about
    /// 98/s`, ….
    pub fn reason(&self) -> String {
        let rate = if self.handler_rate > 0.0 {
            format!(", handlers at about {:.0}/s", self.handler_rate)
        } else {
            String::new()
        };
        match self.verdict {
            Verdict::First => format!(
                "first import measured, {} rows/s",
                elma_import_chunk::plan::thousands(self.rows_per_sec.max(0.0).round() as u64)
            ),
            Verdict::Fast => format!("imports at full speed{rate}"),
            Verdict::Steady => format!(
                "imports {:.0} % slower: a short backlog of about {:.0} jobs, holding the pace{rate}",
                self.slowdown_pct(),
                self.backlog
            ),
            Verdict::Slow => format!(
                "imports {:.0} % slower: a handler backlog of about {:.0} jobs{rate}",
                self.slowdown_pct(),
                self.backlog
            ),
            Verdict::Unconfirmed => format!("imports {:.0} % slower once", self.slowdown_pct()),
            Verdict::Ignored => "no throughput measured, holding".to_string(),
        }
    }

    /// How much slower than the reference the import ran, percent.
    fn slowdown_pct(&self) -> f64 {
        100.0 * (1.0 - 1.0 / (1.0 + self.congestion.max(0.0)))
    }
}

/// One import as the runner saw it at its measuring poll, for [`Pacer::observe_poll`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    /// The import's rows.
    pub rows: u64,
    /// Rows processed by the poll.
    pub processed: u64,
    /// Seconds from the start request's send to the poll's send.
    pub secs: f64,
    /// Whether the import was already done (then `processed` is all its rows and the
    /// throughput only a lower bound).
    pub finished: bool,
}

/// The import before the one being observed, as the model needs it for the mass balance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Last {
    /// Its rows.
    rows: f64,
    /// The backlog it began with, as estimated (≥ 0).
    backlog: f64,
    /// At least this backlog (0 when the reading could not tell it from empty).
    low: f64,
    /// At most this backlog, give or take a reading's spread.
    #[serde(default)]
    high: f64,
    /// From its start request to the answer that saw it done, as the model estimates it.
    busy_secs: f64,
    /// The pause decided after it.
    pause_secs: f64,
}

/// What one reading says of the backlog its import began with.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// The best estimate, jobs (≥ 0).
    estimate: f64,
    /// At least this many (0 when the reading cannot tell the queue from empty).
    low: f64,
    /// At most about this many.
    high: f64,
    /// When the reading cannot tell the queue from empty: up to this many may have been
    /// there.
    unseen: f64,
    /// Whether the reading cannot tell the queue from empty.
    empty: bool,
    /// Whether the queue ran empty where the model had it busy.
    surprise: bool,
    /// The backlog a decision uses: part of the way from the model's expectation to the
    /// reading.
    used: f64,
    /// A reading's spread against the reference, jobs.
    sigma: f64,
    /// Twice that: below it a reading cannot tell the queue from empty.
    floor: f64,
}

/// The auto-pacing controller; see the [module docs](self) and `docs/pacing.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pacer {
    /// The current pause, seconds.
    pause_secs: f64,
    /// The shortest pause allowed, seconds.
    min_secs: f64,
    /// The longest pause allowed, seconds.
    max_secs: f64,
    /// Where an import is measured: its first status poll comes this many seconds per
    /// row after its start request. Set by the first import measured, moved earlier
    /// only when an import was already done by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    poll_secs_per_row: Option<f64>,
    /// The speed of an import into an empty queue.
    #[serde(default)]
    reference: Reference,
    /// The handler rate.
    #[serde(default)]
    handlers: HandlerRate,
    /// How far a reading is off.
    #[serde(default)]
    spread: Spread,
    /// The readings since the first import while the queue never ran empty.
    #[serde(default)]
    anchor: Anchor,
    /// Jobs added to every reading: the reference's own error, as the anchor shows it.
    #[serde(default)]
    offset: f64,
    /// The import before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Last>,
    /// Whether the next import is polled at its expected end rather than at the
    /// measuring point.
    #[serde(default)]
    poll_at_end: bool,
    /// From an import's start request to the answer that saw it done, as the model
    /// estimates it, averaged over the recent imports (for [`Pacer::expected_pause`]).
    #[serde(default)]
    busy_mean: f64,
    /// While the pause descends: the span, seconds, within which the queue is known to
    /// have run empty in the last cycle (its pause, as long as the recent busy time
    /// leaves), for [`Pacer::expected_pause`]; 0 otherwise.
    #[serde(default)]
    drained_within: f64,
}

impl Pacer {
    /// A pacer starting at `start` (clamped into `min..=max`; the plan's fixed pause is
    /// a good start). A `max` below `min` is raised to `min`.
    pub fn new(start: Duration, min: Duration, max: Duration) -> Pacer {
        let min_secs = min.as_secs_f64();
        let max_secs = max.as_secs_f64().max(min_secs);
        Pacer {
            pause_secs: start.as_secs_f64().clamp(min_secs, max_secs),
            min_secs,
            max_secs,
            poll_secs_per_row: None,
            reference: Reference::default(),
            handlers: HandlerRate::default(),
            spread: Spread::default(),
            anchor: Anchor::default(),
            offset: 0.0,
            last: None,
            poll_at_end: false,
            busy_mean: 0.0,
            drained_within: 0.0,
        }
    }

    /// The pacer that `polls` fed one by one into [`Pacer::new`]`(start, min, max)`
    /// makes: what a resumed run rebuilds from its journal. Nothing else is needed to
    /// continue identically.
    pub fn replay(
        start: Duration,
        min: Duration,
        max: Duration,
        polls: impl IntoIterator<Item = Poll>,
    ) -> Pacer {
        let mut pacer = Pacer::new(start, min, max);
        for poll in polls {
            pacer.observe_poll(poll);
        }
        pacer
    }

    /// The same learned state within new bounds (a resume may ask for other ones); the
    /// pause is clamped into them.
    pub fn with_bounds(mut self, min: Duration, max: Duration) -> Pacer {
        self.min_secs = min.as_secs_f64();
        self.max_secs = max.as_secs_f64().max(self.min_secs);
        self.pause_secs = self.clamp(self.pause_secs);
        self
    }

    /// The bounds in force: (shortest, longest) pause.
    pub fn bounds(&self) -> (Duration, Duration) {
        (secs_or_zero(self.min_secs), secs_or_zero(self.max_secs))
    }

    /// The pause to wait before the next import.
    pub fn pause(&self) -> Duration {
        secs_or_zero(self.pause_secs)
    }

    /// The pause the controller expects to settle on, from its model of the platform
    /// (docs/pacing.md, "Expected pause"). Once a backlog was measured: the time the
    /// handlers need for a chunk like the last one at the handler rate inferred, less the
    /// time that chunk's import and polls took, within the bounds. While the pause still
    /// descends (every import so far met an empty queue) the handlers are known only to
    /// have drained the chunk before some time within the last cycle; not knowing when,
    /// the expectation takes that time as evenly likely anywhere in the cycle's pause,
    /// and the pause settled on as the time drained after the import, at least the
    /// shortest allowed. Before any observation, and after the first, the pause in force.
    pub fn expected_pause(&self) -> Duration {
        let (Some(last), Some(rate)) = (self.last, self.handlers.rate().filter(|r| *r > 0.0)) else {
            return self.pause();
        };
        if self.handlers.measured() {
            return secs_or_zero(self.clamp(last.rows / rate - self.busy_mean.max(0.0)));
        }
        // The mean of max(min, U(0, span)): (span² + min²) / 2·span, for min < span.
        let (span, min) = (self.drained_within, self.min_secs);
        let mean = if span > min { (span * span + min * min) / (2.0 * span) } else { min };
        secs_or_zero(self.clamp(mean).min(self.pause_secs))
    }

    /// The speed of an import into an empty queue, rows per second, as measured so far.
    pub fn reference_rows_per_sec(&self) -> Option<f64> {
        self.reference.is_set().then(|| self.reference.base(self.handler_rate_or_zero()))
    }

    /// The handler rate inferred so far, jobs per second.
    pub fn handler_rate(&self) -> Option<f64> {
        self.handlers.rate()
    }

    /// When to poll an import of `rows` first, after its start request (docs/pacing.md,
    /// "Where an import is measured"). `None` before the first observation: the runner
    /// then polls as usual, and [`Pacer::observe_poll`] takes that point. Then at the
    /// point the first measured import was polled at (seconds per row; earlier once an
    /// import was done by it), so every import is measured alike; but while the pace is
    /// so quick that the second poll a second later would hold up the next import, just
    /// after an import into an empty queue would end, so such an import is seen done at
    /// once and one slowed by a backlog is measured near its end.
    pub fn first_poll(&self, rows: u64) -> Option<Duration> {
        let n = rows as f64;
        let end = self.import_secs(n);
        let secs = if self.poll_at_end && end > 0.0 && !self.reference.is_bound() {
            END_POINT * end
        } else {
            self.poll_secs_per_row? * n
        };
        Duration::try_from_secs_f64(secs).ok()
    }

    /// Takes one import as seen at its measuring poll and decides the pause before the
    /// next import (docs/pacing.md, "Decisions").
    pub fn observe_poll(&mut self, poll: Poll) -> Decision {
        let Poll { rows, processed, secs, finished } = poll;
        let x = if finished { rows } else { processed.min(rows) } as f64;
        if rows == 0 || x <= 0.0 || !secs.is_finite() || secs <= 0.0 {
            return self.decision(0.0, 0.0, Verdict::Ignored, 0.0);
        }
        let n = rows as f64;
        let at_end = self.poll_at_end;
        if !at_end {
            let per_row = secs / n;
            self.poll_secs_per_row = Some(match (self.poll_secs_per_row, finished) {
                (None, false) => per_row,
                (None, true) => per_row * EARLIER,
                (Some(p), true) => p.min(per_row) * EARLIER,
                (Some(p), false) => p,
            });
        }
        let busy = busy_secs(n, x, secs, finished);
        self.busy_mean =
            if self.busy_mean > 0.0 { self.busy_mean + BUSY_FOLLOW * (busy - self.busy_mean) } else { busy };
        if !self.reference.is_set() {
            self.reference.take(x, secs, finished);
            let last = Last {
                rows: n,
                backlog: 0.0,
                low: 0.0,
                high: 0.0,
                busy_secs: busy,
                pause_secs: self.pause_secs,
            };
            self.last = Some(last);
            return self.decision(x, secs, Verdict::First, 0.0);
        }
        let reading = self.read(x, secs, finished);
        self.balance(&reading);
        let (cycle, verdict) = self.decide(n, &reading, finished && at_end);
        // One reading never more than triples the cycle: a reading off by a counting
        // step and a late start would otherwise hold the pace far too long.
        let before = self.last.map_or(f64::INFINITY, |l| l.busy_secs + l.pause_secs);
        self.pause_secs = self.clamp(cycle.min(MAX_GROWTH * before) - busy);
        self.place_next_poll(n, cycle, reading.empty, at_end);
        let Reading { estimate, low, high, empty, used, .. } = reading;
        // The queue ran empty within the cycle before this import: from the end of the
        // import before (its busy time) to this start.
        self.drained_within = match self.last {
            Some(l) if empty && !self.handlers.measured() => (l.busy_secs + l.pause_secs - busy).max(0.0),
            _ => 0.0,
        };
        self.last = Some(Last {
            rows: n,
            backlog: estimate,
            low,
            high,
            busy_secs: busy,
            pause_secs: self.pause_secs,
        });
        self.decision(x, secs, verdict, if empty { 0.0 } else { used })
    }

    /// What a reading says of the backlog the import began with (docs/pacing.md, "The
    /// model"), updating the reference and the spread.
    fn read(&mut self, x: f64, secs: f64, finished: bool) -> Reading {
        // A reading is compared with the mean of the reference's readings, so its error
        // is the spread of one reading and of that mean together.
        let k = f64::from(self.reference.count().max(1));
        let sigma = self.spread.sigma() * (1.0 + 1.0 / k).sqrt();
        // Against a cold first import's reading alone, an import into an empty queue reads
        // faster than the reference, not about as fast: any reading above one spread
        // shows a backlog (and the anchor will tell by how much the reference is off).
        let floor = if self.reference.is_cold() { sigma } else { 2.0 * sigma };
        let rate = self.handler_rate_or_zero();
        let raw = backlog(self.reference.base(rate), x, secs, rate);
        let mut met = raw + self.offset;
        // What the model expected it to meet: the backlog before, plus that import's
        // rows, less what the handlers did since.
        let predicted = self
            .last
            .filter(|_| self.handlers.measured())
            .map(|l| (l.backlog + l.rows - rate * (l.busy_secs + l.pause_secs)).max(0.0));
        // Until a backlog has been measured, readings that cannot tell the queue from
        // empty join the reference (so one lucky or unlucky first reading is averaged
        // out); so does a reading clearly faster than the reference at any time. (Later
        // ones do not: a small real backlog taken for empty would slow the reference, and
        // the next backlog would look smaller still.)
        let faster = met < -sigma || (self.reference.is_bound() && met < 0.0);
        if !finished && (faster || (!self.handlers.measured() && met <= floor)) {
            let k = f64::from(self.reference.count());
            if k > 0.0 {
                self.spread.take(met * met * k / (k + 1.0));
            }
            self.reference.take(x, secs, finished);
            self.offset = 0.0;
            met = backlog(self.reference.base(rate), x, secs, rate);
        } else if finished && self.reference.is_bound() {
            self.reference.take(x, secs, finished);
        }
        // While the reference is the first import's alone and the queue never ran empty,
        // the readings since lie on the anchor's line, which tells their offset.
        if let Some(last) = self.last {
            self.anchor.advance(last.rows, last.busy_secs + last.pause_secs);
        }
        let on_line = !finished && met > floor && self.reference.is_cold();
        self.anchor.take(on_line.then_some(raw));
        if let Some((offset, anchored_rate)) = self.anchor.fit() {
            let offset = offset.clamp(-ANCHOR_MOST * x.max(1.0), ANCHOR_MOST * x.max(1.0));
            let shift = offset - self.offset;
            if let Some(last) = self.last.as_mut() {
                last.backlog = (last.backlog + shift).max(0.0);
                last.low = (last.low + shift).max(0.0);
                last.high += shift;
            }
            self.offset = offset;
            met = raw + offset;
            self.handlers.set(anchored_rate);
        }
        // An import done by its poll began with at most the backlog that would have made
        // it end just then; within that, the model's expectation stands.
        let (estimate, low, empty, unseen) = if finished {
            let bound = met.max(0.0);
            match predicted {
                Some(p) => (p.min(bound), p.min(bound), true, bound.max(floor)),
                None => (bound / 2.0, 0.0, true, bound.max(floor)),
            }
        } else if met <= floor {
            (met.max(0.0), 0.0, true, floor)
        } else {
            (met, met, false, 0.0)
        };
        // How far the reading landed from the expectation tells the spread, when both
        // are clear of empty.
        if let Some(p) = predicted.filter(|p| !empty && *p > floor) {
            self.spread.take((estimate - p).powi(2) / 2.0);
        }
        // Readings are noisy and the model is not: once the rate is measured, a decision
        // takes the backlog part of the way from what the model expected to the reading.
        let used = match predicted {
            Some(p) if !empty => p + BLEND * (estimate - p),
            _ => estimate,
        };
        Reading {
            estimate,
            low,
            high: if empty { unseen } else { estimate + sigma },
            unseen,
            empty,
            surprise: empty && predicted.is_some_and(|p| p > floor),
            used,
            sigma,
            floor,
        }
    }

    /// The mass balance of the cycle that ended with this import's start (docs/pacing.md,
    /// "The handler rate").
    fn balance(&mut self, r: &Reading) {
        let Some(last) = self.last else { return };
        let cycle = last.busy_secs + last.pause_secs;
        let rate = self.handler_rate_or_zero();
        if r.empty {
            // Once the rate is measured, the backlog before is the model's estimate;
            // until then only what a reading showed for sure counts.
            let before = if self.handlers.measured() { last.backlog } else { last.low };
            self.handlers.emptied((before + last.rows - r.unseen).max(0.0), cycle);
        } else if (last.high + last.rows - r.estimate) / cycle < rate / 2.0 {
            // Even from the most backlog the import before may have met, the handlers did
            // less than half what the model says: they slowed down; the rate is measured
            // afresh from this cycle.
            self.handlers = HandlerRate::default();
            self.handlers.busy(last.backlog + last.rows - r.estimate, cycle);
        } else {
            self.handlers.busy(last.backlog + last.rows - r.estimate, cycle);
        }
        // The queue ran empty where the model had it busy: the handlers are faster than
        // measured, by how much is unknown; the rate is raised a step at a time.
        if r.surprise {
            self.handlers.raise(RAISE);
        }
    }

    /// The cycle to the next import's start, and the verdict (docs/pacing.md,
    /// "Decisions"). `done_at_end`: polled at its end, the import was done.
    fn decide(&self, n: f64, r: &Reading, done_at_end: bool) -> (f64, Verdict) {
        let least = n / self.max_secs.max(1.0);
        // A first import's reading alone may be off by more than its spread (it starts
        // cold): the rate's doubt counts that in, until the reference is refreshed or
        // the anchor has measured the offset.
        let cold = self.reference.is_cold() && self.anchor.fit().is_none();
        let doubt = if cold { DOUBT * r.sigma * COLD.sqrt() } else { DOUBT * r.sigma };
        let rate = self.handlers.rate_low(doubt).unwrap_or(0.0).max(least);
        let target = (TARGET_SHARE * n).max(r.floor + r.sigma / 2.0).min(TARGET_MOST * n);
        // A step down that, were the handlers as slow as what was seen allows, leaves the
        // next import at most DESCENT_LEAVES of a chunk (plus what the handlers do while
        // it runs).
        let probe = || {
            let floor = self.handlers.floor().max(least);
            let leaves = DESCENT_LEAVES * n + floor * self.import_secs(n);
            (r.estimate + n - leaves).max(0.0) / floor
        };
        // The cycle that clears the import's rows and a share of the gap to the target
        // (all of it from an empty queue).
        let approach = if r.empty { 1.0 } else { APPROACH };
        let computed = (n + approach * (r.used - target)).max(0.0) / rate;
        if !self.handlers.measured() && r.empty {
            (probe(), Verdict::Fast)
        } else if done_at_end {
            // The pace is quick: the pause as short as allowed until an import is seen
            // slowed.
            (0.0, Verdict::Fast)
        } else if r.empty && !r.surprise {
            // The model, too, had the queue run empty: how much faster the handlers are is
            // unknown, so the pause steps down as in the descent.
            (computed.min(probe()), Verdict::Fast)
        } else if r.empty {
            (computed, Verdict::Fast)
        } else if r.used <= 1.5 * target {
            (computed, Verdict::Steady)
        } else {
            (computed, Verdict::Slow)
        }
    }

    /// Where the next import is measured (docs/pacing.md, "What the runner measures"):
    /// polled at its measuring point, an import is seen done a second after that at the
    /// soonest; when the pace wants the next start sooner than that allows (or the pause
    /// is at its floor with the queue empty), the next import is polled at its end.
    fn place_next_poll(&mut self, n: f64, cycle: f64, empty: bool, at_end: bool) {
        let least = n / self.max_secs.max(1.0);
        let mid = self.poll_secs_per_row.map_or(0.0, |p| p * n) + POLL_INTERVAL + self.min_secs;
        let hold = if at_end { POLL_INTERVAL / 2.0 } else { 0.0 };
        let wanted = if self.handlers.measured() { n / self.handlers.rate().unwrap_or(least) } else { cycle };
        let pinned = empty && self.pause_secs <= self.min_secs;
        self.poll_at_end = !self.reference.is_bound() && (wanted < mid + hold || pinned);
    }

    /// How long an import of `rows` into an empty queue takes, as measured so far (0
    /// before anything was).
    fn import_secs(&self, rows: f64) -> f64 {
        let base = self.reference.base(self.handler_rate_or_zero());
        let secs = rows * (1.0 + rows / (2.0 * SLOWDOWN_DEPTH)) / base;
        if self.reference.is_set() && secs.is_finite() && secs > 0.0 {
            secs
        } else {
            0.0
        }
    }

    fn handler_rate_or_zero(&self) -> f64 {
        self.handlers.rate().unwrap_or(0.0)
    }

    fn clamp(&self, secs: f64) -> f64 {
        if secs.is_nan() {
            return self.pause_secs;
        }
        secs.clamp(self.min_secs, self.max_secs)
    }

    /// The decision after a reading of `x` rows at `secs` (0, 0: none).
    fn decision(&self, x: f64, secs: f64, verdict: Verdict, backlog: f64) -> Decision {
        let rows_per_sec = if secs > 0.0 { x / secs } else { 0.0 };
        // What an import into an empty queue reads at the same point.
        let best = match self.reference_rows_per_sec() {
            Some(base) if secs > 0.0 => {
                let a = 1.0 / (2.0 * SLOWDOWN_DEPTH);
                let b = 1.0 - self.handler_rate_or_zero() * secs * a;
                (-b + (b * b + 4.0 * a * base * secs).sqrt()) / (2.0 * a) / secs
            }
            _ => 0.0,
        };
        let congestion = match verdict {
            Verdict::First | Verdict::Ignored => 0.0,
            _ if rows_per_sec > 0.0 && best > 0.0 => best / rows_per_sec - 1.0,
            _ => 0.0,
        };
        Decision {
            pause: self.pause(),
            rows_per_sec,
            best_rows_per_sec: best,
            congestion,
            verdict,
            backlog,
            // Before a backlog was measured the rate is only a floor: not told.
            handler_rate: if self.handlers.measured() { self.handler_rate_or_zero() } else { 0.0 },
        }
    }
}

/// From the start request's send to the answer that sees the import done, as the model
/// estimates it: the poll's time if it saw it done, else the next poll a second later
/// (or more, while the import at the speed read would still run).
fn busy_secs(rows: f64, x: f64, secs: f64, finished: bool) -> f64 {
    if finished {
        return secs;
    }
    let end = secs * rows / x * END_MARGIN;
    secs + POLL_INTERVAL * ((end - secs) / POLL_INTERVAL).ceil().max(1.0)
}
