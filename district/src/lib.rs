//! The district store above the SQL: the [`DistrictStore`] trait the sync server calls,
//! the types it answers with, [`handle_sync`] (one request answered), and the decisions
//! every backend shares (a pushed document staged, merged and authorised in memory before
//! anything is written: [`push`]). The backends are gridwalk-district-sqlite (the embedded
//! file, the default) and gridwalk-district-postgres.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod console;
pub mod desk;
pub mod edits;
pub mod export;
mod handle;
pub mod imports;
pub mod indicators;
pub mod phases;
pub mod push;
pub mod review;
pub mod settings;
mod types;

pub use admin::{AdminStore, UserRow, UserUpdate};
pub use audit::{AuditEntry, AuditKind, AuditQuery, AuditStore, AUDIT_PAGE_MAX};
pub use console::lockout::{ADDRESS_LOCKOUT_FAILURES, LOCKOUT_FAILURES, LOCKOUT_MS};
pub use console::password::MAX_PASSWORD_BYTES;
pub use console::{
    ConsoleError, ConsoleResult, ConsoleScope, ConsoleSession, ConsoleStore, MAX_USERNAME_CHARS,
};
pub use desk::{ConsoleStep, DeskStore, HouseholdDetail, IssueAction, VisitQuery, VisitRow};
pub use edits::{DocWriter, EditStore};
#[cfg(feature = "ledger-files")]
pub use export::file::{ExportFiles, ExportFormat, ExportSummary};
pub use export::{ExportFilter, ExportStore, PiiMode, MIN_REASON_CHARS};
pub use gridwalk_store::{Result, StoreError};
pub use handle::{
    handle_sync, handle_sync_logged, log_push_outcome, push_errors, rejected_count, HandledSync,
};
pub use imports::{ImportRun, ImportStore, ImportWritten, NewImported};
pub use indicators::{IndicatorQuery, IndicatorStore, Indicators};
pub use review::{DeviceOverview, Handover, ReviewStore};
pub use settings::{Department, SettingsStore};
pub use types::{
    DeviceInfo, Enrolled, NewUser, PullOutcome, PushOutcomeReport, SyncLogEntry, SyncLogQuery,
};

use gridwalk_core::authorize::{Actor, Role};
use gridwalk_core::sync::{DocChanges, DocHeads, GridCompare, GridCursor, GridDigest, PulledDoc};

/// An authenticated device, its user's role and the grids it may sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuth {
    pub device_id: String,
    pub user_id: String,
    pub grids: Vec<String>,
    pub role: Role,
    /// `users.key_persons`: a supervisor granted key-person data.
    pub key_person_grant: bool,
}

impl DeviceAuth {
    pub fn may_sync(&self, grid_id: &str) -> bool {
        self.grids.iter().any(|g| g == grid_id)
    }

    /// Whether the device's user may hold key-person data: it pulls those documents only
    /// then.
    pub fn may_hold_key_persons(&self) -> bool {
        self.actor().may_hold_key_persons()
    }

    /// The device's user as the author of what it pushes (see [`gridwalk_core::authorize`]).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id.clone(),
            role: self.role,
            grids: Some(self.grids.clone()),
            key_person_grant: self.key_person_grant,
        }
    }
}

/// What the sync server needs of a district store: gridwalk-district-sqlite and
/// gridwalk-district-postgres implement it and pass the same tests.
pub trait DistrictStore: Send + Sync {
    /// The device behind a bearer token; refused if unknown or revoked.
    fn authenticate(&self, token: &str, now_ms: i64) -> Result<DeviceAuth>;
    /// Exchange a one-time enrollment code for a device id and token.
    fn enroll(&self, code: &str, device_name: &str, now_ms: i64) -> Result<Enrolled>;
    /// [`DistrictStore::enroll`] with a key the device chose: a retry of the same code with
    /// the same key (the first reply was lost) gets the same device and a fresh token, as
    /// long as that device has not synced yet and is not revoked. The default (PostgreSQL
    /// today) keeps no key: a retry is refused as a used code, as before.
    fn enroll_with_key(
        &self,
        code: &str,
        device_name: &str,
        _device_key: &str,
        now_ms: i64,
    ) -> Result<Enrolled> {
        self.enroll(code, device_name, now_ms)
    }
    /// Apply pushed changes, answered per document. A document outside the device's
    /// scope fails the whole push with [`StoreError::Forbidden`] and stores nothing.
    fn push(
        &self,
        device: &DeviceAuth,
        docs: &[DocChanges],
        now_ms: i64,
    ) -> Result<PushOutcomeReport>;
    /// [`DistrictStore::push`] with the round's sync-log row written in the same
    /// transaction, so that a kill -9 never leaves a stored push without its row. `log`
    /// holds what is known before the push; the push fills in conflicts, rejections and
    /// errors. Returns the outcome and the row's id for [`DistrictStore::finish_sync_log`].
    /// A push refused whole (scope) writes no row: the caller logs the failure. The
    /// default (a store without a sync log of its own) pushes and writes no row:
    /// `finish_sync_log` writes it after, in a second transaction. Both backends override it.
    fn push_logged(
        &self,
        device: &DeviceAuth,
        docs: &[DocChanges],
        now_ms: i64,
        _log: &SyncLogEntry,
    ) -> Result<(PushOutcomeReport, i64)> {
        Ok((self.push(device, docs, now_ms)?, 0))
    }
    /// The round's final figures (pulled, bytes out, duration) on the row
    /// [`DistrictStore::push_logged`] wrote. It acknowledges nothing, so an implementation
    /// may queue it (SQLite: the next group commit). The default writes the whole row now.
    fn finish_sync_log(&self, _id: i64, entry: &SyncLogEntry) -> Result<()> {
        self.record_sync(entry)
    }
    /// What the device has not seen, from its cursors, at most about `max_bytes`.
    fn pull(
        &self,
        device: &DeviceAuth,
        cursors: &[GridCursor],
        max_bytes: usize,
    ) -> Result<PullOutcome>;
    /// Digest of each grid (document ids and heads) as `device` may hold it.
    fn digests(&self, device: &DeviceAuth, grids: &[String]) -> Result<Vec<GridDigest>>;
    /// Repair: for each grid the device lists completely, the documents it lacks or holds
    /// with other heads (whole), and the server's heads of each differing document.
    fn compare(
        &self,
        device: &DeviceAuth,
        grids: &[GridCompare],
    ) -> Result<(Vec<PulledDoc>, Vec<DocHeads>)>;
    /// Keep the unsynced changes of documents no longer in the device's scope (its user
    /// was moved to other grids) for a supervisor, answered per document; never applied.
    fn handover(
        &self,
        device: &DeviceAuth,
        docs: &[DocChanges],
        now_ms: i64,
    ) -> Result<Vec<gridwalk_core::sync::PushResult>>;
    /// A sync-log row for a round that stored no push (an idle sync, a refused request).
    /// It acknowledges nothing, so an implementation may queue it; `sync_logs` sees it.
    fn record_sync(&self, entry: &SyncLogEntry) -> Result<()>;
    /// The store answers (health check).
    fn ping(&self) -> Result<()>;
    /// The area tree devices get at enrollment; `None` before one is set.
    fn area_tree(&self) -> Result<Option<gridwalk_core::area::AreaTree>>;
    fn sync_logs(&self, query: &SyncLogQuery) -> Result<Vec<SyncLogEntry>>;
}

/// Everything the console asks of a district store, on either backend: sign-in, sessions
/// and limits ([`ConsoleStore`]), the audit log ([`AuditStore`]), the review of devices
/// ([`ReviewStore`]), users, devices and areas ([`AdminStore`]), the issue desk's settings
/// ([`SettingsStore`]), the issue desk, visit review and households ([`DeskStore`], with
/// the server's own edits, [`EditStore`]), the indicators ([`IndicatorStore`]), the ledger export ([`ExportStore`]) and imports ([`ImportStore`]). The server
/// holds one `Arc<dyn ConsoleBackend>`.
pub trait ConsoleBackend:
    ConsoleStore
    + ReviewStore
    + AdminStore
    + SettingsStore
    + DeskStore
    + IndicatorStore
    + ExportStore
    + ImportStore
{
}

impl<
        T: ConsoleStore
            + ReviewStore
            + AdminStore
            + SettingsStore
            + DeskStore
            + IndicatorStore
            + ExportStore
            + ImportStore
            + ?Sized,
    > ConsoleBackend for T
{
}
