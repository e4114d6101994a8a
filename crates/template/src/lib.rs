//! Import templates built from an ELMA365 app schema.
//!
//! A template is what an import file must look like: one header cell per importable
//! field (its display name), an example row valid under docs/formats.md for the chosen
//! locale, and, in .xlsx, a note on every header cell (code, type, required, accepted
//! format), drop-down lists for categories and statuses, a frozen header row and text
//! columns where Excel would otherwise mangle what is typed (leading zeros of phones).
//! ACCOUNT fields are left out: they cannot be imported.
//!
//! [`column_specs`] says what each column holds; [`write_xlsx`] and [`write_csv`] write
//! it. Nothing here fetches anything: the schema comes from the caller.
//!
//! ```
//! use elma_import_contract::schema::AppSchema;
//! use elma_import_template::{write_csv, write_xlsx, Locale, TemplateOptions};
//!
//! let app = AppSchema::from_json(r#"{"namespace":"crm","code":"contacts","name":"Contacts",
//!   "fields":[{"code":"__name","name":"Name","type":"STRING","required":true},
//!             {"code":"segment","name":"Segment","type":"ENUM",
//!              "data":{"options":[{"code":"vip","name":"VIP"}]}},
//!             {"code":"owner","name":"Owner","type":"ACCOUNT"}]}"#).unwrap();
//! let dir = std::env::temp_dir().join(format!("elma-template-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let options = TemplateOptions { locale: Locale::En, example_rows: true, language: None };
//! let info = write_xlsx(&app, &dir.join("contacts.xlsx"), &options).unwrap();
//! assert_eq!(info.headers, ["Name", "Segment"]);
//! assert_eq!(info.skipped[0].code, "owner");
//! write_csv(&app, &dir.join("contacts.csv"), &options).unwrap();
//! let csv = std::fs::read_to_string(dir.join("contacts.csv")).unwrap();
//! assert_eq!(csv, "\u{feff}Name,Segment\r\nExample text,VIP\r\n");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod example;
pub mod sample;
mod spec;
mod xlsx;

use std::path::{Path, PathBuf};

use elma_import_contract::schema::AppSchema;

pub use example::ExampleRow;
pub use spec::{
    column_specs, names_language, skipped_fields, ColumnSpec, Locale, SkippedField, TemplateOptions,
    UnknownLocale,
};
pub use xlsx::write_xlsx;

/// What a written template holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    /// The file written.
    pub path: PathBuf,
    /// Header cells, in column order.
    pub headers: Vec<String>,
    /// Example rows written under the header (0 or 1).
    pub example_rows: usize,
    /// Fields left out, with the reason.
    pub skipped: Vec<SkippedField>,
    /// Columns with a drop-down list of allowed values (.xlsx only).
    pub drop_downs: usize,
}

/// Why a template could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Every field of the app is of a type that cannot be imported.
    #[error("the app `{app}` has no field that can be imported (ACCOUNT fields cannot)")]
    NoImportableFields {
        /// `namespace.code` of the app.
        app: String,
    },
    /// The path's extension is neither `.xlsx` nor `.csv`.
    #[error("cannot tell the template format of `{0}`: name it `.xlsx` or `.csv`")]
    UnknownFormat(PathBuf),
    /// The .xlsx writer failed.
    #[error("cannot write the template `{path}`: {source}")]
    Xlsx {
        /// The template file.
        path: PathBuf,
        /// The cause.
        source: rust_xlsxwriter::XlsxError,
    },
    /// The .csv writer failed.
    #[error("cannot write the template `{path}`: {source}")]
    Csv {
        /// The template file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// The file could not be created or written.
    #[error("cannot write the template `{path}`: {source}")]
    Io {
        /// The template file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Writes the template in the format its extension names (`.xlsx` or `.csv`).
pub fn write_template(
    schema: &AppSchema,
    path: &Path,
    options: &TemplateOptions,
) -> Result<TemplateInfo, TemplateError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xlsx") => write_xlsx(schema, path, options),
        Some("csv") => write_csv(schema, path, options),
        _ => Err(TemplateError::UnknownFormat(path.to_path_buf())),
    }
}

pub(crate) fn importable_specs(
    schema: &AppSchema,
    options: &TemplateOptions,
) -> Result<Vec<ColumnSpec>, TemplateError> {
    let specs = column_specs(schema, options);
    if specs.is_empty() {
        return Err(TemplateError::NoImportableFields { app: schema.id() });
    }
    Ok(specs)
}

/// Writes a .csv template: UTF-8 with a BOM (so Excel reads the encoding right), `,`
/// as delimiter, CRLF line ends, the header row of display names and, when asked, the
/// example row. Fields with delimiters, quotes or line breaks are quoted.
pub fn write_csv(
    schema: &AppSchema,
    path: &Path,
    options: &TemplateOptions,
) -> Result<TemplateInfo, TemplateError> {
    let specs = importable_specs(schema, options)?;
    let csv_err = |source| TemplateError::Csv { path: path.to_path_buf(), source };
    let mut bytes = Vec::with_capacity(1024);
    bytes.extend_from_slice("\u{feff}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut bytes);
        w.write_record(specs.iter().map(|s| s.header.as_str())).map_err(csv_err)?;
        if options.example_rows {
            w.write_record(specs.iter().map(|s| s.example.as_str())).map_err(csv_err)?;
        }
        w.flush().map_err(|source| TemplateError::Io { path: path.to_path_buf(), source })?;
    }
    elma_import_sheet::write_atomically(path, |f| std::io::Write::write_all(f, &bytes)).map_err(
        |e| match e {
            elma_import_sheet::SheetError::Io { source, .. } => {
                TemplateError::Io { path: path.to_path_buf(), source }
            }
            other => TemplateError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        },
    )?;
    Ok(TemplateInfo {
        path: path.to_path_buf(),
        headers: specs.iter().map(|s| s.header.clone()).collect(),
        example_rows: usize::from(options.example_rows),
        skipped: skipped_fields(schema),
        drop_downs: 0,
    })
}
