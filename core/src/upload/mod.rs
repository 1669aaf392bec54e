//! The upload queue: chunked, resumable, idempotent by hash, as a pure state machine.
//!
//! The device's store persists one row per photo not yet confirmed (hash, size, attempts,
//! next try, parked); the client asks [`Queue::next`] what to do, does it over HTTP and
//! tells [`Queue::answer`] what the server said. Nothing is removed before the server
//! answers [`Answer::Stored`] for the hash, so a photo is never lost to a cut, a restart
//! of either side or a duplicate request:
//!
//! - the server names the offset it holds ([`Answer::Offset`]); the queue always believes
//!   it, so a cut at 80% resumes at 80% and a stale or duplicated answer cannot move the
//!   upload past what the server has;
//! - after any failure the offset is forgotten and asked again ([`Action::Probe`]);
//! - a blob the server already holds (sent before, or by another device) is
//!   [`Answer::Stored`] at once: every hash is stored once.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The chunk size of uploads (bytes): a 300 KB photo in 3 requests on a weak 4G link.
pub const DEFAULT_CHUNK: u64 = 128 * 1024;
/// First retry after a failure (ms); doubled per attempt up to [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: u64 = 2_000;
pub const MAX_BACKOFF_MS: u64 = 10 * 60_000;

/// What the server said, for one request about one hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// It holds this many bytes of the blob, not yet all (a probe, a chunk taken, or a
    /// chunk at the wrong offset refused with the right one).
    Offset(u64),
    /// It holds the whole blob, its hash checked.
    Stored,
    /// It refused the request.
    Refused(Refusal),
    /// No answer: the connection dropped, timed out, or the server failed (5xx).
    Failed,
}

/// Why the server refused; each is either retried later or parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    /// No document in the device's scope references the hash yet: the document is
    /// synced first, so retry.
    NotReferenced,
    /// The device's quota is used up: retry much later (an admin may raise it).
    Quota,
    /// The bytes did not match the hash: the server dropped them; start again.
    Mismatch,
    /// Larger than the server takes: parked (kept on the device, not retried).
    TooLarge,
    /// Refused for good (revoked, out of scope): parked.
    Forbidden,
}

impl Refusal {
    fn parks(self) -> bool {
        matches!(self, Refusal::TooLarge | Refusal::Forbidden)
    }
}

/// One photo waiting for the server, as the device persists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub sha256: String,
    /// Size of the blob (bytes).
    pub total: u64,
    /// Failures in a row (backoff grows with it).
    pub attempts: u32,
    /// Not tried before this time (ms since the epoch).
    pub not_before: u64,
    /// Refused for good: kept, not tried until [`Queue::unpark`].
    pub parked: Option<Refusal>,
}

/// The next request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask how much of the blob the server holds.
    Probe { sha256: String },
    /// Send `len` bytes of the blob from `offset`.
    Send {
        sha256: String,
        offset: u64,
        len: u64,
        total: u64,
    },
}

/// What an answer did to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server has the blob: the entry is gone; mark the photo uploaded.
    Uploaded,
    /// Go on (or try again after the entry's `not_before`).
    Pending,
    /// Parked for this reason.
    Parked(Refusal),
    /// The hash is not (or no longer) in the queue.
    Unknown,
}

#[derive(Debug, Clone)]
struct State {
    entry: Entry,
    /// What the server holds, as it last said; `None`: ask.
    offset: Option<u64>,
}

/// The photos of one device waiting for upload.
#[derive(Debug, Clone)]
pub struct Queue {
    chunk: u64,
    items: BTreeMap<String, State>,
}

/// The wait after `attempts` failures in a row.
pub fn backoff_ms(attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(20);
    BASE_BACKOFF_MS
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF_MS)
}

impl Queue {
    /// A queue restored from what the device persisted (offsets are asked again).
    pub fn new(chunk: u64, persisted: impl IntoIterator<Item = Entry>) -> Queue {
        let items = persisted
            .into_iter()
            .map(|entry| {
                let state = State {
                    entry,
                    offset: None,
                };
                (state.entry.sha256.clone(), state)
            })
            .collect();
        Queue {
            chunk: chunk.max(1),
            items,
        }
    }

    /// Queues a blob; a hash already queued stays as it is (the same photo twice is one).
    pub fn add(&mut self, sha256: &str, total: u64) {
        self.items
            .entry(sha256.to_string())
            .or_insert_with(|| State {
                entry: Entry {
                    sha256: sha256.to_string(),
                    total,
                    attempts: 0,
                    not_before: 0,
                    parked: None,
                },
                offset: None,
            });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The entries, to persist.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.items.values().map(|s| &s.entry)
    }

    pub fn entry(&self, sha256: &str) -> Option<&Entry> {
        self.items.get(sha256).map(|s| &s.entry)
    }

    /// The earliest time something is due, if anything is waiting and not parked.
    pub fn next_due(&self) -> Option<u64> {
        self.items
            .values()
            .filter(|s| s.entry.parked.is_none())
            .map(|s| s.entry.not_before)
            .min()
    }

    /// Parked entries are tried again (after the user's scope or the server changed).
    pub fn unpark(&mut self) {
        for s in self.items.values_mut() {
            s.entry.parked = None;
            s.offset = None;
        }
    }

    /// The next request due at `now` (ms), oldest due first, then by hash.
    pub fn next(&self, now: u64) -> Option<Action> {
        let s = self
            .items
            .values()
            .filter(|s| s.entry.parked.is_none() && s.entry.not_before <= now)
            .min_by(|a, b| {
                (a.entry.not_before, &a.entry.sha256).cmp(&(b.entry.not_before, &b.entry.sha256))
            })?;
        let sha256 = s.entry.sha256.clone();
        Some(match s.offset {
            None => Action::Probe { sha256 },
            Some(offset) => Action::Send {
                sha256,
                offset,
                len: self.chunk.min(s.entry.total - offset),
                total: s.entry.total,
            },
        })
    }

    /// What the server answered about `sha256` at `now` (ms).
    pub fn answer(&mut self, sha256: &str, answer: Answer, now: u64) -> Outcome {
        let Some(s) = self.items.get_mut(sha256) else {
            return Outcome::Unknown;
        };
        let fail = |s: &mut State, min_wait: u64| {
            s.offset = None;
            s.entry.attempts = s.entry.attempts.saturating_add(1);
            s.entry.not_before = now + backoff_ms(s.entry.attempts).max(min_wait);
        };
        match answer {
            Answer::Stored => {
                self.items.remove(sha256);
                return Outcome::Uploaded;
            }
            // Progress resets the backoff; an offset at or past the end without "stored"
            // means the server is finishing or confused: ask again.
            Answer::Offset(n) if n < s.entry.total => {
                s.offset = Some(n);
                s.entry.attempts = 0;
                s.entry.not_before = now;
            }
            Answer::Offset(_) | Answer::Failed => fail(s, 0),
            Answer::Refused(r) if r.parks() => {
                s.offset = None;
                s.entry.parked = Some(r);
                return Outcome::Parked(r);
            }
            Answer::Refused(Refusal::Quota) => fail(s, 60 * 60_000),
            Answer::Refused(_) => fail(s, 0),
        }
        Outcome::Pending
    }
}

#[cfg(test)]
mod tests;
