//! The command line: global flags, the subcommands, and argument groups they share.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use elma_import_validate::ColumnMap;

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
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Print the outcome as one JSON object on stdout, failures included
    /// (`{"error", "exit_code", …}`); talk and progress stay on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars or talk on stderr; errors are still printed.
    #[arg(long, short, global = true)]
    pub quiet: bool,
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

/// How to read the input file.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The input file (.csv or .xlsx).
    pub file: PathBuf,
    /// Encoding of a .csv (`utf-8`, `windows-1251`, …); detected when left out.
    #[arg(long, value_name = "E")]
    pub encoding: Option<String>,
    /// Delimiter of a .csv: `,` `;` `tab` (or `\t`); detected from the header when left out.
    #[arg(long, value_name = "D", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Worksheet of an .xlsx (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
}

impl SourceArgs {
    /// Reader options.
    pub fn read_options(&self) -> elma_import_sheet::ReadOptions {
        elma_import_sheet::ReadOptions {
            encoding: self.encoding.clone(),
            delimiter: self.delimiter,
            sheet: self.sheet.clone(),
            ..Default::default()
        }
    }

    /// Opens the input; a file without a header row (0 bytes, or an empty row 1) is a
    /// data error naming the file, not a header that lacks every field.
    pub fn open(&self) -> anyhow::Result<elma_import_sheet::Reader> {
        let reader = elma_import_sheet::open(&self.file, &self.read_options())?;
        if reader.header().is_blank() {
            let file = self.file.display();
            let what = if reader.progress().1 == 0 {
                format!("`{file}` is empty (0 bytes): there is no header row")
            } else {
                format!("`{file}`: row 1 is empty: there is no header row")
            };
            return Err(crate::exit::coded(
                crate::exit::DATA,
                anyhow::anyhow!(
                    "{what}; row 1 must name the app's fields, as `elma-import template` writes them"
                ),
            ));
        }
        Ok(reader)
    }
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "," | ";" | "|" => Ok(s.as_bytes()[0]),
        other => Err(format!("`{other}` is not a delimiter: use `,` `;` `|` or `tab`")),
    }
}

/// Where the app's fields come from.
#[derive(Debug, Clone, Args)]
pub struct SchemaSource {
    /// App schema file (JSON of the platform's app answer, as in templates/*.schema.json).
    #[arg(long, value_name = "FILE", conflicts_with = "app")]
    pub schema: Option<PathBuf>,
    /// App as `namespace.code`: its fields are fetched from the platform.
    #[arg(long, value_name = "NS.CODE")]
    pub app: Option<String>,
}

/// Validation settings.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Date and number formats: `ru` (dd.MM.yyyy HH:mm) or `en` (M/d/yyyy h:mm AM/PM).
    #[arg(long, default_value = "ru", value_parser = ["ru", "en"])]
    pub locale: String,
    /// Skip columns that name no field instead of failing.
    #[arg(long)]
    pub ignore_unknown: bool,
    /// Time zone of date-time cells, which carry no offset: an IANA name
    /// (`Europe/Moscow`), an offset (`+03:00`, `UTC`) or `local` (this machine's zone).
    #[arg(long, default_value = "local", value_name = "ZONE", value_parser = parse_time_zone)]
    pub time_zone: elma_import_validate::TimeZone,
    /// Column mapping.
    #[command(flatten)]
    pub map: MapArgs,
}

/// Renaming the file's columns to the app's fields.
#[derive(Debug, Clone, Args)]
pub struct MapArgs {
    /// Read the column headed HEADER as the field FIELD (its name or code), e.g.
    /// --map 'Телефон=Phone'; repeatable. Files written carry the mapped header.
    #[arg(long = "map", value_name = "HEADER=FIELD", value_parser = ColumnMap::parse_entry)]
    pub entries: Vec<(String, String)>,
    /// A .csv of mappings, one `HEADER,FIELD` per line (a first line `header,field` is
    /// skipped); --map entries come after it.
    #[arg(long, value_name = "FILE")]
    pub map_file: Option<PathBuf>,
}

impl MapArgs {
    /// The mapping of --map-file then --map.
    pub fn column_map(&self) -> anyhow::Result<ColumnMap> {
        let mut pairs = Vec::new();
        if let Some(path) = &self.map_file {
            let cannot = |e: &dyn std::fmt::Display| {
                crate::exit::usage(format!("cannot read the map file `{}`: {e}", path.display()))
            };
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(path)
                .map_err(|e| cannot(&e))?;
            for (i, record) in reader.records().enumerate() {
                let record = record.map_err(|e| cannot(&e))?;
                let from = record.get(0).unwrap_or("").trim_start_matches('\u{feff}').trim();
                let to = record.get(1).unwrap_or("").trim();
                if i == 0 && from.eq_ignore_ascii_case("header") && to.eq_ignore_ascii_case("field") {
                    continue;
                }
                if from.is_empty() && to.is_empty() {
                    continue;
                }
                if from.is_empty() || to.is_empty() || record.len() > 2 {
                    return Err(crate::exit::usage(format!(
                        "`{}` line {}: write each mapping as two cells, HEADER,FIELD",
                        path.display(),
                        i + 1
                    )));
                }
                pairs.push((from.to_string(), to.to_string()));
            }
        }
        pairs.extend(self.entries.iter().cloned());
        Ok(ColumnMap::new(pairs))
    }
}

fn parse_time_zone(text: &str) -> Result<elma_import_validate::TimeZone, String> {
    text.parse().map_err(|e: elma_import_validate::UnknownTimeZone| e.to_string())
}

impl CheckArgs {
    /// The column mapping of --map-file and --map.
    pub fn column_map(&self) -> anyhow::Result<ColumnMap> {
        self.map.column_map()
    }

    /// The header row as the mapping renames it; an entry that matches no column is a
    /// usage error.
    pub fn mapped_header(
        &self,
        map: &ColumnMap,
        header: &elma_import_sheet::Row,
    ) -> anyhow::Result<elma_import_sheet::Row> {
        map.apply(header).map_err(crate::exit::usage)
    }

    /// Validation options.
    pub fn options(&self) -> elma_import_validate::Options {
        elma_import_validate::Options {
            locale: self.locale.parse().unwrap_or_default(),
            ignore_unknown: self.ignore_unknown,
            time_zone: self.time_zone.pinned(),
        }
    }
}

/// How to reach the platform.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Base URL of the Web API, e.g. https://acme.elma365.ru/pub/v1
    #[arg(long, env = "ELMA365_URL", hide_env_values = true, value_name = "URL")]
    pub url: Option<String>,
    /// API token (a secret: never printed or saved; prefer the environment variable).
    #[arg(long, env = "ELMA365_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Profile of the config file to use.
    #[arg(long, env = "ELMA365_PROFILE", hide_env_values = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/elma-import/config.toml).
    #[arg(long, env = "ELMA_IMPORT_CONFIG", hide_env_values = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Request timeout.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DUR")]
    pub timeout: std::time::Duration,
    /// Retries of a failed request (retried statuses: 408 429 500 502 503 504, network errors).
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub retries: u32,
    /// Append a JSON line per HTTP exchange to FILE (method, path, status, duration, headers
    /// and bodies; never the token), to attach to a bug report.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// Parses a duration flag: `90s`, `5m`, `1h 30m`, `500ms`, or a bare number of seconds
/// (`5`, `2.5`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return std::time::Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("`{s}` is not a duration: give seconds ≥ 0 or e.g. `90s`, `5m`, `1h`"));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("`{s}` is not a duration ({e}): give seconds (`5`) or e.g. `90s`, `5m`, `1h`"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn a_bare_number_in_a_duration_is_seconds() {
        assert_eq!(super::parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(super::parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(super::parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(super::parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(super::parse_duration("-1").unwrap_err().contains("`-1`"));
        assert!(super::parse_duration("soon").unwrap_err().contains("`soon`"));
    }
}
