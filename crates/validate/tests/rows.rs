//! Header checks, whole-file behaviour, parallel == sequential, fixes that pass, and
//! "exactly the bad cells are reported" on generated files.

use std::collections::BTreeSet;
use std::time::Instant;

use elma_import_contract::schema::AppSchema;
use elma_import_sheet::Row;
use elma_import_validate::{CellError, HeaderError, Options, Rule, Summary, Validator};
use proptest::prelude::*;

fn contacts() -> AppSchema {
    AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap()
}

fn orders() -> AppSchema {
    AppSchema::from_json(include_str!("../../../templates/logistics.orders.schema.json")).unwrap()
}

fn contacts_header() -> Row {
    Row::from_texts(1, contacts().fields.iter().map(|f| f.name.clone()))
}

fn contacts_validator() -> Validator {
    Validator::new(&contacts(), &contacts_header(), &Options::default()).unwrap()
}

#[test]
fn a_validator_is_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Validator>();
    shareable::<CellError>();
}

#[test]
fn valid_rows_leave_the_output_untouched() {
    let v = contacts_validator();
    let (rows, _) = generate(3, 1_000, usize::MAX);
    let mut out = Vec::new();
    rows.iter().for_each(|r| v.check_row(r, &mut out));
    assert!(out.is_empty());
    assert_eq!(out.capacity(), 0, "nothing was allocated for the output");
}

#[test]
fn headers_match_names_or_codes_in_any_case() {
    let header = Row::from_texts(1, ["  NAME ", "email", "Birth Date", "segment"]);
    let v = Validator::new(&contacts(), &header, &Options::default()).unwrap();
    let fields: Vec<Option<usize>> = v.columns().iter().map(|c| c.field).collect();
    assert_eq!(fields, vec![Some(0), Some(2), Some(4), Some(8)]);
    assert_eq!(v.columns()[0].header, "NAME");
}

#[test]
fn every_header_problem_is_reported_at_once() {
    let header = Row::from_texts(1, ["Number", "Nonsense", "number", "Owner account", "Ship date"]);
    let err = Validator::new(&orders(), &header, &Options::default()).unwrap_err();
    assert_eq!(err.0.len(), 4, "{err}");
    assert!(
        matches!(&err.0[0], HeaderError::UnknownColumn { column: 1, header, .. } if header == "Nonsense")
    );
    assert!(matches!(&err.0[1], HeaderError::DuplicateColumn { first: 0, column: 2, .. }));
    assert!(matches!(&err.0[2], HeaderError::AccountColumn { column: 3, .. }));
    assert!(matches!(&err.0[3], HeaderError::MissingRequired { code, .. } if code == "__name"));
    let text = err.to_string();
    assert!(text.contains("4 problems"), "{text}");
    assert!(text.contains("column 2 (B) `Nonsense`") && text.contains("logistics.orders"), "{text}");
    assert!(text.contains("columns 1 (A) `Number` and 3 (C) `number`"), "{text}");
    assert!(text.contains("the required field `Order`"), "{text}");
}

#[test]
fn unknown_columns_can_be_ignored() {
    let header = Row::from_texts(1, ["Name", "Nonsense"]);
    assert!(Validator::new(&contacts(), &header, &Options::default()).is_err());
    let options = Options { ignore_unknown: true, ..Options::default() };
    let v = Validator::new(&contacts(), &header, &options).unwrap();
    assert_eq!(v.columns()[1].field, None);
    let mut errors = Vec::new();
    v.check_row(&Row::from_texts(2, ["Anna", "anything at all"]), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let item = v.to_item(&Row::from_texts(2, ["Anna", "x"])).unwrap();
    assert_eq!(item.len(), 1);
}

#[test]
fn data_under_an_empty_header_makes_the_file_bad() {
    let header = Row::from_texts(1, ["Name", "", "Email"]);
    let v = Validator::new(&contacts(), &header, &Options::default()).unwrap();
    let rows = vec![
        Row::from_texts(2, ["Anna", "", "a@example.com"]),
        Row::from_texts(3, ["Bob", "stray", "b@example.com"]),
    ];
    let errors = v.check_rows(&rows);
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].row, errors[0].column, errors[0].rule), (3, Some(1), Rule::DataUnderEmptyHeader));
    assert!(errors[0].message.contains("column 2 (B) has no header"), "{}", errors[0].message);
    let mut summary = Summary::new();
    summary.add(&rows, &errors);
    assert_eq!(summary.file_errors, 1);
    assert!(!summary.is_valid());
}

#[test]
fn summary_counts_rows_and_errors_by_column_and_rule() {
    let v = contacts_validator();
    let rows = vec![
        Row::from_texts(2, ["Anna", "", "bad-email", "", "", "", "", "yes"]),
        Row::from_texts(3, ["", "", "worse", ""]),
        Row::from_texts(4, ["Carl"]),
        Row::from_texts(5, [""]),
        Row::from_texts(6, ["Dan", "", "", "", "", "", "", "no"]),
    ];
    let errors = v.check_rows(&rows);
    let mut summary = Summary::new();
    summary.add(&rows, &errors);
    assert_eq!((summary.rows, summary.valid, summary.invalid), (4, 1, 3));
    assert_eq!((summary.errors, summary.fixable, summary.file_errors), (5, 2, 0));
    let top: Vec<(&str, Rule, u64)> =
        summary.top(2).iter().map(|c| (c.header.as_str(), c.rule, c.count)).collect();
    assert_eq!(top, vec![("Active", Rule::BooleanWord, 2), ("Email", Rule::NotAnEmail, 2)]);
    assert_eq!(summary.by_rule.len(), 3);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["by_rule"][0]["rule"], "boolean_word");
    assert_eq!(json["by_rule"][0]["first_row"], 2);
    let mut twice = summary.clone();
    twice.merge(&summary);
    assert_eq!((twice.rows, twice.invalid, twice.by_rule[0].count), (8, 6, 4));
}

// ---- generated files ----------------------------------------------------------------

/// Per column of crm.contacts: valid values, and bad values with the rule they break.
/// Fixable values come with their rule too.
/// (valid values, bad values with their rule) of one column.
type Pool = (Vec<&'static str>, Vec<(&'static str, Rule)>);

fn pools() -> Vec<Pool> {
    vec![
        (vec!["Anna", "ООО Ромашка", "  padded  ", "12,5"], vec![("line\nbreak", Rule::LineBreak)]),
        (vec!["Rogers Sarah Jane", "", "Иванов"], vec![]),
        (
            vec!["name@example.com", "", "a.b@mail.example.ru"],
            vec![("name.example.com", Rule::NotAnEmail), ("na me@example.com", Rule::NotAnEmail)],
        ),
        (
            vec!["79125554433", "", "123456789012345"],
            vec![("555-44-33", Rule::NotAPhone), ("+7 (912) 555-44-33", Rule::PhoneFormat)],
        ),
        (
            vec!["04.07.1977 13:27", "29.02.2024", ""],
            vec![
                ("31.02.2001", Rule::InvalidDate),
                ("4/17/2022 3:27 PM", Rule::NotADate),
                ("2001-02-03", Rule::IsoDate),
                ("2001-02-03T13:27:00", Rule::IsoDate),
            ],
        ),
        (
            vec!["125.6", "125,6", "-3", ""],
            vec![("$125.60", Rule::NotANumber), ("125,6 руб.", Rule::NotANumber)],
        ),
        (vec!["27.37", "12,5", "0"], vec![("12,5 RUB", Rule::NotANumber), ("1e999", Rule::NotANumber)]),
        (
            vec!["true", "FALSE", ""],
            vec![("yes", Rule::BooleanWord), ("да", Rule::BooleanWord), ("maybe", Rule::NotABoolean)],
        ),
        (
            vec!["Courier delivery", "VIP", ""],
            vec![
                ("courier_delivery", Rule::OptionCode),
                ("courier DELIVERY", Rule::OptionCase),
                ("Curier", Rule::UnknownOption),
            ],
        ),
        (vec!["https://example.com", "http://a.b/c?d"], vec![("example.com", Rule::NotALink)]),
        (
            vec!["[29cadb73-8246-4f3d-9992-87a4a1ad20cf]", ""],
            vec![("29cadb73-8246-4f3d-9992-87a4a1ad20cf", Rule::BareUuid), ("[nope]", Rule::NotAUuidRef)],
        ),
        (
            vec!["[fd2af6d9-3e95-4896-9604-250929347acb]"],
            vec![("fd2af6d9-3e95-4896-9604-250929347acb", Rule::BareUuid)],
        ),
        (vec!["multi\nline text", "any"], vec![]),
    ]
}

/// A tiny deterministic generator, so a failing case can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` rows from row 2 with bad cells at a rate of 1 in `bad_one_in`; returns the
/// rows and the (row, column, rule) of every bad cell.
fn generate(seed: u64, count: usize, bad_one_in: usize) -> (Vec<Row>, BTreeSet<(u64, usize, Rule)>) {
    let pools = pools();
    let mut rng = Rng(seed | 1);
    let mut rows = Vec::with_capacity(count);
    let mut expected = BTreeSet::new();
    for i in 0..count {
        let number = i as u64 + 2;
        let mut row = Row::new(number);
        for (c, (good, bad)) in pools.iter().enumerate() {
            if !bad.is_empty() && rng.below(bad_one_in) == 0 {
                let (value, rule) = bad[rng.below(bad.len())];
                expected.insert((number, c, rule));
                row.push_text(value);
            } else {
                row.push_text(good[rng.below(good.len())]);
            }
        }
        rows.push(row);
    }
    (rows, expected)
}

fn reported(errors: &[CellError]) -> BTreeSet<(u64, usize, Rule)> {
    errors.iter().map(|e| (e.row, e.column.unwrap(), e.rule)).collect()
}

#[test]
fn exactly_the_bad_cells_are_reported() {
    let v = contacts_validator();
    for seed in [1, 7, 42, 2024] {
        let (rows, expected) = generate(seed, 3_000, 40);
        assert!(expected.len() > 100);
        let errors = v.check_rows(&rows);
        assert_eq!(errors.len(), expected.len(), "one error per bad cell, seed {seed}");
        assert_eq!(reported(&errors), expected, "seed {seed}");
        for e in &errors {
            assert_eq!(e.fix.is_some(), e.rule.is_fixable(), "{e}");
            assert_eq!(e.value, rows[(e.row - 2) as usize].get(e.column.unwrap()).text);
        }
    }
}

#[test]
fn every_pooled_valid_row_converts_to_an_item() {
    let v = contacts_validator();
    let (rows, expected) = generate(99, 2_000, usize::MAX);
    assert!(expected.is_empty());
    for row in &rows {
        let item = v.to_item(row).unwrap();
        assert!(item.contains_key("__name"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn parallel_check_equals_sequential(seed in any::<u64>(), count in 0usize..3_000, rate in 2usize..60) {
        let v = contacts_validator();
        let (rows, _) = generate(seed, count, rate);
        let mut sequential = Vec::new();
        for row in &rows {
            v.check_row(row, &mut sequential);
        }
        let parallel = v.check_rows(&rows);
        prop_assert_eq!(&parallel, &sequential);
        let order: Vec<(u64, usize)> = parallel.iter().map(|e| (e.row, e.column.unwrap())).collect();
        let mut sorted = order.clone();
        sorted.sort();
        prop_assert_eq!(order, sorted);
    }

    #[test]
    fn fixed_cells_pass(seed in any::<u64>(), rate in 2usize..10) {
        let v = contacts_validator();
        let (rows, _) = generate(seed, 200, rate);
        for row in &rows {
            let mut before = Vec::new();
            v.check_row(row, &mut before);
            match v.fix_row(row) {
                None => prop_assert!(before.iter().all(|e| e.fix.is_none())),
                Some((fixed, fixes)) => {
                    prop_assert_eq!(fixed.number, row.number);
                    let mut after = Vec::new();
                    v.check_row(&fixed, &mut after);
                    for f in &fixes {
                        prop_assert!(f.rule.is_fixable());
                        prop_assert!(after.iter().all(|e| e.column != Some(f.column)), "{:?} {:?}", f, after);
                    }
                    // Exactly the cells whose errors proposed a fix were rewritten, and
                    // nothing else changed.
                    let proposed: BTreeSet<usize> =
                        before.iter().filter(|e| e.fix.is_some()).map(|e| e.column.unwrap()).collect();
                    let made: BTreeSet<usize> = fixes.iter().map(|f| f.column).collect();
                    prop_assert_eq!(proposed, made);
                    let still: BTreeSet<(usize, Rule)> =
                        before.iter().filter(|e| e.fix.is_none()).map(|e| (e.column.unwrap(), e.rule)).collect();
                    let now: BTreeSet<(usize, Rule)> = after.iter().map(|e| (e.column.unwrap(), e.rule)).collect();
                    prop_assert_eq!(still, now);
                    if before.iter().all(|e| e.fix.is_some()) {
                        prop_assert!(v.to_item(&fixed).is_ok());
                    }
                }
            }
        }
    }
}

/// Run with `cargo test --release -p elma-import-validate --test validate rows:: -- --ignored --nocapture`.
#[test]
#[ignore = "timing, for information"]
fn timing_per_row() {
    let v = contacts_validator();
    let (rows, _) = generate(5, 200_000, usize::MAX);
    let mut out = Vec::new();
    let start = Instant::now();
    for _ in 0..5 {
        for row in &rows {
            v.check_row(row, &mut out);
        }
    }
    let seq = start.elapsed().as_nanos() as f64 / (5.0 * rows.len() as f64);
    assert!(out.is_empty());
    let start = Instant::now();
    for _ in 0..5 {
        assert!(v.check_rows(&rows).is_empty());
    }
    let par = start.elapsed().as_nanos() as f64 / (5.0 * rows.len() as f64);
    eprintln!(
        "check_row: {seq:.0} ns/row sequential; check_rows: {par:.0} ns/row ({:.2} M rows/s)",
        1e3 / par
    );
}

/// A large file read in ranges on several threads and checked by them gives exactly the
/// errors, with the same row numbers, as checking all its rows in one place.
#[test]
fn checking_while_reading_in_ranges_finds_what_check_rows_finds() {
    use elma_import_sheet::testing::open_csv_in_ranges;
    use elma_import_sheet::ReadOptions;

    let (rows, expected) = generate(11, 4_000, 30);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(contacts_header().iter().map(|c| c.text)).unwrap();
    for row in &rows {
        writer.write_record(row.iter().map(|c| c.text)).unwrap();
    }
    writer.flush().unwrap();
    let v = contacts_validator();
    let mut all = Vec::new();
    let options = ReadOptions { batch_rows: 300, ..ReadOptions::default() };
    for workers in [1, 2, 3] {
        let mut reader = open_csv_in_ranges(&path, &options, 7_000, workers).unwrap();
        v.check_while_reading(&mut reader);
        let mut found = Vec::new();
        while let Some((batch, errors)) = v.next_checked(&mut reader).unwrap() {
            assert!(
                errors.iter().all(|e| batch.iter().any(|r| r.number == e.row)),
                "errors of the batch's rows"
            );
            found.extend(errors);
            reader.recycle(batch);
        }
        assert_eq!(reported(&found), expected, "{workers} workers");
        let by_row: Vec<u64> = found.iter().map(|e| e.row).collect();
        assert!(by_row.windows(2).all(|w| w[0] <= w[1]), "errors in file order");
        all.push(found.iter().map(|e| (e.row, e.column, e.message.clone())).collect::<Vec<_>>());
    }
    let one_place: Vec<_> =
        v.check_rows(&rows).iter().map(|e| (e.row, e.column, e.message.clone())).collect();
    for found in all {
        assert_eq!(found, one_place);
    }
}
