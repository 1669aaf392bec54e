//! Handovers: the unsynced edits of a worker moved to another grid (issue 9 §4). The
//! device may no longer write its old grid, so it hands them over; they are kept in
//! `handovers` for a supervisor of that grid, never applied to the document.

use super::server_edits::SqliteLookup;
use super::{DeviceAuth, SqliteDistrict};
use crate::Result;
use gridwalk_core::sync::{DocChanges, PushOutcome, PushResult};
use gridwalk_district::push::{prepare_handover, HandoverRow};
use rusqlite::params;

pub use gridwalk_district::Handover;

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
}
