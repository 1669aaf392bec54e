//! The device's side of the wire: a blocking reqwest [`Transport`] for the sync engine,
//! and enrollment. Used by `gridwalk-cli` and by the app shell.

pub mod blobs;

use gridwalk_core::authorize::Role;
use gridwalk_core::sync::{decode_response, encode, SyncRequest, SyncResponse, CONTENT_TYPE};
use gridwalk_district::Enrolled;
use gridwalk_store::client::Transport;
use gridwalk_store::{Store, StoreError};
use serde::Deserialize;
use std::time::Duration;

/// Responses larger than this once decompressed are refused.
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// The error body every server error carries.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
}

pub struct HttpTransport {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
    /// Attempts per request on a network error or a 5xx (the push is idempotent).
    pub attempts: u32,
    pub backoff: Duration,
    pub requests: usize,
    pub bytes_up: usize,
    pub bytes_down: usize,
}

fn client(timeout: Duration) -> Result<reqwest::blocking::Client, StoreError> {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| StoreError::Transport {
            retryable: false,
            message: e.to_string(),
        })
}

fn transport_error(e: reqwest::Error) -> StoreError {
    StoreError::Transport {
        retryable: true,
        message: e.to_string(),
    }
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
            client: client(Duration::from_secs(120))?,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            attempts: 4,
            backoff: Duration::from_millis(500),
            requests: 0,
            bytes_up: 0,
            bytes_down: 0,
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

    fn send_once(&mut self, body: &[u8]) -> Result<SyncResponse, StoreError> {
        let response = self
            .client
            .post(format!("{}/api/v1/sync", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body.to_vec())
            .send()
            .map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().map_err(transport_error)?;
        self.bytes_down += bytes.len();
        if !status.is_success() {
            return Err(status_error(status, &bytes));
        }
        decode_response(&bytes, MAX_RESPONSE_BYTES).map_err(|e| StoreError::Transport {
            retryable: true,
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
            self.requests += 1;
            self.bytes_up += body.len();
            match self.send_once(&body) {
                Err(StoreError::Transport {
                    retryable: true, ..
                }) if attempt < self.attempts => {
                    std::thread::sleep(wait);
                    wait *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Exchange an enrollment code for this device's identity, and remember it in the store.
pub fn enroll(
    store: &mut Store,
    base: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrolled, StoreError> {
    let base = base.trim_end_matches('/');
    let response = client(Duration::from_secs(30))?
        .post(format!("{base}/api/v1/enroll"))
        .json(&serde_json::json!({ "code": code, "device_name": device_name }))
        .send()
        .map_err(transport_error)?;
    let status = response.status();
    let bytes = response.bytes().map_err(transport_error)?;
    if !status.is_success() {
        return Err(status_error(status, &bytes));
    }
    let enrolled: Enrolled = serde_json::from_slice(&bytes).map_err(|e| StoreError::Transport {
        retryable: false,
        message: format!("enrollment answer unreadable: {e}"),
    })?;
    store.set_device_identity(&enrolled.user_id, &enrolled.device_id, &enrolled.grids)?;
    store.meta_set("server.url", base)?;
    store.meta_set("device.token", &enrolled.token)?;
    store.meta_set("device.display_name", &enrolled.display_name)?;
    let role = Role::parse(&enrolled.role).unwrap_or(Role::Worker);
    store.set_device_role(role, enrolled.key_person_grant)?;
    Ok(enrolled)
}
