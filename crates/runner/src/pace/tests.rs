//! The controller's rules, fed readings made with the model itself (no noise), so each
//! expectation can be computed by hand. The closed-loop behaviour against the emulator's
//! model, with noise and latency, is tested in `tests/pace.rs`.

use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn pacer(start: f64) -> Pacer {
    Pacer::new(secs(start), secs(1.0), secs(600.0))
}

/// Rows processed `t` seconds into an import of `rows` (into a backlog of `b` jobs,
/// handlers at `h`/s, 2,000 rows/s into an empty queue), as the model has it: the root
/// of `x²/2D + x(1 + (b − h·t/2)/D) − 2000·t = 0`.
fn processed(rows: u64, b: f64, h: f64, t: f64) -> u64 {
    let d = SLOWDOWN_DEPTH;
    let (qa, qb, qc) = (1.0 / (2.0 * d), 1.0 + (b - h * t / 2.0) / d, -2000.0 * t);
    let x = (-qb + (qb * qb - 4.0 * qa * qc).sqrt()) / (2.0 * qa);
    (x.floor() as u64).min(rows)
}

/// The poll of a 1,000-row import into `b` jobs at the pacer's measuring point (0.5 s
/// for the first import).
fn poll(p: &Pacer, b: f64, h: f64) -> Poll {
    let t = p.first_poll(1000).map_or(0.5, |d| d.as_secs_f64());
    let x = processed(1000, b, h, t);
    Poll { rows: 1000, processed: x, secs: t, finished: x >= 1000 }
}

#[test]
fn the_first_reading_sets_the_reference_and_keeps_the_pause() {
    let mut p = pacer(20.0);
    assert_eq!(p.first_poll(1000), None, "the runner polls as usual until a reading");
    assert_eq!(p.expected_pause(), secs(20.0));
    let d = p.observe_poll(poll(&p, 0.0, 100.0));
    assert_eq!(d.verdict, Verdict::First);
    assert_eq!(d.pause, secs(20.0));
    assert_eq!((d.congestion, d.backlog, d.handler_rate), (0.0, 0.0, 0.0));
    assert!(d.reason().starts_with("first import measured"), "{}", d.reason());
    // About 2,000 rows/s into an empty queue (the model's own import speed).
    let base = p.reference_rows_per_sec().unwrap();
    assert!((base - 2000.0).abs() < 40.0, "{base}");
    // Later imports are polled where the first was, per row, so every reading shares
    // the same start-up and counting offsets.
    assert_eq!(p.first_poll(1000), Some(secs(0.5)));
    assert_eq!(p.first_poll(500), Some(secs(0.25)));
}

#[test]
fn while_imports_run_at_full_speed_the_pause_steps_down_by_what_the_slowest_rate_allows() {
    let mut p = pacer(20.0);
    p.observe_poll(poll(&p, 0.0, 100.0));
    let mut pauses = vec![20.0];
    for _ in 0..4 {
        let d = p.observe_poll(poll(&p, 0.0, 100.0));
        assert_eq!(d.verdict, Verdict::Fast);
        assert!(d.reason().starts_with("imports at full speed"), "{}", d.reason());
        // The reference is what an import into an empty queue reads at the same point.
        assert!(d.congestion.abs() < 0.02, "{d:?}");
        pauses.push(d.pause.as_secs_f64());
    }
    // Each step: were the handlers no faster than the queue's emptying shows, the next
    // import would meet at most 0.4 of a chunk plus what they do while it runs: the
    // cycle shrinks to about 0.6 of the one before, never to less than half.
    for w in pauses.windows(2) {
        let (before, after) = (w[0] + 1.5, w[1] + 1.5);
        assert!(after < 0.75 * before && after > 0.5 * before, "{pauses:?}");
    }
    assert_eq!(p.handler_rate().map(|r| r > 0.0), Some(true), "a floor is known");
}

#[test]
fn a_measured_backlog_gives_the_handler_rate_and_a_pause_that_drains_it() {
    // 25 jobs/s: after the start's 20 s pause (and 1.5 s of import and polls) the
    // second import meets 1,000 − 25 × 21.5 ≈ 460 jobs.
    let mut p = pacer(20.0);
    p.observe_poll(poll(&p, 0.0, 25.0));
    let d = p.observe_poll(poll(&p, 462.0, 25.0));
    assert_eq!(d.verdict, Verdict::Slow);
    assert!((d.backlog - 462.0).abs() < 40.0, "{d:?}");
    // Measured by the mass balance, then taken at its low end while only one cycle is known.
    assert!((d.handler_rate - 25.0).abs() < 3.0, "{d:?}");
    // The pause lets the handlers clear the import's rows and most of the backlog above
    // the standing one aimed at: longer than a chunk's 40 s at 25 jobs/s less the busy time.
    let pause = d.pause.as_secs_f64();
    assert!(pause > 40.0 && pause < 70.0, "{d:?}");
    assert!(d.reason().contains("handler backlog of about"), "{}", d.reason());
    // 462 jobs slow the import by about 462 / (1000 + 700) at its measuring point.
    assert!((d.congestion - 0.27).abs() < 0.05, "{d:?}");
    assert!((d.best_rows_per_sec / d.rows_per_sec - 1.0 - d.congestion).abs() < 1e-9);
}

/// Runs a pacer in closed loop against the model without noise: backlogs advance by the
/// mass balance, the busy time is the model's own.
fn closed_loop(h: f64, chunks: usize) -> (Pacer, Vec<(f64, Decision)>) {
    let mut p = pacer(20.0);
    let mut backlog = 0.0f64;
    let mut seen = Vec::new();
    for _ in 0..chunks {
        let polled = poll(&p, backlog, h);
        let busy = busy_secs(1000.0, polled.processed as f64, polled.secs, polled.finished);
        let d = p.observe_poll(polled);
        seen.push((backlog, d));
        backlog = (backlog + 1000.0 - h * (busy + d.pause.as_secs_f64())).max(0.0);
    }
    (p, seen)
}

#[test]
fn in_closed_loop_the_pace_settles_on_what_the_handlers_need() {
    for h in [25.0, 100.0, 400.0] {
        let (p, seen) = closed_loop(h, 40);
        let tail = &seen[30..];
        // Measured, where the pause is free; where it is held at its floor (400/s: a
        // chunk drains in 2.5 s, the import and its poll take about 0.9 s), the queue
        // runs empty at times and the rate is only known from below.
        let rate = p.handler_rate().unwrap();
        if h < 400.0 {
            assert!((rate - h).abs() < 0.1 * h, "{h}/s: rate {rate}");
        } else {
            assert!(rate > 0.9 * h, "{h}/s: rate {rate}");
        }
        // Once settled, an import never meets more than half a chunk beyond what the
        // handlers do while it runs (about 0.75 s), so the queue peaks below 1.5 chunks;
        // and the handlers never idle long: a short standing backlog, or the pause at its
        // floor.
        for (b, d) in tail {
            assert!(*b < 500.0 + 0.75 * h, "{h}/s: {tail:?}");
            assert!(*b > 100.0 || d.pause == secs(1.0), "{h}/s: {tail:?}");
        }
        // The expected pause is the pause it settled on.
        let last = tail.last().unwrap().1.pause.as_secs_f64();
        let expected = p.expected_pause().as_secs_f64();
        assert!((expected - last).abs() < 0.15 * last + 0.5, "{h}/s: expected {expected}, pausing {last}");
    }
}

#[test]
fn when_the_pace_is_quick_imports_are_polled_at_their_end() {
    let (p, _) = closed_loop(400.0, 30);
    let mid = {
        let (q, _) = closed_loop(50.0, 30);
        q.first_poll(1000).unwrap()
    };
    let end = p.first_poll(1000).unwrap();
    assert!(end > mid, "{end:?} after {mid:?}");
    // An import into an empty queue takes about 0.75 s: polled just after.
    assert!((0.75..0.95).contains(&end.as_secs_f64()), "{end:?}");
    assert_eq!(mid, secs(0.5), "the measuring point");
}

#[test]
fn unusable_polls_change_nothing() {
    let mut p = pacer(10.0);
    let bad = [
        Poll { rows: 0, processed: 0, secs: 0.5, finished: false },
        Poll { rows: 1000, processed: 0, secs: 0.5, finished: false },
        Poll { rows: 1000, processed: 500, secs: 0.0, finished: false },
        Poll { rows: 1000, processed: 500, secs: f64::NAN, finished: false },
        Poll { rows: 1000, processed: 500, secs: f64::INFINITY, finished: false },
        Poll { rows: 1000, processed: 500, secs: -1.0, finished: false },
    ];
    for b in bad {
        let before = p.clone();
        assert_eq!(p.observe_poll(b).verdict, Verdict::Ignored);
        assert_eq!(p, before);
    }
    assert_eq!(p.observe_poll(poll(&p, 0.0, 100.0)).verdict, Verdict::First);
    let before = p.clone();
    assert_eq!(p.observe_poll(bad[1]).verdict, Verdict::Ignored);
    assert_eq!(p, before);
}

#[test]
fn replay_is_feeding_the_polls_one_by_one_and_goes_on_identically() {
    let (_, seen) = closed_loop(100.0, 12);
    let mut polls = Vec::new();
    let mut fed = pacer(20.0);
    let mut backlog = 0.0;
    for _ in 0..8 {
        let polled = poll(&fed, backlog, 100.0);
        polls.push(polled);
        let d = fed.observe_poll(polled);
        backlog = (backlog + 1000.0 - 100.0 * (1.5 + d.pause.as_secs_f64())).max(0.0);
    }
    let mut replayed = Pacer::replay(secs(20.0), secs(1.0), secs(600.0), polls.iter().copied());
    assert_eq!(replayed, fed);
    let next = Poll { rows: 1000, processed: 640, secs: 0.66, finished: false };
    assert_eq!(replayed.observe_poll(next), fed.observe_poll(next));
    assert_eq!(replayed.first_poll(1000), fed.first_poll(1000));
    assert!(!seen.is_empty());
}

#[test]
fn bounds_hold_and_a_resume_may_change_them() {
    let (p, _) = closed_loop(400.0, 20);
    assert_eq!(p.pause(), secs(1.0), "a fast platform drives the pause to the floor");
    let narrowed = p.clone().with_bounds(secs(2.0), secs(8.0));
    assert_eq!(narrowed.pause(), secs(2.0));
    assert_eq!(narrowed.bounds(), (secs(2.0), secs(8.0)));
    let mut slow = Pacer::new(secs(5.0), secs(2.0), secs(8.0));
    slow.observe_poll(poll(&slow, 0.0, 5.0));
    let d = slow.observe_poll(poll(&slow, 970.0, 5.0));
    assert_eq!(d.pause, secs(8.0), "a slow platform drives it to the ceiling: {d:?}");
    assert_eq!(Pacer::new(secs(100.0), secs(2.0), secs(8.0)).pause(), secs(8.0));
    assert_eq!(Pacer::new(secs(0.0), secs(2.0), secs(1.0)).pause(), secs(2.0), "max raised to min");
}

#[test]
fn state_and_decisions_survive_json_and_older_decisions_load() {
    let (p, seen) = closed_loop(100.0, 10);
    // JSON may move a float by its last bit (serde_json parses without
    // `float_roundtrip`): the state read back decides the same to a nanosecond.
    let mut back: Pacer = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    let mut live = p.clone();
    assert_eq!(back.pause(), live.pause());
    let next = Poll { rows: 1000, processed: 640, secs: 0.66, finished: false };
    let (a, b) = (back.observe_poll(next), live.observe_poll(next));
    assert!((a.pause.as_secs_f64() - b.pause.as_secs_f64()).abs() < 1e-9, "{a:?} {b:?}");
    assert_eq!(a.verdict, b.verdict);
    let d = seen.last().unwrap().1;
    let json = serde_json::to_value(d).unwrap();
    assert!(json["pause"].as_f64().unwrap() > 0.0);
    assert_eq!(json["verdict"], d.verdict.as_str());
    // A decision as the controller before this one journaled it.
    let old = r#"{"pause":12.5,"rows_per_sec":1300.0,"best_rows_per_sec":1400.0,"congestion":0.08,"verdict":"unconfirmed"}"#;
    let d: Decision = serde_json::from_str(old).unwrap();
    assert_eq!((d.verdict, d.backlog, d.handler_rate), (Verdict::Unconfirmed, 0.0, 0.0));
    assert_eq!(d.pause, secs(12.5));
    let poll = Poll { rows: 1000, processed: 700, secs: 0.5, finished: false };
    let json = serde_json::to_string(&poll).unwrap();
    assert_eq!(json, r#"{"rows":1000,"processed":700,"secs":0.5,"finished":false}"#);
    assert_eq!(serde_json::from_str::<Poll>(&json).unwrap(), poll);
}

#[test]
fn the_expected_pause_is_the_middle_of_the_last_cycle_while_descending_then_the_models() {
    let mut p = pacer(20.0);
    p.observe_poll(poll(&p, 0.0, 100.0));
    assert_eq!(p.expected_pause(), secs(20.0), "one import: nothing known of the handlers");
    // The queue ran empty at some time within the 20 s pause (less the busy time): each
    // time evenly likely, the pause expected is half of it, not the pause decided.
    let busy = p.busy_mean;
    p.observe_poll(poll(&p, 0.0, 100.0));
    let span = 20.0 + busy - p.busy_mean;
    let mean = (span * span + 1.0) / (2.0 * span);
    let expected = p.expected_pause().as_secs_f64();
    assert!((expected - mean).abs() < 1e-6, "{expected} for a span of {span}");
    assert!(expected < p.pause().as_secs_f64(), "below the pause decided ({:?})", p.pause());
    // Never below the shortest pause allowed, nor above the pause decided.
    let mut q = Pacer::new(secs(1.5), secs(1.0), secs(600.0));
    q.observe_poll(poll(&q, 0.0, 100.0));
    q.observe_poll(poll(&q, 0.0, 100.0));
    assert!(q.expected_pause() >= secs(1.0) && q.expected_pause() <= q.pause());
    // Measured: about a chunk's time at 100/s less the busy time, whatever the pause now.
    let (q, _) = closed_loop(100.0, 12);
    let expected = q.expected_pause().as_secs_f64();
    assert!((7.0..10.0).contains(&expected), "{expected}");
}

#[test]
fn a_pacer_from_an_older_journal_loads_keeps_its_pause_and_learns_afresh() {
    // The state as the controller before this one journaled it.
    let old = r#"{"pause_secs":12.5,"min_secs":1.0,"max_secs":600.0,"best_rows_per_sec":1400.0,"probed":true,"fast_streak":2,"poll_secs_per_row":0.0005,"last_congestion":0.04,"edge_secs":9.0}"#;
    let mut p: Pacer = serde_json::from_str(old).unwrap();
    assert_eq!(p.pause(), secs(12.5));
    assert_eq!(p.bounds(), (secs(1.0), secs(600.0)));
    assert_eq!(p.first_poll(1000), Some(secs(0.5)), "its measuring point is kept");
    // Its reference did not survive: the next reading sets one again.
    let d = p.observe_poll(Poll { rows: 1000, processed: 700, secs: 0.5, finished: false });
    assert_eq!(d.verdict, Verdict::First);
    assert_eq!(d.pause, secs(12.5));
}
