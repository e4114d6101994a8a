//! [`Cancel`]: Ctrl-C. The first stops a run at its next safe point (any wait ends at
//! once); a second one, for a process about to exit at once, records the interruption in
//! every run journal it reaches through the same recorder as every other event.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

type Stop = Arc<dyn Fn() + Send + Sync>;

/// Stops runs at the next safe point. Clones share the same state.
#[derive(Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
    stops: Arc<Mutex<Vec<(u64, Stop)>>>,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel").field("cancelled", &self.is_cancelled()).finish_non_exhaustive()
    }
}

/// Removes a registered stop when dropped.
pub(crate) struct Registered {
    cancel: Cancel,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.cancel.stops.lock().unwrap_or_else(PoisonError::into_inner).retain(|(id, _)| *id != self.id);
    }
}

impl Cancel {
    /// A fresh, unset token.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every run to stop at its next safe point.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// For a process about to exit at once: records the interruption in every run that
    /// is going (best effort, never blocking long), so its journal says why it ended.
    pub fn stop_now(&self) {
        self.cancel();
        let stops: Vec<Stop> = self
            .stops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        for stop in stops {
            stop();
        }
    }

    /// Whether a stop was asked.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once a stop is asked.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `stop` on [`Cancel::stop_now`] until the returned guard is dropped.
    pub(crate) fn on_stop_now(&self, stop: Stop) -> Registered {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        self.stops.lock().unwrap_or_else(PoisonError::into_inner).push((id, stop));
        Registered { cancel: self.clone(), id }
    }
}
