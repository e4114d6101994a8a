//! Talk on stderr, data on stdout: progress bars, messages, JSON output.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::args::Global;

pub mod progress;

static QUIET: AtomicBool = AtomicBool::new(false);
static COLOR: AtomicBool = AtomicBool::new(false);
static JSON: AtomicBool = AtomicBool::new(false);
static RUN_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Applies the global flags.
pub fn init(global: &Global) {
    QUIET.store(global.quiet, Ordering::Relaxed);
    JSON.store(global.json, Ordering::Relaxed);
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal();
    COLOR.store(color, Ordering::Relaxed);
}

/// Whether talk is off.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

fn paint(text: &str, code: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A line of talk on stderr.
pub fn say(line: impl AsRef<str>) {
    if !quiet() {
        eprintln!("{}", line.as_ref());
    }
}

/// A warning on stderr (printed even when quiet).
pub fn warn(line: impl AsRef<str>) {
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

/// The final error of a command: on stderr, and with `--json` as one object on stdout.
pub fn error(err: &anyhow::Error, code: u8) {
    let message = crate::exit::message(err);
    eprintln!("{} {message}", paint("error:", "31;1"));
    let dir = RUN_DIR.lock().ok().and_then(|d| d.clone());
    let hints = crate::hints::of(err, dir.as_deref());
    for hint in &hints {
        eprintln!("{} {hint}", paint("hint:", "36;1"));
    }
    if JSON.load(Ordering::Relaxed) {
        let mut v = error_json(&message, code, dir.as_deref());
        if !hints.is_empty() {
            v["hints"] = serde_json::json!(hints);
        }
        // Stdout may be closed; the message is on stderr already.
        let _ = print_json(&v);
    }
}

/// A command line clap refused (or `--help`/`--version`): printed as clap prints it,
/// and with `--json` among the arguments also as a JSON object on stdout.
pub fn usage_error(err: clap::Error) -> ExitCode {
    let informational = !err.use_stderr();
    let wants_json = std::env::args_os().skip(1).take_while(|a| a != "--").any(|a| a == "--json");
    if wants_json && !informational {
        let rendered = err.render().to_string();
        let first = rendered.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
        let _ = print_json(&error_json(&first, crate::exit::USAGE, None));
    }
    let _ = err.print();
    ExitCode::from(if informational { crate::exit::OK } else { crate::exit::USAGE })
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Prints a line on stdout.
pub fn out(line: impl AsRef<str>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", line.as_ref())?;
    Ok(())
}

/// A progress bar over `total` units on stderr; hidden when quiet or not a terminal.
pub fn bar(total: u64, what: &str, bytes: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if quiet() || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = if bytes {
        "{msg:12} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg:12} [{bar:32}] {pos}/{len} rows {per_sec} eta {eta}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Formats a count with thousands separators.
pub fn count(n: u64) -> String {
    elma_import_chunk::plan::thousands(n)
}

/// Formats a duration for people: `1h 02m`, `3m 07s`, `4.2s`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_and_durations_read_well() {
        assert_eq!(super::count(1_234_567), "1,234,567");
        assert_eq!(super::count(999), "999");
        assert_eq!(super::duration(std::time::Duration::from_secs(3725)), "1h 02m");
        assert_eq!(super::duration(std::time::Duration::from_secs(187)), "3m 07s");
    }
}
