//! `/_emulator/`: reset, fault profile, counters, item dump (README.md). No auth, no faults.
//! And their in-process equivalents on [`Emulator`], with the controls a simulation
//! needs: a restart that fails or keeps running imports, items put in before a run.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::faults::{FaultProfile, Injector};
use crate::respond::fail;
use crate::state::{self, seeded_users, Inner, Item, State as Emu, User};
use crate::{imports, Emulator, EmulatorError};

/// The `/_emulator` routes (mounted without the `/pub/v1` prefix).
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/reset", post(reset))
        .route("/faults", post(set_faults).get(get_faults))
        .route("/counters", get(counters))
        .route("/items/{namespace}/{code}", get(items))
        .route("/users", get(users).post(add_user))
        .with_state(inner)
}

/// Stops every import and forgets everything but the apps and the fault seed.
pub(crate) fn reset_state(inner: &Inner) {
    let mut state = inner.lock();
    for (_, worker) in state.workers.drain() {
        worker.abort();
    }
    if let Some(drainer) = state.queue.drainer.take() {
        drainer.abort();
    }
    for dir in ["files", "parts", "work"] {
        let _ = std::fs::remove_dir_all(inner.root.join(dir));
    }
    let generation = state.generation + 1;
    *state = Emu { users: seeded_users(), generation, ..Emu::default() };
    *inner.injector() = Injector::new(FaultProfile::default(), inner.settings.seed);
    inner.save_all(&state);
}

async fn reset(State(inner): State<Arc<Inner>>) -> Response {
    reset_state(&inner);
    inner.log(|| "reset".to_string());
    Json(json!({"success": true, "error": ""})).into_response()
}

/// Puts `profile` in force: checks it, runs its actions, reseeds the RNGs when it names a
/// seed (else they go on).
pub(crate) fn apply_profile(inner: &Inner, profile: FaultProfile) -> Result<(), String> {
    profile.check()?;
    {
        let mut state = inner.lock();
        inner.apply_actions(&profile, &mut state);
    }
    inner.log(|| format!("fault profile set: {}", serde_json::to_string(&profile).unwrap_or_default()));
    let mut injector = inner.injector();
    match profile.seed {
        Some(seed) => *injector = Injector::new(profile, seed),
        None => injector.profile = profile,
    }
    Ok(())
}

async fn set_faults(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let profile: FaultProfile = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return fail(StatusCode::BAD_REQUEST, format!("not a fault profile: {e}")),
    };
    match apply_profile(&inner, profile) {
        Ok(()) => Json(json!({"success": true, "error": ""})).into_response(),
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

async fn get_faults(State(inner): State<Arc<Inner>>) -> Response {
    let profile = inner.injector().profile.clone();
    Json(profile).into_response()
}

async fn counters(State(inner): State<Arc<Inner>>) -> Response {
    Json(inner.report()).into_response()
}

async fn items(State(inner): State<Arc<Inner>>, Path((namespace, code)): Path<(String, String)>) -> Response {
    let id = format!("{namespace}.{code}");
    if !inner.settings.apps.contains_key(&id) {
        return fail(StatusCode::NOT_FOUND, format!("no app `{id}` in this emulator"));
    }
    let state = inner.lock();
    let items = state.items.get(&id).cloned().unwrap_or_default();
    Json(json!({"app": id, "total": items.len(), "items": items})).into_response()
}

async fn users(State(inner): State<Arc<Inner>>) -> Response {
    let state = inner.lock();
    Json(json!({"success": true, "error": "", "users": state.users})).into_response()
}

/// Body of `POST /_emulator/users`: every field optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    #[serde(rename = "__id")]
    id: Option<String>,
    #[serde(rename = "__name")]
    name: Option<String>,
    email: Option<String>,
}

async fn add_user(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let text = if body.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { &body[..] };
    let new: NewUser = match serde_json::from_slice(text) {
        Ok(u) => u,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("not a user: {e}; expected {{\"__id\":\"<uuid>\",\"__name\":\"…\",\"email\":\"…\"}}, every field optional"),
            )
        }
    };
    let id = match new.id {
        Some(id) => match crate::cells::uuid_of(id.trim()) {
            Some(id) => id,
            None => return fail(StatusCode::BAD_REQUEST, format!("`__id` = `{id}` is not a UUID")),
        },
        None => inner.new_id(),
    };
    let mut state = inner.lock();
    if state.users.iter().any(|u| u.id.eq_ignore_ascii_case(&id)) {
        return fail(StatusCode::CONFLICT, format!("a user with the id `{id}` exists already"));
    }
    let n = state.users.len() + 1;
    let user = User {
        id,
        name: new.name.unwrap_or_else(|| format!("User {n:02}")),
        email: new.email.unwrap_or_else(|| format!("user{n:02}@emulator.invalid")),
    };
    state.users.push(user.clone());
    inner.save_users(&state);
    inner.log(|| format!("user `{}` added", user.id));
    Json(json!({"success": true, "error": "", "user": user})).into_response()
}

impl Emulator {
    /// Puts a fault profile in force, as `POST /_emulator/faults` does: its actions run at
    /// once; a `seed` in it reseeds the fault RNGs, else they go on.
    pub fn set_faults(&self, profile: FaultProfile) -> Result<(), EmulatorError> {
        apply_profile(&self.inner, profile).map_err(EmulatorError::Faults)
    }

    /// The fault profile in force.
    pub fn faults(&self) -> FaultProfile {
        self.inner.injector().profile.clone()
    }

    /// Every item of `app` (`namespace.code`), in the order they were stored.
    pub fn items(&self, app: &str) -> Result<Vec<Item>, EmulatorError> {
        if !self.inner.settings.apps.contains_key(app) {
            return Err(EmulatorError::UnknownApp(app.to_string()));
        }
        Ok(self.inner.lock().items.get(app).cloned().unwrap_or_default())
    }

    /// Stores `items` in `app` (`namespace.code`) as if imported earlier by other means,
    /// after the items it has; returns their `__id`s in order. Values must be in the
    /// platform's shapes (README.md, "Value model"): they are stored as given, unchecked.
    /// An item may bring its own `__id` (a UUID not yet in the app), else it gets a fresh
    /// one (seeded with a simulated clock). Every key must be a field code of the app or
    /// `__id`; on any error nothing is stored.
    pub fn insert_items(&self, app: &str, items: Vec<Item>) -> Result<Vec<String>, EmulatorError> {
        let inner = &self.inner;
        let schema =
            inner.settings.apps.get(app).ok_or_else(|| EmulatorError::UnknownApp(app.to_string()))?;
        let bad = |index: usize, reason: String| EmulatorError::Item { app: app.to_string(), index, reason };
        let mut state = inner.lock();
        let mut taken: std::collections::HashSet<String> = state
            .items
            .get(app)
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("__id").and_then(serde_json::Value::as_str).map(str::to_lowercase))
            .collect();
        let mut stored = Vec::with_capacity(items.len());
        for (index, mut item) in items.into_iter().enumerate() {
            if let Some(key) =
                item.keys().find(|k| *k != "__id" && !schema.fields.iter().any(|f| &f.code == *k))
            {
                return Err(bad(index, format!("`{key}` is not a field code of the app")));
            }
            let id = match item.remove("__id") {
                None => inner.new_id(),
                Some(serde_json::Value::String(given)) => match crate::cells::uuid_of(given.trim()) {
                    Some(id) => id,
                    None => return Err(bad(index, format!("`__id` = `{given}` is not a UUID"))),
                },
                Some(other) => return Err(bad(index, format!("`__id` = `{other}` is not a UUID"))),
            };
            if !taken.insert(id.clone()) {
                return Err(bad(index, format!("the app has an item `{id}` already")));
            }
            let mut full = Item::with_capacity(item.len() + 1);
            full.insert("__id".to_string(), serde_json::Value::String(id));
            full.extend(item);
            stored.push(full);
        }
        let ids = stored.iter().map(|i| i["__id"].as_str().unwrap_or_default().to_string()).collect();
        state.items.entry(app.to_string()).or_default().extend(stored);
        inner.save_items(&state, app);
        inner.log(|| format!("{} items put into `{app}`", state.items[app].len()));
        Ok(ids)
    }

    /// Restarts the emulator in place, as its process would restart: running imports
    /// and the event-handler queue stop, the state is saved and, with a data directory,
    /// read back. Then imports that were `new` or `in_progress`:
    /// - `keep_running = false`: end `failed` with the error `interrupted by emulator
    ///   restart` (what [`Emulator::new`] does with a data directory);
    /// - `keep_running = true`: go on from the row they had reached, as on a platform whose
    ///   workers survive (their file is read again; rows already imported stay once).
    ///
    /// Routers made earlier stay valid. Counters, the fault profile and its RNGs, foreign
    /// blocks and the event-handler queue (which drains on) carry over: they are the
    /// test's instruments and the rest of the platform. Requests in flight are not cut:
    /// what a client sees of a restart is its transport's to decide. Call it inside the
    /// tokio runtime (it starts the tasks again). With a data directory whose state cannot
    /// be read back, the error is returned and the imports stay stopped.
    pub fn restart(&self, keep_running: bool) -> Result<(), EmulatorError> {
        let inner = &self.inner;
        let mut state = inner.lock();
        for (_, worker) in state.workers.drain() {
            worker.abort();
        }
        if let Some(drainer) = state.queue.drainer.take() {
            drainer.abort();
        }
        // Leftover tasks that still get the lock see another generation and stop.
        state.generation += 1;
        inner.save_all(&state);
        if let Some(store) = &inner.store {
            let apps: Vec<String> = inner.settings.apps.keys().cloned().collect();
            let mut saved = state::load(store, &inner.root, &apps)?;
            saved.counters = std::mem::take(&mut state.counters);
            saved.queue = std::mem::take(&mut state.queue);
            saved.blocked_until = std::mem::take(&mut state.blocked_until);
            saved.generation = state.generation;
            *state = saved;
        }
        state.running.clear();
        if keep_running {
            let running: Vec<String> = state
                .order
                .iter()
                .filter(|id| state.imports.get(*id).is_some_and(|i| !i.status.is_final()))
                .cloned()
                .collect();
            for id in running {
                let app = state.imports[&id].app.clone();
                match inner.settings.apps.get(&app) {
                    Some(schema) => imports::spawn_worker(inner, &mut state, &id, schema.clone()),
                    None => {
                        let now = inner.now_ms();
                        if let Some(import) = state.imports.get_mut(&id) {
                            import.fail(format!("the app `{app}` is gone"), now);
                        }
                    }
                }
            }
        } else {
            state.interrupt_running(inner.now_ms());
        }
        if state.queue.depth > 0.0 {
            imports::ensure_drainer(inner, &mut state);
        }
        inner.save_imports(&state);
        inner.log(|| {
            format!("restarted ({} running imports)", if keep_running { "keeping" } else { "failing" })
        });
        Ok(())
    }
}
