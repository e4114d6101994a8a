//! Talk on stderr, data on stdout: progress bars, messages, JSON output.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

pub mod migrate;
pub mod plan;
pub mod progress;

static QUIET: AtomicBool = AtomicBool::new(false);
static COLOR: AtomicBool = AtomicBool::new(false);
static JSON: AtomicBool = AtomicBool::new(false);
static RUN_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Applies the global flags: `--json`, `--quiet`.
pub fn init(json: bool, quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    JSON.store(json, Ordering::Relaxed);
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal();
    COLOR.store(color, Ordering::Relaxed);
}

/// Whether talk is off.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `text` in colour `code` (an ANSI SGR code) when stderr is a colour terminal.
pub fn paint(text: &str, code: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// What owns stderr while a command shows its progress (the bars, or the JSON-lines
/// stream of `--progress jsonl`): it takes the command's talk and tells its end.
/// `ui::progress` sets it, so this module needs nothing of it.
pub trait Display: Send + Sync {
    /// Takes a line of talk (a warning when `warning`); false when it did not.
    fn talk(&self, line: &str, warning: bool) -> bool;
    /// Whether the command's end (its error and hints) is told by the display, not on
    /// stderr.
    fn tells_the_end(&self) -> bool;
    /// The command ended with `code` (and `error`, `hints`), its run or migration
    /// directory `dir`.
    fn end(&self, dir: Option<&Path>, code: u8, error: Option<&str>, hints: &[String]);
}

static DISPLAY: Mutex<Option<std::sync::Arc<dyn Display>>> = Mutex::new(None);

/// Sets (or with `None` clears) the display that owns stderr.
pub fn set_display(display: Option<std::sync::Arc<dyn Display>>) {
    if let Ok(mut d) = DISPLAY.lock() {
        *d = display;
    }
}

fn display() -> Option<std::sync::Arc<dyn Display>> {
    DISPLAY.lock().ok().and_then(|d| d.clone())
}

/// A line of talk on stderr (above the bars, or a line of the JSON-lines stream).
pub fn say(line: impl AsRef<str>) {
    if display().is_some_and(|d| d.talk(line.as_ref(), false)) {
        return;
    }
    if !quiet() {
        eprintln!("{}", line.as_ref());
    }
}

/// A warning on stderr, printed even when quiet (above the bars, or a line of the
/// JSON-lines stream).
pub fn warn(line: impl AsRef<str>) {
    if display().is_some_and(|d| d.talk(line.as_ref(), true)) {
        return;
    }
    eprintln!("{} {}", paint("warning:", "33;1"), line.as_ref());
}

/// Remembers the run directory of the command, so a failure's `--json` names it.
pub fn set_run_dir(dir: &Path) {
    if let Ok(mut d) = RUN_DIR.lock() {
        *d = Some(dir.to_path_buf());
    }
}

/// The JSON object of a failure: `error`, `exit_code`, and `run_dir` when a run
/// directory exists.
pub fn error_json(message: &str, code: u8, run_dir: Option<&Path>) -> serde_json::Value {
    let mut v = serde_json::json!({"error": message, "exit_code": code});
    if let Some(dir) = run_dir {
        v["run_dir"] = serde_json::json!(dir);
    }
    v
}

/// The outcome object of a `--json` command, printed once the exit code is known.
static OUTCOME: Mutex<Option<serde_json::Value>> = Mutex::new(None);
/// Whether the outcome object has been printed already ([`print_json_now`]).
static PRINTED: AtomicBool = AtomicBool::new(false);
/// Whether stdout was closed by its reader (`| head`): nothing more is written to it.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Whether `--json` is on.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Sets the command's outcome: with `--json` the one object stdout gets, printed by
/// [`finish`] with `exit_code` (and `error` for a failure) once the command has ended
/// (docs/json.md). Without `--json` it is printed at once, as one line.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let value = serde_json::to_value(value)?;
    if !json() {
        return write_stdout(&format!("{value}"));
    }
    if let Ok(mut o) = OUTCOME.lock() {
        *o = Some(value);
    }
    Ok(())
}

/// Prints the outcome object at once, with `exit_code` 0: for a command that goes on
/// after its outcome is known (`emulator` serves until Ctrl-C, and exits 0 then).
pub fn print_json_now<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(value)?;
    value["exit_code"] = serde_json::json!(crate::exit::OK);
    PRINTED.store(true, Ordering::Relaxed);
    write_stdout(&format!("{value}"))?;
    let _ = std::io::stdout().lock().flush();
    Ok(())
}

/// Ends the command: prints the error on stderr, and with `--json` the one outcome
/// object on stdout (the command's own, or `{"error", "exit_code"}`), `exit_code` equal
/// to the process's exit status and an `error` sentence for every non-zero outcome.
pub fn finish(result: anyhow::Result<u8>) -> ExitCode {
    let dir = RUN_DIR.lock().ok().and_then(|d| d.clone());
    let told = display().is_some_and(|d| d.tells_the_end());
    let (code, error, hints) = match result {
        Ok(code) => (code, None, Vec::new()),
        // Written to a closed pipe by something other than [`out`]: nobody reads on.
        Err(err) if crate::exit::is_broken_pipe(&err) => return ExitCode::SUCCESS,
        Err(err) => {
            let code = crate::exit::code_of(&err);
            let message = crate::exit::message(&err);
            // What to do next, naming flags and the directory to resume.
            let hints = crate::hints::of(&err, dir.as_deref());
            // With `--progress jsonl` they are in the stream's `end` line.
            if !told {
                eprintln!("{} {message}", paint("error:", "31;1"));
                for hint in &hints {
                    eprintln!("{} {hint}", paint("hint:", "36;1"));
                }
            }
            (code, Some(message), hints)
        }
    };
    // Rows a run that stopped left in an import on the platform: a resume confirms them.
    let in_flight = dir.as_deref().filter(|_| error.is_some()).map(progress::end::in_flight);
    if let (Some(d), Some(rows)) = (dir.as_deref(), in_flight.filter(|n| *n > 0 && !told)) {
        eprintln!("{} {}", paint("note:", "36;1"), in_flight_note(d, rows));
    }
    // The sentence of a non-zero outcome for the stream's `end`: the error, else the
    // command's own (`--json`), else the code's meaning.
    let end_error = error.clone().or_else(|| {
        (code != crate::exit::OK).then(|| {
            let own = OUTCOME.lock().ok().and_then(|o| {
                o.as_ref().and_then(|v| v.get("error")).and_then(|e| e.as_str()).map(str::to_string)
            });
            own.unwrap_or_else(|| crate::exit::meaning(code).to_string())
        })
    });
    if json() && !PRINTED.load(Ordering::Relaxed) {
        let outcome = OUTCOME.lock().ok().and_then(|mut o| o.take());
        let mut value = outcome_json(outcome, code, error.as_deref(), dir.as_deref());
        if !hints.is_empty() {
            value["hints"] = serde_json::json!(hints);
        }
        if let Some(rows) = in_flight {
            value["in_flight"] = serde_json::json!(rows);
        }
        let _ = write_stdout(&format!("{value}"));
    }
    if let Some(d) = display() {
        d.end(dir.as_deref(), code, end_error.as_deref(), &hints);
    }
    let _ = std::io::stdout().lock().flush();
    ExitCode::from(code)
}

/// The outcome object: the command's own (or a bare object), with `exit_code`, the
/// error of a failure, a sentence for a non-zero outcome that gave none, and `run_dir`
/// when a run directory exists.
pub fn outcome_json(
    outcome: Option<serde_json::Value>,
    code: u8,
    error: Option<&str>,
    run_dir: Option<&Path>,
) -> serde_json::Value {
    let mut value = match outcome {
        Some(v @ serde_json::Value::Object(_)) => v,
        Some(other) => serde_json::json!({ "value": other }),
        None => serde_json::json!({}),
    };
    if let Some(e) = error {
        if value.get("error").is_none_or(serde_json::Value::is_null) {
            value["error"] = serde_json::json!(e);
        }
    }
    if code != crate::exit::OK && value.get("error").is_none_or(serde_json::Value::is_null) {
        value["error"] = serde_json::json!(crate::exit::meaning(code));
    }
    value["exit_code"] = serde_json::json!(code);
    if let Some(dir) = run_dir {
        if value.get("run_dir").is_none() && value.get("dir").is_none() {
            value["run_dir"] = serde_json::json!(dir);
        }
    }
    value
}

/// A command line clap refused (or `--help`/`--version`): printed as clap prints it,
/// and with `--json` among the arguments also as a JSON object on stdout.
pub fn usage_error(err: clap::Error) -> ExitCode {
    let informational = !err.use_stderr();
    let wants_json = std::env::args_os().skip(1).take_while(|a| a != "--").any(|a| a == "--json");
    if wants_json && !informational {
        let rendered = err.render().to_string();
        let first = rendered.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
        let _ = write_stdout(&error_json(&first, crate::exit::USAGE, None).to_string());
    }
    let _ = err.print();
    ExitCode::from(if informational { crate::exit::OK } else { crate::exit::USAGE })
}

/// Writes a line on stdout. A reader that went away (`| head`) is not an error: from
/// then on nothing is written to stdout, and the command goes on to its end (its files
/// finished, its exit code its outcome's).
fn write_stdout(line: &str) -> anyhow::Result<()> {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => Ok(other?),
    }
}

/// Prints a line on stdout (nothing once its reader has gone: see [`write_stdout`]).
pub fn out(line: impl AsRef<str>) -> anyhow::Result<()> {
    write_stdout(line.as_ref())
}

/// Writes raw bytes on stdout (a completion script), with the same care for a reader
/// that went away as [`out`].
pub fn out_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => Ok(other?),
    }
}

/// What a run left out, in one sentence: the `error` of a `--json` run outcome that is
/// not all imported (`run`, `resume`, `demo`).
pub fn run_error(s: &elma_import_runner::Summary) -> String {
    let mut parts = Vec::new();
    if s.rows_invalid > 0 {
        parts.push(format!("{} invalid row(s) not sent", count(s.rows_invalid)));
    }
    if s.failed > 0 {
        parts.push(format!("{} row(s) failed on the server", count(s.failed)));
    }
    if s.not_imported > 0 {
        parts.push(format!("{} row(s) sent could not be confirmed in the app", count(s.not_imported)));
    }
    let unsent = s.rows_valid.saturating_sub(s.rows_sent);
    if unsent > 0 && s.rows_invalid == 0 {
        parts.push(format!("{} valid row(s) not sent", count(unsent)));
    }
    if parts.is_empty() {
        parts.push(format!("{} of {} row(s) sent were imported", count(s.imported), count(s.rows_sent)));
    }
    format!(
        "{} of {} rows imported into {}: {}; each is listed by source row in {}",
        count(s.imported),
        count(s.rows_read),
        s.app,
        parts.join(", "),
        s.errors_file.display()
    )
}

/// The sentence that tells people of `rows` rows a run or migration in `dir` left in
/// imports still running on the platform when it stopped.
pub fn in_flight_note(dir: &Path, rows: u64) -> String {
    format!(
        "{} row(s) were in an import still running on the platform when it stopped: \
         `elma-import resume {}` confirms which landed",
        count(rows),
        dir.display()
    )
}

/// A progress bar over `total` units on stderr; hidden when quiet or not a terminal.
/// Its speed and time left are written as everything else is ([`speed`], [`duration`]).
pub fn bar(total: u64, what: &str, bytes: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if quiet() || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = if bytes {
        "{msg:12} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} · eta {left}"
    } else {
        "{msg:12} [{bar:32}] {human_pos}/{human_len} rows · {speed} · eta {left}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        let style = style
            .with_key("left", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&duration(s.eta()));
            })
            .with_key("speed", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&speed(s.pos(), s.elapsed().as_secs_f64()));
            });
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// The first `most` of `names` quoted, and how many more: `` `a`, `b`, `c` and 4 more ``.
pub fn some_names(names: &[String], most: usize) -> String {
    elma_import_chunk::plan::some_names(names, most)
}

/// A count for people, with thousands separators: `1,234,567`. Every count the tool
/// prints for people goes through here.
pub fn count(n: u64) -> String {
    elma_import_chunk::plan::thousands(n)
}

/// A duration for people, the one style of every bar, line and summary: tenths of a
/// second under a minute (`4.2s`), then minutes and seconds (`3m 07s`), then hours and
/// minutes (`1h 02m`). Duration flags read it back (`--pause 4.2s`, `--max-pause 3m 07s`).
pub fn duration(d: Duration) -> String {
    elma_import_chunk::plan::human_duration(d)
}

/// A duration given in seconds, as [`duration`] writes it (negative or not finite: 0).
pub fn secs(secs: f64) -> String {
    duration(Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO))
}

/// A speed for people, the one style of bars, lines and summaries: whole rows per second
/// with thousands separators (`1,234 rows/s`), one decimal below 10 (`2.5 rows/s`), a
/// dash before anything was measured.
pub fn speed(rows: u64, secs: f64) -> String {
    if secs <= 0.0 || rows == 0 {
        return "– rows/s".to_string();
    }
    speed_of(rows as f64 / secs)
}

/// A speed already in rows per second, as [`speed`] writes it.
pub fn speed_of(rows_per_sec: f64) -> String {
    if !rows_per_sec.is_finite() || rows_per_sec <= 0.0 {
        "– rows/s".to_string()
    } else if rows_per_sec < 10.0 {
        format!("{rows_per_sec:.1} rows/s")
    } else {
        format!("{} rows/s", count(rows_per_sec.round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn counts_durations_and_speeds_have_one_style() {
        assert_eq!(super::count(1_234_567), "1,234,567");
        assert_eq!(super::count(999), "999");
        assert_eq!(super::duration(Duration::from_secs(3725)), "1h 02m");
        assert_eq!(super::duration(Duration::from_secs(187)), "3m 07s");
        assert_eq!(super::duration(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(super::duration(Duration::from_millis(59_960)), "1m 00s", "rounded, never `60.0s`");
        assert_eq!(super::secs(-1.0), "0.0s");
        assert_eq!(super::speed(4123, 10.0), "412 rows/s");
        assert_eq!(super::speed(25, 10.0), "2.5 rows/s");
        assert_eq!(super::speed(2_000_000, 1.0), "2,000,000 rows/s");
        assert_eq!(super::speed(0, 0.0), "– rows/s");
        assert_eq!(super::speed_of(1480.4), "1,480 rows/s");
    }

    #[test]
    fn what_is_printed_as_a_duration_reads_back_as_a_duration_flag() {
        for d in [Duration::from_millis(4_200), Duration::from_secs(187), Duration::from_secs(3720)] {
            let text = super::duration(d);
            assert_eq!(crate::opts::parse_duration(&text), Ok(d), "{text}");
        }
    }

    #[test]
    fn a_failure_outcome_always_carries_its_code_and_a_sentence() {
        let v = super::outcome_json(Some(serde_json::json!({"rows": 3})), 1, None, None);
        assert_eq!(v["exit_code"], 1);
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        let v = super::outcome_json(
            Some(serde_json::json!({"rows": 3, "error": "2 rows rejected"})),
            1,
            None,
            None,
        );
        assert_eq!(v["error"], "2 rows rejected", "the command's own sentence is kept");
        let v = super::outcome_json(None, 3, Some("HTTP 503"), Some(std::path::Path::new("r")));
        assert_eq!(
            (v["error"].as_str(), v["exit_code"].as_u64(), v["run_dir"].as_str()),
            (Some("HTTP 503"), Some(3), Some("r"))
        );
        let v = super::outcome_json(Some(serde_json::json!({"ok": true})), 0, None, None);
        assert_eq!(v, serde_json::json!({"ok": true, "exit_code": 0}), "no error on success");
    }
}
