//! [`RunView`]: one run drawn as its events come, the same for `run` and for each step
//! of a migration: its [`Live`] state, its bar line (redrawn five times a second, fitted
//! to the terminal), its lines for people, or its JSON lines.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use elma_import_runner::Progress;
use indicatif::ProgressBar;

use super::fit::{fit, Field};
use super::jsonl;
use super::live::{rank, Live};
use super::out::{line_width, Mode, Out};

/// The migration step a run is, for its lines, bar and JSON lines.
#[derive(Debug, Clone)]
pub struct StepTag {
    /// 1-based.
    pub step: usize,
    /// Its app.
    pub app: String,
}

impl StepTag {
    /// `step 2 crm.contacts`.
    pub fn label(&self) -> String {
        format!("step {} {}", self.step, self.app)
    }
}

/// One run drawn as its events come.
pub struct RunView {
    out: Arc<Out>,
    tag: Option<StepTag>,
    live: Arc<Mutex<Live>>,
    bar: Mutex<Option<ProgressBar>>,
    stop: Arc<AtomicBool>,
    dir: Mutex<Option<PathBuf>>,
    show_plan: bool,
}

/// The status line of a run at `now`, fitted to `columns`.
pub fn status_line(live: &Live, tag: Option<&StepTag>, now: Instant, columns: usize) -> String {
    let mut fields = Vec::new();
    if let Some(t) = tag {
        fields.push(Field::dot(rank::LABEL, t.label()));
    }
    fields.extend(live.fields(now));
    fit(&fields, columns)
}

impl RunView {
    /// A view of a run drawn on `out`; `tag` names a migration's step; `dir` is the run
    /// directory when known (for the totals of earlier executions); `show_plan` prints
    /// the run's plan once it is known (`run`, `resume`; a migration printed its own).
    pub fn new(
        out: Arc<Out>,
        tag: Option<StepTag>,
        blocked_limit: Duration,
        dir: Option<&Path>,
        show_plan: bool,
    ) -> RunView {
        RunView {
            out,
            tag,
            live: Arc::new(Mutex::new(Live::new(Instant::now(), blocked_limit))),
            bar: Mutex::new(None),
            stop: Arc::new(AtomicBool::new(false)),
            dir: Mutex::new(dir.map(Path::to_path_buf)),
            show_plan,
        }
    }

    /// Names the run directory (a migration's step learns it when its run starts).
    pub fn set_dir(&self, dir: &Path) {
        if let Ok(mut d) = self.dir.lock() {
            *d = Some(dir.to_path_buf());
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A line for people, prefixed with the step in a migration.
    fn line(&self, text: &str) {
        match &self.tag {
            Some(t) => self.out.line(&format!("{}: {text}", t.label())),
            None => self.out.line(text),
        }
    }

    /// Draws an event.
    pub fn on(&self, p: &Progress<'_>) {
        let now = Instant::now();
        let said = self.live().update(p, now);
        if let Progress::Planned { already_imported, .. } = p {
            if *already_imported > 0 {
                self.count_earlier_executions();
            }
        }
        match self.out.mode() {
            Mode::Jsonl => {
                let live = self.live();
                let mut line = jsonl::run_line(p, &live, now);
                if let Some(t) = &self.tag {
                    line.step = Some(t.step);
                    line.app = Some(&t.app);
                }
                jsonl::emit(line);
                return;
            }
            Mode::None => return,
            Mode::Bar | Mode::Lines | Mode::Auto => {}
        }
        match p {
            Progress::Completed { .. } => {
                self.finish();
                return;
            }
            Progress::Preparing { .. } | Progress::Chunking { .. } | Progress::Planned { .. } => {
                self.start_bar()
            }
            _ => {}
        }
        if let Some(s) = said {
            if s.always || self.out.every_step() {
                self.line(&s.text);
            }
        }
        if let Progress::Planned { plan, valid, .. } = p {
            if self.show_plan {
                crate::ui::plan::show_plan(plan, *valid);
            }
        }
    }

    /// The platform's counts of the chunks earlier executions finished, from the
    /// journal, so the running totals count the whole run.
    fn count_earlier_executions(&self) {
        let Some(dir) = self.dir.lock().ok().and_then(|d| d.clone()) else { return };
        if let Ok(s) = elma_import_runner::run::so_far_in(&dir) {
            let mut live = self.live();
            live.totals.imported += s.imported;
            live.totals.failed += s.failed;
        }
    }

    /// Shows the bar line (bar mode), its first frame at once, and redraws it five times
    /// a second until the run ends.
    fn start_bar(&self) {
        if self.out.mode() != Mode::Bar {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else { return };
        if slot.is_some() || self.stop.load(Ordering::Relaxed) {
            return;
        }
        let first = status_line(&self.live(), self.tag.as_ref(), Instant::now(), line_width());
        let Some(bar) = self.out.add_bar(first) else { return };
        *slot = Some(bar.clone());
        let (live, stop, tag) = (Arc::clone(&self.live), Arc::clone(&self.stop), self.tag.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let message = live
                    .lock()
                    .map(|l| status_line(&l, tag.as_ref(), Instant::now(), line_width()))
                    .unwrap_or_default();
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                bar.set_message(message);
            }
        });
    }

    /// Takes the bar away (the run ended, or the command goes on to its summary).
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(bar) = self.bar.lock().ok().and_then(|mut b| b.take()) {
            self.out.remove_bar(&bar);
        }
    }
}

impl Drop for RunView {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
