//! Validation throughput: `check_rows` (all cores) and a sequential `check_row` loop
//! on rows already in memory; read+validate end to end for .csv and .xlsx, beside the
//! bare calamine reader the .xlsx target is relative to.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use elma_import_benches::{
    calamine_cells, contacts_schema, read_all, read_validate, sample_csv, sample_xlsx_typed, validator,
};
use elma_import_sheet::DEFAULT_BATCH_ROWS;

const CSV_ROWS: u64 = 200_000;
const XLSX_ROWS: u64 = 100_000;

fn validate(c: &mut Criterion) {
    let schema = contacts_schema().expect("schema");
    let csv = sample_csv(CSV_ROWS).expect("generate the .csv sample");
    let xlsx = sample_xlsx_typed(XLSX_ROWS).expect("generate the .xlsx sample");
    let (header, rows) = read_all(&csv).expect("read the sample");
    let batches: Vec<Vec<_>> = rows.chunks(DEFAULT_BATCH_ROWS).map(<[_]>::to_vec).collect();
    drop(rows);
    let v = validator(&schema, &header).expect("validator");

    let mut group = c.benchmark_group("validate");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(CSV_ROWS));
    group.bench_function("check_rows_parallel", |b| {
        b.iter(|| batches.iter().map(|batch| v.check_rows(batch).len()).sum::<usize>())
    });
    group.bench_function("check_row_sequential", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            let mut errors = 0;
            for row in batches.iter().flatten() {
                v.check_row(row, &mut out);
                errors += out.len();
                out.clear();
            }
            errors
        })
    });
    group.bench_function("csv_read_validate", |b| {
        b.iter(|| black_box(read_validate(&csv, &schema).expect("run")))
    });
    group.throughput(Throughput::Elements(XLSX_ROWS));
    group.bench_function("xlsx_read_validate", |b| {
        b.iter(|| black_box(read_validate(&xlsx, &schema).expect("run")))
    });
    group.bench_function("xlsx_bare_calamine", |b| b.iter(|| black_box(calamine_cells(&xlsx).expect("run"))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = validate
}
criterion_main!(benches);
