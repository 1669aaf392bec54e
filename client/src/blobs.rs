//! Photo bytes over HTTP ("Blobs, version 1" in docs/sync-protocol.md): the device's
//! upload queue ([`gridwalk_core::upload`]) driven against the server, after document
//! sync and never blocking it, and downloads on demand (thumbnail first).

use gridwalk_core::model::{Gps, PhotoRef, MAX_PHOTO_BYTES};
use gridwalk_core::upload::{Action, Answer, Outcome, Queue, Refusal, DEFAULT_CHUNK};
use gridwalk_store::{NewPhoto, Store, StoreError};
use std::time::{Duration, Instant};

/// Prepares a photo the worker took ([`gridwalk_photo::prepare`]), keeps it and queues it
/// for upload in one transaction, and returns the reference for its document. GPS only
/// where the worker allowed it (the caller passes the device's position, never EXIF's).
/// Too large or unreadable photos are refused here, when taken, not when sent.
pub fn take_photo(
    store: &mut Store,
    original: &[u8],
    now_ms: i64,
    gps: Option<Gps>,
) -> Result<PhotoRef, StoreError> {
    let p = gridwalk_photo::prepare(original, &gridwalk_photo::Options::default())
        .map_err(|e| StoreError::BadRequest(e.to_string()))?;
    if p.bytes.len() as i64 > MAX_PHOTO_BYTES {
        return Err(StoreError::BadRequest(format!(
            "照片处理后仍超过{MAX_PHOTO_BYTES}字节 / the prepared photo is still over {MAX_PHOTO_BYTES} bytes"
        )));
    }
    store.put_photo(
        &NewPhoto {
            sha256: &p.sha256,
            bytes: &p.bytes,
            thumb: &p.thumb,
            width: p.width,
            height: p.height,
            mime: p.mime,
        },
        now_ms,
    )?;
    Ok(PhotoRef {
        sha256: p.sha256,
        bytes: p.bytes.len() as i64,
        width: i64::from(p.width),
        height: i64::from(p.height),
        mime: p.mime.to_string(),
        taken_at: now_ms,
        gps,
    })
}

/// Which bytes to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Thumb,
    Full,
}

/// What one run of [`BlobClient::upload_pending`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Hashes the server confirmed in this run.
    pub uploaded: Vec<String>,
    /// Still queued after the run (waiting for a retry, or parked).
    pub pending: usize,
    pub parked: usize,
    pub requests: usize,
    /// Requests that got no usable answer (cut, timeout, 5xx).
    pub failures: usize,
    /// The last refusal's message from the server (quota, size), to show the worker.
    pub last_refusal: Option<String>,
}

pub struct BlobClient {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
    /// Bytes per PUT.
    pub chunk: u64,
    pub bytes_up: usize,
    pub bytes_down: usize,
}

fn transport(message: impl Into<String>) -> StoreError {
    StoreError::Transport {
        retryable: true,
        message: message.into(),
    }
}

impl BlobClient {
    pub fn new(base: &str, token: &str) -> Result<BlobClient, StoreError> {
        let client = reqwest::blocking::Client::builder()
            // A chunk on a weak link: 128 KiB at 100 kbit/s is ~10 s.
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| StoreError::Transport {
                retryable: false,
                message: e.to_string(),
            })?;
        Ok(BlobClient {
            client,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            chunk: DEFAULT_CHUNK,
            bytes_up: 0,
            bytes_down: 0,
        })
    }

    /// A client from what enrollment saved in the store.
    pub fn from_store(store: &Store) -> Result<BlobClient, StoreError> {
        let missing = || StoreError::Unauthorized("this device is not enrolled".into());
        let base = store.meta_get("server.url")?.ok_or_else(missing)?;
        let token = store.meta_get("device.token")?.ok_or_else(missing)?;
        BlobClient::new(&base, &token)
    }

    fn url(&self, sha256: &str) -> String {
        format!("{}/api/v1/blobs/{sha256}", self.base)
    }

    /// `HEAD`: how much of the blob the server holds.
    fn probe(&mut self, sha256: &str) -> (Answer, Option<String>) {
        let sent = self
            .client
            .head(self.url(sha256))
            .bearer_auth(&self.token)
            .send();
        let Ok(r) = sent else {
            return (Answer::Failed, None);
        };
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match r.status().as_u16() {
            200 if header("blob-stored").as_deref() == Some("1") => (Answer::Stored, None),
            200 => match header("upload-offset").and_then(|v| v.parse().ok()) {
                Some(n) => (Answer::Offset(n), None),
                None => (Answer::Failed, None),
            },
            403 => (Answer::Refused(Refusal::NotReferenced), None),
            _ => (Answer::Failed, None),
        }
    }

    /// `PUT` one chunk.
    fn send(
        &mut self,
        sha256: &str,
        offset: u64,
        chunk: &[u8],
        total: u64,
    ) -> (Answer, Option<String>) {
        self.bytes_up += chunk.len();
        let sent = self
            .client
            .put(self.url(sha256))
            .query(&[("offset", offset), ("total", total)])
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(chunk.to_vec())
            .send();
        let Ok(r) = sent else {
            return (Answer::Failed, None);
        };
        let status = r.status().as_u16();
        let Ok(body) = r.bytes() else {
            return (Answer::Failed, None);
        };
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let offset = json.get("offset").and_then(|v| v.as_u64());
        let message = json
            .get("message")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let answer = match (status, offset) {
            (201, _) => Answer::Stored,
            (200 | 409, Some(n)) => Answer::Offset(n),
            (403, _) => Answer::Refused(Refusal::NotReferenced),
            (413, _) => Answer::Refused(Refusal::TooLarge),
            (422, _) => Answer::Refused(Refusal::Mismatch),
            (507, _) => Answer::Refused(Refusal::Quota),
            _ => Answer::Failed,
        };
        (answer, message)
    }

    /// Uploads what is due until the queue is empty, nothing is due (the rest waits for
    /// its backoff) or `budget` has passed. Every answer is persisted at once, so a
    /// killed app resumes where the server is. `now` gives the time in ms.
    pub fn upload_pending(
        &mut self,
        store: &mut Store,
        now: &dyn Fn() -> i64,
        budget: Duration,
    ) -> Result<UploadReport, StoreError> {
        let started = Instant::now();
        let mut queue = Queue::new(self.chunk, store.upload_queue()?);
        let mut report = UploadReport::default();
        // The bytes of the photo being sent, read once per photo.
        let mut held: Option<(String, Vec<u8>)> = None;
        while started.elapsed() < budget {
            let t = now().max(0) as u64;
            let Some(action) = queue.next(t) else { break };
            report.requests += 1;
            let (sha, (answer, message)) = match action {
                Action::Probe { sha256 } => {
                    let a = self.probe(&sha256);
                    (sha256, a)
                }
                Action::Send {
                    sha256,
                    offset,
                    len,
                    total,
                } => {
                    if held.as_ref().is_none_or(|(h, _)| *h != sha256) {
                        let bytes = store.photo_bytes(&sha256)?.ok_or_else(|| {
                            StoreError::BadRequest(format!("queued photo {sha256} has no bytes"))
                        })?;
                        held = Some((sha256.clone(), bytes));
                    }
                    let bytes = held.as_ref().map(|(_, b)| b.as_slice()).unwrap_or_default();
                    let (from, to) = (offset as usize, (offset + len) as usize);
                    let Some(chunk) = bytes.get(from..to) else {
                        return Err(StoreError::BadRequest(format!(
                            "queued photo {sha256} is shorter than its recorded size"
                        )));
                    };
                    let a = self.send(&sha256, offset, chunk, total);
                    (sha256, a)
                }
            };
            if answer == Answer::Failed {
                report.failures += 1;
            }
            if let (Answer::Refused(_), Some(m)) = (answer, message) {
                report.last_refusal = Some(m);
            }
            match queue.answer(&sha, answer, now().max(0) as u64) {
                Outcome::Uploaded => {
                    store.photo_uploaded(&sha, now())?;
                    report.uploaded.push(sha);
                }
                Outcome::Pending | Outcome::Parked(_) => {
                    if let Some(e) = queue.entry(&sha) {
                        store.save_upload_entry(e)?;
                    }
                }
                Outcome::Unknown => {}
            }
        }
        report.pending = queue.len();
        report.parked = queue.entries().filter(|e| e.parked.is_some()).count();
        Ok(report)
    }

    /// Downloads a photo or its thumbnail (`None`: not on the server yet). The caller
    /// keeps it with [`Store::put_downloaded_photo`], which checks a full photo's hash.
    pub fn download(&mut self, sha256: &str, size: Size) -> Result<Option<Vec<u8>>, StoreError> {
        let size = match size {
            Size::Thumb => "thumb",
            Size::Full => "full",
        };
        let r = self
            .client
            .get(self.url(sha256))
            .query(&[("size", size)])
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| transport(e.to_string()))?;
        let status = r.status();
        let body = r.bytes().map_err(|e| transport(e.to_string()))?;
        match status.as_u16() {
            200 => {
                self.bytes_down += body.len();
                Ok(Some(body.to_vec()))
            }
            404 => Ok(None),
            403 => Err(StoreError::Forbidden {
                doc_id: String::new(),
                grid_id: String::from_utf8_lossy(&body).into_owned(),
            }),
            s if (400..500).contains(&s) => Err(StoreError::BadRequest(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body)
            ))),
            _ => Err(transport(format!("{status}"))),
        }
    }
}
