//! The emulator's state: uploads, imports, items, the event-handler queue, counters, and
//! their persistence as JSON files.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use elma_import_contract::schema::AppSchema;
use elma_import_contract::wire::{FileFormat, ImportResult, ImportStatus, RowError, StoredFile};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::faults::{Fault, FaultProfile, Injector};
use crate::report::{CountersReport, FaultEvent, ImportSummary, PollStats, QueueReport, QueueSample};
use crate::EmulatorError;

/// An item of an app: field code → value, plus `__id`.
pub(crate) type Item = Map<String, Value>;

/// Most row errors one import keeps (the counts stay exact).
pub(crate) const MAX_ERRORS: usize = 10_000;
/// Most queue samples kept (the oldest are dropped).
const MAX_SAMPLES: usize = 10_000;
/// Most fault events kept in the log (the counts stay exact).
const MAX_FAULT_LOG: usize = 10_000;

/// Where an upload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UploadKind {
    /// §2: kept for the TTL.
    Temporary,
    /// §1: kept for good.
    Directory,
}

/// A complete uploaded file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Upload {
    pub hash: String,
    pub kind: UploadKind,
    pub size: u64,
    /// Size of the non-final parts (0 for a one-part upload).
    pub part_size: u64,
    pub uploaded_ms: u64,
    /// When a temporary file expires.
    pub expires_ms: Option<u64>,
    /// Whether it has expired (its bytes are gone).
    pub expired: bool,
    /// The directory and stored file of a §1 upload.
    pub directory: Option<String>,
    pub file: Option<StoredFile>,
}

impl Upload {
    pub fn is_expired(&self, now: u64) -> bool {
        self.expired || self.expires_ms.is_some_and(|e| e <= now)
    }
}

/// A parted upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub hash: String,
    pub kind: UploadKind,
    pub directory: Option<String>,
    /// File name from the first part's multipart field.
    pub name: String,
    pub size: u64,
    pub part_size: u64,
    /// Bytes received so far: the next part starts here.
    pub received: u64,
}

/// One import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Import {
    pub id: String,
    pub app: String,
    pub hash: String,
    pub format: FileFormat,
    pub with_event_handlers: bool,
    pub status: ImportStatus,
    pub total: u64,
    pub processed: u64,
    pub imported: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
    pub started_ms: u64,
    pub finished_ms: Option<u64>,
    /// Fault `fail_imports`: the share of the rows after which the import stops `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<f64>,
}

impl Import {
    pub fn result(&self) -> ImportResult {
        ImportResult {
            id: Some(self.id.clone()),
            status: self.status.clone(),
            total: self.total,
            processed: self.processed,
            imported: self.imported,
            failed: self.failed,
            errors: self.errors.clone(),
            extra: Default::default(),
        }
    }

    pub fn push_error(&mut self, error: RowError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(error);
        }
    }

    pub fn fail(&mut self, message: String, now_ms: u64) {
        self.status = ImportStatus::Failed;
        self.finished_ms = Some(now_ms);
        self.push_error(RowError { row: 0, column: String::new(), message });
    }
}

/// The event-handler queue: jobs added by imports `withEventHandlers`, drained at
/// `handler_rate` jobs per second by a background task.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    pub depth: f64,
    pub added: u64,
    pub drained: f64,
    pub samples: VecDeque<QueueSample>,
    pub drainer: Option<AbortHandle>,
}

impl Queue {
    pub fn sample(&mut self, t_ms: u64) {
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(QueueSample { t_ms, depth: self.depth.ceil() as u64 });
    }
}

/// Request and poll counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: BTreeMap<String, u64>,
    pub faults: BTreeMap<String, u64>,
    pub fault_log: Vec<FaultEvent>,
    pub seq: u64,
    pub polls: HashMap<String, Vec<Instant>>,
}

impl Counters {
    pub fn fault(&mut self, seq: u64, route: &str, fault: Fault) {
        *self.faults.entry(fault.as_str().to_string()).or_default() += 1;
        if self.fault_log.len() < MAX_FAULT_LOG {
            self.fault_log.push(FaultEvent { seq, route: route.to_string(), fault });
        }
    }
}

/// A user of the company (`GET /_emulator/users`); SYS_USER cells name them by `__id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    #[serde(rename = "__id")]
    pub id: String,
    /// Display name.
    #[serde(rename = "__name", default)]
    pub name: String,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
}

/// Users the emulator starts with (and returns to on reset).
pub const SEEDED_USERS: usize = 50;

/// SplitMix64: a fixed, tiny generator, so the seeded users are the same in every build.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The [`SEEDED_USERS`] users every emulator has: `User 01` … `User 50`
/// (`user01@emulator.invalid` …), with version-4 ids fixed for good.
pub fn seeded_users() -> Vec<User> {
    (1..=SEEDED_USERS as u64)
        .map(|n| {
            let (hi, lo) = (splitmix(n * 2), splitmix(n * 2 + 1));
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&hi.to_be_bytes());
            bytes[8..].copy_from_slice(&lo.to_be_bytes());
            let id = uuid::Builder::from_random_bytes(bytes).into_uuid().to_string();
            User { id, name: format!("User {n:02}"), email: format!("user{n:02}@emulator.invalid") }
        })
        .collect()
}

/// Everything that changes.
#[derive(Default)]
pub(crate) struct State {
    /// The company's users, in the order they were added.
    pub users: Vec<User>,
    pub uploads: HashMap<String, Upload>,
    pub pending: HashMap<String, Pending>,
    pub imports: HashMap<String, Import>,
    /// Import ids in start order.
    pub order: Vec<String>,
    /// App id → the id of its running import.
    pub running: HashMap<String, String>,
    pub workers: HashMap<String, AbortHandle>,
    pub items: HashMap<String, Vec<Item>>,
    /// App id → wall-clock ms until which a foreign import holds it.
    pub blocked_until: HashMap<String, u64>,
    pub queue: Queue,
    pub counters: Counters,
    /// Bumped by every restart and reset: a worker or drainer of an earlier generation
    /// that still gets the lock (it was aborted between two awaits) stops at once.
    pub generation: u64,
}

impl State {
    /// Ends every import that was `new` or `in_progress` `failed`, as a restart finds them.
    pub fn interrupt_running(&mut self, now_ms: u64) {
        for id in &self.order {
            if let Some(import) = self.imports.get_mut(id) {
                if !import.status.is_final() {
                    import.fail("interrupted by emulator restart".to_string(), now_ms);
                }
            }
        }
        self.running.clear();
    }

    /// Names taken in a directory.
    pub fn names_in(&self, directory: &str) -> HashSet<&str> {
        self.uploads
            .values()
            .filter(|u| u.directory.as_deref() == Some(directory))
            .filter_map(|u| u.file.as_ref().map(|f| f.name.as_str()))
            .collect()
    }
}

/// Settings fixed at creation.
pub(crate) struct Settings {
    pub apps: HashMap<String, Arc<AppSchema>>,
    pub tokens: Vec<String>,
    pub seed: u64,
    pub temp_ttl: Duration,
    pub rows_per_sec: f64,
    pub handler_rate: f64,
    pub verbose: bool,
    /// How cells are read.
    pub locale: elma_import_contract::Locale,
    pub time_zone: crate::zone::Zone,
    /// Whether SYS_USER / SYS_COLLECTION ids must exist.
    pub strict_links: bool,
    /// The wall clock; a simulated one also makes file work inline and ids seeded.
    pub clock: crate::WallClock,
}

/// Shared by every handler and task.
pub(crate) struct Inner {
    pub settings: Settings,
    /// Where upload bodies live (`files/`, `parts/`, `incoming/`, `work/`).
    pub root: PathBuf,
    /// Where state JSON goes, with a data dir.
    pub store: Option<PathBuf>,
    pub started: Instant,
    pub state: Mutex<State>,
    pub injector: Mutex<Injector>,
    /// The seeded id RNG of a simulated clock; `None`: random version-4 ids.
    pub ids: Mutex<Option<StdRng>>,
    /// The delay of each `/pub/v1` request.
    pub latency: crate::latency::Latency,
    pub _temp: Option<tempfile::TempDir>,
}

/// Seed offset of the id RNG, so its stream is not the fault RNG's.
const ID_STREAM: u64 = 0x1D5_0000_0000_0001;

impl Inner {
    /// The id RNG for `clock`: seeded when the clock is simulated.
    pub fn id_rng(clock: &crate::WallClock, seed: u64) -> Mutex<Option<StdRng>> {
        Mutex::new(clock.is_simulated().then(|| StdRng::seed_from_u64(seed ^ ID_STREAM)))
    }

    /// A fresh version-4 UUID: seeded with a simulated clock, else random.
    pub fn new_id(&self) -> String {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        match ids.as_mut() {
            Some(rng) => {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
            }
            None => uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Milliseconds since the Unix epoch on the emulator's wall clock.
    pub fn now_ms(&self) -> u64 {
        self.settings.clock.now_ms()
    }

    /// Whether file work runs inline on the calling task (a simulated clock).
    pub fn inline_io(&self) -> bool {
        self.settings.clock.is_simulated()
    }
}

impl Inner {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn injector(&self) -> MutexGuard<'_, Injector> {
        self.injector.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn file_path(&self, hash: &str) -> PathBuf {
        self.root.join("files").join(hash)
    }

    pub fn part_path(&self, hash: &str) -> PathBuf {
        self.root.join("parts").join(hash)
    }

    pub fn log(&self, message: impl FnOnce() -> String) {
        if self.settings.verbose {
            eprintln!("emulator: {}", message());
        }
    }

    /// Marks temporary files past their TTL expired and deletes their bytes.
    pub fn sweep(&self, state: &mut State) {
        let now = self.now_ms();
        let mut gone = Vec::new();
        for u in state.uploads.values_mut() {
            if !u.expired && u.is_expired(now) {
                u.expired = true;
                gone.push(u.hash.clone());
            }
        }
        for hash in &gone {
            let _ = std::fs::remove_file(self.file_path(hash));
        }
        if !gone.is_empty() {
            self.save_uploads(state);
        }
    }

    /// Expires every temporary file now.
    pub fn expire_all(&self, state: &mut State) {
        let now = self.now_ms();
        for u in state.uploads.values_mut() {
            if u.kind == UploadKind::Temporary && !u.expired {
                u.expires_ms = Some(u.expires_ms.map_or(now, |e| e.min(now)));
            }
        }
        self.sweep(state);
    }

    /// Applies the one-off actions of a fault profile.
    pub fn apply_actions(&self, profile: &FaultProfile, state: &mut State) {
        if let Some(app) = &profile.block_app {
            let until = self.now_ms() + (profile.block_secs * 1000.0) as u64;
            state.blocked_until.insert(app.clone(), until);
        }
        if profile.expire_temp_files {
            self.expire_all(state);
        }
    }

    // ---- persistence ----

    pub fn save_uploads(&self, state: &State) {
        if let Some(store) = &self.store {
            let doc = UploadsDoc {
                uploads: state.uploads.values().cloned().collect(),
                pending: state.pending.values().cloned().collect(),
            };
            self.write(&store.join("uploads.json"), &doc);
        }
    }

    pub fn save_imports(&self, state: &State) {
        if let Some(store) = &self.store {
            let imports: Vec<&Import> = state.order.iter().filter_map(|id| state.imports.get(id)).collect();
            self.write(&store.join("imports.json"), &imports);
        }
    }

    pub fn save_items(&self, state: &State, app: &str) {
        if let Some(store) = &self.store {
            let empty = Vec::new();
            let items = state.items.get(app).unwrap_or(&empty);
            self.write(&store.join("items").join(format!("{app}.json")), items);
        }
    }

    pub fn save_users(&self, state: &State) {
        if let Some(store) = &self.store {
            self.write(&store.join("users.json"), &state.users);
        }
    }

    pub fn save_all(&self, state: &State) {
        self.save_users(state);
        self.save_uploads(state);
        self.save_imports(state);
        for app in self.settings.apps.keys() {
            self.save_items(state, app);
        }
    }

    fn write<T: Serialize + ?Sized>(&self, path: &Path, value: &T) {
        if let Err(e) = write_json(path, value) {
            eprintln!("emulator: cannot save state to `{}`: {e}", path.display());
        }
    }

    /// The counters as reported by `GET /_emulator/counters`.
    pub fn report(&self) -> CountersReport {
        let state = self.lock();
        let polls = state
            .counters
            .polls
            .iter()
            .map(|(id, times)| {
                let gaps_ms: Vec<u64> =
                    times.windows(2).map(|w| w[1].duration_since(w[0]).as_millis() as u64).collect();
                let stats = PollStats {
                    count: times.len() as u64,
                    min_gap_ms: gaps_ms.iter().copied().min(),
                    gaps_ms,
                };
                (id.clone(), stats)
            })
            .collect();
        let depth = current_depth(&state.queue);
        let mut items: BTreeMap<String, u64> = self.settings.apps.keys().map(|k| (k.clone(), 0)).collect();
        for (app, list) in &state.items {
            items.insert(app.clone(), list.len() as u64);
        }
        CountersReport {
            requests: state.counters.requests.clone(),
            faults: state.counters.faults.clone(),
            fault_log: state.counters.fault_log.clone(),
            polls,
            queue: QueueReport {
                depth,
                added: state.queue.added,
                drained: state.queue.drained.floor() as u64,
                samples: state.queue.samples.iter().cloned().collect(),
            },
            items,
            imports: state
                .order
                .iter()
                .filter_map(|id| state.imports.get(id))
                .map(|i| ImportSummary {
                    id: i.id.clone(),
                    app: i.app.clone(),
                    status: i.status.as_str().to_string(),
                    with_event_handlers: i.with_event_handlers,
                    started_ms: i.started_ms,
                    finished_ms: i.finished_ms,
                    total: i.total,
                    processed: i.processed,
                    imported: i.imported,
                    failed: i.failed,
                })
                .collect(),
        }
    }
}

/// Current depth of the queue, rounded up to whole jobs.
pub(crate) fn current_depth(queue: &Queue) -> u64 {
    queue.depth.ceil() as u64
}

#[derive(Serialize, Deserialize, Default)]
struct UploadsDoc {
    uploads: Vec<Upload>,
    pending: Vec<Pending>,
}

/// Writes JSON atomically: a temporary file renamed over the target.
fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, EmulatorError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| EmulatorError::State { path: path.to_path_buf(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(EmulatorError::Io { path: path.to_path_buf(), source }),
    }
}

/// Loads persisted state from `store`, imports as they were saved (see
/// [`State::interrupt_running`]).
pub(crate) fn load(store: &Path, root: &Path, apps: &[String]) -> Result<State, EmulatorError> {
    let mut state = State { users: seeded_users(), ..State::default() };
    if let Some(users) = read_json::<Vec<User>>(&store.join("users.json"))? {
        state.users = users;
    }
    if let Some(doc) = read_json::<UploadsDoc>(&store.join("uploads.json"))? {
        for u in doc.uploads {
            state.uploads.insert(u.hash.clone(), u);
        }
        for p in doc.pending {
            // Keep a parted upload only if its bytes so far are all there.
            let len = std::fs::metadata(root.join("parts").join(&p.hash)).map_or(0, |m| m.len());
            if len >= p.received {
                state.pending.insert(p.hash.clone(), p);
            }
        }
    }
    if let Some(imports) = read_json::<Vec<Import>>(&store.join("imports.json"))? {
        for import in imports {
            state.order.push(import.id.clone());
            state.imports.insert(import.id.clone(), import);
        }
    }
    for app in apps {
        if let Some(items) = read_json::<Vec<Item>>(&store.join("items").join(format!("{app}.json")))? {
            state.items.insert(app.clone(), items);
        }
    }
    Ok(state)
}
