//! Zone: a date-time cell has no offset, so the platform reads it in the company's zone,
//! and the run in its own (`--time-zone`). When they differ, the item holds another
//! instant than the run meant. After the first chunk that landed rows with date-times,
//! one of its rows is looked up and the offset the platform stored is compared with the
//! run's: a difference is journaled and said, once per run.

use chrono::DateTime;
use elma_import_client::Clock;
use elma_import_contract::schema::FieldType;
use serde_json::Value;

use crate::blocking::blocking;
use crate::ctx::Ctx;
use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::lookup::Matcher;

/// Compares the offsets after chunk `i` landed, when it is the first to tell.
pub async fn check<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(), RunError> {
    if ctx.read(|s| s.zone_mismatch()) || ctx.zone_checked() {
        return Ok(());
    }
    let dated: Vec<_> = ctx.schema.fields.iter().filter(|f| f.kind == FieldType::Datetime).cloned().collect();
    if dated.is_empty() || ctx.chunk(i).landed == 0 {
        return Ok(());
    }
    let entry = ctx.files.original(i).clone();
    let path = ctx.files.path(&entry);
    let (header, rows) = blocking(|| ctx.files.read(&entry))?;
    let validator = ctx.validator(&header, &path)?;
    let Some(row) = rows
        .iter()
        .map(|r| validator.to_item(r).unwrap_or_default())
        .find(|item| dated.iter().any(|f| item.get(&f.code).is_some_and(|v| written(v).is_some())))
    else {
        return Ok(());
    };
    ctx.mark_zone_checked();
    // Looked up by the key, or by every field but the date-times (which are what may
    // read differently).
    let matcher = match super::settle::matcher(ctx, validator) {
        Matcher::Content(fields) => Matcher::Content(
            fields
                .into_iter()
                .filter(|f| f.kind != FieldType::Datetime && f.kind != FieldType::Date)
                .collect(),
        ),
        key => key,
    };
    let fields = matcher.fields();
    let Ok(found) = ctx.timed(ctx.client.find_items(&ctx.settings.app, &fields, &row)).await? else {
        return Ok(()); // A check, not a step: a failed look-up is no reason to stop.
    };
    let Some(item) = found.first() else { return Ok(()) };
    for f in &dated {
        let (Some(ours), Some(theirs)) =
            (row.get(&f.code).and_then(written), item.get(&f.code).and_then(first_written))
        else {
            continue;
        };
        if ours != theirs && ours.naive_local() == theirs.naive_local() {
            let platform = theirs.offset().to_string();
            let run = format!("{} ({})", ctx.settings.time_zone.describe(), ours.offset());
            ctx.say(format!(
                "the platform stores date-times at {platform}, and this run reads the file in {run}: a cell \
                 `{}` means {} to this run and {} on the platform. If the file's times are in {}, \
                 the items are off by the zones' difference: set the company's time zone, or convert the file",
                ours.naive_local().format("%d.%m.%Y %H:%M"),
                ours.to_rfc3339(),
                theirs.to_rfc3339(),
                ctx.settings.time_zone.describe(),
            ));
            return ctx.record(Event::ZoneMismatch { at: ctx.now(), platform, run, field: f.name.clone() });
        }
    }
    Ok(())
}

fn written(v: &Value) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(v.as_str()?.trim()).ok()
}

fn first_written(v: &Value) -> Option<DateTime<chrono::FixedOffset>> {
    match v {
        Value::Array(values) => values.first().and_then(written),
        other => written(other),
    }
}
