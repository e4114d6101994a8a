//! The header row: which column names which field, and what is wrong with it.

use elma_import_contract::schema::{AppSchema, FieldType};
use elma_import_sheet::Row;

use crate::check::ColumnRule;
use crate::rules::ColumnName;
use crate::{importable, Column, Options};

/// One problem with the header row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A required field has no column.
    #[error("the required field `{name}` (code `{code}`) has no column: add a column headed `{name}`")]
    MissingRequired {
        /// The field's display name.
        name: String,
        /// The field's code.
        code: String,
    },
    /// A column names no field of the app.
    #[error(
        "column {} `{header}` names no field of the app `{app}`{}",
        ColumnName(*.column),
        match closest {
            Some((name, code)) => format!(
                "; closest: `{name}` (code `{code}`): if that is it, map it with --map '{header}={name}'"
            ),
            None => format!(": map it to a field with --map '{header}=FIELD'"),
        }
    )]
    UnknownColumn {
        /// 0-based column index.
        column: usize,
        /// The header's text.
        header: String,
        /// `namespace.code` of the app.
        app: String,
        /// The field whose name or code is closest to the header (edit distance), as
        /// (name, code), when one is close enough to be worth naming.
        closest: Option<(String, String)>,
    },
    /// Two columns name the same field.
    #[error(
        "columns {} `{first_header}` and {} `{header}` both name the field `{name}`: keep one",
        ColumnName(*.first),
        ColumnName(*.column)
    )]
    DuplicateColumn {
        /// 0-based index of the first column naming the field.
        first: usize,
        /// Its header.
        first_header: String,
        /// 0-based index of the later column.
        column: usize,
        /// Its header.
        header: String,
        /// The field's display name.
        name: String,
    },
    /// An ACCOUNT field cannot be imported.
    #[error(
        "column {} `{header}` is the ACCOUNT field `{name}`, which cannot be imported: remove the column",
        ColumnName(*.column)
    )]
    AccountColumn {
        /// 0-based column index.
        column: usize,
        /// The header's text.
        header: String,
        /// The field's display name.
        name: String,
    },
}

/// Every problem with a header row, all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderErrors(pub Vec<HeaderError>);

impl std::fmt::Display for HeaderErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "the header row (row 1) is wrong: {one}"),
            all => {
                write!(f, "the header row (row 1) has {} problems:", all.len())?;
                for e in all {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HeaderErrors {}

pub(crate) fn compile(
    schema: &AppSchema,
    header: &Row,
    options: &Options,
) -> Result<(Vec<Column>, Vec<ColumnRule>), HeaderErrors> {
    let mut errors = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    let mut rules = Vec::with_capacity(header.len());
    let mut seen: Vec<Option<usize>> = vec![None; schema.fields.len()];
    for (index, cell) in header.iter().enumerate() {
        let text = cell.text.trim();
        let mut column = Column { index, header: text.to_string(), field: None };
        let mut rule = ColumnRule::skip();
        if text.is_empty() {
            rule = ColumnRule::empty_header(index);
        } else {
            match schema.field_for_header(text) {
                None if options.ignore_unknown => {}
                None => errors.push(HeaderError::UnknownColumn {
                    column: index,
                    header: text.to_string(),
                    app: schema.id(),
                    closest: closest_field(schema, text),
                }),
                Some(f) => {
                    let field = &schema.fields[f];
                    if field.kind == FieldType::Account {
                        errors.push(HeaderError::AccountColumn {
                            column: index,
                            header: text.to_string(),
                            name: field.name.clone(),
                        });
                    } else if let Some(first) = seen[f] {
                        errors.push(HeaderError::DuplicateColumn {
                            first,
                            first_header: header.get(first).text.trim().to_string(),
                            column: index,
                            header: text.to_string(),
                            name: field.name.clone(),
                        });
                    } else {
                        seen[f] = Some(index);
                        column.field = Some(f);
                        rule = ColumnRule::compile(field);
                    }
                }
            }
        }
        columns.push(column);
        rules.push(rule);
    }
    for (f, field) in schema.fields.iter().enumerate() {
        if field.required && seen[f].is_none() && importable(field.kind) {
            errors.push(HeaderError::MissingRequired { name: field.name.clone(), code: field.code.clone() });
        }
    }
    if errors.is_empty() {
        Ok((columns, rules))
    } else {
        Err(HeaderErrors(errors))
    }
}

/// The headers an app expects, for a message: `Name (__name)*, Phone (phone), …`
/// (field code in brackets, `*` when required), in the schema's order.
///
/// ```
/// use elma_import_contract::schema::AppSchema;
/// let app = AppSchema::from_json(r#"{"namespace":"crm","code":"c","fields":[
///   {"code":"__name","name":"Name","type":"STRING","required":true},
///   {"code":"phone","name":"Phone","type":"PHONE"}]}"#).unwrap();
/// assert_eq!(elma_import_validate::expected_headers(&app), "Name (__name)*, Phone (phone)");
/// ```
pub fn expected_headers(schema: &AppSchema) -> String {
    schema
        .fields
        .iter()
        .filter(|f| importable(f.kind))
        .map(|f| format!("{} ({}){}", f.name, f.code, if f.required { "*" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `--map` entry that names a header no column has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--map '{from}={to}': no column is headed `{from}` (the headers are: {headers})")]
pub struct MapUnused {
    /// The header the entry renames.
    pub from: String,
    /// What it renames it to.
    pub to: String,
    /// The file's headers, in backticks, `, `-separated.
    pub headers: String,
}

/// The importable field whose name or code is closest to `header`, when close enough to
/// be a likely typo or variant (normalised Damerau–Levenshtein similarity ≥ 0.6, case
/// and surrounding space ignored).
fn closest_field(schema: &AppSchema, header: &str) -> Option<(String, String)> {
    let h = header.trim().to_lowercase();
    schema
        .fields
        .iter()
        .filter(|f| importable(f.kind))
        .map(|f| {
            let by_name = strsim::normalized_damerau_levenshtein(&h, &f.name.trim().to_lowercase());
            let by_code = strsim::normalized_damerau_levenshtein(&h, &f.code.trim().to_lowercase());
            (by_name.max(by_code), f)
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, f)| (f.name.clone(), f.code.clone()))
}

/// Column renames given by the user (`--map 'Телефон=Phone'`): each header equal to a
/// `from` (case and surrounding space ignored) is read as its `to`, a field's name or
/// code, before the header is matched to the app's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    pairs: Vec<(String, String)>,
}

impl ColumnMap {
    /// A map of (header in the file, field name or code) pairs.
    pub fn new(pairs: Vec<(String, String)>) -> ColumnMap {
        ColumnMap { pairs }
    }

    /// Parses one `HEADER=FIELD` entry (the last `=` separates, so a header may hold `=`).
    ///
    /// ```
    /// use elma_import_validate::ColumnMap;
    /// assert_eq!(ColumnMap::parse_entry("Телефон=Phone"), Ok(("Телефон".into(), "Phone".into())));
    /// assert!(ColumnMap::parse_entry("Phone").is_err());
    /// ```
    pub fn parse_entry(entry: &str) -> Result<(String, String), String> {
        match entry.rsplit_once('=') {
            Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
                Ok((from.trim().to_string(), to.trim().to_string()))
            }
            _ => Err(format!(
                "`{entry}` is not a column mapping: write it as 'HEADER IN THE FILE=FIELD NAME OR CODE'"
            )),
        }
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Whether the map renames nothing.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The header row as the map renames it; an entry that matches no column is an error
    /// (a typo in a mapping must not pass unnoticed).
    ///
    /// ```
    /// use elma_import_sheet::Row;
    /// use elma_import_validate::ColumnMap;
    /// let map = ColumnMap::new(vec![("Телефон".into(), "Phone".into())]);
    /// let header = map.apply(&Row::from_texts(1, ["Name", "телефон "])).unwrap();
    /// assert_eq!(header.get(1).text, "Phone");
    /// ```
    pub fn apply(&self, header: &Row) -> Result<Row, MapUnused> {
        let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
        let mut out = Row::new(header.number);
        for cell in header.iter() {
            match self.pairs.iter().find(|(from, _)| same(from, cell.text)) {
                Some((_, to)) => out.push_text(to),
                None => out.push(cell.kind, cell.text, cell.number),
            }
        }
        match self.pairs.iter().find(|(from, _)| !header.iter().any(|c| same(from, c.text))) {
            None => Ok(out),
            Some((from, to)) => Err(MapUnused {
                from: from.clone(),
                to: to.clone(),
                headers: header.iter().map(|c| format!("`{}`", c.text.trim())).collect::<Vec<_>>().join(", "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppSchema {
        AppSchema::from_json(
            r#"{"namespace":"crm","code":"contacts","fields":[
                {"code":"__name","name":"Name","type":"STRING","required":true},
                {"code":"phone","name":"Phone","type":"PHONE"},
                {"code":"email","name":"Email","type":"EMAIL"}]}"#,
        )
        .unwrap()
    }

    fn errors(headers: &[&str]) -> Vec<HeaderError> {
        header_errors(&Row::from_texts(1, headers))
    }

    fn header_errors(header: &Row) -> Vec<HeaderError> {
        match compile(&app(), header, &Options::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        }
    }

    #[test]
    fn an_unknown_column_names_its_closest_field_and_a_mapping_that_would_fix_it() {
        let all = errors(&["Name", "Phnoe", "Телефон"]);
        let text: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].contains("`Phnoe`") && text[0].contains("closest: `Phone` (code `phone`)"),
            "{}",
            text[0]
        );
        assert!(text[0].contains("--map 'Phnoe=Phone'"), "{}", text[0]);
        assert!(!text[1].contains("closest") && text[1].contains("--map 'Телефон=FIELD'"), "{}", text[1]);
        assert!(!text[0].contains("--ignore-unknown"), "not recommended per column: {}", text[0]);
        assert_eq!(expected_headers(&app()), "Name (__name)*, Phone (phone), Email (email)");
        assert!(errors(&["Name", "email"]).is_empty());
    }

    #[test]
    fn a_column_map_renames_headers_and_refuses_an_entry_that_matches_no_column() {
        let map = ColumnMap::new(vec![("Имя".into(), "Name".into()), ("Телефон".into(), "phone".into())]);
        let header = map.apply(&Row::from_texts(1, ["имя", "Телефон", "Email"])).unwrap();
        assert!(header_errors(&header).is_empty());
        let text = map.apply(&Row::from_texts(1, ["Имя", "Email"])).unwrap_err().to_string();
        assert!(text.contains("--map 'Телефон=phone'") && text.contains("`Имя`, `Email`"), "{text}");
        assert!(ColumnMap::parse_entry("a=b=c").is_ok_and(|(f, t)| f == "a=b" && t == "c"));
        assert!(ColumnMap::parse_entry("=Phone").is_err());
    }
}
