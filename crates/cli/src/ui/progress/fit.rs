//! A status line that fits the terminal: fields in a fixed order on the line, each with
//! a rank of importance; while the line is too wide the least important field goes
//! first (the rightmost of equals), so the line is never cut in the middle of a word.

/// How a field is joined to the field before it on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glue {
    /// A space (`[====>   ] 1,000/3,000 rows`).
    Space,
    /// ` · ` between two pieces of news.
    Dot,
    /// A space, and the field after it joins by a space too (a bar before the news it
    /// shows: `[====>   ] chunk 2/6 importing`).
    Lead,
}

/// A piece of a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What it says.
    pub text: String,
    /// How much it matters: the field with the lowest rank is dropped first.
    pub rank: u8,
    /// How it joins the field before it.
    pub glue: Glue,
}

impl Field {
    /// A field joined by ` · `.
    pub fn dot(rank: u8, text: impl Into<String>) -> Field {
        Field { text: text.into(), rank, glue: Glue::Dot }
    }

    /// A field joined by a space.
    pub fn space(rank: u8, text: impl Into<String>) -> Field {
        Field { text: text.into(), rank, glue: Glue::Space }
    }

    /// A field joined by a space, the field after it joined by a space too.
    pub fn lead(rank: u8, text: impl Into<String>) -> Field {
        Field { text: text.into(), rank, glue: Glue::Lead }
    }
}

/// The width of `text` in terminal columns (every character of the tool's own lines
/// takes one).
fn width(text: &str) -> usize {
    text.chars().count()
}

/// The fields joined in their order, as many as fit in `width` columns: the least
/// important dropped first. When even the most important alone is too wide it is cut
/// with `…`.
pub fn fit(fields: &[Field], columns: usize) -> String {
    let mut kept: Vec<&Field> = fields.iter().filter(|f| !f.text.is_empty()).collect();
    loop {
        let line = join(&kept);
        if width(&line) <= columns || kept.len() <= 1 {
            return cut(line, columns);
        }
        // The least important; of equals the rightmost.
        let drop = kept
            .iter()
            .enumerate()
            .min_by_key(|(i, f)| (f.rank, std::cmp::Reverse(*i)))
            .map_or(0, |(i, _)| i);
        kept.remove(drop);
    }
}

fn join(fields: &[&Field]) -> String {
    let mut line = String::new();
    let mut before: Option<Glue> = None;
    for f in fields {
        match before {
            None => {}
            Some(Glue::Lead) => line.push(' '),
            Some(_) => line.push_str(if f.glue == Glue::Dot { " · " } else { " " }),
        }
        line.push_str(&f.text);
        before = Some(f.glue);
    }
    line
}

fn cut(line: String, columns: usize) -> String {
    if width(&line) <= columns {
        return line;
    }
    let mut out: String = line.chars().take(columns.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        vec![
            Field::lead(4, "[====>     ]"),
            Field::space(5, "1,000/3,000 rows"),
            Field::dot(7, "chunk 2/6 importing"),
            Field::dot(9, "eta 1m 10s"),
            Field::dot(2, "412 rows/s"),
            Field::dot(1, "elapsed 1m 02s"),
        ]
    }

    #[test]
    fn a_wide_terminal_gets_every_field_in_order() {
        assert_eq!(
            fit(&fields(), 120),
            "[====>     ] 1,000/3,000 rows · chunk 2/6 importing · eta 1m 10s · 412 rows/s · elapsed 1m 02s"
        );
    }

    #[test]
    fn the_least_important_fields_go_first_and_the_eta_last() {
        let all = fields();
        let full = fit(&all, 1000).chars().count();
        // One column short: the elapsed time goes, nothing is cut.
        assert_eq!(
            fit(&all, full - 1),
            "[====>     ] 1,000/3,000 rows · chunk 2/6 importing · eta 1m 10s · 412 rows/s"
        );
        assert_eq!(fit(&all, 64), "[====>     ] 1,000/3,000 rows · chunk 2/6 importing · eta 1m 10s");
        assert_eq!(fit(&all, 63), "1,000/3,000 rows · chunk 2/6 importing · eta 1m 10s");
        // A bar leads what follows it, whatever was dropped between.
        let no_rows: Vec<Field> = all.iter().filter(|f| !f.text.ends_with("rows")).cloned().collect();
        assert_eq!(
            fit(&no_rows, 80),
            "[====>     ] chunk 2/6 importing · eta 1m 10s · 412 rows/s · elapsed 1m 02s"
        );
        assert_eq!(fit(&all, 40), "chunk 2/6 importing · eta 1m 10s");
        assert_eq!(fit(&all, 20), "eta 1m 10s");
        for columns in 10..130 {
            let line = fit(&all, columns);
            assert!(line.chars().count() <= columns, "{columns}: {line}");
            assert!(line.contains("eta 1m 10s"), "{columns}: the eta is dropped last: {line}");
            assert!(!line.ends_with(' ') && !line.ends_with('·'), "{columns}: {line}");
        }
    }

    #[test]
    fn of_equal_fields_the_rightmost_goes_first_and_a_lone_field_is_cut_visibly() {
        let f = vec![Field::dot(1, "aaaa"), Field::dot(1, "bbbb")];
        assert_eq!(fit(&f, 6), "aaaa");
        assert_eq!(fit(&[Field::dot(9, "eta 1h 02m")], 6), "eta 1…");
        assert_eq!(fit(&[], 6), "");
        let empty_skipped = vec![Field::dot(1, "a"), Field::dot(5, ""), Field::dot(1, "b")];
        assert_eq!(fit(&empty_skipped, 80), "a · b");
    }
}
