//! Documents written by the server itself (imports, the demo district, a supervisor's
//! actions) on SQLite: the rows of [`EditStore`], whose provided methods hold the flow
//! (validation, the permission rule, one transaction). Their changes are sequenced like
//! pushed ones, so devices pull them on their next sync.

use super::SqliteDistrict;
use crate::{docs, projection, Result};
use automerge::ChangeHash;
use gridwalk_core::authorize::Actor;
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district::edits::{DocWriter, EditStore};
use gridwalk_district::push::DocLookup;
use rusqlite::{params, Connection, OptionalExtension};

/// The shared push decisions' reads ([`gridwalk_district::push::DocLookup`]) on one
/// SQLite connection (inside the caller's transaction); and, in a write transaction on
/// the one writer, the server's own writes ([`DocWriter`]).
pub(crate) struct SqliteLookup<'a>(pub(crate) &'a Connection);

impl DocLookup for SqliteLookup<'_> {
    fn load_doc(&mut self, id: DocId) -> Result<Option<(Document, String)>> {
        docs::try_load(self.0, id)
    }

    fn household_grid(&mut self, household_id: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT grid_id FROM docs WHERE doc_id = ?1 AND kind = 'household'")?
            .query_row([household_id], |r| r.get(0))
            .optional()?)
    }
}

impl DocWriter for SqliteLookup<'_> {
    fn exists(&mut self, id: DocId) -> Result<bool> {
        docs::exists(self.0, id)
    }

    fn insert(&mut self, doc: &Document, grid_id: &str, now_ms: i64) -> Result<()> {
        docs::insert(self.0, doc, grid_id, now_ms)?;
        record_server_changes(self.0, doc, grid_id, &[], now_ms)?;
        projection::upsert(self.0, doc, grid_id)
    }

    fn append(
        &mut self,
        doc: &Document,
        grid_id: &str,
        before: &[ChangeHash],
        now_ms: i64,
    ) -> Result<()> {
        docs::append(self.0, doc, before, now_ms)?;
        record_server_changes(self.0, doc, grid_id, before, now_ms)?;
        projection::upsert(self.0, doc, grid_id)
    }
}

/// Store a change made on the server itself (a supervisor's action) with its sequence:
/// the one writer assigns it inside the storing transaction (the cursor rule on SQLite).
pub(crate) fn record_server_changes(
    conn: &Connection,
    doc: &Document,
    grid_id: &str,
    before: &[ChangeHash],
    now_ms: i64,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO changes (hash, doc_id, kind, grid_id, bytes, author_user,
            author_device, pushed_by, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
    )?;
    for change in doc.changes_since(before) {
        let author = Author::from_actor(change.actor_id());
        stmt.execute(params![
            change.hash().to_string(),
            doc.id.to_string(),
            doc.kind.as_str(),
            grid_id,
            change.raw_bytes(),
            author.map(|a| a.user.to_string()),
            author.map(|a| a.device.to_string()),
            now_ms
        ])?;
    }
    Ok(())
}

impl EditStore for SqliteDistrict {
    fn write_documents(&self, f: &mut dyn FnMut(&mut dyn DocWriter) -> Result<()>) -> Result<()> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            f(&mut SqliteLookup(&tx))?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// The server's own writes by their old names (the demo, benchmarks and tests call them
/// on `SqliteDistrict`); each is [`EditStore`]'s.
impl SqliteDistrict {
    /// [`EditStore::import_documents_as`].
    pub fn import_documents_as(
        &self,
        actor: &Actor,
        docs_in: &[(Document, String)],
        now_ms: i64,
    ) -> Result<usize> {
        EditStore::import_documents_as(self, actor, docs_in, now_ms)
    }

    /// [`EditStore::import_documents`].
    pub fn import_documents(&self, docs_in: &[(Document, String)], now_ms: i64) -> Result<usize> {
        EditStore::import_documents(self, docs_in, now_ms)
    }

    /// [`EditStore::edit_document`].
    #[allow(clippy::too_many_arguments)]
    pub fn edit_document<T, F>(
        &self,
        kind: DocKind,
        id: DocId,
        actor: &Actor,
        author: Author,
        now_ms: i64,
        message: &str,
        edit: F,
    ) -> Result<Vec<String>>
    where
        T: autosurgeon::Hydrate + serde::Serialize,
        F: FnMut(&mut T) -> std::result::Result<(), gridwalk_core::CoreError>,
    {
        EditStore::edit_document(self, kind, id, actor, author, now_ms, message, edit)
    }

    /// Read a document from the district store.
    pub fn load_document(&self, id: DocId) -> Result<Document> {
        self.with_reader(|conn| Ok(docs::load(conn, id)?.0))
    }
}
