//! A seeded simulation of unlucky runs and migrations.
//!
//! Each seed makes a [`World`]: a file (or a migration of two), the platform's settings
//! and faults, and the bad luck to come. The real runner and migrations run against the
//! emulator's model, in process, on tokio's paused clock (so a 60-minute expiry costs no
//! time), through the client's own code with a transport that carries each request to
//! the emulator's router. Bad luck, drawn from the seed:
//!
//! - the platform's: answers lost after the request took effect (starts and polls), 500,
//!   503, 429, dropped connections, imports that fail part way with their counts,
//!   temporary files that expire mid-import, restarts that keep or fail running imports,
//!   another import holding the app (`blocked`), items already in the app (whole rows, or
//!   only their keys), another time zone, names stored otherwise than the file wrote them;
//! - the user's: files with repeated or missing keys and invalid cells, a crash at any
//!   journal boundary (the process dies: its tasks stop, its requests go nowhere), Ctrl-C,
//!   a chunk file changed between a crash and the resume, the same file run again.
//!
//! After every stop the simulated user does what the tool says (resume, pass
//! `--skip-invalid`, settle an uncertain chunk by what the app holds when the chunk is
//! all in or all out), until the run ends or only an honest stop is left. Then one
//! invariant is checked against the platform's items ([`check`]):
//!
//! - every source row is in its app at most once;
//! - no row named in `errors.csv` (or `rejects.csv`) is in the app;
//! - a run that completed accounts for every row: in the app, or named with a reason;
//! - exit 0 only when every row is in the app;
//! - no link of a migration points to another parent than its source row names;
//! - the journal replays to the state the run had (checked by the runner at the end of
//!   every execution);
//! - a file already imported is refused when run again.

pub mod check;
pub mod drive;
pub mod platform;
pub mod world;

pub use drive::{run, Outcome};
pub use world::World;

/// Whether `seed` passes; its outcome.
pub fn seed(seed: u64) -> Outcome {
    run(&World::of(seed), false)
}
