//! A run's progress as people and programs see it, drawn from the runner's [`Progress`]
//! events.
//!
//! - On a terminal: a status line per run under a bar of its rows, saying what is
//!   happening now (`chunk 2/6 importing · eta 1m 10s · 412 rows/s · elapsed 1m 02s`, a
//!   pause counting down, or `blocked for 12s (limit 30m 00s)`), redrawn five times a
//!   second and fitted to the terminal's width ([`fit`]), with a line in the scrollback
//!   per finished chunk, pause and block. A migration has one such line per running step.
//! - Without a terminal (logs, CI): one plain line per event.
//! - `--progress jsonl`: one JSON object per line on stderr, for other programs
//!   ([`jsonl`], docs/progress-jsonl.md), ending with an `end` line ([`end`]).
//!
//! The parts, each using only those before it: [`eta`] (the model of the time left),
//! [`fit`] (a line that fits), [`live`] (what is known of one run), [`out`] (where lines
//! and bars go), [`jsonl`] and [`end`] (the stream), [`view`] (one run drawn:
//! [`RunView`], shared by `run` and every step of `migrate`).

pub mod echo;
pub mod end;
pub mod eta;
pub mod fit;
pub mod jsonl;
pub mod live;
pub mod out;
pub mod view;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use elma_import_runner::{Observer, Progress};

pub use out::Mode;
pub use view::{RunView, StepTag};

/// Draws a run (`run`, `resume`, `demo`): a bar, plain lines, or JSON lines, by [`Mode`].
pub struct RunObserver {
    view: RunView,
}

impl RunObserver {
    /// An observer choosing bar or lines by the terminal, with the default blocked limit
    /// (30 minutes); `verbose` adds a line per step above the bar.
    pub fn new(verbose: bool) -> RunObserver {
        RunObserver::with_mode(Mode::Auto, verbose, Duration::from_secs(30 * 60), None)
    }

    /// An observer; `blocked_limit` is the run's `--blocked-timeout`, `verbose` adds a
    /// line per step above the bar, `dir` is the run directory.
    pub fn with_mode(mode: Mode, verbose: bool, blocked_limit: Duration, dir: Option<&Path>) -> RunObserver {
        let out = Arc::new(out::Out::new(mode, verbose));
        RunObserver { view: RunView::new(out, None, blocked_limit, dir, true) }
    }

    /// Clears the bar (the summary follows on stdout).
    pub fn finish(&self) {
        self.view.finish();
    }
}

impl Observer for RunObserver {
    fn on(&self, p: &Progress<'_>) {
        self.view.on(p);
    }
}

/// Starts the JSON-lines stream when `mode` asks for it (and `--quiet` does not silence
/// it): `kind` is `run` or `migration`. Called before the command does anything, so its
/// `end` line is written however it ends. From then on the command's talk is lines of the
/// stream, and its end the `end` line ([`crate::ui::Display`]).
pub fn begin(mode: Mode, kind: &'static str) {
    if mode.resolve() == Mode::Jsonl {
        jsonl::begin(kind);
        crate::ui::set_display(Some(Arc::new(Stream)));
    }
}

/// The JSON-lines stream as the display of the command's talk and end.
struct Stream;

impl crate::ui::Display for Stream {
    fn talk(&self, line: &str, warning: bool) -> bool {
        if !jsonl::active() {
            return false;
        }
        let message = line.trim();
        let event =
            if warning { jsonl::Event::Warning { message } } else { jsonl::Event::Message { message } };
        jsonl::emit(jsonl::Line::of(event));
        true
    }

    fn tells_the_end(&self) -> bool {
        jsonl::active()
    }

    fn end(&self, dir: Option<&Path>, code: u8, error: Option<&str>, hints: &[String]) {
        if jsonl::active() {
            let end = end::end(jsonl::kind(), dir, code, error, hints);
            jsonl::emit(jsonl::Line::of(jsonl::Event::End(end)));
        }
    }
}
