//! The import plan: temporary or directory upload, rows per chunk, pauses, and why.
//!
//! The rules come from the platform's guidance (docs/platform.md, "Temporary files: 60 minutes and the safe window" and "§3 Start an import"):
//!
//! 1. **Event handlers on** (`withEventHandlers: true`): chunks of at most
//!    [`MAX_ROWS_WITH_HANDLERS`] rows, each uploaded as a temporary file just before its
//!    import, with a pause between imports so the platform's message queue drains. A
//!    larger `rows_per_chunk` is refused unless `allow_over_limit` is set, and then
//!    draws a warning.
//! 2. **Event handlers off and more than [`DIRECTORY_UPLOAD_ABOVE_ROWS`] rows**: a
//!    directory (permanent) upload, one chunk unless `rows_per_chunk` is set.
//! 3. **Otherwise** one temporary upload (or one per chunk when `rows_per_chunk` is set).
//! 4. **Temporary-file safety**: a temporary file lives [`TEMP_FILE_TTL_SECS`]; when one
//!    chunk's import estimate (`rows / import_rows_per_sec`) is longer than
//!    [`safe_temporary_window`] (the TTL minus [`TTL_MARGIN`]) the plan switches to a
//!    directory upload.
//!
//! Each rule that fires adds a sentence with its numbers to [`Plan::reasons`].
//!
//! **Default pause** (event handlers on, no `pause` given): the time the handler queue
//! needs to drain one chunk, `rows_per_chunk / DEFAULT_HANDLER_ROWS_PER_SEC` seconds,
//! and never less than [`MIN_PAUSE`]: 1,000 rows → 20 s, 50 rows → 2 s. With handlers
//! off there is no pause unless one is given.
//!
//! **Estimate** = `rows / import_rows_per_sec` + `(chunks − 1) × pause` + `chunks ×`
//! [`CHUNK_STEP`] (each import's upload, start request, and the status poll that sees it
//! end: polls come a second apart, so an import is seen finished up to a second late).

use std::fmt;
use std::time::Duration;

use elma_import_contract::wire::{DIRECTORY_UPLOAD_ABOVE_ROWS, MAX_ROWS_WITH_HANDLERS, TEMP_FILE_TTL_SECS};
use serde::{Deserialize, Serialize};

/// Rows per second the platform imports, when nothing better is known.
pub const DEFAULT_IMPORT_ROWS_PER_SEC: f64 = 100.0;
/// Rows per second the event-handler queue drains, used for the default pause.
pub const DEFAULT_HANDLER_ROWS_PER_SEC: f64 = 50.0;
/// What each chunk adds to its import time in the estimate: its upload and start
/// requests, and the polling step (the end of an import is seen at the next status poll,
/// up to a second after it).
pub const CHUNK_STEP: Duration = Duration::from_secs(1);
/// The shortest default pause between two imports with event handlers on.
pub const MIN_PAUSE: Duration = Duration::from_secs(2);
/// How much of a temporary file's lifetime is kept in reserve (uploads, waiting while
/// another import blocks the app, clock drift).
pub const TTL_MARGIN: Duration = Duration::from_secs(10 * 60);

/// How long a temporary file that lives `ttl` may wait and be imported and still be
/// there at the end: `ttl` minus [`TTL_MARGIN`] (the platform's 60 min → 50 min), the
/// margin never more than half of `ttl` (so short test TTLs keep a window).
pub fn safe_temporary_window(ttl: Duration) -> Duration {
    ttl.saturating_sub(TTL_MARGIN.min(ttl / 2))
}

/// Where chunk files are uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    /// `POST /disk/file/upload`: deleted 60 minutes after upload.
    Temporary,
    /// `POST /disk/directory/{id}/upload`: kept permanently.
    Directory,
}

impl UploadKind {
    /// `temporary` or `directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::Temporary => "temporary",
            UploadKind::Directory => "directory",
        }
    }
}

impl fmt::Display for UploadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the plan is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    /// Data rows to import (the header not counted).
    pub rows: u64,
    /// Size of the input file in bytes (shown in the reasons; 0 when unknown).
    pub bytes: u64,
    /// Whether the platform runs the app's event handlers for every imported item.
    pub with_event_handlers: bool,
    /// Rows per chunk the user asked for; `None` lets the rules choose.
    pub rows_per_chunk: Option<u64>,
    /// Allows more than [`MAX_ROWS_WITH_HANDLERS`] rows per chunk with event handlers.
    pub allow_over_limit: bool,
    /// How fast the platform imports, rows per second (for the estimate and the
    /// temporary-file safety rule). Must be positive.
    pub import_rows_per_sec: f64,
    /// Pause between two imports; `None` uses the default (see the module docs).
    pub pause: Option<Duration>,
    /// How long the platform keeps a temporary file ([`TEMP_FILE_TTL_SECS`] unless the
    /// run says otherwise).
    pub temp_ttl: Duration,
}

impl PlanInput {
    /// An input for `rows` rows with every other setting at its default: no event
    /// handlers, rows per chunk chosen by the rules, [`DEFAULT_IMPORT_ROWS_PER_SEC`].
    pub fn new(rows: u64) -> PlanInput {
        PlanInput {
            rows,
            bytes: 0,
            with_event_handlers: false,
            rows_per_chunk: None,
            allow_over_limit: false,
            import_rows_per_sec: DEFAULT_IMPORT_ROWS_PER_SEC,
            pause: None,
            temp_ttl: Duration::from_secs(TEMP_FILE_TTL_SECS),
        }
    }
}

/// How an import is carried out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Where the chunk files are uploaded.
    pub upload: UploadKind,
    /// The most rows one chunk holds (never more than the rows to import).
    pub rows_per_chunk: u64,
    /// Number of chunks, and so of imports.
    pub chunks: u64,
    /// Pause after each import but the last; serialized as seconds.
    #[serde(with = "secs")]
    pub pause: Duration,
    /// Whether the imports run the app's event handlers.
    pub with_event_handlers: bool,
    /// One sentence per rule that fired, with its numbers.
    pub reasons: Vec<String>,
    /// Things the user should know, e.g. an overridden limit.
    pub warnings: Vec<String>,
    /// Import time plus pauses; serialized as seconds.
    #[serde(with = "secs")]
    pub estimate: Duration,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The input has no data rows.
    #[error("nothing to import: the file has no data rows")]
    NothingToImport,
    /// `rows_per_chunk` is 0.
    #[error("rows per chunk must be at least 1, got `0`")]
    ZeroRowsPerChunk,
    /// More rows per chunk than event handlers allow, without the override.
    #[error(
        "`{rows_per_chunk}` rows per chunk is above the limit of {limit} rows per import with event \
         handlers on; use at most {limit}, or allow going over the limit explicitly"
    )]
    OverHandlerLimit {
        /// Rows per chunk asked for.
        rows_per_chunk: u64,
        /// [`MAX_ROWS_WITH_HANDLERS`].
        limit: u64,
    },
    /// The import rate is zero, negative or not a number.
    #[error("the import rate must be a positive number of rows per second, got `{0}`")]
    BadRate(f64),
}

/// Makes the plan for `input` (see the module docs for the rules).
///
/// ```
/// use elma_import_chunk::{plan, PlanInput, UploadKind};
/// let mut input = PlanInput::new(2_500);
/// input.with_event_handlers = true;
/// let p = plan(&input).unwrap();
/// assert_eq!((p.upload, p.rows_per_chunk, p.chunks), (UploadKind::Temporary, 1_000, 3));
/// assert_eq!(p.pause.as_secs(), 20);
/// ```
pub fn plan(input: &PlanInput) -> Result<Plan, PlanError> {
    let rows = input.rows;
    if rows == 0 {
        return Err(PlanError::NothingToImport);
    }
    if input.rows_per_chunk == Some(0) {
        return Err(PlanError::ZeroRowsPerChunk);
    }
    let rate = input.import_rows_per_sec;
    if !(rate.is_finite() && rate > 0.0) {
        return Err(PlanError::BadRate(rate));
    }

    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let size = if input.bytes > 0 { format!(" ({})", human_bytes(input.bytes)) } else { String::new() };

    let (mut upload, asked) = if input.with_event_handlers {
        let asked = input.rows_per_chunk.unwrap_or(MAX_ROWS_WITH_HANDLERS);
        if asked > MAX_ROWS_WITH_HANDLERS {
            if !input.allow_over_limit {
                return Err(PlanError::OverHandlerLimit {
                    rows_per_chunk: asked,
                    limit: MAX_ROWS_WITH_HANDLERS,
                });
            }
            warnings.push(format!(
                "{} rows per chunk is above the platform's limit of {} rows per import with event \
                 handlers on (allowed by the override): handlers may lag or fail",
                thousands(asked),
                thousands(MAX_ROWS_WITH_HANDLERS)
            ));
        }
        let rpc = asked.min(rows);
        reasons.push(format!(
            "event handlers on: at most {} rows per import, so {} rows{size} go in {} chunk(s) of up to \
             {} rows, each uploaded as a temporary file just before its import",
            thousands(MAX_ROWS_WITH_HANDLERS),
            thousands(rows),
            thousands(rows.div_ceil(rpc)),
            thousands(rpc)
        ));
        (UploadKind::Temporary, asked)
    } else if rows > DIRECTORY_UPLOAD_ABOVE_ROWS {
        let asked = input.rows_per_chunk.unwrap_or(rows);
        reasons.push(format!(
            "event handlers off and {} rows{size} is more than {}: upload to a directory (kept \
             permanently), since a temporary file is deleted {} after upload",
            thousands(rows),
            thousands(DIRECTORY_UPLOAD_ABOVE_ROWS),
            human_duration(input.temp_ttl)
        ));
        (UploadKind::Directory, asked)
    } else {
        let asked = input.rows_per_chunk.unwrap_or(rows);
        reasons.push(format!(
            "event handlers off and {} rows{size} is at most {}: a temporary upload",
            thousands(rows),
            thousands(DIRECTORY_UPLOAD_ABOVE_ROWS)
        ));
        (UploadKind::Temporary, asked)
    };

    let rows_per_chunk = asked.min(rows);
    let chunks = rows.div_ceil(rows_per_chunk);
    if !input.with_event_handlers && input.rows_per_chunk.is_some() {
        reasons.push(format!(
            "{} rows per chunk as asked: {} chunk(s)",
            thousands(input.rows_per_chunk.unwrap_or(rows_per_chunk)),
            thousands(chunks)
        ));
    }

    // A temporary file must outlive its import: the largest chunk's import must end
    // inside the safe window.
    let chunk_import = secs_f64(rows_per_chunk as f64 / rate);
    let window = safe_temporary_window(input.temp_ttl);
    if upload == UploadKind::Temporary && chunk_import > window {
        upload = UploadKind::Directory;
        reasons.push(format!(
            "importing {} rows at {} rows/s takes about {}, longer than the {} a temporary file \
             is safe to use ({} lifetime minus a {} margin): upload to a directory instead",
            thousands(rows_per_chunk),
            rate_text(rate),
            human_duration(chunk_import),
            human_duration(window),
            human_duration(input.temp_ttl),
            human_duration(input.temp_ttl.saturating_sub(window))
        ));
    }

    let pause = match input.pause {
        Some(p) => {
            if chunks > 1 {
                reasons.push(format!("a pause of {} between imports, as asked", human_duration(p)));
            }
            p
        }
        None if input.with_event_handlers => {
            let drain = secs_f64(rows_per_chunk as f64 / DEFAULT_HANDLER_ROWS_PER_SEC).max(MIN_PAUSE);
            if chunks > 1 {
                reasons.push(format!(
                    "a pause of {} between imports lets the event-handler queue drain ({} rows at \
                     {} rows/s, at least {})",
                    human_duration(drain),
                    thousands(rows_per_chunk),
                    rate_text(DEFAULT_HANDLER_ROWS_PER_SEC),
                    human_duration(MIN_PAUSE)
                ));
            }
            drain
        }
        None => Duration::ZERO,
    };

    let import = secs_f64(rows as f64 / rate);
    let pauses = pause.checked_mul(u32::try_from(chunks - 1).unwrap_or(u32::MAX)).unwrap_or(Duration::MAX);
    let steps = CHUNK_STEP.checked_mul(u32::try_from(chunks).unwrap_or(u32::MAX)).unwrap_or(Duration::MAX);
    let estimate = import.saturating_add(pauses).saturating_add(steps);

    Ok(Plan {
        upload,
        rows_per_chunk,
        chunks,
        pause,
        with_event_handlers: input.with_event_handlers,
        reasons,
        warnings,
        estimate,
    })
}

impl fmt::Display for Plan {
    /// The plan as a user reads it: one summary line, the reasons, the warnings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} upload, {} chunk(s) of up to {} rows, event handlers {}, estimate {}",
            self.upload,
            thousands(self.chunks),
            thousands(self.rows_per_chunk),
            if self.with_event_handlers { "on" } else { "off" },
            human_duration(self.estimate)
        )?;
        for r in &self.reasons {
            writeln!(f, "  because {r}")?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

/// Seconds to a duration, saturating instead of panicking on huge values.
fn secs_f64(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(if s > 0.0 { Duration::MAX } else { Duration::ZERO })
}

/// The first `most` of `names` quoted, and how many more: `` `a`, `b`, `c` and 4 more ``
/// (as messages of this crate and the CLI list files).
pub fn some_names(names: &[String], most: usize) -> String {
    let shown: Vec<String> = names.iter().take(most).map(|n| format!("`{n}`")).collect();
    match names.len().saturating_sub(most) {
        0 => shown.join(", "),
        more => format!("{} and {} more", shown.join(", "), thousands(more as u64)),
    }
}

/// `12345` → `12,345`: counts as the plan's reasons (and the CLI) print them.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate_text(rate: f64) -> String {
    if rate.fract() == 0.0 && rate < 1e15 {
        thousands(rate as u64)
    } else {
        format!("{rate:.2}")
    }
}

/// A duration as every message of the tool writes it (the one style of its bars, lines
/// and summaries): tenths of a second under a minute (`20.0s`, `0.5s`), then minutes and
/// seconds (`2m 06s`), then hours and minutes (`1h 02m`); `forever` for no limit. The
/// duration flags read it back.
pub fn human_duration(d: Duration) -> String {
    if d == Duration::MAX {
        return "forever".to_string();
    }
    let tenths = (d.as_secs_f64() * 10.0).round();
    if tenths < 600.0 {
        return format!("{:.1}s", tenths / 10.0);
    }
    let s = d.as_secs_f64().round() as u64;
    if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} bytes");
    }
    let mut v = b as f64;
    let mut unit = "";
    for u in UNITS {
        v /= 1024.0;
        unit = u;
        if v < 1024.0 {
            break;
        }
    }
    format!("{v:.1} {unit}")
}

/// Durations as seconds (a number) in JSON: `#[serde(with = "elma_import_chunk::plan::secs")]`.
pub mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// The duration as seconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// Seconds as a duration; a negative or non-finite number is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rows: u64, handlers: bool) -> PlanInput {
        PlanInput { with_event_handlers: handlers, ..PlanInput::new(rows) }
    }

    /// (rows, handlers, rows_per_chunk, allow_over_limit) → (upload, rows_per_chunk, chunks)
    #[test]
    fn plan_table() {
        use UploadKind::*;
        type Case = (u64, bool, Option<u64>, bool, UploadKind, u64, u64);
        let cases: &[Case] = &[
            (1, true, None, false, Temporary, 1, 1),
            (999, true, None, false, Temporary, 999, 1),
            (1_000, true, None, false, Temporary, 1_000, 1),
            (1_001, true, None, false, Temporary, 1_000, 2),
            (2_500, true, None, false, Temporary, 1_000, 3),
            (2_500, true, Some(300), false, Temporary, 300, 9),
            (100_000, true, None, false, Temporary, 1_000, 100),
            (5_000, true, Some(1_000), false, Temporary, 1_000, 5),
            (5_000, true, Some(2_000), true, Temporary, 2_000, 3),
            (1, false, None, false, Temporary, 1, 1),
            (50_000, false, None, false, Temporary, 50_000, 1),
            (50_001, false, None, false, Directory, 50_001, 1),
            (120_000, false, Some(50_000), false, Directory, 50_000, 3),
            (10_000, false, Some(3_000), false, Temporary, 3_000, 4),
            (10, false, Some(1_000), false, Temporary, 10, 1),
        ];
        for &(rows, handlers, rpc, over, upload, want_rpc, chunks) in cases {
            let mut i = input(rows, handlers);
            i.rows_per_chunk = rpc;
            i.allow_over_limit = over;
            let p = plan(&i).unwrap_or_else(|e| panic!("{rows} rows: {e}"));
            assert_eq!(
                (p.upload, p.rows_per_chunk, p.chunks),
                (upload, want_rpc, chunks),
                "rows {rows}, handlers {handlers}, rpc {rpc:?}: {p}"
            );
            assert!(p.chunks * p.rows_per_chunk >= rows, "chunks cover every row");
            assert!((p.chunks - 1) * p.rows_per_chunk < rows, "no empty chunk");
            assert!(!p.reasons.is_empty());
        }
    }

    #[test]
    fn boundaries_with_handlers_name_their_numbers() {
        let p = plan(&input(1_001, true)).unwrap();
        assert!(p.reasons[0].contains("1,001 rows"), "{:?}", p.reasons);
        assert!(p.reasons[0].contains("2 chunk(s)"), "{:?}", p.reasons);
        assert!(p.reasons.iter().any(|r| r.contains("pause of 20.0s")), "{:?}", p.reasons);
        let p = plan(&input(1_000, true)).unwrap();
        assert!(!p.reasons.iter().any(|r| r.contains("pause")), "one chunk needs no pause: {:?}", p.reasons);
    }

    #[test]
    fn boundaries_without_handlers() {
        let p = plan(&input(50_000, false)).unwrap();
        assert_eq!(p.upload, UploadKind::Temporary);
        assert!(p.reasons[0].contains("50,000 rows is at most 50,000"), "{:?}", p.reasons);
        let p = plan(&input(50_001, false)).unwrap();
        assert_eq!(p.upload, UploadKind::Directory);
        assert!(p.reasons[0].contains("50,001 rows is more than 50,000"), "{:?}", p.reasons);
        assert_eq!(p.pause, Duration::ZERO);
    }

    #[test]
    fn over_the_handler_limit_needs_the_override_and_warns() {
        let mut i = input(5_000, true);
        i.rows_per_chunk = Some(1_001);
        assert_eq!(
            plan(&i).unwrap_err(),
            PlanError::OverHandlerLimit { rows_per_chunk: 1_001, limit: 1_000 }
        );
        assert!(plan(&i).unwrap_err().to_string().contains("`1001`"));
        i.allow_over_limit = true;
        let p = plan(&i).unwrap();
        assert_eq!(p.rows_per_chunk, 1_001);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("1,001 rows per chunk"), "{}", p.warnings[0]);
        // At the limit: no warning.
        i.rows_per_chunk = Some(1_000);
        assert!(plan(&i).unwrap().warnings.is_empty());
    }

    #[test]
    fn slow_temporary_import_switches_to_directory() {
        // 50,000 rows at 10 rows/s = 83 min > 50 min safe window.
        let mut i = input(50_000, false);
        i.import_rows_per_sec = 10.0;
        let p = plan(&i).unwrap();
        assert_eq!(p.upload, UploadKind::Directory);
        let r = p.reasons.last().unwrap();
        assert!(
            r.contains("50,000 rows at 10 rows/s") && r.contains("1h 23m") && r.contains("50m 00s"),
            "{r}"
        );
        // Exactly at the window: stays temporary (3,000 s × 10 rows/s = 30,000 rows).
        i.rows = 30_000;
        assert_eq!(plan(&i).unwrap().upload, UploadKind::Temporary);
        i.rows = 30_001;
        assert_eq!(plan(&i).unwrap().upload, UploadKind::Directory);
        // Small chunks keep every temporary file young, whatever the total.
        i.rows = 40_000;
        i.rows_per_chunk = Some(10_000);
        assert_eq!(plan(&i).unwrap().upload, UploadKind::Temporary);
        // With handlers and an overridden, slow chunk size the same rule fires.
        let mut h = input(100_000, true);
        h.rows_per_chunk = Some(40_000);
        h.allow_over_limit = true;
        h.import_rows_per_sec = 10.0;
        assert_eq!(plan(&h).unwrap().upload, UploadKind::Directory);
    }

    #[test]
    fn estimate_is_import_time_plus_pauses_plus_the_polling_step() {
        let mut i = input(2_500, true);
        i.import_rows_per_sec = 100.0;
        let p = plan(&i).unwrap();
        // 25 s of import + 2 pauses × 20 s + a second per chunk (3) for its requests and
        // the polling step.
        assert_eq!(p.estimate, Duration::from_secs(68));
        i.pause = Some(Duration::from_secs(5));
        let p = plan(&i).unwrap();
        assert_eq!(p.pause, Duration::from_secs(5));
        assert_eq!(p.estimate, Duration::from_secs(38));
        assert!(p.reasons.iter().any(|r| r.contains("pause of 5.0s between imports, as asked")));
    }

    #[test]
    fn default_pause_has_a_floor() {
        let mut i = input(500, true);
        i.rows_per_chunk = Some(50);
        let p = plan(&i).unwrap();
        assert_eq!(p.pause, MIN_PAUSE, "50 rows drain in 1 s, but the pause is at least 2 s");
        i.rows_per_chunk = Some(200);
        assert_eq!(plan(&i).unwrap().pause, Duration::from_secs(4));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(plan(&input(0, true)).unwrap_err(), PlanError::NothingToImport);
        assert_eq!(plan(&input(0, false)).unwrap_err(), PlanError::NothingToImport);
        let mut i = input(10, false);
        i.rows_per_chunk = Some(0);
        assert_eq!(plan(&i).unwrap_err(), PlanError::ZeroRowsPerChunk);
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut i = input(10, false);
            i.import_rows_per_sec = rate;
            assert!(matches!(plan(&i), Err(PlanError::BadRate(_))), "{rate}");
        }
        // An absurdly slow rate saturates instead of panicking.
        let mut i = input(u64::MAX, false);
        i.import_rows_per_sec = 1e-300;
        let p = plan(&i).unwrap();
        assert_eq!(p.upload, UploadKind::Directory);
    }

    #[test]
    fn serializes_lowercase_kind_and_seconds() {
        let p = plan(&input(2_500, true)).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["upload"], "temporary");
        assert_eq!(json["pause"], 20.0);
        assert_eq!(json["estimate"], 68.0);
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_duration(Duration::from_secs(20)), "20.0s");
        assert_eq!(human_duration(Duration::from_secs(3000)), "50m 00s");
        assert_eq!(human_duration(Duration::from_secs(3725)), "1h 02m");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2h 00m");
        assert_eq!(human_duration(Duration::from_millis(500)), "0.5s");
        assert_eq!(human_duration(Duration::MAX), "forever");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn the_safe_window_keeps_ten_minutes_or_half_a_short_ttl() {
        assert_eq!(safe_temporary_window(Duration::from_secs(3600)), Duration::from_secs(3000));
        assert_eq!(safe_temporary_window(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(safe_temporary_window(Duration::ZERO), Duration::ZERO);
    }
}
