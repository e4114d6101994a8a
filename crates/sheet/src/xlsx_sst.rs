//! A shared-strings table that is not held in memory: the strings are streamed once
//! into a temporary file, concatenated, with a compact index of where each ends. The
//! first strings (the most used ones: Excel numbers strings by first use) stay in
//! memory; the others are read back through a window that moves forward with the
//! sheet, since a sheet mostly uses its strings in table order.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};

use calamine::XlsxError;
use quick_xml::events::Event;
use quick_xml::name::QName;
use quick_xml::Reader as XmlReader;

use crate::xlsx_parts::{push_entity, raw_attr, xml_reader};

/// Bytes of text kept in memory from the start of the table.
const HOT_BYTES: usize = 4 << 20;
/// Bytes read at a time when the sheet moves forward past the window.
const WINDOW_BYTES: usize = 1 << 20;
/// Bytes read at a time for a string behind the window (a reused string).
const BACK_BYTES: usize = 4 << 10;
/// Strings per block of the end-offset index.
const BLOCK: usize = 1024;

/// Where each string ends in the concatenation: a 64-bit base per block of
/// [`BLOCK`] strings and 32 bits per string (a block's text is far below 4 GiB:
/// 1024 strings of at most 32767 characters).
#[derive(Debug, Default)]
struct Ends {
    bases: Vec<u64>,
    relative: Vec<u32>,
    total: u64,
}

impl Ends {
    fn push(&mut self, len: usize) -> Result<(), XlsxError> {
        if self.relative.len() % BLOCK == 0 {
            self.bases.push(self.total);
        }
        self.total += len as u64;
        let base = self.bases.last().copied().unwrap_or(0);
        let relative = u32::try_from(self.total - base)
            .map_err(|_| XlsxError::Unexpected("shared strings over 4 GiB in 1024 strings"))?;
        self.relative.push(relative);
        Ok(())
    }

    fn len(&self) -> usize {
        self.relative.len()
    }

    /// The byte range of string `i` (which exists).
    fn range(&self, i: usize) -> (u64, u64) {
        let base = self.bases[i / BLOCK];
        let start = if i % BLOCK == 0 { base } else { base + u64::from(self.relative[i - 1]) };
        (start, base + u64::from(self.relative[i]))
    }
}

/// A buffer holding the bytes `start..start + bytes.len()` of the spilled strings.
#[derive(Debug, Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    fn holds(&self, start: u64, end: u64) -> bool {
        start >= self.start && end <= self.start + self.bytes.len() as u64
    }

    fn fill(&mut self, file: &File, start: u64, len: usize) -> Result<(), XlsxError> {
        self.bytes.resize(len, 0);
        file.read_exact_at(&mut self.bytes, start)?;
        self.start = start;
        Ok(())
    }

    fn text(&self, start: u64, end: u64) -> Result<&str, XlsxError> {
        let from = (start - self.start) as usize;
        let to = (end - self.start) as usize;
        std::str::from_utf8(&self.bytes[from..to])
            .map_err(|_| XlsxError::Unexpected("the shared strings file was changed while reading"))
    }
}

/// The shared strings of a workbook; see the module documentation. They may still be
/// arriving from the spooling thread: a lookup past the strings received so far
/// waits for more.
#[derive(Debug, Default)]
pub(crate) struct SharedStrings {
    ends: Ends,
    /// The text of the first strings, concatenated.
    hot: String,
    /// Strings `0..hot_count` are in `hot`.
    hot_count: usize,
    /// The other strings' text, concatenated (offsets less `hot.len()`).
    spill: Option<File>,
    /// Bytes of `spill` written so far.
    spill_len: u64,
    ahead: Window,
    back: Window,
    /// Strings still to come from the spooling thread.
    incoming: Option<Receiver<Result<Block, XlsxError>>>,
}

/// Strings spooled since the last block: their lengths, and the text of those kept
/// in memory (the others are in the file).
#[derive(Debug, Default)]
struct Block {
    lengths: Vec<u32>,
    hot: String,
    hot_strings: usize,
    spilled: u64,
}

/// Blocks queued between the spooling thread and the sheet.
const BLOCKS_AHEAD: usize = 256;

impl SharedStrings {
    /// Streams the shared-strings part `entry` of the zip at `path`, on a thread of
    /// its own, into a temporary file; strings can be looked up as soon as they are
    /// written.
    pub(crate) fn spool_in_background(path: PathBuf, entry: String) -> Result<SharedStrings, XlsxError> {
        let file = tempfile::tempfile()?;
        let writer = file.try_clone()?;
        let (tx, rx) = sync_channel(BLOCKS_AHEAD);
        std::thread::Builder::new().name("xlsx-strings".to_string()).spawn(move || {
            let send = |block| tx.send(Ok(block)).map_err(|_| Hangup);
            let result = (|| {
                let mut zip = zip::ZipArchive::new(BufReader::new(File::open(&path)?))?;
                let part = zip.by_name(&entry)?;
                let mut xml = xml_reader(BufReader::with_capacity(64 << 10, part));
                let mut spooler = Spooler::new(writer, send);
                parse(&mut xml, &mut spooler)?;
                spooler.finish()
            })();
            if let Err(e) = result {
                // Unless the sheet hung up, it hears why the strings stopped.
                if !matches!(e, XlsxError::Unexpected(HANGUP)) {
                    let _ = tx.send(Err(e));
                }
            }
        })?;
        Ok(SharedStrings { spill: Some(file), incoming: Some(rx), ..SharedStrings::default() })
    }

    /// Streams a `sharedStrings.xml` part into a temporary file, on this thread.
    #[cfg(test)]
    pub(crate) fn spool<B: BufRead>(xml: &mut XmlReader<B>) -> Result<SharedStrings, XlsxError> {
        let file = tempfile::tempfile()?;
        let mut blocks = Vec::new();
        let mut spooler = Spooler::new(file.try_clone()?, |b| {
            blocks.push(b);
            Ok(())
        });
        parse(xml, &mut spooler)?;
        spooler.finish()?;
        let mut strings = SharedStrings { spill: Some(file), ..SharedStrings::default() };
        for block in blocks {
            strings.apply(block)?;
        }
        Ok(strings)
    }

    fn apply(&mut self, block: Block) -> Result<(), XlsxError> {
        for len in block.lengths {
            self.ends.push(len as usize)?;
        }
        self.hot.push_str(&block.hot);
        self.hot_count += block.hot_strings;
        self.spill_len += block.spilled;
        Ok(())
    }

    /// Waits for the next block; `false` when there are no more strings.
    fn receive(&mut self) -> Result<bool, XlsxError> {
        let Some(rx) = &self.incoming else {
            return Ok(false);
        };
        match rx.recv() {
            Ok(Ok(block)) => {
                self.apply(block)?;
                Ok(true)
            }
            Ok(Err(e)) => {
                self.incoming = None;
                Err(e)
            }
            Err(_) => {
                self.incoming = None;
                Ok(false)
            }
        }
    }

    /// Number of strings (all of them: waits for the spooling to end).
    #[cfg(test)]
    pub(crate) fn len(&mut self) -> usize {
        while let Ok(true) = self.receive() {}
        self.ends.len()
    }

    /// String `i`, or `None` past the end.
    pub(crate) fn get(&mut self, i: usize) -> Result<Option<&str>, XlsxError> {
        while i >= self.ends.len() {
            if !self.receive()? {
                return Ok(None);
            }
        }
        let (start, end) = self.ends.range(i);
        if i < self.hot_count {
            return Ok(Some(&self.hot[start as usize..end as usize]));
        }
        let (start, end) = (start - self.hot.len() as u64, end - self.hot.len() as u64);
        let file = self.spill.as_ref().ok_or(XlsxError::Unexpected("the shared strings file is missing"))?;
        // Never past what the spooling thread has written.
        let available = (self.spill_len - start) as usize;
        let window = if self.ahead.holds(start, end) {
            &self.ahead
        } else if self.back.holds(start, end) {
            &self.back
        } else if start >= self.ahead.start + self.ahead.bytes.len() as u64 || self.ahead.bytes.is_empty() {
            // Forward: the sheet reached strings past the window; move it.
            let len = ((end - start) as usize).max(WINDOW_BYTES).min(available);
            self.ahead.fill(file, start, len)?;
            &self.ahead
        } else {
            // Backward: a string used again; read it (and a little after it) aside.
            let len = ((end - start) as usize).max(BACK_BYTES).min(available);
            self.back.fill(file, start, len)?;
            &self.back
        };
        window.text(start, end).map(Some)
    }
}

/// The message of the error that stops the spooling when the sheet hung up.
const HANGUP: &str = "the sheet reader stopped";

/// The sheet reader was dropped.
struct Hangup;

/// Parses the `<si>` items of a shared-strings part into `spooler`.
fn parse<B: BufRead, F>(xml: &mut XmlReader<B>, spooler: &mut Spooler<F>) -> Result<(), XlsxError>
where
    F: FnMut(Block) -> Result<(), Hangup>,
{
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == "sst" => break,
            Event::Eof => return Err(XlsxError::XmlEof("sst")),
            _ => {}
        }
    }
    let mut text = String::new();
    let mut bufs = TextBufs::default();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == "si" => {
                text.clear();
                read_text(xml, e.name(), &mut bufs, &mut text)?;
                spooler.push(&text)?;
            }
            Event::End(e) if e.local_name().as_ref() == "sst" => return Ok(()),
            Event::Eof => return Err(XlsxError::XmlEof("sst")),
            _ => {}
        }
    }
}

/// Puts strings in memory (the first [`HOT_BYTES`]) or in the file, and hands them
/// over in blocks of [`BLOCK`], the file flushed first.
struct Spooler<F> {
    writer: BufWriter<File>,
    block: Block,
    hot_bytes: usize,
    spilling: bool,
    emit: F,
}

impl<F: FnMut(Block) -> Result<(), Hangup>> Spooler<F> {
    fn new(file: File, emit: F) -> Spooler<F> {
        Spooler {
            writer: BufWriter::with_capacity(256 << 10, file),
            block: Block::default(),
            hot_bytes: 0,
            spilling: false,
            emit,
        }
    }

    fn push(&mut self, text: &str) -> Result<(), XlsxError> {
        let len =
            u32::try_from(text.len()).map_err(|_| XlsxError::Unexpected("a shared string over 4 GiB"))?;
        self.block.lengths.push(len);
        if !self.spilling && self.hot_bytes + text.len() <= HOT_BYTES {
            self.block.hot.push_str(text);
            self.block.hot_strings += 1;
            self.hot_bytes += text.len();
        } else {
            self.spilling = true;
            self.writer.write_all(text.as_bytes())?;
            self.block.spilled += u64::from(len);
        }
        if self.block.lengths.len() >= BLOCK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), XlsxError> {
        self.writer.flush()?;
        let block = std::mem::take(&mut self.block);
        (self.emit)(block).map_err(|Hangup| XlsxError::Unexpected(HANGUP))
    }

    fn finish(mut self) -> Result<(), XlsxError> {
        if !self.block.lengths.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

/// Reusable buffers of [`read_text`].
#[derive(Debug, Default)]
pub(crate) struct TextBufs {
    closing: String,
    events: Vec<u8>,
    run_events: Vec<u8>,
    run_name: String,
    run: String,
}

/// Reads the text of a string item (`<si>`, `<is>`) up to its end tag `closing` into
/// `out`, as calamine does: the `<t>` runs (plain or rich text `<r>`) concatenated,
/// phonetic runs (`<rPh>`) left out; a run without `xml:space="preserve"` is trimmed
/// of ASCII white space; entities and then `_xHHHH_` escapes are resolved per run.
pub(crate) fn read_text<B: BufRead>(
    xml: &mut XmlReader<B>,
    closing: QName<'_>,
    bufs: &mut TextBufs,
    out: &mut String,
) -> Result<(), XlsxError> {
    bufs.closing.clear();
    bufs.closing.push_str(closing.as_ref());
    let mut phonetic = false;
    loop {
        bufs.events.clear();
        match xml.read_event_into(&mut bufs.events)? {
            Event::Start(e) if e.local_name().as_ref() == "rPh" => phonetic = true,
            Event::End(e) if e.name().as_ref() == bufs.closing => return Ok(()),
            Event::End(e) if e.local_name().as_ref() == "rPh" => phonetic = false,
            Event::Start(e) if e.local_name().as_ref() == "t" && !phonetic => {
                let preserve = raw_attr(&e, "xml:space")? == Some("preserve");
                bufs.run_name.clear();
                bufs.run_name.push_str(e.name().as_ref());
                bufs.run.clear();
                loop {
                    bufs.run_events.clear();
                    match xml.read_event_into(&mut bufs.run_events)? {
                        Event::Text(t) => bufs.run.push_str(&t.xml10_content()),
                        Event::CData(t) => bufs.run.push_str(&t.xml10_content()),
                        Event::GeneralRef(r) => push_entity(&r, &mut bufs.run)?,
                        Event::End(end) if end.name().as_ref() == bufs.run_name => break,
                        Event::Eof => return Err(XlsxError::XmlEof("t")),
                        _ => {}
                    }
                }
                let run = bufs.run.as_str();
                let text = if preserve { run } else { run.trim_matches([' ', '\t', '\r', '\n']) };
                push_unescaped(text, out);
            }
            Event::Eof => return Err(XlsxError::XmlEof("")),
            _ => {}
        }
    }
}

/// Appends `text` with Excel's `_xHHHH_` escapes (a UTF-16 code unit each, so a
/// character outside the BMP is two) resolved; a lone surrogate becomes U+FFFD.
pub(crate) fn push_unescaped(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = find_escape(rest) {
        let unit = escape_at(rest, at).unwrap_or_default();
        out.push_str(&rest[..at]);
        let mut next = at + 7;
        match unit {
            0xD800..=0xDBFF => match escape_at(rest, next) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    next += 7;
                }
                _ => out.push(char::REPLACEMENT_CHARACTER),
            },
            _ => out.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
        rest = &rest[next..];
    }
    out.push_str(rest);
}

/// `text` with its `_xHHHH_` escapes resolved (borrowed when it has none).
pub(crate) fn unescaped(text: &str) -> std::borrow::Cow<'_, str> {
    if find_escape(text).is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    push_unescaped(text, &mut out);
    std::borrow::Cow::Owned(out)
}

/// The byte offset of the first `_xHHHH_` escape in `text`.
fn find_escape(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("_x") {
        let at = from + i;
        if escape_at(text, at).is_some() {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The code unit of an `_xHHHH_` escape at byte `at` of `text`.
fn escape_at(text: &str, at: usize) -> Option<u16> {
    let b = text.as_bytes().get(at..at + 7)?;
    if !(b[0] == b'_' && b[1] == b'x' && b[6] == b'_' && b[2..6].iter().all(u8::is_ascii_hexdigit)) {
        return None;
    }
    b[2..6].iter().try_fold(0u16, |n, d| Some(n * 16 + (*d as char).to_digit(16)? as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(strings: &[String]) -> SharedStrings {
        let file = tempfile::tempfile().expect("temp file");
        let mut blocks = Vec::new();
        let mut spooler = Spooler::new(file.try_clone().expect("clone"), |b| {
            blocks.push(b);
            Ok(())
        });
        for s in strings {
            spooler.push(s).expect("push");
        }
        spooler.finish().expect("finish");
        let mut table = SharedStrings { spill: Some(file), ..SharedStrings::default() };
        for block in blocks {
            table.apply(block).expect("apply");
        }
        table
    }

    #[test]
    fn escapes_resolve_like_excel() {
        assert_eq!(unescaped("a_x000D_b"), "a\rb");
        assert_eq!(unescaped("_x005F_x000D_"), "_x000D_");
        assert_eq!(unescaped("_xD83D__xDCF7_"), "\u{1F4F7}");
        assert_eq!(unescaped("_xD83D_x"), "\u{FFFD}x");
        assert_eq!(unescaped("_xDC00_"), "\u{FFFD}");
        assert_eq!(unescaped("_x00e9_t_x00C9_"), "étÉ");
        assert_eq!(unescaped("_x12_ _xZZZZ_ _x"), "_x12_ _xZZZZ_ _x");
        assert_eq!(unescaped("Мир_x0021_"), "Мир!");
    }

    #[test]
    fn window_cache_reads_sequentially_and_at_random() {
        // Enough text to spill well past the hot part and across several windows.
        let strings: Vec<String> = (0..300_000)
            .map(|i| match i % 4 {
                0 => format!("string {i} ÿ€𝄞"),
                1 => String::new(),
                2 => format!("{i:>40}"),
                _ => "x".repeat(i % 97),
            })
            .collect();
        let mut sst = table(&strings);
        assert_eq!(sst.len(), strings.len());
        assert!(sst.hot_count > 0 && sst.hot_count < strings.len(), "part hot, part spilled");
        assert!(sst.spill_len > 2 * WINDOW_BYTES as u64);
        for (i, want) in strings.iter().enumerate() {
            assert_eq!(sst.get(i).expect("read"), Some(want.as_str()), "sequential {i}");
        }
        // A fixed pseudo-random order, backwards and forwards.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % strings.len() as u64) as usize;
            assert_eq!(sst.get(i).expect("read"), Some(strings[i].as_str()), "random {i}");
        }
        for i in (0..strings.len()).rev().step_by(997) {
            assert_eq!(sst.get(i).expect("read"), Some(strings[i].as_str()), "backwards {i}");
        }
        assert_eq!(sst.get(strings.len()).expect("no error"), None);
    }

    #[test]
    fn a_string_longer_than_the_window_reads_whole() {
        let strings = vec!["a".repeat(HOT_BYTES), "b".repeat(3 * WINDOW_BYTES), "c".into()];
        let mut sst = table(&strings);
        assert_eq!(sst.get(2).expect("read"), Some("c"));
        assert_eq!(sst.get(1).expect("read").map(str::len), Some(3 * WINDOW_BYTES));
        assert_eq!(sst.get(0).expect("read").map(str::len), Some(HOT_BYTES));
    }

    #[test]
    fn rich_text_and_phonetic_runs() {
        let xml = r#"<sst><si><r><t>Bold </t></r><r><rPr/><t xml:space="preserve"> and _x000D_ plain </t></r><rPh><t>ignored</t></rPh></si><si><t>  trimmed &amp; &#x41;  </t></si><si/></sst>"#;
        let mut reader = crate::xlsx_parts::xml_reader(xml.as_bytes());
        let mut sst = SharedStrings::spool(&mut reader).expect("parse");
        assert_eq!(sst.len(), 3);
        assert_eq!(sst.get(0).expect("read"), Some("Bold and \r plain "));
        assert_eq!(sst.get(1).expect("read"), Some("trimmed & A"));
        assert_eq!(sst.get(2).expect("read"), Some(""));
    }
}
