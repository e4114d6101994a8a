//! The run loop: for the next chunk not done, take the step its phase calls for, record
//! the step's events, until every chunk is done.
//!
//! Every transition is journaled (and fsynced) by the [`Recorder`], which then applies it
//! to the state: there is no other way the state changes, so a crash at any point leaves
//! a journal from which [`execute`] continues without importing a row twice.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use elma_import_chunk::{Plan, UploadKind};
use elma_import_client::{Client, Clock, TokioClock};
use elma_import_contract::schema::AppSchema;

use crate::blocking::blocking;
use crate::cancel::Cancel;
use crate::chunkfile::{chunks_dir, ChunkFiles};
use crate::ctx::{Ctx, Parts};
use crate::error::RunError;
use crate::event::{Chunk, Event, SettledBy};
use crate::journal::{DirLock, Journal};
use crate::prepare::prepare;
use crate::progress::{Observer, Progress};
use crate::recorder::Recorder;
use crate::report::{summarize, Facts, SoFar, Summary};
use crate::settings::{ExecOptions, RunSettings};
use crate::spec::{write_json, RunSpec};
use crate::state::{Phase, RunState};
use crate::step;

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
    let spec = RunSpec::load(dir)?;
    let _lock = DirLock::acquire(dir)?;
    let schema = RunSpec::load_schema(dir)?;
    let settings = RunSettings::resolve(&spec, options, &schema)?;
    let opened = Recorder::open(dir)?;
    if let Some(bytes) = opened.torn {
        observer.on(&Progress::Message(format!(
            "the journal's last line was cut short ({bytes} bytes, a crash or a full disk while writing it); \
             it was removed: the step it announced never completed"
        )));
    }
    let recorder = Arc::new(opened.recorder);
    if !recorder.read(RunState::preparing) && (chunks_dir(dir).exists() || dir.join("plan.json").exists()) {
        return Err(RunError::JournalLost(dir.to_path_buf()));
    }
    let stopper = recorder.clone();
    let clock_now = move || elma_import_client::poll::system_wall();
    let _stop =
        cancel.on_stop_now(Arc::new(move || stopper.record_now(Event::Interrupted { at: clock_now() })));
    let (files, plan, prepare_time) =
        load_or_prepare(dir, &spec, &settings, &schema, clock, observer, &recorder)?;
    let parts = Parts { spec, settings, schema, files, plan, recorder, prepare: prepare_time };
    let ctx = Ctx::new(dir, parts, client, clock, observer, cancel);
    let outcome = run_to_end(&ctx).await;
    if ctx.settings.check_replay && !ctx.recorder.replays()? {
        panic!("the journal of `{}` does not replay to the state the run had", dir.display());
    }
    outcome?;
    let state = ctx.recorder.state();
    let facts = Facts {
        dir,
        app: &ctx.spec.app,
        plan: &ctx.plan,
        files: &ctx.files,
        state: &state,
        accounting: ctx.accounting(),
        wall: clock.now().saturating_duration_since(started),
        stats: (stats_before, client.stats()),
    };
    let summary = summarize(&facts, &|text| ctx.say(text))?;
    write_json(&dir.join("summary.json"), &summary)?;
    observer.on(&Progress::Completed { summary: &summary });
    Ok(summary)
}

/// Announces, settles the user's word, claims the ledger, takes the baseline, drives
/// every chunk and records the run's completion.
async fn run_to_end<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    announce(ctx)?;
    verify_files(ctx)?;
    drive(ctx).await?;
    ctx.record(Event::Completed { at: ctx.now() })
}

/// Prepares the run (validate, plan, chunk) unless the journal says it was, journaling
/// `Preparing`, then `Prepared` (or `Refused`) through the recorder; loads the plan and
/// the chunk files.
fn load_or_prepare<C: Clock>(
    dir: &Path,
    spec: &RunSpec,
    settings: &RunSettings,
    schema: &AppSchema,
    clock: &C,
    observer: &dyn Observer,
    recorder: &Recorder,
) -> Result<(ChunkFiles, Plan, Duration), RunError> {
    if recorder.read(|s| s.prepared().is_some()) {
        let files = ChunkFiles::load(dir, settings.locale)?;
        let path = dir.join("plan.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| RunError::io(format!("cannot read `{}`", path.display()), e))?;
        let plan = serde_json::from_str(&text).map_err(|e| RunError::damaged(path, e))?;
        return Ok((files, plan, Duration::ZERO));
    }
    let (bytes, modified) = RunSpec::fingerprint(&spec.source)?;
    if bytes != spec.source_bytes || (modified - spec.source_modified).abs() > 1e-3 {
        return Err(RunError::SourceChanged(spec.source.clone()));
    }
    if !recorder.read(RunState::preparing) {
        recorder.record(Event::Preparing { at: clock.wall() })?;
    }
    let t = Instant::now();
    let prepared = match blocking(|| prepare(dir, spec, settings, schema, observer)) {
        Ok(p) => p,
        Err(RunError::InvalidRows { invalid, rows, errors }) => {
            recorder.record(Event::Refused { at: clock.wall(), rows, invalid })?;
            return Err(RunError::InvalidRows { invalid, rows, errors });
        }
        Err(e) => return Err(e),
    };
    recorder.record(Event::Prepared {
        at: clock.wall(),
        rows: prepared.rows,
        valid: prepared.valid,
        invalid: prepared.invalid,
        chunks: prepared.files.count(),
    })?;
    Ok((prepared.files, prepared.plan, t.elapsed()))
}

/// Checks the plan can be followed and tells the observer.
fn announce<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    let prepared =
        ctx.read(|s| s.prepared()).ok_or_else(|| RunError::Nothing("preparation not recorded".into()))?;
    if ctx.plan.upload == UploadKind::Directory && ctx.settings.directory_id.is_none() {
        return Err(RunError::NeedsDirectory { rows: prepared.valid });
    }
    let already = ctx.read(|s| {
        s.chunks()
            .iter()
            .zip(&ctx.files.manifest().chunks)
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
    if let (Some(pacer), true) = (ctx.pacer(), ctx.settings.with_event_handlers) {
        let (min, max) = pacer.bounds();
        let learned = if ctx.read(|s| s.polls().is_empty()) { "to start" } else { "learned so far" };
        ctx.say(format!(
            "pause: auto, {} {learned}, kept within {}..{}: shrinks while imports run at full speed, \
             grows as soon as a handler backlog slows them",
            crate::duration::human(pacer.pause()),
            crate::duration::human(min),
            crate::duration::human(max),
        ));
    }
    Ok(())
}

/// Refuses chunk files that are not the ones written, before anything is sent.
fn verify_files<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    blocking(|| {
        for i in ctx.files.all() {
            if ctx.read(|s| *s.phase(i) != Phase::Done) {
                ctx.files.verify(&ctx.entry(i))?;
            }
        }
        Ok(())
    })
}

/// Settles the user's word on unsettled chunks, claims the ledger and takes the baseline
/// before the first start, pays the pause an earlier execution owes, then drives every
/// chunk to done in order.
async fn drive<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    for &(i, imported) in &ctx.settings.assume {
        match ctx.chunk(i).phase {
            // The rows of it found in the app stay; the rest are imported again.
            Phase::Uncertain { .. } | Phase::Answered { .. } if !imported => {
                step::settle::not_imported_by_word(ctx, i).await?
            }
            Phase::Uncertain { .. } | Phase::Answered { .. } => {
                ctx.record(Event::Resolved { at: ctx.now(), chunk: i, imported, by: SettledBy::User })?;
                ctx.account(|a| a.settled += 1);
            }
            _ => {}
        }
    }
    let pending = ctx.files.all().any(|i| ctx.read(|s| *s.phase(i) != Phase::Done));
    if pending && !ctx.read(|s| s.claimed()) {
        claim(ctx)?;
    }
    if pending && !ctx.read(|s| s.any_start()) && ctx.read(|s| s.baseline().is_none()) {
        step::baseline::take(ctx).await?;
    }
    // A resumed run owes the platform what is left of the pause after the last import an
    // earlier execution finished.
    let next = ctx.files.all().map(|i| ctx.chunk(i).phase).find(|p| *p != Phase::Done);
    if ctx.settings.with_event_handlers && matches!(next, Some(Phase::Pending | Phase::Uploaded { .. })) {
        if let Some(end) = ctx.read(RunState::last_finished_at) {
            let since = Duration::from_secs_f64((ctx.now() - end).max(0.0));
            ctx.pause(Chunk(0), ctx.pause_length().saturating_sub(since)).await?;
        }
    }
    let count = ctx.files.count();
    for i in ctx.files.all() {
        let was_done = ctx.chunk(i).phase == Phase::Done;
        drive_chunk(ctx, i).await?;
        if !was_done {
            step::zone::check(ctx, i).await?;
            if i.0 + 1 < count && ctx.settings.with_event_handlers {
                ctx.pause(i, ctx.pause_length()).await?;
            }
        }
    }
    Ok(())
}

/// Writes the run into the user's import ledger, unless it has none.
fn claim<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    let (Some(ledger), Some(sha)) = (&ctx.settings.ledger, &ctx.spec.source_sha256) else {
        return Ok(());
    };
    let entry = crate::ledger::Entry {
        at: ctx.now(),
        url: ctx.client.base_url().to_string(),
        app: ctx.spec.app.clone(),
        sha256: sha.clone(),
        source: ctx.spec.source.clone(),
        run_dir: ctx.dir.to_path_buf(),
        rows: ctx.files.rows(),
    };
    crate::ledger::claim(ledger, entry, ctx.settings.again)?;
    ctx.record(Event::Claimed { at: ctx.now(), ledger: ledger.to_path_buf() })
}

/// Takes chunk `i` from wherever it stands to done, one step per phase.
async fn drive_chunk<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(), RunError> {
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
                let answer = crate::decide::Answer { status, imported, failed, errors };
                step::settle::reconcile(ctx, i, &answer).await?
            }
            Phase::Uncertain { reason, .. } => step::settle::settle_uncertain(ctx, i, &reason).await?,
            Phase::Mending { rows } => step::mend::mend(ctx, i, &rows)?,
        }
    }
}

/// Whether the run in `dir` already completed, with its saved summary; reads nothing but
/// the journal and `summary.json`, and talks to no one. A run that completed but stopped
/// before its summary was written is not finished: executing it writes the summary.
pub fn finished(dir: &Path) -> Result<Option<Summary>, RunError> {
    RunSpec::load(dir)?;
    let events = Journal::<Event>::read(&dir.join("journal.jsonl"))?;
    if !RunState::replay(&events).completed() {
        return Ok(None);
    }
    let path = dir.join("summary.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RunError::io(format!("cannot read `{}`", path.display()), e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| RunError::damaged(path, e))
}

/// The state the journal of the run in `dir` replays to (for `runs` and reports).
pub fn state_of(dir: &Path) -> Result<RunState, RunError> {
    Ok(RunState::replay(&Journal::<Event>::read(&dir.join("journal.jsonl"))?))
}

/// [`crate::report::so_far`] of the run in `dir`, with [`SoFar::in_flight`] counted from
/// its chunk files.
pub fn so_far_in(dir: &Path) -> Result<SoFar, RunError> {
    let state = state_of(dir)?;
    let mut out = crate::report::so_far(&state);
    if state.chunks().iter().any(|c| in_flight(&c.phase)) {
        let files = ChunkFiles::load(dir, elma_import_contract::Locale::default())?;
        out.in_flight = files
            .all()
            .zip(state.chunks())
            .filter(|(_, c)| in_flight(&c.phase))
            .map(|(i, c)| files.current(i, c).rows)
            .sum();
    }
    Ok(out)
}

/// Whether a chunk in `phase` has an import that started (or may have) and whose rows
/// are not accounted for yet.
fn in_flight(phase: &Phase) -> bool {
    matches!(phase, Phase::Uncertain { .. } | Phase::Started { .. } | Phase::Answered { .. })
}
