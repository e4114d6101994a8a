//! Retry policy as data: one classifier with a pinned table, and jittered backoff.
//!
//! | outcome                                   | decision                                |
//! |-------------------------------------------|-----------------------------------------|
//! | 2xx and every other status not listed     | [`Decision::Final`]                     |
//! | 429 Too Many Requests                     | [`Decision::RetryAny`]                  |
//! | 503 Service Unavailable (± `Retry-After`) | [`Decision::RetryAny`]                  |
//! | could not connect                         | [`Decision::RetryAny`]                  |
//! | 408, 500, 502, 504                        | [`Decision::RetryIdempotent`]           |
//! | timeout, dropped connection, unreadable answer | [`Decision::RetryIdempotent`]      |
//!
//! docs/platform.md retries 408, 429, 500, 502, 503, 504 and transport errors. The table splits them
//! by whether the server *provably did not act* on the request, because starting an import
//! is not idempotent: a second start after a first one that did land would import the rows
//! twice. Only three outcomes prove the request was not processed:
//! - no connection was made;
//! - 429: the server throttled the request instead of handling it;
//! - 503: the server declares itself unable to handle the request now (overload,
//!   maintenance). We treat it as "not processed" with or without `Retry-After`, as the
//!   platform and the emulator answer 503 before doing any work. The residual risk is a
//!   proxy that forwarded the request and then answered 503; we accept it.
//!
//! A 408 also means the server gave up reading the request, but a proxy in between may have
//! forwarded it, so it stays on the cautious side. Everything in the last two rows may have
//! been processed: an idempotent request is retried, a start becomes
//! [`ClientError::Uncertain`](crate::ClientError::Uncertain).

use std::fmt;
use std::time::Duration;

use rand::Rng;

/// How an HTTP exchange went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// No connection could be made (refused, unreachable, DNS, TLS handshake).
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// The connection dropped or was reset after the request went out.
    Interrupted,
    /// The answer's body could not be read.
    Body,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out waiting for the answer",
            TransportKind::Interrupted => "the connection dropped before the answer arrived",
            TransportKind::Body => "the answer could not be read",
        })
    }
}

/// What one attempt of a request came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with an HTTP status.
    Answered {
        /// The status code.
        status: u16,
        /// The `Retry-After` header, when present and in seconds.
        retry_after: Option<Duration>,
    },
    /// No (complete) answer.
    Transport(TransportKind),
}

impl Outcome {
    /// The `Retry-After` the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Outcome::Answered { retry_after, .. } => *retry_after,
            Outcome::Transport(_) => None,
        }
    }
}

/// What to do after an [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Not transient: hand the answer or the error to the caller.
    Final,
    /// Transient, and the server provably did not act on the request: any request may be
    /// sent again.
    RetryAny,
    /// Transient, but the server may have acted: only an idempotent request may be sent
    /// again.
    RetryIdempotent,
}

impl Decision {
    /// Whether a request of this idempotency may be sent again.
    pub fn allows_retry(self, idempotent: bool) -> bool {
        match self {
            Decision::Final => false,
            Decision::RetryAny => true,
            Decision::RetryIdempotent => idempotent,
        }
    }
}

/// The one classifier: the pinned table of the [module docs](self).
pub fn classify(outcome: &Outcome) -> Decision {
    match *outcome {
        Outcome::Answered { status: 429 | 503, .. } => Decision::RetryAny,
        Outcome::Answered { status: 408 | 500 | 502 | 504, .. } => Decision::RetryIdempotent,
        Outcome::Answered { .. } => Decision::Final,
        Outcome::Transport(TransportKind::Connect) => Decision::RetryAny,
        Outcome::Transport(TransportKind::Timeout | TransportKind::Interrupted | TransportKind::Body) => {
            Decision::RetryIdempotent
        }
    }
}

/// Parses a `Retry-After` value in seconds (`"2"`, `"0.5"`). HTTP dates are not supported
/// and give `None`, as do negative or absurd values (above a day).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if !(0.0..=86_400.0).contains(&secs) {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; doubles with every further retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling. A longer `Retry-After` is still honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 6 retries, 250 ms base, 30 s cap.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// The backoff ceiling of retry number `retry` (1 = the first retry):
    /// `min(max_delay, base_delay × 2^(retry-1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before retry number `retry` (1 = the first retry): "full jitter", uniform in
    /// `[0, ceiling(retry)]`, but never shorter than `retry_after` (which may exceed
    /// `max_delay`: the server's word wins). `rng` is injected so tests are deterministic.
    pub fn delay<R: Rng + ?Sized>(&self, retry: u32, retry_after: Option<Duration>, rng: &mut R) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(rng.random_range(0..=ceiling));
        jittered.max(retry_after.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn status(status: u16) -> Outcome {
        Outcome::Answered { status, retry_after: None }
    }

    #[test]
    fn classifier_table_is_pinned() {
        use Decision::*;
        let table: &[(Outcome, Decision)] = &[
            (status(200), Final),
            (status(206), Final),
            (status(400), Final),
            (status(402), Final),
            (status(403), Final),
            (status(404), Final),
            (status(409), Final),
            (status(413), Final),
            (status(422), Final),
            (status(501), Final),
            (status(505), Final),
            (status(301), Final),
            (status(408), RetryIdempotent),
            (status(429), RetryAny),
            (Outcome::Answered { status: 429, retry_after: Some(Duration::from_secs(3)) }, RetryAny),
            (status(500), RetryIdempotent),
            (status(502), RetryIdempotent),
            (status(503), RetryAny),
            (Outcome::Answered { status: 503, retry_after: Some(Duration::from_secs(1)) }, RetryAny),
            (status(504), RetryIdempotent),
            (Outcome::Transport(TransportKind::Connect), RetryAny),
            (Outcome::Transport(TransportKind::Timeout), RetryIdempotent),
            (Outcome::Transport(TransportKind::Interrupted), RetryIdempotent),
            (Outcome::Transport(TransportKind::Body), RetryIdempotent),
        ];
        for (outcome, expected) in table {
            assert_eq!(classify(outcome), *expected, "{outcome:?}");
        }
        // Every status docs/platform.md lists as retried is retried for idempotent requests, and no
        // other 4xx is.
        for code in 100..600u16 {
            let retried = classify(&status(code)).allows_retry(true);
            assert_eq!(retried, [408, 429, 500, 502, 503, 504].contains(&code), "{code}");
        }
    }

    #[test]
    fn non_idempotent_requests_retry_only_when_not_processed() {
        assert!(classify(&status(503)).allows_retry(false));
        assert!(classify(&status(429)).allows_retry(false));
        assert!(classify(&Outcome::Transport(TransportKind::Connect)).allows_retry(false));
        for code in [408, 500, 502, 504] {
            assert!(!classify(&status(code)).allows_retry(false), "{code}");
        }
        assert!(!classify(&Outcome::Transport(TransportKind::Timeout)).allows_retry(false));
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_capped_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(1), Duration::from_millis(250));
        assert_eq!(policy.ceiling(2), Duration::from_millis(500));
        assert_eq!(policy.ceiling(4), Duration::from_secs(2));
        assert_eq!(policy.ceiling(20), Duration::from_secs(30));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(30));
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen_small = false;
        for retry in 1..=12 {
            for _ in 0..50 {
                let d = policy.delay(retry, None, &mut rng);
                assert!(d <= policy.ceiling(retry), "{retry}: {d:?}");
                seen_small |= d < policy.ceiling(retry) / 2;
            }
        }
        assert!(seen_small, "full jitter spreads delays down to zero");
        // Deterministic for a given seed.
        let a: Vec<_> = (1..6).map(|r| policy.delay(r, None, &mut StdRng::seed_from_u64(1))).collect();
        let b: Vec<_> = (1..6).map(|r| policy.delay(r, None, &mut StdRng::seed_from_u64(1))).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn retry_after_is_a_floor_even_above_the_cap() {
        let policy = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        };
        let mut rng = StdRng::seed_from_u64(3);
        for retry in 1..5 {
            let d = policy.delay(retry, Some(Duration::from_secs(2)), &mut rng);
            assert_eq!(d, Duration::from_secs(2));
        }
    }

    #[test]
    fn retry_after_parses_seconds_only() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1e300"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
