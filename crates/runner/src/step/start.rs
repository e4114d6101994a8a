//! Start: an expired upload is made again; the start is journaled before it is sent; the
//! answer decides: started, `blocked` (wait, then again), refused (upload again), or
//! uncertain (settle by the app's items).

use std::time::Duration;

use elma_import_chunk::UploadKind;
use elma_import_client::{Clock, ImportResult};
use elma_import_contract::wire::{FileFormat, ImportStatus, StartImport};

use crate::error::RunError;
use crate::event::Event;
use crate::policy::{judge_start, StartFailure};
use crate::run::Ctx;
use crate::Progress;

/// Starts chunk `i`'s import from the upload `hash`, made at `at`.
pub async fn start<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: u32,
    hash: &str,
    target: UploadKind,
    at: f64,
) -> Result<(), RunError> {
    if target == UploadKind::Temporary && ctx.now() - at > ctx.safe_window().as_secs_f64() {
        ctx.say(format!(
            "chunk {}: its temporary file is older than the safe window; uploading it again",
            i + 1
        ));
        return ctx.record(Event::UploadExpired { at: ctx.now(), chunk: i });
    }
    ctx.record(Event::StartSent { at: ctx.now(), chunk: i, hash: hash.to_string() })?;
    let format = match ctx.spec.chunk_format() {
        elma_import_sheet::Format::Csv => FileFormat::Csv,
        elma_import_sheet::Format::Xlsx => FileFormat::Xlsx,
    };
    let body = StartImport {
        file_hash: hash.to_string(),
        format,
        with_event_handlers: ctx.plan.with_event_handlers,
    };
    let sent = ctx.clock.now();
    match ctx.timed(ctx.client.start_import(&ctx.app, &body)).await? {
        Ok(result) if result.status == ImportStatus::Blocked => blocked(ctx, i).await,
        Ok(ImportResult { id: Some(id), .. }) => {
            ctx.record(Event::Started { at: ctx.now(), chunk: i, import_id: id.clone() })?;
            *ctx.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((i, sent));
            ctx.observer.on(&Progress::Started { chunk: i, import_id: &id });
            Ok(())
        }
        Ok(result) => {
            let reason = format!("the start answered `{}` without an import id", result.status);
            ctx.record(Event::Uncertain { at: ctx.now(), chunk: i, reason })
        }
        Err(e) => match judge_start(&e) {
            StartFailure::Uncertain => {
                ctx.record(Event::Uncertain { at: ctx.now(), chunk: i, reason: e.to_string() })
            }
            StartFailure::Refused => {
                let reason = e.to_string();
                ctx.record(Event::StartRefused { at: ctx.now(), chunk: i, reason: reason.clone() })?;
                if ctx.chunk(i).restarts > ctx.options.policy.max_restarts {
                    return Err(RunError::Client { chunk: i + 1, source: e });
                }
                ctx.say(format!("chunk {}: the start was refused ({reason}); uploading it again", i + 1));
                Ok(())
            }
            StartFailure::NotStarted | StartFailure::Setup => {
                ctx.record(Event::StartFailed { at: ctx.now(), chunk: i, reason: e.to_string() })?;
                Err(RunError::Client { chunk: i + 1, source: e })
            }
        },
    }
}

/// Journals a `blocked` answer and waits before the next start, up to the blocked timeout
/// of this execution.
async fn blocked<C: Clock>(ctx: &Ctx<'_, C>, i: u32) -> Result<(), RunError> {
    ctx.record(Event::Blocked { at: ctx.now(), chunk: i })?;
    let c = ctx.chunk(i);
    let since = c.blocked_since.unwrap_or(ctx.began).max(ctx.began);
    let waited = Duration::from_secs_f64((ctx.now() - since).max(0.0));
    let limit = ctx.options.policy.blocked_timeout;
    if waited >= limit {
        return Err(RunError::BlockedTooLong { chunk: i + 1, waited, limit });
    }
    if c.recheck_on_blocked {
        let reason = "its start met `blocked`: the import whose answer was lost may be the one running, \
                      so its rows are looked at again"
            .to_string();
        return ctx.record(Event::Uncertain { at: ctx.now(), chunk: i, reason });
    }
    ctx.observer.on(&Progress::Blocked { chunk: i, waited });
    let delay =
        ctx.options.policy.blocked_delay(c.blocked.saturating_sub(1), &mut rand::rng()).min(limit - waited);
    ctx.sleep(delay).await?;
    ctx.account(|a| a.blocked += delay);
    Ok(())
}
