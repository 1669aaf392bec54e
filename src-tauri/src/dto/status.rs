//! The device's status and the sync worker's state, as the UI receives them.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct SyncProgress {
    pub round: u32,
    pub pushed_changes: u32,
    pub pulled_docs: u32,
    /// Documents of a first download in all (0 when none is running).
    pub full_pull_total: u32,
    pub outbox_left: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct SyncReport {
    pub pushed_changes: u32,
    pub pulled_docs: u32,
    pub rejected: u32,
    pub outbox_left: u32,
    #[ts(type = "number")]
    pub finished_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Rejection {
    pub doc_id: String,
    pub code: String,
    pub message: String,
}

/// The sync worker's state, sent with every `sync-state` event and by `get_status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct SyncState {
    pub running: bool,
    /// `None` until the first attempt; then whether the server answered.
    pub online: Option<bool>,
    pub progress: Option<SyncProgress>,
    pub last_error: Option<AppError>,
    pub last_report: Option<SyncReport>,
    #[ts(type = "number | null")]
    pub last_attempt_at: Option<i64>,
    /// Seconds between background syncs.
    pub interval_secs: u32,
    /// The network failed: the worker is waiting to try again (a retry within this sync,
    /// or the next sync). The app says so instead of spinning.
    #[serde(default)]
    pub waiting_for_network: bool,
    /// Photos taken here not yet confirmed by the server (待上传), after the last run.
    #[serde(default)]
    pub photos_pending: u32,
    /// Photos are uploading (after the documents: a report is on the server first).
    #[serde(default)]
    pub uploading_photos: bool,
    /// Why the last photo upload stopped (no network, a refusal such as the quota).
    #[serde(default)]
    pub photo_error: Option<AppError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Status {
    pub enrolled: bool,
    pub display_name: Option<String>,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub server_url: Option<String>,
    pub grids: Vec<String>,
    pub pending_changes: u32,
    #[ts(type = "number | null")]
    pub last_sync_at: Option<i64>,
    pub households: u32,
    pub rejected: Vec<Rejection>,
    pub sync: SyncState,
    pub data_dir: String,
    pub start_route: Option<String>,
    /// The user's role (`worker`, `supervisor`, `admin`), when enrolled.
    pub role: Option<String>,
    /// Whether the user may record visits (only grid workers do): the UI hides the
    /// button otherwise, as the server would refuse the visit.
    pub may_record_visit: bool,
    /// Where the key of the encrypted device store is kept: `secret_store` (the OS's) or
    /// `key_file` (none could be used: a 0600 file in the data directory; the UI says so).
    pub key_storage: String,
    /// Why no OS secret store was used, when `key_storage` is `key_file`.
    pub key_storage_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct EnrollInput {
    pub server_url: String,
    pub code: String,
    pub device_name: String,
}

/// The app PIN and the lock (issue 14): whether a PIN is set, whether the app is locked
/// now, after how many minutes in the background it locks, and the wrong-PIN state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct LockStatus {
    pub pin_set: bool,
    pub locked: bool,
    pub lock_minutes: u32,
    /// Seconds before the next PIN is checked (0: now).
    pub wait_seconds: u32,
    /// Wrong PINs left before the first wait.
    pub attempts_left: u32,
}
