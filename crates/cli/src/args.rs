//! The command line: the subcommands. The argument groups they share are in `opts`.

use clap::{Parser, Subcommand};

use crate::commands;

const ABOUT: &str = "Move spreadsheet data into ELMA365 apps through the Web API: check files \
before anything is sent, split them the way the platform wants, import them paced and \
resumably, and see every rejected cell by row and column.";

const AFTER: &str = "\
Quick start:
  elma-import demo  # the whole pipeline against a built-in emulator
  elma-import template --schema templates/crm.contacts.schema.json \\
      -o contacts.xlsx
  elma-import validate contacts.csv \\
      --schema templates/crm.contacts.schema.json --errors errors.csv
  elma-import run contacts.csv --app crm.contacts --with-event-handlers \\
      --url URL --token TOKEN
  elma-import runs  # the runs so far; `resume --last` continues one
  elma-import check --url https://acme.elma365.ru --token TOKEN --app crm.contacts

Exit codes: 0 ok · 1 data rejected · 2 usage/configuration · 3 network/API failure ·
4 blocked too long · 5 uncertain chunk needs a decision · 130 interrupted (resumable).
Connection: --url/ELMA365_URL, --token/ELMA365_TOKEN, or a profile in the config file.";

/// elma-import command line.
#[derive(Debug, Parser)]
#[command(name = "elma-import", version, about = ABOUT, after_help = AFTER, propagate_version = true)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: crate::opts::Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write an import template (.xlsx or .csv) for an app.
    Template(commands::template::TemplateArgs),
    /// Fetch an app's fields from the platform and save them as a schema file.
    Schema(commands::schema::SchemaArgs),
    /// Check a file against an app's fields; report every bad cell.
    Validate(commands::validate::ValidateArgs),
    /// Rewrite the unambiguous mistakes of a file and list every change.
    Fix(commands::fix::FixArgs),
    /// Show how a file would be imported (upload kind, chunk size, pauses) and why.
    Plan(commands::plan::PlanArgs),
    /// Split a file into chunk files that each repeat the header, with a manifest.
    Split(commands::split::SplitArgs),
    /// Upload one file (temporary or to a directory) under a fresh hash.
    Upload(commands::upload::UploadArgs),
    /// Start an import of an uploaded file.
    Start(commands::start::StartArgs),
    /// Show (or wait for) an import's status.
    Status(commands::status::StatusArgs),
    /// Validate, plan, chunk, upload, import, poll and report: the main job.
    Run(commands::run::RunArgs),
    /// Continue a run after a crash, Ctrl-C, a network failure or a blocked app.
    Resume(commands::resume::ResumeArgs),
    /// Several files into several apps in dependency order, references resolved by key.
    Migrate(commands::migrate::MigrateArgs),
    /// Serve a local emulator of the platform's import API.
    Emulator(commands::emulator::EmulatorArgs),
    /// Run the whole pipeline on generated data against an in-process emulator.
    Demo(commands::demo::DemoArgs),
    /// Check the address, token, app and directory step by step; read-only.
    Check(commands::check::CheckArgs),
    /// List the runs in a runs folder: id, app, file, status, rows, started.
    Runs(commands::runs::RunsArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(commands::completions::CompletionsArgs),
    /// Compare every row of a file, run or migration with the app's items, field by field.
    Verify(commands::verify::VerifyArgs),
    /// Write the report page (report.html) of a run, migration or verify directory again.
    Report(commands::report::ReportArgs),
}
