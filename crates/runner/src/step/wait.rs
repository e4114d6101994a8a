//! Wait: poll the import (at least a second apart) until the platform gives a final
//! answer, uploading the next chunk meanwhile when its file cannot expire before its turn.
//! Counts that stand still for the stall limit end the wait (resumable); Ctrl-C ends it
//! at once. A `blocked` or unknown status is not a result: the wait goes on.
//!
//! With `--pause auto` the wait also measures the import for the pacer: the first poll
//! comes at [`crate::pace::Pacer::first_poll`] after the start request (the point the
//! first measured import was polled at, so every import is measured at the same point of
//! its course), and the pacer gets the rows processed by that poll and the time from the
//! start request's send to that poll's send (both on the runner's clock, so neither the
//! answer's way back nor the runner's own scheduling delay counts); see
//! [`crate::pace::Pacer::observe_poll`]. Later polls keep at least a second apart. The
//! decision is journaled (`paced`) before the pause it sets.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use elma_import_client::{Clock, ImportResult};

use crate::ctx::Ctx;
use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::progress::Progress;
use crate::state::Phase;

/// What the wait saw of the import's counts.
struct Watch {
    counts: Option<(u64, u64, u64)>,
    since: Instant,
    processed: u64,
}

/// The import's progress at the first status answer, for `--pause auto`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// From the start request's send to the first status request's send (both taken on
    /// the client, so the two requests' latencies mostly cancel, and the time the answer
    /// takes to come back and be handled does not count).
    elapsed: Duration,
    /// Rows processed by then.
    processed: u64,
    /// Whether the answer was final.
    finished: bool,
}

/// Waits for chunk `i`'s import `import_id` to end and journals the platform's answer.
pub async fn wait<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, import_id: &str) -> Result<(), RunError> {
    let next = i.next();
    // The next chunk's file is uploaded during this import when it cannot expire before
    // its own start: the pause in force (learned or fixed) and a margin fit its window.
    let overlap = matches!(ctx.read(|s| s.chunk(next).map(|c| c.phase.clone())), Some(Phase::Pending))
        && ctx.pause_length() + ctx.settings.policy.overlap_margin < ctx.settings.safe_window();
    // With `--pause auto` the upload ahead waits for the first status answer, so its
    // disk and network work does not delay the poll the throughput is taken at.
    let first_answer = tokio::sync::Notify::new();
    let measuring = ctx.settings.with_event_handlers && ctx.settings.pause_mode.is_auto();
    let ahead = async {
        if !overlap {
            return;
        }
        if measuring {
            first_answer.notified().await;
        }
        let entry = ctx.entry(next);
        ctx.observer.on(&Progress::UploadingAhead { chunk: next, rows: entry.rows, during: i });
        // A failure here costs nothing: the chunk is uploaded again in its turn.
        if let Err(e) = super::upload::send(ctx, next, ctx.plan.upload).await {
            if !matches!(e, RunError::Interrupted(_)) {
                ctx.say(format!("uploading chunk {next} ahead failed: {e}"));
            }
        }
    };
    let polling = async {
        let polled = poll(ctx, i, import_id, &first_answer).await;
        first_answer.notify_one();
        polled
    };
    let (polled, ()) = tokio::join!(polling, ahead);
    let (result, sample) = polled?;
    ctx.record(Event::Finished {
        at: ctx.now(),
        chunk: i,
        status: result.status.clone(),
        imported: result.imported,
        failed: result.failed,
        errors: result.errors.clone(),
        unreconciled: true,
    })?;
    let rows = ctx.entry(i).rows;
    // The decision comes first, so the chunk's line tells the time left with the pause
    // just chosen.
    if next.0 < ctx.files.count() {
        if let (Some(pacer), Some(sample)) = (ctx.pacer(), sample) {
            pace(ctx, i, rows, pacer, sample)?;
        }
    }
    ctx.observer.on(&Progress::ChunkFinished { chunk: i, result: &result, rows });
    Ok(())
}

/// Feeds the pacer the import's throughput and journals its decision.
fn pace<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    rows: u64,
    mut pacer: crate::pace::Pacer,
    sample: Sample,
) -> Result<(), RunError> {
    let secs = sample.elapsed.as_secs_f64();
    let poll = crate::pace::Poll { rows, processed: sample.processed, secs, finished: sample.finished };
    let decision = pacer.observe_poll(poll);
    ctx.record(Event::Paced {
        at: ctx.now(),
        chunk: i,
        rows,
        measured_secs: secs,
        poll: Some(poll),
        decision,
    })?;
    let expected_pause = pacer.expected_pause();
    ctx.observer.on(&Progress::Paced { chunk: i, decision: &decision, expected_pause });
    Ok(())
}

/// Polls until `done` or `failed`, a stall, or Ctrl-C; with `--pause auto` and an import
/// this execution started, also the progress at the first answer.
async fn poll<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    import_id: &str,
    first_answer: &tokio::sync::Notify,
) -> Result<(ImportResult, Option<Sample>), RunError> {
    let rows = ctx.entry(i).rows;
    let watch = Mutex::new(Watch { counts: None, since: ctx.clock.now(), processed: 0 });
    let stalled = tokio::sync::Notify::new();
    let limit = ctx.settings.policy.stall_timeout;
    // The first poll comes about when the import should be done (never later than the
    // policy's), so a small import is seen finished at once; later polls keep 1 s apart.
    let mut policy = ctx.settings.poll;
    let expected = Duration::from_secs_f64(rows as f64 / ctx.spec.import_rows_per_sec.max(1.0));
    policy.first_poll = policy.first_poll.min(expected.max(Duration::from_millis(200)));
    // `--pause auto`: measured from the start request, the first poll just before the
    // import should end at the best speed seen.
    let pacer = ctx.pacer().filter(|_| ctx.settings.with_event_handlers);
    let origin = ctx.start_sent(i).filter(|_| pacer.is_some());
    if let (Some(sent), Some(first)) = (origin, pacer.and_then(|p| p.first_poll(rows))) {
        let since = ctx.clock.now().saturating_duration_since(sent);
        policy.first_poll = first.saturating_sub(since);
    }
    let sample: Mutex<Option<Sample>> = Mutex::new(None);
    let mut odd_answers = 0u32;
    loop {
        let clock = Stamping::new(ctx.clock);
        let on_update = |r: &ImportResult| {
            first_answer.notify_one();
            if let Some(sent) = origin {
                let mut first = sample.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                first.get_or_insert(Sample {
                    elapsed: clock.asked().saturating_duration_since(sent),
                    processed: r.processed,
                    finished: r.status.is_final(),
                });
            }
            ctx.observer.on(&Progress::Importing { chunk: i, result: r, rows });
            let mut w = watch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = ctx.clock.now();
            let counts = (r.processed, r.imported, r.failed);
            if w.counts != Some(counts) {
                *w = Watch { counts: Some(counts), since: now, processed: r.processed };
            } else if now.saturating_duration_since(w.since) >= limit {
                stalled.notify_one();
            }
        };
        let polling =
            ctx.client.wait_for_import_with_clock(&clock, &ctx.settings.app, import_id, policy, on_update);
        let waiting = ctx.waiting();
        let answer = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return Err(ctx.interrupted()),
            _ = stalled.notified() => return Err(stall(ctx, i, import_id, &watch)),
            answer = polling => answer,
        };
        drop(waiting);
        let result = answer.map_err(|error| RunError::Client { chunk: i, error })?;
        if result.status.is_final() {
            let first = *sample.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            return Ok((result, first));
        }
        // `blocked` (or anything not final) for a started import is not a result.
        odd_answers += 1;
        if odd_answers == 1 {
            ctx.say(format!(
                "chunk {i}: the status of import `{import_id}` answered `{}`, which is not a result; polling on",
                result.status
            ));
        }
        policy.first_poll = policy.min_interval;
    }
}

/// The runner's clock, noting when the poller last woke up: the poller sends its status
/// request right after its wait, so that is when the answer's counts were asked for.
struct Stamping<'c, C> {
    clock: &'c C,
    woke: Mutex<Instant>,
}

impl<'c, C: Clock> Stamping<'c, C> {
    fn new(clock: &'c C) -> Stamping<'c, C> {
        Stamping { clock, woke: Mutex::new(clock.now()) }
    }

    /// When the last status request was sent (the end of the poller's last wait).
    fn asked(&self) -> Instant {
        *self.woke.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<C: Clock> Clock for Stamping<'_, C> {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    async fn sleep(&self, duration: Duration) {
        self.clock.sleep(duration).await;
        *self.woke.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = self.clock.now();
    }
}

/// Journals a stall and returns the error that ends the execution.
fn stall<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, import_id: &str, watch: &Mutex<Watch>) -> RunError {
    let (processed, since) = {
        let w = watch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (w.processed, w.since)
    };
    let still = ctx.clock.now().saturating_duration_since(since);
    let event = Event::Stalled { at: ctx.now(), chunk: i, processed, still_secs: still.as_secs_f64() };
    if let Err(e) = ctx.record(event) {
        return e;
    }
    RunError::Stalled {
        dir: ctx.dir.to_path_buf(),
        chunk: i,
        import_id: import_id.to_string(),
        processed,
        still,
        limit: ctx.settings.policy.stall_timeout,
    }
}
