//! The device's photos: a content-addressed store (a table keyed by SHA-256, written in
//! one transaction with its upload-queue row, so a killed app keeps both or neither) and
//! the persisted upload queue ([`gridwalk_core::upload`]). A photo the worker took keeps
//! its bytes until the server confirmed them; only then may they be freed.

use crate::{Result, Store, StoreError};
use gridwalk_core::model::is_sha256_hex;
use gridwalk_core::upload::{Entry, Refusal};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// A prepared photo to keep (see `gridwalk_photo::prepare`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoto<'a> {
    pub sha256: &'a str,
    pub bytes: &'a [u8],
    pub thumb: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub mime: &'a str,
}

/// What the device holds of a photo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalPhoto {
    pub sha256: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub mime: String,
    pub has_bytes: bool,
    pub has_thumb: bool,
    /// Confirmed by the server (taken here), or downloaded from it.
    pub uploaded: bool,
    pub cached: bool,
}

/// The space photos take on the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PhotoStorage {
    /// Photos taken here not yet confirmed by the server: never freed.
    pub pending: i64,
    pub pending_bytes: i64,
    /// Taken here and confirmed: their full bytes may be freed.
    pub uploaded: i64,
    pub uploaded_bytes: i64,
    /// Downloaded for viewing, within the cache cap.
    pub cached_bytes: i64,
    /// Thumbnails, all kinds.
    pub thumb_bytes: i64,
}

fn hash_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn bad(msg: &str) -> StoreError {
    StoreError::BadRequest(msg.to_string())
}

fn refusal_name(r: Refusal) -> &'static str {
    match r {
        Refusal::NotReferenced => "not_referenced",
        Refusal::Quota => "quota",
        Refusal::Mismatch => "mismatch",
        Refusal::TooLarge => "too_large",
        Refusal::Forbidden => "forbidden",
    }
}

fn refusal_parse(s: &str) -> Option<Refusal> {
    [
        Refusal::NotReferenced,
        Refusal::Quota,
        Refusal::Mismatch,
        Refusal::TooLarge,
        Refusal::Forbidden,
    ]
    .into_iter()
    .find(|r| refusal_name(*r) == s)
}

impl Store {
    /// Keeps a photo taken on this device and queues it for upload, in one transaction.
    /// The bytes must hash to `sha256`. The same photo again changes nothing.
    pub fn put_photo(&mut self, p: &NewPhoto<'_>, now_ms: i64) -> Result<()> {
        if !is_sha256_hex(p.sha256) || hash_of(p.bytes) != p.sha256 {
            return Err(bad(
                "照片内容与哈希不符 / photo bytes do not match their hash",
            ));
        }
        let tx = self.conn.transaction()?;
        // A photo downloaded before (cached, or freed) is taken again: it is ours now.
        tx.execute(
            "INSERT INTO photos (sha256, bytes, thumb, size, width, height, mime, created_at,
                used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (sha256) DO UPDATE SET bytes = excluded.bytes,
                thumb = excluded.thumb, cached = 0, used_at = excluded.used_at",
            params![
                p.sha256,
                p.bytes,
                p.thumb,
                p.bytes.len() as i64,
                p.width,
                p.height,
                p.mime,
                now_ms
            ],
        )?;
        let uploaded: Option<i64> = tx.query_row(
            "SELECT uploaded_at FROM photos WHERE sha256 = ?1",
            [p.sha256],
            |r| r.get(0),
        )?;
        if uploaded.is_none() {
            tx.execute(
                "INSERT INTO photo_uploads (sha256, total) VALUES (?1, ?2)
                 ON CONFLICT (sha256) DO NOTHING",
                params![p.sha256, p.bytes.len() as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A photo's full bytes, if the device holds them (checked against the hash).
    pub fn photo_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT bytes FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        match bytes {
            Some(b) if hash_of(&b) != sha256 => Err(bad(
                "本机照片已损坏 / the photo stored on this device is damaged",
            )),
            other => Ok(other),
        }
    }

    /// A photo's thumbnail, if the device holds it.
    pub fn photo_thumb(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT thumb FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// What the device holds of a photo.
    pub fn photo(&self, sha256: &str) -> Result<Option<LocalPhoto>> {
        Ok(self
            .conn
            .query_row(
                "SELECT sha256, size, width, height, mime, bytes IS NOT NULL,
                    thumb IS NOT NULL, uploaded_at IS NOT NULL OR cached = 1, cached
                 FROM photos WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok(LocalPhoto {
                        sha256: r.get(0)?,
                        size: r.get(1)?,
                        width: r.get(2)?,
                        height: r.get(3)?,
                        mime: r.get(4)?,
                        has_bytes: r.get(5)?,
                        has_thumb: r.get(6)?,
                        uploaded: r.get(7)?,
                        cached: r.get::<_, i64>(8)? == 1,
                    })
                },
            )
            .optional()?)
    }

    /// The persisted upload queue.
    pub fn upload_queue(&self) -> Result<Vec<Entry>> {
        let mut stmt = self.conn.prepare(
            "SELECT sha256, total, attempts, not_before, parked FROM photo_uploads
             ORDER BY sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            let parked: Option<String> = r.get(4)?;
            Ok(Entry {
                sha256: r.get(0)?,
                total: r.get::<_, i64>(1)?.max(0) as u64,
                attempts: r.get::<_, i64>(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                not_before: r.get::<_, i64>(3)?.max(0) as u64,
                parked: parked.as_deref().and_then(refusal_parse),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Persists an entry's retry state (attempts, next try, parked).
    pub fn save_upload_entry(&mut self, e: &Entry) -> Result<()> {
        self.conn.execute(
            "UPDATE photo_uploads SET attempts = ?2, not_before = ?3, parked = ?4
             WHERE sha256 = ?1",
            params![
                e.sha256,
                i64::from(e.attempts),
                i64::try_from(e.not_before).unwrap_or(i64::MAX),
                e.parked.map(refusal_name)
            ],
        )?;
        Ok(())
    }

    /// The server confirmed the photo: it leaves the queue (its bytes stay until freed).
    pub fn photo_uploaded(&mut self, sha256: &str, now_ms: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE photos SET uploaded_at = coalesce(uploaded_at, ?2) WHERE sha256 = ?1",
            params![sha256, now_ms],
        )?;
        tx.execute("DELETE FROM photo_uploads WHERE sha256 = ?1", [sha256])?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps what was downloaded from the server (the full photo or its thumbnail),
    /// checked against its hash when it is the full photo; then trims the cache to `cap`
    /// bytes (oldest viewed first; photos taken here are never trimmed).
    pub fn put_downloaded_photo(
        &mut self,
        sha256: &str,
        full: Option<&[u8]>,
        thumb: Option<&[u8]>,
        cap: i64,
        now_ms: i64,
    ) -> Result<()> {
        if full.is_some_and(|b| hash_of(b) != sha256) {
            return Err(bad(
                "下载的照片与哈希不符 / the downloaded photo does not match its hash",
            ));
        }
        let size = full.map_or(0, |b| b.len() as i64);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO photos (sha256, bytes, thumb, size, width, height, mime, created_at,
                cached, used_at)
             VALUES (?1, ?2, ?3, ?4, 0, 0, 'image/jpeg', ?5, 1, ?5)
             ON CONFLICT (sha256) DO UPDATE SET bytes = coalesce(photos.bytes, excluded.bytes),
                thumb = coalesce(photos.thumb, excluded.thumb),
                size = max(photos.size, excluded.size), used_at = excluded.used_at",
            params![sha256, full, thumb, size, now_ms],
        )?;
        tx.commit()?;
        self.trim_photo_cache(cap)?;
        Ok(())
    }

    /// Drops downloaded photos, least recently viewed first, until they take at most
    /// `cap` bytes. Returns the bytes dropped.
    pub fn trim_photo_cache(&mut self, cap: i64) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let mut total: i64 = tx.query_row(
            "SELECT coalesce(sum(length(bytes)), 0) + coalesce(sum(length(thumb)), 0)
             FROM photos WHERE cached = 1",
            [],
            |r| r.get(0),
        )?;
        let mut dropped = 0;
        if total > cap {
            let victims: Vec<(String, i64)> = {
                let mut stmt = tx.prepare(
                    "SELECT sha256, coalesce(length(bytes), 0) + coalesce(length(thumb), 0)
                     FROM photos WHERE cached = 1 ORDER BY used_at, sha256",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for (sha, size) in victims {
                if total <= cap {
                    break;
                }
                tx.execute(
                    "DELETE FROM photos WHERE sha256 = ?1 AND cached = 1",
                    [&sha],
                )?;
                total -= size;
                dropped += size;
            }
        }
        tx.commit()?;
        Ok(dropped)
    }

    /// Frees the full bytes of photos taken here that the server confirmed (their
    /// thumbnails stay; the photo downloads again when viewed). Never touches a photo
    /// still queued. Returns the bytes freed.
    pub fn free_uploaded_photos(&mut self) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let freed: i64 = tx.query_row(
            "SELECT coalesce(sum(length(bytes)), 0) FROM photos
             WHERE uploaded_at IS NOT NULL AND cached = 0
               AND sha256 NOT IN (SELECT sha256 FROM photo_uploads)",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE photos SET bytes = NULL
             WHERE uploaded_at IS NOT NULL AND cached = 0
               AND sha256 NOT IN (SELECT sha256 FROM photo_uploads)",
            [],
        )?;
        tx.commit()?;
        Ok(freed)
    }

    /// Parks the upload of photos the worker took for a form that was given up: still
    /// queued, taken before `taken_before_ms`, referenced by no document on the device and
    /// named by no saved draft. The server would refuse their bytes (reference first, then
    /// bytes), so without this the queue retried them for ever. Nothing is deleted (a
    /// photo the worker took stays until the server has it): a parked photo that a
    /// record or draft names again is unparked here too. Returns (parked, unparked).
    pub fn park_abandoned_photos(&mut self, taken_before_ms: i64) -> Result<(usize, usize)> {
        let named = "(EXISTS (SELECT 1 FROM photo_refs r WHERE r.sha256 = q.sha256)
                OR EXISTS (SELECT 1 FROM meta m
                    WHERE substr(m.key, 1, length(?2)) = ?2 AND instr(m.value, q.sha256) > 0))";
        let not_referenced = refusal_name(Refusal::NotReferenced);
        let tx = self.conn.transaction()?;
        let parked = tx.execute(
            &format!(
                "UPDATE photo_uploads AS q SET parked = ?3
                 WHERE q.parked IS NULL AND NOT {named}
                   AND (SELECT created_at FROM photos p WHERE p.sha256 = q.sha256) < ?1"
            ),
            params![taken_before_ms, crate::DRAFT_META_PREFIX, not_referenced],
        )?;
        let unparked = tx.execute(
            &format!("UPDATE photo_uploads AS q SET parked = NULL WHERE q.parked = ?3 AND {named}"),
            params![taken_before_ms, crate::DRAFT_META_PREFIX, not_referenced],
        )?;
        tx.commit()?;
        Ok((parked, unparked))
    }

    /// The space photos take.
    pub fn photo_storage(&self) -> Result<PhotoStorage> {
        Ok(self.conn.query_row(
            "SELECT
                count(*) FILTER (WHERE q.sha256 IS NOT NULL),
                coalesce(sum(length(p.bytes)) FILTER (WHERE q.sha256 IS NOT NULL), 0),
                count(*) FILTER (WHERE q.sha256 IS NULL AND p.uploaded_at IS NOT NULL
                    AND p.cached = 0),
                coalesce(sum(length(p.bytes)) FILTER (WHERE q.sha256 IS NULL
                    AND p.uploaded_at IS NOT NULL AND p.cached = 0), 0),
                coalesce(sum(length(p.bytes)) FILTER (WHERE p.cached = 1), 0),
                coalesce(sum(length(p.thumb)), 0)
             FROM photos p LEFT JOIN photo_uploads q ON q.sha256 = p.sha256",
            [],
            |r| {
                Ok(PhotoStorage {
                    pending: r.get(0)?,
                    pending_bytes: r.get(1)?,
                    uploaded: r.get(2)?,
                    uploaded_bytes: r.get(3)?,
                    cached_bytes: r.get(4)?,
                    thumb_bytes: r.get(5)?,
                })
            },
        )?)
    }
}

#[cfg(test)]
mod tests;
