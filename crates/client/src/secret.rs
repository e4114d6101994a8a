//! [`Secret`]: the API token, which is never printed.

use std::fmt;

/// The API token. `Debug` and `Display` print `***`; the only way to read it is
/// [`Secret::expose`], which the client calls once, to build the `Authorization` header.
///
/// ```
/// use elma_import_client::Secret;
/// let token = Secret::new("s3cr3t");
/// assert_eq!(format!("{token} {token:?}"), "*** ***");
/// assert_eq!(token.redact("echo: s3cr3t"), "echo: ***");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Secret {
        Secret(token.into())
    }

    /// The token itself. Call only to put it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no token was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every occurrence of the token replaced by `***` (a server may echo it).
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl From<String> for Secret {
    fn from(token: String) -> Secret {
        Secret(token)
    }
}

impl From<&str> for Secret {
    fn from(token: &str) -> Secret {
        Secret(token.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_token() {
        let s = Secret::new("tok-XYZ");
        for shown in [format!("{s}"), format!("{s:?}"), format!("{s:#?}"), format!("{:?}", Some(&s))] {
            assert!(!shown.contains("tok-XYZ"), "{shown}");
        }
        assert_eq!(s.expose(), "tok-XYZ");
        assert_eq!(s.redact("a tok-XYZ b tok-XYZ"), "a *** b ***");
        assert_eq!(Secret::default().redact("text"), "text");
    }
}
