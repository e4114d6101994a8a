//! Where a token shows in a text: as itself, percent-encoded, or in base64 (alone, after
//! `Bearer `, or inside a longer base64 string), whole or in pieces. [`covered`] finds the
//! bytes to mask; [`crate::Secret::redact`] masks them.
//!
//! The text is read in up to three **views**: as it is, and percent-decoded (`%2F` and
//! `%2f` → `/`) with `+` read once as a space and once as itself. A match in a view masks
//! the text it came from.
//!
//! A token of [`MIN_PIECE`] bytes or more is masked wherever a run of `MIN_PIECE` bytes or
//! more of one of its **forms** shows: the token; and, for standard and URL-safe base64,
//! the characters of its encoding that depend on the token alone, for each of the three
//! ways it can fall on base64's 3-byte groups (starting 0, 1 or 2 bytes into a group),
//! ending with the last character and `=` padding it gets at the end of the data. Those
//! cover base64 of the token, of `Bearer <token>` (7 bytes before it: the 1-byte shift)
//! and of any longer text holding it, padded or not, and any piece of them.
//!
//! A shorter token (a test token such as `T`) would garble ordinary text if masked
//! wherever its letters occur, so it is masked only where it **stands alone**: the token
//! with no letter, digit, `_` or `-` right before or after it; its base64 and that of
//! `Bearer <token>`, padded or not, with no base64 character (`A-Z a-z 0-9 + / - _`, and
//! `=` after) right before or after; and, anywhere, the part of a longer base64 string that encodes
//! `Bearer <token>` (three shifts, two alphabets).

/// The fewest bytes in a row of a token's form that are masked (a token shorter than
/// this is masked only where it stands alone).
pub(crate) const MIN_PIECE: usize = 6;

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 of `data` in `alphabet`, with `=` padding.
fn base64(data: &[u8], alphabet: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let bits = group.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        let chars = group.len() + 1;
        for k in 0..4 {
            out.push(if k < chars { alphabet[(bits >> (18 - 6 * k) & 0x3F) as usize] } else { b'=' });
        }
    }
    out
}

/// The base64 characters that depend on `data` alone when it starts `shift` bytes into a
/// 3-byte group. `to_end`: up to the end of the data (the last, zero-filled character and
/// the padding included); else only the characters `data` fills completely.
fn shifted(data: &[u8], shift: usize, alphabet: &[u8; 64], to_end: bool) -> Vec<u8> {
    let mut padded = vec![0u8; shift];
    padded.extend_from_slice(data);
    let encoded = base64(&padded, alphabet);
    let first = (8 * shift).div_ceil(6);
    let last = if to_end { encoded.len() } else { 8 * padded.len() / 6 };
    encoded.get(first..last.max(first)).unwrap_or_default().to_vec()
}

/// How an occurrence of a short token's form must be bordered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Border {
    /// No letter, digit, `_` or `-` on either side.
    Word,
    /// No base64 character on either side (`=` may come before: it ends base64).
    Base64,
    /// Anywhere.
    None,
}

/// What to look for.
enum Forms {
    /// Every `MIN_PIECE`-byte window of every form, packed into a `u64`, sorted.
    Pieces(Vec<u64>),
    /// Whole forms with the border each needs.
    Whole(Vec<(Vec<u8>, Border)>),
}

fn pack(window: &[u8]) -> u64 {
    window.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
}

impl Forms {
    fn of(token: &[u8]) -> Forms {
        let alphabets = [STANDARD, URL_SAFE];
        let mut bearer = b"Bearer ".to_vec();
        bearer.extend_from_slice(token);
        if token.len() >= MIN_PIECE {
            let mut forms = vec![token.to_vec()];
            for alphabet in alphabets {
                for shift in 0..3 {
                    forms.push(shifted(token, shift, alphabet, true));
                }
            }
            let mut windows: Vec<u64> =
                forms.iter().flat_map(|f| f.windows(MIN_PIECE).map(pack).collect::<Vec<_>>()).collect();
            windows.sort_unstable();
            windows.dedup();
            return Forms::Pieces(windows);
        }
        let mut forms = vec![(token.to_vec(), Border::Word)];
        for alphabet in alphabets {
            for data in [token, &bearer[..]] {
                let padded = base64(data, alphabet);
                let bare: Vec<u8> = padded.iter().copied().filter(|&c| c != b'=').collect();
                forms.push((padded, Border::Base64));
                forms.push((bare, Border::Base64));
            }
            for shift in 0..3 {
                forms.push((shifted(&bearer, shift, alphabet, false), Border::None));
            }
        }
        forms.retain(|(f, _)| !f.is_empty());
        Forms::Whole(forms)
    }
}

/// One reading of the text: bytes, and for each the text bytes it came from.
struct View {
    bytes: Vec<u8>,
    /// `None`: the text itself (byte `i` came from `i..i+1`).
    spans: Option<Vec<(usize, usize)>>,
}

impl View {
    fn span(&self, from: usize, to: usize) -> (usize, usize) {
        match &self.spans {
            None => (from, to),
            Some(spans) => (spans[from].0, spans[to - 1].1),
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The text percent-decoded, `+` read as a space when `plus_is_space`.
fn decoded(text: &[u8], plus_is_space: bool) -> View {
    let mut bytes = Vec::with_capacity(text.len());
    let mut spans = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let escaped = match text.get(i..i + 3) {
            Some([b'%', a, b]) => hex(*a).zip(hex(*b)).map(|(a, b)| a << 4 | b),
            _ => None,
        };
        match escaped {
            Some(b) => {
                bytes.push(b);
                spans.push((i, i + 3));
                i += 3;
            }
            None => {
                bytes.push(if plus_is_space && text[i] == b'+' { b' ' } else { text[i] });
                spans.push((i, i + 1));
                i += 1;
            }
        }
    }
    View { bytes, spans: Some(spans) }
}

/// Whether the character ending right before `at` (`before`) or starting at `at` is one
/// a form must not touch.
fn touches(bytes: &[u8], at: usize, before: bool, border: Border) -> bool {
    let ch = if before {
        let start = (at.saturating_sub(4)..at).find(|&s| std::str::from_utf8(&bytes[s..at]).is_ok());
        start.and_then(|s| std::str::from_utf8(&bytes[s..at]).ok()).and_then(|s| s.chars().next_back())
    } else {
        let end = (at + 1..=(at + 4).min(bytes.len())).find(|&e| std::str::from_utf8(&bytes[at..e]).is_ok());
        end.and_then(|e| std::str::from_utf8(&bytes[at..e]).ok()).and_then(|s| s.chars().next())
    };
    let Some(c) = ch else { return false };
    match border {
        Border::Word => c.is_alphanumeric() || c == '_' || c == '-',
        // `=` ends base64: before a form it is no part of it (`?auth=VA==`).
        Border::Base64 => {
            c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_') || (c == '=' && !before)
        }
        Border::None => false,
    }
}

fn mark(view: &View, forms: &Forms, secret: &mut [bool]) {
    let bytes = &view.bytes;
    let mut cover = |from: usize, to: usize| {
        let (start, end) = view.span(from, to);
        secret[start..end].iter_mut().for_each(|s| *s = true);
    };
    match forms {
        Forms::Pieces(windows) => {
            // The first two bytes of every window, as a quick first test.
            let mut starts = vec![false; 1 << 16];
            windows.iter().for_each(|w| starts[(w >> (8 * (MIN_PIECE - 2))) as usize] = true);
            for (i, window) in bytes.windows(MIN_PIECE).enumerate() {
                let start = usize::from(window[0]) << 8 | usize::from(window[1]);
                if starts[start] && windows.binary_search(&pack(window)).is_ok() {
                    cover(i, i + MIN_PIECE);
                }
            }
        }
        Forms::Whole(forms) => {
            let mut starts = [false; 256];
            forms.iter().for_each(|(form, _)| starts[usize::from(form[0])] = true);
            for i in 0..bytes.len() {
                if !starts[usize::from(bytes[i])] {
                    continue;
                }
                for (form, border) in forms {
                    let end = i + form.len();
                    if bytes.get(i..end) == Some(&form[..])
                        && !(i > 0 && touches(bytes, i, true, *border))
                        && !(end < bytes.len() && touches(bytes, end, false, *border))
                    {
                        cover(i, end);
                    }
                }
            }
        }
    }
}

/// The bytes of `text` that show `token` in one of its forms, or `None` when none do.
pub(crate) fn covered(token: &str, text: &str) -> Option<Vec<bool>> {
    if token.is_empty() || text.is_empty() {
        return None;
    }
    let forms = Forms::of(token.as_bytes());
    let raw = text.as_bytes();
    let mut secret = vec![false; raw.len()];
    mark(&View { bytes: raw.to_vec(), spans: None }, &forms, &mut secret);
    if raw.contains(&b'%') || raw.contains(&b'+') {
        mark(&decoded(raw, true), &forms, &mut secret);
        if raw.contains(&b'%') {
            mark(&decoded(raw, false), &forms, &mut secret);
        }
    }
    secret.contains(&true).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        let cases: [(&[u8], &str); 5] =
            [(b"", ""), (b"f", "Zg=="), (b"fo", "Zm8="), (b"foo", "Zm9v"), (b"\xfb\xff", "+/8=")];
        for (data, expected) in cases {
            assert_eq!(base64(data, STANDARD), expected.as_bytes());
        }
        assert_eq!(base64(b"\xfb\xff", URL_SAFE), b"-_8=");
    }

    #[test]
    fn the_shifted_characters_are_those_inside_any_longer_encoding() {
        let token = b"tok-SECRET";
        for shift in 0..3 {
            let inner = shifted(token, shift, STANDARD, false);
            let tail = shifted(token, shift, STANDARD, true);
            assert!(tail.starts_with(&inner));
            for before in [b"".as_slice(), b"x", b"xy", b"xyz", b"Bearer "] {
                if before.len() % 3 != shift {
                    continue;
                }
                for after in [b"".as_slice(), b"!", b"!!", b"!!!"] {
                    let whole = base64(&[before, token.as_slice(), after].concat(), STANDARD);
                    assert!(contains(&whole, &inner), "shift {shift}, {before:?}, {after:?}");
                    if after.is_empty() {
                        assert!(whole.ends_with(&tail), "shift {shift}, {before:?}");
                    }
                }
            }
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn decoding_maps_back_to_the_text() {
        let view = decoded(b"a%2Fb+c%2", true);
        assert_eq!(view.bytes, b"a/b c%2");
        assert_eq!(view.span(1, 2), (1, 4));
        assert_eq!(view.span(0, 7), (0, 9));
        assert_eq!(decoded(b"%2f+", false).bytes, b"/+");
    }

    #[test]
    fn borders_are_read_as_characters() {
        let text = "éT-x T".as_bytes();
        assert!(touches(text, 2, true, Border::Word), "é is a letter");
        assert!(touches(text, 3, false, Border::Word), "- joins words");
        assert!(!touches(text, 6, true, Border::Word), "a space does not");
        assert!(touches(b"a=", 1, false, Border::Base64));
        assert!(!touches(b"a\"", 1, false, Border::Base64));
    }
}
