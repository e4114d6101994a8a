//! `/_emulator/`: reset, fault profile, counters, item dump (README.md). No auth, no faults.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::api::fail;
use crate::faults::{FaultProfile, Injector};
use crate::state::{seeded_users, Inner, State as Emu, User};

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
    *state = Emu { users: seeded_users(), ..Emu::default() };
    *inner.injector() = Injector::new(FaultProfile::default(), inner.settings.seed);
    inner.save_all(&state);
}

async fn reset(State(inner): State<Arc<Inner>>) -> Response {
    reset_state(&inner);
    inner.log(|| "reset".to_string());
    Json(json!({"success": true, "error": ""})).into_response()
}

async fn set_faults(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let profile: FaultProfile = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return fail(StatusCode::BAD_REQUEST, format!("not a fault profile: {e}")),
    };
    if let Err(e) = profile.check() {
        return fail(StatusCode::BAD_REQUEST, e);
    }
    {
        let mut state = inner.lock();
        inner.apply_actions(&profile, &mut state);
    }
    inner.log(|| format!("fault profile set: {}", serde_json::to_string(&profile).unwrap_or_default()));
    let seed = profile.seed.unwrap_or(inner.settings.seed);
    let mut injector = inner.injector();
    if profile.seed.is_some() {
        *injector = Injector::new(profile, seed);
    } else {
        injector.profile = profile;
    }
    Json(json!({"success": true, "error": ""})).into_response()
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
        Some(id) => match crate::values::uuid_of(id.trim()) {
            Some(id) => id,
            None => return fail(StatusCode::BAD_REQUEST, format!("`__id` = `{id}` is not a UUID")),
        },
        None => uuid::Uuid::new_v4().to_string(),
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
