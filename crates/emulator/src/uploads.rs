//! §1 and §2: whole and parted uploads, stored on disk under their `hash`.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use elma_import_contract::wire::{self, StoredFile, UploadAnswer};
use futures_util::StreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::respond::fail;
use crate::state::{Inner, Pending, Upload, UploadKind};

/// `POST /disk/directory/{directory_id}/upload?hash=…` (§1).
pub(crate) async fn upload_to_directory(
    State(inner): State<Arc<Inner>>,
    Path(directory): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    handle(inner, UploadKind::Directory, Some(directory), query, request).await
}

/// `POST /disk/file/upload?hash=…` (§2).
pub(crate) async fn upload_temporary(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    handle(inner, UploadKind::Temporary, None, query, request).await
}

/// What to do with a received part, decided from the state before any file moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The whole file in one request.
    Whole,
    /// The first of several parts; its length is the part size.
    First,
    /// A further non-final part at `offset` (a repeat of an earlier part is allowed).
    Next { offset: u64 },
    /// The final part at `offset`: completes the file.
    Final { offset: u64 },
    /// A part of an upload already complete (a retry): nothing to store.
    Repeat { last: bool },
}

/// Applies the part rules of docs/platform.md §1 to one request. Errors name the platform's code.
pub(crate) fn plan_part(
    pending: Option<&Pending>,
    done: Option<&Upload>,
    (start, end, size): (u64, u64, u64),
    len: u64,
) -> Result<Step, String> {
    let range = wire::content_range(start, end, size);
    if len != end - start {
        return Err(format!(
            "InvalidPart: the body has {len} bytes but `Content-Range: {range}` announces {}",
            end - start
        ));
    }
    if start == 0 && end == size {
        return Ok(Step::Whole);
    }
    if len > wire::MAX_PART {
        return Err(format!(
            "InvalidPart: a part of {len} bytes is above the limit {} bytes",
            wire::MAX_PART
        ));
    }
    if start == 0 {
        if len < wire::MIN_PART {
            return Err(too_small(len));
        }
        return Ok(Step::First);
    }
    let last = end == size;
    let (part_size, received, known_size) = match (pending, done) {
        (Some(p), _) => (p.part_size, p.received, p.size),
        (None, Some(u)) if u.part_size > 0 && !u.expired => (u.part_size, u.size, u.size),
        _ => {
            return Err(format!(
                "NoSuchUpload: no upload under this hash is in progress; send the part at byte 0 first (got `{range}`)"
            ))
        }
    };
    if known_size != size {
        return Err(format!(
            "InvalidPart: `{range}` announces a file of {size} bytes but the upload began with {known_size}"
        ));
    }
    if start % part_size != 0 || start > received {
        return Err(format!(
            "InvalidPartOrder: `{range}` does not follow the parts received; the next part starts at byte {received}"
        ));
    }
    if !last && len != part_size {
        if len < wire::MIN_PART {
            return Err(too_small(len));
        }
        return Err(format!(
            "InvalidPart: every part but the last must be {part_size} bytes like the first; this one has {len}"
        ));
    }
    if last && len > part_size {
        return Err(format!(
            "InvalidPart: the last part has {len} bytes, more than the part size {part_size}"
        ));
    }
    if pending.is_none() {
        return Ok(Step::Repeat { last });
    }
    if last {
        if start != received {
            return Err(format!(
                "InvalidPartOrder: the last part `{range}` came before byte {received}..{start} was received"
            ));
        }
        Ok(Step::Final { offset: start })
    } else {
        Ok(Step::Next { offset: start })
    }
}

fn too_small(len: u64) -> String {
    format!(
        "EntityTooSmall: a part of {len} bytes is below the minimum part size {} bytes (only the last part may be smaller)",
        wire::MIN_PART
    )
}

/// Whether `hash` is safe as a file name: 1 to 128 of `A-Z a-z 0-9 - _`.
fn valid_hash(hash: &str) -> bool {
    !hash.is_empty()
        && hash.len() <= 128
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

struct Received {
    path: PathBuf,
    len: u64,
    name: Option<String>,
}

async fn receive(inner: &Inner, request: Request, kind: UploadKind) -> Result<Received, Response> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if kind == UploadKind::Directory && !multipart {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            format!("a directory upload must be multipart/form-data with a `{}` field", wire::FILE_FIELD),
        ));
    }
    let incoming = inner.root.join("incoming");
    let path = incoming.join(uuid::Uuid::new_v4().to_string());
    let io_err =
        |e: std::io::Error| fail(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot store the upload: {e}"));
    let fs = Fs(inner.inline_io());
    fs.create_dir_all(&incoming).await.map_err(io_err)?;
    let mut file = Sink::create(&path, fs.0).await.map_err(io_err)?;
    let mut len = 0u64;
    let mut name = None;
    let result: Result<(), Response> = async {
        if multipart {
            let mut form = Multipart::from_request(request, &())
                .await
                .map_err(|e| fail(StatusCode::BAD_REQUEST, format!("bad multipart body: {e}")))?;
            let bad = |e: axum::extract::multipart::MultipartError| {
                fail(StatusCode::BAD_REQUEST, format!("bad multipart body: {e}"))
            };
            let mut found = false;
            while let Some(mut field) = form.next_field().await.map_err(bad)? {
                if field.name() != Some(wire::FILE_FIELD) {
                    continue;
                }
                found = true;
                name = field.file_name().map(str::to_string);
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    len += chunk.len() as u64;
                    file.write_all(&chunk).await.map_err(io_err)?;
                }
                break;
            }
            if !found {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    format!("the multipart body has no `{}` field", wire::FILE_FIELD),
                ));
            }
        } else {
            let mut stream = request.into_body().into_data_stream();
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| fail(StatusCode::BAD_REQUEST, format!("cannot read the body: {e}")))?;
                len += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(io_err)?;
            }
        }
        file.flush().await.map_err(io_err)?;
        Ok(())
    }
    .await;
    drop(file);
    match result {
        Ok(()) => Ok(Received { path, len, name }),
        Err(r) => {
            let _ = fs.remove_file(&path).await;
            Err(r)
        }
    }
}

async fn handle(
    inner: Arc<Inner>,
    kind: UploadKind,
    directory: Option<String>,
    query: HashMap<String, String>,
    request: Request,
) -> Response {
    let Some(hash) = query.get("hash").map(|h| h.trim().to_string()) else {
        return fail(StatusCode::BAD_REQUEST, "the query parameter `hash` is missing");
    };
    if !valid_hash(&hash) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("the hash `{hash}` is not valid: use 1 to 128 letters, digits, `-` or `_` (a UUID)"),
        );
    }
    let range_header = request
        .headers()
        .get(wire::CONTENT_RANGE)
        .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
    let received = match receive(&inner, request, kind).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let response = store(&inner, kind, directory, &hash, range_header, &received).await;
    let _ = Fs(inner.inline_io()).remove_file(&received.path).await;
    response
}

async fn store(
    inner: &Arc<Inner>,
    kind: UploadKind,
    directory: Option<String>,
    hash: &str,
    range_header: Option<String>,
    received: &Received,
) -> Response {
    let range = match &range_header {
        None => (0, received.len, received.len),
        Some(text) => match wire::parse_content_range(text) {
            Some(r) => r,
            None => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    format!(
                    "InvalidPart: `Content-Range: {text}` is not `bytes start-end/size` with end exclusive"
                ),
                )
            }
        },
    };
    let step = {
        let mut state = inner.lock();
        inner.sweep(&mut state);
        plan_part(state.pending.get(hash), state.uploads.get(hash), range, received.len)
    };
    let step = match step {
        Ok(s) => s,
        Err(message) => return fail(StatusCode::BAD_REQUEST, message),
    };
    let io_fail =
        |e: std::io::Error| fail(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot store the upload: {e}"));
    let part_path = inner.part_path(hash);
    let fs = Fs(inner.inline_io());
    let (start, _, size) = range;
    match step {
        Step::Repeat { last: false } => partial(),
        Step::Repeat { last: true } => {
            let state = inner.lock();
            let file = state.uploads.get(hash).and_then(|u| u.file.clone());
            ok(file)
        }
        Step::Whole => {
            if let Err(e) = fs.move_into(&received.path, &inner.file_path(hash)).await {
                return io_fail(e);
            }
            let _ = fs.remove_file(&part_path).await;
            let name = received.name.clone().unwrap_or_else(|| hash.to_string());
            complete(inner, kind, directory, hash, name, size, 0)
        }
        Step::First => {
            if let Err(e) = fs.move_into(&received.path, &part_path).await {
                return io_fail(e);
            }
            let mut state = inner.lock();
            state.pending.insert(
                hash.to_string(),
                Pending {
                    hash: hash.to_string(),
                    kind,
                    directory,
                    name: received.name.clone().unwrap_or_else(|| hash.to_string()),
                    size,
                    part_size: received.len,
                    received: received.len,
                },
            );
            inner.save_uploads(&state);
            partial()
        }
        Step::Next { offset } | Step::Final { offset } => {
            if let Err(e) = fs.write_at(&received.path, &part_path, offset).await {
                return io_fail(e);
            }
            let pending = {
                let mut state = inner.lock();
                let Some(p) = state.pending.get_mut(hash) else {
                    return fail(StatusCode::BAD_REQUEST, "NoSuchUpload: the upload was reset meanwhile");
                };
                p.received = p.received.max(start + received.len);
                let p = p.clone();
                if matches!(step, Step::Next { .. }) {
                    inner.save_uploads(&state);
                    return partial();
                }
                state.pending.remove(hash);
                p
            };
            if let Err(e) = fs.move_into(&part_path, &inner.file_path(hash)).await {
                return io_fail(e);
            }
            // A directory upload's name and kind come from its first part.
            complete(inner, pending.kind, pending.directory, hash, pending.name, size, pending.part_size)
        }
    }
}

fn partial() -> Response {
    (StatusCode::PARTIAL_CONTENT, Json(UploadAnswer { success: true, error: String::new(), file: None }))
        .into_response()
}

fn ok(file: Option<StoredFile>) -> Response {
    Json(UploadAnswer { success: true, error: String::new(), file }).into_response()
}

/// File work through `tokio::fs` (the blocking pool), or inline on the calling task when
/// `.0` (a simulated clock: the order of tasks must not follow the disk's speed).
#[derive(Clone, Copy)]
struct Fs(bool);

impl Fs {
    async fn create_dir_all(self, dir: &FsPath) -> std::io::Result<()> {
        if self.0 {
            std::fs::create_dir_all(dir)
        } else {
            tokio::fs::create_dir_all(dir).await
        }
    }

    async fn remove_file(self, path: &FsPath) -> std::io::Result<()> {
        if self.0 {
            std::fs::remove_file(path)
        } else {
            tokio::fs::remove_file(path).await
        }
    }

    async fn move_into(self, from: &FsPath, to: &FsPath) -> std::io::Result<()> {
        if let Some(parent) = to.parent() {
            self.create_dir_all(parent).await?;
        }
        if self.0 {
            std::fs::rename(from, to)
        } else {
            tokio::fs::rename(from, to).await
        }
    }

    async fn write_at(self, from: &FsPath, to: &FsPath, offset: u64) -> std::io::Result<()> {
        if self.0 {
            use std::io::{Seek, Write};
            let mut source = std::fs::File::open(from)?;
            let mut target = std::fs::OpenOptions::new().write(true).open(to)?;
            target.seek(std::io::SeekFrom::Start(offset))?;
            std::io::copy(&mut source, &mut target)?;
            return target.flush();
        }
        let mut source = tokio::fs::File::open(from).await?;
        let mut target = tokio::fs::OpenOptions::new().write(true).open(to).await?;
        target.seek(std::io::SeekFrom::Start(offset)).await?;
        tokio::io::copy(&mut source, &mut target).await?;
        target.flush().await
    }
}

/// A file being written, through `tokio::fs` or inline (see [`Fs`]).
enum Sink {
    Pooled(tokio::fs::File),
    Inline(std::fs::File),
}

impl Sink {
    async fn create(path: &FsPath, inline: bool) -> std::io::Result<Sink> {
        Ok(if inline {
            Sink::Inline(std::fs::File::create(path)?)
        } else {
            Sink::Pooled(tokio::fs::File::create(path).await?)
        })
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Pooled(file) => file.write_all(data).await,
            Sink::Inline(file) => std::io::Write::write_all(file, data),
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Pooled(file) => file.flush().await,
            Sink::Inline(file) => std::io::Write::flush(file),
        }
    }
}

/// `name (1).ext`, `name (2).ext`, … — the first not taken.
pub(crate) fn unique_name(name: &str, taken: &std::collections::HashSet<&str>) -> String {
    if !taken.contains(name) {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1u64..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| !taken.contains(candidate.as_str()))
        .unwrap_or_else(|| name.to_string())
}

fn complete(
    inner: &Arc<Inner>,
    kind: UploadKind,
    directory: Option<String>,
    hash: &str,
    name: String,
    size: u64,
    part_size: u64,
) -> Response {
    let mut state = inner.lock();
    let now = inner.now_ms();
    let file = match (&kind, &directory) {
        (UploadKind::Directory, Some(dir)) => {
            // A re-upload of the same hash into the same directory replaces the file.
            let previous = state
                .uploads
                .get(hash)
                .filter(|u| u.directory.as_deref() == Some(dir.as_str()))
                .and_then(|u| u.file.clone());
            Some(match previous {
                Some(f) => StoredFile { size, ..f },
                None => {
                    let name = unique_name(&name, &state.names_in(dir));
                    StoredFile { id: inner.new_id(), name, size, extra: Default::default() }
                }
            })
        }
        _ => None,
    };
    let expires_ms =
        (kind == UploadKind::Temporary).then(|| now + inner.settings.temp_ttl.as_millis() as u64);
    state.uploads.insert(
        hash.to_string(),
        Upload {
            hash: hash.to_string(),
            kind,
            size,
            part_size,
            uploaded_ms: now,
            expires_ms,
            expired: false,
            directory,
            file: file.clone(),
        },
    );
    inner.save_uploads(&state);
    inner.log(|| format!("upload `{hash}` complete: {size} bytes ({kind:?})"));
    ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const MIB: u64 = 1024 * 1024;

    fn pending(size: u64, part: u64, received: u64) -> Pending {
        Pending {
            hash: "h".into(),
            kind: UploadKind::Temporary,
            directory: None,
            name: "h".into(),
            size,
            part_size: part,
            received,
        }
    }

    #[test]
    fn part_rules() {
        let size = 12 * MIB;
        assert_eq!(plan_part(None, None, (0, 10, 10), 10), Ok(Step::Whole));
        assert!(plan_part(None, None, (0, 10, 10), 9).unwrap_err().starts_with("InvalidPart"));
        assert!(plan_part(None, None, (0, MIB, size), MIB).unwrap_err().starts_with("EntityTooSmall"));
        assert_eq!(plan_part(None, None, (0, 5 * MIB, size), 5 * MIB), Ok(Step::First));
        assert!(plan_part(None, None, (5 * MIB, 10 * MIB, size), 5 * MIB)
            .unwrap_err()
            .starts_with("NoSuchUpload"));
        let p = pending(size, 5 * MIB, 5 * MIB);
        assert_eq!(
            plan_part(Some(&p), None, (5 * MIB, 10 * MIB, size), 5 * MIB),
            Ok(Step::Next { offset: 5 * MIB })
        );
        // A repeat of the first part is accepted (a retry), a gap is not.
        assert_eq!(plan_part(Some(&p), None, (0, 5 * MIB, size), 5 * MIB), Ok(Step::First));
        assert!(plan_part(Some(&p), None, (10 * MIB, size, size), 2 * MIB)
            .unwrap_err()
            .starts_with("InvalidPartOrder"));
        assert!(plan_part(Some(&p), None, (5 * MIB, 11 * MIB, size), 6 * MIB)
            .unwrap_err()
            .starts_with("InvalidPart"));
        let p = pending(size, 5 * MIB, 10 * MIB);
        assert_eq!(
            plan_part(Some(&p), None, (10 * MIB, size, size), 2 * MIB),
            Ok(Step::Final { offset: 10 * MIB })
        );
        assert!(plan_part(Some(&p), None, (10 * MIB, 13 * MIB, 13 * MIB), 3 * MIB)
            .unwrap_err()
            .contains("began with"));
    }

    #[test]
    fn clashing_names_get_a_postfix() {
        let taken: HashSet<&str> = ["a.xlsx", "a (1).xlsx", "noext"].into_iter().collect();
        assert_eq!(unique_name("b.xlsx", &taken), "b.xlsx");
        assert_eq!(unique_name("a.xlsx", &taken), "a (2).xlsx");
        assert_eq!(unique_name("noext", &taken), "noext (1)");
    }
}
