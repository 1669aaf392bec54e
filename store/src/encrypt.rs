//! The device store encrypted at rest (SQLCipher): opening with a key, and the one-time,
//! crash-safe migration of a plaintext store written by an older version.
//!
//! The migration, and what each crash leaves (decided by which files exist at the next
//! open):
//! 1. the plaintext store's WAL is checkpointed into it and the connection closed;
//! 2. `sqlcipher_export` copies it into `<db>.encrypting` (a new encrypted file), with
//!    its `user_version`; the file is synced and checked with the key;
//! 3. the plaintext's empty WAL/SHM are removed; the plaintext is hard-linked to
//!    `<db>.plaintext-old`; `<db>.encrypting` is renamed over `<db>` (atomic);
//! 4. `<db>.plaintext-old` is overwritten with zeros, synced and removed.
//!
//! Killed before 3's rename, `<db>` is still the whole plaintext store: the partial
//! `.encrypting` (and the `.plaintext-old` link) are removed and the migration runs again
//! (rolled back, then redone). Killed after it, `<db>` is the whole encrypted store: the
//! scrub of `.plaintext-old` is finished (resumed). Never half.

use crate::device_key::{sync_dir, DeviceKey};
use crate::{Result, Store, StoreError};
use rusqlite::Connection;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where the plaintext → encrypted migration is; given to a test's hook at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationStep {
    /// A plaintext store was found; nothing written yet.
    Started,
    /// `<db>.encrypting` holds the whole encrypted copy, not yet synced.
    Exported,
    /// The copy is synced and opens with the key; `<db>` is still the plaintext.
    Synced,
    /// `<db>` is the encrypted store; the plaintext's old link is not yet scrubbed.
    Renamed,
    /// The plaintext is gone.
    Done,
}

const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Every file SQLite or this module may keep for the store at `db`.
pub fn store_files(db: &Path) -> Vec<PathBuf> {
    let mut files = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        files.push(sibling(db, suffix));
    }
    let tmp = sibling(db, ".encrypting");
    for suffix in ["-wal", "-shm", "-journal"] {
        files.push(sibling(&tmp, suffix));
    }
    files.push(tmp);
    files.push(sibling(db, ".plaintext-old"));
    files
}

/// Remove the store's files (after its key was destroyed: what they hold is unreadable
/// noise; removing them frees the space). Missing files are no error.
pub fn remove_store_files(db: &Path) -> Result<()> {
    for f in store_files(db) {
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&f, "cannot remove", e)),
        }
    }
    sync_dir(db);
    Ok(())
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Key(format!("{what} {}: {e}", path.display()))
}

/// Whether the file at `path` is a plaintext SQLite database (its header is readable).
/// An encrypted file starts with random salt instead.
pub fn is_plaintext(path: &Path) -> Result<bool> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(path, "cannot read", e)),
    };
    let mut head = [0u8; 16];
    match f.read_exact(&mut head) {
        Ok(()) => Ok(&head == PLAINTEXT_HEADER),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(io_err(path, "cannot read", e)),
    }
}

/// A connection to `path` keyed with `key`, checked: SQLCipher is present and the key
/// reads the file (a wrong key is [`StoreError::WrongKey`], never a panic).
fn keyed_connection(path: &Path, key: &DeviceKey) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // The key is set before anything else touches the file.
    conn.execute_batch(&format!(
        "PRAGMA key = \"{}\";",
        key.sqlcipher_literal().as_str()
    ))?;
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .ok();
    if cipher.is_none() {
        return Err(StoreError::NoEncryption);
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

impl Store {
    /// Open (creating if needed) the device store at `path`, encrypted with `key`.
    /// A plaintext store left by an older version is encrypted in place first (see the
    /// module doc: crash-safe, the plaintext removed). A wrong key gives
    /// [`StoreError::WrongKey`].
    pub fn open_encrypted(path: impl AsRef<Path>, key: &DeviceKey) -> Result<Store> {
        Store::open_encrypted_with(path.as_ref(), key, &mut |_| {})
    }

    /// [`Store::open_encrypted`] with a hook called at each migration step (tests kill
    /// the process there).
    #[doc(hidden)]
    pub fn open_encrypted_with(
        path: &Path,
        key: &DeviceKey,
        hook: &mut dyn FnMut(MigrationStep),
    ) -> Result<Store> {
        if migrate_plaintext(path, key, hook)? {
            tracing::info!(path = %path.display(), "plaintext device store encrypted");
        }
        Store::init(keyed_connection(path, key)?, crate::schema::Role::Device)
    }
}

/// Finish or redo an interrupted migration, and encrypt a plaintext store in place.
/// Returns whether a plaintext store was encrypted now.
pub(crate) fn migrate_plaintext(
    db: &Path,
    key: &DeviceKey,
    hook: &mut dyn FnMut(MigrationStep),
) -> Result<bool> {
    let tmp = sibling(db, ".encrypting");
    let old = sibling(db, ".plaintext-old");
    let remove = |p: &Path| match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(p, "cannot remove", e)),
    };
    let remove_tmp = || -> Result<()> {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            remove(&sibling(&tmp, suffix))?;
        }
        Ok(())
    };
    if !is_plaintext(db)? {
        // Nothing to migrate, or a migration that got past its rename: finish the scrub.
        remove_tmp()?;
        if old.exists() {
            scrub(&old)?;
        }
        return Ok(false);
    }
    // A plaintext store. Whatever an interrupted run left is discarded (`<db>` is whole).
    remove(&old)?;
    remove_tmp()?;
    hook(MigrationStep::Started);
    {
        let conn = Connection::open(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Everything into the main file first, so that the WAL holds nothing of its own.
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(StoreError::Key(format!(
                "cannot encrypt {}: another process has it open",
                db.display()
            )));
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![
                tmp.to_string_lossy().as_ref(),
                key.sqlcipher_literal().as_str()
            ],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        // sqlcipher_export copies the schema and rows, not the schema version that the
        // migrations read.
        conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version};"))?;
        conn.execute_batch("DETACH DATABASE encrypted;")?;
    }
    hook(MigrationStep::Exported);
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(&tmp, "cannot sync", e))?;
    {
        let check = keyed_connection(&tmp, key)?;
        let ok: String = check.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Key(format!(
                "the encrypted copy of {} failed its check: {ok}",
                db.display()
            )));
        }
    }
    hook(MigrationStep::Synced);
    // The plaintext's WAL was checkpointed and truncated, and its connection closed.
    remove(&sibling(db, "-wal"))?;
    remove(&sibling(db, "-shm"))?;
    std::fs::hard_link(db, &old).map_err(|e| io_err(&old, "cannot link", e))?;
    std::fs::rename(&tmp, db).map_err(|e| io_err(db, "cannot replace", e))?;
    sync_dir(db);
    hook(MigrationStep::Renamed);
    scrub(&old)?;
    hook(MigrationStep::Done);
    Ok(true)
}

/// Overwrite a plaintext file with zeros, sync it and remove it. (On flash storage the
/// old blocks may survive an overwrite; the README says so.)
fn scrub(path: &Path) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, "cannot open", e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let zeros = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])
            .map_err(|e| io_err(path, "cannot overwrite", e))?;
        left -= n as u64;
    }
    f.sync_all().map_err(|e| io_err(path, "cannot sync", e))?;
    drop(f);
    std::fs::remove_file(path).map_err(|e| io_err(path, "cannot remove", e))?;
    sync_dir(path);
    Ok(())
}
