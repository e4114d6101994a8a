//! The run loop: per chunk, upload → start → wait out `blocked` → poll → record → pause.
//!
//! Every transition is journaled (and fsynced) before the step it announces, so a crash
//! at any point leaves a journal from which [`execute`] continues without importing a
//! chunk twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use elma_import_chunk::{ChunkEntry, Manifest, Plan, UploadKind};
use elma_import_client::{AppRef, Client, ClientError, PollPolicy};
use elma_import_contract::schema::{AppSchema, Field};
use elma_import_contract::wire::{FileFormat, ImportResult, ImportStatus, RowError, StartImport};
use elma_import_validate::Validator;
use rand::Rng;
use serde::Serialize;

use crate::error::RunError;
use crate::journal::{append_shared, now_secs, Event, Journal};
use crate::prepare::{chunks_dir, prepare, validate_options};
use crate::spec::{write_json, RunSpec};
use crate::state::{ChunkPhase, RunState};
use crate::{Observer, Progress};

/// Settings of one execution that may differ between resumes.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Pause between imports; `None` takes the plan's.
    pub pause: Option<Duration>,
    /// Give up when the app stays blocked this long.
    pub blocked_timeout: Duration,
    /// Status polling.
    pub poll: PollPolicy,
    /// User decisions on uncertain chunks: (1-based chunk, imported?).
    pub assume: Vec<(u32, bool)>,
    /// How long the platform keeps temporary files; `None` takes the run's.
    pub temp_ttl: Option<Duration>,
    /// How many times an import that failed before processing any row is retried.
    pub max_restarts: u32,
    /// Directory id for directory uploads, when the run did not name one.
    pub directory_id: Option<String>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            pause: None,
            blocked_timeout: Duration::from_secs(30 * 60),
            poll: PollPolicy::default(),
            assume: Vec::new(),
            temp_ttl: None,
            max_restarts: 3,
            directory_id: None,
        }
    }
}

/// Stops a run at the next safe point (Ctrl-C).
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl Cancel {
    /// A fresh, unset token.
    pub fn new() -> Cancel {
        Cancel::default()
    }
    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
    /// Whether a stop was asked.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    /// Sleeps `d`, or less when cancelled. Returns false when cancelled.
    pub async fn sleep(&self, d: Duration) -> bool {
        if self.is_cancelled() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_cancelled(),
            _ = self.notify.notified() => false,
        }
    }
}

/// What a run did, printed at its end and saved as `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The app.
    pub app: String,
    /// `completed`.
    pub status: String,
    /// Data rows in the source.
    pub rows_read: u64,
    /// Rows that passed validation.
    pub rows_valid: u64,
    /// Rows rejected by validation.
    pub rows_invalid: u64,
    /// Rows sent in chunks.
    pub rows_sent: u64,
    /// Rows the platform imported.
    pub imported: u64,
    /// Rows the platform rejected.
    pub failed: u64,
    /// Chunks in the run.
    pub chunks: u32,
    /// Uploads made by this execution.
    pub uploads: u32,
    /// Requests made by this execution.
    pub requests: u64,
    /// Retried requests in this execution.
    pub retries: u64,
    /// `blocked` answers over the whole run (all executions).
    pub blocked_answers: u32,
    /// Seconds spent waiting for a blocked app.
    pub blocked_secs: f64,
    /// Seconds spent in pauses between imports.
    pub paused_secs: f64,
    /// Wall time of this execution, seconds.
    pub wall_secs: f64,
    /// Seconds spent validating and writing chunk files (0 on a resume after that).
    pub prepare_secs: f64,
    /// Of the sending phase (wall time less preparation), the share the runner spent on
    /// its own work — journal writes, file reads, bookkeeping — rather than waiting on the
    /// network, the platform, polls or pauses: the time the platform waited on us.
    pub client_busy_share: f64,
    /// Chunks settled through the key column or the user's word.
    pub settled_chunks: u32,
    /// Where every rejected row is listed (validation and server), source row numbers.
    pub errors_file: PathBuf,
    /// The plan followed.
    pub plan: Plan,
}

impl Summary {
    /// Whether every row read was imported.
    pub fn all_imported(&self) -> bool {
        self.rows_invalid == 0 && self.failed == 0
    }
}

struct Ctx<'a> {
    dir: &'a Path,
    spec: RunSpec,
    app: AppRef,
    client: &'a Client,
    options: &'a ExecOptions,
    observer: &'a dyn Observer,
    cancel: &'a Cancel,
    journal: Mutex<Journal>,
    manifest: Manifest,
    plan: Plan,
    validator: Option<Validator>,
    schema: AppSchema,
    // Accounting for this execution.
    uploads: u32,
    blocked: Duration,
    paused: Duration,
    waiting: Duration,
    prepare: Duration,
    settled: u32,
}

impl Ctx<'_> {
    fn log(&self, event: Event) -> Result<(), RunError> {
        append_shared(&self.journal, &event)
    }

    /// Journals the interruption and returns the error that ends the execution.
    fn interrupted(&self) -> RunError {
        match self.log(Event::Interrupted { at: now_secs() }) {
            Ok(()) => RunError::Interrupted(self.dir.into()),
            Err(e) => e,
        }
    }

    /// Sleeps `d` (a pause or a wait for a blocked app), counting it as waiting; stops
    /// early on Ctrl-C. Returns how long it slept.
    async fn wait(&mut self, d: Duration) -> Result<Duration, RunError> {
        let t = Instant::now();
        let finished = self.cancel.sleep(d).await;
        let slept = t.elapsed();
        self.waiting += slept;
        if finished {
            Ok(slept)
        } else {
            Err(self.interrupted())
        }
    }

    /// The pause between imports: as asked, else the plan's.
    fn pause_length(&self) -> Duration {
        self.options.pause.unwrap_or(self.plan.pause)
    }

    /// Pauses `d` so the platform's event handlers drain (after chunk `chunk`).
    async fn pause(&mut self, chunk: u32, d: Duration) -> Result<(), RunError> {
        if d.is_zero() {
            return Ok(());
        }
        self.observer.on(&Progress::Pausing { chunk, pause: d });
        let slept = self.wait(d).await?;
        self.paused += slept;
        Ok(())
    }

    /// The run state as the journal has it now.
    fn reload(&self) -> Result<RunState, RunError> {
        Ok(RunState::replay(&Journal::read(&self.dir.join("journal.jsonl"))?))
    }

    fn chunk_path(&self, entry: &ChunkEntry) -> PathBuf {
        chunks_dir(self.dir).join(&entry.file)
    }

    fn safe_window(&self) -> Duration {
        let ttl = self.options.temp_ttl.unwrap_or(Duration::from_secs(self.spec.temp_ttl_secs));
        elma_import_chunk::plan::safe_temporary_window(ttl)
    }

    fn format(&self) -> FileFormat {
        match self.spec.chunk_format() {
            elma_import_sheet::Format::Csv => FileFormat::Csv,
            elma_import_sheet::Format::Xlsx => FileFormat::Xlsx,
        }
    }

    async fn timed<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        let t = Instant::now();
        let out = f.await;
        self.waiting += t.elapsed();
        out
    }
}

/// Chunk `i` as it stands: its manifest entry, or the file of rows a failed import left out.
fn effective_entry(manifest: &Manifest, state: &RunState, i: u32) -> ChunkEntry {
    let mut entry = manifest.chunks[i as usize].clone();
    if let Some(r) = state.replacements.get(&i) {
        entry.file.clone_from(&r.file);
        entry.rows = r.rows;
        entry.source_ranges.clone_from(&r.source_ranges);
        entry.first_row = r.source_ranges.first().map_or(0, |r| r[0]);
        entry.last_row = r.source_ranges.last().map_or(0, |r| r[1]);
    }
    entry
}

/// Uploads chunk `i` under a fresh hash. Returns the new phase.
async fn upload(
    client: &Client,
    journal: &Mutex<Journal>,
    path: &Path,
    chunk: u32,
    target: UploadKind,
    directory_id: Option<&str>,
) -> Result<ChunkPhase, RunError> {
    let hash = uuid::Uuid::new_v4().to_string();
    append_shared(journal, &Event::UploadBegin { at: now_secs(), chunk, hash: hash.clone(), target })?;
    let result = match target {
        UploadKind::Temporary => client.upload_temporary(&hash, path).await.map(|_| ()),
        UploadKind::Directory => {
            let dir = directory_id.unwrap_or_default();
            client.upload_to_directory(dir, &hash, path).await.map(|_| ())
        }
    };
    result.map_err(|source| RunError::Client { chunk: chunk + 1, source })?;
    let at = now_secs();
    append_shared(journal, &Event::Uploaded { at, chunk, hash: hash.clone() })?;
    Ok(ChunkPhase::Uploaded { hash, target, at })
}

/// Runs (or continues) the run in `dir` to its end.
pub async fn execute(
    dir: &Path,
    client: &Client,
    options: &ExecOptions,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    let stats_before = client.stats();
    let mut spec = RunSpec::load(dir)?;
    if spec.directory_id.is_none() {
        spec.directory_id.clone_from(&options.directory_id);
    }
    let schema = RunSpec::load_schema(dir)?;
    let app: AppRef =
        spec.app.parse().map_err(|_| RunError::Nothing(format!("bad app name `{}`", spec.app)))?;
    let journal_path = dir.join("journal.jsonl");
    let mut state = RunState::replay(&Journal::read(&journal_path)?);
    let mut journal = Journal::open(&journal_path)?;

    let mut prepare_time = Duration::ZERO;
    let (manifest, plan) = if state.prepared.is_none() {
        let (bytes, modified) = RunSpec::fingerprint(&spec.source)?;
        if bytes != spec.source_bytes || (modified - spec.source_modified).abs() > 1e-3 {
            return Err(RunError::SourceChanged(spec.source.clone()));
        }
        let t = Instant::now();
        let prepared = tokio::task::block_in_place(|| prepare(dir, &spec, &schema, observer))?;
        prepare_time = t.elapsed();
        journal.append(&Event::Prepared {
            at: now_secs(),
            rows: prepared.rows,
            valid: prepared.valid,
            invalid: prepared.invalid,
            chunks: prepared.manifest.chunks.len() as u32,
        })?;
        state = RunState::replay(&Journal::read(&journal_path)?);
        (prepared.manifest, prepared.plan)
    } else {
        let manifest = Manifest::load(&chunks_dir(dir))?;
        let text = std::fs::read_to_string(dir.join("plan.json"))
            .map_err(|e| RunError::io(format!("cannot read `{}`", dir.join("plan.json").display()), e))?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| RunError::Journal {
            path: dir.join("plan.json"),
            line: 0,
            message: e.to_string(),
        })?;
        (manifest, plan)
    };
    let prepared = state.prepared.ok_or_else(|| RunError::Nothing("preparation not recorded".into()))?;
    if plan.upload == elma_import_chunk::UploadKind::Directory && spec.directory_id.is_none() {
        return Err(RunError::Config(format!(
            "the plan uploads to a directory ({} rows without event handlers is more than a temporary \
             file safely holds): pass --directory ID (to `resume` as well), or set `directory` in the profile",
            prepared.valid
        )));
    }
    observer.on(&Progress::Planned {
        rows: prepared.rows,
        valid: prepared.valid,
        invalid: prepared.invalid,
        plan: &plan,
        already_imported: state.chunks.iter().zip(&manifest.chunks).fold(0, |n, (p, e)| match p {
            ChunkPhase::Finished { .. } => n + e.rows,
            _ => n,
        }),
    });

    let mut ctx = Ctx {
        dir,
        app,
        client,
        options,
        observer,
        cancel,
        journal: Mutex::new(journal),
        manifest,
        plan,
        validator: None,
        schema,
        spec,
        uploads: 0,
        blocked: Duration::ZERO,
        paused: Duration::ZERO,
        waiting: Duration::ZERO,
        prepare: prepare_time,
        settled: 0,
    };

    // The user's word on uncertain chunks.
    for &(n, imported) in &options.assume {
        let i = n.saturating_sub(1);
        if matches!(state.chunks.get(i as usize), Some(ChunkPhase::Uncertain { .. })) {
            ctx.log(Event::Resolved { at: now_secs(), chunk: i, imported, by: "user".into() })?;
            ctx.settled += 1;
        }
    }
    if !options.assume.is_empty() {
        state = ctx.reload()?;
    }

    // A resumed run owes the platform what is left of the pause after the last import
    // an earlier execution finished.
    let next_to_start = state
        .chunks
        .iter()
        .find(|p| !matches!(p, ChunkPhase::Finished { .. }))
        .is_some_and(|p| matches!(p, ChunkPhase::Pending | ChunkPhase::Uploaded { .. }));
    if ctx.plan.with_event_handlers && next_to_start {
        if let Some(end) = state.last_finished_at {
            let since = Duration::from_secs_f64((now_secs() - end).max(0.0));
            ctx.pause(0, ctx.pause_length().saturating_sub(since)).await?;
        }
    }

    let count = state.chunks.len();
    for i in 0..count {
        let was_finished = matches!(state.chunks[i], ChunkPhase::Finished { .. });
        drive_chunk(&mut ctx, &mut state, i as u32).await?;
        let last = i + 1 == count;
        if !was_finished && !last && ctx.plan.with_event_handlers {
            ctx.pause(i as u32, ctx.pause_length()).await?;
        }
    }
    ctx.log(Event::Completed { at: now_secs() })?;

    let summary = summarize(&ctx, &state, prepared, started, &stats_before, client)?;
    write_json(&dir.join("summary.json"), &summary)?;
    observer.on(&Progress::Completed { summary: &summary });
    Ok(summary)
}

fn summarize(
    ctx: &Ctx<'_>,
    state: &RunState,
    prepared: crate::state::Prepared,
    started: Instant,
    before: &elma_import_client::ClientStats,
    client: &Client,
) -> Result<Summary, RunError> {
    let after = client.stats();
    let (mut imported, mut failed) = (0, 0);
    let mut server_errors: Vec<(u64, RowError)> = Vec::new();
    for (i, phase) in state.chunks.iter().enumerate() {
        if let ChunkPhase::Finished { imported: ok, failed: bad, errors, .. } = phase {
            let entry = effective_entry(&ctx.manifest, state, i as u32);
            if state.settled.contains(&(i as u32)) {
                // Settled as imported: the rows sent count as imported (a regression: they
                // counted 0 and errors.csv listed the chunk as rejected at row 0).
                let before = state.replacements.get(&(i as u32));
                imported += before.map_or(0, |b| b.imported_before) + entry.rows;
                failed += before.map_or(0, |b| b.source_errors.len() as u64);
            } else {
                imported += ok;
                failed += bad;
            }
            if let Some(r) = state.replacements.get(&(i as u32)) {
                server_errors.extend(r.source_errors.iter().map(|e| (e.row, e.clone())));
            }
            for e in errors {
                let source = entry.source_row(e.row).unwrap_or(0);
                server_errors.push((source, e.clone()));
            }
        }
    }
    let errors_file = write_errors(ctx.dir, &server_errors)?;
    let wall = started.elapsed();
    let sending = wall.saturating_sub(ctx.prepare);
    let busy = sending.saturating_sub(ctx.waiting);
    Ok(Summary {
        run_dir: ctx.dir.to_path_buf(),
        app: ctx.spec.app.clone(),
        status: "completed".into(),
        rows_read: prepared.rows,
        rows_valid: prepared.valid,
        rows_invalid: prepared.invalid,
        rows_sent: ctx.manifest.rows,
        imported,
        failed,
        chunks: ctx.manifest.chunks.len() as u32,
        uploads: ctx.uploads,
        requests: after.requests.saturating_sub(before.requests),
        retries: after.retries.saturating_sub(before.retries),
        blocked_answers: state.blocked_answers,
        blocked_secs: ctx.blocked.as_secs_f64(),
        paused_secs: ctx.paused.as_secs_f64(),
        wall_secs: wall.as_secs_f64(),
        prepare_secs: ctx.prepare.as_secs_f64(),
        client_busy_share: if sending.is_zero() { 0.0 } else { busy.as_secs_f64() / sending.as_secs_f64() },
        settled_chunks: ctx.settled,
        errors_file,
        plan: ctx.plan.clone(),
    })
}

/// Writes `errors.csv`: the validation errors, then the server's row errors mapped back
/// to source rows.
fn write_errors(dir: &Path, server: &[(u64, RowError)]) -> Result<PathBuf, RunError> {
    let path = dir.join("errors.csv");
    let io = |e: std::io::Error| RunError::io(format!("cannot write `{}`", path.display()), e);
    let mut out = std::fs::read(dir.join("validation-errors.csv")).unwrap_or_default();
    if out.is_empty() {
        out.extend_from_slice(b"row,column,value,rule,message\n");
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    for (row, e) in server {
        let message = format!("rejected by the platform: {}", e.message);
        w.write_record([row.to_string().as_str(), e.column.as_str(), "", "server", message.as_str()])
            .map_err(|e| io(e.into()))?;
    }
    out.extend(w.into_inner().map_err(|e| io(std::io::Error::other(e.to_string())))?);
    std::fs::write(&path, out).map_err(io)?;
    Ok(path)
}

/// Takes chunk `i` from wherever it stands to `Finished`.
async fn drive_chunk(ctx: &mut Ctx<'_>, state: &mut RunState, i: u32) -> Result<(), RunError> {
    let mut restarts = 0u32;
    let mut blocked_since: Option<Instant> = None;
    let mut blocked_attempt = 0u32;
    loop {
        let entry = effective_entry(&ctx.manifest, state, i);
        let path = ctx.chunk_path(&entry);
        if ctx.cancel.is_cancelled() {
            return Err(ctx.interrupted());
        }
        let phase = state.chunks[i as usize].clone();
        match phase {
            ChunkPhase::Finished { .. } => return Ok(()),
            ChunkPhase::Pending => {
                ctx.observer.on(&Progress::Uploading { chunk: i, rows: entry.rows });
                let target = ctx.plan.upload;
                let dir_id = ctx.spec.directory_id.clone();
                let t = Instant::now();
                let phase = upload(ctx.client, &ctx.journal, &path, i, target, dir_id.as_deref()).await?;
                ctx.waiting += t.elapsed();
                ctx.uploads += 1;
                state.chunks[i as usize] = phase;
            }
            ChunkPhase::Uploaded { hash, target, at } => {
                if target == UploadKind::Temporary && now_secs() - at > ctx.safe_window().as_secs_f64() {
                    ctx.observer.on(&Progress::Message(format!(
                        "chunk {}: its temporary file is older than the safe window; uploading it again",
                        i + 1
                    )));
                    state.chunks[i as usize] = ChunkPhase::Pending;
                    continue;
                }
                ctx.log(Event::StartSent { at: now_secs(), chunk: i, hash: hash.clone() })?;
                let body = StartImport {
                    file_hash: hash.clone(),
                    format: ctx.format(),
                    with_event_handlers: ctx.plan.with_event_handlers,
                };
                let (client, app) = (ctx.client, ctx.app.clone());
                let answer = ctx.timed(client.start_import(&app, &body)).await;
                match answer {
                    Ok(result) if result.status == ImportStatus::Blocked => {
                        ctx.log(Event::Blocked { at: now_secs(), chunk: i })?;
                        state.blocked_answers += 1;
                        // The import whose start answer was lost may be the one blocking
                        // us, only now landing its rows: look again before trying anew.
                        if state.settled_absent.contains(&i) && settle(ctx, i, &path).await? == Some(true) {
                            ctx.log(Event::Resolved {
                                at: now_secs(),
                                chunk: i,
                                imported: true,
                                by: "key-column".into(),
                            })?;
                            ctx.settled += 1;
                            ctx.observer.on(&Progress::Message(format!(
                                "chunk {}: its earlier start did take effect after all (its rows are now in the app)",
                                i + 1
                            )));
                            *state = ctx.reload()?;
                            continue;
                        }
                        let since = *blocked_since.get_or_insert_with(Instant::now);
                        let waited = since.elapsed();
                        if waited >= ctx.options.blocked_timeout {
                            return Err(RunError::BlockedTooLong {
                                chunk: i + 1,
                                waited,
                                limit: ctx.options.blocked_timeout,
                            });
                        }
                        ctx.observer.on(&Progress::Blocked { chunk: i, waited });
                        let delay = blocked_delay(blocked_attempt).min(ctx.options.blocked_timeout - waited);
                        blocked_attempt += 1;
                        let slept = ctx.wait(delay).await?;
                        ctx.blocked += slept;
                        // Back to the upload: the next start uses it again.
                        state.chunks[i as usize] = ChunkPhase::Uploaded { hash, target, at };
                    }
                    Ok(ImportResult { id: Some(id), .. }) => {
                        blocked_since = None;
                        ctx.log(Event::Started { at: now_secs(), chunk: i, import_id: id.clone() })?;
                        ctx.observer.on(&Progress::Started { chunk: i, import_id: &id });
                        state.chunks[i as usize] = ChunkPhase::Started { import_id: id };
                    }
                    Ok(result) => {
                        let reason = format!("the start answered `{}` without an import id", result.status);
                        ctx.log(Event::StartRefused { at: now_secs(), chunk: i, reason: reason.clone() })?;
                        return Err(RunError::Nothing(format!("chunk {}: {reason}", i + 1)));
                    }
                    Err(e @ ClientError::Uncertain { .. }) => {
                        let reason = e.to_string();
                        ctx.log(Event::Uncertain { at: now_secs(), chunk: i, reason: reason.clone() })?;
                        state.chunks[i as usize] = ChunkPhase::Uncertain { hash, reason };
                    }
                    Err(e) if is_refusal(&e) => {
                        // The platform answered and refused: nothing started. Upload anew.
                        let reason = e.to_string();
                        ctx.log(Event::StartRefused { at: now_secs(), chunk: i, reason: reason.clone() })?;
                        restarts += 1;
                        if restarts > ctx.options.max_restarts {
                            return Err(RunError::Client { chunk: i + 1, source: e });
                        }
                        ctx.observer.on(&Progress::Message(format!(
                            "chunk {}: the start was refused ({reason}); uploading it again",
                            i + 1
                        )));
                        state.chunks[i as usize] = ChunkPhase::Pending;
                    }
                    Err(e) => {
                        // Retries ran out on errors that prove nothing started.
                        let reason = e.to_string();
                        ctx.log(Event::StartRefused { at: now_secs(), chunk: i, reason })?;
                        state.chunks[i as usize] = ChunkPhase::Uploaded { hash, target, at };
                        return Err(RunError::Client { chunk: i + 1, source: e });
                    }
                }
            }
            ChunkPhase::Started { import_id } => {
                let result = wait_with_overlap(ctx, state, i, &import_id).await?;
                let before = state.replacements.get(&i).cloned();
                let row_level = result.errors.iter().any(|e| e.row >= 2);
                // Rows the app's items show landed although the answer did not count them.
                let mut landed_uncounted = 0;
                if result.status == ImportStatus::Failed && result.imported == 0 && !row_level {
                    if restarts < ctx.options.max_restarts {
                        restarts += 1;
                        let reason = format!(
                            "the import failed before any row was imported: {}",
                            result.errors.first().map_or("no reason given", |e| e.message.as_str())
                        );
                        ctx.log(Event::StartRefused { at: now_secs(), chunk: i, reason: reason.clone() })?;
                        ctx.observer
                            .on(&Progress::Message(format!("chunk {}: {reason}; trying again", i + 1)));
                        state.chunks[i as usize] = ChunkPhase::Pending;
                        continue;
                    }
                } else if result.status == ImportStatus::Failed
                    && result.imported + result.failed < entry.rows
                {
                    // The import stopped part way: find, by the key column, the rows that
                    // did not land and import just those.
                    if let Some(missing) = missing_rows(ctx, i, &entry, &path, &result).await? {
                        if !missing.rows.is_empty() {
                            replace_with_missing(ctx, state, i, &entry, &result, missing)?;
                            continue;
                        }
                        landed_uncounted = entry.rows.saturating_sub(result.imported + result.failed);
                    } else {
                        ctx.observer.on(&Progress::Message(format!(
                            "chunk {}: the import failed after {} of {} rows; without --key-column the rows \
                             that did not land cannot be told apart, so they are counted as failed",
                            i + 1,
                            result.imported,
                            entry.rows
                        )));
                    }
                }
                let (imported_before, failed_before) =
                    before.as_ref().map_or((0, 0), |b| (b.imported_before, b.source_errors.len() as u64));
                let imported = imported_before + result.imported + landed_uncounted;
                let unaccounted =
                    entry.rows.saturating_sub(result.imported + result.failed + landed_uncounted);
                let failed = failed_before
                    + result.failed
                    + if result.status == ImportStatus::Failed { unaccounted } else { 0 };
                ctx.log(Event::Finished {
                    at: now_secs(),
                    chunk: i,
                    status: result.status.clone(),
                    imported,
                    failed,
                    errors: result.errors.clone(),
                })?;
                ctx.observer.on(&Progress::ChunkFinished { chunk: i, result: &result, rows: entry.rows });
                state.chunks[i as usize] =
                    ChunkPhase::Finished { status: result.status, imported, failed, errors: result.errors };
            }
            ChunkPhase::Uncertain { reason, .. } => {
                ctx.observer.on(&Progress::Message(format!("chunk {}: uncertain: {reason}", i + 1)));
                match settle(ctx, i, &path).await? {
                    Some(imported) => {
                        ctx.log(Event::Resolved {
                            at: now_secs(),
                            chunk: i,
                            imported,
                            by: "key-column".into(),
                        })?;
                        ctx.settled += 1;
                        ctx.observer.on(&Progress::Message(format!(
                            "chunk {}: the app's items show it was {}imported",
                            i + 1,
                            if imported { "" } else { "not " }
                        )));
                        *state = ctx.reload()?;
                    }
                    None => {
                        return Err(RunError::Uncertain {
                            chunks: state.uncertain().iter().map(|c| c + 1).collect(),
                        })
                    }
                }
            }
        }
    }
}

/// Whether the platform answered a start and refused it (an unknown or expired hash, say):
/// nothing started, so the chunk may be uploaded and started again.
fn is_refusal(e: &ClientError) -> bool {
    matches!(e, ClientError::Api { status, .. } if (400..500).contains(status) && *status != 408 && *status != 429)
}

/// Delay before starting again after `blocked`: 1 s doubling to 30 s, with ±20 % jitter.
fn blocked_delay(attempt: u32) -> Duration {
    let base = Duration::from_secs(1) * 2u32.saturating_pow(attempt.min(5));
    let base = base.min(Duration::from_secs(30));
    let jitter = rand::rng().random_range(0.8..1.2);
    base.mul_f64(jitter)
}

/// Waits for import `import_id` of chunk `i`; meanwhile uploads the next chunk when it is
/// still pending, so its file is ready when its turn comes.
async fn wait_with_overlap(
    ctx: &mut Ctx<'_>,
    state: &mut RunState,
    i: u32,
    import_id: &str,
) -> Result<ImportResult, RunError> {
    let next = i as usize + 1;
    let overlap = next < state.chunks.len()
        && matches!(state.chunks[next], ChunkPhase::Pending)
        // A temporary file must not expire before its turn: only overlap when the
        // current import and the pause fit well inside the safe window.
        && ctx.plan.pause + Duration::from_secs(60) < ctx.safe_window();
    let observer = ctx.observer;
    let app = ctx.app.clone();
    let rows = effective_entry(&ctx.manifest, state, i).rows;
    // The first poll comes about when the import should be done (never later than the
    // policy's), so a small import is seen finished at once; later polls keep 1 s apart.
    let mut policy = ctx.options.poll;
    let expected = Duration::from_secs_f64(rows as f64 / ctx.spec.import_rows_per_sec.max(1.0));
    policy.first_poll = policy.first_poll.min(expected.max(Duration::from_millis(200)));
    let on_update = |r: &ImportResult| observer.on(&Progress::Importing { chunk: i, result: r, rows });
    let wait = ctx.client.wait_for_import(&app, import_id, policy, on_update);
    let t = Instant::now();
    let (result, pre) = if overlap {
        let entry = effective_entry(&ctx.manifest, state, next as u32);
        let path = ctx.chunk_path(&entry);
        let target = ctx.plan.upload;
        let dir_id = ctx.spec.directory_id.clone();
        observer.on(&Progress::Message(format!(
            "chunk {}: uploading {} rows ahead, while chunk {} imports",
            next + 1,
            elma_import_chunk::plan::thousands(entry.rows),
            i + 1
        )));
        let pre = upload(ctx.client, &ctx.journal, &path, next as u32, target, dir_id.as_deref());
        let (a, b) = tokio::join!(wait, pre);
        (a, Some(b))
    } else {
        (wait.await, None)
    };
    ctx.waiting += t.elapsed();
    if let Some(pre) = pre {
        match pre {
            Ok(phase) => {
                ctx.uploads += 1;
                state.chunks[next] = phase;
            }
            // The next chunk will be uploaded again in its turn.
            Err(e) => {
                observer.on(&Progress::Message(format!("uploading chunk {} ahead failed: {e}", next + 1)))
            }
        }
    }
    result.map_err(|source| RunError::Client { chunk: i + 1, source })
}

/// Looks in the app's items for the key values of the chunk's first and last rows.
/// `Some(true)`: the last row landed (the import ran). `Some(false)`: the first row is
/// absent after a second look (nothing ran). `None`: no key column, or no clear answer.
async fn settle(ctx: &mut Ctx<'_>, chunk: u32, path: &Path) -> Result<Option<bool>, RunError> {
    let Some(field) = key_field(ctx)? else { return Ok(None) };
    // First and last rows of the chunk file, as items.
    let (first, last) = tokio::task::block_in_place(|| first_and_last(ctx, path))?;
    if !first.contains_key(&field.code) || !last.contains_key(&field.code) {
        return Ok(None);
    }
    let deadline = Instant::now() + ctx.options.blocked_timeout.min(Duration::from_secs(120));
    let mut looks = 0;
    loop {
        let last_there = present(ctx, chunk, &field, &last).await?;
        if last_there {
            return Ok(Some(true));
        }
        let first_there = present(ctx, chunk, &field, &first).await?;
        looks += 1;
        if !first_there && looks >= 2 {
            return Ok(Some(false));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        // Either the import is still running or it has not begun: look again soon.
        ctx.wait(Duration::from_secs(2)).await?;
    }
}

type Item = serde_json::Map<String, serde_json::Value>;

/// The key field, when the run has a key column.
fn key_field(ctx: &Ctx<'_>) -> Result<Option<Field>, RunError> {
    let Some(key) = ctx.spec.key_column.as_deref() else { return Ok(None) };
    match ctx.schema.field_for_header(key) {
        Some(f) => Ok(Some(ctx.schema.fields[f].clone())),
        None => Err(RunError::Config(format!("--key-column `{key}` names no field of the app"))),
    }
}

/// The rows of the chunk file that are not in the app and were not rejected by the
/// platform. `None` when that cannot be told (no key column, or a row without a key).
async fn missing_rows(
    ctx: &mut Ctx<'_>,
    chunk: u32,
    entry: &ChunkEntry,
    path: &Path,
    result: &ImportResult,
) -> Result<Option<Missing>, RunError> {
    let Some(field) = key_field(ctx)? else { return Ok(None) };
    let (header, rows) = tokio::task::block_in_place(|| read_rows(ctx, path))?;
    let rejected: std::collections::HashSet<u64> = result.errors.iter().map(|e| e.row).collect();
    let mut candidates = Vec::with_capacity(rows.len());
    for (row, item) in rows {
        if rejected.contains(&row.number) {
            continue;
        }
        if !item.contains_key(&field.code) {
            return Ok(None);
        }
        candidates.push((row, item));
    }
    // One exact look-up per row, a few in flight at once; answers come back in order.
    let (client, app) = (ctx.client, ctx.app.clone());
    let items: Vec<Item> = candidates.iter().map(|(_, item)| item.clone()).collect();
    let found = ctx
        .timed(client.find_each(&app, &[&field], &items, LOOKUPS_IN_FLIGHT))
        .await
        .map_err(|source| RunError::Client { chunk: chunk + 1, source })?;
    let mut missing = Vec::new();
    for ((row, _), landed) in candidates.into_iter().zip(found) {
        if landed.is_empty() {
            missing.push(row);
        }
    }
    ctx.observer.on(&Progress::Message(format!(
        "chunk {} (source rows {}–{}): the import failed; {} row(s) did not land and will be imported again",
        chunk + 1,
        entry.first_row,
        entry.last_row,
        missing.len()
    )));
    Ok(Some(Missing { header, rows: missing }))
}

/// The rows of a chunk file that did not land, with the file's header.
struct Missing {
    header: elma_import_sheet::Row,
    rows: Vec<elma_import_sheet::Row>,
}

/// Writes the missing rows as the chunk's new file and journals the replacement.
fn replace_with_missing(
    ctx: &mut Ctx<'_>,
    state: &mut RunState,
    i: u32,
    entry: &ChunkEntry,
    result: &ImportResult,
    missing: Missing,
) -> Result<(), RunError> {
    let Missing { header, rows: missing } = missing;
    let attempt = state.replacements.get(&i).map_or(1, |r| {
        r.file.rsplit_once(".rest-").and_then(|(_, n)| n.split('.').next()?.parse::<u32>().ok()).unwrap_or(1)
            + 1
    });
    let format = ctx.spec.chunk_format();
    let stem = entry
        .file
        .split(".rest-")
        .next()
        .unwrap_or(&entry.file)
        .trim_end_matches(".xlsx")
        .trim_end_matches(".csv");
    let file = format!("{stem}.rest-{attempt}.{}", format.as_str());
    let out = chunks_dir(ctx.dir).join(&file);
    let options = elma_import_sheet::WriteOptions {
        date_format: crate::prepare::date_format(&ctx.spec.locale).to_string(),
        ..Default::default()
    };
    let mut writer = elma_import_sheet::create(&out, format, &options)?;
    writer.write_row(&header)?;
    let mut ranges: Vec<[u64; 2]> = Vec::new();
    for (k, row) in missing.iter().enumerate() {
        let source = entry.source_row(row.number).unwrap_or(0);
        match ranges.last_mut() {
            Some(r) if r[1] + 1 == source => r[1] = source,
            _ => ranges.push([source, source]),
        }
        let mut renumbered = row.clone();
        renumbered.number = k as u64 + 2;
        writer.write_row(&renumbered)?;
    }
    writer.finish()?;
    let before = state.replacements.get(&i).cloned();
    let mut source_errors = before.as_ref().map(|b| b.source_errors.clone()).unwrap_or_default();
    source_errors.extend(result.errors.iter().filter(|e| e.row >= 2).map(|e| RowError {
        row: entry.source_row(e.row).unwrap_or(0),
        column: e.column.clone(),
        message: e.message.clone(),
    }));
    let rejected = result.errors.iter().filter(|e| e.row >= 2).count() as u64;
    let landed = entry.rows - missing.len() as u64 - rejected;
    let imported_before = before.as_ref().map_or(0, |b| b.imported_before) + landed;
    let event = Event::Replaced {
        at: now_secs(),
        chunk: i,
        file,
        rows: missing.len() as u64,
        source_ranges: ranges,
        imported_before,
        source_errors,
    };
    ctx.log(event)?;
    *state = ctx.reload()?;
    Ok(())
}

/// Every row of a chunk file with its item JSON.
fn read_rows(
    ctx: &mut Ctx<'_>,
    path: &Path,
) -> Result<(elma_import_sheet::Row, Vec<(elma_import_sheet::Row, Item)>), RunError> {
    let mut reader = elma_import_sheet::open(path, &elma_import_sheet::ReadOptions::default())?;
    let header = reader.header().clone();
    let validator = validator_for(ctx, &header, path)?;
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        for row in batch {
            let item = validator.to_item(&row).unwrap_or_default();
            out.push((row, item));
        }
    }
    Ok((header, out))
}

fn validator_for<'v>(
    ctx: &'v mut Ctx<'_>,
    header: &elma_import_sheet::Row,
    path: &Path,
) -> Result<&'v Validator, RunError> {
    if ctx.validator.is_none() {
        let options = validate_options(&ctx.spec)?;
        ctx.validator = Some(
            Validator::new(&ctx.schema, header, &options)
                .map_err(|errors| RunError::Header { file: path.into(), errors })?,
        );
    }
    ctx.validator.as_ref().ok_or_else(|| RunError::Nothing("no validator".into()))
}

fn first_and_last(ctx: &mut Ctx<'_>, path: &Path) -> Result<(Item, Item), RunError> {
    let (_, mut rows) = read_rows(ctx, path)?;
    let last = rows.pop().map(|(_, item)| item).unwrap_or_default();
    let first = rows.into_iter().next().map(|(_, item)| item).unwrap_or_else(|| last.clone());
    Ok((first, last))
}

/// List requests in flight at once when looking for a chunk's rows among the items.
const LOOKUPS_IN_FLIGHT: usize = 8;

/// Whether an item with the key value of `item` is among the app's (an exact look-up).
async fn present(ctx: &mut Ctx<'_>, chunk: u32, field: &Field, item: &Item) -> Result<bool, RunError> {
    let (client, app) = (ctx.client, ctx.app.clone());
    let found = ctx.timed(client.find_items(&app, &[field], item)).await;
    found.map(|items| !items.is_empty()).map_err(|source| RunError::Client { chunk: chunk + 1, source })
}
