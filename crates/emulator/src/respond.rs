//! The answers every handler shares: a failure in the platform's wrapper, a request
//! body parsed or refused, the app a path names. A leaf: the handlers' files use it and
//! it uses none of them.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use elma_import_contract::wire::ErrorAnswer;

use crate::state::Inner;

/// `{"success":false,"error":…}` with `status`.
pub(crate) fn fail(status: StatusCode, error: impl Into<String>) -> Response {
    (status, Json(ErrorAnswer { success: false, error: error.into() })).into_response()
}

/// Parses a JSON request body, or answers 400 naming the call and what was expected.
#[allow(clippy::result_large_err)]
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    call: &str,
    expected: &str,
) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        let expected = if expected.is_empty() { String::new() } else { format!("; expected {expected}") };
        fail(StatusCode::BAD_REQUEST, format!("the {call} body is not valid: {e}{expected}"))
    })
}

/// The app a path names, or a 404 answer.
#[allow(clippy::result_large_err)]
pub(crate) fn app(
    inner: &Inner,
    namespace: &str,
    code: &str,
) -> Result<Arc<elma_import_contract::schema::AppSchema>, Response> {
    let id = format!("{namespace}.{code}");
    inner
        .settings
        .apps
        .get(&id)
        .cloned()
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("no app `{id}` in this company")))
}
