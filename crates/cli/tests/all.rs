//! The integration tests of this crate, as one test binary: each file in `tests/` is a
//! module here, so the crate's tests link once (`cargo test -p elma-import-cli --test cli`).

#[macro_use]
mod util;
mod completions;
mod e2e;
mod fidelity;
mod files_killed;
mod integrity;
mod json;
mod layout;
mod migrate;
mod offline;
mod progress_eta;
mod progress_jsonl;
mod readme;
mod report_page;
mod split_folder;
mod stdout;
mod ux;
mod verify;
