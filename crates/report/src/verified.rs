//! The result of `elma-import verify` on the page: counts by verdict per file, the columns
//! that differ, and the first diff lines (`verify.csv` has them all).

use std::fmt::Write;

use elma_import_verify::Verification;

use crate::html::{count, esc, secs, when};

/// The section's HTML.
pub(crate) fn html(v: &Verification) -> String {
    let mut out = String::new();
    let class = if v.all_matched() { "outcome" } else { "outcome bad" };
    let _ = writeln!(out, "<p class=\"{class}\">{}</p>", esc(&v.sentence()));
    let _ = writeln!(
        out,
        "<p class=\"muted\">Verified {} ({}, {} request(s)); date-times compared as instants, e-mails without case, \
         phones by digits, money with its currency{}.</p>",
        esc(&when(v.at)),
        esc(&secs(v.wall_secs)),
        count(v.requests),
        if v.links_checked > 0 { ", links by the parent's key" } else { "" }
    );
    out.push_str(
        "<table id=\"verify-counts\" class=\"sortable-table\"><thead><tr><th>file</th><th>app</th><th>key</th>\
         <th class=\"n\">rows</th><th class=\"n\">items</th><th class=\"n\">matched</th><th class=\"n\">missing</th>\
         <th class=\"n\">differ</th><th class=\"n\">extra</th><th class=\"n\">ambiguous</th><th class=\"n\">invalid</th>\
         <th class=\"n\">there before</th><th class=\"n\">links checked</th></tr></thead><tbody>\n",
    );
    for s in &v.steps {
        let c = &s.counts;
        let file = s.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&s.source.display().to_string()),
            esc(&file),
            esc(&s.app),
            esc(&s.key_column),
            count(s.rows),
            count(s.items),
            count(c.matched),
            count(c.missing),
            count(c.differs),
            count(c.extra),
            count(c.ambiguous),
            count(c.invalid),
            count(c.before),
            count(s.links_checked)
        );
    }
    out.push_str("</tbody></table>\n");
    let columns: Vec<(&str, &str, u64)> = v
        .steps
        .iter()
        .flat_map(|s| s.columns.iter().map(move |c| (s.app.as_str(), c.column.as_str(), c.differs)))
        .collect();
    if !columns.is_empty() {
        out.push_str("<h3>Rows differing, by column</h3><table id=\"verify-columns\" class=\"sortable-table\"><thead><tr><th>app</th><th>column</th><th class=\"n\">rows</th></tr></thead><tbody>\n");
        for (app, column, n) in columns {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(app),
                esc(column),
                count(n)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let total: u64 = v.steps.iter().map(|s| s.lines_total).sum();
    if total == 0 {
        return out;
    }
    let shown: usize = v.steps.iter().map(|s| s.lines.len()).sum();
    let many = v.steps.len() > 1;
    out.push_str("<h3>Differences</h3><div class=\"scroll\"><table id=\"verify-diff\" class=\"data sortable-table\"><thead><tr>");
    if many {
        out.push_str("<th>app</th>");
    }
    out.push_str("<th class=\"n\">row</th><th>key</th><th>column</th><th>source</th><th>platform</th><th>verdict</th></tr></thead><tbody>\n");
    for s in &v.steps {
        for l in &s.lines {
            out.push_str("<tr>");
            if many {
                let _ = write!(out, "<td>{}</td>", esc(&s.app));
            }
            let verdict = l.verdict.as_str();
            let _ = writeln!(
                out,
                "<td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"v-{verdict}\">{verdict}</td></tr>",
                l.row.map(|r| r.to_string()).unwrap_or_default(),
                esc(&l.key),
                esc(&l.column),
                esc(&l.source),
                esc(&l.platform),
            );
        }
    }
    out.push_str("</tbody></table></div>\n");
    let file = v.diff_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "verify.csv".into());
    if (shown as u64) < total {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {} of {} lines; <code>{}</code> has every one.</p>",
            count(shown as u64),
            count(total),
            esc(&file)
        );
    } else {
        let _ = writeln!(out, "<p class=\"note\">Every line is in <code>{}</code> too.</p>", esc(&file));
    }
    out
}
