//! Token masking as properties: no output of `Secret::redact` or `Secret::excerpt` holds
//! the token or one of its encodings (percent-encoded, base64 of the token, of
//! `Bearer <token>` or of a longer text holding it, and pieces of those), and text that
//! does not show the token comes back unchanged. A short token (under 6 characters) is
//! masked only where it stands alone. Base64 here is the `base64` crate's, not the
//! client's own.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use elma_import_client::Secret;
use proptest::prelude::*;

/// Base64 of `data` in all four variants.
fn base64_all(data: &[u8]) -> Vec<String> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().map(|e| e.encode(data)).collect()
}

/// The token percent-encoded, each byte escaped when `escape[i]`, in upper or lower hex.
fn percent(token: &str, escape: &[bool], upper: bool) -> String {
    token
        .bytes()
        .enumerate()
        .map(|(i, b)| match (escape.get(i).copied().unwrap_or(true), upper) {
            (false, _) => (b as char).to_string(),
            (true, true) => format!("%{b:02X}"),
            (true, false) => format!("%{b:02x}"),
        })
        .collect()
}

/// Every form of `token` that must never survive in full.
fn full_forms(token: &str) -> Vec<String> {
    let mut forms = vec![token.to_string(), percent(token, &[], true), percent(token, &[], false)];
    forms.extend(base64_all(token.as_bytes()));
    forms.extend(base64_all(format!("Bearer {token}").as_bytes()));
    forms
}

/// The characters of base64(`before` + `token` + `after`) that depend on the token alone.
fn inner_base64(before: &[u8], token: &str, after: &[u8], engine: &impl Engine) -> String {
    let encoded = engine.encode([before, token.as_bytes(), after].concat());
    let first = (8 * before.len()).div_ceil(6);
    let last = 8 * (before.len() + token.len()) / 6;
    encoded[first..last].to_string()
}

fn assert_hidden(token: &str, shown: &str, inserted: &str) {
    assert!(!shown.contains(inserted), "`{inserted}` survived in `{shown}`");
    for form in full_forms(token) {
        assert!(!shown.contains(&form), "the form `{form}` survived in `{shown}`");
    }
}

/// Tokens as a platform issues them: no spaces, no `*` (the mask), no `%`.
const LONG: &str = "[A-Za-z0-9._~+/=-]{6,40}";
/// Any text around the token.
const TEXT: &str = "\\PC{0,40}";

/// One way a long token may show in a server's body.
#[derive(Debug, Clone)]
enum Shown {
    Raw,
    Percent { escape: Vec<bool>, upper: bool, bearer: bool },
    Base64 { variant: usize, bearer: bool },
    Embedded { before: Vec<u8>, after: Vec<u8>, url_safe: bool },
}

fn shown() -> impl Strategy<Value = Shown> {
    prop_oneof![
        Just(Shown::Raw),
        (proptest::collection::vec(any::<bool>(), 40), any::<bool>(), any::<bool>())
            .prop_map(|(escape, upper, bearer)| Shown::Percent { escape, upper, bearer }),
        (0..4usize, any::<bool>()).prop_map(|(variant, bearer)| Shown::Base64 { variant, bearer }),
        (
            proptest::collection::vec(any::<u8>(), 0..8),
            proptest::collection::vec(any::<u8>(), 0..8),
            any::<bool>()
        )
            .prop_map(|(before, after, url_safe)| Shown::Embedded { before, after, url_safe }),
    ]
}

/// The text inserted for `token` shown as `how`, and the part of it that must not survive
/// (for an embedded token: the characters that encode it alone).
fn render(token: &str, how: &Shown) -> (String, String) {
    match how {
        Shown::Raw => (token.to_string(), token.to_string()),
        Shown::Percent { escape, upper, bearer } => {
            let encoded = percent(token, escape, *upper);
            let text = if *bearer { format!("Bearer+{encoded}") } else { encoded.clone() };
            (text, encoded)
        }
        Shown::Base64 { variant, bearer: false } => {
            let encoded = base64_all(token.as_bytes())[*variant].clone();
            (encoded.clone(), encoded)
        }
        Shown::Base64 { variant, bearer: true } => {
            let encoded = base64_all(format!("Bearer {token}").as_bytes())[*variant].clone();
            let engine = if *variant < 2 { STANDARD } else { URL_SAFE };
            (encoded, inner_base64(b"Bearer ", token, b"", &engine))
        }
        Shown::Embedded { before, after, url_safe } => {
            let engine = if *url_safe { URL_SAFE } else { STANDARD };
            let text = engine.encode([before, token.as_bytes(), after].concat());
            (text, inner_base64(before, token, after, &engine))
        }
    }
}

proptest! {
    #[test]
    fn a_long_token_never_survives_in_any_form(
        token in LONG, how in shown(), before in TEXT, after in TEXT, cut in 0usize..200,
    ) {
        let secret = Secret::new(token.clone());
        let (inserted, hidden) = render(&token, &how);
        let text = format!("{before}{inserted}{after}");
        let shown = secret.redact(&text);
        assert_hidden(&token, &shown, &hidden);
        assert!(shown.contains("***"));
        let excerpt = secret.excerpt(text.as_bytes(), cut);
        assert_hidden(&token, &excerpt, &hidden);
    }

    #[test]
    fn a_piece_of_a_long_token_or_of_its_encoding_is_masked(
        token in LONG, how in shown(), start in 0usize..60, len in 6usize..60, before in TEXT,
    ) {
        let secret = Secret::new(token.clone());
        let (_, hidden) = render(&token, &how);
        // A piece of what encodes the token alone (percent: of the token, then encoded).
        let piece = match &how {
            Shown::Percent { escape, upper, .. } => {
                let start = start % (token.len() - 5);
                let end = (start + len).min(token.len());
                percent(&token[start..end], &escape[start..], *upper)
            }
            _ => {
                prop_assume!(hidden.len() >= 6);
                let start = start % (hidden.len() - 5);
                hidden[start..(start + len).min(hidden.len())].to_string()
            }
        };
        let shown = secret.redact(&format!("{before}{piece}"));
        prop_assert!(!shown.contains(&piece), "`{piece}` survived in `{shown}`");
        // What comes before stays, unless it happens to continue the form.
        prop_assert!(shown.ends_with("***"), "{shown}");
    }

    #[test]
    fn text_without_a_long_token_comes_back_unchanged(
        token in "[A-Z]{6,30}", text in "[a-z0-9 ,.%+=&?/:_-]{0,200}", cut in 0usize..250,
    ) {
        let secret = Secret::new(token);
        prop_assert_eq!(secret.redact(&text), text.clone());
        let expected = if text.len() > cut { format!("{}…", &text[..cut]) } else { text.clone() };
        prop_assert_eq!(secret.excerpt(text.as_bytes(), cut), expected);
    }

    #[test]
    fn a_short_token_standing_alone_is_masked_in_every_form(
        token in "[A-Z0-9]{1,5}",
        form in 0usize..11,
        before in proptest::collection::vec("[a-z]{2,8}", 0..6),
        after in proptest::collection::vec("[a-z]{2,8}", 0..6),
        left in prop::sample::select(vec![" ", "\n", ": ", "(", "\"", "'", "token="]),
        right in prop::sample::select(vec![" ", "\n", ".", ")", "\"", "', ", "&x=y"]),
    ) {
        let mut forms = vec![token.clone(), percent(&token, &[], true), percent(&token, &[], false)];
        forms.extend(base64_all(token.as_bytes()));
        forms.extend(base64_all(format!("Bearer {token}").as_bytes()));
        let form = &forms[form % forms.len()];
        let (before, after) = (before.join(" "), after.join(" "));
        let text = format!("{before}{left}{form}{right}{after}");
        let shown = Secret::new(token.clone()).redact(&text);
        prop_assert_eq!(shown, format!("{before}{left}***{right}{after}"));
    }

    #[test]
    fn a_short_token_inside_words_leaves_the_text_alone(
        token in "[A-Za-z0-9]{1,5}",
        words in proptest::collection::vec(("[a-zA-Z]{0,3}", "[a-zA-Z0-9]{0,3}", any::<bool>()), 1..12),
        plain in proptest::collection::vec("[\\p{L}]{1,8}", 0..6),
    ) {
        let mut text = Vec::new();
        for (a, b, with_token) in &words {
            // The token with at least one letter or digit joined to it.
            let b = if a.is_empty() && b.is_empty() { "x" } else { b.as_str() };
            text.push(if *with_token { format!("{a}{token}{b}") } else { format!("{a}{b}x") });
        }
        text.extend(plain);
        // Words that are an encoding of the token in full stand for it: leave them out.
        let mut forms = base64_all(token.as_bytes());
        forms.extend(base64_all(format!("Bearer {token}").as_bytes()));
        for word in &text {
            prop_assume!(word != &token && !forms.contains(word));
        }
        let text = text.join(", ");
        let secret = Secret::new(token);
        prop_assert_eq!(secret.redact(&text), text.clone());
        prop_assert_eq!(secret.excerpt(text.as_bytes(), text.len()), text);
    }
}

#[test]
fn masking_examples() {
    let long = Secret::new("tok-SECRET-4242");
    for (text, shown) in [
        ("url ?token=tok-SECRET-4242&x", "url ?token=***&x"),
        ("url ?token=tok%2DSECRET%2d4242&x", "url ?token=***&x"),
        ("form Bearer+tok-SECRET-4242", "form Bearer+***"),
        ("b64 dG9rLVNFQ1JFVC00MjQy!", "b64 ***!"),
        ("b64 dG9rLVNFQ1JFVC00MjQy", "b64 ***"),
        // "Bearer tok-SECRET-4242", then "user:Bearer tok-SECRET-4242", cut mid-way.
        ("basic QmVhcmVyIHRvay1TRUNSRVQtNDI0Mg==", "basic QmVhcmVyIH***"),
        ("basic dXNlcjpCZWFyZXIgdG9rLVNFQ1JFVC00Mj", "basic dXNlcjpCZWFyZXIg***"),
        ("plain text, nothing secret", "plain text, nothing secret"),
    ] {
        assert_eq!(long.redact(text), shown, "{text}");
    }
    let short = Secret::new("T");
    for (text, shown) in [
        ("The T-shirt costs $T", "The T-shirt costs $***"),
        ("Tokens: T, TT, 'T', xT", "Tokens: ***, TT, '***', xT"),
        ("echo %54 and %54he", "echo *** and %54he"),
        ("auth VA== VAx QmVhcmVyIFQ=", "auth *** VAx ***"),
        ("header QmVhcmVyIFQ", "header ***"),
        ("The quick brown fox", "The quick brown fox"),
    ] {
        assert_eq!(short.redact(text), shown, "{text}");
    }
    // Cut right after a `T` that began a word: masked, as it now stands alone.
    assert_eq!(short.excerpt(b"Total", 1), "***\u{2026}");
}
