//! Paced, resumable import runs.
//!
//! A run lives in a directory: `run.json` (what was asked), `schema.json` (what it was
//! validated against), `journal.jsonl` (every transition, fsynced), `lock` (the pid of the
//! one process that holds the directory), `chunks/` (the chunk files and `manifest.json`),
//! `errors.csv` (every row not imported, by source row), `rejects.csv` (those rows in
//! full) and at the end `summary.json`.
//!
//! A run is one state machine. Its parts depend on each other one way:
//!
//! - [`settings`]: [`RunSettings`], every setting resolved and checked once, from
//!   `run.json` ([`RunSpec`]) and this execution's [`ExecOptions`];
//! - [`event`], [`state`], [`recorder`], [`journal`]: the events (every fact a resume
//!   needs), [`state::RunState::apply`] (the only code that changes state), and the
//!   recorder that appends and fsyncs each event before applying it; a resume replays
//!   the journal through the same function;
//! - [`chunkfile`]: the chunk files (reading rows back, the files of rows imported once
//!   more, each checked against its sha256 before it is sent);
//! - [`decide`]: what an answer or a look-up means, as pure functions;
//! - `step`: one step per phase of a chunk (upload, start, wait, settle, mend; the
//!   baseline before the first start, the zone check after the first import), each
//!   reading the state, talking to the client and recording events;
//! - [`run`]: the loop, [`execute`]; [`report`]: the summary, `errors.csv` and
//!   `rejects.csv`, made from the state, the chunk files and the accounting;
//! - [`ledger`]: the user's import ledger; [`pace`]: `--pause auto`.
//!
//! ```no_run
//! # async fn demo(client: elma_import_client::Client) -> Result<(), elma_import_runner::RunError> {
//! use elma_import_runner::{execute, Cancel, ExecOptions, Quiet};
//! let summary = execute("runs/r1".as_ref(), &client, &ExecOptions::default(), &Quiet, &Cancel::new()).await?;
//! println!("{} rows imported", summary.imported);
//! # Ok(()) }
//! ```

mod account;
mod blocking;
pub mod cancel;
pub mod chunkfile;
mod ctx;
pub mod decide;
pub mod duration;
pub mod error;
pub mod event;
pub mod journal;
pub mod ledger;
pub mod lookup;
pub mod pace;
pub mod policy;
pub mod prepare;
pub mod progress;
pub mod recorder;
pub mod report;
pub mod run;
pub mod settings;
pub mod spec;
pub mod state;
mod step;

pub use blocking::blocking;
pub use cancel::Cancel;
pub use error::{RunError, StopKind};
pub use event::Chunk;
pub use policy::RunPolicy;
pub use progress::{Observer, Progress, Quiet};
pub use report::Summary;
pub use run::{execute, execute_with_clock, finished};
pub use settings::{ExecOptions, RunSettings};
pub use spec::RunSpec;
