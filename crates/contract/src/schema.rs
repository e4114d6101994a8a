//! App schemas: the fields of an ELMA365 app (docs/platform.md §5).

use serde::{Deserialize, Serialize};

/// The type of an app field, as the platform names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldType {
    /// One line of text.
    String,
    /// Text that may hold line breaks.
    Text,
    /// Whole number.
    Integer,
    /// Number with a fractional part.
    Float,
    /// Amount of money, no currency sign.
    Money,
    /// `true` / `false`.
    Boolean,
    /// Date and time.
    Datetime,
    /// Date only.
    Date,
    /// Category: one of `data.options`, written by name.
    Enum,
    /// Phone number, digits only.
    Phone,
    /// E-mail address.
    Email,
    /// Last name, first name, middle name.
    FullName,
    /// Absolute http(s) URL.
    Link,
    /// `name[uuid]` of a file already in the platform.
    File,
    /// `name[uuid]` of an image already in the platform.
    Image,
    /// `[uuid]` of a user.
    SysUser,
    /// `[uuid]` of an item of another app.
    SysCollection,
    /// One of the app's statuses, by name.
    Status,
    /// A table, as JSON.
    Table,
    /// A user account: cannot be imported.
    Account,
    /// Any JSON value.
    Json,
}

impl FieldType {
    /// Every type, in the order the platform documents them.
    pub const ALL: [FieldType; 21] = [
        FieldType::String,
        FieldType::Text,
        FieldType::Integer,
        FieldType::Float,
        FieldType::Money,
        FieldType::Boolean,
        FieldType::Datetime,
        FieldType::Date,
        FieldType::Enum,
        FieldType::Phone,
        FieldType::Email,
        FieldType::FullName,
        FieldType::Link,
        FieldType::File,
        FieldType::Image,
        FieldType::SysUser,
        FieldType::SysCollection,
        FieldType::Status,
        FieldType::Table,
        FieldType::Account,
        FieldType::Json,
    ];

    /// The platform's name of the type, e.g. `FULL_NAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "STRING",
            FieldType::Text => "TEXT",
            FieldType::Integer => "INTEGER",
            FieldType::Float => "FLOAT",
            FieldType::Money => "MONEY",
            FieldType::Boolean => "BOOLEAN",
            FieldType::Datetime => "DATETIME",
            FieldType::Date => "DATE",
            FieldType::Enum => "ENUM",
            FieldType::Phone => "PHONE",
            FieldType::Email => "EMAIL",
            FieldType::FullName => "FULL_NAME",
            FieldType::Link => "LINK",
            FieldType::File => "FILE",
            FieldType::Image => "IMAGE",
            FieldType::SysUser => "SYS_USER",
            FieldType::SysCollection => "SYS_COLLECTION",
            FieldType::Status => "STATUS",
            FieldType::Table => "TABLE",
            FieldType::Account => "ACCOUNT",
            FieldType::Json => "JSON",
        }
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One option of a category (ENUM) or one status (STATUS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Machine code, e.g. `courier`.
    pub code: String,
    /// Display name, e.g. `Courier delivery`: what an import cell holds.
    pub name: String,
}

/// Type-specific settings of a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldData {
    /// Options of an ENUM field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Statuses of a STATUS field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<Choice>,
    /// Longest text a STRING/TEXT cell may hold, in characters.
    #[serde(default, rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Currency of a MONEY field (ISO 4217 code, e.g. `RUB`); RUB where the schema says
    /// nothing (docs/platform.md §7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Namespace of the app a SYS_COLLECTION field links to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Code of the app a SYS_COLLECTION field links to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl FieldData {
    /// The currency of a MONEY field: `data.currency`, or `RUB` where the schema is silent.
    pub fn currency(&self) -> &str {
        self.currency.as_deref().filter(|c| !c.is_empty()).unwrap_or("RUB")
    }

    /// `namespace.code` of the app a SYS_COLLECTION field links to, when the schema says.
    pub fn linked_app(&self) -> Option<String> {
        match (self.namespace.as_deref(), self.code.as_deref()) {
            (Some(ns), Some(code)) if !ns.is_empty() && !code.is_empty() => Some(format!("{ns}.{code}")),
            _ => None,
        }
    }
}

/// One field of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Machine code, e.g. `email`.
    pub code: String,
    /// Display name, e.g. `Email`: what the template's header row holds.
    pub name: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether a row must fill it.
    #[serde(default)]
    pub required: bool,
    /// `false` when a cell may hold several comma-separated values.
    #[serde(default = "yes")]
    pub single: bool,
    /// Type-specific settings.
    #[serde(default)]
    pub data: FieldData,
}

fn yes() -> bool {
    true
}

impl Field {
    /// A field as a schema without further settings describes it: optional, one value,
    /// no type-specific data.
    pub fn new(code: &str, name: &str, kind: FieldType) -> Field {
        Field {
            code: code.into(),
            name: name.into(),
            kind,
            required: false,
            single: true,
            data: FieldData::default(),
        }
    }
}

/// An app's schema: its identity and fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSchema {
    /// Namespace code, e.g. `crm`.
    pub namespace: String,
    /// App code, e.g. `contacts`.
    pub code: String,
    /// Display name, e.g. `Contacts`.
    #[serde(default)]
    pub name: String,
    /// The fields, in template column order.
    pub fields: Vec<Field>,
}

/// Why a schema could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The text is not JSON of the expected shape.
    #[error("not an app schema: {0}")]
    Json(#[from] serde_json::Error),
    /// The server's wrapper said `success: false`.
    #[error("the schema answer reports an error: {0}")]
    Unsuccessful(String),
    /// Two fields share a code or a display name.
    #[error("two fields are both named `{0}`")]
    DuplicateField(String),
    /// The schema has no field at all.
    #[error("the app `{0}` has no fields")]
    NoFields(String),
}

impl AppSchema {
    /// `namespace.code`, the name commands use for an app.
    pub fn id(&self) -> String {
        format!("{}.{}", self.namespace, self.code)
    }

    /// Parses a schema: either the bare application object or the server's answer
    /// `{"success":true,"application":{...}}`. Checks that field names are unique.
    pub fn from_json(text: &str) -> Result<AppSchema, SchemaError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let app = if let Some(app) = value.get("application") {
            if value.get("success").and_then(|s| s.as_bool()) == Some(false) {
                let error = value.get("error").and_then(|e| e.as_str()).unwrap_or("");
                return Err(SchemaError::Unsuccessful(error.to_string()));
            }
            app.clone()
        } else {
            value
        };
        let schema: AppSchema = serde_json::from_value(app)?;
        schema.check()?;
        Ok(schema)
    }

    /// Checks the invariants [`AppSchema::from_json`] promises.
    pub fn check(&self) -> Result<(), SchemaError> {
        if self.fields.is_empty() {
            return Err(SchemaError::NoFields(self.id()));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.fields {
            let mut keys = vec![f.code.trim().to_lowercase(), f.name.trim().to_lowercase()];
            keys.dedup();
            for key in keys {
                if !seen.insert(key.clone()) {
                    return Err(SchemaError::DuplicateField(key));
                }
            }
        }
        Ok(())
    }

    /// The field a header cell names: by display name or code, case-insensitively
    /// after trimming (docs/formats.md). Display names win over codes.
    pub fn field_for_header(&self, header: &str) -> Option<usize> {
        let h = header.trim();
        self.fields
            .iter()
            .position(|f| f.name.trim().eq_ignore_ascii_case(h) || unicase_eq(f.name.trim(), h))
            .or_else(|| {
                self.fields
                    .iter()
                    .position(|f| f.code.trim().eq_ignore_ascii_case(h) || unicase_eq(f.code.trim(), h))
            })
    }

    /// Serialises the schema as the server's answer of docs/platform.md §5.
    pub fn to_answer_json(&self) -> serde_json::Value {
        serde_json::json!({"success": true, "error": "", "application": self})
    }
}

fn unicase_eq(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = r#"{"namespace":"crm","code":"contacts","name":"Contacts","fields":[
        {"code":"name","name":"Name","type":"STRING","required":true},
        {"code":"segment","name":"Сегмент","type":"ENUM","single":false,
         "data":{"options":[{"code":"vip","name":"VIP"}]}}]}"#;

    #[test]
    fn reads_bare_and_wrapped_schemas() {
        let bare = AppSchema::from_json(APP).unwrap();
        let wrapped = format!(r#"{{"success":true,"error":"","application":{APP}}}"#);
        assert_eq!(AppSchema::from_json(&wrapped).unwrap(), bare);
        assert!(bare.fields[0].single, "single defaults to true");
        assert!(!bare.fields[1].single);
        assert_eq!(bare.fields[1].data.options[0].name, "VIP");
    }

    #[test]
    fn unsuccessful_answer_is_an_error() {
        let err = AppSchema::from_json(r#"{"success":false,"error":"no such app","application":null}"#)
            .unwrap_err();
        assert!(err.to_string().contains("no such app"), "{err}");
    }

    #[test]
    fn headers_match_names_then_codes_case_insensitively() {
        let app = AppSchema::from_json(APP).unwrap();
        assert_eq!(app.field_for_header("  name "), Some(0));
        assert_eq!(app.field_for_header("СЕГМЕНТ"), Some(1));
        assert_eq!(app.field_for_header("segment"), Some(1));
        assert_eq!(app.field_for_header("nope"), None);
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let dup = r#"{"namespace":"a","code":"b","fields":[
            {"code":"x","name":"X","type":"STRING"},{"code":"y","name":"x","type":"TEXT"}]}"#;
        assert!(matches!(AppSchema::from_json(dup), Err(SchemaError::DuplicateField(_))));
    }

    #[test]
    fn type_names_round_trip() {
        for t in FieldType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<FieldType>(&json).unwrap(), t);
        }
    }
}
