use super::sim::{self, Case, Network, Noise, Platform};
use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
#[ignore]
fn explore() {
    let busy = std::env::var("BUSY").is_ok_and(|b| b == "1");
    let seeds: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    for (rate, rows) in [(25.0, 6000), (100.0, 10000), (400.0, 100000)] {
        for ms in [0.0, 100.0] {
            let mut ratios = Vec::new();
            let mut peaks = Vec::new();
            for seed in 1..=seeds {
                let noise = if busy { Noise::busy(seed) } else { Noise::quiet(seed) };
                let case = Case::new(Platform::emulator(2000.0, rate), rows, seed)
                    .over(Network::millis(ms, ms / 5.0))
                    .with_noise(noise);
                let r = sim::run(&case, sim::Pacing::Auto(Pacer::new(secs(20.0), secs(1.0), secs(600.0))));
                ratios.push(r.ratio());
                peaks.push(r.peak_queue / 1000.0);
                if r.ratio() > 1.25 || r.peak_queue > 1500.0 {
                    println!("    miss: {rate}/s {ms} ms seed {seed}: {:.2} {:.2}", r.ratio(), r.peak_queue / 1000.0);
                }
                if std::env::var("VERBOSE").is_ok() && seed == 1 {
                    for s in &r.steps {
                        println!(
                            "  t={:7.1} B={:6.0} busy={:.2} poll=({} {:.3} {}) pause={:.2} exp={:.2}",
                            s.sent, s.backlog, s.busy_secs, s.poll.processed, s.poll.secs, s.poll.finished,
                            s.pause_secs, s.expected_pause_secs
                        );
                    }
                }
            }
            let f = |v: &Vec<f64>| {
                let mut v = v.clone();
                v.sort_by(f64::total_cmp);
                format!("{:.2} {:.2} {:.2}", v[0], v[v.len() / 2], v[v.len() - 1])
            };
            println!("{rate:5} jobs/s {ms:5} ms: ratio {}  peak {}", f(&ratios), f(&peaks));
        }
    }
}

#[test]
#[ignore]
fn sweep() {
    let seeds: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let busy = std::env::var("BUSY").is_ok_and(|b| b == "1");
    for rate in [15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 120.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0] {
        for ms in [0.0, 100.0] {
            let rows = ((rate * 100.0) as u64).max(6000) / 1000 * 1000;
            let mut worst_peak: f64 = 0.0;
            let mut worst_ratio: f64 = 0.0;
            for seed in 1..=seeds {
                let noise = if busy { Noise::busy(seed) } else { Noise::quiet(seed) };
                let case = Case::new(Platform::emulator(2000.0, rate), rows, seed)
                    .over(Network::millis(ms, ms / 5.0))
                    .with_noise(noise);
                let r = sim::run(&case, sim::Pacing::Auto(Pacer::new(secs(20.0), secs(1.0), secs(600.0))));
                worst_peak = worst_peak.max(r.peak_queue / 1000.0);
                worst_ratio = worst_ratio.max(r.ratio());
            }
            println!("{rate:5} jobs/s {ms:5} ms {rows:6} rows: worst ratio {worst_ratio:.2} worst peak {worst_peak:.2}");
        }
    }
}

#[test]
#[ignore]
fn trace() {
    let rate: f64 = std::env::var("RATE").unwrap().parse().unwrap();
    let ms: f64 = std::env::var("MS").map(|s| s.parse().unwrap()).unwrap_or(0.0);
    let rows: u64 = std::env::var("ROWS").map(|s| s.parse().unwrap()).unwrap_or(10000);
    let seed: u64 = std::env::var("SEED").map(|s| s.parse().unwrap()).unwrap_or(1);
    let mut case = Case::new(Platform::emulator(2000.0, rate), rows, seed).over(Network::millis(ms, ms / 5.0));
    if std::env::var("BUSY").is_ok_and(|b| b == "1") {
        case = case.with_noise(Noise::busy(seed));
    }
    let mut pacer = Pacer::new(secs(20.0), secs(1.0), secs(600.0));
    let r = sim::run(&case, sim::Pacing::Auto(pacer.clone()));
    for s in &r.steps {
        let d = pacer.observe_poll(s.poll);
        println!(
            "t={:7.1} B={:5.0} busy={:.2} poll=({:4} {:.3} {:5}) -> {:11} est={:4.0} h={:5.1} pause={:6.2} exp={:6.2}",
            s.sent, s.backlog, s.busy_secs, s.poll.processed, s.poll.secs, s.poll.finished,
            d.verdict.as_str(), d.backlog, d.handler_rate, s.pause_secs, s.expected_pause_secs
        );
    }
    println!("ratio {:.3} peak {:.2}", r.ratio(), r.peak_queue / 1000.0);
}
