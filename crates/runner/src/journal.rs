//! The run journal: append-only JSON lines, one per transition, fsynced as written.
//!
//! The journal is the single source of truth for [`crate::state::RunState`]: replaying it
//! tells, for every chunk, how far it got. A line cut short by a crash (kill -9 while
//! writing) is ignored on replay, since the transition it describes never completed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use elma_import_chunk::UploadKind;
use elma_import_contract::wire::{ImportStatus, RowError};
use serde::{Deserialize, Serialize};

use crate::error::RunError;

/// Seconds since the Unix epoch, with milliseconds.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Validation and chunking finished; chunk files and manifest are on disk.
    Prepared {
        /// When.
        at: f64,
        /// Data rows read.
        rows: u64,
        /// Rows that passed validation (and were chunked).
        valid: u64,
        /// Rows rejected by validation.
        invalid: u64,
        /// Chunks written.
        chunks: u32,
    },
    /// About to upload `chunk` under `hash` (written before any byte is sent).
    UploadBegin {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Client-generated upload hash.
        hash: String,
        /// Upload kind.
        target: UploadKind,
    },
    /// The platform acknowledged the whole upload.
    Uploaded {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The hash uploaded.
        hash: String,
    },
    /// About to send the start request (written before it is sent).
    StartSent {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The hash the import uses.
        hash: String,
    },
    /// The start answered `blocked`: nothing was started.
    Blocked {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
    },
    /// The start was refused (the hash is unknown or expired, say): nothing was started.
    StartRefused {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The server's words.
        reason: String,
    },
    /// The import was started and has this id.
    Started {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Import id.
        import_id: String,
    },
    /// The import ended.
    Finished {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// `done` or `failed`.
        status: ImportStatus,
        /// Rows imported.
        imported: u64,
        /// Rows failed.
        failed: u64,
        /// Row errors, rows as in the chunk file.
        #[serde(default)]
        errors: Vec<RowError>,
    },
    /// The start went out but its answer was lost: the chunk may or may not be imported.
    Uncertain {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// What happened.
        reason: String,
    },
    /// An uncertain chunk was settled.
    Resolved {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Whether it counts as imported (true) or is to be imported again (false).
        imported: bool,
        /// How it was settled: `key-column`, or `user`.
        by: String,
    },
    /// A failed import left some rows of the chunk out: the rows still missing from the
    /// app were written to a new file, which replaces the chunk's file from here on.
    Replaced {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The new file, relative to `chunks/`.
        file: String,
        /// Rows in it.
        rows: u64,
        /// Its rows' source rows, as runs.
        source_ranges: Vec<[u64; 2]>,
        /// Rows of the chunk already in the app, over all earlier attempts.
        imported_before: u64,
        /// Rows of the chunk rejected by the platform in earlier attempts, by source row.
        #[serde(default)]
        source_errors: Vec<RowError>,
    },
    /// The run was interrupted (Ctrl-C); resume continues it.
    Interrupted {
        /// When.
        at: f64,
    },
    /// Every chunk is finished.
    Completed {
        /// When.
        at: f64,
    },
}

/// Appends `event` to a journal shared between tasks.
pub fn append_shared(journal: &std::sync::Mutex<Journal>, event: &Event) -> Result<(), RunError> {
    journal.lock().map_err(|_| RunError::Nothing("journal lock poisoned".into()))?.append(event)
}

/// The journal file of a run, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` for appending.
    pub fn open(path: &Path) -> Result<Journal, RunError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| RunError::io(format!("cannot open the journal `{}`", path.display()), e))?;
        Ok(Journal { path: path.to_path_buf(), file })
    }

    /// Appends one event and fsyncs it before returning.
    pub fn append(&mut self, event: &Event) -> Result<(), RunError> {
        let mut line = serde_json::to_vec(event).map_err(|e| RunError::Journal {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| RunError::io(format!("cannot write the journal `{}`", self.path.display()), e))
    }

    /// Reads every complete event of the journal at `path`, in order. A final line cut
    /// short by a crash is dropped; a bad line elsewhere is an error.
    pub fn read(path: &Path) -> Result<Vec<Event>, RunError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RunError::io(format!("cannot read the journal `{}`", path.display()), e)),
        };
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| RunError::io(format!("cannot read the journal `{}`", path.display()), e))?;
        let mut events = Vec::with_capacity(lines.len());
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Event>(line) {
                Ok(e) => events.push(e),
                Err(_) if i == last => break,
                Err(e) => {
                    return Err(RunError::Journal {
                        path: path.to_path_buf(),
                        line: i + 1,
                        message: e.to_string(),
                    })
                }
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        let a = Event::UploadBegin { at: 1.0, chunk: 0, hash: "h".into(), target: UploadKind::Temporary };
        let b = Event::Uploaded { at: 2.0, chunk: 0, hash: "h".into() };
        j.append(&a).unwrap();
        j.append(&b).unwrap();
        drop(j);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(br#"{"event":"start_sent","at":3.0,"ch"#)
            .unwrap();
        assert_eq!(Journal::read(&path).unwrap(), vec![a, b]);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "garbage\n{\"event\":\"completed\",\"at\":1.0}\n").unwrap();
        let err = Journal::read(&path).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
