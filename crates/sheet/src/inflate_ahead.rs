//! One zip entry inflated on a thread of its own, a few blocks ahead of its reader: the
//! streaming .xlsx engine reads its worksheet through it, so inflating the sheet runs
//! beside parsing it instead of before each piece (about an eighth of the parsing
//! thread's time on an Excel-saved sheet).

use std::io::{self, BufRead, BufReader, Read, Seek};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use calamine::XlsxError;

/// Bytes per block sent.
const BLOCK: usize = 256 * 1024;
/// Blocks inflated ahead of the reader.
const AHEAD: usize = 4;

/// The reading end: a `BufRead` over the blocks in order.
pub(crate) struct Inflated {
    blocks: Receiver<io::Result<Vec<u8>>>,
    /// Blocks read, sent back to be filled again.
    spent: SyncSender<Vec<u8>>,
    block: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Starts inflating `entry` of the zip that `open` opens, on a new thread.
pub(crate) fn inflate_ahead<R, F>(open: F, entry: String) -> Result<Inflated, XlsxError>
where
    R: Read + Seek,
    F: FnOnce() -> io::Result<R> + Send + 'static,
{
    let (tx, blocks) = sync_channel(AHEAD);
    let (spent, reuse) = sync_channel::<Vec<u8>>(AHEAD + 2);
    std::thread::Builder::new().name("xlsx-inflate".to_string()).spawn(move || {
        let result = (|| -> io::Result<()> {
            let mut zip = zip::ZipArchive::new(BufReader::new(open()?)).map_err(io::Error::other)?;
            let mut part = zip.by_name(&entry).map_err(io::Error::other)?;
            loop {
                let mut block = reuse.try_recv().unwrap_or_else(|_| Vec::with_capacity(BLOCK));
                block.clear();
                let n = (&mut part).take(BLOCK as u64).read_to_end(&mut block)?;
                if n == 0 {
                    return Ok(());
                }
                // A closed channel: the reader is gone, stop.
                if tx.send(Ok(block)).is_err() {
                    return Ok(());
                }
            }
        })();
        if let Err(e) = result {
            let _ = tx.send(Err(e));
        }
    })?;
    Ok(Inflated { blocks, spent, block: Vec::new(), pos: 0, done: false })
}

impl BufRead for Inflated {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.block.len() && !self.done {
            match self.blocks.recv() {
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.block, block);
                    let _ = self.spent.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The thread hung up after the last block.
                Err(_) => self.done = true,
            }
        }
        Ok(&self.block[self.pos.min(self.block.len())..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos += amount;
    }
}

impl Read for Inflated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_entry_comes_out_whole_and_in_order() {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("a.txt", options).unwrap();
        zip.write_all(b"other").unwrap();
        zip.start_file("xl/sheet.xml", options).unwrap();
        let content: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        zip.write_all(&content).unwrap();
        let bytes = zip.finish().unwrap().into_inner();

        let mut read = Vec::new();
        let copy = bytes.clone();
        inflate_ahead(move || Ok(io::Cursor::new(copy)), "xl/sheet.xml".into())
            .unwrap()
            .read_to_end(&mut read)
            .unwrap();
        assert_eq!(read, content);

        let mut missing = inflate_ahead(move || Ok(io::Cursor::new(bytes)), "nope.xml".into()).unwrap();
        assert!(missing.read_to_end(&mut Vec::new()).is_err(), "a missing entry is an error");
    }
}
