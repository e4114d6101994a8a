//! The client against tiny in-test servers on 127.0.0.1:0.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use elma_import_client::{
    AppRef, Client, ClientConfig, ClientError, FileFormat, ImportStatus, ListFilter, ListRequest,
    ManualClock, Map, PollPolicy, RetryPolicy, StartImport, TransportKind,
};
use elma_import_contract::schema::{Field, FieldType};
use elma_import_contract::wire::{self, paths::routes};
use serde_json::{json, Value};

const TOKEN: &str = "tok-SECRET-4242";

type Log<T> = Arc<Mutex<Vec<T>>>;

fn log<T>() -> Log<T> {
    Arc::new(Mutex::new(Vec::new()))
}

fn taken<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.lock().unwrap().clone()
}

/// Serves `router` under `/pub/v1` on a fresh port; returns the base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().nest("/pub/v1", router).layer(DefaultBodyLimit::disable());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/pub/v1")
}

fn fast() -> RetryPolicy {
    RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(5) }
}

fn client(base: &str, retry: RetryPolicy) -> Client {
    let mut config = ClientConfig::new(base, TOKEN);
    config.retry = retry;
    config.part_size = wire::MIN_PART;
    config.timeout = Duration::from_secs(10);
    Client::new(config).unwrap()
}

fn app() -> AppRef {
    "crm.contacts".parse().unwrap()
}

fn start_body() -> StartImport {
    StartImport { file_hash: "h-1".into(), format: FileFormat::Xlsx, with_event_handlers: false }
}

fn result_json(status: &str, processed: u64) -> Value {
    json!({"success": true, "error": "", "result": {"id": "imp-1", "status": status, "total": 100,
        "processed": processed, "imported": processed, "failed": 0, "errors": []}})
}

fn temp_file(bytes: &[u8], name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    (dir, path)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
}

fn part_answer(range: &str) -> Response {
    let (_, end, size) = wire::parse_content_range(range).expect("a valid Content-Range");
    let status = if end == size { StatusCode::OK } else { StatusCode::PARTIAL_CONTENT };
    (status, Json(json!({"success": true, "error": ""}))).into_response()
}

fn assert_send_sync<T: Send + Sync + Clone>() {}
fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn client_and_its_futures_can_cross_threads() {
    assert_send_sync::<Client>();
    let client = client("http://127.0.0.1:9/pub/v1", fast());
    let app = app();
    assert_send(&client.start_import(&app, &start_body()));
    assert_send(&client.wait_for_import(&app, "x", PollPolicy::default(), |_| {}));
    assert_send(&client.upload_temporary("h", std::path::Path::new("x")));
}

#[tokio::test]
async fn config_is_checked_and_base_url_normalised() {
    let a = client("http://127.0.0.1:9/pub/v1", fast());
    let b = client("http://127.0.0.1:9/pub/v1/", fast());
    assert_eq!(a.base_url(), "http://127.0.0.1:9/pub/v1/");
    assert_eq!(b.base_url(), a.base_url());

    let mut config = ClientConfig::new("http://127.0.0.1:9/pub/v1", TOKEN);
    config.part_size = wire::MIN_PART - 1;
    let err = Client::new(config.clone()).unwrap_err();
    assert!(matches!(err, ClientError::Config(_)));
    assert!(err.to_string().contains(&format!("`{}`", wire::MIN_PART - 1)), "{err}");
    config.part_size = wire::MIN_PART;
    config.base_url = "not a url".into();
    assert!(Client::new(config.clone()).unwrap_err().to_string().contains("`not a url`"));
    config.base_url = "ftp://x/pub/v1".into();
    assert!(Client::new(config.clone()).is_err());
    assert_eq!(ClientConfig::new("http://x", "t").part_size, 8 * 1024 * 1024);
    assert!(!format!("{config:?}").contains(TOKEN));
    assert!(!format!("{a:?}").contains(TOKEN));
}

#[tokio::test]
async fn sends_the_token_as_bearer_and_reads_the_status() {
    let seen: Log<(Option<String>, Value)> = log();
    let s = seen.clone();
    let router = Router::new().route(
        routes::IMPORT_STATUS,
        post(move |headers: HeaderMap, Json(body): Json<Value>| async move {
            let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_string());
            s.lock().unwrap().push((auth, body));
            Json(result_json("in_progress", 30))
        }),
    );
    let client = client(&serve(router).await, fast());
    let result = client.import_status(&app(), "imp-1").await.unwrap();
    assert_eq!(result.status, ImportStatus::InProgress);
    assert_eq!((result.processed, result.total), (30, 100));
    assert_eq!(taken(&seen), [(Some(format!("Bearer {TOKEN}")), json!({"id": "imp-1"}))]);
    assert_eq!(client.stats().requests, 1);
    assert_eq!(client.stats().retries, 0);
}

type PartLog = Log<(String, String, Option<String>, Bytes)>; // hash, range, content type, bytes

fn temporary_upload_server(parts: PartLog, fail_request: Option<usize>) -> Router {
    let count = Arc::new(AtomicUsize::new(0));
    Router::new().route(
        routes::UPLOAD_TEMPORARY,
        post(move |Query(q): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes| async move {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let range = headers[wire::CONTENT_RANGE].to_str().unwrap().to_string();
            let kind = headers.get("content-type").map(|v| v.to_str().unwrap().to_string());
            parts.lock().unwrap().push((q["hash"].clone(), range.clone(), kind, body));
            if Some(n) == fail_request {
                return (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response();
            }
            part_answer(&range)
        }),
    )
}

#[tokio::test]
async fn small_file_goes_in_one_request_with_the_whole_range() {
    let parts: PartLog = log();
    let client = client(&serve(temporary_upload_server(parts.clone(), None)).await, fast());
    let (_dir, file) = temp_file(b"a,b\n1,2\n", "chunk-1.csv");
    client.upload_temporary("hash-small", &file).await.unwrap();
    let parts = taken(&parts);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].0, "hash-small");
    assert_eq!(parts[0].1, "bytes 0-8/8");
    assert_eq!(parts[0].2.as_deref(), Some("application/octet-stream"));
    assert_eq!(&parts[0].3[..], b"a,b\n1,2\n");
    assert_eq!(client.stats().bytes_uploaded, 8);
}

#[tokio::test]
async fn big_temporary_file_goes_in_parts_with_one_hash_and_ordered_ranges() {
    let part = wire::MIN_PART as usize;
    let size = 2 * part + 3;
    let data = pattern(size);
    let (_dir, file) = temp_file(&data, "big.csv");
    let parts: PartLog = log();
    let client = client(&serve(temporary_upload_server(parts.clone(), None)).await, fast());
    client.upload_temporary("hash-big", &file).await.unwrap();

    let parts = taken(&parts);
    let ranges: Vec<&str> = parts.iter().map(|p| p.1.as_str()).collect();
    let p = part;
    assert_eq!(
        ranges,
        [
            format!("bytes 0-{p}/{size}"),
            format!("bytes {p}-{}/{size}", 2 * p),
            format!("bytes {}-{size}/{size}", 2 * p)
        ]
    );
    assert!(parts.iter().all(|p| p.0 == "hash-big"));
    let sizes: Vec<usize> = parts.iter().map(|p| p.3.len()).collect();
    assert_eq!(sizes, [part, part, 3]);
    let joined: Vec<u8> = parts.iter().flat_map(|p| p.3.iter().copied()).collect();
    assert!(joined == data, "the parts put together are the file");
    assert_eq!(client.stats().bytes_uploaded, size as u64);
    assert_eq!(client.stats().requests, 3);
}

#[tokio::test]
async fn a_failed_part_is_sent_again_with_the_same_bytes() {
    let part = wire::MIN_PART as usize;
    let size = 2 * part + 10;
    let data = pattern(size);
    let (_dir, file) = temp_file(&data, "big.csv");
    let parts: PartLog = log();
    // The second request (the second part) fails once with 503.
    let client = client(&serve(temporary_upload_server(parts.clone(), Some(2))).await, fast());
    client.upload_temporary("hash-retry", &file).await.unwrap();
    let parts = taken(&parts);
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[1].1, parts[2].1, "same range again");
    assert!(parts[1].3 == parts[2].3, "same bytes again");
    assert!(parts[2].3[..] == data[part..2 * part]);
    assert_eq!(client.stats().retries, 1);
    assert_eq!(client.stats().bytes_uploaded, size as u64, "a retried part counts once");
}

#[tokio::test]
async fn directory_upload_sends_multipart_parts_and_returns_the_stored_file() {
    let part = wire::MIN_PART as usize;
    let size = part + 5;
    let data = pattern(size);
    let (_dir, file) = temp_file(&data, "orders 2024.xlsx");
    // directory, hash, range, field name, file name, bytes
    type Seen = (String, String, String, Option<String>, Option<String>, Bytes);
    let seen: Log<Seen> = log();
    let s = seen.clone();
    let router = Router::new().route(
        routes::UPLOAD_TO_DIRECTORY,
        post(
            move |Path(dir): Path<String>,
                  Query(q): Query<HashMap<String, String>>,
                  headers: HeaderMap,
                  mut form: Multipart| async move {
                let range = headers[wire::CONTENT_RANGE].to_str().unwrap().to_string();
                let field = form.next_field().await.unwrap().unwrap();
                let (name, file_name) =
                    (field.name().map(str::to_string), field.file_name().map(str::to_string));
                let bytes = field.bytes().await.unwrap();
                s.lock().unwrap().push((
                    dir,
                    q["hash"].clone(),
                    range.clone(),
                    name,
                    file_name.clone(),
                    bytes,
                ));
                let (_, end, size) = wire::parse_content_range(&range).unwrap();
                if end < size {
                    return (StatusCode::PARTIAL_CONTENT, Json(json!({"success": true, "error": ""})))
                        .into_response();
                }
                Json(json!({"success": true, "error": "",
                    "file": {"__id": "file-9", "__name": file_name.unwrap(), "size": size}}))
                .into_response()
            },
        ),
    );
    let client = client(&serve(router).await, fast());
    let stored = client.upload_to_directory("dir-1", "hash-dir", &file).await.unwrap();
    assert_eq!(stored.id, "file-9");
    assert_eq!(stored.name, "orders 2024.xlsx");
    assert_eq!(stored.size, size as u64);
    let seen = taken(&seen);
    assert_eq!(seen.len(), 2);
    for (dir, hash, _, field, file_name, _) in &seen {
        assert_eq!((dir.as_str(), hash.as_str()), ("dir-1", "hash-dir"));
        assert_eq!(field.as_deref(), Some(wire::FILE_FIELD));
        assert_eq!(file_name.as_deref(), Some("orders 2024.xlsx"));
    }
    assert_eq!(seen[0].2, format!("bytes 0-{part}/{size}"));
    assert_eq!(seen[1].2, format!("bytes {part}-{size}/{size}"));
    assert!(seen[0].5[..] == data[..part] && seen[1].5[..] == data[part..]);
}

#[tokio::test]
async fn retry_after_on_503_is_waited_before_the_retry() {
    let times: Log<Instant> = log();
    let t = times.clone();
    let router = Router::new().route(
        routes::IMPORT_STATUS,
        post(move || async move {
            let n = {
                let mut t = t.lock().unwrap();
                t.push(Instant::now());
                t.len()
            };
            if n == 1 {
                (StatusCode::SERVICE_UNAVAILABLE, [(wire::RETRY_AFTER, "1")], "busy").into_response()
            } else {
                Json(result_json("done", 100)).into_response()
            }
        }),
    );
    let client = client(&serve(router).await, fast());
    let result = client.import_status(&app(), "imp-1").await.unwrap();
    assert_eq!(result.status, ImportStatus::Done);
    let times = taken(&times);
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= Duration::from_secs(1), "{:?}", times[1] - times[0]);
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn retry_after_is_honoured_for_other_calls_too() {
    let times: Log<Instant> = log();
    let t = times.clone();
    let router = Router::new().route(
        routes::LIST_ITEMS,
        post(move || async move {
            let n = {
                let mut t = t.lock().unwrap();
                t.push(Instant::now());
                t.len()
            };
            if n == 1 {
                (StatusCode::TOO_MANY_REQUESTS, [(wire::RETRY_AFTER, "1")], "slow down").into_response()
            } else {
                Json(json!({"success": true, "error": "", "result": {"result": [], "total": 0}}))
                    .into_response()
            }
        }),
    );
    let client = client(&serve(router).await, fast());
    let request = ListRequest { active: true, from: 0, size: 10, filter: None };
    assert_eq!(client.list_items(&app(), &request).await.unwrap().total, 0);
    let times = taken(&times);
    assert!(times[1] - times[0] >= Duration::from_secs(1));
}

/// A server whose every route answers `status` with `body`, counting requests.
async fn constant(status: StatusCode, body: Value) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let handler = move || {
        let body = body.clone();
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            (status, Json(body))
        }
    };
    let router = Router::new()
        .route(routes::UPLOAD_TEMPORARY, post(handler.clone()))
        .route(routes::START_IMPORT, post(handler.clone()))
        .route(routes::IMPORT_STATUS, post(handler.clone()))
        .route(routes::LIST_ITEMS, post(handler.clone()))
        .route(routes::APP_SCHEMA, get(handler));
    (serve(router).await, count)
}

#[tokio::test]
async fn a_400_is_not_retried_and_carries_the_server_text() {
    let (base, count) =
        constant(StatusCode::BAD_REQUEST, json!({"success": false, "error": "EntityTooSmall"})).await;
    let client = client(&base, fast());
    let (_dir, file) = temp_file(b"x", "a.csv");
    let err = client.upload_temporary("h-400", &file).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Api { status: 400, message, tries: 1, .. } if message == "EntityTooSmall")
    );
    let text = err.to_string();
    assert!(text.contains("POST /disk/file/upload?hash=h-400"), "{text}");
    assert!(text.contains("HTTP 400") && text.contains("1 try") && text.contains("EntityTooSmall"), "{text}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn success_false_in_a_200_is_an_error_with_the_server_text() {
    let (base, _) =
        constant(StatusCode::OK, json!({"success": false, "error": "filter field `x` unknown"})).await;
    let client = client(&base, fast());
    let request = ListRequest { active: true, from: 0, size: 100, filter: None };
    let err = client.list_items(&app(), &request).await.unwrap_err();
    assert!(err.to_string().contains("filter field `x` unknown"), "{err}");
    let (_dir, file) = temp_file(b"x", "a.csv");
    assert!(client.upload_temporary("h", &file).await.is_err());
    let err = client.start_import(&app(), &start_body()).await.unwrap_err();
    assert!(!err.is_uncertain(), "a clear refusal is not uncertain: {err}");
}

#[tokio::test]
async fn start_import_is_uncertain_and_not_retried_after_a_server_error() {
    for status in [500, 502, 504, 408] {
        let code = StatusCode::from_u16(status).unwrap();
        let (base, count) = constant(code, json!({"success": false, "error": "oops"})).await;
        let client = client(&base, fast());
        let err = client.start_import(&app(), &start_body()).await.unwrap_err();
        assert!(err.is_uncertain(), "{status}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("POST /app/crm/contacts/import") && text.contains(&format!("HTTP {status}")),
            "{text}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 1, "{status} must not be retried");
        assert_eq!(client.stats().uncertain, 1);
        // The same status on an idempotent call is retried.
        count.store(0, Ordering::SeqCst);
        let err = client.app_schema(&app()).await.unwrap_err();
        assert!(matches!(err, ClientError::Api { tries: 4, .. }), "{err}");
        assert_eq!(count.load(Ordering::SeqCst), 4);
    }
}

#[tokio::test]
async fn start_import_is_uncertain_when_the_connection_drops() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the whole request, then hang up without answering.
            while !seen.ends_with(b"}") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            drop(socket);
        }
    });
    let client = client(&format!("http://{addr}/pub/v1"), fast());
    let err = client.start_import(&app(), &start_body()).await.unwrap_err();
    assert!(err.is_uncertain(), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn start_import_is_uncertain_on_a_timeout() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let router = Router::new().route(
        routes::START_IMPORT,
        post(move || async move {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(3)).await;
            Json(result_json("new", 0))
        }),
    );
    let mut config = ClientConfig::new(serve(router).await, TOKEN);
    config.retry = fast();
    config.timeout = Duration::from_millis(300);
    let client = Client::new(config).unwrap();
    let err = client.start_import(&app(), &start_body()).await.unwrap_err();
    assert!(err.is_uncertain(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn start_import_is_retried_when_the_server_refused_it() {
    for (status, retry_after) in [(503, None), (503, Some("0")), (429, None)] {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let router = Router::new().route(
            routes::START_IMPORT,
            post(move |Json(body): Json<Value>| async move {
                assert_eq!(body, json!({"fileHash": "h-1", "format": "xlsx", "withEventHandlers": false}));
                if c.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut response = (StatusCode::from_u16(status).unwrap(), "later").into_response();
                    if let Some(v) = retry_after {
                        response.headers_mut().insert(wire::RETRY_AFTER, v.parse().unwrap());
                    }
                    return response;
                }
                Json(result_json("new", 0)).into_response()
            }),
        );
        let client = client(&serve(router).await, fast());
        let result = client.start_import(&app(), &start_body()).await.unwrap();
        assert_eq!((result.id.as_deref(), result.status), (Some("imp-1"), ImportStatus::New));
        assert_eq!(count.load(Ordering::SeqCst), 2, "{status}");
    }
}

#[tokio::test]
async fn blocked_comes_back_as_a_status() {
    for (status, body) in [
        (StatusCode::OK, json!({"success": true, "error": "", "result": {"status": "blocked"}})),
        (
            StatusCode::CONFLICT,
            json!({"success": false, "error": "another import runs", "result": {"status": "blocked"}}),
        ),
    ] {
        let (base, count) = constant(status, body).await;
        let client = client(&base, fast());
        let result = client.start_import(&app(), &start_body()).await.unwrap();
        assert_eq!(result.status, ImportStatus::Blocked);
        assert_eq!(result.id, None);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}

async fn dead_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/pub/v1")
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_after_retries() {
    let base = dead_port().await;
    let policy = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };
    let client = client(&base, policy);
    let err = client.app_schema(&app()).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { kind: TransportKind::Connect, tries: 3, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("could not connect") && text.contains("3 tries"), "{text}");
    assert!(text.contains(&base) && text.contains("GET /scheme/namespaces/crm/apps/contacts"), "{text}");
    // Not connecting proves the start did not happen: it is retried, then a plain error.
    let err = client.start_import(&app(), &start_body()).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { kind: TransportKind::Connect, tries: 3, .. }), "{err:?}");
    assert_eq!(client.stats().requests, 6);
    assert_eq!(client.stats().retries, 4);
}

#[tokio::test]
async fn forbidden_and_not_found_say_what_to_check() {
    let (base, count) = constant(StatusCode::FORBIDDEN, json!({"success": false, "error": "denied"})).await;
    let err = client(&base, fast()).app_schema(&app()).await.unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized { tries: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("check the token"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "403 is not retried");

    let router = Router::new().route(
        routes::APP_SCHEMA,
        get(|Path((ns, code)): Path<(String, String)>| async move {
            if (ns.as_str(), code.as_str()) == ("crm", "contacts") {
                Json(json!({"success": true, "error": "", "application": {"namespace": "crm", "code": "contacts",
                    "name": "Contacts", "fields": [{"code": "email", "name": "Email", "type": "EMAIL"}]}}))
                .into_response()
            } else {
                (StatusCode::NOT_FOUND, Json(json!({"success": false, "error": "no such app"}))).into_response()
            }
        }),
    );
    let base = serve(router).await;
    let client = client(&base, fast());
    let schema = client.app_schema(&app()).await.unwrap();
    assert_eq!(schema.id(), "crm.contacts");
    assert_eq!(schema.fields[0].code, "email");
    // The Web API's own 404 (in its wrapper) names an unknown app, with its words.
    let err = client.app_schema(&"crm.nope".parse().unwrap()).await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { platform: Some(_), .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("GET /scheme/namespaces/crm/apps/nope"), "{text}");
    assert!(text.contains("has no such app") && text.contains("no such app)"), "{text}");
    // A 404 from a server that is not the Web API (a wrong base URL) says so instead.
    let wrong = client_for(&base.replace("/pub/v1", "/elsewhere/pub/v1"));
    let err = wrong.app_schema(&app()).await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { platform: None, .. }), "{err:?}");
    assert!(err.to_string().contains("check the base URL"), "{err}");
}

#[tokio::test]
async fn list_all_pages_by_100() {
    let seen: Log<(u64, u32, Value)> = log();
    let s = seen.clone();
    let router = Router::new().route(
        routes::LIST_ITEMS,
        post(move |Json(request): Json<Value>| async move {
            let (from, size) = (request["from"].as_u64().unwrap(), request["size"].as_u64().unwrap());
            s.lock().unwrap().push((from, size as u32, request["filter"].clone()));
            let all: Vec<Value> = (0..250u64).map(|i| json!({"__id": format!("id-{i}"), "n": i})).collect();
            let page: Vec<Value> = all.iter().skip(from as usize).take(size as usize).cloned().collect();
            Json(json!({"success": true, "error": "", "result": {"result": page, "total": 250}}))
        }),
    );
    let client = client(&serve(router).await, fast());
    let mut tf = Map::new();
    tf.insert("__name".into(), json!("Anna"));
    let filter = ListFilter::from_tf(tf);
    let items = client.list_all(&app(), filter.as_ref()).await.unwrap();
    assert_eq!(items.len(), 250);
    assert!(items.iter().enumerate().all(|(i, item)| item["n"] == json!(i)));
    let seen = taken(&seen);
    let pages: Vec<(u64, u32)> = seen.iter().map(|(f, s, _)| (*f, *s)).collect();
    assert_eq!(pages, [(0, 100), (100, 100), (200, 100)]);
    assert!(seen.iter().all(|(_, _, f)| *f == json!({"tf": {"__name": "Anna"}})), "{seen:?}");
    let too_big = ListRequest { active: true, from: 0, size: 101, filter: None };
    let err = client.list_items(&app(), &too_big).await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidRequest { .. }) && err.to_string().contains("`101`"), "{err}");
}

#[tokio::test]
async fn list_all_without_a_total_stops_at_a_short_page_and_refuses_a_server_ignoring_from() {
    let router = Router::new().route(
        routes::LIST_ITEMS,
        post(|Json(request): Json<Value>| async move {
            let from = request["from"].as_u64().unwrap();
            let page: Vec<Value> =
                (from..130.min(from + 100)).map(|i| json!({"__id": format!("id-{i}")})).collect();
            Json(json!({"result": {"result": page}}))
        }),
    );
    let client = client(&serve(router).await, fast());
    assert_eq!(client.list_all(&app(), None).await.unwrap().len(), 130);

    let stuck = Router::new().route(
        routes::LIST_ITEMS,
        post(|| async {
            let page: Vec<Value> = (0..100).map(|i| json!({"__id": format!("id-{i}")})).collect();
            Json(json!({"success": true, "result": {"result": page, "total": 1000}}))
        }),
    );
    let client = self::client(&serve(stuck).await, fast());
    let err = client.list_all(&app(), None).await.unwrap_err();
    assert!(err.to_string().contains("ignore `from`"), "{err}");
}

/// A list endpoint that filters like the platform (docs/platform.md §6): a text condition is a
/// case-insensitive substring; paging by `from`/`size`.
async fn substring_server(names: Vec<String>) -> (String, Log<Value>) {
    let bodies: Log<Value> = log();
    let b = bodies.clone();
    let router = Router::new().route(
        routes::LIST_ITEMS,
        post(move |Json(request): Json<Value>| {
            let names = names.clone();
            b.lock().unwrap().push(request.clone());
            async move {
                let wanted = request["filter"]["tf"]["__name"].as_str().unwrap_or("").to_lowercase();
                let all: Vec<Value> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.to_lowercase().contains(&wanted))
                    .map(|(i, n)| json!({"__id": format!("id-{i}"), "__name": n}))
                    .collect();
                let from = request["from"].as_u64().unwrap() as usize;
                let size = request["size"].as_u64().unwrap() as usize;
                let page: Vec<Value> = all.iter().skip(from).take(size).cloned().collect();
                Json(json!({"success": true, "result": {"result": page, "total": all.len()}}))
            }
        }),
    );
    (serve(router).await, bodies)
}

#[tokio::test]
async fn find_items_is_exact_although_the_platform_matches_substrings() {
    // 300 near misses before the key, so the one exact match is on the fourth page.
    let mut names: Vec<String> = (0..300).map(|i| format!("Deal 7{i}")).collect();
    names.extend(["deal 7".into(), "Deal 7a".into(), "DEAL 7".into(), "Deal 7".into(), "Deal 8".into()]);
    let (base, bodies) = substring_server(names).await;
    let client = client(&base, fast());
    let key = Field { required: true, ..Field::new("__name", "Name", FieldType::String) };
    let expected = json!({"__name": "Deal 7"}).as_object().unwrap().clone();
    let found = client.find_items(&app(), &[&key], &expected).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["__id"], "id-303");
    let bodies = taken(&bodies);
    assert_eq!(bodies.len(), 4, "304 substring matches in pages of 100");
    assert!(bodies.iter().all(|b| b["filter"] == json!({"tf": {"__name": "Deal 7"}})), "{bodies:?}");

    let missing = json!({"__name": "Deal 9"}).as_object().unwrap().clone();
    assert!(client.find_items(&app(), &[&key], &missing).await.unwrap().is_empty());
}

#[tokio::test]
async fn find_each_lists_the_app_once_for_keys_the_platform_cannot_filter() {
    let names: Vec<String> = (0..250).map(|i| format!("Deal {i}")).collect();
    let (base, bodies) = substring_server(names).await;
    let client = client(&base, fast());
    let email = Field::new("email", "Email", FieldType::Email);
    let name = Field { code: "__name".into(), kind: FieldType::String, ..email.clone() };
    // The server knows no e-mails: every row is missing, found with one listing (3 pages).
    let rows: Vec<Map> = (0..20)
        .map(|i| {
            json!({"email": [{"type": "main", "email": format!("r{i}@x.ru")}]}).as_object().unwrap().clone()
        })
        .collect();
    let found = client.find_each(&app(), &[&email], &rows, 8).await.unwrap();
    assert_eq!(found.len(), 20);
    assert!(found.iter().all(Vec::is_empty));
    assert_eq!(taken(&bodies).len(), 3, "one listing of 250 items, not one per row");

    let rows: Vec<Map> = ["Deal 1", "Deal 249", "Deal 250"]
        .iter()
        .map(|n| json!({"__name": n}).as_object().unwrap().clone())
        .collect();
    let found = client.find_each(&app(), &[&name], &rows, 2).await.unwrap();
    let sizes: Vec<usize> = found.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 1, 0], "in order, exact although `Deal 1` finds 111 items");
}

#[tokio::test]
async fn answers_with_only_the_confirmed_fields_and_unknown_ones_are_read() {
    let router = Router::new()
        .route(
            routes::UPLOAD_TO_DIRECTORY,
            post(|| async { Json(json!({"file": {"__id": "f-1", "checksum": "x"}, "requestId": "r"})) }),
        )
        .route(routes::UPLOAD_TEMPORARY, post(|| async { "OK" }))
        .route(
            routes::START_IMPORT,
            post(|| async { Json(json!({"result": {"id": "i-1", "status": "queued", "eta": 3}})) }),
        )
        .route(
            routes::IMPORT_STATUS,
            post(|| async {
                Json(json!({"success": true, "result": {"id": "i-1", "status": "done", "imported": 2, "warnings": []}}))
            }),
        )
        .route(routes::LIST_ITEMS, post(|| async { Json(json!({"result": {"result": [{"__id": "1", "x": {}}]}})) }));
    let client = client(&serve(router).await, fast());
    let (_dir, path) = temp_file(b"a,b\n1,2\n", "c.csv");
    let stored = client.upload_to_directory("dir", "h-1", &path).await.unwrap();
    assert_eq!((stored.id.as_str(), stored.name.as_str(), stored.size), ("f-1", "", 0));
    client.upload_temporary("h-2", &path).await.unwrap();
    let started = client.start_import(&app(), &start_body()).await.unwrap();
    assert_eq!(started.status, ImportStatus::Other("queued".into()));
    let status = client.import_status(&app(), "i-1").await.unwrap();
    assert_eq!((status.status, status.imported, status.total), (ImportStatus::Done, 2, 0));
    assert_eq!(client.list_all(&app(), None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreadable_answer_keeps_4_kib_of_its_body_with_the_token_masked_before_the_cut() {
    for pad in [4090usize, 4093, 4096] {
        let body = format!("<html>{}{TOKEN}{}", "x".repeat(pad - 6), "y".repeat(500));
        let router = Router::new().route(routes::UPLOAD_TO_DIRECTORY, post(move || async move { body }));
        let client = client(&serve(router).await, fast());
        let (_dir, path) = temp_file(b"a\n", "c.csv");
        let err = client.upload_to_directory("dir", "h-1", &path).await.unwrap_err();
        let kept = err.server_body().expect("the body is kept");
        assert!(
            kept.starts_with("<html>xxx") && kept.len() <= elma_import_client::BODY_BYTES + 3,
            "{}",
            kept.len()
        );
        for shown in [kept.to_string(), err.to_string(), format!("{err:?}")] {
            for piece in TOKEN.as_bytes().windows(6) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!shown.contains(piece), "pad {pad}: `{piece}` leaked");
            }
        }
    }
}

#[tokio::test]
async fn the_trace_has_a_line_per_exchange_and_never_the_token() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new()
        .route(
            routes::LIST_ITEMS,
            post(move || {
                let n = c.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        // A server echoing the token, and failing once.
                        (StatusCode::BAD_GATEWAY, format!("bad gateway for Bearer {TOKEN}")).into_response()
                    } else {
                        Json(json!({"success": true, "result": {"result": [{"__id": "1"}], "total": 1}}))
                            .into_response()
                    }
                }
            }),
        )
        .route(routes::UPLOAD_TEMPORARY, post(|| async { Json(json!({"success": true, "error": ""})) }));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.jsonl");
    let mut config = ClientConfig::new(serve(router).await, TOKEN);
    config.retry = fast();
    config.trace = Some(Arc::new(elma_import_client::Trace::create(&path).unwrap()));
    let client = Client::new(config).unwrap();
    client.list_all(&app(), None).await.unwrap();
    let (_file_dir, file) = temp_file(b"Name\nAnna\n", "c.csv");
    client.upload_temporary("h-1", &file).await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for piece in TOKEN.as_bytes().windows(6) {
        assert!(!text.contains(std::str::from_utf8(piece).unwrap()), "the token leaked:\n{text}");
    }
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "502, 200, upload:\n{text}");
    assert_eq!(client.stats().requests, 3);
    let statuses: Vec<&Value> = lines.iter().map(|l| &l["status"]).collect();
    assert_eq!(statuses, [&json!(502), &json!(200), &json!(200)]);
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["path"], "/app/crm/contacts/list");
    assert_eq!(lines[0]["response_body"], "bad gateway for Bearer ***");
    assert_eq!(lines[1]["request_body"], json!({"active": true, "from": 0, "size": 100}));
    assert_eq!(lines[1]["response_body"]["result"]["total"], 1);
    assert!(lines[1]["ms"].is_u64() && lines[1]["time"].as_str().unwrap().ends_with('Z'));
    assert!(lines.iter().all(|l| l["request_headers"].get("authorization").is_none()));
    assert_eq!(lines[1]["request_headers"]["content-type"], "application/json");
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"Name\nAnna\n"))
    };
    assert_eq!(
        lines[2]["request_body"],
        json!({"bytes": 10, "sha256": sha}),
        "a file body is its size and hash"
    );
    assert_eq!(lines[2]["request_headers"]["content-range"], "bytes 0-10/10");
}

/// A status server: answers in turn from `script` (status code, body), repeating the last.
async fn scripted_status(script: Vec<(u16, Value)>) -> (String, Log<Instant>) {
    let times: Log<Instant> = log();
    let t = times.clone();
    let script = Arc::new(script);
    let router = Router::new().route(
        routes::IMPORT_STATUS,
        post(move || async move {
            let n = {
                let mut t = t.lock().unwrap();
                t.push(Instant::now());
                t.len()
            };
            let (status, body) = script[(n - 1).min(script.len() - 1)].clone();
            let mut response = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
            if status == 503 {
                response.headers_mut().insert(wire::RETRY_AFTER, "0".parse().unwrap());
            }
            response
        }),
    );
    (serve(router).await, times)
}

#[tokio::test]
async fn wait_for_import_polls_until_done_on_a_fake_clock() {
    let (base, times) = scripted_status(vec![
        (200, result_json("new", 0)),
        (503, json!({"success": false, "error": "busy"})),
        (200, result_json("in_progress", 40)),
        (200, result_json("in_progress", 80)),
        (200, result_json("done", 100)),
    ])
    .await;
    let client = client(&base, fast());
    let clock = ManualClock::new();
    let mut updates = vec![];
    let result = client
        .wait_for_import_with_clock(&clock, &app(), "imp-1", PollPolicy::default(), |r| {
            updates.push(r.processed)
        })
        .await
        .unwrap();
    assert_eq!(result.status, ImportStatus::Done);
    assert_eq!(updates, [0, 40, 80, 100], "every answer is reported; the failed poll is not");
    assert_eq!(taken(&times).len(), 5);
    // On the fake clock: waits 1, 1 (the first answer shows no trend), 1 (after a failed
    // poll; the interval grows from here), 1 (moved), 1 (moved).
    assert_eq!(clock.elapsed(), Duration::from_millis(5000));
    assert_eq!(client.stats().status_polls, 5);
}

#[tokio::test]
async fn wait_for_import_gives_up_at_the_deadline() {
    let (base, times) = scripted_status(vec![(200, result_json("in_progress", 5))]).await;
    let client = client(&base, fast());
    let clock = ManualClock::new();
    let policy = PollPolicy { deadline: Some(Duration::from_secs(20)), ..PollPolicy::default() };
    let err = client.wait_for_import_with_clock(&clock, &app(), "imp-1", policy, |_| {}).await.unwrap_err();
    assert!(matches!(&err, ClientError::PollDeadline { status, .. } if status == "in_progress"), "{err:?}");
    assert!(err.to_string().contains("`imp-1`") && err.to_string().contains("20 s"), "{err}");
    assert!(clock.elapsed() <= Duration::from_secs(20));
    assert!(taken(&times).len() >= 3);
}

#[tokio::test]
async fn wait_for_import_gives_up_after_repeated_failures() {
    let (base, times) = scripted_status(vec![(502, json!({"success": false, "error": "gateway"}))]).await;
    let client = client(&base, fast());
    let clock = ManualClock::new();
    let err = client.wait_for_import_with_clock(&clock, &app(), "imp-1", PollPolicy::default(), |_| {}).await;
    assert!(matches!(err, Err(ClientError::Api { status: 502, tries: 4, .. })), "{err:?}");
    assert!(err.unwrap_err().to_string().contains("after 4 tries"), "the true number of tries");
    assert_eq!(taken(&times).len(), 4, "1 + max_retries polls");
    let (base, times) = scripted_status(vec![(400, json!({"success": false, "error": "bad id"}))]).await;
    let client = client_for(&base);
    let err = client.wait_for_import_with_clock(&clock, &app(), "imp-1", PollPolicy::default(), |_| {}).await;
    assert!(matches!(err, Err(ClientError::Api { status: 400, .. })), "{err:?}");
    assert_eq!(taken(&times).len(), 1);
}

#[tokio::test]
async fn each_retry_is_told_before_its_wait_with_the_true_count() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new().route(
        routes::LIST_ITEMS,
        post(move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"success": false, "error": "busy"})))
                        .into_response()
                } else {
                    Json(json!({"success": true, "result": {"result": [], "total": 0}})).into_response()
                }
            }
        }),
    );
    let notices: Log<elma_import_client::RetryNotice> = log();
    let n = notices.clone();
    let mut config = ClientConfig::new(serve(router).await, TOKEN);
    config.retry = fast();
    config.on_retry =
        Some(elma_import_client::RetryObserver::new(move |notice| n.lock().unwrap().push(notice.clone())));
    let client = Client::new(config).unwrap();
    client.list_all(&app(), None).await.unwrap();
    let notices = taken(&notices);
    assert_eq!(notices.iter().map(|n| (n.attempt, n.max)).collect::<Vec<_>>(), [(1, 3), (2, 3)]);
    assert!(notices.iter().all(|n| n.reason == "HTTP 503" && n.request == "POST /app/crm/contacts/list"));
    let line = notices[0].to_string();
    assert!(line.starts_with("retrying in ") && line.contains("(1/3): HTTP 503"), "{line}");
    let mut notice = notices[0].clone();
    notice.delay = Duration::from_millis(250);
    assert!(notice.to_string().starts_with("retrying in 250 ms (1/3)"), "{notice}");
    notice.delay = Duration::from_secs(2);
    assert!(notice.to_string().starts_with("retrying in 2 s (1/3)"), "{notice}");
}

fn client_for(base: &str) -> Client {
    client(base, fast())
}

#[tokio::test]
async fn real_clock_polls_are_a_second_apart() {
    let (base, times) = scripted_status(vec![
        (200, result_json("in_progress", 10)),
        (503, json!({"success": false, "error": "busy"})),
        (200, result_json("done", 100)),
    ])
    .await;
    let client = client(&base, fast());
    let result = client.wait_for_import(&app(), "imp-1", PollPolicy::default(), |_| {}).await.unwrap();
    assert_eq!(result.status, ImportStatus::Done);
    let times = taken(&times);
    assert_eq!(times.len(), 3);
    // Measured on arrival; the client spaces send times by ≥ 1 s.
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(950), "{:?}", pair[1] - pair[0]);
    }
}

/// Every route echoes the `Authorization` header back in its body; `code` picks the failure.
async fn echo_server() -> String {
    async fn echo(headers: HeaderMap, Path((_, code)): Path<(String, String)>) -> Response {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let err = json!({"success": false, "error": format!("you sent {auth}")});
        match code.as_str() {
            "forbidden" => (StatusCode::FORBIDDEN, Json(err)).into_response(),
            "missing" => (StatusCode::NOT_FOUND, Json(err)).into_response(),
            "bad" => (StatusCode::BAD_REQUEST, Json(err)).into_response(),
            "plain" => (StatusCode::BAD_REQUEST, format!("no: {auth}")).into_response(),
            "nope" => (StatusCode::OK, Json(err)).into_response(),
            "garbage" => (StatusCode::OK, format!("<html>{auth}</html>")).into_response(),
            "busy" => (StatusCode::SERVICE_UNAVAILABLE, Json(err)).into_response(),
            "boom" => (StatusCode::INTERNAL_SERVER_ERROR, Json(err)).into_response(),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Json(err).into_response()
            }
            _ => Json(result_json("in_progress", 1)).into_response(),
        }
    }
    let router = Router::new()
        .route(routes::START_IMPORT, post(echo))
        .route(routes::IMPORT_STATUS, post(echo))
        .route(routes::LIST_ITEMS, post(echo))
        .route(routes::APP_SCHEMA, get(echo));
    serve(router).await
}

#[tokio::test]
async fn the_token_never_appears_in_any_error() {
    let base = echo_server().await;
    let mut config = ClientConfig::new(&base, TOKEN);
    config.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    config.timeout = Duration::from_millis(400);
    let client = Client::new(config.clone()).unwrap();
    let list = ListRequest { active: true, from: 0, size: 10, filter: None };
    let at = |code: &str| -> AppRef { format!("crm.{code}").parse().unwrap() };
    let mut errors: Vec<ClientError> = vec![];
    for code in ["forbidden", "missing", "bad", "plain", "nope", "garbage", "busy", "slow"] {
        errors.push(client.list_items(&at(code), &list).await.unwrap_err());
        errors.push(client.app_schema(&at(code)).await.unwrap_err());
    }
    for code in ["boom", "garbage", "slow", "bad", "busy"] {
        errors.push(client.start_import(&at(code), &start_body()).await.unwrap_err());
    }
    errors.push(client.upload_temporary("h", std::path::Path::new("/no/such/file.csv")).await.unwrap_err());
    errors.push(client.list_items(&app(), &ListRequest { size: 500, ..list.clone() }).await.unwrap_err());
    let clock = ManualClock::new();
    let policy = PollPolicy { deadline: Some(Duration::from_secs(3)), ..PollPolicy::default() };
    errors.push(client.wait_for_import_with_clock(&clock, &at("ok"), "i", policy, |_| {}).await.unwrap_err());
    let mut dead = config.clone();
    dead.base_url = dead_port().await;
    errors.push(Client::new(dead).unwrap().app_schema(&app()).await.unwrap_err());
    let mut bad = config.clone();
    bad.part_size = 1;
    errors.push(Client::new(bad).unwrap_err());

    let mut kinds = std::collections::BTreeSet::new();
    for err in &errors {
        let shown = format!("{err}\n{err:?}\n{err:#?}");
        assert!(!shown.contains(TOKEN), "token leaked: {shown}");
        kinds.insert(format!("{err:?}").split([' ', '(', '{']).next().unwrap().to_string());
    }
    let expected = [
        "Api",
        "Config",
        "Decode",
        "File",
        "InvalidRequest",
        "NotFound",
        "PollDeadline",
        "Transport",
        "Unauthorized",
        "Uncertain",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expected, "every variant was formatted");
    // The echoed text is kept, redacted.
    assert!(errors.iter().any(|e| e.to_string().contains("you sent Bearer ***")));
}
