//! The ELMA365 Web API contract (docs/platform.md): paths, headers and JSON bodies.
//!
//! Both the client and the emulator take every path, header and field name from here.
//! Shapes the public documentation does not show are marked *assumed*.

use serde::{Deserialize, Serialize};

/// Header carrying `Bearer <token>`; what the client sends.
pub const AUTHORIZATION: &str = "Authorization";
/// Older integrations' token header; the emulator accepts it too.
pub const X_TOKEN: &str = "X-Token";
/// Header of a part upload: `bytes {start}-{end}/{size}`.
pub const CONTENT_RANGE: &str = "Content-Range";
/// Header of a 429/503 answer: seconds to wait.
pub const RETRY_AFTER: &str = "Retry-After";
/// Multipart field holding the file body.
pub const FILE_FIELD: &str = "file";
/// Smallest non-final part of a parted upload.
pub const MIN_PART: u64 = 5 * 1024 * 1024;
/// Largest part of a parted upload.
pub const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;
/// Most items one list call returns.
pub const MAX_LIST_SIZE: u32 = 100;
/// How long the platform keeps a temporary file, in seconds.
pub const TEMP_FILE_TTL_SECS: u64 = 60 * 60;
/// Above this many rows the platform recommends a directory upload.
pub const DIRECTORY_UPLOAD_ABOVE_ROWS: u64 = 50_000;
/// Most rows per import when event handlers run.
pub const MAX_ROWS_WITH_HANDLERS: u64 = 1_000;
/// Least time between two status requests of one import, in milliseconds.
pub const MIN_POLL_INTERVAL_MS: u64 = 1_000;

/// Paths relative to the base URL (`…/pub/v1`).
pub mod paths {
    /// `POST` a file into a directory: §1.
    pub fn upload_to_directory(directory_id: &str, hash: &str) -> String {
        format!("/disk/directory/{directory_id}/upload?hash={hash}")
    }
    /// `POST` a temporary file: §2.
    pub fn upload_temporary(hash: &str) -> String {
        format!("/disk/file/upload?hash={hash}")
    }
    /// `POST` start an import: §3.
    pub fn start_import(namespace: &str, code: &str) -> String {
        format!("/app/{namespace}/{code}/import")
    }
    /// `POST` an import's status: §4.
    pub fn import_status(namespace: &str, code: &str) -> String {
        format!("/app/{namespace}/{code}/import/status")
    }
    /// `GET` an app's schema: §5.
    pub fn app_schema(namespace: &str, code: &str) -> String {
        format!("/scheme/namespaces/{namespace}/apps/{code}")
    }
    /// `POST` list an app's items: §6.
    pub fn list_items(namespace: &str, code: &str) -> String {
        format!("/app/{namespace}/{code}/list")
    }
    /// Axum route patterns of the same paths, for the emulator.
    pub mod routes {
        /// §1.
        pub const UPLOAD_TO_DIRECTORY: &str = "/disk/directory/{directory_id}/upload";
        /// §2.
        pub const UPLOAD_TEMPORARY: &str = "/disk/file/upload";
        /// §3.
        pub const START_IMPORT: &str = "/app/{namespace}/{code}/import";
        /// §4.
        pub const IMPORT_STATUS: &str = "/app/{namespace}/{code}/import/status";
        /// §5.
        pub const APP_SCHEMA: &str = "/scheme/namespaces/{namespace}/apps/{code}";
        /// §6.
        pub const LIST_ITEMS: &str = "/app/{namespace}/{code}/list";
    }
}

/// `Content-Range` value for bytes `start..end` (exclusive) of a `size`-byte file.
///
/// The platform's convention: a whole file is `bytes 0-{size}/{size}` (docs/platform.md §1), so
/// the end is exclusive.
pub fn content_range(start: u64, end: u64, size: u64) -> String {
    format!("bytes {start}-{end}/{size}")
}

/// Parses a `Content-Range` value into `(start, end, size)`, `end` exclusive.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, size) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, size) =
        (start.trim().parse().ok()?, end.trim().parse().ok()?, size.trim().parse().ok()?);
    (start <= end && end <= size).then_some((start, end, size))
}

/// Format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Office Open XML workbook.
    Xlsx,
    /// Comma-separated values.
    Csv,
}

impl FileFormat {
    /// `xlsx` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Csv => "csv",
        }
    }
}

/// Body of §3 *start an import*.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartImport {
    /// The hash the file was uploaded under.
    #[serde(rename = "fileHash")]
    pub file_hash: String,
    /// The file's format.
    pub format: FileFormat,
    /// Whether the app's event handlers run for each imported item.
    #[serde(rename = "withEventHandlers")]
    pub with_event_handlers: bool,
}

/// Body of §4 *import status*.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRequest {
    /// The import's id from §3.
    pub id: String,
}

/// Status of an import (*assumed values*). Unknown values are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImportStatus {
    /// Accepted, not yet started.
    New,
    /// Rows are being processed.
    InProgress,
    /// Finished; `failed` rows, if any, are in `errors`.
    Done,
    /// The whole import failed.
    Failed,
    /// Another import of the same app is running; nothing was started.
    Blocked,
    /// A value this contract does not know; treated as still running.
    Other(String),
}

impl ImportStatus {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            ImportStatus::New => "new",
            ImportStatus::InProgress => "in_progress",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
            ImportStatus::Blocked => "blocked",
            ImportStatus::Other(s) => s,
        }
    }

    /// Whether the import has ended (`done` or `failed`).
    pub fn is_final(&self) -> bool {
        matches!(self, ImportStatus::Done | ImportStatus::Failed)
    }
}

impl From<&str> for ImportStatus {
    fn from(s: &str) -> Self {
        match s {
            "new" => ImportStatus::New,
            "in_progress" => ImportStatus::InProgress,
            "done" => ImportStatus::Done,
            "failed" => ImportStatus::Failed,
            "blocked" => ImportStatus::Blocked,
            other => ImportStatus::Other(other.to_string()),
        }
    }
}

impl Serialize for ImportStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ImportStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ImportStatus::from(s.as_str()))
    }
}

impl std::fmt::Display for ImportStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based row of the uploaded sheet, header = 1.
    pub row: u64,
    /// Header of the column at fault, or empty for the whole row.
    #[serde(default)]
    pub column: String,
    /// What is wrong.
    #[serde(default)]
    pub message: String,
}

/// The import result model of §3 and §4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    /// Import id; absent when `blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the import stands.
    pub status: ImportStatus,
    /// Rows in the file.
    #[serde(default)]
    pub total: u64,
    /// Rows processed so far.
    #[serde(default)]
    pub processed: u64,
    /// Rows that became items.
    #[serde(default)]
    pub imported: u64,
    /// Rows that failed.
    #[serde(default)]
    pub failed: u64,
    /// Per-row errors.
    #[serde(default)]
    pub errors: Vec<RowError>,
    /// Fields of the answer this contract does not know, kept as the platform sent them
    /// (docs/platform.md: the result model is not public), so `start`/`status --json` show them.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Answer of §3 and §4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportAnswer {
    /// Whether the call succeeded (`true` when the answer leaves it out).
    #[serde(default = "yes")]
    pub success: bool,
    /// Error text when `success` is false.
    #[serde(default)]
    pub error: String,
    /// The import, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ImportResult>,
}

fn yes() -> bool {
    true
}

/// A stored file, in the answer of §1: only `__id` is confirmed, the rest is *assumed* and
/// defaulted when missing. Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// File id.
    #[serde(rename = "__id")]
    pub id: String,
    /// Stored name (a clash gets a numeric postfix); empty when the answer leaves it out
    /// (only `__id` is confirmed).
    #[serde(rename = "__name", default)]
    pub name: String,
    /// Size in bytes; 0 when the answer leaves it out.
    #[serde(default)]
    pub size: u64,
    /// Fields of the stored file this contract does not know, kept as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Answer of §1 and §2 (and of every error: `success:false` with `error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAnswer {
    /// Whether the call succeeded (`true` when the answer leaves it out).
    #[serde(default = "yes")]
    pub success: bool,
    /// Error text when `success` is false.
    #[serde(default)]
    pub error: String,
    /// The stored file (directory uploads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<StoredFile>,
}

/// The filter of a §6 list request: field conditions under `tf` (docs/platform.md §6),
/// serialised as `{"tf":{"<field code>": <condition>}}`. Build conditions with
/// [`crate::values::tf_condition`]: text matches as a case-insensitive substring, numbers
/// and date-times as `{min, max}` intervals, so compare what comes back exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListFilter {
    /// Field code → condition; every one must match.
    #[serde(default)]
    pub tf: serde_json::Map<String, serde_json::Value>,
}

impl ListFilter {
    /// A filter of these conditions; `None` when there are none (list everything).
    pub fn from_tf(tf: serde_json::Map<String, serde_json::Value>) -> Option<ListFilter> {
        (!tf.is_empty()).then_some(ListFilter { tf })
    }

    fn is_none_or_empty(filter: &Option<ListFilter>) -> bool {
        filter.as_ref().is_none_or(|f| f.tf.is_empty())
    }
}

/// Body of §6 *list items*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRequest {
    /// Only active (not deleted) items.
    pub active: bool,
    /// Offset of the first item.
    pub from: u64,
    /// Page size, at most [`MAX_LIST_SIZE`].
    pub size: u32,
    /// Field conditions; left out of the body when there are none.
    #[serde(default, skip_serializing_if = "ListFilter::is_none_or_empty")]
    pub filter: Option<ListFilter>,
}

/// A page of items in the answer of §6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemPage {
    /// Items: field code → value, plus `__id`.
    #[serde(default)]
    pub result: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Items matching in all; 0 when the answer leaves it out (then only a short page
    /// tells the end of the list).
    #[serde(default)]
    pub total: u64,
}

/// Answer of §6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAnswer {
    /// Whether the call succeeded (`true` when the answer leaves it out).
    #[serde(default = "yes")]
    pub success: bool,
    /// Error text when `success` is false.
    #[serde(default)]
    pub error: String,
    /// The page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ItemPage>,
}

/// The answer of any failed call: `{"success":false,"error":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// Always false.
    #[serde(default)]
    pub success: bool,
    /// What went wrong.
    #[serde(default)]
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_round_trips_and_rejects_nonsense() {
        assert_eq!(content_range(0, 1000, 1000), "bytes 0-1000/1000");
        assert_eq!(parse_content_range("bytes 0-1000/1000"), Some((0, 1000, 1000)));
        assert_eq!(parse_content_range("bytes 10-5/100"), None);
        assert_eq!(parse_content_range("bytes 0-200/100"), None);
        assert_eq!(parse_content_range("rows 0-1/1"), None);
    }

    #[test]
    fn start_body_uses_the_platform_names() {
        let body = StartImport { file_hash: "h".into(), format: FileFormat::Xlsx, with_event_handlers: true };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"fileHash":"h","format":"xlsx","withEventHandlers":true})
        );
    }

    #[test]
    fn unknown_status_is_kept() {
        let r: ImportResult = serde_json::from_str(r#"{"status":"queued"}"#).unwrap();
        assert_eq!(r.status, ImportStatus::Other("queued".into()));
        assert!(!r.status.is_final());
        let r: ImportResult =
            serde_json::from_str(r#"{"id":"x","status":"done","total":3,"imported":3}"#).unwrap();
        assert!(r.status.is_final());
        assert_eq!(serde_json::to_value(&r.status).unwrap(), "done");
    }

    #[test]
    fn fields_nobody_knows_are_kept_and_written_back() {
        let text = r#"{"id":"i1","status":"done","total":2,"imported":2,"queue":"q7","startedAt":"2026-12-01T10:00:00Z"}"#;
        let r: ImportResult = serde_json::from_str(text).unwrap();
        assert_eq!(r.imported, 2);
        assert_eq!(r.extra["queue"], "q7");
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["startedAt"], "2026-12-01T10:00:00Z");
        let f: StoredFile = serde_json::from_str(r#"{"__id":"f1","hash":"h"}"#).unwrap();
        assert_eq!((f.id.as_str(), f.size, f.extra["hash"].as_str()), ("f1", 0, Some("h")));
    }

    #[test]
    fn list_filter_goes_under_tf_and_is_left_out_when_empty() {
        let mut tf = serde_json::Map::new();
        tf.insert("__name".into(), serde_json::json!("Deal 7"));
        let request = ListRequest { active: true, from: 0, size: 100, filter: ListFilter::from_tf(tf) };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"active":true,"from":0,"size":100,"filter":{"tf":{"__name":"Deal 7"}}})
        );
        let none = ListRequest { filter: ListFilter::from_tf(serde_json::Map::new()), ..request.clone() };
        assert_eq!(
            serde_json::to_value(&none).unwrap(),
            serde_json::json!({"active":true,"from":0,"size":100})
        );
        let empty = ListRequest { filter: Some(ListFilter::default()), ..request };
        assert!(serde_json::to_value(&empty).unwrap().get("filter").is_none());
    }

    #[test]
    fn answers_need_only_what_is_confirmed() {
        let upload: UploadAnswer =
            serde_json::from_str(r#"{"file":{"__id":"f1","owner":"x"},"trace":"abc"}"#).unwrap();
        assert!(upload.success);
        let file = upload.file.unwrap();
        assert_eq!((file.id.as_str(), file.name.as_str(), file.size), ("f1", "", 0));
        assert!(serde_json::from_str::<UploadAnswer>(r#"{"success":true,"file":{"__name":"a"}}"#).is_err());
        let page: ListAnswer = serde_json::from_str(r#"{"result":{"result":[{"__id":"1"}]}}"#).unwrap();
        assert_eq!(page.result.unwrap().total, 0);
        let import: ImportAnswer = serde_json::from_str(
            r#"{"success":true,"result":{"id":"i","status":"done","errors":[{"row":3}],"eta":5}}"#,
        )
        .unwrap();
        let result = import.result.unwrap();
        assert_eq!(result.errors[0], RowError { row: 3, column: String::new(), message: String::new() });
    }
}
