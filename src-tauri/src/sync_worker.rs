//! Background sync: one thread with its own store connection (SQLite serialises it with
//! the UI's writer; the UI's reads never wait for it). It syncs every `interval` while the
//! device is enrolled, and at once when asked; it emits `sync-state` events as it goes.
//! After the documents, photos upload ([`upload_photos`]): a report reaches the server
//! first, and a photo that cannot go yet never holds the documents back; the worker wakes
//! again when the queue's next retry (its backoff) is due.
//! A revoked device is crypto-erased (its key destroyed, then its files:
//! [`DeviceStore::erase`]) and the UI told (`device-revoked`) to go back to first run.

use crate::dto::{SyncProgress, SyncReport, SyncState};
use crate::error::AppError;
use crate::state::DeviceStore;
use gridwalk_client::blobs::BlobClient;
use gridwalk_client::HttpTransport;
use gridwalk_store::client::SyncOptions;
use gridwalk_store::{Store, StoreError};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the worker reports to: the Tauri app in the app, a closure in tests.
pub trait SyncEvents: Send + 'static {
    fn state(&self, state: &SyncState);
    /// Documents arrived: screens should reload.
    fn data_changed(&self);
    fn revoked(&self);
}

enum Msg {
    Now,
    Stop,
}

#[derive(Clone)]
pub struct SyncHandle {
    tx: Sender<Msg>,
    state: Arc<Mutex<SyncState>>,
}

impl SyncHandle {
    /// Ask for a sync now (returns at once; progress comes as events).
    pub fn request(&self) {
        let _ = self.tx.send(Msg::Now);
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }

    pub fn state(&self) -> SyncState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Start the worker on `device`'s store. It syncs once at start when enrolled.
pub fn start(device: Arc<DeviceStore>, interval: Duration, events: impl SyncEvents) -> SyncHandle {
    let (tx, rx) = channel();
    let state = Arc::new(Mutex::new(SyncState {
        interval_secs: interval.as_secs() as u32,
        ..SyncState::default()
    }));
    let handle = SyncHandle {
        tx,
        state: state.clone(),
    };
    std::thread::Builder::new()
        .name("gridwalk-sync".into())
        .spawn(move || {
            // Shared with the transport's retry callback, on this thread only.
            let events = Rc::new(events);
            let mut store: Option<Store> = None;
            let mut first = true;
            let mut wait = interval;
            loop {
                if !first {
                    match rx.recv_timeout(wait) {
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                        Ok(Msg::Now) | Err(RecvTimeoutError::Timeout) => {}
                    }
                    // Several requests queued while a sync ran need only one more sync.
                    while let Ok(m) = rx.try_recv() {
                        if matches!(m, Msg::Stop) {
                            return;
                        }
                    }
                }
                first = false;
                if store.is_none() {
                    store = device.connect().ok();
                }
                let revoked = store
                    .as_mut()
                    .is_some_and(|s| run_once(s, &state, &events) == Outcome::Revoked);
                if revoked {
                    erase(&device, store.take(), &state, &*events);
                }
                // Photos waiting for a retry bring the next run forward, unless the
                // documents failed (offline): then the interval, as for them.
                let synced = state
                    .lock()
                    .map(|s| s.last_error.is_none())
                    .unwrap_or(false);
                wait = store
                    .as_ref()
                    .filter(|_| synced)
                    .and_then(|s| photo_retry_in(s, now_ms()))
                    .map_or(interval, |w| w.min(interval));
            }
        })
        .expect("spawn the sync thread");
    handle
}

fn set(state: &Mutex<SyncState>, events: &impl SyncEvents, f: impl FnOnce(&mut SyncState)) {
    let snapshot = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        s.clone()
    };
    events.state(&snapshot);
}

#[derive(PartialEq)]
enum Outcome {
    Done,
    Revoked,
}

/// The district revoked this device: crypto-erase it, tell the UI.
fn erase(
    device: &DeviceStore,
    own: Option<Store>,
    state: &Mutex<SyncState>,
    events: &impl SyncEvents,
) {
    let error = match device.erase(own) {
        Ok(()) => AppError::Revoked {
            message: "this device was revoked by the district; its data was wiped".into(),
        },
        Err(e) => {
            // The key may be gone already; the empty tables are the fallback.
            let _ = device.store().wipe();
            e
        }
    };
    set(state, events, |s| {
        s.running = false;
        s.online = Some(true);
        s.last_report = None;
        s.progress = None;
        s.last_error = Some(error);
    });
    events.revoked();
}

fn run_once<E: SyncEvents + 'static>(
    store: &mut Store,
    state: &Arc<Mutex<SyncState>>,
    shared_events: &Rc<E>,
) -> Outcome {
    let events: &E = shared_events;
    if !matches!(store.device_author(), Ok(Some(_))) {
        return Outcome::Done;
    }
    let mut transport = match HttpTransport::from_store(store) {
        Ok(t) => t,
        Err(e) => {
            set(state, events, |s| s.last_error = Some(e.into()));
            return Outcome::Done;
        }
    };
    // Fail fast when offline: the next attempt comes with the next interval anyway.
    transport.attempts = 2;
    transport.backoff = Duration::from_millis(300);
    // A failed attempt that will be retried: say "waiting for the network", not a spinner.
    let (retry_state, retry_events) = (state.clone(), shared_events.clone());
    transport.on_retry = Some(Box::new(move |_: &StoreError| {
        set(&retry_state, &*retry_events, |s| {
            s.waiting_for_network = true
        });
    }));
    let started = now_ms();
    set(state, events, |s| {
        s.running = true;
        s.progress = Some(SyncProgress::default());
        s.last_attempt_at = Some(started);
    });
    let result = store.sync(
        &mut transport,
        &SyncOptions::default(),
        started,
        &mut |p| {
            let progress = SyncProgress {
                round: p.round as u32,
                pushed_changes: p.pushed_changes as u32,
                pulled_docs: p.pulled_docs as u32,
                full_pull_total: p.full_pull_total as u32,
                outbox_left: p.outbox_left as u32,
            };
            // An answer came: the network is there.
            set(state, events, |s| {
                s.progress = Some(progress);
                s.waiting_for_network = false;
            });
            if p.pulled_docs > 0 {
                events.data_changed();
            }
        },
        &AtomicBool::new(false),
    );
    match result {
        Ok(report) => {
            let r = SyncReport {
                pushed_changes: report.pushed_changes as u32,
                pulled_docs: report.pulled_docs as u32,
                rejected: report.rejected.len() as u32,
                outbox_left: report.outbox_left as u32,
                finished_at: now_ms(),
            };
            let pulled = r.pulled_docs > 0;
            set(state, events, |s| {
                s.running = false;
                s.online = Some(true);
                s.waiting_for_network = false;
                s.last_error = None;
                s.last_report = Some(r);
            });
            if pulled {
                events.data_changed();
            }
            upload_photos(store, state, events);
        }
        Err(StoreError::Revoked { .. }) => return Outcome::Revoked,
        Err(e) => {
            // No answer, or an answer cut off: the network failed either way.
            let offline = matches!(
                e,
                StoreError::Transport { .. } | StoreError::ReplyCutOff { .. }
            );
            let err: AppError = e.into();
            set(state, events, |s| {
                s.running = false;
                s.online = Some(!offline);
                // The sync gave up: the tag says offline now, no longer "waiting".
                s.waiting_for_network = false;
                s.last_error = Some(err);
            });
        }
    }
    Outcome::Done
}

/// How long a queued photo that no record or draft names is retried before its upload is
/// parked (the form it was taken for was given up; the photo itself is kept).
const ABANDONED_PHOTO_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// How long one run may spend on photos before it lets the next document sync come.
const PHOTO_BUDGET: Duration = Duration::from_secs(90);

/// Uploads the queued photos (chunked, resumable, each answer persisted at once; the
/// queue in `gridwalk_core::upload` keeps the backoff). Failures are shown, never fatal.
fn upload_photos(store: &mut Store, state: &Mutex<SyncState>, events: &impl SyncEvents) {
    // A photo of a form given up a week ago is parked (kept, not retried for ever);
    // unparked if a record or draft names it again.
    if let Err(e) = store.park_abandoned_photos(now_ms() - ABANDONED_PHOTO_MS) {
        eprintln!("gridwalk: could not park abandoned photos: {e}");
    }
    let queued = store.upload_queue().map(|q| q.len()).unwrap_or(0);
    if queued == 0 {
        set(state, events, |s| {
            s.photos_pending = 0;
            s.photo_error = None;
        });
        return;
    }
    set(state, events, |s| {
        s.uploading_photos = true;
        s.photos_pending = queued as u32;
    });
    let result = BlobClient::from_store(store)
        .and_then(|mut c| c.upload_pending(store, &now_ms, PHOTO_BUDGET));
    let uploaded = match result {
        Ok(r) => {
            let error = r
                .last_refusal
                .clone()
                .map(|message| AppError::Server { message });
            let offline = (r.failures > 0 && r.pending > 0).then(|| AppError::Offline {
                message: "照片上传失败，稍后重试 / photo upload failed, will retry".into(),
            });
            set(state, events, |s| {
                s.uploading_photos = false;
                s.photos_pending = r.pending as u32;
                s.photo_error = error.or(offline);
            });
            !r.uploaded.is_empty()
        }
        Err(e) => {
            let err: AppError = e.into();
            set(state, events, |s| {
                s.uploading_photos = false;
                s.photo_error = Some(err);
            });
            false
        }
    };
    // The photos' 待上传 turns into 已上传 on screen.
    if uploaded {
        events.data_changed();
    }
}

/// When the next queued photo may be tried (its backoff), if any is waiting.
fn photo_retry_in(store: &Store, now: i64) -> Option<Duration> {
    let due = store
        .upload_queue()
        .ok()?
        .into_iter()
        .filter(|e| e.parked.is_none())
        .map(|e| e.not_before)
        .min()?;
    let ms = due.saturating_sub(now.max(0) as u64);
    // Not sooner than a second: a busy loop helps no one.
    Some(Duration::from_millis(ms.max(1_000)))
}
