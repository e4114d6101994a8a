//! A closed stdout (`fix … -o fixed.csv | head -3`) stops the printing, not the work:
//! the command finishes its files and exits with its outcome's code.

#![allow(clippy::useless_vec)]

use crate::util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use util::*;

fn schema() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../templates/crm.contacts.schema.json")
        .display()
        .to_string()
}

#[test]
fn fix_piped_into_head_finishes_its_file_and_exits_with_its_outcome() {
    let tmp = tempfile::Builder::new().prefix("elma-pipe-").tempdir().expect("tempdir");
    let d = tmp.path();
    let s = sample(d, "big.csv", 40_000, 0.6, 11);
    let file = s.path.display().to_string();

    // The reference: the same fix with nobody closing anything.
    let reference = elma(d, &args!["fix", file, "--schema", schema(), "-o", "ref.csv"]);
    let code = reference.code.expect("exit code");
    let listed = reference.stdout.len();
    assert!(listed > 256 * 1024, "more change lines than a pipe holds (64 KiB): {listed} bytes");

    // `| head -3`: read three lines of the change list, then close the pipe.
    let mut child = command(d, &args!["fix", file, "--schema", schema(), "-o", "piped.csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fix");
    let stderr = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a change line");
        assert!(line.starts_with("row "), "{line:?}");
    }
    drop(stdout);
    let status = child.wait().expect("wait");
    let stderr = stderr.join().unwrap_or_default();
    assert_eq!(status.code(), Some(code), "the outcome's exit code, not an abort\n{stderr}");
    assert!(!stderr.contains("error"), "a closed stdout is no error\n{stderr}");
    assert!(stderr.contains("wrote piped.csv"), "the summary still goes to stderr\n{stderr}");
    assert_eq!(
        std::fs::read(d.join("piped.csv")).expect("piped.csv"),
        std::fs::read(d.join("ref.csv")).expect("ref.csv"),
        "the fixed file is written to its end"
    );
}
