//! Settle: account for every row of a chunk's current file.
//!
//! After a final answer that adds up, the platform's counts are taken as they are.
//! Otherwise, and for a chunk whose start answer was lost, each row is looked up among
//! the app's items (by the key column or by its whole content, the run's baseline left
//! out) and [`crate::decide`] judges what was found: rows that landed, rows to import
//! once more, or a chunk left unsettled for the user.

use std::collections::BTreeSet;

use elma_import_client::{Clock, RowError};

use crate::blocking::blocking;
use crate::ctx::Ctx;
use crate::decide::{adds_up, settle_answered, settle_found, Answer, Budget, Looked, Settle};
use crate::error::RunError;
use crate::event::{Chunk, Event, SettledBy};
use crate::lookup::{classify, matches, Item, Matcher};

/// Accounts for the rows of chunk `i` after the platform's final `answer`.
pub async fn reconcile<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, answer: &Answer) -> Result<(), RunError> {
    let entry = ctx.entry(i);
    let rejected = rejected_rows(&entry, answer);
    let named: BTreeSet<u64> = rejected.iter().map(|e| e.row).collect();
    if adds_up(answer, entry.rows, named.len() as u64) {
        return ctx.record(Event::Reconciled {
            at: ctx.now(),
            chunk: i,
            landed: answer.imported,
            rejected,
            retry: Vec::new(),
            lost: Vec::new(),
            by: SettledBy::Counts,
        });
    }
    let counted = format!(
        "chunk {i} (source rows {}–{}): the platform answered `{}` with {} imported + {} failed of {} rows sent",
        entry.first_row, entry.last_row, answer.status, answer.imported, answer.failed, entry.rows
    );
    let (matcher, rows) = rows_as_items(ctx, i)?;
    let candidates: Vec<&(u64, Item)> = rows.iter().filter(|(r, _)| !named.contains(r)).collect();
    let looked = look(ctx, i, &matcher, &candidates).await?;
    ctx.say(format!(
        "{counted}; looked up by {}: {} found, {} not, {} cannot be told",
        matcher.settled_by().as_str(),
        looked.landed.len(),
        looked.absent.len(),
        looked.unknown.len()
    ));
    let settle = settle_answered(answer, entry.rows, named.len() as u64, looked, budget(ctx, i));
    apply(ctx, i, settle, rejected, matcher.settled_by())
}

/// Settles chunk `i`, whose start answer was lost: its rows are looked up until no new
/// one lands for a few looks (the lost import may still be running).
pub async fn settle_uncertain<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, reason: &str) -> Result<(), RunError> {
    ctx.say(format!("chunk {i}: uncertain: {reason}; looking its rows up among the app's items"));
    let (matcher, rows) = rows_as_items(ctx, i)?;
    let all: Vec<&(u64, Item)> = rows.iter().collect();
    let mut looked = look(ctx, i, &matcher, &all).await?;
    if looked.unknown.len() == rows.len() {
        return Err(uncertain(ctx, "none of its rows can be looked up (no value to look them up by)"));
    }
    wait_until_quiet(ctx, i, &matcher, &rows, &mut looked).await?;
    if !looked.landed.is_empty() {
        doubt_absent(ctx, i, &matcher, &rows, &mut looked).await?;
    }
    ctx.account(|a| a.settled += 1);
    ctx.say(format!(
        "chunk {i}: by {}, {} row(s) are in the app, {} are not, {} cannot be told",
        matcher.settled_by().as_str(),
        looked.landed.len(),
        looked.absent.len(),
        looked.unknown.len()
    ));
    if looked.landed.is_empty() && looked.unknown.is_empty() {
        return nothing_found(ctx, i, &matcher);
    }
    let settle = settle_found(looked, budget(ctx, i), Some(matcher.kind()));
    apply(ctx, i, settle, Vec::new(), matcher.settled_by())
}

/// The user's word on unsettled chunk `i` (`--assume-not-imported`; its start's answer
/// lost, or its counts not adding up), taken once as the execution begins: not imported.
/// Its rows are looked up once more; those found once among the app's items are in it
/// whatever the user thought, and the rest (not found, found more than once, or not to be
/// looked up) are imported once more. None found: the chunk's file is started again as
/// it is.
pub async fn not_imported_by_word<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(), RunError> {
    let (matcher, rows) = rows_as_items(ctx, i)?;
    let all: Vec<&(u64, Item)> = rows.iter().collect();
    let mut looked = look(ctx, i, &matcher, &all).await?;
    if !looked.landed.is_empty() {
        // The lost import may still be running: what lands meanwhile is not sent again.
        wait_until_quiet(ctx, i, &matcher, &rows, &mut looked).await?;
    }
    ctx.account(|a| a.settled += 1);
    if looked.landed.is_empty() {
        ctx.say(format!("chunk {i}: not imported, by your word; none of its rows is in the app"));
        return ctx.record(Event::Resolved { at: ctx.now(), chunk: i, imported: false, by: SettledBy::User });
    }
    let mut absent = std::mem::take(&mut looked.absent);
    absent.append(&mut looked.unknown);
    absent.sort_unstable();
    ctx.say(format!(
        "chunk {i}: not imported, by your word: {} row(s) found in the app stay, {} are imported again",
        looked.landed.len(),
        absent.len()
    ));
    let settle =
        settle_found(Looked { landed: looked.landed, absent, unknown: Vec::new() }, budget(ctx, i), None);
    apply(ctx, i, settle, Vec::new(), SettledBy::User)
}

/// By content, a row not found may have landed with its text stored otherwise than
/// written, and sending it again would double it: each absent row is looked up once
/// more by the fields a platform stores as written ([`Matcher::loosened`]), and one that
/// matches an item there, or cannot be looked up so, is left for the user to tell. An
/// app whose imported fields are all text has no such fields: there every absent row is
/// left for the user to tell (a key column is the way to be sure), as when no row of the
/// chunk is found at all.
async fn doubt_absent<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    matcher: &Matcher,
    rows: &[(u64, Item)],
    looked: &mut Looked,
) -> Result<(), RunError> {
    if looked.absent.is_empty() || !matches!(matcher, Matcher::Content(_)) {
        return Ok(());
    }
    let (doubtful, why) = match matcher.loosened() {
        Some(loose) => {
            let absent: Vec<&(u64, Item)> = rows.iter().filter(|(r, _)| looked.absent.contains(r)).collect();
            let again = look(ctx, i, &loose, &absent).await?;
            let doubtful: Vec<u64> = again.landed.into_iter().chain(again.unknown).collect();
            (doubtful, "found, or not to be ruled out, by their other fields")
        }
        None => (looked.absent.clone(), "the app's imported fields are all text: a key column would tell"),
    };
    if !doubtful.is_empty() {
        ctx.say(format!(
            "chunk {i}: {} row(s) not found by their whole content may be in the app with their text stored \
             otherwise ({why})",
            doubtful.len()
        ));
        looked.absent.retain(|r| !doubtful.contains(r));
        looked.unknown.extend(doubtful);
        looked.unknown.sort_unstable();
    }
    Ok(())
}

/// The chunk's budgets left.
fn budget<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Budget {
    let c = ctx.chunk(i);
    Budget {
        restart: c.restarts < ctx.settings.policy.max_restarts,
        mend: c.mends < ctx.settings.policy.max_mends,
    }
}

/// Records what the judgement says, or stops for the user.
fn apply<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    settle: Settle,
    rejected: Vec<RowError>,
    by: SettledBy,
) -> Result<(), RunError> {
    match settle {
        Settle::Restart { reason } => {
            ctx.say(format!("chunk {i}: {reason}; trying again"));
            ctx.record(Event::FailedEarly { at: ctx.now(), chunk: i, reason })
        }
        Settle::Record { landed, retry, lost } => {
            ctx.record(Event::Reconciled { at: ctx.now(), chunk: i, landed, rejected, retry, lost, by })
        }
        Settle::Unsettled { reason } => Err(uncertain(ctx, &format!("chunk {i}: {reason}"))),
    }
}

/// No row of an uncertain chunk is among the items. By the key that means nothing ran:
/// the chunk's file is started again as it is (counted against the restart budget). By
/// content it may also mean values that read differently on the platform, and starting
/// again could double every row: that needs the user's word, or a key.
fn nothing_found<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, matcher: &Matcher) -> Result<(), RunError> {
    if matches!(matcher, Matcher::Content(_)) {
        return Err(uncertain(
            ctx,
            &format!("chunk {i}: none of its rows is found by its content, which does not prove the import did not run"),
        ));
    }
    if ctx.chunk(i).restarts >= ctx.settings.policy.max_restarts {
        return Err(uncertain(
            ctx,
            &format!("chunk {i}: none of its rows is among the app's items, after as many starts as allowed"),
        ));
    }
    ctx.record(Event::Resolved { at: ctx.now(), chunk: i, imported: false, by: matcher.settled_by() })
}

/// The error that asks the user to settle the uncertain chunks.
fn uncertain<C: Clock>(ctx: &Ctx<'_, C>, reason: &str) -> RunError {
    let mut chunks = ctx.read(|s| s.uncertain());
    let unsettled = ctx.read(|s| {
        s.chunks()
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.phase, crate::state::Phase::Answered { .. }))
            .map(|(k, _)| Chunk(k as u32))
            .collect::<Vec<_>>()
    });
    chunks.extend(unsettled);
    chunks.sort_unstable();
    chunks.dedup();
    RunError::Uncertain { dir: ctx.dir.to_path_buf(), chunks, reason: reason.to_string() }
}

/// While rows are absent, the lost import may still be running: look at the first absent
/// row every `settle_interval` (rows land in order) and, when it lands, look at every
/// absent row again; done after `settle_quiet_looks` looks in a row find nothing new.
async fn wait_until_quiet<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    matcher: &Matcher,
    rows: &[(u64, Item)],
    looked: &mut Looked,
) -> Result<(), RunError> {
    let policy = &ctx.settings.policy;
    let began = ctx.clock.now();
    let mut quiet = 0;
    while !looked.absent.is_empty() && quiet < policy.settle_quiet_looks {
        if ctx.clock.now().saturating_duration_since(began) >= policy.settle_timeout {
            break;
        }
        ctx.sleep(policy.settle_interval).await?;
        let first = looked.absent[0];
        let probe: Vec<&(u64, Item)> = rows.iter().filter(|(r, _)| *r == first).collect();
        if look(ctx, i, matcher, &probe).await?.landed.is_empty() {
            quiet += 1;
            continue;
        }
        quiet = 0;
        let again: Vec<&(u64, Item)> = rows.iter().filter(|(r, _)| looked.absent.contains(r)).collect();
        let more = look(ctx, i, matcher, &again).await?;
        looked.landed.extend(more.landed);
        looked.landed.sort_unstable();
        looked.absent = more.absent;
        looked.unknown.extend(more.unknown);
    }
    Ok(())
}

/// The platform's row errors, by source row, one per row (the first message kept).
fn rejected_rows(entry: &elma_import_chunk::ChunkEntry, answer: &Answer) -> Vec<RowError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for e in answer.errors.iter().filter(|e| e.row >= 2) {
        let Some(row) = entry.source_row(e.row) else { continue };
        if seen.insert(row) {
            out.push(RowError { row, column: e.column.clone(), message: e.message.clone() });
        }
    }
    out
}

/// Looks `rows` up; the run's baseline never counts.
async fn look<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: Chunk,
    matcher: &Matcher,
    rows: &[&(u64, Item)],
) -> Result<Looked, RunError> {
    let items: Vec<&Item> = rows.iter().map(|(_, item)| item).collect();
    let in_flight = ctx.settings.policy.lookups_in_flight;
    let found = ctx
        .timed(matches(ctx.client, &ctx.settings.app, matcher, &items, in_flight))
        .await?
        .map_err(|error| RunError::Client { chunk: i, error })?;
    let numbers: Vec<u64> = rows.iter().map(|(r, _)| *r).collect();
    let baseline = ctx.read(|s| s.baseline().cloned().unwrap_or_default());
    Ok(classify(&numbers, &found, &baseline))
}

/// How the run's rows are matched: by its key column, else by every field its chunk files
/// import.
pub(crate) fn matcher<C: Clock>(ctx: &Ctx<'_, C>, validator: &elma_import_validate::Validator) -> Matcher {
    match &ctx.settings.key {
        Some(key) => Matcher::Key(key.field.clone()),
        None => Matcher::Content(
            validator
                .columns()
                .iter()
                .filter_map(|c| c.field)
                .map(|f| ctx.schema.fields[f].clone())
                .collect(),
        ),
    }
}

/// How rows are matched, and the rows of chunk `i`'s current file as items, by source row.
fn rows_as_items<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(Matcher, Vec<(u64, Item)>), RunError> {
    let entry = ctx.entry(i);
    let path = ctx.files.path(&entry);
    let (header, rows) = blocking(|| ctx.files.read(&entry))?;
    let validator = ctx.validator(&header, &path)?;
    let items = rows
        .iter()
        .map(|row| {
            let source = entry.source_row(row.number).unwrap_or(0);
            (source, validator.to_item(row).unwrap_or_default())
        })
        .collect();
    Ok((matcher(ctx, validator), items))
}
