//! The integration tests of this crate, as one test binary: each file in `tests/` is a
//! module here, so the crate's tests link once (`cargo test -p elma-import-validate --test validate`).

mod cells;
mod platform_values;
mod rows;
