//! The district store on PostgreSQL: the sync half of [`DistrictStore`] (authenticate,
//! enroll, push, pull, digests, compare, handover, sync log) plus the users, enrollment
//! codes and devices that sync needs. Several server processes may use one database.
//!
//! The decisions are not here: a pushed document is staged, merged and authorised by
//! [`gridwalk_district::push`], exactly as on SQLite; this crate reads and writes rows.
//!
//! **The cursor rule across processes.** A sequence number taken at INSERT becomes
//! visible at COMMIT, and transactions commit in any order: a reader could pass a lower
//! number that commits later and skip it forever. Here every transaction that adds
//! changes takes the transaction-scoped advisory lock [`CHANGES_SEQ_LOCK`] as its last
//! step, then takes its numbers from `changes_seq` and inserts its `changes` rows, then
//! commits (which releases the lock after the commit is visible). So numbers are handed
//! out and become visible in one order, whichever process wrote them, and a pull that
//! reads `max(seq)` and its page in one snapshot (REPEATABLE READ) never skips one.

mod admin;
mod blobs;
mod blobs_refs;
mod conn;
mod console;
mod desk;
mod edits;
mod export;
mod imports;
mod indicators;
mod manage;
mod migrate;
mod projection;
mod pull;
mod review;
mod settings;
mod sync;
pub mod testing;

pub use blobs::PgBlobs;
pub use gridwalk_district::{
    AdminStore, AuditStore, ConsoleStore, DeskStore, DeviceAuth, DistrictStore, EditStore,
    Enrolled, IndicatorQuery, IndicatorStore, Indicators, NewUser, ReviewStore, SettingsStore,
};
pub use gridwalk_store::{Result, StoreError};

use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use std::time::Duration;

/// The advisory lock key under which change sequence numbers are handed out
/// (`pg_advisory_xact_lock`): "gridwalk" in the low bytes.
pub const CHANGES_SEQ_LOCK: i64 = 0x0067_7269_6477_616c;

/// The one error enum of this crate: the driver's and the pool's, turned into the
/// district's [`StoreError::Database`] at the trait's boundary.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("PostgreSQL: {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] r2d2_postgres::r2d2::Error),
    #[error("PostgreSQL URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("PostgreSQL connection pool: closed")]
    Closed,
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> StoreError {
        StoreError::Database(Box::new(e))
    }
}

/// The server's own message when there is one (the driver's `Display` says only "db
/// error").
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.to_string(),
        None => e.to_string(),
    }
}

pub(crate) fn db(e: postgres::Error) -> StoreError {
    PgError::Postgres(e).into()
}

type R2d2Pool = r2d2_postgres::r2d2::Pool<conn::Manager>;

/// The connection pool, shared by the store and its blob store. Its last holder may be
/// dropped on an async worker thread (a server's state when the server stops), where the
/// driver cannot close a connection: it blocks on a runtime of its own, which tokio
/// refuses inside a runtime (a panic, in a destructor). So the pool is dropped on a
/// thread of its own.
#[derive(Clone)]
pub(crate) struct Pool(std::sync::Arc<PoolCell>);

struct PoolCell(Option<R2d2Pool>);

impl Pool {
    fn new(pool: R2d2Pool) -> Pool {
        Pool(std::sync::Arc::new(PoolCell(Some(pool))))
    }

    pub(crate) fn get(&self) -> std::result::Result<Conn, PgError> {
        match &self.0 .0 {
            Some(pool) => pool.get().map_err(PgError::Pool),
            None => Err(PgError::Closed),
        }
    }
}

impl Drop for PoolCell {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}
pub(crate) type Conn = r2d2_postgres::r2d2::PooledConnection<conn::Manager>;
pub(crate) use conn::Tx;

/// How often a write transaction that lost a race with another one (serialization
/// failure, deadlock, a concurrent insert of the same new document) is retried whole.
const WRITE_ATTEMPTS: usize = 8;

/// The district store on one PostgreSQL database.
pub struct PgDistrict {
    pool: Pool,
    /// Fault injection for tests (see [`PgDistrict::set_after_push_hook`]).
    after_push: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl PgDistrict {
    /// Connect to `url` (`postgres://user@host/db`) with at most `max_connections`, and
    /// bring the schema up to date (migrations run once, under an advisory lock, however
    /// many servers start at once).
    pub fn open(url: &str, max_connections: u32) -> Result<PgDistrict> {
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| PgError::Url {
            url: redact(url),
            reason: e.to_string(),
        })?;
        let manager = conn::Manager(PostgresConnectionManager::new(config, NoTls));
        let pool = r2d2_postgres::r2d2::Pool::builder()
            .max_size(max_connections.max(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(PgError::Pool)?;
        let district = PgDistrict {
            pool: Pool::new(pool),
            after_push: std::sync::OnceLock::new(),
        };
        let mut conn = district.conn()?;
        migrate::to_latest(&mut conn)?;
        Ok(district)
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

    pub(crate) fn conn(&self) -> Result<Conn> {
        Ok(self.pool.get()?)
    }

    /// Run `f` in one READ COMMITTED write transaction, again from the start if it lost a
    /// race that PostgreSQL reports as retryable.
    pub(crate) fn write<R>(&self, mut f: impl FnMut(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        let mut conn = self.conn()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = conn.tx(|c| c.transaction())?;
            let out = f(&mut tx).and_then(|r| tx.commit().map(|()| r));
            match out {
                Err(e) if attempt < WRITE_ATTEMPTS && retryable(&e) => {
                    tracing::debug!(attempt, error = %e, "write transaction retried");
                    std::thread::sleep(Duration::from_millis(5 * attempt as u64));
                }
                other => return other,
            }
        }
    }

    /// Run `f` in one REPEATABLE READ, READ ONLY transaction: one snapshot.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        let mut conn = self.conn()?;
        let mut tx = conn.tx(|c| {
            c.build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
        })?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Serialization failure, deadlock, or a unique violation (two servers inserting the same
/// new document): the transaction is run again and sees the other's rows.
fn retryable(e: &StoreError) -> bool {
    let StoreError::Database(inner) = e else {
        return false;
    };
    let Some(PgError::Postgres(pg)) = inner.downcast_ref::<PgError>() else {
        return false;
    };
    use postgres::error::SqlState;
    pg.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
