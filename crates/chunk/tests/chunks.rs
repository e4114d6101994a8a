//! Chunk files read back: split-then-concatenate returns the input, row mapping, manifest.

use std::path::Path;

use elma_import_chunk::{ChunkEntry, ChunkError, ChunkWriter, Manifest, MANIFEST_FILE};
use elma_import_sheet::{Format, ReadOptions, Row, WriteOptions};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn texts(row: &Row) -> Vec<String> {
    (0..row.width()).map(|i| row.get(i).text.to_string()).collect()
}

/// Every row of a chunk file: (header, data rows).
fn read_chunk(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut reader = elma_import_sheet::open(path, &ReadOptions::default()).unwrap();
    let header = texts(reader.header());
    let mut rows = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        rows.extend(batch);
    }
    (header, rows)
}

/// Writes `rows` (numbered by `numbers`) into chunks and checks everything a reader of
/// the chunks relies on.
fn split_and_check(dir: &Path, format: Format, rows_per_chunk: u64, cells: &[Vec<String>], numbers: &[u64]) {
    let header = Row::from_texts(1, ["Name", "Comment", "Amount", "Extra", "More"]);
    let mut w =
        ChunkWriter::new(dir, "part", &header, rows_per_chunk, format, WriteOptions::default()).unwrap();
    for (texts, &n) in cells.iter().zip(numbers) {
        w.push(&Row::from_texts(n, texts)).unwrap();
    }
    assert_eq!(w.rows(), cells.len() as u64);
    let manifest = w.finish().unwrap();
    assert_eq!(manifest.rows, cells.len() as u64);
    assert_eq!(manifest.rows_per_chunk, rows_per_chunk);
    assert_eq!(manifest.chunks.len() as u64, (cells.len() as u64).div_ceil(rows_per_chunk));

    let mut all = Vec::new();
    let mut mapped = Vec::new();
    for (i, entry) in manifest.chunks.iter().enumerate() {
        assert_eq!(entry.index as usize, i + 1);
        assert_eq!(entry.file, format!("part-{:05}.{}", i + 1, format.as_str()));
        let path = dir.join(&entry.file);
        let (head, rows) = read_chunk(&path);
        assert_eq!(head, texts(&header), "{}: every chunk repeats the header", entry.file);
        assert_eq!(rows.len() as u64, entry.rows, "{}", entry.file);
        assert!(entry.rows <= rows_per_chunk);
        if i + 1 < manifest.chunks.len() {
            assert_eq!(entry.rows, rows_per_chunk, "only the last chunk may be short");
        }
        // Chunk files are numbered from 2 in their own sheet.
        for (k, row) in rows.iter().enumerate() {
            assert_eq!(row.number, k as u64 + 2, "{}: rows are not renumbered", entry.file);
            mapped.push(entry.source_row(row.number).unwrap());
        }
        assert_eq!(entry.source_row(entry.rows + 2), None);
        assert_eq!(entry.first_row, entry.source_row(2).unwrap());
        assert_eq!(entry.last_row, entry.source_row(entry.rows + 1).unwrap());
        // Size and hash describe the file as it is on disk.
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(entry.bytes, bytes.len() as u64);
        assert_eq!(entry.sha256, hex::encode(Sha256::digest(&bytes)));
        all.extend(rows.iter().map(texts));
    }
    let want: Vec<Vec<String>> = cells.iter().map(|c| texts(&Row::from_texts(0, c))).collect();
    assert_eq!(all, want, "concatenated chunks equal the input");
    assert_eq!(mapped, numbers, "each chunk row maps back to its source row");
}

fn cell() -> impl Strategy<Value = String> {
    // Delimiters, quotes, line breaks, Cyrillic, leading zeros, spaces.
    prop_oneof![
        "[a-zA-Zа-яё0-9 ,;\"\n]{0,12}",
        "0[0-9]{1,10}",
        Just(String::new()),
        Just("a \"quoted\", value\nwith a break".to_string()),
    ]
}

fn input() -> impl Strategy<Value = (Vec<Vec<String>>, Vec<u64>, u64)> {
    (1usize..40, 1u64..12).prop_flat_map(|(n, rpc)| {
        (
            prop::collection::vec(prop::collection::vec(cell(), 0..4), n),
            prop::collection::vec(prop_oneof![4 => Just(1u64), 1 => 2u64..5], n),
            Just(rpc),
        )
            .prop_map(|(rows, steps, rpc)| {
                // A first cell that is never blank: readers may skip blank rows.
                let rows = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut r)| {
                        r.insert(0, format!("row {i}"));
                        r
                    })
                    .collect();
                // Source numbers from 2, with gaps where rows were skipped.
                let mut n = 1;
                let numbers = steps
                    .into_iter()
                    .map(|s| {
                        n += s;
                        n
                    })
                    .collect();
                (rows, numbers, rpc)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn csv_chunks_concatenate_to_the_input((rows, numbers, rpc) in input()) {
        let dir = tempfile::tempdir().unwrap();
        split_and_check(dir.path(), Format::Csv, rpc, &rows, &numbers);
    }

    #[test]
    fn xlsx_chunks_concatenate_to_the_input((rows, numbers, rpc) in input()) {
        let dir = tempfile::tempdir().unwrap();
        split_and_check(dir.path(), Format::Xlsx, rpc, &rows, &numbers);
    }
}

#[test]
fn csv_records_with_line_breaks_stay_whole_at_chunk_edges() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> =
        (0..7).map(|i| vec![format!("r{i}"), format!("line one\nline two, \"{i}\"\r\nline three")]).collect();
    let numbers: Vec<u64> = (2..9).collect();
    split_and_check(dir.path(), Format::Csv, 3, &rows, &numbers);
    split_and_check(dir.path(), Format::Xlsx, 2, &rows, &numbers);
}

#[test]
fn a_thousand_rows_split_at_the_handler_limit() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> =
        (0..2_345).map(|i| vec![format!("Client {i}"), format!("{:011}", i)]).collect();
    let numbers: Vec<u64> = (2..2_347).collect();
    split_and_check(dir.path(), Format::Xlsx, 1_000, &rows, &numbers);
    let m = Manifest::load(dir.path()).err();
    assert!(m.is_some(), "finish does not save the manifest by itself");
}

#[test]
fn manifest_round_trips_through_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    let header = Row::from_texts(1, ["Name"]);
    let mut w =
        ChunkWriter::new(dir.path(), "orders", &header, 2, Format::Xlsx, WriteOptions::default()).unwrap();
    for n in [2, 3, 4, 8, 9] {
        w.push(&Row::from_texts(n, [format!("Order {n}")])).unwrap();
    }
    let manifest = w.finish().unwrap();
    let path = manifest.save(dir.path()).unwrap();
    assert_eq!(path, dir.path().join(MANIFEST_FILE));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["format"], "xlsx");
    assert_eq!(json["chunks"][1]["source_ranges"], serde_json::json!([[4, 4], [8, 8]]));
    let loaded = Manifest::load(dir.path()).unwrap();
    assert_eq!(loaded, manifest);
    assert_eq!(loaded.chunks.len(), 3);
    assert_eq!(loaded.chunk_of(8).map(|c| c.index), Some(2));
    assert_eq!(loaded.chunk_of(9).map(|c| c.index), Some(3));
    assert_eq!(loaded.chunk_of(5), None, "a skipped source row is in no chunk");
}

#[test]
fn a_broken_manifest_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(MANIFEST_FILE),
        r#"{"format":"ods","rows_per_chunk":1,"rows":0,"chunks":[]}"#,
    )
    .unwrap();
    let err = Manifest::load(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("manifest.json") && msg.contains("`ods`"), "{msg}");
    let err = Manifest::load(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, ChunkError::Io { .. }), "{err}");
}

#[test]
fn source_row_walks_the_runs() {
    let entry = ChunkEntry {
        index: 1,
        file: "x-00001.csv".into(),
        first_row: 10,
        last_row: 31,
        rows: 6,
        bytes: 0,
        sha256: String::new(),
        source_ranges: vec![[10, 12], [20, 20], [30, 31]],
    };
    let got: Vec<Option<u64>> = (0..10).map(|r| entry.source_row(r)).collect();
    assert_eq!(got, [None, None, Some(10), Some(11), Some(12), Some(20), Some(30), Some(31), None, None]);
}

#[test]
fn writer_rejects_bad_settings_and_writes_nothing_for_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let header = Row::from_texts(1, ["Name"]);
    let zero = ChunkWriter::new(dir.path(), "a", &header, 0, Format::Csv, WriteOptions::default());
    assert!(matches!(zero, Err(ChunkError::ZeroRowsPerChunk)));
    for stem in ["", "../up", "a/b"] {
        let bad = ChunkWriter::new(dir.path(), stem, &header, 5, Format::Csv, WriteOptions::default());
        assert!(matches!(bad, Err(ChunkError::BadStem(_))), "{stem:?}");
    }
    let w = ChunkWriter::new(&dir.path().join("new"), "a", &header, 5, Format::Csv, WriteOptions::default())
        .unwrap();
    let m = w.finish().unwrap();
    assert!(m.chunks.is_empty());
    assert_eq!(std::fs::read_dir(dir.path().join("new")).unwrap().count(), 0);
}

#[test]
fn a_chunk_that_cannot_be_written_is_an_error_naming_the_file() {
    for format in [Format::Csv, Format::Xlsx] {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the second chunk file should go.
        let blocked = format!("a-00002.{}", format.as_str());
        std::fs::create_dir(dir.path().join(&blocked)).unwrap();
        let header = Row::from_texts(1, ["Name"]);
        let mut w = ChunkWriter::new(dir.path(), "a", &header, 2, format, WriteOptions::default()).unwrap();
        let mut pushed = Ok(());
        for n in 2..40 {
            pushed = pushed.and_then(|()| w.push(&Row::from_texts(n, [format!("r{n}")])));
        }
        let err = match pushed {
            Err(e) => e,
            Ok(()) => w.finish().expect_err("the second chunk cannot be written"),
        };
        let message = format!("{err}: {:?}", std::error::Error::source(&err));
        assert!(message.contains(&blocked), "{format}: {message}");
    }
}

/// Chunks are encoded straight into memory: byte for byte what the sheet crate's .csv
/// writer makes of the same rows (quotes only where needed, CRLF, short rows padded).
#[test]
fn csv_chunks_are_what_the_sheet_writer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let header = Row::from_texts(1, ["Name", "Comment", "Amount"]);
    let rows = [
        Row::from_texts(2, ["Anna", "plain", "1"]),
        Row::from_texts(3, ["Boris", "a, \"quoted\"\nbreak", ""]),
        Row::from_texts(4, ["Vera"]),
        Row::from_texts(5, ["", "", "", "", ""]),
        Row::from_texts(6, ["Gleb", "x", "2", "", "past the header"]),
    ];
    let mut w = ChunkWriter::new(dir.path(), "c", &header, 100, Format::Csv, WriteOptions::default())
        .unwrap()
        .durable(false);
    for row in &rows {
        w.push(row).unwrap();
    }
    let manifest = w.finish().unwrap();
    let ours = std::fs::read(dir.path().join(&manifest.chunks[0].file)).unwrap();

    let reference = dir.path().join("reference.csv");
    let mut sheet = elma_import_sheet::create(&reference, Format::Csv, &WriteOptions::default()).unwrap();
    sheet.write_row(&header).unwrap();
    for texts in [
        vec!["Anna", "plain", "1"],
        vec!["Boris", "a, \"quoted\"\nbreak", ""],
        vec!["Vera", "", ""],
        vec!["", "", ""],
        vec!["Gleb", "x", "2", "", "past the header"],
    ] {
        sheet.write_row(&Row::from_texts(0, texts)).unwrap();
    }
    sheet.finish().unwrap();
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&std::fs::read(&reference).unwrap()));
}

/// A source .csv as producers write it: quoted fields with delimiters, quotes and line
/// breaks, blank lines, rows of blank cells, short rows, `\r\n` or `\n`.
fn source_csv() -> impl Strategy<Value = (String, u64)> {
    let field = prop_oneof![
        6 => "[a-zа-я0-9 ]{0,8}",
        3 => "[a-z,;\n\"]{0,10}".prop_map(|t| format!("\"{}\"", t.replace('"', "\"\""))),
        1 => "[a-z\r\n]{1,6}".prop_map(|t| format!("\"{t}\"")),
        1 => Just(" ".to_string()),
    ];
    let line = prop_oneof![
        8 => prop::collection::vec(field, 1..5).prop_map(|f| f.join(",")),
        1 => Just(String::new()),
    ];
    (prop::collection::vec(line, 0..60), any::<bool>(), any::<bool>(), 1u64..9).prop_map(
        |(lines, crlf, last_end, rpc)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = String::from("Name,Comment,Amount");
            for l in lines {
                text.push_str(end);
                text.push_str(&l);
            }
            if last_end {
                text.push_str(end);
            }
            (text, rpc)
        },
    )
}

/// Splits `source` with raw records into `dir`; the manifest.
fn split_raw(source: &Path, dir: &Path, rows_per_chunk: u64) -> Manifest {
    let mut raw = elma_import_sheet::open_raw_csv(source, &ReadOptions::default()).unwrap();
    let header = raw.header().clone();
    let mut w = ChunkWriter::new(dir, "part", &header, rows_per_chunk, Format::Csv, WriteOptions::default())
        .unwrap()
        .durable(false);
    let mut record = Vec::new();
    while let Some(number) = raw.next_record(&mut record).unwrap() {
        w.push_raw(number, &record).unwrap();
        record.clear();
    }
    w.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// Split-then-concatenate with raw records gives the rows the reader reads from the
    /// source (blank ones left out), each mapped back to its source row.
    #[test]
    fn raw_csv_chunks_concatenate_to_the_input_rows((text, rpc) in source_csv()) {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("in.csv");
        std::fs::write(&source, &text).unwrap();
        let (head, rows) = read_chunk(&source);
        let want: Vec<(u64, Vec<String>)> =
            rows.iter().filter(|r| !r.is_blank()).map(|r| (r.number, texts(r))).collect();

        let out = dir.path().join("chunks");
        let manifest = split_raw(&source, &out, rpc);
        prop_assert_eq!(manifest.rows, want.len() as u64);
        prop_assert_eq!(manifest.chunks.len() as u64, (want.len() as u64).div_ceil(rpc));
        let mut got = Vec::new();
        for entry in &manifest.chunks {
            let path = out.join(&entry.file);
            let bytes = std::fs::read(&path).unwrap();
            prop_assert_eq!(entry.bytes, bytes.len() as u64);
            prop_assert_eq!(&entry.sha256, &hex::encode(Sha256::digest(&bytes)));
            let (chunk_head, chunk_rows) = read_chunk(&path);
            prop_assert_eq!(&chunk_head, &head, "{} repeats the header", entry.file);
            prop_assert_eq!(chunk_rows.len() as u64, entry.rows);
            for row in &chunk_rows {
                got.push((entry.source_row(row.number).unwrap(), texts(row)));
            }
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn raw_records_keep_their_quotes_and_mix_with_rows() {
    let dir = tempfile::tempdir().unwrap();
    let header = Row::from_texts(1, ["Name", "Note"]);
    let mut w = ChunkWriter::new(dir.path(), "p", &header, 3, Format::Csv, WriteOptions::default()).unwrap();
    w.push(&Row::from_texts(2, ["Anna", "a,b"])).unwrap();
    w.push_raw(3, b"\"Bob\",\"x\"\"y\"\n").unwrap();
    w.push(&Row::from_texts(4, ["Cleo"])).unwrap();
    w.push_raw(7, b"\"Dan\",\n").unwrap();
    let manifest = w.finish().unwrap();
    assert_eq!(manifest.rows, 4);
    let first = std::fs::read_to_string(dir.path().join("p-00001.csv")).unwrap();
    assert_eq!(first, "Name,Note\nAnna,\"a,b\"\n\"Bob\",\"x\"\"y\"\nCleo,\n");
    let second = std::fs::read_to_string(dir.path().join("p-00002.csv")).unwrap();
    assert_eq!(second, "Name,Note\n\"Dan\",\n");
    assert_eq!(manifest.chunks[0].source_ranges, vec![[2, 4]]);
    assert_eq!(manifest.chunks[1].source_ranges, vec![[7, 7]]);

    let mut x = ChunkWriter::new(dir.path(), "x", &header, 3, Format::Xlsx, WriteOptions::default()).unwrap();
    let e = x.push_raw(2, b"a,b\n").unwrap_err();
    assert!(matches!(e, ChunkError::RawIntoXlsx("xlsx")), "{e}");
    assert_eq!(x.finish().unwrap().chunks.len(), 0, "no chunk was started");
}
