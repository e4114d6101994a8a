//! The report page in a real browser: every run leaves `report.html`, which headless
//! Chromium opens offline without a console message, with one import bar per chunk
//! (`data-chunk`), one row of the errors table per line of errors.csv, a filter that works
//! from the address, and everything readable with scripts off; a run of 1,000 chunks and
//! 100,000 errors stays light. Ctrl-C leaves the page too.
//!
//! Chromium is Debian's `chromium` (`apt-get install chromium`; CI installs it). Without
//! it the browser checks are skipped with a message, except under CI (`CI` set), where
//! they fail.

#![allow(clippy::useless_vec)]

use crate::util;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-report-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Chromium, or `None` (with a message) where it is not installed; under CI its absence
/// fails the test.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHROMIUM").map(PathBuf::from).or_else(|| {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            std::env::var_os("PATH")
                .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file()))
        })
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI must check the report page in it (apt-get install chromium)"
        );
        eprintln!("SKIPPED the browser checks: chromium is not installed (apt-get install chromium)");
    }
    found
}

/// Runs headless Chromium on `url` with `extra` flags; its stdout and the console lines
/// of its log.
fn browse(chrome: &Path, url: &str, extra: &[&str]) -> (String, Vec<String>, Duration) {
    let profile = tempfile::tempdir().expect("profile dir");
    let t = Instant::now();
    let out = Command::new(chrome)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", profile.path())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.stdout.is_empty() && std::env::var_os("REPORT_DEBUG").is_some() {
        eprintln!("chromium {url}: {:?}\n{stderr}", out.status);
    }
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console, took)
}

/// The DOM after the page's script ran.
fn dom(chrome: &Path, url: &str) -> (String, Vec<String>, Duration) {
    browse(chrome, url, &["--virtual-time-budget=5000", "--dump-dom"])
}

/// Rows of the body of the table `id` in a dumped DOM: (shown, hidden).
fn table_rows(dom: &str, id: &str) -> (usize, usize) {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| {
        panic!("no table {id} in the page ({} bytes): {}", dom.len(), &dom[..dom.len().min(300)])
    });
    let body = &dom[start..];
    let body = &body[body.find("<tbody>").expect("tbody")..body.find("</tbody>").expect("/tbody")];
    let hidden = body.matches("<tr hidden=").count();
    (body.matches("<tr").count() - hidden, hidden)
}

/// The distinct chunks of the import bars of a page.
fn chunk_bars(page: &str) -> std::collections::BTreeSet<u32> {
    page.split("data-chunk=\"").skip(1).filter_map(|s| s.split('"').next()?.parse().ok()).collect()
}

fn url(page: &Path, hash: &str) -> String {
    format!("file://{}{hash}", page.display())
}

fn csv_lines(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).expect("csv").records().map(|r| r.expect("record")).collect()
}

#[test]
fn every_run_leaves_a_page_that_opens_offline_with_its_chunks_and_errors() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 500, 0.04, 21);
    let emu = Emulator::start(&args![
        "--rows-per-sec",
        "5000",
        "--handler-rate",
        "100000",
        "--time-zone",
        "+03:00"
    ]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["--json", "run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--skip-invalid"];
    a.extend(args![
        "--rows-per-chunk",
        "100",
        "--with-event-handlers",
        "--pause",
        "auto",
        "--min-pause",
        "0.1"
    ]);
    a.extend(args!["--max-pause", "0.3", "--key-column", "Email", "--time-zone", "+03:00"]);
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(1);
    out.expect_stderr("report page: ");
    let summary = out.json();
    let chunks = summary["chunks"].as_u64().unwrap() as u32;
    let page_path = run_dir.join("report.html");
    let page = std::fs::read_to_string(&page_path).expect("report.html");
    let errors = csv_lines(&run_dir.join("errors.csv"));
    assert!(!errors.is_empty());
    // Written on the server side: the bars, the table, the pacer's decisions.
    assert_eq!(chunk_bars(&page), (1..=chunks).collect(), "one import bar per chunk");
    assert_eq!(page.matches("class=\"b imp\"").count() as u32, chunks);
    assert!(page.contains("id=\"pacer\""), "auto pacing: the decisions are listed");
    assert!(page.contains(&format!("{} of 500 rows", summary["imported"])), "the outcome in one sentence");
    // Self-contained: nothing to fetch.
    for outside in ["src=", "href=\"http", "url(", "@import", "<link"] {
        assert!(!page.contains(outside), "the page refers to something outside it: {outside}");
    }

    // `report` writes the same page again, elsewhere too.
    let other = tmp.path().join("copy.html");
    let out = elma(tmp.path(), &args!["--json", "report", p(&run_dir), "-o", p(&other)]);
    out.expect_code(0);
    assert_eq!(out.json()["report"].as_str(), Some(other.to_str().unwrap()));
    assert_eq!(chunk_bars(&std::fs::read_to_string(&other).unwrap()), (1..=chunks).collect());

    let Some(chrome) = chromium() else { return };
    let (dumped, console, _) = dom(&chrome, &url(&page_path, ""));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(table_rows(&dumped, "errors"), (errors.len(), 0), "one row per line of errors.csv");
    assert_eq!(chunk_bars(&dumped).len() as u32, chunks);
    assert!(
        !dumped.contains("id=\"errors-filters\" class=\"filters\" hidden"),
        "the script shows the filters"
    );
    // The filter, from the address: by column, and by rule.
    // The filter, from the address.
    let rule = errors[0][4].to_string();
    let of_rule = errors.iter().filter(|e| e[4] == rule).count();
    let (dumped, console, _) = dom(&chrome, &url(&page_path, &format!("#rule={rule}&source=validation")));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(table_rows(&dumped, "errors"), (of_rule, errors.len() - of_rule));
    assert!(
        dumped.contains(&format!("<b id=\"errors-shown\">{of_rule}</b>")),
        "the count shown follows the filter"
    );
    // With scripts off (headless Chromium neither dumps nor draws a page without them,
    // so: the page as served): every row there, and the filters, which need the script,
    // hidden.
    assert_eq!(table_rows(&page, "errors"), (errors.len(), 0));
    assert!(page.contains("id=\"errors-filters\" class=\"filters\" hidden"));

    // After `verify`, the page shows its result too.
    elma(tmp.path(), &[args!["--json", "verify", p(&run_dir)], conn(&emu)].concat()).expect_code(1);
    let (dumped, console, _) = dom(&chrome, &url(&page_path, ""));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dumped.contains("id=\"verify-counts\""));

    // Screenshots at two widths, to look at (docs/report.png is one of them).
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for width in [1280, 800] {
        let file = shots.join(format!("run-{width}.png"));
        let _ = std::fs::remove_file(&file);
        browse(
            &chrome,
            &url(&page_path, ""),
            &[&format!("--window-size={width},2200"), &format!("--screenshot={}", file.display())],
        );
        assert!(
            std::fs::metadata(&file).map(|m| m.len() > 10_000).unwrap_or(false),
            "no screenshot {}",
            file.display()
        );
    }
}

#[test]
fn ctrl_c_leaves_the_page_of_an_interrupted_run() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 22);
    let emu = Emulator::start(&args!["--rows-per-sec", "150", "--time-zone", "+03:00"]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--rows-per-chunk", "100"];
    a.extend(args!["--time-zone", "+03:00", "--progress", "lines"]);
    a.extend(conn(&emu));
    let running = spawn(tmp.path(), &a);
    let journal = run_dir.join("journal.jsonl");
    assert!(
        wait_until(Duration::from_secs(60), || std::fs::read_to_string(&journal)
            .is_ok_and(|j| j.contains("\"started\""))),
        "the run did not start an import"
    );
    let pid = running.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    let out = running.wait();
    out.expect_code(130);
    let page = std::fs::read_to_string(run_dir.join("report.html")).expect("the page of an interrupted run");
    assert!(page.contains("was interrupted (Ctrl-C)"), "the outcome says so");
    assert!(page.contains("elma-import resume"), "and how to continue");
    assert!(!chunk_bars(&page).is_empty() || page.contains("data-chunk") || page.contains("id=\"timeline\""));
}

/// A run directory of `chunks` chunks and `errors` lines of errors.csv, written as a run
/// writes them.
fn big_run(dir: &Path, chunks: u32, errors: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let source = dir.join("source.csv");
    std::fs::write(&source, "Name\nx\n").unwrap();
    let spec = elma_import_runner::RunSpec::new("big", &source, APP).unwrap();
    spec.create(dir, &contacts()).unwrap();
    let mut journal = String::new();
    let t0 = 1_796_000_000.0;
    journal.push_str(&format!(
        "{{\"event\":\"prepared\",\"at\":{t0},\"rows\":{},\"valid\":{},\"invalid\":0,\"chunks\":{chunks}}}\n",
        u64::from(chunks) * 100,
        u64::from(chunks) * 100
    ));
    for c in 0..chunks {
        let at = t0 + 1.0 + f64::from(c) * 6.0;
        let lines = [
            format!("{{\"event\":\"upload_begin\",\"at\":{at},\"chunk\":{c},\"hash\":\"h{c}\",\"target\":\"temporary\"}}"),
            format!("{{\"event\":\"uploaded\",\"at\":{},\"chunk\":{c},\"hash\":\"h{c}\"}}", at + 0.4),
            format!("{{\"event\":\"start_sent\",\"at\":{},\"chunk\":{c},\"hash\":\"h{c}\"}}", at + 0.5),
            format!("{{\"event\":\"started\",\"at\":{},\"chunk\":{c},\"import_id\":\"i{c}\"}}", at + 0.6),
            format!(
                "{{\"event\":\"finished\",\"at\":{},\"chunk\":{c},\"status\":\"done\",\"imported\":100,\"failed\":0}}",
                at + 3.0 + f64::from(c % 7) * 0.1
            ),
            format!("{{\"event\":\"reconciled\",\"at\":{},\"chunk\":{c},\"landed\":100,\"by\":\"counts\"}}", at + 3.8),
        ];
        for l in lines {
            journal.push_str(&l);
            journal.push('\n');
        }
    }
    journal.push_str(&format!("{{\"event\":\"completed\",\"at\":{}}}\n", t0 + 2.0 + f64::from(chunks) * 6.0));
    std::fs::write(dir.join("journal.jsonl"), journal).unwrap();
    let mut w = csv::Writer::from_path(dir.join("errors.csv")).unwrap();
    w.write_record(["row", "column", "header", "value", "rule", "message", "fix", "source"]).unwrap();
    let heads =
        [("C", "Email", "not_an_email"), ("D", "Phone", "phone_format"), ("F", "Amount", "not_a_number")];
    for i in 0..errors {
        let (col, head, rule) = heads[(i % 3) as usize];
        let source = if i % 5 == 0 { "platform" } else { "validation" };
        let value = format!("<bad & \"value\" {i}>");
        w.write_record([
            &(i + 2).to_string(),
            col,
            head,
            &value,
            rule,
            "what is wrong, in words",
            "",
            source,
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn a_run_of_1000_chunks_and_100000_errors_stays_light() {
    let tmp = tempdir();
    let dir = tmp.path().join("big");
    big_run(&dir, 1_000, 100_000);
    let t = Instant::now();
    let out = elma(tmp.path(), &args!["--json", "report", p(&dir)]);
    let wrote = t.elapsed();
    out.expect_code(0);
    let page_path = PathBuf::from(out.json()["report"].as_str().unwrap());
    let page = std::fs::read_to_string(&page_path).unwrap();
    eprintln!("report of 1,000 chunks and 100,000 errors: written in {wrote:?}, {} bytes", page.len());
    assert_eq!(chunk_bars(&page).len(), 1_000);
    assert!(page.len() < 6_000_000, "{} bytes", page.len());
    assert!(page.contains("the first 5,000 of 100,000 lines"), "the cap is said");
    assert!(!page.contains("<bad &"), "values are escaped");
    assert!(page.contains("&lt;bad &amp; &quot;value&quot; 1&gt;"));
    assert_eq!(table_rows(&page, "errors"), (5_000, 0));
    // The counts are over every line, not the table's.
    assert!(page.contains("<td>Email</td>") || page.contains(">Email</a>"));
    assert!(page.contains(">33,334<"), "by column: over all 100,000 lines");

    let Some(chrome) = chromium() else { return };
    let (dumped, console, took) = dom(&chrome, &url(&page_path, "#source=platform"));
    eprintln!("chromium loaded, filtered and dumped it in {took:?}");
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(table_rows(&dumped, "errors"), (1_000, 4_000), "1 line in 5 is the platform's");
    assert!(took < Duration::from_secs(20), "{took:?}");
    // By column, and with text: every third line of the table is a Phone line.
    let (dumped, console, _) = dom(&chrome, &url(&page_path, "#column=Phone"));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(table_rows(&dumped, "errors"), (1_667, 3_333));
    let (dumped, _, _) = dom(&chrome, &url(&page_path, "#column=Email&q=%22%2099%3E"));
    assert_eq!(
        table_rows(&dumped, "errors"),
        (1, 4_999),
        "line 99 is the one Email line whose value ends so"
    );
}
