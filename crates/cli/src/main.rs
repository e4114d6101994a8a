//! `elma-import`: move spreadsheet data into ELMA365 apps through the Web API.
//!
//! `main` is thin and total: it runs the command and maps any error to an exit code
//! (README "Exit codes"). With `--json` every outcome, failures included, is one JSON
//! object on stdout with `exit_code` (docs/json.md). A closed stdout (`| head`) stops
//! the printing, not the work.

mod annotated;
mod args;
mod commands;
mod execute;
mod exit;
mod hints;
mod migration;
mod opts;
mod page;
mod runs;
mod settings;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return ui::usage_error(err),
    };
    ui::init(cli.global.json, cli.global.quiet);
    ui::finish(commands::run(cli))
}
