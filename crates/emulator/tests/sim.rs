//! The emulator in process on tokio's paused clock, as a simulation drives it: time on
//! the virtual clock, restarts that fail or keep running imports, items put in before a
//! run, imports that fail part way, lost answers, and the same script twice giving the
//! same emulator.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use elma_import_emulator::{
    ConnectionDropped, CountersReport, Emulator, EmulatorConfig, Fault, FaultProfile, WallClock,
};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

const TOKEN: &str = "sim-token";
const EPOCH_MS: u64 = 1_800_000_000_000;
const START: &str = "POST /app/{namespace}/{code}/import";
const STATUS: &str = "POST /app/{namespace}/{code}/import/status";

/// A deterministic emulator: simulated wall clock (made now, on the test's clock).
fn sim_config(seed: u64) -> EmulatorConfig {
    EmulatorConfig {
        tokens: vec![TOKEN.into()],
        seed,
        rows_per_sec: 20.0,
        handler_rate: 10.0,
        clock: WallClock::simulated(EPOCH_MS),
        ..EmulatorConfig::default()
    }
}

/// What one request came back with: a status and JSON body, or `None` for a dropped
/// connection.
type Answer = Option<(StatusCode, Value)>;

async fn send(router: &Router, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let request = Request::post(format!("/pub/v1{path}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    if response.extensions().get::<ConnectionDropped>().is_some() {
        return None;
    }
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Some((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

async fn post(router: &Router, path: &str, body: Value) -> Answer {
    send(router, path, "application/json", body.to_string().into_bytes()).await
}

async fn upload(router: &Router, hash: &str, data: &[u8]) -> Answer {
    send(router, &format!("/disk/file/upload?hash={hash}"), "application/octet-stream", data.to_vec()).await
}

async fn start(router: &Router, app: &str, hash: &str, handlers: bool) -> Answer {
    let body = json!({"fileHash": hash, "format": "csv", "withEventHandlers": handlers});
    post(router, &format!("/app/{app}/import"), body).await
}

async fn status(router: &Router, app: &str, id: &str) -> Answer {
    post(router, &format!("/app/{app}/import/status"), json!({ "id": id })).await
}

fn contacts(rows: usize) -> Vec<u8> {
    let mut s = String::from("Name,Email,Amount,Active,Segment\n");
    for i in 1..=rows {
        let email = if i % 7 == 0 { "broken".to_string() } else { format!("p{i}@example.com") };
        s.push_str(&format!("Person {i},{email},{},true,VIP\n", i * 10));
    }
    s.into_bytes()
}

fn orders(rows: usize) -> Vec<u8> {
    let mut s = String::from("Order,Number,Weight\n");
    for i in 1..=rows {
        s.push_str(&format!("Order {i},{i},{}.5\n", i % 13));
    }
    s.into_bytes()
}

/// Polls once a second until the import is final; failed polls are tried again.
async fn wait_final(router: &Router, app: &str, id: &str) -> Value {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some((StatusCode::OK, body)) = status(router, app, id).await {
            let result = body["result"].clone();
            if matches!(result["status"].as_str(), Some("done" | "failed")) {
                return result;
            }
        }
    }
}

// ------------------------------------------------------------------ the same script twice

/// One client's script: upload (until it sticks), start (until an id comes back; a lost
/// answer is asked again after a pause, which then answers `blocked` until the lost
/// import ends), poll to the end; `rounds` times. Every answer goes in the log.
async fn script(router: Router, app: &'static str, data: Vec<u8>, rounds: usize) -> Vec<String> {
    let mut log = Vec::new();
    let mut note = |what: &str, answer: &Answer| {
        let shown = match answer {
            Some((code, body)) => format!("{what}: {} {}", code.as_u16(), body),
            None => format!("{what}: dropped"),
        };
        log.push(shown);
    };
    for round in 0..rounds {
        let hash = format!("{}-{round}", app.replace('/', "-"));
        loop {
            let answer = upload(&router, &hash, &data).await;
            note("upload", &answer);
            if matches!(answer, Some((StatusCode::OK, _))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        let id = loop {
            let answer = start(&router, app, &hash, round % 2 == 0).await;
            note("start", &answer);
            match &answer {
                Some((StatusCode::OK, body)) if body["result"]["id"].is_string() => {
                    break body["result"]["id"].as_str().unwrap().to_string()
                }
                _ => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        };
        let result = wait_final(&router, app, &id).await;
        note("final", &Some((StatusCode::OK, result)));
    }
    log
}

struct Run {
    counters: CountersReport,
    items: Vec<Vec<Map<String, Value>>>,
    logs: (Vec<String>, Vec<String>),
}

/// Two scripts at once (contacts and orders), under a noisy fault profile.
async fn run_once(seed: u64) -> Run {
    let emulator = Emulator::new(sim_config(seed)).unwrap();
    emulator
        .set_faults(FaultProfile {
            http_500: 0.05,
            http_503: 0.05,
            drop_before: 0.05,
            drop_after: 0.1,
            slow: 0.2,
            slow_ms: 1_500,
            fail_imports: 0.5,
            ..FaultProfile::default()
        })
        .unwrap();
    let router = emulator.router();
    let a = tokio::spawn(script(router.clone(), "crm/contacts", contacts(45), 4));
    let b = tokio::spawn(script(router.clone(), "logistics/orders", orders(60), 4));
    let logs = (a.await.unwrap(), b.await.unwrap());
    // Let the event-handler queue drain.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let items = ["crm.contacts", "logistics.orders"].iter().map(|app| emulator.items(app).unwrap()).collect();
    Run { counters: emulator.counters(), items, logs }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_same_script_twice_on_the_paused_clock_gives_the_same_emulator() {
    let real = std::time::Instant::now();
    let first = run_once(7).await;
    let second = run_once(7).await;
    // Everything, ids and wall-clock times included, is the same.
    assert_eq!(first.logs, second.logs);
    assert_eq!(first.counters, second.counters);
    assert_eq!(first.items, second.items);

    // The run saw faults of every kind, imports that failed part way, and drained.
    let c = &first.counters;
    for kind in ["http_500", "http_503", "drop_before", "drop_after", "slow", "fail_import"] {
        assert!(c.faults.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {:?}", c.faults);
    }
    assert!(c.imports.iter().any(|i| i.status == "failed" && i.imported > 0), "{:?}", c.imports);
    assert!(c.imports.iter().any(|i| i.status == "done"), "{:?}", c.imports);
    assert_eq!(c.queue.depth, 0);
    assert!(c.imports.iter().all(|i| i.started_ms >= EPOCH_MS && i.finished_ms.unwrap() >= i.started_ms));
    assert_eq!(first.items[0].len() as u64, c.items["crm.contacts"]);

    // Another seed, another run.
    let other = run_once(8).await;
    assert_ne!(first.counters.fault_log, other.counters.fault_log);
    assert!(real.elapsed() < Duration::from_secs(60), "virtual time: {:?} of real time", real.elapsed());
}

// ------------------------------------------------------------------ the virtual clock

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn wall_clock_times_and_expiry_follow_tokios_clock() {
    let real = std::time::Instant::now();
    let config = EmulatorConfig { rows_per_sec: 10.0, ..sim_config(1) };
    let emulator = Emulator::new(config).unwrap();
    let router = emulator.router();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(upload(&router, "h1", &contacts(50)).await.unwrap().0, StatusCode::OK);
    let (_, body) = start(&router, "crm/contacts", "h1", false).await.unwrap();
    let id = body["result"]["id"].as_str().unwrap().to_string();
    let result = wait_final(&router, "crm/contacts", &id).await;
    assert_eq!(result["status"], "done");
    let import = &emulator.counters().imports[0];
    assert_eq!(import.started_ms, EPOCH_MS + 5_000);
    let took = import.finished_ms.unwrap() - import.started_ms;
    assert!((5_000..=5_200).contains(&took), "50 rows at 10 rows/s took {took} ms");

    // The temporary file expires 60 virtual minutes after its upload.
    tokio::time::sleep(Duration::from_secs(59 * 60)).await;
    assert_eq!(upload(&router, "h2", &contacts(1)).await.unwrap().0, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let (code, body) = start(&router, "crm/contacts", "h1", false).await.unwrap();
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("has expired"), "{body}");
    let (_, body) = start(&router, "crm/contacts", "h2", false).await.unwrap();
    assert!(body["result"]["id"].is_string(), "uploaded a minute ago: {body}");
    assert!(real.elapsed() < Duration::from_secs(20), "{:?}", real.elapsed());
}

// ------------------------------------------------------------------ restarts

/// Starts a 100-row import at 10 rows/s, restarts 3.5 s into it, and waits for the end.
async fn restart_midway(data_dir: Option<&std::path::Path>, keep_running: bool) -> (Emulator, Value) {
    let config =
        EmulatorConfig { rows_per_sec: 10.0, data_dir: data_dir.map(|d| d.to_path_buf()), ..sim_config(3) };
    let emulator = Emulator::new(config).unwrap();
    let router = emulator.router();
    upload(&router, "h", &orders(100)).await.unwrap();
    let (_, body) = start(&router, "logistics/orders", "h", true).await.unwrap();
    let id = body["result"]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let before =
        status(&router, "logistics/orders", &id).await.unwrap().1["result"]["processed"].as_u64().unwrap();
    assert!((25..=40).contains(&before), "{before}");
    emulator.restart(keep_running).unwrap();
    // The router made before the restart serves the restarted emulator.
    let result = wait_final(&router, "logistics/orders", &id).await;
    (emulator, result)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_restart_can_keep_running_imports_going() {
    for dir in [None, Some(tempfile::tempdir().unwrap())] {
        let (emulator, result) = restart_midway(dir.as_ref().map(|d| d.path()), true).await;
        assert_eq!(result["status"], "done", "{result}");
        assert_eq!((result["processed"].as_u64(), result["imported"].as_u64()), (Some(100), Some(100)));
        let items = emulator.items("logistics.orders").unwrap();
        let mut names: Vec<&str> = items.iter().map(|i| i["__name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 100, "every row once");
        names.dedup();
        assert_eq!(names.len(), 100);
        let counters = emulator.counters();
        assert_eq!(counters.queue.added, 100, "the queue carried over");
        assert_eq!(counters.requests[START], 1, "counters carried over");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_restart_can_fail_running_imports_keeping_their_rows() {
    for dir in [None, Some(tempfile::tempdir().unwrap())] {
        let (emulator, result) = restart_midway(dir.as_ref().map(|d| d.path()), false).await;
        assert_eq!(result["status"], "failed", "{result}");
        assert!(result["errors"].to_string().contains("interrupted by emulator restart"), "{result}");
        let imported = result["imported"].as_u64().unwrap();
        assert!((25..=40).contains(&imported), "{result}");
        assert_eq!(emulator.items("logistics.orders").unwrap().len() as u64, imported);
        // The app is free again.
        let router = emulator.router();
        upload(&router, "h2", &orders(2)).await.unwrap();
        let (_, body) = start(&router, "logistics/orders", "h2", false).await.unwrap();
        assert_eq!(body["result"]["status"], "new", "{body}");
    }
}

// ------------------------------------------------------------------ items put in first

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn items_put_in_before_a_run_are_listed_and_linkable() {
    let config = EmulatorConfig { strict_links: true, rows_per_sec: 0.0, ..sim_config(5) };
    let emulator = Emulator::new(config).unwrap();
    let given = "0b7ae1d4-6a45-4c51-9d3e-0a4bd3a8b1c2";
    let item = |v: Value| v.as_object().unwrap().clone();
    let ids = emulator
        .insert_items(
            "crm.companies",
            vec![
                item(json!({"__name": "Acme", "inn": "7701"})),
                item(json!({"__id": given.to_uppercase(), "__name": "Beta", "inn": "7702", "city": "Kazan"})),
            ],
        )
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], given, "a given id is kept, lowercased");
    assert_ne!(ids[0], ids[1]);

    let router = emulator.router();
    let (_, body) =
        post(&router, "/app/crm/companies/list", json!({"filter": {"tf": {"inn": "7702"}}})).await.unwrap();
    assert_eq!(body["result"]["total"], 1);
    assert_eq!(
        body["result"]["result"][0],
        json!({"__id": given, "__name": "Beta", "inn": "7702", "city": "Kazan"})
    );

    // Strict links see them: a contact may name the company.
    let csv = format!("Name,Company\nAnn,[{given}]\nBob,[{}]\n", "11111111-2222-4333-8444-555555555555");
    upload(&router, "c", csv.as_bytes()).await.unwrap();
    let (_, body) = start(&router, "crm/contacts", "c", false).await.unwrap();
    let result = wait_final(&router, "crm/contacts", body["result"]["id"].as_str().unwrap()).await;
    assert_eq!((result["imported"].as_u64(), result["failed"].as_u64()), (Some(1), Some(1)), "{result}");

    // Refused whole: an unknown field, a bad or taken id, an unknown app.
    let refused = [
        ("crm.companies", json!({"__name": "X", "nope": 1}), "`nope` is not a field code"),
        ("crm.companies", json!({"__id": "42", "__name": "X"}), "is not a UUID"),
        ("crm.companies", json!({"__id": given, "__name": "X"}), "already"),
    ];
    for (app, value, says) in refused {
        let err = emulator.insert_items(app, vec![item(json!({"__name": "ok"})), item(value)]).unwrap_err();
        assert!(err.to_string().contains(says) && err.to_string().contains("item 1"), "{err}");
    }
    assert!(emulator.insert_items("crm.nothing", vec![]).unwrap_err().to_string().contains("`crm.nothing`"));
    assert_eq!(emulator.items("crm.companies").unwrap().len(), 2, "nothing stored by the refused calls");
}

// ------------------------------------------------------------------ partial failures

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fail_imports_stops_an_import_part_way_keeping_its_rows() {
    let emulator = Emulator::new(sim_config(11)).unwrap();
    emulator.set_faults(FaultProfile { fail_imports: 1.0, ..FaultProfile::default() }).unwrap();
    let router = emulator.router();
    upload(&router, "h", &contacts(40)).await.unwrap();
    let (_, body) = start(&router, "crm/contacts", "h", false).await.unwrap();
    let result = wait_final(&router, "crm/contacts", body["result"]["id"].as_str().unwrap()).await;
    assert_eq!(result["status"], "failed");
    let (total, processed) = (result["total"].as_u64().unwrap(), result["processed"].as_u64().unwrap());
    assert_eq!(total, 40);
    assert!(processed < total, "{result}");
    let errors = result["errors"].as_array().unwrap();
    let last = errors.last().unwrap();
    assert_eq!((last["row"].as_u64(), last["column"].as_str()), (Some(0), Some("")));
    assert!(
        last["message"].as_str().unwrap().contains(&format!("stopped after {processed} of 40 rows")),
        "{last}"
    );
    // Rows before the stop stay: good ones imported, bad ones (every 7th) failed.
    let bad = processed / 7;
    assert_eq!(result["imported"].as_u64(), Some(processed - bad));
    assert_eq!(emulator.items("crm.contacts").unwrap().len() as u64, processed - bad);
    let counters = emulator.counters();
    assert_eq!(counters.faults["fail_import"], 1);
    assert_eq!(counters.fault_log.last().unwrap().fault, Fault::FailImport);
    assert_eq!(counters.fault_log.last().unwrap().route, START);

    // Applies only where the start route is covered.
    emulator
        .set_faults(FaultProfile {
            fail_imports: 1.0,
            routes: vec![STATUS.into()],
            ..FaultProfile::default()
        })
        .unwrap();
    upload(&router, "h2", &contacts(10)).await.unwrap();
    let (_, body) = start(&router, "crm/contacts", "h2", false).await.unwrap();
    let result = wait_final(&router, "crm/contacts", body["result"]["id"].as_str().unwrap()).await;
    assert_eq!(result["status"], "done", "{result}");
}

// ------------------------------------------------------------------ lost answers

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn drop_after_loses_a_starts_answer_or_a_status_answer() {
    let emulator = Emulator::new(sim_config(2)).unwrap();
    let router = emulator.router();
    upload(&router, "h", &contacts(30)).await.unwrap();
    let on =
        |route: &str| FaultProfile { drop_after: 1.0, routes: vec![route.into()], ..FaultProfile::default() };
    emulator.set_faults(on(START)).unwrap();
    assert_eq!(emulator.faults(), on(START));
    assert!(start(&router, "crm/contacts", "h", false).await.is_none(), "the answer is lost");
    let counters = emulator.counters();
    assert_eq!(counters.imports.len(), 1, "but the import started");
    assert_eq!(counters.faults["drop_after"], 1);
    let id = counters.imports[0].id.clone();

    emulator.set_faults(on(STATUS)).unwrap();
    assert!(status(&router, "crm/contacts", &id).await.is_none(), "a lost status answer");
    let (code, body) = start(&router, "crm/contacts", "h", false).await.unwrap();
    assert_eq!((code, body["result"]["status"].as_str()), (StatusCode::OK, Some("blocked")));
    let counters = emulator.counters();
    assert_eq!(counters.polls[&id].count, 1, "the lost status request was answered, then dropped");
    assert_eq!(counters.faults["drop_after"], 2);

    assert!(emulator.set_faults(FaultProfile { drop_after: 2.0, ..FaultProfile::default() }).is_err());
}
