//! `elma-import runs`: the runs in a runs folder, oldest first.

use std::path::PathBuf;

use clap::Args;

use crate::exit;
use crate::opts::Global;
use crate::runs::{list, DEFAULT_ROOT};
use crate::ui;

/// Arguments of `runs`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  elma-import runs
  elma-import runs --root runs/nightly --json
  elma-import runs --ledger  # every import of this user, wherever its run lives
  elma-import resume --last  # continues the newest unfinished run")]
pub struct RunsArgs {
    /// The folder holding run directories.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// List the imports of the user's import ledger instead (each file by content into an
    /// app of a platform, with the run that made it), wherever their runs live.
    #[arg(long, conflicts_with = "root")]
    pub ledger: bool,
}

/// Runs `runs`.
pub fn run(args: RunsArgs, global: &Global) -> anyhow::Result<u8> {
    if args.ledger {
        return ledger(global);
    }
    let runs = list(&args.root);
    if global.json {
        ui::print_json(&serde_json::json!({"root": args.root, "runs": runs}))?;
        return Ok(exit::OK);
    }
    if runs.is_empty() {
        ui::say(format!("no runs in `{}`", args.root.display()));
        return Ok(exit::OK);
    }
    let opt = |n: Option<u64>| n.map_or_else(|| "-".to_string(), ui::count);
    ui::out(format!(
        "{:<26} {:<20} {:<10} {:>9} {:>9} {:>9} {:>9}  {:<20}  file",
        "id", "app", "status", "rows", "imported", "rejected", "unclear", "started"
    ))?;
    for r in &runs {
        ui::out(format!(
            "{:<26} {:<20} {:<10} {:>9} {:>9} {:>9} {:>9}  {:<20}  {}",
            r.id,
            r.app,
            r.status,
            opt(r.rows),
            opt(r.imported),
            opt(r.rejected),
            opt(r.not_imported),
            r.started,
            r.file.display()
        ))?;
    }
    if let Some(last) = runs.iter().rev().find(|r| !r.completed() && !r.refused()) {
        ui::say(format!(
            "continue the newest unfinished one with `elma-import resume {}` (or `--last`)",
            last.dir.display()
        ));
    }
    Ok(exit::OK)
}

/// `runs --ledger`: every import the user's ledger holds, oldest first.
fn ledger(global: &Global) -> anyhow::Result<u8> {
    let Some(path) = elma_import_runner::ledger::default_path() else {
        return Err(exit::usage("no import ledger: set ELMA_IMPORT_LEDGER or HOME"));
    };
    let entries =
        elma_import_runner::ledger::entries(&path).map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    let status = |e: &elma_import_runner::ledger::Entry| {
        if !e.run_dir.join("run.json").is_file() {
            "gone"
        } else if e.finished() {
            "finished"
        } else {
            "unfinished"
        }
    };
    if global.json {
        let imports: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["status"] = serde_json::json!(status(e));
                v
            })
            .collect();
        ui::print_json(&serde_json::json!({"ledger": path, "imports": imports}))?;
        return Ok(exit::OK);
    }
    if entries.is_empty() {
        ui::say(format!("no imports in the ledger `{}`", path.display()));
        return Ok(exit::OK);
    }
    ui::out(format!(
        "{:<20} {:<20} {:<10} {:>9}  {:<12}  {:<30}  run",
        "when", "app", "status", "rows", "sha256", "platform"
    ))?;
    for e in &entries {
        let when = chrono::DateTime::<chrono::Utc>::from_timestamp(e.at as i64, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        ui::out(format!(
            "{:<20} {:<20} {:<10} {:>9}  {:<12}  {:<30}  {}",
            when,
            e.app,
            status(e),
            ui::count(e.rows),
            e.sha256.chars().take(12).collect::<String>(),
            e.url.trim_end_matches('/'),
            e.run_dir.display()
        ))?;
    }
    Ok(exit::OK)
}
