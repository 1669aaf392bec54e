//! Push and pull against the district store.

use super::server_edits::SqliteLookup;
use super::{
    DeviceAuth, DistrictStore, PullOutcome, PushOutcomeReport, SqliteDistrict, SyncLogEntry,
    SyncLogQuery,
};
use crate::{docs, projection, Result, StoreError};
use gridwalk_core::projection::{project, Projected};
use gridwalk_core::sync::{
    grid_digest, DocChanges, DocData, DocHeads, GridCompare, GridCursor, GridDigest, PulledDoc,
    PushOutcome, PushResult,
};
use gridwalk_core::{Author, DocKind};
use gridwalk_district::phases::{time, timed, Phase};
use gridwalk_district::push::{parse_heads, stage, Staged, MAX_PAGE_BYTES, MIN_PAGE_BYTES};
use rusqlite::{params, Connection};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A staged document with what writing it needs computed beforehand, off the writer:
/// its bytes (whole when new, else the chunk after `before`), its changes as rows and its
/// projection. Only SQL is left for the one writer thread.
struct Prepared {
    staged: Staged,
    bytes: Vec<u8>,
    changes: Vec<ChangeRow>,
    projected: Option<Projected>,
    conflicts_created: usize,
}

struct ChangeRow {
    hash: String,
    bytes: Vec<u8>,
    author: Option<Author>,
}

fn prepare(staged: Staged) -> Prepared {
    let s = &staged;
    let bytes = if s.is_new {
        s.doc.save_nocompress()
    } else {
        s.doc.save_after(&s.before)
    };
    let changes = s
        .doc
        .changes_since(&s.before)
        .iter()
        .map(|c| ChangeRow {
            hash: c.hash().to_string(),
            bytes: c.raw_bytes().to_vec(),
            author: Author::from_actor(c.actor_id()),
        })
        .collect();
    let projected = project(&s.doc, &s.grid_id);
    let conflicts_created = s.doc.conflicts().len().saturating_sub(s.conflicts_before);
    Prepared {
        conflicts_created,
        bytes,
        changes,
        projected,
        staged,
    }
}

fn write_staged(
    conn: &Connection,
    device: &DeviceAuth,
    p: &Prepared,
    now_ms: i64,
) -> Result<usize> {
    let s = &p.staged;
    if s.is_new {
        docs::insert_bytes(conn, &s.doc, &s.grid_id, &p.bytes, now_ms)?;
    } else {
        docs::append_chunk(conn, &s.doc, &p.bytes, now_ms)?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO changes (hash, doc_id, kind, grid_id, bytes, author_user,
            author_device, pushed_by, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut stored = 0;
    let doc_id = s.doc.id.to_string();
    for change in &p.changes {
        stored += stmt.execute(params![
            change.hash,
            doc_id,
            s.doc.kind.as_str(),
            s.grid_id,
            change.bytes,
            change.author.map(|a| a.user.to_string()),
            change.author.map(|a| a.device.to_string()),
            device.device_id,
            now_ms
        ])?;
    }
    projection::upsert_projected(conn, p.projected.as_ref(), &s.grid_id)?;
    Ok(stored)
}

fn doc_bytes(conn: &Connection, doc_id: &str, snapshot: Vec<u8>, chunks: i64) -> Result<Vec<u8>> {
    let mut bytes = snapshot;
    if chunks > 0 {
        let mut stmt =
            conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([doc_id])?;
        while let Some(row) = rows.next()? {
            let chunk: Vec<u8> = row.get(0)?;
            bytes.extend_from_slice(&chunk);
        }
    }
    Ok(bytes)
}

/// One pushed document decided on a reader's snapshot, with the heads it had there
/// (`None`: not stored yet).
struct Decided {
    index: usize,
    heads: Option<String>,
    decision: std::result::Result<Option<Prepared>, PushResult>,
}

fn stored_heads(conn: &Connection, doc_id: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT heads FROM docs WHERE doc_id = ?1")?
        .query_row([doc_id], |r| r.get(0))
        .optional()?)
}

/// Pass 1, off the writer: every document applied in memory on a reader's snapshot
/// (parse, authorship, load, merge, scope, authorize, validate). A scope violation
/// anywhere fails the whole push before it reaches the writer.
fn decide(
    conn: &Connection,
    device: &DeviceAuth,
    pushed: &[DocChanges],
    now_ms: i64,
) -> Result<Vec<Decided>> {
    let mut out = Vec::with_capacity(pushed.len());
    for (index, p) in pushed.iter().enumerate() {
        let heads = stored_heads(conn, &p.doc_id.to_string())?;
        let decision = stage(&mut SqliteLookup(conn), device, p, now_ms)?.map(|s| s.map(prepare));
        out.push(Decided {
            index,
            heads,
            decision,
        });
    }
    Ok(out)
}

/// Pass 2, on the writer inside the group transaction: a document whose stored heads are
/// still those it was decided on is written as decided; one that another push changed
/// meanwhile is decided again here, on the writer's current state. Then every accepted
/// document is written.
fn push_in(
    conn: &Connection,
    device: &DeviceAuth,
    pushed: &[DocChanges],
    decided: Vec<Decided>,
    now_ms: i64,
) -> Result<PushOutcomeReport> {
    let mut report = PushOutcomeReport::default();
    let mut staged = Vec::new();
    for d in decided {
        let p = &pushed[d.index];
        let decision = if stored_heads(conn, &p.doc_id.to_string())? == d.heads {
            d.decision
        } else {
            stage(&mut SqliteLookup(conn), device, p, now_ms)?.map(|s| s.map(prepare))
        };
        match decision {
            Ok(Some(s)) => staged.push(s),
            Ok(None) => report.results.push(PushResult {
                doc_id: p.doc_id,
                outcome: PushOutcome::Accepted,
            }),
            Err(rejected) => report.results.push(rejected),
        }
    }
    for prepared in &staged {
        report.changes_stored += write_staged(conn, device, prepared, now_ms)?;
        let s = &prepared.staged;
        report.docs_changed += 1;
        report.conflicts_created += prepared.conflicts_created;
        report.results.push(PushResult {
            doc_id: s.doc.id.0,
            outcome: PushOutcome::Accepted,
        });
    }
    Ok(report)
}

impl SqliteDistrict {
    fn pull_impl(
        &self,
        device: &DeviceAuth,
        cursors: &[GridCursor],
        max_bytes: usize,
    ) -> Result<PullOutcome> {
        let budget = max_bytes.clamp(MIN_PAGE_BYTES, MAX_PAGE_BYTES);
        self.with_reader(|conn| {
            let high: i64 =
                conn.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| {
                    r.get(0)
                })?;
            let mut out = PullOutcome::default();
            let mut grids = device.grids.clone();
            grids.sort();
            for grid in grids {
                let cursor = cursors
                    .iter()
                    .find(|c| c.grid_id == grid)
                    .cloned()
                    .unwrap_or_else(|| GridCursor::fresh(grid.clone()));
                if out.bytes_out >= budget {
                    out.more = true;
                    out.cursors.push(cursor);
                    continue;
                }
                let next = if cursor.in_full_pull() {
                    self.pull_full(conn, device, &cursor, high, budget, &mut out)?
                } else {
                    self.pull_changes(conn, device, &cursor, high, budget, &mut out)?
                };
                out.cursors.push(next);
            }
            Ok(out)
        })
    }

    /// A fresh grid: whole documents in id order, from a watermark taken at the start.
    fn pull_full(
        &self,
        conn: &Connection,
        device: &DeviceAuth,
        cursor: &GridCursor,
        high: i64,
        budget: usize,
        out: &mut PullOutcome,
    ) -> Result<GridCursor> {
        let watermark = if cursor.seq == 0 {
            high as u64
        } else {
            cursor.seq
        };
        let after = cursor.full_after.map(|u| u.to_string()).unwrap_or_default();
        let holder = device.may_hold_key_persons();
        let total: i64 = conn.query_row(
            "SELECT count(*) FROM docs WHERE grid_id = ?1 AND (kind != 'key_persons' OR ?2)",
            params![cursor.grid_id, holder],
            |r| r.get(0),
        )?;
        out.full_pull_total += total as u64;
        let mut stmt = conn.prepare_cached(
            "SELECT doc_id, kind, snapshot, chunk_count, heads FROM docs
             WHERE grid_id = ?1 AND doc_id > ?2 AND (kind != 'key_persons' OR ?3)
             ORDER BY doc_id",
        )?;
        let mut rows = stmt.query(params![cursor.grid_id, after, holder])?;
        let mut last: Option<Uuid> = None;
        while let Some(row) = rows.next()? {
            if out.bytes_out >= budget {
                out.more = true;
                return Ok(GridCursor {
                    grid_id: cursor.grid_id.clone(),
                    seq: watermark,
                    full_after: last,
                });
            }
            let doc_id: String = row.get(0)?;
            let kind: String = row.get(1)?;
            let (Some(uuid), Some(kind)) = (Uuid::parse_str(&doc_id).ok(), DocKind::parse(&kind))
            else {
                continue;
            };
            let bytes = doc_bytes(conn, &doc_id, row.get(2)?, row.get(3)?)?;
            // The projection rows stored with the document (same transaction, same
            // heads), so the device need not load it; key-person rows only travel with
            // key-person documents, which only holders get (above).
            let rows = projection::read_rows(conn, kind, &doc_id)?;
            out.bytes_out += bytes.len() + projection::rows_len(&rows) + 32;
            out.docs.push(PulledDoc {
                doc_id: uuid,
                kind,
                grid_id: cursor.grid_id.clone(),
                data: DocData::Snapshot(ByteBuf::from(bytes)),
                heads: parse_heads(&row.get::<_, String>(4)?),
                rows: Some(rows),
            });
            last = Some(uuid);
        }
        Ok(GridCursor {
            grid_id: cursor.grid_id.clone(),
            seq: watermark,
            full_after: None,
        })
    }

    /// A grid the device has: the changes after its cursor, in sequence order, except the
    /// ones this device pushed itself.
    fn pull_changes(
        &self,
        conn: &Connection,
        device: &DeviceAuth,
        cursor: &GridCursor,
        high: i64,
        budget: usize,
        out: &mut PullOutcome,
    ) -> Result<GridCursor> {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, doc_id, kind, bytes FROM changes
             WHERE grid_id = ?1 AND seq > ?2 AND seq <= ?3
               AND (pushed_by IS NULL OR pushed_by != ?4)
               AND (kind != 'key_persons' OR ?5)
             ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![
            cursor.grid_id,
            cursor.seq as i64,
            high,
            device.device_id,
            device.may_hold_key_persons()
        ])?;
        let mut by_doc: BTreeMap<Uuid, usize> = BTreeMap::new();
        let mut seq = cursor.seq;
        while let Some(row) = rows.next()? {
            if out.bytes_out >= budget {
                out.more = true;
                return Ok(GridCursor {
                    grid_id: cursor.grid_id.clone(),
                    seq,
                    full_after: None,
                });
            }
            let row_seq: i64 = row.get(0)?;
            let doc_id: String = row.get(1)?;
            let kind: String = row.get(2)?;
            let bytes: Vec<u8> = row.get(3)?;
            seq = row_seq as u64;
            let (Some(uuid), Some(kind)) = (Uuid::parse_str(&doc_id).ok(), DocKind::parse(&kind))
            else {
                continue;
            };
            out.bytes_out += bytes.len();
            out.changes_out += 1;
            let idx = *by_doc.entry(uuid).or_insert_with(|| {
                out.docs.push(PulledDoc {
                    doc_id: uuid,
                    kind,
                    grid_id: cursor.grid_id.clone(),
                    data: DocData::Changes(Vec::new()),
                    heads: vec![],
                    rows: None,
                });
                out.docs.len() - 1
            });
            if let DocData::Changes(list) = &mut out.docs[idx].data {
                list.push(ByteBuf::from(bytes));
            }
        }
        Ok(GridCursor {
            grid_id: cursor.grid_id.clone(),
            seq: high.max(0) as u64,
            full_after: None,
        })
    }
}

impl DistrictStore for SqliteDistrict {
    fn authenticate(&self, token: &str, now_ms: i64) -> Result<DeviceAuth> {
        self.authenticate_impl(token, now_ms)
    }

    fn enroll(&self, code: &str, device_name: &str, now_ms: i64) -> Result<super::Enrolled> {
        self.enroll_impl(code, device_name, None, now_ms)
    }

    fn enroll_with_key(
        &self,
        code: &str,
        device_name: &str,
        device_key: &str,
        now_ms: i64,
    ) -> Result<super::Enrolled> {
        self.enroll_impl(code, device_name, Some(device_key), now_ms)
    }

    fn push(
        &self,
        device: &DeviceAuth,
        pushed: &[DocChanges],
        now_ms: i64,
    ) -> Result<PushOutcomeReport> {
        if pushed.is_empty() {
            return Ok(PushOutcomeReport::default());
        }
        let decided = timed(Phase::PushDecide, || {
            self.with_reader(|conn| decide(conn, device, pushed, now_ms))
        })?;
        let (device, pushed) = (device.clone(), pushed.to_vec());
        let _wait = time(Phase::GroupWait);
        self.with_group_writer(move |conn| {
            let _apply = time(Phase::PushApply);
            push_in(conn, &device, &pushed, decided, now_ms)
        })
    }

    fn push_logged(
        &self,
        device: &DeviceAuth,
        pushed: &[DocChanges],
        now_ms: i64,
        log: &SyncLogEntry,
    ) -> Result<(PushOutcomeReport, i64)> {
        // Decoding, merging, authorizing and validating run here, on the caller's thread
        // and a reader's snapshot, not on the one commit thread (issue 11's burst).
        let decided = timed(Phase::PushDecide, || {
            self.with_reader(|conn| decide(conn, device, pushed, now_ms))
        })?;
        let (device, pushed, mut log) = (device.clone(), pushed.to_vec(), log.clone());
        let wait = time(Phase::GroupWait);
        let out = self.with_group_writer(move |conn| {
            let _apply = time(Phase::PushApply);
            let report = push_in(conn, &device, &pushed, decided, now_ms)?;
            gridwalk_district::log_push_outcome(&mut log, &report);
            let id = super::log::insert_log(conn, &log)?;
            Ok((report, id))
        })?;
        drop(wait);
        self.after_push_hook();
        Ok(out)
    }

    fn finish_sync_log(&self, id: i64, entry: &SyncLogEntry) -> Result<()> {
        self.finish_sync_log_impl(id, entry)
    }

    fn pull(
        &self,
        device: &DeviceAuth,
        cursors: &[GridCursor],
        max_bytes: usize,
    ) -> Result<PullOutcome> {
        self.pull_impl(device, cursors, max_bytes)
    }

    fn digests(&self, device: &DeviceAuth, grids: &[String]) -> Result<Vec<GridDigest>> {
        let holder = device.may_hold_key_persons();
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT doc_id, heads FROM docs
                 WHERE grid_id = ?1 AND (kind != 'key_persons' OR ?2) ORDER BY doc_id",
            )?;
            let mut out = Vec::new();
            for grid in grids {
                let rows: Vec<(Uuid, Vec<[u8; 32]>)> = stmt
                    .query_map(params![grid, holder], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .filter_map(|r| r.ok())
                    .filter_map(|(id, heads)| {
                        Some((Uuid::parse_str(&id).ok()?, parse_heads(&heads)))
                    })
                    .collect();
                out.push(grid_digest(
                    grid,
                    rows.iter().map(|(id, h)| (*id, h.as_slice())),
                ));
            }
            Ok(out)
        })
    }

    fn compare(
        &self,
        device: &DeviceAuth,
        grids: &[GridCompare],
    ) -> Result<(Vec<PulledDoc>, Vec<DocHeads>)> {
        self.with_reader(|conn| {
            let mut docs_out = Vec::new();
            let mut heads_out = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT doc_id, kind, heads, snapshot, chunk_count FROM docs
                 WHERE grid_id = ?1 AND (kind != 'key_persons' OR ?2) ORDER BY doc_id",
            )?;
            let holder = device.may_hold_key_persons();
            for g in grids {
                if !device.may_sync(&g.grid_id) {
                    return Err(StoreError::Forbidden {
                        doc_id: String::new(),
                        grid_id: g.grid_id.clone(),
                    });
                }
                let mut theirs: BTreeMap<Uuid, Vec<[u8; 32]>> = g
                    .docs
                    .iter()
                    .map(|d| {
                        let mut h = d.heads.clone();
                        h.sort();
                        (d.doc_id, h)
                    })
                    .collect();
                let mut rows = stmt.query(params![g.grid_id, holder])?;
                while let Some(row) = rows.next()? {
                    let id: String = row.get(0)?;
                    let kind: String = row.get(1)?;
                    let (Some(uuid), Some(kind)) =
                        (Uuid::parse_str(&id).ok(), DocKind::parse(&kind))
                    else {
                        continue;
                    };
                    let mut ours = parse_heads(&row.get::<_, String>(2)?);
                    ours.sort();
                    if theirs.remove(&uuid).as_ref() == Some(&ours) {
                        continue;
                    }
                    docs_out.push(PulledDoc {
                        doc_id: uuid,
                        kind,
                        grid_id: g.grid_id.clone(),
                        data: DocData::Snapshot(ByteBuf::from(doc_bytes(
                            conn,
                            &id,
                            row.get(3)?,
                            row.get(4)?,
                        )?)),
                        // A repair merges into what the device has: no rows.
                        heads: vec![],
                        rows: None,
                    });
                    heads_out.push(DocHeads {
                        doc_id: uuid,
                        heads: ours,
                    });
                }
                // Listed by the device, unknown here: the server's heads are empty.
                for doc_id in theirs.into_keys() {
                    heads_out.push(DocHeads {
                        doc_id,
                        heads: vec![],
                    });
                }
            }
            Ok((docs_out, heads_out))
        })
    }

    fn handover(
        &self,
        device: &DeviceAuth,
        docs: &[DocChanges],
        now_ms: i64,
    ) -> Result<Vec<PushResult>> {
        self.handover_impl(device, docs, now_ms)
    }

    fn record_sync(&self, entry: &SyncLogEntry) -> Result<()> {
        self.record_sync_impl(entry)
    }

    fn ping(&self) -> Result<()> {
        SqliteDistrict::ping(self)
    }

    fn area_tree(&self) -> Result<Option<gridwalk_core::area::AreaTree>> {
        SqliteDistrict::area_tree(self)
    }

    fn sync_logs(&self, query: &SyncLogQuery) -> Result<Vec<SyncLogEntry>> {
        self.sync_logs_impl(query)
    }
}
