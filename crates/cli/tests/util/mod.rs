//! Helpers of the end-to-end tests: run the real `elma-import` binary in a temp dir
//! against an emulator child process bound to 127.0.0.1:0, and look at what landed.
//!
//! Every command run is kept with its stdout and stderr, so a failed assertion prints
//! what was run and what it said.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use elma_import_contract::schema::AppSchema;
use elma_import_template::sample::{write_csv, SampleInfo, SampleOptions};
use elma_import_template::Locale;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_elma-import");

/// The token the emulators accept.
pub const TOKEN: &str = "e2e-token-5f0c";

/// The demo app the tests import into.
pub const APP: &str = "crm.contacts";

/// The demo contacts schema.
pub fn contacts() -> AppSchema {
    AppSchema::from_json(include_str!("../../../../templates/crm.contacts.schema.json"))
        .expect("contacts schema")
}

/// A finished command: how it was run and what it said.
pub struct Output {
    /// The command line, for failure messages.
    pub cmdline: String,
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Stdout.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

impl Output {
    /// Everything about the command, for a failure message.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }

    /// Panics, showing the command, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{}", self.describe());
        self
    }

    /// Panics, showing the command, unless stderr holds `text`.
    #[track_caller]
    pub fn expect_stderr(&self, text: &str) -> &Output {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{}", self.describe());
        self
    }

    /// Stdout parsed as one JSON object (`--json`).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.describe()))
    }
}

/// A command of the binary, run in `cwd` with a clean environment (no ELMA365_*, no
/// config file of the user).
pub fn command(cwd: &Path, args: &[String]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(cwd);
    for var in ["ELMA365_URL", "ELMA365_TOKEN", "ELMA365_PROFILE", "ELMA_IMPORT_CONFIG"] {
        cmd.env_remove(var);
    }
    // Each test keeps its own import ledger, in its own folder.
    cmd.env("XDG_CONFIG_HOME", cwd.join(".config"))
        .env("ELMA_IMPORT_LEDGER", cwd.join(".ledger.jsonl"))
        .env("NO_COLOR", "1");
    cmd
}

fn cmdline(args: &[String]) -> String {
    std::iter::once("elma-import".to_string()).chain(args.iter().cloned()).collect::<Vec<_>>().join(" ")
}

/// Runs the binary to its end.
pub fn elma(cwd: &Path, args: &[String]) -> Output {
    finish(command(cwd, args), args)
}

/// Runs the binary to its end in `cwd`, keeping the import ledger in `home` (another
/// folder's, when a test moves between folders as a user would).
#[allow(dead_code)]
pub fn elma_sharing_ledger(cwd: &Path, home: &Path, args: &[String]) -> Output {
    let mut cmd = command(cwd, args);
    cmd.env("ELMA_IMPORT_LEDGER", home.join(".ledger.jsonl"));
    finish(cmd, args)
}

fn finish(mut cmd: Command, args: &[String]) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    Output {
        cmdline: cmdline(args),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running command whose output is collected in the background.
pub struct Running {
    /// The child.
    pub child: Child,
    cmdline: String,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Starts the binary without waiting for it.
pub fn spawn(cwd: &Path, args: &[String]) -> Running {
    let mut child = command(cwd, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    Running { child, cmdline: cmdline(args), stdout, stderr }
}

impl Running {
    /// SIGKILL (on Unix `Child::kill` sends SIGKILL), then collects the output.
    pub fn kill(mut self) -> Output {
        let _ = self.child.kill();
        self.wait()
    }

    /// Lets the process run up to `limit`, then SIGKILLs it if it has not ended; the output
    /// and whether it was killed.
    pub fn wait_or_kill(mut self, limit: Duration) -> (Output, bool) {
        let t = std::time::Instant::now();
        while t.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return (self.wait(), false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (self.kill(), true)
    }

    /// Waits for the end.
    pub fn wait(mut self) -> Output {
        let status = self.child.wait().expect("wait");
        Output {
            cmdline: self.cmdline,
            code: status.code(),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

/// Strings `--flag value` pairs and flags into owned args.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => { vec![$(($a).to_string()),*] };
}

/// An emulator child process (`elma-import emulator --addr 127.0.0.1:0 --json`).
pub struct Emulator {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT/pub/v1`.
    pub url: String,
    args: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Emulator {
    /// Starts an emulator on a free loopback port accepting [`TOKEN`], with `extra` flags.
    pub fn start(extra: &[String]) -> Emulator {
        Emulator::start_at("127.0.0.1:0", extra)
    }

    /// Starts an emulator on `addr`.
    pub fn start_at(addr: &str, extra: &[String]) -> Emulator {
        let mut args = args!["emulator", "--addr", addr, "--json"];
        if !extra.iter().any(|a| a == "--token") {
            args.extend(args!["--token", TOKEN]);
        }
        args.extend(extra.iter().cloned());
        let cwd = std::env::temp_dir();
        // Retry the bind a few times when restarting on a fixed port.
        for attempt in 0..20 {
            let mut child = command(&cwd, &args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("emulator stdout");
            let stderr = drain(child.stderr.take().expect("stderr"));
            if line.trim().is_empty() {
                let _ = child.wait();
                let text = stderr.join().unwrap_or_default();
                if attempt < 19 && text.contains("in use") {
                    std::thread::sleep(Duration::from_millis(250));
                    continue;
                }
                panic!("the emulator did not start: {}\n{text}", cmdline(&args));
            }
            let v: Value =
                serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("emulator said {line:?}: {e}"));
            let url = v["url"].as_str().expect("url").to_string();
            let addr: SocketAddr = v["addr"].as_str().expect("addr").parse().expect("addr");
            return Emulator { child: Some(child), addr, url, args, stderr: Some(stderr) };
        }
        unreachable!()
    }

    /// SIGKILLs the emulator (a crash: nothing saved at shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `GET`/`POST` a control endpoint under `/_emulator/`; the JSON answer.
    #[track_caller]
    pub fn control(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = http(self.addr, method, &format!("/_emulator/{path}"), body);
        assert_eq!(status, 200, "{method} /_emulator/{path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} /_emulator/{path}: {e}: {text}"))
    }

    /// The counters.
    pub fn counters(&self) -> Value {
        self.control("GET", "counters", None)
    }

    /// Replaces the fault profile.
    pub fn faults(&self, profile: Value) {
        self.control("POST", "faults", Some(&profile));
    }

    /// Every item of the app, through the emulator's control endpoint (never faulted).
    pub fn items(&self, app: &str) -> Vec<Value> {
        let v = self.control("GET", &format!("items/{}", app.replace('.', "/")), None);
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// Asserts no two status polls of one import came closer than 1 s.
    #[track_caller]
    pub fn assert_polls_spaced(&self) {
        let counters = self.counters();
        let polls = counters["polls"].as_object().cloned().unwrap_or_default();
        assert!(!polls.is_empty(), "no status polls counted: {counters}");
        for (id, p) in polls {
            if let Some(gap) = p["min_gap_ms"].as_u64() {
                assert!(gap >= 1000, "import {id}: two status polls {gap} ms apart: {p}");
            }
        }
    }

    /// The emulator's command line (for failure messages).
    pub fn describe(&self) -> String {
        cmdline(&self.args)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            if let Some(h) = self.stderr.take() {
                eprintln!(
                    "--- emulator {} stderr ---\n{}",
                    cmdline(&self.args),
                    h.join().unwrap_or_default()
                );
            }
        }
    }
}

/// A minimal HTTP/1.1 exchange over loopback (`Connection: close`); status and body.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(eol) = rest[pos..].windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[pos..pos + eol]).trim(), 16).unwrap_or(0);
            pos += eol + 2;
            if size == 0 || pos + size > rest.len() {
                break;
            }
            out.extend_from_slice(&rest[pos..pos + size]);
            pos += size + 2;
        }
        rest = out;
    }
    (status, String::from_utf8_lossy(&rest).into_owned())
}

/// A generated contacts file and the rows expected to land.
pub struct Sample {
    /// The .csv.
    pub path: PathBuf,
    /// What the generator planted.
    pub info: SampleInfo,
    /// Email → Name of every valid row (rows without a planted bad cell).
    pub expected: HashMap<String, String>,
    /// Emails of the rows with a planted bad cell (which must not land).
    pub rejected: BTreeSet<String>,
}

/// Writes `rows` contacts (a share `bad_share` of them with one bad cell) to `dir/name`.
pub fn sample(dir: &Path, name: &str, rows: u64, bad_share: f64, seed: u64) -> Sample {
    let path = dir.join(name);
    let options = SampleOptions { rows, bad_share, seed, locale: Locale::Ru };
    let info = write_csv(&contacts(), &path, &options).expect("sample");
    let bad: BTreeSet<u64> = info.planted.iter().map(|p| p.row).collect();
    let mut reader = csv::Reader::from_path(&path).expect("read the sample");
    let headers = reader.headers().expect("header").clone();
    let col =
        |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (name_col, email_col) = (col("Name"), col("Email"));
    let mut expected = HashMap::new();
    let mut rejected = BTreeSet::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.expect("record");
        let row = i as u64 + 2;
        let email = record[email_col].to_string();
        if bad.contains(&row) {
            rejected.insert(email);
        } else {
            let previous = expected.insert(email.clone(), record[name_col].to_string());
            assert!(previous.is_none(), "the sample repeats the email {email}");
        }
    }
    Sample { path, info, expected, rejected }
}

/// Asserts every valid row of `sample` landed exactly once with its Name, and nothing else.
#[track_caller]
pub fn assert_exactly_once(sample: &Sample, items: &[Value]) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut problems = Vec::new();
    for item in items {
        // docs/platform.md §7: an e-mail is `[{"type", "email"}]`.
        let email = item["email"][0]["email"].as_str().or(item["email"].as_str()).unwrap_or("");
        *seen.entry(email).or_default() += 1;
        match sample.expected.get(email) {
            Some(name) if item["__name"].as_str() == Some(name.as_str()) => {}
            Some(name) => problems.push(format!("{email}: name {} instead of {name:?}", item["__name"])),
            None if sample.rejected.contains(email) => {
                problems.push(format!("{email}: an invalid row landed"))
            }
            None => problems.push(format!("{email:?}: an item that is no row of the file")),
        }
    }
    for (email, n) in &seen {
        if *n > 1 {
            problems.push(format!("{email}: {n} items"));
        }
    }
    let missing = sample.expected.keys().filter(|e| !seen.contains_key(e.as_str())).count();
    if missing > 0 {
        problems.push(format!(
            "{missing} valid rows missing, e.g. {:?}",
            sample.expected.keys().find(|e| !seen.contains_key(e.as_str()))
        ));
    }
    problems.truncate(20);
    assert!(
        problems.is_empty() && items.len() == sample.expected.len(),
        "{} items for {} valid rows:\n{}",
        items.len(),
        sample.expected.len(),
        problems.join("\n")
    );
}

/// Every item of the app through the public list endpoint (docs/platform.md §6), in pages of 100.
pub fn list_items(url: &str, app: &str) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = elma_import_client::Client::new(elma_import_client::ClientConfig::new(url, TOKEN))
            .expect("client");
        let app: elma_import_client::AppRef = app.parse().expect("app");
        let items = client.list_all(&app, None).await.expect("list the app's items");
        items.into_iter().map(Value::Object).collect()
    })
}

/// The usual connection and file flags of a run against `emu`.
pub fn conn(emu: &Emulator) -> Vec<String> {
    args!["--url", emu.url, "--token", TOKEN]
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A deadline helper for loops that wait on something.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
