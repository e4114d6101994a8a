//! `elma-import report`: the report page (`report.html`) of a run, migration or verify
//! directory, written again; and the page every run and migration leaves at its end.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::exit;
use crate::opts::Global;
use crate::ui;

/// Arguments of `report`.
#[derive(Debug, Args)]
#[command(after_help = "The page is one self-contained HTML file (inline CSS, SVG and a little \
script; nothing from the network, readable with scripts off): the outcome in one sentence, a \
timeline of every chunk's upload, import, pause and blocked time (one lane per app in a \
migration), throughput and the pacer's decisions, the errors as a sortable, filterable table \
with counts per column and rule (the first 5,000; errors.csv has them all), and the result of \
`elma-import verify` when there is one. Every run and migration writes it at its end (and on \
Ctrl-C); filters can be given in the address: report.html#column=Email&rule=platform.

Examples:
  elma-import report .elma-import/runs/20261201-101500-1a2b3c4d
  elma-import report .elma-import/migrations/20261201-110000-5e6f7a8b -o move.html")]
pub struct ReportArgs {
    /// A run directory, a migration directory, or a verify directory.
    pub dir: PathBuf,
    /// Write the page here instead of DIR/report.html.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `report`.
pub fn run(args: ReportArgs, global: &Global) -> anyhow::Result<u8> {
    let page = elma_import_report::write_page(&args.dir, args.output.as_deref()).map_err(|e| {
        let code = if e.is_setup() { exit::USAGE } else { exit::DATA };
        exit::coded(code, e)
    })?;
    if global.json {
        ui::print_json(&json!({"dir": args.dir, "report": page, "exit_code": exit::OK}))?;
    } else {
        ui::out(page.display().to_string())?;
    }
    Ok(exit::OK)
}
