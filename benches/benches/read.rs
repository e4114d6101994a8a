//! Read throughput: .csv rows/s with the sheet reader; .xlsx rows/s with the sheet
//! reader against the bare calamine cell reader on the same file, for a typed
//! shared-strings .xlsx (as Excel saves it) and an all-text inline-strings one.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use elma_import_benches::{calamine_cells, read_only, sample_csv, sample_xlsx, sample_xlsx_typed};

const CSV_ROWS: u64 = 200_000;
const XLSX_ROWS: u64 = 100_000;

fn read(c: &mut Criterion) {
    let csv = sample_csv(CSV_ROWS).expect("generate the .csv sample");
    // As Excel saves it (shared strings, typed numbers and dates) and as the sheet
    // crate writes it (every cell an inline string).
    let typed = sample_xlsx_typed(XLSX_ROWS).expect("generate the typed .xlsx sample");
    let xlsx = sample_xlsx(XLSX_ROWS).expect("generate the .xlsx sample");

    let mut group = c.benchmark_group("read");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(CSV_ROWS));
    group.bench_function("csv_200k", |b| b.iter(|| black_box(read_only(&csv).expect("read"))));
    group.throughput(Throughput::Elements(XLSX_ROWS));
    group.bench_function("xlsx_typed_100k", |b| b.iter(|| black_box(read_only(&typed).expect("read"))));
    group.bench_function("xlsx_typed_100k_bare_calamine", |b| {
        b.iter(|| black_box(calamine_cells(&typed).expect("read")))
    });
    group.bench_function("xlsx_inline_100k", |b| b.iter(|| black_box(read_only(&xlsx).expect("read"))));
    group.bench_function("xlsx_inline_100k_bare_calamine", |b| {
        b.iter(|| black_box(calamine_cells(&xlsx).expect("read")))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = read
}
criterion_main!(benches);
