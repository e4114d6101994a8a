//! Text forms of .xlsx numbers and dates.

use std::fmt::Write as _;

use calamine::{ExcelDateTime, ExcelDateTimeType};
use chrono::{NaiveDate, NaiveDateTime, Timelike};

/// Days between the 1900 and the 1904 date systems' epochs.
pub(crate) const DAYS_1904: f64 = 1462.0;

/// Appends the shortest decimal form of `n` that reads back as `n` (`27`, `27.5`,
/// `0.1`), without an exponent.
pub(crate) fn push_number(out: &mut String, n: f64) {
    // Whole numbers (most numeric cells): integer digits.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(n as i64));
        return;
    }
    // Others: ryu's shortest round-trip digits, when it writes them without an exponent;
    // else `{}`, which never writes one.
    if n.is_finite() {
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format_finite(n);
        if !text.contains(['e', 'E']) {
            out.push_str(text);
            return;
        }
    }
    let _ = write!(out, "{n}");
}

/// Appends `value` as exactly `width` digits (zero-padded; `value < 10^width`).
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        out.push(char::from(b'0' + ((value / div) % 10) as u8));
        div /= 10;
    }
}

/// Appends the ISO 8601 form of a serial date in the 1900 system: `2024-01-31` at
/// midnight, `2024-01-31T13:27:00` otherwise (with `.mmm` when there are milliseconds).
pub(crate) fn push_iso_date(out: &mut String, serial_1900: f64) {
    let (y, mo, d, h, mi, s, ms) =
        ExcelDateTime::new(serial_1900, ExcelDateTimeType::DateTime, false).to_ymd_hms_milli();
    if y > 9999 {
        let _ = write!(out, "{y}");
    } else {
        push_digits(out, u32::from(y), 4);
    }
    out.push('-');
    push_digits(out, u32::from(mo), 2);
    out.push('-');
    push_digits(out, u32::from(d), 2);
    if (h, mi, s, ms) != (0, 0, 0, 0) {
        out.push('T');
        push_digits(out, u32::from(h), 2);
        out.push(':');
        push_digits(out, u32::from(mi), 2);
        out.push(':');
        push_digits(out, u32::from(s), 2);
        if ms != 0 {
            out.push('.');
            push_digits(out, u32::from(ms), 3);
        }
    }
}

/// The serial in the 1900 system of an ISO 8601 date or date-time (the `t="d"` cells
/// some producers write), or `None` when the text is neither.
pub(crate) fn serial_from_iso(text: &str) -> Option<f64> {
    let text = text.trim().trim_end_matches('Z');
    let dt = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0))?;
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let mut days = (dt.date() - epoch).num_days() as f64;
    // Excel counts the non-existent 1900-02-29 as day 60.
    if days < 61.0 && days > 0.0 {
        days -= 1.0;
    }
    let secs = dt.time().num_seconds_from_midnight() as f64 + f64::from(dt.time().nanosecond()) / 1e9;
    Some(days + secs / 86_400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> String {
        let mut s = String::new();
        push_number(&mut s, n);
        s
    }

    fn iso(n: f64) -> String {
        let mut s = String::new();
        push_iso_date(&mut s, n);
        s
    }

    #[test]
    fn numbers_are_shortest_decimal() {
        assert_eq!(num(27.0), "27");
        assert_eq!(num(27.37), "27.37");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(num(-5.0), "-5");
        assert_eq!(num(1e21), "1000000000000000000000");
        assert_eq!(num(123456789012345.0), "123456789012345");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(-0.5), "-0.5");
        assert_eq!(num(1234.5678), "1234.5678");
        for n in [0.1, 2.5e-7, 98765.4321, 1e300, -3.0e-12, 42.0, 1.0 / 3.0] {
            assert_eq!(num(n).parse::<f64>().unwrap(), n, "{n} round-trips");
            assert!(!num(n).contains('e'), "{n} has no exponent");
        }
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(iso(45322.0), "2024-01-31");
        assert_eq!(iso(45322.0 + (13.0 * 60.0 + 27.0) / 1440.0), "2024-01-31T13:27:00");
        assert_eq!(iso(61.0), "1900-03-01");
        assert_eq!(iso(1.0), "1900-01-01");
    }

    #[test]
    fn iso_text_to_serial() {
        assert_eq!(serial_from_iso("2024-01-31"), Some(45322.0));
        assert_eq!(serial_from_iso("1900-01-01"), Some(1.0));
        assert_eq!(serial_from_iso("1900-03-01"), Some(61.0));
        let s = serial_from_iso("2024-01-31T12:00:00").unwrap_or_default();
        assert!((s - 45322.5).abs() < 1e-9);
        assert_eq!(serial_from_iso("yesterday"), None);
    }
}
