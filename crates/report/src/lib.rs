//! The report page: one self-contained HTML file (`report.html`) for a run, a migration
//! or a verification, the page people keep open after a long import.
//!
//! It shows the outcome in one sentence with its counts; a timeline (one lane per run, a
//! migration's steps side by side) of each chunk's upload, import, look-ups, pause and
//! blocked time as SVG bars (import bars carry `data-chunk`, 1-based); the throughput of
//! every import over time and the pacer's decisions with their reasons; `errors.csv` as
//! counts per column, rule and source and as a table (`id="errors"`, one body row per
//! line, the first [`TABLE_ROWS`]) that the page's script sorts and filters, also from
//! the address (`report.html#column=Email&rule=platform`); and the result of
//! `elma-import verify` (`verify.json`) when there is one.
//!
//! Everything is rendered here, in Rust: styles, SVG and tables are inline, a content
//! security policy forbids loading anything, and the script only sorts and filters, so
//! the page opens offline and reads the same with scripts off.
//!
//! ```no_run
//! let page = elma_import_report::write_page("runs/r1".as_ref(), None)?;
//! println!("{}", page.display());
//! # Ok::<(), elma_import_report::ReportError>(())
//! ```

mod errors;
mod html;
mod timeline;
mod verified;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use elma_import_runner::journal::Journal;
use elma_import_verify::{Verification, VERIFY_FILE};
use serde_json::Value;

pub use errors::TABLE_ROWS;

use crate::errors::Errors;
use crate::html::{count, esc, facts, page, secs, when};
use crate::timeline::{Bar, Kind, Lane};

/// The page's file name in a run, migration or verify directory.
pub const PAGE_FILE: &str = "report.html";

/// Why a page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The directory holds no run, migration or verification.
    #[error("`{0}` holds no run, migration or verification (no run.json, migration.json or verify.json)")]
    NotADir(PathBuf),
    /// A file of the directory cannot be read.
    #[error("cannot read `{path}`: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The page cannot be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The page.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether what was asked is at fault (a directory that holds nothing to report).
    pub fn is_setup(&self) -> bool {
        matches!(self, ReportError::NotADir(_))
    }
}

/// Writes the page of `dir` (a run, migration or verify directory, told apart by its
/// `run.json`, `migration.json` or `verify.json`) to `out`, by default `dir/report.html`;
/// returns where.
///
/// # Errors
/// Nothing to report in `dir`, a file that cannot be read, a page that cannot be written.
pub fn write_page(dir: &Path, out: Option<&Path>) -> Result<PathBuf, ReportError> {
    let html = if dir.join("migration.json").is_file() {
        migration_page(dir)?
    } else if dir.join("run.json").is_file() {
        run_page(dir)?
    } else if dir.join(VERIFY_FILE).is_file() {
        verify_page(dir)?
    } else {
        return Err(ReportError::NotADir(dir.to_path_buf()));
    };
    let path = out.map_or_else(|| dir.join(PAGE_FILE), Path::to_path_buf);
    let write = || -> std::io::Result<()> {
        let mut file = elma_import_sheet::AtomicFile::create(&path)?;
        std::io::Write::write_all(&mut file, html.as_bytes())?;
        file.finish().map(|_| ())
    };
    write().map_err(|source| ReportError::Write { path: path.clone(), source })?;
    Ok(path)
}

/// Writes `dir/report.html` for the run directory `dir`.
///
/// # Errors
/// As [`write_page`].
pub fn write_run_page(dir: &Path) -> Result<PathBuf, ReportError> {
    write_page(dir, None)
}

/// Writes `dir/report.html` for the migration directory `dir`.
///
/// # Errors
/// As [`write_page`].
pub fn write_migration_page(dir: &Path) -> Result<PathBuf, ReportError> {
    write_page(dir, None)
}

fn read_json(path: &Path) -> Result<Option<Value>, ReportError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ReportError::Read { path: path.to_path_buf(), message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ReportError::Read { path: path.to_path_buf(), message: e.to_string() }),
    }
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn f(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn file_name(path: &str) -> String {
    Path::new(path).file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A run's journal as a lane; a journal that cannot be read gives an empty lane and a note.
fn run_lane(dir: &Path, label: &str) -> (Lane, Option<String>) {
    match Journal::read(&dir.join("journal.jsonl")) {
        Ok(events) => (timeline::lane(label, &events), None),
        Err(e) => (Lane { label: label.to_string(), ..Lane::default() }, Some(e.to_string())),
    }
}

/// The sections every page has: timeline, throughput, errors, verification.
fn sections(
    out: &mut String,
    lanes: &[Lane],
    notes: &[String],
    errors: &Errors,
    verify: Option<&Verification>,
    dir: &Path,
) {
    out.push_str("<h2 id=\"time\">Where the time went</h2>\n");
    for n in notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(n));
    }
    out.push_str(timeline::legend());
    out.push_str(&timeline::svg(lanes));
    let totals: Vec<String> = timeline::totals(lanes)
        .into_iter()
        .filter(|(_, t)| *t > 0.0)
        .map(|(what, t)| format!("{what} {}", secs(t)))
        .collect();
    if !totals.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Added up over the chunks: {} (an upload runs while the previous chunk imports). \
             Hover a bar for its chunk and times.</p>",
            esc(&totals.join(", "))
        );
    }
    out.push_str("<h2 id=\"throughput\">Throughput and pacing</h2>\n");
    out.push_str(&timeline::throughput(lanes));
    out.push_str(&timeline::decisions(lanes));
    out.push_str("<h2 id=\"errors-section\">Errors</h2>\n");
    out.push_str(&errors.html());
    out.push_str("<h2 id=\"verify\">Verification</h2>\n");
    match verify {
        Some(v) => out.push_str(&verified::html(v)),
        None => {
            let _ = writeln!(
                out,
                "<p class=\"muted\">Not verified yet: <code>elma-import verify {}</code> compares every row with its item, \
                 field by field, and adds its result here.</p>",
                esc(&dir.display().to_string())
            );
        }
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Written {} by <code>elma-import report</code> from the files in <code>{}</code>.</p>",
        esc(&when(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()))),
        esc(&dir.display().to_string())
    );
}

const NAV: &str = "<nav><a href=\"#time\">timeline</a><a href=\"#throughput\">throughput</a>\
<a href=\"#errors-section\">errors</a><a href=\"#verify\">verification</a></nav>\n";

/// The outcome of a run in one sentence, and whether it is a good one.
fn run_sentence(
    run: &Value,
    summary: Option<&Value>,
    lane: &Lane,
    errors: &Errors,
    dir: &Path,
) -> (String, bool) {
    let app = s(run, "app");
    let file = file_name(s(run, "source"));
    let took = match (lane.first, lane.last) {
        (Some(a), Some(b)) => secs(b - a),
        _ => summary.map(|x| secs(f(x, "wall_secs"))).unwrap_or_default(),
    };
    if let Some(x) = summary.filter(|x| s(x, "status") == "completed") {
        let (rows, invalid, imported) = (u(x, "rows_read"), u(x, "rows_invalid"), u(x, "imported"));
        let (failed, lost, chunks) = (u(x, "failed"), u(x, "not_imported"), u(x, "chunks"));
        if invalid + failed + lost == 0 && imported == u(x, "rows_sent") {
            return (
                format!(
                    "All {} rows of {file} are in {app}: {} chunk(s) in {took}.",
                    count(imported),
                    count(chunks)
                ),
                true,
            );
        }
        let why: Vec<String> =
            [(invalid, "invalid"), (failed, "rejected by the platform"), (lost, "not confirmed in the app")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{} {what}", count(*n)))
                .collect();
        return (
            format!(
                "{} of {} rows of {file} are in {app}; {} (each row is in errors.csv). {} chunk(s) in {took}.",
                count(imported),
                count(rows),
                why.join(", "),
                count(chunks)
            ),
            false,
        );
    }
    let resume = format!("`elma-import resume {}` continues it.", dir.display());
    match lane.chunks {
        None if errors.total > 0 => (
            format!(
                "Nothing was sent to {app}: {} problem(s) were found in {file} before sending (errors.csv lists each). \
                 Fix them, or run with --skip-invalid to import the valid rows.",
                count(errors.total)
            ),
            false,
        ),
        None => (format!("Nothing was sent to {app} yet: the run stopped before its chunks were ready. {resume}"), false),
        Some(chunks) => {
            let how = if lane.interrupted {
                "was interrupted (Ctrl-C)".to_string()
            } else {
                format!("stopped after the event `{}`", lane.last_event)
            };
            (
                format!(
                    "The run of {file} into {app} {how}: {} of {} chunk(s) imported so far, in {took}. {resume}",
                    lane.finished,
                    chunks
                ),
                false,
            )
        }
    }
}

/// The page of a run directory.
///
/// # Errors
/// `run.json` or `errors.csv` cannot be read.
pub fn run_page(dir: &Path) -> Result<String, ReportError> {
    let run = read_json(&dir.join("run.json"))?.ok_or_else(|| ReportError::NotADir(dir.to_path_buf()))?;
    let summary = read_json(&dir.join("summary.json")).ok().flatten();
    let app = s(&run, "app").to_string();
    let (lane, note) = run_lane(dir, &app);
    let mut errors = Errors::default();
    errors.add(&dir.join("errors.csv"), &app)?;
    let verify = Verification::load(&dir.join(VERIFY_FILE)).ok();
    let (sentence, good) = run_sentence(&run, summary.as_ref(), &lane, &errors, dir);
    let file = file_name(s(&run, "source"));
    let mut body = String::new();
    let _ = writeln!(body, "<h1>Import of {} into {}</h1>", esc(&file), esc(&app));
    let _ = writeln!(
        body,
        "<p id=\"outcome\" class=\"outcome{}\">{}</p>",
        if good { "" } else { " bad" },
        esc(&sentence)
    );
    body.push_str(NAV);
    let mut rows: Vec<(&str, String)> = vec![
        ("run directory", dir.display().to_string()),
        ("source", s(&run, "source").to_string()),
        ("app", app.clone()),
        ("started", lane.first.map(when).unwrap_or_default()),
        ("last event", lane.last.map(|t| format!("{} at {}", lane.last_event, when(t))).unwrap_or_default()),
        ("time zone of date-times", s(&run, "time_zone").to_string()),
        (
            "event handlers",
            if run.get("with_event_handlers").and_then(Value::as_bool).unwrap_or(false) {
                "on"
            } else {
                "off"
            }
            .to_string(),
        ),
        ("key column", s(&run, "key_column").to_string()),
    ];
    if let Some(x) = &summary {
        for (label, key) in [
            ("rows read", "rows_read"),
            ("rows invalid", "rows_invalid"),
            ("rows sent", "rows_sent"),
            ("imported", "imported"),
            ("rejected by the platform", "failed"),
            ("not confirmed", "not_imported"),
            ("chunks", "chunks"),
            ("requests (last execution)", "requests"),
            ("retries (last execution)", "retries"),
            ("blocked answers", "blocked_answers"),
        ] {
            rows.push((label, count(u(x, key))));
        }
        rows.push(("blocked", secs(f(x, "blocked_secs"))));
        rows.push(("paused", secs(f(x, "paused_secs"))));
    } else if let Some(chunks) = lane.chunks {
        rows.push(("chunks", format!("{} of {} imported", lane.finished, chunks)));
        rows.push(("blocked answers", count(u64::from(lane.blocked_answers))));
    }
    rows.retain(|(_, v)| !v.is_empty());
    body.push_str(&facts(&rows));
    sections(&mut body, &[lane], &note.into_iter().collect::<Vec<_>>(), &errors, verify.as_ref(), dir);
    Ok(page(&format!("{app}: import of {file}"), &body))
}

/// `migration.jsonl` as JSON values (a line that is not JSON is left out).
fn migration_events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("migration.jsonl"))
        .map(|t| t.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
        .unwrap_or_default()
}

/// The page of a migration directory.
///
/// # Errors
/// `migration.json` or a step's `errors.csv` cannot be read.
pub fn migration_page(dir: &Path) -> Result<String, ReportError> {
    let saved =
        read_json(&dir.join("migration.json"))?.ok_or_else(|| ReportError::NotADir(dir.to_path_buf()))?;
    let summary = read_json(&dir.join("summary.json")).ok().flatten();
    let steps: Vec<Value> =
        saved.pointer("/migration/steps").and_then(Value::as_array).cloned().unwrap_or_default();
    let events = migration_events(dir);
    let mut lanes = Vec::new();
    let mut notes = Vec::new();
    let mut errors = Errors::with_apps();
    for (j, step) in steps.iter().enumerate() {
        let app = s(step, "app");
        let label = format!("{} {app}", j + 1);
        let step_dir = dir.join("steps").join(format!("{:02}-{app}", j + 1));
        let (mut lane, note) = run_lane(&step_dir, &label);
        notes.extend(note.map(|n| format!("step {}: {n}", j + 1)));
        let at = |name: &str| {
            events
                .iter()
                .filter(|e| s(e, "event") == name && e.get("step").and_then(Value::as_u64) == Some(j as u64))
                .filter_map(|e| e.get("at").and_then(Value::as_f64))
                .reduce(f64::min)
        };
        if let (Some(a), Some(b)) = (at("step_started"), at("run_created")) {
            if b - a > 0.05 {
                lane.bars.push(Bar {
                    kind: Kind::Resolve,
                    chunk: None,
                    start: a,
                    end: b,
                    note: format!("step {}: references resolved {}", j + 1, secs(b - a)),
                });
            }
            lane.first = Some(lane.first.map_or(a, |x| x.min(a)));
            lane.last = Some(lane.last.map_or(b, |x| x.max(b)));
        }
        errors.add(&step_dir.join("errors.csv"), app)?;
        lanes.push(lane);
    }
    let verify = Verification::load(&dir.join(VERIFY_FILE)).ok();
    let apps: Vec<&str> = steps.iter().map(|x| s(x, "app")).collect();
    let (sentence, good) = match &summary {
        Some(x) => {
            let done =
                x["steps"].as_array().map_or(0, |a| a.iter().filter(|st| s(st, "status") == "done").count());
            let (rows, imported) = (u(x, "rows_read"), u(x, "imported"));
            let (invalid, failed, unresolved) = (u(x, "rows_invalid"), u(x, "failed"), u(x, "unresolved"));
            let status = s(x, "status");
            let first_bad = x["steps"].as_array().and_then(|a| {
                a.iter().find(|st| s(st, "status") != "done").map(|st| {
                    let e = s(st, "error");
                    format!(
                        "step {} {} is {}{}",
                        u(st, "step"),
                        s(st, "app"),
                        s(st, "status").replace('_', " "),
                        if e.is_empty() { String::new() } else { format!(": {e}") }
                    )
                })
            });
            let mut text = format!(
                "{} of {} rows imported into {} ({done} of {} step(s) done)",
                count(imported),
                count(rows),
                apps.join(", "),
                steps.len()
            );
            if invalid + failed + unresolved > 0 {
                let _ = write!(
                    text,
                    "; {} invalid, {} rejected by the platform, {} reference cell(s) naming no item (each step's errors.csv lists them)",
                    count(invalid),
                    count(failed),
                    count(unresolved)
                );
            }
            text.push('.');
            if status != "completed" {
                if let Some(b) = first_bad {
                    let _ = write!(text, " The migration is incomplete: {b}.");
                }
                let _ = write!(text, " `elma-import resume {}` continues it.", dir.display());
            }
            (text, status == "completed" && invalid + failed + unresolved == 0)
        }
        None => {
            let finished = events.iter().filter(|e| s(e, "event") == "step_finished").count();
            (
                format!(
                    "The migration into {} has not finished: {finished} of {} step(s) done. `elma-import resume {}` continues it.",
                    apps.join(", "),
                    steps.len(),
                    dir.display()
                ),
                false,
            )
        }
    };
    let mut body = String::new();
    let _ = writeln!(body, "<h1>Migration into {}</h1>", esc(&apps.join(", ")));
    let _ = writeln!(
        body,
        "<p id=\"outcome\" class=\"outcome{}\">{}</p>",
        if good { "" } else { " bad" },
        esc(&sentence)
    );
    body.push_str(NAV);
    body.push_str("<table id=\"steps\" class=\"sortable-table\"><thead><tr><th class=\"n\">step</th><th>app</th><th>file</th><th>status</th>\
        <th class=\"n\">rows</th><th class=\"n\">invalid</th><th class=\"n\">imported</th><th class=\"n\">rejected</th><th class=\"n\">unresolved</th><th>note</th></tr></thead><tbody>\n");
    let reported: Vec<Value> =
        summary.as_ref().and_then(|x| x["steps"].as_array().cloned()).unwrap_or_default();
    for (j, step) in steps.iter().enumerate() {
        let r = reported.get(j).cloned().unwrap_or(Value::Null);
        let t = &r["totals"];
        let status = if r.is_null() { "—".to_string() } else { s(&r, "status").to_string() };
        let _ = writeln!(
            body,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            j + 1,
            esc(s(step, "app")),
            esc(&file_name(s(step, "file"))),
            esc(&status),
            count(u(t, "rows_read")),
            count(u(t, "rows_invalid")),
            count(u(t, "imported")),
            count(u(t, "failed")),
            count(u(&r, "unresolved")),
            esc(s(&r, "error"))
        );
    }
    body.push_str("</tbody></table>\n");
    body.push_str(&facts(&[
        ("migration directory", dir.display().to_string()),
        (
            "migration file",
            saved.pointer("/migration/path").and_then(Value::as_str).unwrap_or("").to_string(),
        ),
        (
            "time zone of date-times",
            saved
                .pointer("/migration/time_zone")
                .and_then(Value::as_str)
                .unwrap_or("the machine's")
                .to_string(),
        ),
    ]));
    sections(&mut body, &lanes, &notes, &errors, verify.as_ref(), dir);
    Ok(page(&format!("migration into {}", apps.join(", ")), &body))
}

/// The page of a verify directory (a verification of a data file or a migration file).
///
/// # Errors
/// `verify.json` cannot be read.
pub fn verify_page(dir: &Path) -> Result<String, ReportError> {
    let path = dir.join(VERIFY_FILE);
    let v = Verification::load(&path)
        .map_err(|e| ReportError::Read { path: path.clone(), message: e.to_string() })?;
    let mut body = String::new();
    let _ = writeln!(body, "<h1>Verification of {}</h1>", esc(&v.target.display().to_string()));
    body.push_str(&verified::html(&v));
    let _ = writeln!(
        body,
        "<p class=\"note\">Written {} by <code>elma-import report</code> from <code>{}</code>.</p>",
        esc(&when(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        )),
        esc(&path.display().to_string())
    );
    Ok(page(&format!("verification of {}", v.target.display()), &body))
}
