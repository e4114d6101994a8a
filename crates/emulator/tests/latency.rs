//! Latency: every `/pub/v1` request is delayed by a fixed part plus seeded jitter, half
//! before it is handled and half on the way back; `/_emulator/` never is.

use crate::common;

use std::time::{Duration, Instant};

use common::{config, start, Server, TOKEN};
use elma_import_emulator::EmulatorConfig;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The round trip of one schema request.
async fn schema_trip(server: &Server) -> Duration {
    let url = format!("{}/scheme/namespaces/crm/apps/contacts", server.base());
    let began = Instant::now();
    let answer = server.http.get(&url).bearer_auth(TOKEN).send().await.expect("answers");
    assert_eq!(answer.status(), 200);
    began.elapsed()
}

#[tokio::test]
async fn api_requests_take_the_latency_and_control_requests_do_not() {
    let server = start(EmulatorConfig { latency: ms(120), ..config() }).await;
    for _ in 0..3 {
        let trip = schema_trip(&server).await;
        assert!(trip >= ms(120), "{trip:?}");
        assert!(trip < ms(600), "{trip:?}");
    }
    let began = Instant::now();
    let counters = server.counters().await;
    assert!(began.elapsed() < ms(100), "the control endpoints answer at once: {:?}", began.elapsed());
    assert_eq!(counters.requests["GET /scheme/namespaces/{namespace}/apps/{code}"], 3);

    let none = start(config()).await;
    let trip = schema_trip(&none).await;
    assert!(trip < ms(100), "no latency unless asked: {trip:?}");
}

#[tokio::test]
async fn jitter_spreads_the_delays_above_the_fixed_part() {
    let server = start(EmulatorConfig { latency: ms(40), latency_jitter: ms(160), ..config() }).await;
    let mut trips = Vec::new();
    for _ in 0..12 {
        trips.push(schema_trip(&server).await);
    }
    assert!(trips.iter().all(|t| *t >= ms(40)), "{trips:?}");
    let (least, most) = (trips.iter().min().unwrap(), trips.iter().max().unwrap());
    // Twelve uniform draws over 160 ms all within 50 ms of each other: a chance of
    // 12 r^11 − 11 r^12 with r = 50/160, about 2 in 100,000.
    assert!(*most - *least > ms(50), "{trips:?}");
}

#[tokio::test]
async fn a_request_is_handled_half_way_through_its_delay() {
    let server = start(EmulatorConfig { latency: ms(800), ..config() }).await;
    let url = format!("{}/scheme/namespaces/crm/apps/contacts", server.base());
    let http = server.http.clone();
    let began = Instant::now();
    let request =
        tokio::spawn(async move { http.get(&url).bearer_auth(TOKEN).send().await.map(|r| r.status()) });
    let route = "GET /scheme/namespaces/{namespace}/apps/{code}";
    let seen = |c: &elma_import_emulator::CountersReport| c.requests.get(route).copied().unwrap_or(0);
    tokio::time::sleep(ms(150)).await;
    assert_eq!(seen(&server.counters().await), 0, "still on its way in");
    tokio::time::sleep(ms(450)).await;
    assert_eq!(seen(&server.counters().await), 1, "handled after 400 ms");
    assert!(!request.is_finished(), "the answer is still on its way back");
    assert_eq!(request.await.unwrap().unwrap(), 200);
    assert!(began.elapsed() >= ms(800), "{:?}", began.elapsed());
}
