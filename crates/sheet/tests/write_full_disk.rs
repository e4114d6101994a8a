//! Writing to a full disk: a clear I/O error and nothing else on stderr.

use std::path::Path;
use std::process::Command;

use elma_import_sheet::{create, Format, Row, SheetError, WriteOptions};

const CHILD: &str = "ELMA_SHEET_FULL_DISK_CHILD";

/// Writes an .xlsx to `/dev/full` (every write fails with "no space left on device").
fn write_to_full_disk() -> Result<u64, SheetError> {
    let mut w = create(Path::new("/dev/full"), Format::Xlsx, &WriteOptions::default())?;
    w.write_row(&Row::from_texts(1, ["Name", "Comment"]))?;
    for n in 2..2000 {
        w.write_row(&Row::from_texts(n, [format!("Name {n}"), "some text ".repeat(10)]))?;
    }
    w.finish()
}

/// The child half of the test below: the error is printed, as the CLI would.
#[test]
fn child_writes_to_a_full_disk() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let err = write_to_full_disk().expect_err("/dev/full takes nothing");
    let mut line = format!("error: {err}");
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        line.push_str(&format!(": {c}"));
        cause = c.source();
    }
    eprintln!("{line}");
}

/// Regression (issue 7): the zip writer inside rust_xlsxwriter, dropped after the failed
/// write, printed `ZipWriter::drop: failed to finalize archive` in front of `error:`.
#[test]
fn a_full_disk_is_an_io_error_and_the_zip_writer_stays_quiet() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "write_full_disk::child_writes_to_a_full_disk",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("ZipWriter"), "{stderr}");
    let error_line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error_line.contains("/dev/full"), "{error_line}");
    assert!(error_line.to_lowercase().contains("no space left"), "{error_line}");

    match write_to_full_disk() {
        Err(SheetError::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(28), "ENOSPC"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}
