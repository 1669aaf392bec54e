//! A worker moved to other grids while holding offline edits (issue 9 §4). The district
//! says so in its answer (`scope_changed`); the device then pushes what is still in scope,
//! hands the rest over for a supervisor, and drops the old grids' data once nothing of
//! them is left unsent. See docs/sync-protocol.md, "Scope changes".

use crate::client::{settle_push_results, SentHashes, SyncReport};
use crate::{Result, Store};
use gridwalk_core::sync::SyncResponse;
use rusqlite::params;
use std::collections::BTreeSet;

/// The app keeps a form's draft in `meta` under this prefix, keyed by what it edits
/// (`app.draft.member:<household id>`): a dropped document's drafts go with it.
pub const DRAFT_META_PREFIX: &str = "app.draft.";

impl Store {
    /// Forget the handed-over changes the district kept; a refused handover stays in the
    /// outbox with its reason in `push_rejections`, not sent again in this sync.
    pub(crate) fn apply_handover(
        &mut self,
        response: &SyncResponse,
        sent: &SentHashes,
        report: &mut SyncReport,
        refused: &mut BTreeSet<String>,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        report.handed_over +=
            settle_push_results(&tx, &response.handed_over, sent, report, refused, now_ms)?;
        tx.commit()?;
        Ok(())
    }

    /// Take the grids the district names as this device's scope. True when they differ
    /// from the ones held: the sync goes another round (push, hand over, pull).
    pub(crate) fn apply_scope_change(
        &mut self,
        response: &SyncResponse,
        report: &mut SyncReport,
    ) -> Result<bool> {
        let Some(grids) = &response.scope_changed else {
            return Ok(false);
        };
        let held: BTreeSet<String> = self.sync_grids()?.into_iter().collect();
        let now: BTreeSet<String> = grids.iter().cloned().collect();
        if held == now {
            return Ok(false);
        }
        tracing::info!(from = ?held, to = ?now, "the district changed this device's grids");
        self.set_sync_grids(grids)?;
        report.scope_changed = Some(grids.clone());
        Ok(true)
    }

    /// Remove the documents of grids no longer in scope (with their projections, chunks,
    /// rejections and drafts) once none of their changes is left to send. Freed pages are
    /// zeroed (`secure_delete`) and the WAL emptied, so the old grid's people do not stay
    /// in the files. Returns how many documents went.
    pub(crate) fn drop_grids_out_of_scope(&mut self) -> Result<usize> {
        let grids = self.sync_grids()?;
        if grids.is_empty() {
            return Ok(0);
        }
        // The grids held, one index probe each (every sync asks; a scan of every document
        // here made an incremental sync's cost grow with the grid).
        let held: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(
                "WITH RECURSIVE g(grid) AS (
                    SELECT (SELECT min(grid_id) FROM docs)
                    UNION ALL
                    SELECT (SELECT min(grid_id) FROM docs WHERE grid_id > g.grid) FROM g
                    WHERE g.grid IS NOT NULL)
                 SELECT grid FROM g WHERE grid IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut doomed: Vec<String> = Vec::new();
        for grid in held.iter().filter(|g| !grids.contains(g)) {
            let mut stmt = self.conn.prepare_cached(
                "SELECT d.doc_id FROM docs d WHERE d.grid_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.doc_id = d.doc_id)",
            )?;
            let rows = stmt.query_map([grid], |r| r.get::<_, String>(0))?;
            for row in rows {
                doomed.push(row?);
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        let tx = self.conn.transaction()?;
        for id in &doomed {
            tx.execute("DELETE FROM persons WHERE household_id = ?1", [id])?;
            for sql in [
                "DELETE FROM households WHERE doc_id = ?1",
                "DELETE FROM visits WHERE doc_id = ?1",
                "DELETE FROM issues WHERE doc_id = ?1",
                "DELETE FROM doc_chunks WHERE doc_id = ?1",
                "DELETE FROM docs WHERE doc_id = ?1",
                "DELETE FROM push_rejections WHERE doc_id = ?1",
                "DELETE FROM photo_refs WHERE doc_id = ?1",
            ] {
                tx.execute(sql, [id])?;
            }
            tx.execute(
                "DELETE FROM meta WHERE key LIKE ?1 || '%' AND instr(key, ?2) > 0",
                params![DRAFT_META_PREFIX, id],
            )?;
        }
        tx.commit()?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn.pragma_update(None, "secure_delete", "OFF")?;
        tracing::info!(
            documents = doomed.len(),
            "dropped the data of grids out of scope"
        );
        Ok(doomed.len())
    }
}
