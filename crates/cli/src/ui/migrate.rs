//! A migration drawn as it goes: every step's own events (waits, reference resolution,
//! its start and end) and each step's run, drawn by the same [`RunView`] as `run`.
//!
//! - On a terminal: one bar line per running step, labelled `step N app`, with the
//!   steps' events, finished chunks, pauses and blocks as lines above the bars.
//! - Lines: every line prefixed `step N app:`.
//! - `--progress jsonl`: every step's run events with `step` and `app`, and the steps'
//!   own events (`step_waiting`, `step_resolving`, …; docs/progress-jsonl.md).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use elma_import_migrate::{MigrationObserver, StepEvent};
use elma_import_runner::Progress;

use crate::ui;
use crate::ui::progress::jsonl::{self, Event, Line};
use crate::ui::progress::out::{Mode, Out};
use crate::ui::progress::{RunView, StepTag};

/// Draws a migration by [`Mode`].
pub struct MigrateView {
    out: Arc<Out>,
    apps: Vec<String>,
    views: Mutex<HashMap<usize, Arc<RunView>>>,
    blocked_limit: Duration,
}

impl MigrateView {
    /// The view of the migration in `dir`; `verbose` adds a line per step of each run
    /// above the bars; `blocked_limit` is `--blocked-timeout`.
    pub fn new(dir: &Path, mode: Mode, verbose: bool, blocked_limit: Duration) -> MigrateView {
        let apps = elma_import_migrate::load(dir)
            .map(|(saved, _)| saved.migration.steps.iter().map(|s| s.app.clone()).collect())
            .unwrap_or_default();
        MigrateView {
            out: Arc::new(Out::new(mode, verbose)),
            apps,
            views: Mutex::new(HashMap::new()),
            blocked_limit,
        }
    }

    fn tag(&self, step: usize) -> StepTag {
        StepTag { step: step + 1, app: self.apps.get(step).cloned().unwrap_or_default() }
    }

    fn name(&self, step: usize) -> String {
        self.tag(step).label()
    }

    /// The view of step `step`'s run (0-based), made when first needed.
    fn view(&self, step: usize) -> Arc<RunView> {
        let mut views = self.views.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let view = views.entry(step).or_insert_with(|| {
            Arc::new(RunView::new(self.out.clone(), Some(self.tag(step)), self.blocked_limit, None, false))
        });
        Arc::clone(view)
    }

    /// Takes every step's bar away (the report follows on stdout).
    pub fn finish(&self) {
        let views = self.views.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for v in views.values() {
            v.finish();
        }
    }

    fn step_line(&self, step: usize, event: Event<'_>) {
        let tag = self.tag(step);
        let mut line = Line::of(event);
        line.step = Some(tag.step);
        line.app = Some(&tag.app);
        jsonl::emit(line);
    }
}

/// A step's own event for people.
fn text(view: &MigrateView, event: &StepEvent<'_>) -> String {
    match event {
        StepEvent::Waiting { on } => {
            format!("waiting on {}", on.iter().map(|&i| view.name(i)).collect::<Vec<_>>().join(", "))
        }
        StepEvent::AlreadyDone => "done (in an earlier execution)".into(),
        StepEvent::Resolving { column, app } => format!("resolving `{column}` against the items of {app}"),
        StepEvent::Resolved { map } => format!(
            "`{}`: {} key(s) → ids, {} naming no item, {} naming several ({})",
            map.column,
            ui::count(map.ids.len() as u64),
            ui::count(map.missing.len() as u64),
            ui::count(map.ambiguous.len() as u64),
            map.how
        ),
        StepEvent::Written { cells, unresolved, path } => format!(
            "resolved copy {} ({} cells → ids{})",
            path.display(),
            ui::count(*cells),
            if *unresolved > 0 {
                format!(", {} cells naming no single item: their rows are rejected", ui::count(*unresolved))
            } else {
                String::new()
            }
        ),
        StepEvent::Running { run_dir } => format!("running in {}", run_dir.display()),
        StepEvent::Done { summary } => format!(
            "done: {} imported, {} failed, {} invalid",
            ui::count(summary.imported),
            ui::count(summary.failed),
            ui::count(summary.rows_invalid)
        ),
        StepEvent::Failed { error } => format!("stopped: {error}"),
        StepEvent::Skipped { because } => {
            format!("not started: it waits for {}, which did not finish", view.name(*because))
        }
    }
}

/// A step's own event for programs.
fn event<'a>(e: &'a StepEvent<'a>) -> Event<'a> {
    match e {
        StepEvent::Waiting { on } => Event::StepWaiting { on: on.iter().map(|i| i + 1).collect() },
        StepEvent::AlreadyDone => Event::StepAlreadyDone,
        StepEvent::Resolving { column, app } => Event::StepResolving { column, referenced_app: app },
        StepEvent::Resolved { map } => Event::StepResolved {
            column: &map.column,
            ids: map.ids.len() as u64,
            missing: map.missing.len() as u64,
            ambiguous: map.ambiguous.len() as u64,
            how: &map.how,
        },
        StepEvent::Written { cells, unresolved, path } => {
            Event::StepWritten { path, cells: *cells, unresolved: *unresolved }
        }
        StepEvent::Running { run_dir } => Event::StepRunning { run_dir },
        StepEvent::Done { summary } => Event::StepDone {
            imported: summary.imported,
            failed: summary.failed,
            invalid: summary.rows_invalid,
            not_imported: summary.not_imported,
        },
        StepEvent::Failed { error } => Event::StepFailed { error: error.to_string() },
        StepEvent::Skipped { because } => Event::StepSkipped { because: because + 1 },
    }
}

impl MigrationObserver for MigrateView {
    fn step(&self, step: usize, e: &StepEvent<'_>) {
        if let StepEvent::Running { run_dir } = e {
            self.view(step).set_dir(run_dir);
        }
        if matches!(e, StepEvent::Done { .. } | StepEvent::Failed { .. }) {
            self.view(step).finish();
        }
        match self.out.mode() {
            Mode::Jsonl => self.step_line(step, event(e)),
            Mode::None => {}
            _ => self.out.line(&format!("{}: {}", self.name(step), text(self, e))),
        }
    }

    fn run(&self, step: usize, progress: &Progress<'_>) {
        self.view(step).on(progress);
    }
}
