//! Fault injection: what can go wrong with a `/pub/v1` request, drawn from a seeded RNG.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Which faults the emulator injects, and how often (README.md, "Fault profile").
///
/// Each `/pub/v1` request draws two numbers from an RNG seeded with
/// [`crate::EmulatorConfig::seed`] (or [`FaultProfile::seed`] when set): the first picks at
/// most one of `http_500`, `http_503`, `http_429`, `drop_before`, `drop_after` (their
/// probabilities add up to at most 1), the second decides whether the answer is `slow`.
/// The same seed and the same sequence of requests give the same faults.
///
/// `fail_imports` is drawn once per import started, from a second RNG seeded from the same
/// seed (so it does not shift the faults of requests): the probability that the import
/// stops `failed` part way, and after how many of its rows.
///
/// `block_app` and `expire_temp_files` are actions taken once, when the profile is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultProfile {
    /// Reseeds the RNG when the profile is set (else the emulator's seed is kept).
    pub seed: Option<u64>,
    /// Probability of an HTTP 500 answer, the request unprocessed.
    pub http_500: f64,
    /// Probability of an HTTP 503 answer with `Retry-After`, the request unprocessed.
    pub http_503: f64,
    /// Probability of an HTTP 429 answer with `Retry-After`, the request unprocessed.
    pub http_429: f64,
    /// Seconds sent in `Retry-After` of 429 and 503 answers.
    pub retry_after_secs: u64,
    /// Probability of closing the connection without an answer, the request unprocessed.
    pub drop_before: f64,
    /// Probability of processing the request, then closing the connection without an
    /// answer (a started import runs although the client never hears of it).
    pub drop_after: f64,
    /// Probability of delaying the answer by `slow_ms` (independent of the faults above).
    pub slow: f64,
    /// Delay of a slow answer, in milliseconds.
    pub slow_ms: u64,
    /// Probability that an import stops `failed` part way: after a random share of its
    /// rows (drawn with it), with a row-0 error; the rows imported until then stay.
    /// Applies when the start route is among `routes` (or `routes` is empty).
    pub fail_imports: f64,
    /// Probability that an imported row's text in `reword_fields` is stored in upper case:
    /// a model of a platform that stores a value otherwise than the file wrote it
    /// (normalising, say), so that looking the row up by that field misses it.
    pub reword: f64,
    /// The field codes `reword` changes.
    pub reword_fields: Vec<String>,
    /// Route patterns the faults apply to, as counted: `"POST /app/{namespace}/{code}/import"`.
    /// Empty: every `/pub/v1` route.
    pub routes: Vec<String>,
    /// An app (`namespace.code`) held by a foreign import for `block_secs`: starting an
    /// import there answers `blocked` until then.
    pub block_app: Option<String>,
    /// How long `block_app` stays blocked, in seconds.
    pub block_secs: f64,
    /// Expire every temporary file now (running imports of them then fail).
    pub expire_temp_files: bool,
}

impl Default for FaultProfile {
    fn default() -> Self {
        FaultProfile {
            seed: None,
            http_500: 0.0,
            http_503: 0.0,
            http_429: 0.0,
            retry_after_secs: 1,
            drop_before: 0.0,
            drop_after: 0.0,
            slow: 0.0,
            slow_ms: 1_000,
            fail_imports: 0.0,
            reword: 0.0,
            reword_fields: Vec::new(),
            routes: Vec::new(),
            block_app: None,
            block_secs: 0.0,
            expire_temp_files: false,
        }
    }
}

impl FaultProfile {
    /// Checks that every probability is within 0..=1 and the exclusive ones add up to ≤ 1.
    pub fn check(&self) -> Result<(), String> {
        let named = [
            ("http_500", self.http_500),
            ("http_503", self.http_503),
            ("http_429", self.http_429),
            ("drop_before", self.drop_before),
            ("drop_after", self.drop_after),
            ("slow", self.slow),
            ("fail_imports", self.fail_imports),
            ("reword", self.reword),
        ];
        for (name, p) in named {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("fault probability `{name}` = `{p}` is outside 0..=1"));
            }
        }
        let sum: f64 = named[..5].iter().map(|(_, p)| p).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "fault probabilities http_500 + http_503 + http_429 + drop_before + drop_after add up to `{sum}`, above the limit 1"
            ));
        }
        if !self.block_secs.is_finite() || self.block_secs < 0.0 {
            return Err(format!("`block_secs` = `{}` must be a non-negative number", self.block_secs));
        }
        Ok(())
    }

    fn applies_to(&self, route: &str) -> bool {
        self.routes.is_empty() || self.routes.iter().any(|r| r == route)
    }
}

/// A fault injected into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500.
    Http500,
    /// HTTP 503 with `Retry-After`.
    Http503,
    /// HTTP 429 with `Retry-After`.
    Http429,
    /// Connection closed before processing.
    DropBefore,
    /// Request processed, then the connection closed without an answer.
    DropAfter,
    /// Answer delayed.
    Slow,
    /// An import stopped `failed` part way (`fail_imports`).
    FailImport,
}

impl Fault {
    /// The snake_case name used in counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Http500 => "http_500",
            Fault::Http503 => "http_503",
            Fault::Http429 => "http_429",
            Fault::DropBefore => "drop_before",
            Fault::DropAfter => "drop_after",
            Fault::Slow => "slow",
            Fault::FailImport => "fail_import",
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Decision {
    pub fault: Option<Fault>,
    pub slow: bool,
}

/// The seeded RNGs and the profile in force.
pub(crate) struct Injector {
    pub profile: FaultProfile,
    rng: StdRng,
    /// Draws of `fail_imports`, apart from the requests' draws.
    imports: StdRng,
    /// Draws of `reword`, one per row imported.
    rewords: StdRng,
}

/// Seed offset of the `fail_imports` RNG.
const IMPORT_STREAM: u64 = 0xFA11_0000_0000_0001;

/// Seed offset of the `reword` RNG.
const REWORD_STREAM: u64 = 0x2E30_0000_0000_0002;

/// The route a start is counted under.
pub(crate) fn start_route() -> String {
    format!("POST {}", elma_import_contract::wire::paths::routes::START_IMPORT)
}

impl Injector {
    pub fn new(profile: FaultProfile, seed: u64) -> Injector {
        let seed = profile.seed.unwrap_or(seed);
        Injector {
            profile,
            rng: StdRng::seed_from_u64(seed),
            imports: StdRng::seed_from_u64(seed ^ IMPORT_STREAM),
            rewords: StdRng::seed_from_u64(seed ^ REWORD_STREAM),
        }
    }

    /// Draws whether an import just started fails part way (`fail_imports`): the share of
    /// its rows after which it stops, in `0..1`. Always draws twice.
    pub fn import_failure(&mut self) -> Option<f64> {
        let a: f64 = self.imports.random();
        let share: f64 = self.imports.random();
        let p = &self.profile;
        (p.fail_imports > 0.0 && a < p.fail_imports && p.applies_to(&start_route())).then_some(share)
    }

    /// The fields whose text a row about to be stored gets in upper case (`reword`):
    /// none, or every field of `reword_fields`. Always draws once.
    pub fn reworded(&mut self) -> &[String] {
        let a: f64 = self.rewords.random();
        if self.profile.reword > 0.0 && a < self.profile.reword {
            &self.profile.reword_fields
        } else {
            &[]
        }
    }

    /// Draws the faults of one request to `route`. Always draws twice, so the sequence
    /// does not depend on which routes the profile covers.
    pub fn decide(&mut self, route: &str) -> Decision {
        let a: f64 = self.rng.random();
        let b: f64 = self.rng.random();
        let p = &self.profile;
        if !p.applies_to(route) {
            return Decision::default();
        }
        let mut edge = 0.0;
        let mut fault = None;
        for (f, prob) in [
            (Fault::Http500, p.http_500),
            (Fault::Http503, p.http_503),
            (Fault::Http429, p.http_429),
            (Fault::DropBefore, p.drop_before),
            (Fault::DropAfter, p.drop_after),
        ] {
            edge += prob;
            if prob > 0.0 && a < edge {
                fault = Some(f);
                break;
            }
        }
        Decision { fault, slow: p.slow > 0.0 && b < p.slow }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_rates_roughly_hold() {
        let profile = FaultProfile { http_500: 0.2, drop_after: 0.1, slow: 0.5, ..FaultProfile::default() };
        let mut a = Injector::new(profile.clone(), 42);
        let mut b = Injector::new(profile, 42);
        let da: Vec<_> = (0..1000).map(|_| a.decide("GET /x")).collect();
        let db: Vec<_> = (0..1000).map(|_| b.decide("GET /x")).collect();
        assert_eq!(da, db);
        let n500 = da.iter().filter(|d| d.fault == Some(Fault::Http500)).count();
        assert!((120..280).contains(&n500), "{n500}");
        assert!(da.iter().all(|d| d.fault != Some(Fault::Http503)));
    }

    #[test]
    fn route_filter_and_check() {
        let profile = FaultProfile {
            http_500: 1.0,
            routes: vec!["POST /app/{namespace}/{code}/import".into()],
            ..FaultProfile::default()
        };
        let mut inj = Injector::new(profile, 1);
        assert_eq!(inj.decide("POST /disk/file/upload").fault, None);
        assert_eq!(inj.decide("POST /app/{namespace}/{code}/import").fault, Some(Fault::Http500));
        let bad = FaultProfile { http_500: 0.7, http_503: 0.6, ..FaultProfile::default() };
        assert!(bad.check().unwrap_err().contains("above the limit 1"));
        assert!(FaultProfile { slow: 2.0, ..FaultProfile::default() }.check().is_err());
        assert!(FaultProfile { fail_imports: -0.1, ..FaultProfile::default() }.check().is_err());
    }

    #[test]
    fn import_failures_are_seeded_and_apart_from_request_faults() {
        let profile = FaultProfile { http_500: 0.3, fail_imports: 0.5, ..FaultProfile::default() };
        let mut a = Injector::new(profile.clone(), 9);
        let mut b = Injector::new(profile.clone(), 9);
        let mut plain = Injector::new(FaultProfile { fail_imports: 0.0, ..profile.clone() }, 9);
        let mut fails = 0;
        for _ in 0..200 {
            let (fa, fb) = (a.import_failure(), b.import_failure());
            assert_eq!(fa, fb);
            assert_eq!(plain.import_failure(), None);
            fails += usize::from(fa.is_some());
            assert!(fa.is_none_or(|share| (0.0..1.0).contains(&share)));
            // Drawing import failures does not move the requests' faults.
            assert_eq!(a.decide("GET /x"), plain.decide("GET /x"));
            b.decide("GET /x");
        }
        assert!((60..140).contains(&fails), "{fails}");
        let elsewhere =
            FaultProfile { fail_imports: 1.0, routes: vec!["GET /x".into()], ..FaultProfile::default() };
        assert_eq!(Injector::new(elsewhere, 1).import_failure(), None);
    }

    #[test]
    fn reword_changes_the_named_fields_of_its_share_of_rows() {
        let profile =
            FaultProfile { reword: 0.5, reword_fields: vec!["__name".into()], ..FaultProfile::default() };
        let mut injector = Injector::new(profile.clone(), 3);
        let hits = (0..1000).filter(|_| !injector.reworded().is_empty()).count();
        assert!((400..600).contains(&hits), "{hits}");
        let mut again = Injector::new(profile, 3);
        let mut first = Injector::new(
            FaultProfile { reword: 0.5, reword_fields: vec!["__name".into()], ..FaultProfile::default() },
            3,
        );
        assert_eq!(
            (0..50).map(|_| again.reworded().len()).collect::<Vec<_>>(),
            (0..50).map(|_| first.reworded().len()).collect::<Vec<_>>()
        );
        assert!(FaultProfile { reword: 1.5, ..FaultProfile::default() }.check().is_err());
    }
}
