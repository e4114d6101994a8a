//! `measure`: the performance figures of docs/architecture.md ("Performance targets") on
//! generated `crm.contacts` samples, printed as JSON.
//!
//! ```text
//! cargo run --release -p elma-import-benches --bin measure -- [--rows N] [--chunk-rows M] [--repeat R]
//!     report (default N = 1,000,000, M = 200,000, R = 3; best of R runs):
//!     .csv read+validate rows/s, .xlsx read+validate rows/s vs bare calamine and the
//!     ratio (on a typed, shared-strings .xlsx as Excel saves it, and on an all-text
//!     inline-strings one as the sheet crate writes it), peak RSS of reading+validating
//!     the N-row typed .xlsx (in a child process),
//!     cells/s writing 1,000-row .xlsx chunks of M rows.
//! measure gen --rows N [--bad-percent P] [--planted FILE.csv] [--csv FILE.csv] [--xlsx FILE.xlsx [--inline]]
//!     write the sample files (for benches/compare.sh); the .xlsx is typed with shared
//!     strings as Excel saves it, or all text in inline strings with --inline.
//! measure read FILE [--validate [--sequential]] [--bare] [--bare-csv]
//!     time one pass of the sheet reader (or read+validate, with check_rows or a
//!     sequential check_row loop, or bare calamine, or the bare csv crate on one thread:
//!     the parsing limit `validate` is measured against).
//! measure peak-rss FILE [--bare]
//!     read+validate FILE (or only run the bare calamine reader) and print this
//!     process's peak RSS (VmHWM).
//! ```
//!
//! Inputs are cached in `benches/out/data` (or `$ELMA_BENCH_DATA`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use elma_import_benches::{
    calamine_cells, contacts_schema, convert, cpu_seconds, csv_bare, peak_rss_bytes, read_only,
    read_validate, read_validate_sequential, sample_csv, sample_xlsx, sample_xlsx_typed, write_chunks,
    write_sample_csv, write_typed_xlsx, BenchResult, Counts,
};
use elma_import_contract::schema::AppSchema;
use elma_import_sheet::{Format, ReadOptions};
use serde_json::{json, Value};

struct Args {
    words: Vec<String>,
}

impl Args {
    fn value(&self, name: &str) -> BenchResult<Option<String>> {
        match self.words.iter().position(|w| w == name) {
            Some(i) => match self.words.get(i + 1) {
                Some(v) => Ok(Some(v.clone())),
                None => Err(format!("`{name}` needs a value").into()),
            },
            None => Ok(None),
        }
    }

    fn number(&self, name: &str, default: u64) -> BenchResult<u64> {
        match self.value(name)? {
            Some(v) => {
                v.replace('_', "").parse().map_err(|_| format!("`{name} {v}`: not a whole number").into())
            }
            None => Ok(default),
        }
    }

    fn flag(&self, name: &str) -> bool {
        self.words.iter().any(|w| w == name)
    }

    /// The first word that is neither an option nor an option's value, after `skip` words.
    fn positional(&self, skip: usize) -> Option<&str> {
        let mut i = skip;
        while i < self.words.len() {
            let w = &self.words[i];
            if ["--validate", "--bare", "--bare-csv", "--inline", "--sequential"].contains(&w.as_str()) {
                i += 1;
            } else if w.starts_with("--") {
                i += 2;
            } else {
                return Some(w);
            }
        }
        None
    }
}

/// Best (shortest) of `repeat` timed runs of `run`.
fn best_of(repeat: u64, mut run: impl FnMut() -> BenchResult<Counts>) -> BenchResult<(Counts, f64)> {
    let mut best: Option<(Counts, f64)> = None;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let counts = run()?;
        let took = started.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|(_, b)| took < *b) {
            best = Some((counts, took));
        }
    }
    best.ok_or_else(|| "no run".into())
}

fn rate(n: u64, seconds: f64) -> f64 {
    (n as f64 / seconds.max(1e-9)).round()
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn report(args: &Args) -> BenchResult<Value> {
    let rows = args.number("--rows", 1_000_000)?;
    let chunk_rows = args.number("--chunk-rows", 200_000)?;
    let repeat = args.number("--repeat", 3)?;
    let schema = contacts_schema()?;
    eprintln!("preparing {rows}-row samples in {} ...", elma_import_benches::data_dir().display());
    let csv = sample_csv(rows)?;
    let xlsx = sample_xlsx(rows)?;

    eprintln!("csv read+validate ...");
    let (c, csv_secs) = best_of(repeat, || read_validate(&csv, &schema))?;
    let (_, csv_read_secs) = best_of(repeat, || read_only(&csv))?;

    let typed = sample_xlsx_typed(rows)?;
    eprintln!("xlsx (typed, shared strings) read+validate and bare calamine ...");
    let xlsx_typed = xlsx_figures(&typed, &schema, repeat)?;
    eprintln!("xlsx (all text, inline strings) read+validate and bare calamine ...");
    let xlsx_inline = xlsx_figures(&xlsx, &schema, repeat)?;

    eprintln!("peak RSS of read+validate of the .xlsx files (child processes) ...");
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).arg("peak-rss").arg(&typed).output()?;
    if !out.status.success() {
        return Err(format!("peak-rss child failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let rss: Value = serde_json::from_slice(&out.stdout)?;
    let bare_out =
        Command::new(std::env::current_exe()?).arg("peak-rss").arg(&typed).arg("--bare").output()?;
    let bare_rss: Value = serde_json::from_slice(&bare_out.stdout).unwrap_or(Value::Null);
    let inline_out = Command::new(std::env::current_exe()?).arg("peak-rss").arg(&xlsx).output()?;
    let inline_rss: Value = serde_json::from_slice(&inline_out.stdout).unwrap_or(Value::Null);
    let peak = rss["peak_rss_bytes"].as_u64().unwrap_or(0);

    eprintln!("writing 1,000-row .xlsx chunks of {chunk_rows} rows ...");
    let chunk_csv = sample_csv(chunk_rows)?;
    let (header, data) = elma_import_benches::read_all(&chunk_csv)?;
    let cells = elma_import_benches::cells(&data);
    let dir = elma_import_benches::data_dir().join(format!("chunks-{}", std::process::id()));
    let mut best: Option<(f64, f64, usize)> = None;
    for _ in 0..repeat.max(1) {
        let cpu0 = cpu_seconds().unwrap_or(0.0);
        let started = Instant::now();
        let manifest = write_chunks(&dir, &header, &data, Format::Xlsx)?;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds().unwrap_or(0.0) - cpu0;
        if best.is_none_or(|(w, _, _)| wall < w) {
            best = Some((wall, cpu, manifest.chunks.len()));
        }
    }
    std::fs::remove_dir_all(&dir)?;
    let (chunk_wall, chunk_cpu, chunks) = best.ok_or("no run")?;

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let csv_rate = rate(c.rows, csv_secs);
    Ok(json!({
        "rows": rows,
        "cores": cores,
        "repeat": repeat,
        "csv": {
            "file": csv, "bytes": file_size(&csv), "errors": c.errors,
            "read_validate_seconds": csv_secs,
            "read_validate_rows_per_s": csv_rate,
            "read_only_rows_per_s": rate(c.rows, csv_read_secs),
            "target_rows_per_s": 1_000_000,
            "meets_target": csv_rate >= 1_000_000.0,
        },
        "xlsx": xlsx_typed,
        "xlsx_inline_text": xlsx_inline,
        "xlsx_peak_rss": {
            "rows": rss["rows"],
            "peak_rss_bytes": peak,
            "peak_rss_mib": (peak as f64 / 1048576.0).round(),
            "bare_calamine_peak_rss_mib": (bare_rss["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0).round(),
            "inline_xlsx_peak_rss_mib": (inline_rss["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0).round(),
            "target_mib": 200,
            "meets_target": peak > 0 && peak <= 200 * 1024 * 1024,
        },
        "xlsx_chunks": {
            "rows": data.len(), "cells": cells, "chunks": chunks, "rows_per_chunk": 1000,
            "seconds": chunk_wall, "cpu_seconds": chunk_cpu,
            "cells_per_s": rate(cells, chunk_wall),
            "cells_per_cpu_s": rate(cells, chunk_cpu),
        },
    }))
}

/// .xlsx read+validate against bare calamine on one file.
fn xlsx_figures(xlsx: &Path, schema: &AppSchema, repeat: u64) -> BenchResult<Value> {
    let (x, xlsx_secs) = best_of(repeat, || read_validate(xlsx, schema))?;
    let (_, xlsx_seq_secs) = best_of(repeat, || read_validate_sequential(xlsx, schema))?;
    let (_, xlsx_read_secs) = best_of(repeat, || read_only(xlsx))?;
    let (bare, bare_secs) = best_of(repeat, || calamine_cells(xlsx))?;
    if bare.rows != x.rows {
        return Err(format!("calamine saw {} rows, the sheet reader {}", bare.rows, x.rows).into());
    }
    let xlsx_rate = rate(x.rows, xlsx_secs);
    let bare_rate = rate(bare.rows, bare_secs);
    Ok(json!({
        "file": xlsx, "bytes": file_size(xlsx), "errors": x.errors,
        "read_validate_seconds": xlsx_secs,
        "read_validate_rows_per_s": xlsx_rate,
        "read_validate_sequential_rows_per_s": rate(x.rows, xlsx_seq_secs),
        "read_only_rows_per_s": rate(x.rows, xlsx_read_secs),
        "bare_calamine_seconds": bare_secs,
        "bare_calamine_rows_per_s": bare_rate,
        "bare_calamine_cells_per_s": rate(bare.cells, bare_secs),
        "ratio": (xlsx_rate / bare_rate.max(1.0) * 1000.0).round() / 1000.0,
        "target_ratio": 0.9,
        "meets_target": xlsx_rate >= 0.9 * bare_rate,
    }))
}

fn gen(args: &Args) -> BenchResult<Value> {
    let rows = args.number("--rows", 200_000)?;
    let csv = args.value("--csv")?.map(PathBuf::from);
    let xlsx = args.value("--xlsx")?.map(PathBuf::from);
    if csv.is_none() && xlsx.is_none() {
        return Err("gen: name --csv FILE and/or --xlsx FILE".into());
    }
    // The .xlsx is made from a .csv: the one asked for, or a temporary one.
    let (csv_path, temporary) = match &csv {
        Some(p) => (p.clone(), false),
        None => (std::env::temp_dir().join(format!("measure-gen-{}.csv", std::process::id())), true),
    };
    let info = match args.value("--bad-percent")? {
        Some(p) => {
            let options = elma_import_template::sample::SampleOptions {
                rows,
                bad_share: p.parse::<f64>()? / 100.0,
                seed: 7,
                locale: elma_import_template::Locale::Ru,
            };
            elma_import_template::sample::write_csv(&contacts_schema()?, &csv_path, &options)?
        }
        None => write_sample_csv(&csv_path, rows)?,
    };
    if let Some(planted) = args.value("--planted")? {
        // Every planted bad cell as `row,column,value`, columns as letters: the same
        // shape as the first, second and fourth columns of `validate --errors`.
        let mut w = csv::Writer::from_path(planted)?;
        w.write_record(["row", "column", "value"])?;
        for p in &info.planted {
            w.write_record([
                p.row.to_string(),
                elma_import_sheet::column_letters(p.column),
                p.value.clone(),
            ])?;
        }
        w.flush()?;
    }
    if let Some(x) = &xlsx {
        if args.flag("--inline") {
            convert(&csv_path, x, Format::Xlsx)?;
        } else {
            write_typed_xlsx(&csv_path, x)?;
        }
    }
    if temporary {
        std::fs::remove_file(&csv_path)?;
    }
    Ok(json!({"rows": rows, "planted_errors": info.planted.len(), "csv": csv, "xlsx": xlsx}))
}

fn read(args: &Args) -> BenchResult<Value> {
    let file = PathBuf::from(args.positional(1).ok_or("read: name the FILE")?);
    let cpu0 = cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    let (what, counts) = if args.flag("--bare-csv") {
        ("bare csv crate, one thread, ByteRecord", csv_bare(&file)?)
    } else if args.flag("--bare") {
        ("bare calamine cell reader", calamine_cells(&file)?)
    } else if args.flag("--validate") && args.flag("--sequential") {
        ("sheet reader + sequential check_row", read_validate_sequential(&file, &contacts_schema()?)?)
    } else if args.flag("--validate") {
        ("sheet reader + validator", read_validate(&file, &contacts_schema()?)?)
    } else {
        ("sheet reader", read_only(&file)?)
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu0;
    Ok(json!({
        "file": file, "what": what, "rows": counts.rows, "cells": counts.cells, "errors": counts.errors,
        "seconds": seconds, "cpu_seconds": cpu,
        "rows_per_s": rate(counts.rows, seconds), "cells_per_s": rate(counts.cells, seconds),
    }))
}

fn peak_rss(args: &Args) -> BenchResult<Value> {
    let file = PathBuf::from(args.positional(1).ok_or("peak-rss: name the FILE")?);
    let before = peak_rss_bytes().unwrap_or(0);
    // Make sure the file opens before the run, so the error names the file.
    drop(elma_import_sheet::open(&file, &ReadOptions::default())?);
    let counts =
        if args.flag("--bare") { calamine_cells(&file)? } else { read_validate(&file, &contacts_schema()?)? };
    Ok(json!({
        "file": file, "rows": counts.rows, "errors": counts.errors,
        "peak_rss_bytes": peak_rss_bytes().unwrap_or(0), "peak_rss_bytes_at_start": before,
    }))
}

fn main() {
    let args = Args { words: std::env::args().skip(1).collect() };
    let result = match args.words.first().map(String::as_str) {
        Some("gen") => gen(&args),
        Some("read") => read(&args),
        Some("peak-rss") => peak_rss(&args),
        Some("report") => report(&Args { words: args.words[1..].to_vec() }),
        Some("-h" | "--help") => {
            println!("{}", HELP);
            return;
        }
        _ => report(&args),
    };
    match result.and_then(|v| Ok(serde_json::to_string_pretty(&v)?)) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("measure: {e}");
            std::process::exit(2);
        }
    }
}

const HELP: &str = "measure: performance figures of elma-import as JSON

  measure [report] [--rows N] [--chunk-rows M] [--repeat R]   (defaults 1000000, 200000, 3)
  measure gen --rows N [--bad-percent P] [--planted FILE.csv] [--csv FILE.csv] [--xlsx FILE.xlsx [--inline]]
  measure read FILE [--validate [--sequential] | --bare | --bare-csv]
  measure peak-rss FILE [--bare]

Samples are cached in benches/out/data (or $ELMA_BENCH_DATA).";
