//! Reads an .xlsx with both engines and prints rows/s and a digest of the cells, so
//! that speed and sameness can be checked on big files:
//! `cargo run --release -p elma-import-sheet --example xlsx_engines -- FILE [calamine|streaming]`.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Instant;

use elma_import_sheet::testing::{open_xlsx_with, XlsxEngine};
use elma_import_sheet::ReadOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: xlsx_engines FILE [calamine|streaming]")?);
    let engines = match args.next().as_deref() {
        Some("calamine") => vec![XlsxEngine::Calamine],
        Some("streaming") => vec![XlsxEngine::Streaming],
        _ => vec![XlsxEngine::Calamine, XlsxEngine::Streaming],
    };
    for engine in engines {
        let started = Instant::now();
        let mut reader = open_xlsx_with(&path, &ReadOptions::default(), engine)?;
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        let (mut rows, mut cells) = (0u64, 0u64);
        while let Some(batch) = reader.next_batch()? {
            for row in &batch {
                rows += 1;
                row.number.hash(&mut digest);
                for cell in row.iter() {
                    cells += 1;
                    (format!("{:?}", cell.kind), cell.text, cell.number.to_bits()).hash(&mut digest);
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{engine:?}: {rows} rows, {cells} cells in {seconds:.2} s = {:.0} rows/s; digest {:016x}",
            rows as f64 / seconds,
            digest.finish()
        );
    }
    Ok(())
}
