//! Where each chunk of a run stands, derived by replaying the journal.

use elma_import_contract::wire::{ImportStatus, RowError};

use elma_import_chunk::UploadKind;

use crate::journal::Event;

/// How far one chunk got.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkPhase {
    /// Not uploaded (or an upload that never completed): upload under a new hash.
    Pending,
    /// Uploaded and not yet imported.
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
    /// The import ended (or an uncertain chunk was settled as imported).
    Finished {
        /// `done` or `failed`.
        status: ImportStatus,
        /// Rows imported.
        imported: u64,
        /// Rows failed.
        failed: u64,
        /// Row errors, rows as in the chunk file.
        errors: Vec<RowError>,
    },
}

/// Everything the journal says about a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunState {
    /// Counts from preparation, once it finished.
    pub prepared: Option<Prepared>,
    /// One phase per chunk.
    pub chunks: Vec<ChunkPhase>,
    /// Whether the run completed.
    pub completed: bool,
    /// How many times the run was interrupted.
    pub interruptions: u32,
    /// Answers of `blocked` recorded.
    pub blocked_answers: u32,
    /// When the last import finished (seconds since the epoch), if any did.
    pub last_finished_at: Option<f64>,
    /// Chunks whose file was replaced by the rows a failed import left out.
    pub replacements: std::collections::BTreeMap<u32, Replacement>,
    /// Chunks settled as imported (by the key column or the user's word): the platform's
    /// counts are unknown, so their rows count as imported.
    pub settled: std::collections::BTreeSet<u32>,
    /// Chunks settled as *not* imported because their rows were not (yet) among the
    /// items: should their next start meet `blocked`, the lost import may be the one
    /// running, so the items are looked at again before starting once more.
    pub settled_absent: std::collections::BTreeSet<u32>,
}

/// The rows of a chunk still to import after a failed import left some out.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// File name in `chunks/`.
    pub file: String,
    /// Rows in it.
    pub rows: u64,
    /// Their source rows, as runs.
    pub source_ranges: Vec<[u64; 2]>,
    /// Rows of the chunk already imported by earlier attempts.
    pub imported_before: u64,
    /// Rows rejected by earlier attempts, by source row.
    pub source_errors: Vec<RowError>,
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

impl RunState {
    /// Replays events in order.
    pub fn replay(events: &[Event]) -> RunState {
        let mut s = RunState::default();
        // The target of the upload in flight, per chunk, until it completes.
        let mut targets: Vec<UploadKind> = Vec::new();
        for event in events {
            match event {
                Event::Prepared { rows, valid, invalid, chunks, .. } => {
                    s.prepared = Some(Prepared { rows: *rows, valid: *valid, invalid: *invalid });
                    s.chunks = vec![ChunkPhase::Pending; *chunks as usize];
                    targets = vec![UploadKind::Temporary; *chunks as usize];
                }
                Event::UploadBegin { chunk, target, .. } => {
                    if let Some(t) = targets.get_mut(*chunk as usize) {
                        *t = *target;
                    }
                    s.set(*chunk, ChunkPhase::Pending);
                }
                Event::Uploaded { chunk, hash, at } => {
                    let target = targets.get(*chunk as usize).copied().unwrap_or(UploadKind::Temporary);
                    s.set(*chunk, ChunkPhase::Uploaded { hash: hash.clone(), target, at: *at });
                }
                Event::StartSent { chunk, hash, .. } => s.set(
                    *chunk,
                    ChunkPhase::Uncertain {
                        hash: hash.clone(),
                        reason: "the start request was sent but its answer was never recorded".into(),
                    },
                ),
                Event::Blocked { chunk, .. } => {
                    s.blocked_answers += 1;
                    // Nothing started: the upload is still there to start from.
                    if let Some(ChunkPhase::Uncertain { hash, .. }) = s.chunks.get(*chunk as usize).cloned() {
                        s.restore_uploaded(*chunk, hash, events);
                    }
                }
                Event::StartRefused { chunk, .. } => s.set(*chunk, ChunkPhase::Pending),
                Event::Started { chunk, import_id, .. } => {
                    s.set(*chunk, ChunkPhase::Started { import_id: import_id.clone() })
                }
                Event::Finished { at, chunk, status, imported, failed, errors } => {
                    s.last_finished_at = Some(s.last_finished_at.map_or(*at, |t| t.max(*at)));
                    s.set(
                        *chunk,
                        ChunkPhase::Finished {
                            status: status.clone(),
                            imported: *imported,
                            failed: *failed,
                            errors: errors.clone(),
                        },
                    )
                }
                Event::Uncertain { chunk, reason, .. } => {
                    let hash = match s.chunks.get(*chunk as usize) {
                        Some(ChunkPhase::Uncertain { hash, .. }) => hash.clone(),
                        _ => String::new(),
                    };
                    s.set(*chunk, ChunkPhase::Uncertain { hash, reason: reason.clone() })
                }
                Event::Resolved { chunk, imported, by, .. } => {
                    if *imported {
                        s.settled_absent.remove(chunk);
                        s.settled.insert(*chunk);
                        s.set(
                            *chunk,
                            ChunkPhase::Finished {
                                status: ImportStatus::Done,
                                imported: 0,
                                failed: 0,
                                errors: vec![],
                            },
                        )
                    } else {
                        s.settled.remove(chunk);
                        if by == "key-column" {
                            s.settled_absent.insert(*chunk);
                        }
                        s.set(*chunk, ChunkPhase::Pending)
                    }
                }
                Event::Replaced {
                    chunk, file, rows, source_ranges, imported_before, source_errors, ..
                } => {
                    s.replacements.insert(
                        *chunk,
                        Replacement {
                            file: file.clone(),
                            rows: *rows,
                            source_ranges: source_ranges.clone(),
                            imported_before: *imported_before,
                            source_errors: source_errors.clone(),
                        },
                    );
                    s.set(*chunk, ChunkPhase::Pending);
                }
                Event::Interrupted { .. } => s.interruptions += 1,
                Event::Completed { .. } => s.completed = true,
            }
        }
        s
    }

    fn set(&mut self, chunk: u32, phase: ChunkPhase) {
        if let Some(slot) = self.chunks.get_mut(chunk as usize) {
            *slot = phase;
        }
    }

    /// After `blocked`, the chunk goes back to the upload it was started from.
    fn restore_uploaded(&mut self, chunk: u32, hash: String, events: &[Event]) {
        let found = events.iter().rev().find_map(|e| match e {
            Event::Uploaded { chunk: c, hash: h, at } if *c == chunk && *h == hash => Some(*at),
            _ => None,
        });
        let target = events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::UploadBegin { chunk: c, hash: h, target, .. } if *c == chunk && *h == hash => {
                    Some(*target)
                }
                _ => None,
            })
            .unwrap_or(UploadKind::Temporary);
        let phase = match found {
            Some(at) => ChunkPhase::Uploaded { hash, target, at },
            None => ChunkPhase::Pending,
        };
        self.set(chunk, phase);
    }

    /// Chunks whose start may or may not have taken effect.
    pub fn uncertain(&self) -> Vec<u32> {
        self.chunks
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, ChunkPhase::Uncertain { .. }))
            .map(|(i, _)| i as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(chunks: u32) -> Event {
        Event::Prepared { at: 0.0, rows: 10, valid: 10, invalid: 0, chunks }
    }

    #[test]
    fn a_start_without_an_answer_is_uncertain() {
        let events = vec![
            prepared(2),
            Event::UploadBegin { at: 1.0, chunk: 0, hash: "a".into(), target: UploadKind::Temporary },
            Event::Uploaded { at: 2.0, chunk: 0, hash: "a".into() },
            Event::StartSent { at: 3.0, chunk: 0, hash: "a".into() },
        ];
        let s = RunState::replay(&events);
        assert_eq!(s.uncertain(), vec![0]);
        assert_eq!(s.chunks[1], ChunkPhase::Pending);
    }

    #[test]
    fn blocked_returns_the_chunk_to_its_upload() {
        let events = vec![
            prepared(1),
            Event::UploadBegin { at: 1.0, chunk: 0, hash: "a".into(), target: UploadKind::Directory },
            Event::Uploaded { at: 2.0, chunk: 0, hash: "a".into() },
            Event::StartSent { at: 3.0, chunk: 0, hash: "a".into() },
            Event::Blocked { at: 3.5, chunk: 0 },
        ];
        let s = RunState::replay(&events);
        assert_eq!(
            s.chunks[0],
            ChunkPhase::Uploaded { hash: "a".into(), target: UploadKind::Directory, at: 2.0 }
        );
        assert!(s.uncertain().is_empty());
    }

    #[test]
    fn an_upload_cut_short_is_pending_and_a_finished_chunk_stays_finished() {
        let events = vec![
            prepared(2),
            Event::UploadBegin { at: 1.0, chunk: 0, hash: "a".into(), target: UploadKind::Temporary },
            Event::Uploaded { at: 2.0, chunk: 0, hash: "a".into() },
            Event::StartSent { at: 3.0, chunk: 0, hash: "a".into() },
            Event::Started { at: 3.1, chunk: 0, import_id: "i".into() },
            Event::Finished {
                at: 4.0,
                chunk: 0,
                status: ImportStatus::Done,
                imported: 5,
                failed: 0,
                errors: vec![],
            },
            Event::UploadBegin { at: 5.0, chunk: 1, hash: "b".into(), target: UploadKind::Temporary },
        ];
        let s = RunState::replay(&events);
        assert!(matches!(s.chunks[0], ChunkPhase::Finished { imported: 5, .. }));
        assert_eq!(s.chunks[1], ChunkPhase::Pending);
    }

    #[test]
    fn resolution_settles_uncertain_chunks() {
        let base = vec![
            prepared(1),
            Event::UploadBegin { at: 1.0, chunk: 0, hash: "a".into(), target: UploadKind::Temporary },
            Event::Uploaded { at: 2.0, chunk: 0, hash: "a".into() },
            Event::StartSent { at: 3.0, chunk: 0, hash: "a".into() },
        ];
        let mut yes = base.clone();
        yes.push(Event::Resolved { at: 4.0, chunk: 0, imported: true, by: "user".into() });
        assert!(matches!(RunState::replay(&yes).chunks[0], ChunkPhase::Finished { .. }));
        assert!(RunState::replay(&yes).settled.contains(&0), "its rows count as imported");
        let mut no = base.clone();
        no.push(Event::Resolved { at: 4.0, chunk: 0, imported: false, by: "user".into() });
        assert_eq!(RunState::replay(&no).chunks[0], ChunkPhase::Pending);
        assert!(RunState::replay(&no).settled_absent.is_empty(), "the user's word needs no second look");
        let mut looked = base;
        looked.push(Event::Resolved { at: 4.0, chunk: 0, imported: false, by: "key-column".into() });
        assert!(RunState::replay(&looked).settled_absent.contains(&0), "a `blocked` start looks again");
    }

    #[test]
    fn a_replacement_sends_the_chunk_back_with_its_new_file() {
        let events = vec![
            prepared(1),
            Event::UploadBegin { at: 1.0, chunk: 0, hash: "a".into(), target: UploadKind::Temporary },
            Event::Uploaded { at: 2.0, chunk: 0, hash: "a".into() },
            Event::StartSent { at: 3.0, chunk: 0, hash: "a".into() },
            Event::Started { at: 3.1, chunk: 0, import_id: "i".into() },
            Event::Replaced {
                at: 4.0,
                chunk: 0,
                file: "chunk-00001.rest-1.xlsx".into(),
                rows: 3,
                source_ranges: vec![[8, 10]],
                imported_before: 7,
                source_errors: vec![],
            },
        ];
        let s = RunState::replay(&events);
        assert_eq!(s.chunks[0], ChunkPhase::Pending);
        let r = &s.replacements[&0];
        assert_eq!((r.rows, r.imported_before, r.file.as_str()), (3, 7, "chunk-00001.rest-1.xlsx"));
    }
}
