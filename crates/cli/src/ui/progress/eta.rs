//! The time a run has left, as a pure model: rows still to import at a time per row,
//! the pauses still to come, and the rest of a pause under way.
//!
//! Under `--pause auto` the pause after the chunk just finished is the one the pacer
//! decided; the pauses after it are the one the pacer expects to settle on
//! (`Progress::Paced::expected_pause`), not the pause of the moment, which may still be
//! far from where the pacer ends up (it starts from the plan's pause and learns).

use std::time::Duration;

/// The model of the time a run has left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eta {
    /// Rows not yet imported (the current chunk's unprocessed rows included).
    pub rows_left: u64,
    /// Import time per row, seconds: the plan's until a chunk finished, then measured.
    pub secs_per_row: f64,
    /// Pauses still to come after any pause under way (one between two chunks).
    pub pauses_left: u32,
    /// The first of those: the pause decided for after the current chunk.
    pub next_pause: Duration,
    /// Each of the others: the pause expected to be kept.
    pub expected_pause: Duration,
    /// What is left of a pause under way.
    pub pause_left: Duration,
}

impl Eta {
    /// Time left: rows × time per row, plus the next pause and the expected pause for each
    /// one after it, plus the rest of the current pause. Time blocked by another import
    /// is not foreseeable; it shows as it happens.
    pub fn left(&self) -> Duration {
        let import = Duration::try_from_secs_f64(self.rows_left as f64 * self.secs_per_row.max(0.0))
            .unwrap_or(Duration::MAX);
        let pauses = match self.pauses_left {
            0 => Duration::ZERO,
            n => self.next_pause.saturating_add(self.expected_pause.saturating_mul(n - 1)),
        };
        import.saturating_add(pauses).saturating_add(self.pause_left)
    }

    /// Pauses still to come in a run of `chunks` chunks once `taken` pauses have begun
    /// (one between two chunks; a pause under way counts as begun).
    pub fn pauses_to_come(chunks: u32, taken: u32) -> u32 {
        chunks.saturating_sub(1).saturating_sub(taken)
    }
}

/// Import time per row, seconds, from what this execution measured (`work` is the
/// import time: wall time less pauses and blocked time, over `rows` rows of finished
/// chunks), else the plan's.
pub fn secs_per_row(planned: f64, work: Duration, rows: u64) -> f64 {
    if rows == 0 || work.is_zero() {
        planned
    } else {
        work.as_secs_f64() / rows as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eta(rows_left: u64, secs_per_row: f64, pauses_left: u32, next: u64, expected: u64, left: u64) -> Eta {
        Eta {
            rows_left,
            secs_per_row,
            pauses_left,
            next_pause: Duration::from_secs(next),
            expected_pause: Duration::from_secs(expected),
            pause_left: Duration::from_secs(left),
        }
    }

    #[test]
    fn the_eta_at_the_start_is_the_plans_estimate_pauses_included() {
        // 6 chunks of 1,000 rows at 200 rows/s with 20 s pauses: 30 s + 5 × 20 s.
        assert_eq!(
            eta(6_000, 1.0 / 200.0, Eta::pauses_to_come(6, 0), 20, 20, 0).left(),
            Duration::from_secs(130)
        );
    }

    #[test]
    fn during_a_pause_the_eta_counts_its_rest_and_the_pauses_still_to_come() {
        // 2 of 6 chunks done, the second pause under way with 8 s left, 4 ms per row:
        // 4,000 rows, the rest of this pause, and 3 more pauses.
        assert_eq!(
            eta(4_000, 0.004, Eta::pauses_to_come(6, 2), 20, 20, 8).left(),
            Duration::from_secs(16 + 8 + 60)
        );
        assert_eq!(Eta::pauses_to_come(6, 5), 0, "no pause after the last chunk");
        assert_eq!(Eta::pauses_to_come(1, 0), 0);
        assert_eq!(Eta::pauses_to_come(0, 0), 0);
    }

    #[test]
    fn the_pauses_after_the_next_one_are_the_pause_expected_not_the_pause_of_the_moment() {
        // The pacer just chose 40 s after this chunk, and expects to settle on 10 s: of
        // the 4 pauses to come the first is 40 s, the other three 10 s each.
        assert_eq!(eta(0, 0.0, 4, 40, 10, 0).left(), Duration::from_secs(40 + 30));
        assert_eq!(eta(0, 0.0, 1, 40, 10, 0).left(), Duration::from_secs(40), "one pause: the decided one");
        assert_eq!(eta(0, 0.0, 0, 40, 10, 0).left(), Duration::ZERO);
    }

    #[test]
    fn the_measured_time_per_row_replaces_the_plans_once_rows_finished() {
        assert_eq!(secs_per_row(0.005, Duration::ZERO, 0), 0.005);
        assert_eq!(secs_per_row(0.005, Duration::from_secs(10), 1_000), 0.01);
    }
}
