//! `elma-import split`: chunk files that each repeat the header, plus `manifest.json`.

use std::path::PathBuf;

use clap::Args;
use elma_import_chunk::ChunkWriter;
use elma_import_sheet::{Format, WriteOptions};
use serde_json::json;

use crate::args::{Global, MapArgs, SourceArgs};
use crate::exit::{self, usage};
use crate::ui;

/// Arguments of `split`.
#[derive(Debug, Args)]
#[command(after_help = "Chunks never break a record; concatenating them gives back the input's rows. \
manifest.json lists each chunk's file, first and last source row, rows, bytes and sha256.

Examples:
  elma-import split contacts.csv -o chunks/ --rows 1000
  elma-import split contacts.xlsx -o chunks/ --rows 1000 --format csv \\
      --json")]
pub struct SplitArgs {
    /// The input.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output directory (created if needed).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Rows per chunk.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub rows: u64,
    /// Chunk format: `xlsx` or `csv` (default: the input's).
    #[arg(long, value_parser = ["xlsx", "csv"])]
    pub format: Option<String>,
    /// Date format for date cells of .xlsx chunks: `ru` or `en`.
    #[arg(long, default_value = "ru", value_parser = ["ru", "en"])]
    pub locale: String,
    /// Column mapping: the chunks carry the mapped header.
    #[command(flatten)]
    pub map: MapArgs,
}

/// Runs `split`.
pub fn run(args: SplitArgs, global: &Global) -> anyhow::Result<u8> {
    if args.rows == 0 {
        return Err(usage("--rows must be at least 1"));
    }
    let map = args.map.column_map()?;
    let mut reader = args.source.open()?;
    let header = map.apply(reader.header()).map_err(usage)?;
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some(_) => Format::Xlsx,
        None => reader.format(),
    };
    std::fs::create_dir_all(&args.output)
        .map_err(|e| usage(format!("cannot create `{}`: {e}", args.output.display())))?;
    let stem = args.source.file.file_stem().and_then(|s| s.to_str()).unwrap_or("chunk").to_string();
    let options = WriteOptions {
        date_format: elma_import_runner::prepare::date_format(&args.locale).to_string(),
        ..WriteOptions::default()
    };
    let mut writer = ChunkWriter::new(&args.output, &stem, &header, args.rows, format, options)?;
    let (_, total) = reader.progress();
    let bar = ui::bar(total, "splitting", true);
    while let Some(batch) = reader.next_batch()? {
        for row in batch.iter().filter(|r| !r.is_blank()) {
            writer.push(row)?;
        }
        bar.set_position(reader.progress().0);
    }
    bar.finish_and_clear();
    let manifest = writer.finish()?;
    let path = manifest.save(&args.output)?;
    if global.json {
        ui::print_json(&json!({
            "file": args.source.file, "output": args.output, "manifest": path,
            "rows": manifest.rows, "chunks": manifest.chunks.len(), "format": format.as_str(),
        }))?;
    } else {
        ui::say(format!(
            "wrote {} chunk(s) of up to {} rows ({} rows in all) and {}",
            manifest.chunks.len(),
            ui::count(args.rows),
            ui::count(manifest.rows),
            path.display()
        ));
    }
    Ok(exit::OK)
}
