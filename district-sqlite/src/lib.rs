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
pub mod blobs;
mod console;
mod export;
mod group;
mod handover;
mod imports;
mod indicators;
mod issues;
mod log;
mod management;
mod review;
mod server_edits;
mod settings;
mod sync;

pub use admin::DistrictStats;
pub use audit::{AuditEntry, AuditKind, AuditQuery, AuditStore, AUDIT_PAGE_MAX};
pub use auth::UserInfo;
pub use console::{
    ConsoleError, ConsoleScope, ConsoleSession, ConsoleStore, ADDRESS_LOCKOUT_FAILURES,
    LOCKOUT_FAILURES, LOCKOUT_MS, MAX_PASSWORD_BYTES, MAX_USERNAME_CHARS,
};
#[cfg(feature = "ledger-files")]
pub use gridwalk_district::{ExportFiles, ExportFormat, ExportSummary};
pub use gridwalk_district::{ExportFilter, ExportStore, PiiMode, MIN_REASON_CHARS};
pub use handover::Handover;
pub use management::{UserRow, UserUpdate};
pub use settings::Department;

// The device store's pieces the district builds on (this crate was store/src/district/).
// The trait, the shared types and `handle_sync` live in gridwalk-district, above the SQL.
pub use gridwalk_district::phases;
pub use gridwalk_district::{
    handle_sync, handle_sync_logged, AdminStore, ConsoleBackend, ConsoleStep, DeskStore,
    DeviceAuth, DeviceInfo, DeviceOverview, DistrictStore, EditStore, Enrolled, HandledSync,
    HouseholdDetail, ImportRun, ImportStore, ImportWritten, IndicatorQuery, IndicatorStore,
    Indicators, IssueAction, NewImported, NewUser, PullOutcome, PushOutcomeReport, ReviewStore,
    SettingsStore, SyncLogEntry, SyncLogQuery, VisitQuery, VisitRow,
};
pub(crate) use gridwalk_store::{docs, projection, Store};
pub use gridwalk_store::{Result, StoreError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
        let writer = Arc::new(Mutex::new(Store::open_district(&path)?));
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
        // The caller's round slot is not held while it waits for the writer.
        gridwalk_district::phases::waiting();
        self.group.run(f)
    }

    /// Fault injection for tests: run `hook` right after each logged push has committed and
    /// before it is answered (e.g. abort the process there). Set once.
    pub fn set_after_push_hook(&self, hook: Box<dyn Fn() + Send + Sync>) {
        let _ = self.after_push.set(hook);
    }

    pub(crate) fn after_push_hook(&self) {
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
