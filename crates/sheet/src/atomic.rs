//! Files that are whole or absent: written under a hidden temporary name beside the
//! target and renamed into place only when finished.
//!
//! A run cut short (an error, a closed pipe, Ctrl-C, a full disk) leaves the target as
//! it was: absent, or the older file of that name untouched. A half-written file that
//! looks finished is never left behind.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::SheetError;

/// Bytes buffered before they reach the file.
const BUFFER: usize = 64 * 1024;

/// A file written under a temporary name and renamed to its target by
/// [`AtomicFile::finish`]; dropped unfinished, it removes the temporary file and the
/// target stays as it was.
///
/// The temporary file is hidden (`.NAME.XXXXXX.tmp`) in the target's directory, so the
/// rename never crosses file systems. `finish` flushes, syncs the file, renames it over
/// the target and syncs the directory. Writes are buffered.
///
/// A target that exists and is not a regular file (`/dev/stdout`, a pipe, a device)
/// cannot be replaced by a rename: it is written directly. A symbolic link is followed,
/// so the file it points to is replaced and the link stays. A file replaced keeps its
/// permissions.
///
/// ```
/// use std::io::Write;
/// use elma_import_sheet::AtomicFile;
///
/// # fn main() -> std::io::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("report.json");
/// std::fs::write(&path, "old")?;
///
/// let mut file = AtomicFile::create(&path)?;
/// file.write_all(b"{\"rows\": 3}")?;
/// assert_eq!(std::fs::read_to_string(&path)?, "old", "replaced only when finished");
/// file.finish()?;
/// assert_eq!(std::fs::read_to_string(&path)?, "{\"rows\": 3}");
///
/// let mut file = AtomicFile::create(&path)?;
/// file.write_all(b"{\"rows\"")?;
/// drop(file); // cut short: the target stays as it was, no temporary file is left
/// assert_eq!(std::fs::read_to_string(&path)?, "{\"rows\": 3}");
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    /// The file the result is renamed to (a symbolic link resolved).
    target: PathBuf,
    /// `None` only once finished or dropped.
    out: Option<Out>,
    /// Whether `finish` syncs the file and its directory.
    durable: bool,
}

#[derive(Debug)]
enum Out {
    /// A hidden temporary file beside the target, removed when its path is dropped.
    /// Written as a plain `File`, so errors are the system's own (`NamedTempFile`
    /// would add its temporary name to each).
    Temporary(BufWriter<File>, TempPath),
    /// A target that is not a regular file, written in place.
    Direct(BufWriter<File>),
}

impl AtomicFile {
    /// Starts writing `path`: creates its temporary file (the target is not touched).
    ///
    /// # Errors
    /// The directory does not exist or cannot be written to.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let target = resolve_links(path)?;
        match std::fs::metadata(&target) {
            Ok(meta) if !meta.is_file() => {
                let file = OpenOptions::new().write(true).create(true).truncate(true).open(&target)?;
                return Ok(AtomicFile {
                    target,
                    out: Some(Out::Direct(BufWriter::with_capacity(BUFFER, file))),
                    durable: true,
                });
            }
            _ => {}
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // What `File::create` gives (less the umask), not a temporary file's 0600.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(dir)?;
        if let Ok(meta) = std::fs::metadata(&target) {
            temp.as_file().set_permissions(meta.permissions())?;
        }
        let (file, temp) = temp.into_parts();
        Ok(AtomicFile {
            target,
            out: Some(Out::Temporary(BufWriter::with_capacity(BUFFER, file), temp)),
            durable: true,
        })
    }

    /// Whether [`AtomicFile::finish`] syncs the file before the rename and the
    /// directory after it (the default), so the file survives a crash once `finish`
    /// returns. Without, the rename still makes the file whole or absent for every
    /// reader, but a crash may lose it or its content: for many files synced together
    /// later (chunk files), or ones that are simply made again.
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    /// The file this one becomes when finished (a symbolic link resolved).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the file over its target, then syncs the directory
    /// (the syncs unless [`AtomicFile::set_durable`] turned them off); returns the
    /// file's size in bytes.
    ///
    /// # Errors
    /// An I/O error (a full disk, say): the temporary file is removed and the target
    /// stays as it was.
    pub fn finish(mut self) -> io::Result<u64> {
        match self.out.take() {
            Some(Out::Temporary(buf, temp)) => {
                let file = buf.into_inner().map_err(io::IntoInnerError::into_error)?;
                if self.durable {
                    file.sync_all()?;
                }
                let size = file.metadata()?.len();
                drop(file);
                temp.persist(&self.target).map_err(|e| e.error)?;
                if self.durable {
                    sync_dir(&self.target)?;
                }
                Ok(size)
            }
            Some(Out::Direct(buf)) => {
                let file = buf.into_inner().map_err(io::IntoInnerError::into_error)?;
                Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
            }
            None => Ok(0),
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self.out.as_mut() {
            Some(Out::Temporary(w, _)) => w,
            Some(Out::Direct(w)) => w,
            None => unreachable!("an AtomicFile is used only before it is finished"),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Unfinished: the buffer is dropped unwritten, and the temporary file removed
        // (by `TempPath`'s own drop).
        if let Some(Out::Temporary(buf, temp)) = self.out.take() {
            drop(buf.into_parts());
            drop(temp);
        }
    }
}

/// Writes `path` whole or not at all: `write` fills an [`AtomicFile`], which is
/// finished when `write` succeeds and removed when it fails. Returns what `write`
/// returned.
///
/// ```
/// use std::io::Write;
///
/// # fn main() -> Result<(), elma_import_sheet::SheetError> {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("changes.csv");
/// let rows = elma_import_sheet::write_atomically(&path, |file| {
///     writeln!(file, "row,column")?;
///     writeln!(file, "2,B")?;
///     Ok(1)
/// })?;
/// assert_eq!(rows, 1);
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "row,column\n2,B\n");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`SheetError::Io`] naming `path`, for an error of `write` or of writing the file.
pub fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut AtomicFile) -> io::Result<T>,
) -> Result<T, SheetError> {
    let io = |source| SheetError::Io { path: path.to_path_buf(), source };
    let mut file = AtomicFile::create(path).map_err(io)?;
    let value = write(&mut file).map_err(io)?;
    file.finish().map_err(io)?;
    Ok(value)
}

/// Runs `write` on a hidden temporary path beside `path` (for a library that writes a
/// file by its name, as an .xlsx writer does), then syncs it and renames it to `path`. If
/// `write` fails, the temporary file is removed and `path` stays as it was.
///
/// # Errors
/// `write`'s error, or the I/O error (as `io` makes it) of making, syncing or renaming the
/// temporary file.
pub fn write_by_name<T, E>(
    path: &Path,
    io: impl Fn(io::Error) -> E,
    write: impl FnOnce(&Path) -> Result<T, E>,
) -> Result<T, E> {
    let target = resolve_links(path).map_err(&io)?;
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(&io)?
        .into_temp_path();
    let value = write(&temporary)?;
    File::open(&temporary).and_then(|f| f.sync_all()).map_err(&io)?;
    temporary.persist(&target).map_err(|e| io(e.error))?;
    Ok(value)
}

/// `path`, or the file its chain of symbolic links ends at (which may not exist yet).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other(format!("`{}`: too many levels of symbolic links", path.display())))
}

/// Syncs the directory holding `path`, so its new name survives a crash.
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_temporary_file_is_hidden_beside_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(&[b'x'; 100_000]).unwrap();
        let during = names(dir.path());
        assert_eq!(during.len(), 1, "{during:?}");
        assert!(during[0].starts_with(".out.csv.") && during[0].ends_with(".tmp"), "{during:?}");
        assert_eq!(file.finish().unwrap(), 100_000);
        assert_eq!(names(dir.path()), ["out.csv"]);
    }

    #[test]
    fn a_failed_write_removes_the_temporary_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, |f| {
            f.write_all(b"new, half")?;
            Err::<(), _>(io::Error::other("cut short"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["a.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_followed_and_permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_atomically(&link, |f| f.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place() {
        write_atomically(Path::new("/dev/null"), |f| f.write_all(b"gone")).unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().file_type().is_file(), "still a device");
        assert!(!names(Path::new("/dev")).iter().any(|n| n.starts_with(".null.")));
    }
}
