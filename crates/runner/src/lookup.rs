//! Looking a run's rows up among the app's items: by the key column, or, without one, by
//! every imported field of the row (its whole content).
//!
//! A row's look-up goes through [`Client::find_each`]: a §6 `tf` look-up per row paged
//! through all matches (or one listing of the app shared by rows the platform cannot
//! filter on), kept where every compared field equals exactly by §7 rules
//! (docs/platform.md). The items that matched the run's rows before its first start (its
//! baseline, `step::baseline`) never count as landed ([`classify`]).

use std::collections::{BTreeSet, HashMap};

use elma_import_client::{AppRef, Client, ClientError};
use elma_import_contract::keys::item_keys;
use elma_import_contract::schema::Field;
use serde_json::{Map, Value};

use crate::decide::{Looked, MatcherKind};

/// An item, or a row as an item: field code → value in the platform's shapes.
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
    /// Which kind.
    pub fn kind(&self) -> MatcherKind {
        match self {
            Matcher::Key(_) => MatcherKind::Key,
            Matcher::Content(_) => MatcherKind::Content,
        }
    }

    /// How it settles rows, as journaled.
    pub fn settled_by(&self) -> crate::event::SettledBy {
        match self {
            Matcher::Key(_) => crate::event::SettledBy::Key,
            Matcher::Content(_) => crate::event::SettledBy::Content,
        }
    }

    /// The fields compared: the key, or every imported field.
    pub fn fields(&self) -> Vec<&Field> {
        match self {
            Matcher::Key(k) => vec![k],
            Matcher::Content(all) => all.iter().collect(),
        }
    }

    /// Whether `row` can be looked up: its key cell, or any cell, holds a value.
    pub fn tells(&self, row: &Item) -> bool {
        self.fields().iter().any(|f| row.get(&f.code).is_some_and(|v| !is_blank(v)))
    }

    /// By content, the fields whose values a platform stores as written: every field but
    /// text, names, e-mails, phones and links, which it may store otherwise (another case,
    /// spacing, a normalised number). `None` by the key, or when no such field is left.
    /// A row the full content does not find but this does may have landed reworded.
    pub fn loosened(&self) -> Option<Matcher> {
        use elma_import_contract::schema::FieldType as T;
        let Matcher::Content(fields) = self else { return None };
        let kept: Vec<Field> = fields
            .iter()
            .filter(|f| !matches!(f.kind, T::String | T::Text | T::FullName | T::Email | T::Phone | T::Link))
            .cloned()
            .collect();
        (!kept.is_empty()).then_some(Matcher::Content(kept))
    }

    /// A coarse form of a row or an item for grouping candidates: the key's comparable
    /// form, or the first compared text field's lowercase text. Equal rows and items have
    /// equal hints; `None` when there is nothing to group by.
    pub(crate) fn hint(&self, row: &Item) -> Option<String> {
        match self {
            Matcher::Key(k) => item_keys(k, row.get(&k.code)).into_iter().next(),
            Matcher::Content(fields) => fields.iter().find_map(|f| {
                if !matches!(f.kind, elma_import_contract::schema::FieldType::String) {
                    return None;
                }
                let text = row.get(&f.code)?.as_str()?.trim().to_lowercase();
                (!text.is_empty()).then_some(text)
            }),
        }
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn id_of(item: &Item) -> Option<String> {
    item.get("__id").and_then(Value::as_str).map(str::to_ascii_lowercase)
}

/// The ids of the items matching each row: `None` for a row that cannot be looked up.
/// Rows are looked up `in_flight` at a time; answers keep the rows' order.
pub async fn matches(
    client: &Client,
    app: &AppRef,
    matcher: &Matcher,
    rows: &[&Item],
    in_flight: usize,
) -> Result<Vec<Option<Vec<String>>>, ClientError> {
    let fields = matcher.fields();
    let tellable: Vec<Item> =
        rows.iter().filter(|row| matcher.tells(row)).map(|row| (*row).clone()).collect();
    let mut found = client.find_each(app, &fields, &tellable, in_flight).await?.into_iter();
    Ok(rows
        .iter()
        .map(|row| {
            if matcher.tells(row) {
                found.next().map(|items| items.iter().filter_map(id_of).collect())
            } else {
                None
            }
        })
        .collect())
}

/// What the matches say of each row, the baseline's items left out: a row found once
/// landed, a row found nowhere is absent; a row that cannot be looked up, that matches
/// several new items, or whose item another row of `rows` matches too cannot be told.
pub fn classify(rows: &[u64], found: &[Option<Vec<String>>], baseline: &BTreeSet<String>) -> Looked {
    let fresh: Vec<Option<Vec<&String>>> = found
        .iter()
        .map(|ids| ids.as_ref().map(|ids| ids.iter().filter(|id| !baseline.contains(*id)).collect()))
        .collect();
    let mut claims: HashMap<&String, u32> = HashMap::new();
    for ids in fresh.iter().flatten() {
        for id in ids {
            *claims.entry(id).or_default() += 1;
        }
    }
    let mut looked = Looked::default();
    for (row, ids) in rows.iter().zip(&fresh) {
        match ids.as_deref() {
            None => looked.unknown.push(*row),
            Some([]) => looked.absent.push(*row),
            Some([id]) if claims[id] == 1 => looked.landed.push(*row),
            Some(_) => looked.unknown.push(*row),
        }
    }
    looked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_found_once_landed_and_baseline_items_never_count() {
        let ids = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let baseline: BTreeSet<String> = ["old".to_string()].into();
        let found =
            vec![ids(&["a"]), ids(&["old"]), ids(&[]), None, ids(&["b", "c"]), ids(&["d"]), ids(&["d"])];
        let looked = classify(&[2, 3, 4, 5, 6, 7, 8], &found, &baseline);
        assert_eq!(looked.landed, [2]);
        assert_eq!(looked.absent, [3, 4], "an item that was there before the run is not this run's");
        assert_eq!(looked.unknown, [5, 6, 7, 8], "no key, two new items, one item claimed by two rows");
    }

    #[test]
    fn the_loosened_content_leaves_out_what_a_platform_may_store_otherwise() {
        use elma_import_contract::schema::FieldType as T;
        let field = |code: &str, kind: T| Field::new(code, code, kind);
        let all = Matcher::Content(vec![
            field("__name", T::String),
            field("notes", T::Text),
            field("email", T::Email),
            field("phone", T::Phone),
            field("site", T::Link),
            field("person", T::FullName),
            field("amount", T::Money),
            field("at", T::Datetime),
        ]);
        let Some(Matcher::Content(kept)) = all.loosened() else { panic!("a loosened matcher") };
        let codes: Vec<&str> = kept.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["amount", "at"]);
        let text_only = Matcher::Content(vec![field("__name", T::String), field("email", T::Email)]);
        assert_eq!(text_only.loosened(), None, "nothing left to rule a row out by");
        assert_eq!(Matcher::Key(field("email", T::Email)).loosened(), None, "a key is compared as it is");
    }
}
