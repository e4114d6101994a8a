//! Every file the sheet writers make is whole or absent (issue 14): `fix … -o fixed.csv |
//! head -3` used to leave a third of a file that looked finished.

use std::path::{Path, PathBuf};
use std::process::Command;

use elma_import_sheet::{create, open, Format, ReadOptions, Row, SheetError, WriteOptions};

const ROWS: u64 = 20_000;

fn row(n: u64) -> Row {
    Row::from_texts(n, [format!("Name {n}"), format!("{n}.50"), "some text, \"quoted\"".to_string()])
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes the header and rows 2..=`last` to `path` without finishing.
fn write_some(path: &Path, format: Format, last: u64) -> Result<elma_import_sheet::Writer, SheetError> {
    let mut w = create(path, format, &WriteOptions::default())?;
    w.write_row(&Row::from_texts(1, ["Name", "Amount", "Note"]))?;
    for n in 2..=last {
        w.write_row(&row(n))?;
    }
    Ok(w)
}

fn data_rows(path: &Path) -> u64 {
    let mut reader = open(path, &ReadOptions::default()).unwrap();
    let mut rows = 0;
    while let Some(batch) = reader.next_batch().unwrap() {
        rows += batch.len() as u64;
    }
    rows
}

#[test]
fn a_writer_dropped_midway_leaves_nothing() {
    for format in [Format::Csv, Format::Xlsx] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("fixed.{format}"));
        let w = write_some(&path, format, ROWS / 3).unwrap();
        assert_eq!(names(dir.path()).len(), 1, "only the hidden temporary file while writing");
        assert!(!path.exists());
        drop(w);
        assert!(names(dir.path()).is_empty(), "{format}: {:?}", names(dir.path()));
    }
}

#[test]
fn a_finished_writer_leaves_the_whole_file() {
    for format in [Format::Csv, Format::Xlsx] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("fixed.{format}"));
        let size = write_some(&path, format, ROWS + 1).unwrap().finish().unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        assert_eq!(names(dir.path()), [format!("fixed.{format}")]);
        assert_eq!(data_rows(&path), ROWS, "{format}");
    }
}

#[test]
fn an_existing_file_is_replaced_only_at_the_end() {
    for format in [Format::Csv, Format::Xlsx] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("fixed.{format}"));
        write_some(&path, format, 11).unwrap().finish().unwrap();
        let old = std::fs::read(&path).unwrap();

        let w = write_some(&path, format, ROWS + 1).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), old, "{format}: untouched while writing");
        w.finish().unwrap();
        assert_eq!(data_rows(&path), ROWS, "{format}");

        // Cut short: the last finished file stays.
        let finished = std::fs::read(&path).unwrap();
        drop(write_some(&path, format, 100).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), finished, "{format}");
        assert_eq!(names(dir.path()), [format!("fixed.{format}")]);
    }
}

const CHILD: &str = "ELMA_SHEET_ATOMIC_CHILD";

/// The child half of the test below: runs under a file size limit, so writing the new
/// .csv fails part way as on a full disk. Only a .csv: the limit would also stop
/// rust_xlsxwriter's own temporary file of the rows, which it does not survive (it
/// panics); an .xlsx failing at `finish` is covered by `write_full_disk.rs`.
#[test]
fn child_writes_past_the_file_size_limit() {
    let Some(dir) = std::env::var_os(CHILD).map(PathBuf::from) else {
        return;
    };
    let err = write_some(&dir.join("fixed.csv"), Format::Csv, 200_000)
        .and_then(|w| w.finish())
        .expect_err("the file size limit stops the writer");
    match &err {
        SheetError::Io { source, .. } => assert_eq!(source.raw_os_error(), Some(27), "EFBIG, got {source}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    println!("error: {err}");
}

#[cfg(unix)]
#[test]
fn a_write_that_fails_midway_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixed.csv");
    write_some(&path, Format::Csv, 11).unwrap().finish().unwrap();
    let old = std::fs::read(&path).unwrap();
    // `ulimit -f` caps the size of any file the child writes (in blocks of at most
    // 1 KiB); with SIGXFSZ ignored a write past it fails with EFBIG, as one fails with
    // ENOSPC on a full disk.
    let out = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 256 && exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "write_atomic::child_writes_past_the_file_size_limit",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("error: cannot access"), "{stdout}");
    assert_eq!(std::fs::read(&path).unwrap(), old, "the old file stays");
    assert_eq!(data_rows(&path), 10);
    assert_eq!(names(dir.path()), ["fixed.csv"], "no temporary file left");
}
