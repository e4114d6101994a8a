//! Import plans and chunk files.
//!
//! - [`plan()`] decides how rows reach the platform: a temporary or a directory upload,
//!   how many rows per import, the pause between imports, and says why (see the
//!   [`plan` module](mod@crate::plan) for the rules and formulas).
//! - [`ChunkWriter`] splits rows into `{stem}-{index:05}.{csv|xlsx}` files that each
//!   repeat the header, and returns a [`Manifest`] with every file's size, SHA-256 and
//!   the source rows it holds, so server row errors map back to the source file.
//! - [`Folder`] keeps `split`'s output folder to one split: what an earlier split left
//!   there is cleared once the new manifest is saved, and the user's files are refused.
//!
//! ```
//! use elma_import_chunk::{plan, ChunkWriter, Manifest, PlanInput};
//! use elma_import_sheet::{Format, Row, WriteOptions};
//!
//! let mut input = PlanInput::new(3);
//! input.with_event_handlers = true;
//! input.rows_per_chunk = Some(2);
//! let p = plan(&input).unwrap();
//! assert_eq!(p.chunks, 2);
//!
//! let dir = std::env::temp_dir().join(format!("elma-chunk-doc-{}", std::process::id()));
//! let header = Row::from_texts(1, ["Name", "Email"]);
//! let mut w = ChunkWriter::new(&dir, "contacts", &header, p.rows_per_chunk, Format::Csv,
//!     WriteOptions::default()).unwrap();
//! for (n, name) in [(2, "Anna"), (3, "Boris"), (5, "Vera")] {
//!     w.push(&Row::from_texts(n, [name, "a@example.com"])).unwrap();
//! }
//! let manifest = w.finish().unwrap();
//! manifest.save(&dir).unwrap();
//! assert_eq!(Manifest::load(&dir).unwrap(), manifest);
//! assert_eq!(manifest.chunks[1].file, "contacts-00002.csv");
//! assert_eq!(manifest.chunks[1].source_row(2), Some(5)); // row 4 of the source was skipped
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod folder;
pub mod plan;
mod writer;

pub use folder::Folder;
pub use plan::{plan, Plan, PlanError, PlanInput, UploadKind};
pub use writer::{hash_file, ChunkEntry, ChunkError, ChunkWriter, Manifest, MANIFEST_FILE};
