//! The invariant, checked against what the platform holds at the end of a seed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use elma_import_emulator::Emulator;
use elma_import_migrate::Report;
use elma_import_runner::Summary;
use serde_json::Value;

use crate::world::{Kind, World};

/// What the platform holds, by the simulation's mark of a source row (`Ref`), the items
/// that were there before the run left out.
pub struct Truth {
    children: HashMap<String, Vec<serde_json::Map<String, Value>>>,
    parents: HashMap<String, Vec<serde_json::Map<String, Value>>>,
    parents_by_id: HashMap<String, serde_json::Map<String, Value>>,
}

impl Truth {
    /// Reads both apps' items.
    pub fn of(emulator: &Emulator, preexisting: &[String]) -> Truth {
        let before: BTreeSet<&str> = preexisting.iter().map(String::as_str).collect();
        let by_ref = |app: &str| {
            let mut out: HashMap<String, Vec<serde_json::Map<String, Value>>> = HashMap::new();
            for item in emulator.items(app).unwrap_or_default() {
                let id = item.get("__id").and_then(Value::as_str).unwrap_or_default();
                if before.contains(id) {
                    continue;
                }
                let reference = item.get("ref").and_then(Value::as_str).unwrap_or_default().to_string();
                out.entry(reference).or_default().push(item);
            }
            out
        };
        let parents = by_ref("sim.parents");
        let parents_by_id = parents
            .values()
            .flatten()
            .filter_map(|p| Some((p.get("__id")?.as_str()?.to_ascii_lowercase(), p.clone())))
            .collect();
        Truth { children: by_ref("sim.children"), parents, parents_by_id }
    }

    /// Whether some child item of `reference` holds `name` other than written (stored
    /// reworded: a look-up by content cannot find it).
    pub fn child_reworded(&self, reference: &str, name: &str) -> bool {
        self.children.get(reference).is_some_and(|items| {
            items.iter().any(|i| i.get("__name").and_then(Value::as_str).is_some_and(|n| n != name))
        })
    }

    /// How many items of the children's app came from the row marked `reference`.
    pub fn children(&self, reference: &str) -> usize {
        self.children.get(reference).map_or(0, Vec::len)
    }

    fn parents(&self, reference: &str) -> usize {
        self.parents.get(reference).map_or(0, Vec::len)
    }
}

/// Source rows named in a run's `errors.csv` and `rejects.csv`, with the first reason.
fn named(run_dir: &Path) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for (file, reason_column) in [("errors.csv", 5), ("rejects.csv", usize::MAX)] {
        let Ok(mut reader) = csv::ReaderBuilder::new().flexible(true).from_path(run_dir.join(file)) else {
            continue;
        };
        for record in reader.records().flatten() {
            if let Some(row) = record.get(0).and_then(|r| r.parse::<u64>().ok()) {
                let reason = record.get(reason_column).unwrap_or(file).to_string();
                out.entry(row).or_insert(reason);
            }
        }
    }
    out
}

/// How the last execution ended, for the check: a run's summary, or a migration's report.
pub enum Last {
    /// A run completed.
    Run(Box<Summary>),
    /// A migration ended (completed or not).
    Migration(Box<Report>),
}

/// The broken invariants of `world` as it ended (`last`: the completed run's summary or
/// the migration's last report).
pub fn check(world: &World, root: &Path, truth: &Truth, last: Option<&Last>) -> Vec<String> {
    let mut v = Vec::new();
    match world.kind {
        Kind::Run => {
            let dir = root.join("runs").join("r1");
            let named = named(&dir);
            let completed = match last {
                Some(Last::Run(s)) => Some((s.all_imported(), true)),
                _ => None,
            };
            rows(
                &mut v,
                "children",
                world.children.iter().map(|c| c.reference.as_str()),
                &named,
                completed,
                |r| truth.children(r),
            );
        }
        Kind::Migration => {
            let report = match last {
                Some(Last::Migration(r)) => Some(r),
                _ => None,
            };
            let completed = report.filter(|r| r.status == "completed");
            let exit_zero = completed.is_some_and(|r| r.stop.is_none());
            let parents_named = named(&root.join("migration/steps/01-sim.parents"));
            let children_named = named(&root.join("migration/steps/02-sim.children"));
            let done = completed.map(|_| (exit_zero, true));
            rows(
                &mut v,
                "parents",
                world.parents.iter().map(|p| p.reference.as_str()),
                &parents_named,
                done,
                |r| truth.parents(r),
            );
            rows(
                &mut v,
                "children",
                world.children.iter().map(|c| c.reference.as_str()),
                &children_named,
                done,
                |r| truth.children(r),
            );
            links(&mut v, world, truth);
        }
    }
    v
}

/// The invariant over one file's rows: at most once; named rows absent; a completed run
/// accounts for every row; exit 0 only with every row in the app.
fn rows<'a>(
    v: &mut Vec<String>,
    what: &str,
    refs: impl Iterator<Item = &'a str>,
    named: &BTreeMap<u64, String>,
    completed: Option<(bool, bool)>,
    count: impl Fn(&str) -> usize,
) {
    for (i, reference) in refs.enumerate() {
        let row = i as u64 + 2;
        let n = count(reference);
        if n > 1 {
            v.push(format!("{what} row {row} ({reference}) is in the app {n} times"));
        }
        if let Some(reason) = named.get(&row) {
            if n > 0 {
                v.push(format!(
                    "{what} row {row} ({reference}) is named as not imported ({reason}) but is in the app"
                ));
            }
        }
        if let Some((exit_zero, _)) = completed {
            if n == 0 && !named.contains_key(&row) {
                v.push(format!(
                    "{what} row {row} ({reference}) is neither in the app nor named, yet the run completed"
                ));
            }
            if exit_zero && n != 1 {
                v.push(format!(
                    "the run exited 0 but {what} row {row} ({reference}) is in the app {n} times"
                ));
            }
        }
    }
}

/// Every child's link points to the parent item of the code its source row names.
fn links(v: &mut Vec<String>, world: &World, truth: &Truth) {
    for child in &world.children {
        for item in truth.children.get(&child.reference).into_iter().flatten() {
            let ids: Vec<String> = match item.get("parent") {
                Some(Value::Array(ids)) => {
                    ids.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect()
                }
                Some(Value::String(id)) => vec![id.to_ascii_lowercase()],
                _ => Vec::new(),
            };
            for id in ids {
                match truth.parents_by_id.get(&id) {
                    Some(parent) => {
                        let code = parent.get("code").and_then(Value::as_str).unwrap_or_default();
                        if code != child.parent {
                            v.push(format!(
                                "child {} links to a parent with code {code}, its row names {}",
                                child.reference, child.parent
                            ));
                        }
                    }
                    None => v.push(format!(
                        "child {} links to {id}, which is no parent item of the run",
                        child.reference
                    )),
                }
            }
        }
    }
}
