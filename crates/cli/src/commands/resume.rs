//! `elma-import resume`: continue a run where its journal ends.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::args::{ConnArgs, Global};
use crate::commands::run::{execute_dir, ExecArgs};
use crate::settings::{runtime, Connection};

/// Arguments of `resume`.
#[derive(Debug, Args)]
#[command(after_help = "Finished chunks are skipped, started imports are polled, uploads older than \
the temporary-file window are made again. A chunk whose start request went out unanswered is \
never retried blindly: it is settled by the app's items (when the run has --key-column) or by \
your word.

Examples:
  elma-import resume .elma-import/runs/20261129-101500-1a2b3c4d
  elma-import resume --last
  elma-import resume runs/nightly --assume-not-imported 7")]
pub struct ResumeArgs {
    /// The run directory (`elma-import runs` lists them).
    #[arg(required_unless_present = "last")]
    pub run_dir: Option<PathBuf>,
    /// Continue the newest unfinished run of .elma-import/runs.
    #[arg(long, conflicts_with = "run_dir")]
    pub last: bool,
    /// Settle uncertain chunk N (1-based) as imported.
    #[arg(long, value_name = "N")]
    pub assume_imported: Vec<u32>,
    /// Settle uncertain chunk N (1-based) as not imported: it is uploaded and imported again.
    #[arg(long, value_name = "N")]
    pub assume_not_imported: Vec<u32>,
    /// Directory id for directory uploads, when the run did not name one.
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Pause between imports (default: the plan's).
    #[arg(long, value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub pause: Option<Duration>,
    /// Execution settings.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `resume`.
pub fn run(args: ResumeArgs, global: &Global) -> anyhow::Result<u8> {
    let dir = crate::runs::resume_dir(args.run_dir.as_deref(), args.last)?;
    crate::ui::set_run_dir(&dir);
    let spec = elma_import_runner::RunSpec::load(&dir).map_err(|e| crate::exit::coded(e.exit_code(), e))?;
    let conn = Connection::resolve_for_run(&args.conn, &spec)?;
    let client = conn.client()?;
    let rt = runtime()?;
    let assume: Vec<(u32, bool)> = args
        .assume_imported
        .iter()
        .map(|&n| (n, true))
        .chain(args.assume_not_imported.iter().map(|&n| (n, false)))
        .collect();
    let mut options = args.exec.options(args.pause, assume);
    options.directory_id = args.directory.clone().or(conn.directory);
    execute_dir(&rt, &dir, &client, &options, &args.exec, global)
}
