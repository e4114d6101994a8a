//! What a run was asked to do, saved as `run.json` in its directory so `resume` does the
//! same work. The base URL or the profile name is kept, so `resume DIR` finds the server
//! again; the token never is.

use std::path::{Path, PathBuf};

use elma_import_contract::schema::AppSchema;
use serde::{Deserialize, Serialize};

use crate::error::RunError;

/// Settings of a run that stay fixed across resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Run id (the run directory's default name).
    pub run_id: String,
    /// The source file, absolute.
    pub source: PathBuf,
    /// Its size in bytes when the run began.
    pub source_bytes: u64,
    /// Its modification time (seconds since the epoch) when the run began.
    pub source_modified: f64,
    /// The app, `namespace.code`.
    pub app: String,
    /// Forced encoding label.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Forced CSV delimiter.
    #[serde(default)]
    pub delimiter: Option<char>,
    /// .xlsx sheet name.
    #[serde(default)]
    pub sheet: Option<String>,
    /// Dates and numbers of the file: `ru` or `en`.
    pub locale: elma_import_contract::Locale,
    /// Skip columns that name no field.
    #[serde(default)]
    pub ignore_unknown: bool,
    /// Import the valid rows and leave the invalid ones out (else: stop before sending).
    #[serde(default)]
    pub skip_invalid: bool,
    /// Run the app's event handlers.
    pub with_event_handlers: bool,
    /// Rows per chunk asked for.
    #[serde(default)]
    pub rows_per_chunk: Option<u64>,
    /// Allow more than 1,000 rows per chunk with handlers.
    #[serde(default)]
    pub allow_over_limit: bool,
    /// The format of the chunk files: `xlsx` or `csv`.
    pub chunk_format: elma_import_contract::wire::FileFormat,
    /// Directory id for directory uploads.
    #[serde(default)]
    pub directory_id: Option<String>,
    /// Column (display name or code) whose values identify items, to settle uncertain chunks.
    #[serde(default)]
    pub key_column: Option<String>,
    /// Assumed import speed, rows per second, for the plan's estimate.
    pub import_rows_per_sec: f64,
    /// The platform's temporary-file lifetime, seconds.
    pub temp_ttl_secs: u64,
    /// Pause between imports asked for, seconds (else the plan's default).
    #[serde(default)]
    pub pause_secs: Option<f64>,
    /// Fixed pause (`pause_secs` or the plan's), or `--pause auto` within bounds; runs
    /// written before auto pacing existed load as fixed.
    #[serde(default)]
    pub pause_mode: crate::pace::PauseMode,
    /// Time zone date-time cells are read in (IANA name or offset); the machine's when
    /// left out.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Base URL of the Web API the run talks to (never the token), so `resume DIR` works
    /// with the token from the environment, a flag or the profile.
    #[serde(default)]
    pub url: Option<String>,
    /// Profile of the config file the run's connection came from.
    #[serde(default)]
    pub profile: Option<String>,
    /// sha256 of the file the user gave when the run began (lowercase hex), to tell a
    /// second import of the same file into the same app (the import ledger's key). A
    /// migration step whose references were resolved into a copy keeps its own file's.
    #[serde(default)]
    pub source_sha256: Option<String>,
    /// Import a row equal to the template's example row instead of skipping it.
    #[serde(default)]
    pub keep_example_row: bool,
    /// Columns renamed before the header is matched to fields: (header in the file,
    /// field name or code), as `--map` gives them.
    #[serde(default)]
    pub column_map: Vec<(String, String)>,
    /// Rows left out before validation, with why: a migration's rows whose references
    /// name no single item (the referenced row was not imported, say). They are named in
    /// `errors.csv` and do not stop the run as invalid rows do.
    #[serde(default)]
    pub left_out: Vec<LeftOut>,
}

/// A row a run leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Source row.
    pub row: u64,
    /// The column at fault.
    pub column: String,
    /// Its cell.
    pub value: String,
    /// Why the row is left out.
    pub reason: String,
}

impl RunSpec {
    /// A spec for importing `source` into `app` with the defaults: handlers off, `ru`
    /// locale, .xlsx chunks, invalid rows stop the run, a 60-minute temporary-file TTL.
    pub fn new(
        run_id: impl Into<String>,
        source: &Path,
        app: impl Into<String>,
    ) -> Result<RunSpec, RunError> {
        let source = std::path::absolute(source)
            .map_err(|e| RunError::io(format!("cannot resolve `{}`", source.display()), e))?;
        let (source_bytes, source_modified) = RunSpec::fingerprint(&source)?;
        Ok(RunSpec {
            run_id: run_id.into(),
            source,
            source_bytes,
            source_modified,
            app: app.into(),
            encoding: None,
            delimiter: None,
            sheet: None,
            locale: elma_import_contract::Locale::Ru,
            ignore_unknown: false,
            skip_invalid: false,
            with_event_handlers: false,
            rows_per_chunk: None,
            allow_over_limit: false,
            chunk_format: elma_import_contract::wire::FileFormat::Xlsx,
            directory_id: None,
            key_column: None,
            import_rows_per_sec: 200.0,
            temp_ttl_secs: elma_import_contract::wire::TEMP_FILE_TTL_SECS,
            pause_secs: None,
            pause_mode: crate::pace::PauseMode::Fixed,
            time_zone: None,
            url: None,
            profile: None,
            source_sha256: None,
            keep_example_row: false,
            column_map: Vec::new(),
            left_out: Vec::new(),
        })
    }

    /// Reads `run.json` of a run directory.
    pub fn load(dir: &Path) -> Result<RunSpec, RunError> {
        let path = dir.join("run.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RunError::NotARun(dir.into())),
            Err(e) => return Err(RunError::io(format!("cannot read `{}`", path.display()), e)),
        };
        serde_json::from_str(&text).map_err(|e| RunError::damaged(path, e))
    }

    /// Writes `run.json` and `schema.json` into a new run directory; refuses a folder that
    /// already holds a run.
    pub fn create(&self, dir: &Path, schema: &AppSchema) -> Result<(), RunError> {
        if dir.join("run.json").exists() {
            return Err(RunError::RunExists(dir.into()));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError::io(format!("cannot create the run directory `{}`", dir.display()), e))?;
        write_json(&dir.join("schema.json"), schema)?;
        write_json(&dir.join("run.json"), self)
    }

    /// The schema the run validates against.
    pub fn load_schema(dir: &Path) -> Result<AppSchema, RunError> {
        let path = dir.join("schema.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| RunError::io(format!("cannot read `{}`", path.display()), e))?;
        AppSchema::from_json(&text).map_err(|e| RunError::damaged(path, e))
    }

    /// Size and modification time of a file, to tell later whether it changed.
    pub fn fingerprint(path: &Path) -> Result<(u64, f64), RunError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| RunError::io(format!("cannot read `{}`", path.display()), e))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        Ok((meta.len(), modified))
    }
}

/// Writes `value` as pretty JSON, atomically (temp file + rename) and fsynced.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RunError> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| RunError::io(format!("cannot encode `{}`", path.display()), std::io::Error::other(e)))?;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| RunError::io(format!("cannot write `{}`", path.display()), e))
}
