//! Handovers: the unsynced edits of a worker moved to another grid (issue 9 §4). The
//! device may no longer write its old grid, so it hands them over; they are kept in
//! `handovers` for a supervisor of that grid, never applied to the document.

use super::console::{ConsoleResult, ConsoleScope};
use super::server_edits::SqliteLookup;
use super::{DeviceAuth, SqliteDistrict};
use crate::Result;
use gridwalk_core::sync::{DocChanges, PushOutcome, PushResult};
use gridwalk_district::push::{prepare_handover, HandoverRow};
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
                let prepared = match prepare_handover(&mut SqliteLookup(&tx), device, d)? {
                    Ok(p) => p,
                    Err(refused) => {
                        results.push(refused);
                        continue 'docs;
                    }
                };
                let HandoverRow {
                    grid,
                    hashes,
                    raw,
                    fields,
                } = prepared;
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
