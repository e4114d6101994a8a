//! A reader running on a thread of its own, one batch or two ahead of the caller, so
//! that parsing the next batch overlaps whatever the caller does with this one
//! (validation, writing chunks). The one-parser .csv reader and the .xlsx reader are
//! both a [`ReadAhead`]: they differ only in what their thread does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use crate::csv_read::CsvReader;
use crate::error::SheetError;
use crate::pool::RowPool;
use crate::row::Row;

/// Batches queued ahead of the caller: enough to keep both sides busy, little memory.
pub(crate) const AHEAD: usize = 2;

/// What a reader thread sends: a batch of rows, or the error that ended it.
pub(crate) type Message = Result<Vec<Row>, SheetError>;

/// The receiving end of a reader thread: batches in order, then the end (the thread
/// hung up) or one error, after which it stays at its end.
pub(crate) struct Batches {
    rx: Receiver<Message>,
    done: bool,
}

impl Batches {
    pub(crate) fn new(rx: Receiver<Message>) -> Batches {
        Batches { rx, done: false }
    }

    pub(crate) fn next(&mut self) -> Result<Option<Vec<Row>>, SheetError> {
        if self.done {
            return Ok(None);
        }
        match self.rx.recv() {
            Ok(Ok(rows)) => Ok(Some(rows)),
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
            Err(_) => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// Whether the end (or an error) was reached.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }
}

/// The caller's end of a reader thread: the header, the batches the thread sends, the
/// rows handed back for it to fill again, and how far into the file it is.
pub(crate) struct ReadAhead {
    header: Row,
    describe: String,
    /// The file's size in bytes.
    total: u64,
    /// Bytes the thread has read so far (it stores them as it goes).
    read: Arc<AtomicU64>,
    batches: Batches,
    rows: RowPool,
}

impl ReadAhead {
    /// The caller's end of a thread that sends on the other end of `batches`, fills rows
    /// from `rows` and stores its progress in `read`.
    pub(crate) fn new(
        header: Row,
        describe: String,
        total: u64,
        read: Arc<AtomicU64>,
        batches: Receiver<Message>,
        rows: RowPool,
    ) -> ReadAhead {
        ReadAhead { header, describe, total, read, batches: Batches::new(batches), rows }
    }

    /// Moves `reader` (its header already read) to a new thread that reads ahead.
    pub(crate) fn csv(mut reader: CsvReader, path: &std::path::Path) -> Result<ReadAhead, SheetError> {
        let header = reader.header().clone();
        let describe = reader.describe();
        let (_, total) = reader.progress();
        let rows = reader.pool().clone();
        let read = Arc::new(AtomicU64::new(0));
        let progress = Arc::clone(&read);
        let (tx, rx) = sync_channel(AHEAD);
        std::thread::Builder::new()
            .name("csv-reader".to_string())
            .spawn(move || loop {
                let batch = reader.next_batch();
                progress.store(reader.progress().0, Ordering::Relaxed);
                let (message, last) = match batch {
                    Ok(Some(rows)) => (Ok(rows), false),
                    Ok(None) => return,
                    Err(e) => (Err(e), true),
                };
                // A closed channel means the caller dropped the reader: stop.
                if tx.send(message).is_err() || last {
                    return;
                }
            })
            .map_err(|source| SheetError::Io { path: path.to_path_buf(), source })?;
        Ok(ReadAhead::new(header, describe, total, read, rx, rows))
    }

    pub(crate) fn header(&self) -> &Row {
        &self.header
    }

    pub(crate) fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SheetError> {
        self.batches.next()
    }

    pub(crate) fn recycle(&self, batch: Vec<Row>) {
        self.rows.give(batch);
    }

    pub(crate) fn progress(&self) -> (u64, u64) {
        let read = if self.batches.is_done() { self.total } else { self.read.load(Ordering::Relaxed) };
        (read.min(self.total), self.total)
    }

    pub(crate) fn describe(&self) -> String {
        self.describe.clone()
    }
}
