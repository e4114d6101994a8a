//! Baseline: before a run's first start, the items already in the app that match its rows
//! (by the key column, or by content) are recorded, so no later look-up counts them as
//! landed (an earlier import of some rows by other means, say).
//!
//! The cheaper of two ways: each row looked up (one request or more per row), or the
//! app's items listed page by page (one request per 100 items) and compared with the
//! rows. Memory stays flat in the run's size: rows are held as one short text each (the
//! key's comparable form, or a row's first text), and full rows a chunk at a time.

use std::collections::{BTreeSet, HashMap, HashSet};

use elma_import_client::{Clock, ListRequest};
use elma_import_contract::values;
use elma_import_contract::wire::MAX_LIST_SIZE;

use crate::blocking::blocking;
use crate::ctx::Ctx;
use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::lookup::{matches, Item, Matcher};

/// Looks the run's rows up among the app's items and records the baseline.
pub async fn take<C: Clock>(ctx: &Ctx<'_, C>) -> Result<(), RunError> {
    let first_chunk = Chunk(0);
    let client_err = |error| RunError::Client { chunk: first_chunk, error };
    let probe = ListRequest { active: true, from: 0, size: 1, filter: None };
    let first = ctx.timed(ctx.client.list_items(&ctx.settings.app, &probe)).await?.map_err(client_err)?;
    if first.total == 0 && first.result.is_empty() {
        return ctx.record(Event::Baseline { at: ctx.now(), items: Vec::new() });
    }
    let pages = first.total.div_ceil(u64::from(MAX_LIST_SIZE)).max(1);
    let rows = ctx.files.rows();
    ctx.say(format!(
        "the app holds {} item(s): looking for those that match this run's rows before the first import, \
         so that none is taken for a row of this run ({})",
        first.total,
        if pages < rows {
            format!("{pages} page(s) of the app's items")
        } else {
            format!("{rows} look-up(s)")
        }
    ));
    let ids = if pages < rows { by_listing(ctx).await? } else { by_rows(ctx).await? };
    if !ids.is_empty() {
        if !ctx.settings.again {
            // Nothing is recorded: a resume looks again, and `--again` goes on.
            return Err(RunError::AlreadyInApp {
                app: ctx.settings.app.to_string(),
                items: ids.len() as u64,
                by: match &ctx.settings.key {
                    Some(key) => format!("by the key column `{}`", key.named),
                    None => "by content".into(),
                },
            });
        }
        ctx.say(format!(
            "{} item(s) already in the app match rows of this run: as --again asks, those rows are \
             imported a second time, and the items already there are not taken for this run's",
            ids.len()
        ));
    }
    ctx.record(Event::Baseline { at: ctx.now(), items: ids.into_iter().collect() })
}

/// The rows of chunk `i`'s current file as items, and the matcher of the run.
fn chunk_items<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(Matcher, Vec<Item>), RunError> {
    let entry = ctx.entry(i);
    let path = ctx.files.path(&entry);
    let (header, rows) = blocking(|| ctx.files.read(&entry))?;
    let validator = ctx.validator(&header, &path)?;
    let items = rows.iter().map(|row| validator.to_item(row).unwrap_or_default()).collect();
    Ok((super::settle::matcher(ctx, validator), items))
}

/// Each row looked up, a chunk at a time.
async fn by_rows<C: Clock>(ctx: &Ctx<'_, C>) -> Result<BTreeSet<String>, RunError> {
    let mut out = BTreeSet::new();
    for i in ctx.files.all() {
        let (matcher, items) = chunk_items(ctx, i)?;
        let refs: Vec<&Item> = items.iter().collect();
        let in_flight = ctx.settings.policy.lookups_in_flight;
        let found = ctx
            .timed(matches(ctx.client, &ctx.settings.app, &matcher, &refs, in_flight))
            .await?
            .map_err(|error| RunError::Client { chunk: i, error })?;
        out.extend(found.into_iter().flatten().flatten());
    }
    Ok(out)
}

/// The app listed once; items that could match a row (same hint) kept, then compared with
/// the rows exactly, a chunk at a time.
async fn by_listing<C: Clock>(ctx: &Ctx<'_, C>) -> Result<BTreeSet<String>, RunError> {
    let mut hints: HashSet<String> = HashSet::new();
    let mut unhinted = false;
    let mut matcher = None;
    for i in ctx.files.all() {
        let (m, items) = chunk_items(ctx, i)?;
        for item in items.iter().filter(|r| m.tells(r)) {
            match m.hint(item) {
                Some(h) => {
                    hints.insert(h);
                }
                None => unhinted = true,
            }
        }
        matcher = Some(m);
    }
    let Some(matcher) = matcher else { return Ok(BTreeSet::new()) };
    let mut candidates: HashMap<Option<String>, Vec<Item>> = HashMap::new();
    let mut from = 0u64;
    loop {
        let request = ListRequest { active: true, from, size: MAX_LIST_SIZE, filter: None };
        let page = ctx
            .timed(ctx.client.list_items(&ctx.settings.app, &request))
            .await?
            .map_err(|error| RunError::Client { chunk: Chunk(0), error })?;
        let got = page.result.len() as u64;
        for item in page.result {
            let hint = matcher.hint(&item);
            if unhinted || hint.as_ref().is_some_and(|h| hints.contains(h)) {
                candidates.entry(hint).or_default().push(item);
            }
        }
        from += got;
        if got == 0
            || (page.total > 0 && from >= page.total)
            || (page.total == 0 && got < u64::from(MAX_LIST_SIZE))
        {
            break;
        }
    }
    let fields = matcher.fields();
    let mut out = BTreeSet::new();
    for i in ctx.files.all() {
        let (_, rows) = chunk_items(ctx, i)?;
        for row in rows.iter().filter(|r| matcher.tells(r)) {
            let hint = matcher.hint(row);
            let pool: Vec<&Item> = if unhinted {
                candidates.values().flatten().collect()
            } else {
                candidates.get(&hint).into_iter().flatten().collect()
            };
            for item in pool {
                if values::item_matches(&fields, row, item) {
                    out.extend(item.get("__id").and_then(|v| v.as_str()).map(str::to_ascii_lowercase));
                }
            }
        }
    }
    Ok(out)
}
