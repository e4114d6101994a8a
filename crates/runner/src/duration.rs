//! Durations as people read them: `5.0s`, `2m 06s`, `1h 02m` (one style across the tool).

use std::time::Duration;

/// A duration rounded for people, in the one style of every message of the tool
/// (`elma_import_chunk::plan::human_duration`): `5.0s`, `2m 06s`, `1h 02m`.
pub fn human(d: Duration) -> String {
    elma_import_chunk::plan::human_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_rounded() {
        assert_eq!(human(Duration::from_secs_f64(5.001544464)), "5.0s");
        assert_eq!(human(Duration::from_secs(126)), "2m 06s");
        assert_eq!(human(Duration::from_secs(3725)), "1h 02m");
        assert_eq!(human(Duration::from_secs_f64(59.96)), "1m 00s");
    }
}
