//! Argument groups and value parsers the commands share: the global flags, how to read
//! the input, the app, validation, column mapping, the connection, import and execution
//! settings, pauses. A leaf of the command line: commands use it, it uses no command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use elma_import_client::PollPolicy;
use elma_import_runner::pace::PauseMode;
use elma_import_runner::{Chunk, ExecOptions, RunPolicy};
use elma_import_validate::ColumnMap;

use crate::exit::usage;
use crate::ui;

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

/// Whether `a` and `b` name the same existing file, however written (`./a.csv`, a
/// symbolic or a hard link).
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        x.dev() == y.dev() && x.ino() == y.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (x, y);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
    }
}

/// Refuses `output` (given with `flag`) when it is the file `input`: no command writes
/// over the file it reads.
pub fn refuse_input_as_output(input: &Path, output: &Path, flag: &str) -> anyhow::Result<()> {
    if same_file(input, output) {
        return Err(usage(format!(
            "{flag} `{}` is the input file `{}`: name another file (the input is never written over)",
            output.display(),
            input.display()
        )));
    }
    Ok(())
}

impl SourceArgs {
    /// Refuses any of `outputs` (flag, path) that is the input file.
    pub fn refuse_as_output<'a>(
        &self,
        outputs: impl IntoIterator<Item = (&'a str, Option<&'a Path>)>,
    ) -> anyhow::Result<()> {
        for (flag, path) in outputs {
            if let Some(path) = path {
                refuse_input_as_output(&self.file, path, flag)?;
            }
        }
        Ok(())
    }

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
    #[arg(long, default_value = "ru", value_parser = locale_parser())]
    pub locale: elma_import_contract::Locale,
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
            locale: self.locale,
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
    // `4.2s`, as durations are printed (humantime takes whole numbers only).
    if let Some(secs) =
        t.strip_suffix('s').filter(|n| !n.ends_with('m')).and_then(|n| n.trim().parse::<f64>().ok())
    {
        if let Ok(d) = std::time::Duration::try_from_secs_f64(secs) {
            return Ok(d);
        }
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("`{s}` is not a duration ({e}): give seconds (`5`) or e.g. `90s`, `5m`, `1h`"))
}

/// Import settings shared by `plan` and `run`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Run the app's event handlers for every item (chunks of at most 1,000 rows, paced).
    #[arg(long)]
    pub with_event_handlers: bool,
    /// Rows per chunk (with handlers: at most 1,000 unless --allow-over-limit).
    #[arg(long, value_name = "N")]
    pub rows_per_chunk: Option<u64>,
    /// Allow chunks above 1,000 rows with event handlers (prints a warning).
    #[arg(long)]
    pub allow_over_limit: bool,
    /// Assumed import speed of the platform, rows per second, for estimates.
    #[arg(long, default_value_t = 200.0, value_name = "R")]
    pub import_rate: f64,
    /// Pause between imports.
    #[command(flatten)]
    pub pause: PauseArgs,
}

/// `--pause DUR|auto`: a fixed pause, or one learned from the imports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PauseArg {
    /// The same pause after every chunk.
    Fixed(Duration),
    /// `auto`: learned from each import's throughput.
    Auto,
}

/// Parses `--pause`: `auto`, or a duration (bare numbers are seconds).
pub fn parse_pause(s: &str) -> Result<PauseArg, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(PauseArg::Auto);
    }
    crate::opts::parse_duration(s).map(PauseArg::Fixed).map_err(|e| format!("{e}, or `auto`"))
}

/// The pause flags of `plan`, `run`, `resume` and `demo`.
#[derive(Debug, Clone, Default, Args)]
pub struct PauseArgs {
    /// Pause between imports with event handlers: a duration (`5`, `90s`; default: the
    /// plan's, the chunk's rows at 50 handler jobs/s, at least 2 s), or `auto`: start
    /// there, shrink while imports run at full speed, grow as soon as a handler backlog
    /// slows them.
    #[arg(long, value_parser = parse_pause, value_name = "DUR|auto")]
    pub pause: Option<PauseArg>,
    /// Shortest pause `--pause auto` may choose [default: 1s].
    #[arg(long, value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub min_pause: Option<Duration>,
    /// Longest pause `--pause auto` may choose [default: 10m].
    #[arg(long, value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub max_pause: Option<Duration>,
}

impl PauseArgs {
    /// The fixed pause asked for, if any.
    pub fn fixed(&self) -> Option<Duration> {
        match self.pause {
            Some(PauseArg::Fixed(d)) => Some(d),
            _ => None,
        }
    }

    /// The pause mode asked for (`None`: none was; the run's or the default stays).
    /// Bounds without `--pause auto` are a usage error.
    pub fn mode(&self) -> anyhow::Result<Option<PauseMode>> {
        self.mode_over(PauseMode::Fixed)
    }

    /// [`PauseArgs::mode`] for a run whose mode was `base`: `--pause auto` keeps the
    /// bounds of an auto run that it does not name anew.
    pub fn mode_over(&self, base: PauseMode) -> anyhow::Result<Option<PauseMode>> {
        match self.pause {
            Some(PauseArg::Auto) => {
                let (min, max) = base.bounds().unwrap_or((PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX));
                let min = self.min_pause.unwrap_or(min);
                let max = self.max_pause.unwrap_or(max);
                if max < min {
                    return Err(usage(format!(
                        "--max-pause `{}` is shorter than --min-pause `{}`",
                        ui::duration(max),
                        ui::duration(min)
                    )));
                }
                Ok(Some(PauseMode::auto(min, max)))
            }
            _ if self.min_pause.is_some() || self.max_pause.is_some() => {
                Err(usage("--min-pause and --max-pause bound `--pause auto`: pass it too"))
            }
            Some(PauseArg::Fixed(_)) => Ok(Some(PauseMode::Fixed)),
            None => Ok(None),
        }
    }
}

/// Settings that may change between `run` and `resume`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Give up (exit 4, resumable) when the app stays blocked by another import this long.
    #[arg(long, default_value = "30m", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub blocked_timeout: Duration,
    /// Lifetime of the platform's temporary files.
    #[arg(long, default_value = "60m", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub temp_ttl: Duration,
    /// Longest wait between two status polls (the shortest is always 1 s).
    #[arg(long, default_value = "10s", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub max_poll_interval: Duration,
    /// End the wait for an import whose counts have not moved this long (exit 3, resumable).
    #[arg(long, default_value = "30m", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub stall_timeout: Duration,
    /// Print a line per step even on a terminal.
    #[arg(long, short)]
    pub verbose: bool,
    /// How progress is shown on stderr: `auto` (a bar on a terminal, a line per event
    /// otherwise), `bar`, `lines`, `jsonl` (one JSON object per event, for programs) or `none`.
    #[arg(long, value_enum, default_value = "auto", value_name = "HOW")]
    pub progress: crate::ui::progress::Mode,
}

impl ExecArgs {
    /// Execution options: this execution's timings, the user's word on chunks, and the
    /// user's import ledger.
    pub fn options(&self, pause: Option<Duration>, assume: Vec<(Chunk, bool)>) -> ExecOptions {
        ExecOptions {
            pause,
            policy: RunPolicy {
                blocked_timeout: self.blocked_timeout,
                stall_timeout: self.stall_timeout,
                ..RunPolicy::default()
            },
            poll: PollPolicy { max_interval: self.max_poll_interval, ..PollPolicy::default() },
            assume,
            temp_ttl: Some(self.temp_ttl),
            ledger: elma_import_runner::ledger::default_path(),
            ..ExecOptions::default()
        }
    }
}

/// `--locale`: `ru` or `en` (the values shell completion offers).
pub fn locale_parser() -> impl clap::builder::TypedValueParser<Value = elma_import_contract::Locale> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["ru", "en"]).map(|s| match s.as_str() {
        "en" => elma_import_contract::Locale::En,
        _ => elma_import_contract::Locale::Ru,
    })
}

/// A chunk file format: `xlsx` or `csv` (the values shell completion offers).
pub fn file_format_parser(
) -> impl clap::builder::TypedValueParser<Value = elma_import_contract::wire::FileFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["xlsx", "csv"]).map(|s| match s.as_str() {
        "csv" => elma_import_contract::wire::FileFormat::Csv,
        _ => elma_import_contract::wire::FileFormat::Xlsx,
    })
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
        assert_eq!(super::parse_duration("4.2s"), Ok(Duration::from_millis(4200)));
        assert_eq!(super::parse_duration("3m 07s"), Ok(Duration::from_secs(187)));
        assert_eq!(super::parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(super::parse_duration("-1").unwrap_err().contains("`-1`"));
        assert!(super::parse_duration("soon").unwrap_err().contains("`soon`"));
    }
}

#[cfg(test)]
mod pause_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pause_takes_a_duration_or_auto() {
        assert_eq!(parse_pause("5"), Ok(PauseArg::Fixed(Duration::from_secs(5))));
        assert_eq!(parse_pause("90s"), Ok(PauseArg::Fixed(Duration::from_secs(90))));
        assert_eq!(parse_pause("AUTO"), Ok(PauseArg::Auto));
        let e = parse_pause("soon").unwrap_err();
        assert!(e.contains("`soon`") && e.contains("`auto`"), "{e}");
    }

    #[test]
    fn bounds_belong_to_auto_and_default_sensibly() {
        let args = |pause, min, max| PauseArgs { pause, min_pause: min, max_pause: max };
        let s = Duration::from_secs;
        assert_eq!(args(None, None, None).mode().unwrap(), None);
        assert_eq!(args(Some(PauseArg::Fixed(s(5))), None, None).mode().unwrap(), Some(PauseMode::Fixed));
        assert_eq!(
            args(Some(PauseArg::Auto), None, None).mode().unwrap(),
            Some(PauseMode::auto(PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX))
        );
        assert_eq!(
            args(Some(PauseArg::Auto), Some(s(2)), Some(s(9))).mode().unwrap(),
            Some(PauseMode::auto(s(2), s(9)))
        );
        assert!(args(None, Some(s(2)), None).mode().unwrap_err().to_string().contains("--pause auto"));
        assert!(args(Some(PauseArg::Auto), Some(s(9)), Some(s(2))).mode().is_err());
        // A resume of an auto run keeps the bounds it does not name anew.
        let run = PauseMode::auto(s(3), s(60));
        assert_eq!(args(Some(PauseArg::Auto), None, None).mode_over(run).unwrap(), Some(run));
        assert_eq!(
            args(Some(PauseArg::Auto), None, Some(s(30))).mode_over(run).unwrap(),
            Some(PauseMode::auto(s(3), s(30)))
        );
    }
}
