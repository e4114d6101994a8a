//! A local emulator of the ELMA365 import Web API (docs/platform.md), for tests and the `demo`.
//!
//! The emulator is an axum [`Router`] serving the API under `/pub/v1` and its own control
//! endpoints under `/_emulator/` (README.md). It keeps uploads on disk with the
//! temporary-file TTL, runs one import per app (a second start answers `blocked`),
//! processes imports asynchronously at a set row rate, reading each file its own way
//! (calamine, csv) and turning cells into the platform's item values (docs/platform.md §7) with a
//! model of its own, never the client's; lists items with the §6 `tf` filter; with
//! strict links checks user and item ids the client cannot check,
//! feeds an event-handler queue that drains at a set rate and slows imports down while
//! deep, injects faults deterministically from a seed, delays requests like a network
//! (a fixed latency plus seeded jitter), counts requests and status polls, and with a
//! data directory survives a restart.
//!
//! Tests drive [`Emulator::router`] in-process or bind it with [`serve`] on port 0:
//!
//! ```
//! use elma_import_emulator::{serve, EmulatorConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = EmulatorConfig { tokens: vec!["secret".into()], ..EmulatorConfig::default() };
//! let running = serve(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
//! assert!(running.base_url().ends_with("/pub/v1"));
//! assert_eq!(running.emulator().counters().imports.len(), 0);
//! running.shutdown().await;
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use elma_import_contract::schema::{AppSchema, SchemaError};
use tokio::task::JoinHandle;

mod api;
mod cells;
mod clock;
mod control;
mod faults;
mod filter;
mod imports;
mod latency;
mod read;
mod report;
mod respond;
mod state;
mod uploads;
mod values;
mod zone;

pub use clock::WallClock;
pub use faults::{Fault, FaultProfile};
pub use imports::effective_rate;
pub use report::{CountersReport, FaultEvent, ImportSummary, PollStats, QueueReport, QueueSample};
pub use state::{seeded_users, User, SEEDED_USERS};
pub use zone::{parse_time_zone, Zone};

/// The locale of import cells (re-exported from the contract).
pub use elma_import_contract::Locale;

use faults::Injector;
use state::{Inner, Settings};

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A file or directory of the emulator could not be read or written.
    #[error("cannot use `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A saved state file is not valid JSON of the expected shape.
    #[error("the saved state `{path}` is damaged: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An app schema breaks the schema rules.
    #[error("the app schema `{app}` is not valid: {source}")]
    Schema {
        /// `namespace.code`.
        app: String,
        /// The cause.
        #[source]
        source: SchemaError,
    },
    /// Two app schemas share `namespace.code`.
    #[error("two app schemas are both `{0}`")]
    DuplicateApp(String),
    /// No app of the emulator is `namespace.code`.
    #[error("the emulator has no app `{0}`")]
    UnknownApp(String),
    /// An item given to [`Emulator::insert_items`] cannot be stored.
    #[error("item {index} for the app `{app}` cannot be stored: {reason}")]
    Item {
        /// `namespace.code`.
        app: String,
        /// The item's position in the list given, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The fault profile is not valid.
    #[error("the fault profile is not valid: {0}")]
    Faults(String),
    /// The address could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Accepted tokens; empty: any non-empty token.
    pub tokens: Vec<String>,
    /// The apps served (default: [`demo_apps`]).
    pub apps: Vec<AppSchema>,
    /// Where uploads and state are kept across restarts; `None`: a temporary directory
    /// removed with the emulator, and no state saved.
    pub data_dir: Option<PathBuf>,
    /// Seed of the fault RNG.
    pub seed: u64,
    /// How long a temporary file is kept after its upload (the platform: 60 minutes).
    pub temp_ttl: Duration,
    /// Rows an import processes per second (before the queue slow-down); `0` or
    /// infinite: as fast as possible.
    pub rows_per_sec: f64,
    /// Event-handler jobs drained per second.
    pub handler_rate: f64,
    /// Faults in force from the start.
    pub faults: FaultProfile,
    /// Log each request and import transition to stderr (never the token).
    pub verbose: bool,
    /// The company's locale: how date and number cells are read (default `ru`).
    pub locale: Locale,
    /// The company's time zone: date cells carry no offset and are read in it
    /// (default `+03:00`, Moscow, the zone of ELMA365's cloud; see [`parse_time_zone`]).
    pub time_zone: Zone,
    /// Reject rows whose SYS_USER ids are not users of the emulator, or whose
    /// SYS_COLLECTION ids are not items of the linked app (default off).
    pub strict_links: bool,
    /// Where wall-clock times come from (default the system clock); a simulation on
    /// tokio's paused clock sets [`WallClock::simulated`], which also makes the emulator
    /// deterministic.
    pub clock: WallClock,
    /// The fixed part of each `/pub/v1` request's delay, half on its way in and half on
    /// the answer's way back, like a network between the client and a tenant (default
    /// none; README.md, "Latency").
    pub latency: Duration,
    /// Up to this much more delay per `/pub/v1` request, drawn uniformly from an RNG
    /// seeded with `seed` (default none).
    pub latency_jitter: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            tokens: Vec::new(),
            apps: demo_apps(),
            data_dir: None,
            seed: 0,
            temp_ttl: Duration::from_secs(elma_import_contract::wire::TEMP_FILE_TTL_SECS),
            rows_per_sec: 1_000.0,
            handler_rate: 100.0,
            faults: FaultProfile::default(),
            verbose: false,
            locale: Locale::Ru,
            time_zone: Zone::moscow(),
            strict_links: false,
            clock: WallClock::system(),
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
        }
    }
}

const DEMO_SCHEMAS: [&str; 3] = [
    include_str!("../../../templates/crm.companies.schema.json"),
    include_str!("../../../templates/crm.contacts.schema.json"),
    include_str!("../../../templates/logistics.orders.schema.json"),
];

/// The demo apps of `templates/*.schema.json`: `crm.companies`, `crm.contacts` (whose
/// Company links to `crm.companies`) and `logistics.orders`.
pub fn demo_apps() -> Vec<AppSchema> {
    DEMO_SCHEMAS.iter().filter_map(|text| AppSchema::from_json(text).ok()).collect()
}

/// Marker extension of a response the server answers by closing the connection
/// (an injected `drop_before`/`drop_after` fault). In-process callers of
/// [`Emulator::router`] see it on a 500 response whose body fails.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionDropped;

/// An emulator: its state and its router. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl Emulator {
    /// Creates an emulator; with a data directory, loads the saved state and marks
    /// imports that were running `failed` ("interrupted by emulator restart").
    pub fn new(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let mut apps = HashMap::new();
        for app in config.apps {
            let id = app.id();
            app.check().map_err(|source| EmulatorError::Schema { app: id.clone(), source })?;
            if apps.insert(id.clone(), Arc::new(app)).is_some() {
                return Err(EmulatorError::DuplicateApp(id));
            }
        }
        config.faults.check().map_err(EmulatorError::Faults)?;
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| EmulatorError::Io { path, source }
        };
        let (root, store, temp) = match &config.data_dir {
            Some(dir) => (dir.clone(), Some(dir.join("state")), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("elma-import-emulator-")
                    .tempdir()
                    .map_err(io(&std::env::temp_dir()))?;
                (temp.path().to_path_buf(), None, Some(temp))
            }
        };
        for dir in ["files", "parts"] {
            std::fs::create_dir_all(root.join(dir)).map_err(io(&root.join(dir)))?;
        }
        for dir in ["incoming", "work"] {
            let _ = std::fs::remove_dir_all(root.join(dir));
        }
        let app_ids: Vec<String> = apps.keys().cloned().collect();
        let mut loaded = match &store {
            Some(store) => {
                let mut saved = state::load(store, &root, &app_ids)?;
                saved.interrupt_running(config.clock.now_ms());
                saved
            }
            None => state::State { users: seeded_users(), ..state::State::default() },
        };
        let inner = Inner {
            settings: Settings {
                apps,
                tokens: config.tokens.into_iter().filter(|t| !t.is_empty()).collect(),
                seed: config.seed,
                temp_ttl: config.temp_ttl,
                rows_per_sec: config.rows_per_sec,
                handler_rate: config.handler_rate,
                verbose: config.verbose,
                locale: config.locale,
                time_zone: config.time_zone,
                strict_links: config.strict_links,
                clock: config.clock,
            },
            root,
            store,
            started: tokio::time::Instant::now(),
            state: Mutex::new(state::State::default()),
            injector: Mutex::new(Injector::new(config.faults.clone(), config.seed)),
            ids: Inner::id_rng(&config.clock, config.seed),
            latency: latency::Latency::new(config.latency, config.latency_jitter, config.seed),
            _temp: temp,
        };
        inner.apply_actions(&config.faults, &mut loaded);
        inner.sweep(&mut loaded);
        inner.save_imports(&loaded);
        *inner.lock() = loaded;
        Ok(Emulator { inner: Arc::new(inner) })
    }

    /// The whole app: the API under `/pub/v1`, the control endpoints under `/_emulator`.
    pub fn router(&self) -> Router {
        Router::new()
            .nest(api::PREFIX, api::router(self.inner.clone()))
            .nest("/_emulator", control::router(self.inner.clone()))
    }

    /// What `GET /_emulator/counters` answers.
    pub fn counters(&self) -> CountersReport {
        self.inner.report()
    }

    /// The company's users (`GET /_emulator/users`).
    pub fn users(&self) -> Vec<User> {
        self.inner.lock().users.clone()
    }

    /// What `POST /_emulator/reset` does: stops imports, forgets uploads, items,
    /// counters and faults.
    pub fn reset(&self) {
        control::reset_state(&self.inner);
    }

    /// Stops running imports and the queue without marking them finished, and saves
    /// the state (with a data directory). What a restart sees.
    fn halt(&self) {
        let mut state = self.inner.lock();
        for (_, worker) in state.workers.drain() {
            worker.abort();
        }
        if let Some(drainer) = state.queue.drainer.take() {
            drainer.abort();
        }
        self.inner.save_all(&state);
    }

    /// Binds `addr` (port 0 picks a free port) and serves in a background task.
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningEmulator, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| EmulatorError::Bind { addr, source })?;
        let task = tokio::spawn(server::accept(listener, self.router()));
        self.inner.log(|| format!("listening on http://{local}{}", api::PREFIX));
        Ok(RunningEmulator { emulator: self, addr: local, task: Some(task) })
    }
}

/// Creates an emulator from `config` and serves it on `addr` (port 0 is fine).
pub async fn serve(config: EmulatorConfig, addr: SocketAddr) -> Result<RunningEmulator, EmulatorError> {
    Emulator::new(config)?.serve(addr).await
}

/// A served emulator. Dropping it stops the server; [`RunningEmulator::shutdown`]
/// also waits for the listener to close.
pub struct RunningEmulator {
    emulator: Emulator,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL: `http://{addr}/pub/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, api::PREFIX)
    }

    /// The emulator, for counters and resets in-process.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting, closes connections, stops imports (as a crash would: a restart
    /// with the same data directory marks them failed) and saves the state.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.emulator.halt();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            self.emulator.halt();
        }
    }
}

mod server {
    //! The accept loop: hyper directly, so that a [`ConnectionDropped`] response closes
    //! the connection without an answer.

    use axum::extract::Request;
    use axum::Router;
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use tokio::task::JoinSet;
    use tower::ServiceExt;

    use crate::ConnectionDropped;

    #[derive(Debug)]
    struct Dropped;

    impl std::fmt::Display for Dropped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection dropped by fault injection")
        }
    }

    impl std::error::Error for Dropped {}

    pub(crate) async fn accept(listener: tokio::net::TcpListener, router: Router) {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        connections.spawn(serve_connection(stream, router.clone()));
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }

    async fn serve_connection(stream: tokio::net::TcpStream, router: Router) {
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            async move {
                let response = match router.oneshot(request).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                if response.extensions().get::<ConnectionDropped>().is_some() {
                    Err(Dropped)
                } else {
                    Ok(response)
                }
            }
        });
        let _ =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_apps_are_the_three_templates() {
        let ids: Vec<String> = demo_apps().iter().map(AppSchema::id).collect();
        assert_eq!(ids, ["crm.companies", "crm.contacts", "logistics.orders"]);
    }

    #[test]
    fn duplicate_apps_and_bad_faults_are_refused() {
        let mut apps = demo_apps();
        apps.push(apps[0].clone());
        let err = Emulator::new(EmulatorConfig { apps, ..EmulatorConfig::default() }).err().unwrap();
        assert!(err.to_string().contains("`crm.companies`"), "{err}");
        let faults = FaultProfile { drop_after: 1.5, ..FaultProfile::default() };
        let err = Emulator::new(EmulatorConfig { faults, ..EmulatorConfig::default() }).err().unwrap();
        assert!(err.to_string().contains("drop_after"), "{err}");
    }
}
