//! The pacer's model of the platform (docs/pacing.md, "The model"): how fast an import
//! runs into a handler queue, what a reading says about the queue it ran into, and the
//! handler rate the queue's changes from import to import imply.

use serde::{Deserialize, Serialize};

/// Queue depth, in jobs, at which an import runs at half speed: the emulator's, and the
/// model's assumption for any platform. Only the conversion of a reading into jobs uses
/// it; a platform that slows down otherwise is still paced right, only less quickly.
pub const SLOWDOWN_DEPTH: f64 = 1000.0;

/// Seconds between two status polls of one import (the platform's "no more than once a
/// second"): an import not done by its first poll is seen done a second or more later.
pub const POLL_INTERVAL: f64 = 1.0;

/// An import's throughput at a poll, in the model: `rows_per_sec` into an empty queue,
/// slowed by the `backlog` it began with and by its own rows as they queue, while the
/// queue drains at `handler_rate`. From `t·rows_per_sec = x·(1 + (B + x/2 − h·t/2)/D)`
/// (the queue's mean over the import so far is `B + x/2 − h·t/2`).
///
/// The backlog at an import's start that explains `x` rows processed `t` seconds after
/// its start request, for a platform importing `base` rows/s into an empty queue.
pub fn backlog(base: f64, x: f64, t: f64, handler_rate: f64) -> f64 {
    SLOWDOWN_DEPTH * (base * t / x - 1.0) - x / 2.0 + handler_rate * t / 2.0
}

/// One full-speed reading's share of the base speed, before the drain's correction:
/// `(x/t)·(1 + x/2D)`; see [`Reference::base`].
fn base_sample(x: f64, t: f64) -> f64 {
    x / t * (1.0 + x / (2.0 * SLOWDOWN_DEPTH))
}

/// What the imports at full speed (an empty queue at their start) said about the speed
/// of an import into an empty queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Sum of `(x/t)(1 + x/2D)` over the readings taken.
    sum_base: f64,
    /// Sum of their `x`.
    sum_rows: f64,
    /// How many.
    count: u32,
    /// Whether the readings so far were of imports already done (so the speed is only
    /// a lower bound, replaced by the first reading of an import still running).
    bound: bool,
    /// Whether it holds the first import's reading alone: the platform's first import
    /// starts cold (the emulator's reads about 10 % slower than later ones into an empty
    /// queue), so the next reading at full speed replaces it.
    #[serde(default)]
    cold: bool,
}

impl Reference {
    /// Whether anything was measured.
    pub fn is_set(&self) -> bool {
        self.count > 0
    }

    /// The base speed, rows/s, with the queue draining at `handler_rate`:
    /// `mean((x/t)(1 + x/2D)) − h·mean(x)/2D`.
    pub fn base(&self, handler_rate: f64) -> f64 {
        let n = f64::from(self.count.max(1));
        self.sum_base / n - handler_rate * self.sum_rows / n / (2.0 * SLOWDOWN_DEPTH)
    }

    /// Takes a reading at full speed (`done`: the import was done by the poll, so it is
    /// only a lower bound). A reading of a running import replaces bounds; a bound
    /// replaces only a lower bound.
    pub fn take(&mut self, x: f64, t: f64, done: bool) {
        let sample = base_sample(x, t);
        let first = self.count == 0;
        let alone = |cold| Reference { sum_base: sample, sum_rows: x, count: 1, bound: done, cold };
        match (self.bound, done) {
            (_, true) if self.count > 0 && !self.bound => {}
            (_, true) => {
                if first || sample > self.sum_base {
                    *self = alone(first);
                }
            }
            (true, false) => *self = alone(first),
            (false, false) if first || self.cold => *self = alone(first),
            (false, false) => {
                self.sum_base += sample;
                self.sum_rows += x;
                self.count += 1;
            }
        }
    }

    /// Whether it holds the first import's reading alone.
    pub fn is_cold(&self) -> bool {
        self.cold
    }

    /// How many readings of running imports it holds.
    pub fn count(&self) -> u32 {
        if self.bound {
            0
        } else {
            self.count
        }
    }

    /// Whether the base speed is only a lower bound.
    pub fn is_bound(&self) -> bool {
        self.bound
    }
}

/// The handler rate, from the queue's mass balance: between two imports the queue
/// gains the first one's rows and loses what the handlers did in the time between the
/// two starts, so `rate = (B₁ + rows₁ − B₂) / cycle` while the queue never ran empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandlerRate {
    /// Jobs drained, summed with weights that fade by [`HandlerRate::FADE`] a cycle.
    drained: f64,
    /// Seconds, summed alike.
    secs: f64,
    /// The least rate the last cycle allows, when its queue may have run empty (the
    /// handlers did at least the jobs that are gone, perhaps in less time).
    floor: f64,
    /// Whether the last cycle's queue may have run empty.
    censored: bool,
}

impl HandlerRate {
    /// How much an earlier cycle still weighs, per cycle (so a platform that changes
    /// speed is followed within a few chunks).
    pub const FADE: f64 = 0.8;
    /// The low end of the rate is never below this share of the measured rate.
    const LEAST_SHARE: f64 = 0.75;

    /// Whether a cycle with a busy queue throughout has been measured.
    pub fn measured(&self) -> bool {
        self.secs > 0.0
    }

    /// Jobs per second: the measured rate, never below the floor of the last cycle
    /// whose queue may have run empty; `None` before any cycle.
    pub fn rate(&self) -> Option<f64> {
        match (self.measured(), self.floor > 0.0) {
            (true, _) => Some((self.drained / self.secs).max(if self.censored { self.floor } else { 0.0 })),
            (false, true) => Some(self.floor),
            (false, false) => None,
        }
    }

    /// The least rate the last cycle allows when its queue may have run empty; 0 when
    /// it stayed busy or nothing was seen yet.
    pub fn floor(&self) -> f64 {
        if self.censored {
            self.floor
        } else {
            0.0
        }
    }

    /// The low end of what the readings allow: the measured rate with `doubt` jobs
    /// fewer drained (a reading's noise), but at least three quarters of it and never
    /// below the last floor; `None` before any cycle. Early on, with little time
    /// measured, it is well below the measured rate; over a few cycles the doubt fades.
    pub fn rate_low(&self, doubt: f64) -> Option<f64> {
        if !self.measured() {
            return self.rate();
        }
        let low = ((self.drained - doubt) / self.secs).max(Self::LEAST_SHARE * self.drained / self.secs);
        Some(if self.censored { low.max(self.floor) } else { low })
    }

    /// Sets the measured rate, keeping the weight of the time measured.
    pub fn set(&mut self, rate: f64) {
        if self.measured() && rate.is_finite() && rate > 0.0 {
            self.drained = rate * self.secs;
            self.censored = false;
        }
    }

    /// Raises the measured rate by `factor` (the queue ran empty where the model had it
    /// busy: the handlers are faster than measured, by how much is unknown).
    pub fn raise(&mut self, factor: f64) {
        if self.measured() {
            self.drained *= factor;
        }
    }

    /// A cycle whose queue stayed busy: `drained` jobs in `secs`.
    pub fn busy(&mut self, drained: f64, secs: f64) {
        self.drained = Self::FADE * self.drained + drained;
        self.secs = Self::FADE * self.secs + secs;
        self.censored = false;
    }

    /// A cycle whose queue may have run empty: at least `drained` jobs in `secs`. A
    /// measured rate below that floor is raised to it (the handlers were shown to be
    /// at least that fast).
    pub fn emptied(&mut self, drained: f64, secs: f64) {
        self.floor = (drained / secs).max(0.0);
        self.censored = true;
        if self.measured() && self.drained < self.floor * self.secs {
            self.drained = self.floor * self.secs;
        }
    }
}

/// The readings since the first import while the queue has never run empty, for the
/// readings' **offset**. The first import began with an empty queue, so the backlog each
/// later import met is the rows imported before it less what the handlers did since:
/// `B = S − h·T` (`S` rows, `T` seconds since the first start request). A reading `z`
/// of it is off by what the reference's own error adds to every reading, `z = B − δ`,
/// so the points `(T, z − S)` lie on a line of slope `−h` through `−δ`. A reference
/// taken from the first import alone (cold, and never refreshed while the queue stays
/// busy) is corrected by it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    /// Rows imported before the import being read.
    rows: f64,
    /// Seconds from the first start request to its start request.
    secs: f64,
    /// Points taken, and the sums of `T`, `y`, `T²`, `T·y` over them.
    n: f64,
    st: f64,
    sy: f64,
    stt: f64,
    sty: f64,
    /// Whether a reading showed the queue possibly empty (the line no longer holds).
    broken: bool,
}

impl Anchor {
    /// The import before (its rows, and its start to the next start) went by.
    pub fn advance(&mut self, rows: f64, cycle: f64) {
        self.rows += rows;
        self.secs += cycle;
    }

    /// Takes a reading `z` of the backlog the current import met; `None` breaks the line
    /// (the queue may have run empty).
    pub fn take(&mut self, z: Option<f64>) {
        match z {
            Some(z) if !self.broken => {
                let (t, y) = (self.secs, z - self.rows);
                self.n += 1.0;
                self.st += t;
                self.sy += y;
                self.stt += t * t;
                self.sty += t * y;
            }
            _ => self.broken = true,
        }
    }

    /// The readings' offset `δ` (jobs to add to a reading) and the handler rate, once two
    /// readings lie on the line.
    pub fn fit(&self) -> Option<(f64, f64)> {
        if self.broken || self.n < 2.0 {
            return None;
        }
        let det = self.n * self.stt - self.st * self.st;
        if det.abs() < 1e-9 {
            return None;
        }
        let slope = (self.n * self.sty - self.st * self.sy) / det;
        let intercept = (self.sy - slope * self.st) / self.n;
        Some((-intercept, -slope))
    }
}

/// How far one reading of a backlog is off, in jobs (one standard deviation): a prior
/// (the emulator's counting step and start-up on a quiet machine), then what the
/// readings show: the spread of readings at full speed around their mean, and how far
/// readings land from what the model expected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Sum of squared deviations, fading by [`Spread::FADE`] a sample.
    sum_sq: f64,
    /// Their weight, fading alike.
    weight: f64,
}

impl Spread {
    /// The spread assumed before any reading, jobs.
    pub const PRIOR: f64 = 0.08 * SLOWDOWN_DEPTH;
    /// How many readings the prior weighs.
    const PRIOR_WEIGHT: f64 = 2.0;
    /// How much an earlier sample still weighs, per sample.
    const FADE: f64 = 0.9;

    /// The spread, jobs.
    pub fn sigma(&self) -> f64 {
        let prior = Self::PRIOR * Self::PRIOR * Self::PRIOR_WEIGHT;
        ((prior + self.sum_sq) / (Self::PRIOR_WEIGHT + self.weight)).sqrt()
    }

    /// Takes one squared deviation whose expectation is the spread squared.
    pub fn take(&mut self, square: f64) {
        if square.is_finite() {
            self.sum_sq = Self::FADE * self.sum_sq + square;
            self.weight = Self::FADE * self.weight + 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_into_an_empty_queue_is_no_backlog_and_a_slower_one_is() {
        // 700 rows by 0.5 s at full speed, handlers at 100/s.
        let mut r = Reference::default();
        r.take(700.0, 0.5, false);
        let base = r.base(100.0);
        assert!(backlog(base, 700.0, 0.5, 100.0).abs() < 1e-9);
        // The same import 20 % slower began with a queue of about 0.2 × (1000 + 700).
        let b = backlog(base, 700.0 / 1.2, 0.5, 100.0);
        assert!((b - 340.0).abs() < 30.0, "{b}");
    }

    #[test]
    fn the_reference_prefers_running_imports_to_bounds() {
        let mut r = Reference::default();
        r.take(1000.0, 0.8, true);
        assert!(r.is_bound());
        let bound = r.base(0.0);
        r.take(1000.0, 0.7, true);
        assert!(r.base(0.0) > bound, "a higher bound replaces a lower one");
        r.take(700.0, 0.5, false);
        assert!(!r.is_bound());
        let first = r.base(0.0);
        r.take(1000.0, 0.4, true);
        assert_eq!(r.base(0.0), first, "a bound no longer counts");
        r.take(720.0, 0.5, false);
        assert!(r.base(0.0) > first, "readings are averaged");
    }

    #[test]
    fn the_first_reading_is_replaced_by_the_next_at_full_speed_then_readings_average() {
        let mut r = Reference::default();
        r.take(640.0, 0.5, false);
        assert!(r.is_cold());
        r.take(720.0, 0.5, false);
        assert!(!r.is_cold());
        let second = r.base(0.0);
        assert!((second - 720.0 / 0.5 * 1.36).abs() < 1e-9, "the cold first reading is gone");
        r.take(700.0, 0.5, false);
        assert!(r.base(0.0) < second, "then readings average");
    }

    #[test]
    fn the_anchor_finds_the_readings_offset_and_the_rate() {
        // 25 jobs/s, every reading 170 jobs short; cycles of 21.5, 45 and 40 s.
        let mut a = Anchor::default();
        let (h, delta) = (25.0, 170.0);
        let mut truth = 0.0;
        for cycle in [21.5, 45.0, 40.0] {
            truth += 1000.0 - h * cycle;
            a.advance(1000.0, cycle);
            a.take(Some(truth - delta));
        }
        let (d, rate) = a.fit().unwrap();
        assert!((d - delta).abs() < 1e-6 && (rate - h).abs() < 1e-9, "{d} {rate}");
        a.take(None);
        assert_eq!(a.fit(), None, "a queue that may have run empty breaks the line");
    }

    #[test]
    fn the_rate_follows_busy_cycles_and_respects_the_last_floor() {
        let mut h = HandlerRate::default();
        assert_eq!(h.rate(), None);
        h.emptied(900.0, 20.0);
        assert_eq!(h.rate(), Some(45.0));
        h.busy(1000.0, 10.0);
        assert_eq!(h.rate(), Some(100.0));
        h.emptied(1500.0, 10.0);
        assert_eq!(h.rate(), Some(150.0), "the queue ran empty faster than 100/s allows");
        h.emptied(900.0, 10.0);
        assert_eq!(h.rate(), Some(150.0), "a lower floor later does not undo it");
        h.busy(800.0, 10.0);
        let r = h.rate().unwrap();
        assert!(r > 80.0 && r < 150.0, "{r}");
    }
}
