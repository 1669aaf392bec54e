//! What a sync answers and records, shared by every backend and by the device (which
//! reads [`Enrolled`]).

use gridwalk_core::authorize::Role;
use gridwalk_core::sync::{GridCursor, PulledDoc, PushResult};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOutcomeReport {
    pub results: Vec<PushResult>,
    /// Documents that gained changes, and how many changes were new to the server.
    pub docs_changed: usize,
    pub changes_stored: usize,
    /// Conflicts that exist now and did not before the push.
    pub conflicts_created: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullOutcome {
    pub docs: Vec<PulledDoc>,
    pub cursors: Vec<GridCursor>,
    pub more: bool,
    pub full_pull_total: u64,
    pub changes_out: usize,
    pub bytes_out: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLogEntry {
    pub id: i64,
    pub device_id: String,
    pub user_id: String,
    pub started_at: i64,
    pub duration_ms: i64,
    pub docs_in: i64,
    pub changes_in: i64,
    pub docs_out: i64,
    pub changes_out: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub conflicts: i64,
    pub rejected: i64,
    /// JSON array of `{doc_id, code, message}`; `[]` when all went well.
    pub errors: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLogQuery {
    pub device_id: Option<String>,
    pub user_id: Option<String>,
    pub since: Option<i64>,
    pub limit: usize,
}

/// What a device gets for its enrollment code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub device_id: String,
    pub user_id: String,
    pub display_name: String,
    pub token: String,
    pub grids: Vec<String>,
    /// The user's role, so the app offers only what it may do (servers before this
    /// field sent none: a worker).
    #[serde(default = "worker_role")]
    pub role: String,
    /// A supervisor granted key-person data.
    #[serde(default)]
    pub key_person_grant: bool,
}

fn worker_role() -> String {
    Role::Worker.as_str().into()
}

/// A user to create (worker scope: its grids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    /// `worker`, `supervisor` or `admin`.
    pub role: String,
    pub grids: Vec<String>,
}

/// An enrolled device as administration lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device_id: String,
    pub user_id: String,
    pub name: String,
    pub enrolled_at: i64,
    pub revoked_at: Option<i64>,
    pub last_sync_at: Option<i64>,
}
