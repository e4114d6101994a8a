//! `elma-import resume`: continue a run where its journal ends.

use std::path::PathBuf;

use clap::Args;

use elma_import_runner::Chunk;

use crate::execute::{execute_dir, report};
use crate::opts::ExecArgs;
use crate::opts::{ConnArgs, Global};
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
  elma-import resume runs/refused --skip-invalid   # import the valid rows only
  elma-import resume migrations/m1 --assume-imported 2:3   # chunk 3 of step 2
  elma-import resume --last --pause auto   # learn the pause from here on")]
pub struct ResumeArgs {
    /// The run directory (`elma-import runs` lists them).
    #[arg(required_unless_present = "last")]
    pub run_dir: Option<PathBuf>,
    /// Continue the newest unfinished run of .elma-import/runs, else the newest unfinished
    /// migration of .elma-import/migrations.
    #[arg(long, conflicts_with = "run_dir")]
    pub last: bool,
    /// Settle unsettled chunk N (1-based; `STEP:N` in a migration) as imported: every row
    /// of it counts as in the app.
    #[arg(long, value_name = "N", value_parser = parse_chunk_ref)]
    pub assume_imported: Vec<ChunkRef>,
    /// Settle unsettled chunk N (1-based; `STEP:N` in a migration) as not imported: its
    /// rows are looked up once more, and those not found in the app are imported again
    /// (rows found there stay).
    #[arg(long, value_name = "N", value_parser = parse_chunk_ref)]
    pub assume_not_imported: Vec<ChunkRef>,
    /// Import the valid rows of a run that validation refused (nothing was sent), listing
    /// the invalid ones in errors.csv.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Go on although the import ledger says another run imported the same file into the
    /// same app, or items matching rows of the run were in the app before its first
    /// start: those rows are imported a second time.
    #[arg(long)]
    pub again: bool,
    /// Column (name or code) whose values identify items, to look rows up by (default: the
    /// run's, else each row's whole content).
    #[arg(long, value_name = "COLUMN")]
    pub key_column: Option<String>,
    /// Directory id for directory uploads, when the run did not name one.
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Pause between imports (default: the run's; `auto` keeps what it learned).
    #[command(flatten)]
    pub pause: crate::opts::PauseArgs,
    /// Execution settings.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// A chunk named on the command line: `N`, or `STEP:N` for a step of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// The step (1-based), in a migration.
    pub step: Option<usize>,
    /// The chunk.
    pub chunk: Chunk,
}

/// `N` or `STEP:N`, both 1-based.
pub fn parse_chunk_ref(text: &str) -> Result<ChunkRef, String> {
    let number = |t: &str| t.trim().parse::<u32>().ok().filter(|n| *n > 0);
    let bad =
        || format!("`{text}` is not a chunk: write its number (`3`), or `STEP:N` in a migration (`2:3`)");
    match text.split_once(':') {
        Some((step, n)) => Ok(ChunkRef {
            step: Some(number(step).ok_or_else(bad)? as usize),
            chunk: Chunk::from_number(number(n).ok_or_else(bad)?).ok_or_else(bad)?,
        }),
        None => Ok(ChunkRef {
            step: None,
            chunk: Chunk::from_number(number(text).ok_or_else(bad)?).ok_or_else(bad)?,
        }),
    }
}

impl ResumeArgs {
    /// The user's word on the chunks of one run (`step` in a migration): a `STEP:N` of
    /// another step is not this run's.
    pub fn assume(&self, step: Option<usize>) -> Vec<(Chunk, bool)> {
        let mine = |r: &&ChunkRef| r.step.is_none() || r.step == step;
        self.assume_imported
            .iter()
            .filter(mine)
            .map(|r| (r.chunk, true))
            .chain(self.assume_not_imported.iter().filter(mine).map(|r| (r.chunk, false)))
            .collect()
    }
}

/// Runs `resume`.
pub fn run(args: ResumeArgs, global: &Global) -> anyhow::Result<u8> {
    let dir = crate::runs::resume_dir(args.run_dir.as_deref(), args.last, args.skip_invalid)?;
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
    let mut options = args.exec.options(args.pause.fixed(), args.assume(None));
    options.pause_mode = args.pause.mode_over(spec.pause_mode)?;
    options.directory_id = args.directory.clone().or(conn.directory);
    options.key_column.clone_from(&args.key_column);
    options.skip_invalid = args.skip_invalid;
    options.again = args.again;
    execute_dir(&rt, &dir, &client, &options, &args.exec, global)
}
