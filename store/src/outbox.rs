//! The outbox: local changes the district has not acknowledged yet.
//!
//! A change enters the outbox in the same transaction that stores it, and leaves only when
//! the server says it has it; so "synced" is never claimed for a change the server lacks.

use crate::Result;
use automerge::ChangeHash;
use gridwalk_core::Document;
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub hash: String,
    pub doc_id: String,
    pub kind: String,
    pub grid_id: String,
    pub bytes: Vec<u8>,
}

/// Put every change of `doc` after `before` into the outbox; returns their hashes.
pub(crate) fn push_changes(
    conn: &Connection,
    doc: &Document,
    grid_id: &str,
    before: &[ChangeHash],
    now_ms: i64,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox (hash, doc_id, kind, grid_id, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut hashes = Vec::new();
    for change in doc.changes_since(before) {
        let hash = change.hash().to_string();
        stmt.execute(params![
            hash,
            doc.id.to_string(),
            doc.kind.as_str(),
            grid_id,
            change.raw_bytes(),
            now_ms
        ])?;
        hashes.push(hash);
    }
    Ok(hashes)
}

impl crate::Store {
    /// Unacknowledged changes, oldest first, at most `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, doc_id, kind, grid_id, bytes FROM outbox
             ORDER BY created_at, rowid LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(OutboxEntry {
                hash: r.get(0)?,
                doc_id: r.get(1)?,
                kind: r.get(2)?,
                grid_id: r.get(3)?,
                bytes: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn outbox_len(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// The server has these changes: forget them.
    pub fn acknowledge(&mut self, hashes: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
            for h in hashes {
                stmt.execute([h])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
