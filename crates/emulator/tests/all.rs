//! The integration tests of this crate, as one test binary: each file in `tests/` is a
//! module here, so the crate's tests link once (`cargo test -p elma-import-emulator --test emulator`).

mod api;
mod common;
mod counters;
mod expiry;
mod faults;
mod fixtures;
mod latency;
mod links;
mod list;
mod persistence;
mod sim;
mod uploads;
mod values;
mod xlsx;
