//! The run's chunk files: the manifest's entries, the file that replaces a chunk's when
//! some rows are imported once more (`chunk-NNNNN.rest-K.*`), reading rows back, and the
//! check that a file is still the one written (its sha256).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use elma_import_chunk::{ChunkEntry, Manifest};
use elma_import_sheet::{Format, Row, WriteOptions};
use sha2::{Digest, Sha256};

use crate::error::RunError;
use crate::event::Chunk;
use crate::state::{ChunkState, Replacement};

/// A source row number and its cells.
pub type SourceRow = (u64, Vec<String>);

/// Where the chunk files of a run live.
pub fn chunks_dir(dir: &Path) -> PathBuf {
    dir.join("chunks")
}

/// The chunk files of a run and how they are written.
#[derive(Debug, Clone)]
pub struct ChunkFiles {
    dir: PathBuf,
    manifest: Manifest,
    write_options: WriteOptions,
}

impl ChunkFiles {
    /// The chunk files of the run directory `run_dir`, as its manifest lists them.
    pub fn load(run_dir: &Path, locale: elma_import_contract::Locale) -> Result<ChunkFiles, RunError> {
        let dir = chunks_dir(run_dir);
        let manifest = Manifest::load(&dir).map_err(|e| match e {
            elma_import_chunk::ChunkError::Manifest { path, source } => RunError::damaged(path, source),
            other => RunError::Chunk(other),
        })?;
        Ok(ChunkFiles::new(run_dir, manifest, locale))
    }

    /// The chunk files of `manifest`, just written into `run_dir`.
    pub fn new(run_dir: &Path, manifest: Manifest, locale: elma_import_contract::Locale) -> ChunkFiles {
        let write_options = WriteOptions {
            date_format: locale.excel_datetime_format().to_string(),
            ..WriteOptions::default()
        };
        ChunkFiles { dir: chunks_dir(run_dir), manifest, write_options }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// How many chunks.
    pub fn count(&self) -> u32 {
        self.manifest.chunks.len() as u32
    }

    /// Every chunk, in order.
    pub fn all(&self) -> impl Iterator<Item = Chunk> {
        (0..self.count()).map(Chunk)
    }

    /// Rows over all chunks as written.
    pub fn rows(&self) -> u64 {
        self.manifest.rows
    }

    /// Chunk `i` as the manifest has it.
    pub fn original(&self, i: Chunk) -> &ChunkEntry {
        &self.manifest.chunks[i.index()]
    }

    /// Chunk `i` as it stands: its manifest entry, or the file of rows still to import.
    pub fn current(&self, i: Chunk, state: &ChunkState) -> ChunkEntry {
        let mut entry = self.original(i).clone();
        if let Some(r) = &state.replacement {
            entry.file.clone_from(&r.file);
            entry.rows = r.rows;
            entry.source_ranges.clone_from(&r.source_ranges);
            entry.first_row = r.source_ranges.first().map_or(0, |r| r[0]);
            entry.last_row = r.source_ranges.last().map_or(0, |r| r[1]);
            entry.sha256 = r.sha256.clone().unwrap_or_default();
        }
        entry
    }

    /// The path of a chunk file.
    pub fn path(&self, entry: &ChunkEntry) -> PathBuf {
        self.dir.join(&entry.file)
    }

    /// Refuses a file that is not the one written (a changed or missing file). An entry
    /// without a recorded sha256 (journals before 2026-12) is taken as it is.
    pub fn verify(&self, entry: &ChunkEntry) -> Result<(), RunError> {
        if entry.sha256.is_empty() {
            return Ok(());
        }
        let path = self.path(entry);
        let found = match sha256_file(&path) {
            Ok(sha) => sha,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing".to_string(),
            Err(e) => return Err(RunError::io(format!("cannot read `{}`", path.display()), e)),
        };
        if found != entry.sha256 {
            return Err(RunError::ChunkChanged {
                file: path,
                expected: entry.sha256.chars().take(12).collect(),
                found: found.chars().take(12).collect(),
            });
        }
        Ok(())
    }

    /// The header and every row of a chunk file.
    pub fn read(&self, entry: &ChunkEntry) -> Result<(Row, Vec<Row>), RunError> {
        read_rows(&self.path(entry))
    }

    /// Writes the rows of chunk `i`'s original file whose source rows are in `rows` to a
    /// file of their own, `chunk-NNNNN.rest-K.*` (`K` = `attempt`), and says what it holds.
    pub fn write_rest(&self, i: Chunk, attempt: u32, rows: &BTreeSet<u64>) -> Result<Replacement, RunError> {
        let original = self.original(i);
        let format = self.manifest.format;
        let stem = original.file.trim_end_matches(".xlsx").trim_end_matches(".csv");
        let file = format!("{stem}.rest-{attempt}.{}", format.as_str());
        let out = self.dir.join(&file);
        let (header, all) = self.read(original)?;
        let mut writer = elma_import_sheet::create(&out, format, &self.write_options)?;
        writer.write_row(&header)?;
        let mut ranges: Vec<[u64; 2]> = Vec::new();
        let mut written = 0u64;
        for row in &all {
            let Some(source) = original.source_row(row.number).filter(|s| rows.contains(s)) else {
                continue;
            };
            match ranges.last_mut() {
                Some(r) if r[1] + 1 == source => r[1] = source,
                _ => ranges.push([source, source]),
            }
            let mut renumbered = row.clone();
            renumbered.number = written + 2;
            writer.write_row(&renumbered)?;
            written += 1;
        }
        writer.finish()?;
        let sha256 =
            sha256_file(&out).map_err(|e| RunError::io(format!("cannot read `{}`", out.display()), e))?;
        Ok(Replacement { file, rows: written, source_ranges: ranges, sha256: Some(sha256) })
    }

    /// The header and, by source row, the cells of every row sent whose source row is in
    /// `rows` (read from the original chunk files).
    pub fn rows_of(&self, rows: &BTreeSet<u64>) -> Result<(Vec<String>, Vec<SourceRow>), RunError> {
        let mut header = Vec::new();
        let mut out = Vec::new();
        for entry in &self.manifest.chunks {
            let wanted = rows.range(entry.first_row..=entry.last_row).next().is_some();
            if !wanted && !header.is_empty() {
                continue;
            }
            let (h, all) = self.read(entry)?;
            if header.is_empty() {
                header = h.iter().map(|c| c.text.to_string()).collect();
            }
            for row in &all {
                if let Some(source) = entry.source_row(row.number).filter(|s| rows.contains(s)) {
                    out.push((source, row.iter().map(|c| c.text.to_string()).collect()));
                }
            }
        }
        out.sort_by_key(|r| r.0);
        Ok((header, out))
    }

    /// The sheet format of the files.
    pub fn format(&self) -> Format {
        self.manifest.format
    }
}

/// The header and every row of a sheet file.
pub fn read_rows(path: &Path) -> Result<(Row, Vec<Row>), RunError> {
    let mut reader = elma_import_sheet::open(path, &elma_import_sheet::ReadOptions::default())?;
    let header = reader.header().clone();
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        out.extend(batch);
    }
    Ok((header, out))
}

/// sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
