//! Settle: account for every row of a chunk's current file.
//!
//! After a final answer, the platform's counts are trusted when they add up (`done`,
//! imported + failed = rows sent, every failed row named). Otherwise, and for a chunk whose
//! start answer was lost, each row is looked up among the app's items, by the key column
//! or by its whole content: rows found landed, rows absent are imported once more, rows
//! that cannot be told apart are reported by source row.

use std::collections::BTreeSet;

use elma_import_client::{Clock, ImportStatus, RowError};
use elma_import_sheet::Row;
use elma_import_validate::Validator;

use crate::error::RunError;
use crate::event::{Event, LostRow};
use crate::lookup::{present, Item, Matcher};
use crate::prepare::validate_options;
use crate::run::{blocking, Ctx};

/// The platform's final answer for an import.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `done` or `failed`.
    pub status: ImportStatus,
    /// Rows imported, as counted.
    pub imported: u64,
    /// Rows failed, as counted.
    pub failed: u64,
    /// Row errors, rows as in the chunk file.
    pub errors: Vec<RowError>,
}

/// What looking the rows up found, by source row.
#[derive(Debug, Default)]
struct Looked {
    landed: Vec<u64>,
    absent: Vec<u64>,
    unknown: Vec<u64>,
}

/// Accounts for the rows of chunk `i` after the platform's final `answer`.
pub async fn reconcile<C: Clock>(ctx: &Ctx<'_, C>, i: u32, answer: &Answer) -> Result<(), RunError> {
    let entry = ctx.entry(i);
    let rejected = rejected_rows(&entry, answer);
    let named: BTreeSet<u64> = rejected.iter().map(|e| e.row).collect();
    let adds_up = answer.status == ImportStatus::Done
        && answer.imported + answer.failed == entry.rows
        && answer.failed == named.len() as u64;
    if adds_up {
        return ctx.record(Event::Reconciled {
            at: ctx.now(),
            chunk: i,
            landed: answer.imported,
            rejected,
            retry: Vec::new(),
            lost: Vec::new(),
            by: "counts".into(),
        });
    }
    let counted = format!(
        "chunk {} (source rows {}–{}): the platform answered `{}` with {} imported + {} failed of {} rows sent",
        i + 1,
        entry.first_row,
        entry.last_row,
        answer.status,
        answer.imported,
        answer.failed,
        entry.rows
    );
    let (matcher, rows) = rows_as_items(ctx, i)?;
    let candidates: Vec<&(u64, Item)> = rows.iter().filter(|(r, _)| !named.contains(r)).collect();
    let mut looked = look(ctx, i, &matcher, &candidates).await?;
    if looked.landed.is_empty()
        && looked.unknown.is_empty()
        && rejected.is_empty()
        && answer.status == ImportStatus::Failed
        && ctx.chunk(i).restarts < ctx.options.policy.max_restarts
    {
        let reason = format!("the import failed before any row landed: {}", first_reason(answer));
        ctx.say(format!("chunk {}: {reason}; trying again", i + 1));
        return ctx.record(Event::FailedEarly { at: ctx.now(), chunk: i, reason });
    }
    if (looked.landed.len() as u64) < answer.imported || !trusted(&matcher, &looked) {
        // The look-up finds fewer rows than the platform counted: it cannot be trusted to
        // tell the rows that did not land, so none is sent again.
        looked.unknown.append(&mut looked.absent);
        looked.unknown.sort_unstable();
    }
    ctx.say(format!(
        "{counted}; looked up by {}: {} landed, {} did not, {} cannot be told",
        matcher.name(),
        looked.landed.len(),
        looked.absent.len(),
        looked.unknown.len()
    ));
    let note = format!("{counted}, and this row could not be found or told apart among the app's items");
    record_looked(ctx, i, looked, rejected, matcher.name(), &note)
}

/// Settles chunk `i`, whose start answer was lost: its rows are looked up until no new
/// one lands for a few looks (the lost import may still be running).
pub async fn settle_uncertain<C: Clock>(ctx: &Ctx<'_, C>, i: u32, reason: &str) -> Result<(), RunError> {
    ctx.say(format!("chunk {}: uncertain: {reason}; looking its rows up among the app's items", i + 1));
    let (matcher, rows) = rows_as_items(ctx, i)?;
    let all: Vec<&(u64, Item)> = rows.iter().collect();
    let mut looked = look(ctx, i, &matcher, &all).await?;
    if looked.unknown.len() == rows.len() {
        return Err(uncertain(ctx));
    }
    wait_until_quiet(ctx, i, &matcher, &rows, &mut looked).await?;
    if !trusted(&matcher, &looked) {
        ctx.say(format!(
            "chunk {}: by content, the rows found are not the first rows of the chunk (an import lands rows \
             in order): their values may read differently on the platform, so the rest are not sent again",
            i + 1
        ));
        return Err(uncertain(ctx));
    }
    ctx.account(|a| a.settled += 1);
    ctx.say(format!(
        "chunk {}: by {}, {} row(s) are in the app, {} are not, {} cannot be told",
        i + 1,
        matcher.name(),
        looked.landed.len(),
        looked.absent.len(),
        looked.unknown.len()
    ));
    if looked.landed.is_empty() && looked.unknown.is_empty() {
        return nothing_found(ctx, i, &matcher);
    }
    let note =
        "the start's answer was lost, and this row could not be told apart among the app's items".to_string();
    record_looked(ctx, i, looked, Vec::new(), matcher.name(), &note)
}

/// No row of an uncertain chunk is among the items. By the key that means nothing ran:
/// the chunk's file is started again as it is (counted against the restart budget). By
/// content it may also mean values that read differently on the platform, and starting
/// again could double every row: that needs the user's word, or a key.
fn nothing_found<C: Clock>(ctx: &Ctx<'_, C>, i: u32, matcher: &Matcher) -> Result<(), RunError> {
    let by_content = matches!(matcher, Matcher::Content(_));
    if by_content || ctx.chunk(i).restarts >= ctx.options.policy.max_restarts {
        ctx.say(format!(
            "chunk {}: none of its rows is among the app's items{}",
            i + 1,
            if by_content {
                "; by content alone that does not prove the import did not run"
            } else {
                ", after as many starts as allowed"
            }
        ));
        return Err(uncertain(ctx));
    }
    ctx.record(Event::Resolved { at: ctx.now(), chunk: i, imported: false, by: matcher.name().into() })
}

/// Whether the look-up can tell which rows did not land. A key is trusted row by row. By
/// content, a row that reads differently on the platform (a date-time in another time
/// zone, say) is never found, so the rows found must be the first rows of the chunk, as an
/// import that stopped part way leaves them; found rows after an absent one mean the
/// matching, not the import, missed some.
fn trusted(matcher: &Matcher, looked: &Looked) -> bool {
    match matcher {
        Matcher::Key(_) => true,
        Matcher::Content(_) => {
            let last_found = looked.landed.iter().max();
            let first_absent = looked.absent.iter().min();
            matches!((last_found, first_absent), (Some(f), Some(a)) if f < a)
                || looked.absent.is_empty()
                || looked.landed.is_empty()
        }
    }
}

/// The error that asks the user to settle the uncertain chunks.
fn uncertain<C: Clock>(ctx: &Ctx<'_, C>) -> RunError {
    let chunks = ctx.with_state(|s| {
        (0..s.chunks.len() as u32)
            .filter(|c| matches!(s.phase(*c), crate::state::Phase::Uncertain { .. }))
            .map(|c| c + 1)
            .collect()
    });
    RunError::Uncertain { dir: ctx.dir.to_path_buf(), chunks }
}

/// While rows are absent, the lost import may still be running: look at the first absent
/// row every `settle_interval` (rows land in order) and, when it lands, look at every
/// absent row again; done after `settle_quiet_looks` looks in a row find nothing new.
async fn wait_until_quiet<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: u32,
    matcher: &Matcher,
    rows: &[(u64, Item)],
    looked: &mut Looked,
) -> Result<(), RunError> {
    let policy = &ctx.options.policy;
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
        looked.absent = more.absent;
        looked.unknown.extend(more.unknown);
    }
    Ok(())
}

/// Journals what the look-up found: absent rows are imported once more while the budget
/// allows, else reported.
fn record_looked<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: u32,
    looked: Looked,
    rejected: Vec<RowError>,
    by: &str,
    unknown_note: &str,
) -> Result<(), RunError> {
    let can_mend = ctx.chunk(i).mends < ctx.options.policy.max_mends;
    let mut lost: Vec<LostRow> =
        looked.unknown.iter().map(|&row| LostRow { row, message: unknown_note.to_string() }).collect();
    let retry = if can_mend {
        looked.absent
    } else {
        lost.extend(looked.absent.iter().map(|&row| LostRow {
            row,
            message: "did not land, although it was imported once more: check the platform's logs".into(),
        }));
        Vec::new()
    };
    lost.sort_by_key(|l| l.row);
    ctx.record(Event::Reconciled {
        at: ctx.now(),
        chunk: i,
        landed: looked.landed.len() as u64,
        rejected,
        retry,
        lost,
        by: by.into(),
    })
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

fn first_reason(answer: &Answer) -> &str {
    answer.errors.first().map_or("no reason given", |e| e.message.as_str())
}

/// Looks `rows` up; a row the matcher cannot tell apart is unknown.
async fn look<C: Clock>(
    ctx: &Ctx<'_, C>,
    i: u32,
    matcher: &Matcher,
    rows: &[&(u64, Item)],
) -> Result<Looked, RunError> {
    let items: Vec<&Item> = rows.iter().map(|(_, item)| item).collect();
    let in_flight = ctx.options.policy.lookups_in_flight;
    let found = ctx
        .timed(present(ctx.client, &ctx.app, matcher, &items, in_flight))
        .await?
        .map_err(|source| RunError::Client { chunk: i + 1, source })?;
    let mut looked = Looked::default();
    for ((row, _), f) in rows.iter().zip(found) {
        match f {
            Some(true) => looked.landed.push(*row),
            Some(false) => looked.absent.push(*row),
            None => looked.unknown.push(*row),
        }
    }
    Ok(looked)
}

/// How rows are matched, and the rows of chunk `i`'s current file as items, by source row.
fn rows_as_items<C: Clock>(ctx: &Ctx<'_, C>, i: u32) -> Result<(Matcher, Vec<(u64, Item)>), RunError> {
    let entry = ctx.entry(i);
    let path = ctx.chunk_path(&entry);
    let (header, rows) = blocking(|| read_rows(&path))?;
    let validator = validator(ctx, &header, &path)?;
    let matcher = match ctx.key_column() {
        Some(key) => {
            let f = ctx.schema.field_for_header(key).ok_or_else(|| {
                RunError::Config(format!("--key-column `{key}` names no field of {}", ctx.spec.app))
            })?;
            Matcher::Key(ctx.schema.fields[f].clone())
        }
        None => Matcher::Content(
            validator
                .columns()
                .iter()
                .filter_map(|c| c.field)
                .map(|f| ctx.schema.fields[f].clone())
                .collect(),
        ),
    };
    let items = rows
        .iter()
        .map(|row| {
            let source = entry.source_row(row.number).unwrap_or(0);
            (source, validator.to_item(row).unwrap_or_default())
        })
        .collect();
    Ok((matcher, items))
}

/// The validator of the chunk files (built once per execution).
fn validator<'c, C: Clock>(
    ctx: &'c Ctx<'_, C>,
    header: &Row,
    path: &std::path::Path,
) -> Result<&'c Validator, RunError> {
    if let Some(v) = ctx.validator.get() {
        return Ok(v);
    }
    let options = validate_options(&ctx.spec)?;
    let v = Validator::new(&ctx.schema, header, &options)
        .map_err(|errors| RunError::Header { file: path.into(), errors })?;
    Ok(ctx.validator.get_or_init(|| v))
}

/// The header and every row of a chunk file.
pub(crate) fn read_rows(path: &std::path::Path) -> Result<(Row, Vec<Row>), RunError> {
    let mut reader = elma_import_sheet::open(path, &elma_import_sheet::ReadOptions::default())?;
    let header = reader.header().clone();
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        out.extend(batch);
    }
    Ok((header, out))
}
