//! Push, pull, repair and handover on PostgreSQL. What a push may store is decided by
//! [`gridwalk_district::push`]; the cursor rule is in the crate's documentation.

use crate::projection::PendingRows;
use crate::Tx;
use crate::{db, PgDistrict, Result, StoreError, CHANGES_SEQ_LOCK};
use gridwalk_core::sync::{
    grid_digest, DocChanges, DocData, DocHeads, GridCompare, GridCursor, GridDigest, PulledDoc,
    PushOutcome, PushResult,
};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district::phases::{time, Phase};
use gridwalk_district::push::{parse_heads, prepare_handover, stage, DocLookup, HandoverRow};
use gridwalk_district::{
    DeviceAuth, DistrictStore, Enrolled, PullOutcome, PushOutcomeReport, SyncLogEntry, SyncLogQuery,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The shared decisions' reads inside one transaction. `lock`: the push path, which holds
/// each stored document it may rewrite (`FOR UPDATE`) until it commits, so two servers
/// merging into one document never lose each other's changes.
pub(crate) struct PgLookup<'a, 'b> {
    pub(crate) tx: &'a mut Tx<'b>,
    pub(crate) lock: bool,
}

impl DocLookup for PgLookup<'_, '_> {
    fn load_doc(&mut self, id: DocId) -> Result<Option<(Document, String)>> {
        let sql = if self.lock {
            "SELECT kind, grid_id, snapshot FROM docs WHERE doc_id = $1 FOR UPDATE"
        } else {
            "SELECT kind, grid_id, snapshot FROM docs WHERE doc_id = $1"
        };
        // Typed: one round trip instead of prepare, then execute (every push reads this).
        let row = self.tx.query_typed_opt(sql, &[(&id.0, Type::UUID)]);
        let Some(row) = row.map_err(db)? else {
            return Ok(None);
        };
        let kind: String = row.get(0);
        let kind =
            DocKind::parse(&kind).ok_or_else(|| corrupt(id, format!("unknown kind {kind}")))?;
        let snapshot: &[u8] = row.get(2);
        let doc = Document::load(kind, id, snapshot).map_err(|e| corrupt(id, e.to_string()))?;
        Ok(Some((doc, row.get(1))))
    }

    fn household_grid(&mut self, household_id: &str) -> Result<Option<String>> {
        let Ok(id) = Uuid::parse_str(household_id) else {
            return Ok(None);
        };
        Ok(self
            .tx
            .query_typed_opt(
                "SELECT grid_id FROM docs WHERE doc_id = $1 AND kind = 'household'",
                &[(&id, Type::UUID)],
            )
            .map_err(db)?
            .map(|r| r.get(0)))
    }
}

fn corrupt(id: DocId, reason: String) -> StoreError {
    StoreError::Doc {
        doc_id: id.to_string(),
        source: gridwalk_core::CoreError::Corrupt(reason),
    }
}

fn heads_text(doc: &Document) -> String {
    let mut hex: Vec<String> = doc.heads().iter().map(ToString::to_string).collect();
    hex.sort();
    hex.join(",")
}

/// Appended chunks after which a document is saved whole again (as on the device and
/// the embedded store).
const MAX_CHUNKS: i32 = 64;

/// Store a document: a new one whole; a stored one (read and locked in this transaction
/// at `before`) by appending the chunk of what was added since, as the embedded store
/// does, so a push costs what it adds, not a save of the whole document. Its photo
/// references are written; its projection rows wait in `rows` for the transaction's end.
/// Saved forms are uncompressed: PostgreSQL compresses the stored value itself, and a
/// first download's pages are compressed as a whole.
pub(crate) fn write_doc(
    tx: &mut Tx<'_>,
    doc: &Document,
    grid_id: &str,
    before: Option<&[automerge::ChangeHash]>,
    now_ms: i64,
    rows: &mut PendingRows,
) -> Result<()> {
    let (id, heads) = (doc.id.0, heads_text(doc));
    // Typed statements: one round trip each, not a prepare and then an execute.
    match before {
        None => {
            tx.query_typed(
                "INSERT INTO docs (doc_id, kind, grid_id, snapshot, heads, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    (&id, Type::UUID),
                    (&doc.kind.as_str(), Type::TEXT),
                    (&grid_id, Type::TEXT),
                    (&doc.save_nocompress(), Type::BYTEA),
                    (&heads, Type::TEXT),
                    (&now_ms, Type::INT8),
                ],
            )
            .map_err(db)?;
        }
        Some(before) => {
            let chunk = doc.save_after(before);
            let row = tx
                .query_typed_opt(
                    "UPDATE docs SET snapshot = snapshot || $2, heads = $3, updated_at = $4,
                         chunk_bytes = chunk_bytes + length($2),
                         chunk_count = chunk_count + 1
                     WHERE doc_id = $1
                     RETURNING chunk_bytes, chunk_count, length(snapshot)",
                    &[
                        (&id, Type::UUID),
                        (&chunk, Type::BYTEA),
                        (&heads, Type::TEXT),
                        (&now_ms, Type::INT8),
                    ],
                )
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound {
                    doc_id: doc.id.to_string(),
                })?;
            let (appended, count, total): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
            // The chunks outgrew the saved form they follow: save it whole again.
            if appended > i64::from(total) - appended || count > MAX_CHUNKS {
                tx.query_typed(
                    "UPDATE docs SET snapshot = $2, chunk_bytes = 0, chunk_count = 0
                     WHERE doc_id = $1",
                    &[(&id, Type::UUID), (&doc.save_nocompress(), Type::BYTEA)],
                )
                .map_err(db)?;
            }
        }
    }
    crate::blobs_refs::write(tx, doc, grid_id)?;
    rows.add(doc, grid_id);
    Ok(())
}

/// The changes of one transaction, sequenced: the cursor rule. Must be the transaction's
/// last statements before COMMIT: the advisory lock is held from here until the commit
/// is visible, so no other transaction takes a number meanwhile.
#[derive(Default)]
pub(crate) struct NewChanges {
    hash: Vec<String>,
    doc_id: Vec<Uuid>,
    kind: Vec<String>,
    grid_id: Vec<String>,
    bytes: Vec<Vec<u8>>,
    author_user: Vec<Option<String>>,
    author_device: Vec<Option<String>>,
}

impl NewChanges {
    pub(crate) fn add(&mut self, doc: &Document, grid_id: &str, before: &[automerge::ChangeHash]) {
        for change in doc.changes_since(before) {
            let author = Author::from_actor(change.actor_id());
            self.hash.push(change.hash().to_string());
            self.doc_id.push(doc.id.0);
            self.kind.push(doc.kind.as_str().to_string());
            self.grid_id.push(grid_id.to_string());
            self.bytes.push(change.raw_bytes().to_vec());
            self.author_user.push(author.map(|a| a.user.to_string()));
            self.author_device
                .push(author.map(|a| a.device.to_string()));
        }
    }

    /// Insert them with their sequence numbers; returns how many were new.
    pub(crate) fn sequence(
        &self,
        tx: &mut Tx<'_>,
        pushed_by: Option<&str>,
        now_ms: i64,
    ) -> Result<usize> {
        if self.hash.is_empty() {
            return Ok(0);
        }
        tx.query_typed(
            "SELECT pg_advisory_xact_lock($1)",
            &[(&CHANGES_SEQ_LOCK, Type::INT8)],
        )
        .map_err(db)?;
        let params: [(&(dyn ToSql + Sync), Type); 9] = [
            (&self.hash, Type::TEXT_ARRAY),
            (&self.doc_id, Type::UUID_ARRAY),
            (&self.kind, Type::TEXT_ARRAY),
            (&self.grid_id, Type::TEXT_ARRAY),
            (&self.bytes, Type::BYTEA_ARRAY),
            (&self.author_user, Type::TEXT_ARRAY),
            (&self.author_device, Type::TEXT_ARRAY),
            (&pushed_by, Type::TEXT),
            (&now_ms, Type::INT8),
        ];
        // `RETURNING`: the typed query answers rows, not a count.
        let n = tx
            .query_typed(
                "INSERT INTO changes (seq, hash, doc_id, kind, grid_id, bytes, author_user,
                    author_device, pushed_by, received_at)
                 SELECT nextval('changes_seq'), c.hash, c.doc_id, c.kind, c.grid_id, c.bytes,
                        c.author_user, c.author_device, $8::text, $9::bigint
                 FROM (SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[],
                                            $5::bytea[], $6::text[], $7::text[])
                                     WITH ORDINALITY
                          AS u(hash, doc_id, kind, grid_id, bytes, author_user,
                               author_device, i)
                       ORDER BY u.i) c
                 ON CONFLICT (hash) DO NOTHING
                 RETURNING 1",
                &params,
            )
            .map_err(db)?
            .len();
        Ok(n)
    }
}

impl PgDistrict {
    /// The push in one transaction; with `log`, the round's sync-log row in the same one
    /// (its id returned, else 0), so a stored push never lacks its row (invariant 10).
    fn push_impl(
        &self,
        device: &DeviceAuth,
        pushed: &[DocChanges],
        now_ms: i64,
        log: Option<&SyncLogEntry>,
    ) -> Result<(PushOutcomeReport, i64)> {
        let mut ids: Vec<Uuid> = pushed.iter().map(|p| p.doc_id).collect();
        ids.sort();
        ids.dedup();
        let _tx_time = time(Phase::PushTx);
        self.write(|tx| {
            // Lock the stored documents in one order, so two pushes never deadlock. One
            // document (the usual push) is locked by reading it below.
            if ids.len() > 1 {
                tx.query_typed(
                    "SELECT doc_id FROM docs WHERE doc_id = ANY($1) ORDER BY doc_id FOR UPDATE",
                    &[(&ids, Type::UUID_ARRAY)],
                )
                .map_err(db)?;
            }
            let mut report = PushOutcomeReport::default();
            let mut staged = Vec::new();
            let decide = time(Phase::PushDecide);
            // Pass 1: decide everything in memory (a scope violation refuses it all).
            for p in pushed {
                let mut lookup = PgLookup { tx, lock: true };
                match stage(&mut lookup, device, p, now_ms)? {
                    Ok(Some(s)) => staged.push(s),
                    Ok(None) => report.results.push(PushResult {
                        doc_id: p.doc_id,
                        outcome: PushOutcome::Accepted,
                    }),
                    Err(rejected) => report.results.push(rejected),
                }
            }
            drop(decide);
            let _apply = time(Phase::PushApply);
            // Pass 2: write what was accepted, then sequence its changes, last.
            let mut changes = NewChanges::default();
            let mut rows = PendingRows::default();
            for s in &staged {
                let before = (!s.is_new).then_some(s.before.as_slice());
                write_doc(tx, &s.doc, &s.grid_id, before, now_ms, &mut rows)?;
                changes.add(&s.doc, &s.grid_id, &s.before);
                report.docs_changed += 1;
                report.conflicts_created +=
                    s.doc.conflicts().len().saturating_sub(s.conflicts_before);
                report.results.push(PushResult {
                    doc_id: s.doc.id.0,
                    outcome: PushOutcome::Accepted,
                });
            }
            rows.write(tx)?;
            report.changes_stored = changes.sequence(tx, Some(&device.device_id), now_ms)?;
            let id = match log {
                Some(log) => {
                    let mut row = log.clone();
                    gridwalk_district::log_push_outcome(&mut row, &report);
                    crate::admin::insert_log(tx, &row)?
                }
                None => 0,
            };
            Ok((report, id))
        })
    }
}

impl DistrictStore for PgDistrict {
    fn authenticate(&self, token: &str, _now_ms: i64) -> Result<DeviceAuth> {
        self.authenticate_impl(token)
    }

    fn enroll(&self, code: &str, device_name: &str, now_ms: i64) -> Result<Enrolled> {
        self.enroll_impl(code, device_name, None, now_ms)
    }

    fn enroll_with_key(
        &self,
        code: &str,
        device_name: &str,
        device_key: &str,
        now_ms: i64,
    ) -> Result<Enrolled> {
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
        Ok(self.push_impl(device, pushed, now_ms, None)?.0)
    }

    fn push_logged(
        &self,
        device: &DeviceAuth,
        pushed: &[DocChanges],
        now_ms: i64,
        log: &SyncLogEntry,
    ) -> Result<(PushOutcomeReport, i64)> {
        let out = self.push_impl(device, pushed, now_ms, Some(log))?;
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
        self.read(|tx| {
            let mut out = Vec::new();
            for grid in grids {
                let rows = tx
                    .query(
                        "SELECT doc_id, heads FROM docs
                         WHERE grid_id = $1 AND (kind != 'key_persons' OR $2) ORDER BY doc_id",
                        &[grid, &holder],
                    )
                    .map_err(db)?;
                let docs: Vec<(Uuid, Vec<[u8; 32]>)> = rows
                    .iter()
                    .map(|r| (r.get(0), parse_heads(r.get(1))))
                    .collect();
                out.push(grid_digest(
                    grid,
                    docs.iter().map(|(id, h)| (*id, h.as_slice())),
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
        let holder = device.may_hold_key_persons();
        self.read(|tx| {
            let mut docs_out = Vec::new();
            let mut heads_out = Vec::new();
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
                let params: [&(dyn ToSql + Sync); 2] = [&g.grid_id, &holder];
                let mut rows = tx
                    .query_raw(
                        "SELECT doc_id, kind, heads, snapshot FROM docs
                         WHERE grid_id = $1 AND (kind != 'key_persons' OR $2) ORDER BY doc_id",
                        params,
                    )
                    .map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    let uuid: Uuid = row.get(0);
                    let Some(kind) = DocKind::parse(row.get(1)) else {
                        continue;
                    };
                    let mut ours = parse_heads(row.get(2));
                    ours.sort();
                    if theirs.remove(&uuid).as_ref() == Some(&ours) {
                        continue;
                    }
                    docs_out.push(PulledDoc {
                        doc_id: uuid,
                        kind,
                        grid_id: g.grid_id.clone(),
                        data: DocData::Snapshot(ByteBuf::from(row.get::<_, Vec<u8>>(3))),
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
        handed: &[DocChanges],
        now_ms: i64,
    ) -> Result<Vec<PushResult>> {
        if handed.is_empty() {
            return Ok(vec![]);
        }
        self.write(|tx| {
            let mut results = Vec::with_capacity(handed.len());
            for d in handed {
                let mut lookup = PgLookup { tx, lock: false };
                let HandoverRow {
                    grid,
                    hashes,
                    raw,
                    fields,
                } = match prepare_handover(&mut lookup, device, d)? {
                    Ok(row) => row,
                    Err(refused) => {
                        results.push(refused);
                        continue;
                    }
                };
                tx.execute(
                    "INSERT INTO handovers (device_id, user_id, doc_id, kind, grid_id, hashes,
                        changes, change_count, fields, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (doc_id, hashes) DO NOTHING",
                    &[
                        &device.device_id,
                        &device.user_id,
                        &d.doc_id,
                        &d.kind.as_str(),
                        &grid,
                        &hashes.join(","),
                        &raw,
                        &(hashes.len() as i64),
                        &serde_json::json!(fields),
                        &now_ms,
                    ],
                )
                .map_err(db)?;
                results.push(PushResult {
                    doc_id: d.doc_id,
                    outcome: PushOutcome::Accepted,
                });
            }
            Ok(results)
        })
    }

    fn record_sync(&self, entry: &SyncLogEntry) -> Result<()> {
        self.record_sync_impl(entry)
    }

    fn ping(&self) -> Result<()> {
        self.read(|tx| {
            tx.query_one("SELECT 1", &[]).map_err(db)?;
            Ok(())
        })
    }

    fn area_tree(&self) -> Result<Option<gridwalk_core::area::AreaTree>> {
        let json: Option<serde_json::Value> = self.read(|tx| {
            Ok(tx
                .query_opt("SELECT tree FROM area_tree WHERE id = 1", &[])
                .map_err(db)?
                .map(|r| r.get(0)))
        })?;
        json.map(|j| serde_json::from_value(j).map_err(|e| StoreError::BadRequest(e.to_string())))
            .transpose()
    }

    fn sync_logs(&self, query: &SyncLogQuery) -> Result<Vec<SyncLogEntry>> {
        self.sync_logs_impl(query)
    }
}

impl PgDistrict {
    /// A stored document.
    pub fn load_document(&self, id: DocId) -> Result<Document> {
        self.read(|tx| PgLookup { tx, lock: false }.load_doc(id))?
            .map(|(doc, _)| doc)
            .ok_or_else(|| StoreError::NotFound {
                doc_id: id.to_string(),
            })
    }

    /// The number of changes, and in one string every change hash and document heads, the
    /// highest sequence number, the projected households, visits and issues and the
    /// households' key-person tags: the behaviour suite's "nothing was stored" check.
    pub fn dump_for_tests(&self) -> Result<(i64, String)> {
        self.read(|tx| {
            let row = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM changes),
                            (SELECT count(*) || coalesce(string_agg(hash, ',' ORDER BY seq), '')
                             FROM changes) || '/' ||
                            (SELECT count(*) || coalesce(string_agg(doc_id::text || heads, ','
                                                         ORDER BY doc_id), '')
                             FROM docs) || '/' ||
                            (SELECT coalesce(max(seq), 0) FROM changes) || '/' ||
                            (SELECT count(*) FROM households) || '/' ||
                            (SELECT count(*) FROM visits) || '/' ||
                            (SELECT count(*) FROM issues) || '/' ||
                            (SELECT coalesce(string_agg(restricted, ',' ORDER BY doc_id), '')
                             FROM households)",
                    &[],
                )
                .map_err(db)?;
            Ok((row.get(0), row.get(1)))
        })
    }
}
