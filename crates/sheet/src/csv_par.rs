//! Parsing a large .csv on every core: the file is cut into byte ranges at record
//! boundaries, each range is parsed on a worker thread, and the rows come out in file
//! order with the numbers the sequential reader gives them.
//!
//! A boundary is found as polars and simdcsv find one: from a guessed offset, the first
//! line end after which the next lines parse cleanly as records (a quote opens only at
//! a field's start and closes before a delimiter or a line end), so a line break inside
//! a quoted field is passed over. The guess is then **verified**: range 0 starts at the
//! header, and a range that starts at a true boundary and ends outside quotes ends at a
//! true boundary too. If a range ends inside quotes (a guess that fell into a quoted
//! field), its last record is dropped and the rest of the file is read by the
//! sequential parser from that record on, so the rows are always exactly the
//! sequential reader's.
//!
//! Rows of a range are numbered from 0 (blank lines counting as rows, as the sequential
//! reader counts them) and shifted when handed out, once the ranges before are done;
//! a boundary is never put after a blank line, so no blank line falls between two
//! ranges uncounted.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

use crate::csv_read::{CsvReader, Layout};
use crate::error::SheetError;
use crate::options::{BatchWork, WorkedBatch};
use crate::row::Row;

/// Bytes per range.
pub(crate) const RANGE_BYTES: u64 = 1 << 20;
/// Files smaller than this are read by one parser (on a thread of its own).
pub(crate) const PARALLEL_ABOVE: u64 = 4 * RANGE_BYTES;
/// A range longer than this many guesses (no usable line end found for that long)
/// leaves the whole file to one parser, to keep memory flat.
const MAX_RANGE_GUESSES: u64 = 64;
/// Bytes looked at from a guessed offset to find a boundary.
const PROBE: usize = 64 * 1024;
/// Records that must parse cleanly after a candidate boundary.
const CHECK_LINES: usize = 8;

/// One range's outcome.
struct Parsed {
    /// File offset where the range ends.
    end: u64,
    /// Batches of rows, numbered within the range (range 0: already in file numbers),
    /// each with what the batch work found in it.
    batches: Vec<WorkedBatch>,
    /// The number the range's next record would have got.
    next_number: u64,
    /// The error that stopped the range (numbered within the range).
    error: Option<SheetError>,
    /// Read the rest of the file sequentially from here.
    fallback: Option<Fallback>,
}

/// Where the sequential parser takes over.
#[derive(Debug, Clone, Copy)]
struct Fallback {
    /// File offset of a record boundary (or of the line end before it).
    offset: u64,
    /// The number (within the range) the record there gets.
    number: u64,
    /// A record was read before it in the range (so with `\r\n` line ends the parser
    /// stands on the previous record's `\n`).
    after_record: bool,
}

struct Shared {
    /// Ranges handed out to the caller so far.
    delivered: Mutex<usize>,
    moved: Condvar,
    stop: AtomicBool,
}

impl Shared {
    /// Tells every worker to stop, waking those waiting for the caller. It holds the lock
    /// the workers check `stop` under, so none misses it between its check and its wait.
    fn stop(&self) {
        let _delivered = self.delivered.lock().unwrap_or_else(|p| p.into_inner());
        self.stop.store(true, Ordering::Relaxed);
        self.moved.notify_all();
    }
}

/// A .csv parsed in ranges on worker threads.
pub(crate) struct ParCsv {
    header: Row,
    describe: String,
    layout: Layout,
    /// Where each range starts; the last ends at the end of the file.
    ranges: usize,
    rx: Receiver<(usize, Parsed)>,
    pending: BTreeMap<usize, Parsed>,
    next_range: usize,
    /// Added to the numbers of the next range's rows.
    base: u64,
    ready: VecDeque<Result<WorkedBatch, SheetError>>,
    sequential: Option<CsvReader>,
    shared: Arc<Shared>,
    consumed: u64,
    done: bool,
    /// Done on each batch by the worker that parsed it.
    work: Option<BatchWork>,
    /// Until the workers start (at the first batch asked for, so that
    /// [`ParCsv::set_work`] comes first): where the ranges start, how many workers to
    /// run, and their end of the channel (dropped once they have it, so that the
    /// channel closes when the last worker ends).
    unstarted: Option<Unstarted>,
}

struct Unstarted {
    starts: Vec<u64>,
    workers: usize,
    tx: Sender<(usize, Parsed)>,
}

impl ParCsv {
    /// Where ranges of about `range_bytes` start (the first at the header), or `None`
    /// when the file cannot be cut into ranges of a sensible size.
    pub(crate) fn plan(reader: &CsvReader, range_bytes: u64) -> Result<Option<Vec<u64>>, SheetError> {
        let layout = reader.layout();
        let io = |source| SheetError::Io { path: layout.path.clone(), source };
        let mut file = File::open(&layout.path).map_err(io)?;
        let mut starts = vec![layout.start];
        let mut guess = layout.start + range_bytes;
        while guess < layout.total {
            if let Some(b) = boundary(&mut file, guess, &layout).map_err(io)? {
                if b > *starts.last().unwrap_or(&0) {
                    if b - starts.last().unwrap_or(&0) > MAX_RANGE_GUESSES * range_bytes {
                        return Ok(None);
                    }
                    starts.push(b);
                }
            }
            guess += range_bytes;
        }
        let last = *starts.last().unwrap_or(&0);
        if layout.total - last > MAX_RANGE_GUESSES * range_bytes || starts.len() < 2 {
            return Ok(None);
        }
        Ok(Some(starts))
    }

    /// A parallel reader of the file `reader` has opened (its header read), in the
    /// ranges starting at `starts` (from [`ParCsv::plan`]), on `workers` threads started
    /// with the first batch.
    pub(crate) fn new(reader: CsvReader, starts: Vec<u64>, workers: usize) -> ParCsv {
        let layout = reader.layout();
        let ranges = starts.len();
        let shared = Arc::new(Shared {
            delivered: Mutex::new(0),
            moved: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let (tx, rx) = channel();
        ParCsv {
            header: reader.header().clone(),
            describe: reader.describe(),
            layout,
            ranges,
            rx,
            pending: BTreeMap::new(),
            next_range: 0,
            base: 0,
            ready: VecDeque::new(),
            sequential: None,
            shared,
            consumed: 0,
            done: false,
            work: None,
            unstarted: Some(Unstarted { starts, workers, tx }),
        }
    }

    /// Has every worker run `work` on each batch it parses (ignored once the workers
    /// have started).
    pub(crate) fn set_work(&mut self, work: BatchWork) {
        if self.unstarted.is_some() {
            self.work = Some(work);
        }
    }

    /// Starts the workers, never more than `workers + 2` ranges ahead of the caller.
    fn start(&mut self) -> Result<(), SheetError> {
        let Some(Unstarted { starts, workers, tx }) = self.unstarted.take() else { return Ok(()) };
        let starts = Arc::new(starts);
        let next = Arc::new(AtomicUsize::new(0));
        let window = workers + 2;
        for i in 0..workers {
            let (layout, starts, shared, next, tx, work) = (
                self.layout.clone(),
                Arc::clone(&starts),
                Arc::clone(&self.shared),
                Arc::clone(&next),
                tx.clone(),
                self.work.clone(),
            );
            let worker = Worker { layout, starts, window, shared, next, tx, work };
            std::thread::Builder::new()
                .name(format!("csv-range-{i}"))
                .spawn(move || worker.run())
                .map_err(|source| SheetError::Io { path: self.layout.path.clone(), source })?;
        }
        Ok(())
    }

    pub(crate) fn header(&self) -> &Row {
        &self.header
    }

    pub(crate) fn describe(&self) -> String {
        self.describe.clone()
    }

    pub(crate) fn recycle(&self, batch: Vec<Row>) {
        self.layout.rows.give(batch);
    }

    pub(crate) fn progress(&self) -> (u64, u64) {
        let total = self.layout.total;
        match &self.sequential {
            Some(r) => r.progress(),
            None if self.done => (total, total),
            None => (self.consumed.min(total), total),
        }
    }

    pub(crate) fn next_batch(&mut self) -> Result<Option<WorkedBatch>, SheetError> {
        if let Err(e) = self.start() {
            self.finish();
            return Err(e);
        }
        loop {
            if let Some(next) = self.ready.pop_front() {
                return match next {
                    Ok(batch) => Ok(Some(batch)),
                    Err(e) => {
                        self.finish();
                        Err(e)
                    }
                };
            }
            if let Some(reader) = self.sequential.as_mut() {
                return Ok(reader.next_batch()?.map(|rows| (rows, None)));
            }
            if self.done || self.next_range >= self.ranges {
                self.finish();
                return Ok(None);
            }
            let parsed = self.take_range()?;
            self.accept(parsed)?;
        }
    }

    /// Waits for the next range in order.
    fn take_range(&mut self) -> Result<Parsed, SheetError> {
        loop {
            if let Some(p) = self.pending.remove(&self.next_range) {
                return Ok(p);
            }
            match self.rx.recv() {
                Ok((k, p)) => {
                    self.pending.insert(k, p);
                }
                Err(_) => {
                    self.finish();
                    let source = std::io::Error::other("a .csv reader thread stopped");
                    return Err(SheetError::Io { path: self.layout.path.clone(), source });
                }
            }
        }
    }

    /// Queues a range's rows in file numbers and moves on.
    fn accept(&mut self, parsed: Parsed) -> Result<(), SheetError> {
        let base = self.base;
        for (mut batch, worked) in parsed.batches {
            if base > 0 {
                batch.iter_mut().for_each(|r| r.number += base);
            }
            self.ready.push_back(Ok((batch, worked)));
        }
        if let Some(e) = parsed.error {
            self.ready.push_back(Err(shift(e, base)));
        }
        self.consumed = parsed.end;
        self.base = base + parsed.next_number;
        self.next_range += 1;
        {
            let mut delivered = self.shared.delivered.lock().unwrap_or_else(|p| p.into_inner());
            *delivered = self.next_range;
        }
        self.shared.moved.notify_all();
        if let Some(f) = parsed.fallback {
            self.stop_workers();
            let reader = CsvReader::rest(&self.layout, f.offset, base + f.number, f.after_record)?;
            self.sequential = Some(reader);
        }
        Ok(())
    }

    fn stop_workers(&self) {
        self.shared.stop();
    }

    fn finish(&mut self) {
        self.done = true;
        self.ready.clear();
        self.stop_workers();
    }
}

impl Drop for ParCsv {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

/// A row number of an error found within a range, in file numbers.
fn shift(e: SheetError, base: u64) -> SheetError {
    match e {
        SheetError::Csv { path, row, source } => SheetError::Csv { path, row: row + base, source },
        SheetError::Undecodable { path, row, offset, encoding, hint } => {
            SheetError::Undecodable { path, row: row + base, offset, encoding, hint }
        }
        other => other,
    }
}

/// A worker: parses ranges in turn, never more than `window` ahead of the caller.
struct Worker {
    layout: Layout,
    starts: Arc<Vec<u64>>,
    window: usize,
    shared: Arc<Shared>,
    next: Arc<AtomicUsize>,
    tx: Sender<(usize, Parsed)>,
    work: Option<BatchWork>,
}

/// Stops the other workers when the one holding it panics (in the batch work, say), so
/// none waits for a range that will never be handed out: they end, the channel
/// closes, and the caller hears that a reader thread stopped.
struct StopOnPanic<'a>(&'a Shared);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

impl Worker {
    fn run(self) {
        let Worker { layout, starts, window, shared, next, tx, work } = self;
        let _stop_on_panic = StopOnPanic(&shared);
        let Ok(mut file) = File::open(&layout.path) else {
            // The caller sees the channel close and reports it.
            return;
        };
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&start) = starts.get(k) else { return };
            {
                let mut delivered = shared.delivered.lock().unwrap_or_else(|p| p.into_inner());
                while k >= *delivered + window && !shared.stop.load(Ordering::Relaxed) {
                    delivered = shared.moved.wait(delivered).unwrap_or_else(|p| p.into_inner());
                }
            }
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            let end = starts.get(k + 1).copied().unwrap_or(layout.total);
            // Read into fresh capacity: zeroing each range's buffer first was a few
            // percent of parsing it.
            let len = (end - start) as usize;
            let mut bytes = Vec::with_capacity(len);
            let read = file
                .seek(SeekFrom::Start(start))
                .and_then(|_| (&mut file).take(len as u64).read_to_end(&mut bytes));
            let read = read.and_then(|n| {
                if n == len {
                    Ok(())
                } else {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file got shorter while read",
                    ))
                }
            });
            let parsed = match read {
                Ok(()) => parse_bytes(&layout, k, start, end, bytes, work.as_ref()),
                Err(e) => Parsed {
                    end,
                    batches: Vec::new(),
                    next_number: 0,
                    error: Some(SheetError::Io { path: layout.path.clone(), source: e }),
                    fallback: None,
                },
            };
            if tx.send((k, parsed)).is_err() {
                return;
            }
        }
    }
}

fn parse_bytes(
    layout: &Layout,
    k: usize,
    start: u64,
    end: u64,
    bytes: Vec<u8>,
    work: Option<&BatchWork>,
) -> Parsed {
    let mut reader = CsvReader::range(layout, bytes, start, u64::from(k == 0));
    let mut parsed = Parsed { end, batches: Vec::new(), next_number: 0, error: None, fallback: None };
    if k == 0 {
        // The header, read already by the caller's reader.
        if let Err(e) = reader.read_row_at(&mut Row::new(1)) {
            parsed.error = Some(e);
            return parsed;
        }
    }
    let batch_rows = layout.batch_rows;
    let mut batch: Vec<Row> = Vec::with_capacity(batch_rows.min(1 << 14));
    let mut last: Option<(u64, u64)> = None;
    let mut records = 0u64;
    // Room for a row like the last one, so filling a row allocates twice, not per cell.
    let (mut cells, mut bytes) = (16, 256);
    loop {
        let before = reader.next_number();
        let mut row = reader.spare_row(cells, bytes);
        match reader.read_row_at(&mut row) {
            Ok(Some(at)) => {
                last = Some((at, before));
                records += 1;
                cells = cells.max(row.len());
                bytes = bytes.max(row.text_len() + row.text_len() / 4);
                if batch.len() == batch_rows {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_rows.min(1 << 14)));
                    parsed.batches.push(worked(full, work));
                }
                batch.push(row);
            }
            Ok(None) => break,
            Err(e) => {
                parsed.error = Some(e);
                break;
            }
        }
    }
    parsed.next_number = reader.next_number();
    // A range that ends before the file does must end outside quotes; else its end was
    // no boundary, and its last record is read again by the sequential parser.
    if parsed.error.is_none() && end < layout.total {
        if let Some((at, number)) = last {
            let bytes = reader.into_bytes();
            if !ends_outside_quotes(&bytes[at as usize..], layout.delimiter) {
                batch.pop();
                parsed.fallback =
                    Some(Fallback { offset: start + at, number, after_record: records > 1 || k == 0 });
                parsed.end = start + at;
            }
        }
    }
    if !batch.is_empty() {
        parsed.batches.push(worked(batch, work));
    }
    parsed
}

/// A batch with what `work` found in it.
fn worked(batch: Vec<Row>, work: Option<&BatchWork>) -> WorkedBatch {
    let found = work.map(|w| w(&batch));
    (batch, found)
}

/// The first offset at or after `guess` (within [`PROBE`] bytes) that follows a line
/// end ending a non-blank line and from which the next lines parse cleanly.
fn boundary(file: &mut File, guess: u64, layout: &Layout) -> std::io::Result<Option<u64>> {
    if guess >= layout.total {
        return Ok(None);
    }
    let len = (layout.total - guess).min(PROBE as u64) as usize;
    let mut window = vec![0u8; len];
    file.seek(SeekFrom::Start(guess))?;
    file.read_exact(&mut window)?;
    let mut i = 0;
    while let Some(pos) = window[i..].iter().position(|&b| b == b'\n') {
        let q = i + pos;
        i = q + 1;
        // The line end must be the file's own (`\r\n` or `\n`, as on the header line):
        // the sequential parser counts a stray one differently, and ranges must count
        // as it does.
        let own_style = q > 0 && (window[q - 1] == b'\r') == layout.crlf;
        let blank_before =
            q == 0 || window[q - 1] == b'\n' || (window[q - 1] == b'\r' && (q < 2 || window[q - 2] == b'\n'));
        if !own_style || blank_before || i >= window.len() {
            continue;
        }
        if parses_cleanly(&window[i..], layout.delimiter) {
            return Ok(Some(guess + i as u64));
        }
    }
    Ok(None)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: its end, or the first of an escaped pair.
    QuoteInQuoted,
}

/// One byte of RFC 4180 as the csv crate reads it; `None` when the byte is not
/// expected there by a well-formed file (a quote inside an unquoted field, text
/// right after a closing quote).
fn step(state: State, b: u8, delimiter: u8) -> (State, bool) {
    match (state, b) {
        (State::Quoted, b'"') => (State::QuoteInQuoted, true),
        (State::Quoted, _) => (State::Quoted, true),
        (State::QuoteInQuoted, b'"') => (State::Quoted, true),
        (_, b'\n' | b'\r') => (State::FieldStart, true),
        (_, d) if d == delimiter => (State::FieldStart, true),
        (State::FieldStart, b'"') => (State::Quoted, true),
        (State::Unquoted, b'"') => (State::Unquoted, false),
        (State::QuoteInQuoted, _) => (State::Unquoted, false),
        _ => (State::Unquoted, true),
    }
}

/// Whether `bytes`, read from a record's start, hold [`CHECK_LINES`] lines (or all of
/// `bytes`) without a byte a well-formed file would not have there.
fn parses_cleanly(bytes: &[u8], delimiter: u8) -> bool {
    let mut state = State::FieldStart;
    let mut lines = 0;
    for &b in bytes {
        if b == b'\n' && state != State::Quoted {
            lines += 1;
            if lines >= CHECK_LINES {
                return true;
            }
        }
        let (next, fine) = step(state, b, delimiter);
        if !fine {
            return false;
        }
        state = next;
    }
    true
}

/// Whether a record read from its start to the end of `bytes` ends outside quotes.
fn ends_outside_quotes(bytes: &[u8], delimiter: u8) -> bool {
    let state = bytes.iter().fold(State::FieldStart, |s, &b| step(s, b, delimiter).0);
    state != State::Quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_break_inside_quotes_is_no_boundary() {
        // From the middle of a quoted field, the next line end is inside the quotes: the
        // text after it starts with `b"` (a quote mid-field).
        assert!(!parses_cleanly(b"b\",2\nc,3\n", b','));
        assert!(parses_cleanly(b"c,3\nd,\"x\"\"y\"\n", b','));
        assert!(!parses_cleanly(b"\"x\"y,1\n", b','), "text after a closing quote");
    }

    #[test]
    fn quotes_are_tracked_to_the_end_of_a_record() {
        assert!(ends_outside_quotes(b"a,\"b\nc\"\n", b','));
        assert!(!ends_outside_quotes(b"a,\"b\n", b','));
        assert!(ends_outside_quotes(b"\n\"a\"\"\",b\r\n", b','));
        assert!(ends_outside_quotes(b"a;\"x,y\"\n", b';'));
    }
}
