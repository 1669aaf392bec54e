//! The district store: every device's changes merged, with server sequence numbers for
//! cursors, device enrollment and tokens, and the sync log.
//!
//! [`DistrictStore`] is what the sync server needs; [`SqliteDistrict`] implements it on
//! the embedded SQLite file. Writes go through one writer connection (a mutex): sequence
//! numbers are therefore assigned and committed in the same order, which is what makes a
//! cursor safe. Reads run on a small pool of connections, each inside one transaction so
//! that a sync response sees one consistent snapshot.

mod admin;
mod audit;
mod auth;
mod console;
mod export;
#[cfg(feature = "ledger-files")]
mod export_file;
mod group;
mod handle;
mod handover;
mod imports;
mod indicators;
mod issues;
mod ledger;
mod log;
mod management;
mod server_edits;
mod settings;
mod sync;

pub use admin::DistrictStats;
pub use audit::{AuditEntry, AuditKind, AuditQuery, AUDIT_PAGE_MAX};
pub use auth::{DeviceInfo, Enrolled, NewUser, UserInfo};
pub use console::{
    ConsoleError, ConsoleScope, ConsoleSession, ADDRESS_LOCKOUT_FAILURES, LOCKOUT_FAILURES,
    LOCKOUT_MS, MAX_PASSWORD_BYTES, MAX_USERNAME_CHARS,
};
pub use export::{ExportFilter, PiiMode, MIN_REASON_CHARS};
#[cfg(feature = "ledger-files")]
pub use export_file::{ExportFormat, ExportSummary};
pub use handle::{handle_sync, handle_sync_logged, HandledSync};
pub use handover::Handover;
pub use imports::{ImportRun, ImportWritten, NewImported};
pub use indicators::{IndicatorQuery, Indicators};
pub use issues::{DeviceOverview, IssueAction, VisitQuery, VisitRow};
pub use ledger::HouseholdDetail;
pub use log::{SyncLogEntry, SyncLogQuery};
pub use management::{UserRow, UserUpdate};
pub use settings::Department;
pub use sync::{PullOutcome, PushOutcomeReport};

use crate::{Result, Store};
use gridwalk_core::authorize::{Actor, Role};
use gridwalk_core::sync::{DocChanges, DocHeads, GridCompare, GridCursor, GridDigest, PulledDoc};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

/// What the sync server needs of a district store. Implemented on SQLite here; a
/// PostgreSQL implementation must pass the same tests.
pub trait DistrictStore: Send + Sync {
    /// The device behind a bearer token; refused if unknown or revoked.
    fn authenticate(&self, token: &str, now_ms: i64) -> Result<DeviceAuth>;
    /// Exchange a one-time enrollment code for a device id and token.
    fn enroll(&self, code: &str, device_name: &str, now_ms: i64) -> Result<Enrolled>;
    /// [`DistrictStore::enroll`] with a key the device chose: a retry of the same code with
    /// the same key (the first reply was lost) gets the same device and a fresh token, as
    /// long as that device has not synced yet and is not revoked.
    fn enroll_with_key(
        &self,
        code: &str,
        device_name: &str,
        device_key: &str,
        now_ms: i64,
    ) -> Result<Enrolled>;
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
    /// errors. Returns the push's outcome and the row's id (for [`DistrictStore::finish_sync_log`]).
    /// A push refused whole (scope) writes no row: the caller logs the failure.
    fn push_logged(
        &self,
        device: &DeviceAuth,
        docs: &[DocChanges],
        now_ms: i64,
        log: &SyncLogEntry,
    ) -> Result<(PushOutcomeReport, i64)>;
    /// The round's final figures (pulled, bytes out, duration) on the row
    /// [`DistrictStore::push_logged`] wrote. It acknowledges nothing, so an implementation
    /// may queue it (SQLite: the next group commit).
    fn finish_sync_log(&self, id: i64, entry: &SyncLogEntry) -> Result<()>;
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
    fn sync_logs(&self, query: &SyncLogQuery) -> Result<Vec<SyncLogEntry>>;
}

pub struct SqliteDistrict {
    path: PathBuf,
    writer: Arc<Mutex<Store>>,
    readers: Mutex<Vec<Connection>>,
    /// Pushes and sync-log rows: many callers' writes in one transaction (group.rs).
    group: group::GroupCommit,
    /// Tests only: called right after a logged push has committed (a kill -9 there).
    after_push: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl SqliteDistrict {
    /// Open (creating if needed) `district.sqlite` in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<SqliteDistrict> {
        let path = dir.as_ref().join("district.sqlite");
        let writer = Arc::new(Mutex::new(Store::open(&path)?));
        let group = group::GroupCommit::start(writer.clone()).map_err(|e| {
            crate::StoreError::BadRequest(format!("cannot start the commit thread: {e}"))
        })?;
        Ok(SqliteDistrict {
            path,
            writer,
            readers: Mutex::new(Vec::new()),
            group,
            after_push: std::sync::OnceLock::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` with the one writer. A poisoned lock (a panic mid-write) is still usable:
    /// SQLite rolled the unfinished transaction back.
    pub fn with_writer<R>(&self, f: impl FnOnce(&mut Store) -> Result<R>) -> Result<R> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Run `f` in the next group-commit transaction with whatever other writes are
    /// waiting; returns once that transaction has committed (see group.rs).
    pub(crate) fn with_group_writer<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        self.group.run(f)
    }

    /// Fault injection for tests: run `hook` right after each logged push has committed and
    /// before it is answered (e.g. abort the process there). Set once.
    pub fn set_after_push_hook(&self, hook: Box<dyn Fn() + Send + Sync>) {
        let _ = self.after_push.set(hook);
    }

    pub(super) fn after_push_hook(&self) {
        if let Some(hook) = self.after_push.get() {
            hook();
        }
    }

    /// Run `f` on a pooled read connection inside one read transaction (one snapshot).
    pub fn with_reader<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c.pragma_update(None, "foreign_keys", "ON")?;
                c
            }
        };
        conn.execute_batch("BEGIN")?;
        let out = f(&conn);
        let end = conn.execute_batch("COMMIT");
        if end.is_ok() {
            let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < 32 {
                pool.push(conn);
            }
        }
        let out = out?;
        end?;
        Ok(out)
    }
}

impl SqliteDistrict {
    /// Replace the area tree (validated first).
    pub fn set_area_tree(&self, tree: &gridwalk_core::area::AreaTree, now_ms: i64) -> Result<()> {
        tree.validate()?;
        let json = serde_json::to_string(tree)
            .map_err(|e| crate::StoreError::BadRequest(e.to_string()))?;
        self.with_writer(|store| {
            store.conn.execute(
                "INSERT INTO area_tree (id, tree, updated_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET tree = excluded.tree, updated_at = excluded.updated_at",
                rusqlite::params![json, now_ms],
            )?;
            Ok(())
        })
    }

    pub fn area_tree(&self) -> Result<Option<gridwalk_core::area::AreaTree>> {
        use rusqlite::OptionalExtension;
        let json: Option<String> = self.with_reader(|conn| {
            Ok(conn
                .query_row("SELECT tree FROM area_tree WHERE id = 1", [], |r| r.get(0))
                .optional()?)
        })?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| crate::StoreError::BadRequest(e.to_string()))
        })
        .transpose()
    }
}
