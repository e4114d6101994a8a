//! Reading one batch ahead on a thread of its own, so that parsing the next batch
//! overlaps whatever the caller does with this one (validation, writing chunks).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use crate::csv_read::CsvReader;
use crate::pool::RowPool;
use crate::{Row, SheetError};

/// Batches queued ahead of the caller: enough to keep both sides busy, little memory.
const AHEAD: usize = 2;

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

/// A [`CsvReader`] running on its own thread.
pub(crate) struct ReadAhead {
    header: Row,
    describe: String,
    total: u64,
    consumed: Arc<AtomicU64>,
    batches: Batches,
    rows: RowPool,
}

impl ReadAhead {
    /// Moves `reader` (its header already read) to a new thread that reads ahead.
    pub(crate) fn spawn(mut reader: CsvReader, path: &std::path::Path) -> Result<ReadAhead, SheetError> {
        let header = reader.header().clone();
        let describe = reader.describe();
        let (_, total) = reader.progress();
        let rows = reader.pool().clone();
        let consumed = Arc::new(AtomicU64::new(0));
        let progress = Arc::clone(&consumed);
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
        Ok(ReadAhead { header, describe, total, consumed, batches: Batches::new(rx), rows })
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
        let read = if self.batches.is_done() { self.total } else { self.consumed.load(Ordering::Relaxed) };
        (read.min(self.total), self.total)
    }

    pub(crate) fn describe(&self) -> String {
        self.describe.clone()
    }
}
