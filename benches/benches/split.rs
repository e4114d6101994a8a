//! Chunk writing: `ChunkWriter` writing 1,000-row .xlsx and .csv chunk files (each
//! hashed for the manifest) from rows already in memory.

mod common;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use elma_import_benches::{cells, read_all, sample_csv, write_chunks};
use elma_import_sheet::Format;

const ROWS: u64 = 20_000;

fn split(c: &mut Criterion) {
    let csv = sample_csv(ROWS).expect("generate the .csv sample");
    let (header, rows) = read_all(&csv).expect("read the sample");
    let dir = tempfile::tempdir().expect("temporary directory");

    let mut group = c.benchmark_group("split");
    group.sampling_mode(SamplingMode::Flat);
    // Throughput in cells: the figure compared with Python's XlsxWriter.
    group.throughput(Throughput::Elements(cells(&rows)));
    group.bench_function("xlsx_chunks_1000_rows", |b| {
        b.iter(|| {
            write_chunks(&dir.path().join("xlsx"), &header, &rows, Format::Xlsx).expect("write").chunks.len()
        })
    });
    group.bench_function("csv_chunks_1000_rows", |b| {
        b.iter(|| {
            write_chunks(&dir.path().join("csv"), &header, &rows, Format::Csv).expect("write").chunks.len()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = split
}
criterion_main!(benches);
