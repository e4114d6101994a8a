//! Upload: a fresh hash is journaled, then the chunk's current file is sent.

use elma_import_chunk::UploadKind;
use elma_import_client::Clock;

use crate::ctx::Ctx;
use crate::error::RunError;
use crate::event::{Chunk, Event};
use crate::progress::Progress;

/// Uploads chunk `i`'s current file under a new hash.
pub async fn upload<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk) -> Result<(), RunError> {
    let entry = ctx.entry(i);
    ctx.observer.on(&Progress::Uploading { chunk: i, rows: entry.rows });
    send(ctx, i, ctx.plan.upload).await
}

/// Journals the hash, sends the file, journals the acknowledgement.
pub async fn send<C: Clock>(ctx: &Ctx<'_, C>, i: Chunk, target: UploadKind) -> Result<(), RunError> {
    let entry = ctx.entry(i);
    let path = ctx.files.path(&entry);
    let hash = uuid::Uuid::new_v4().to_string();
    ctx.record(Event::UploadBegin { at: ctx.now(), chunk: i, hash: hash.clone(), target })?;
    let sent = match target {
        UploadKind::Temporary => ctx.timed(ctx.client.upload_temporary(&hash, &path)).await?.map(|_| ()),
        UploadKind::Directory => {
            let dir = ctx.settings.directory_id.as_deref().unwrap_or_default();
            ctx.timed(ctx.client.upload_to_directory(dir, &hash, &path)).await?.map(|_| ())
        }
    };
    sent.map_err(|error| RunError::Client { chunk: i, error })?;
    ctx.account(|a| a.uploads += 1);
    ctx.record(Event::Uploaded { at: ctx.now(), chunk: i, hash })
}
