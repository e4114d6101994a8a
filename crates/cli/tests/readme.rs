//! The README's shell examples are tests: every ```sh block of README.md runs here, as
//! written, against an emulator.
//!
//! # How a block runs
//!
//! - The blocks run in README order, each in its own `bash`, all in one temporary folder
//!   that starts with a copy of the repository's `templates/` (the examples are written
//!   as run from the repository's root) and keeps what earlier blocks wrote, as a reader
//!   following the README top to bottom would.
//! - The binary under test is on `PATH` as `elma-import`; `ELMA365_URL` and
//!   `ELMA365_TOKEN` name an emulator started for the test (`elma-import emulator` with
//!   its defaults), so examples need no `--url`/`--token`. An `export` of either in a
//!   block is ignored (`export ELMA365_URL=https://acme…` stays an example).
//! - `cargo run --release -- ARGS` runs the binary (`elma-import ARGS`); any other
//!   `cargo …` line (`cargo test`, `cargo build`, `cargo install`) is not run: the test
//!   is cargo's already.
//! - Each command (a line with its `\` continuations, or as many lines as bash needs to
//!   complete it, e.g. `|| {` … `}`) must exit 0, or N when its comment says `exit N`
//!   (`elma-import validate … # exit 1: the file has bad cells`). A command ending in
//!   `&` runs in the background and is stopped when its block ends.
//!
//! # Directives
//!
//! An HTML comment before a block (any text may come between) steers it; readers of the
//! rendered README do not see it:
//!
//! - `<!-- readme-test: skip: REASON -->`: the block is not run (a real tenant, a
//!   measurement of minutes). Say why.
//! - `<!-- readme-test: setup: SHELL -->`: runs before the block's commands, in its bash
//!   (files or state the prose explains); must exit 0.
//! - `<!-- readme-test: then: SHELL -->`: a check after the block's commands, in its bash
//!   (`test -s errors.csv`, `grep -q … out.txt`); must exit 0.
//! - `<!-- readme-test: same-as: PATH -->` before a block of any language: once every
//!   block has run, the block must equal the file PATH of the folder, byte for byte but
//!   for trailing white space (the README shows exactly what a command writes).
//!
//! Several directives may precede one block, one per comment.

#![allow(clippy::useless_vec)]

use crate::util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::*;

/// Longest a block may run.
const BLOCK_LIMIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq)]
enum Directive {
    Skip(String),
    Setup(String),
    Then(String),
    SameAs(String),
}

/// A fenced block of the README.
#[derive(Debug)]
struct Block {
    /// Line of the opening fence (1-based).
    line: usize,
    lang: String,
    /// The lines between the fences, each with its README line number.
    lines: Vec<(usize, String)>,
    directives: Vec<Directive>,
}

fn directive(line: &str) -> Option<Directive> {
    let inner = line.trim().strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    let rest = inner.strip_prefix("readme-test:")?.trim();
    let (name, arg) = rest.split_once(':').map_or((rest, ""), |(n, a)| (n.trim(), a.trim()));
    Some(match name {
        "skip" => Directive::Skip(arg.to_string()),
        "setup" => Directive::Setup(arg.to_string()),
        "then" => Directive::Then(arg.to_string()),
        "same-as" => Directive::SameAs(arg.to_string()),
        other => panic!("README.md: unknown readme-test directive `{other}` in {line:?}"),
    })
}

/// The fenced blocks of a Markdown text, with the directives before each.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let fence = line.trim_start().starts_with("```");
        match open.as_mut() {
            Some(_) if fence => out.extend(open.take()),
            Some(b) => b.lines.push((n, line.to_string())),
            None if fence => {
                let lang = line.trim_start().trim_start_matches('`').trim().to_string();
                open = Some(Block {
                    line: n,
                    lang,
                    lines: Vec::new(),
                    directives: std::mem::take(&mut pending),
                });
            }
            None => pending.extend(directive(line)),
        }
    }
    assert!(open.is_none(), "README.md: a block is never closed");
    assert!(pending.is_empty(), "README.md: directives after the last block: {pending:?}");
    out
}

/// One command of a block.
#[derive(Debug, PartialEq)]
struct Cmd {
    line: usize,
    text: String,
    expected: i32,
    background: bool,
}

/// The comment part of a shell line (after a `#` that starts a word), roughly: enough
/// for `… # exit 1: why`.
fn comment(line: &str) -> Option<&str> {
    if line.trim_start().starts_with('#') {
        return Some(line.trim_start());
    }
    line.find(" #").map(|at| &line[at + 1..])
}

/// `exit N` in a command's comments, else 0.
fn expected_exit(text: &str) -> i32 {
    for line in text.lines() {
        if let Some(c) = comment(line) {
            if let Some(at) = c.find("exit ") {
                let digits: String = c[at + 5..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse() {
                    return n;
                }
            }
        }
    }
    0
}

/// Whether bash reads `text` as complete commands.
fn complete(text: &str) -> bool {
    Command::new("bash").args(["-n", "-c", text]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The block's commands: comment-only and blank lines between them dropped, each
/// command as many lines as bash needs.
fn commands(block: &Block) -> Vec<Cmd> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut first = 0;
    for (n, line) in &block.lines {
        if acc.is_empty() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            first = *n;
        }
        acc.push_str(line);
        acc.push('\n');
        if line.trim_end().ends_with('\\') || !complete(&acc) {
            continue;
        }
        let code = acc.lines().map(|l| comment(l).map_or(l, |c| &l[..l.len() - c.len()])).collect::<String>();
        out.push(Cmd {
            line: first,
            expected: expected_exit(&acc),
            background: code.trim_end().ends_with('&') && !code.trim_end().ends_with("&&"),
            text: std::mem::take(&mut acc),
        });
    }
    assert!(acc.trim().is_empty(), "README.md:{first}: a command bash never reads as complete:\n{acc}");
    out
}

/// `cargo run [--release] -- ARGS` → `elma-import ARGS`; other cargo commands: `None`.
fn map_cargo(text: &str) -> Option<String> {
    let t = text.trim_start();
    if !t.starts_with("cargo ") {
        return Some(text.to_string());
    }
    for prefix in ["cargo run --release -- ", "cargo run -- "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return Some(format!("elma-import {rest}"));
        }
    }
    None
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The bash program of a block: the environment, then each command followed by a check
/// of its exit status, then the block's checks.
fn program(block: &Block, emu_url: &str) -> (String, Vec<String>) {
    let bin_dir = Path::new(BIN).parent().expect("bin dir");
    let mut notes = Vec::new();
    let mut s = format!(
        "export PATH={}:\"$PATH\" ELMA365_URL={} ELMA365_TOKEN={} NO_COLOR=1\n\
         export() {{ local a; for a in \"$@\"; do case \"$a\" in ELMA365_URL=*|ELMA365_TOKEN=*) ;; *) builtin export \"$a\";; esac; done; }}\n\
         trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT\n",
        quote(&bin_dir.display().to_string()),
        quote(emu_url),
        quote(TOKEN)
    );
    for d in &block.directives {
        if let Directive::Setup(cmd) = d {
            s.push_str(&format!(
                "{cmd}\n__rc=$?; if [ $__rc -ne 0 ]; then echo \"::readme:: setup of README.md:{}: exit $__rc\" >&2; exit 97; fi\n",
                block.line
            ));
        }
    }
    for cmd in commands(block) {
        let Some(text) = map_cargo(&cmd.text) else {
            notes.push(format!("README.md:{}: not run (cargo): {}", cmd.line, cmd.text.trim()));
            continue;
        };
        s.push_str(&format!("echo \"::readme:: README.md:{} \" >&2\n{text}", cmd.line));
        if !cmd.background {
            s.push_str(&format!(
                "__rc=$?; if [ $__rc -ne {e} ]; then echo \"::readme:: README.md:{l}: exit $__rc, expected {e}\" >&2; exit 98; fi\n",
                e = cmd.expected,
                l = cmd.line
            ));
        }
    }
    for d in &block.directives {
        if let Directive::Then(check) = d {
            s.push_str(&format!(
                "{check}\n__rc=$?; if [ $__rc -ne 0 ]; then echo \"::readme:: check after README.md:{}: {} exited $__rc\" >&2; exit 99; fi\n",
                block.line,
                check.replace('"', "'")
            ));
        }
    }
    (s, notes)
}

fn run_block(block: &Block, dir: &Path, emu_url: &str) -> Vec<String> {
    let (program, notes) = program(block, emu_url);
    let log = dir.join(format!(".readme-block-{}.log", block.line));
    let file = std::fs::File::create(&log).expect("log");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&program)
        .current_dir(dir)
        .env_remove("ELMA365_PROFILE")
        .env_remove("ELMA_IMPORT_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("ELMA_IMPORT_LEDGER", dir.join(".ledger.jsonl"))
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .expect("bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > BLOCK_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: String = {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    };
    match status {
        Some(s) if s.success() => notes,
        Some(s) => panic!(
            "README.md:{}: the block failed ({s}); its output (last 60 lines):\n{tail}\n--- the program ---\n{program}",
            block.line
        ),
        None => panic!("README.md:{}: the block ran past {BLOCK_LIMIT:?}:\n{tail}", block.line),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_shell_example_of_the_readme_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let blocks = blocks(&readme);
    let tmp = tempfile::Builder::new().prefix("elma-readme-").tempdir().expect("tempdir");
    copy_dir(&repo().join("templates"), &tmp.path().join("templates"));
    let emu = Emulator::start(&[]);
    let mut ran = 0;
    for block in blocks.iter().filter(|b| b.lang == "sh") {
        if let Some(Directive::Skip(why)) = block.directives.iter().find(|d| matches!(d, Directive::Skip(_)))
        {
            assert!(!why.is_empty(), "README.md:{}: say why a block is skipped", block.line);
            eprintln!("README.md:{}: skipped: {why}", block.line);
            continue;
        }
        for note in run_block(block, tmp.path(), &emu.url) {
            eprintln!("{note}");
        }
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} shell blocks ran");
    for block in &blocks {
        for d in &block.directives {
            if let Directive::SameAs(path) = d {
                let file = std::fs::read_to_string(tmp.path().join(path))
                    .unwrap_or_else(|e| panic!("README.md:{}: same-as `{path}`: {e}", block.line));
                let shown: Vec<&str> = block.lines.iter().map(|(_, l)| l.trim_end()).collect();
                let written: Vec<&str> = file.lines().map(str::trim_end).collect();
                assert_eq!(shown, written, "README.md:{}: the block differs from `{path}`", block.line);
            }
        }
    }
}

#[test]
fn the_harness_reads_commands_exit_codes_and_directives_as_documented() {
    let md = "intro\n<!-- readme-test: skip: needs a tenant -->\n\n```sh\nelma-import check\n```\n\
              <!-- readme-test: then: test -s a.csv -->\n```sh\n# a comment\n\
              elma-import validate a.csv \\\n    --schema s.json   # exit 1: bad cells\n\
              out=$(elma-import --json run a.csv) || {\n  echo \"$out\"; }\n\
              elma-import emulator &\ncargo run --release -- demo\ncargo test --workspace\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].directives, [Directive::Skip("needs a tenant".into())]);
    assert_eq!(b[1].directives, [Directive::Then("test -s a.csv".into())]);
    let cmds = commands(&b[1]);
    assert_eq!(cmds.len(), 5, "{cmds:?}");
    assert_eq!((cmds[0].line, cmds[0].expected), (10, 1));
    assert!(cmds[0].text.contains("--schema s.json"));
    assert!(cmds[1].text.contains("echo") && cmds[1].expected == 0, "{:?}", cmds[1]);
    assert!(cmds[2].background && !cmds[1].background);
    assert_eq!(map_cargo(&cmds[3].text).as_deref(), Some("elma-import demo\n"));
    assert_eq!(map_cargo(&cmds[4].text), None);
}
