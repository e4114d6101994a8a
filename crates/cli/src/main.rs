//! `elma-import`: move spreadsheet data into ELMA365 apps through the Web API.
//!
//! `main` is thin and total: it runs the command and maps any error to an exit code
//! (ARCHITECTURE.md "Exit codes"); a closed stdout (`| head`) exits 0. With `--json`
//! every outcome, failures included, is one JSON object on stdout.

mod annotated;
mod args;
mod commands;
mod exit;
mod hints;
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
    ui::init(&cli.global);
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if exit::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let code = exit::code_of(&err);
            ui::error(&err, code);
            ExitCode::from(code)
        }
    }
}
