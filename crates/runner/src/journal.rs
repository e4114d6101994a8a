//! The run journal (append-only JSON lines, fsynced per event), its torn-tail repair, and
//! the lock that gives one process a run directory at a time.
//!
//! A line cut short by a crash or a full disk is cut away before the first new append
//! (and said so), so later events never land on a fragment. A bad line anywhere but at
//! the end is damage, and an error.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::RunError;
pub use crate::event::{now_secs, Event};

/// The journal file of a run, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

/// What opening a journal found.
#[derive(Debug)]
pub struct Opened {
    /// The journal, ready for appends.
    pub journal: Journal,
    /// Every complete event, in order.
    pub events: Vec<Event>,
    /// Bytes of a torn last line that were cut away, if any.
    pub torn: Option<usize>,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`: reads every complete event, cuts
    /// away a torn last line, and leaves the file ready for appends.
    pub fn open(path: &Path) -> Result<Opened, RunError> {
        let io = |e| RunError::io(format!("cannot open the journal `{}`", path.display()), e);
        let mut file =
            OpenOptions::new().create(true).read(true).write(true).truncate(false).open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (events, good) = parse(path, &bytes)?;
        let torn = (good < bytes.len()).then(|| bytes.len() - good);
        if torn.is_some() {
            file.set_len(good as u64).and_then(|_| file.sync_all()).map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Opened { journal: Journal { path: path.to_path_buf(), file }, events, torn })
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

    /// Reads every complete event of the journal at `path` without changing it (a torn
    /// last line is left out).
    pub fn read(path: &Path) -> Result<Vec<Event>, RunError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(parse(path, &bytes)?.0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(RunError::io(format!("cannot read the journal `{}`", path.display()), e)),
        }
    }
}

/// The events of a journal's bytes and how many bytes hold them. Only the last line may
/// be torn: unterminated, or not an event.
fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<Event>, usize), RunError> {
    let mut events = Vec::new();
    let mut good = 0;
    let mut start = 0;
    let mut number = 0;
    while start < bytes.len() {
        number += 1;
        let end = bytes[start..].iter().position(|&b| b == b'\n').map(|p| start + p);
        let line = &bytes[start..end.unwrap_or(bytes.len())];
        let last = end.is_none_or(|e| e + 1 >= bytes.len());
        if line.iter().all(u8::is_ascii_whitespace) {
            if end.is_some() {
                good = end.map_or(bytes.len(), |e| e + 1);
            }
        } else {
            match serde_json::from_slice::<Event>(line) {
                Ok(e) if end.is_some() => {
                    events.push(e);
                    good = end.map_or(bytes.len(), |e| e + 1);
                }
                Ok(_) => break,
                Err(_) if last => break,
                Err(e) => {
                    return Err(RunError::Journal {
                        path: path.to_path_buf(),
                        line: number,
                        message: e.to_string(),
                    })
                }
            }
        }
        match end {
            Some(e) => start = e + 1,
            None => break,
        }
    }
    Ok((events, good))
}

/// An OS lock on a run directory, held until dropped (the process ends). Its file,
/// `lock`, holds the holder's process id.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of the run directory `dir`, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, RunError> {
        let path = dir.join("lock");
        let io = |e| RunError::io(format!("cannot open the lock file `{}`", path.display()), e);
        let mut file =
            OpenOptions::new().create(true).read(true).write(true).truncate(false).open(&path).map_err(io)?;
        if !fs4::fs_std::FileExt::try_lock_exclusive(&file).map_err(io)? {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = text.trim().parse::<u32>().ok();
            return Err(RunError::Locked { dir: dir.to_path_buf(), pid });
        }
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.sync_data())
            .map_err(io)?;
        Ok(RunLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elma_import_chunk::UploadKind;

    fn two() -> (Event, Event) {
        (
            Event::UploadBegin { at: 1.0, chunk: 0, hash: "h".into(), target: UploadKind::Temporary },
            Event::Uploaded { at: 2.0, chunk: 0, hash: "h".into() },
        )
    }

    #[test]
    fn a_torn_last_line_is_cut_away_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (a, b) = two();
        let mut j = Journal::open(&path).unwrap().journal;
        j.append(&a).unwrap();
        drop(j);
        let fragment = br#"{"event":"uploaded","at":2.0,"ch"#;
        OpenOptions::new().append(true).open(&path).unwrap().write_all(fragment).unwrap();
        let opened = Journal::open(&path).unwrap();
        assert_eq!(opened.torn, Some(fragment.len()));
        assert_eq!(opened.events, vec![a.clone()]);
        let mut j = opened.journal;
        j.append(&b).unwrap();
        drop(j);
        // Before the repair, the next append landed on the fragment: every later read
        // stopped with "journal damaged".
        let again = Journal::open(&path).unwrap();
        assert_eq!((again.events, again.torn), (vec![a, b], None));
    }

    #[test]
    fn a_complete_event_without_its_newline_is_torn_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "{\"event\":\"completed\",\"at\":1.0}\n{\"event\":\"completed\",\"at\":2.0}")
            .unwrap();
        let opened = Journal::open(&path).unwrap();
        assert_eq!(opened.events.len(), 1);
        assert!(opened.torn.is_some());
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "garbage\n{\"event\":\"completed\",\"at\":1.0}\n").unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains(&std::process::id().to_string()), "{err}");
        drop(held);
        RunLock::acquire(dir.path()).unwrap();
    }
}
