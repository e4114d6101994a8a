//! One seed, from the files to the last stop: executions, their bad luck, and the
//! simulated user who follows what the tool says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use elma_import_client::{Client, ClientConfig, RetryPolicy};
use elma_import_contract::schema::AppSchema;
use elma_import_emulator::{Emulator, EmulatorConfig, FaultProfile, WallClock};
use elma_import_migrate::{MigrateError, MigrateOptions, Migration, QuietMigration, Report, Settings};
use elma_import_runner::journal::faults::{self, Boundary, Crash};
use elma_import_runner::pace::PauseMode;
use elma_import_runner::{
    Cancel, Chunk, ExecOptions, Quiet, RunError, RunPolicy, RunSpec, StopKind, Summary,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::check::{check, Last, Truth};
use crate::platform::{CrashAt, Crasher, InProcess, SimClock, EPOCH_SECS};
use crate::world::{schemas, Kind, World};

/// The token the simulated platform accepts.
const TOKEN: &str = "sim-token-5e3d";

/// The directory id a user gives for directory uploads.
const DIRECTORY: &str = "5a1b0000-0000-4000-8000-00000000d1e5";

/// Most executions of one seed.
const MOST_EXECUTIONS: u32 = 60;

/// How a seed ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Run or migration.
    pub kind: Kind,
    /// Executions made.
    pub executions: u32,
    /// Crashes among them.
    pub crashes: u32,
    /// How it ended, in words.
    pub end: String,
    /// Broken invariants; empty when the seed passes.
    pub violations: Vec<String>,
    /// What happened, execution by execution.
    pub log: Vec<String>,
    /// How many of each journal event the runs wrote (`reconciled:key`, `failed_early`…).
    pub events: BTreeMap<String, u32>,
}

impl Outcome {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Runs `world` to its end on a paused current-thread runtime.
pub fn run(world: &World, verbose: bool) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let outcome = rt.block_on(simulate(world));
    if verbose {
        for line in &outcome.log {
            eprintln!("seed {}: {line}", world.seed);
        }
    }
    outcome
}

/// What an execution came to.
enum Ended {
    Completed(Box<Summary>),
    Migrated(Box<Report>),
    Crashed,
    RunFailed(RunError),
    MigrationFailed(MigrateError),
    Panicked(String),
}

/// The parts of a seed shared by its executions.
struct Sim<'w> {
    world: &'w World,
    root: PathBuf,
    emulator: Emulator,
    clock: SimClock,
    rng: StdRng,
    preexisting: Vec<String>,
    log: Vec<String>,
    violations: Vec<String>,
    crashes: u32,
    tampered: bool,
}

async fn simulate(world: &World) -> Outcome {
    let tmp = scratch();
    let root = tmp.path().to_path_buf();
    let clock = SimClock::new();
    let mut sim = match Sim::new(world, &root, clock) {
        Ok(sim) => sim,
        Err(e) => {
            return Outcome {
                seed: world.seed,
                kind: world.kind,
                executions: 0,
                crashes: 0,
                end: "set-up failed".into(),
                violations: vec![format!("the simulation could not be set up: {e}")],
                log: Vec::new(),
                events: BTreeMap::new(),
            }
        }
    };
    let (executions, end, last) = match world.kind {
        Kind::Run => sim.drive_run().await,
        Kind::Migration => sim.drive_migration().await,
    };
    let truth = Truth::of(&sim.emulator, &sim.preexisting);
    let found = check(world, &root, &truth, last.as_ref());
    sim.violations.extend(found);
    Outcome {
        seed: world.seed,
        kind: world.kind,
        executions,
        crashes: sim.crashes,
        end,
        violations: sim.violations,
        log: sim.log,
        events: events(&root),
    }
}

/// A folder for the seed's files, in memory where the machine has one (fsync is free).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = tempfile::Builder::new()
        .prefix("elma-sim-")
        .disable_cleanup(std::env::var_os("SIM_KEEP").is_some())
        .tempdir_in(shm);
    builder.or_else(|_| tempfile::Builder::new().prefix("elma-sim-").tempdir()).expect("a scratch folder")
}

impl<'w> Sim<'w> {
    fn new(world: &'w World, root: &Path, clock: SimClock) -> Result<Sim<'w>, String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        std::fs::write(root.join("children.csv"), world.children_csv()).map_err(|e| err(&e))?;
        std::fs::write(root.join("parents.csv"), world.parents_csv()).map_err(|e| err(&e))?;
        let zone = elma_import_emulator::parse_time_zone(world.platform_zone)?;
        let config = EmulatorConfig {
            tokens: vec![TOKEN.into()],
            apps: schemas(),
            data_dir: Some(root.join("emulator")),
            seed: world.seed,
            temp_ttl: Duration::from_secs(world.ttl_secs),
            rows_per_sec: world.rows_per_sec,
            handler_rate: world.handler_rate,
            faults: world.faults.clone(),
            time_zone: zone,
            strict_links: world.kind == Kind::Migration,
            clock: WallClock::simulated(EPOCH_SECS * 1000),
            ..EmulatorConfig::default()
        };
        let emulator = Emulator::new(config).map_err(|e| err(&e))?;
        let mut sim = Sim {
            world,
            root: root.to_path_buf(),
            emulator,
            clock,
            rng: StdRng::seed_from_u64(world.seed ^ 0x5eed),
            preexisting: Vec::new(),
            log: Vec::new(),
            violations: Vec::new(),
            crashes: 0,
            tampered: false,
        };
        sim.preexisting = sim.insert_preexisting().map_err(|e| err(&e))?;
        Ok(sim)
    }

    /// Items already in the app before the run: whole rows, and rows' keys alone.
    fn insert_preexisting(&self) -> Result<Vec<String>, elma_import_emulator::EmulatorError> {
        let w = self.world;
        let mut items: Vec<Map<String, Value>> = Vec::new();
        for &i in &w.preexisting {
            let c = &w.children[i];
            let mut item = Map::new();
            item.insert("ref".into(), json!(c.reference));
            item.insert("__name".into(), json!(c.name));
            item.insert("email".into(), json!([{"type": "home", "email": c.email}]));
            if let Ok(n) = c.amount.parse::<i64>() {
                item.insert("amount".into(), json!(n));
            }
            items.push(item);
        }
        for &i in &w.preexisting_keys {
            let c = &w.children[i];
            let mut item = Map::new();
            item.insert("ref".into(), json!(format!("earlier-{}", c.reference)));
            item.insert("email".into(), json!([{"type": "home", "email": c.email}]));
            items.push(item);
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.emulator.insert_items("sim.children", items)
    }

    fn say(&mut self, line: String) {
        // The scratch folder's name differs between replays of a seed; the rest must not.
        let root = self.root.display().to_string();
        self.log.push(line.replace(&root, "<sim>"));
    }

    fn client(&self, crashed: Arc<AtomicBool>) -> Client {
        let mut config = ClientConfig::new("http://platform.sim/pub/v1", TOKEN);
        config.transport = Some(Arc::new(InProcess::new(&self.emulator, crashed)));
        config.retry = RetryPolicy { max_retries: 3, ..RetryPolicy::default() };
        config.retry_seed = Some(self.world.seed);
        config.read_files_inline = true;
        config.timeout = Duration::from_secs(60);
        Client::new(config).expect("the simulation's client")
    }

    fn options(&self, skip_invalid: bool, assume: Vec<(Chunk, bool)>) -> ExecOptions {
        ExecOptions {
            policy: RunPolicy {
                jitter: 0.0,
                blocked_timeout: Duration::from_secs(600),
                stall_timeout: Duration::from_secs(1800),
                ..RunPolicy::default()
            },
            assume,
            skip_invalid,
            ledger: Some(self.root.join("ledger.jsonl")),
            check_replay: true,
            ..ExecOptions::default()
        }
    }

    fn run_spec(&self, id: &str) -> Result<RunSpec, String> {
        let w = self.world;
        let source = self.root.join("children.csv");
        let sha = elma_import_runner::chunkfile::sha256_file(&source).ok();
        Ok(RunSpec {
            locale: elma_import_contract::Locale::Ru,
            time_zone: Some(w.client_zone.to_string()),
            skip_invalid: w.skip_invalid,
            with_event_handlers: w.handlers,
            rows_per_chunk: Some(w.rows_per_chunk),
            chunk_format: w.chunk_format,
            key_column: w.key.map(str::to_string),
            temp_ttl_secs: w.ttl_secs,
            import_rows_per_sec: w.rows_per_sec,
            source_sha256: sha,
            pause_mode: self.pause_mode(),
            ..RunSpec::new(id, &source, "sim.children").map_err(|e| e.to_string())?
        })
    }

    /// `--pause auto` within 1 s..10 min, or the fixed pause.
    fn pause_mode(&self) -> PauseMode {
        if self.world.auto_pause {
            PauseMode::auto(Duration::from_secs(1), Duration::from_secs(600))
        } else {
            PauseMode::Fixed
        }
    }

    /// The crash of the next execution, if any: at a journal boundary drawn from the seed.
    fn plan_crash(&mut self) -> Option<CrashAt> {
        if self.crashes >= self.world.max_crashes || !self.rng.random_bool(self.world.crash_chance) {
            return None;
        }
        let at = self.rng.random_range(0..24);
        let boundary = if self.rng.random_bool(0.5) { Boundary::Before } else { Boundary::After };
        Some(CrashAt { at, boundary })
    }

    /// One execution's bad luck: a crash at a journal boundary (installed while the
    /// returned guard lives), the client that dies with it, and a Ctrl-C perhaps.
    fn unlucky_execution(&mut self) -> (faults::Installed, Client, Cancel) {
        let crash = self.plan_crash();
        let crashed = Arc::new(AtomicBool::new(false));
        let installed = faults::install(&self.root, Arc::new(Crasher::new(crash, crashed.clone())));
        let client = self.client(crashed);
        let cancel = Cancel::new();
        self.maybe_cancel(&cancel);
        (installed, client, cancel)
    }

    /// Runs one execution of the run in `dir` with its bad luck.
    async fn execute_run(&mut self, dir: &Path, options: ExecOptions) -> Ended {
        let (_installed, client, cancel) = self.unlucky_execution();
        let (dir, clock) = (dir.to_path_buf(), self.clock);
        let task = tokio::spawn(async move {
            elma_import_runner::execute_with_clock(&dir, &client, &clock, &options, &Quiet, &cancel).await
        });
        match task.await {
            Ok(Ok(summary)) => Ended::Completed(Box::new(summary)),
            Ok(Err(e)) => Ended::RunFailed(e),
            Err(e) => self.crash_or_panic(e),
        }
    }

    /// Runs one execution of the migration in `dir`.
    async fn execute_migration(&mut self, dir: &Path, options: MigrateOptions) -> Ended {
        let (_installed, client, cancel) = self.unlucky_execution();
        let (dir, clock) = (dir.to_path_buf(), self.clock);
        let task = tokio::spawn(async move {
            let observer = Arc::new(QuietMigration);
            elma_import_migrate::execute_with_clock(&dir, &client, clock, &options, observer, &cancel).await
        });
        match task.await {
            Ok(Ok(report)) => Ended::Migrated(Box::new(report)),
            Ok(Err(e)) => Ended::MigrationFailed(e),
            Err(e) => self.crash_or_panic(e),
        }
    }

    fn crash_or_panic(&mut self, e: tokio::task::JoinError) -> Ended {
        if !e.is_panic() {
            return Ended::Panicked(format!("the execution's task ended: {e}"));
        }
        let payload = e.into_panic();
        if payload.downcast_ref::<Crash>().is_some() {
            self.crashes += 1;
            return Ended::Crashed;
        }
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        Ended::Panicked(text)
    }

    /// Ctrl-C after a while, sometimes.
    fn maybe_cancel(&mut self, cancel: &Cancel) {
        if self.world.cancel_chance > 0.0 && self.rng.random_bool(self.world.cancel_chance) {
            let after = Duration::from_millis(self.rng.random_range(0..60_000));
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                cancel.cancel();
            });
        }
    }

    /// Between two executions: time passes, the platform may restart, faults heal, and
    /// after the first crash a chunk file may be changed.
    async fn between(&mut self, execution: u32, dirs: &[PathBuf]) {
        let gap = Duration::from_secs(self.rng.random_range(0..240));
        tokio::time::sleep(gap).await;
        if self.world.restart_chance > 0.0 && self.rng.random_bool(self.world.restart_chance) {
            let keep = self.rng.random_bool(0.5);
            if let Err(e) = self.emulator.restart(keep) {
                self.violations.push(format!("the emulator could not restart: {e}"));
            }
            self.say(format!(
                "the platform restarted ({} running imports)",
                if keep { "keeping" } else { "failing" }
            ));
        }
        if execution + 1 >= self.world.unlucky_executions {
            let _ = self.emulator.set_faults(FaultProfile::default());
        }
        if self.rng.random_bool(0.15) {
            // Another import holds an app for a while: starts answer `blocked`.
            let app = if self.world.kind == Kind::Migration && self.rng.random_bool(0.5) {
                "sim.parents"
            } else {
                "sim.children"
            };
            let mut faults = self.emulator.faults();
            faults.block_app = Some(app.into());
            faults.block_secs = self.rng.random_range(5.0..900.0);
            if self.emulator.set_faults(faults).is_ok() {
                self.say(format!("another import holds {app}"));
            }
        }
        if self.world.tamper && self.crashes > 0 && !self.tampered {
            self.tampered = tamper(dirs);
            if self.tampered {
                self.say("a chunk file was changed on disk".into());
            }
        }
    }

    /// A run, resumed as the tool says until it ends.
    async fn drive_run(&mut self) -> (u32, String, Option<Last>) {
        let dir = self.root.join("runs").join("r1");
        let schema = AppSchema::from_json(crate::world::CHILDREN).expect("schema");
        let spec = match self.run_spec("r1") {
            Ok(s) => s,
            Err(e) => return (0, format!("no run: {e}"), None),
        };
        if let Err(e) = spec.create(&dir, &schema) {
            self.violations.push(format!("the run directory could not be made: {e}"));
            return (0, "set-up failed".into(), None);
        }
        let (mut skip_invalid, mut assume, mut directory) = (false, Vec::new(), None);
        let (mut repeated, mut again) = (false, false);
        for execution in 0..MOST_EXECUTIONS {
            let mut options = self.options(skip_invalid, std::mem::take(&mut assume));
            options.directory_id.clone_from(&directory);
            options.again = again;
            let ended = self.execute_run(&dir, options).await;
            let described = describe(&ended);
            self.say(format!("execution {}: {described}", execution + 1));
            if self.world.repeat && !repeated && claimed(&dir) {
                repeated = true;
                self.repeat_run(&schema).await;
            }
            match ended {
                Ended::Completed(summary) => return (execution + 1, described, Some(Last::Run(summary))),
                Ended::Crashed => {}
                Ended::Panicked(text) => {
                    self.violations.push(format!("execution {} panicked: {text}", execution + 1));
                    return (execution + 1, described, None);
                }
                Ended::RunFailed(e) => match self.decide(&e, &dir) {
                    Decision::Resume => {}
                    Decision::Again => again = true,
                    Decision::SkipInvalid => skip_invalid = true,
                    Decision::Directory => directory = Some(DIRECTORY.to_string()),
                    Decision::Assume(a) => assume = a,
                    Decision::Stop => return (execution + 1, described, None),
                    Decision::Wrong(v) => {
                        self.violations.push(v);
                        return (execution + 1, described, None);
                    }
                },
                Ended::Migrated(_) | Ended::MigrationFailed(_) => unreachable!("a run"),
            }
            self.between(execution, std::slice::from_ref(&dir)).await;
        }
        self.violations.push(format!("the run did not end in {MOST_EXECUTIONS} executions"));
        (MOST_EXECUTIONS, "no end".into(), None)
    }

    /// The same file, run again in another run directory: refused by the ledger.
    async fn repeat_run(&mut self, schema: &AppSchema) {
        let dir = self.root.join("elsewhere").join("again");
        let Ok(spec) = self.run_spec("again") else { return };
        if spec.create(&dir, schema).is_err() {
            return;
        }
        let client = self.client(Arc::new(AtomicBool::new(false)));
        let mut options = self.options(true, Vec::new());
        let mut result = Err(RunError::Nothing(String::new()));
        // As the user would: given the directory the tool asks for, it is run once more.
        for _ in 0..2 {
            result = elma_import_runner::execute_with_clock(
                &dir,
                &client,
                &self.clock,
                &options,
                &Quiet,
                &Cancel::new(),
            )
            .await;
            if !matches!(result, Err(RunError::NeedsDirectory { .. })) {
                break;
            }
            options.directory_id = Some(DIRECTORY.to_string());
        }
        match result {
            Err(RunError::AlreadyImported { .. }) => self.say("the same file run again was refused".into()),
            Err(RunError::InvalidRows { .. } | RunError::Nothing(_)) => {}
            other => self.violations.push(format!(
                "the same file run again in another folder was not refused: {}",
                match other {
                    Ok(s) => format!("it imported {} rows", s.imported),
                    Err(e) => e.to_string(),
                }
            )),
        }
    }

    /// What the user does after a run stopped with `e`.
    fn decide(&mut self, e: &RunError, dir: &Path) -> Decision {
        match e {
            RunError::Interrupted(_) => Decision::Resume,
            RunError::InvalidRows { .. } => Decision::SkipInvalid,
            RunError::Nothing(_) => Decision::Stop,
            RunError::Uncertain { chunks, .. } => self.settle_by_hand(dir, chunks),
            RunError::AlreadyImported { .. } => Decision::Stop,
            // Rows the world put in the app before the run: the user imports them anyway,
            // as the tool offers (the check counts only this run's items).
            RunError::AlreadyInApp { .. } => Decision::Again,
            RunError::ChunkChanged { .. } if self.tampered => Decision::Stop,
            RunError::BlockedTooLong { .. } => Decision::Resume,
            RunError::NeedsDirectory { .. } => Decision::Directory,
            e if matches!(e.kind(), StopKind::Network) => Decision::Resume,
            e => Decision::Wrong(format!("the run stopped unexpectedly: {e}")),
        }
    }

    /// The user checks the app: a chunk all in is settled as imported, all out as not; a
    /// chunk in part cannot be settled by the tool's choices, and the user stops.
    fn settle_by_hand(&mut self, dir: &Path, chunks: &[Chunk]) -> Decision {
        let truth = Truth::of(&self.emulator, &self.preexisting);
        let Ok(state) = elma_import_runner::run::state_of(dir) else { return Decision::Stop };
        let Ok(files) =
            elma_import_runner::chunkfile::ChunkFiles::load(dir, elma_import_contract::Locale::Ru)
        else {
            return Decision::Stop;
        };
        let mut out = Vec::new();
        for &c in chunks {
            let Some(chunk) = state.chunk(c) else { continue };
            let entry = files.current(c, chunk);
            let refs: Vec<String> = entry
                .source_ranges
                .iter()
                .flat_map(|r| r[0]..=r[1])
                .filter_map(|row| self.world.children.get((row - 2) as usize).map(|c| c.reference.clone()))
                .collect();
            let present = refs.iter().filter(|r| truth.children(r) > 0).count();
            // A row in the app with its name stored otherwise: the tool cannot find it,
            // so "not imported" would send it again.
            let reworded = entry
                .source_ranges
                .iter()
                .flat_map(|r| r[0]..=r[1])
                .filter_map(|row| self.world.children.get((row - 2) as usize))
                .any(|child| truth.child_reworded(&child.reference, &child.name));
            if present == refs.len() {
                out.push((c, true));
            } else if present == 0 || !reworded {
                // In part: the rows the tool finds stay, the rest are imported again.
                out.push((c, false));
            } else {
                self.say(format!(
                    "chunk {c} is in part in the app ({present} of {}), some stored reworded: the user stops",
                    refs.len()
                ));
                return Decision::Stop;
            }
        }
        Decision::Assume(out)
    }

    /// A migration, created as the CLI does after its checks, resumed until it ends.
    async fn drive_migration(&mut self) -> (u32, String, Option<Last>) {
        let dir = self.root.join("migration");
        let text = format!(
            "time_zone = \"{}\"\n\n[[step]]\nfile = \"parents.csv\"\napp = \"sim.parents\"\nkey = \"Code\"\n\n\
             [[step]]\nfile = \"children.csv\"\napp = \"sim.children\"\nkey = \"Email\"\n{}\
             references = {{ Parent = {{ app = \"sim.parents\", by = \"Code\" }} }}\n",
            self.world.client_zone,
            if self.world.handlers { "with_event_handlers = true\n" } else { "" },
        );
        let file = self.root.join("migration.toml");
        let made = std::fs::write(&file, text).map_err(|e| e.to_string()).and_then(|()| {
            let migration = Migration::load(&file).map_err(|e| e.to_string())?;
            let schemas: BTreeMap<String, AppSchema> = schemas().into_iter().map(|s| (s.id(), s)).collect();
            let bound = elma_import_migrate::check::bind(&migration, &schemas).map_err(|e| e.to_string())?;
            let mut checked =
                elma_import_migrate::check::check_files(&migration, &bound).map_err(|e| e.to_string())?;
            checked.settle(&migration, &bound, None);
            // The CLI sends nothing when the checks find problems unless told to skip.
            let skip = self.world.skip_invalid || !checked.is_clean();
            let settings = Settings {
                skip_invalid: skip,
                chunk_format: self.world.chunk_format,
                import_rows_per_sec: self.world.rows_per_sec,
                temp_ttl_secs: self.world.ttl_secs,
                parallel: 2,
                pause_mode: self.pause_mode(),
                ..Settings::default()
            };
            elma_import_migrate::create(&dir, &migration, &settings, &schemas).map_err(|e| e.to_string())
        });
        if let Err(e) = made {
            self.violations.push(format!("the migration could not be made: {e}"));
            return (0, "set-up failed".into(), None);
        }
        let mut options =
            MigrateOptions { parallel: 2, exec: self.options(false, Vec::new()), assume: Vec::new() };
        let steps = [dir.join("steps/01-sim.parents"), dir.join("steps/02-sim.children")];
        for execution in 0..MOST_EXECUTIONS {
            let ended = self.execute_migration(&dir, options.clone()).await;
            let described = describe(&ended);
            self.say(format!("execution {}: {described}", execution + 1));
            options.assume.clear();
            match ended {
                Ended::Migrated(report) => {
                    if report.status == "completed" {
                        return (execution + 1, described, Some(Last::Migration(report)));
                    }
                    match self.decide_migration(&report) {
                        Decision::Resume => {}
                        Decision::Again => options.exec.again = true,
                        Decision::SkipInvalid => options.exec.skip_invalid = true,
                        Decision::Directory => options.exec.directory_id = Some(DIRECTORY.to_string()),
                        Decision::Assume(a) => {
                            let step = report.steps.iter().position(|s| s.failure.is_some()).unwrap_or(0);
                            options.assume = a.into_iter().map(|(c, yes)| (step, c, yes)).collect();
                        }
                        Decision::Stop => return (execution + 1, described, Some(Last::Migration(report))),
                        Decision::Wrong(v) => {
                            self.violations.push(v);
                            return (execution + 1, described, Some(Last::Migration(report)));
                        }
                    }
                }
                Ended::Crashed => {}
                Ended::MigrationFailed(e) => {
                    self.violations.push(format!("the migration stopped unexpectedly: {e}"));
                    return (execution + 1, described, None);
                }
                Ended::Panicked(text) => {
                    self.violations.push(format!("execution {} panicked: {text}", execution + 1));
                    return (execution + 1, described, None);
                }
                Ended::Completed(_) | Ended::RunFailed(_) => unreachable!("a migration"),
            }
            self.between(execution, &steps).await;
        }
        self.violations.push(format!("the migration did not end in {MOST_EXECUTIONS} executions"));
        (MOST_EXECUTIONS, "no end".into(), None)
    }

    /// What the user does after a migration stopped with a step failed.
    fn decide_migration(&mut self, report: &Report) -> Decision {
        let failed = report.steps.iter().enumerate().find_map(|(j, s)| s.failure.as_ref().map(|f| (j, f)));
        let Some((j, failure)) = failed else { return Decision::Resume };
        match failure.run_error() {
            Some(e @ RunError::Uncertain { .. }) => {
                let dir =
                    report.dir.join(if j == 0 { "steps/01-sim.parents" } else { "steps/02-sim.children" });
                if j == 0 {
                    // The parents' rows: settled only when the whole chunk is in or out.
                    return self.settle_parents_by_hand(&dir, e);
                }
                let RunError::Uncertain { chunks, .. } = e else { unreachable!() };
                self.settle_by_hand(&dir, chunks)
            }
            Some(e) => self.decide(e, &report.dir),
            // Reading a parent app's items failed on the network: the tool says resume.
            None if matches!(failure.kind(), StopKind::Network) => Decision::Resume,
            None => Decision::Wrong(format!("a step stopped unexpectedly: {failure}")),
        }
    }

    fn settle_parents_by_hand(&mut self, _dir: &Path, _e: &RunError) -> Decision {
        self.say("the parents' step is uncertain: the user stops".into());
        Decision::Stop
    }
}

/// What the simulated user does next.
enum Decision {
    Resume,
    /// Resume with `--again`.
    Again,
    SkipInvalid,
    Directory,
    Assume(Vec<(Chunk, bool)>),
    Stop,
    Wrong(String),
}

fn describe(ended: &Ended) -> String {
    match ended {
        Ended::Completed(s) => format!(
            "completed: {} imported, {} failed, {} not confirmed, {} invalid",
            s.imported, s.failed, s.not_imported, s.rows_invalid
        ),
        Ended::Migrated(r) => format!(
            "migration {}: {} imported, {} failed, {} not confirmed, {} invalid",
            r.status, r.imported, r.failed, r.not_imported, r.rows_invalid
        ),
        Ended::Crashed => "crashed".into(),
        Ended::RunFailed(e) => format!("stopped: {e}"),
        Ended::MigrationFailed(e) => format!("stopped: {e}"),
        Ended::Panicked(t) => format!("panicked: {t}"),
    }
}

/// Whether the run in `dir` is in the ledger (its journal says it claimed).
fn claimed(dir: &Path) -> bool {
    elma_import_runner::run::state_of(dir).is_ok_and(|s| s.claimed())
}

/// Changes the first chunk file not yet imported of any run in `dirs`.
fn tamper(dirs: &[PathBuf]) -> bool {
    for dir in dirs {
        let Ok(state) = elma_import_runner::run::state_of(dir) else { continue };
        let Ok(files) =
            elma_import_runner::chunkfile::ChunkFiles::load(dir, elma_import_contract::Locale::Ru)
        else {
            continue;
        };
        for (c, chunk) in files.all().zip(state.chunks()) {
            if chunk.phase == elma_import_runner::state::Phase::Done {
                continue;
            }
            let path = files.path(&files.current(c, chunk));
            if let Ok(mut bytes) = std::fs::read(&path) {
                bytes.extend_from_slice(b"\n");
                if std::fs::write(&path, bytes).is_ok() {
                    return true;
                }
            }
        }
    }
    false
}

/// How many of each event the journals under `root` hold.
fn events(root: &Path) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let dirs = ["runs/r1", "migration/steps/01-sim.parents", "migration/steps/02-sim.children"];
    for dir in dirs {
        let events = elma_import_runner::journal::Journal::<elma_import_runner::event::Event>::read(
            &root.join(dir).join("journal.jsonl"),
        )
        .unwrap_or_default();
        for e in events {
            let v = serde_json::to_value(&e).unwrap_or_default();
            let mut name = v["event"].as_str().unwrap_or_default().to_string();
            if let Some(by) = v.get("by").and_then(Value::as_str) {
                name = format!("{name}:{by}");
            }
            *out.entry(name).or_default() += 1;
        }
    }
    out
}
