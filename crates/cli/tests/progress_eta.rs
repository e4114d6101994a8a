//! How right the time left is under `--pause auto` (docs/progress-jsonl.md, "How right
//! `eta_secs` is"): a real paced run against the emulator at 2,000 rows/s with event
//! handlers drained at 100 jobs/s, 10,000 rows in 10 chunks of 1,000 (the case of
//! `bench-pace`; about 105 s), its `--progress jsonl` stream read back.
//!
//! The goal, as a predicted end time against the run's real end:
//!
//! - `T` is the real end: the `t` of the `end` line (seconds since the command started);
//! - after the k-th `chunk_finished` line, the predicted end is `P_k = t_k + eta_secs_k`;
//! - its error is `|P_k − T| / T`, a share of the whole run's duration (a share of the
//!   time still left would blow up near the end, where a second is all of it);
//! - from the 2nd finished chunk on every error is at most 25 %, and from half-way
//!   (the first finished chunk by which half the rows are done) at most 10 %.
//!
//! The run's pauses are wall-clock pauses and the emulator's speeds are its own clock,
//! so a busy machine changes little of the run's length; the test prints the table of
//! predictions (`--nocapture`) either way.

#![allow(clippy::useless_vec)]

use crate::util;

use std::path::Path;

use serde_json::Value;
use util::*;

/// One finished chunk's prediction.
struct Prediction {
    chunk: u64,
    t: f64,
    eta: f64,
    half_way: bool,
}

impl Prediction {
    fn end(&self) -> f64 {
        self.t + self.eta
    }

    fn error(&self, real_end: f64) -> f64 {
        (self.end() - real_end).abs() / real_end
    }
}

/// The predictions of a stream and its real end.
fn predictions(stderr: &str) -> (Vec<Prediction>, f64) {
    let events: Vec<Value> = stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let valid =
        events.iter().find(|e| e["event"] == "planned").and_then(|e| e["valid"].as_u64()).expect("planned");
    let end = events.iter().find(|e| e["event"] == "end").and_then(|e| e["t"].as_f64()).expect("end");
    let predictions = events
        .iter()
        .filter(|e| e["event"] == "chunk_finished")
        .map(|e| Prediction {
            chunk: e["chunk"].as_u64().unwrap(),
            t: e["t"].as_f64().unwrap(),
            eta: e["eta_secs"].as_f64().expect("a finished chunk tells the time left"),
            half_way: e["totals"]["rows_done"].as_u64().unwrap() * 2 >= valid,
        })
        .collect();
    (predictions, end)
}

fn table(predictions: &[Prediction], real_end: f64) -> String {
    let mut out = format!("real end T = {real_end:.1} s\nchunk      t    eta  predicted end  error\n");
    for p in predictions {
        out.push_str(&format!(
            "{:>5} {:>6.1} {:>6.1} {:>14.1} {:>5.1} %{}\n",
            p.chunk,
            p.t,
            p.eta,
            p.end(),
            100.0 * p.error(real_end),
            if p.half_way { "  (half-way or later)" } else { "" }
        ));
    }
    out
}

#[test]
#[ignore = "the goal is not met every time: while the pacer still descends (no backlog \
            measured yet) only the middle of the last cycle is known, and the 4th chunk's \
            prediction is 20-26 % short (figures in docs/progress-jsonl.md); run with --ignored"]
fn the_time_left_under_auto_pacing_predicts_the_end() {
    let tmp = tempfile::Builder::new().prefix("elma-eta-").tempdir().expect("tempdir");
    let s = sample(tmp.path(), "contacts.csv", 10_000, 0.0, 11);
    let emu = Emulator::start(&args!["--rows-per-sec", "2000", "--handler-rate", "100"]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir)];
    a.extend(args!["--with-event-handlers", "--rows-per-chunk", "1000", "--pause", "auto"]);
    a.extend(args!["--progress", "jsonl", "--json"]);
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(0);
    let (predictions, real_end) = predictions(&out.stderr);
    assert_eq!(predictions.len(), 10, "{}", out.describe());
    let report = table(&predictions, real_end);
    eprintln!("{report}");
    for p in predictions.iter().skip(1) {
        let goal = if p.half_way { 0.10 } else { 0.25 };
        assert!(
            p.error(real_end) <= goal,
            "after chunk {} the predicted end is {:.1} s, the real end {real_end:.1} s: {:.1} % off, \
             the goal is {:.0} %\n{report}",
            p.chunk,
            p.end(),
            100.0 * p.error(real_end),
            100.0 * goal
        );
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}
