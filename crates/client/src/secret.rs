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

    /// `text` with the token masked: every run of [`Secret::MIN_PIECE`] or more characters
    /// that is a piece of the token (the whole token, or a part of it, as where a server's
    /// echo was cut short) becomes `***`. A token shorter than that is masked whole.
    pub fn redact(&self, text: &str) -> String {
        let token = self.0.as_bytes();
        if token.is_empty() {
            return text.to_string();
        }
        if token.len() < Secret::MIN_PIECE {
            return text.replace(&self.0, "***");
        }
        let pieces: std::collections::HashSet<&[u8]> = token.windows(Secret::MIN_PIECE).collect();
        let bytes = text.as_bytes();
        // Every byte covered by a window that is a piece of the token is secret; the windows
        // of a longer piece overlap, so the whole piece is covered.
        let mut secret = vec![false; bytes.len()];
        for (i, window) in bytes.windows(Secret::MIN_PIECE).enumerate() {
            if pieces.contains(window) {
                secret[i..i + Secret::MIN_PIECE].iter_mut().for_each(|s| *s = true);
            }
        }
        if !secret.contains(&true) {
            return text.to_string();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if secret[i] {
                while i < bytes.len() && secret[i] {
                    i += 1;
                }
                // Never end inside a multi-byte character of the text.
                while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
                    i += 1;
                }
                out.extend_from_slice(b"***");
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The fewest characters in a row of the token that [`Secret::redact`] masks.
    pub const MIN_PIECE: usize = 6;

    /// A server's `body` as text fit for an error, a log or a trace: the token masked
    /// first, then cut to at most `max_bytes` (on a character boundary, marked `…`), so
    /// that a token straddling the cut cannot leak its first half.
    pub fn excerpt(&self, body: &[u8], max_bytes: usize) -> String {
        let mut text = self.redact(&String::from_utf8_lossy(body));
        if text.len() > max_bytes {
            let mut cut = max_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
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
