//! The `/pub/v1` router: the middleware (latency, counters, faults, auth) and the small
//! handlers (schema §5, list §6).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use elma_import_contract::wire::{self, paths::routes, ItemPage, ListAnswer};
use serde_json::{Map, Value};

use crate::faults::Fault;
use crate::filter::Filter;
use crate::latency::Latency;
use crate::respond::{app, fail, json_body};
use crate::state::Inner;
use crate::{imports, uploads, ConnectionDropped};

/// Prefix of the API routes.
pub(crate) const PREFIX: &str = "/pub/v1";

/// The `/pub/v1` routes, with the middleware applied to matched routes.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(routes::UPLOAD_TO_DIRECTORY, post(uploads::upload_to_directory))
        .route(routes::UPLOAD_TEMPORARY, post(uploads::upload_temporary))
        .route(routes::START_IMPORT, post(imports::start))
        .route(routes::IMPORT_STATUS, post(imports::status))
        .route(routes::APP_SCHEMA, get(schema))
        .route(routes::LIST_ITEMS, post(list))
        .route_layer(middleware::from_fn_with_state(inner.clone(), guard))
        .layer(DefaultBodyLimit::disable())
        .with_state(inner)
}

/// A response that makes the server close the connection without answering.
pub(crate) fn dropped() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by fault injection"))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.extensions_mut().insert(ConnectionDropped);
    response
}

fn retry_after(status: StatusCode, secs: u64, error: &str) -> Response {
    let mut response = fail(status, error);
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(wire::RETRY_AFTER, value);
    }
    response
}

/// The token of a request: `Authorization: Bearer T` or `X-Token: T`.
fn token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
    });
    bearer
        .or_else(|| headers.get(wire::X_TOKEN).and_then(|v| v.to_str().ok()).map(str::trim))
        .filter(|t| !t.is_empty())
}

fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    match token(headers) {
        None => false,
        Some(t) => inner.settings.tokens.is_empty() || inner.settings.tokens.iter().any(|k| k == t),
    }
}

/// Delays the request like a network (half on the way in, half on the way back; see
/// `latency`), and in between counts it, injects faults, checks the token.
async fn guard(
    State(inner): State<Arc<Inner>>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    if inner.latency.is_none() {
        return handle(inner, matched, request, next).await;
    }
    let (inbound, outbound) = Latency::split(inner.latency.draw());
    tokio::time::sleep(inbound).await;
    let response = handle(inner, matched, request, next).await;
    tokio::time::sleep(outbound).await;
    response
}

/// Counts the request, injects faults, checks the token.
async fn handle(inner: Arc<Inner>, matched: MatchedPath, request: Request, next: Next) -> Response {
    let pattern = matched.as_str();
    let route = format!("{} {}", request.method(), pattern.strip_prefix(PREFIX).unwrap_or(pattern));
    let seq = {
        let mut state = inner.lock();
        state.counters.seq += 1;
        *state.counters.requests.entry(route.clone()).or_default() += 1;
        state.counters.seq
    };
    let (decision, retry_secs, slow_ms) = {
        let mut injector = inner.injector();
        let d = injector.decide(&route);
        (d, injector.profile.retry_after_secs, injector.profile.slow_ms)
    };
    {
        let mut state = inner.lock();
        if decision.slow {
            state.counters.fault(seq, &route, Fault::Slow);
        }
        if let Some(f) = decision.fault {
            state.counters.fault(seq, &route, f);
        }
    }
    if decision.slow {
        tokio::time::sleep(Duration::from_millis(slow_ms)).await;
    }
    let injected = match decision.fault {
        Some(Fault::Http500) => {
            Some(fail(StatusCode::INTERNAL_SERVER_ERROR, "internal server error (injected)"))
        }
        Some(Fault::Http503) => {
            Some(retry_after(StatusCode::SERVICE_UNAVAILABLE, retry_secs, "service unavailable (injected)"))
        }
        Some(Fault::Http429) => {
            Some(retry_after(StatusCode::TOO_MANY_REQUESTS, retry_secs, "too many requests (injected)"))
        }
        Some(Fault::DropBefore) => Some(dropped()),
        _ => None,
    };
    let response = match injected {
        Some(r) => r,
        None if !authorised(&inner, request.headers()) => fail(
            StatusCode::FORBIDDEN,
            "not authorised: send a valid token in `Authorization: Bearer <token>` or `X-Token`",
        ),
        None => {
            let response = next.run(request).await;
            if decision.fault == Some(Fault::DropAfter) {
                dropped()
            } else {
                response
            }
        }
    };
    inner.log(|| {
        let fault = decision.fault.map_or(String::new(), |f| format!(" [fault {}]", f.as_str()));
        let slow = if decision.slow { " [slow]" } else { "" };
        format!("#{seq} {route} -> {}{fault}{slow}", response.status().as_u16())
    });
    response
}

/// §5.
async fn schema(
    State(inner): State<Arc<Inner>>,
    Path((namespace, code)): Path<(String, String)>,
) -> Response {
    match app(&inner, &namespace, &code) {
        Ok(app) => Json(app.to_answer_json()).into_response(),
        Err(r) => r,
    }
}

/// §6: `{"active","from","size","filter":{"tf":{…}}}` (see `filter`). Missing fields
/// default to `true`, `0`, `100`, no filter; an empty body lists everything.
async fn list(
    State(inner): State<Arc<Inner>>,
    Path((namespace, code)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let app = match app(&inner, &namespace, &code) {
        Ok(app) => app,
        Err(r) => return r,
    };
    let body: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        let expected = r#"{"active":true,"from":0,"size":100,"filter":{"tf":{"<field>":<condition>}}}"#;
        match json_body(&body, "list", expected) {
            Ok(b) => b,
            Err(r) => return r,
        }
    };
    let number = |key: &str, default: u64| match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| format!("`{key}` = `{v}` is not a whole number of 0 or more")),
    };
    let (from, size) = match (number("from", 0), number("size", u64::from(wire::MAX_LIST_SIZE))) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(e), _) | (_, Err(e)) => return fail(StatusCode::BAD_REQUEST, e),
    };
    if size > u64::from(wire::MAX_LIST_SIZE) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("`size` = `{size}` is above the limit {}", wire::MAX_LIST_SIZE),
        );
    }
    if let Some(active) = body.get("active").filter(|v| !v.is_boolean() && !v.is_null()) {
        return fail(StatusCode::BAD_REQUEST, format!("`active` = `{active}` is not `true` or `false`"));
    }
    let filter = match Filter::parse(&app, body.get("filter")) {
        Ok(f) => f,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e),
    };
    // Every stored item is active (nothing is ever deleted), so `active` changes nothing.
    let state = inner.lock();
    let empty = Vec::new();
    let items = state.items.get(&app.id()).unwrap_or(&empty);
    let matching = items.iter().filter(|item| filter.matches(item));
    let total = matching.clone().count() as u64;
    let result = matching.skip(from as usize).take(size as usize).cloned().collect();
    Json(ListAnswer { success: true, error: String::new(), result: Some(ItemPage { result, total }) })
        .into_response()
}
