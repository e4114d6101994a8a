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
        "column {} `{header}` names no field of the app `{app}`: use a field's name or code \
         (as the template writes it), or pass --ignore-unknown to skip the column",
        ColumnName(*.column)
    )]
    UnknownColumn {
        /// 0-based column index.
        column: usize,
        /// The header's text.
        header: String,
        /// `namespace.code` of the app.
        app: String,
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
