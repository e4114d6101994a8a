//! Sample data for an app: rows valid under docs/formats.md, with a chosen share of rows
//! holding one known bad cell. Used by `elma-import demo`, the benchmarks and the tests.
//!
//! Deterministic: the same schema, options and seed give the same file.

use std::path::Path;

use elma_import_contract::schema::{AppSchema, Field, FieldType};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{Locale, TemplateError};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Data rows.
    pub rows: u64,
    /// Share of rows (0..=1) that get exactly one bad cell.
    pub bad_share: f64,
    /// Seed of the generator.
    pub seed: u64,
    /// Date and number formats.
    pub locale: Locale,
}

/// One bad cell planted in the sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantedError {
    /// Spreadsheet row (header = 1).
    pub row: u64,
    /// 0-based column.
    pub column: usize,
    /// The cell's text.
    pub value: String,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct SampleInfo {
    /// Data rows written.
    pub rows: u64,
    /// Every bad cell, in row order.
    pub planted: Vec<PlantedError>,
    /// Bytes written.
    pub bytes: u64,
}

const LAST: [&str; 8] = ["Ivanov", "Petrova", "Smith", "Rogers", "Kuznetsov", "Garcia", "Sokolova", "Novak"];
const FIRST: [&str; 8] = ["Ivan", "Maria", "John", "Sarah", "Alexei", "Lucia", "Olga", "Tomas"];
const MIDDLE: [&str; 4] = ["Ivanovich", "Jane", "Petrovna", "Lee"];

fn uuid_from(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

fn datetime(rng: &mut StdRng, locale: Locale, with_time: bool) -> String {
    let (y, m, d) = (rng.random_range(1950..2010), rng.random_range(1..=12u32), rng.random_range(1..=28u32));
    let (h, min) = (rng.random_range(0..24u32), rng.random_range(0..60u32));
    match (locale, with_time) {
        (Locale::Ru, true) => format!("{d:02}.{m:02}.{y} {h:02}:{min:02}"),
        (Locale::Ru, false) => format!("{d:02}.{m:02}.{y}"),
        (Locale::En, true) => {
            let (h12, ampm) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            format!("{m}/{d}/{y} {h12}:{min:02} {ampm}")
        }
        (Locale::En, false) => format!("{m}/{d}/{y}"),
    }
}

/// A valid value for `field` in data row `i` (0-based).
fn good(field: &Field, i: u64, rng: &mut StdRng, locale: Locale) -> String {
    let one = |rng: &mut StdRng| -> String {
        match field.kind {
            FieldType::String => {
                if field.code == "__name" || field.required {
                    format!("Contact {}", i + 1)
                } else {
                    format!("Value {}", rng.random_range(0..1000))
                }
            }
            FieldType::Text => {
                if i % 7 == 3 {
                    format!("Called on {}.\nAsked for a \"callback\", later; fine", i % 28 + 1)
                } else {
                    format!("Note {}", i + 1)
                }
            }
            FieldType::Integer => (i + 1).to_string(),
            FieldType::Float => format!("{}.{}", rng.random_range(0..500), rng.random_range(0..100)),
            FieldType::Money => format!("{}.{:02}", rng.random_range(0..100_000), rng.random_range(0..100)),
            FieldType::Boolean => if rng.random_bool(0.5) { "true" } else { "false" }.to_string(),
            FieldType::Datetime => datetime(rng, locale, true),
            FieldType::Date => datetime(rng, locale, false),
            FieldType::Enum => {
                let opts = &field.data.options;
                opts.get(rng.random_range(0..opts.len().max(1))).map(|o| o.name.clone()).unwrap_or_default()
            }
            FieldType::Status => {
                let s = &field.data.statuses;
                s.get(rng.random_range(0..s.len().max(1))).map(|o| o.name.clone()).unwrap_or_default()
            }
            FieldType::Phone => format!("7912{:07}", (i * 7919) % 10_000_000),
            FieldType::Email => format!("contact{}@example.com", i + 1),
            FieldType::FullName => format!(
                "{} {} {}",
                LAST[rng.random_range(0..LAST.len())],
                FIRST[rng.random_range(0..FIRST.len())],
                MIDDLE[rng.random_range(0..MIDDLE.len())]
            ),
            FieldType::Link => format!("https://example.com/contacts/{}", i + 1),
            FieldType::File => format!("scan-{}.pdf[{}]", i + 1, uuid_from(rng)),
            FieldType::Image => format!("photo-{}.png[{}]", i + 1, uuid_from(rng)),
            FieldType::SysUser | FieldType::SysCollection => format!("[{}]", uuid_from(rng)),
            FieldType::Table => r#"[{"rows":[],"result":{"__count":0},"view":""}]"#.to_string(),
            FieldType::Json => format!(r#"{{"n":{}}}"#, i + 1),
            FieldType::Account => String::new(),
        }
    };
    let first = one(rng);
    if !field.single && i % 5 == 1 && !matches!(field.kind, FieldType::Table | FieldType::Json) {
        let second = one(rng);
        if second != first {
            return format!("{first}, {second}");
        }
    }
    first
}

/// A value that breaks a rule of `field`'s type, if the type has one.
fn bad(field: &Field, rng: &mut StdRng) -> Option<String> {
    let v = match field.kind {
        FieldType::String if field.required => "   ".to_string(),
        FieldType::String => match field.data.max_length {
            Some(n) => "x".repeat(n + 1),
            None => return None,
        },
        FieldType::Text | FieldType::FullName | FieldType::Account => return None,
        FieldType::Integer => "27.5".to_string(),
        FieldType::Float => "12,5 RUB".to_string(),
        FieldType::Money => "$125.60".to_string(),
        FieldType::Boolean => ["yes", "да", "1"][rng.random_range(0..3)].to_string(),
        FieldType::Datetime => "31.02.2001 10:00".to_string(),
        FieldType::Date => "2001-13-45".to_string(),
        FieldType::Enum => "Unknown option".to_string(),
        FieldType::Status => "Nowhere".to_string(),
        FieldType::Phone => "+7 (912) 555-44-33".to_string(),
        FieldType::Email => {
            ["name.example.com", "name @example.com", "name@example"][rng.random_range(0..3)].to_string()
        }
        FieldType::Link => "example.com/page".to_string(),
        FieldType::File | FieldType::Image => "scan.pdf".to_string(),
        FieldType::SysUser | FieldType::SysCollection => "[not-a-uuid]".to_string(),
        FieldType::Table => "[{".to_string(),
        FieldType::Json => "{a:1}".to_string(),
    };
    Some(v)
}

/// Writes a sample .csv (UTF-8, `,`) for `schema`: header of display names, then rows.
/// ACCOUNT fields are left out, as in templates.
pub fn write_csv(
    schema: &AppSchema,
    path: &Path,
    options: &SampleOptions,
) -> Result<SampleInfo, TemplateError> {
    let io = |source| TemplateError::Io { path: path.to_path_buf(), source };
    let csv_err = |source| TemplateError::Csv { path: path.to_path_buf(), source };
    let fields: Vec<&Field> = schema.fields.iter().filter(|f| f.kind != FieldType::Account).collect();
    let breakable: Vec<usize> =
        (0..fields.len()).filter(|&c| bad(fields[c], &mut StdRng::seed_from_u64(0)).is_some()).collect();
    let file = elma_import_sheet::AtomicFile::create(path).map_err(io)?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(fields.iter().map(|f| f.name.as_str())).map_err(csv_err)?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut info = SampleInfo { rows: options.rows, ..SampleInfo::default() };
    let mut cells: Vec<String> = Vec::with_capacity(fields.len());
    for i in 0..options.rows {
        cells.clear();
        for f in &fields {
            cells.push(good(f, i, &mut rng, options.locale));
        }
        if !breakable.is_empty() && rng.random_bool(options.bad_share.clamp(0.0, 1.0)) {
            let column = breakable[rng.random_range(0..breakable.len())];
            if let Some(v) = bad(fields[column], &mut rng) {
                cells[column] = v.clone();
                info.planted.push(PlantedError { row: i + 2, column, value: v });
            }
        }
        w.write_record(&cells).map_err(csv_err)?;
    }
    let mut file = w.into_inner().map_err(|e| io(e.into_error()))?;
    // A sample is a test input: made again when lost, so not synced.
    file.set_durable(false);
    info.bytes = file.finish().map_err(io)?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> AppSchema {
        AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap()
    }

    #[test]
    fn same_seed_same_file_and_planted_share_is_near_the_ask() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        let options = SampleOptions { rows: 2000, bad_share: 0.05, seed: 9, locale: Locale::Ru };
        let info = write_csv(&contacts(), &a, &options).unwrap();
        write_csv(&contacts(), &b, &options).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!((60..140).contains(&info.planted.len()), "{} planted", info.planted.len());
        assert!(info.planted.windows(2).all(|w| w[0].row < w[1].row));
        let mut reader = csv::Reader::from_path(&a).unwrap();
        assert_eq!(reader.headers().unwrap().len(), 13);
        assert_eq!(reader.records().count(), 2000, "quoted line breaks stay inside their record");
    }
}
