//! What a run's observer makes of a run's events: lines, status lines, the time left and
//! the one speed, fed the runner's events at chosen instants.

use std::time::{Duration, Instant};

use elma_import_chunk::{Plan, UploadKind};
use elma_import_contract::wire::{ImportResult, ImportStatus};
use elma_import_runner::pace::{Decision, Verdict};
use elma_import_runner::{Chunk, Progress};

use super::jsonl;
use super::live::{pause_reason, Live, Phase};
use super::view::{status_line, StepTag};

const S: fn(u64) -> Duration = Duration::from_secs;

fn plan(chunks: u64, rows_per_chunk: u64, pause: u64, estimate: u64) -> Plan {
    Plan {
        upload: UploadKind::Temporary,
        rows_per_chunk,
        chunks,
        pause: S(pause),
        with_event_handlers: true,
        reasons: Vec::new(),
        warnings: Vec::new(),
        estimate: S(estimate),
    }
}

fn answer(status: &str, processed: u64) -> ImportResult {
    ImportResult {
        id: None,
        status: ImportStatus::from(status),
        total: processed,
        processed,
        imported: processed,
        failed: 0,
        errors: Vec::new(),
        extra: serde_json::Map::new(),
    }
}

/// A run of `chunks` chunks of 1,000 rows planned at `t0`, 20 s pauses, 5 ms a row.
fn planned(t0: Instant, chunks: u64) -> Live {
    let mut live = Live::new(t0, S(1800));
    let p = plan(chunks, 1_000, 20, 5 * chunks + 20 * (chunks - 1));
    let rows = 1_000 * chunks;
    live.update(&Progress::Planned { rows, valid: rows, invalid: 0, plan: &p, already_imported: 0 }, t0);
    live
}

/// Chunk `i` (0-based) uploaded at `from`, started, and done `secs` later.
fn import(live: &mut Live, i: u32, from: Instant, secs: u64) -> Option<super::live::Said> {
    let chunk = Chunk(i);
    live.update(&Progress::Uploading { chunk, rows: 1_000 }, from);
    live.update(&Progress::Started { chunk, import_id: "id" }, from);
    let done = answer("done", 1_000);
    live.update(&Progress::ChunkFinished { chunk, result: &done, rows: 1_000 }, from + S(secs))
}

/// The first import measured: the pause is kept.
fn decision(pause: u64) -> Decision {
    Decision {
        pause: S(pause),
        rows_per_sec: 1500.0,
        best_rows_per_sec: 1500.0,
        congestion: 0.0,
        verdict: Verdict::First,
        backlog: 0.0,
        handler_rate: 0.0,
    }
}

#[test]
fn the_first_frame_says_what_starts() {
    let t0 = Instant::now();
    let live = planned(t0, 6);
    assert_eq!(live.phase, Phase::Starting);
    let line = status_line(&live, None, t0, 120);
    assert!(line.contains("starting: chunk 1/6 uploading"), "{line}");
    assert!(line.contains("0/6,000 rows") && line.contains("eta"), "{line}");
    // Before the plan: what is being done, never an empty line.
    let fresh = Live::new(t0, S(1800));
    assert!(status_line(&fresh, None, t0, 80).contains("validating 0 %"));
}

#[test]
fn a_finished_chunks_line_tells_the_time_left_after_the_pacers_decision() {
    let t0 = Instant::now();
    let mut live = planned(t0, 6);
    // The plan said 20 s pauses. The first chunk takes 5 s; the pacer then chooses
    // `d.pause` for the next pause and expects to settle on 10 s.
    let d = decision(40);
    live.update(&Progress::Uploading { chunk: Chunk(0), rows: 1_000 }, t0);
    live.update(&Progress::Started { chunk: Chunk(0), import_id: "id" }, t0);
    live.update(&Progress::Paced { chunk: Chunk(0), decision: &d, expected_pause: S(10) }, t0 + S(5));
    let done = answer("done", 1_000);
    let said = live
        .update(&Progress::ChunkFinished { chunk: Chunk(0), result: &done, rows: 1_000 }, t0 + S(5))
        .expect("a line");
    // 5,000 rows at the measured 5 ms, the decided pause next, 4 more of 10 s.
    let left = 25 + d.pause.as_secs() + 40;
    assert!(said.always && said.text.starts_with("chunk 1/6 done: 1,000 imported, 0 failed"), "{said:?}");
    assert!(said.text.ends_with(&format!("· 200 rows/s · eta {}", crate::ui::duration(S(left)))), "{said:?}");
    // The pause begins: the ETA counts its rest, then the expected pauses.
    live.update(&Progress::Pausing { chunk: Chunk(0), pause: d.pause }, t0 + S(5));
    assert_eq!(live.eta(t0 + S(15)).map(|e| e.left()), Some(S(25 + (d.pause.as_secs() - 10) + 40)));
}

#[test]
fn a_chunk_has_one_speed_in_its_line_the_bar_and_the_stream() {
    let t0 = Instant::now();
    let mut live = planned(t0, 3);
    let said = import(&mut live, 0, t0, 4).expect("a line");
    assert!(said.text.contains("· 250 rows/s ·"), "{said:?}");
    // While the next chunk imports, the bar keeps the finished chunks' speed: it does
    // not drift as the clock runs.
    live.update(&Progress::Pausing { chunk: Chunk(0), pause: S(20) }, t0 + S(4));
    live.update(&Progress::Started { chunk: Chunk(1), import_id: "id" }, t0 + S(24));
    for later in [25, 30, 60] {
        let line = status_line(&live, None, t0 + S(later), 200);
        assert!(line.contains("· 250 rows/s ·"), "{later}: {line}");
    }
    let done = answer("done", 1_000);
    let finished = Progress::ChunkFinished { chunk: Chunk(1), result: &done, rows: 1_000 };
    live.update(&finished, t0 + S(30));
    // Two chunks, 2,000 rows, in 30 s less the 20 s pause: 200 rows/s.
    assert_eq!(live.speed().map(f64::round), Some(200.0));
    let event = serde_json::to_value(jsonl::run_line(&finished, &live, t0 + S(30))).unwrap();
    assert_eq!(event["rows_per_sec"], 200.0, "{event}");
    assert_eq!(event["totals"], serde_json::json!({"rows_done": 2000, "imported": 2000, "failed": 0}));
}

#[test]
fn a_blocked_run_says_for_how_long_and_the_limit_instead_of_eta_zero() {
    let t0 = Instant::now();
    let mut live = planned(t0, 3);
    import(&mut live, 0, t0, 20);
    live.update(&Progress::Pausing { chunk: Chunk(0), pause: S(5) }, t0 + S(20));
    live.update(&Progress::Uploading { chunk: Chunk(1), rows: 1_000 }, t0 + S(25));
    live.update(&Progress::Blocked { chunk: Chunk(1), waited: S(12) }, t0 + S(37));
    let line = status_line(&live, None, t0 + S(37), 200);
    // 2,000 rows at the measured 20 ms per row and one 20 s pause to come.
    assert!(
        line.contains("· chunk 2/3 blocked for 12.0s (limit 30m 00s) · eta 1m 00s once it clears"),
        "{line}"
    );
    // At 80 columns the limit and the rest go before the ETA does.
    let narrow = status_line(&live, None, t0 + S(37), 79);
    assert!(narrow.chars().count() <= 79 && narrow.ends_with("eta 1m 00s once it clears"), "{narrow}");
}

#[test]
fn an_auto_pause_says_why() {
    let fast = Decision {
        pause: S(3),
        rows_per_sec: 1500.0,
        best_rows_per_sec: 1500.0,
        congestion: 0.0,
        verdict: Verdict::Fast,
        backlog: 0.0,
        handler_rate: 0.0,
    };
    assert_eq!(pause_reason(&fast), "auto: imports at full speed");
    let d =
        Decision { rows_per_sec: 1000.0, congestion: 0.5, verdict: Verdict::Slow, backlog: 410.0, ..fast };
    assert_eq!(pause_reason(&d), "auto: imports 33 % slower: a handler backlog of about 410 jobs");
    let t0 = Instant::now();
    let mut live = planned(t0, 3);
    live.update(&Progress::Paced { chunk: Chunk(0), decision: &d, expected_pause: d.pause }, t0 + S(5));
    import(&mut live, 0, t0, 5);
    let said = live.update(&Progress::Pausing { chunk: Chunk(0), pause: S(3) }, t0 + S(5)).expect("a line");
    assert_eq!(
        said.text,
        "pausing 3.0s (auto: imports 33 % slower: a handler backlog of about 410 jobs) so the event handlers drain"
    );
    let line = status_line(&live, None, t0 + S(5), 300);
    assert!(
        line.contains(
            "· pause 3.0s left (auto: imports 33 % slower: a handler backlog of about 410 jobs) · eta"
        ),
        "{line}"
    );
    // Narrower: the reason goes before anything else.
    let narrow = status_line(&live, None, t0 + S(5), 100);
    assert!(narrow.contains("pause 3.0s left · eta") && !narrow.contains("auto:"), "{narrow}");
}

#[test]
fn status_lines_fit_80_and_120_columns_and_keep_the_eta_and_the_steps_name() {
    let t0 = Instant::now();
    let mut live = planned(t0, 6);
    import(&mut live, 0, t0, 5);
    live.update(&Progress::Pausing { chunk: Chunk(0), pause: S(20) }, t0 + S(5));
    let tag = StepTag { step: 2, app: "crm.contacts".into() };
    for columns in [40, 79, 119] {
        for later in [6, 26] {
            for tag in [None, Some(&tag)] {
                let line = status_line(&live, tag, t0 + S(later), columns);
                assert!(line.chars().count() <= columns, "{columns}: {line}");
                assert!(line.contains("eta "), "{columns}: {line}");
                assert!(tag.is_none() || line.starts_with("step 2 crm.contacts"), "{columns}: {line}");
            }
        }
    }
}
