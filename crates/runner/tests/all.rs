//! The integration tests of this crate, as one test binary: each file in `tests/` is a
//! module here, so the crate's tests link once (`cargo test -p elma-import-runner --test runner`).

mod common;
mod pace;
mod run;
