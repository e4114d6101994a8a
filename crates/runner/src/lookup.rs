//! Looking a chunk's rows up among the app's items: by the key column, or, without one,
//! by every imported field of the row (its whole content).
//!
//! Every look-up goes through [`Client::find_each`]: a §6 `tf` look-up per row paged
//! through all matches (or one listing of the app shared by rows the platform cannot
//! filter on), kept where every compared field equals exactly by §7 rules.

use elma_import_client::{AppRef, Client, ClientError};
use elma_import_contract::schema::Field;
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

    /// The fields compared: the key, or every imported field.
    fn fields(&self) -> Vec<&Field> {
        match self {
            Matcher::Key(k) => vec![k],
            Matcher::Content(all) => all.iter().collect(),
        }
    }

    /// Whether `item` can be told apart: its key cell, or any cell, holds a value.
    fn tells(&self, item: &Item) -> bool {
        self.fields().iter().any(|f| item.contains_key(&f.code))
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
    let fields = matcher.fields();
    let tellable: Vec<Item> =
        rows.iter().filter(|item| matcher.tells(item)).map(|item| (*item).clone()).collect();
    let mut found = client.find_each(app, &fields, &tellable, in_flight).await?.into_iter();
    Ok(rows
        .iter()
        .map(|item| if matcher.tells(item) { found.next().map(|items| !items.is_empty()) } else { None })
        .collect())
}
