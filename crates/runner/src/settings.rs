//! [`RunSettings`]: everything a run follows, resolved once, typed, before any work.
//!
//! A run's settings come from two places: `run.json` (what was asked when the run began,
//! fixed for its life: [`RunSpec`]) and this execution's options ([`ExecOptions`]: what
//! may differ between resumes, such as timeouts or the user's word on uncertain chunks).
//! [`RunSettings::resolve`] merges them against the app's schema and checks every one:
//! the locale, the chunk format, the time zone, the key column, the pause, the
//! temporary-file lifetime. Nothing downstream parses a setting again, so a setting that
//! cannot work fails here, before anything is read or sent, and `plan` and `--dry-run`
//! call the same function.

use std::time::Duration;

use elma_import_client::{AppRef, PollPolicy};
use elma_import_contract::schema::{AppSchema, Field};
use elma_import_contract::wire::FileFormat;
use elma_import_contract::Locale;
use elma_import_validate::TimeZone;

use crate::error::RunError;
use crate::event::Chunk;
use crate::pace::PauseMode;
use crate::policy::RunPolicy;
use crate::spec::RunSpec;

/// Settings of one execution that may differ between resumes.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Pause between imports; `None` takes the run's (its plan's). With `--pause auto`,
    /// where the pacer starts.
    pub pause: Option<Duration>,
    /// Fixed or auto pause for this execution; `None` keeps the run's.
    pub pause_mode: Option<PauseMode>,
    /// Status polling.
    pub poll: PollPolicy,
    /// Timings and budgets.
    pub policy: RunPolicy,
    /// The user's word on uncertain chunks: (chunk, imported?).
    pub assume: Vec<(Chunk, bool)>,
    /// How long the platform keeps temporary files; `None` takes the run's.
    pub temp_ttl: Option<Duration>,
    /// Directory id for directory uploads, when the run did not name one.
    pub directory_id: Option<String>,
    /// Key column for this execution, when the run was started without one.
    pub key_column: Option<String>,
    /// Import the valid rows of a run that validation refused (it had sent nothing).
    pub skip_invalid: bool,
    /// Import the file although the user's import ledger says it was imported into the
    /// app already (`--again`).
    pub again: bool,
    /// The user's import ledger; `None` keeps no ledger (tests, the demo).
    pub ledger: Option<std::path::PathBuf>,
    /// Check, whenever an execution ends, that replaying the journal gives the state the
    /// run had (the simulation sets it).
    pub check_replay: bool,
}

/// The key column, checked against the app's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyColumn {
    /// As the user named it (a header or a field code).
    pub named: String,
    /// The field it names.
    pub field: Field,
}

/// Everything a run follows, resolved once.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The app.
    pub app: AppRef,
    /// Dates and numbers of the file.
    pub locale: Locale,
    /// The zone date-time cells are read in.
    pub time_zone: TimeZone,
    /// The format of the chunk files sent.
    pub chunk_format: FileFormat,
    /// Whether the platform runs the app's event handlers.
    pub with_event_handlers: bool,
    /// The column whose values identify items, if any.
    pub key: Option<KeyColumn>,
    /// Fixed or auto pause.
    pub pause_mode: PauseMode,
    /// The pause asked for this execution (else the plan's).
    pub pause: Option<Duration>,
    /// How long a temporary file lives on the platform.
    pub temp_ttl: Duration,
    /// Directory id for directory uploads.
    pub directory_id: Option<String>,
    /// Import the valid rows and list the invalid ones.
    pub skip_invalid: bool,
    /// Timings and budgets.
    pub policy: RunPolicy,
    /// Status polling.
    pub poll: PollPolicy,
    /// The user's word on uncertain chunks.
    pub assume: Vec<(Chunk, bool)>,
    /// Import although the ledger says the file was imported already.
    pub again: bool,
    /// The user's import ledger.
    pub ledger: Option<std::path::PathBuf>,
    /// Check the journal replays to the state at the end of an execution.
    pub check_replay: bool,
}

impl RunSettings {
    /// Merges `run.json` and this execution's options against the schema, checking each.
    pub fn resolve(
        spec: &RunSpec,
        options: &ExecOptions,
        schema: &AppSchema,
    ) -> Result<RunSettings, RunError> {
        let bad = |what: &str, value: &str, why: String| RunError::Setting {
            name: what.to_string(),
            value: value.to_string(),
            why,
        };
        let app: AppRef = spec
            .app
            .parse()
            .map_err(|e: elma_import_client::AppRefError| bad("app", &spec.app, e.to_string()))?;
        if schema.id() != spec.app {
            return Err(bad(
                "app",
                &spec.app,
                format!("the schema given is the schema of `{}`", schema.id()),
            ));
        }
        let time_zone = match spec.time_zone.as_deref() {
            Some(zone) => zone
                .parse::<TimeZone>()
                .map_err(|e: elma_import_validate::UnknownTimeZone| bad("time zone", zone, e.to_string()))?,
            None => TimeZone::Local,
        };
        let key_named = options.key_column.as_deref().or(spec.key_column.as_deref());
        let key = match key_named {
            Some(named) => {
                let index = schema
                    .field_for_header(named)
                    .ok_or_else(|| bad("key column", named, format!("it names no field of {}", spec.app)))?;
                Some(KeyColumn { named: named.to_string(), field: schema.fields[index].clone() })
            }
            None => None,
        };
        if spec.rows_per_chunk == Some(0) {
            return Err(bad("rows per chunk", "0", "a chunk holds at least one row".into()));
        }
        if !(spec.import_rows_per_sec.is_finite() && spec.import_rows_per_sec > 0.0) {
            return Err(bad(
                "import rate",
                &spec.import_rows_per_sec.to_string(),
                "rows per second must be above zero".into(),
            ));
        }
        if let Some(p) = spec.pause_secs.filter(|p| !(p.is_finite() && *p >= 0.0)) {
            return Err(bad("pause", &p.to_string(), "a pause is zero or more seconds".into()));
        }
        let temp_ttl = options.temp_ttl.unwrap_or(Duration::from_secs(spec.temp_ttl_secs));
        if temp_ttl.is_zero() {
            return Err(bad("temporary-file lifetime", "0", "it must be above zero".into()));
        }
        let pause_mode = options.pause_mode.unwrap_or(spec.pause_mode);
        if let Some((min, max)) = pause_mode.bounds() {
            if min > max {
                return Err(bad(
                    "pause bounds",
                    &format!("{}..{}", crate::duration::human(min), crate::duration::human(max)),
                    "the least pause is longer than the longest".into(),
                ));
            }
        }
        Ok(RunSettings {
            app,
            locale: spec.locale,
            time_zone,
            chunk_format: spec.chunk_format,
            with_event_handlers: spec.with_event_handlers,
            key,
            pause_mode,
            pause: options.pause,
            temp_ttl,
            directory_id: spec.directory_id.clone().or_else(|| options.directory_id.clone()),
            skip_invalid: spec.skip_invalid || options.skip_invalid,
            policy: options.policy.clone(),
            poll: options.poll,
            assume: options.assume.clone(),
            again: options.again,
            ledger: options.ledger.clone(),
            check_replay: options.check_replay,
        })
    }

    /// The sheet format of the chunk files.
    pub fn sheet_format(&self) -> elma_import_sheet::Format {
        match self.chunk_format {
            FileFormat::Csv => elma_import_sheet::Format::Csv,
            FileFormat::Xlsx => elma_import_sheet::Format::Xlsx,
        }
    }

    /// How long a temporary file may be used after its upload.
    pub fn safe_window(&self) -> Duration {
        elma_import_chunk::plan::safe_temporary_window(self.temp_ttl)
    }

    /// Validation options of the run's files.
    pub fn validate_options(&self, spec: &RunSpec) -> elma_import_validate::Options {
        elma_import_validate::Options {
            locale: self.locale,
            ignore_unknown: spec.ignore_unknown,
            time_zone: self.time_zone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_and_schema() -> (tempfile::TempDir, RunSpec, AppSchema) {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("notes.csv");
        std::fs::write(&source, "Name\nA\n").unwrap();
        let schema = AppSchema::from_json(
            r#"{"namespace":"crm","code":"notes","name":"Notes","fields":[
                {"code":"__name","name":"Name","type":"STRING","required":true,"single":true}]}"#,
        )
        .unwrap();
        let spec = RunSpec::new("r", &source, "crm.notes").unwrap();
        (dir, spec, schema)
    }

    #[test]
    fn every_setting_is_checked_once_before_any_work() {
        let (_dir, spec, schema) = spec_and_schema();
        let ok = RunSettings::resolve(&spec, &ExecOptions::default(), &schema).unwrap();
        assert_eq!(ok.key, None);
        let cases: Vec<(RunSpec, ExecOptions, &str)> = vec![
            (
                RunSpec { time_zone: Some("Mars/Olympus".into()), ..spec.clone() },
                ExecOptions::default(),
                "Mars/Olympus",
            ),
            (RunSpec { rows_per_chunk: Some(0), ..spec.clone() }, ExecOptions::default(), "rows per chunk"),
            (RunSpec { key_column: Some("Email".into()), ..spec.clone() }, ExecOptions::default(), "Email"),
            (spec.clone(), ExecOptions { key_column: Some("Nope".into()), ..ExecOptions::default() }, "Nope"),
            (
                spec.clone(),
                ExecOptions { temp_ttl: Some(Duration::ZERO), ..ExecOptions::default() },
                "lifetime",
            ),
            (RunSpec { app: "crm.other".into(), ..spec.clone() }, ExecOptions::default(), "crm.notes"),
        ];
        for (spec, options, named) in cases {
            let err = RunSettings::resolve(&spec, &options, &schema).unwrap_err();
            assert!(matches!(err, RunError::Setting { .. }), "{err:?}");
            assert!(err.to_string().contains(named), "{err}");
        }
    }

    #[test]
    fn this_executions_options_win_over_the_runs_and_the_key_is_bound_to_its_field() {
        let (_dir, spec, schema) = spec_and_schema();
        let spec = RunSpec { temp_ttl_secs: 3600, ..spec };
        let options = ExecOptions {
            temp_ttl: Some(Duration::from_secs(600)),
            key_column: Some("name".into()),
            ..ExecOptions::default()
        };
        let s = RunSettings::resolve(&spec, &options, &schema).unwrap();
        assert_eq!(s.temp_ttl, Duration::from_secs(600));
        assert_eq!(s.safe_window(), Duration::from_secs(300));
        assert_eq!(s.key.map(|k| k.field.code), Some("__name".to_string()));
    }
}
