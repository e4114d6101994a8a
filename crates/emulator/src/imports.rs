//! §3 start an import, §4 its status, and the task that processes it at the set rate.

use std::collections::{HashMap, HashSet};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use elma_import_contract::schema::AppSchema;
use elma_import_contract::wire::{
    FileFormat, ImportAnswer, ImportResult, ImportStatus, RowError, StartImport, StatusRequest,
};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::faults::{start_route, Fault};
use crate::read::{self, Raw};
use crate::respond::{app, fail, json_body};
use crate::state::{Import, Inner, Item, State as Emu, UploadKind, User};
use crate::values::{CellModel, Columns, LinkRef, RowItem};

/// How often a running import applies the rows its rate allows.
const TICK: Duration = Duration::from_millis(50);
/// How often the event-handler queue drains and is sampled.
const DRAIN_TICK: Duration = Duration::from_millis(100);
/// Queue depth at which imports run at half speed (README.md, "Slow-down").
pub(crate) const SLOWDOWN_DEPTH: f64 = 1_000.0;
/// Rows applied per step when the rate is unlimited.
const UNLIMITED_STEP: usize = 10_000;

fn answer(result: ImportResult) -> Response {
    Json(ImportAnswer { success: true, error: String::new(), result: Some(result) }).into_response()
}

/// `POST /app/{namespace}/{code}/import` (§3).
pub(crate) async fn start(
    State(inner): State<Arc<Inner>>,
    Path((namespace, code)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let schema = match app(&inner, &namespace, &code) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let expected = r#"{"fileHash":"<uuid>","format":"xlsx"|"csv","withEventHandlers":false}"#;
    let request: StartImport = match json_body(&body, "start", expected) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let app_id = schema.id();
    let hash = request.file_hash.clone();
    let mut state = inner.lock();
    inner.sweep(&mut state);
    if let Some(p) = state.pending.get(&hash) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("the upload `{hash}` is not complete: {} of {} bytes received", p.received, p.size),
        );
    }
    let Some(upload) = state.uploads.get(&hash) else {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("no uploaded file has the hash `{hash}`: upload it first"),
        );
    };
    if upload.expired {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "the temporary file `{hash}` has expired: temporary files are kept {} s after upload; upload it again",
                inner.settings.temp_ttl.as_secs_f64()
            ),
        );
    }
    let now = inner.now_ms();
    let blocked_by_foreign = state.blocked_until.get(&app_id).is_some_and(|&until| until > now);
    if state.running.contains_key(&app_id) || blocked_by_foreign {
        inner.log(|| format!("import into `{app_id}` blocked"));
        return answer(ImportResult {
            id: None,
            status: ImportStatus::Blocked,
            total: 0,
            processed: 0,
            imported: 0,
            failed: 0,
            errors: Vec::new(),
            extra: Default::default(),
        });
    }
    let id = inner.new_id();
    let import = Import {
        id: id.clone(),
        app: app_id.clone(),
        hash,
        format: request.format,
        with_event_handlers: request.with_event_handlers,
        status: ImportStatus::New,
        total: 0,
        processed: 0,
        imported: 0,
        failed: 0,
        errors: Vec::new(),
        started_ms: now,
        finished_ms: None,
        fail_after: inner.injector().import_failure(),
    };
    let result = import.result();
    state.imports.insert(id.clone(), import);
    state.order.push(id.clone());
    spawn_worker(&inner, &mut state, &id, schema);
    inner.save_imports(&state);
    inner.log(|| format!("import `{id}` into `{app_id}` started"));
    answer(result)
}

/// `POST /app/{namespace}/{code}/import/status` (§4).
pub(crate) async fn status(
    State(inner): State<Arc<Inner>>,
    Path((namespace, code)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let schema = match app(&inner, &namespace, &code) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let request: StatusRequest = match json_body(&body, "status", r#"{"id":"<import id>"}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut state = inner.lock();
    state.counters.polls.entry(request.id.clone()).or_default().push(Instant::now());
    match state.imports.get(&request.id) {
        Some(import) if import.app == schema.id() => answer(import.result()),
        Some(import) => fail(
            StatusCode::BAD_REQUEST,
            format!("the import `{}` belongs to the app `{}`, not `{}`", request.id, import.app, schema.id()),
        ),
        None => fail(StatusCode::BAD_REQUEST, format!("no import has the id `{}`", request.id)),
    }
}

/// One data row as the platform read it.
enum Outcome {
    Item(RowItem),
    Failed(Vec<RowError>),
}

/// Reads the whole file and turns each row into an item or its errors (blocking), the
/// emulator's own way (`read`, `values`). `Err` fails the whole import.
fn parse(
    path: &FsPath,
    format: FileFormat,
    schema: &AppSchema,
    model: CellModel,
) -> Result<Vec<Outcome>, Vec<RowError>> {
    let sheet = read::read(path, format)
        .map_err(|e| vec![RowError { row: 0, column: String::new(), message: e.to_string() }])?;
    let columns = Columns::match_header(schema, &sheet.header, &sheet.rows)?;
    Ok(sheet
        .rows
        .iter()
        .filter(|row| !row.cells.iter().all(Raw::is_blank))
        .map(|row| match model.row_item(schema, &columns, row) {
            Ok(item) => Outcome::Item(item),
            Err(errors) => Outcome::Failed(errors),
        })
        .collect())
}

/// Links (or copies) the stored upload to a path whose extension names its format,
/// which is how the sheet reader picks the format.
fn work_copy(inner: &Inner, id: &str, hash: &str, ext: &str) -> std::io::Result<PathBuf> {
    let dir = inner.root.join("work");
    std::fs::create_dir_all(&dir)?;
    let work = dir.join(format!("{id}.{ext}"));
    let source = inner.file_path(hash);
    let _ = std::fs::remove_file(&work);
    if std::fs::hard_link(&source, &work).is_err() {
        std::fs::copy(&source, &work)?;
    }
    Ok(work)
}

/// Ends import `id` with `status`, releases its app, saves.
fn finish(inner: &Inner, state: &mut Emu, id: &str, failure: Option<Vec<RowError>>) {
    let now = inner.now_ms();
    let Some(import) = state.imports.get_mut(id) else { return };
    match failure {
        None => {
            import.status = ImportStatus::Done;
            import.finished_ms = Some(now);
        }
        Some(errors) => {
            import.status = ImportStatus::Failed;
            import.finished_ms = Some(now);
            for e in errors {
                import.push_error(e);
            }
        }
    }
    let app = import.app.clone();
    inner.log(|| format!("import `{id}` ended {}", import.status));
    if state.running.get(&app).map(String::as_str) == Some(id) {
        state.running.remove(&app);
    }
    state.workers.remove(id);
    inner.save_imports(state);
    inner.save_items(state, &app);
}

/// The failure of an import whose temporary file has expired, if it has.
fn expired(inner: &Inner, state: &mut Emu, hash: &str) -> Option<Vec<RowError>> {
    inner.sweep(state);
    let upload = state.uploads.get(hash);
    let gone = match upload {
        Some(u) => u.kind == UploadKind::Temporary && u.expired,
        None => true,
    };
    gone.then(|| {
        vec![RowError {
            row: 0,
            column: String::new(),
            message: format!(
                "the temporary file `{hash}` expired before the import finished: temporary files are kept {} s after upload",
                inner.settings.temp_ttl.as_secs_f64()
            ),
        }]
    })
}

/// Makes import `id` the running one of its app and starts its task.
pub(crate) fn spawn_worker(inner: &Arc<Inner>, state: &mut Emu, id: &str, schema: Arc<AppSchema>) {
    let Some(import) = state.imports.get(id) else { return };
    state.running.insert(import.app.clone(), id.to_string());
    let task = tokio::spawn(run(inner.clone(), id.to_string(), schema, state.generation));
    state.workers.insert(id.to_string(), task.abort_handle());
}

/// The state, unless a restart or reset since `generation` makes the caller a leftover.
fn lock_live(inner: &Inner, generation: u64) -> Option<MutexGuard<'_, Emu>> {
    let state = inner.lock();
    (state.generation == generation).then_some(state)
}

/// Processes import `id`: reads its file, then applies its rows at the set rate. An
/// import resumed after a restart skips the rows it had processed.
async fn run(inner: Arc<Inner>, id: String, schema: Arc<AppSchema>, generation: u64) {
    let (hash, format) = {
        let Some(state) = lock_live(&inner, generation) else { return };
        match state.imports.get(&id) {
            Some(i) => (i.hash.clone(), i.format),
            None => return,
        }
    };
    let work = match work_copy(&inner, &id, &hash, format.as_str()) {
        Ok(w) => w,
        Err(e) => {
            let Some(mut state) = lock_live(&inner, generation) else { return };
            let failure = expired(&inner, &mut state, &hash).unwrap_or_else(|| {
                vec![RowError {
                    row: 0,
                    column: String::new(),
                    message: format!("cannot open the uploaded file: {e}"),
                }]
            });
            finish(&inner, &mut state, &id, Some(failure));
            return;
        }
    };
    let model = crate::values::CellModel { locale: inner.settings.locale, zone: inner.settings.time_zone };
    let parsed = if inner.inline_io() {
        Ok(parse(&work, format, &schema, model))
    } else {
        let (work, schema) = (work.clone(), schema.clone());
        tokio::task::spawn_blocking(move || parse(&work, format, &schema, model)).await
    };
    let _ = std::fs::remove_file(&work);
    let outcomes = match parsed {
        Ok(Ok(o)) => o,
        Ok(Err(errors)) => {
            let Some(mut state) = lock_live(&inner, generation) else { return };
            finish(&inner, &mut state, &id, Some(errors));
            return;
        }
        Err(e) => {
            let Some(mut state) = lock_live(&inner, generation) else { return };
            let message = format!("the import task failed: {e}");
            finish(&inner, &mut state, &id, Some(vec![RowError { row: 0, column: String::new(), message }]));
            return;
        }
    };
    let (with_handlers, done, stop_at) = {
        let Some(mut state) = lock_live(&inner, generation) else { return };
        let Some(import) = state.imports.get_mut(&id) else { return };
        import.status = ImportStatus::InProgress;
        import.total = outcomes.len() as u64;
        // Fault `fail_imports`: stop after this many rows (always fewer than all).
        let stop_at = import
            .fail_after
            .filter(|_| import.total > 0)
            .map(|share| ((share * import.total as f64).floor() as u64).min(import.total - 1));
        let out = (import.with_event_handlers, import.processed.min(import.total), stop_at);
        inner.save_imports(&state);
        out
    };
    let base = inner.settings.rows_per_sec;
    let unlimited = !base.is_finite() || base <= 0.0;
    let mut rows = outcomes.into_iter().skip(done as usize);
    let mut processed = done;
    let mut remaining = rows.len();
    let mut budget = 0.0f64;
    let mut last = Instant::now();
    loop {
        {
            let Some(mut state) = lock_live(&inner, generation) else { return };
            if let Some(failure) = expired(&inner, &mut state, &hash) {
                finish(&inner, &mut state, &id, Some(failure));
                return;
            }
            if let Some(stop) = stop_at.filter(|&stop| processed >= stop) {
                let total = processed + remaining as u64;
                let seq = state.counters.seq;
                state.counters.fault(seq, &start_route(), Fault::FailImport);
                let message = format!(
                    "the import stopped after {stop} of {total} rows: internal server error (injected fault `fail_imports`)"
                );
                inner.log(|| format!("import `{id}`: {message}"));
                finish(
                    &inner,
                    &mut state,
                    &id,
                    Some(vec![RowError { row: 0, column: String::new(), message }]),
                );
                return;
            }
            if remaining == 0 {
                finish(&inner, &mut state, &id, None);
                return;
            }
        }
        let take = if unlimited {
            tokio::task::yield_now().await;
            remaining.min(UNLIMITED_STEP)
        } else {
            tokio::time::sleep(TICK).await;
            let now = Instant::now();
            let dt = now.duration_since(last).as_secs_f64();
            last = now;
            let depth = inner.lock().queue.depth;
            budget += effective_rate(base, depth) * dt;
            let whole = budget.floor();
            budget -= whole;
            (whole as usize).min(remaining)
        };
        let take = match stop_at {
            Some(stop) => take.min(stop.saturating_sub(processed) as usize),
            None => take,
        };
        if take == 0 {
            continue;
        }
        let Some(mut state) = lock_live(&inner, generation) else { return };
        remaining -= take;
        processed += take as u64;
        let app = schema.id();
        let mut added = 0u64;
        let mut new_items = Vec::new();
        {
            let strict = inner.settings.strict_links;
            let Emu { imports, items, users, .. } = &mut *state;
            let Some(import) = imports.get_mut(&id) else { return };
            let mut known = Known::default();
            for outcome in rows.by_ref().take(take) {
                import.processed += 1;
                let outcome = match outcome {
                    Outcome::Item(row) if strict => match known.broken(&row, users, items) {
                        errors if errors.is_empty() => Outcome::Item(row),
                        errors => Outcome::Failed(errors),
                    },
                    other => other,
                };
                match outcome {
                    Outcome::Item(row) => {
                        let mut item = Map::with_capacity(row.item.len() + 1);
                        item.insert("__id".to_string(), Value::String(inner.new_id()));
                        item.extend(row.item);
                        reword(&inner, &mut item);
                        new_items.push(item);
                        import.imported += 1;
                        added += 1;
                    }
                    Outcome::Failed(errors) => {
                        import.failed += 1;
                        for e in errors {
                            import.push_error(e);
                        }
                    }
                }
            }
        }
        state.items.entry(app).or_default().extend(new_items);
        if with_handlers && added > 0 {
            state.queue.depth += added as f64;
            state.queue.added += added;
            let t = inner.elapsed_ms();
            state.queue.sample(t);
            ensure_drainer(&inner, &mut state);
        }
    }
}

/// Fault `reword`: the row's text in the profile's fields, stored in upper case.
fn reword(inner: &Inner, item: &mut Map<String, Value>) {
    let fields = inner.injector().reworded().to_vec();
    for field in fields {
        if let Some(Value::String(text)) = item.get_mut(&field) {
            *text = text.to_uppercase();
        }
    }
}

/// The ids `--strict-links` accepts, gathered from the state once per batch of rows.
#[derive(Default)]
struct Known {
    users: Option<HashSet<String>>,
    apps: HashMap<String, HashSet<String>>,
}

impl Known {
    /// The `__id`s of `app`'s items.
    fn app_ids(&mut self, app: &str, items: &HashMap<String, Vec<Item>>) -> &mut HashSet<String> {
        self.apps.entry(app.to_string()).or_insert_with(|| {
            items
                .get(app)
                .map(|list| {
                    list.iter()
                        .filter_map(|i| i.get("__id").and_then(Value::as_str))
                        .map(str::to_lowercase)
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// A row error for each id of `row` that names no user or no item of the linked app.
    fn broken(&mut self, row: &RowItem, users: &[User], items: &HashMap<String, Vec<Item>>) -> Vec<RowError> {
        let mut errors = Vec::new();
        for LinkRef { column, app, collection, ids } in &row.links {
            for id in ids {
                let message = if *collection {
                    let Some(app) = app else { continue };
                    if self.app_ids(app, items).contains(id) {
                        continue;
                    }
                    format!("`{id}` is not the id of an item of the app `{app}` (strict links)")
                } else {
                    let known =
                        self.users.get_or_insert_with(|| users.iter().map(|u| u.id.to_lowercase()).collect());
                    if known.contains(id) {
                        continue;
                    }
                    format!("`{id}` is not the id of a user of the company (strict links)")
                };
                errors.push(RowError { row: row.row, column: column.clone(), message });
            }
        }
        errors
    }
}

/// Import speed with `depth` event-handler jobs waiting: `base / (1 + depth / 1000)`.
pub fn effective_rate(base: f64, depth: f64) -> f64 {
    base / (1.0 + depth.max(0.0) / SLOWDOWN_DEPTH)
}

/// Starts the queue's drain task unless it runs.
pub(crate) fn ensure_drainer(inner: &Arc<Inner>, state: &mut Emu) {
    if state.queue.drainer.as_ref().is_some_and(|h| !h.is_finished()) {
        return;
    }
    let task = tokio::spawn(drain(inner.clone(), state.generation));
    state.queue.drainer = Some(task.abort_handle());
}

async fn drain(inner: Arc<Inner>, generation: u64) {
    let rate = inner.settings.handler_rate;
    let mut last = Instant::now();
    loop {
        tokio::time::sleep(DRAIN_TICK).await;
        let now = Instant::now();
        let dt = now.duration_since(last).as_secs_f64();
        last = now;
        let t = inner.elapsed_ms();
        let Some(mut state) = lock_live(&inner, generation) else { return };
        let queue = &mut state.queue;
        let done = if rate.is_infinite() { queue.depth } else { (rate.max(0.0) * dt).min(queue.depth) };
        queue.depth -= done;
        queue.drained += done;
        if queue.depth < 1e-9 {
            // Empty: every job added has drained (fractional sums would leave 299.99…).
            queue.depth = 0.0;
            queue.drained = queue.added as f64;
            queue.sample(t);
            queue.drainer = None;
            return;
        }
        queue.sample(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_queue_slows_imports() {
        assert_eq!(effective_rate(100.0, 0.0), 100.0);
        assert_eq!(effective_rate(100.0, 1000.0), 50.0);
        assert_eq!(effective_rate(100.0, 3000.0), 25.0);
    }
}
