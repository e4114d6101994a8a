//! A plan as people and scripts see it: its lines, the pause in force and why.

use elma_import_chunk::Plan;
use elma_import_runner::pace::PauseMode;
use serde_json::json;

use crate::ui;

/// Which pause is in force, for `--json`: `{"mode": "fixed", "secs": …}` or
/// `{"mode": "auto", "start_secs": …, "min_secs": …, "max_secs": …}` (`none` without handlers).
pub fn pause_json(plan: &Plan, mode: PauseMode) -> serde_json::Value {
    if !plan.with_event_handlers {
        return json!({"mode": "none"});
    }
    match mode.bounds() {
        None => json!({"mode": "fixed", "secs": plan.pause.as_secs_f64()}),
        Some((min, max)) => json!({"mode": "auto", "start_secs": plan.pause.clamp(min, max).as_secs_f64(),
            "min_secs": min.as_secs_f64(), "max_secs": max.as_secs_f64()}),
    }
}

/// Which pause is in force, and why, as one line for people.
pub fn pause_line(plan: &Plan, mode: PauseMode) -> String {
    if !plan.with_event_handlers {
        return "pause: none (event handlers off: nothing to drain between imports)".to_string();
    }
    match mode.bounds() {
        None => format!(
            "pause: fixed, {} after each chunk (`--pause auto` learns it from how fast the platform imports)",
            ui::duration(plan.pause)
        ),
        Some((min, max)) => format!(
            "pause: auto, starting at {} and kept within {}..{}: it shrinks while imports run at full \
             speed and grows as soon as a handler backlog slows them",
            ui::duration(plan.pause.clamp(min, max)),
            ui::duration(min),
            ui::duration(max)
        ),
    }
}

/// A plan for people, as lines: the summary, then one `because …` line per reason.
pub fn plan_lines(plan: &Plan, rows: u64) -> Vec<String> {
    let upload = match plan.upload {
        elma_import_chunk::UploadKind::Temporary => "temporary file(s)",
        elma_import_chunk::UploadKind::Directory => "a directory (kept)",
    };
    let mut lines = vec![format!(
        "plan: {} rows in {} chunk(s) of up to {} rows, uploaded as {upload}; event handlers {}; \
         pause {} between imports; estimate {}",
        ui::count(rows),
        ui::count(plan.chunks),
        ui::count(plan.rows_per_chunk),
        if plan.with_event_handlers { "on" } else { "off" },
        ui::duration(plan.pause),
        ui::duration(plan.estimate),
    )];
    lines.extend(plan.reasons.iter().map(|r| format!("  because {r}")));
    lines
}

/// Prints a plan for people on stderr (as talk, during a run), warnings included.
pub fn show_plan(plan: &Plan, rows: u64) {
    for line in plan_lines(plan, rows) {
        ui::say(line);
    }
    for w in &plan.warnings {
        ui::warn(w);
    }
}
