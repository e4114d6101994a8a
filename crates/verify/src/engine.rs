//! The verification itself: read each file, list each app once, compare every item with
//! the row holding its key as the item arrives, then give every row its verdict.

use std::collections::{HashMap, HashSet};

use elma_import_client::{AppRef, Client, Map};
use elma_import_contract::schema::Field;
use elma_import_migrate::keys::item_keys;
use serde_json::Value;

use crate::compare::{compare, FieldDiff, LinkMaps};
use crate::diff::{DiffLine, DiffSink, Verdict};
use crate::error::VerifyError;
use crate::list::each_page;
use crate::source::{Index, Invalid, Part, RowRef};
use crate::target::Target;
use crate::{ColumnCount, Outcome, Watch, Watching, SAMPLE_LINES};

/// Most item ids named for an ambiguous key.
const IDS_SHOWN: usize = 5;

/// Verifies targets against the platform, reusing what one listing learned for the next
/// (a migration's parent ids, listed when the parent app is verified, serve its
/// children's links).
pub struct Verifier<'a> {
    client: &'a Client,
    watch: &'a dyn Watch,
    maps: LinkMaps,
    /// List requests in flight at once (2 by default: the next page while one is compared).
    pub pages_in_flight: usize,
}

/// Where the platform stands on one source row, while the items come.
#[derive(Debug, Default)]
struct Seen {
    /// Items holding the row's key, by part and row.
    found: Vec<Vec<u8>>,
    /// The differing fields of rows found once.
    diffs: HashMap<(u16, u32), Vec<FieldDiff>>,
    /// The id of the first item holding each row's key, as a UUID's 128 bits (0: none,
    /// or not a UUID: then in `first_text`), 16 bytes a row.
    first: Vec<Vec<u128>>,
    /// First ids that are no UUID.
    first_text: HashMap<(u16, u32), String>,
    /// The ids of the second and later items holding a row's key (ambiguous rows only).
    more: HashMap<(u16, u32), Vec<String>>,
    /// Extra items.
    extras: Vec<DiffLine>,
    fields: u64,
    links: u64,
    items: u64,
    /// Items of the runs' baselines met (there before, left out).
    before: u64,
}

fn client_err(what: String) -> impl FnOnce(elma_import_client::ClientError) -> VerifyError {
    move |source| VerifyError::Client { what, source: Box::new(source) }
}

impl<'a> Verifier<'a> {
    /// A verifier talking through `client`, telling `watch` how it goes.
    pub fn new(client: &'a Client, watch: &'a dyn Watch) -> Verifier<'a> {
        Verifier { client, watch, maps: LinkMaps::default(), pages_in_flight: 2 }
    }

    /// Verifies every target; the outcomes in the targets' order. Targets into one app
    /// with one key field (the steps of a migration that fill one app) are verified
    /// together against one listing, so one step's items are not extra to the other.
    /// Diff lines go to `diff`, target by target.
    ///
    /// # Errors
    /// A file that cannot be read, settings that do not fit, the platform after retries.
    pub async fn verify(
        &mut self,
        targets: &[Target],
        diff: &mut DiffSink,
    ) -> Result<Vec<Outcome>, VerifyError> {
        let mut groups: Vec<(String, String, Vec<usize>)> = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let key = t.key_field()?.code.clone();
            match groups.iter_mut().find(|(app, k, _)| *app == t.app && *k == key) {
                Some(g) => g.2.push(i),
                None => groups.push((t.app.clone(), key, vec![i])),
            }
        }
        let mut out: Vec<Option<Outcome>> = (0..targets.len()).map(|_| None).collect();
        for (g, (app, _, members)) in groups.iter().enumerate() {
            // Key fields of this app that later groups' links need: collected as it is listed.
            let later: Vec<Field> = groups[g + 1..]
                .iter()
                .flat_map(|(_, _, m)| m.iter())
                .flat_map(|&i| targets[i].links.iter())
                .filter(|l| &l.app == app && !self.maps.has(&l.app, &l.by))
                .map(|l| l.by.clone())
                .collect();
            let group: Vec<&Target> = members.iter().map(|&i| &targets[i]).collect();
            let outcomes = self.verify_app(&group, &later, diff).await?;
            for (&i, o) in members.iter().zip(outcomes) {
                out[i] = Some(o);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Lists `app` to map its ids to keys of `fields`.
    async fn scan(&mut self, app: &str, fields: &[Field]) -> Result<(), VerifyError> {
        let app_ref: AppRef = app.parse().map_err(|e| VerifyError::Config(format!("{e}")))?;
        for f in fields {
            self.maps.open(app, f);
        }
        let (maps, watch) = (&mut self.maps, self.watch);
        let mut on_page = |items: Vec<Map>, done: u64, total: u64| {
            for item in &items {
                maps.add(app, fields, item);
            }
            watch.on(&Watching::Listing { app, done, total, purpose: "links" });
        };
        each_page(self.client, &app_ref, self.pages_in_flight, &mut on_page)
            .await
            .map_err(client_err(format!("listing the items of {app} (to check links to it)")))?;
        Ok(())
    }

    async fn verify_app(
        &mut self,
        targets: &[&Target],
        collect: &[Field],
        diff: &mut DiffSink,
    ) -> Result<Vec<Outcome>, VerifyError> {
        let first = targets[0];
        let app = first.app.clone();
        let app_ref: AppRef = app.parse().map_err(|e| VerifyError::Config(format!("{e}")))?;
        let key = first.key_field()?.clone();
        let mut parts = Vec::new();
        for t in targets {
            let watch = self.watch;
            let mut progress = |done, total| watch.on(&Watching::Reading { file: &t.source, done, total });
            let part = tokio::task::block_in_place(|| Part::read(t, &mut progress))?;
            watch.on(&Watching::Read {
                file: &t.source,
                rows: part.rows_read,
                invalid: part.invalid.len() as u64,
            });
            parts.push(part);
        }
        // The parents' ids of every link, unless an earlier listing gave them.
        let mut wanted: Vec<(String, Vec<Field>)> = Vec::new();
        for l in targets.iter().flat_map(|t| t.links.iter()) {
            if self.maps.has(&l.app, &l.by) {
                continue;
            }
            match wanted.iter_mut().find(|(a, _)| *a == l.app) {
                Some((_, fields)) if !fields.iter().any(|f| f.code == l.by.code) => fields.push(l.by.clone()),
                Some(_) => {}
                None => wanted.push((l.app.clone(), vec![l.by.clone()])),
            }
        }
        for (parent, fields) in &wanted {
            self.scan(parent, fields).await?;
        }
        for f in collect {
            self.maps.open(&app, f);
        }
        let index = Index::new(&parts);
        let before: HashSet<&str> =
            targets.iter().flat_map(|t| t.before.iter().map(String::as_str)).collect();
        let mut seen = Seen {
            found: parts.iter().map(|p| vec![0u8; p.rows.len()]).collect(),
            first: parts.iter().map(|p| vec![0u128; p.rows.len()]).collect(),
            ..Seen::default()
        };
        {
            let (maps, watch) = (&mut self.maps, self.watch);
            let (parts, index, key, app, before) = (&parts, &index, &key, app.as_str(), &before);
            let mut on_page = |items: Vec<Map>, done: u64, total: u64| {
                for item in &items {
                    maps.add(app, collect, item);
                    let id = item.get("__id").and_then(Value::as_str).unwrap_or("");
                    if before.contains(id) {
                        seen.items += 1;
                        seen.before += 1;
                        continue;
                    }
                    take_item(item, parts, targets, index, key, maps, &mut seen);
                }
                watch.on(&Watching::Listing { app, done, total, purpose: "compare" });
            };
            each_page(self.client, &app_ref, self.pages_in_flight, &mut on_page)
                .await
                .map_err(client_err(format!("listing the items of {app}")))?;
        }
        let mut outcomes = Vec::new();
        for (p, (part, target)) in parts.iter().zip(targets).enumerate() {
            let mut o = verdicts(p as u16, part, target, &index, &mut seen, diff)?;
            if p == 0 {
                let extras = std::mem::take(&mut seen.extras);
                o.counts.extra = extras.len() as u64;
                o.counts.before = seen.before;
                for line in extras {
                    emit(&mut o, line, diff)?;
                }
                o.items = seen.items;
            }
            outcomes.push(o);
        }
        // Fields and links were counted per app: they go to the first target.
        if let Some(o) = outcomes.first_mut() {
            o.fields_compared = seen.fields;
            o.links_checked = seen.links;
        }
        Ok(outcomes)
    }
}

/// One item of the app: found by its key among the rows (and compared when one row holds
/// the key and the item is the first to), or extra.
fn take_item(
    item: &Map,
    parts: &[Part],
    targets: &[&Target],
    index: &Index,
    key: &Field,
    maps: &LinkMaps,
    seen: &mut Seen,
) {
    seen.items += 1;
    let keys = item_keys(key, item.get(&key.code));
    let id = item.get("__id").and_then(Value::as_str).unwrap_or("").to_string();
    let Some(rows) = keys.iter().map(|k| index.get(k)).find(|r| !r.is_empty()) else {
        let name = item.get("__name").and_then(Value::as_str).unwrap_or("").trim();
        let platform = if name.is_empty() { format!("[{id}]") } else { format!("{name} [{id}]") };
        seen.extras.push(DiffLine {
            row: None,
            key: keys.first().cloned().unwrap_or_default(),
            column: String::new(),
            source: String::new(),
            platform,
            verdict: Verdict::Extra,
        });
        return;
    };
    for &RowRef { part, index: i } in rows {
        let n = &mut seen.found[part as usize][i as usize];
        *n = n.saturating_add(1);
        let n = *n;
        let at = (part, i);
        if n == 1 {
            match uuid_bits(&id) {
                Some(bits) => seen.first[part as usize][i as usize] = bits,
                None => {
                    seen.first_text.insert(at, id.clone());
                }
            }
        } else {
            let more = seen.more.entry(at).or_default();
            if more.len() + 1 < IDS_SHOWN {
                more.push(id.clone());
            }
        }
        if rows.len() > 1 {
            continue;
        }
        if n == 1 {
            let t = targets[part as usize];
            let c = compare(&parts[part as usize], i as usize, item, &t.links, maps, t.options.time_zone);
            seen.fields += c.fields;
            seen.links += c.links;
            if !c.diffs.is_empty() {
                seen.diffs.insert(at, c.diffs);
            }
        } else {
            seen.diffs.remove(&at);
        }
    }
}

/// The 128 bits of a UUID written `8-4-4-4-12` (either case); `None` for any other id
/// and for the nil UUID.
fn uuid_bits(id: &str) -> Option<u128> {
    let b = id.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    u128::from_str_radix(&hex, 16).ok().filter(|n| *n != 0)
}

/// A UUID's text, lower case, from its bits.
fn uuid_text(bits: u128) -> String {
    let h = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Counts a line, keeps it for the page while there is room, writes it to the diff.
fn emit(o: &mut Outcome, line: DiffLine, diff: &mut DiffSink) -> Result<(), VerifyError> {
    diff.write(&line, &o.app)?;
    o.lines_total += 1;
    if o.lines.len() < SAMPLE_LINES {
        o.lines.push(line);
    }
    Ok(())
}

/// A source row that failed validation: counted, and its diff line written.
fn emit_invalid(o: &mut Outcome, bad: &Invalid, diff: &mut DiffSink) -> Result<(), VerifyError> {
    o.counts.invalid += 1;
    let line = DiffLine {
        row: Some(bad.row),
        key: bad.key.clone(),
        column: bad.header.clone(),
        source: bad.value.clone(),
        platform: String::new(),
        verdict: Verdict::Invalid,
    };
    emit(o, line, diff)
}

/// Every row's verdict, in row order, with its diff lines.
fn verdicts(
    p: u16,
    part: &Part,
    target: &Target,
    index: &Index,
    seen: &mut Seen,
    diff: &mut DiffSink,
) -> Result<Outcome, VerifyError> {
    let mut o = Outcome {
        label: target.label.clone(),
        app: target.app.clone(),
        source: target.source.clone(),
        run_dir: target.run_dir.clone(),
        key_column: target.key_column.clone(),
        time_zone: target.options.time_zone.to_string(),
        rows: part.rows_read,
        examples: part.examples.len() as u64,
        ..Outcome::default()
    };
    let mut per_column: Vec<u64> = vec![0; part.columns.len()];
    let mut invalid = part.invalid.iter().peekable();
    for (i, s) in part.rows.iter().enumerate() {
        while let Some(bad) = invalid.next_if(|b| b.row < s.row) {
            emit_invalid(&mut o, bad, diff)?;
        }
        let at = (p, i as u32);
        let found = seen.found[p as usize][i];
        let holders = index.get(&s.key);
        let line = |platform: String, verdict| DiffLine {
            row: Some(s.row),
            key: s.key.to_string(),
            column: String::new(),
            source: String::new(),
            platform,
            verdict,
        };
        if found == 0 {
            o.counts.missing += 1;
            emit(&mut o, line(String::new(), Verdict::Missing), diff)?;
        } else if found > 1 || holders.len() > 1 {
            o.counts.ambiguous += 1;
            let first = match seen.first[p as usize][i] {
                0 => seen.first_text.remove(&at),
                bits => Some(uuid_text(bits)),
            };
            let ids: Vec<String> =
                first.into_iter().chain(seen.more.remove(&at).unwrap_or_default()).collect();
            let mut text = format!(
                "{found} item(s): {}",
                ids.iter().map(|id| format!("[{id}]")).collect::<Vec<_>>().join(", ")
            );
            if usize::from(found) > ids.len() {
                text.push_str(", …");
            }
            if holders.len() > 1 {
                text.push_str(&format!("; the key is in {} source rows", holders.len()));
            }
            emit(&mut o, line(text, Verdict::Ambiguous), diff)?;
        } else if let Some(diffs) = seen.diffs.remove(&at) {
            o.counts.differs += 1;
            for d in diffs {
                per_column[d.column as usize] += 1;
                let column =
                    part.columns.get(d.column as usize).map(|c| c.header.clone()).unwrap_or_default();
                let line = DiffLine {
                    row: Some(s.row),
                    key: s.key.to_string(),
                    column,
                    source: d.source,
                    platform: d.platform,
                    verdict: Verdict::Differs,
                };
                emit(&mut o, line, diff)?;
            }
        } else {
            o.counts.matched += 1;
        }
    }
    for bad in invalid {
        emit_invalid(&mut o, bad, diff)?;
    }
    let mut columns: Vec<ColumnCount> = part
        .columns
        .iter()
        .zip(per_column)
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| ColumnCount { column: c.header.clone(), differs: n })
        .collect();
    columns.sort_by_key(|c| std::cmp::Reverse(c.differs));
    o.columns = columns;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_keep_in_16_bytes_and_come_back() {
        let id = "4FBA1C20-da56-48ee-82ba-fa6cb7a0fc69";
        assert_eq!(uuid_bits(id).map(uuid_text).as_deref(), Some("4fba1c20-da56-48ee-82ba-fa6cb7a0fc69"));
        for other in ["42", "00000000-0000-0000-0000-000000000000", "4fba1c20da5648ee82bafa6cb7a0fc69xxxx"] {
            assert_eq!(uuid_bits(other), None, "{other}");
        }
    }
}
