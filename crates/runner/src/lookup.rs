//! Looking a chunk's rows up among the app's items: by the key column, or, without one,
//! by every imported field of the row (its whole content).
//!
//! Every look-up goes through [`find_items`], the one place that asks the platform.

use elma_import_client::{AppRef, Client, ClientError};
use futures_util::StreamExt;
use serde_json::{Map, Value};

/// An item, or a row as an item: field code → value in the platform's shapes (API.md §7).
pub type Item = Map<String, Value>;

/// The items of `app` whose `fields` all equal `expected`'s.
pub async fn find_items(
    client: &Client,
    app: &AppRef,
    fields: &[&str],
    expected: &Item,
) -> Result<Vec<Item>, ClientError> {
    let mut filter = Map::new();
    for f in fields {
        if let Some(v) = expected.get(*f) {
            filter.insert((*f).to_string(), v.clone());
        }
    }
    let items = client.list_all(app, &filter).await?;
    Ok(items.into_iter().filter(|item| fields.iter().all(|f| item.get(*f) == expected.get(*f))).collect())
}

/// How rows are told apart among the items.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// By the key field's code.
    Key(String),
    /// By every field the chunk imports.
    Content(Vec<String>),
}

impl Matcher {
    /// `key` or `content`, as journaled.
    pub fn name(&self) -> &'static str {
        match self {
            Matcher::Key(_) => "key",
            Matcher::Content(_) => "content",
        }
    }

    /// The fields compared for `item`, or `None` when the row cannot be told apart (its
    /// key cell is empty, or it has no value at all).
    fn fields<'a>(&'a self, item: &Item) -> Option<Vec<&'a str>> {
        match self {
            Matcher::Key(k) => item.contains_key(k).then(|| vec![k.as_str()]),
            Matcher::Content(all) => {
                let present: Vec<&str> =
                    all.iter().map(String::as_str).filter(|f| item.contains_key(*f)).collect();
                (!present.is_empty()).then_some(present)
            }
        }
    }
}

/// Whether each row is among the items: `Some(true)` found, `Some(false)` absent, `None`
/// when the row cannot be told apart. Rows are looked up `in_flight` at a time; answers
/// keep the rows' order.
pub async fn present(
    client: &Client,
    app: &AppRef,
    matcher: &Matcher,
    rows: &[&Item],
    in_flight: usize,
) -> Result<Vec<Option<bool>>, ClientError> {
    let looks = futures_util::stream::iter(rows.iter().map(|item| async move {
        match matcher.fields(item) {
            None => Ok(None),
            Some(fields) => find_items(client, app, &fields, item).await.map(|found| Some(!found.is_empty())),
        }
    }))
    .buffered(in_flight.max(1))
    .collect::<Vec<_>>()
    .await;
    looks.into_iter().collect()
}
