//! One sync request, answered: push, then pull, then the repair parts. The HTTP server
//! wraps this; tests call it directly through an in-process transport.

use super::{DeviceAuth, DistrictStore, PushOutcomeReport, SyncLogEntry};
use crate::Result;
use gridwalk_core::sync::{DocData, PushOutcome, SyncRequest, SyncResponse, PROTOCOL_VERSION};
use std::collections::BTreeSet;

/// What happened, for the sync log (the caller adds timing and byte counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandledSync {
    pub docs_in: i64,
    pub changes_in: i64,
    pub docs_out: i64,
    pub changes_out: i64,
    pub conflicts: i64,
    pub rejected: i64,
    /// JSON array of `{doc_id, code, message}`.
    pub errors: String,
}

impl HandledSync {
    pub fn into_log(
        self,
        device: &DeviceAuth,
        started_at: i64,
        duration_ms: i64,
        bytes_in: i64,
        bytes_out: i64,
    ) -> SyncLogEntry {
        SyncLogEntry {
            id: 0,
            device_id: device.device_id.clone(),
            user_id: device.user_id.clone(),
            started_at,
            duration_ms,
            docs_in: self.docs_in,
            changes_in: self.changes_in,
            docs_out: self.docs_out,
            changes_out: self.changes_out,
            bytes_in,
            bytes_out,
            conflicts: self.conflicts,
            rejected: self.rejected,
            errors: self.errors,
        }
    }
}

/// How many documents of a push were rejected.
pub fn rejected_count(pushed: &PushOutcomeReport) -> usize {
    pushed
        .results
        .iter()
        .filter(|r| matches!(r.outcome, PushOutcome::Rejected { .. }))
        .count()
}

/// A push's outcome on its sync-log row (conflicts, rejections and their errors), as
/// both backends write the row in the push's own transaction.
pub fn log_push_outcome(log: &mut SyncLogEntry, pushed: &PushOutcomeReport) {
    log.conflicts = pushed.conflicts_created as i64;
    log.rejected = rejected_count(pushed) as i64;
    log.errors = push_errors(pushed);
}

/// The rejected documents of a push as the sync log's JSON array.
pub fn push_errors(pushed: &PushOutcomeReport) -> String {
    let errors: Vec<serde_json::Value> = pushed
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            PushOutcome::Rejected { code, message } => Some(serde_json::json!({
                "doc_id": r.doc_id.to_string(),
                "code": format!("{code:?}"),
                "message": message,
            })),
            PushOutcome::Accepted => None,
        })
        .collect();
    serde_json::Value::Array(errors).to_string()
}

/// Version 3: heads that a snapshot's own header holds are not sent again (32 bytes of
/// hash per document, which no compressor can shrink). Only when the header's heads are
/// exactly the stored ones: a snapshot with incremental chunks after it keeps its heads.
fn omit_heads_in_snapshots(pulled: &mut [gridwalk_core::sync::PulledDoc]) {
    for p in pulled.iter_mut().filter(|p| !p.heads.is_empty()) {
        let DocData::Snapshot(bytes) = &p.data else {
            continue;
        };
        if let Some(mut own) = gridwalk_core::sync::snapshot_heads(bytes) {
            own.sort();
            p.heads.sort();
            if own == p.heads {
                p.heads.clear();
            }
        }
    }
}

/// Answer one sync request for an authenticated device (nothing logged).
pub fn handle_sync(
    store: &dyn DistrictStore,
    device: &DeviceAuth,
    request: &SyncRequest,
    now_ms: i64,
) -> Result<(SyncResponse, HandledSync)> {
    handle_sync_logged(store, device, request, now_ms, None).map(|(r, h, _)| (r, h))
}

/// Answer one sync request; with `log` (the round's row as known before the push: device,
/// start, bytes in), a push writes that row in its own transaction and its id is returned
/// for [`DistrictStore::finish_sync_log`]. `None` for the id: no push was stored, the
/// caller writes the row with [`DistrictStore::record_sync`].
pub fn handle_sync_logged(
    store: &dyn DistrictStore,
    device: &DeviceAuth,
    request: &SyncRequest,
    now_ms: i64,
    log: Option<&SyncLogEntry>,
) -> Result<(SyncResponse, HandledSync, Option<i64>)> {
    // A cursor for a grid outside the user's scope: an admin moved the worker. Its pushed
    // documents may be of the old grid, which would refuse the whole push (403) on every
    // sync forever; instead the push waits, and the device is told its grids. It pushes
    // what is still in scope next round and hands the rest over (docs/sync-protocol.md).
    let moved = request.cursors.iter().any(|c| !device.may_sync(&c.grid_id));
    let cursor_grids: BTreeSet<&str> = request.cursors.iter().map(|c| c.grid_id.as_str()).collect();
    let scope: BTreeSet<&str> = device.grids.iter().map(String::as_str).collect();
    let scope_changed =
        (cursor_grids != scope).then(|| scope.iter().map(|g| g.to_string()).collect());
    let mut log_id = None;
    let pushed = if moved || request.push.is_empty() {
        PushOutcomeReport::default()
    } else if let Some(log) = log {
        let mut row = log.clone();
        row.docs_in = request.push.len() as i64;
        row.changes_in = request.push.iter().map(|d| d.changes.len() as i64).sum();
        let (report, id) = store.push_logged(device, &request.push, now_ms, &row)?;
        log_id = Some(id);
        report
    } else {
        store.push(device, &request.push, now_ms)?
    };
    let handed_over = store.handover(device, &request.handover, now_ms)?;
    let pull = crate::phases::timed(crate::phases::Phase::Pull, || {
        store.pull(device, &request.cursors, request.max_pull_bytes as usize)
    })?;
    let digests = if request.want_digest {
        store.digests(device, &device.grids)?
    } else {
        vec![]
    };
    let (mut repaired, server_heads) = if request.compare.is_empty() {
        (vec![], vec![])
    } else {
        store.compare(device, &request.compare)?
    };
    let rejected = rejected_count(&pushed);
    let mut pulled = pull.docs;
    pulled.append(&mut repaired);
    if request.protocol >= 3 {
        omit_heads_in_snapshots(&mut pulled);
    }
    let handled = HandledSync {
        docs_in: request.push.len() as i64,
        changes_in: request.push.iter().map(|d| d.changes.len() as i64).sum(),
        docs_out: pulled.len() as i64,
        changes_out: pulled
            .iter()
            .map(|d| match &d.data {
                DocData::Changes(c) => c.len() as i64,
                DocData::Snapshot(_) => 1,
            })
            .sum(),
        conflicts: pushed.conflicts_created as i64,
        rejected: rejected as i64,
        errors: push_errors(&pushed),
    };
    let response = SyncResponse {
        // Answered in the version asked (each version's shape: `encode_response`).
        protocol: request.protocol.min(PROTOCOL_VERSION),
        pushed: pushed.results,
        pulled,
        cursors: pull.cursors,
        more: pull.more,
        full_pull_total: pull.full_pull_total,
        digests,
        server_heads,
        scope_changed,
        handed_over,
        projection: gridwalk_store::projection::VERSION.to_string(),
    };
    Ok((response, handled, log_id))
}
