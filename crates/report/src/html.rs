//! HTML text: escaping, numbers and durations for people, and the page's shell (inline
//! CSS and script, a content security policy that lets nothing load from anywhere).

use std::fmt::Write;

/// The page's style sheet.
const CSS: &str = include_str!("page.css");
/// The page's script: sorting and filtering of tables already rendered (the page reads
/// the same without it).
const JS: &str = include_str!("page.js");

/// `text` with `& < > " '` escaped, for element content and attribute values alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1,234,567`, as the rest of the tool writes counts.
pub fn count(n: u64) -> String {
    elma_import_chunk::plan::thousands(n)
}

/// `4.2 s`, `3 m 07 s`, `1 h 02 m`.
pub fn secs(s: f64) -> String {
    let s = if s.is_finite() { s.max(0.0) } else { 0.0 };
    if s < 60.0 {
        if s < 10.0 {
            format!("{s:.1} s")
        } else {
            format!("{s:.0} s")
        }
    } else if s < 3600.0 {
        let t = s.round() as u64;
        format!("{} m {:02} s", t / 60, t % 60)
    } else {
        let t = s.round() as u64;
        format!("{} h {:02} m", t / 3600, (t % 3600) / 60)
    }
}

/// An instant (seconds since the epoch) as `2026-12-01 10:15:03 UTC`.
pub fn when(at: f64) -> String {
    chrono::DateTime::from_timestamp_millis((at * 1000.0) as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A whole page: `title`, then `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + CSS.len() + JS.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing is fetched: no fonts, scripts, images or frames from anywhere.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'unsafe-inline'; img-src data:\">\n",
    );
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>\n<body>");
    out.push_str(body);
    let _ = writeln!(out, "<script>\n{JS}</script>\n</body>\n</html>");
    out
}

/// `(label, value)` pairs, laid out in columns.
pub fn facts(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<div><dt>{}</dt><dd>{}</dd></div>", esc(k), esc(v));
    }
    out.push_str("</dl>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_read_well() {
        assert_eq!(esc(r#"<b a="x">'&'</b>"#), "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(secs(4.23), "4.2 s");
        assert_eq!(secs(187.0), "3 m 07 s");
        assert_eq!(secs(3725.0), "1 h 02 m");
        assert_eq!(when(0.0), "1970-01-01 00:00:00 UTC");
    }
}
