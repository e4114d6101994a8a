//! Durations as people read them: `5.0 s`, `2 min 06 s`, `1 h 02 min`.

use std::time::Duration;

/// A duration rounded for people: tenths of a second under a minute, then minutes and
/// seconds, then hours and minutes.
pub fn human(d: Duration) -> String {
    let tenths = (d.as_secs_f64() * 10.0).round() as u64;
    if tenths < 600 {
        return format!("{}.{} s", tenths / 10, tenths % 10);
    }
    let s = (d.as_secs_f64()).round() as u64;
    if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_rounded() {
        assert_eq!(human(Duration::from_secs_f64(5.001544464)), "5.0 s");
        assert_eq!(human(Duration::from_secs(126)), "2 min 06 s");
        assert_eq!(human(Duration::from_secs(3725)), "1 h 02 min");
        assert_eq!(human(Duration::from_secs_f64(59.96)), "1 min 00 s");
    }
}
