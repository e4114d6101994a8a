//! The simulated world's machinery: a clock on tokio's paused time, the client's requests
//! carried in process to the emulator's router, and crashes at journal boundaries.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use elma_import_client::transport::{HttpAnswer, HttpRequest, Transport, TransportFuture};
use elma_import_client::{Clock, TransportKind};
use elma_import_emulator::{ConnectionDropped, Emulator};
use elma_import_runner::journal::faults::{Boundary, Hook};
use tower::ServiceExt;

/// Seconds since the Unix epoch at which every simulation starts.
pub const EPOCH_SECS: u64 = 1_796_000_000;

/// The run's clock on tokio's clock (paused in the simulation): its wall time is
/// [`EPOCH_SECS`] plus the time tokio's clock moved since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    origin: tokio::time::Instant,
}

impl SimClock {
    /// A clock starting at [`EPOCH_SECS`] now; make it inside the simulation's runtime.
    pub fn new() -> SimClock {
        SimClock { origin: tokio::time::Instant::now() }
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::new()
    }
}

impl Clock for SimClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    fn wall(&self) -> f64 {
        EPOCH_SECS as f64 + self.origin.elapsed().as_secs_f64()
    }
}

/// The client's requests to the emulator's router, in process. Once the client's process
/// crashed, nothing more reaches the platform: requests wait forever.
pub struct InProcess {
    router: axum::Router,
    crashed: Arc<AtomicBool>,
}

impl InProcess {
    /// A transport to `emulator`; `crashed` says the client's process is gone.
    pub fn new(emulator: &Emulator, crashed: Arc<AtomicBool>) -> InProcess {
        InProcess { router: emulator.router(), crashed }
    }
}

impl Transport for InProcess {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            if self.crashed.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            let mut builder = axum::http::Request::builder().method(request.method).uri(request.url.as_str());
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            let http = builder
                .body(Body::from(request.body))
                .map_err(|e| (TransportKind::Connect, e.to_string()))?;
            let response = match self.router.clone().oneshot(http).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if self.crashed.load(Ordering::SeqCst) {
                // The answer comes back to a process that is gone.
                std::future::pending::<()>().await;
            }
            if response.extensions().get::<ConnectionDropped>().is_some() {
                return Err((TransportKind::Interrupted, "the connection closed without an answer".into()));
            }
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .map_err(|e| (TransportKind::Body, e.to_string()))?;
            Ok(HttpAnswer { status: parts.status, headers: parts.headers, body })
        })
    }
}

/// Where an execution crashes, if it does: at the `at`-th append (0-based) of any journal
/// under the world's folder, before or after its line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashAt {
    /// Which append.
    pub at: u32,
    /// Before or after the line.
    pub boundary: Boundary,
}

/// Crashes the client's process at a planned journal boundary; after that, every append
/// crashes too, and the transport lets nothing more through.
pub struct Crasher {
    plan: Option<CrashAt>,
    appends: AtomicU32,
    crashed: Arc<AtomicBool>,
}

impl Crasher {
    /// A hook for `plan`, setting `crashed` when it strikes.
    pub fn new(plan: Option<CrashAt>, crashed: Arc<AtomicBool>) -> Crasher {
        Crasher { plan, appends: AtomicU32::new(0), crashed }
    }

    /// How many appends it saw.
    pub fn appends(&self) -> u32 {
        self.appends.load(Ordering::SeqCst)
    }
}

impl Hook for Crasher {
    fn crash(&self, _journal: &Path, _line: &[u8], at: Boundary) -> bool {
        if self.crashed.load(Ordering::SeqCst) {
            return true;
        }
        let n = if at == Boundary::Before {
            self.appends.fetch_add(1, Ordering::SeqCst)
        } else {
            self.appends.load(Ordering::SeqCst).saturating_sub(1)
        };
        let strike = self.plan.is_some_and(|p| p.at == n && p.boundary == at);
        if strike {
            self.crashed.store(true, Ordering::SeqCst);
        }
        strike
    }
}
