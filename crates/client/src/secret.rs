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
/// // Any 6 characters of the token in a row are masked too (a body cut mid-token).
/// let long = Secret::new("tok-0123456789abcdef");
/// assert_eq!(long.redact("cut: 0123456789ab…"), "cut: ***…");
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

    /// `text` with the token masked: each run of text that shows the token becomes `***`.
    ///
    /// A token of [`Secret::MIN_PIECE`] characters or more is masked wherever a run of that
    /// many or more shows one of its forms: the token itself, percent-encoded (`%2F` or
    /// `%2f`, `+` for a space), or in standard or URL-safe base64, alone, after `Bearer `
    /// or inside a longer base64 string, padded or not; a piece of any of them too, as where
    /// a server's echo was cut short.
    ///
    /// A shorter token (a test token such as `T`) is masked only where it stands alone,
    /// never inside a longer word, so ordinary text keeps its letters: the token with no
    /// letter, digit, `_` or `-` beside it (also percent-encoded), its base64 and that of
    /// `Bearer <token>` with no base64 character beside them, and the part of a longer
    /// base64 string that encodes `Bearer <token>`.
    ///
    /// ```
    /// use elma_import_client::Secret;
    /// let token = Secret::new("tok/4242+abc");
    /// assert_eq!(token.redact("echo tok%2F4242%2babc"), "echo ***");
    /// assert_eq!(token.redact("auth QmVhcmVyIHRvay80MjQyK2FiYw=="), "auth QmVhcmVyIH***"); // Bearer tok/4242+abc
    /// let short = Secret::new("T");
    /// assert_eq!(short.redact("The token T was refused"), "The token *** was refused");
    /// ```
    pub fn redact(&self, text: &str) -> String {
        let Some(secret) = crate::mask::covered(&self.0, text) else {
            return text.to_string();
        };
        // A character is masked when any of its bytes is; a run of them becomes one `***`.
        let mut out = String::with_capacity(text.len());
        let mut masking = false;
        for (i, c) in text.char_indices() {
            if secret[i..i + c.len_utf8()].contains(&true) {
                if !masking {
                    out.push_str("***");
                }
                masking = true;
            } else {
                out.push(c);
                masking = false;
            }
        }
        out
    }

    /// The fewest characters in a row of the token (or of an encoding of it) that
    /// [`Secret::redact`] masks; a shorter token is masked only where it stands alone.
    pub const MIN_PIECE: usize = crate::mask::MIN_PIECE;

    /// A server's `body` as text fit for an error, a log or a trace: the token masked
    /// first, then cut to at most `max_bytes` (on a character boundary, marked `…`), so
    /// that a token straddling the cut cannot leak its first half. The cut text is masked
    /// once more: a short token's letters that ended a longer word before the cut stand
    /// alone after it.
    pub fn excerpt(&self, body: &[u8], max_bytes: usize) -> String {
        let text = self.redact(&String::from_utf8_lossy(body));
        if text.len() <= max_bytes {
            return text;
        }
        let mut cut = max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut text = self.redact(&text[..cut]);
        text.push('…');
        text
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

    #[test]
    fn every_piece_of_six_or_more_is_masked() {
        let token = "tok-SECRET-4242-abcdef";
        let s = Secret::new(token);
        for start in 0..token.len() - 6 {
            for end in start + 6..=token.len() {
                let text = format!("x{}y", &token[start..end]);
                let shown = s.redact(&text);
                assert_eq!(shown, "x***y", "{start}..{end}");
            }
        }
        assert_eq!(s.redact("tok-S is fine, SECRE too"), "tok-S is fine, SECRE too");
        assert_eq!(s.redact("ünïcödé tok-SECRET ünï"), "ünïcödé *** ünï");
    }

    #[test]
    fn a_token_straddling_the_cut_never_leaks() {
        let token = "tok-SECRET-4242-abcdef";
        let s = Secret::new(token);
        for pad in 0..40 {
            let body = format!("{}{token}{}", "a".repeat(4096 - pad), "z".repeat(100));
            let shown = s.excerpt(body.as_bytes(), 4096);
            assert!(shown.len() <= 4096 + '…'.len_utf8(), "{pad}");
            for w in token.as_bytes().windows(Secret::MIN_PIECE) {
                assert!(!shown.contains(std::str::from_utf8(w).unwrap()), "pad {pad}: {shown}");
            }
        }
    }
}
