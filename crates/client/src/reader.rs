//! [`PartReader`]: reads an upload's parts, on tokio's blocking pool or inline.

use std::io::Read;
use std::path::Path;

use tokio::io::AsyncReadExt;

/// A file read part by part, front to back.
pub(crate) enum PartReader {
    /// Through `tokio::fs` (each read runs on the blocking pool).
    Pooled(tokio::fs::File),
    /// Blocking reads on the calling task ([`ClientConfig::read_files_inline`](crate::ClientConfig::read_files_inline)).
    Inline(std::fs::File),
}

impl PartReader {
    pub(crate) async fn open(path: &Path, inline: bool) -> std::io::Result<PartReader> {
        Ok(if inline {
            PartReader::Inline(std::fs::File::open(path)?)
        } else {
            PartReader::Pooled(tokio::fs::File::open(path).await?)
        })
    }

    /// The file's size in bytes.
    pub(crate) async fn len(&mut self) -> std::io::Result<u64> {
        match self {
            PartReader::Pooled(file) => Ok(file.metadata().await?.len()),
            PartReader::Inline(file) => Ok(file.metadata()?.len()),
        }
    }

    /// Fills `buf` with the next bytes.
    pub(crate) async fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            PartReader::Pooled(file) => file.read_exact(buf).await.map(|_| ()),
            PartReader::Inline(file) => file.read_exact(buf),
        }
    }
}
