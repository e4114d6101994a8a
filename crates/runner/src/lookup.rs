//! Looking a chunk's rows up among the app's items: by the key column, or, without one,
//! by every imported field of the row (its whole content).
//!
//! Every look-up goes through [`Client::find_items`]: a §6 `tf` look-up paged through all
//! matches, kept where every compared field equals exactly by §7 rules.

use elma_import_client::{AppRef, Client, ClientError};
use elma_import_contract::schema::Field;
use futures_util::StreamExt;
use serde_json::{Map, Value};

/// An item, or a row as an item: field code → value in the platform's shapes (API.md §7).
pub type Item = Map<String, Value>;

/// How rows are told apart among the items.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// By the key field.
    Key(Field),
    /// By every field the chunk imports.
    Content(Vec<Field>),
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
    fn fields<'a>(&'a self, item: &Item) -> Option<Vec<&'a Field>> {
        match self {
            Matcher::Key(k) => item.contains_key(&k.code).then(|| vec![k]),
            Matcher::Content(all) => {
                let present: Vec<&Field> = all.iter().filter(|f| item.contains_key(&f.code)).collect();
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
            Some(fields) => client.find_items(app, &fields, item).await.map(|found| Some(!found.is_empty())),
        }
    }))
    .buffered(in_flight.max(1))
    .collect::<Vec<_>>()
    .await;
    looks.into_iter().collect()
}
