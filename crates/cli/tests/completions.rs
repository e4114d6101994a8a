//! Completions that complete (`elma-import completions bash|zsh|fish`): each script is
//! sourced in its own shell and asked for the completions of partial command lines, as
//! a TAB would: subcommands, flags, and the values of flags with a fixed list.
//!
//! - bash: the function `complete -p elma-import` registers is called with `COMP_WORDS`
//!   and `COMP_CWORD` set, and `COMPREPLY` printed;
//! - zsh: an interactive zsh in a pseudo-terminal (`completions/zsh_complete.zsh`, zsh's
//!   zpty module) loads compinit and the script, and the line is typed with a TAB;
//! - fish: `complete -C 'LINE'`.
//!
//! zsh and fish must be installed (`.ci/run` installs them).

#![allow(clippy::useless_vec)]

use crate::util;

use std::path::Path;
use std::process::Command;

use util::*;

/// Partial command lines (the last word being completed) and completions each must offer.
const CASES: &[(&str, &[&str])] = &[
    ("elma-import ru", &["run", "runs"]),
    ("elma-import run --with-e", &["--with-event-handlers"]),
    ("elma-import run --progress ", &["auto", "bar", "lines", "jsonl", "none"]),
    ("elma-import validate --locale ", &["ru", "en"]),
    ("elma-import split --chunk-f", &["--chunk-format"]),
    ("elma-import split --chunk-format ", &["xlsx", "csv"]),
    ("elma-import completions ", &["bash", "zsh", "fish"]),
    ("elma-import emulator --locale ", &["ru", "en"]),
];

fn script(dir: &Path, shell: &str) -> std::path::PathBuf {
    let out = elma(dir, &args!["completions", shell]);
    out.expect_code(0);
    let path = dir.join(format!("elma-import.{shell}"));
    std::fs::write(&path, &out.stdout).expect("write the script");
    path
}

fn shell(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} ({e}): install it (`.ci/run` does)"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} {args:?}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[track_caller]
fn offers(shell: &str, line: &str, got: &str, want: &[&str]) {
    for w in want {
        assert!(
            got.split(char::is_whitespace).any(|word| word == *w || word.starts_with(&format!("{w}\t"))),
            "{shell}: `{line}<TAB>` does not offer `{w}`; it gave:\n{got}"
        );
    }
}

/// Terminal output without its control sequences (`ESC [ … letter`) and carriage returns.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
                out.push(' ');
            }
            '\r' | '\u{7}' | '\u{8}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-comp-").tempdir().expect("tempdir")
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    let tmp = tempdir();
    let script = script(tmp.path(), "bash");
    for (line, want) in CASES {
        let words: Vec<&str> = line.split(' ').collect();
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let cword = words.len() - 1;
        let program = format!(
            "source '{}'\n\
             f=$(complete -p elma-import | sed -E 's/.*-F ([^ ]+).*/\\1/')\n\
             COMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
             \"$f\" elma-import \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" ")
        );
        let got = shell("bash", &["-c", &program]);
        offers("bash", line, &got, want);
    }
}

#[test]
fn zsh_completes_subcommands_flags_and_values() {
    let tmp = tempdir();
    let script = script(tmp.path(), "zsh");
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/completions/zsh_complete.zsh");
    for (line, want) in CASES {
        let got = shell("zsh", &["-f", &driver.display().to_string(), &script.display().to_string(), line]);
        // What the terminal shows: the completed line, or the list of candidates.
        let shown = plain(&got);
        offers("zsh", line, &shown, want);
    }
}

#[test]
fn fish_completes_subcommands_flags_and_values() {
    let tmp = tempdir();
    let script = script(tmp.path(), "fish");
    for (line, want) in CASES {
        let program = format!("source '{}'; complete -C '{line}'", script.display());
        let got = shell("fish", &["--no-config", "-c", &program]);
        offers("fish", line, &got, want);
    }
}
