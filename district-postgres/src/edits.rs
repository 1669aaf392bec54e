//! Documents written by the server itself on PostgreSQL (imports, the demo district, a
//! supervisor's actions): the rows of [`EditStore`], whose provided methods hold the flow.
//! A stored document is read `FOR UPDATE`, so two servers editing one document serialise;
//! the changes are sequenced last, under [`crate::CHANGES_SEQ_LOCK`], like a push's.

use crate::projection::PendingRows;
use crate::sync::{write_doc, NewChanges, PgLookup};
use crate::Tx;
use crate::{db, PgDistrict, Result};
use automerge::ChangeHash;
use gridwalk_core::{DocId, Document};
use gridwalk_district::edits::{DocWriter, EditStore};
use gridwalk_district::imports::ImportWriter;
use gridwalk_district::push::DocLookup;

/// One write transaction's server-made writes; its changes wait in `changes` until the
/// transaction's last step.
pub(crate) struct PgWriter<'a, 'b> {
    pub(crate) tx: &'a mut Tx<'b>,
    changes: NewChanges,
    rows: PendingRows,
    /// The time the changes are received at (the caller's, as each write gives it).
    now_ms: i64,
}

impl DocLookup for PgWriter<'_, '_> {
    fn load_doc(&mut self, id: DocId) -> Result<Option<(Document, String)>> {
        PgLookup {
            tx: &mut *self.tx,
            lock: true,
        }
        .load_doc(id)
    }

    fn household_grid(&mut self, household_id: &str) -> Result<Option<String>> {
        PgLookup {
            tx: &mut *self.tx,
            lock: false,
        }
        .household_grid(household_id)
    }
}

impl DocWriter for PgWriter<'_, '_> {
    fn exists(&mut self, id: DocId) -> Result<bool> {
        Ok(self
            .tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM docs WHERE doc_id = $1)",
                &[&id.0],
            )
            .map_err(db)?
            .get(0))
    }

    fn insert(&mut self, doc: &Document, grid_id: &str, now_ms: i64) -> Result<()> {
        write_doc(self.tx, doc, grid_id, None, now_ms, &mut self.rows)?;
        self.changes.add(doc, grid_id, &[]);
        self.now_ms = now_ms;
        Ok(())
    }

    fn append(
        &mut self,
        doc: &Document,
        grid_id: &str,
        before: &[ChangeHash],
        now_ms: i64,
    ) -> Result<()> {
        write_doc(self.tx, doc, grid_id, Some(before), now_ms, &mut self.rows)?;
        self.changes.add(doc, grid_id, before);
        self.now_ms = now_ms;
        Ok(())
    }
}

impl PgDistrict {
    /// Run `f` with a [`PgWriter`] in one write transaction (again from the start if it
    /// lost a race); its projection rows are written and its changes sequenced last.
    pub(crate) fn write_with<R>(
        &self,
        mut f: impl FnMut(&mut PgWriter<'_, '_>) -> Result<R>,
    ) -> Result<R> {
        self.write(|tx| {
            let mut w = PgWriter {
                tx,
                changes: NewChanges::default(),
                rows: PendingRows::default(),
                now_ms: 0,
            };
            let out = f(&mut w)?;
            let PgWriter {
                tx,
                changes,
                rows,
                now_ms,
            } = w;
            rows.write(tx)?;
            // Server-made: no pushing device, so every device pulls them.
            changes.sequence(tx, None, now_ms)?;
            Ok(out)
        })
    }
}

impl ImportWriter for PgWriter<'_, '_> {
    fn put_import_base(&mut self, doc_id: &str, ledger_json: &str, run_at: i64) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO import_bases (doc_id, ledger, run_at) VALUES ($1, $2, $3)
                 ON CONFLICT (doc_id) DO UPDATE SET ledger = excluded.ledger,
                    run_at = excluded.run_at",
                &[&doc_id, &ledger_json, &run_at],
            )
            .map_err(db)?;
        Ok(())
    }
}

impl EditStore for PgDistrict {
    fn write_documents(&self, f: &mut dyn FnMut(&mut dyn DocWriter) -> Result<()>) -> Result<()> {
        self.write_with(|w| f(w))
    }
}
