//! Settings every criterion bench of this package shares: few, long samples, so the
//! whole `cargo bench` stays within minutes on two cores.

use std::time::Duration;

use criterion::Criterion;

/// Ten samples, one second of warm-up, four of measurement.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}
