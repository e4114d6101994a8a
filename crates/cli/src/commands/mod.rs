//! One module per subcommand: resolve settings → call a library → render.

pub mod check;
pub mod completions;
pub mod demo;
pub mod emulator;
pub mod fix;
pub mod migrate;
pub mod plan;
pub mod report;
pub mod resume;
pub mod run;
pub mod runs;
pub mod schema;
pub mod split;
pub mod start;
pub mod status;
pub mod template;
pub mod upload;
pub mod validate;
pub mod verify;

use crate::args::{Cli, Command};

/// Runs the command; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = &cli.global;
    // `--progress jsonl` streams from the start, so its `end` line is written however
    // the command ends.
    use crate::ui::progress::begin;
    match &cli.command {
        Command::Run(a) => begin(a.exec.progress, "run"),
        Command::Resume(a) => {
            let migration = a.run_dir.as_deref().is_some_and(elma_import_migrate::is_migration_dir);
            begin(a.exec.progress, if migration { "migration" } else { "run" });
        }
        Command::Migrate(a) => begin(a.exec.progress, "migration"),
        _ => {}
    }
    match cli.command {
        Command::Template(a) => template::run(a, g),
        Command::Schema(a) => schema::run(a, g),
        Command::Validate(a) => validate::run(a, g),
        Command::Fix(a) => fix::run(a, g),
        Command::Plan(a) => plan::run(a, g),
        Command::Split(a) => split::run(a, g),
        Command::Upload(a) => upload::run(a, g),
        Command::Start(a) => start::run(a, g),
        Command::Status(a) => status::run(a, g),
        Command::Run(a) => run::run(a, g),
        // A migration directory resumes as a whole migration; a run directory as a run.
        // `--last` is the newest unfinished run, else migration (`runs::resume_dir`).
        Command::Resume(mut a) => {
            if a.run_dir.is_none() && a.last {
                a.run_dir = Some(crate::runs::resume_dir(None, true, a.skip_invalid)?);
            }
            match a.run_dir.clone().filter(|d| elma_import_migrate::is_migration_dir(d)) {
                Some(dir) => migrate::resume(&dir, &a, g),
                None => resume::run(a, g),
            }
        }
        Command::Migrate(a) => migrate::run(a, g),
        Command::Emulator(a) => emulator::run(a, g),
        Command::Demo(a) => demo::run(a, g),
        Command::Check(a) => check::run(a, g),
        Command::Runs(a) => runs::run(a, g),
        Command::Completions(a) => completions::run(a, g, <Cli as clap::CommandFactory>::command()),
        Command::Verify(a) => verify::run(a, g),
        Command::Report(a) => report::run(a, g),
    }
}
