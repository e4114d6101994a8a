//! Counts of rows and errors for reports.

use std::collections::{HashMap, HashSet};

use elma_import_sheet::Row;
use serde::Serialize;

use crate::rules::{CellError, Rule};

/// Errors of one rule in one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// The column's header (empty for a column without one or beyond the header).
    pub header: String,
    /// The rule broken.
    pub rule: Rule,
    /// How many cells broke it.
    pub count: u64,
    /// How many of them `fix` would rewrite.
    pub fixable: u64,
    /// Row of the first such error.
    pub first_row: u64,
    /// Message of the first such error.
    pub example: String,
}

/// Rows and errors of a file, counted batch by batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Non-blank data rows checked.
    pub rows: u64,
    /// Rows without errors.
    pub valid: u64,
    /// Rows with at least one error.
    pub invalid: u64,
    /// Errors in all.
    pub errors: u64,
    /// Errors `fix` would rewrite.
    pub fixable: u64,
    /// Errors that mean the file's layout is wrong (data under a column without a
    /// header): the file is bad as a whole, not just some rows.
    pub file_errors: u64,
    /// Error counts per (header, rule), most frequent first.
    pub by_rule: Vec<RuleCount>,
    #[serde(skip)]
    index: HashMap<(String, Rule), usize>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary::default()
    }

    /// Counts a batch of rows and the errors [`crate::Validator::check_rows`] found in it.
    pub fn add(&mut self, rows: &[Row], errors: &[CellError]) {
        let checked = rows.iter().filter(|r| !r.is_blank()).count() as u64;
        let bad: HashSet<u64> = errors.iter().map(|e| e.row).collect();
        let invalid = bad.len() as u64;
        self.rows += checked;
        self.invalid += invalid;
        self.valid += checked.saturating_sub(invalid);
        for e in errors {
            self.errors += 1;
            let fixable = e.fix.is_some();
            self.fixable += u64::from(fixable);
            self.file_errors += u64::from(e.rule.is_file_level());
            let key = (e.header.clone(), e.rule);
            match self.index.get(&key) {
                Some(&i) => {
                    let c = &mut self.by_rule[i];
                    c.count += 1;
                    c.fixable += u64::from(fixable);
                    if e.row < c.first_row {
                        c.first_row = e.row;
                        c.example.clone_from(&e.message);
                    }
                }
                None => {
                    self.index.insert(key, self.by_rule.len());
                    self.by_rule.push(RuleCount {
                        header: e.header.clone(),
                        rule: e.rule,
                        count: 1,
                        fixable: u64::from(fixable),
                        first_row: e.row,
                        example: e.message.clone(),
                    });
                }
            }
        }
        self.sort();
    }

    /// Adds another summary's counts (e.g. of another part of the file).
    pub fn merge(&mut self, other: &Summary) {
        self.rows += other.rows;
        self.valid += other.valid;
        self.invalid += other.invalid;
        self.errors += other.errors;
        self.fixable += other.fixable;
        self.file_errors += other.file_errors;
        for c in &other.by_rule {
            let key = (c.header.clone(), c.rule);
            match self.index.get(&key) {
                Some(&i) => {
                    let mine = &mut self.by_rule[i];
                    mine.count += c.count;
                    mine.fixable += c.fixable;
                    if c.first_row < mine.first_row {
                        mine.first_row = c.first_row;
                        mine.example.clone_from(&c.example);
                    }
                }
                None => {
                    self.index.insert(key, self.by_rule.len());
                    self.by_rule.push(c.clone());
                }
            }
        }
        self.sort();
    }

    /// The `n` most frequent (header, rule) pairs.
    pub fn top(&self, n: usize) -> &[RuleCount] {
        &self.by_rule[..n.min(self.by_rule.len())]
    }

    /// Whether every row passed and the file's layout is sound.
    pub fn is_valid(&self) -> bool {
        self.invalid == 0 && self.file_errors == 0
    }

    fn sort(&mut self) {
        self.by_rule.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.first_row.cmp(&b.first_row))
                .then_with(|| a.header.cmp(&b.header))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        self.index.clear();
        for (i, c) in self.by_rule.iter().enumerate() {
            self.index.insert((c.header.clone(), c.rule), i);
        }
    }
}
