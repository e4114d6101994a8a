//! `migration.jsonl`: one JSON line per fact of the migration (steps started and
//! finished, id maps), each fsynced before the work it announces. A torn last line (a
//! crash mid-write) is cut off when the journal is opened.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::MigrateError;
use crate::resolve::IdMap;

/// Seconds since the Unix epoch.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A step's totals as its run reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Data rows of the file.
    pub rows_read: u64,
    /// Rows rejected before sending (validation, unresolved references).
    pub rows_invalid: u64,
    /// Rows the platform imported.
    pub imported: u64,
    /// Rows the platform rejected.
    pub failed: u64,
}

/// One line of `migration.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A step began (0-based index).
    StepStarted {
        /// Step.
        step: usize,
        /// When.
        at: f64,
    },
    /// The keys of a reference column mapped to item ids; fixed from here on.
    Ids {
        /// Step.
        step: usize,
        /// The map.
        map: IdMap,
        /// When.
        at: f64,
    },
    /// The step's run directory was created (its source is the resolved copy if any).
    RunCreated {
        /// Step.
        step: usize,
        /// The run directory.
        run_dir: PathBuf,
        /// When.
        at: f64,
    },
    /// The step's run completed.
    StepFinished {
        /// Step.
        step: usize,
        /// Its totals.
        totals: Totals,
        /// Reference cells that named no item (their rows were rejected).
        unresolved: u64,
        /// When.
        at: f64,
    },
    /// An execution of the step stopped with an error (a later resume continues it).
    StepFailed {
        /// Step.
        step: usize,
        /// The error.
        error: String,
        /// When.
        at: f64,
    },
}

/// What the journal says about one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepState {
    /// When it first started.
    pub started: Option<f64>,
    /// Id maps by column.
    pub ids: BTreeMap<String, IdMap>,
    /// Its run directory, once created.
    pub run_dir: Option<PathBuf>,
    /// Totals, unresolved cells and the time, once finished.
    pub finished: Option<(Totals, u64, f64)>,
}

/// The replayed journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Per step.
    pub steps: Vec<StepState>,
}

impl State {
    /// Replays `events` over `steps` steps.
    pub fn replay(steps: usize, events: &[Event]) -> State {
        let mut state = State { steps: vec![StepState::default(); steps] };
        for e in events {
            state.apply(e);
        }
        state
    }

    /// Applies one event (steps out of range are ignored).
    pub fn apply(&mut self, event: &Event) {
        let step = match event {
            Event::StepStarted { step, .. }
            | Event::Ids { step, .. }
            | Event::RunCreated { step, .. }
            | Event::StepFinished { step, .. }
            | Event::StepFailed { step, .. } => *step,
        };
        let Some(s) = self.steps.get_mut(step) else { return };
        match event {
            Event::StepStarted { at, .. } => {
                s.started.get_or_insert(*at);
            }
            Event::Ids { map, .. } => {
                s.ids.insert(map.column.clone(), map.clone());
            }
            Event::RunCreated { run_dir, .. } => s.run_dir = Some(run_dir.clone()),
            Event::StepFinished { totals, unresolved, at, .. } => {
                s.finished = Some((*totals, *unresolved, *at))
            }
            // Kept for people reading the journal; a resume runs the step again.
            Event::StepFailed { .. } => {}
        }
    }
}

/// An open `migration.jsonl`, appended to with an fsync per line.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal, cutting off a torn last line; returns it with its
    /// events.
    ///
    /// # Errors
    /// I/O errors, or a complete line that is not an event.
    pub fn open(path: &Path) -> Result<(Journal, Vec<Event>), MigrateError> {
        let io = |e| MigrateError::io(format!("cannot open `{}`", path.display()), e);
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io)?;
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        if whole < text.len() {
            file.set_len(whole as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let mut events = Vec::new();
        for (i, line) in text[..whole].split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let event = serde_json::from_slice(line).map_err(|e| MigrateError::Journal {
                path: path.into(),
                line: i + 1,
                message: e.to_string(),
            })?;
            events.push(event);
        }
        Ok((Journal { path: path.into(), file }, events))
    }

    /// Appends an event and fsyncs it.
    ///
    /// # Errors
    /// I/O errors.
    pub fn append(&mut self, event: &Event) -> Result<(), MigrateError> {
        let mut line = serde_json::to_vec(event).map_err(|e| MigrateError::Journal {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        line.push(b'\n');
        let io = |e| MigrateError::io(format!("cannot write `{}`", self.path.display()), e);
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_a_torn_last_line_is_cut_off() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("migration.jsonl");
        {
            let (mut j, events) = Journal::open(&path).unwrap();
            assert!(events.is_empty());
            j.append(&Event::StepStarted { step: 0, at: 1.0 }).unwrap();
            j.append(&Event::StepFinished {
                step: 0,
                totals: Totals { imported: 3, ..Default::default() },
                unresolved: 0,
                at: 2.0,
            })
            .unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"event":"step_started","st"#).unwrap();
        drop(f);
        let (mut j, events) = Journal::open(&path).unwrap();
        assert_eq!(events.len(), 2);
        j.append(&Event::StepStarted { step: 1, at: 3.0 }).unwrap();
        let (_, events) = Journal::open(&path).unwrap();
        assert_eq!(events.len(), 3, "the torn line is gone and the next append is whole");
        let state = State::replay(2, &events);
        assert_eq!(state.steps[0].finished.map(|f| f.0.imported), Some(3));
        assert_eq!(state.steps[1].started, Some(3.0));
    }

    #[test]
    fn a_bad_line_before_the_last_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("migration.jsonl");
        std::fs::write(&path, "{\"nope\":1}\n{\"event\":\"step_started\",\"step\":0,\"at\":1.0}\n").unwrap();
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
