//! The locale of an import file: the formats of its dates and numbers.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The locale of dates and numbers in a file (docs/formats.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// `dd.MM.yyyy HH:mm` (`dd.MM.yyyy` for dates), decimal `.` or `,`.
    #[default]
    Ru,
    /// `M/d/yyyy h:mm AM/PM` (`M/d/yyyy` for dates), decimal `.`.
    En,
}

impl Locale {
    /// `ru` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ru => "ru",
            Locale::En => "en",
        }
    }

    /// The Excel number format that shows a date cell the locale's way.
    pub fn excel_datetime_format(self) -> &'static str {
        match self {
            Locale::Ru => "dd.mm.yyyy hh:mm",
            Locale::En => "m/d/yyyy h:mm AM/PM",
        }
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A locale name other than `ru` or `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown locale `{0}`: expected `ru` or `en`")]
pub struct UnknownLocale(pub String);

impl FromStr for Locale {
    type Err = UnknownLocale;

    /// `ru` / `en`, any case, surrounding spaces ignored.
    fn from_str(s: &str) -> Result<Locale, UnknownLocale> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ru" => Ok(Locale::Ru),
            "en" => Ok(Locale::En),
            _ => Err(UnknownLocale(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_case_and_refuses_others() {
        assert_eq!(" EN ".parse::<Locale>().unwrap(), Locale::En);
        assert_eq!("ru".parse::<Locale>().unwrap(), Locale::Ru);
        assert!("de".parse::<Locale>().unwrap_err().to_string().contains("`de`"));
    }
}
