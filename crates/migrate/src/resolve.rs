//! Resolution: keys → item ids from the referenced app's items, and the resolved copy of
//! a step's file (reference cells become `[id]`; same rows, same order, same numbers).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use elma_import_client::{AppRef, Client, ClientError, Map};
use elma_import_contract::schema::{Field, FieldType};
use elma_import_contract::wire::{ListRequest, MAX_LIST_SIZE};
use elma_import_sheet::{Format, Row, WriteOptions};
use serde::{Deserialize, Serialize};

use crate::check::Bound;
use crate::error::MigrateError;
use crate::keys::{cell_key, item_keys, reference_values};
use crate::spec::Step;

/// Every active item of an app, by a paged scan of the list endpoint (docs/platform.md §6, pages
/// of 100). Returns the items and the requests made.
///
/// # Errors
/// The client's error after its retries.
pub async fn scan_items(client: &Client, app: &AppRef) -> Result<(Vec<Map>, u64), ClientError> {
    let items = client.list_all(app, None).await?;
    let requests = (items.len() as u64).div_ceil(u64::from(MAX_LIST_SIZE)).max(1);
    Ok((items, requests))
}

/// How many active items an app holds (one list request of one item); `None` when the
/// answer does not say.
///
/// # Errors
/// The client's error after its retries.
pub async fn count_items(client: &Client, app: &AppRef) -> Result<Option<u64>, ClientError> {
    let page = client.list_items(app, &ListRequest { active: true, from: 0, size: 1, filter: None }).await?;
    Ok((page.total > 0 || page.result.is_empty()).then_some(page.total))
}

/// Field types the platform's `tf` filter narrows (docs/platform.md §6); the others would list
/// every item for every key.
pub fn filterable(field: &Field) -> bool {
    matches!(field.kind, FieldType::String | FieldType::Text | FieldType::Link | FieldType::Integer)
}

/// How to map `keys` keys to ids in an app of `items` items (`None`: unknown): one exact
/// §6 look-up per key when that takes fewer requests than a paged scan (pages of 100),
/// else the scan. Returns whether to look up, and why.
pub fn choose_lookup(by: &Field, keys: usize, items: Option<u64>) -> (bool, String) {
    let Some(items) = items else {
        return (false, "paged scan (the app's item count is unknown)".into());
    };
    let pages = items.div_ceil(u64::from(MAX_LIST_SIZE)).max(1);
    if !filterable(by) {
        return (
            false,
            format!(
                "paged scan: {} cannot be filtered on, so look-ups would list every item",
                by.kind.as_str()
            ),
        );
    }
    if (keys as u64) < pages {
        (
            true,
            format!("{keys} exact look-up(s): fewer requests than a scan of {items} items ({pages} pages)"),
        )
    } else {
        (false, format!("paged scan of {items} items ({pages} request(s)): fewer than {keys} look-up(s)"))
    }
}

/// The items holding each of `keys` (comparable forms of `by` values), by exact §6
/// look-ups, eight in flight.
///
/// # Errors
/// The client's error after its retries.
pub async fn lookup_items(
    client: &Client,
    app: &AppRef,
    by: &Field,
    keys: &BTreeSet<String>,
) -> Result<Vec<Map>, ClientError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    // The look-ups are made from owned maps: futures made by a closure over borrowed keys
    // are not provably `Send` (a compiler limitation with higher-ranked lifetimes), and a
    // migration step, which waits on them, is spawned.
    let expected: Vec<Map> = keys
        .iter()
        .map(|k| {
            let value = match (by.kind, k.parse::<i64>()) {
                (FieldType::Integer, Ok(n)) => serde_json::Value::from(n),
                _ => serde_json::Value::String(k.clone()),
            };
            Map::from_iter([(by.code.clone(), value)])
        })
        .collect();
    let found: Vec<Vec<Map>> = stream::iter(
        expected.into_iter().map(|expected| async move { client.find_items(app, &[by], &expected).await }),
    )
    .buffer_unordered(8)
    .try_collect()
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Comparable key → ids of the items holding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdIndex {
    ids: HashMap<String, Vec<String>>,
}

impl IdIndex {
    /// Indexes `items` by their value of `field`.
    pub fn new(field: &Field, items: &[Map]) -> IdIndex {
        let mut ids: HashMap<String, Vec<String>> = HashMap::new();
        for item in items {
            let Some(id) = item.get("__id").and_then(|v| v.as_str()) else { continue };
            for k in item_keys(field, item.get(&field.code)) {
                let entry = ids.entry(k).or_default();
                if !entry.iter().any(|e| e == id) {
                    entry.push(id.to_string());
                }
            }
        }
        IdIndex { ids }
    }
}

/// The resolution of one reference column: the keys its cells name → item ids.
/// Journaled, so a resume resolves exactly as before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    /// The column.
    pub column: String,
    /// The referenced app.
    pub app: String,
    /// Its field whose values the cells hold (display name).
    pub by: String,
    /// Comparable key → the one item holding it.
    pub ids: BTreeMap<String, String>,
    /// Keys several items hold (cannot be resolved).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ambiguous: BTreeMap<String, Vec<String>>,
    /// Keys no item holds.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub missing: BTreeSet<String>,
    /// How the ids were found, and why that way.
    pub how: String,
}

impl IdMap {
    /// The map of `needed` keys from `index`.
    pub fn build(
        column: &str,
        app: &str,
        by: &Field,
        needed: &BTreeSet<String>,
        index: &IdIndex,
        how: String,
    ) -> IdMap {
        let mut map =
            IdMap { column: column.into(), app: app.into(), by: by.name.clone(), how, ..IdMap::default() };
        for k in needed {
            match index.ids.get(k).map(Vec::as_slice) {
                Some([one]) => {
                    map.ids.insert(k.clone(), one.clone());
                }
                Some(many) if many.len() > 1 => {
                    map.ambiguous.insert(k.clone(), many.to_vec());
                }
                _ => {
                    map.missing.insert(k.clone());
                }
            }
        }
        map
    }

    /// The cell text for one value: `[id]`, or why it cannot be resolved.
    fn resolve(&self, key: &str, shown: &str) -> Result<String, String> {
        if let Some(id) = self.ids.get(key) {
            return Ok(format!("[{id}]"));
        }
        if let Some(ids) = self.ambiguous.get(key) {
            return Err(format!("{} items of {} have {} {shown}", ids.len(), self.app, self.by));
        }
        Err(format!("no item of {} has {} {shown}", self.app, self.by))
    }
}

/// The distinct comparable keys each reference column of a step names.
///
/// # Errors
/// The file cannot be read.
pub fn needed_keys(step: &Step, bound: &Bound) -> Result<Vec<BTreeSet<String>>, MigrateError> {
    let sheet_err = |error| MigrateError::Sheet { path: step.file.clone(), error };
    let mut reader = elma_import_sheet::open(&step.file, &step.read_options()).map_err(sheet_err)?;
    let cols = ref_columns(reader.header(), bound);
    let mut out = vec![BTreeSet::new(); bound.refs.len()];
    while let Some(batch) = reader.next_batch().map_err(sheet_err)? {
        for row in &batch {
            for (k, c) in cols.iter().enumerate() {
                let Some(c) = c else { continue };
                let r = &bound.refs[k];
                for v in reference_values(row.get(*c).text, !r.field.single) {
                    if let Some(key) = cell_key(&r.by, v) {
                        out[k].insert(key);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn ref_columns(header: &Row, bound: &Bound) -> Vec<Option<usize>> {
    bound
        .refs
        .iter()
        .map(|r| {
            header.iter().position(|c| {
                bound
                    .schema
                    .field_for_header(c.text)
                    .is_some_and(|i| bound.schema.fields[i].code == r.field.code)
            })
        })
        .collect()
}

/// A reference cell that named no single item; its row is rejected by the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    /// Source row.
    pub row: u64,
    /// The column.
    pub column: String,
    /// The cell as written.
    pub value: String,
    /// Why.
    pub reason: String,
}

/// What writing a resolved copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The copy.
    pub path: PathBuf,
    /// Reference cells rewritten to ids.
    pub cells: u64,
    /// Cells that could not be resolved.
    pub unresolved: Vec<Unresolved>,
}

/// Writes the resolved copy of a step's file to `dir/resolved.csv` (or `.xlsx` for an
/// .xlsx source), atomically: every reference cell's values become `[id]` (comma-
/// separated for a multi-value field); a cell with a value no single item holds is
/// written as the reason (`no item of crm.companies has INN 7799`), which the run rejects
/// with that row. Rows keep their numbers: the copy has the same rows in the same order.
///
/// # Errors
/// The source cannot be read or the copy written.
pub fn write_resolved(
    step: &Step,
    bound: &Bound,
    maps: &[IdMap],
    dir: &Path,
) -> Result<Resolved, MigrateError> {
    let sheet_err = |path: &Path, error| MigrateError::Sheet { path: path.to_path_buf(), error };
    let mut reader =
        elma_import_sheet::open(&step.file, &step.read_options()).map_err(|e| sheet_err(&step.file, e))?;
    let format = reader.format();
    let ext = if format == Format::Xlsx { "xlsx" } else { "csv" };
    let path = dir.join(format!("resolved.{ext}"));
    let tmp = dir.join(format!("resolved.tmp.{ext}"));
    let cols = ref_columns(reader.header(), bound);
    let mut writer =
        elma_import_sheet::create(&tmp, format, &WriteOptions::default()).map_err(|e| sheet_err(&tmp, e))?;
    writer.write_row(reader.header()).map_err(|e| sheet_err(&tmp, e))?;
    let mut out = Resolved { path: path.clone(), ..Resolved::default() };
    let mut next = 2u64;
    let mut copy = Row::new(0);
    while let Some(batch) = reader.next_batch().map_err(|e| sheet_err(&step.file, e))? {
        for row in &batch {
            while next < row.number {
                writer.write_row(&Row::new(next)).map_err(|e| sheet_err(&tmp, e))?;
                next += 1;
            }
            copy.clear(row.number);
            for (ci, cell) in row.iter().enumerate() {
                let Some(k) = cols.iter().position(|c| *c == Some(ci)) else {
                    copy.push(cell.kind, cell.text, cell.number);
                    continue;
                };
                let (r, map) = (&bound.refs[k], maps.iter().find(|m| m.column == bound.refs[k].column));
                let values = reference_values(cell.text, !r.field.single);
                if values.is_empty() {
                    copy.push_text("");
                    continue;
                }
                let mut parts = Vec::with_capacity(values.len());
                let mut reasons = Vec::new();
                for v in values {
                    let resolved = match (map, cell_key(&r.by, v)) {
                        (Some(m), Some(key)) => m.resolve(&key, v),
                        _ => Err(format!("no item of {} has {} {v}", r.app, r.by.name)),
                    };
                    match resolved {
                        Ok(id) => parts.push(id),
                        Err(reason) => reasons.push(reason),
                    }
                }
                if reasons.is_empty() {
                    out.cells += 1;
                    copy.push_text(&parts.join(","));
                } else {
                    let reason = reasons.join("; ");
                    out.unresolved.push(Unresolved {
                        row: row.number,
                        column: r.column.clone(),
                        value: cell.text.trim().to_string(),
                        reason: reason.clone(),
                    });
                    copy.push_text(&reason);
                }
            }
            writer.write_row(&copy).map_err(|e| sheet_err(&tmp, e))?;
            next = row.number + 1;
        }
    }
    writer.finish().map_err(|e| sheet_err(&tmp, e))?;
    let sync = || -> std::io::Result<()> {
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    sync().map_err(|e| MigrateError::io(format!("cannot write `{}`", path.display()), e))?;
    if !out.unresolved.is_empty() {
        write_unresolved(&dir.join("unresolved.csv"), &out.unresolved)?;
    }
    Ok(out)
}

fn write_unresolved(path: &Path, rows: &[Unresolved]) -> Result<(), MigrateError> {
    let io = |e: std::io::Error| MigrateError::io(format!("cannot write `{}`", path.display()), e);
    let file = elma_import_sheet::AtomicFile::create(path).map_err(io)?;
    let mut w = csv::Writer::from_writer(file);
    let csv = |e: csv::Error| MigrateError::io(format!("cannot write `{}`", path.display()), e.into());
    w.write_record(["row", "column", "value", "reason"]).map_err(csv)?;
    for u in rows {
        w.write_record([u.row.to_string().as_str(), &u.column, &u.value, &u.reason]).map_err(csv)?;
    }
    w.into_inner().map_err(|e| io(e.into_error()))?.finish().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use elma_import_contract::schema::AppSchema;
    use serde_json::json;

    use super::*;
    use crate::check::bind;
    use crate::spec::Migration;

    const COMPANIES: &str = r#"{"namespace":"crm","code":"companies","fields":[
        {"code":"__name","name":"Name","type":"STRING","required":true},
        {"code":"inn","name":"INN","type":"STRING","required":true}]}"#;
    const CONTACTS: &str = r#"{"namespace":"crm","code":"contacts","fields":[
        {"code":"__name","name":"Name","type":"STRING","required":true},
        {"code":"company","name":"Company","type":"SYS_COLLECTION"},
        {"code":"partners","name":"Partners","type":"SYS_COLLECTION","single":false}]}"#;

    fn item(id: &str, inn: &str) -> Map {
        json!({"__id": id, "__name": "x", "inn": inn}).as_object().unwrap().clone()
    }

    #[test]
    fn look_ups_only_when_they_take_fewer_requests_than_a_scan() {
        let inn = Field { required: true, ..Field::new("inn", "INN", FieldType::String) };
        assert!(choose_lookup(&inn, 3, Some(10_000)).0, "3 look-ups beat 100 pages");
        assert!(!choose_lookup(&inn, 300, Some(10_000)).0, "300 look-ups lose to 100 pages");
        assert!(!choose_lookup(&inn, 1, Some(50)).0, "one page is as cheap as one look-up");
        assert!(!choose_lookup(&inn, 1, None).0);
        let email = Field { kind: FieldType::Email, ..inn };
        let (lookup, why) = choose_lookup(&email, 1, Some(10_000));
        assert!(!lookup && why.contains("cannot be filtered"), "{why}");
    }

    #[test]
    fn the_copy_has_ids_in_the_same_rows_and_names_what_it_could_not_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join("contacts.csv"),
            "Name,Company,Partners\nAnn,7701,\"7702, 7701\"\n,,\nBob,7799,\nCid,7703,7701\n",
        )
        .unwrap();
        let m = Migration::parse(
            &dir.join("m.toml"),
            "[[step]]\nfile = \"contacts.csv\"\napp = \"crm.contacts\"\nkey = \"Name\"\nreferences = { Company = { app = \"crm.companies\", by = \"INN\" }, Partners = { app = \"crm.companies\", by = \"INN\" } }\n",
        )
        .unwrap();
        let schemas: BTreeMap<String, AppSchema> = [COMPANIES, CONTACTS]
            .iter()
            .map(|s| {
                let a = AppSchema::from_json(s).unwrap();
                (a.id(), a)
            })
            .collect();
        let bound = bind(&m, &schemas).unwrap();
        let b = &bound[0];
        let needed = needed_keys(&m.steps[0], b).unwrap();
        assert_eq!(needed[0].iter().collect::<Vec<_>>(), ["7701", "7703", "7799"]);
        assert_eq!(needed[1].iter().collect::<Vec<_>>(), ["7701", "7702"]);
        let index = IdIndex::new(
            &b.refs[0].by,
            &[item("a1", "7701"), item("a2", "7702"), item("a3", "7703"), item("a4", "7703")],
        );
        let maps: Vec<IdMap> = b
            .refs
            .iter()
            .zip(&needed)
            .map(|(r, n)| IdMap::build(&r.column, &r.app, &r.by, n, &index, "scan".into()))
            .collect();
        assert_eq!(maps[0].missing.iter().collect::<Vec<_>>(), ["7799"]);
        assert_eq!(maps[0].ambiguous["7703"], ["a3", "a4"]);
        let out = write_resolved(&m.steps[0], b, &maps, dir).unwrap();
        let text = std::fs::read_to_string(dir.join("resolved.csv")).unwrap();
        assert_eq!(
            text,
            "Name,Company,Partners\nAnn,[a1],\"[a2],[a1]\"\n,,\nBob,no item of crm.companies has INN 7799,\n\
             Cid,2 items of crm.companies have INN 7703,[a1]\n"
        );
        assert_eq!(out.cells, 3);
        let rows: Vec<u64> = out.unresolved.iter().map(|u| u.row).collect();
        assert_eq!(rows, [4, 5], "source row numbers");
        assert!(dir.join("unresolved.csv").exists());
    }

    #[test]
    fn an_xlsx_copy_resolves_number_key_cells_and_keeps_row_numbers_across_a_gap() {
        use elma_import_sheet::CellKind;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let src = dir.join("contacts.xlsx");
        let mut w = elma_import_sheet::create(&src, Format::Xlsx, &WriteOptions::default()).unwrap();
        w.write_row(&Row::from_texts(1, ["Name", "Company", "Partners"])).unwrap();
        let mut r = Row::new(2);
        r.push_text("Ann");
        r.push(CellKind::Number, "7701", 7701.0);
        r.push_text("");
        w.write_row(&r).unwrap();
        w.write_row(&Row::new(3)).unwrap();
        w.write_row(&Row::from_texts(4, ["Bob", "7702", "7701,7702"])).unwrap();
        w.finish().unwrap();
        let m = Migration::parse(
            &dir.join("m.toml"),
            "[[step]]\nfile = \"contacts.xlsx\"\napp = \"crm.contacts\"\nkey = \"Name\"\nreferences = { Company = { app = \"crm.companies\", by = \"INN\" }, Partners = { app = \"crm.companies\", by = \"INN\" } }\n",
        )
        .unwrap();
        let schemas: BTreeMap<String, AppSchema> = [COMPANIES, CONTACTS]
            .iter()
            .map(|s| {
                let a = AppSchema::from_json(s).unwrap();
                (a.id(), a)
            })
            .collect();
        let bound = bind(&m, &schemas).unwrap();
        let b = &bound[0];
        let needed = needed_keys(&m.steps[0], b).unwrap();
        let index = IdIndex::new(&b.refs[0].by, &[item("a1", "7701"), item("a2", "7702")]);
        let maps: Vec<IdMap> = b
            .refs
            .iter()
            .zip(&needed)
            .map(|(r, n)| IdMap::build(&r.column, &r.app, &r.by, n, &index, "scan".into()))
            .collect();
        let out = write_resolved(&m.steps[0], b, &maps, dir).unwrap();
        assert_eq!(out.path, dir.join("resolved.xlsx"));
        assert!(out.unresolved.is_empty(), "{:?}", out.unresolved);
        let mut reader = elma_import_sheet::open(&out.path, &Default::default()).unwrap();
        let mut rows = Vec::new();
        while let Some(batch) = reader.next_batch().unwrap() {
            rows.extend(batch.into_iter().filter(|r| !r.is_blank()));
        }
        let texts: Vec<(u64, Vec<String>)> =
            rows.iter().map(|r| (r.number, r.iter().map(|c| c.text.to_string()).collect())).collect();
        assert_eq!(
            texts,
            [
                (2, vec!["Ann".into(), "[a1]".into()]),
                (4, vec!["Bob".into(), "[a2]".into(), "[a1],[a2]".into()])
            ]
        );
    }
}
