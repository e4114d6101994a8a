//! What the platform's answers mean: pure decisions, tested without HTTP or a clock.
//!
//! The steps (`step/`) talk to the platform and record events; every judgement of what
//! an answer or a look-up means is made here.
//!
//! The rules, in one place:
//! - A final answer is trusted as it is only when it adds up: `done`, imported + failed =
//!   rows sent, and every failed row named ([`adds_up`]).
//! - Otherwise the rows are looked up among the app's items. The platform's count of
//!   imported rows is a fact no look-up may overrule: a look-up that finds more or fewer
//!   rows than counted leaves the chunk unsettled ([`Settle::Unsettled`]), never "failed
//!   before any row" and never "landed". When the look-up agrees with the count, every
//!   row not found did not land, and is imported once more.
//! - An import that failed with nothing counted and nothing found started no row: it is
//!   started again, within the restart budget.
//! - `done` with no counts at all (0 imported, 0 failed, rows sent) counts nothing: the
//!   look-up alone decides, as after a lost answer.

use elma_import_client::{ImportResult, ImportStatus, RowError};

use crate::event::LostRow;

/// How rows are told apart among the items: by a key column, or by their whole content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatcherKind {
    /// By the key field.
    Key,
    /// By content.
    Content,
}

/// The platform's final answer for an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `done` or `failed`.
    pub status: ImportStatus,
    /// Rows imported, as counted.
    pub imported: u64,
    /// Rows failed, as counted.
    pub failed: u64,
    /// Row errors, rows as in the chunk file.
    pub errors: Vec<RowError>,
}

impl Answer {
    /// Whether the answer counts rows at all (`done` with 0 imported and 0 failed for a
    /// chunk of rows counts none).
    pub fn counts(&self, rows_sent: u64) -> bool {
        !(self.status == ImportStatus::Done && self.imported == 0 && self.failed == 0 && rows_sent > 0)
    }
}

/// Whether the answer can be taken as it is: `done`, imported + failed = rows sent, and
/// as many rows named among the errors as failed.
pub fn adds_up(answer: &Answer, rows_sent: u64, named: u64) -> bool {
    answer.status == ImportStatus::Done
        && answer.imported + answer.failed == rows_sent
        && answer.failed == named
}

/// What looking rows up found, by source row.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Looked {
    /// Found once among the items the run may have made.
    pub landed: Vec<u64>,
    /// Not found.
    pub absent: Vec<u64>,
    /// Cannot be told: no value to look up by, or found more than once.
    pub unknown: Vec<u64>,
}

/// What to do with a chunk whose rows were looked up.
#[derive(Debug, Clone, PartialEq)]
pub enum Settle {
    /// Nothing was imported: start the chunk's file again.
    Restart {
        /// Why.
        reason: String,
    },
    /// The rows are accounted for: landed, to be imported once more, or lost.
    Record {
        /// Rows in the app.
        landed: u64,
        /// Rows to import once more.
        retry: Vec<u64>,
        /// Rows that did not land and are not sent again, with why.
        lost: Vec<LostRow>,
    },
    /// The look-up cannot account for the rows: ask the user.
    Unsettled {
        /// Why.
        reason: String,
    },
}

/// Budgets left for a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Whether the chunk may be started again.
    pub restart: bool,
    /// Whether its missing rows may be imported once more.
    pub mend: bool,
}

/// Settles a chunk after the platform's final `answer`, from what looking its rows up
/// found (the rows the answer names as failed left out).
pub fn settle_answered(
    answer: &Answer,
    rows_sent: u64,
    rejected: u64,
    looked: Looked,
    budget: Budget,
) -> Settle {
    let found = looked.landed.len() as u64;
    if !answer.counts(rows_sent) {
        return settle_found(looked, budget, None);
    }
    if found != answer.imported {
        return Settle::Unsettled {
            reason: format!(
                "the platform counted {} row(s) imported, and looking the rows up among the app's items \
                 found {found}{}",
                answer.imported,
                if looked.unknown.is_empty() {
                    String::new()
                } else {
                    format!(" ({} cannot be told apart)", looked.unknown.len())
                }
            ),
        };
    }
    if found == 0 && rejected == 0 && answer.status == ImportStatus::Failed && budget.restart {
        return Settle::Restart {
            reason: format!("the import failed before any row landed: {}", first_reason(&answer.errors)),
        };
    }
    // The count and the look-up agree: every row not found did not land, including those
    // the look-up could not tell apart.
    let mut absent = looked.absent;
    absent.extend(looked.unknown);
    absent.sort_unstable();
    settle_found(Looked { landed: looked.landed, absent, unknown: Vec::new() }, budget, None)
}

/// Settles a chunk from the look-up alone (its start's answer was lost, or the answer
/// counts nothing): rows found landed, rows absent are imported once more. Rows that
/// cannot be told leave it unsettled; so does, by content, a found row after an absent
/// one (`order`: see [`in_file_order`]).
pub fn settle_found(looked: Looked, budget: Budget, order: Option<MatcherKind>) -> Settle {
    if !looked.unknown.is_empty() {
        return Settle::Unsettled {
            reason: format!(
                "{} row(s) cannot be told apart among the app's items (no value to look them up by, \
                 found more than once, or possibly stored reworded)",
                looked.unknown.len()
            ),
        };
    }
    if order == Some(MatcherKind::Content) && !in_file_order(&looked) {
        return Settle::Unsettled {
            reason: "by content, rows found come after rows not found (an import lands rows in order): \
                     their values may read differently on the platform"
                .into(),
        };
    }
    let landed = looked.landed.len() as u64;
    if budget.mend {
        return Settle::Record { landed, retry: looked.absent, lost: Vec::new() };
    }
    let lost = looked
        .absent
        .into_iter()
        .map(|row| LostRow {
            row,
            message: "did not land, although it was imported once more: check the platform's logs".into(),
        })
        .collect();
    Settle::Record { landed, retry: Vec::new(), lost }
}

/// Whether the rows found are the first rows of the chunk, as an import that stopped part
/// way leaves them: by content, a row that reads differently on the platform is never
/// found, so a found row after an absent one means the matching, not the import, missed.
pub fn in_file_order(looked: &Looked) -> bool {
    match (looked.landed.iter().max(), looked.absent.iter().min()) {
        (Some(last_found), Some(first_absent)) => last_found < first_absent,
        _ => true,
    }
}

/// What a start request's answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// The import runs under this id.
    Running(String),
    /// Another import holds the app: nothing started.
    Blocked,
    /// An answer without an import id: it may or may not have started.
    Unclear(String),
}

/// Judges a start request's answer.
pub fn judge_started(result: &ImportResult) -> Started {
    if result.status == ImportStatus::Blocked {
        return Started::Blocked;
    }
    match &result.id {
        Some(id) if !id.trim().is_empty() => Started::Running(id.clone()),
        _ => Started::Unclear(format!("the start answered `{}` without an import id", result.status)),
    }
}

fn first_reason(errors: &[RowError]) -> &str {
    errors.first().map_or("no reason given", |e| e.message.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: ImportStatus, imported: u64, failed: u64) -> Answer {
        Answer { status, imported, failed, errors: Vec::new() }
    }

    fn looked(landed: &[u64], absent: &[u64], unknown: &[u64]) -> Looked {
        Looked { landed: landed.to_vec(), absent: absent.to_vec(), unknown: unknown.to_vec() }
    }

    const ALL: Budget = Budget { restart: true, mend: true };

    #[test]
    fn an_answer_adds_up_only_when_done_and_every_row_is_counted_and_every_failure_named() {
        assert!(adds_up(&answer(ImportStatus::Done, 8, 2), 10, 2));
        assert!(!adds_up(&answer(ImportStatus::Done, 8, 2), 10, 1));
        assert!(!adds_up(&answer(ImportStatus::Done, 8, 1), 10, 1));
        assert!(!adds_up(&answer(ImportStatus::Failed, 10, 0), 10, 0));
    }

    #[test]
    fn a_look_up_that_finds_more_than_the_platform_counted_leaves_the_chunk_unsettled() {
        // Regression: repeated keys found 1,906 "landed" where the platform counted 953;
        // the run exited 0 with 949 rows missing.
        let s = settle_answered(
            &answer(ImportStatus::Failed, 2, 0),
            6,
            0,
            looked(&[2, 3, 4, 5], &[6, 7], &[]),
            ALL,
        );
        assert!(
            matches!(&s, Settle::Unsettled { reason } if reason.contains("counted 2") && reason.contains("found 4")),
            "{s:?}"
        );
    }

    #[test]
    fn a_look_up_that_finds_nothing_where_the_platform_counted_rows_never_restarts_the_chunk() {
        // Regression: a zone difference made content look-ups find nothing; the chunk was
        // judged "failed before any row" and sent again, doubling 320 rows.
        let s =
            settle_answered(&answer(ImportStatus::Failed, 320, 0), 1000, 0, looked(&[], &[2, 3], &[]), ALL);
        assert!(matches!(s, Settle::Unsettled { .. }), "{s:?}");
    }

    #[test]
    fn nothing_counted_and_nothing_found_restarts_within_the_budget() {
        let mut a = answer(ImportStatus::Failed, 0, 0);
        a.errors.push(RowError { row: 0, column: String::new(), message: "the file expired".into() });
        let s = settle_answered(&a, 3, 0, looked(&[], &[2, 3, 4], &[]), ALL);
        assert!(matches!(&s, Settle::Restart { reason } if reason.contains("the file expired")), "{s:?}");
        let s =
            settle_answered(&a, 3, 0, looked(&[], &[2, 3, 4], &[]), Budget { restart: false, mend: true });
        assert_eq!(s, Settle::Record { landed: 0, retry: vec![2, 3, 4], lost: vec![] });
    }

    #[test]
    fn when_the_count_and_the_look_up_agree_every_row_not_found_is_sent_once_more() {
        let s =
            settle_answered(&answer(ImportStatus::Failed, 2, 0), 5, 0, looked(&[2, 3], &[5], &[4, 6]), ALL);
        assert_eq!(s, Settle::Record { landed: 2, retry: vec![4, 5, 6], lost: vec![] });
        let s = settle_answered(
            &answer(ImportStatus::Failed, 2, 0),
            5,
            0,
            looked(&[2, 3], &[5], &[4, 6]),
            Budget { restart: true, mend: false },
        );
        let lost: Vec<u64> = match s {
            Settle::Record { lost, retry, .. } if retry.is_empty() => lost.iter().map(|l| l.row).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(lost, [4, 5, 6]);
    }

    #[test]
    fn done_without_counts_is_settled_by_the_look_up() {
        let a = answer(ImportStatus::Done, 0, 0);
        assert!(!a.counts(3));
        let s = settle_answered(&a, 3, 0, looked(&[2, 3], &[4], &[]), ALL);
        assert_eq!(s, Settle::Record { landed: 2, retry: vec![4], lost: vec![] });
    }

    #[test]
    fn without_counts_rows_that_cannot_be_told_and_content_out_of_order_are_unsettled() {
        assert!(matches!(settle_found(looked(&[2], &[3], &[4]), ALL, None), Settle::Unsettled { .. }));
        let out_of_order = looked(&[2, 5], &[3], &[]);
        assert!(matches!(
            settle_found(out_of_order.clone(), ALL, Some(MatcherKind::Content)),
            Settle::Unsettled { .. }
        ));
        assert!(matches!(settle_found(out_of_order, ALL, Some(MatcherKind::Key)), Settle::Record { .. }));
    }

    #[test]
    fn a_start_answer_is_running_blocked_or_unclear() {
        let mut r = ImportResult {
            id: Some("i-1".into()),
            status: ImportStatus::New,
            total: 0,
            processed: 0,
            imported: 0,
            failed: 0,
            errors: Vec::new(),
            extra: Default::default(),
        };
        assert_eq!(judge_started(&r), Started::Running("i-1".into()));
        r.id = None;
        assert!(matches!(judge_started(&r), Started::Unclear(_)));
        r.status = ImportStatus::Blocked;
        assert_eq!(judge_started(&r), Started::Blocked);
    }
}
