//! [`BlobStore`] on PostgreSQL: photo bytes in the district's database (`blobs`,
//! `blob_parts`: migration 002), so every server process on one database serves every
//! photo. Content-addressed (each hash stored once), uploads resumable in chunks, the
//! whole hashed when its last byte arrives, a per-device quota, and garbage collection
//! of what no document references after a grace period — as `SqliteBlobs` does.

use crate::{db, PgDistrict, Pool, Result};
use gridwalk_district::blobs::{chunk_fits, Appended, BlobSize, BlobStatus, BlobStore, GcReport};
use postgres::GenericClient;
use sha2::{Digest, Sha256};

/// Blobs in the district's PostgreSQL database, with a per-device quota in bytes.
pub struct PgBlobs {
    pool: Pool,
    quota: u64,
}

impl PgBlobs {
    /// The blob store of `district`'s database (its pool is shared).
    pub fn new(district: &PgDistrict, quota: u64) -> PgBlobs {
        PgBlobs {
            pool: district.pool.clone(),
            quota,
        }
    }

    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Every stored blob and its size, by hash (tests, an admin's check).
    pub fn stored(&self) -> Result<Vec<(String, u64)>> {
        let rows = self
            .conn()?
            .query("SELECT sha256, size FROM blobs ORDER BY sha256", &[])
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    fn conn(&self) -> Result<crate::Conn> {
        Ok(self.pool.get()?)
    }
}

fn bytes_of(n: i64) -> u64 {
    n.max(0) as u64
}

fn usage(c: &mut impl GenericClient, device_id: &str) -> Result<u64> {
    let row = c
        .query_one(
            "SELECT ((SELECT coalesce(sum(size), 0) FROM blobs WHERE device_id = $1)
                   + (SELECT coalesce(sum(total), 0) FROM blob_parts WHERE device_id = $1))::bigint",
            &[&device_id],
        )
        .map_err(db)?;
    Ok(bytes_of(row.get(0)))
}

/// One upload's chunk inside its transaction (the hash's advisory lock held).
#[allow(clippy::too_many_arguments)] // one chunk's fields, as the trait takes them
fn append_locked(
    tx: &mut postgres::Transaction<'_>,
    quota: u64,
    device_id: &str,
    sha256: &str,
    offset: u64,
    total: u64,
    chunk: &[u8],
    now_ms: i64,
) -> Result<Appended> {
    let stored = tx
        .query_opt("SELECT 1 FROM blobs WHERE sha256 = $1", &[&sha256])
        .map_err(db)?
        .is_some();
    if stored {
        return Ok(Appended::Stored);
    }
    let part: Option<(i64, i64)> = tx
        .query_opt(
            "SELECT length(bytes)::bigint, total FROM blob_parts WHERE sha256 = $1",
            &[&sha256],
        )
        .map_err(db)?
        .map(|r| (r.get(0), r.get(1)));
    let have = part.map_or(0, |(n, _)| bytes_of(n));
    // A restart from zero (after a mismatch elsewhere, another total) replaces a partial;
    // any other offset must be where the partial ends.
    let restart = offset == 0 && part.is_some_and(|(_, t)| bytes_of(t) != total);
    if offset != have && !restart {
        return Ok(Appended::WrongOffset(have));
    }
    let (total_i, now) = (total as i64, now_ms);
    if offset == 0 {
        let used = usage(tx, device_id)?;
        if used.saturating_add(total) > quota {
            return Ok(Appended::Quota { used, quota });
        }
        tx.execute(
            "INSERT INTO blob_parts (sha256, bytes, total, device_id, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (sha256) DO UPDATE SET bytes = excluded.bytes,
                total = excluded.total, device_id = excluded.device_id,
                updated_at = excluded.updated_at",
            &[&sha256, &chunk, &total_i, &device_id, &now],
        )
        .map_err(db)?;
    } else {
        tx.execute(
            "UPDATE blob_parts SET bytes = bytes || $2, updated_at = $3 WHERE sha256 = $1",
            &[&sha256, &chunk, &now],
        )
        .map_err(db)?;
    }
    let end = offset + chunk.len() as u64;
    if end < total {
        return Ok(Appended::Offset(end));
    }
    let row = tx
        .query_one(
            "DELETE FROM blob_parts WHERE sha256 = $1 RETURNING bytes, device_id",
            &[&sha256],
        )
        .map_err(db)?;
    let (bytes, starter): (Vec<u8>, String) = (row.get(0), row.get(1));
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Ok(Appended::Mismatch);
    }
    tx.execute(
        "INSERT INTO blobs (sha256, bytes, size, device_id, stored_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
        &[&sha256, &bytes, &(bytes.len() as i64), &starter, &now],
    )
    .map_err(db)?;
    Ok(Appended::Stored)
}

impl BlobStore for PgBlobs {
    fn status(&self, sha256: &str) -> Result<BlobStatus> {
        let mut c = self.conn()?;
        let row = c
            .query_one(
                "SELECT (SELECT size FROM blobs WHERE sha256 = $1),
                        (SELECT length(bytes)::bigint FROM blob_parts WHERE sha256 = $1)",
                &[&sha256],
            )
            .map_err(db)?;
        let (stored, partial): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
        Ok(match stored {
            Some(size) => BlobStatus::Stored {
                size: bytes_of(size),
            },
            None => BlobStatus::Partial {
                offset: bytes_of(partial.unwrap_or(0)),
            },
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
        if !chunk_fits(offset, total, chunk.len()) {
            return Ok(Appended::TooLarge);
        }
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(db)?;
        // One upload of a hash at a time, across every server on the database.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
            &[&sha256],
        )
        .map_err(db)?;
        let out = append_locked(
            &mut tx, self.quota, device_id, sha256, offset, total, chunk, now_ms,
        )?;
        tx.commit().map_err(db)?;
        Ok(out)
    }

    fn read(&self, sha256: &str, size: BlobSize) -> Result<Option<Vec<u8>>> {
        let sql = match size {
            BlobSize::Full => "SELECT bytes FROM blobs WHERE sha256 = $1",
            BlobSize::Thumb => "SELECT thumb FROM blobs WHERE sha256 = $1",
        };
        let row = self.conn()?.query_opt(sql, &[&sha256]).map_err(db)?;
        Ok(row.and_then(|r| r.get::<_, Option<Vec<u8>>>(0)))
    }

    fn put_thumb(&self, sha256: &str, thumb: &[u8]) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE blobs SET thumb = $2 WHERE sha256 = $1",
                &[&sha256, &thumb],
            )
            .map_err(db)?;
        Ok(())
    }

    fn device_usage(&self, device_id: &str) -> Result<u64> {
        usage(&mut **self.conn()?, device_id)
    }

    fn collect_garbage(
        &self,
        referenced: &dyn Fn(&str) -> bool,
        before_ms: i64,
    ) -> Result<GcReport> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(db)?;
        let old = tx
            .query(
                "SELECT sha256, size FROM blobs WHERE stored_at < $1",
                &[&before_ms],
            )
            .map_err(db)?;
        let mut report = GcReport::default();
        for row in old {
            let (sha, size): (String, i64) = (row.get(0), row.get(1));
            if referenced(&sha) {
                continue;
            }
            // Not if a document referenced it meanwhile (another server's push).
            let n = tx
                .execute(
                    "DELETE FROM blobs WHERE sha256 = $1
                       AND NOT EXISTS (SELECT 1 FROM photo_refs WHERE sha256 = $1)",
                    &[&sha],
                )
                .map_err(db)?;
            if n > 0 {
                report.blobs += 1;
                report.bytes += bytes_of(size);
            }
        }
        report.partials = tx
            .execute(
                "DELETE FROM blob_parts WHERE updated_at < $1",
                &[&before_ms],
            )
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(report)
    }
}
