//! Streaming readers and writers of import files (.csv and .xlsx).
//!
//! Readers yield [`Row`]s in batches, each carrying its spreadsheet row number, with
//! memory flat in the file's size. Writers keep text exact and numbers and dates typed.

pub mod row;

pub use row::{Cell, CellKind, Row};
