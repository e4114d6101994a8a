//! Where each chunk of a run stands. [`RunState::apply`] is the only code that changes it;
//! replaying a journal is a fold of `apply` over its events.

use std::collections::{BTreeMap, BTreeSet};

use elma_import_chunk::UploadKind;
use elma_import_contract::wire::{ImportStatus, RowError};

use crate::event::{Chunk, Event, LostRow, SettledBy};

/// How far one chunk got.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Not uploaded (or an upload that never completed or expired): upload under a new hash.
    Pending,
    /// Uploaded and not yet started.
    Uploaded {
        /// The hash it was uploaded under.
        hash: String,
        /// Upload kind.
        target: UploadKind,
        /// When the upload completed (seconds since the epoch).
        at: f64,
    },
    /// The start request may have gone out; its answer was never recorded.
    Uncertain {
        /// The hash the start named.
        hash: String,
        /// What is known.
        reason: String,
    },
    /// The import runs under this id.
    Started {
        /// Import id.
        import_id: String,
    },
    /// The platform gave its final answer; its counts are still to be checked.
    Answered {
        /// `done` or `failed`.
        status: ImportStatus,
        /// Rows imported, as counted by the platform.
        imported: u64,
        /// Rows failed, as counted by the platform.
        failed: u64,
        /// Row errors, rows as in the chunk's current file.
        errors: Vec<RowError>,
    },
    /// Some rows did not land: they are to be written to a new file and imported once more.
    Mending {
        /// Their source rows.
        rows: Vec<u64>,
    },
    /// Every row of the chunk is accounted for.
    Done,
}

/// One chunk: its phase, its current file, what is known of its rows, and its budgets.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkState {
    /// How far it got.
    pub phase: Phase,
    /// The file that replaces the manifest's, when some rows are imported again.
    pub replacement: Option<Replacement>,
    /// Rows of the chunk known to be in the app.
    pub landed: u64,
    /// Rows the platform rejected, by source row.
    pub rejected: Vec<RowError>,
    /// Rows not imported or of unknown fate, by source row.
    pub lost: Vec<LostRow>,
    /// Settled as imported by the user's word: every row of the current file counts.
    pub settled_by_user: bool,
    /// Errors of journals written before reconciliation, rows as in the current file.
    pub legacy_errors: Vec<RowError>,
    /// Rows failed, from journals written before reconciliation.
    pub legacy_failed: u64,
    /// Uploads refused or imports failed before any row: the restart budget used.
    pub restarts: u32,
    /// `blocked` answers since the chunk last started.
    pub blocked: u32,
    /// When the first of those `blocked` answers came (seconds since the epoch).
    pub blocked_since: Option<f64>,
    /// Files of rows imported again.
    pub mends: u32,
    /// Stalls seen.
    pub stalls: u32,
    /// Settled from an uncertain start by looking at the items, not yet started again:
    /// should the next start meet `blocked`, the lost import may be the one running, so
    /// the rows are looked at again.
    pub recheck_on_blocked: bool,
    /// Whether a start request of the chunk ever went out.
    pub started_once: bool,
}

impl Default for ChunkState {
    fn default() -> Self {
        ChunkState {
            phase: Phase::Pending,
            replacement: None,
            landed: 0,
            rejected: Vec::new(),
            lost: Vec::new(),
            settled_by_user: false,
            legacy_errors: Vec::new(),
            legacy_failed: 0,
            restarts: 0,
            blocked: 0,
            blocked_since: None,
            mends: 0,
            stalls: 0,
            recheck_on_blocked: false,
            started_once: false,
        }
    }
}

/// The rows of a chunk still to import, written to a file of their own.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// File name in `chunks/`.
    pub file: String,
    /// Rows in it.
    pub rows: u64,
    /// Their source rows, as runs.
    pub source_ranges: Vec<[u64; 2]>,
    /// SHA-256 of the file (journals before 2026-12 lack it).
    pub sha256: Option<String>,
}

/// Counts recorded when preparation finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// Data rows read.
    pub rows: u64,
    /// Valid rows (chunked).
    pub valid: u64,
    /// Rejected rows.
    pub invalid: u64,
}

/// Everything the journal says about a run. Read-only outside this module: the only way
/// it changes is [`RunState::apply`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunState {
    preparing: bool,
    refused: Option<(u64, u64)>,
    prepared: Option<Prepared>,
    chunks: Vec<ChunkState>,
    completed: bool,
    interruptions: u32,
    blocked_answers: u32,
    last_finished_at: Option<f64>,
    polls: Vec<crate::pace::Poll>,
    baseline: Option<BTreeSet<String>>,
    claimed: bool,
    zone_mismatch: bool,
    /// The hash and kind of each chunk's last upload begun.
    targets: BTreeMap<Chunk, (String, UploadKind)>,
    /// When each chunk's last upload completed.
    uploaded_at: BTreeMap<Chunk, f64>,
}

impl RunState {
    /// Replays events in order: `events.fold(apply)`.
    pub fn replay(events: &[Event]) -> RunState {
        events.iter().fold(RunState::default(), |mut s, e| {
            s.apply(e);
            s
        })
    }

    /// Whether preparation began (a run whose journal lacks it has not started, or lost
    /// its journal).
    pub fn preparing(&self) -> bool {
        self.preparing || self.prepared.is_some()
    }

    /// Rows read and rows rejected, when validation refused the run (and it was not
    /// prepared since).
    pub fn refused(&self) -> Option<(u64, u64)> {
        self.refused.filter(|_| self.prepared.is_none())
    }

    /// Counts from preparation, once it finished.
    pub fn prepared(&self) -> Option<Prepared> {
        self.prepared
    }

    /// Every chunk, in order.
    pub fn chunks(&self) -> &[ChunkState] {
        &self.chunks
    }

    /// Chunk `i`, if the run has it.
    pub fn chunk(&self, i: Chunk) -> Option<&ChunkState> {
        self.chunks.get(i.index())
    }

    /// The phase of chunk `i` (`Done` for a chunk the run does not have).
    pub fn phase(&self, i: Chunk) -> &Phase {
        self.chunk(i).map_or(&Phase::Done, |c| &c.phase)
    }

    /// Whether the run completed.
    pub fn completed(&self) -> bool {
        self.completed
    }

    /// How many times the run was interrupted.
    pub fn interruptions(&self) -> u32 {
        self.interruptions
    }

    /// `blocked` answers over the whole run.
    pub fn blocked_answers(&self) -> u32 {
        self.blocked_answers
    }

    /// When the last import finished (seconds since the epoch), if any did.
    pub fn last_finished_at(&self) -> Option<f64> {
        self.last_finished_at
    }

    /// What `--pause auto` measured, import by import: replaying them rebuilds the pacer.
    pub fn polls(&self) -> &[crate::pace::Poll] {
        &self.polls
    }

    /// Ids of the items that matched the run's rows before its first start, once looked up.
    pub fn baseline(&self) -> Option<&BTreeSet<String>> {
        self.baseline.as_ref()
    }

    /// Whether the run is in the user's import ledger.
    pub fn claimed(&self) -> bool {
        self.claimed
    }

    /// Whether a zone mismatch was reported.
    pub fn zone_mismatch(&self) -> bool {
        self.zone_mismatch
    }

    /// Whether any import of the run was started (or may have been).
    pub fn any_start(&self) -> bool {
        self.chunks.iter().any(|c| c.started_once)
    }

    /// The chunks whose start may or may not have taken effect.
    pub fn uncertain(&self) -> Vec<Chunk> {
        (0..self.chunks.len() as u32)
            .map(Chunk)
            .filter(|&c| matches!(self.phase(c), Phase::Uncertain { .. }))
            .collect()
    }

    /// Applies one event: the only way the state changes.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Preparing { .. } => self.preparing = true,
            Event::Refused { rows, invalid, .. } => self.refused = Some((*rows, *invalid)),
            Event::Prepared { rows, valid, invalid, chunks, .. } => {
                self.prepared = Some(Prepared { rows: *rows, valid: *valid, invalid: *invalid });
                self.chunks = vec![ChunkState::default(); *chunks as usize];
            }
            Event::Baseline { items, .. } => {
                self.baseline.get_or_insert_with(BTreeSet::new).extend(items.iter().cloned())
            }
            Event::Claimed { .. } => self.claimed = true,
            Event::ZoneMismatch { .. } => self.zone_mismatch = true,
            Event::Interrupted { .. } => self.interruptions += 1,
            Event::Completed { .. } => self.completed = true,
            Event::Blocked { chunk, at } => {
                self.blocked_answers += 1;
                if let Some(c) = self.chunks.get_mut(chunk.index()) {
                    c.blocked += 1;
                    c.blocked_since.get_or_insert(*at);
                }
                self.restore_upload(*chunk);
            }
            Event::StartFailed { chunk, .. } => self.restore_upload(*chunk),
            Event::Paced { poll, .. } => self.polls.extend(*poll),
            Event::Finished { at, .. } => {
                self.last_finished_at = Some(self.last_finished_at.map_or(*at, |t| t.max(*at)));
                self.apply_to_chunk(event);
            }
            other => self.apply_to_chunk(other),
        }
    }

    /// Nothing started: the chunk goes back to the upload it was started from.
    fn restore_upload(&mut self, chunk: Chunk) {
        let upload = self.targets.get(&chunk).cloned();
        let uploaded_at = self.uploaded_at.get(&chunk).copied();
        let Some(c) = self.chunks.get_mut(chunk.index()) else { return };
        if let Phase::Uncertain { hash, .. } = &c.phase {
            c.phase = match (upload, uploaded_at) {
                (Some((h, target)), Some(at)) if h == *hash => Phase::Uploaded { hash: h, target, at },
                _ => Phase::Pending,
            };
        }
    }

    fn apply_to_chunk(&mut self, event: &Event) {
        let Some(i) = event.chunk() else { return };
        if let Event::UploadBegin { hash, target, .. } = event {
            self.targets.insert(i, (hash.clone(), *target));
        }
        if let Event::Uploaded { at, .. } = event {
            self.uploaded_at.insert(i, *at);
        }
        let target = self.targets.get(&i).map_or(UploadKind::Temporary, |t| t.1);
        let Some(c) = self.chunks.get_mut(i.index()) else { return };
        c.apply(event, target);
    }
}

impl ChunkState {
    fn apply(&mut self, event: &Event, target: UploadKind) {
        match event {
            Event::UploadBegin { .. } | Event::UploadExpired { .. } => self.phase = Phase::Pending,
            Event::Uploaded { at, hash, .. } => {
                self.phase = Phase::Uploaded { hash: hash.clone(), target, at: *at }
            }
            Event::StartSent { hash, .. } => {
                self.started_once = true;
                self.phase = Phase::Uncertain {
                    hash: hash.clone(),
                    reason: "the start request was sent but its answer was never recorded".into(),
                }
            }
            Event::StartRefused { .. } | Event::FailedEarly { .. } => {
                self.restarts += 1;
                self.phase = Phase::Pending;
            }
            Event::Started { import_id, .. } => {
                self.recheck_on_blocked = false;
                self.blocked = 0;
                self.blocked_since = None;
                self.phase = Phase::Started { import_id: import_id.clone() };
            }
            Event::Finished { status, imported, failed, errors, unreconciled, .. } => {
                if *unreconciled {
                    self.phase = Phase::Answered {
                        status: status.clone(),
                        imported: *imported,
                        failed: *failed,
                        errors: errors.clone(),
                    };
                } else {
                    // A journal from before reconciliation: its counts were final.
                    self.landed = *imported;
                    self.legacy_failed = *failed;
                    self.legacy_errors.clone_from(errors);
                    self.phase = Phase::Done;
                }
            }
            Event::Stalled { .. } => self.stalls += 1,
            Event::Uncertain { reason, .. } => {
                let hash = match &self.phase {
                    Phase::Uncertain { hash, .. } => hash.clone(),
                    _ => String::new(),
                };
                self.phase = Phase::Uncertain { hash, reason: reason.clone() };
            }
            Event::Resolved { imported, by, .. } => {
                let by_items = *by != SettledBy::User;
                self.recheck_on_blocked = by_items && matches!(self.phase, Phase::Uncertain { .. });
                if !imported && by_items {
                    // Started again on the items' word: counts against the restart budget.
                    self.restarts += 1;
                }
                self.settled_by_user = *imported;
                self.phase = if *imported { Phase::Done } else { Phase::Pending };
            }
            Event::Reconciled { landed, rejected, retry, lost, by, .. } => {
                if matches!(self.phase, Phase::Uncertain { .. }) {
                    self.recheck_on_blocked = *by != SettledBy::User;
                }
                self.landed += landed;
                self.rejected.extend(rejected.iter().cloned());
                self.lost.extend(lost.iter().cloned());
                self.phase =
                    if retry.is_empty() { Phase::Done } else { Phase::Mending { rows: retry.clone() } };
            }
            Event::Replaced { file, rows, source_ranges, imported_before, source_errors, sha256, .. } => {
                if *imported_before > 0 || !source_errors.is_empty() {
                    // A journal from before reconciliation carried the totals here.
                    self.landed = *imported_before;
                    self.rejected.clone_from(source_errors);
                }
                self.mends += 1;
                self.replacement = Some(Replacement {
                    file: file.clone(),
                    rows: *rows,
                    source_ranges: source_ranges.clone(),
                    sha256: sha256.clone(),
                });
                self.phase = Phase::Pending;
            }
            Event::Preparing { .. }
            | Event::Refused { .. }
            | Event::Prepared { .. }
            | Event::Baseline { .. }
            | Event::Claimed { .. }
            | Event::ZoneMismatch { .. }
            | Event::Blocked { .. }
            | Event::StartFailed { .. }
            | Event::Paced { .. }
            | Event::Interrupted { .. }
            | Event::Completed { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(chunks: u32) -> Event {
        Event::Prepared { at: 0.0, rows: 10, valid: 10, invalid: 0, chunks }
    }

    fn uploaded(chunk: Chunk, hash: &str, target: UploadKind) -> Vec<Event> {
        vec![
            Event::UploadBegin { at: 1.0, chunk, hash: hash.into(), target },
            Event::Uploaded { at: 2.0, chunk, hash: hash.into() },
        ]
    }

    fn run(events: Vec<Vec<Event>>) -> RunState {
        RunState::replay(&events.concat())
    }

    #[test]
    fn a_start_without_an_answer_is_uncertain() {
        let s = run(vec![
            vec![prepared(2)],
            uploaded(Chunk(0), "a", UploadKind::Temporary),
            vec![Event::StartSent { at: 3.0, chunk: Chunk(0), hash: "a".into() }],
        ]);
        assert!(matches!(s.phase(Chunk(0)), Phase::Uncertain { hash, .. } if hash == "a"));
        assert_eq!(*s.phase(Chunk(1)), Phase::Pending);
    }

    #[test]
    fn blocked_returns_the_chunk_to_its_upload_and_the_budget_survives_replay() {
        let s = run(vec![
            vec![prepared(1)],
            uploaded(Chunk(0), "a", UploadKind::Directory),
            vec![
                Event::StartSent { at: 3.0, chunk: Chunk(0), hash: "a".into() },
                Event::Blocked { at: 3.5, chunk: Chunk(0) },
                Event::StartSent { at: 5.0, chunk: Chunk(0), hash: "a".into() },
                Event::Blocked { at: 5.5, chunk: Chunk(0) },
            ],
        ]);
        assert_eq!(
            *s.phase(Chunk(0)),
            Phase::Uploaded { hash: "a".into(), target: UploadKind::Directory, at: 2.0 }
        );
        let c = s.chunk(Chunk(0)).unwrap();
        assert_eq!((c.blocked, c.blocked_since, s.blocked_answers()), (2, Some(3.5), 2));
    }

    #[test]
    fn expiry_and_early_failure_send_the_chunk_back_and_count_restarts() {
        let s = run(vec![
            vec![prepared(1)],
            uploaded(Chunk(0), "a", UploadKind::Temporary),
            vec![Event::UploadExpired { at: 9.0, chunk: Chunk(0) }],
        ]);
        assert_eq!(*s.phase(Chunk(0)), Phase::Pending, "an expired upload is pending in the journal too");
        let s = run(vec![
            vec![prepared(1)],
            uploaded(Chunk(0), "a", UploadKind::Temporary),
            vec![
                Event::StartSent { at: 3.0, chunk: Chunk(0), hash: "a".into() },
                Event::StartRefused { at: 3.1, chunk: Chunk(0), reason: "gone".into() },
            ],
            uploaded(Chunk(0), "b", UploadKind::Temporary),
            vec![
                Event::StartSent { at: 4.0, chunk: Chunk(0), hash: "b".into() },
                Event::Started { at: 4.1, chunk: Chunk(0), import_id: "i".into() },
                Event::FailedEarly { at: 5.0, chunk: Chunk(0), reason: "expired".into() },
            ],
        ]);
        assert_eq!((s.phase(Chunk(0)), s.chunk(Chunk(0)).unwrap().restarts), (&Phase::Pending, 2));
    }

    #[test]
    fn a_final_answer_waits_for_reconciliation_and_missing_rows_are_mended() {
        let finished = Event::Finished {
            at: 4.0,
            chunk: Chunk(0),
            status: ImportStatus::Failed,
            imported: 6,
            failed: 0,
            errors: vec![],
            unreconciled: true,
        };
        let base = vec![
            vec![prepared(1)],
            uploaded(Chunk(0), "a", UploadKind::Temporary),
            vec![Event::Started { at: 3.0, chunk: Chunk(0), import_id: "i".into() }, finished],
        ];
        assert!(matches!(run(base.clone()).phase(Chunk(0)), Phase::Answered { imported: 6, .. }));
        let mut more = base;
        more.push(vec![
            Event::Reconciled {
                at: 5.0,
                chunk: Chunk(0),
                landed: 6,
                rejected: vec![],
                retry: vec![8, 9, 10, 11],
                lost: vec![],
                by: SettledBy::Key,
            },
            Event::Replaced {
                at: 6.0,
                chunk: Chunk(0),
                file: "chunk-00001.rest-1.xlsx".into(),
                rows: 4,
                source_ranges: vec![[8, 11]],
                imported_before: 0,
                source_errors: vec![],
                sha256: None,
            },
        ]);
        let s = run(more);
        let c = s.chunk(Chunk(0)).unwrap();
        assert_eq!((&c.phase, c.landed, c.mends), (&Phase::Pending, 6, 1));
        assert_eq!(c.replacement.as_ref().map(|r| r.rows), Some(4));
    }

    #[test]
    fn old_journals_replay_with_their_final_counts() {
        let s = RunState::replay(
            &[
                r#"{"event":"prepared","at":0.0,"rows":5,"valid":5,"invalid":0,"chunks":1}"#,
                r#"{"event":"started","at":1.0,"chunk":0,"import_id":"i"}"#,
                r#"{"event":"finished","at":2.0,"chunk":0,"status":"done","imported":5,"failed":0,"errors":[]}"#,
            ]
            .map(|l| serde_json::from_str::<Event>(l).unwrap()),
        );
        let c = s.chunk(Chunk(0)).unwrap();
        assert_eq!((&c.phase, c.landed), (&Phase::Done, 5));
    }

    #[test]
    fn the_users_word_settles_an_uncertain_chunk() {
        let base = vec![
            vec![prepared(1)],
            uploaded(Chunk(0), "a", UploadKind::Temporary),
            vec![Event::StartSent { at: 3.0, chunk: Chunk(0), hash: "a".into() }],
        ];
        let mut yes = base.clone();
        yes.push(vec![Event::Resolved { at: 4.0, chunk: Chunk(0), imported: true, by: SettledBy::User }]);
        let s = run(yes);
        assert!(s.chunk(Chunk(0)).unwrap().settled_by_user && *s.phase(Chunk(0)) == Phase::Done);
        let mut no = base;
        no.push(vec![Event::Resolved { at: 4.0, chunk: Chunk(0), imported: false, by: SettledBy::User }]);
        assert_eq!(*run(no).phase(Chunk(0)), Phase::Pending);
    }
}
