//! Handovers: the unsynced edits of a worker moved to another grid (issue 9 §4). The
//! device may no longer write its old grid, so it hands them over; they are kept in
//! `handovers` for a supervisor of that grid, never applied to the document.

use super::console::{ConsoleResult, ConsoleScope};
use super::{DeviceAuth, SqliteDistrict};
use crate::{docs, Result};
use automerge::Change;
use gridwalk_core::sync::{DocChanges, PushOutcome, PushResult, RejectCode};
use gridwalk_core::{Author, DocId, Document};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// A handover as the console lists it: what was written where, not the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub id: i64,
    pub device_id: String,
    pub user_id: String,
    pub user_name: String,
    pub doc_id: String,
    pub kind: String,
    pub grid_id: String,
    pub change_count: i64,
    /// Dotted paths of the fields the changes write.
    pub fields: Vec<String>,
    pub received_at: i64,
}

fn refused(doc_id: uuid::Uuid, code: RejectCode, message: String) -> PushResult {
    PushResult {
        doc_id,
        outcome: PushOutcome::Rejected { code, message },
    }
}

impl SqliteDistrict {
    /// Keep handed-over changes, one result per document. Every change must be this
    /// device's (as for a push); nothing is applied, and the same changes sent twice (a
    /// lost response) are kept once.
    pub(crate) fn handover_impl(
        &self,
        device: &DeviceAuth,
        handed: &[DocChanges],
        now_ms: i64,
    ) -> Result<Vec<PushResult>> {
        if handed.is_empty() {
            return Ok(vec![]);
        }
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let mut results = Vec::with_capacity(handed.len());
            'docs: for d in handed {
                let mut raw = Vec::new();
                let mut hashes = Vec::new();
                for (i, bytes) in d.changes.iter().enumerate() {
                    let change = match Change::from_bytes(bytes.to_vec()) {
                        Ok(c) => c,
                        Err(e) => {
                            let msg = format!("change #{i} is not a valid Automerge change: {e}");
                            results.push(refused(d.doc_id, RejectCode::BadChange, msg));
                            continue 'docs;
                        }
                    };
                    let ours = Author::from_actor(change.actor_id()).is_some_and(|a| {
                        a.device.to_string() == device.device_id
                            && a.user.to_string() == device.user_id
                    });
                    if !ours {
                        let msg = format!("change #{i} was not made by this device and its user");
                        results.push(refused(d.doc_id, RejectCode::WrongAuthor, msg));
                        continue 'docs;
                    }
                    hashes.push(change.hash().to_string());
                    raw.extend_from_slice(change.raw_bytes());
                }
                // The grid and the fields written, read from a copy with the changes applied.
                let id = DocId(d.doc_id);
                let (mut doc, stored_grid) = match docs::try_load(&tx, id)? {
                    Some((doc, grid)) => (doc, Some(grid)),
                    None => (Document::empty(d.kind, id), None),
                };
                let _ = doc.apply_change_bytes(d.changes.iter().map(|c| c.as_slice()));
                let grid = stored_grid.unwrap_or_else(|| {
                    (doc.to_json().get("grid_id").and_then(|g| g.as_str()))
                        .unwrap_or_default()
                        .to_string()
                });
                let mut fields: Vec<String> = doc
                    .history()
                    .into_iter()
                    .filter(|h| hashes.contains(&h.hash))
                    .flat_map(|h| h.fields)
                    .collect();
                fields.sort();
                fields.dedup();
                tx.execute(
                    "INSERT OR IGNORE INTO handovers (device_id, user_id, doc_id, kind, grid_id,
                        hashes, changes, change_count, fields, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        device.device_id,
                        device.user_id,
                        d.doc_id.to_string(),
                        d.kind.as_str(),
                        grid,
                        hashes.join(","),
                        raw,
                        hashes.len() as i64,
                        serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()),
                        now_ms
                    ],
                )?;
                results.push(PushResult {
                    doc_id: d.doc_id,
                    outcome: PushOutcome::Accepted,
                });
            }
            tx.commit()?;
            Ok(results)
        })
    }

    /// Handovers of documents in the caller's grids, newest first.
    pub fn console_handovers(
        &self,
        scope: &ConsoleScope,
        limit: usize,
    ) -> ConsoleResult<Vec<Handover>> {
        let all: Vec<Handover> = self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT h.id, h.device_id, h.user_id, coalesce(u.display_name, ''), h.doc_id,
                        h.kind, h.grid_id, h.change_count, h.fields, h.received_at
                 FROM handovers h LEFT JOIN users u ON u.user_id = h.user_id
                 ORDER BY h.received_at DESC, h.id DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                let fields: String = r.get(8)?;
                Ok(Handover {
                    id: r.get(0)?,
                    device_id: r.get(1)?,
                    user_id: r.get(2)?,
                    user_name: r.get(3)?,
                    doc_id: r.get(4)?,
                    kind: r.get(5)?,
                    grid_id: r.get(6)?,
                    change_count: r.get(7)?,
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                    received_at: r.get(9)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })?;
        Ok(all
            .into_iter()
            .filter(|h| scope.may_see(&h.grid_id))
            .take(limit.clamp(1, 500))
            .collect())
    }
}
