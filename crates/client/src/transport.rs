//! [`Transport`]: how a request reaches the server and its answer comes back.
//!
//! By default the client sends over HTTP with reqwest. A [`Transport`] set in
//! [`ClientConfig::transport`](crate::ClientConfig::transport) takes its place: it is handed
//! one complete request at a time ([`HttpRequest`]: method, URL, headers, body bytes, a
//! multipart body fully encoded) and gives back a complete answer ([`HttpAnswer`]) or a
//! transport failure. Everything above it — retries, their classification, the timeout
//! (applied with `tokio::time::timeout`, so a paused tokio clock governs it), the trace,
//! the counters, token masking — is the same for both. A simulation uses it to run the
//! client against an in-process model of the platform, on tokio's paused clock.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use elma_import_client::transport::{HttpAnswer, HttpRequest, StatusCode, Transport, TransportFuture};
//! use elma_import_client::{AppRef, Client, ClientConfig, ClientError, ImportStatus, TransportKind};
//!
//! /// Answers every status request `done`, remembering what it saw; the first request
//! /// goes unanswered (the connection drops).
//! #[derive(Default)]
//! struct Scripted {
//!     seen: Mutex<Vec<String>>,
//! }
//!
//! impl Transport for Scripted {
//!     fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
//!         let mut seen = self.seen.lock().unwrap();
//!         seen.push(format!("{} {}", request.method, request.url));
//!         let first = seen.len() == 1;
//!         Box::pin(async move {
//!             if first {
//!                 return Err((TransportKind::Interrupted, "connection reset".to_string()));
//!             }
//!             let body = r#"{"success":true,"error":"","result":{"id":"i-1","status":"done",
//!                 "total":2,"processed":2,"imported":2,"failed":0,"errors":[]}}"#;
//!             Ok(HttpAnswer::new(StatusCode::OK, body))
//!         })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ClientError> {
//! let transport = Arc::new(Scripted::default());
//! let mut config = ClientConfig::new("http://platform.invalid/pub/v1", "token");
//! config.transport = Some(transport.clone());
//! config.retry_seed = Some(7); // reproducible backoff
//! let client = Client::new(config)?;
//! let app: AppRef = "crm.contacts".parse().unwrap();
//! // A status request is idempotent: the dropped one is retried.
//! let result = client.import_status(&app, "i-1").await?;
//! assert_eq!(result.status, ImportStatus::Done);
//! assert_eq!(client.stats().retries, 1);
//! assert_eq!(
//!     transport.seen.lock().unwrap()[1],
//!     "POST http://platform.invalid/pub/v1/app/crm/contacts/import/status"
//! );
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use elma_import_contract::wire;
use reqwest::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};

use crate::retry::TransportKind;

pub use reqwest::header::HeaderMap;
pub use reqwest::{Method, StatusCode};

/// Why no (complete) answer came: the kind, which decides about retries, and a detail for
/// the error message (the client masks the token in it).
pub type TransportFailure = (TransportKind, String);

/// The future a [`Transport`] returns.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpAnswer, TransportFailure>> + Send + 'a>>;

/// Carries one request to the server and brings its answer back (an example is in the
/// [module docs](self)).
///
/// Implementations must be cheap to call concurrently (the client's clones share one).
/// Return `Err` with:
/// - [`TransportKind::Connect`] when the request provably never reached the server (it is
///   retried even when it starts an import);
/// - [`TransportKind::Interrupted`] when it went out but no answer came (a start becomes
///   [`ClientError::Uncertain`](crate::ClientError::Uncertain));
/// - [`TransportKind::Body`] when the answer could not be read;
/// - [`TransportKind::Timeout`] for a limit of its own (the client also applies
///   [`ClientConfig::timeout`](crate::ClientConfig::timeout) around every call).
pub trait Transport: Send + Sync {
    /// Sends `request` and reads its whole answer.
    fn send(&self, request: HttpRequest) -> TransportFuture<'_>;
}

/// One complete request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// The full URL: the base URL joined with the call's path and query.
    pub url: String,
    /// `Authorization: Bearer <token>` (marked sensitive), `Content-Type`, `Content-Range`
    /// for uploads, `User-Agent`.
    pub headers: HeaderMap,
    /// The body; empty for a GET. A directory upload's `multipart/form-data` body is
    /// encoded in full, its boundary in the `Content-Type` header.
    pub body: Bytes,
}

/// One complete answer.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: StatusCode,
    /// Its headers (`Retry-After` is read from here).
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl HttpAnswer {
    /// An answer with `status`, no headers, and `body`.
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> HttpAnswer {
        HttpAnswer { status, headers: HeaderMap::new(), body: body.into() }
    }
}

/// The body of one request; cheap to clone for a retry.
#[derive(Clone)]
pub(crate) enum Payload {
    Empty,
    Json(Bytes),
    Octet { data: Bytes, range: String },
    Multipart { data: Bytes, range: String, file_name: String },
}

impl Payload {
    /// The request body as the trace records it: JSON as text, file bytes by digest.
    pub(crate) fn traced(&self) -> crate::trace::TracedBody<'_> {
        use crate::trace::TracedBody;
        match self {
            Payload::Empty => TracedBody::None,
            Payload::Json(data) => TracedBody::Json(data),
            Payload::Octet { data, .. } | Payload::Multipart { data, .. } => TracedBody::File(data),
        }
    }
}

/// `User-Agent` of every request.
pub(crate) const AGENT: &str = concat!("elma-import/", env!("CARGO_PKG_VERSION"));

/// The request a [`Transport`] is given for `payload`: the headers reqwest would set, and
/// a multipart body encoded byte for byte as reqwest encodes it (boundary aside).
pub(crate) fn encode(method: Method, url: String, auth: &HeaderValue, payload: &Payload) -> HttpRequest {
    let mut headers = HeaderMap::new();
    headers.insert(wire::AUTHORIZATION, auth.clone());
    let body = match payload {
        Payload::Empty => Bytes::new(),
        Payload::Json(data) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            data.clone()
        }
        Payload::Octet { data, range } => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            insert_range(&mut headers, range);
            data.clone()
        }
        Payload::Multipart { data, range, file_name } => {
            let boundary = boundary_for(data);
            if let Ok(value) = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")) {
                headers.insert(CONTENT_TYPE, value);
            }
            insert_range(&mut headers, range);
            multipart(&boundary, file_name, data)
        }
    };
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    HttpRequest { method, url, headers, body }
}

fn insert_range(headers: &mut HeaderMap, range: &str) {
    if let Ok(value) = HeaderValue::from_str(range) {
        headers.insert(wire::CONTENT_RANGE, value);
    }
}

/// A boundary that does not occur in `data`, the same for the same data (so a seeded
/// simulation sends the same bytes every run).
fn boundary_for(data: &[u8]) -> String {
    (0u64..)
        .map(|n| {
            format!("elma-import-{:016x}", 0x5eed_0000_0000_0000u64 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        })
        .find(|b| !contains(data, b.as_bytes()))
        .unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One `file` field of `multipart/form-data` (RFC 7578), laid out as reqwest lays it out.
fn multipart(boundary: &str, file_name: &str, data: &[u8]) -> Bytes {
    let name =
        file_name.replace('\\', "\\\\").replace('"', "\\\"").replace('\r', "\\\r").replace('\n', "\\\n");
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n",
        wire::FILE_FIELD
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = Vec::with_capacity(head.len() + data.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(data);
    body.extend_from_slice(tail.as_bytes());
    Bytes::from(body)
}

// ------------------------------------------------------------------- over reqwest

/// The text of an error and its causes, joined by `: `.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The causes of a reqwest error (its own text repeats the URL, which the error message
/// names already), not yet redacted.
pub(crate) fn reqwest_detail(error: &reqwest::Error) -> String {
    match std::error::Error::source(error) {
        Some(cause) => error_chain(cause),
        None => error.to_string(),
    }
}

fn transport_kind(error: &reqwest::Error) -> TransportKind {
    if error.is_connect() {
        TransportKind::Connect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_body() || error.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Interrupted
    }
}

/// The reqwest request of `payload` (a multipart body as reqwest's own form).
pub(crate) fn reqwest_request(
    http: &reqwest::Client,
    method: Method,
    url: String,
    auth: &HeaderValue,
    payload: &Payload,
) -> Result<reqwest::Request, TransportFailure> {
    let request = http.request(method, url).header(wire::AUTHORIZATION, auth.clone());
    let request = match payload.clone() {
        Payload::Empty => request,
        Payload::Json(data) => request.header(CONTENT_TYPE, "application/json").body(data),
        Payload::Octet { data, range } => request
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(wire::CONTENT_RANGE, range)
            .body(data),
        Payload::Multipart { data, range, file_name } => {
            let len = data.len() as u64;
            let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::from(data), len)
                .file_name(file_name)
                .mime_str("application/octet-stream")
                .map_err(|e| (TransportKind::Interrupted, reqwest_detail(&e)))?;
            let form = reqwest::multipart::Form::new().part(wire::FILE_FIELD, part);
            request.header(wire::CONTENT_RANGE, range).multipart(form)
        }
    };
    request.build().map_err(|e| (TransportKind::Interrupted, reqwest_detail(&e)))
}

/// Sends a built request and reads its answer in full (details not yet redacted).
pub(crate) async fn reqwest_send(
    http: &reqwest::Client,
    request: reqwest::Request,
) -> Result<HttpAnswer, TransportFailure> {
    let response = http.execute(request).await.map_err(|e| (transport_kind(&e), reqwest_detail(&e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| {
        let kind = if e.is_timeout() { TransportKind::Timeout } else { TransportKind::Body };
        (kind, reqwest_detail(&e))
    })?;
    Ok(HttpAnswer { status, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_never_occurs_in_the_data_and_is_stable() {
        let plain = b"some file bytes".to_vec();
        let first = boundary_for(&plain);
        assert_eq!(first, boundary_for(&plain));
        let mut tricky = plain.clone();
        tricky.extend_from_slice(first.as_bytes());
        let other = boundary_for(&tricky);
        assert_ne!(other, first);
        assert!(!contains(&tricky, other.as_bytes()));
    }

    #[test]
    fn multipart_is_one_file_field() {
        let body = multipart("B", "a \"q\".csv", b"x,y\n");
        assert_eq!(
            &body[..],
            &b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".csv\"\r\n\
               Content-Type: application/octet-stream\r\n\r\nx,y\n\r\n--B--\r\n"[..]
        );
    }
}
