//! The integration tests of this crate, as one test binary: each file in `tests/` is a
//! module here, so the crate's tests link once (`cargo test -p elma-import-sheet --test sheet`).

mod common;
mod csv_parallel;
mod csv_raw;
mod read_csv;
mod read_xlsx;
mod roundtrip;
mod write_atomic;
mod write_full_disk;
mod xlsx_engines;
