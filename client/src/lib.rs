//! The device's side of the wire: a blocking [`Transport`] for the sync engine (reqwest's
//! async client on a small runtime of its own, so that a silent connection times out),
//! and enrollment. Used by `gridwalk-cli` and by the app shell. Timeouts: connect 10 s,
//! read-idle 30 s, one request 120 s, one sync 300 s.

pub mod blobs;

use gridwalk_core::authorize::Role;
use gridwalk_core::sync::{decode_response, encode, SyncRequest, SyncResponse, CONTENT_TYPE};
use gridwalk_district::Enrolled;
use gridwalk_store::client::Transport;
use gridwalk_store::{Store, StoreError};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Responses larger than this once decompressed are refused.
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// Setting up a connection (TCP and TLS) over a weak mobile link.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that has not delivered a byte for this long is given up: a phone that
/// lost its signal mid-request leaves a half-open connection that would otherwise hang.
/// Long enough for a server busy with a large push, or a link that stalls for a while.
pub const READ_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// One request, whole: a 2 MiB page over a slow link.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// One sync: every request and retry of a transport, from its first exchange. Past it,
/// no retry is started; the next sync starts a new budget.
pub const SYNC_BUDGET: Duration = Duration::from_secs(300);

/// The error body every server error carries.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
}

/// Called with the error of each failed attempt that will be retried (on the syncing
/// thread; it need not be `Send`).
pub type OnRetry = Box<dyn FnMut(&StoreError)>;

pub struct HttpTransport {
    /// reqwest's async client on a runtime of this transport's own (one thread: the
    /// caller's). The blocking client cannot time a silent body: its read timeout needs a
    /// tokio timer on the calling thread.
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    token: String,
    /// Attempts per request on a network error or a 5xx (the push is idempotent).
    pub attempts: u32,
    pub backoff: Duration,
    pub requests: usize,
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// Every request and retry of this transport together (see [`SYNC_BUDGET`]).
    pub budget: Duration,
    started: Option<Instant>,
    /// Told of each failed attempt that will be retried (the app shows "waiting for the
    /// network" instead of a spinner).
    pub on_retry: Option<OnRetry>,
}

/// A client with a connect timeout, a read-idle timeout and a whole-request timeout.
fn client(timeout: Duration) -> Result<reqwest::Client, StoreError> {
    client_with(timeout, READ_IDLE_TIMEOUT)
}

fn client_with(timeout: Duration, read_idle: Duration) -> Result<reqwest::Client, StoreError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(read_idle)
        .timeout(timeout)
        .tcp_keepalive(Duration::from_secs(15))
        .build()
        .map_err(|e| StoreError::Transport {
            retryable: false,
            message: e.to_string(),
        })
}

/// The calling thread's own small runtime for the async client.
fn runtime() -> Result<tokio::runtime::Runtime, StoreError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Transport {
            retryable: false,
            message: format!("cannot start the network runtime: {e}"),
        })
}

/// The error of a request that got no answer: never reached the server, or timed out.
fn transport_error(e: reqwest::Error) -> StoreError {
    let message = if e.is_timeout() {
        format!("no answer in time ({e})")
    } else {
        e.to_string()
    };
    if closed_mid_answer(&e) {
        return StoreError::ReplyCutOff { message };
    }
    StoreError::Transport {
        retryable: true,
        message,
    }
}

/// The connection closed after the request went out and before the answer was complete
/// (hyper's "incomplete message"): the server may have stored the push.
fn closed_mid_answer(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_builder() {
        return false;
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if err
            .to_string()
            .contains("connection closed before message completed")
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// The answer had begun (a status came back) and its body did not arrive whole.
fn cut_off(e: reqwest::Error) -> StoreError {
    StoreError::ReplyCutOff {
        message: e.to_string(),
    }
}

/// Worth another attempt: the network failed (the push is idempotent).
fn retryable(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Transport {
            retryable: true,
            ..
        } | StoreError::ReplyCutOff { .. }
    )
}

/// Turn an HTTP error status and body into the store's error.
fn status_error(status: reqwest::StatusCode, body: &[u8]) -> StoreError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message) = parsed
        .map(|b| (b.error, b.message))
        .unwrap_or_else(|| (String::new(), String::from_utf8_lossy(body).into_owned()));
    match status.as_u16() {
        401 if code == "device_revoked" => StoreError::Revoked {
            device_id: String::new(),
        },
        401 => StoreError::Unauthorized(message),
        403 => StoreError::Forbidden {
            doc_id: String::new(),
            grid_id: message,
        },
        400..=499 => StoreError::BadRequest(format!("{status}: {message}")),
        _ => StoreError::Transport {
            retryable: true,
            message: format!("{status}: {message}"),
        },
    }
}

impl HttpTransport {
    pub fn new(base: &str, token: &str) -> Result<HttpTransport, StoreError> {
        Ok(HttpTransport {
            rt: runtime()?,
            client: client(REQUEST_TIMEOUT)?,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            attempts: 4,
            backoff: Duration::from_millis(500),
            requests: 0,
            bytes_up: 0,
            bytes_down: 0,
            budget: SYNC_BUDGET,
            started: None,
            on_retry: None,
        })
    }

    /// A transport from what enrollment saved in the store.
    pub fn from_store(store: &Store) -> Result<HttpTransport, StoreError> {
        let base = store
            .meta_get("server.url")?
            .ok_or_else(|| StoreError::Unauthorized("this device is not enrolled".into()))?;
        let token = store
            .meta_get("device.token")?
            .ok_or_else(|| StoreError::Unauthorized("this device is not enrolled".into()))?;
        HttpTransport::new(&base, &token)
    }

    /// The same transport with another read-idle timeout (tests; a link known to stall
    /// longer).
    pub fn with_read_idle(mut self, read_idle: Duration) -> Result<HttpTransport, StoreError> {
        self.client = client_with(REQUEST_TIMEOUT, read_idle)?;
        Ok(self)
    }

    /// Start a new budget (the next exchange is the first of a new sync).
    pub fn new_sync(&mut self) {
        self.started = None;
    }

    /// What is left of this sync's budget.
    fn budget_left(&mut self) -> Duration {
        let started = *self.started.get_or_insert_with(Instant::now);
        self.budget.saturating_sub(started.elapsed())
    }

    fn send_once(&mut self, body: &[u8], timeout: Duration) -> Result<SyncResponse, StoreError> {
        let request = self
            .client
            .post(format!("{}/api/v1/sync", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .timeout(timeout)
            .body(body.to_vec());
        let (status, bytes) = self.rt.block_on(async move {
            let response = request.send().await.map_err(transport_error)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(cut_off)?;
            Ok::<_, StoreError>((status, bytes))
        })?;
        self.bytes_down += bytes.len();
        if !status.is_success() {
            return Err(status_error(status, &bytes));
        }
        // A whole body that does not decode was cut by something on the way (a proxy).
        decode_response(&bytes, MAX_RESPONSE_BYTES).map_err(|e| StoreError::ReplyCutOff {
            message: format!("server response unreadable: {e}"),
        })
    }
}

impl Transport for HttpTransport {
    fn exchange(&mut self, request: &SyncRequest) -> Result<SyncResponse, StoreError> {
        let body = encode(request);
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            let left = self.budget_left();
            if left.is_zero() {
                return Err(StoreError::Transport {
                    retryable: true,
                    message: format!(
                        "the sync took longer than its budget of {} s",
                        self.budget.as_secs()
                    ),
                });
            }
            self.requests += 1;
            self.bytes_up += body.len();
            match self.send_once(&body, left.min(REQUEST_TIMEOUT)) {
                Err(e) if retryable(&e) && attempt < self.attempts && self.budget_left() > wait => {
                    if let Some(f) = self.on_retry.as_mut() {
                        f(&e);
                    }
                    std::thread::sleep(wait);
                    wait *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The key this device proposes with every enrollment code (created once, kept in the
/// store), so that a retry after a lost answer gets the same device back.
const META_ENROLL_KEY: &str = "device.enroll_key";

fn enroll_key(store: &mut Store) -> Result<String, StoreError> {
    if let Some(k) = store.meta_get(META_ENROLL_KEY)? {
        return Ok(k);
    }
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    store.meta_set(META_ENROLL_KEY, &key)?;
    Ok(key)
}

/// Exchange an enrollment code for this device's identity, and remember it in the store.
/// A lost or cut-off answer is retried with the same code and key (3 attempts): the
/// server answers the same device again.
pub fn enroll(
    store: &mut Store,
    base: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrolled, StoreError> {
    let base = base.trim_end_matches('/');
    let key = enroll_key(store)?;
    let rt = runtime()?;
    let http = client(Duration::from_secs(30))?;
    let body = serde_json::json!({ "code": code, "device_name": device_name, "device_key": key });
    let mut wait = Duration::from_millis(500);
    let mut attempt = 1;
    let enrolled = loop {
        match rt.block_on(enroll_once(&http, base, &body)) {
            Err(e) if retryable(&e) && attempt < 3 => {
                std::thread::sleep(wait);
                wait *= 2;
                attempt += 1;
            }
            other => break other?,
        }
    };
    store.set_device_identity(&enrolled.user_id, &enrolled.device_id, &enrolled.grids)?;
    store.meta_set("server.url", base)?;
    store.meta_set("device.token", &enrolled.token)?;
    store.meta_set("device.display_name", &enrolled.display_name)?;
    let role = Role::parse(&enrolled.role).unwrap_or(Role::Worker);
    store.set_device_role(role, enrolled.key_person_grant)?;
    Ok(enrolled)
}

async fn enroll_once(
    http: &reqwest::Client,
    base: &str,
    body: &serde_json::Value,
) -> Result<Enrolled, StoreError> {
    let response = http
        .post(format!("{base}/api/v1/enroll"))
        .json(body)
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(cut_off)?;
    if !status.is_success() {
        return Err(status_error(status, &bytes));
    }
    serde_json::from_slice(&bytes).map_err(|e| StoreError::ReplyCutOff {
        message: format!("enrollment answer unreadable: {e}"),
    })
}
