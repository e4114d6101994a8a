//! Executing a run directory from the command line, as `run`, `resume` and `demo` do:
//! progress drawn as asked, Ctrl-C handled, the outcome rendered.

use std::path::Path;
use std::time::Duration;

use elma_import_client::Client;
use elma_import_runner::{execute, Cancel, ExecOptions, RunError, RunSpec, Summary};

use crate::exit;
use crate::opts::{ExecArgs, Global};
use crate::ui;

/// The observer `run`, `resume` and `demo` draw progress with.
pub use crate::ui::progress::RunObserver as CliObserver;

/// Prints a summary; returns the exit code.
pub fn report(summary: &Summary, global: &Global) -> anyhow::Result<u8> {
    if global.json {
        let mut v = serde_json::to_value(summary)?;
        if !summary.all_imported() {
            v["error"] = serde_json::json!(ui::run_error(summary));
        }
        ui::print_json(&v)?;
    } else {
        let s = summary;
        ui::out(format!(
            "{}: {} rows read, {} invalid, {} sent in {} chunk(s): {} imported, {} failed",
            s.app,
            ui::count(s.rows_read),
            ui::count(s.rows_invalid),
            ui::count(s.rows_sent),
            ui::count(u64::from(s.chunks)),
            ui::count(s.imported),
            ui::count(s.failed)
        ))?;
        if s.not_imported > 0 {
            ui::out(format!(
                "  {} row(s) sent could not be confirmed in the app (rule not_imported in errors.csv)",
                ui::count(s.not_imported)
            ))?;
        }
        ui::out(format!(
            "  {} requests, {} retries, {} blocked answers, blocked {}, paused {}, wall {}",
            ui::count(s.requests),
            ui::count(s.retries),
            ui::count(u64::from(s.blocked_answers)),
            ui::duration(Duration::from_secs_f64(s.blocked_secs)),
            ui::duration(Duration::from_secs_f64(s.paused_secs)),
            ui::duration(Duration::from_secs_f64(s.wall_secs))
        ))?;
        if !s.all_imported() {
            ui::out(format!("  rows not imported, by source row: {}", s.errors_file.display()))?;
            ui::out(format!("  those rows in full: {}", s.rejects_file.display()))?;
        }
        ui::out(format!("  run directory: {}", s.run_dir.display()))?;
    }
    Ok(if summary.all_imported() { exit::OK } else { exit::DATA })
}

/// Executes a prepared run directory with Ctrl-C handling; renders the outcome.
pub fn execute_dir(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    client: &Client,
    options: &ExecOptions,
    exec: &ExecArgs,
    global: &Global,
) -> anyhow::Result<u8> {
    let observer =
        CliObserver::with_mode(exec.progress, exec.verbose, options.policy.blocked_timeout, Some(dir));
    let cancel = Cancel::new();
    let outcome = rt.block_on(async {
        watch_ctrl_c(&cancel);
        execute(dir, client, options, &observer, &cancel).await
    });
    observer.finish();
    crate::page::after(dir, exec.progress == crate::ui::progress::Mode::Jsonl);
    match outcome {
        Ok(summary) => report(&summary, global),
        Err(e) => {
            if matches!(e, RunError::Header { .. }) {
                if let Ok(schema) = RunSpec::load_schema(dir) {
                    ui::say(format!(
                        "the app expects these headers (field code in brackets, * required): {}; \
                         map columns with --map 'HEADER=FIELD' or --map-file map.csv",
                        elma_import_validate::expected_headers(&schema)
                    ));
                }
            }
            Err(anyhow::Error::new(e))
        }
    }
}

/// Ctrl-C: the first stops the run at its next safe point; a second quits at once, the
/// interruption recorded in every run journal that is open (through the runner).
pub fn watch_ctrl_c(cancel: &Cancel) {
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            // Above the bars, else on a line of its own after the terminal's `^C`.
            let note = "stopping (Ctrl-C again to quit at once)…";
            if !ui::progress::out::above_bars(note) {
                ui::say(format!("\n{note}"));
            }
            c.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                c.stop_now();
                // Ends as every command does: the error, `--json`'s object, the stream's `end`.
                let stopped =
                    anyhow::anyhow!("interrupted at once by a second Ctrl-C; the run can be resumed");
                let _ = ui::finish(Err(exit::coded(exit::INTERRUPTED, stopped)));
                ui::progress::echo::restore();
                std::process::exit(exit::INTERRUPTED.into());
            }
        }
    });
}
