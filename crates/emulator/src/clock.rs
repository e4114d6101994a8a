//! [`WallClock`]: where the emulator's wall-clock milliseconds come from.

use std::time::{SystemTime, UNIX_EPOCH};

/// The emulator's wall clock: milliseconds since the Unix epoch, for upload times,
/// temporary-file expiry, imports' `started_ms`/`finished_ms` and foreign blocks
/// ([`crate::EmulatorConfig::clock`]). Every interval the emulator measures (import
/// speed, queue draining, poll gaps, slow answers) is on tokio's clock in any case.
///
/// - [`WallClock::system`] (the default): the system's clock.
/// - [`WallClock::simulated`]: a fixed epoch plus the time tokio's clock has moved since
///   the clock was made, for a run on tokio's paused clock. It also makes the emulator
///   **deterministic**: with it the emulator does its file work inline (no
///   `spawn_blocking`, whose finishing order follows the real disk), and draws the ids of
///   imports, items, stored files and users from an RNG seeded with
///   [`crate::EmulatorConfig::seed`]. Then, on a current-thread runtime with a paused clock,
///   the same seed, config and sequence of requests give the same answers, ids included.
///
/// ```
/// use elma_import_emulator::WallClock;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let clock = WallClock::simulated(1_700_000_000_000);
/// tokio::time::sleep(std::time::Duration::from_secs(90)).await; // no real waiting
/// assert_eq!(clock.now_ms(), 1_700_000_090_000);
/// assert!(WallClock::system().now_ms() > 1_700_000_000_000);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallClock(Kind);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    System,
    Simulated {
        epoch_ms: u64,
        origin: tokio::time::Instant,
    },
}

impl WallClock {
    /// The system's clock.
    pub fn system() -> WallClock {
        WallClock(Kind::System)
    }

    /// `epoch_ms` now, moving with tokio's clock from now on. Make it inside the runtime
    /// whose clock it should follow (with a paused clock, that clock). Clones share the
    /// origin, so an emulator restarted with the same config keeps the time.
    pub fn simulated(epoch_ms: u64) -> WallClock {
        WallClock(Kind::Simulated { epoch_ms, origin: tokio::time::Instant::now() })
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self.0 {
            Kind::System => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            Kind::Simulated { epoch_ms, origin } => epoch_ms + origin.elapsed().as_millis() as u64,
        }
    }

    /// Whether this is a [`WallClock::simulated`] clock (and the emulator deterministic).
    pub fn is_simulated(&self) -> bool {
        matches!(self.0, Kind::Simulated { .. })
    }
}
