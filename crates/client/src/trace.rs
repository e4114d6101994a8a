//! [`Trace`]: a transcript of every HTTP exchange, one JSON line each, for bug reports.
//!
//! A line holds `time` (RFC 3339, UTC), `method`, `path` (relative to the base URL, with
//! its query), `status` (`null` when no answer came, then `error` says why), `ms` (from
//! sending to the last byte of the answer), `request_headers` and `response_headers`
//! (without `Authorization` and `X-Token`), and the bodies: JSON and text bodies cut to
//! 64 KiB, file bodies as `{"bytes": N, "sha256": "…"}`. The token is masked wherever it
//! appears ([`Secret::redact`]), before any cut.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::Secret;

/// Most bytes of a body kept in a trace line.
pub const TRACE_BODY_BYTES: usize = 64 * 1024;

/// A JSONL transcript file, appended to (a run and its resumes share one). Shared by a
/// client's clones; each line is written whole by one call, so lines never interleave.
#[derive(Debug)]
pub struct Trace {
    file: Mutex<File>,
}

/// What a request carried, for its trace line.
pub(crate) enum TracedBody<'a> {
    /// No body.
    None,
    /// A JSON body.
    Json(&'a [u8]),
    /// A file body (a whole file or one part).
    File(&'a [u8]),
}

/// One exchange, as the trace records it.
pub(crate) struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub request_headers: &'a HeaderMap,
    pub request_body: TracedBody<'a>,
    /// Status, headers and body of the answer; `Err` with why there was none.
    pub answer: Result<(u16, &'a HeaderMap, &'a [u8]), String>,
    pub elapsed: Duration,
}

impl Trace {
    /// Opens (creating, appending to) the transcript at `path`.
    pub fn create(path: &Path) -> std::io::Result<Trace> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Trace { file: Mutex::new(file) })
    }

    /// Writes one exchange's line. A failed write is reported once on stderr and does not
    /// fail the request: the transcript is a diagnostic, not part of the job.
    pub(crate) fn record(&self, token: &Secret, exchange: &Exchange<'_>) {
        let mut line = Map::new();
        line.insert(
            "time".into(),
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert("method".into(), json!(exchange.method));
        line.insert("path".into(), json!(token.redact(exchange.path)));
        let (status, response_headers, response_body, error) = match &exchange.answer {
            Ok((status, headers, body)) => {
                (json!(status), headers_json(token, headers), text_body(token, body), Value::Null)
            }
            Err(why) => (Value::Null, Value::Null, Value::Null, json!(token.redact(why))),
        };
        line.insert("status".into(), status);
        line.insert("ms".into(), json!(exchange.elapsed.as_millis() as u64));
        line.insert("request_headers".into(), headers_json(token, exchange.request_headers));
        line.insert(
            "request_body".into(),
            match exchange.request_body {
                TracedBody::None => Value::Null,
                TracedBody::Json(data) => text_body(token, data),
                TracedBody::File(data) => {
                    json!({"bytes": data.len(), "sha256": hex::encode(Sha256::digest(data))})
                }
            },
        );
        line.insert("response_headers".into(), response_headers);
        line.insert("response_body".into(), response_body);
        if !error.is_null() {
            line.insert("error".into(), error);
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let Ok(mut file) = self.file.lock() else { return };
        if let Err(e) = file.write_all(text.as_bytes()) {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| eprintln!("warning: cannot write the trace file: {e}"));
        }
    }
}

fn headers_json(token: &Secret, headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        let name = name.as_str();
        if name.eq_ignore_ascii_case(elma_import_contract::wire::AUTHORIZATION)
            || name.eq_ignore_ascii_case(elma_import_contract::wire::X_TOKEN)
        {
            continue;
        }
        let value = token.redact(&String::from_utf8_lossy(value.as_bytes()));
        out.insert(name.to_string(), Value::String(value));
    }
    Value::Object(out)
}

/// A body as JSON when it is JSON and short enough, else as text cut to 64 KiB; the token
/// masked first.
fn text_body(token: &Secret, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if body.len() <= TRACE_BODY_BYTES {
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            let text = value.to_string();
            let redacted = token.redact(&text);
            if redacted == text {
                return value;
            }
            return Value::String(redacted);
        }
    }
    Value::String(token.excerpt(body, TRACE_BODY_BYTES))
}
