//! Hand-written, allocation-free parsers of cell values: numbers, dates, UUIDs, e-mail
//! addresses, links and phones. Each works on the trimmed text of one value.

use elma_import_sheet::Cell;

use crate::Locale;

/// How a decimal number failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// Not the shape of a number.
    Syntax,
    /// A number, but too big for the type.
    Range,
}

/// Parses a whole number with an optional sign: `27`, `-3`, `+0012`.
pub(crate) fn parse_integer(text: &str) -> Result<i64, NumberError> {
    let b = text.as_bytes();
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return Err(NumberError::Syntax);
    }
    // Accumulate as a negative number so that i64::MIN fits.
    let mut value: i64 = 0;
    let mut overflow = false;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(NumberError::Syntax);
        }
        if !overflow {
            match value.checked_mul(10).and_then(|v| v.checked_sub(i64::from(c - b'0'))) {
                Some(v) => value = v,
                None => overflow = true,
            }
        }
    }
    if overflow {
        return Err(NumberError::Range);
    }
    if negative {
        Ok(value)
    } else {
        value.checked_neg().ok_or(NumberError::Range)
    }
}

/// Checks a decimal number: optional sign, digits, optionally one decimal separator and
/// more digits. `.` is always a separator; `,` too when `comma` is set (locale ru).
/// No exponent, no thousands separators, no currency. Numbers whose integer part has
/// more than 300 significant digits are out of the range of a double.
pub(crate) fn check_decimal(text: &str, comma: bool) -> Result<(), NumberError> {
    let b = text.as_bytes();
    let body = match b.first() {
        Some(b'-' | b'+') => &b[1..],
        _ => b,
    };
    let mut i = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        i += 1;
    }
    let int_end = i;
    if int_end == 0 {
        return Err(NumberError::Syntax);
    }
    if i < body.len() {
        let sep = body[i];
        if !(sep == b'.' || (comma && sep == b',')) {
            return Err(NumberError::Syntax);
        }
        i += 1;
        let frac_start = i;
        while i < body.len() && body[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start || i != body.len() {
            return Err(NumberError::Syntax);
        }
    }
    let significant = body[..int_end].iter().skip_while(|&&c| c == b'0').count();
    if significant > 300 {
        return Err(NumberError::Range);
    }
    Ok(())
}

/// The value of a number [`check_decimal`] accepted.
pub(crate) fn decimal_value(text: &str) -> Option<f64> {
    let v: f64 = if text.contains(',') { text.replace(',', ".").parse().ok()? } else { text.parse().ok()? };
    v.is_finite().then_some(v)
}

/// A date with an optional time of day, checked against the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Whether the text had a time of day.
    pub has_time: bool,
}

/// How a date failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateError {
    /// Not in the expected format.
    Format,
    /// In the format, but no such day or time (`31.02.2001`, `25:00`).
    Calendar,
}

fn is_leap(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl DateTime {
    fn checked(self) -> Result<DateTime, DateError> {
        if self.year == 0
            || !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 59
        {
            return Err(DateError::Calendar);
        }
        Ok(self)
    }

    /// The date in the locale's format, with the time when `with_time`.
    pub fn format(&self, locale: Locale, with_time: bool) -> String {
        match locale {
            Locale::Ru if with_time => format!(
                "{:02}.{:02}.{:04} {:02}:{:02}",
                self.day, self.month, self.year, self.hour, self.minute
            ),
            Locale::Ru => format!("{:02}.{:02}.{:04}", self.day, self.month, self.year),
            Locale::En if with_time => {
                let (h, half) = match self.hour {
                    0 => (12, "AM"),
                    1..=11 => (self.hour, "AM"),
                    12 => (12, "PM"),
                    _ => (self.hour - 12, "PM"),
                };
                format!("{}/{}/{:04} {}:{:02} {}", self.month, self.day, self.year, h, self.minute, half)
            }
            Locale::En => format!("{}/{}/{:04}", self.month, self.day, self.year),
        }
    }
}

/// Reads `n` digits at `*i`, advancing it.
fn digits(b: &[u8], i: &mut usize, n: usize) -> Option<u16> {
    let s = b.get(*i..*i + n)?;
    let mut v: u16 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u16::from(c - b'0');
    }
    *i += n;
    Some(v)
}

/// Reads one or two digits at `*i`, advancing it.
fn one_or_two_digits(b: &[u8], i: &mut usize) -> Option<u8> {
    let first = *b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    let mut v = first - b'0';
    if let Some(&c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        v = v * 10 + (c - b'0');
        *i += 1;
    }
    Some(v)
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

/// Parses the locale's date format (`dd.MM.yyyy[ HH:mm]` or `M/d/yyyy[ h:mm AM/PM]`).
pub(crate) fn parse_locale_date(text: &str, locale: Locale) -> Result<DateTime, DateError> {
    let parsed = match locale {
        Locale::Ru => parse_ru(text.as_bytes()),
        Locale::En => parse_en(text.as_bytes()),
    };
    parsed.ok_or(DateError::Format)?.checked()
}

fn parse_ru(b: &[u8]) -> Option<DateTime> {
    let mut i = 0;
    let day = digits(b, &mut i, 2)? as u8;
    expect(b, &mut i, b'.')?;
    let month = digits(b, &mut i, 2)? as u8;
    expect(b, &mut i, b'.')?;
    let year = digits(b, &mut i, 4)?;
    let mut dt = DateTime { year, month, day, hour: 0, minute: 0, second: 0, has_time: false };
    if i == b.len() {
        return Some(dt);
    }
    expect(b, &mut i, b' ')?;
    dt.hour = digits(b, &mut i, 2)? as u8;
    expect(b, &mut i, b':')?;
    dt.minute = digits(b, &mut i, 2)? as u8;
    dt.has_time = true;
    (i == b.len()).then_some(dt)
}

fn parse_en(b: &[u8]) -> Option<DateTime> {
    let mut i = 0;
    let month = one_or_two_digits(b, &mut i)?;
    expect(b, &mut i, b'/')?;
    let day = one_or_two_digits(b, &mut i)?;
    expect(b, &mut i, b'/')?;
    let year = digits(b, &mut i, 4)?;
    let mut dt = DateTime { year, month, day, hour: 0, minute: 0, second: 0, has_time: false };
    if i == b.len() {
        return Some(dt);
    }
    expect(b, &mut i, b' ')?;
    let hour = one_or_two_digits(b, &mut i)?;
    expect(b, &mut i, b':')?;
    dt.minute = digits(b, &mut i, 2)? as u8;
    expect(b, &mut i, b' ')?;
    let half = b.get(i..)?;
    let pm = if half.eq_ignore_ascii_case(b"AM") {
        false
    } else if half.eq_ignore_ascii_case(b"PM") {
        true
    } else {
        return None;
    };
    if !(1..=12).contains(&hour) {
        dt.hour = 99; // fails the calendar check
    } else {
        dt.hour = (hour % 12) + if pm { 12 } else { 0 };
    }
    dt.has_time = true;
    Some(dt)
}

/// Parses ISO 8601: `YYYY-MM-DD`, optionally followed by ` ` or `T` and `HH:MM`,
/// `HH:MM:SS` or `HH:MM:SS.fff`. `None` when it is not that shape.
pub(crate) fn parse_iso(text: &str) -> Option<Result<DateTime, DateError>> {
    let b = text.as_bytes();
    let mut i = 0;
    let year = digits(b, &mut i, 4)?;
    expect(b, &mut i, b'-')?;
    let month = digits(b, &mut i, 2)? as u8;
    expect(b, &mut i, b'-')?;
    let day = digits(b, &mut i, 2)? as u8;
    let mut dt = DateTime { year, month, day, hour: 0, minute: 0, second: 0, has_time: false };
    if i < b.len() {
        if b[i] != b' ' && b[i] != b'T' {
            return None;
        }
        i += 1;
        dt.hour = digits(b, &mut i, 2)? as u8;
        expect(b, &mut i, b':')?;
        dt.minute = digits(b, &mut i, 2)? as u8;
        if i < b.len() {
            expect(b, &mut i, b':')?;
            dt.second = digits(b, &mut i, 2)? as u8;
            if i < b.len() {
                expect(b, &mut i, b'.')?;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == start || i != b.len() {
                    return None;
                }
            }
        }
        dt.has_time = true;
    }
    Some(dt.checked())
}

/// The date of a spreadsheet serial number (1900 date system, days since 1899-12-30),
/// rounded to the second.
pub(crate) fn from_serial(serial: f64) -> Option<DateTime> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let total_seconds = (serial * 86_400.0).round() as i64;
    let days = total_seconds.div_euclid(86_400);
    let secs = total_seconds.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), days counted from 1970-01-01.
    let z = days - 25_569 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    let dt = DateTime {
        year,
        month,
        day,
        hour: (secs / 3600) as u8,
        minute: (secs / 60 % 60) as u8,
        second: (secs % 60) as u8,
        has_time: secs != 0,
    };
    dt.checked().ok()
}

/// Whether `text` is a hyphenated UUID (`8-4-4-4-12` hex digits, any case).
pub(crate) fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return false;
    }
    // No early exit per byte: a valid UUID (the common case) is checked without a branch
    // per digit.
    let hex = |part: &[u8]| part.iter().fold(true, |all, &c| all & HEX_DIGIT[usize::from(c)]);
    hex(&b[..8]) & hex(&b[9..13]) & hex(&b[14..18]) & hex(&b[19..23]) & hex(&b[24..])
}

/// Which bytes are ASCII hex digits.
static HEX_DIGIT: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = (c as u8).is_ascii_hexdigit();
        c += 1;
    }
    table
};

/// Why an e-mail address is not one.
pub(crate) fn email_problem(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let mut at = None;
    let mut ascii = true;
    for (i, &c) in b.iter().enumerate() {
        // Most bytes of an address are letters, digits and `.-_+`: one look-up each.
        if EMAIL_PLAIN[usize::from(c)] {
            continue;
        }
        match c {
            b'@' if at.is_some() => return Some("there is more than one `@`"),
            b'@' => at = Some(i),
            b' ' => return Some("it contains a space"),
            0..=0x1f | 0x7f => return Some("it contains a control character or a line break"),
            b'(' | b')' | b',' | b';' | b':' | b'<' | b'>' | b'[' | b']' | b'\\' | b'"' => {
                return Some("it contains a character an address cannot hold (one of `(),;:<>[]\\\"`)")
            }
            0x80.. => ascii = false,
            _ => {}
        }
    }
    if !ascii && text.chars().any(char::is_whitespace) {
        return Some("it contains a space");
    }
    let Some(at) = at else {
        return Some("there is no `@`");
    };
    if at == 0 {
        return Some("there is nothing before the `@`");
    }
    let domain = &b[at + 1..];
    if domain.is_empty() {
        return Some("there is no domain after the `@`");
    }
    let (has_dot, bad_dots) = dots(domain);
    if !has_dot {
        return Some("the domain has no dot");
    }
    if bad_dots {
        return Some("the domain has an empty part between dots");
    }
    if dots(&b[..at]).1 {
        return Some("the name before the `@` starts or ends with a dot or has two dots in a row");
    }
    None
}

/// Bytes that need no second look in an e-mail address: not `@`, a space, a control
/// character, one of `(),;:<>[]\"`, or a byte of a non-ASCII character.
static EMAIL_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0x21;
    while c < 0x7f {
        table[c] = !matches!(
            c as u8,
            b'@' | b'(' | b')' | b',' | b';' | b':' | b'<' | b'>' | b'[' | b']' | b'\\' | b'"'
        );
        c += 1;
    }
    table
};

/// Of a non-empty part of an address, in one pass: whether it holds a dot, and whether
/// it starts or ends with one or has two in a row (an empty label).
fn dots(part: &[u8]) -> (bool, bool) {
    let (mut any, mut bad, mut after_dot) = (false, false, true);
    for &c in part {
        let dot = c == b'.';
        bad |= dot && after_dot;
        any |= dot;
        after_dot = dot;
    }
    (any, bad || after_dot)
}

/// Why a link is not an absolute http(s) URL.
pub(crate) fn link_problem(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let rest = if b.len() >= 7 && b[..7].eq_ignore_ascii_case(b"http://") {
        &b[7..]
    } else if b.len() >= 8 && b[..8].eq_ignore_ascii_case(b"https://") {
        &b[8..]
    } else if b.windows(3).any(|w| w == b"://") {
        return Some("its scheme is not http or https");
    } else {
        return Some("it has no `http://` or `https://` scheme");
    };
    let odd = |c: &u8| c.is_ascii_whitespace() || c.is_ascii_control() || *c >= 0x80;
    if rest.iter().any(odd) && text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains a space or a control character");
    }
    let host_end = rest.iter().position(|c| matches!(c, b'/' | b'?' | b'#')).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if host.is_empty() || host.starts_with(b".") || host.starts_with(b":") || host.ends_with(b"@") {
        return Some("it has no host name");
    }
    None
}

/// What a phone cell is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhoneShape {
    /// Digits only, 10 to 15 of them.
    Valid,
    /// Digits with `+`, spaces, brackets, dashes or dots; 10 to 15 digits.
    Decorated,
    /// Only digits and decorations, but the wrong number of digits.
    Count(usize),
    /// Something else (letters, …).
    Other,
}

pub(crate) fn phone_shape(text: &str) -> PhoneShape {
    let b = text.as_bytes();
    let mut count = 0;
    let mut decorated = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => count += 1,
            b'+' if i == 0 => decorated = true,
            b' ' | b'(' | b')' | b'-' | b'.' => decorated = true,
            _ => return PhoneShape::Other,
        }
    }
    if !(10..=15).contains(&count) {
        PhoneShape::Count(count)
    } else if decorated {
        PhoneShape::Decorated
    } else {
        PhoneShape::Valid
    }
}

/// The digits of a phone.
pub(crate) fn phone_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The date of an .xlsx date cell: its ISO text, else its serial number.
pub(crate) fn date_cell(cell: Cell<'_>) -> Option<DateTime> {
    match parse_iso(cell.text.trim()) {
        Some(Ok(dt)) => Some(dt),
        _ => from_serial(cell.number),
    }
}

/// `name[uuid]` → (name, uuid).
pub(crate) fn split_file_ref(v: &str) -> Result<(&str, &str), &'static str> {
    let Some(inner) = v.strip_suffix(']') else {
        return Err("it does not end with `]`");
    };
    let Some(open) = inner.rfind('[') else {
        return Err("it has no `[` before the UUID");
    };
    let name = inner[..open].trim();
    let uuid = &inner[open + 1..];
    if name.is_empty() {
        return Err("it has no file name before `[`");
    }
    if !is_uuid(uuid) {
        return Err("the text between the brackets is not a UUID (8-4-4-4-12 hex digits)");
    }
    Ok((name, uuid))
}

/// `[uuid]` → uuid.
pub(crate) fn uuid_ref(v: &str) -> Option<&str> {
    let inner = v.strip_prefix('[')?.strip_suffix(']')?;
    is_uuid(inner).then_some(inner)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// The e-mail check as it was before it was made one pass (issue 18): the new one
    /// must say exactly what this one said.
    fn email_problem_before(text: &str) -> Option<&'static str> {
        let b = text.as_bytes();
        let mut at = None;
        let mut ascii = true;
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'@' if at.is_some() => return Some("there is more than one `@`"),
                b'@' => at = Some(i),
                b' ' => return Some("it contains a space"),
                0..=0x1f | 0x7f => return Some("it contains a control character or a line break"),
                b'(' | b')' | b',' | b';' | b':' | b'<' | b'>' | b'[' | b']' | b'\\' | b'"' => {
                    return Some("it contains a character an address cannot hold (one of `(),;:<>[]\\\"`)")
                }
                0x80.. => ascii = false,
                _ => {}
            }
        }
        if !ascii && text.chars().any(char::is_whitespace) {
            return Some("it contains a space");
        }
        let Some(at) = at else {
            return Some("there is no `@`");
        };
        if at == 0 {
            return Some("there is nothing before the `@`");
        }
        let domain = &b[at + 1..];
        if domain.is_empty() {
            return Some("there is no domain after the `@`");
        }
        if !domain.contains(&b'.') {
            return Some("the domain has no dot");
        }
        if domain.split(|&c| c == b'.').any(|label| label.is_empty()) {
            return Some("the domain has an empty part between dots");
        }
        if b[..at].starts_with(b".") || b[..at].ends_with(b".") || b[..at].windows(2).any(|w| w == b"..") {
            return Some("the name before the `@` starts or ends with a dot or has two dots in a row");
        }
        None
    }

    proptest! {
        #[test]
        fn the_email_check_says_what_it_said(
            text in "[a-zA-Z0-9.+_-]{0,5}(@[a-z0-9.-]{0,7})?([ ()<>,;:\\[\\]\"\t\u{a0}яЖ@/?#.]{0,2}[a-z.]{0,3})?",
        ) {
            prop_assert_eq!(email_problem(&text), email_problem_before(&text), "{:?}", text);
        }
    }

    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_integer("27"), Ok(27));
        assert_eq!(parse_integer("-27"), Ok(-27));
        assert_eq!(parse_integer("+007"), Ok(7));
        assert_eq!(parse_integer("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_integer("9223372036854775808"), Err(NumberError::Range));
        for bad in ["27.5", "1 000", "", "-", "1e3", "0x10", "²"] {
            assert_eq!(parse_integer(bad), Err(NumberError::Syntax), "{bad}");
        }
    }

    #[test]
    fn decimals() {
        for good in ["27.37", "-0.5", "+3", "12,5", "007,25"] {
            assert_eq!(check_decimal(good, true), Ok(()), "{good}");
        }
        assert_eq!(check_decimal("12,5", false), Err(NumberError::Syntax));
        for bad in ["1e999", "inf", "NaN", "12,5 RUB", ".5", "5.", "1.2.3", "1,000.5", "$1", ""] {
            assert_eq!(check_decimal(bad, true), Err(NumberError::Syntax), "{bad}");
        }
        let huge = "9".repeat(400);
        assert_eq!(check_decimal(&huge, true), Err(NumberError::Range));
        assert_eq!(decimal_value("12,5"), Some(12.5));
    }

    #[test]
    fn dates_follow_the_calendar() {
        let dt = parse_locale_date("29.02.2024 13:27", Locale::Ru).unwrap();
        assert_eq!((dt.year, dt.month, dt.day, dt.hour, dt.minute), (2024, 2, 29, 13, 27));
        assert_eq!(parse_locale_date("29.02.2023", Locale::Ru), Err(DateError::Calendar));
        assert_eq!(parse_locale_date("31.02.2001", Locale::Ru), Err(DateError::Calendar));
        assert_eq!(parse_locale_date("01.01.2001 24:00", Locale::Ru), Err(DateError::Calendar));
        assert_eq!(parse_locale_date("4.7.1977", Locale::Ru), Err(DateError::Format));
        let pm = parse_locale_date("4/17/2022 3:27 PM", Locale::En).unwrap();
        assert_eq!((pm.month, pm.day, pm.hour), (4, 17, 15));
        assert_eq!(parse_locale_date("1/1/2022 12:05 am", Locale::En).unwrap().hour, 0);
        assert_eq!(parse_locale_date("1/1/2022 13:05 PM", Locale::En), Err(DateError::Calendar));
        assert_eq!(parse_locale_date("01.02.2003", Locale::En), Err(DateError::Format));
        assert_eq!(parse_locale_date("2/3/2001", Locale::Ru), Err(DateError::Format));
    }

    #[test]
    fn iso_and_serial_dates() {
        let dt = parse_iso("2001-02-03T13:27:00").unwrap().unwrap();
        assert_eq!(dt.format(Locale::Ru, true), "03.02.2001 13:27");
        assert_eq!(dt.format(Locale::En, true), "2/3/2001 1:27 PM");
        assert_eq!(parse_iso("2001-02-30"), Some(Err(DateError::Calendar)));
        assert_eq!(parse_iso("03.02.2001"), None);
        let serial = from_serial(45_322.562_5).unwrap(); // 2024-01-31 13:30
        assert_eq!(serial.format(Locale::Ru, true), "31.01.2024 13:30");
        assert_eq!(from_serial(60.0).unwrap().format(Locale::Ru, false), "28.02.1900");
    }

    #[test]
    fn uuids_emails_links_phones() {
        assert!(is_uuid("fd2af6d9-3e95-4896-9604-250929347ACB"));
        assert!(!is_uuid("fd2af6d9-3e95-4896-9604-25092934"));
        assert!(!is_uuid("fd2af6d9x3e95-4896-9604-250929347acb"));
        assert_eq!(email_problem("name@example.com"), None);
        assert!(email_problem("name.example.com").is_some());
        assert!(email_problem("na me@example.com").is_some());
        assert!(email_problem("name@example").is_some());
        assert_eq!(link_problem("https://example.com/a?b"), None);
        assert!(link_problem("example.com").is_some());
        assert!(link_problem("ftp://example.com").is_some());
        assert!(link_problem("https://").is_some());
        assert_eq!(phone_shape("79125554433"), PhoneShape::Valid);
        assert_eq!(phone_shape("+7 (912) 555-44-33"), PhoneShape::Decorated);
        assert_eq!(phone_shape("555-44-33"), PhoneShape::Count(7));
        assert_eq!(phone_shape("call me"), PhoneShape::Other);
        assert_eq!(phone_digits("+7 (912) 555-44-33"), "79125554433");
    }
}
