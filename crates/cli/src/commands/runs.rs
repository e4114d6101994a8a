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
  elma-import resume --last  # continues the newest unfinished run")]
pub struct RunsArgs {
    /// The folder holding run directories.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
}

/// Runs `runs`.
pub fn run(args: RunsArgs, global: &Global) -> anyhow::Result<u8> {
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
