//! What each template column holds: header, format note, example, allowed values.

use elma_import_contract::schema::{AppSchema, Field, FieldType, FieldType as T};

pub use elma_import_contract::{Locale, UnknownLocale};

/// The locale's text of a note or example: English or Russian.
fn pick(locale: Locale, en: &'static str, ru: &'static str) -> &'static str {
    match locale {
        Locale::En => en,
        Locale::Ru => ru,
    }
}

/// How a template is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOptions {
    /// Date and number formats of the example row and the notes (docs/formats.md).
    pub locale: Locale,
    /// Whether to add the example row under the header.
    pub example_rows: bool,
    /// Language of the notes, drop-down messages and example texts; `None`: the
    /// language of the app's field names ([`names_language`]), so headers and notes
    /// read in one language.
    pub language: Option<Locale>,
}

impl Default for TemplateOptions {
    /// Russian formats, notes in the field names' language, with the example row.
    fn default() -> TemplateOptions {
        TemplateOptions { locale: Locale::Ru, example_rows: true, language: None }
    }
}

impl TemplateOptions {
    /// The language notes are written in for `schema`.
    pub fn language_for(&self, schema: &AppSchema) -> Locale {
        self.language.unwrap_or_else(|| names_language(schema))
    }
}

/// The language of an app's field names: Russian when any importable field's name holds
/// Cyrillic letters, else English.
///
/// ```
/// use elma_import_contract::schema::AppSchema;
/// use elma_import_template::{names_language, Locale};
/// let ru = AppSchema::from_json(r#"{"namespace":"crm","code":"c","fields":[
///   {"code":"__name","name":"Название","type":"STRING"}]}"#).unwrap();
/// assert_eq!(names_language(&ru), Locale::Ru);
/// ```
pub fn names_language(schema: &AppSchema) -> Locale {
    let cyrillic = schema
        .fields
        .iter()
        .filter(|f| f.kind != FieldType::Account)
        .any(|f| f.name.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}')));
    if cyrillic {
        Locale::Ru
    } else {
        Locale::En
    }
}

/// One column of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Index of the field in `schema.fields`.
    pub field: usize,
    /// The field's code.
    pub code: String,
    /// Header cell text: the field's display name.
    pub header: String,
    /// The field's type.
    pub kind: FieldType,
    /// Whether every row must fill the column.
    pub required: bool,
    /// `false` when a cell may hold several comma-separated values.
    pub single: bool,
    /// The accepted format in one sentence, in the locale's language.
    pub format: String,
    /// The whole note of the header cell: code, type, required, format, example.
    pub note: String,
    /// The example cell as text, valid under docs/formats.md for the locale.
    pub example: String,
    /// The example as a number, for number columns (written as a number cell in .xlsx).
    pub example_number: Option<f64>,
    /// Values a cell may take (ENUM option names, STATUS names); empty = any.
    pub allowed: Vec<String>,
    /// Whether the .xlsx column is formatted as text so Excel keeps what is typed
    /// (leading zeros, long digit strings) as is.
    pub text_format: bool,
}

/// A field the template leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedField {
    /// The field's code.
    pub code: String,
    /// The field's display name.
    pub name: String,
    /// Why it is left out.
    pub reason: String,
}

/// Fields of `schema` that cannot be imported (ACCOUNT), with the reason.
pub fn skipped_fields(schema: &AppSchema) -> Vec<SkippedField> {
    schema
        .fields
        .iter()
        .filter(|f| f.kind == FieldType::Account)
        .map(|f| SkippedField {
            code: f.code.clone(),
            name: f.name.clone(),
            reason: "ACCOUNT fields cannot be imported".to_string(),
        })
        .collect()
}

const USER_UUID: &str = "29cadb73-8246-4f3d-9992-87a4a1ad20cf";
const USER_UUID_2: &str = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const ITEM_UUID: &str = "3b5e7a90-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
const ITEM_UUID_2: &str = "a1b2c3d4-e5f6-4789-8abc-def012345678";
const FILE_UUID: &str = "fd2af6d9-3e95-4896-9604-250929347acb";
const FILE_UUID_2: &str = "0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f";

/// The columns of the template of `schema`: every field but ACCOUNT ones, in order.
///
/// ```
/// use elma_import_contract::schema::AppSchema;
/// use elma_import_template::{column_specs, Locale, TemplateOptions};
/// let app = AppSchema::from_json(r#"{"namespace":"crm","code":"contacts","fields":[
///   {"code":"birth","name":"Birth date","type":"DATETIME"}]}"#).unwrap();
/// let en = TemplateOptions { locale: Locale::En, example_rows: true, language: None };
/// assert_eq!(column_specs(&app, &en)[0].example, "7/4/1977 1:27 PM");
/// assert_eq!(column_specs(&app, &TemplateOptions::default())[0].example, "04.07.1977 13:27");
/// ```
pub fn column_specs(schema: &AppSchema, options: &TemplateOptions) -> Vec<ColumnSpec> {
    schema
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind != FieldType::Account)
        .map(|(i, f)| spec(i, f, options.locale, options.language_for(schema)))
        .collect()
}

/// One column: `f` gives the formats, `l` the language.
fn spec(index: usize, field: &Field, f: Locale, l: Locale) -> ColumnSpec {
    let allowed: Vec<String> = match field.kind {
        T::Enum => field.data.options.iter().map(|c| c.name.clone()).collect(),
        T::Status => field.data.statuses.iter().map(|c| c.name.clone()).collect(),
        _ => Vec::new(),
    };
    let (one, two): (String, Option<String>) = match field.kind {
        T::String => {
            let text = pick(l, "Example text", "Пример текста");
            let text: String = match field.data.max_length {
                Some(max) => text.chars().take(max).collect(),
                None => text.to_string(),
            };
            (text, None)
        }
        T::Text => (pick(l, "Text of any length", "Текст любой длины").into(), None),
        T::Integer => ("27".into(), Some("28".into())),
        T::Float => ("27.37".into(), Some("3.5".into())),
        T::Money => ("125.60".into(), Some("99.90".into())),
        T::Boolean => ("true".into(), Some("false".into())),
        T::Datetime => (pick(f, "7/4/1977 1:27 PM", "04.07.1977 13:27").into(), None),
        T::Date => (pick(f, "7/4/1977", "04.07.1977").into(), None),
        T::Enum | T::Status => (allowed.first().cloned().unwrap_or_default(), allowed.get(1).cloned()),
        T::Phone => ("79125554433".into(), Some("79125554434".into())),
        T::Email => ("name@example.com".into(), Some("sales@example.com".into())),
        T::FullName => (pick(l, "Rogers Sarah Jane", "Иванова Анна Сергеевна").into(), None),
        T::Link => ("https://example.com".into(), Some("https://example.org".into())),
        T::File => (format!("scan.pdf[{FILE_UUID}]"), Some(format!("contract.docx[{FILE_UUID_2}]"))),
        T::Image => (format!("photo.jpg[{FILE_UUID}]"), Some(format!("plan.png[{FILE_UUID_2}]"))),
        T::SysUser => (format!("[{USER_UUID}]"), Some(format!("[{USER_UUID_2}]"))),
        T::SysCollection => (format!("[{ITEM_UUID}]"), Some(format!("[{ITEM_UUID_2}]"))),
        T::Table => (r#"[{"rows":[{"name":"Box","qty":2}],"result":{"__count":1},"view":""}]"#.into(), None),
        T::Json => (r#"{"a":1}"#.into(), None),
        T::Account => (String::new(), None),
    };
    let multi = !field.single && field.kind != T::Status;
    let example = match (&two, multi) {
        (Some(two), true) => format!("{one}, {two}"),
        _ => one.clone(),
    };
    let example_number = match field.kind {
        T::Integer | T::Float | T::Money if !multi => one.parse::<f64>().ok(),
        _ => None,
    };
    let format = format_sentence(field, f, l);
    let text_format = !matches!(field.kind, T::Integer | T::Float | T::Money | T::Datetime | T::Date);
    let note = note_text(field, l, &format, &example, &allowed);
    ColumnSpec {
        field: index,
        code: field.code.clone(),
        header: field.name.clone(),
        kind: field.kind,
        required: field.required,
        single: field.single,
        format,
        note,
        example,
        example_number,
        allowed,
        text_format,
    }
}

/// The accepted format in one sentence: formats of `f`, words of `l`.
fn format_sentence(field: &Field, f: Locale, l: Locale) -> String {
    let s = match field.kind {
        T::String => {
            let base = pick(l, "Any text on one line", "Любой текст в одну строку");
            return match field.data.max_length {
                Some(max) => match l {
                    Locale::En => format!("{base}, up to {max} characters."),
                    Locale::Ru => format!("{base}, не длиннее {max} символов."),
                },
                None => format!("{base}."),
            };
        }
        T::Text => {
            let base = pick(l, "Any text; line breaks are allowed", "Любой текст, можно с переносами строк");
            return match field.data.max_length {
                Some(max) => match l {
                    Locale::En => format!("{base}; up to {max} characters."),
                    Locale::Ru => format!("{base}, не длиннее {max} символов."),
                },
                None => format!("{base}."),
            };
        }
        T::Integer => pick(
            l,
            "A whole number, optional sign, no spaces or fraction: 27.",
            "Целое число, можно со знаком, без пробелов и дробной части: 27.",
        ),
        T::Float => match (f, l) {
            (Locale::En, Locale::En) => "A number with `.` as the decimal separator: 27.37.",
            (Locale::Ru, Locale::En) => "A number with `.` or `,` as the decimal separator: 27.37.",
            (Locale::En, Locale::Ru) => "Число с `.` как десятичным разделителем: 27.37.",
            (Locale::Ru, Locale::Ru) => "Число; дробная часть через `.` или `,`: 27.37.",
        },
        T::Money => pick(
            l,
            "An amount without a currency sign, `.` as the decimal separator: 125.60.",
            "Сумма без знака валюты, дробная часть через `.`: 125.60.",
        ),
        T::Boolean => pick(l, "`true` or `false`.", "`true` или `false`."),
        T::Datetime => match (f, l) {
            (Locale::En, Locale::En) => {
                "Date and time as M/d/yyyy h:mm AM/PM, e.g. 7/4/1977 1:27 PM, or an Excel date cell."
            }
            (Locale::Ru, Locale::En) => {
                "Date and time as dd.MM.yyyy HH:mm, e.g. 04.07.1977 13:27, or an Excel date cell."
            }
            (Locale::En, Locale::Ru) => {
                "Дата и время в виде M/d/yyyy h:mm AM/PM, например 7/4/1977 1:27 PM, или ячейка с датой Excel."
            }
            (Locale::Ru, Locale::Ru) => {
                "Дата и время в виде дд.ММ.гггг чч:мм, например 04.07.1977 13:27, или ячейка с датой Excel."
            }
        },
        T::Date => match (f, l) {
            (Locale::En, Locale::En) => "A date as M/d/yyyy, e.g. 7/4/1977, or an Excel date cell.",
            (Locale::Ru, Locale::En) => "A date as dd.MM.yyyy, e.g. 04.07.1977, or an Excel date cell.",
            (Locale::En, Locale::Ru) => "Дата в виде M/d/yyyy, например 7/4/1977, или ячейка с датой Excel.",
            (Locale::Ru, Locale::Ru) => "Дата в виде дд.ММ.гггг, например 04.07.1977, или ячейка с датой Excel.",
        },
        T::Enum => pick(
            l,
            "The name (not the code) of one of the options listed below.",
            "Название (не код) одного из вариантов, перечисленных ниже.",
        ),
        T::Status => pick(
            l,
            "The name of one of the app's statuses listed below.",
            "Название одного из статусов приложения, перечисленных ниже.",
        ),
        T::Phone => pick(
            l,
            "Digits only, 10 to 15 of them, no spaces, `+` or brackets: 79125554433.",
            "Только цифры, от 10 до 15, без пробелов, `+` и скобок: 79125554433.",
        ),
        T::Email => {
            pick(l, "An e-mail address: name@example.com.", "Адрес электронной почты: name@example.com.")
        }
        T::FullName => pick(
            l,
            "Last name, first name, then middle name, separated by spaces.",
            "Фамилия, имя, затем отчество через пробел.",
        ),
        T::Link => pick(
            l,
            "An absolute address starting with http:// or https://.",
            "Полный адрес, начинающийся с http:// или https://.",
        ),
        T::File | T::Image => pick(
            l,
            "name[uuid] of a file already uploaded to the platform.",
            "имя[uuid] файла, уже загруженного в систему.",
        ),
        T::SysUser => {
            pick(l, "[uuid] of a user, in square brackets.", "[uuid] пользователя в квадратных скобках.")
        }
        T::SysCollection => pick(
            l,
            "[uuid] of an item of the linked app, in square brackets.",
            "[uuid] элемента связанного приложения в квадратных скобках.",
        ),
        T::Table => pick(
            l,
            r#"JSON: [{"rows":[...],"result":{"__count":N},"view":""}] where N is the number of rows."#,
            r#"JSON: [{"rows":[...],"result":{"__count":N},"view":""}], где N — число строк."#,
        ),
        T::Json => pick(l, "Any valid JSON.", "Любой корректный JSON."),
        T::Account => pick(l, "Cannot be imported.", "Не импортируется."),
    };
    s.to_string()
}

const NOTE_OPTIONS: usize = 15;

fn note_text(field: &Field, l: Locale, format: &str, example: &str, allowed: &[String]) -> String {
    let mut out = String::new();
    out.push_str(&field.name);
    out.push('\n');
    out.push_str(&format!("{}: {}\n", pick(l, "Code", "Код"), field.code));
    out.push_str(&format!("{}: {}\n", pick(l, "Type", "Тип"), field.kind));
    let required = if field.required {
        pick(l, "required", "обязательное")
    } else {
        pick(l, "optional", "необязательное")
    };
    let values = if field.single {
        pick(l, "one value", "одно значение")
    } else {
        pick(l, "several values allowed, separated by commas", "можно несколько значений через запятую")
    };
    out.push_str(&format!("{required}; {values}\n"));
    out.push_str(format);
    out.push('\n');
    if !allowed.is_empty() {
        out.push_str(pick(l, "Values: ", "Значения: "));
        let shown: Vec<&str> = allowed.iter().take(NOTE_OPTIONS).map(String::as_str).collect();
        out.push_str(&shown.join("; "));
        if allowed.len() > NOTE_OPTIONS {
            match l {
                Locale::En => out.push_str(&format!(" … and {} more", allowed.len() - NOTE_OPTIONS)),
                Locale::Ru => out.push_str(&format!(" … и ещё {}", allowed.len() - NOTE_OPTIONS)),
            }
        }
        out.push('\n');
    } else if matches!(field.kind, FieldType::Enum | FieldType::Status) {
        out.push_str(pick(l, "The schema lists no values.\n", "В схеме нет значений.\n"));
    }
    if !example.is_empty() {
        out.push_str(&format!("{}: {example}", pick(l, "Example", "Пример")));
    }
    out.trim_end().to_string()
}
