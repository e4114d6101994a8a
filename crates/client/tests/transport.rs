//! The client over a [`Transport`] of the test's own: what the transport is handed, how
//! scripted answers and failures come back, and the timeout and backoff on tokio's clock.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap as AxumHeaders;
use axum::routing::post;
use axum::{Json, Router};
use elma_import_client::transport::{HttpAnswer, HttpRequest, StatusCode, Transport, TransportFuture};
use elma_import_client::{
    AppRef, Client, ClientConfig, ClientError, FileFormat, ImportStatus, ListRequest, RetryPolicy,
    StartImport, TransportKind,
};
use elma_import_contract::wire::{self, paths::routes};
use serde_json::{json, Value};

const TOKEN: &str = "tok-SECRET-4242";
const BASE: &str = "http://platform.invalid/pub/v1";

/// What a scripted transport does with one request.
enum Step {
    Answer(u16, Value),
    AnswerWith(u16, Vec<(&'static str, &'static str)>, Value),
    Fail(TransportKind),
    /// Never answers (until tokio's clock runs out the client's timeout).
    Hang,
}

/// Hands out the steps in turn (the last one repeats) and keeps every request, with the
/// tokio time it came at.
#[derive(Default)]
struct Scripted {
    steps: Mutex<VecDeque<Step>>,
    seen: Mutex<Vec<(tokio::time::Instant, HttpRequest)>>,
}

impl Scripted {
    fn new(steps: Vec<Step>) -> Arc<Scripted> {
        Arc::new(Scripted { steps: Mutex::new(steps.into()), seen: Mutex::default() })
    }

    fn requests(&self) -> Vec<HttpRequest> {
        self.seen.lock().unwrap().iter().map(|(_, r)| r.clone()).collect()
    }

    fn times(&self) -> Vec<tokio::time::Instant> {
        self.seen.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

impl Transport for Scripted {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        self.seen.lock().unwrap().push((tokio::time::Instant::now(), request));
        let step = {
            let mut steps = self.steps.lock().unwrap();
            match steps.len() {
                0 => Step::Fail(TransportKind::Connect),
                1 => match &steps[0] {
                    Step::Answer(s, v) => Step::Answer(*s, v.clone()),
                    Step::AnswerWith(s, h, v) => Step::AnswerWith(*s, h.clone(), v.clone()),
                    Step::Fail(k) => Step::Fail(*k),
                    Step::Hang => Step::Hang,
                },
                _ => steps.pop_front().unwrap(),
            }
        };
        Box::pin(async move {
            let (status, headers, body) = match step {
                Step::Answer(status, body) => (status, Vec::new(), body),
                Step::AnswerWith(status, headers, body) => (status, headers, body),
                Step::Fail(kind) => return Err((kind, format!("scripted failure for Bearer {TOKEN}"))),
                Step::Hang => std::future::pending().await,
            };
            let mut answer = HttpAnswer::new(StatusCode::from_u16(status).unwrap(), body.to_string());
            for (name, value) in headers {
                answer.headers.insert(name, value.parse().unwrap());
            }
            Ok(answer)
        })
    }
}

fn client_over(transport: Arc<Scripted>, configure: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut config = ClientConfig::new(BASE, TOKEN);
    config.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };
    config.part_size = wire::MIN_PART;
    config.transport = Some(transport);
    configure(&mut config);
    Client::new(config).unwrap()
}

fn app() -> AppRef {
    "crm.contacts".parse().unwrap()
}

fn start_body() -> StartImport {
    StartImport { file_hash: "h-1".into(), format: FileFormat::Csv, with_event_handlers: true }
}

fn result_json(status: &str) -> Value {
    json!({"success": true, "error": "", "result": {"id": "imp-1", "status": status, "total": 2,
        "processed": 2, "imported": 2, "failed": 0, "errors": []}})
}

fn temp_file(bytes: &[u8], name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    (dir, path)
}

fn header(request: &HttpRequest, name: &str) -> String {
    request.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn the_transport_sees_whole_requests_and_its_answers_are_read() {
    let ok = json!({"success": true, "error": ""});
    let transport = Scripted::new(vec![
        Step::Answer(200, result_json("new")),
        Step::Answer(200, result_json("done")),
        Step::Answer(
            200,
            json!({"success": true, "error": "", "result": {"result": [{"__id": "i1"}], "total": 1}}),
        ),
        Step::Answer(200, ok.clone()),
        Step::Answer(
            200,
            json!({"success": true, "error": "", "file": {"__id": "f-1", "__name": "a b.csv", "size": 10}}),
        ),
    ]);
    let client = client_over(transport.clone(), |_| {});
    let started = client.start_import(&app(), &start_body()).await.unwrap();
    assert_eq!(started.id.as_deref(), Some("imp-1"));
    assert_eq!(client.import_status(&app(), "imp-1").await.unwrap().status, ImportStatus::Done);
    let page =
        client.list_items(&app(), &ListRequest { active: true, from: 0, size: 10, filter: None }).await;
    assert_eq!(page.unwrap().total, 1);
    let (_dir, file) = temp_file(b"Name\nAnna\n", "a b.csv");
    client.upload_temporary("h-1", &file).await.unwrap();
    let stored = client.upload_to_directory("dir-1", "h-2", &file).await.unwrap();
    assert_eq!((stored.id.as_str(), stored.size), ("f-1", 10));

    let seen = transport.requests();
    let lines: Vec<String> = seen.iter().map(|r| format!("{} {}", r.method, r.url)).collect();
    assert_eq!(
        lines,
        [
            format!("POST {BASE}/app/crm/contacts/import"),
            format!("POST {BASE}/app/crm/contacts/import/status"),
            format!("POST {BASE}/app/crm/contacts/list"),
            format!("POST {BASE}/disk/file/upload?hash=h-1"),
            format!("POST {BASE}/disk/directory/dir-1/upload?hash=h-2"),
        ]
    );
    for request in &seen {
        assert_eq!(header(request, "authorization"), format!("Bearer {TOKEN}"));
        assert!(request.headers["authorization"].is_sensitive());
        assert!(header(request, "user-agent").starts_with("elma-import/"));
    }
    let json_body = |i: usize| serde_json::from_slice::<Value>(&seen[i].body).unwrap();
    assert_eq!(header(&seen[0], "content-type"), "application/json");
    assert_eq!(json_body(0), json!({"fileHash": "h-1", "format": "csv", "withEventHandlers": true}));
    assert_eq!(json_body(1), json!({"id": "imp-1"}));
    assert_eq!(json_body(2)["size"], 10);
    assert_eq!(header(&seen[3], "content-type"), "application/octet-stream");
    assert_eq!(header(&seen[3], "content-range"), "bytes 0-10/10");
    assert_eq!(&seen[3].body[..], b"Name\nAnna\n");

    // The directory upload is a complete multipart body with one `file` field.
    let upload = &seen[4];
    assert_eq!(header(upload, "content-range"), "bytes 0-10/10");
    let content_type = header(upload, "content-type");
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=").expect(&content_type);
    let body = std::str::from_utf8(&upload.body).unwrap();
    assert_eq!(
        body,
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.csv\"\r\n\
             Content-Type: application/octet-stream\r\n\r\nName\nAnna\n\r\n--{boundary}--\r\n"
        )
    );
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.bytes_uploaded), (5, 0, 20));
}

#[tokio::test]
async fn the_multipart_body_is_the_one_reqwest_sends_boundary_aside() {
    type Seen = Arc<Mutex<Vec<(String, Bytes)>>>;
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        routes::UPLOAD_TO_DIRECTORY,
        post(move |headers: AxumHeaders, body: Bytes| async move {
            let content_type = headers["content-type"].to_str().unwrap().to_string();
            s.lock().unwrap().push((content_type, body));
            Json(json!({"success": true, "error": "", "file": {"__id": "f", "__name": "n", "size": 3}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().nest("/pub/v1", router)).await.unwrap() });
    let (_dir, file) = temp_file(b"x,y\r\n1,\"2\"\n", "Заказы \"2024\".csv");
    let mut config = ClientConfig::new(format!("http://{addr}/pub/v1"), TOKEN);
    config.retry = RetryPolicy::none();
    Client::new(config).unwrap().upload_to_directory("d", "h", &file).await.unwrap();

    let transport = Scripted::new(vec![Step::Answer(
        200,
        json!({"success": true, "error": "", "file": {"__id": "f", "__name": "n", "size": 3}}),
    )]);
    client_over(transport.clone(), |_| {}).upload_to_directory("d", "h", &file).await.unwrap();

    let (reqwest_type, reqwest_body) = seen.lock().unwrap()[0].clone();
    let ours = &transport.requests()[0];
    let boundary = |content_type: &str| content_type.split("boundary=").nth(1).unwrap().to_string();
    let (theirs_b, ours_b) = (boundary(&reqwest_type), boundary(&header(ours, "content-type")));
    let normalise = |body: &[u8], b: &str| String::from_utf8_lossy(body).replace(b, "BOUNDARY");
    assert_eq!(normalise(&ours.body, &ours_b), normalise(&reqwest_body, &theirs_b));
    assert_eq!(header(ours, "content-type").replace(&ours_b, ""), reqwest_type.replace(&theirs_b, ""));
}

#[tokio::test(start_paused = true)]
async fn a_start_whose_answer_is_lost_is_uncertain_and_not_sent_again() {
    let transport =
        Scripted::new(vec![Step::Fail(TransportKind::Interrupted), Step::Answer(200, result_json("new"))]);
    let client = client_over(transport.clone(), |_| {});
    let err = client.start_import(&app(), &start_body()).await.unwrap_err();
    assert!(matches!(err, ClientError::Uncertain { tries: 1, .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("scripted failure for Bearer ***"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(transport.requests().len(), 1);
    assert_eq!(client.stats().uncertain, 1);

    // A start that never reached the server is sent again; so is a refused (503) one.
    let transport = Scripted::new(vec![
        Step::Fail(TransportKind::Connect),
        Step::AnswerWith(503, vec![("retry-after", "2")], json!({"success": false, "error": "busy"})),
        Step::Answer(200, result_json("new")),
    ]);
    let client = client_over(transport.clone(), |c| c.retry_seed = Some(1));
    let started = client.start_import(&app(), &start_body()).await.unwrap();
    assert_eq!(started.status, ImportStatus::New);
    assert_eq!(transport.requests().len(), 3);
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test(start_paused = true)]
async fn the_timeout_runs_on_tokios_clock() {
    let real = std::time::Instant::now();
    let virtual_start = tokio::time::Instant::now();
    let transport = Scripted::new(vec![Step::Hang]);
    let client = client_over(transport.clone(), |c| c.timeout = Duration::from_secs(120));
    let err = client.start_import(&app(), &start_body()).await.unwrap_err();
    assert!(err.is_uncertain(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(tokio::time::Instant::now() - virtual_start, Duration::from_secs(120));

    // An idempotent request times out on every try, with backoff between them.
    let err = client.import_status(&app(), "imp-1").await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { kind: TransportKind::Timeout, tries: 4, .. }), "{err}");
    let times = transport.times();
    assert_eq!(times.len(), 5);
    for pair in times[1..].windows(2) {
        // 120 s waiting, then a backoff wait of at least a second (status requests).
        assert!(pair[1] - pair[0] >= Duration::from_secs(121), "{:?}", pair[1] - pair[0]);
    }
    assert!(real.elapsed() < Duration::from_secs(10), "no real waiting: {:?}", real.elapsed());
}

/// The gaps between the requests of a call that is refused until it gives up.
async fn backoff_gaps(seed: Option<u64>) -> Vec<Duration> {
    let transport = Scripted::new(vec![Step::Answer(503, json!({"success": false, "error": "busy"}))]);
    let client = client_over(transport.clone(), |c| {
        c.retry_seed = seed;
        c.retry = RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        };
    });
    let err = client.app_schema(&app()).await.unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 503, tries: 7, .. }), "{err}");
    transport.times().windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn a_retry_seed_makes_the_backoff_reproducible() {
    let a = backoff_gaps(Some(42)).await;
    let b = backoff_gaps(Some(42)).await;
    let c = backoff_gaps(Some(43)).await;
    assert_eq!(a.len(), 6);
    assert_eq!(a, b, "same seed, same waits");
    assert_ne!(a, c, "another seed, other waits");
    for (i, gap) in a.iter().enumerate() {
        assert!(*gap <= Duration::from_secs(1 << i), "retry {}: {gap:?}", i + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_comes_from_the_answers_headers() {
    let transport = Scripted::new(vec![
        Step::AnswerWith(429, vec![("retry-after", "30")], json!({"success": false, "error": "slow down"})),
        Step::Answer(200, result_json("in_progress")),
    ]);
    let client = client_over(transport.clone(), |_| {});
    client.import_status(&app(), "imp-1").await.unwrap();
    let times = transport.times();
    assert!(times[1] - times[0] >= Duration::from_secs(30), "{:?}", times[1] - times[0]);
}

#[tokio::test]
async fn the_trace_records_transport_exchanges_without_the_token() {
    let transport = Scripted::new(vec![
        Step::Fail(TransportKind::Body),
        Step::Answer(200, json!({"success": true, "error": format!("echo Bearer {TOKEN}"), "result": null})),
        Step::Answer(200, result_json("done")),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.jsonl");
    let client = client_over(transport, |c| {
        c.trace = Some(Arc::new(elma_import_client::Trace::create(&path).unwrap()));
        c.read_files_inline = true;
    });
    client.import_status(&app(), "imp-1").await.unwrap_err();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("SECRET"), "{text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["status"], Value::Null);
    assert!(lines[0]["error"].as_str().unwrap().contains("Bearer ***"), "{text}");
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[1]["path"], "/app/crm/contacts/import/status");
    assert_eq!(lines[1]["request_headers"]["content-type"], "application/json");
    assert!(lines[1]["request_headers"].get("authorization").is_none());
}

#[tokio::test]
async fn inline_reads_upload_the_same_parts() {
    let part = wire::MIN_PART as usize;
    let data: Vec<u8> = (0..part + 7).map(|i| (i % 251) as u8).collect();
    let (_dir, file) = temp_file(&data, "big.bin");
    let ok = json!({"success": true, "error": ""});
    let transport = Scripted::new(vec![Step::Answer(206, ok.clone()), Step::Answer(200, ok)]);
    let client = client_over(transport.clone(), |c| c.read_files_inline = true);
    client.upload_temporary("h", &file).await.unwrap();
    let seen = transport.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(header(&seen[0], "content-range"), format!("bytes 0-{part}/{}", part + 7));
    assert_eq!(header(&seen[1], "content-range"), format!("bytes {part}-{}/{}", part + 7, part + 7));
    assert!(seen[0].body[..] == data[..part] && seen[1].body[..] == data[part..]);
}
