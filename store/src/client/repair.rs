//! The digest check that ends a sync: compare each grid's digest with the server's, and
//! where they differ, exchange heads, re-pull what the device lacks and re-queue what the
//! server lacks.

use super::*;

impl Store {
    /// The digest of one grid as this device holds it (same rule as the server's).
    pub fn grid_digest(&self, grid_id: &str) -> Result<gridwalk_core::sync::GridDigest> {
        let docs = self.grid_heads(grid_id)?;
        Ok(grid_digest(
            grid_id,
            docs.iter().map(|d| (d.doc_id, d.heads.as_slice())),
        ))
    }

    fn grid_heads(&self, grid_id: &str) -> Result<Vec<DocHeads>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc_id, heads FROM docs WHERE grid_id = ?1 ORDER BY doc_id")?;
        let rows = stmt.query_map([grid_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, heads) = row?;
            if let Ok(doc_id) = Uuid::parse_str(&id) {
                out.push(DocHeads {
                    doc_id,
                    heads: parse_heads(&heads),
                });
            }
        }
        Ok(out)
    }

    /// Compare digests with the district; on a mismatch, exchange every document's heads
    /// for that grid, take what the server has whole, and queue again what it lacks.
    pub(super) fn check_and_repair(
        &mut self,
        transport: &mut dyn Transport,
        options: &SyncOptions,
        now_ms: i64,
        report: &mut SyncReport,
    ) -> Result<()> {
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursors: self.sync_cursors()?,
            push: vec![],
            max_pull_bytes: options.max_pull_bytes,
            want_digest: true,
            compare: vec![],
            handover: vec![],
        };
        let response = transport.exchange(&request)?;
        report.rounds += 1;
        let mut refused = BTreeSet::new();
        self.apply_response(&response, &BTreeMap::new(), report, &mut refused, now_ms)?;
        let mut compare = Vec::new();
        for server in &response.digests {
            if self.grid_digest(&server.grid_id)? != *server {
                compare.push(GridCompare {
                    grid_id: server.grid_id.clone(),
                    docs: self.grid_heads(&server.grid_id)?,
                });
            }
        }
        if compare.is_empty() {
            report.digest_matched = Some(true);
            return Ok(());
        }
        report.digest_matched = Some(false);
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursors: self.sync_cursors()?,
            push: vec![],
            max_pull_bytes: options.max_pull_bytes,
            want_digest: false,
            compare,
            handover: vec![],
        };
        let response = transport.exchange(&request)?;
        report.rounds += 1;
        report.repaired_docs += response.server_heads.len();
        self.apply_response(&response, &BTreeMap::new(), report, &mut refused, now_ms)?;
        self.requeue_missing(&response.server_heads, now_ms)?;
        // Push what was queued again.
        let mut no_digest = *options;
        no_digest.check_digest = false;
        let again = self.sync(
            transport,
            &no_digest,
            now_ms,
            &mut |_| {},
            &AtomicBool::new(false),
        )?;
        report.rounds += again.rounds;
        report.pushed_changes += again.pushed_changes;
        Ok(())
    }

    /// Put back into the outbox this device's own changes that the server lacks.
    fn requeue_missing(&mut self, server_heads: &[DocHeads], now_ms: i64) -> Result<()> {
        let me = self.device_author()?;
        let tx = self.conn.transaction()?;
        for sh in server_heads {
            let Some((doc, grid)) = docs::try_load(&tx, DocId(sh.doc_id))? else {
                continue;
            };
            let heads: Vec<automerge::ChangeHash> = sh
                .heads
                .iter()
                .filter_map(|h| automerge::ChangeHash::try_from(&h[..]).ok())
                .filter(|h| doc.has_change(h))
                .collect();
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (hash, doc_id, kind, grid_id, bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for change in doc.changes_since(&heads) {
                if me.is_some_and(|a| Author::from_actor(change.actor_id()) == Some(a)) {
                    stmt.execute(params![
                        change.hash().to_string(),
                        doc.id.to_string(),
                        doc.kind.as_str(),
                        grid,
                        change.raw_bytes(),
                        now_ms
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}
