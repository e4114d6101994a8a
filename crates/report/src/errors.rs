//! `errors.csv` on the page: counts per column, rule and source over every line, and the
//! lines themselves as a table (`id="errors"`, one body row per line, the first
//! [`TABLE_ROWS`]; the file has them all), with filters the page's script drives.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::html::{count, esc};
use crate::ReportError;

/// Most lines of `errors.csv` the table holds; the page says so when there are more.
pub const TABLE_ROWS: usize = 5_000;

/// The columns of `errors.csv`, in order.
const COLUMNS: [&str; 8] = ["row", "column", "header", "value", "rule", "message", "fix", "source"];

/// Everything the page shows of one or more `errors.csv`.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    /// Lines over every file.
    pub total: u64,
    /// The first [`TABLE_ROWS`] lines: the app (in a migration) and the eight cells.
    rows: Vec<(String, [String; 8])>,
    /// Lines by (app, header, column letter).
    by_column: BTreeMap<(String, String, String), u64>,
    /// Lines by rule.
    by_rule: BTreeMap<String, u64>,
    /// Lines by source (`validation`, `platform`).
    by_source: BTreeMap<String, u64>,
    /// The files read.
    pub files: Vec<PathBuf>,
    /// Whether lines carry their app (a migration).
    with_app: bool,
}

impl Errors {
    /// Errors whose lines carry their app (a migration's steps).
    pub fn with_apps() -> Errors {
        Errors { with_app: true, ..Errors::default() }
    }

    /// Reads `path` (absent: nothing), its lines about `app`.
    pub fn add(&mut self, path: &Path, app: &str) -> Result<(), ReportError> {
        if !path.is_file() {
            return Ok(());
        }
        let bad = |e: csv::Error| ReportError::Read { path: path.to_path_buf(), message: e.to_string() };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(bad)?;
        let header = reader.headers().map_err(bad)?.clone();
        let at: Vec<Option<usize>> = COLUMNS
            .iter()
            .map(|c| header.iter().position(|h| h.trim_start_matches('\u{feff}') == *c))
            .collect();
        self.files.push(path.to_path_buf());
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(bad)? {
            self.total += 1;
            let cell = |i: usize| at[i].and_then(|p| record.get(p)).unwrap_or("").to_string();
            let (letter, head, rule, source) = (cell(1), cell(2), cell(4), cell(7));
            *self.by_column.entry((app.to_string(), head.clone(), letter.clone())).or_default() += 1;
            *self.by_rule.entry(rule.clone()).or_default() += 1;
            *self.by_source.entry(source.clone()).or_default() += 1;
            if self.rows.len() < TABLE_ROWS {
                self.rows.push((app.to_string(), std::array::from_fn(cell)));
            }
        }
        Ok(())
    }

    /// Lines by source: `(validation, platform, other)`.
    pub fn sources(&self) -> (u64, u64, u64) {
        let v = self.by_source.get("validation").copied().unwrap_or(0);
        let p = self.by_source.get("platform").copied().unwrap_or(0);
        (v, p, self.total - v - p)
    }

    /// The section's HTML.
    pub fn html(&self) -> String {
        let mut out = String::new();
        if self.total == 0 {
            out.push_str("<p>No errors: <code>errors.csv</code> lists no row.</p>\n");
            return out;
        }
        let (v, p, _) = self.sources();
        let _ = writeln!(
            out,
            "<p>{} line(s) in {}: {} found before sending, {} reported by the platform.</p>",
            count(self.total),
            self.files
                .iter()
                .map(|f| format!("<code>{}</code>", esc(&f.display().to_string())))
                .collect::<Vec<_>>()
                .join(", "),
            count(v),
            count(p)
        );
        out.push_str("<div class=\"grid\">\n");
        out.push_str(&self.column_counts());
        out.push_str(&counts_table("By rule", "rule", &self.by_rule));
        out.push_str(&counts_table("By source", "source", &self.by_source));
        out.push_str("</div>\n");
        out.push_str(&self.filters());
        out.push_str(&self.table());
        out
    }

    fn column_counts(&self) -> String {
        let mut rows: Vec<(&(String, String, String), &u64)> = self.by_column.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top = rows.first().map_or(1, |r| *r.1).max(1);
        let mut out = String::from(
            "<div><h3>By column</h3><table id=\"errors-by-column\" class=\"sortable-table\"><thead><tr>",
        );
        if self.with_app {
            out.push_str("<th>app</th>");
        }
        out.push_str(
            "<th>column</th><th>header</th><th class=\"n\">lines</th><th></th></tr></thead><tbody>\n",
        );
        for ((app, header, letter), n) in rows {
            let key = if header.is_empty() { letter } else { header };
            out.push_str("<tr>");
            if self.with_app {
                let _ = write!(out, "<td>{}</td>", esc(app));
            }
            let link = if key.is_empty() {
                String::from("(the whole row)")
            } else {
                format!("<a href=\"#column={}\">{}</a>", esc(&hash_escape(key)), esc(header))
            };
            let _ = writeln!(
                out,
                "<td>{}</td><td>{link}</td><td class=\"n\">{}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td></tr>",
                esc(letter),
                count(*n),
                (120 * n / top).max(1)
            );
        }
        out.push_str("</tbody></table></div>\n");
        out
    }

    fn filters(&self) -> String {
        let mut out = String::from("<form id=\"errors-filters\" class=\"filters\" hidden>\n");
        if self.with_app {
            let apps: std::collections::BTreeSet<&String> = self.by_column.keys().map(|k| &k.0).collect();
            out.push_str(&select("f-app", "app", apps.into_iter().map(String::as_str)));
        }
        let headers: std::collections::BTreeSet<&str> = self
            .by_column
            .keys()
            .map(|(_, h, l)| if h.is_empty() { l.as_str() } else { h.as_str() })
            .filter(|h| !h.is_empty())
            .collect();
        out.push_str(&select("f-column", "column", headers.into_iter()));
        out.push_str(&select("f-rule", "rule", self.by_rule.keys().map(String::as_str)));
        out.push_str(&select("f-source", "source", self.by_source.keys().map(String::as_str)));
        out.push_str(
            "<label for=\"f-q\">text</label><input id=\"f-q\" type=\"search\" placeholder=\"any text\">\n",
        );
        let _ = writeln!(
            out,
            "<span class=\"muted\">showing <b id=\"errors-shown\">{}</b> of {} row(s) in the table</span></form>",
            self.rows.len(),
            count(self.rows.len() as u64)
        );
        out
    }

    fn table(&self) -> String {
        let mut out = String::with_capacity(self.rows.len() * 200 + 1024);
        out.push_str("<div class=\"scroll\"><table id=\"errors\" class=\"data sortable-table\"><thead><tr>");
        if self.with_app {
            out.push_str("<th data-col=\"app\">app</th>");
        }
        for c in COLUMNS {
            let class = if c == "row" { " class=\"n\"" } else { "" };
            let _ = write!(out, "<th data-col=\"{c}\"{class}>{c}</th>");
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (app, cells) in &self.rows {
            out.push_str("<tr>");
            if self.with_app {
                let _ = write!(out, "<td>{}</td>", esc(app));
            }
            for (i, c) in cells.iter().enumerate() {
                if i == 0 {
                    let _ = write!(out, "<td class=\"n\">{}</td>", esc(c));
                } else {
                    let _ = write!(out, "<td>{}</td>", esc(c));
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
        if self.total > self.rows.len() as u64 {
            let _ = writeln!(
                out,
                "<p class=\"note\">The table holds the first {} of {} lines, to keep the page light; the counts above \
                 are over all of them, and <code>errors.csv</code> has every line.</p>",
                count(self.rows.len() as u64),
                count(self.total)
            );
        }
        out
    }
}

/// A value as it goes into the address after `#name=`.
fn hash_escape(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn select<'a>(id: &str, name: &str, values: impl Iterator<Item = &'a str>) -> String {
    let mut out =
        format!("<label for=\"{id}\">{name}</label><select id=\"{id}\"><option value=\"\">any</option>");
    for v in values {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", esc(v));
    }
    out.push_str("</select>\n");
    out
}

fn counts_table(title: &str, key: &str, counts: &BTreeMap<String, u64>) -> String {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out = format!("<div><h3>{}</h3><table class=\"sortable-table\"><thead><tr><th>{key}</th><th class=\"n\">lines</th></tr></thead><tbody>\n", esc(title));
    for (k, n) in rows {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{key}={}\">{}</a></td><td class=\"n\">{}</td></tr>",
            esc(&hash_escape(k)),
            esc(k),
            count(*n)
        );
    }
    out.push_str("</tbody></table></div>\n");
    out
}
