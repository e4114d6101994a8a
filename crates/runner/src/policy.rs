//! [`RunPolicy`]: the run's timings and budgets as data, and the refusal rule for starts.
//!
//! The policy never reads a clock: the run asks it how long to wait and whether a limit is
//! reached, and sleeps on the injected [`elma_import_client::Clock`], so tests drive it on
//! a manual clock.

use std::time::Duration;

use elma_import_client::retry::{classify, Decision, Outcome};
use elma_import_client::ClientError;
use rand::Rng;

/// Timings and budgets of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPolicy {
    /// First wait after a `blocked` answer; doubles per answer up to `blocked_max_delay`.
    pub blocked_base_delay: Duration,
    /// Longest wait between two starts of a blocked chunk.
    pub blocked_max_delay: Duration,
    /// Give up (exit 4) when the app stays blocked this long in one execution.
    pub blocked_timeout: Duration,
    /// Jitter of the blocked backoff, as a share (0.2: ±20 %).
    pub jitter: f64,
    /// End a wait whose counts have not moved for this long (exit 3, resumable).
    pub stall_timeout: Duration,
    /// Between two looks at the app's items while settling an uncertain chunk.
    pub settle_interval: Duration,
    /// Looks in a row that must find no new row before an uncertain chunk's missing
    /// rows are taken as missing (its lost import may still be running).
    pub settle_quiet_looks: u32,
    /// Longest time spent settling one uncertain chunk in one execution.
    pub settle_timeout: Duration,
    /// Starts again after a refusal or an import that failed before any row.
    pub max_restarts: u32,
    /// Times the rows that did not land are imported again.
    pub max_mends: u32,
    /// Only upload the next chunk during an import when the pause and this margin fit
    /// inside the temporary file's safe window.
    pub overlap_margin: Duration,
    /// Look-ups of rows among the app's items in flight at once.
    pub lookups_in_flight: usize,
}

impl Default for RunPolicy {
    fn default() -> Self {
        RunPolicy {
            blocked_base_delay: Duration::from_secs(1),
            blocked_max_delay: Duration::from_secs(30),
            blocked_timeout: Duration::from_secs(30 * 60),
            jitter: 0.2,
            stall_timeout: Duration::from_secs(30 * 60),
            settle_interval: Duration::from_secs(2),
            settle_quiet_looks: 2,
            settle_timeout: Duration::from_secs(120),
            max_restarts: 3,
            max_mends: 1,
            overlap_margin: Duration::from_secs(60),
            lookups_in_flight: 8,
        }
    }
}

impl RunPolicy {
    /// Wait before starting again after the `attempt`-th (0-based) `blocked` answer.
    pub fn blocked_delay<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let base = self.blocked_base_delay.saturating_mul(2u32.saturating_pow(attempt.min(16)));
        let base = base.min(self.blocked_max_delay);
        let jitter =
            if self.jitter > 0.0 { rng.random_range(1.0 - self.jitter..1.0 + self.jitter) } else { 1.0 };
        base.mul_f64(jitter)
    }
}

/// What a failed start request proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFailure {
    /// The platform answered and refused (an unknown or expired hash, say): nothing
    /// started; upload again and start anew.
    Refused,
    /// Nothing started, but the failure is transient (retries ran out on a 429/503 or no
    /// connection): stop, resumable, and start the same upload later.
    NotStarted,
    /// The request may have taken effect.
    Uncertain,
    /// Settings are at fault (token, address).
    Setup,
}

/// Judges a failed start by the client's pinned classifier ([`classify`]): a final answer
/// is a refusal, a retriable one that proves nothing happened is `NotStarted`.
pub fn judge_start(error: &ClientError) -> StartFailure {
    if error.is_uncertain() {
        return StartFailure::Uncertain;
    }
    if error.is_setup() {
        return StartFailure::Setup;
    }
    match error.status() {
        Some(status) => match classify(&Outcome::Answered { status, retry_after: None }) {
            Decision::Final => StartFailure::Refused,
            Decision::RetryAny => StartFailure::NotStarted,
            Decision::RetryIdempotent => StartFailure::Uncertain,
        },
        // No answer at all: the client only returns these for a start when no
        // connection was made (anything later is `Uncertain`).
        None => StartFailure::NotStarted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn blocked_backoff_doubles_to_its_ceiling_within_the_jitter() {
        let p = RunPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (attempt, base) in [(0u32, 1.0f64), (1, 2.0), (3, 8.0), (9, 30.0)] {
            let d = p.blocked_delay(attempt, &mut rng).as_secs_f64();
            assert!(d >= base * 0.8 && d <= base * 1.2, "attempt {attempt}: {d}");
        }
    }

    #[test]
    fn start_failures_follow_the_clients_table() {
        let api =
            |status| ClientError::Api { request: "POST /x".into(), status, message: String::new(), tries: 1 };
        assert_eq!(judge_start(&api(400)), StartFailure::Refused);
        assert_eq!(judge_start(&api(409)), StartFailure::Refused);
        assert_eq!(judge_start(&api(503)), StartFailure::NotStarted);
        assert_eq!(judge_start(&api(429)), StartFailure::NotStarted);
        assert_eq!(judge_start(&api(500)), StartFailure::Uncertain);
        let lost = ClientError::Uncertain { request: "POST /x".into(), reason: "timeout".into(), tries: 1 };
        assert_eq!(judge_start(&lost), StartFailure::Uncertain);
    }
}
