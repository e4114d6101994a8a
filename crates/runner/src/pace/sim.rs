//! A simulation of a paced run against the emulator (feature `sim`): for the pacing
//! tests and `bench-pace`, not for the runner itself.
//!
//! It models what the emulator does and what the runner sees, step by step:
//!
//! * **The platform** ([`Platform`]): an import begins a start-up time after its start
//!   request arrives, then applies rows every [`Platform::tick_secs`] (the emulator's
//!   50 ms) at `rows_per_sec / (1 + queue / slowdown_depth)`, the queue as it stands at
//!   that tick; every imported row queues a handler job, and the queue drains every
//!   [`Platform::drain_tick_secs`] (100 ms) at the handler rate, which may change at
//!   set times ([`Platform::rate_changes`]).
//! * **The network** ([`Network`]): each request takes `latency + U(0, jitter)`, half on
//!   the way in and half on the way back, as the emulator's `--latency` does.
//! * **The runner**: it sends the start request, polls the import first at
//!   [`Pacer::first_poll`] after that send (the first import `first_poll_secs` after the
//!   start's answer), then a second after each answer until one says done (the
//!   platform's "no more than once a second"), and pauses as decided before the next
//!   start request. The pacer gets the first poll as the runner measures it: the rows
//!   processed as the poll arrived, and the time from the start request's send to the
//!   moment the poller woke to send it; the send itself may come a little later
//!   ([`Noise`]). Upload-ahead is assumed hidden (no time between a pause and the next
//!   start request).
//!
//! Everything random is drawn from one seeded RNG: the same [`Case`] gives the same run.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Decision, Pacer, Poll};

/// The platform's import speed and handler queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    /// Rows per second an import runs at with an empty queue.
    pub rows_per_sec: f64,
    /// Handler jobs per second the queue drains.
    pub handler_rate: f64,
    /// Queue depth at which imports run at half speed (the emulator's 1,000).
    pub slowdown_depth: f64,
    /// Seconds between two steps of an import (the emulator's 50 ms).
    pub tick_secs: f64,
    /// Seconds between two drains of the queue (the emulator's 100 ms).
    pub drain_tick_secs: f64,
    /// `(seconds since the run began, new handler rate)`: the handlers change speed.
    pub rate_changes: Vec<(f64, f64)>,
}

impl Platform {
    /// The emulator's model: `rows_per_sec / (1 + queue / 1000)`, 50 ms import steps,
    /// 100 ms drain steps.
    pub fn emulator(rows_per_sec: f64, handler_rate: f64) -> Platform {
        Platform {
            rows_per_sec,
            handler_rate,
            slowdown_depth: 1000.0,
            tick_secs: 0.05,
            drain_tick_secs: 0.1,
            rate_changes: Vec::new(),
        }
    }

    /// Seconds one import of `rows` takes into an empty queue, counted continuously:
    /// `(rows + rows² / 2D) / rows_per_sec` (the drain during it neglected).
    pub fn import_secs(&self, rows: f64) -> f64 {
        (rows + rows * rows / (2.0 * self.slowdown_depth)) / self.rows_per_sec
    }
}

/// The time each request takes, in all.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Network {
    /// Fixed part, seconds.
    pub latency_secs: f64,
    /// Up to this much more, drawn uniformly per request, seconds.
    pub jitter_secs: f64,
}

impl Network {
    /// No latency (127.0.0.1).
    pub const LOCAL: Network = Network { latency_secs: 0.0, jitter_secs: 0.0 };

    /// `latency` plus up to `jitter`, both in milliseconds.
    pub fn millis(latency: f64, jitter: f64) -> Network {
        Network { latency_secs: latency / 1000.0, jitter_secs: jitter / 1000.0 }
    }
}

/// What blurs the runner's view besides the platform's steps: start-up times and
/// scheduling on a loaded machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// An import begins this long after its start request arrives (reading and
    /// parsing its file): uniform within `(least, most)` seconds.
    pub startup_secs: (f64, f64),
    /// The poller wakes up to this long after it meant to (the measured time includes it).
    pub wake_secs: f64,
    /// The request leaves up to this long after the poller woke (not measured).
    pub send_secs: f64,
    /// Each import step of the platform comes up to this long late.
    pub tick_slip_secs: f64,
    /// The first import begins this much later still (the platform's first start-up:
    /// readers and caches warming up; the emulator's first import reads about 10 % slower
    /// at 0.5 s than later ones into an empty queue).
    pub cold_start_secs: f64,
    /// Seed of every draw.
    pub seed: u64,
}

impl Noise {
    /// Nothing random: an import begins 10 ms after its start arrives, every timing exact.
    pub const NONE: Noise = Noise {
        startup_secs: (0.01, 0.01),
        wake_secs: 0.0,
        send_secs: 0.0,
        tick_slip_secs: 0.0,
        cold_start_secs: 0.0,
        seed: 0,
    };

    /// A quiet machine running the emulator: start-up 5–25 ms (the first 40 ms more),
    /// the poller up to 2 ms late and its send up to 2 ms more, the emulator's steps up to
    /// 3 ms late.
    pub fn quiet(seed: u64) -> Noise {
        Noise {
            startup_secs: (0.005, 0.025),
            wake_secs: 0.002,
            send_secs: 0.002,
            tick_slip_secs: 0.003,
            cold_start_secs: 0.04,
            seed,
        }
    }

    /// A loaded machine: start-up 5–60 ms (the first 60 ms more), the poller up to 15 ms
    /// late and its send up to 15 ms more, the emulator's steps up to 15 ms late.
    pub fn busy(seed: u64) -> Noise {
        Noise {
            startup_secs: (0.005, 0.06),
            wake_secs: 0.015,
            send_secs: 0.015,
            tick_slip_secs: 0.015,
            cold_start_secs: 0.06,
            seed,
        }
    }
}

/// One simulated run.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The platform.
    pub platform: Platform,
    /// The network between runner and platform.
    pub network: Network,
    /// What else blurs the view.
    pub noise: Noise,
    /// Rows to import.
    pub rows: u64,
    /// Rows per chunk.
    pub rows_per_chunk: u64,
    /// The first import's first poll, seconds after the start request's answer (the
    /// runner's: the import's expected time at the plan's speed, at most 1 s).
    pub first_poll_secs: f64,
}

impl Case {
    /// `rows` in 1,000-row chunks against `platform`, on 127.0.0.1, on a quiet machine
    /// with `seed`, the first poll 0.5 s after the start's answer (1,000 rows at the
    /// bench's 2,000 rows/s).
    pub fn new(platform: Platform, rows: u64, seed: u64) -> Case {
        Case {
            platform,
            network: Network::LOCAL,
            noise: Noise::quiet(seed),
            rows,
            rows_per_chunk: 1000,
            first_poll_secs: 0.5,
        }
    }

    /// The same with `network`.
    pub fn over(self, network: Network) -> Case {
        Case { network, ..self }
    }

    /// The same with `noise`.
    pub fn with_noise(self, noise: Noise) -> Case {
        Case { noise, ..self }
    }

    /// The ideal wall time: the first import, then every row at the handler rate (or at
    /// the import speed when that is slower).
    pub fn ideal_secs(&self) -> f64 {
        let first = self.platform.import_secs(self.rows_per_chunk.min(self.rows) as f64);
        let pace = self.platform.handler_rate.min(self.platform.rows_per_sec);
        first + self.rows as f64 / pace
    }
}

/// How a simulated run paces.
// One value a simulated run, moved once: boxing the pacer would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Pacing {
    /// The same pause after every chunk, seconds.
    Fixed(f64),
    /// The pacer decides.
    Auto(Pacer),
}

/// One chunk of a simulated run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// When its start request was sent, seconds since the run began.
    pub sent: f64,
    /// The handler queue as the import began.
    pub backlog: f64,
    /// From the start request's send to the answer that said done, seconds.
    pub busy_secs: f64,
    /// The first poll, as the pacer got it.
    pub poll: Poll,
    /// The pause after it (0 after the last chunk).
    pub pause_secs: f64,
    /// [`Pacer::expected_pause`] after the decision (the pause for a fixed run).
    pub expected_pause_secs: f64,
    /// The pacer's decision (none for a fixed run or the last chunk).
    pub decision: Option<Decision>,
}

/// What a simulated run came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// From the first start request's send to the answer that saw the last import done.
    pub wall_secs: f64,
    /// [`Case::ideal_secs`].
    pub ideal_secs: f64,
    /// The deepest the handler queue got, jobs.
    pub peak_queue: f64,
    /// Every chunk in order.
    pub steps: Vec<Step>,
}

impl Report {
    /// Wall time over the ideal.
    pub fn ratio(&self) -> f64 {
        self.wall_secs / self.ideal_secs
    }

    /// The last pause decided, seconds.
    pub fn last_pause_secs(&self) -> f64 {
        self.steps.iter().rev().find(|s| s.pause_secs > 0.0).map_or(0.0, |s| s.pause_secs)
    }

    /// After each chunk but the last: `(time left, time left as estimated)`, where the
    /// estimate is what a progress line can say with [`Pacer::expected_pause`]: the
    /// pause just decided, then every chunk still to import at the mean busy time of
    /// the chunks so far, with the expected pause between them.
    pub fn remaining_estimates(&self) -> Vec<(f64, f64)> {
        let n = self.steps.len();
        let mut busy = 0.0;
        (0..n.saturating_sub(1))
            .map(|k| {
                let s = &self.steps[k];
                busy += s.busy_secs;
                let now = s.sent + s.busy_secs;
                let left = (n - 1 - k) as f64;
                let estimate =
                    s.pause_secs + left * busy / (k + 1) as f64 + (left - 1.0) * s.expected_pause_secs;
                (self.wall_secs - now, estimate)
            })
            .collect()
    }
}

/// The import running on the platform.
#[derive(Debug)]
struct Import {
    total: u64,
    processed: u64,
    budget: f64,
    /// When its next step comes; `None` before it began.
    next_tick: f64,
    last_tick: f64,
    done_at: Option<f64>,
}

/// The platform's state, advanced event by event.
struct Emu<'a> {
    platform: &'a Platform,
    at: f64,
    queue: f64,
    peak: f64,
    import: Option<Import>,
    /// The drainer's next step and its last one, while it runs.
    drain: Option<(f64, f64)>,
}

impl Emu<'_> {
    fn handler_rate(&self, t: f64) -> f64 {
        let mut rate = self.platform.handler_rate;
        for &(at, r) in &self.platform.rate_changes {
            if t >= at {
                rate = r;
            }
        }
        rate
    }

    /// Runs every step due up to `t`; `slip` draws how late each import step comes.
    fn advance(&mut self, t: f64, slip: &mut dyn FnMut() -> f64) {
        loop {
            let tick = self.import.as_ref().filter(|i| i.done_at.is_none()).map(|i| i.next_tick);
            let drain = self.drain.map(|d| d.0);
            let next = match (tick, drain) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > t {
                break;
            }
            if tick == Some(next) {
                self.import_step(next, slip());
            } else {
                self.drain_step(next);
            }
        }
        self.at = t;
    }

    fn import_step(&mut self, now: f64, slip: f64) {
        let p = self.platform;
        let rate = p.rows_per_sec / (1.0 + self.queue / p.slowdown_depth);
        let Some(i) = self.import.as_mut() else { return };
        i.budget += rate * (now - i.last_tick);
        i.last_tick = now;
        let whole = i.budget.floor();
        i.budget -= whole;
        let take = (whole as u64).min(i.total - i.processed);
        i.processed += take;
        if i.processed == i.total {
            i.done_at = Some(now);
        }
        i.next_tick = now + p.tick_secs + slip;
        if take > 0 {
            self.queue += take as f64;
            self.peak = self.peak.max(self.queue);
            if self.drain.is_none() {
                self.drain = Some((now + p.drain_tick_secs, now));
            }
        }
    }

    fn drain_step(&mut self, now: f64) {
        let Some((_, last)) = self.drain else { return };
        let rate = self.handler_rate(now);
        self.queue -= (rate * (now - last)).min(self.queue);
        self.drain = if self.queue < 1e-9 {
            self.queue = 0.0;
            None
        } else {
            Some((now + self.platform.drain_tick_secs, now))
        };
    }

    /// What a status request arriving at `t` is told: (processed, done).
    fn status(&mut self, t: f64, slip: &mut dyn FnMut() -> f64) -> (u64, bool) {
        self.advance(t, slip);
        match &self.import {
            Some(i) => (i.processed, i.done_at.is_some()),
            None => (0, false),
        }
    }
}

/// Runs `case` paced as `pacing` says.
pub fn run(case: &Case, mut pacing: Pacing) -> Report {
    let mut rng = StdRng::seed_from_u64(case.noise.seed);
    let mut uniform = move |lo: f64, hi: f64| if hi > lo { rng.random_range(lo..hi) } else { lo.max(0.0) };
    let noise = case.noise;
    let net = case.network;
    // Draws are taken in a fixed order through one closure, so the same case gives the
    // same run.
    let mut draws: Vec<f64> = Vec::new();
    let mut draw = |what: Draw| -> f64 {
        let v = match what {
            Draw::Way => (net.latency_secs + uniform(0.0, net.jitter_secs)) / 2.0,
            Draw::Startup => uniform(noise.startup_secs.0, noise.startup_secs.1),
            Draw::Wake => uniform(0.0, noise.wake_secs),
            Draw::Send => uniform(0.0, noise.send_secs),
            Draw::Slip => uniform(0.0, noise.tick_slip_secs),
        };
        draws.push(v);
        v
    };
    let platform = &case.platform;
    let mut emu = Emu { platform, at: 0.0, queue: 0.0, peak: 0.0, import: None, drain: None };
    let per_chunk = case.rows_per_chunk.max(1);
    let mut left = case.rows;
    let mut t = 0.0f64;
    let mut steps = Vec::new();
    while left > 0 {
        let rows = left.min(per_chunk);
        left -= rows;
        let sent = t;
        // The start request: the import begins after its way in and the start-up.
        let arrives = sent + draw(Draw::Way);
        emu.advance(arrives, &mut || draw_slip(&mut draw));
        let backlog = emu.queue;
        let cold = if steps.is_empty() { noise.cold_start_secs } else { 0.0 };
        let begins = arrives + draw(Draw::Startup) + cold;
        emu.import = Some(Import {
            total: rows,
            processed: 0,
            budget: 0.0,
            next_tick: begins + platform.tick_secs + draw(Draw::Slip),
            last_tick: begins,
            done_at: None,
        });
        let answered = arrives + draw(Draw::Way);
        // The first poll: at the pacer's point after the send, else the runner's own.
        let point = match &pacing {
            Pacing::Auto(p) => p.first_poll(rows).map(|d| d.as_secs_f64()),
            Pacing::Fixed(_) => None,
        };
        let mut due = match point {
            Some(p) => (sent + p).max(answered),
            None => answered + case.first_poll_secs.min(1.0),
        };
        let mut first: Option<Poll> = None;
        let seen_done = loop {
            let woke = due + draw(Draw::Wake);
            let arrives = woke + draw(Draw::Send) + draw(Draw::Way);
            let (processed, done) = emu.status(arrives, &mut || draw_slip(&mut draw));
            let answer = arrives + draw(Draw::Way);
            first.get_or_insert(Poll { rows, processed, secs: woke - sent, finished: done });
            if done {
                break answer;
            }
            due = answer + 1.0;
        };
        let poll = first.unwrap_or(Poll { rows, processed: 0, secs: 0.0, finished: false });
        t = seen_done;
        let (pause_secs, expected, decision) = if left == 0 {
            (0.0, 0.0, None)
        } else {
            match &mut pacing {
                Pacing::Fixed(p) => (*p, *p, None),
                Pacing::Auto(pacer) => {
                    let d = pacer.observe_poll(poll);
                    (d.pause.as_secs_f64(), pacer.expected_pause().as_secs_f64(), Some(d))
                }
            }
        };
        steps.push(Step {
            sent,
            backlog,
            busy_secs: seen_done - sent,
            poll,
            pause_secs,
            expected_pause_secs: expected,
            decision,
        });
        t += pause_secs;
    }
    Report { wall_secs: t, ideal_secs: case.ideal_secs(), peak_queue: emu.peak, steps }
}

#[derive(Clone, Copy)]
enum Draw {
    Way,
    Startup,
    Wake,
    Send,
    Slip,
}

fn draw_slip(draw: &mut impl FnMut(Draw) -> f64) -> f64 {
    draw(Draw::Slip)
}
