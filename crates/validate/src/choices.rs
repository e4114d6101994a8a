//! The options of a category field or the statuses of an app, looked up by name, code
//! or a name in another letter case.

use std::collections::HashMap;

use elma_import_contract::schema::Choice;

use crate::rules::Rule;

/// Options of a category or statuses of an app.
#[derive(Debug, Clone)]
pub(crate) struct Choices {
    /// (trimmed name, code) in schema order.
    pub items: Vec<(String, String)>,
    /// name → index, for long lists; short lists are scanned.
    by_name: Option<HashMap<String, usize>>,
}

const SCAN_LIMIT: usize = 12;

impl Choices {
    pub(crate) fn new(choices: &[Choice]) -> Choices {
        let items: Vec<(String, String)> =
            choices.iter().map(|c| (c.name.trim().to_string(), c.code.trim().to_string())).collect();
        let by_name = (items.len() > SCAN_LIMIT).then(|| {
            let mut map = HashMap::with_capacity(items.len());
            for (i, (name, _)) in items.iter().enumerate() {
                map.entry(name.clone()).or_insert(i);
            }
            map
        });
        Choices { items, by_name }
    }

    /// The choice named exactly `name`.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        match &self.by_name {
            Some(map) => map.get(name).copied(),
            None => self.items.iter().position(|(n, _)| n == name),
        }
    }

    /// The one choice `value` means when it is a code or a name in another letter case:
    /// `Ok((index, rule))`, or every candidate when there are several.
    pub(crate) fn resolve(&self, value: &str) -> Result<(usize, Rule), Vec<usize>> {
        let mut found: Vec<(usize, Rule)> = Vec::new();
        for (i, (name, code)) in self.items.iter().enumerate() {
            let rule = if code == value || unicase_eq(code, value) {
                Rule::OptionCode
            } else if unicase_eq(name, value) {
                Rule::OptionCase
            } else {
                continue;
            };
            found.push((i, rule));
        }
        match found.as_slice() {
            [one] => Ok(*one),
            _ => Err(found.into_iter().map(|(i, _)| i).collect()),
        }
    }

    pub(crate) fn listing(&self) -> String {
        let mut s = String::new();
        for (i, (name, _)) in self.items.iter().enumerate().take(10) {
            if i > 0 {
                s.push_str(", ");
            }
            s.push('`');
            s.push_str(name);
            s.push('`');
        }
        if self.items.len() > 10 {
            s.push_str(&format!(" and {} more", self.items.len() - 10));
        }
        if s.is_empty() {
            s.push_str("(none are configured)");
        }
        s
    }
}

/// Whether `a` and `b` are equal ignoring letter case (Cyrillic too).
pub(crate) fn unicase_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}
