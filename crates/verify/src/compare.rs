//! One source row against one item, field by field, by the contract's rules
//! ([`elma_import_contract::values::same_value`]: text exactly after trimming, e-mails
//! without case, phones by digits, date-times as instants, dates as the same instant or
//! day, money as cents and currency, categories by code, links and files as id sets).
//!
//! A migration's reference column holds the parent's keys where the item holds the
//! parent's ids: each id is mapped back to its item's key ([`LinkMaps`]) and the keys are
//! compared as sets, so a link to the wrong company is a difference like any other.

use std::collections::{BTreeSet, HashMap};

use elma_import_client::Map;
use elma_import_contract::schema::Field;
use elma_import_contract::values::same_value;
use elma_import_migrate::keys::{cell_key, item_keys, reference_values};
use elma_import_validate::TimeZone;
use serde_json::Value;

use crate::show::show;
use crate::source::Part;
use crate::target::Link;

/// Item id → that item's keys.
type Ids = HashMap<Box<str>, Vec<Box<str>>>;

/// For each referenced app and key field: item id → that item's keys.
#[derive(Debug, Default)]
pub(crate) struct LinkMaps {
    maps: HashMap<(String, String), Ids>,
}

impl LinkMaps {
    /// Whether the ids of `app` by `by` are known.
    pub fn has(&self, app: &str, by: &Field) -> bool {
        self.maps.contains_key(&(app.to_string(), by.code.clone()))
    }

    /// Starts (or keeps) the map of `app` by `by`.
    pub fn open(&mut self, app: &str, by: &Field) {
        self.maps.entry((app.to_string(), by.code.clone())).or_default();
    }

    /// Records `item` of `app` under each of `fields` whose map is open.
    pub fn add(&mut self, app: &str, fields: &[Field], item: &Map) {
        let Some(id) = item.get("__id").and_then(Value::as_str) else { return };
        for by in fields {
            if let Some(map) = self.maps.get_mut(&(app.to_string(), by.code.clone())) {
                let keys: Vec<Box<str>> =
                    item_keys(by, item.get(&by.code)).into_iter().map(Into::into).collect();
                map.insert(id.to_ascii_lowercase().into(), keys);
            }
        }
    }

    fn get(&self, link: &Link) -> Option<&Ids> {
        self.maps.get(&(link.app.clone(), link.by.code.clone()))
    }
}

/// One field that differs: the column (index into [`Part::columns`]) and both values as
/// text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldDiff {
    pub column: u16,
    pub source: String,
    pub platform: String,
}

/// What comparing one row with its item found.
#[derive(Debug, Default)]
pub(crate) struct Compared {
    pub diffs: Vec<FieldDiff>,
    pub fields: u64,
    pub links: u64,
}

/// Compares stored row `index` of `part` with `item`, every compared column.
pub(crate) fn compare(
    part: &Part,
    index: usize,
    item: &Map,
    links: &[Link],
    maps: &LinkMaps,
    zone: TimeZone,
) -> Compared {
    let mut out = Compared::default();
    let row = part.row(index);
    let expected = match part.validator.to_item(&row) {
        Ok(map) => map,
        // The row passed the checks when it was read; its item is made the same way.
        Err(errors) => {
            out.diffs.push(FieldDiff {
                column: 0,
                source: errors.first().map(|e| e.message.clone()).unwrap_or_default(),
                platform: String::new(),
            });
            return out;
        }
    };
    for (c, col) in part.columns.iter().enumerate() {
        let e = expected.get(&col.field.code);
        let a = item.get(&col.field.code);
        out.fields += 1;
        let differs = match col.link {
            Some(l) => {
                let (same, source, platform, n) = compare_link(&links[l], e, a, maps);
                if same {
                    out.links += n;
                    None
                } else {
                    Some((source, platform))
                }
            }
            None => (!same_value(&col.field, e.unwrap_or(&Value::Null), a.unwrap_or(&Value::Null)))
                .then(|| (show(&col.field, e, zone), show(&col.field, a, zone))),
        };
        if let Some((source, platform)) = differs {
            out.diffs.push(FieldDiff { column: c as u16, source, platform });
        }
    }
    out
}

/// The texts of a reference cell's value (a string, or an array of strings for a
/// `single: false` field).
fn texts(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The ids an item's link value holds: `["id"]`, `"id"` or `[{"__id"}]`.
fn ids(v: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_ascii_lowercase()),
        Value::Object(o) => {
            o.get("__id").or_else(|| o.get("id"))?.as_str().map(|s| s.trim().to_ascii_lowercase())
        }
        _ => None,
    };
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(one).filter(|s| !s.is_empty()).collect(),
        Some(other) => one(other).filter(|s| !s.is_empty()).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A reference cell's keys against the keys of the items the link names: whether they
/// are the same set, both sides for people, and the values checked.
fn compare_link(
    link: &Link,
    expected: Option<&Value>,
    actual: Option<&Value>,
    maps: &LinkMaps,
) -> (bool, String, String, u64) {
    let multi = !link.field.single;
    let written: Vec<&str> = texts(expected).into_iter().flat_map(|t| reference_values(t, multi)).collect();
    let want: BTreeSet<String> = written.iter().filter_map(|t| cell_key(&link.by, t)).collect();
    let map = maps.get(link);
    let mut got = BTreeSet::new();
    let mut shown = Vec::new();
    for id in ids(actual) {
        match map.and_then(|m| m.get(id.as_str())) {
            Some(keys) if !keys.is_empty() => {
                for k in keys {
                    got.insert(k.to_string());
                }
                shown.push(keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" / "));
            }
            Some(_) => {
                got.insert(format!("[{id}]"));
                shown.push(format!("[{id}] (no {} on that item of {})", link.by.name, link.app));
            }
            None => {
                got.insert(format!("[{id}]"));
                shown.push(format!("[{id}] (no item of {})", link.app));
            }
        }
    }
    let same = want == got;
    (same, written.join(", "), shown.join(", "), want.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use elma_import_contract::schema::FieldType;
    use serde_json::json;

    fn field(code: &str, kind: FieldType) -> Field {
        Field::new(code, &code.to_uppercase(), kind)
    }

    #[test]
    fn links_compare_by_the_parents_keys() {
        let link = Link {
            field: field("company", FieldType::SysCollection),
            app: "crm.companies".into(),
            by: field("inn", FieldType::String),
        };
        let mut maps = LinkMaps::default();
        maps.open("crm.companies", &link.by);
        for (id, inn) in [("A1", "7701"), ("b2", "7702")] {
            let item = json!({"__id": id, "inn": inn}).as_object().unwrap().clone();
            maps.add("crm.companies", std::slice::from_ref(&link.by), &item);
        }
        let cell = json!(" 7701 ");
        assert!(compare_link(&link, Some(&cell), Some(&json!(["a1"])), &maps).0);
        let (same, source, platform, _) = compare_link(&link, Some(&cell), Some(&json!(["b2"])), &maps);
        assert!(!same);
        assert_eq!((source.as_str(), platform.as_str()), ("7701", "7702"));
        let (same, _, platform, _) = compare_link(&link, Some(&cell), Some(&json!(["c3"])), &maps);
        assert!(!same);
        assert_eq!(platform, "[c3] (no item of crm.companies)");
        assert!(compare_link(&link, None, Some(&json!([])), &maps).0, "empty equals empty");
        assert!(!compare_link(&link, Some(&cell), None, &maps).0);
    }
}
