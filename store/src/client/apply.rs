//! Applying the server's answer on the device: pulled documents into the store, and the
//! outcome of each pushed (or handed-over) document into the outbox.

use super::{Rejection, SentHashes, SyncReport};
use crate::{docs, projection, Result, StoreError};
use gridwalk_core::sync::{DocData, PulledDoc, PushOutcome};
use gridwalk_core::{DocId, Document};
use rusqlite::{params, Connection};
use std::collections::BTreeSet;

pub(super) fn parse_heads(text: &str) -> Vec<[u8; 32]> {
    text.split(',')
        .filter_map(|h| <[u8; 32]>::try_from(hex::decode(h).ok()?.as_slice()).ok())
        .collect()
}

/// Store a document of a first download as it came, without loading it: its bytes, the
/// heads the server sent, and the projection rows the server derived with the same
/// function (`rows_ok`: the response's projection version is this device's). Returns
/// false, having written nothing, when that does not apply (no rows, rows that do not fit
/// this document, a document already here): the caller loads and merges instead.
pub(super) fn store_received(
    tx: &Connection,
    pulled: &PulledDoc,
    rows_ok: bool,
    now_ms: i64,
) -> Result<bool> {
    let (DocData::Snapshot(bytes), Some(rows)) = (&pulled.data, &pulled.rows) else {
        return Ok(false);
    };
    let id = pulled.doc_id.to_string();
    // Version 3 leaves out the heads the snapshot's header holds.
    let own;
    let heads = if pulled.heads.is_empty() {
        own = gridwalk_core::sync::snapshot_heads(bytes).unwrap_or_default();
        &own
    } else {
        &pulled.heads
    };
    if !rows_ok
        || heads.is_empty()
        || !projection::rows_fit(pulled.kind, &id, &pulled.grid_id, rows)
    {
        return Ok(false);
    }
    let mut heads: Vec<String> = heads.iter().map(hex::encode).collect();
    heads.sort();
    let heads = heads.join(",");
    if !docs::insert_received(tx, &id, pulled.kind, &pulled.grid_id, bytes, &heads, now_ms)? {
        return Ok(false);
    }
    projection::write_rows(tx, pulled.kind, rows)?;
    Ok(true)
}

/// Apply one pulled document inside the response's transaction.
pub(super) fn apply_pulled(tx: &Connection, pulled: &PulledDoc, now_ms: i64) -> Result<()> {
    let id = DocId(pulled.doc_id);
    let existing = docs::try_load(tx, id)?;
    let is_new = existing.is_none();
    let mut doc = match existing {
        Some((doc, _)) => doc,
        None => Document::empty(pulled.kind, id),
    };
    if doc.kind != pulled.kind {
        return Err(StoreError::WrongKind {
            doc_id: id.to_string(),
            stored: doc.kind.to_string(),
            requested: pulled.kind.to_string(),
        });
    }
    let before = doc.heads();
    let applied = match &pulled.data {
        DocData::Snapshot(bytes) => doc.load_incremental(bytes),
        DocData::Changes(changes) => doc.apply_change_bytes(changes.iter().map(|c| c.as_slice())),
    };
    applied.map_err(|source| StoreError::Doc {
        doc_id: id.to_string(),
        source,
    })?;
    if doc.heads() == before {
        return Ok(());
    }
    match (&pulled.data, is_new) {
        // A whole document for a new id: keep the server's bytes as the snapshot.
        (DocData::Snapshot(bytes), true) => {
            docs::insert_bytes(tx, &doc, &pulled.grid_id, bytes, now_ms)?
        }
        (_, true) => docs::insert(tx, &doc, &pulled.grid_id, now_ms)?,
        (_, false) => docs::append(tx, &doc, &before, now_ms)?,
    }
    if doc.missing_deps().is_empty() {
        projection::upsert(tx, &doc, &pulled.grid_id)?;
    }
    Ok(())
}

/// Settle what the server answered for pushed (or handed-over) documents, in `tx`: an
/// accepted document's sent changes leave the outbox; a refused one keeps them, with the
/// reason in `push_rejections`, and is not sent again in this sync. Returns how many
/// were accepted.
pub(crate) fn settle_push_results(
    tx: &rusqlite::Transaction<'_>,
    results: &[gridwalk_core::sync::PushResult],
    sent: &SentHashes,
    report: &mut SyncReport,
    refused: &mut BTreeSet<String>,
    now_ms: i64,
) -> Result<usize> {
    let mut accepted = 0;
    for result in results {
        let doc_id = result.doc_id.to_string();
        match &result.outcome {
            PushOutcome::Accepted => {
                let mut del = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
                for hash in sent.get(&doc_id).into_iter().flatten() {
                    del.execute([hash])?;
                }
                tx.execute("DELETE FROM push_rejections WHERE doc_id = ?1", [&doc_id])?;
                accepted += 1;
            }
            PushOutcome::Rejected { code, message } => {
                let code = format!("{code:?}");
                tx.execute(
                    "INSERT INTO push_rejections (doc_id, code, message, at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (doc_id) DO UPDATE SET code = excluded.code,
                        message = excluded.message, at = excluded.at",
                    params![doc_id, code, message, now_ms],
                )?;
                refused.insert(doc_id.clone());
                report.rejected.push(Rejection {
                    doc_id,
                    code,
                    message: message.clone(),
                });
            }
        }
    }
    Ok(accepted)
}
