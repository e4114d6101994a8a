//! Every item of an app, page by page (docs/platform.md §6, pages of 100), handed over as each
//! page arrives: a few pages are requested ahead while the current one is compared, so
//! the comparison costs no time beside the list calls.
//!
//! Each request goes through the client's retry rules (jittered backoff honouring
//! `Retry-After`). Items are handed over once by `__id`, should paging shift while the
//! app changes; a server that ignores `from` is an error, as in `Client::list_all`.

use std::collections::{HashSet, VecDeque};

use elma_import_client::{AppRef, Client, ClientError, ItemPage, ListRequest, Map};
use elma_import_contract::wire::MAX_LIST_SIZE;
use tokio::task::JoinHandle;

/// What a listing did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Listed {
    /// Items handed over.
    pub items: u64,
    /// Pages requested.
    pub pages: u64,
}

fn fetch(client: &Client, app: &AppRef, from: u64) -> JoinHandle<Result<ItemPage, ClientError>> {
    let (client, app) = (client.clone(), app.clone());
    tokio::spawn(async move {
        client.list_items(&app, &ListRequest { active: true, from, size: MAX_LIST_SIZE, filter: None }).await
    })
}

/// Lists every active item of `app`, `ahead` pages in flight at most, calling
/// `on_page(items, done, total)` with each page's new items in order (`total` 0 when the
/// platform does not say).
pub(crate) async fn each_page(
    client: &Client,
    app: &AppRef,
    ahead: usize,
    on_page: &mut (dyn FnMut(Vec<Map>, u64, u64) + Send),
) -> Result<Listed, ClientError> {
    let page_size = u64::from(MAX_LIST_SIZE);
    let in_flight = ahead.max(1);
    let mut pending: VecDeque<(u64, JoinHandle<Result<ItemPage, ClientError>>)> = VecDeque::new();
    pending.push_back((0, fetch(client, app, 0)));
    let mut next = page_size;
    // Items seen, by a 64-bit hash of their id (8 bytes an item; two ids of one app
    // colliding is a chance of about 1 in 10^9 at 100,000 items).
    let mut seen: HashSet<u64> = HashSet::new();
    let mut listed = Listed::default();
    let stop = |pending: &mut VecDeque<(u64, JoinHandle<_>)>| pending.drain(..).for_each(|(_, h)| h.abort());
    while let Some((from, handle)) = pending.pop_front() {
        let page = match handle.await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                stop(&mut pending);
                return Err(e);
            }
            Err(e) => {
                stop(&mut pending);
                return Err(ClientError::Config(format!("a list request ended abnormally: {e}")));
            }
        };
        listed.pages += 1;
        let (got, total) = (page.result.len() as u64, page.total);
        let done = got == 0 || if total == 0 { got < page_size } else { from + got >= total };
        if done {
            stop(&mut pending);
        } else {
            // The next pages are asked for while this one is compared; without a `total`,
            // one page at a time (a short page ends the listing).
            while pending.len() < in_flight && (if total > 0 { next < total } else { pending.is_empty() }) {
                pending.push_back((next, fetch(client, app, next)));
                next += page_size;
            }
            if pending.is_empty() {
                pending.push_back((next, fetch(client, app, next)));
                next += page_size;
            }
        }
        let mut fresh = Vec::with_capacity(page.result.len());
        for item in page.result {
            let id = item.get("__id").map(|v| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::hash::Hash::hash(&v.to_string(), &mut h);
                std::hash::Hasher::finish(&h)
            });
            if id.is_none_or(|id| seen.insert(id)) {
                fresh.push(item);
            }
        }
        if got > 0 && fresh.is_empty() {
            stop(&mut pending);
            return Err(ClientError::InvalidRequest {
                request: format!(
                    "POST {}",
                    elma_import_contract::wire::paths::list_items(&app.namespace, &app.code)
                ),
                reason: format!(
                    "the page at `from` {from} repeats only items already listed: the server seems to ignore \
                     `from`, so the items cannot all be listed"
                ),
            });
        }
        listed.items += fresh.len() as u64;
        on_page(fresh, listed.items, total);
    }
    Ok(listed)
}
