//! The .csv read in ranges on several threads gives exactly what one parser gives:
//! the same rows, numbers, cells and errors, whatever quotes and line breaks do.

use std::path::Path;

use elma_import_sheet::testing::open_csv_in_ranges;
use elma_import_sheet::{ReadOptions, Reader};
use proptest::prelude::*;

/// `(number, cells)` of a row.
type Numbered = (u64, Vec<String>);

/// Everything a reader yields: the header, `(number, cells)` per row, then the error's
/// text if any. With `recycle`, every batch is handed back once copied out, so later
/// rows are read into used ones.
fn drain_with(mut reader: Reader, recycle: bool) -> (Vec<String>, Vec<Numbered>, Option<String>) {
    let header = reader.header().iter().map(|c| c.text.to_string()).collect();
    let mut rows = Vec::new();
    loop {
        match reader.next_batch() {
            Ok(Some(batch)) => {
                rows.extend(batch.iter().map(|r| (r.number, r.iter().map(|c| c.text.to_string()).collect())));
                if recycle {
                    reader.recycle(batch);
                }
            }
            Ok(None) => return (header, rows, None),
            Err(e) => {
                assert!(reader.next_batch().unwrap().is_none(), "a reader ends after its error");
                return (header, rows, Some(e.to_string()));
            }
        }
    }
}

fn drain(reader: Reader) -> (Vec<String>, Vec<Numbered>, Option<String>) {
    drain_with(reader, false)
}

/// One parser, fresh rows, against ranges on `workers` threads reading into rows handed
/// back (a row filled again must hold nothing of its last content).
fn both(path: &Path, range_bytes: u64, workers: usize) {
    let options = ReadOptions { batch_rows: 7, ..ReadOptions::default() };
    let one = drain(open_csv_in_ranges(path, &options, range_bytes, 1).unwrap());
    let many = drain_with(open_csv_in_ranges(path, &options, range_bytes, workers).unwrap(), true);
    if one != many {
        let first = one.1.iter().zip(&many.1).position(|(a, b)| a != b);
        panic!(
            "ranges of {range_bytes} bytes on {workers} threads: {} vs {} rows, first difference at {first:?}: {:?} vs {:?}; errors {:?} vs {:?}",
            one.1.len(), many.1.len(), first.map(|i| &one.1[i]), first.map(|i| &many.1[i]), one.2, many.2
        );
    }
}

/// A field as a careless producer writes it: quoted or not, with line breaks, quotes,
/// delimiters, Cyrillic; now and then a stray quote mid-field or an unclosed one.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zа-я0-9 ]{0,8}",
        3 => "[a-z,;\n\"]{0,10}".prop_map(|t| format!("\"{}\"", t.replace('"', "\"\""))),
        2 => "[a-z\r\n]{1,6}".prop_map(|t| format!("\"{t}\"")),
        1 => "[a-z]{1,3}\"[a-z]{0,3}",
        1 => Just("\"open".to_string()),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        8 => prop::collection::vec(field(), 1..5).prop_map(|f| f.join(",")),
        1 => Just(String::new()),
    ];
    (prop::collection::vec(line, 1..120), any::<bool>(), any::<bool>()).prop_map(|(lines, crlf, last_end)| {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from("Name,Comment,Amount");
        for l in lines {
            text.push_str(end);
            text.push_str(&l);
        }
        if last_end {
            text.push_str(end);
        }
        text.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn ranges_read_what_one_parser_reads(data in file(), range_bytes in 8u64..200, workers in 2usize..4) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, &data).unwrap();
        both(&path, range_bytes, workers);
    }
}

#[test]
fn quoted_line_breaks_everywhere_still_cut_right() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.csv");
    let mut text = String::from("Name;Comment\n");
    for i in 0..5000 {
        text.push_str(&format!("n{i};\"line\nbreak; \"\"{i}\"\"\n\nend\"\n"));
        if i % 7 == 0 {
            text.push('\n');
        }
    }
    std::fs::write(&path, &text).unwrap();
    for range in [100, 1000, 4096, 65_536] {
        both(&path, range, 2);
    }
    // Every boundary guessed inside a quoted field fails verification alike.
    let (_, rows, err) = drain(open_csv_in_ranges(&path, &ReadOptions::default(), 100, 3).unwrap());
    assert_eq!(err, None);
    assert_eq!(rows.len(), 5000);
    assert_eq!(rows[1].0, 4, "a blank line after row 2 counts");
}

#[test]
fn a_bad_byte_is_reported_at_its_row_from_any_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let mut data = "Имя,Комментарий\n".as_bytes().to_vec();
    for i in 0..3000 {
        data.extend_from_slice(format!("Имя {i},ok\n").as_bytes());
    }
    data.extend_from_slice(b"bad,\xff\n");
    for i in 0..100 {
        data.extend_from_slice(format!("after {i},ok\n").as_bytes());
    }
    std::fs::write(&path, &data).unwrap();
    both(&path, 512, 2);
    let (_, rows, err) = drain(open_csv_in_ranges(&path, &ReadOptions::default(), 512, 2).unwrap());
    assert_eq!(rows.len(), 3000);
    let err = err.unwrap();
    assert!(err.contains("row 3002"), "{err}");
}

/// A quoted field that holds lines looking like records fools the boundary guess; the
/// range before then ends inside quotes, which is caught, and the rest is read by one
/// parser from the record that was cut.
#[test]
fn a_guess_inside_a_quoted_field_is_caught_and_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fool.csv");
    let mut text = String::from("Name,Comment\n");
    for i in 0..200 {
        text.push_str(&format!("r{i},plain\n"));
    }
    text.push_str("quoted,\"");
    for i in 0..40 {
        text.push_str(&format!("looks,like a record {i}\n"));
    }
    text.push_str("end\"\n");
    for i in 0..200 {
        text.push_str(&format!("s{i},plain\n"));
    }
    std::fs::write(&path, &text).unwrap();
    for range in [64, 300, 1000, 2500] {
        both(&path, range, 2);
    }
    let (_, rows, err) = drain(open_csv_in_ranges(&path, &ReadOptions::default(), 300, 2).unwrap());
    assert_eq!(err, None);
    assert_eq!(rows.len(), 401);
    assert_eq!(rows[200].0, 202);
    assert!(rows[200].1[1].starts_with("looks,like a record 0\n") && rows[200].1[1].ends_with("end"));
    assert_eq!(rows[201], (203, vec!["s0".to_string(), "plain".to_string()]));
}

/// A file of `rows` rows `n{i},{i}` read in ranges of `range_bytes` on `workers`
/// threads, in batches of `batch_rows`; the directory goes with it.
fn numbered_file(
    rows: usize,
    batch_rows: usize,
    range_bytes: u64,
    workers: usize,
) -> (tempfile::TempDir, Reader) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    let mut text = String::from("Name,Amount\n");
    for i in 0..rows {
        text.push_str(&format!("n{i},{i}\n"));
    }
    std::fs::write(&path, &text).unwrap();
    let options = ReadOptions { batch_rows, ..ReadOptions::default() };
    let reader = open_csv_in_ranges(&path, &options, range_bytes, workers).unwrap();
    (dir, reader)
}

#[test]
fn batch_work_runs_once_per_batch_on_the_rows_handed_out() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let (_dir, mut reader) = numbered_file(2_000, 100, 1_000, 3);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    // The work keeps the first row's number as it saw it and its cells' texts.
    reader.set_work(Arc::new(move |rows| {
        counted.fetch_add(1, Ordering::Relaxed);
        let texts: Vec<String> = rows.iter().map(|r| r.get(0).text.to_string()).collect();
        Box::new((rows[0].number, texts))
    }));
    let (mut batches, mut rows) = (0, 0);
    while let Some((batch, worked)) = reader.next_worked().unwrap() {
        let (first_seen, texts) = *worked
            .expect("every batch of a ranged read is worked")
            .downcast::<(u64, Vec<String>)>()
            .unwrap();
        let handed: Vec<String> = batch.iter().map(|r| r.get(0).text.to_string()).collect();
        assert_eq!(texts, handed, "the work saw exactly the batch handed out");
        assert!(first_seen <= batch[0].number, "numbers only grow once earlier ranges are counted");
        assert_eq!(batch[0].number, batch[0].get(1).text.parse::<u64>().unwrap() + 2);
        batches += 1;
        rows += batch.len();
        reader.recycle(batch);
    }
    assert_eq!(rows, 2_000);
    assert_eq!(calls.load(Ordering::Relaxed), batches, "once per batch");
    assert!(batches > 3, "the file was read in several ranges");
}

#[test]
fn a_batch_work_that_panics_ends_the_read_with_an_error_not_a_hang() {
    use std::sync::Arc;

    let (_dir, mut reader) = numbered_file(5_000, 50, 500, 2);
    reader.set_work(Arc::new(|rows| {
        assert!(rows.iter().all(|r| r.get(0).text != "n1000"), "the work fails on one batch");
        Box::new(())
    }));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rows = 0;
        let outcome = loop {
            match reader.next_worked() {
                Ok(Some((batch, _))) => rows += batch.len(),
                Ok(None) => break Ok(rows),
                Err(e) => {
                    let source = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
                    break Err(format!("{e}: {source}"));
                }
            }
        };
        let _ = tx.send(outcome);
    });
    let outcome = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the reader ends");
    let message = outcome.expect_err("the rows of the failed batch are not handed out as read");
    assert!(message.contains("reader thread stopped"), "{message}");
}
