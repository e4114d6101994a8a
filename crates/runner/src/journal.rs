//! Append-only JSON-lines journals, one rule for all of them: the run's `journal.jsonl`,
//! a migration's `migration.jsonl` and the user's import ledger.
//!
//! - [`Journal::append`] writes one event as one line and fsyncs it before returning.
//! - Only the last line may be torn (a crash or a full disk while it was written): a last
//!   line without its newline, or one that is not an event, is cut away when the journal
//!   is opened, before the next append, and [`Opened::torn`] says how many bytes went.
//!   A line that is not an event anywhere else is damage: [`JournalError::Damaged`],
//!   naming the file and the line.
//! - [`DirLock`] gives one process a directory at a time (an OS lock, released however
//!   the process ends).
//! - [`faults`] lets a simulation crash a process at any journal boundary.
//!
//! ```
//! use elma_import_runner::journal::Journal;
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("events.jsonl");
//! let mut opened = Journal::<u32>::open(&path)?;
//! opened.journal.append(&7)?;
//! assert_eq!(Journal::<u32>::read(&path)?, vec![7]);
//! # Ok::<(), elma_import_runner::journal::JournalError>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a journal or a lock could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("{what} `{}`: {cause}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// A line other than a torn last one is not an event.
    #[error("`{}` is damaged at line {line}: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Another process holds the directory.
    #[error(
        "`{}` is in use by another elma-import process{}",
        dir.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The holder's process id, when its lock file says.
        pid: Option<u32>,
    },
}

impl JournalError {
    /// Whether the cause is a full disk.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, JournalError::Io { cause, .. } if is_disk_full(cause))
    }

    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> JournalError {
        let path = path.to_path_buf();
        move |cause| JournalError::Io { what, path, cause }
    }
}

/// Whether an I/O error is a full disk.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

/// A journal of events `E`, open for appending.
#[derive(Debug)]
pub struct Journal<E> {
    path: PathBuf,
    file: File,
    _events: PhantomData<fn(&E)>,
}

/// What opening a journal found.
#[derive(Debug)]
pub struct Opened<E> {
    /// The journal, ready for appends.
    pub journal: Journal<E>,
    /// Every complete event, in order.
    pub events: Vec<E>,
    /// Bytes of a torn last line that were cut away, if any.
    pub torn: Option<usize>,
}

impl<E: Serialize + DeserializeOwned> Journal<E> {
    /// Opens (creating if needed) the journal at `path`: reads every complete event, cuts
    /// away a torn last line, and leaves the file ready for appends.
    pub fn open(path: &Path) -> Result<Opened<E>, JournalError> {
        let io = || JournalError::io("cannot open the journal", path);
        let mut file =
            OpenOptions::new().create(true).read(true).write(true).truncate(false).open(path).map_err(io())?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io())?;
        let (events, good) = parse(path, &bytes)?;
        let torn = (good < bytes.len()).then(|| bytes.len() - good);
        if torn.is_some() {
            file.set_len(good as u64).and_then(|_| file.sync_all()).map_err(io())?;
        }
        file.seek(SeekFrom::End(0)).map_err(io())?;
        let journal = Journal { path: path.to_path_buf(), file, _events: PhantomData };
        Ok(Opened { journal, events, torn })
    }

    /// Reads every complete event of the journal at `path` without changing it (a torn
    /// last line is left out); a journal that does not exist has none.
    pub fn read(path: &Path) -> Result<Vec<E>, JournalError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(parse(path, &bytes)?.0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(JournalError::io("cannot read the journal", path)(e)),
        }
    }

    /// Appends one event and fsyncs it before returning.
    pub fn append(&mut self, event: &E) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(event).map_err(|e| JournalError::Io {
            what: "cannot encode an event of",
            path: self.path.clone(),
            cause: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        faults::before(&self.path, &line);
        self.file
            .write_all(&line)
            .and_then(|_| self.file.sync_data())
            .map_err(JournalError::io("cannot write the journal", &self.path))?;
        faults::after(&self.path, &line);
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The events of a journal's bytes and how many bytes hold them. Only the last line may
/// be torn: unterminated, or not an event.
fn parse<E: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<(Vec<E>, usize), JournalError> {
    let mut events = Vec::new();
    let mut good = 0;
    let mut start = 0;
    let mut number = 0;
    while start < bytes.len() {
        number += 1;
        let end = bytes[start..].iter().position(|&b| b == b'\n').map(|p| start + p);
        let line = &bytes[start..end.unwrap_or(bytes.len())];
        let last = end.is_none_or(|e| e + 1 >= bytes.len());
        let Some(end) = end else { break };
        if !line.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<E>(line) {
                Ok(e) => events.push(e),
                Err(_) if last => break,
                Err(e) => {
                    return Err(JournalError::Damaged {
                        path: path.to_path_buf(),
                        line: number,
                        message: e.to_string(),
                    })
                }
            }
        }
        good = end + 1;
        start = end + 1;
    }
    Ok((events, good))
}

/// An OS lock on a directory, held until dropped (the process ends). Its file, `lock`,
/// holds the holder's process id.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of the directory `dir`, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, JournalError> {
        let path = dir.join("lock");
        let io = || JournalError::io("cannot use the lock file", &path);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(io())?;
        if !fs4::fs_std::FileExt::try_lock_exclusive(&file).map_err(io())? {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = text.trim().parse::<u32>().ok();
            return Err(JournalError::Locked { dir: dir.to_path_buf(), pid });
        }
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.sync_data())
            .map_err(io())?;
        Ok(DirLock { _file: file })
    }

    /// Waits for the lock of the file `path` itself (for a short read-modify-append, as
    /// the ledger does): blocks while another process holds it.
    pub fn wait_for_file(path: &Path) -> Result<DirLock, JournalError> {
        let io = || JournalError::io("cannot lock", path);
        let file = OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io())?;
        fs4::fs_std::FileExt::lock_exclusive(&file).map_err(io())?;
        Ok(DirLock { _file: file })
    }
}

pub mod faults {
    //! Fault injection at journal boundaries, for the simulation: a hook installed for a
    //! folder is asked before and after every append to a journal under it, and may stop
    //! the process there (a crash: the appending code unwinds and never runs on).
    //! Nothing is installed outside the simulation; an append then costs one read lock.

    use std::path::{Path, PathBuf};
    use std::sync::{Arc, PoisonError, RwLock};

    /// Where in an append a hook is asked.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Boundary {
        /// The line is about to be written.
        Before,
        /// The line is written and fsynced.
        After,
    }

    /// Decides, at each journal boundary under its folder, whether the process crashes.
    pub trait Hook: Send + Sync {
        /// Called with the journal file, the line (with its newline) and the boundary;
        /// `true` crashes here.
        fn crash(&self, journal: &Path, line: &[u8], at: Boundary) -> bool;
    }

    /// The payload a crash unwinds with (never a panic message: no hook prints it).
    #[derive(Debug, Clone, Copy)]
    pub struct Crash;

    type Hooks = Vec<(PathBuf, Arc<dyn Hook>)>;
    static HOOKS: RwLock<Hooks> = RwLock::new(Vec::new());

    /// Removes its hook when dropped.
    #[must_use = "the hook is removed when the guard is dropped"]
    pub struct Installed {
        folder: PathBuf,
    }

    impl Drop for Installed {
        fn drop(&mut self) {
            HOOKS.write().unwrap_or_else(PoisonError::into_inner).retain(|(f, _)| *f != self.folder);
        }
    }

    /// Installs `hook` for every journal under `folder`.
    pub fn install(folder: &Path, hook: Arc<dyn Hook>) -> Installed {
        let folder = folder.to_path_buf();
        HOOKS.write().unwrap_or_else(PoisonError::into_inner).push((folder.clone(), hook));
        Installed { folder }
    }

    fn ask(journal: &Path, line: &[u8], at: Boundary) {
        let hooks = HOOKS.read().unwrap_or_else(PoisonError::into_inner);
        if hooks.is_empty() {
            return;
        }
        let hook = hooks.iter().find(|(folder, _)| journal.starts_with(folder)).map(|(_, h)| h.clone());
        drop(hooks);
        if hook.is_some_and(|h| h.crash(journal, line, at)) {
            std::panic::resume_unwind(Box::new(Crash));
        }
    }

    pub(super) fn before(journal: &Path, line: &[u8]) {
        ask(journal, line, Boundary::Before);
    }

    pub(super) fn after(journal: &Path, line: &[u8]) {
        ask(journal, line, Boundary::After);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_away_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::<Vec<u8>>::open(&path).unwrap().journal;
        j.append(&vec![1]).unwrap();
        drop(j);
        let fragment = b"[2,";
        OpenOptions::new().append(true).open(&path).unwrap().write_all(fragment).unwrap();
        let opened = Journal::<Vec<u8>>::open(&path).unwrap();
        assert_eq!(opened.torn, Some(fragment.len()));
        assert_eq!(opened.events, vec![vec![1]]);
        let mut j = opened.journal;
        j.append(&vec![3]).unwrap();
        drop(j);
        // Before the repair, the next append landed on the fragment: every later read
        // stopped with "journal damaged".
        let again = Journal::<Vec<u8>>::open(&path).unwrap();
        assert_eq!((again.events, again.torn), (vec![vec![1], vec![3]], None));
    }

    #[test]
    fn a_complete_event_without_its_newline_and_a_bad_last_line_are_torn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "1\n2").unwrap();
        let opened = Journal::<u32>::open(&path).unwrap();
        assert_eq!((opened.events, opened.torn), (vec![1], Some(1)));
        std::fs::write(&path, "1\n{\"cut\n").unwrap();
        let opened = Journal::<u32>::open(&path).unwrap();
        assert_eq!((opened.events, opened.torn), (vec![1], Some(6)));
    }

    #[test]
    fn a_bad_line_in_the_middle_is_damage_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "1\ngarbage\n3\n").unwrap();
        let err = Journal::<u32>::open(&path).unwrap_err();
        assert!(matches!(err, JournalError::Damaged { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("journal.jsonl` is damaged at line 2"), "{err}");
        assert!(Journal::<u32>::read(&dir.path().join("none.jsonl")).unwrap().is_empty());
    }

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains(&std::process::id().to_string()), "{err}");
        drop(held);
        DirLock::acquire(dir.path()).unwrap();
    }

    struct CrashSecond(std::sync::atomic::AtomicU32);

    impl faults::Hook for CrashSecond {
        fn crash(&self, _: &Path, _: &[u8], at: faults::Boundary) -> bool {
            at == faults::Boundary::Before && self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1
        }
    }

    #[test]
    fn a_hook_crashes_an_append_before_its_line_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let installed = faults::install(
            dir.path(),
            std::sync::Arc::new(CrashSecond(std::sync::atomic::AtomicU32::new(0))),
        );
        let mut j = Journal::<u32>::open(&path).unwrap().journal;
        j.append(&1).unwrap();
        let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| j.append(&2)));
        let payload = crashed.unwrap_err();
        assert!(payload.downcast_ref::<faults::Crash>().is_some());
        drop(installed);
        j.append(&3).unwrap();
        assert_eq!(Journal::<u32>::read(&path).unwrap(), vec![1, 3]);
    }
}
