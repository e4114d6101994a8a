//! The output folder of `split`: one split's chunks and its manifest, nothing stale.
//!
//! A split into a folder that an earlier split filled must not leave that split's chunks
//! beside its own: `split big.csv --rows-per-chunk 1000` then `--rows-per-chunk 5000`
//! would leave `big-00005.csv` … `big-00020.csv` of the first, whose rows the new
//! `big-00001.csv` … `big-00004.csv` hold again; whoever uploads the folder's files
//! imports them twice. Nor may a split that fails leave a folder mixing its chunks with
//! an earlier split's. So a split claims its folder ([`Folder::claim`]), writes its
//! chunks into a hidden staging folder inside it ([`Folder::staging`]), and only when
//! every chunk is written moves them into place and clears what earlier splits left
//! ([`Folder::finish`]). A split that fails before that leaves the folder as it was.
//!
//! - A split under way is recorded in `.split.pending.json`: the stems of the splits
//!   that claimed the folder since the last one finished, and the files found there.
//! - A file is taken as a split's when `manifest.json` or that record lists it, when it
//!   is named as a recorded split's chunks are (`{stem}-NNNNN.csv`/`.xlsx`, this split's
//!   stem included), or when it is the temporary file of one of those (a split killed
//!   while writing); the staging folder `.split.staging` is a split's too. Any other file
//!   or folder is the user's: the split refuses to start and names it, and writes nothing.
//! - Finishing: `manifest.json` of the earlier split is removed (it stops claiming a
//!   whole split before any of its files changes; a folder without `manifest.json` is a
//!   split not finished), the new chunks are renamed into place, the new `manifest.json`
//!   is saved, every earlier file it does not list is removed, then the staging folder
//!   and the record.
//!
//! Each step leaves a folder the next split can claim, whatever its stem, so a split
//! killed at any point is run again and ends with exactly its chunks and its manifest.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::writer::{ChunkError, Manifest, MANIFEST_FILE};

/// The record of a split under way.
pub const PENDING_FILE: &str = ".split.pending.json";

/// The folder a split writes its chunks into before they are moved into place.
pub const STAGING_DIR: &str = ".split.staging";

/// What `.split.pending.json` holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Pending {
    /// Stems of the splits that claimed the folder since the last one finished.
    stems: BTreeSet<String>,
    /// Files of earlier splits found in the folder.
    files: BTreeSet<String>,
}

/// A folder claimed for a new split; see the [module documentation](self).
#[derive(Debug)]
pub struct Folder {
    dir: PathBuf,
    /// Files of earlier splits, to remove unless the new manifest lists them.
    earlier: BTreeSet<String>,
    /// Whether [`Folder::finish`] began: a folder dropped before that is put back as it
    /// was; one dropped after (a failure while moving) is left to the next split, which
    /// the record lets sort it out.
    finishing: bool,
    /// Whether the record of a split under way was there before the claim (one cut short
    /// earlier): it then stays, for the files it names.
    had_record: bool,
}

fn io_at(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ChunkError {
    let path = path.to_path_buf();
    move |source| ChunkError::Io { action, path, source }
}

/// The bytes of `path`, `None` when there is no such file.
fn read_if_any(path: &Path) -> Result<Option<Vec<u8>>, ChunkError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ChunkError::Io { action: "read", path: path.to_path_buf(), source }),
    }
}

/// Removes `path`; one already gone is fine.
fn remove_if_any(path: &Path) -> Result<bool, ChunkError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(ChunkError::Io { action: "remove", path: path.to_path_buf(), source }),
    }
}

/// Removes the folder `path` and what it holds; one already gone is fine.
fn remove_dir_if_any(path: &Path) -> Result<(), ChunkError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ChunkError::Io { action: "remove", path: path.to_path_buf(), source }),
    }
}

/// Whether `name` is `{stem}-NNNNN.csv` or `{stem}-NNNNN.xlsx`.
fn is_chunk_name(name: &str, stem: &str) -> bool {
    let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('-')) else { return false };
    let Some((index, ext)) = rest.split_once('.') else { return false };
    index.len() == 5 && index.bytes().all(|b| b.is_ascii_digit()) && matches!(ext, "csv" | "xlsx")
}

/// The file a temporary file stands for: `.NAME.XXXXXX.tmp` (a chunk or the record being
/// written) or `NAME.tmp` (the manifest being saved) gives `NAME`.
fn temporary_of(name: &str) -> Option<&str> {
    let inner = name.strip_suffix(".tmp")?;
    match inner.strip_prefix('.') {
        Some(hidden) => hidden.rsplit_once('.').map(|(target, _random)| target),
        None => Some(inner),
    }
}

impl Folder {
    /// Makes `dir` (created if needed) ready for the chunks of `stem`: refuses a folder
    /// holding anything of the user's, records the split under way and makes its staging
    /// folder. Nothing is written or removed when it refuses.
    pub fn claim(dir: &Path, stem: &str) -> Result<Folder, ChunkError> {
        std::fs::create_dir_all(dir).map_err(io_at("create the directory", dir))?;
        let manifest = dir.join(MANIFEST_FILE);
        let pending_path = dir.join(PENDING_FILE);
        let earlier_record = read_if_any(&pending_path)?;
        let had_record = earlier_record.is_some();
        let mut pending: Pending = match earlier_record {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| ChunkError::Manifest { path: pending_path.clone(), source })?,
            None => Pending::default(),
        };
        if let Some(bytes) = read_if_any(&manifest)? {
            let earlier: Manifest = serde_json::from_slice(&bytes)
                .map_err(|source| ChunkError::Manifest { path: manifest.clone(), source })?;
            pending.files.extend(earlier.chunks.into_iter().map(|c| c.file));
        }
        pending.stems.insert(stem.to_string());
        let ours = |name: &str| {
            name == MANIFEST_FILE
                || name == PENDING_FILE
                || pending.files.contains(name)
                || pending.stems.iter().any(|s| is_chunk_name(name, s))
        };
        let mut found = BTreeSet::new();
        let mut foreign = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_at("read", dir))? {
            let entry = entry.map_err(io_at("read", dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(io_at("read", &entry.path()))?;
            if kind.is_dir() && name == STAGING_DIR {
                continue;
            }
            if kind.is_file() && (ours(&name) || temporary_of(&name).is_some_and(ours)) {
                found.insert(name);
            } else {
                foreign.push(name);
            }
        }
        if !foreign.is_empty() {
            foreign.sort();
            return Err(ChunkError::Foreign { dir: dir.to_path_buf(), files: foreign });
        }
        found.remove(MANIFEST_FILE);
        found.remove(PENDING_FILE);
        pending.files.extend(found);
        let record = serde_json::to_vec(&pending)
            .map_err(|source| ChunkError::Manifest { path: pending_path.clone(), source })?;
        let mut file =
            elma_import_sheet::AtomicFile::create(&pending_path).map_err(io_at("write", &pending_path))?;
        file.set_durable(false);
        file.write_all(&record).and_then(|()| file.finish()).map_err(io_at("write", &pending_path))?;
        let staging = dir.join(STAGING_DIR);
        remove_dir_if_any(&staging)?;
        std::fs::create_dir(&staging).map_err(io_at("create the directory", &staging))?;
        Ok(Folder { dir: dir.to_path_buf(), earlier: pending.files, finishing: false, had_record })
    }

    /// Where the chunks are written until [`Folder::finish`] moves them into place.
    pub fn staging(&self) -> PathBuf {
        self.dir.join(STAGING_DIR)
    }

    /// Once every chunk of `manifest` is written into [`Folder::staging`]: moves them into
    /// place under a new `manifest.json`, then removes the files of earlier splits it
    /// does not list, the staging folder and the record of the split under way. Returns
    /// the manifest's path and the names removed, in order.
    pub fn finish(mut self, manifest: &Manifest) -> Result<(PathBuf, Vec<String>), ChunkError> {
        self.finishing = true;
        remove_if_any(&self.dir.join(MANIFEST_FILE))?;
        let staging = self.staging();
        for chunk in &manifest.chunks {
            let (from, to) = (staging.join(&chunk.file), self.dir.join(&chunk.file));
            std::fs::rename(&from, &to).map_err(io_at("move into place", &to))?;
        }
        // Like the chunks, the manifest is not fsynced: a split cut short is run again.
        let path = manifest.save_durable(&self.dir, false)?;
        let kept: BTreeSet<&str> = manifest.chunks.iter().map(|c| c.file.as_str()).collect();
        let mut removed = Vec::new();
        for name in self.earlier.iter().filter(|n| !kept.contains(n.as_str())) {
            if remove_if_any(&self.dir.join(name))? {
                removed.push(name.clone());
            }
        }
        remove_dir_if_any(&staging)?;
        remove_if_any(&self.dir.join(PENDING_FILE))?;
        Ok((path, removed))
    }
}

impl Drop for Folder {
    /// A split that did not finish leaves the folder as it was: its staging folder and
    /// its record go (a record of an earlier split cut short stays), the earlier split
    /// stays whole.
    fn drop(&mut self) {
        if !self.finishing {
            let _ = remove_dir_if_any(&self.staging());
            if !self.had_record {
                let _ = remove_if_any(&self.dir.join(PENDING_FILE));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_and_temporary_files_are_told_apart() {
        assert!(is_chunk_name("big-00001.csv", "big"));
        assert!(is_chunk_name("big-00020.xlsx", "big"));
        assert!(!is_chunk_name("big-0001.csv", "big"));
        assert!(!is_chunk_name("big-00001.txt", "big"));
        assert!(!is_chunk_name("bigger-00001.csv", "big"));
        assert!(!is_chunk_name("small-00001.csv", "big"));
        assert_eq!(temporary_of(".big-00003.csv.Ab3dEf.tmp"), Some("big-00003.csv"));
        assert_eq!(temporary_of("..split.pending.json.Ab3dEf.tmp"), Some(".split.pending.json"));
        assert_eq!(temporary_of("manifest.json.tmp"), Some("manifest.json"));
        assert_eq!(temporary_of("notes.txt"), None);
    }
}
