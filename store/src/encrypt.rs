//! The device store encrypted at rest (SQLCipher): opening with a key, and the one-time,
//! crash-safe migrations of a store written by an older version: a plaintext store, and
//! an encrypted store whose pages carry the older HMAC ([`PageAuth`]).
//!
//! A migration, and what each crash leaves (decided by what `<db>` is at the next open):
//! 1. the old store's WAL is checkpointed into it and the connection closed;
//! 2. `sqlcipher_export` copies it into `<db>.encrypting` (a new encrypted file, pages
//!    authenticated with [`PageAuth::NEW`]), with its `user_version`; the file is synced
//!    and checked with the key;
//! 3. the old store's empty WAL/SHM are removed; it is hard-linked to `<db>.plaintext-old`
//!    (`<db>.sha512-old` for an encrypted one); `<db>.encrypting` is renamed over `<db>`
//!    (atomic);
//! 4. the old link is removed, a plaintext one overwritten with zeros and synced first.
//!
//! Killed before 3's rename, `<db>` is still the whole old store: the partial
//! `.encrypting` (and the old link, unscrubbed: it is `<db>` itself) are removed and the
//! migration runs again (rolled back, then redone). Killed after it, `<db>` is the whole
//! new store: the old link's scrub or removal is finished (resumed). Never half.

use crate::device_key::{sync_dir, DeviceKey};
use crate::{Result, Store, StoreError};
use rusqlite::Connection;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where a migration (plaintext → encrypted, or HMAC-SHA512 → HMAC-SHA256 pages) is;
/// given to a test's hook at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationStep {
    /// An old store was found; nothing written yet.
    Started,
    /// `<db>.encrypting` holds the whole new copy, not yet synced.
    Exported,
    /// The copy is synced and opens with the key; `<db>` is still the old store.
    Synced,
    /// `<db>` is the new store; the old file's link is not yet scrubbed or removed.
    Renamed,
    /// The old file is gone.
    Done,
}

/// How a store's pages are authenticated (SQLCipher's `cipher_hmac_algorithm`; every page
/// is also AES-256 encrypted either way). New stores use HMAC-SHA256: the CPU computes
/// SHA-256 in hardware on x86 (SHA-NI) and on phones (ARMv8's crypto extensions), and
/// every page written or read from the file is MACed, so the durable edit measured +9 %
/// of plaintext with it against +13 % with HMAC-SHA512 (`gridwalk-bench store`, three
/// runs each). Stores made before with SQLCipher 4's default, HMAC-SHA512, are rewritten
/// once, crash-safe, at their first open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAuth {
    HmacSha256,
    HmacSha512,
}

impl PageAuth {
    /// What a new store is made with.
    pub const NEW: PageAuth = PageAuth::HmacSha256;

    fn pragma_value(self) -> &'static str {
        match self {
            PageAuth::HmacSha256 => "HMAC_SHA256",
            PageAuth::HmacSha512 => "HMAC_SHA512",
        }
    }
}

const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";
const OLD_PLAINTEXT: &str = ".plaintext-old";
const OLD_SHA512: &str = ".sha512-old";

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
    files.push(sibling(db, OLD_PLAINTEXT));
    files.push(sibling(db, OLD_SHA512));
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

/// A connection to `path` keyed with `key` and the current page authentication, or, for a
/// store made before, the older one (which [`Store::open_encrypted`] then migrates).
fn keyed_connection(path: &Path, key: &DeviceKey) -> Result<(Connection, PageAuth)> {
    match keyed_connection_as(path, key, PageAuth::NEW) {
        Err(StoreError::WrongKey) => {
            let older = PageAuth::HmacSha512;
            keyed_connection_as(path, key, older).map(|conn| (conn, older))
        }
        opened => opened.map(|conn| (conn, PageAuth::NEW)),
    }
}

/// The page authentication of the encrypted store at `path` (a wrong key is
/// [`StoreError::WrongKey`]).
pub fn page_auth(path: &Path, key: &DeviceKey) -> Result<PageAuth> {
    keyed_connection(path, key).map(|(_, auth)| auth)
}

/// A connection to `path` keyed with `key`, its pages authenticated with `auth`, checked:
/// SQLCipher is present and the key reads the file (a wrong key, or another page
/// authentication than the file's, is [`StoreError::WrongKey`], never a panic).
fn keyed_connection_as(path: &Path, key: &DeviceKey, auth: PageAuth) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // The key and its settings are set before anything else touches the file.
    conn.execute_batch(&format!(
        "PRAGMA key = \"{}\"; PRAGMA cipher_hmac_algorithm = {};",
        key.sqlcipher_literal().as_str(),
        auth.pragma_value()
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
        // The link an interrupted rewrite of an older store left: the old store's file
        // until the rename (then `<db>` itself), after it the old file alone. Removed
        // either way (it is encrypted with this key: nothing to scrub).
        let old_link = sibling(path, OLD_SHA512);
        let conn = match keyed_connection(path, key)? {
            (conn, PageAuth::HmacSha256) => {
                remove(&old_link)?;
                conn
            }
            (older, PageAuth::HmacSha512) => {
                remove(&old_link)?;
                hook(MigrationStep::Started);
                rewrite(path, older, &old_link, OldFile::Remove, key, hook)?;
                tracing::info!(path = %path.display(), "device store rewritten with HMAC-SHA256 pages");
                keyed_connection_as(path, key, PageAuth::NEW)?
            }
        };
        Store::init(conn, crate::schema::Role::Device)
    }

    /// A new encrypted store made with the older page authentication, as a version
    /// before [`PageAuth::NEW`] made it (tests of the migration).
    #[doc(hidden)]
    pub fn create_encrypted_older(path: &Path, key: &DeviceKey) -> Result<Store> {
        let conn = keyed_connection_as(path, key, PageAuth::HmacSha512)?;
        Store::init(conn, crate::schema::Role::Device)
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
    let old = sibling(db, OLD_PLAINTEXT);
    let remove_tmp = || -> Result<()> {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            remove(&sibling(&tmp, suffix))?;
        }
        Ok(())
    };
    if !is_plaintext(db)? {
        // Nothing to migrate, or a migration that got past its rename (or a rewrite of an
        // older encrypted store, before or after its rename: `<db>` is whole either way):
        // the partial copy is removed and the plaintext's scrub finished.
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
    rewrite(db, Connection::open(db)?, &old, OldFile::Scrub, key, hook)?;
    Ok(true)
}

/// What becomes of the old store's file once the new one is in place.
#[derive(Clone, Copy)]
enum OldFile {
    /// Plaintext: overwritten with zeros first.
    Scrub,
    /// Encrypted with the same key: removed.
    Remove,
}

fn remove(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(p, "cannot remove", e)),
    }
}

/// Steps 1–4 of the module doc: the store at `db`, open on `source` (plaintext, or keyed
/// with an older page authentication), rewritten encrypted with [`PageAuth::NEW`], the
/// old file linked at `old`, then scrubbed or removed.
fn rewrite(
    db: &Path,
    source: Connection,
    old: &Path,
    old_file: OldFile,
    key: &DeviceKey,
    hook: &mut dyn FnMut(MigrationStep),
) -> Result<()> {
    let tmp = sibling(db, ".encrypting");
    {
        let conn = source;
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
        conn.execute_batch(&format!(
            "PRAGMA encrypted.cipher_hmac_algorithm = {};",
            PageAuth::NEW.pragma_value()
        ))?;
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
        let check = keyed_connection_as(&tmp, key, PageAuth::NEW)?;
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
    std::fs::hard_link(db, old).map_err(|e| io_err(old, "cannot link", e))?;
    std::fs::rename(&tmp, db).map_err(|e| io_err(db, "cannot replace", e))?;
    sync_dir(db);
    hook(MigrationStep::Renamed);
    match old_file {
        OldFile::Scrub => scrub(old)?,
        OldFile::Remove => {
            remove(old)?;
            sync_dir(old);
        }
    }
    hook(MigrationStep::Done);
    Ok(())
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
