//! The run loop: for the next chunk not done, take the step its phase calls for, record
//! the step's events, until every chunk is done.
//!
//! Every transition is journaled (and fsynced) through [`Ctx::record`], which then
//! applies it to the state: there is no other way the state changes, so a crash at any
//! point leaves a journal from which [`execute`] continues without importing a row twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use elma_import_chunk::{ChunkEntry, Manifest, Plan};
use elma_import_client::{AppRef, Client, Clock, PollPolicy, TokioClock};
use elma_import_contract::schema::AppSchema;
use elma_import_validate::Validator;

use crate::error::RunError;
use crate::event::{now_secs, Event};
use crate::journal::{Journal, RunLock};
use crate::pace::{Pacer, PauseMode};
use crate::policy::RunPolicy;
use crate::prepare::{chunks_dir, prepare};
use crate::report::{summarize, Summary};
use crate::spec::{write_json, RunSpec};
use crate::state::{ChunkState, Phase, RunState};
use crate::step;
use crate::{Observer, Progress};

/// Settings of one execution that may differ between resumes.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Pause between imports; `None` takes the plan's. With `--pause auto`, where the
    /// pacer starts.
    pub pause: Option<Duration>,
    /// Fixed or auto pause for this execution; `None` keeps the run's.
    pub pause_mode: Option<PauseMode>,
    /// Status polling.
    pub poll: PollPolicy,
    /// Timings and budgets.
    pub policy: RunPolicy,
    /// User decisions on uncertain chunks: (1-based chunk, imported?).
    pub assume: Vec<(u32, bool)>,
    /// How long the platform keeps temporary files; `None` takes the run's.
    pub temp_ttl: Option<Duration>,
    /// Directory id for directory uploads, when the run did not name one.
    pub directory_id: Option<String>,
    /// Key column for this execution, when the run was started without one.
    pub key_column: Option<String>,
}

/// Stops a run at the next safe point (Ctrl-C): any wait ends at once.
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
    /// Resolves once a stop is asked.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Time and its accounting in one execution.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Accounting {
    pub uploads: u32,
    pub blocked: Duration,
    pub paused: Duration,
    /// Time spent waiting on the network, the platform, polls or pauses; waits that
    /// overlap (polling while the next chunk uploads) count once.
    pub waiting: Duration,
    pub prepare: Duration,
    pub settled: u32,
    /// Waits in progress, and since when one has been.
    waits: u32,
    waiting_since: Option<Instant>,
}

/// A wait in progress; its time is counted when it ends, however it ends.
pub(crate) struct Waiting<'c, 'a, C: Clock> {
    ctx: &'c Ctx<'a, C>,
}

impl<C: Clock> Drop for Waiting<'_, '_, C> {
    fn drop(&mut self) {
        let now = self.ctx.clock.now();
        self.ctx.account(|a| {
            a.waits = a.waits.saturating_sub(1);
            if a.waits == 0 {
                if let Some(since) = a.waiting_since.take() {
                    a.waiting += now.saturating_duration_since(since);
                }
            }
        });
    }
}

/// Everything a step needs: the run's files, the client, the clock, and the state that
/// only [`Ctx::record`] changes.
pub(crate) struct Ctx<'a, C: Clock> {
    pub dir: &'a Path,
    pub spec: RunSpec,
    pub app: AppRef,
    pub client: &'a Client,
    pub clock: &'a C,
    pub options: &'a ExecOptions,
    pub observer: &'a dyn Observer,
    pub cancel: &'a Cancel,
    pub manifest: Manifest,
    pub plan: Plan,
    pub schema: AppSchema,
    pub validator: std::sync::OnceLock<Validator>,
    journal: Mutex<Journal>,
    state: Mutex<RunState>,
    acct: Mutex<Accounting>,
    origin: (Instant, f64),
    /// The chunk whose import this execution started last, and when its start request
    /// went out (the origin of its throughput).
    pub started: Mutex<Option<(u32, Instant)>>,
    /// When this execution began (seconds since the epoch, on the run's clock).
    pub began: f64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<C: Clock> Ctx<'_, C> {
    /// Appends `event` to the journal (fsynced), then applies it to the state.
    pub fn record(&self, event: Event) -> Result<(), RunError> {
        lock(&self.journal).append(&event)?;
        lock(&self.state).apply(&event);
        Ok(())
    }

    /// A copy of chunk `i`'s state.
    pub fn chunk(&self, i: u32) -> ChunkState {
        lock(&self.state).chunk(i).cloned().unwrap_or_default()
    }

    /// Reads the state.
    pub fn with_state<T>(&self, f: impl FnOnce(&RunState) -> T) -> T {
        f(&lock(&self.state))
    }

    /// Changes this execution's accounting.
    pub fn account(&self, f: impl FnOnce(&mut Accounting)) {
        f(&mut lock(&self.acct))
    }

    /// Now, in seconds since the epoch, on the run's clock.
    pub fn now(&self) -> f64 {
        self.origin.1 + self.clock.now().saturating_duration_since(self.origin.0).as_secs_f64()
    }

    /// Tells the observer.
    pub fn say(&self, text: String) {
        self.observer.on(&Progress::Message(text));
    }

    /// Journals the interruption and returns the error that ends the execution.
    pub fn interrupted(&self) -> RunError {
        match self.record(Event::Interrupted { at: self.now() }) {
            Ok(()) => RunError::Interrupted(self.dir.into()),
            Err(e) => e,
        }
    }

    /// Counts the time until the returned guard is dropped as waiting.
    pub fn waiting(&self) -> Waiting<'_, '_, C> {
        let now = self.clock.now();
        self.account(|a| {
            if a.waits == 0 {
                a.waiting_since = Some(now);
            }
            a.waits += 1;
        });
        Waiting { ctx: self }
    }

    /// Sleeps `d` on the run's clock, counted as waiting; ends at once (journaled) on Ctrl-C.
    pub async fn sleep(&self, d: Duration) -> Result<(), RunError> {
        if self.cancel.is_cancelled() {
            return Err(self.interrupted());
        }
        let _waiting = self.waiting();
        tokio::select! {
            _ = self.clock.sleep(d) => {}
            _ = self.cancel.cancelled() => return Err(self.interrupted()),
        }
        Ok(())
    }

    /// Runs `f`, counting its time as waiting on the platform; Ctrl-C ends it (journaled).
    pub async fn timed<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, RunError> {
        let _waiting = self.waiting();
        tokio::select! {
            out = f => Ok(out),
            _ = self.cancel.cancelled() => Err(self.interrupted()),
        }
    }

    /// The fixed pause: as asked, else the plan's (with `--pause auto`, the pacer's start).
    pub fn fixed_pause(&self) -> Duration {
        self.options.pause.unwrap_or(self.plan.pause)
    }

    /// The pause mode in force: this execution's, else the run's.
    pub fn pause_mode(&self) -> PauseMode {
        self.options.pause_mode.unwrap_or(self.spec.pause_mode)
    }

    /// The pacer in force with `--pause auto` (as the journal left it, within this
    /// execution's bounds; a fresh one at the fixed pause before any decision).
    pub fn pacer(&self) -> Option<Pacer> {
        let (min, max) = self.pause_mode().bounds()?;
        let learned = self.with_state(|s| s.pacer.clone());
        Some(learned.map_or_else(|| Pacer::new(self.fixed_pause(), min, max), |p| p.with_bounds(min, max)))
    }

    /// The pause between imports: the pacer's with `--pause auto`, else the fixed one.
    pub fn pause_length(&self) -> Duration {
        self.pacer().map_or_else(|| self.fixed_pause(), |p| p.pause())
    }

    /// Pauses `d` so the platform's event handlers drain (after chunk `chunk`).
    pub async fn pause(&self, chunk: u32, d: Duration) -> Result<(), RunError> {
        if d.is_zero() {
            return Ok(());
        }
        self.observer.on(&Progress::Pausing { chunk, pause: d });
        self.sleep(d).await?;
        self.account(|a| a.paused += d);
        Ok(())
    }

    /// Chunk `i` as it stands: its manifest entry, or the file of rows still to import.
    pub fn entry(&self, i: u32) -> ChunkEntry {
        let mut entry = self.manifest.chunks[i as usize].clone();
        if let Some(r) = self.chunk(i).replacement {
            entry.file.clone_from(&r.file);
            entry.rows = r.rows;
            entry.source_ranges.clone_from(&r.source_ranges);
            entry.first_row = r.source_ranges.first().map_or(0, |r| r[0]);
            entry.last_row = r.source_ranges.last().map_or(0, |r| r[1]);
        }
        entry
    }

    /// The path of a chunk file.
    pub fn chunk_path(&self, entry: &ChunkEntry) -> PathBuf {
        chunks_dir(self.dir).join(&entry.file)
    }

    /// How long a temporary file may be used after its upload.
    pub fn safe_window(&self) -> Duration {
        let ttl = self.options.temp_ttl.unwrap_or(Duration::from_secs(self.spec.temp_ttl_secs));
        elma_import_chunk::plan::safe_temporary_window(ttl)
    }

    /// The key column in force: this execution's, else the run's.
    pub fn key_column(&self) -> Option<&str> {
        self.options.key_column.as_deref().or(self.spec.key_column.as_deref())
    }
}

/// Runs (or continues) the run in `dir` to its end, on the real clock.
pub async fn execute(
    dir: &Path,
    client: &Client,
    options: &ExecOptions,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<Summary, RunError> {
    execute_with_clock(dir, client, &TokioClock, options, observer, cancel).await
}

/// [`execute`] on a given clock (tests use a [`elma_import_client::ManualClock`]).
pub async fn execute_with_clock<C: Clock>(
    dir: &Path,
    client: &Client,
    clock: &C,
    options: &ExecOptions,
    observer: &dyn Observer,
    cancel: &Cancel,
) -> Result<Summary, RunError> {
    let started = clock.now();
    let stats_before = client.stats();
    let mut spec = RunSpec::load(dir)?;
    let _lock = RunLock::acquire(dir)?;
    if spec.directory_id.is_none() {
        spec.directory_id.clone_from(&options.directory_id);
    }
    let schema = RunSpec::load_schema(dir)?;
    let app: AppRef =
        spec.app.parse().map_err(|_| RunError::Config(format!("bad app name `{}`", spec.app)))?;
    let opened = Journal::open(&dir.join("journal.jsonl"))?;
    if let Some(bytes) = opened.torn {
        observer.on(&Progress::Message(format!(
            "the journal's last line was cut short ({bytes} bytes, a crash or a full disk while writing it); \
             it was removed: the step it announced never completed"
        )));
    }
    let mut state = RunState::replay(&opened.events);
    let mut journal = opened.journal;
    let origin = (clock.now(), now_secs());
    let (manifest, plan, prepare_time) =
        load_or_prepare(dir, &spec, &schema, observer, &mut journal, &mut state)?;
    let ctx = Ctx {
        dir,
        app,
        client,
        clock,
        options,
        observer,
        cancel,
        manifest,
        plan,
        schema,
        validator: std::sync::OnceLock::new(),
        journal: Mutex::new(journal),
        state: Mutex::new(state),
        acct: Mutex::new(Accounting { prepare: prepare_time, ..Accounting::default() }),
        origin,
        started: Mutex::new(None),
        began: origin.1,
        spec,
    };
    if let Some(key) = ctx.key_column() {
        if ctx.schema.field_for_header(key).is_none() {
            return Err(RunError::Config(format!("--key-column `{key}` names no field of {}", ctx.spec.app)));
        }
    }
    announce(&ctx)?;
    drive(&ctx).await?;
    ctx.record(Event::Completed { at: ctx.now() })?;
    let wall = clock.now().saturating_duration_since(started);
    let summary = summarize(&ctx, wall, &stats_before)?;
    write_json(&dir.join("summary.json"), &summary)?;
    observer.on(&Progress::Completed { summary: &summary });
    Ok(summary)
}

/// Prepares the run (validate, plan, chunk) unless the journal says it was, journaling
/// `Prepared` as [`Ctx::record`] would; loads the plan and the manifest.
fn load_or_prepare(
    dir: &Path,
    spec: &RunSpec,
    schema: &AppSchema,
    observer: &dyn Observer,
    journal: &mut Journal,
    state: &mut RunState,
) -> Result<(Manifest, Plan, Duration), RunError> {
    if state.prepared.is_some() {
        let manifest = Manifest::load(&chunks_dir(dir))?;
        let path = dir.join("plan.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| RunError::io(format!("cannot read `{}`", path.display()), e))?;
        let plan = serde_json::from_str(&text).map_err(|e| RunError::Journal {
            path,
            line: 0,
            message: e.to_string(),
        })?;
        return Ok((manifest, plan, Duration::ZERO));
    }
    let (bytes, modified) = RunSpec::fingerprint(&spec.source)?;
    if bytes != spec.source_bytes || (modified - spec.source_modified).abs() > 1e-3 {
        return Err(RunError::SourceChanged(spec.source.clone()));
    }
    let t = Instant::now();
    let prepared = blocking(|| prepare(dir, spec, schema, observer))?;
    let event = Event::Prepared {
        at: now_secs(),
        rows: prepared.rows,
        valid: prepared.valid,
        invalid: prepared.invalid,
        chunks: prepared.manifest.chunks.len() as u32,
    };
    journal.append(&event)?;
    state.apply(&event);
    Ok((prepared.manifest, prepared.plan, t.elapsed()))
}

/// Checks the plan can be followed and tells the observer.
fn announce<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    let prepared =
        ctx.with_state(|s| s.prepared).ok_or_else(|| RunError::Nothing("preparation not recorded".into()))?;
    if ctx.plan.upload == elma_import_chunk::UploadKind::Directory && ctx.spec.directory_id.is_none() {
        return Err(RunError::Config(format!(
            "the plan uploads to a directory ({} rows without event handlers is more than a temporary \
             file safely holds): pass --directory ID (to `resume` as well), or set `directory` in the profile",
            prepared.valid
        )));
    }
    let already = ctx.with_state(|s| {
        s.chunks
            .iter()
            .zip(&ctx.manifest.chunks)
            .filter(|(c, _)| c.phase == Phase::Done)
            .map(|(_, e)| e.rows)
            .sum()
    });
    ctx.observer.on(&Progress::Planned {
        rows: prepared.rows,
        valid: prepared.valid,
        invalid: prepared.invalid,
        plan: &ctx.plan,
        already_imported: already,
    });
    if let (Some(pacer), true) = (ctx.pacer(), ctx.plan.with_event_handlers) {
        let (min, max) = pacer.bounds();
        let learned = if ctx.with_state(|s| s.pacer.is_some()) { "learned so far" } else { "to start" };
        ctx.say(format!(
            "pause: auto, {} {learned}, kept within {}..{}: shrinks while imports run at full speed, \
             grows as soon as a handler backlog slows them (--pause auto)",
            crate::duration::human(pacer.pause()),
            crate::duration::human(min),
            crate::duration::human(max),
        ));
    }
    Ok(())
}

/// Runs CPU-bound work: on a worker of a multi-thread runtime it tells tokio so; on a
/// current-thread runtime it simply runs.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Settles the user's word on uncertain chunks, pays the pause an earlier execution owes,
/// then drives every chunk to done in order.
async fn drive<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    for &(n, imported) in &ctx.options.assume {
        let i = n.saturating_sub(1);
        if matches!(ctx.chunk(i).phase, Phase::Uncertain { .. }) {
            ctx.record(Event::Resolved { at: ctx.now(), chunk: i, imported, by: "user".into() })?;
            ctx.account(|a| a.settled += 1);
        }
    }
    let count = ctx.manifest.chunks.len() as u32;
    // A resumed run owes the platform what is left of the pause after the last import an
    // earlier execution finished.
    let next = (0..count).map(|i| ctx.chunk(i).phase).find(|p| *p != Phase::Done);
    if ctx.plan.with_event_handlers && matches!(next, Some(Phase::Pending | Phase::Uploaded { .. })) {
        if let Some(end) = ctx.with_state(|s| s.last_finished_at) {
            let since = Duration::from_secs_f64((ctx.now() - end).max(0.0));
            ctx.pause(0, ctx.pause_length().saturating_sub(since)).await?;
        }
    }
    for i in 0..count {
        let was_done = ctx.chunk(i).phase == Phase::Done;
        drive_chunk(ctx, i).await?;
        if !was_done && i + 1 < count && ctx.plan.with_event_handlers {
            ctx.pause(i, ctx.pause_length()).await?;
        }
    }
    Ok(())
}

/// Takes chunk `i` from wherever it stands to done, one step per phase.
async fn drive_chunk<C: Clock>(ctx: &Ctx<'_, C>, i: u32) -> Result<(), RunError> {
    loop {
        if ctx.cancel.is_cancelled() {
            return Err(ctx.interrupted());
        }
        match ctx.chunk(i).phase {
            Phase::Done => return Ok(()),
            Phase::Pending => step::upload::upload(ctx, i).await?,
            Phase::Uploaded { hash, target, at } => step::start::start(ctx, i, &hash, target, at).await?,
            Phase::Started { import_id } => step::wait::wait(ctx, i, &import_id).await?,
            Phase::Answered { status, imported, failed, errors } => {
                let answer = step::settle::Answer { status, imported, failed, errors };
                step::settle::reconcile(ctx, i, &answer).await?
            }
            Phase::Uncertain { reason, .. } => step::settle::settle_uncertain(ctx, i, &reason).await?,
            Phase::Mending { rows } => step::mend::mend(ctx, i, &rows)?,
        }
    }
}

/// Whether the run in `dir` already completed, with its saved summary; reads nothing but
/// the journal and `summary.json`, and talks to no one.
pub fn finished(dir: &Path) -> Result<Option<Summary>, RunError> {
    RunSpec::load(dir)?;
    let events = Journal::read(&dir.join("journal.jsonl"))?;
    if !RunState::replay(&events).completed {
        return Ok(None);
    }
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| RunError::io(format!("cannot read `{}`", path.display()), e))?;
    serde_json::from_str(&text).map(Some).map_err(|e| RunError::Journal {
        path,
        line: 0,
        message: e.to_string(),
    })
}

/// Appends `interrupted` to the journal at `path` (best effort): for a process about to
/// exit at once on a second Ctrl-C, so the journal still says why it ended.
pub fn journal_interruption(path: &Path) {
    use std::io::Write;
    let Ok(mut line) = serde_json::to_vec(&Event::Interrupted { at: now_secs() }) else { return };
    line.push(b'\n');
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = f.write_all(&line).and_then(|_| f.sync_data());
    }
}
