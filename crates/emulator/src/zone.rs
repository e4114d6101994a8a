//! The company's time zone: import cells carry no offset, so the platform reads them in
//! the zone the company is set to. A fixed offset, or an IANA zone with its clock
//! changes (then a local time the clocks jump over does not exist, and one they pass
//! twice is read as the earlier instant).

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone};

/// A company's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC, e.g. `+03:00`.
    Fixed(FixedOffset),
    /// An IANA zone, e.g. `Europe/Berlin`, with its clock changes.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `+03:00`: Moscow, the zone of ELMA365's cloud (no clock changes since 2014).
    pub fn moscow() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset"))
    }

    /// The instant of the company's local time `local`; `Err` names a local time the
    /// clocks jump over.
    pub fn resolve(&self, local: NaiveDateTime) -> Result<DateTime<FixedOffset>, String> {
        let found = match self {
            Zone::Fixed(offset) => offset.from_local_datetime(&local).map(|d| d.fixed_offset()),
            Zone::Named(tz) => tz.from_local_datetime(&local).map(|d| d.fixed_offset()),
        };
        match found {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Ok(at),
            LocalResult::None => Err(format!(
                "`{}` does not exist in the time zone `{self}`: the clocks jump over it",
                local.format("%Y-%m-%d %H:%M:%S")
            )),
        }
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Fixed(offset) => write!(f, "{offset}"),
            Zone::Named(tz) => f.write_str(tz.name()),
        }
    }
}

/// A time zone as an offset (`+03:00`, `-05:30`, `+0300`), `UTC`/`Z`, or an IANA name
/// (`Europe/Moscow`).
///
/// ```
/// use elma_import_emulator::{parse_time_zone, Zone};
/// let zone = parse_time_zone("+03:00").unwrap();
/// assert_eq!(zone, Zone::moscow());
/// assert_eq!(parse_time_zone("utc").unwrap().to_string(), "+00:00");
/// assert_eq!(parse_time_zone("Europe/Berlin").unwrap().to_string(), "Europe/Berlin");
/// assert!(parse_time_zone("Mars/Olympus").is_err());
/// ```
pub fn parse_time_zone(text: &str) -> Result<Zone, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
        return Ok(Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset")));
    }
    let bad = || {
        format!("`{text}` is not a time zone: expected an offset such as `+03:00`, `UTC`, or a name such as `Europe/Moscow`")
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return t.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| bad()),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(Zone::Fixed).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
    }

    #[test]
    fn offsets_and_names_parse_and_nonsense_is_refused() {
        let offset = |z: Zone| match z {
            Zone::Fixed(o) => o.local_minus_utc(),
            Zone::Named(_) => panic!("not fixed"),
        };
        assert_eq!(offset(parse_time_zone("-05:30").unwrap()), -(5 * 3600 + 1800));
        assert_eq!(offset(parse_time_zone("+0300").unwrap()), 3 * 3600);
        assert_eq!(offset(parse_time_zone("Z").unwrap()), 0);
        assert_eq!(
            parse_time_zone("Asia/Yekaterinburg").unwrap(),
            Zone::Named(chrono_tz::Asia::Yekaterinburg)
        );
        for bad in ["03:00", "+25:00", "Nowhere/City", ""] {
            assert!(parse_time_zone(bad).unwrap_err().contains(&format!("`{bad}`")), "{bad}");
        }
    }

    #[test]
    fn named_zones_follow_their_clock_changes() {
        let berlin = parse_time_zone("Europe/Berlin").unwrap();
        assert_eq!(berlin.resolve(at(2024, 1, 15, 12, 0)).unwrap().to_rfc3339(), "2024-01-15T12:00:00+01:00");
        assert_eq!(berlin.resolve(at(2024, 7, 15, 12, 0)).unwrap().to_rfc3339(), "2024-07-15T12:00:00+02:00");
        let gap = berlin.resolve(at(2024, 3, 31, 2, 30)).unwrap_err();
        assert!(gap.contains("2024-03-31 02:30:00") && gap.contains("Europe/Berlin"), "{gap}");
        let twice = berlin.resolve(at(2024, 10, 27, 2, 30)).unwrap();
        assert_eq!(twice.to_rfc3339(), "2024-10-27T02:30:00+02:00", "the earlier of the two");
        // Moscow kept summer time from 1981 to 2010: a named zone knows, a fixed offset
        // does not.
        let moscow = parse_time_zone("Europe/Moscow").unwrap();
        assert_eq!(moscow.resolve(at(1985, 7, 4, 13, 27)).unwrap().to_rfc3339(), "1985-07-04T13:27:00+04:00");
        assert_eq!(
            Zone::moscow().resolve(at(1985, 7, 4, 13, 27)).unwrap().to_rfc3339(),
            "1985-07-04T13:27:00+03:00"
        );
    }
}
