//! The runner benchmark: a 100-chunk run against the in-process emulator at a fast
//! import rate. Prints one JSON object: wall time, the runner's own busy share of it (time
//! not spent waiting on the network, the platform, polls or pauses), requests per chunk,
//! and the emulator's smallest gap between two status polls of one import.
//!
//! ```text
//! cargo run --release -p elma-import-benches --bin bench-run -- [CHUNKS] [ROWS_PER_CHUNK]
//! ```

use std::time::Duration;

use elma_import_contract::schema::AppSchema;
use elma_import_runner::{execute, Cancel, ExecOptions, Quiet, RunSpec};
use elma_import_template::sample::{write_csv, SampleOptions};
use elma_import_template::Locale;

fn main() -> elma_import_benches::BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let chunks: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let rows_per_chunk: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let schema = AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json"))?;
    let source = dir.path().join("contacts.csv");
    let sample = SampleOptions { rows: chunks * rows_per_chunk, bad_share: 0.0, seed: 1, locale: Locale::Ru };
    write_csv(&schema, &source, &sample)?;

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let (emulator, client) = elma_import_benches::emulator_and_client(
            elma_import_benches::emulator_config(200_000.0, 1_000_000.0),
        )
        .await?;
        let run_dir = dir.path().join("run");
        let spec = RunSpec {
            with_event_handlers: true,
            rows_per_chunk: Some(rows_per_chunk),
            import_rows_per_sec: 200_000.0,
            pause_secs: Some(0.0),
            ..RunSpec::new("bench", &source, schema.id())?
        };
        spec.create(&run_dir, &schema)?;
        let options = ExecOptions { pause: Some(Duration::ZERO), ..ExecOptions::default() };
        let summary = execute(&run_dir, &client, &options, &Quiet, &Cancel::new()).await?;
        let counters = emulator.emulator().counters();
        let min_gap_ms = counters.polls.values().filter_map(|p| p.min_gap_ms).min();
        let report = serde_json::json!({
            "chunks": summary.chunks,
            "rows": summary.imported,
            "wall_secs": summary.wall_secs,
            "prepare_secs": summary.prepare_secs,
            "client_busy_share": summary.client_busy_share,
            "requests_per_chunk": summary.requests as f64 / f64::from(summary.chunks.max(1)),
            "retries": summary.retries,
            "min_gap_between_polls_ms": min_gap_ms,
        });
        println!("{report}");
        emulator.shutdown().await;
        Ok::<_, elma_import_benches::BenchError>(())
    })
}
