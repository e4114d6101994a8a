//! `elma-import emulator`: serve a local emulator of the platform's import API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use elma_import_emulator::{demo_apps, parse_time_zone, EmulatorConfig, FaultProfile, Locale, Zone};
use serde_json::json;

use crate::exit::{self, usage};
use crate::opts::Global;
use crate::settings::{read_schema_file, runtime};
use crate::ui;

/// Arguments of `emulator`.
#[derive(Debug, Args)]
#[command(after_help = "Serves the API under http://ADDR/pub/v1 and its control endpoints under \
http://ADDR/_emulator/ (reset, faults, counters, users; see crates/emulator/README.md). Serves the \
demo apps crm.companies, crm.contacts (whose Company links to crm.companies) and logistics.orders \
plus any --app-schema.

The emulator reads import cells its own way, as the platform would: in the company's --locale \
and --time-zone (a date cell carries no offset, so it is read in that zone and stored as RFC 3339 \
with the zone's offset). --latency and --latency-jitter delay every API request (fixed plus a \
seeded uniform share of the jitter, half on the way in and half on the way back). With \
--strict-links a SYS_USER id must be one of the emulator's users (GET /_emulator/users) and a \
SYS_COLLECTION id an item of the linked app, or the row fails.

Examples:
  elma-import emulator --addr 127.0.0.1:8365 --token T
  elma-import emulator --rows-per-sec 200 --handler-rate 50 --data-dir /tmp/emu
  elma-import emulator --fault-503 0.1 --fault-drop-after 0.05 --seed 7
  elma-import emulator --latency 50ms --latency-jitter 100ms   # a tenant: 50-150 ms a request
  elma-import emulator --time-zone UTC --locale en --strict-links
  elma-import emulator --time-zone Europe/Berlin")]
pub struct EmulatorArgs {
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8365")]
    pub addr: SocketAddr,
    /// Accepted token (repeat for several); any non-empty token when none is given.
    #[arg(long = "token", value_name = "T")]
    pub tokens: Vec<String>,
    /// Extra app schema to serve (repeatable).
    #[arg(long = "app-schema", value_name = "FILE")]
    pub app_schemas: Vec<PathBuf>,
    /// Keep uploads and items here across restarts.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Seed of the fault injection.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Lifetime of temporary files.
    #[arg(long, default_value = "60m", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub temp_ttl: Duration,
    /// Rows an import processes per second.
    #[arg(long, default_value_t = 1000.0, value_name = "R")]
    pub rows_per_sec: f64,
    /// Event-handler jobs drained per second.
    #[arg(long, default_value_t = 100.0, value_name = "R")]
    pub handler_rate: f64,
    /// Fault profile as JSON (or @FILE); the flags below add to it.
    #[arg(long, value_name = "JSON")]
    pub faults: Option<String>,
    /// Probability of HTTP 500.
    #[arg(long, value_name = "P")]
    pub fault_500: Option<f64>,
    /// Probability of HTTP 503 with Retry-After.
    #[arg(long, value_name = "P")]
    pub fault_503: Option<f64>,
    /// Probability of HTTP 429 with Retry-After.
    #[arg(long, value_name = "P")]
    pub fault_429: Option<f64>,
    /// Probability of dropping the connection before processing.
    #[arg(long, value_name = "P")]
    pub fault_drop: Option<f64>,
    /// Probability of processing, then dropping the connection unanswered.
    #[arg(long, value_name = "P")]
    pub fault_drop_after: Option<f64>,
    /// Probability of a slow answer.
    #[arg(long, value_name = "P")]
    pub fault_slow: Option<f64>,
    /// Hold this app (namespace.code) with a foreign import for --block-secs.
    #[arg(long, value_name = "NS.CODE")]
    pub block_app: Option<String>,
    /// How long --block-app stays blocked.
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub block_secs: f64,
    /// The company's locale: how date and number cells are read (ru or en).
    #[arg(long, default_value = "ru", value_name = "LOCALE",
        value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["ru", "en"]), |s| s.parse::<Locale>().unwrap_or_default()))]
    pub locale: Locale,
    /// The company's time zone: an offset (`+03:00`, `-05:30`, `UTC`) or an IANA name
    /// (`Europe/Berlin`, with its clock changes). Date cells carry no offset and are read
    /// in it.
    #[arg(long, default_value = "+03:00", value_parser = parse_time_zone, value_name = "ZONE")]
    pub time_zone: Zone,
    /// Fail rows whose SYS_USER ids are not emulator users or whose SYS_COLLECTION ids
    /// are not items of the linked app.
    #[arg(long)]
    pub strict_links: bool,
    /// Delay every API request (not /_emulator/) by this much, half before it is
    /// handled and half on the answer's way back, like a network to a tenant.
    #[arg(long, default_value = "0", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub latency: Duration,
    /// Up to this much more delay per API request, drawn from an RNG seeded with --seed.
    #[arg(long, default_value = "0", value_parser = crate::opts::parse_duration, value_name = "DUR")]
    pub latency_jitter: Duration,
    /// Log each request and import step to stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

fn fault_profile(args: &EmulatorArgs) -> anyhow::Result<FaultProfile> {
    let mut p = match &args.faults {
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read `{path}`: {e}")))?
                }
                None => text.clone(),
            };
            serde_json::from_str(&text).map_err(|e| usage(format!("--faults is not a fault profile: {e}")))?
        }
        None => FaultProfile::default(),
    };
    let set = |slot: &mut f64, v: Option<f64>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut p.http_500, args.fault_500);
    set(&mut p.http_503, args.fault_503);
    set(&mut p.http_429, args.fault_429);
    set(&mut p.drop_before, args.fault_drop);
    set(&mut p.drop_after, args.fault_drop_after);
    set(&mut p.slow, args.fault_slow);
    if args.block_app.is_some() {
        p.block_app = args.block_app.clone();
        p.block_secs = args.block_secs;
    }
    p.check().map_err(usage)?;
    Ok(p)
}

/// Runs `emulator`.
pub fn run(args: EmulatorArgs, global: &Global) -> anyhow::Result<u8> {
    let mut apps = demo_apps();
    for path in &args.app_schemas {
        let schema = read_schema_file(path)?;
        apps.retain(|a| a.id() != schema.id());
        apps.push(schema);
    }
    let config = EmulatorConfig {
        tokens: args.tokens.clone(),
        apps,
        data_dir: args.data_dir.clone(),
        seed: args.seed,
        temp_ttl: args.temp_ttl,
        rows_per_sec: args.rows_per_sec,
        handler_rate: args.handler_rate,
        faults: fault_profile(&args)?,
        verbose: args.verbose,
        locale: args.locale,
        time_zone: args.time_zone,
        strict_links: args.strict_links,
        clock: elma_import_emulator::WallClock::system(),
        latency: args.latency,
        latency_jitter: args.latency_jitter,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let running =
            elma_import_emulator::serve(config, args.addr).await.map_err(|e| exit::coded(exit::USAGE, e))?;
        if global.json {
            ui::print_json_now(&json!({"url": running.base_url(), "addr": running.addr().to_string()}))?;
        } else {
            ui::out(running.base_url())?;
            ui::say(format!(
                "emulator listening on {} (control: http://{}/_emulator/counters); Ctrl-C stops it",
                running.base_url(),
                running.addr()
            ));
        }
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(exit::OK)
}
