//! Network latency of `/pub/v1` requests: a fixed delay plus seeded jitter per request.
//!
//! A tenant of the platform answers in 50–150 ms, and through a VPN more; on 127.0.0.1
//! the emulator answers in microseconds. With [`crate::EmulatorConfig::latency`] or
//! [`crate::EmulatorConfig::latency_jitter`] set, each `/pub/v1` request is delayed by
//! `latency + U(0, latency_jitter)` in all: half on its way in (before it is counted
//! and handled, so a status answer tells the import's state as of the request's
//! arrival) and half on the answer's way back. The `/_emulator/` endpoints are never
//! delayed. The jitter is drawn from its own RNG, seeded with the emulator's seed, so
//! it does not shift the fault sequence and the same seed gives the same delays.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mixed into the emulator's seed so the latency RNG is not the fault RNG's twin.
const STREAM: u64 = 0x6c61_7465_6e63_7921;

/// The delay of each `/pub/v1` request.
pub(crate) struct Latency {
    fixed: Duration,
    jitter: Duration,
    rng: Mutex<StdRng>,
}

impl Latency {
    pub fn new(fixed: Duration, jitter: Duration, seed: u64) -> Latency {
        Latency { fixed, jitter, rng: Mutex::new(StdRng::seed_from_u64(seed ^ STREAM)) }
    }

    /// Whether requests are delayed at all.
    pub fn is_none(&self) -> bool {
        self.fixed.is_zero() && self.jitter.is_zero()
    }

    /// The whole delay of the next request: the fixed part plus a uniform draw below
    /// the jitter.
    pub fn draw(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.fixed;
        }
        let share: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
        self.fixed + self.jitter.mul_f64(share)
    }

    /// A request's delay split into its way in and its way back.
    pub fn split(delay: Duration) -> (Duration, Duration) {
        let inbound = delay / 2;
        (inbound, delay - inbound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_fixed_plus_seeded_jitter() {
        let ms = Duration::from_millis;
        let a = Latency::new(ms(100), ms(20), 7);
        let b = Latency::new(ms(100), ms(20), 7);
        let c = Latency::new(ms(100), ms(20), 8);
        let da: Vec<Duration> = (0..200).map(|_| a.draw()).collect();
        let db: Vec<Duration> = (0..200).map(|_| b.draw()).collect();
        let dc: Vec<Duration> = (0..200).map(|_| c.draw()).collect();
        assert_eq!(da, db, "the same seed gives the same delays");
        assert_ne!(da, dc);
        assert!(da.iter().all(|d| (ms(100)..ms(120)).contains(d)), "{da:?}");
        // Spread over the jitter, not stuck at one end.
        assert!(da.iter().any(|d| *d < ms(105)) && da.iter().any(|d| *d > ms(115)), "{da:?}");
        assert_eq!(Latency::new(ms(50), Duration::ZERO, 1).draw(), ms(50));
        assert!(Latency::new(Duration::ZERO, Duration::ZERO, 1).is_none());
        assert_eq!(Latency::split(ms(101)), (Duration::from_micros(50_500), Duration::from_micros(50_500)));
    }
}
