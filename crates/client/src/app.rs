//! [`AppRef`]: which app a call is about, written `namespace.code`.

use std::fmt;
use std::str::FromStr;

/// An app of the platform, named by its namespace and code, e.g. `crm.contacts`.
///
/// ```
/// use elma_import_client::AppRef;
/// let app: AppRef = "crm.contacts".parse().unwrap();
/// assert_eq!((app.namespace.as_str(), app.code.as_str()), ("crm", "contacts"));
/// assert_eq!(app.to_string(), "crm.contacts");
/// assert!("contacts".parse::<AppRef>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppRef {
    /// Namespace code, e.g. `crm`.
    pub namespace: String,
    /// App code inside the namespace, e.g. `contacts`.
    pub code: String,
}

/// Why a text is not an app name `namespace.code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppRefError {
    /// The text is not two parts joined by one dot.
    #[error("app `{value}` must be written `namespace.code`, e.g. `crm.contacts`")]
    Shape {
        /// The text given.
        value: String,
    },
    /// A part holds a character that cannot go into an API path.
    #[error("app `{value}` contains `{bad}`, which cannot appear in a namespace or app code")]
    BadChar {
        /// The text given.
        value: String,
        /// The offending character.
        bad: char,
    },
}

impl AppRef {
    /// Builds an app name from its two parts, checking them like [`FromStr`] does.
    pub fn new(namespace: &str, code: &str) -> Result<AppRef, AppRefError> {
        format!("{namespace}.{code}").parse()
    }
}

fn bad_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '%' | '&' | '.')
}

impl FromStr for AppRef {
    type Err = AppRefError;

    fn from_str(s: &str) -> Result<AppRef, AppRefError> {
        let shape = || AppRefError::Shape { value: s.to_string() };
        let (namespace, code) = s.split_once('.').ok_or_else(shape)?;
        if namespace.is_empty() || code.is_empty() || code.contains('.') {
            return Err(shape());
        }
        if let Some(bad) = namespace.chars().chain(code.chars()).find(|&c| bad_char(c)) {
            return Err(AppRefError::BadChar { value: s.to_string(), bad });
        }
        Ok(AppRef { namespace: namespace.to_string(), code: code.to_string() })
    }
}

impl fmt::Display for AppRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespace_dot_code_and_round_trips() {
        let app: AppRef = "logistics.orders".parse().unwrap();
        assert_eq!(app, AppRef { namespace: "logistics".into(), code: "orders".into() });
        assert_eq!(app.to_string().parse::<AppRef>().unwrap(), app);
        assert_eq!(AppRef::new("crm", "contacts").unwrap().to_string(), "crm.contacts");
    }

    #[test]
    fn rejects_other_shapes_naming_the_value() {
        for bad in ["contacts", ".contacts", "crm.", "a.b.c", "", "."] {
            let err = bad.parse::<AppRef>().unwrap_err();
            assert_eq!(err, AppRefError::Shape { value: bad.into() }, "{bad}");
            assert!(err.to_string().contains(&format!("`{bad}`")));
            assert!(err.to_string().contains("namespace.code"));
        }
        let err = "crm.con tacts".parse::<AppRef>().unwrap_err();
        assert_eq!(err, AppRefError::BadChar { value: "crm.con tacts".into(), bad: ' ' });
        assert!(matches!("crm/x.y".parse::<AppRef>(), Err(AppRefError::BadChar { bad: '/', .. })));
        assert!(matches!("crm.y?z".parse::<AppRef>(), Err(AppRefError::BadChar { bad: '?', .. })));
    }
}
