//! Counters: status polls per import with their gaps, the event-handler queue.

use crate::common;

use std::time::Duration;

use common::{config, contacts_csv, start};
use elma_import_emulator::EmulatorConfig;

#[tokio::test]
async fn counters_report_poll_gaps_per_import() {
    let server = start(config()).await;
    let id = server.import("crm/contacts", contacts_csv(2, &[]), false).await;
    for _ in 0..3 {
        server.status("crm/contacts", &id).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.status("crm/contacts", &id).await;
    let counters = server.counters().await;
    let polls = &counters.polls[&id];
    assert_eq!(polls.count, 4);
    assert_eq!(polls.gaps_ms.len(), 3);
    let min = polls.min_gap_ms.unwrap();
    assert!((240..1000).contains(&min), "{polls:?}");
    assert_eq!(counters.requests["POST /app/{namespace}/{code}/import/status"], 4);
    assert_eq!(counters.requests["POST /disk/file/upload"], 1);
    assert_eq!(counters.requests["POST /app/{namespace}/{code}/import"], 1);
}

#[tokio::test]
async fn the_event_handler_queue_fills_and_drains() {
    let server = start(EmulatorConfig { handler_rate: 400.0, ..config() }).await;
    let id = server.import("crm/contacts", contacts_csv(300, &[]), true).await;
    server.wait_final("crm/contacts", &id, Duration::from_secs(20)).await;
    let filled = server.counters().await;
    assert_eq!(filled.queue.added, 300);
    let peak = filled.queue.samples.iter().map(|s| s.depth).max().unwrap();
    assert!(peak >= 200, "{:?}", filled.queue);

    // Without event handlers nothing is queued.
    let plain = server.import("crm/contacts", contacts_csv(10, &[]), false).await;
    server.wait_final("crm/contacts", &plain, Duration::from_secs(20)).await;

    let t0 = std::time::Instant::now();
    loop {
        let c = server.counters().await;
        if c.queue.depth == 0 {
            assert_eq!(c.queue.drained, 300);
            assert_eq!(c.queue.samples.last().unwrap().depth, 0);
            // Depth only goes down once the import stops adding.
            let after_peak: Vec<u64> =
                c.queue.samples.iter().map(|s| s.depth).skip_while(|&d| d < peak).collect();
            assert!(after_peak.windows(2).all(|w| w[1] <= w[0]), "{after_peak:?}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "queue never drained: {:?}", c.queue);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds from start to the end of an import of `rows` contacts, polling every 20 ms.
async fn timed_import(server: &common::Server, rows: usize) -> f64 {
    let t0 = std::time::Instant::now();
    let id = server.import("crm/contacts", contacts_csv(rows, &[]), false).await;
    loop {
        let status = server.status("crm/contacts", &id).await;
        if status["status"] == "done" {
            return t0.elapsed().as_secs_f64();
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_deep_queue_slows_the_next_import() {
    // 2,000 jobs at 1 job/s barely drain: the next import runs at
    // 2000 / (1 + 2000/1000) ≈ 667 rows/s instead of 2,000.
    let server = start(EmulatorConfig { rows_per_sec: 2000.0, handler_rate: 1.0, ..config() }).await;
    let unloaded = timed_import(&server, 400).await;

    let fill = server.import("logistics/orders", orders_csv(2000), true).await;
    server.wait_final("logistics/orders", &fill, Duration::from_secs(30)).await;
    assert!(server.counters().await.queue.depth > 1900);

    let loaded = timed_import(&server, 400).await;
    assert!(loaded > unloaded * 1.8, "{unloaded} s unloaded vs {loaded} s with a deep queue");
}

fn orders_csv(rows: usize) -> Vec<u8> {
    let mut s = String::from("Order,Number\n");
    for i in 1..=rows {
        s.push_str(&format!("A-{i},{i}\n"));
    }
    s.into_bytes()
}

#[tokio::test]
async fn imports_of_different_apps_run_side_by_side_and_their_intervals_show_it() {
    let server = start(EmulatorConfig { rows_per_sec: 40.0, ..config() }).await;
    let before =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let contacts = server.import("crm/contacts", contacts_csv(10, &[]), false).await;
    let orders = server
        .import("logistics/orders", "Order,Number\nA,1\nB,2\nC,3\nD,4\nE,5\nF,6\nG,7\nH,8\n".into(), false)
        .await;
    let running = server.counters().await;
    assert!(running.imports.iter().all(|i| i.finished_ms.is_none()), "{:?}", running.imports);
    server.wait_final("crm/contacts", &contacts, Duration::from_secs(20)).await;
    server.wait_final("logistics/orders", &orders, Duration::from_secs(20)).await;
    let c = server.counters().await;
    let a = c.imports.iter().find(|i| i.id == contacts).unwrap();
    let b = c.imports.iter().find(|i| i.id == orders).unwrap();
    let (a_end, b_end) = (a.finished_ms.unwrap(), b.finished_ms.unwrap());
    assert!(a.started_ms >= before && a.started_ms <= a_end, "{a:?}");
    assert!(a_end - a.started_ms >= 150, "10 rows at 40/s take about 250 ms: {a:?}");
    assert!(a.started_ms < b_end && b.started_ms < a_end, "the intervals overlap: {a:?} {b:?}");

    // One app runs one import at a time: a second into the same app comes after.
    let next = server.import("crm/contacts", contacts_csv(2, &[]), false).await;
    server.wait_final("crm/contacts", &next, Duration::from_secs(20)).await;
    let c = server.counters().await;
    let n = c.imports.iter().find(|i| i.id == next).unwrap();
    assert!(n.started_ms >= a_end, "{n:?} after {a:?}");
}
