//! Mend: the rows of a chunk that did not land are written, from the chunk's original
//! file, to a file of their own (`chunk-NNNNN.rest-K.xlsx`), which replaces the chunk's
//! file from here on; the chunk is then uploaded and imported again.

use std::collections::BTreeSet;

use elma_import_client::Clock;

use crate::error::RunError;
use crate::event::Event;
use crate::prepare::{chunks_dir, date_format};
use crate::run::{blocking, Ctx};
use crate::step::settle::read_rows;

/// Writes chunk `i`'s `rows` (source rows) to a new file and journals the replacement.
pub fn mend<C: Clock>(ctx: &Ctx<'_, C>, i: u32, rows: &[u64]) -> Result<(), RunError> {
    let original = &ctx.manifest.chunks[i as usize];
    let wanted: BTreeSet<u64> = rows.iter().copied().collect();
    let attempt = ctx.chunk(i).mends + 1;
    let format = ctx.spec.chunk_format();
    let stem = original.file.trim_end_matches(".xlsx").trim_end_matches(".csv");
    let file = format!("{stem}.rest-{attempt}.{}", format.as_str());
    let out = chunks_dir(ctx.dir).join(&file);
    let ranges = blocking(|| -> Result<Vec<[u64; 2]>, RunError> {
        let (header, all) = read_rows(&ctx.chunk_path(original))?;
        let options = elma_import_sheet::WriteOptions {
            date_format: date_format(&ctx.spec.locale).to_string(),
            ..Default::default()
        };
        let mut writer = elma_import_sheet::create(&out, format, &options)?;
        writer.write_row(&header)?;
        let mut ranges: Vec<[u64; 2]> = Vec::new();
        let mut written = 0u64;
        for row in &all {
            let Some(source) = original.source_row(row.number).filter(|s| wanted.contains(s)) else {
                continue;
            };
            match ranges.last_mut() {
                Some(r) if r[1] + 1 == source => r[1] = source,
                _ => ranges.push([source, source]),
            }
            let mut renumbered = row.clone();
            renumbered.number = written + 2;
            writer.write_row(&renumbered)?;
            written += 1;
        }
        writer.finish()?;
        Ok(ranges)
    })?;
    let count = ranges.iter().map(|r| r[1] - r[0] + 1).sum();
    ctx.say(format!("chunk {}: importing the {count} row(s) that did not land once more ({file})", i + 1));
    ctx.record(Event::Replaced {
        at: ctx.now(),
        chunk: i,
        file,
        rows: count,
        source_ranges: ranges,
        imported_before: 0,
        source_errors: Vec::new(),
    })
}
