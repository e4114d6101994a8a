//! `elma-import split`: chunk files that each repeat the header, plus `manifest.json`.

use std::path::{Path, PathBuf};

use clap::Args;
use elma_import_chunk::{ChunkWriter, Folder};
use elma_import_sheet::{Format, RawCsv, WriteOptions};
use elma_import_validate::ColumnMap;
use serde_json::json;

use crate::exit::{self, usage};
use crate::opts::{Global, MapArgs, SourceArgs};
use crate::ui;

/// Arguments of `split`.
#[derive(Debug, Args)]
#[command(after_help = "Chunks never break a record; concatenating them gives back the input's rows. \
A .csv split into .csv chunks copies each record as the file writes it (its quotes kept, \
converted to UTF-8 from another encoding) when its delimiter is `,`; blank rows are left out. \
manifest.json lists each chunk's file, first and last source row, rows, bytes and sha256. \
The folder ends with this split's chunks and manifest alone: files an earlier split left \
there (listed by its manifest, or named as these chunks are) are removed once the new \
manifest is saved; a split that fails leaves the folder as it was; a folder holding anything \
else is refused, and nothing is written.

Examples:
  elma-import split contacts.csv -o chunks/ --rows-per-chunk 1000
  elma-import split contacts.xlsx -o chunks/ --rows-per-chunk 1000 \\
      --chunk-format csv --json")]
pub struct SplitArgs {
    /// The input.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output directory (created if needed).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Rows per chunk (as `run --rows-per-chunk`; `--rows` is its old name).
    #[arg(long = "rows-per-chunk", alias = "rows", default_value_t = 1000, value_name = "N")]
    pub rows: u64,
    /// Chunk format: `xlsx` or `csv` (default: the input's; as `run --chunk-format`,
    /// `--format` is its old name).
    #[arg(long = "chunk-format", alias = "format", value_parser = ["xlsx", "csv"], value_name = "FORMAT")]
    pub format: Option<String>,
    /// Date format for date cells of .xlsx chunks: `ru` or `en`.
    #[arg(long, default_value = "ru", value_parser = crate::opts::locale_parser())]
    pub locale: elma_import_contract::Locale,
    /// Column mapping: the chunks carry the mapped header.
    #[command(flatten)]
    pub map: MapArgs,
}

/// Runs `split`.
pub fn run(args: SplitArgs, global: &Global) -> anyhow::Result<u8> {
    if args.rows == 0 {
        return Err(usage("--rows-per-chunk must be at least 1"));
    }
    let map = args.map.column_map()?;
    let input = Format::from_path(&args.source.file);
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some(_) => Format::Xlsx,
        None => input.unwrap_or(Format::Xlsx),
    };
    if format == Format::Csv && input == Some(Format::Csv) {
        let raw = elma_import_sheet::open_raw_csv(&args.source.file, &args.source.read_options())?;
        // Records are copied as they are only when they already use the chunks'
        // delimiter; else they are decoded and written again.
        if raw.delimiter() == WriteOptions::default().delimiter {
            return split_raw(&args, global, raw, &map);
        }
    }
    let mut reader = args.source.open()?;
    let header = map.apply(reader.header()).map_err(usage)?;
    let stem = stem(&args);
    let folder = claim(&args, &stem)?;
    let options = WriteOptions {
        date_format: args.locale.excel_datetime_format().to_string(),
        ..WriteOptions::default()
    };
    let mut writer =
        ChunkWriter::new(&folder.staging(), &stem, &header, args.rows, format, options)?.durable(false);
    let (_, total) = reader.progress();
    let bar = ui::bar(total, "splitting", true);
    while let Some(batch) = reader.next_batch()? {
        for row in batch.iter().filter(|r| !r.is_blank()) {
            writer.push(row)?;
        }
        bar.set_position(reader.progress().0);
        reader.recycle(batch);
    }
    bar.finish_and_clear();
    report(&args, global, writer, folder, format)
}

/// `split` of a .csv into .csv chunks: each record's bytes copied as the file holds
/// them (converted to UTF-8 from another encoding), the header written once per chunk.
fn split_raw(args: &SplitArgs, global: &Global, mut raw: RawCsv, map: &ColumnMap) -> anyhow::Result<u8> {
    if raw.header().is_blank() {
        let file = args.source.file.display();
        let what = if raw.progress().1 == 0 {
            format!("`{file}` is empty (0 bytes): there is no header row")
        } else {
            format!("`{file}`: row 1 is empty: there is no header row")
        };
        return Err(exit::coded(
            exit::DATA,
            anyhow::anyhow!(
                "{what}; row 1 must name the app's fields, as `elma-import template` writes them"
            ),
        ));
    }
    let header = map.apply(raw.header()).map_err(usage)?;
    let folder = claim(args, &stem(args))?;
    let mut writer = ChunkWriter::new(
        &folder.staging(),
        &stem(args),
        &header,
        args.rows,
        Format::Csv,
        WriteOptions::default(),
    )?
    .durable(false);
    let (_, total) = raw.progress();
    let bar = ui::bar(total, "splitting", true);
    let mut record = Vec::with_capacity(4096);
    let mut count = 0u32;
    while let Some(number) = raw.next_record(&mut record)? {
        writer.push_raw(number, &record)?;
        record.clear();
        count = count.wrapping_add(1);
        if count % 8192 == 0 {
            bar.set_position(raw.progress().0);
        }
    }
    bar.finish_and_clear();
    report(args, global, writer, folder, Format::Csv)
}

/// The output folder claimed for this split ([`Folder::claim`]), once it is known not to
/// be a run's: a run's `chunks/` holds a manifest too, and a split there would replace the
/// chunks the run's journal counts on.
fn claim(args: &SplitArgs, stem: &str) -> anyhow::Result<Folder> {
    let dir = &args.output;
    let run =
        [Some(dir.as_path()), dir.parent()].into_iter().flatten().find(|d| d.join("run.json").is_file());
    if let Some(run) = run {
        return Err(usage(format!(
            "`{}` is a run's folder (`{}` holds its run.json): its chunks belong to that run; split into another folder",
            dir.display(),
            if run.as_os_str().is_empty() { Path::new(".") } else { run }.display()
        )));
    }
    Ok(Folder::claim(dir, stem)?)
}

/// The chunk files' name stem: the input's.
fn stem(args: &SplitArgs) -> String {
    args.source.file.file_stem().and_then(|s| s.to_str()).unwrap_or("chunk").to_string()
}

/// Finishes the chunks, moves them into place under their manifest, clears what earlier
/// splits left in the folder and says what was written.
fn report(
    args: &SplitArgs,
    global: &Global,
    writer: ChunkWriter,
    folder: Folder,
    format: Format,
) -> anyhow::Result<u8> {
    let manifest = writer.finish()?;
    let (path, removed) = folder.finish(&manifest)?;
    if !removed.is_empty() && !global.json {
        ui::say(format!(
            "removed {} file(s) an earlier split left in `{}` that this one does not list ({})",
            ui::count(removed.len() as u64),
            args.output.display(),
            ui::some_names(&removed, 3)
        ));
    }
    if global.json {
        ui::print_json(&json!({
            "file": args.source.file, "output": args.output, "manifest": path,
            "rows": manifest.rows, "chunks": manifest.chunks.len(), "format": format.as_str(),
            "removed": removed,
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
