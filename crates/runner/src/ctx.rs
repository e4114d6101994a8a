//! [`Ctx`]: what a step may use. The run's settings (resolved once), its plan and chunk
//! files, the client, the clock, the recorder (the only way the state changes), the
//! observer, Ctrl-C, and this execution's accounting.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use elma_import_chunk::{ChunkEntry, Plan};
use elma_import_client::{Client, Clock};
use elma_import_contract::schema::AppSchema;
use elma_import_validate::Validator;

use crate::account::Accounting;
use crate::cancel::Cancel;
use crate::chunkfile::ChunkFiles;
use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::pace::Pacer;
use crate::progress::{Observer, Progress};
use crate::recorder::Recorder;
use crate::settings::RunSettings;
use crate::spec::RunSpec;
use crate::state::{ChunkState, RunState};

/// Everything a step needs.
pub(crate) struct Ctx<'a, C: Clock> {
    /// The run directory.
    pub dir: &'a Path,
    /// What was asked (`run.json`).
    pub spec: RunSpec,
    /// The settings in force.
    pub settings: RunSettings,
    /// The fields the run validates against.
    pub schema: AppSchema,
    /// The chunk files.
    pub files: ChunkFiles,
    /// The plan followed.
    pub plan: Plan,
    /// The pause between imports when it is fixed, and where `--pause auto` starts.
    pub fixed_pause: Duration,
    /// The platform.
    pub client: &'a Client,
    /// The run's clock.
    pub clock: &'a C,
    /// Told of every step.
    pub observer: &'a dyn Observer,
    /// Ctrl-C.
    pub cancel: &'a Cancel,
    /// The journal and the state.
    pub recorder: Arc<Recorder>,
    /// This execution's time.
    acct: Mutex<Accounting>,
    /// The validator of the chunk files (their header is the run's), made once.
    validator: OnceLock<Validator>,
    /// The chunk whose import this execution started last, and when its start request went
    /// out (the origin of its throughput).
    started: Mutex<Option<(Chunk, Instant)>>,
    /// Whether this execution compared the platform's zone with the run's.
    zone_checked: std::sync::atomic::AtomicBool,
    /// When this execution began (seconds since the epoch, on the run's clock).
    pub began: f64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A wait in progress; its time is counted when it ends, however it ends.
pub(crate) struct Waiting<'c, 'a, C: Clock> {
    ctx: &'c Ctx<'a, C>,
}

impl<C: Clock> Drop for Waiting<'_, '_, C> {
    fn drop(&mut self) {
        let now = self.ctx.clock.now();
        self.ctx.account(|a| a.end_wait(now));
    }
}

/// The parts of a [`Ctx`] that come from the run directory and the settings.
pub(crate) struct Parts {
    pub spec: RunSpec,
    pub settings: RunSettings,
    pub schema: AppSchema,
    pub files: ChunkFiles,
    pub plan: Plan,
    pub recorder: Arc<Recorder>,
    pub prepare: Duration,
}

impl<'a, C: Clock> Ctx<'a, C> {
    /// A context for one execution.
    pub fn new(
        dir: &'a Path,
        parts: Parts,
        client: &'a Client,
        clock: &'a C,
        observer: &'a dyn Observer,
        cancel: &'a Cancel,
    ) -> Ctx<'a, C> {
        let fixed_pause = parts.settings.pause.unwrap_or(parts.plan.pause);
        Ctx {
            dir,
            spec: parts.spec,
            settings: parts.settings,
            schema: parts.schema,
            files: parts.files,
            plan: parts.plan,
            fixed_pause,
            client,
            clock,
            observer,
            cancel,
            recorder: parts.recorder,
            acct: Mutex::new(Accounting::with_prepare(parts.prepare)),
            validator: OnceLock::new(),
            started: Mutex::new(None),
            zone_checked: std::sync::atomic::AtomicBool::new(false),
            began: clock.wall(),
        }
    }

    /// Records an event: journaled (fsynced), then applied.
    pub fn record(&self, event: Event) -> Result<(), RunError> {
        self.recorder.record(event)
    }

    /// A copy of chunk `i`'s state.
    pub fn chunk(&self, i: Chunk) -> ChunkState {
        self.recorder.chunk(i)
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&RunState) -> T) -> T {
        self.recorder.read(f)
    }

    /// Chunk `i` as it stands: its manifest entry, or the file of rows still to import.
    pub fn entry(&self, i: Chunk) -> ChunkEntry {
        self.files.current(i, &self.chunk(i))
    }

    /// Changes this execution's accounting.
    pub fn account(&self, f: impl FnOnce(&mut Accounting)) {
        f(&mut lock(&self.acct))
    }

    /// This execution's accounting so far.
    pub fn accounting(&self) -> Accounting {
        *lock(&self.acct)
    }

    /// Now, in seconds since the epoch, on the run's clock.
    pub fn now(&self) -> f64 {
        self.clock.wall()
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
    pub fn waiting(&self) -> Waiting<'_, 'a, C> {
        let now = self.clock.now();
        self.account(|a| a.begin_wait(now));
        Waiting { ctx: self }
    }

    /// Sleeps `d` on the run's clock, counted as waiting; ends at once (journaled) on Ctrl-C.
    pub async fn sleep(&self, d: Duration) -> Result<(), RunError> {
        if self.cancel.is_cancelled() {
            return Err(self.interrupted());
        }
        let _waiting = self.waiting();
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Err(self.interrupted()),
            _ = self.clock.sleep(d) => {}
        }
        Ok(())
    }

    /// Runs `f`, counting its time as waiting on the platform; Ctrl-C ends it (journaled).
    pub async fn timed<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, RunError> {
        let _waiting = self.waiting();
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(self.interrupted()),
            out = f => Ok(out),
        }
    }

    /// The pacer of `--pause auto` (`None` with a fixed pause): rebuilt from the
    /// measurements the journal holds, within this execution's bounds.
    pub fn pacer(&self) -> Option<Pacer> {
        let (min, max) = self.settings.pause_mode.bounds()?;
        let polls = self.read(|s| s.polls().to_vec());
        Some(Pacer::replay(self.fixed_pause, min, max, polls))
    }

    /// The pause between imports: the pacer's with `--pause auto`, else the fixed one.
    pub fn pause_length(&self) -> Duration {
        self.pacer().map_or(self.fixed_pause, |p| p.pause())
    }

    /// Pauses `d` so the platform's event handlers drain (after chunk `chunk`).
    pub async fn pause(&self, chunk: Chunk, d: Duration) -> Result<(), RunError> {
        if d.is_zero() {
            return Ok(());
        }
        self.observer.on(&Progress::Pausing { chunk, pause: d });
        self.sleep(d).await?;
        self.account(|a| a.paused += d);
        Ok(())
    }

    /// Notes that chunk `i`'s start request went out at `sent`.
    pub fn started(&self, i: Chunk, sent: Instant) {
        *lock(&self.started) = Some((i, sent));
    }

    /// When this execution sent chunk `i`'s start request, if it did.
    pub fn start_sent(&self, i: Chunk) -> Option<Instant> {
        match *lock(&self.started) {
            Some((chunk, sent)) if chunk == i => Some(sent),
            _ => None,
        }
    }

    /// Whether this execution compared the platform's zone with the run's already.
    pub fn zone_checked(&self) -> bool {
        self.zone_checked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Notes that it did.
    pub fn mark_zone_checked(&self) {
        self.zone_checked.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The validator of the chunk files (built once per execution from their header).
    pub fn validator(&self, header: &elma_import_sheet::Row, path: &Path) -> Result<&Validator, RunError> {
        if let Some(v) = self.validator.get() {
            return Ok(v);
        }
        let v = Validator::new(&self.schema, header, &self.settings.validate_options(&self.spec))
            .map_err(|errors| RunError::Header { file: path.into(), errors })?;
        Ok(self.validator.get_or_init(|| v))
    }
}
