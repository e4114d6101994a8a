//! `elma-import resume`: continue a run where its journal ends.

use std::path::PathBuf;

use clap::Args;

use crate::args::{ConnArgs, Global};
use crate::commands::run::{execute_dir, report, ExecArgs};
use crate::settings::{runtime, Connection};

/// Arguments of `resume`.
#[derive(Debug, Args)]
#[command(after_help = "Finished chunks are skipped, started imports are polled, uploads older than \
the temporary-file window are made again. A chunk whose start request went out unanswered is \
never retried blindly: its rows are looked up among the app's items (by --key-column, else by \
their whole content); rows found count as imported, rows absent are imported once more. When the \
rows cannot be looked up, settle the chunk by your word. A finished run says so and sends nothing.

Examples:
  elma-import resume .elma-import/runs/20261129-101500-1a2b3c4d
  elma-import resume --last
  elma-import resume runs/nightly --key-column Email
  elma-import resume runs/nightly --assume-not-imported 7
  elma-import resume --last --pause auto   # learn the pause from here on")]
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
    /// Column (name or code) whose values identify items, to look rows up by (default: the
    /// run's, else each row's whole content).
    #[arg(long, value_name = "COLUMN")]
    pub key_column: Option<String>,
    /// Directory id for directory uploads, when the run did not name one.
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Pause between imports (default: the run's; `auto` keeps what it learned).
    #[command(flatten)]
    pub pause: crate::commands::plan::PauseArgs,
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
    // A finished run needs no connection: say so at once.
    if let Some(summary) = elma_import_runner::finished(&dir)
        .map_err(|e| crate::exit::coded(crate::exit::run_code(e.kind()), e))?
    {
        crate::ui::say(format!("the run in {} already finished; nothing to do", dir.display()));
        return report(&summary, global);
    }
    let spec = elma_import_runner::RunSpec::load(&dir)
        .map_err(|e| crate::exit::coded(crate::exit::run_code(e.kind()), e))?;
    let conn = Connection::resolve_for_run(&args.conn, &spec)?;
    let client = conn.client()?;
    let rt = runtime()?;
    let assume: Vec<(u32, bool)> = args
        .assume_imported
        .iter()
        .map(|&n| (n, true))
        .chain(args.assume_not_imported.iter().map(|&n| (n, false)))
        .collect();
    let mut options = args.exec.options(args.pause.fixed(), assume);
    options.pause_mode = args.pause.mode_over(spec.pause_mode)?;
    options.directory_id = args.directory.clone().or(conn.directory);
    options.key_column.clone_from(&args.key_column);
    execute_dir(&rt, &dir, &client, &options, &args.exec, global)
}
