//! [`BlobStore`] on a SQLite file of its own.

use super::{chunk_fits, Appended, BlobSize, BlobStatus, BlobStore, GcReport};
use crate::Result;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!("schema.sql"))])
}

/// Blobs in `blobs.sqlite`; opened on first use (one connection: writes are short).
pub struct SqliteBlobs {
    path: PathBuf,
    quota: u64,
    conn: Mutex<Option<Connection>>,
}

impl SqliteBlobs {
    /// The store at `path` (created on first use), with a per-device quota in bytes.
    pub fn new(path: impl AsRef<Path>, quota: u64) -> SqliteBlobs {
        SqliteBlobs {
            path: path.as_ref().to_path_buf(),
            quota,
            conn: Mutex::new(None),
        }
    }

    /// `blobs.sqlite` in the directory of `district_file`.
    pub fn beside(district_file: &Path, quota: u64) -> SqliteBlobs {
        let dir = district_file.parent().unwrap_or(Path::new("."));
        SqliteBlobs::new(dir.join("blobs.sqlite"), quota)
    }

    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Every stored blob and its size, by hash (tests, an admin's check).
    pub fn stored(&self) -> Result<Vec<(String, u64)>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT sha256, size FROM blobs ORDER BY sha256")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match guard.take() {
            Some(c) => guard.insert(c),
            None => {
                let mut c = Connection::open(&self.path)?;
                c.pragma_update(None, "journal_mode", "WAL")?;
                // A stored blob is answered "stored" and the device may free its copy:
                // it must survive power loss.
                c.pragma_update(None, "synchronous", "FULL")?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                migrations().to_latest(&mut c)?;
                guard.insert(c)
            }
        };
        f(conn)
    }
}

fn usage(conn: &Connection, device_id: &str) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT coalesce(sum(size), 0) FROM blobs WHERE device_id = ?1)
              + (SELECT coalesce(sum(total), 0) FROM blob_parts WHERE device_id = ?1)",
        [device_id],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

impl BlobStore for SqliteBlobs {
    fn status(&self, sha256: &str) -> Result<BlobStatus> {
        self.with(|c| {
            let stored: Option<i64> = c
                .query_row("SELECT size FROM blobs WHERE sha256 = ?1", [sha256], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(size) = stored {
                return Ok(BlobStatus::Stored {
                    size: size.max(0) as u64,
                });
            }
            let have: Option<i64> = c
                .query_row(
                    "SELECT length(bytes) FROM blob_parts WHERE sha256 = ?1",
                    [sha256],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(BlobStatus::Partial {
                offset: have.unwrap_or(0).max(0) as u64,
            })
        })
    }

    fn append(
        &self,
        device_id: &str,
        sha256: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
        now_ms: i64,
    ) -> Result<Appended> {
        let end = offset.saturating_add(chunk.len() as u64);
        if !chunk_fits(offset, total, chunk.len()) {
            return Ok(Appended::TooLarge);
        }
        let quota = self.quota;
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)",
                [sha256],
                |r| r.get(0),
            )?;
            if stored {
                return Ok(Appended::Stored);
            }
            let part: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT length(bytes), total FROM blob_parts WHERE sha256 = ?1",
                    [sha256],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let have = part.map_or(0, |(n, _)| n.max(0) as u64);
            // A restart from zero (after a mismatch elsewhere, another total) replaces a
            // partial; any other offset must be where the partial ends.
            let restart = offset == 0 && part.is_some_and(|(_, t)| t as u64 != total);
            if offset != have && !restart {
                return Ok(Appended::WrongOffset(have));
            }
            if offset == 0 {
                let used = usage(&tx, device_id)?;
                if used.saturating_add(total) > quota {
                    return Ok(Appended::Quota { used, quota });
                }
            }
            if offset == 0 {
                tx.execute(
                    "INSERT INTO blob_parts (sha256, bytes, total, device_id, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (sha256) DO UPDATE SET bytes = excluded.bytes,
                        total = excluded.total, device_id = excluded.device_id,
                        updated_at = excluded.updated_at",
                    params![sha256, chunk, total as i64, device_id, now_ms],
                )?;
            } else {
                // (`||` would make text of the bytes: append here, ≤ 2 MiB.)
                let mut bytes: Vec<u8> = tx.query_row(
                    "SELECT bytes FROM blob_parts WHERE sha256 = ?1",
                    [sha256],
                    |r| r.get(0),
                )?;
                bytes.extend_from_slice(chunk);
                tx.execute(
                    "UPDATE blob_parts SET bytes = ?2, updated_at = ?3 WHERE sha256 = ?1",
                    params![sha256, bytes, now_ms],
                )?;
            }
            if end < total {
                tx.commit()?;
                return Ok(Appended::Offset(end));
            }
            let (bytes, starter): (Vec<u8>, String) = tx.query_row(
                "SELECT bytes, device_id FROM blob_parts WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.execute("DELETE FROM blob_parts WHERE sha256 = ?1", [sha256])?;
            if hex::encode(Sha256::digest(&bytes)) != sha256 {
                tx.commit()?;
                return Ok(Appended::Mismatch);
            }
            tx.execute(
                "INSERT INTO blobs (sha256, bytes, size, device_id, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sha256, bytes, bytes.len() as i64, starter, now_ms],
            )?;
            tx.commit()?;
            Ok(Appended::Stored)
        })
    }

    fn read(&self, sha256: &str, size: BlobSize) -> Result<Option<Vec<u8>>> {
        let sql = match size {
            BlobSize::Full => "SELECT bytes FROM blobs WHERE sha256 = ?1",
            BlobSize::Thumb => "SELECT thumb FROM blobs WHERE sha256 = ?1",
        };
        self.with(|c| {
            Ok(
                c.query_row(sql, [sha256], |r| r.get::<_, Option<Vec<u8>>>(0))
                    .optional()?
                    .flatten(),
            )
        })
    }

    fn put_thumb(&self, sha256: &str, thumb: &[u8]) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE blobs SET thumb = ?2 WHERE sha256 = ?1",
                params![sha256, thumb],
            )?;
            Ok(())
        })
    }

    fn device_usage(&self, device_id: &str) -> Result<u64> {
        self.with(|c| usage(c, device_id))
    }

    fn collect_garbage(
        &self,
        referenced: &dyn Fn(&str) -> bool,
        before_ms: i64,
    ) -> Result<GcReport> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let old: Vec<(String, i64)> = {
                let mut stmt = tx.prepare("SELECT sha256, size FROM blobs WHERE stored_at < ?1")?;
                let rows = stmt.query_map([before_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut report = GcReport::default();
            for (sha, size) in old.into_iter().filter(|(s, _)| !referenced(s)) {
                tx.execute("DELETE FROM blobs WHERE sha256 = ?1", [&sha])?;
                report.blobs += 1;
                report.bytes += size.max(0) as u64;
            }
            report.partials =
                tx.execute("DELETE FROM blob_parts WHERE updated_at < ?1", [before_ms])? as u64;
            tx.commit()?;
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests;
