//! [`Client`]: the calls of docs/platform.md over reqwest (or a [`Transport`]), with retries.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use elma_import_contract::schema::AppSchema;
use elma_import_contract::wire::{
    self, ImportAnswer, ImportResult, ImportStatus, ItemPage, ListAnswer, ListRequest, StartImport,
    StatusRequest, StoredFile, UploadAnswer,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::{ClientConfig, ClientStats, Probe, RetryNotice, RetryObserver};
use crate::error::ClientError;
use crate::poll::{Clock, Observation, PollDecision, PollPolicy, Poller, TokioClock, MIN_POLL_INTERVAL};
use crate::reader::PartReader;
use crate::retry::{classify, parse_retry_after, Decision, Outcome, RetryPolicy, TransportKind};
use crate::trace::{Exchange, Trace};
use crate::transport::{self, error_chain, HttpAnswer, Payload, Transport, TransportFailure};
use crate::{AppRef, Secret};

/// Items of an app: field code → value, plus `__id`.
pub type Map = serde_json::Map<String, serde_json::Value>;

/// Most characters of a server's body shown in an error message.
const EXCERPT_CHARS: usize = 200;

/// Most bytes of an unreadable answer's body kept in [`ClientError::Decode`].
pub const BODY_BYTES: usize = 4096;

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    status_polls: AtomicU64,
    bytes_uploaded: AtomicU64,
    uncertain: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// Where requests go.
enum Sender {
    Reqwest(reqwest::Client),
    Custom(Arc<dyn Transport>),
}

struct Inner {
    sender: Sender,
    timeout: Duration,
    /// The seeded jitter RNG ([`ClientConfig::retry_seed`]).
    jitter: Option<Mutex<StdRng>>,
    read_files_inline: bool,
    base_url: String,
    token: Secret,
    auth: HeaderValue,
    retry: RetryPolicy,
    part_size: u64,
    counters: Counters,
    on_retry: Option<RetryObserver>,
    trace: Option<Arc<Trace>>,
}

/// An ELMA365 Web API client. Cheap to clone (clones share connections and counters);
/// `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &self.inner.token)
            .field("retry", &self.inner.retry)
            .field("part_size", &self.inner.part_size)
            .finish_non_exhaustive()
    }
}

struct Call {
    method: Method,
    path: String,
    /// `METHOD /path`, plus part details for uploads.
    request: String,
    payload: Payload,
    idempotent: bool,
    /// Least wait before a retry (status requests: 1 s).
    min_retry_delay: Duration,
}

impl Call {
    fn new(method: Method, path: String, payload: Payload) -> Call {
        let request = format!("{method} {path}");
        let idempotent = true;
        Call { method, path, request, payload, idempotent, min_retry_delay: Duration::ZERO }
    }
}

/// A complete HTTP answer.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Bytes,
    tries: u32,
}

type Attempt = Result<(StatusCode, Option<Duration>, Bytes), TransportFailure>;

impl Client {
    /// Checks the settings and builds the client. No request is sent.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let trimmed = config.base_url.trim();
        let url = reqwest::Url::parse(trimmed)
            .map_err(|e| ClientError::Config(format!("base URL `{trimmed}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "base URL `{trimmed}` must start with http:// or https://"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ClientError::Config(format!(
                "base URL `{trimmed}` must not have a query or fragment"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::Config(
                "the base URL must not hold a user name or password; pass the token instead".into(),
            ));
        }
        let mut base_url = url.to_string();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        if !(wire::MIN_PART..=wire::MAX_PART).contains(&config.part_size) {
            return Err(ClientError::Config(format!(
                "part size `{}` bytes is outside {}..={} bytes (5 MiB to 5 GiB)",
                config.part_size,
                wire::MIN_PART,
                wire::MAX_PART
            )));
        }
        if config.timeout.is_zero() {
            return Err(ClientError::Config("the timeout must be above zero".into()));
        }
        if config.token.is_empty() {
            return Err(ClientError::Config("no API token given (ELMA365_TOKEN)".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose())).map_err(|_| {
            ClientError::Config("the token holds characters an HTTP header cannot carry".into())
        })?;
        auth.set_sensitive(true);
        let sender = match config.transport {
            Some(transport) => Sender::Custom(transport),
            None => Sender::Reqwest(
                reqwest::Client::builder()
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout.min(Duration::from_secs(10)))
                    .user_agent(transport::AGENT)
                    .build()
                    .map_err(|e| ClientError::Config(format!("cannot set up HTTP: {}", error_chain(&e))))?,
            ),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                sender,
                timeout: config.timeout,
                jitter: config.retry_seed.map(|seed| Mutex::new(StdRng::seed_from_u64(seed))),
                read_files_inline: config.read_files_inline,
                base_url,
                token: config.token,
                auth,
                retry: config.retry,
                part_size: config.part_size,
                counters: Counters::default(),
                on_retry: config.on_retry,
                trace: config.trace,
            }),
        })
    }

    /// The normalised base URL (with a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The part size of parted uploads.
    pub fn part_size(&self) -> u64 {
        self.inner.part_size
    }

    /// The counters so far (shared by all clones of this client).
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            status_polls: c.status_polls.load(Ordering::Relaxed),
            bytes_uploaded: c.bytes_uploaded.load(Ordering::Relaxed),
            uncertain: c.uncertain.load(Ordering::Relaxed),
        }
    }

    // ---------------------------------------------------------------- the calls

    /// Uploads `file` as a temporary file under `hash` (docs/platform.md §2): raw bytes, in parts of
    /// [`ClientConfig::part_size`] when larger. The platform deletes it 60 minutes later.
    pub async fn upload_temporary(&self, hash: &str, file: &Path) -> Result<(), ClientError> {
        let path = wire::paths::upload_temporary(hash);
        let (call, answer) = self.upload(path, file, false).await?;
        // Only the 200 is documented; a body that is not the assumed JSON is no failure, but
        // one that says `success: false` is.
        match serde_json::from_slice::<UploadAnswer>(&answer.body) {
            Ok(parsed) => self.check_success(&call, &answer, parsed.success, &parsed.error),
            Err(_) => Ok(()),
        }
    }

    /// Uploads `file` into directory `directory_id` under `hash` (docs/platform.md §1): multipart field
    /// `file` carrying the file's name, in parts when larger than the part size. Returns the
    /// stored file (a name clash gets a numeric postfix).
    pub async fn upload_to_directory(
        &self,
        directory_id: &str,
        hash: &str,
        file: &Path,
    ) -> Result<StoredFile, ClientError> {
        let path = wire::paths::upload_to_directory(directory_id, hash);
        let (call, answer) = self.upload(path, file, true).await?;
        let parsed: UploadAnswer = self.decode(&call, &answer)?;
        self.check_success(&call, &answer, parsed.success, &parsed.error)?;
        parsed.file.ok_or_else(|| self.decode_error(&call, &answer, "it has no `file`".into()))
    }

    /// Starts an import (docs/platform.md §3). `blocked` (another import of the app runs) comes back as
    /// `Ok` with [`ImportStatus::Blocked`].
    ///
    /// Starting is **not idempotent**, so this is retried only when the request provably did
    /// not take effect: no connection could be made, or the server answered 429 or 503 (see
    /// [`crate::retry`]). Any failure after the server may have acted — a timeout, a dropped
    /// connection, 408/500/502/504, an unreadable answer — is returned at once as
    /// [`ClientError::Uncertain`].
    pub async fn start_import(&self, app: &AppRef, body: &StartImport) -> Result<ImportResult, ClientError> {
        let path = wire::paths::start_import(&app.namespace, &app.code);
        let mut call = Call::new(Method::POST, path, Payload::Json(self.to_json(body)?));
        call.idempotent = false;
        let answer = self.exchange(&call, self.inner.retry.max_retries).await?;
        // A definite answer carrying `blocked` is not an error, whatever the status.
        if let Ok(ImportAnswer { result: Some(result), .. }) = serde_json::from_slice(&answer.body) {
            if result.status == ImportStatus::Blocked {
                return Ok(result);
            }
        }
        if !answer.status.is_success() {
            return Err(self.status_error(&call, &answer));
        }
        let parsed: ImportAnswer = match serde_json::from_slice(&answer.body) {
            Ok(parsed) => parsed,
            Err(e) => {
                let reason = format!(
                    "the answer (HTTP {}) is not the expected JSON ({e}); it starts `{}`",
                    answer.status.as_u16(),
                    self.excerpt(&answer.body)
                );
                return Err(self.uncertain(&call, reason, answer.tries));
            }
        };
        self.check_success(&call, &answer, parsed.success, &parsed.error)?;
        parsed.result.ok_or_else(|| {
            let reason = "the server reported success but sent no import `result`".to_string();
            self.uncertain(&call, reason, answer.tries)
        })
    }

    /// An import's status (docs/platform.md §4). Retried on transient failures, at least 1 s apart.
    pub async fn import_status(&self, app: &AppRef, id: &str) -> Result<ImportResult, ClientError> {
        match self.status_once(app, id, self.inner.retry.max_retries).await {
            Ok((result, _)) => Ok(result),
            Err(failure) => Err(failure.error),
        }
    }

    /// An app's schema (docs/platform.md §5). An unknown app is [`ClientError::NotFound`].
    pub async fn app_schema(&self, app: &AppRef) -> Result<AppSchema, ClientError> {
        let path = wire::paths::app_schema(&app.namespace, &app.code);
        let call = Call::new(Method::GET, path, Payload::Empty);
        let answer = self.exchange(&call, self.inner.retry.max_retries).await?;
        let answer = self.expect_success_status(&call, answer)?;
        let text = String::from_utf8_lossy(&answer.body);
        AppSchema::from_json(&text).map_err(|e| match e {
            elma_import_contract::schema::SchemaError::Unsuccessful(message) => ClientError::Api {
                request: call.request.clone(),
                status: answer.status.as_u16(),
                message: self.inner.token.redact(&message),
                tries: answer.tries,
            },
            other => self.decode_error(&call, &answer, other.to_string()),
        })
    }

    /// Asks for an app's schema (docs/platform.md §5) and reports what came back without judging it,
    /// for a doctor that must tell a refused token, an unknown app and a base URL that is
    /// not the Web API apart: a 404 from the API carries its `{"success": false, …}`
    /// wrapper, a web server's 404 for a wrong path does not. Read-only; retried like any
    /// GET. No answer at all is [`ClientError::Transport`].
    pub async fn probe_schema(&self, app: &AppRef) -> Result<Probe, ClientError> {
        let path = wire::paths::app_schema(&app.namespace, &app.code);
        let call = Call::new(Method::GET, path, Payload::Empty);
        let answer = self.exchange(&call, self.inner.retry.max_retries).await?;
        let wrapper = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key("success")))
            .unwrap_or(false);
        let error = serde_json::from_slice::<wire::ErrorAnswer>(&answer.body)
            .map(|a| self.inner.token.redact(a.error.trim()))
            .unwrap_or_default();
        Ok(Probe {
            request: call.request,
            status: answer.status.as_u16(),
            wrapper,
            error,
            excerpt: self.excerpt(&answer.body),
            tries: answer.tries,
        })
    }

    /// One page of an app's items (docs/platform.md §6). `request.size` must be at most 100.
    pub async fn list_items(&self, app: &AppRef, request: &ListRequest) -> Result<ItemPage, ClientError> {
        let path = wire::paths::list_items(&app.namespace, &app.code);
        if request.size > wire::MAX_LIST_SIZE {
            return Err(ClientError::InvalidRequest {
                request: format!("POST {path}"),
                reason: format!("page size `{}` is above the limit {}", request.size, wire::MAX_LIST_SIZE),
            });
        }
        let call = Call::new(Method::POST, path, Payload::Json(self.to_json(request)?));
        let answer = self.exchange(&call, self.inner.retry.max_retries).await?;
        let answer = self.expect_success_status(&call, answer)?;
        let parsed: ListAnswer = self.decode(&call, &answer)?;
        self.check_success(&call, &answer, parsed.success, &parsed.error)?;
        parsed.result.ok_or_else(|| self.decode_error(&call, &answer, "it has no `result`".into()))
    }

    /// Polls an import's status until it is `done` or `failed` (or `blocked`), calling
    /// `on_update` with every answer, no more than once per `policy.min_interval` (at least
    /// 1 s), adaptively (see [`Poller`]). Transient failures of a poll are retried by the
    /// poller itself, up to the retry policy's `max_retries` in a row, so retries keep the
    /// 1 s spacing too. An unknown status counts as still running. Past `policy.deadline`
    /// the result is [`ClientError::PollDeadline`].
    pub async fn wait_for_import(
        &self,
        app: &AppRef,
        id: &str,
        policy: PollPolicy,
        on_update: impl FnMut(&ImportResult),
    ) -> Result<ImportResult, ClientError> {
        self.wait_for_import_with_clock(&TokioClock, app, id, policy, on_update).await
    }

    /// [`Client::wait_for_import`] on a given clock (tests use a
    /// [`ManualClock`](crate::ManualClock)).
    pub async fn wait_for_import_with_clock<C: Clock>(
        &self,
        clock: &C,
        app: &AppRef,
        id: &str,
        policy: PollPolicy,
        mut on_update: impl FnMut(&ImportResult),
    ) -> Result<ImportResult, ClientError> {
        let mut poller = Poller::new(policy, clock.now());
        let mut observation = Observation::default();
        let mut last_status = ImportStatus::New;
        let mut failures = 0u32;
        loop {
            match poller.next_delay(clock.now(), &observation) {
                PollDecision::Wait(delay) => clock.sleep(delay).await,
                PollDecision::GiveUp => {
                    return Err(ClientError::PollDeadline {
                        app: app.to_string(),
                        id: id.to_string(),
                        status: last_status.to_string(),
                        waited: poller.elapsed(clock.now()),
                        deadline: poller.policy().deadline.unwrap_or_default(),
                    })
                }
            }
            bump(&self.inner.counters.status_polls, 1);
            let answer = self.status_once(app, id, 0).await;
            // Spacing counts from the answer, so the next request reaches the server a
            // full interval after this one did, whatever the latency.
            poller.sent(clock.now());
            match answer {
                Ok((result, retry_after)) => {
                    failures = 0;
                    on_update(&result);
                    if result.status.is_final() || result.status == ImportStatus::Blocked {
                        return Ok(result);
                    }
                    observation = Observation { processed: Some(result.processed), retry_after };
                    last_status = result.status;
                }
                Err(Failure { error, transient, retry_after }) => {
                    failures += 1;
                    if !transient || failures > self.inner.retry.max_retries {
                        // Each failed poll was one try of the same status request.
                        return Err(error.with_tries(failures));
                    }
                    bump(&self.inner.counters.retries, 1);
                    if let Some(observer) = &self.inner.on_retry {
                        let reason = match error.status() {
                            Some(status) => format!("HTTP {status}"),
                            None => match &error {
                                ClientError::Transport { kind, .. } => kind.to_string(),
                                other => other.to_string(),
                            },
                        };
                        observer.notify(&RetryNotice {
                            request: format!(
                                "POST {}",
                                wire::paths::import_status(&app.namespace, &app.code)
                            ),
                            attempt: failures,
                            max: self.inner.retry.max_retries,
                            delay: retry_after.unwrap_or(MIN_POLL_INTERVAL).max(MIN_POLL_INTERVAL),
                            reason,
                        });
                    }
                    observation = Observation { processed: None, retry_after };
                }
            }
        }
    }

    // ---------------------------------------------------------------- plumbing

    /// One status request with up to `max_retries` retries; the `Retry-After` of the answer.
    async fn status_once(
        &self,
        app: &AppRef,
        id: &str,
        max_retries: u32,
    ) -> Result<(ImportResult, Option<Duration>), Failure> {
        let path = wire::paths::import_status(&app.namespace, &app.code);
        let body = StatusRequest { id: id.to_string() };
        let mut call = Call::new(Method::POST, path, Payload::Json(self.to_json(&body)?));
        call.min_retry_delay = MIN_POLL_INTERVAL;
        let answer = self.exchange(&call, max_retries).await.map_err(Failure::classified)?;
        if !answer.status.is_success() {
            let outcome =
                Outcome::Answered { status: answer.status.as_u16(), retry_after: answer.retry_after };
            return Err(Failure {
                error: self.status_error(&call, &answer),
                transient: classify(&outcome) != Decision::Final,
                retry_after: answer.retry_after,
            });
        }
        let parsed: ImportAnswer = self.decode(&call, &answer)?;
        self.check_success(&call, &answer, parsed.success, &parsed.error)?;
        let result =
            parsed.result.ok_or_else(|| self.decode_error(&call, &answer, "it has no `result`".into()))?;
        Ok((result, answer.retry_after))
    }

    /// Reads `file` part by part and sends each part, retried per policy with the same bytes.
    /// Returns the final part's call and answer.
    async fn upload(
        &self,
        path: String,
        file: &Path,
        multipart: bool,
    ) -> Result<(Call, Answer), ClientError> {
        let file_error = |error| ClientError::File { path: file.to_path_buf(), error };
        let mut handle = PartReader::open(file, self.inner.read_files_inline).await.map_err(file_error)?;
        let size = handle.len().await.map_err(file_error)?;
        let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let part_size = self.inner.part_size;
        let parts = size.div_ceil(part_size).max(1);
        let mut start = 0u64;
        let mut part = 0u64;
        loop {
            part += 1;
            let end = (start + part_size).min(size);
            let len = usize::try_from(end - start).map_err(|_| {
                ClientError::Config(format!("part size `{part_size}` does not fit in memory"))
            })?;
            let mut data = vec![0u8; len];
            handle.read_exact(&mut data).await.map_err(file_error)?;
            let data = Bytes::from(data);
            let range = wire::content_range(start, end, size);
            let payload = if multipart {
                Payload::Multipart { data, range: range.clone(), file_name: file_name.clone() }
            } else {
                Payload::Octet { data, range: range.clone() }
            };
            let mut call = Call::new(Method::POST, path.clone(), payload);
            if parts > 1 {
                call.request = format!("{} (part {part} of {parts}, {range})", call.request);
            }
            let answer = self.exchange(&call, self.inner.retry.max_retries).await?;
            let answer = self.expect_success_status(&call, answer)?;
            bump(&self.inner.counters.bytes_uploaded, end - start);
            if part == parts {
                return Ok((call, answer));
            }
            // A non-final part answers 206; a body saying `success:false` is an error.
            if let Ok(parsed) = serde_json::from_slice::<UploadAnswer>(&answer.body) {
                self.check_success(&call, &answer, parsed.success, &parsed.error)?;
            }
            start = end;
        }
    }

    /// Sends `call`, retrying per the classifier. Returns every HTTP answer that is final
    /// (2xx, 4xx, or a transient status after the last retry); transport failures become
    /// [`ClientError::Transport`]; a non-idempotent call that may have been processed becomes
    /// [`ClientError::Uncertain`].
    async fn exchange(&self, call: &Call, max_retries: u32) -> Result<Answer, ClientError> {
        let mut tries = 0u32;
        loop {
            tries += 1;
            bump(&self.inner.counters.requests, 1);
            let attempt = self.attempt(call).await;
            let outcome = match &attempt {
                Ok((status, retry_after, _)) => {
                    Outcome::Answered { status: status.as_u16(), retry_after: *retry_after }
                }
                Err((kind, _)) => Outcome::Transport(*kind),
            };
            let decision = classify(&outcome);
            if decision.allows_retry(call.idempotent) && tries <= max_retries {
                let delay = match &self.inner.jitter {
                    Some(rng) => {
                        let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                        self.inner.retry.delay(tries, outcome.retry_after(), &mut *rng)
                    }
                    None => self.inner.retry.delay(tries, outcome.retry_after(), &mut rand::rng()),
                };
                let delay = delay.max(call.min_retry_delay);
                bump(&self.inner.counters.retries, 1);
                self.notify_retry(call, tries, max_retries, delay, &outcome);
                tokio::time::sleep(delay).await;
                continue;
            }
            if decision == Decision::RetryIdempotent && !call.idempotent {
                let reason = match &attempt {
                    Ok((status, _, body)) => {
                        format!("the server answered HTTP {} `{}`", status.as_u16(), self.excerpt(body))
                    }
                    Err((kind, detail)) => format!("{kind} ({detail})"),
                };
                return Err(self.uncertain(call, reason, tries));
            }
            return match attempt {
                Ok((status, retry_after, body)) => Ok(Answer { status, retry_after, body, tries }),
                Err((kind, detail)) => Err(ClientError::Transport {
                    request: call.request.clone(),
                    base_url: self.inner.base_url.clone(),
                    kind,
                    detail,
                    tries,
                }),
            };
        }
    }

    fn notify_retry(&self, call: &Call, attempt: u32, max: u32, delay: Duration, outcome: &Outcome) {
        let Some(observer) = &self.inner.on_retry else { return };
        let reason = match outcome {
            Outcome::Answered { status, .. } => format!("HTTP {status}"),
            Outcome::Transport(kind) => kind.to_string(),
        };
        observer.notify(&RetryNotice { request: call.request.clone(), attempt, max, delay, reason });
    }

    /// One HTTP exchange, body read in full; recorded in the trace when there is one.
    async fn attempt(&self, call: &Call) -> Attempt {
        let url = format!("{}{}", self.inner.base_url, call.path.trim_start_matches('/'));
        let auth = &self.inner.auth;
        let started = tokio::time::Instant::now();
        let (request_headers, result) = match &self.inner.sender {
            Sender::Reqwest(http) => {
                let request = transport::reqwest_request(http, call.method.clone(), url, auth, &call.payload)
                    .map_err(|(kind, detail)| (kind, self.inner.token.redact(&detail)))?;
                let headers = request.headers().clone();
                (headers, transport::reqwest_send(http, request).await)
            }
            Sender::Custom(carrier) => {
                let request = transport::encode(call.method.clone(), url, auth, &call.payload);
                let headers = request.headers.clone();
                let result = match tokio::time::timeout(self.inner.timeout, carrier.send(request)).await {
                    Ok(result) => result,
                    Err(_) => Err((TransportKind::Timeout, "operation timed out".to_string())),
                };
                (headers, result)
            }
        };
        let result = result.map_err(|(kind, detail)| (kind, self.inner.token.redact(&detail)));
        if let Some(trace) = &self.inner.trace {
            let answer = match &result {
                Ok(a) => Ok((a.status.as_u16(), &a.headers, a.body.as_ref())),
                Err((kind, detail)) => Err(format!("{kind} ({detail})")),
            };
            let exchange = Exchange {
                method: call.method.as_str(),
                path: &call.path,
                request_headers: &request_headers,
                request_body: call.payload.traced(),
                answer,
                elapsed: started.elapsed(),
            };
            trace.record(&self.inner.token, &exchange);
        }
        let HttpAnswer { status, headers, body } = result?;
        let retry_after =
            headers.get(wire::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        Ok((status, retry_after, body))
    }

    fn to_json<T: serde::Serialize>(&self, body: &T) -> Result<Bytes, ClientError> {
        serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(|e| ClientError::Config(format!("cannot encode a request body: {e}")))
    }

    /// The start of a body for a one-line message: whitespace flattened, the token masked
    /// before the cut.
    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut shown = self.inner.token.redact(&flat);
        if let Some((cut, _)) = shown.char_indices().nth(EXCERPT_CHARS) {
            // Masked again after the cut: a short token ending a longer word stands alone now.
            shown = self.inner.token.redact(&shown[..cut]);
            shown.push('…');
        }
        shown
    }

    fn uncertain(&self, call: &Call, reason: String, tries: u32) -> ClientError {
        bump(&self.inner.counters.uncertain, 1);
        ClientError::Uncertain {
            request: call.request.clone(),
            reason: self.inner.token.redact(&reason),
            tries,
        }
    }

    /// The error of a final non-2xx answer.
    fn status_error(&self, call: &Call, answer: &Answer) -> ClientError {
        let request = call.request.clone();
        let tries = answer.tries;
        match answer.status {
            StatusCode::FORBIDDEN => ClientError::Unauthorized { request, tries },
            StatusCode::NOT_FOUND => {
                let platform = serde_json::from_slice::<serde_json::Value>(&answer.body)
                    .ok()
                    .filter(|v| v.get("success").is_some())
                    .map(|v| self.inner.token.redact(v["error"].as_str().unwrap_or("").trim()));
                ClientError::NotFound { request, base_url: self.inner.base_url.clone(), tries, platform }
            }
            status => {
                let message = match serde_json::from_slice::<wire::ErrorAnswer>(&answer.body) {
                    Ok(parsed) if !parsed.error.trim().is_empty() => {
                        self.inner.token.redact(parsed.error.trim())
                    }
                    _ if answer.body.iter().all(u8::is_ascii_whitespace) => "(empty body)".to_string(),
                    _ => format!("`{}`", self.excerpt(&answer.body)),
                };
                ClientError::Api { request, status: status.as_u16(), message, tries }
            }
        }
    }

    fn expect_success_status(&self, call: &Call, answer: Answer) -> Result<Answer, ClientError> {
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(self.status_error(call, &answer))
        }
    }

    fn check_success(
        &self,
        call: &Call,
        answer: &Answer,
        success: bool,
        error: &str,
    ) -> Result<(), ClientError> {
        if success {
            return Ok(());
        }
        let message = match error.trim() {
            "" => "the server reported `success: false` without a reason".to_string(),
            text => self.inner.token.redact(text),
        };
        Err(ClientError::Api {
            request: call.request.clone(),
            status: answer.status.as_u16(),
            message,
            tries: answer.tries,
        })
    }

    fn decode<T: DeserializeOwned>(&self, call: &Call, answer: &Answer) -> Result<T, ClientError> {
        serde_json::from_slice(&answer.body).map_err(|e| self.decode_error(call, answer, e.to_string()))
    }

    fn decode_error(&self, call: &Call, answer: &Answer, detail: String) -> ClientError {
        ClientError::Decode {
            request: call.request.clone(),
            status: answer.status.as_u16(),
            detail: self.inner.token.redact(&detail),
            excerpt: self.excerpt(&answer.body),
            body: self.inner.token.excerpt(&answer.body, BODY_BYTES),
        }
    }
}

/// A failed status request, with what the poller needs to decide on a retry.
struct Failure {
    error: ClientError,
    transient: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn classified(error: ClientError) -> Failure {
        let transient = match &error {
            ClientError::Transport { kind, .. } => classify(&Outcome::Transport(*kind)) != Decision::Final,
            _ => false,
        };
        Failure { error, transient, retry_after: None }
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        Failure { error, transient: false, retry_after: None }
    }
}
