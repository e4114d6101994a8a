//! Start: an expired upload is made again; the start is journaled before it is sent; the
//! answer decides ([`crate::decide::judge_started`]): started, `blocked` (wait, then
//! again), refused (upload again), or uncertain (settle by the app's items).

use std::time::Duration;

use elma_import_chunk::UploadKind;
use elma_import_client::Clock;
use elma_import_contract::wire::StartImport;

use crate::ctx::Ctx;
use crate::decide::{judge_started, Started};
use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::policy::{judge_start, StartFailure};
use crate::progress::Progress;

/// Starts chunk `i`'s import from the upload `hash`, made at `at`.
pub async fn start<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    hash: &str,
    target: UploadKind,
    at: f64,
) -> Result<(), RunError> {
    if target == UploadKind::Temporary && ctx.now() - at > ctx.settings.safe_window().as_secs_f64() {
        ctx.say(format!("chunk {i}: its temporary file is older than the safe window; uploading it again"));
        return ctx.record(Event::UploadExpired { at: ctx.now(), chunk: i });
    }
    ctx.record(Event::StartSent { at: ctx.now(), chunk: i, hash: hash.to_string() })?;
    let body = StartImport {
        file_hash: hash.to_string(),
        format: ctx.settings.chunk_format,
        with_event_handlers: ctx.settings.with_event_handlers,
    };
    let sent = ctx.clock.now();
    match ctx.timed(ctx.client.start_import(&ctx.settings.app, &body)).await? {
        Ok(result) => match judge_started(&result) {
            Started::Blocked => blocked(ctx, i).await,
            Started::Running(id) => {
                ctx.record(Event::Started { at: ctx.now(), chunk: i, import_id: id.clone() })?;
                ctx.started(i, sent);
                ctx.observer.on(&Progress::Started { chunk: i, import_id: &id });
                Ok(())
            }
            Started::Unclear(reason) => ctx.record(Event::Uncertain { at: ctx.now(), chunk: i, reason }),
        },
        Err(e) => match judge_start(&e) {
            StartFailure::Uncertain => {
                ctx.record(Event::Uncertain { at: ctx.now(), chunk: i, reason: e.to_string() })
            }
            StartFailure::Refused => {
                let reason = e.to_string();
                ctx.record(Event::StartRefused { at: ctx.now(), chunk: i, reason: reason.clone() })?;
                if ctx.chunk(i).restarts > ctx.settings.policy.max_restarts {
                    return Err(RunError::Client { chunk: i, error: e });
                }
                ctx.say(format!("chunk {i}: the start was refused ({reason}); uploading it again"));
                Ok(())
            }
            StartFailure::NotStarted | StartFailure::Setup => {
                ctx.record(Event::StartFailed { at: ctx.now(), chunk: i, reason: e.to_string() })?;
                Err(RunError::Client { chunk: i, error: e })
            }
        },
    }
}

/// Journals a `blocked` answer and waits before the next start, up to the blocked timeout
/// of this execution.
async fn blocked<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(), RunError> {
    ctx.record(Event::Blocked { at: ctx.now(), chunk: i })?;
    let c = ctx.chunk(i);
    let since = c.blocked_since.unwrap_or(ctx.began).max(ctx.began);
    let waited = Duration::from_secs_f64((ctx.now() - since).max(0.0));
    let limit = ctx.settings.policy.blocked_timeout;
    if waited >= limit {
        return Err(RunError::BlockedTooLong { chunk: i, waited, limit });
    }
    if c.recheck_on_blocked {
        let reason = "its start met `blocked`: the import whose answer was lost may be the one running, \
                      so its rows are looked at again"
            .to_string();
        return ctx.record(Event::Uncertain { at: ctx.now(), chunk: i, reason });
    }
    ctx.observer.on(&Progress::Blocked { chunk: i, waited });
    let delay =
        ctx.settings.policy.blocked_delay(c.blocked.saturating_sub(1), &mut rand::rng()).min(limit - waited);
    ctx.sleep(delay).await?;
    ctx.account(|a| a.blocked += delay);
    Ok(())
}
