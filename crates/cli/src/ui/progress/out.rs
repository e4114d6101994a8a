//! Where progress goes: the mode asked for, resolved against the terminal, and the one
//! place lines for people and bars are written (lines above the bars, never through
//! them).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::echo;
use crate::ui;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// The bar (nothing when stderr is not a terminal).
    Bar,
    /// One plain line per event.
    Lines,
    /// One JSON object per event on stderr (docs/progress-jsonl.md).
    Jsonl,
    /// Nothing but warnings and errors.
    None,
}

impl Mode {
    /// The mode in force: `--quiet` wins, `auto` is a bar on a terminal and lines
    /// otherwise.
    pub fn resolve(self) -> Mode {
        match self {
            _ if ui::quiet() => Mode::None,
            Mode::Auto if std::io::stderr().is_terminal() => Mode::Bar,
            Mode::Auto => Mode::Lines,
            m => m,
        }
    }
}

/// The width a status line may take: the terminal's less one column (a line as wide as
/// the terminal wraps on some), 80 when it cannot be told.
pub fn line_width() -> usize {
    let columns = console::Term::stderr().size_checked().map_or(80, |(_, w)| usize::from(w));
    columns.saturating_sub(1).max(20)
}

/// The bars on screen, if any: other talk of the command ([`crate::ui::say`]) is printed
/// above them rather than through them.
static SHOWN: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Prints `line` above the bars on screen; false when none are (print it as usual).
pub fn above_bars(line: &str) -> bool {
    let shown = SHOWN.lock().ok().and_then(|s| s.clone());
    match shown {
        Some(multi) if !multi.is_hidden() => multi.println(line).is_ok(),
        _ => false,
    }
}

/// The bars as the display of the command's talk: printed above them.
struct Bars;

impl ui::Display for Bars {
    fn talk(&self, line: &str, warning: bool) -> bool {
        if warning {
            above_bars(&format!("{} {line}", ui::paint("warning:", "33;1")))
        } else {
            !ui::quiet() && above_bars(line)
        }
    }

    fn tells_the_end(&self) -> bool {
        false
    }

    fn end(&self, _: Option<&std::path::Path>, _: u8, _: Option<&str>, _: &[String]) {}
}

/// The output of one command's progress, shared by every run it draws (one for `run`,
/// one per step for `migrate`).
pub struct Out {
    mode: Mode,
    verbose: bool,
    started: Instant,
    multi: Option<MultiProgress>,
    /// While bars are drawn on a terminal: its echo of `^C` off ([`echo`]).
    _echo: Option<echo::ControlEchoOff>,
}

impl Out {
    /// The output for `mode` (resolved); `verbose` adds a line per step above the bars.
    pub fn new(mode: Mode, verbose: bool) -> Out {
        let mode = mode.resolve();
        let multi =
            (mode == Mode::Bar).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        if let (Some(m), Ok(mut shown)) = (&multi, SHOWN.lock()) {
            *shown = Some(m.clone());
            ui::set_display(Some(std::sync::Arc::new(Bars)));
        }
        let echo = multi.as_ref().filter(|m| !m.is_hidden()).map(|_| echo::ControlEchoOff::new());
        Out { mode, verbose, started: Instant::now(), multi, _echo: echo }
    }

    /// The mode in force.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether lines of every step are wanted (line mode, or `--verbose`).
    pub fn every_step(&self) -> bool {
        self.mode == Mode::Lines || self.verbose
    }

    /// Time since the output was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A line for people, stamped with the time since the start: above the bars, or on
    /// stderr. Nothing in JSON-lines mode or with `--progress none`.
    pub fn line(&self, text: &str) {
        if matches!(self.mode, Mode::None | Mode::Jsonl) {
            return;
        }
        let line = format!("[{:>7}] {text}", ui::duration(self.elapsed()));
        match &self.multi {
            Some(multi) if !multi.is_hidden() => {
                let _ = multi.println(line);
            }
            _ => eprintln!("{line}"),
        }
    }

    /// A new bar line below the others, showing `first` at once (bar mode only).
    pub fn add_bar(&self, first: String) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let bar = ProgressBar::hidden();
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        bar.set_message(first);
        let bar = multi.add(bar);
        bar.tick();
        Some(bar)
    }

    /// Takes a bar line away (its run ended).
    pub fn remove_bar(&self, bar: &ProgressBar) {
        bar.finish_and_clear();
        if let Some(multi) = &self.multi {
            multi.remove(bar);
        }
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if let (Some(_), Ok(mut shown)) = (&self.multi, SHOWN.lock()) {
            *shown = None;
            ui::set_display(None);
        }
    }
}
