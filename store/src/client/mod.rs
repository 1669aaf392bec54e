//! The device's sync engine: knows the protocol, not HTTP. A [`Transport`] carries one
//! request to the district and brings back its response; the reqwest transport lives in
//! the app and the CLI.
//!
//! A sync is a few rounds of one request each: push what the outbox holds (in batches),
//! pull what the cursors have not seen (in pages), until nothing is left. Each response
//! is applied in one transaction together with the new cursors, so an interrupted sync
//! resumes where it stopped and never skips or half-applies a page.

use crate::{docs, Result, Store, StoreError};
use gridwalk_core::authorize::{Actor, Role};
use gridwalk_core::sync::{
    grid_digest, DocChanges, DocData, DocHeads, GridCompare, GridCursor, SyncRequest, SyncResponse,
    PROTOCOL_VERSION,
};
use gridwalk_core::{Author, DocId};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

mod apply;
pub(crate) mod deferred;
mod repair;
pub(crate) use apply::settle_push_results;
use apply::{apply_pulled, parse_heads, store_received};

const META_GRIDS: &str = "sync.grids";

/// The change hashes sent in one request, per document id.
pub(crate) type SentHashes = BTreeMap<String, Vec<String>>;
const META_CURSORS: &str = "sync.cursors";
const META_LAST_SYNC: &str = "sync.last_at";

/// Carries one sync request to the district. Errors are [`StoreError::Transport`] (maybe
/// retryable), [`StoreError::Unauthorized`], [`StoreError::Revoked`] or
/// [`StoreError::Forbidden`].
pub trait Transport {
    fn exchange(&mut self, request: &SyncRequest) -> Result<SyncResponse>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Push at most about this many bytes of changes per request.
    pub max_push_bytes: usize,
    /// Ask for pages of at most about this many bytes.
    pub max_pull_bytes: u32,
    /// Compare grid digests at the end and repair any divergence.
    pub check_digest: bool,
    /// Give up after this many rounds (a guard, far above what a sync needs).
    pub max_rounds: usize,
    /// Ask for the next page of a download while applying the one before it.
    pub pipeline: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_push_bytes: 1 << 20,
            max_pull_bytes: 2 << 20,
            check_digest: false,
            max_rounds: 10_000,
            pipeline: true,
        }
    }
}

/// Where a sync stands, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub round: usize,
    pub pushed_changes: usize,
    pub pulled_docs: usize,
    /// Documents in the grids still being downloaded for the first time (0 when none).
    pub full_pull_total: u64,
    pub outbox_left: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub doc_id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub rounds: usize,
    pub pushed_changes: usize,
    pub accepted_docs: usize,
    pub rejected: Vec<Rejection>,
    pub pulled_docs: usize,
    pub pulled_changes: usize,
    /// `Some(true)` when the digests matched at the end, `Some(false)` when a repair ran.
    pub digest_matched: Option<bool>,
    pub repaired_docs: usize,
    pub outbox_left: usize,
    /// Documents whose unsynced changes were handed over to the district (their grid left
    /// the user's scope).
    pub handed_over: usize,
    /// The user's grids, when the district said they changed in this sync.
    pub scope_changed: Option<Vec<String>>,
    /// Documents of grids no longer in scope, removed from this device.
    pub dropped_docs: usize,
}

/// Which part of the outbox a batch takes: documents of grids in the device's scope are
/// pushed, the others (the user was moved) are handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutboxPart {
    InScope,
    OutOfScope,
}

impl Store {
    /// Remember the grids this device syncs (at enrollment, or when its scope changes).
    pub fn set_sync_grids(&mut self, grids: &[String]) -> Result<()> {
        let json = serde_json::to_string(grids).unwrap_or_else(|_| "[]".into());
        self.meta_set(META_GRIDS, &json)
    }

    pub fn sync_grids(&self) -> Result<Vec<String>> {
        Ok(self
            .meta_get(META_GRIDS)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    pub fn sync_cursors(&self) -> Result<Vec<GridCursor>> {
        let saved: Vec<GridCursor> = self
            .meta_get(META_CURSORS)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        Ok(self
            .sync_grids()?
            .into_iter()
            .map(|g| {
                saved
                    .iter()
                    .find(|c| c.grid_id == g)
                    .cloned()
                    .unwrap_or_else(|| GridCursor::fresh(g))
            })
            .collect())
    }

    pub fn last_sync_at(&self) -> Result<Option<i64>> {
        Ok(self.meta_get(META_LAST_SYNC)?.and_then(|s| s.parse().ok()))
    }

    /// Documents the district refused, with its reasons, for the worker to fix.
    pub fn push_rejections(&self) -> Result<Vec<Rejection>> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id, code, message FROM push_rejections ORDER BY at")?;
        let rows = stmt.query_map([], |r| {
            Ok(Rejection {
                doc_id: r.get(0)?,
                code: r.get(1)?,
                message: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Run a whole sync: push everything, pull everything, optionally check digests.
    pub fn sync(
        &mut self,
        transport: &mut dyn Transport,
        options: &SyncOptions,
        now_ms: i64,
        progress: &mut dyn FnMut(&SyncProgress),
        cancel: &AtomicBool,
    ) -> Result<SyncReport> {
        let synced = self.sync_rounds(transport, options, now_ms, progress, cancel);
        // A first download that stopped before its last page left its indexes unbuilt.
        let indexed = deferred::ensure(&self.conn);
        let report = synced?;
        indexed?;
        Ok(report)
    }

    fn sync_rounds(
        &mut self,
        transport: &mut dyn Transport,
        options: &SyncOptions,
        now_ms: i64,
        progress: &mut dyn FnMut(&SyncProgress),
        cancel: &AtomicBool,
    ) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut progress_state;
        // Documents refused in this sync are not sent again until the next one.
        let mut refused: BTreeSet<String> = BTreeSet::new();
        // The answer to a request sent while the page before it was being applied.
        let mut ahead: Option<Result<SyncResponse>> = None;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(StoreError::Cancelled);
            }
            if report.rounds >= options.max_rounds {
                return Err(StoreError::Transport {
                    retryable: true,
                    message: format!("sync did not finish in {} rounds", options.max_rounds),
                });
            }
            let (sent, handed, response) = match ahead.take() {
                Some(response) => (SentHashes::new(), SentHashes::new(), response?),
                None => {
                    let (push, sent) =
                        self.outbox_batch(options.max_push_bytes, &refused, OutboxPart::InScope)?;
                    let (handover, handed) = self.outbox_batch(
                        options.max_push_bytes,
                        &refused,
                        OutboxPart::OutOfScope,
                    )?;
                    let request = SyncRequest {
                        protocol: PROTOCOL_VERSION,
                        cursors: self.sync_cursors()?,
                        push,
                        max_pull_bytes: options.max_pull_bytes,
                        want_digest: false,
                        compare: vec![],
                        handover,
                    };
                    (sent, handed, transport.exchange(&request)?)
                }
            };
            report.rounds += 1;
            let pushed: usize = sent.values().map(Vec::len).sum();
            let next = self.next_page_request(options, &sent, &handed, &response)?;
            let moved = match next {
                // Ask for the next page while this one is applied (the server builds it
                // meanwhile): a first download costs about the slower side's time, not the
                // sum. Only a pure pull goes ahead, so nothing pushed waits on it.
                Some(request) => std::thread::scope(|s| {
                    let apply = s.spawn(|| {
                        self.apply_all(&response, &sent, &handed, &mut report, &mut refused, now_ms)
                    });
                    ahead = Some(transport.exchange(&request));
                    apply
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })?,
                None => {
                    self.apply_all(&response, &sent, &handed, &mut report, &mut refused, now_ms)?
                }
            };
            report.pushed_changes += pushed;
            progress_state = SyncProgress {
                round: report.rounds,
                pushed_changes: report.pushed_changes,
                pulled_docs: report.pulled_docs,
                full_pull_total: response.full_pull_total,
                outbox_left: self.outbox_len()?,
            };
            progress(&progress_state);
            if ahead.is_some() {
                continue;
            }
            let unsent = self.outbox_batch(1, &refused, OutboxPart::InScope)?.0;
            let unhanded = self.outbox_batch(1, &refused, OutboxPart::OutOfScope)?.0;
            if !moved && !response.more && unsent.is_empty() && unhanded.is_empty() {
                break;
            }
        }
        report.dropped_docs += self.drop_grids_out_of_scope()?;
        if options.check_digest && self.outbox_len()? == 0 {
            self.check_and_repair(transport, options, now_ms, &mut report)?;
        }
        report.outbox_left = self.outbox_len()?;
        progress_state.outbox_left = report.outbox_left;
        progress(&progress_state);
        self.meta_set(META_LAST_SYNC, &now_ms.to_string())?;
        Ok(report)
    }

    /// The next push batch: whole documents (all their unacknowledged changes, in order)
    /// until about `max_bytes`. Returns the request part and the hashes sent per document.
    pub(crate) fn outbox_batch(
        &self,
        max_bytes: usize,
        refused: &BTreeSet<String>,
        part: OutboxPart,
    ) -> Result<(Vec<DocChanges>, SentHashes)> {
        let grids = self.sync_grids()?;
        // A device that never learnt its grids (tests, old stores) pushes everything.
        let in_scope = |grid: &str| grids.is_empty() || grids.iter().any(|g| g == grid);
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, kind, hash, bytes, grid_id FROM outbox
             ORDER BY doc_id, created_at, rowid",
        )?;
        let mut rows = stmt.query([])?;
        let mut push: Vec<DocChanges> = Vec::new();
        let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut bytes_total = 0;
        while let Some(row) = rows.next()? {
            let doc_id: String = row.get(0)?;
            let grid: String = row.get(4)?;
            if refused.contains(&doc_id) || in_scope(&grid) != (part == OutboxPart::InScope) {
                continue;
            }
            let is_new_doc = push.last().map(|d| d.doc_id.to_string()) != Some(doc_id.clone());
            if is_new_doc && bytes_total >= max_bytes {
                break;
            }
            let kind: String = row.get(1)?;
            let hash: String = row.get(2)?;
            let bytes: Vec<u8> = row.get(3)?;
            let (Some(uuid), Some(kind)) = (
                Uuid::parse_str(&doc_id).ok(),
                gridwalk_core::DocKind::parse(&kind),
            ) else {
                continue;
            };
            if is_new_doc {
                push.push(DocChanges {
                    doc_id: uuid,
                    kind,
                    changes: vec![],
                });
            }
            bytes_total += bytes.len();
            if let Some(last) = push.last_mut() {
                last.changes.push(ByteBuf::from(bytes));
            }
            sent.entry(doc_id).or_default().push(hash);
        }
        Ok((push, sent))
    }

    /// The request that follows `response` when it is a pure pull that will be asked
    /// again (more pages, nothing pushed or handed over, no scope change): the same
    /// grids with the response's cursors. `None` when the next request must be built
    /// after this answer is applied, or pipelining is off.
    fn next_page_request(
        &self,
        options: &SyncOptions,
        sent: &SentHashes,
        handed: &SentHashes,
        response: &SyncResponse,
    ) -> Result<Option<SyncRequest>> {
        if !options.pipeline
            || !response.more
            || !sent.is_empty()
            || !handed.is_empty()
            || response.scope_changed.is_some()
        {
            return Ok(None);
        }
        let cursors = self
            .sync_grids()?
            .into_iter()
            .map(|g| {
                response
                    .cursors
                    .iter()
                    .find(|c| c.grid_id == g)
                    .cloned()
                    .unwrap_or_else(|| GridCursor::fresh(g))
            })
            .collect();
        Ok(Some(SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursors,
            push: vec![],
            max_pull_bytes: options.max_pull_bytes,
            want_digest: false,
            compare: vec![],
            handover: vec![],
        }))
    }

    /// Apply one answer: pulled documents and push results, handed-over results, a scope
    /// change. Returns true when the scope changed (another round follows at once).
    fn apply_all(
        &mut self,
        response: &SyncResponse,
        sent: &SentHashes,
        handed: &SentHashes,
        report: &mut SyncReport,
        refused: &mut BTreeSet<String>,
        now_ms: i64,
    ) -> Result<bool> {
        self.apply_response(response, sent, report, refused, now_ms)?;
        self.apply_handover(response, handed, report, refused, now_ms)?;
        self.apply_scope_change(response, report)
    }

    fn apply_response(
        &mut self,
        response: &SyncResponse,
        sent: &SentHashes,
        report: &mut SyncReport,
        refused: &mut BTreeSet<String>,
        now_ms: i64,
    ) -> Result<()> {
        // A page of whole documents (a first download, a repair) is committed without
        // waiting for the disk: what a power loss takes back is re-fetched, because the
        // cursor that moved past it is in the same transaction and is lost with it (WAL
        // keeps the file consistent; the settled push results, if lost, are pushed again
        // and accepted as known). The next FULL commit makes all of it durable.
        let bulk = response
            .pulled
            .iter()
            .any(|p| matches!(p.data, DocData::Snapshot(_)));
        if bulk {
            self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let applied = self.apply_response_tx(response, sent, report, refused, now_ms);
        if bulk {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        applied
    }

    fn apply_response_tx(
        &mut self,
        response: &SyncResponse,
        sent: &SentHashes,
        report: &mut SyncReport,
        refused: &mut BTreeSet<String>,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        report.accepted_docs +=
            settle_push_results(&tx, &response.pushed, sent, report, refused, now_ms)?;
        // The first page of a first download that has more pages to come: the indexes on
        // randomly ordered keys are built after its last page (deferred.rs).
        if response.more && response.pulled.iter().any(|p| p.rows.is_some()) {
            deferred::drop_for_first_download(&tx)?;
        }
        let rows_ok = response.projection == crate::projection::VERSION;
        for pulled in &response.pulled {
            report.pulled_changes += match &pulled.data {
                DocData::Changes(c) => c.len(),
                DocData::Snapshot(_) => 0,
            };
            if !store_received(&tx, pulled, rows_ok, now_ms)? {
                apply_pulled(&tx, pulled, now_ms)?;
            }
            report.pulled_docs += 1;
        }
        if !response.more {
            deferred::ensure(&tx)?;
        }
        let json = serde_json::to_string(&response.cursors).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![META_CURSORS, json],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// This device's author (user and device), as saved at enrollment.
    pub fn device_author(&self) -> Result<Option<Author>> {
        let user = self.meta_get("device.user_id")?;
        let device = self.meta_get("device.device_id")?;
        Ok(match (user, device) {
            (Some(u), Some(d)) => match (Uuid::parse_str(&u), Uuid::parse_str(&d)) {
                (Ok(u), Ok(d)) => Some(Author::new(u, d)),
                _ => None,
            },
            _ => None,
        })
    }

    /// Remember who this device is, once enrolled.
    pub fn set_device_identity(
        &mut self,
        user_id: &str,
        device_id: &str,
        grids: &[String],
    ) -> Result<()> {
        self.meta_set("device.user_id", user_id)?;
        self.meta_set("device.device_id", device_id)?;
        self.set_sync_grids(grids)
    }

    /// Remember the device's user's role (from enrollment), for [`Store::device_actor`].
    pub fn set_device_role(&mut self, role: Role, key_person_grant: bool) -> Result<()> {
        self.meta_set("device.role", role.as_str())?;
        self.meta_set(
            "device.key_persons",
            if key_person_grant { "1" } else { "0" },
        )
    }

    /// The device's user as the author of its changes, for the permission rule
    /// ([`gridwalk_core::authorize`]); `None` before enrollment. A device enrolled before
    /// roles were sent is a worker's (the least it may do).
    pub fn device_actor(&self) -> Result<Option<Actor>> {
        let Some(user_id) = self.meta_get("device.user_id")? else {
            return Ok(None);
        };
        let role = self.meta_get("device.role")?;
        Ok(Some(Actor {
            user_id,
            role: role
                .as_deref()
                .and_then(Role::parse)
                .unwrap_or(Role::Worker),
            grids: Some(self.sync_grids()?),
            key_person_grant: self.meta_get("device.key_persons")?.as_deref() == Some("1"),
        }))
    }

    /// A lost or revoked device: remove every document, change and setting, and leave no
    /// trace of them in the files. Every table is emptied (also those an app or a later
    /// migration adds, such as `id_number_holders`, drafts and the app's audit), with
    /// `secure_delete` so freed pages are zeroed; VACUUM rewrites the database without its
    /// free pages, and a TRUNCATE checkpoint empties the WAL, which holds old page images.
    pub fn wipe(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        let tx = self.conn.transaction()?;
        let (tables, triggers): (Vec<String>, Vec<(String, String)>) = {
            let mut stmt = tx.prepare(
                "SELECT type, name, sql FROM sqlite_master
                 WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%'",
            )?;
            let rows: Vec<(String, String, Option<String>)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<std::result::Result<_, _>>()?;
            let tables = rows
                .iter()
                .filter(|(t, _, _)| t == "table")
                .map(|(_, n, _)| n.clone())
                .collect();
            let triggers = rows
                .into_iter()
                .filter(|(t, _, _)| t == "trigger")
                .map(|(_, n, sql)| (n, sql.unwrap_or_default()))
                .collect();
            (tables, triggers)
        };
        // Triggers would refuse (the append-only audit log) or refill (ID holders) what a
        // wipe empties: set them aside for the deletes and put them back unchanged.
        for (name, _) in &triggers {
            tx.execute_batch(&format!("DROP TRIGGER \"{}\"", name.replace('"', "\"\"")))?;
        }
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        for table in &tables {
            tx.execute_batch(&format!("DELETE FROM \"{}\"", table.replace('"', "\"\"")))?;
        }
        for (_, sql) in &triggers {
            tx.execute_batch(sql)?;
        }
        tx.commit()?;
        self.conn.execute_batch("VACUUM")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn.pragma_update(None, "secure_delete", "OFF")?;
        Ok(())
    }
}
