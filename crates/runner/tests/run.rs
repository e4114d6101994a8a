//! The runner driven in-process on a manual clock against a scripted platform bound on
//! 127.0.0.1:0: every start outcome, `blocked`, expiry, partial failure, uncertain starts,
//! counts that do not add up, a stall, Ctrl-C and concurrent executions. No real sleeps.
//!
//! The scripted platform stores the rows of each imported .csv chunk as items (`__name`,
//! `note`, both STRING), lands all, some or none of them as each test scripts, and answers
//! the start and the status polls as scripted.

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use elma_import_client::{Client, ManualClock};
use elma_import_runner::event::{Event, SettledBy};
use elma_import_runner::journal::{Journal, JournalError};
use elma_import_runner::{
    execute_with_clock, Cancel, Chunk, ExecOptions, Observer, Progress, RunError, RunSpec, StopKind, Summary,
};
use serde_json::{json, Map, Value};

type Item = Map<String, Value>;

/// How many rows of an upload an import lands.
#[derive(Clone, Copy)]
enum Land {
    All,
    First(usize),
    None,
}

/// What the platform does with one start request.
#[derive(Clone)]
enum Start {
    /// Starts an import, lands rows, then answers the polls in turn (the last repeats).
    Accept(Land, Vec<Answer>),
    /// `blocked`: nothing started.
    Blocked,
    /// HTTP 400: nothing started.
    Refuse,
    /// Lands rows, then loses the answer (HTTP 500).
    Lose(Land),
}

/// One status answer.
#[derive(Clone)]
enum Answer {
    /// `done` with counts as the platform tells them (`None`: the landed rows).
    Done(Option<(u64, u64)>),
    /// `failed` with the landed rows counted.
    Failed,
    /// `in_progress` with this many processed.
    Running(u64),
    /// A status that is not a result.
    Status(&'static str),
}

#[derive(Default)]
struct Platform {
    uploads: HashMap<String, Vec<Item>>,
    items: Vec<Item>,
    script: VecDeque<Start>,
    imports: HashMap<String, (u64, u64, VecDeque<Answer>)>,
    starts: u32,
    list_broken: bool,
}

type Shared = Arc<Mutex<Platform>>;

async fn upload(
    State(p): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Json<Value> {
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("csv");
            let mut item = Map::new();
            item.insert("__name".into(), json!(r[0]));
            if !r[1].is_empty() {
                item.insert("note".into(), json!(r[1]));
            }
            item
        })
        .collect();
    p.lock().unwrap().uploads.insert(q["hash"].clone(), rows);
    Json(json!({"success": true, "error": ""}))
}

fn land(p: &mut Platform, hash: &str, how: Land) -> u64 {
    let rows = p.uploads.get(hash).cloned().unwrap_or_default();
    let n = match how {
        Land::All => rows.len(),
        Land::First(k) => k.min(rows.len()),
        Land::None => 0,
    };
    for mut item in rows.into_iter().take(n) {
        item.insert("__id".into(), json!(format!("item-{}", p.items.len() + 1)));
        p.items.push(item);
    }
    n as u64
}

async fn start(State(p): State<Shared>, Json(body): Json<Value>) -> (axum::http::StatusCode, Json<Value>) {
    let mut p = p.lock().unwrap();
    p.starts += 1;
    let hash = body["fileHash"].as_str().unwrap_or_default().to_string();
    let ok = axum::http::StatusCode::OK;
    match p.script.pop_front().unwrap_or(Start::Accept(Land::All, vec![Answer::Done(None)])) {
        Start::Blocked => (ok, Json(json!({"success": true, "error": "", "result": {"status": "blocked"}}))),
        Start::Refuse => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"success": false, "error": "no file with this hash"})),
        ),
        Start::Lose(how) => {
            land(&mut p, &hash, how);
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"success": false, "error": "lost"})))
        }
        Start::Accept(how, answers) => {
            let total = p.uploads.get(&hash).map_or(0, |r| r.len() as u64);
            let landed = land(&mut p, &hash, how);
            let id = format!("imp-{}", p.starts);
            p.imports.insert(id.clone(), (total, landed, answers.into()));
            (ok, Json(json!({"success": true, "error": "", "result": {"id": id, "status": "new"}})))
        }
    }
}

async fn status(State(p): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let mut p = p.lock().unwrap();
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let (total, landed, answers) = p.imports.get_mut(&id).expect("known import");
    let answer = if answers.len() > 1 { answers.pop_front() } else { answers.front().cloned() };
    let (status, processed, imported, failed) = match answer.unwrap_or(Answer::Done(None)) {
        Answer::Done(None) => ("done", *total, *landed, 0),
        Answer::Done(Some((i, f))) => ("done", *total, i, f),
        Answer::Failed => ("failed", *landed, *landed, 0),
        Answer::Running(n) => ("in_progress", n, n, 0),
        Answer::Status(s) => (s, 0, 0, 0),
    };
    Json(json!({"success": true, "error": "", "result": {
        "id": id, "status": status, "total": total, "processed": processed,
        "imported": imported, "failed": failed, "errors": []}}))
}

async fn list(State(p): State<Shared>, Json(body): Json<Value>) -> (axum::http::StatusCode, Json<Value>) {
    let p = p.lock().unwrap();
    if p.list_broken {
        return (
            axum::http::StatusCode::OK,
            Json(json!({"success": true, "error": "", "result": {"result": [], "total": 0}})),
        );
    }
    // §6: text conditions under `tf` match substrings, case-insensitively.
    let tf = body["filter"]["tf"].as_object().cloned().unwrap_or_default();
    let contains = |item: &Item, k: &str, v: &Value| {
        let (Some(have), Some(want)) = (item.get(k).and_then(Value::as_str), v.as_str()) else {
            return false;
        };
        have.to_lowercase().contains(&want.to_lowercase())
    };
    let found: Vec<&Item> = p.items.iter().filter(|i| tf.iter().all(|(k, v)| contains(i, k, v))).collect();
    let from = body["from"].as_u64().unwrap_or(0) as usize;
    let page: Vec<&Item> = found.iter().skip(from).take(100).copied().collect();
    (
        axum::http::StatusCode::OK,
        Json(json!({"success": true, "error": "", "result": {"result": page, "total": found.len()}})),
    )
}

struct Harness {
    dir: tempfile::TempDir,
    platform: Shared,
    client: Client,
    clock: ManualClock,
    rows: usize,
}

impl Harness {
    fn run_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("run")
    }

    fn script(&self, steps: Vec<Start>) {
        self.platform.lock().unwrap().script = steps.into();
    }

    async fn execute(&self, options: &ExecOptions) -> Result<Summary, RunError> {
        execute_with_clock(
            &self.run_dir(),
            &self.client,
            &self.clock,
            options,
            &elma_import_runner::Quiet,
            &Cancel::new(),
        )
        .await
    }

    /// Every source row is an item exactly once.
    fn assert_exactly_once(&self) {
        let p = self.platform.lock().unwrap();
        let mut names: Vec<&str> = p.items.iter().map(|i| i["__name"].as_str().unwrap()).collect();
        names.sort_unstable();
        let mut want: Vec<String> = (2..self.rows + 2).map(|r| format!("row-{r}")).collect();
        want.sort_unstable();
        assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>(), "every row exactly once");
    }

    fn events(&self) -> Vec<Event> {
        Journal::read(&self.run_dir().join("journal.jsonl")).unwrap()
    }

    fn errors_csv(&self) -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(self.run_dir().join("errors.csv")).unwrap();
        r.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
    }
}

async fn setup(rows: usize, rows_per_chunk: u64, key: Option<&str>) -> Harness {
    setup_with(rows, rows_per_chunk, key, |_| {}).await
}

/// [`setup`], `edit` changing the source file before the run is made.
async fn setup_with(
    rows: usize,
    rows_per_chunk: u64,
    key: Option<&str>,
    edit: impl FnOnce(&std::path::Path),
) -> Harness {
    let platform: Shared = Arc::default();
    let app = Router::new()
        .route("/pub/v1/disk/file/upload", post(upload))
        .route("/pub/v1/app/crm/notes/import", post(start))
        .route("/pub/v1/app/crm/notes/import/status", post(status))
        .route("/pub/v1/app/crm/notes/list", post(list))
        .with_state(platform.clone());
    let client = common::serve_client(app).await;

    let dir = tempfile::tempdir().unwrap();
    let (source, schema) = common::notes(dir.path(), rows);
    edit(&source);
    let spec = RunSpec {
        chunk_format: elma_import_contract::wire::FileFormat::Csv,
        rows_per_chunk: Some(rows_per_chunk),
        key_column: key.map(str::to_string),
        ..RunSpec::new("r1", &source, "crm.notes").unwrap()
    };
    spec.create(&dir.path().join("run"), &schema).unwrap();
    Harness { dir, platform, client, clock: ManualClock::new(), rows }
}

fn count(events: &[Event], f: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

#[tokio::test]
async fn counts_that_add_up_are_trusted_without_a_look_up() {
    let h = setup(10, 5, None).await;
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    assert_eq!((s.imported, s.failed, s.not_imported, s.rows_sent), (10, 0, 0, 10));
    h.assert_exactly_once();
    assert!(h
        .events()
        .iter()
        .all(|e| !matches!(e, Event::Reconciled { by, .. } if *by != SettledBy::Counts)));
}

#[tokio::test]
async fn done_with_fewer_rows_counted_than_sent_mends_the_rest_by_content() {
    // Regression: `done` with 6 imported + 0 failed of 10 exited 0.
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Accept(Land::First(6), vec![Answer::Done(Some((6, 0)))])]);
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    assert_eq!(s.imported, 10);
    h.assert_exactly_once();
    let events = h.events();
    assert!(events.iter().any(
        |e| matches!(e, Event::Reconciled { by, retry, .. } if *by == SettledBy::Content && retry.len() == 4)
    ));
    assert_eq!(count(&events, |e| matches!(e, Event::Replaced { rows: 4, .. })), 1);
}

#[tokio::test]
async fn done_without_counts_is_looked_up_and_not_imported_again() {
    // Regression: `done` with no counts at all exited 0 on the platform's word.
    let h = setup(10, 10, Some("Name")).await;
    h.script(vec![Start::Accept(Land::All, vec![Answer::Done(Some((0, 0)))])]);
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    h.assert_exactly_once();
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::Reconciled { by, landed: 10, .. } if *by == SettledBy::Key)));
}

#[tokio::test]
async fn a_look_up_that_contradicts_the_platforms_count_stops_for_the_users_word() {
    // The platform counted 6 of 10 imported; the look-up finds none of them. The count is
    // a fact no look-up overrules: nothing is sent again and no row is claimed either way
    // (before, the 10 rows were listed as not imported, 6 of them wrongly).
    let h = setup(10, 10, None).await;
    h.platform.lock().unwrap().list_broken = true;
    h.script(vec![Start::Accept(Land::First(6), vec![Answer::Done(Some((6, 0)))])]);
    let err = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Uncertain, "{err}");
    assert!(err.to_string().contains("counted 6") && err.to_string().contains("found 0"), "{err}");
    assert!(matches!(&err, RunError::Uncertain { chunks, .. } if chunks == &[Chunk(0)]), "{err:?}");
    assert_eq!(h.platform.lock().unwrap().starts, 1, "nothing is sent again blindly");
    assert!(!h.run_dir().join("summary.json").exists());
    // The look-up still cannot tell on the next execution; the user's word settles it.
    let err = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Uncertain, "{err}");
    let options = ExecOptions { assume: vec![(Chunk(0), true)], ..ExecOptions::default() };
    let s = h.execute(&options).await.unwrap();
    assert_eq!((s.imported, s.not_imported, s.settled_chunks), (10, 0, 1), "{s:?}");
    assert_eq!(h.platform.lock().unwrap().starts, 1);
}

#[tokio::test]
async fn not_imported_by_the_users_word_sends_only_the_rows_not_found() {
    // The counts and the look-up disagree (the listing fails), so the run stops for the
    // user's word. "Not imported" once sent the whole chunk again, doubling the 6 rows
    // that had landed; now the rows are looked up once more and only the 4 others go.
    let h = setup(10, 10, None).await;
    h.platform.lock().unwrap().list_broken = true;
    h.script(vec![Start::Accept(Land::First(6), vec![Answer::Done(Some((6, 0)))])]);
    assert_eq!(h.execute(&ExecOptions::default()).await.unwrap_err().kind(), StopKind::Uncertain);
    h.platform.lock().unwrap().list_broken = false;
    let options = ExecOptions { assume: vec![(Chunk(0), false)], ..ExecOptions::default() };
    let s = h.execute(&options).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    h.assert_exactly_once();
    assert_eq!(count(&h.events(), |e| matches!(e, Event::Replaced { rows: 4, .. })), 1);
    assert_eq!(h.platform.lock().unwrap().starts, 2, "the first import, then the rest");
}

#[tokio::test]
async fn a_blocked_status_for_a_started_import_is_not_a_result() {
    // Regression: the status endpoint answering `blocked` was journaled as finished.
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Accept(
        Land::All,
        vec![Answer::Status("blocked"), Answer::Status("weird"), Answer::Done(None)],
    )]);
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    let finished: Vec<_> = h.events().into_iter().filter(|e| matches!(e, Event::Finished { .. })).collect();
    assert_eq!(finished.len(), 1);
    assert!(matches!(&finished[0], Event::Finished { status, .. } if status.as_str() == "done"));
}

#[tokio::test]
async fn blocked_starts_are_waited_out_on_the_clock_and_journaled() {
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Blocked, Start::Blocked, Start::Accept(Land::All, vec![Answer::Done(None)])]);
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported());
    assert_eq!(s.blocked_answers, 2);
    assert!(h.clock.elapsed() >= Duration::from_millis(2400), "backoff 1 s then 2 s, ±20 %");
    h.assert_exactly_once();
}

#[tokio::test]
async fn blocked_past_the_timeout_stops_and_the_budget_is_journaled() {
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Blocked; 200]);
    let mut options = ExecOptions::default();
    options.policy.blocked_timeout = Duration::from_secs(120);
    let err = h.execute(&options).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Blocked, "{err}");
    assert!(err.to_string().contains("the limit is 2m 00s"), "{err}");
    let blocked = count(&h.events(), |e| matches!(e, Event::Blocked { .. }));
    assert!(blocked > 3, "{blocked}");
    // The next execution finds the app free.
    h.script(vec![]);
    assert!(h.execute(&options).await.unwrap().all_imported());
    h.assert_exactly_once();
}

#[tokio::test]
async fn a_refused_start_uploads_again_and_counts_against_the_budget() {
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Refuse, Start::Accept(Land::All, vec![Answer::Done(None)])]);
    assert!(h.execute(&ExecOptions::default()).await.unwrap().all_imported());
    let events = h.events();
    assert_eq!(count(&events, |e| matches!(e, Event::StartRefused { .. })), 1);
    assert_eq!(count(&events, |e| matches!(e, Event::Uploaded { .. })), 2);
    h.assert_exactly_once();
    // Refusals beyond the budget stop the run.
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Refuse; 10]);
    let err = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Network, "{err}");
}

#[tokio::test]
async fn an_import_that_fails_before_any_row_is_started_again() {
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Accept(Land::None, vec![Answer::Failed])]);
    assert!(h.execute(&ExecOptions::default()).await.unwrap().all_imported());
    assert_eq!(count(&h.events(), |e| matches!(e, Event::FailedEarly { .. })), 1);
    h.assert_exactly_once();
}

#[tokio::test]
async fn a_partial_failure_imports_the_missing_rows_once() {
    let h = setup(10, 10, Some("Name")).await;
    h.script(vec![Start::Accept(Land::First(3), vec![Answer::Running(3), Answer::Failed])]);
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    h.assert_exactly_once();
}

#[tokio::test]
async fn an_uncertain_start_that_imported_part_of_the_chunk_is_settled_row_by_row() {
    // Regression: the first/last-row check found the first row, never the last, and
    // exited 5 forever; --assume-not-imported doubled the rows that had landed.
    let h = setup(10, 10, Some("Name")).await;
    h.script(vec![Start::Lose(Land::First(4))]);
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    h.assert_exactly_once();
    assert_eq!(count(&h.events(), |e| matches!(e, Event::Replaced { rows: 6, .. })), 1);

    // By content, in an app whose imported fields are all text, a row not found may have
    // landed with its text stored otherwise, and nothing else tells: the user says.
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Lose(Land::First(4))]);
    let err = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Uncertain, "{err}");
    assert!(err.to_string().contains("6 row(s)") && err.to_string().contains("reworded"), "{err}");
    assert_eq!(h.platform.lock().unwrap().starts, 1);
    // Not imported: the 6 rows not found are sent, the 4 found are not sent again.
    let options = ExecOptions { assume: vec![(Chunk(0), false)], ..ExecOptions::default() };
    assert!(h.execute(&options).await.unwrap().all_imported());
    h.assert_exactly_once();
    assert_eq!(count(&h.events(), |e| matches!(e, Event::Replaced { rows: 6, .. })), 1);
}

#[tokio::test]
async fn an_uncertain_start_that_did_nothing_starts_the_same_file_again() {
    let h = setup(10, 10, Some("Name")).await;
    h.script(vec![Start::Lose(Land::None)]);
    assert!(h.execute(&ExecOptions::default()).await.unwrap().all_imported());
    assert_eq!(count(&h.events(), |e| matches!(e, Event::Resolved { imported: false, .. })), 1);
    h.assert_exactly_once();
}

#[tokio::test]
async fn an_uncertain_start_with_no_row_found_by_content_asks_the_user() {
    // By content alone, no row found may mean values that read differently on the
    // platform: starting again could double every row, so the user decides (exit 5).
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Lose(Land::None)]);
    let err = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Uncertain, "{err}");
    assert!(err.to_string().contains("found by its content"), "{err}");
    assert_eq!(h.platform.lock().unwrap().starts, 1);
    // The user's word: not imported. It is started again, once.
    let options = ExecOptions { assume: vec![(Chunk(0), false)], ..ExecOptions::default() };
    assert!(h.execute(&options).await.unwrap().all_imported());
    h.assert_exactly_once();
}

#[tokio::test]
async fn an_uncertain_start_that_imported_everything_is_done() {
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Lose(Land::All)]);
    assert!(h.execute(&ExecOptions::default()).await.unwrap().all_imported());
    assert_eq!(h.platform.lock().unwrap().starts, 1);
    h.assert_exactly_once();
}

#[tokio::test]
async fn a_stuck_import_ends_the_wait_at_the_stall_limit_and_resume_finishes_it() {
    // Regression: an import stuck `in_progress` was polled forever.
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Accept(Land::All, vec![Answer::Running(4)])]);
    let mut options = ExecOptions::default();
    options.policy.stall_timeout = Duration::from_secs(300);
    let err = h.execute(&options).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Network, "{err}");
    assert!(err.to_string().contains("has not moved for"), "{err}");
    assert_eq!(count(&h.events(), |e| matches!(e, Event::Stalled { processed: 4, .. })), 1);
    assert!(h.clock.elapsed() >= Duration::from_secs(300) && h.clock.elapsed() < Duration::from_secs(330));
    // The platform finishes it; a resume polls the same import.
    h.platform.lock().unwrap().imports.get_mut("imp-1").unwrap().2 = vec![Answer::Done(None)].into();
    assert!(h.execute(&options).await.unwrap().all_imported());
    assert_eq!(h.platform.lock().unwrap().starts, 1);
    h.assert_exactly_once();
}

/// Cancels the run at its first status answer.
struct CtrlC(Cancel);

impl Observer for CtrlC {
    fn on(&self, p: &Progress<'_>) {
        if matches!(p, Progress::Importing { .. }) {
            self.0.cancel();
        }
    }
}

#[tokio::test]
async fn ctrl_c_while_polling_stops_at_once_journaled() {
    // Regression: Ctrl-C during a stuck import left the process polling.
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Accept(Land::All, vec![Answer::Running(4)])]);
    let cancel = Cancel::new();
    let err = execute_with_clock(
        &h.run_dir(),
        &h.client,
        &h.clock,
        &ExecOptions::default(),
        &CtrlC(cancel.clone()),
        &cancel,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), StopKind::Interrupted);
    assert!(h.clock.elapsed() < Duration::from_secs(5), "{:?}", h.clock.elapsed());
    assert!(matches!(h.events().last(), Some(Event::Interrupted { .. })));
    h.platform.lock().unwrap().imports.get_mut("imp-1").unwrap().2 = vec![Answer::Done(None)].into();
    assert!(h.execute(&ExecOptions::default()).await.unwrap().all_imported());
    h.assert_exactly_once();
}

/// Cancels the run when the app is reported blocked.
struct CtrlCWhenBlocked(Cancel);

impl Observer for CtrlCWhenBlocked {
    fn on(&self, p: &Progress<'_>) {
        if matches!(p, Progress::Blocked { .. }) {
            self.0.cancel();
        }
    }
}

#[tokio::test]
async fn ctrl_c_while_waiting_out_blocked_stops_at_once_journaled() {
    let h = setup(10, 10, None).await;
    h.script(vec![Start::Blocked; 50]);
    let cancel = Cancel::new();
    let observer = CtrlCWhenBlocked(cancel.clone());
    let err =
        execute_with_clock(&h.run_dir(), &h.client, &h.clock, &ExecOptions::default(), &observer, &cancel)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), StopKind::Interrupted);
    assert_eq!(h.platform.lock().unwrap().starts, 1, "no second start after Ctrl-C");
    assert!(matches!(h.events().last(), Some(Event::Interrupted { .. })));
}

#[tokio::test]
async fn a_temporary_file_past_its_safe_window_is_uploaded_again() {
    let h = setup(10, 10, None).await;
    // Blocked long enough (on the manual clock) for the upload to pass its window.
    h.script(vec![Start::Blocked; 12]);
    let mut options = ExecOptions { temp_ttl: Some(Duration::from_secs(120)), ..ExecOptions::default() };
    options.policy.blocked_timeout = Duration::from_secs(3600);
    assert!(h.execute(&options).await.unwrap().all_imported());
    let events = h.events();
    assert!(count(&events, |e| matches!(e, Event::UploadExpired { .. })) >= 1);
    h.assert_exactly_once();
}

#[tokio::test]
async fn two_executions_at_once_never_import_twice() {
    // Regression: two resumes of one run imported the remaining rows twice.
    let h = setup(20, 5, None).await;
    let options = ExecOptions::default();
    let (a, b) = tokio::join!(h.execute(&options), h.execute(&options));
    let (ok, locked) = if a.is_ok() { (a, b) } else { (b, a) };
    assert!(ok.unwrap().all_imported());
    let err = locked.unwrap_err();
    assert!(
        matches!(err, RunError::Journal(JournalError::Locked { pid: Some(p), .. }) if p == std::process::id()),
        "{err}"
    );
    assert_eq!(err.kind(), StopKind::Usage);
    h.assert_exactly_once();
}

#[tokio::test]
async fn a_torn_journal_line_is_cut_away_and_the_run_continues() {
    let h = setup(10, 5, None).await;
    let journal = h.run_dir().join("journal.jsonl");
    // A first execution stops after chunk 1; a crash then leaves a fragment of a line.
    let cancel = Cancel::new();
    struct StopAfterFirst(Cancel);
    impl Observer for StopAfterFirst {
        fn on(&self, p: &Progress<'_>) {
            if matches!(p, Progress::ChunkFinished { chunk: Chunk(0), .. }) {
                self.0.cancel();
            }
        }
    }
    let err = execute_with_clock(
        &h.run_dir(),
        &h.client,
        &h.clock,
        &ExecOptions::default(),
        &StopAfterFirst(cancel.clone()),
        &cancel,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), StopKind::Interrupted);
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(br#"{"event":"upload_begin","at":1"#)
        .unwrap();
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    h.assert_exactly_once();
    assert!(Journal::<Event>::read(&journal).is_ok());
    assert!(std::fs::read_to_string(&journal).unwrap().ends_with('\n'));
}

#[test]
fn a_current_thread_runtime_can_prepare_a_run() {
    // Regression: `block_in_place` panicked on a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let h = setup(3, 5, None).await;
        assert!(h.execute(&ExecOptions::default()).await.unwrap().all_imported());
    });
}

#[tokio::test]
async fn time_spent_polling_is_waiting_not_the_clients_own_work() {
    // On the manual clock only waits move time, so the client's own share of the
    // sending phase is nothing; a poll not counted as waiting would make it all.
    let h = setup(30, 5, None).await;
    let s = h.execute(&ExecOptions::default()).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    assert!(s.wall_secs > 1.0, "the polls took time on the clock: {s:?}");
    assert!(s.client_busy_share < 0.01, "busy share {}", s.client_busy_share);
}

#[tokio::test]
async fn a_key_column_must_identify_rows_or_the_run_is_refused_before_anything_is_sent() {
    // Regression: with e-mails repeating, a look-up by key found 1,906 rows "landed" where
    // the platform counted 953, and the run exited 0 with 949 rows missing.
    let h = setup_with(6, 3, Some("Note"), |source| {
        std::fs::write(source, "Name,Note\nrow-2,a\nrow-3,b\nrow-4,a\nrow-5,\nrow-6,c\nrow-7,d\n").unwrap();
    })
    .await;
    let err = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert!(matches!(err, RunError::InvalidRows { invalid: 3, .. }), "{err:?}");
    assert_eq!(h.platform.lock().unwrap().starts, 0);
    let rules: Vec<(String, String)> =
        h.errors_csv().into_iter().map(|r| (r[0].clone(), r[4].clone())).collect();
    let want = [("2", "key_repeated"), ("4", "key_repeated"), ("5", "key_missing")];
    assert_eq!(rules, want.map(|(r, k)| (r.to_string(), k.to_string())));
    // Told to skip them, the run imports the three rows whose keys identify them.
    let s = h.execute(&ExecOptions { skip_invalid: true, ..ExecOptions::default() }).await.unwrap();
    assert_eq!((s.imported, s.rows_invalid), (3, 3), "{s:?}");
    let mut rejects = csv::Reader::from_path(h.run_dir().join("rejects.csv")).unwrap();
    let rows: Vec<String> = rejects.records().map(|r| r.unwrap()[0].to_string()).collect();
    assert_eq!(rows, ["2", "4", "5"]);
}

#[tokio::test]
async fn an_item_already_in_the_app_is_never_taken_for_a_row_of_the_run() {
    // Regression: an item with a row's key, there before the run, counted as the row having
    // landed after a lost start answer; the row was never imported, and the run exited 0.
    let h = setup(5, 5, Some("Name")).await;
    let before = json!({"__id": "earlier-1", "__name": "row-3", "note": "imported some other way"});
    h.platform.lock().unwrap().items.push(before.as_object().unwrap().clone());
    h.script(vec![Start::Lose(Land::None)]);
    // Found before anything is sent, the earlier item stops the run: its row would be in
    // the app twice. Nothing was started.
    let e = h.execute(&ExecOptions::default()).await.unwrap_err();
    assert!(matches!(e, RunError::AlreadyInApp { items: 1, .. }), "{e}");
    assert_eq!(h.platform.lock().unwrap().items.len(), 1, "nothing sent");
    // The user imports it anyway (`--again`).
    let s = h.execute(&ExecOptions { again: true, ..ExecOptions::default() }).await.unwrap();
    assert!(s.all_imported(), "{s:?}");
    let names: Vec<String> =
        h.platform.lock().unwrap().items.iter().map(|i| i["__name"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "row-3").count(),
        2,
        "the earlier item and the run's: {names:?}"
    );
    assert_eq!(names.len(), 6);
    let baseline = h.events().into_iter().find_map(|e| match e {
        Event::Baseline { items, .. } => Some(items),
        _ => None,
    });
    assert_eq!(baseline, Some(vec!["earlier-1".to_string()]));
}
