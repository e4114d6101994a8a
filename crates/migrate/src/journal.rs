//! `migration.jsonl`: one JSON line per fact of the migration (steps started and
//! finished, id maps), each fsynced before the work it announces, through the runner's
//! journal module (a torn last line is cut off when the journal is opened).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::resolve::IdMap;

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
    /// Rows sent whose import could not be confirmed (journals before 2026-12 lack it).
    #[serde(default)]
    pub not_imported: u64,
}

impl Totals {
    /// A step's totals from its run's summary.
    pub fn of(summary: &elma_import_runner::Summary) -> Totals {
        Totals {
            rows_read: summary.rows_read,
            rows_invalid: summary.rows_invalid,
            imported: summary.imported,
            failed: summary.failed,
            not_imported: summary.not_imported,
        }
    }

    /// Whether every row read was imported.
    pub fn all_imported(&self) -> bool {
        self.rows_invalid == 0 && self.failed == 0 && self.not_imported == 0
    }
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

/// `migration.jsonl`: the runner's journal of migration events (one torn-line rule for
/// every journal of the tool).
pub type Journal = elma_import_runner::journal::Journal<Event>;

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;

    use super::*;

    #[test]
    fn events_round_trip_and_a_torn_last_line_is_cut_off() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("migration.jsonl");
        {
            let opened = Journal::open(&path).unwrap();
            let (mut j, events) = (opened.journal, opened.events);
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
        let opened = Journal::open(&path).unwrap();
        let (mut j, events) = (opened.journal, opened.events);
        assert_eq!(events.len(), 2);
        j.append(&Event::StepStarted { step: 1, at: 3.0 }).unwrap();
        let events = Journal::open(&path).unwrap().events;
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
