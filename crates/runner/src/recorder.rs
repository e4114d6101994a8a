//! The recorder: the one way a run's state changes. An event is appended to the journal
//! and fsynced, then applied by [`RunState::apply`]; preparation, the steps and the
//! Ctrl-C path all go through [`Recorder::record`].

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::journal::Journal;
use crate::state::{ChunkState, RunState};

/// A run's journal and the state it replays to, changed together.
#[derive(Debug)]
pub struct Recorder {
    journal: Mutex<Journal<Event>>,
    state: Mutex<RunState>,
}

/// What opening a run's journal found.
#[derive(Debug)]
pub struct Opened {
    /// The recorder, its state replayed from the journal.
    pub recorder: Recorder,
    /// Bytes of a torn last line cut away, if any.
    pub torn: Option<usize>,
    /// Whether the journal file existed before.
    pub existed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    /// Opens the journal of the run directory `dir` and replays it.
    pub fn open(dir: &Path) -> Result<Opened, RunError> {
        let path = dir.join("journal.jsonl");
        let existed = path.exists();
        let opened = Journal::<Event>::open(&path)?;
        let state = RunState::replay(&opened.events);
        let recorder = Recorder { journal: Mutex::new(opened.journal), state: Mutex::new(state) };
        Ok(Opened { recorder, torn: opened.torn, existed })
    }

    /// Appends `event` to the journal (fsynced), then applies it to the state.
    pub fn record(&self, event: Event) -> Result<(), RunError> {
        let mut journal = lock(&self.journal);
        journal.append(&event)?;
        lock(&self.state).apply(&event);
        Ok(())
    }

    /// Records `event` unless the journal is busy for longer than a moment (a process
    /// about to exit at once on a second Ctrl-C): best effort, never blocks long.
    pub fn record_now(&self, event: Event) {
        for _ in 0..50 {
            if let Ok(mut journal) = self.journal.try_lock() {
                if journal.append(&event).is_ok() {
                    lock(&self.state).apply(&event);
                }
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&RunState) -> T) -> T {
        f(&lock(&self.state))
    }

    /// A copy of chunk `i`'s state.
    pub fn chunk(&self, i: Chunk) -> ChunkState {
        self.read(|s| s.chunk(i).cloned().unwrap_or_default())
    }

    /// A copy of the whole state.
    pub fn state(&self) -> RunState {
        self.read(RunState::clone)
    }

    /// Whether replaying the journal file gives the state held: what a resume after a
    /// crash here would start from.
    pub fn replays(&self) -> Result<bool, RunError> {
        let journal = lock(&self.journal);
        let events = Journal::<Event>::read(journal.path())?;
        Ok(RunState::replay(&events) == *lock(&self.state))
    }
}
