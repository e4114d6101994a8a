//! Mend: the rows of a chunk that did not land are written, from the chunk's original
//! file, to a file of their own (`chunk-NNNNN.rest-K.*`), which replaces the chunk's file
//! from here on; the chunk is then uploaded and imported again.

use std::collections::BTreeSet;

use elma_import_client::Clock;

use crate::blocking::blocking;
use crate::ctx::Ctx;
use crate::error::RunError;
use crate::event::{Chunk, Event};

/// Writes chunk `i`'s `rows` (source rows) to a new file and journals the replacement.
pub fn mend<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, rows: &[u64]) -> Result<(), RunError> {
    let wanted: BTreeSet<u64> = rows.iter().copied().collect();
    let attempt = ctx.chunk(i).mends + 1;
    let rest = blocking(|| ctx.files.write_rest(i, attempt, &wanted))?;
    ctx.say(format!(
        "chunk {i}: importing the {} row(s) that did not land once more ({})",
        rest.rows, rest.file
    ));
    ctx.record(Event::Replaced {
        at: ctx.now(),
        chunk: i,
        file: rest.file,
        rows: rest.rows,
        source_ranges: rest.source_ranges,
        imported_before: 0,
        source_errors: Vec::new(),
        sha256: rest.sha256,
    })
}
