//! [`TimeZone`]: the zone a run reads date-time cells in (docs/platform.md §7: a cell has no offset of
//! its own), written as an IANA name (`Europe/Moscow`), a fixed offset (`+03:00`, `UTC`)
//! or `local` (the machine's zone, the default).
//!
//! This is the one grammar of time zones: the CLI's `--time-zone`, a run's spec and the
//! emulator's company zone are all read by [`TimeZone::from_str`]:
//!
//! * an IANA name, in any letter case: `Europe/Moscow`, `europe/moscow`;
//! * a fixed offset: `+03:00`, `+0300`, `+3`, `-05:30`, from −14:00 to +14:00, optionally
//!   after `UTC` or `GMT`: `UTC+3`, `GMT-05:30`;
//! * `UTC`, `GMT` or `Z`: offset zero;
//! * `local`: the machine's zone ([`TimeZone::pinned`] names it).
//!
//! ```
//! use elma_import_contract::zone::TimeZone;
//! use chrono::NaiveDate;
//!
//! let moscow: TimeZone = "Europe/Moscow".parse().unwrap();
//! let noon = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
//! assert_eq!(moscow.resolve(noon).to_rfc3339(), "2024-07-01T12:00:00+03:00");
//! let fixed: TimeZone = "-05:30".parse().unwrap();
//! assert_eq!(fixed.to_string(), "-05:30");
//! assert!("Mars/Olympus".parse::<TimeZone>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset};

/// The time zone date-time cells are read in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeZone {
    /// The machine's zone (`TZ`, else `/etc/localtime`), with its clock changes.
    #[default]
    Local,
    /// A zone of the IANA database, with its clock changes.
    Named(chrono_tz::Tz),
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
}

/// A text that names no time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time zone `{text}` is unknown: {reason}")]
pub struct UnknownTimeZone {
    /// The text given (trimmed).
    pub text: String,
    /// What is wrong with it, and what would do.
    pub reason: &'static str,
}

/// Why a text is no time zone, when it looks like none.
const EXPECTED: &str =
    "give an IANA name such as `Europe/Moscow`, an offset such as `+03:00` or `UTC+3`, `UTC` or `local`";
/// Why an offset is no time zone.
const OFFSET_RANGE: &str = "an offset lies between -14:00 and +14:00, with minutes below 60 (e.g. `+03:00`)";

impl TimeZone {
    /// The date-time `local` on this zone's clock. A time a clock change repeats is the
    /// earlier of the two; a time a clock change skips is read with the offset in force
    /// just before the change (so `02:30` on a spring-forward night is `03:30` after it).
    pub fn resolve(&self, local: NaiveDateTime) -> DateTime<FixedOffset> {
        match self {
            TimeZone::Local => pick(&chrono::Local, local),
            TimeZone::Named(tz) => pick(tz, local),
            TimeZone::Fixed(offset) => pick(offset, local),
        }
    }

    /// The zone itself: for [`TimeZone::Local`], the machine's IANA zone when it can be
    /// found, so that a run resumed on another machine reads cells the same way.
    pub fn pinned(&self) -> TimeZone {
        match self {
            TimeZone::Local => iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| chrono_tz::Tz::from_str_insensitive(&name).ok())
                .map_or(TimeZone::Local, TimeZone::Named),
            other => *other,
        }
    }

    /// The zone's name for people and plans: the IANA name, the offset, or `local` with
    /// the machine's zone name when it can be found (`local (Europe/Moscow)`).
    pub fn describe(&self) -> String {
        match self {
            TimeZone::Local => match iana_time_zone::get_timezone() {
                Ok(name) if !name.is_empty() => format!("local ({name})"),
                _ => "local".to_string(),
            },
            other => other.to_string(),
        }
    }
}

fn pick<Tz: chrono::TimeZone>(zone: &Tz, local: NaiveDateTime) -> DateTime<FixedOffset> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.fixed_offset(),
        LocalResult::None => {
            // Skipped by a clock change: the offset of three hours before (a gap is shorter,
            // and clocks do not change twice in three hours), applied to the wall time.
            let before = local - chrono::Duration::hours(3);
            let offset = match zone.from_local_datetime(&before) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.offset().fix(),
                LocalResult::None => zone.offset_from_utc_datetime(&local).fix(),
            };
            let utc = local - offset;
            DateTime::from_naive_utc_and_offset(utc, zone.offset_from_utc_datetime(&utc).fix())
        }
    }
}

impl FromStr for TimeZone {
    type Err = UnknownTimeZone;

    fn from_str(text: &str) -> Result<TimeZone, UnknownTimeZone> {
        let t = text.trim();
        let unknown = |reason| UnknownTimeZone { text: t.to_string(), reason };
        if t.eq_ignore_ascii_case("local") {
            return Ok(TimeZone::Local);
        }
        let utc = FixedOffset::east_opt(0).expect("a zero offset");
        if ["utc", "gmt", "z"].iter().any(|z| t.eq_ignore_ascii_case(z)) {
            return Ok(TimeZone::Fixed(utc));
        }
        // `UTC+3`, `gmt-05:30`: an offset after the name of offset zero.
        let offset = match t.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("utc") || p.eq_ignore_ascii_case("gmt") => &t[3..],
            _ => t,
        };
        if offset.starts_with(['+', '-']) {
            return parse_offset(offset).map(TimeZone::Fixed).map_err(unknown);
        }
        chrono_tz::Tz::from_str_insensitive(t).map(TimeZone::Named).map_err(|_| unknown(EXPECTED))
    }
}

/// `+03:00`, `-0530`, `+3` (a sign first).
fn parse_offset(text: &str) -> Result<FixedOffset, &'static str> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(EXPECTED),
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let all_digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return Err(EXPECTED);
    }
    let (h, m): (i32, i32) = (hours.parse().map_err(|_| EXPECTED)?, minutes.parse().map_err(|_| EXPECTED)?);
    if h > 14 || m > 59 || (h == 14 && m > 0) {
        return Err(OFFSET_RANGE);
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or(OFFSET_RANGE)
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeZone::Local => f.write_str("local"),
            TimeZone::Named(tz) => f.write_str(tz.name()),
            TimeZone::Fixed(offset) if offset.local_minus_utc() == 0 => f.write_str("UTC"),
            TimeZone::Fixed(offset) => write!(f, "{offset}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
    }

    fn fixed(secs: i32) -> TimeZone {
        TimeZone::Fixed(FixedOffset::east_opt(secs).unwrap())
    }

    #[test]
    fn parses_names_offsets_and_local() {
        assert_eq!("local".parse::<TimeZone>().unwrap(), TimeZone::Local);
        assert_eq!(" LOCAL ".parse::<TimeZone>().unwrap(), TimeZone::Local);
        for name in ["Europe/Moscow", "europe/moscow", "EUROPE/MOSCOW"] {
            assert_eq!(
                name.parse::<TimeZone>().unwrap(),
                TimeZone::Named(chrono_tz::Europe::Moscow),
                "{name}"
            );
        }
        for (text, secs) in [
            ("+03:00", 10800),
            ("+0300", 10800),
            ("+3", 10800),
            ("-0530", -19800),
            ("-05:30", -19800),
            ("+14:00", 50400),
            ("-12:00", -43200),
            ("UTC", 0),
            ("utc", 0),
            ("GMT", 0),
            ("Z", 0),
            ("z", 0),
            ("UTC+3", 10800),
            ("utc+03:00", 10800),
            ("UTC+05:00", 18000),
            ("GMT-05:30", -19800),
        ] {
            assert_eq!(text.parse::<TimeZone>().unwrap(), fixed(secs), "{text}");
        }
        assert_eq!("+03:00".parse::<TimeZone>().unwrap().to_string(), "+03:00");
        assert_eq!("Europe/Berlin".parse::<TimeZone>().unwrap().describe(), "Europe/Berlin");
        assert!(TimeZone::Local.describe().starts_with("local"));
    }

    #[test]
    fn bad_input_is_refused_with_what_would_do() {
        for bad in ["Mars/Olympus", "", "3", "03:00", "UTC3", "+3:0:0", "+03:0a", "Moscow time"] {
            let err = bad.parse::<TimeZone>().unwrap_err();
            assert_eq!(err.text, bad.trim());
            let message = err.to_string();
            assert!(message.contains(&format!("`{}`", bad.trim())), "{message}");
            assert!(message.contains("`Europe/Moscow`") && message.contains("`+03:00`"), "{message}");
        }
        for out_of_range in ["+25:00", "+03:99", "+14:30", "UTC-15"] {
            let err = out_of_range.parse::<TimeZone>().unwrap_err();
            assert!(err.to_string().contains("between -14:00 and +14:00"), "{err}");
        }
    }

    #[test]
    fn resolves_wall_times_across_clock_changes() {
        let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
        assert_eq!(berlin.resolve(at(2024, 1, 15, 9, 30)).to_rfc3339(), "2024-01-15T09:30:00+01:00");
        assert_eq!(berlin.resolve(at(2024, 7, 15, 9, 30)).to_rfc3339(), "2024-07-15T09:30:00+02:00");
        // Skipped (spring forward at 02:00 → 03:00): read with the winter offset.
        assert_eq!(berlin.resolve(at(2024, 3, 31, 2, 30)).to_rfc3339(), "2024-03-31T03:30:00+02:00");
        // Repeated (fall back at 03:00 → 02:00): the earlier.
        assert_eq!(berlin.resolve(at(2024, 10, 27, 2, 30)).to_rfc3339(), "2024-10-27T02:30:00+02:00");
        let fixed: TimeZone = "+03:00".parse().unwrap();
        assert_eq!(fixed.resolve(at(2024, 3, 31, 2, 30)).to_rfc3339(), "2024-03-31T02:30:00+03:00");
    }
}
