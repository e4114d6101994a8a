//! Writing rows into chunk files and describing them in a manifest.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use elma_import_sheet::{Format, Row, SheetError, WriteOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name of the manifest inside the chunk directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Why chunks could not be written or a manifest read.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// `rows_per_chunk` is 0.
    #[error("rows per chunk must be at least 1, got `0`")]
    ZeroRowsPerChunk,
    /// The stem would put chunk files outside the directory or is empty.
    #[error("`{0}` cannot start a chunk file name: use a plain name without path separators")]
    BadStem(String),
    /// Writing a chunk file failed (the sheet error names the file).
    #[error(transparent)]
    Sheet(#[from] SheetError),
    /// A file or directory could not be read or written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done: `create the directory`, `read`, `write`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A raw .csv record was pushed into .xlsx chunks.
    #[error("raw .csv records cannot go into `{0}` chunks")]
    RawIntoXlsx(&'static str),
    /// The output folder holds files no split wrote (see [`crate::Folder`]).
    #[error(
        "`{}` holds {} that no earlier split wrote ({}): split into an empty or new folder, or move {} away",
        dir.display(),
        if files.len() == 1 { "a file" } else { "files" },
        crate::plan::some_names(files, 3),
        if files.len() == 1 { "it" } else { "them" }
    )]
    Foreign {
        /// The output folder.
        dir: PathBuf,
        /// The names of what is in it that no split wrote, sorted.
        files: Vec<String>,
    },
    /// `manifest.json` is not a manifest.
    #[error("`{path}` is not a chunk manifest: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ChunkError + 'a {
    move |source| ChunkError::Io { action, path: path.to_path_buf(), source }
}

/// One chunk file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkEntry {
    /// 1-based position of the chunk; the file name carries it as `-00001`.
    pub index: u32,
    /// File name inside the chunk directory, e.g. `orders-00001.xlsx`.
    pub file: String,
    /// Source row number (spreadsheet numbering, header = 1) of the chunk's first row.
    pub first_row: u64,
    /// Source row number of the chunk's last row.
    pub last_row: u64,
    /// Data rows in the chunk (its header not counted).
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Runs `[first, last]` (inclusive) of consecutive source rows, in chunk order;
    /// rows skipped in the source (e.g. invalid ones) split the runs.
    pub source_ranges: Vec<[u64; 2]>,
}

impl ChunkEntry {
    /// The source row of the chunk's sheet row `chunk_row` (header = 1, so 2 is the
    /// first data row), or `None` for the header or a row past the end.
    ///
    /// ```
    /// # use elma_import_chunk::ChunkEntry;
    /// let entry = ChunkEntry { index: 1, file: "a-00001.csv".into(), first_row: 2, last_row: 9,
    ///     rows: 5, bytes: 0, sha256: String::new(), source_ranges: vec![[2, 3], [7, 9]] };
    /// assert_eq!(entry.source_row(2), Some(2));
    /// assert_eq!(entry.source_row(4), Some(7));
    /// assert_eq!(entry.source_row(6), Some(9));
    /// assert_eq!(entry.source_row(7), None);
    /// assert_eq!(entry.source_row(1), None);
    /// ```
    pub fn source_row(&self, chunk_row: u64) -> Option<u64> {
        let mut k = chunk_row.checked_sub(2)?;
        for &[first, last] in &self.source_ranges {
            let len = last.checked_sub(first)? + 1;
            if k < len {
                return Some(first + k);
            }
            k -= len;
        }
        None
    }

    fn add_source_row(&mut self, n: u64) {
        match self.source_ranges.last_mut() {
            Some(run) if run[1].checked_add(1) == Some(n) => run[1] = n,
            _ => self.source_ranges.push([n, n]),
        }
        if self.rows == 0 {
            self.first_row = n;
        }
        self.last_row = n;
        self.rows += 1;
    }
}

/// What a chunk directory holds: saved as `manifest.json` beside the chunk files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of every chunk file; `csv` or `xlsx` in JSON.
    #[serde(with = "format_str")]
    pub format: Format,
    /// The most data rows one chunk holds.
    pub rows_per_chunk: u64,
    /// Data rows over all chunks.
    pub rows: u64,
    /// The chunks in order.
    pub chunks: Vec<ChunkEntry>,
}

impl Manifest {
    /// Writes `dir/manifest.json` (through a temporary file, fsynced, and a rename, then
    /// the directory fsynced, so a crash never leaves half a manifest or loses it).
    /// Returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, ChunkError> {
        self.save_durable(dir, true)
    }

    /// As [`Manifest::save`]; with `durable` false nothing is fsynced (the rename still
    /// keeps a reader from seeing half a manifest), for a plain `split` whose chunks
    /// are not synced either ([`ChunkWriter::durable`]).
    pub fn save_durable(&self, dir: &Path, durable: bool) -> Result<PathBuf, ChunkError> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|source| ChunkError::Manifest { path: path.clone(), source })?;
        text.push(b'\n');
        let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
        file.write_all(&text).map_err(io_err("write", &tmp))?;
        if durable {
            file.sync_all().map_err(io_err("write", &tmp))?;
        }
        drop(file);
        std::fs::rename(&tmp, &path).map_err(io_err("replace", &path))?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(path)
    }

    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ChunkError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).map_err(io_err("read", &path))?;
        serde_json::from_slice(&text).map_err(|source| ChunkError::Manifest { path, source })
    }

    /// The chunk holding source row `source_row`, if any.
    pub fn chunk_of(&self, source_row: u64) -> Option<&ChunkEntry> {
        self.chunks.iter().find(|c| c.source_ranges.iter().any(|&[a, b]| (a..=b).contains(&source_row)))
    }
}

mod format_str {
    use elma_import_sheet::Format;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &Format, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            _ => {
                Err(serde::de::Error::custom(format!("unknown chunk format `{s}`, expected `csv` or `xlsx`")))
            }
        }
    }
}

/// The chunk being filled.
struct Open {
    entry: ChunkEntry,
    body: Body,
}

/// A chunk's content as it is gathered: .csv records are encoded at once (fields that
/// need no quotes are copied as they are), .xlsx rows are kept for the worker.
enum Body {
    Csv(Box<csv::Writer<Vec<u8>>>),
    /// .csv bytes gathered as they are (from [`ChunkWriter::push_raw`]).
    Raw(Vec<u8>),
    Xlsx(Vec<Row>),
}

/// A finished chunk's file: its position in `ChunkWriter::done`, then size and hash.
type Written = (usize, Result<(u64, String), ChunkError>);

/// Splits rows into chunk files `{stem}-{index:05}.{csv|xlsx}` of at most
/// `rows_per_chunk` rows each, every one starting with the header row.
///
/// Rows are written in the order pushed; a chunk file is opened at its first row, so
/// there is never an empty chunk. [`ChunkWriter::finish`] returns the [`Manifest`]; save
/// it with [`Manifest::save`].
///
/// Each full chunk is written on a worker of rayon's pool while the next one fills, so
/// .xlsx chunks (CPU-bound: XML and deflate) are written on every core; a few chunks are
/// in flight at most, so memory stays flat. A .csv chunk is encoded as its rows arrive
/// and written in one piece, its SHA-256 taken from memory. Files are not fsynced one by
/// one: with [`ChunkWriter::durable`] (the default) `finish` syncs them all at the end,
/// many at once so the file system commits them together, then the directory.
pub struct ChunkWriter {
    dir: PathBuf,
    stem: String,
    header: Row,
    rows_per_chunk: u64,
    format: Format,
    options: WriteOptions,
    durable: bool,
    open: Option<Open>,
    /// Every chunk started, in order; `bytes` and `sha256` are filled in as workers finish.
    done: Vec<ChunkEntry>,
    rows: u64,
    results: (mpsc::Sender<Written>, mpsc::Receiver<Written>),
    in_flight: usize,
    /// The most bytes a .csv chunk has taken so far (plus an eighth).
    csv_bytes: usize,
}

impl ChunkWriter {
    /// A writer of chunks into `dir` (created when missing). Existing files of the
    /// same names are replaced.
    pub fn new(
        dir: &Path,
        stem: &str,
        header: &Row,
        rows_per_chunk: u64,
        format: Format,
        options: WriteOptions,
    ) -> Result<ChunkWriter, ChunkError> {
        if rows_per_chunk == 0 {
            return Err(ChunkError::ZeroRowsPerChunk);
        }
        if stem.is_empty() || stem.contains(['/', '\\']) || stem == "." || stem == ".." {
            return Err(ChunkError::BadStem(stem.to_string()));
        }
        std::fs::create_dir_all(dir).map_err(io_err("create the directory", dir))?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            header: header.clone(),
            rows_per_chunk,
            format,
            options,
            durable: true,
            open: None,
            done: Vec::new(),
            rows: 0,
            results: mpsc::channel(),
            in_flight: 0,
            csv_bytes: 0,
        })
    }

    /// Whether [`ChunkWriter::finish`] makes the files durable (fsyncs every chunk file
    /// and the directory) before it returns; `true` unless turned off. Keep it on when
    /// the manifest is about to be relied on after a crash (a run's journal); a plain
    /// `split` may turn it off.
    pub fn durable(mut self, durable: bool) -> ChunkWriter {
        self.durable = durable;
        self
    }

    /// Appends a row; its `number` is its source row. Starts a new chunk file when the
    /// current one is full.
    ///
    /// # Errors
    /// A chunk could not be encoded or written (possibly an earlier chunk, written in
    /// the background).
    pub fn push(&mut self, row: &Row) -> Result<(), ChunkError> {
        let width = self.header.len();
        let mut open = self.take_open()?;
        let path = || self.dir.join(&open.entry.file);
        match &mut open.body {
            Body::Csv(csv) => write_record(csv, row, width, &path())?,
            Body::Raw(bytes) => {
                let mut csv = csv_encoder(&self.options, 1, 256);
                write_record(&mut csv, row, width, &path())?;
                let encoded = csv.into_inner().map_err(|e| ChunkError::Io {
                    action: "write",
                    path: path(),
                    source: e.into_error(),
                })?;
                bytes.extend_from_slice(&encoded);
            }
            Body::Xlsx(rows) => rows.push(fit(row, width).unwrap_or_else(|| row.clone())),
        }
        open.entry.add_source_row(row.number);
        self.rows += 1;
        self.put_back(open)
    }

    /// Appends one .csv record as it is: `record` holds its encoded fields (any
    /// quoting kept) and its line end, in the chunk's encoding and with its delimiter,
    /// as [`elma_import_sheet::RawCsv::next_record`] gives them; `number` is its source
    /// row. Nothing is decoded or re-quoted, and the record keeps its own width (unlike
    /// [`ChunkWriter::push`], which pads a short row to the header's width). Starts a
    /// new chunk file when the current one is full.
    ///
    /// # Errors
    /// The chunks are .xlsx ([`ChunkError::RawIntoXlsx`]), or a chunk could not be
    /// written (possibly an earlier one, written in the background).
    pub fn push_raw(&mut self, number: u64, record: &[u8]) -> Result<(), ChunkError> {
        if self.format == Format::Xlsx {
            return Err(ChunkError::RawIntoXlsx(self.format.as_str()));
        }
        let mut open = self.take_open()?;
        match &mut open.body {
            Body::Raw(bytes) => bytes.extend_from_slice(record),
            Body::Csv(csv) => {
                let csv = std::mem::replace(csv, Box::new(csv_encoder(&self.options, 1, 0)));
                let mut bytes = csv.into_inner().map_err(|e| ChunkError::Io {
                    action: "write",
                    path: self.dir.join(&open.entry.file),
                    source: e.into_error(),
                })?;
                bytes.extend_from_slice(record);
                open.body = Body::Raw(bytes);
            }
            Body::Xlsx(_) => return Err(ChunkError::RawIntoXlsx(self.format.as_str())),
        }
        open.entry.add_source_row(number);
        self.rows += 1;
        self.put_back(open)
    }

    /// The chunk being filled, taken out of `self`; a new one (its header written)
    /// when there is none.
    fn take_open(&mut self) -> Result<Open, ChunkError> {
        if let Some(open) = self.open.take() {
            return Ok(open);
        }
        let index = u32::try_from(self.done.len() + 1).unwrap_or(u32::MAX);
        let file = format!("{}-{index:05}.{}", self.stem, self.format.as_str());
        let body = match self.format {
            Format::Csv => {
                // Room for a chunk as big as the biggest yet, so the buffer never grows.
                let mut csv = csv_encoder(&self.options, self.rows_per_chunk, self.csv_bytes);
                write_record(&mut csv, &self.header, self.header.len(), &self.dir.join(&file))?;
                Body::Csv(Box::new(csv))
            }
            Format::Xlsx => Body::Xlsx(Vec::with_capacity(self.rows_per_chunk.min(4096) as usize)),
        };
        let entry = ChunkEntry {
            index,
            file,
            first_row: 0,
            last_row: 0,
            rows: 0,
            bytes: 0,
            sha256: String::new(),
            source_ranges: Vec::new(),
        };
        Ok(Open { entry, body })
    }

    /// Puts the chunk being filled back, or hands it to a worker when it is full.
    fn put_back(&mut self, open: Open) -> Result<(), ChunkError> {
        let full = open.entry.rows >= self.rows_per_chunk;
        self.open = Some(open);
        if full {
            self.close()?;
        }
        Ok(())
    }

    /// Data rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Hands the open chunk to a worker, first waiting for one when enough are in flight.
    fn close(&mut self) -> Result<(), ChunkError> {
        let Some(Open { entry, body }) = self.open.take() else { return Ok(()) };
        let len = match &body {
            Body::Csv(csv) => csv.get_ref().len(),
            Body::Raw(bytes) => bytes.len(),
            Body::Xlsx(_) => 0,
        };
        self.csv_bytes = self.csv_bytes.max(len + len / 8);
        let limit = rayon::current_num_threads() + 2;
        while self.in_flight >= limit {
            self.collect_one()?;
        }
        let path = self.dir.join(&entry.file);
        let slot = self.done.len();
        self.done.push(entry);
        let job = Job { path, body, header: self.header.clone(), options: self.options.clone() };
        let sender = self.results.0.clone();
        self.in_flight += 1;
        rayon::spawn(move || {
            // The receiver lives as long as the writer; a writer dropped without
            // `finish` no longer wants the answer.
            let _ = sender.send((slot, job.write()));
        });
        Ok(())
    }

    /// Waits for one worker and records its file's size and hash.
    fn collect_one(&mut self) -> Result<(), ChunkError> {
        let Ok((slot, result)) = self.results.1.recv() else {
            // Unreachable while `self` holds a sender; treat it as nothing in flight.
            self.in_flight = 0;
            return Ok(());
        };
        self.in_flight -= 1;
        let (bytes, sha256) = result?;
        let entry = &mut self.done[slot];
        entry.bytes = bytes;
        entry.sha256 = sha256;
        Ok(())
    }

    /// Finishes the last chunk, waits for every file (and makes them durable, see
    /// [`ChunkWriter::durable`]) and returns the manifest (not yet saved).
    ///
    /// # Errors
    /// The first chunk that could not be written, or a failed sync.
    pub fn finish(mut self) -> Result<Manifest, ChunkError> {
        // On an error the workers still writing are waited for as the writer drops.
        self.close()?;
        let mut first_error = None;
        while self.in_flight > 0 {
            if let Err(e) = self.collect_one() {
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if self.durable {
            let paths: Vec<PathBuf> = self.done.iter().map(|c| self.dir.join(&c.file)).collect();
            sync_all(&paths)?;
            sync_dir(&self.dir)?;
        }
        Ok(Manifest {
            format: self.format,
            rows_per_chunk: self.rows_per_chunk,
            rows: self.rows,
            chunks: std::mem::take(&mut self.done),
        })
    }

    /// Waits for the workers still writing, ignoring their results (when dropped).
    fn wait_all(&mut self) {
        while self.in_flight > 0 {
            let _ = self.collect_one();
        }
    }
}

impl Drop for ChunkWriter {
    /// A writer dropped after an error waits for the chunk files still being written, so
    /// no worker writes into the directory once the writer is gone (a caller clearing
    /// the directory would race with it).
    fn drop(&mut self) {
        self.wait_all();
    }
}

/// One chunk file to write on a worker.
struct Job {
    path: PathBuf,
    body: Body,
    header: Row,
    options: WriteOptions,
}

impl Job {
    /// Writes the file; its size and SHA-256.
    fn write(self) -> Result<(u64, String), ChunkError> {
        match self.body {
            Body::Csv(csv) => {
                let bytes = csv.into_inner().map_err(|e| ChunkError::Io {
                    action: "write",
                    path: self.path.clone(),
                    source: e.into_error(),
                })?;
                write_bytes(&self.path, &bytes)
            }
            Body::Raw(bytes) => write_bytes(&self.path, &bytes),
            Body::Xlsx(rows) => {
                let mut writer = elma_import_sheet::create(&self.path, Format::Xlsx, &self.options)?;
                // Synced with the others at the end, when the chunks are to be durable.
                writer.set_durable(false);
                writer.write_row(&self.header)?;
                for row in &rows {
                    writer.write_row(row)?;
                }
                drop(rows);
                writer.finish()?;
                hash_file(&self.path)
            }
        }
    }
}

/// Writes `bytes` to `path` in one piece, whole or not at all (see
/// [`elma_import_sheet::AtomicFile`]; synced with the others at the end, when the chunks
/// are to be durable); their size and SHA-256.
fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(u64, String), ChunkError> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let mut file = elma_import_sheet::AtomicFile::create(path).map_err(io_err("write", path))?;
    file.set_durable(false);
    file.write_all(bytes).and_then(|()| file.finish()).map_err(io_err("write", path))?;
    Ok((bytes.len() as u64, sha256))
}

/// A .csv encoder into memory, as the sheet crate's .csv writer writes: quotes only
/// where needed, records of any width.
fn csv_encoder(options: &WriteOptions, rows: u64, bytes: usize) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(options.delimiter)
        .quote_style(csv::QuoteStyle::Necessary)
        .flexible(true)
        .from_writer(Vec::with_capacity(bytes.max((rows.min(4096) as usize) * 128)))
}

/// Encodes `row` with exactly `width` fields when it has fewer (padded with empty ones)
/// or more but blank ones past `width`; a row holding data past `width` keeps all of it.
/// An empty record is written as `""` so the row is not lost.
fn write_record(
    csv: &mut csv::Writer<Vec<u8>>,
    row: &Row,
    width: usize,
    path: &Path,
) -> Result<(), ChunkError> {
    let fields = if row.len() > width && row.width() > width { row.len() } else { width };
    let result = if fields == 0 {
        csv.write_record([""])
    } else {
        csv.write_record((0..fields).map(|i| row.get(i).text.as_bytes()))
    };
    result.map_err(|e| ChunkError::Io { action: "write", path: path.to_path_buf(), source: e.into() })
}

/// Fsyncs every file, many at once: the file system commits concurrent syncs together,
/// so a thousand files cost about what a few do one after another.
fn sync_all(paths: &[PathBuf]) -> Result<(), ChunkError> {
    const THREADS: usize = 32;
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<ChunkError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..THREADS.min(paths.len()) {
            scope.spawn(|| {
                while let Some(path) = paths.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let synced = File::open(path).and_then(|f| f.sync_all());
                    if let Err(e) = synced {
                        let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(io_err("sync", path)(e));
                        return;
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Fsyncs a directory, so the names of the files in it survive a crash (Unix; elsewhere
/// directories cannot be opened for it and this does nothing).
fn sync_dir(dir: &Path) -> Result<(), ChunkError> {
    if cfg!(unix) {
        File::open(dir).and_then(|f| f.sync_all()).map_err(io_err("sync", dir))?;
    }
    Ok(())
}

/// `row` with exactly `width` cells when it has fewer (padded with empty cells) or
/// more but blank ones past `width` (cut), so every record of a .csv chunk has the
/// header's width; `None` when the row already fits or holds data past `width`.
fn fit(row: &Row, width: usize) -> Option<Row> {
    let len = row.len();
    if len == width || (len > width && row.width() > width) {
        return None;
    }
    let mut out = Row::with_capacity(row.number, width, row.text_len());
    for i in 0..width {
        let cell = row.get(i);
        out.push(cell.kind, cell.text, cell.number);
    }
    Some(out)
}

/// Size and SHA-256 (lowercase hex) of a file, read in blocks.
pub fn hash_file(path: &Path) -> Result<(u64, String), ChunkError> {
    let mut file = File::open(path).map_err(io_err("read", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err("read", path)(e)),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}
