//! The company's time zone: import cells carry no offset, so the platform reads them in
//! the zone the company is set to. A fixed offset, or an IANA zone with its clock
//! changes (then a local time the clocks jump over does not exist, and one they pass
//! twice is read as the earlier instant).

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone as _};
use elma_import_contract::zone::TimeZone;

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

/// A company's time zone written in the one grammar of time zones
/// ([`elma_import_contract::zone`]): an IANA name in any letter case, an offset
/// (`+03:00`, `+0300`, `UTC+3`), `UTC`/`Z`, or `local`, the machine's zone pinned by its
/// IANA name (the emulator stands for a company set to the zone its operator is in).
///
/// ```
/// use elma_import_emulator::{parse_time_zone, Zone};
/// let zone = parse_time_zone("+03:00").unwrap();
/// assert_eq!(zone, Zone::moscow());
/// assert_eq!(parse_time_zone("UTC+3").unwrap(), Zone::moscow());
/// assert_eq!(parse_time_zone("utc").unwrap().to_string(), "+00:00");
/// assert_eq!(parse_time_zone("europe/berlin").unwrap().to_string(), "Europe/Berlin");
/// assert!(parse_time_zone("Mars/Olympus").is_err());
/// ```
///
/// # Errors
/// The text names no time zone (the message says what would do), or it is `local` and
/// the machine's zone cannot be found.
pub fn parse_time_zone(text: &str) -> Result<Zone, String> {
    match text.parse::<TimeZone>().map_err(|e| e.to_string())?.pinned() {
        TimeZone::Fixed(offset) => Ok(Zone::Fixed(offset)),
        TimeZone::Named(tz) => Ok(Zone::Named(tz)),
        TimeZone::Local => Err(format!(
            "time zone `{}`: the machine's zone cannot be found; name it, e.g. `Europe/Moscow`",
            text.trim()
        )),
    }
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
    fn the_grammar_is_the_clients() {
        // What `--time-zone` accepts, the emulator accepts too (issue 15).
        assert_eq!(parse_time_zone("europe/moscow").unwrap(), Zone::Named(chrono_tz::Europe::Moscow));
        assert_eq!(parse_time_zone("UTC+3").unwrap(), Zone::moscow());
        assert_eq!(parse_time_zone("z").unwrap(), parse_time_zone("+00:00").unwrap());
        // `local` is the machine's zone, pinned by name, as a run pins it.
        match (parse_time_zone("local"), TimeZone::Local.pinned()) {
            (Ok(Zone::Named(tz)), TimeZone::Named(machine)) => assert_eq!(tz, machine),
            (Err(e), TimeZone::Local) => assert!(e.contains("cannot be found"), "{e}"),
            other => panic!("{other:?}"),
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
