//! Migrations from the command line, as `migrate`, `plan MIGRATION.toml`, `resume DIR` and
//! `demo --migration` use them: the checks before sending, the plan for people, executing
//! a migration directory with Ctrl-C handled, and the report.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use elma_import_client::Client;
use elma_import_migrate::check::{bind, check_files, Checked};
use elma_import_migrate::{
    existing_keys, load_schemas, Graph, MigrateOptions, Migration, MigrationPlan, Report, Settings,
};
use elma_import_runner::Cancel;
use serde_json::json;

use crate::exit;
use crate::opts::{ConnArgs, ExecArgs, Global};
use crate::settings::{runtime, Connection};
use crate::ui;
use crate::ui::migrate::MigrateView;

/// What the checks before sending found, with the migration's plan.
pub struct Preflight {
    /// The migration.
    pub migration: Migration,
    /// The schemas.
    pub schemas: std::collections::BTreeMap<String, elma_import_contract::schema::AppSchema>,
    /// The checks.
    pub checked: Checked,
    /// The plan.
    pub plan: MigrationPlan,
    /// Whether the referenced apps' items were looked at.
    pub online: bool,
}

/// Loads, checks and plans a migration; nothing is sent.
pub fn preflight(
    rt: &tokio::runtime::Runtime,
    file: &Path,
    schema_dir: Option<&Path>,
    client: Option<&Client>,
    settings: &Settings,
    parallel: usize,
) -> anyhow::Result<Preflight> {
    let coded = |e: elma_import_migrate::MigrateError| exit::coded(exit::run_code(e.kind()), e);
    let migration = Migration::load(file).map_err(coded)?;
    let graph = Graph::of(&migration).map_err(coded)?;
    let schemas = rt.block_on(load_schemas(&migration, schema_dir, client)).map_err(coded)?;
    let bound = bind(&migration, &schemas).map_err(coded)?;
    ui::say(format!("checking {} file(s) before anything is sent", migration.steps.len()));
    let mut checked = check_files(&migration, &bound).map_err(coded)?;
    let lookups = checked.lookups(&bound);
    let existing = match client {
        Some(c) if !lookups.is_empty() => {
            for (app, field) in &lookups {
                ui::say(format!("looking for reference values among the items of {app} (by {})", field.name));
            }
            Some(rt.block_on(existing_keys(c, &checked, &bound)).map_err(coded)?)
        }
        _ => None,
    };
    checked.settle(&migration, &bound, existing.as_ref());
    let plan = elma_import_migrate::plan(&migration, &graph, &checked, settings, parallel);
    Ok(Preflight { migration, schemas, checked, plan, online: client.is_some() })
}

/// Prints the checks (problems first) for people.
pub fn show_checks(p: &Preflight) {
    for (j, step) in p.migration.steps.iter().enumerate() {
        let s = &p.checked.files[j].summary;
        ui::say(format!(
            "  step {} {}: {} rows, {} valid, {} invalid",
            j + 1,
            step.app,
            ui::count(s.rows),
            ui::count(s.valid),
            ui::count(s.invalid)
        ));
        for t in s.top(3) {
            ui::say(format!(
                "      {:>5} × {} / {}: {} (first: row {})",
                ui::count(t.count),
                t.header,
                t.rule.as_str(),
                t.example,
                t.first_row
            ));
        }
    }
    const SHOWN: usize = 50;
    for problem in p.checked.problems.iter().take(SHOWN) {
        ui::warn(problem.to_string());
    }
    if p.checked.problems.len() > SHOWN {
        ui::warn(format!("… and {} more problems", p.checked.problems.len() - SHOWN));
    }
}

/// The plan for people, as lines: the waves, each step, the estimate.
pub fn plan_lines(plan: &MigrationPlan) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!("order ({} at most at once):", plan.parallel));
    for (w, wave) in plan.waves.iter().enumerate() {
        let names: Vec<String> =
            wave.iter().map(|&s| format!("step {s} {}", plan.steps[s - 1].app)).collect();
        let together = if wave.len() > 1 { " side by side" } else { "" };
        lines.push(format!("  wave {}: {}{together}", w + 1, names.join(", ")));
    }
    for s in &plan.steps {
        let waits = if s.waits_for.is_empty() {
            "waits for nothing".to_string()
        } else {
            format!(
                "waits for {}",
                s.waits_for.iter().map(|i| format!("step {i}")).collect::<Vec<_>>().join(", ")
            )
        };
        let how = s.plan.as_ref().map_or_else(
            || "nothing to import".to_string(),
            |p| {
                format!(
                    "{} chunk(s) of up to {} rows, handlers {}, estimate {}",
                    ui::count(p.chunks),
                    ui::count(p.rows_per_chunk),
                    if p.with_event_handlers { "on" } else { "off" },
                    ui::duration(p.estimate)
                )
            },
        );
        lines.push(format!(
            "  step {} {} ({} rows): {waits}; {how}; from {} to {}",
            s.step,
            s.app,
            ui::count(s.valid_rows),
            ui::duration(Duration::from_secs_f64(s.start_secs)),
            ui::duration(Duration::from_secs_f64(s.end_secs))
        ));
    }
    lines.push(format!(
        "estimate: {} (one after another: {})",
        ui::duration(Duration::from_secs_f64(plan.estimate_secs)),
        ui::duration(Duration::from_secs_f64(plan.sequential_secs))
    ));
    lines
}

/// Prints the plan for people on stderr (as talk, before a migration).
pub fn show_plan(plan: &MigrationPlan) {
    for line in plan_lines(plan) {
        ui::say(line);
    }
}

pub fn preflight_json(p: &Preflight) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = p
        .migration
        .steps
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let f = &p.checked.files[j].summary;
            json!({"step": j + 1, "app": s.app, "file": s.file, "rows": f.rows, "valid_rows": f.valid,
                   "invalid_rows": f.invalid, "top": f.top(5)})
        })
        .collect();
    let error = (!p.checked.is_clean())
        .then(|| format!("{} problem(s) in the files; nothing was sent", p.checked.problems.len()));
    json!({"file": p.migration.path, "valid": p.checked.is_clean(), "error": error,
        "items_checked": p.online, "steps": steps, "problems": p.checked.problems, "plan": p.plan})
}

/// `plan MIGRATION.toml`: the order, what runs side by side, the estimate.
pub fn plan(
    file: &Path,
    schema: Option<&Path>,
    conn: &ConnArgs,
    import_rate: f64,
    global: &Global,
) -> anyhow::Result<u8> {
    let rt = runtime()?;
    let schema_dir = schema.filter(|p| p.is_dir());
    let client = Connection::resolve(conn).ok().map(|c| c.client()).transpose()?;
    let settings = Settings { import_rows_per_sec: import_rate, ..Settings::default() };
    let p = preflight(&rt, file, schema_dir, client.as_ref(), &settings, 4)?;
    let clean = p.checked.problems.is_empty();
    if global.json {
        ui::print_json(&preflight_json(&p))?;
    } else {
        show_checks(&p);
        for line in plan_lines(&p.plan) {
            ui::out(line)?;
        }
    }
    Ok(if clean { exit::OK } else { exit::DATA })
}

/// The saved report of a migration whose journal says every step finished.
pub fn finished(dir: &Path, steps: usize) -> Option<serde_json::Value> {
    let events = elma_import_migrate::journal::Journal::read(&dir.join("migration.jsonl")).ok()?;
    let state = elma_import_migrate::journal::State::replay(steps, &events);
    if !state.steps.iter().all(|s| s.finished.is_some()) {
        return None;
    }
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).ok()?).ok()
}

/// Prints a finished migration's saved report; returns its exit code.
pub fn render_saved(report: &serde_json::Value, global: &Global) -> anyhow::Result<u8> {
    let n = |k: &str| report.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let code = if n("rows_invalid") + n("failed") + n("not_imported") > 0 { exit::DATA } else { exit::OK };
    if global.json {
        let mut v = report.clone();
        v["exit_code"] = json!(code);
        if code != exit::OK {
            v["error"] = json!("the migration finished with rows not imported (see each step's errors.csv)");
        }
        ui::print_json(&v)?;
    } else {
        ui::out(format!(
            "total: {} rows, {} invalid, {} imported, {} failed, {} not confirmed",
            ui::count(n("rows_read")),
            ui::count(n("rows_invalid")),
            ui::count(n("imported")),
            ui::count(n("failed")),
            ui::count(n("not_imported"))
        ))?;
    }
    Ok(code)
}

/// Executes a migration directory with Ctrl-C handling; renders the outcome.
pub fn execute_dir(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    client: &Client,
    options: &MigrateOptions,
    exec: &ExecArgs,
    global: &Global,
) -> anyhow::Result<u8> {
    let observer =
        Arc::new(MigrateView::new(dir, exec.progress, exec.verbose, options.exec.policy.blocked_timeout));
    let cancel = Cancel::new();
    let outcome = rt.block_on(async {
        crate::execute::watch_ctrl_c(&cancel);
        elma_import_migrate::execute(dir, client, options, observer.clone(), &cancel).await
    });
    observer.finish();
    crate::page::after(dir, exec.progress == crate::ui::progress::Mode::Jsonl);
    match outcome {
        Ok(report) => render(&report, global),
        Err(e) => Err(exit::coded(exit::run_code(e.kind()), e)),
    }
}

/// Prints a migration's report; returns its exit code.
pub fn render(report: &Report, global: &Global) -> anyhow::Result<u8> {
    let code = code_of(report);
    // Rows of each step in an import still running on the platform when it stopped.
    let in_flight: Vec<u64> = report
        .steps
        .iter()
        .map(|s| match &s.run_dir {
            Some(d) if s.status != "done" => crate::ui::progress::end::in_flight(d),
            _ => 0,
        })
        .collect();
    if global.json {
        let mut value = serde_json::to_value(report)?;
        value["exit_code"] = json!(code);
        if code != exit::OK {
            value["error"] =
                json!(report.steps.iter().find_map(|s| s.error.clone()).unwrap_or_else(|| format!(
                    "{} of {} rows imported: {} invalid, {} failed on the server",
                    ui::count(report.imported),
                    ui::count(report.rows_read),
                    ui::count(report.rows_invalid),
                    ui::count(report.failed)
                )));
        }
        if let Some(steps) = value["steps"].as_array_mut() {
            for ((v, s), rows) in steps.iter_mut().zip(&report.steps).zip(&in_flight) {
                v["exit_code"] = json!(s.stop.map_or(exit::OK, exit::run_code));
                v["in_flight"] = json!(rows);
            }
        }
        value["in_flight"] = json!(in_flight.iter().sum::<u64>());
        let hints = hints(report);
        if !hints.is_empty() {
            value["hints"] = json!(hints);
        }
        ui::print_json(&value)?;
        return Ok(code);
    }
    for (s, &rows) in report.steps.iter().zip(&in_flight) {
        let t = &s.totals;
        let mut line = format!(
            "step {} {}: {} — {} rows, {} invalid, {} imported, {} failed",
            s.step,
            s.app,
            s.status,
            ui::count(t.rows_read),
            ui::count(t.rows_invalid),
            ui::count(t.imported),
            ui::count(t.failed)
        );
        if t.not_imported > 0 {
            line.push_str(&format!(", {} not confirmed", ui::count(t.not_imported)));
        }
        if s.unresolved > 0 {
            line.push_str(&format!(", {} reference cells naming no item", ui::count(s.unresolved)));
        }
        if rows > 0 {
            line.push_str(&format!(
                ", {} in an import still running on the platform (the resume confirms them)",
                ui::count(rows)
            ));
        }
        ui::out(line)?;
        if let Some(e) = &s.error {
            ui::out(format!("  {e}"))?;
        }
        if let Some(dir) = &s.run_dir {
            if !t.all_imported() {
                ui::out(format!("  rejected rows, by source row: {}", dir.join("errors.csv").display()))?;
            }
        }
    }
    ui::out(format!(
        "total: {} rows, {} invalid, {} imported, {} failed, {} not confirmed; {} in {}",
        ui::count(report.rows_read),
        ui::count(report.rows_invalid),
        ui::count(report.imported),
        ui::count(report.failed),
        ui::count(report.not_imported),
        report.status,
        ui::duration(Duration::from_secs_f64(report.wall_secs))
    ))?;
    let rows: u64 = in_flight.iter().sum();
    if rows > 0 {
        ui::out(format!("  {}", ui::in_flight_note(&report.dir, rows)))?;
    }
    ui::out(format!("migration directory: {}", report.dir.display()))?;
    for hint in hints(report) {
        ui::out(format!("hint: {hint}"))?;
    }
    Ok(code)
}

/// What to do next after a migration that did not complete: resume its directory, and
/// the advice of the first step that stopped.
fn hints(report: &Report) -> Vec<String> {
    if report.status == "completed" {
        return Vec::new();
    }
    let first = report.steps.iter().find(|s| s.error.is_some());
    let mut hints: Vec<String> = first.map(|s| step_hints(report, s)).unwrap_or_default();
    let resume = format!("`elma-import resume {}`", report.dir.display());
    if !hints.iter().any(|h| h.contains(&resume)) {
        hints.insert(0, format!("continue it with {resume}"));
    }
    hints
}

/// Advice for a step that stopped, naming the migration directory.
pub fn step_hints(report: &Report, step: &elma_import_migrate::StepReport) -> Vec<String> {
    step.failure.as_ref().map(|e| crate::hints::migrate(e, Some(&report.dir))).unwrap_or_default()
}

/// The exit code of a migration's report (README "Exit codes").
pub fn code_of(report: &Report) -> u8 {
    report.stop.map_or(exit::OK, exit::run_code)
}
